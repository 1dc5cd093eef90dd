"""The OpenAPI document of every route, as served at ``GET /api/openapi.json``.

The document is generated from the routes, not written by hand: ``make openapi`` (that is,
``python -m lti_gateway.local.openapi``) reads template.yaml's HttpApi routes and asks every
function's resolver what it knows, and writes ``openapi.json`` beside this module, which the layer
ships. A test regenerates it and fails on any difference, so the served document cannot drift from
the routes. Each function has only its own code in Lambda, hence the file rather than a live merge.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

DOCUMENT = Path(__file__).with_name("openapi.json")


@cache
def document_text() -> str:
    """The document as JSON text (read once per container)."""
    return DOCUMENT.read_text(encoding="utf-8")

"""The OpenAPI document of every route, as served at ``GET /api/openapi.json``.

The document is generated from the routes, not written by hand: ``make openapi`` (that is,
``python -m lti_gateway.local.openapi``) reads template.yaml's HttpApi routes and asks every
function's resolver what it knows, and writes ``openapi.json`` beside this module, which the layer
ships. A test regenerates it and fails on any difference, so the served document cannot drift from
the routes. Each function has only its own code in Lambda, hence the file rather than a live merge.

The shipped file names a placeholder server (``https://{domain}``); the served copy names the stack's
own base URL instead (:func:`document_text`), so a client generated from ``GET /api/openapi.json``
calls the stack that served it.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DOCUMENT = Path(__file__).with_name("openapi.json")


@cache
def _document() -> dict[str, Any]:
    return json.loads(DOCUMENT.read_text(encoding="utf-8"))


@cache
def _shipped_text() -> str:
    return DOCUMENT.read_text(encoding="utf-8")


@cache
def _text_for(base_url: str) -> str:
    document = {**_document(), "servers": [{"url": base_url.rstrip("/"), "description": "This stack."}]}
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def document_text(base_url: str | None = None) -> str:
    """The document as JSON text: naming ``base_url`` (the stack's public base URL) as its server, or as
    shipped when there is none. One text per base URL, built once per container (a stack has one or two:
    its custom domain and its execute-api host)."""
    if not base_url:
        return _shipped_text()
    if _text_for.cache_info().currsize >= 8:  # hosts come from requests: never an unbounded cache
        _text_for.cache_clear()
    return _text_for(base_url)

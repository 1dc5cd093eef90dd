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

from lti_gateway.core import cache as memo

DOCUMENT = Path(__file__).with_name("openapi.json")


@cache
def _shipped_text() -> str:
    """The shipped file, read once per container (it never changes while one runs)."""
    return DOCUMENT.read_text(encoding="utf-8")


def _with_server(base_url: str) -> str:
    document = {**json.loads(_shipped_text()), "servers": [{"url": base_url.rstrip("/"), "description": "This stack."}]}
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


# One text per base URL (a stack has one or two: its custom domain and its execute-api host); hosts come
# from requests, so the memo is bounded like every per-container memo (core/cache.py).
_TEXTS: memo.Memo[str] = memo.Memo(_with_server, max_entries=8, max_key_length=512)


def document_text(base_url: str | None = None) -> str:
    """The document as JSON text: naming ``base_url`` (the stack's public base URL) as its server, or as
    shipped when there is none."""
    return _TEXTS.get(base_url) if base_url else _shipped_text()

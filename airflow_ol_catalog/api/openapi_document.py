"""The API's OpenAPI document as a file: what `airflow ol-catalog openapi` writes to ui/openapi.json,
the UI's TypeScript client is generated from, and a test compares with the server's routes and models."""

from __future__ import annotations

import json

# Where the repository keeps the document and the TypeScript generated from it (relative to its root).
COMMITTED_DOCUMENT = "ui/openapi.json"
REGENERATE = "airflow ol-catalog openapi --output ui/openapi.json && npm --prefix ui run codegen"


def openapi_document() -> dict:
    """The document the running server gives at /ol-catalog/openapi.json (no database needed)."""
    from airflow_ol_catalog.api.app import create_app

    return create_app().openapi()


def openapi_text() -> str:
    """The document as stable text: sorted keys, two-space indents, a trailing newline, so that a
    change to a route or a model is a readable diff and nothing else is."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

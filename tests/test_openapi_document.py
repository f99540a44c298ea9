"""The API's OpenAPI document is committed as ui/openapi.json: it must be what the server's routes and
models give, so a route or model changed without regenerating it fails here."""

from __future__ import annotations

import difflib
import json
from argparse import Namespace
from pathlib import Path

import pytest

from airflow_ol_catalog import cli_commands
from airflow_ol_catalog.api.openapi_document import COMMITTED_DOCUMENT, REGENERATE, openapi_text

ROOT = Path(__file__).resolve().parents[1]


def _diff(committed: str, current: str, name: str, limit: int = 40) -> str:
    lines = difflib.unified_diff(
        committed.splitlines(), current.splitlines(), f"{name} (committed)", f"{name} (now)", lineterm=""
    )
    return "\n".join(list(lines)[:limit])


@pytest.fixture(scope="module")
def document_text() -> str:
    return openapi_text()


def test_committed_openapi_document_is_what_the_server_gives(document_text):
    committed = (ROOT / COMMITTED_DOCUMENT).read_text(encoding="utf-8")
    assert committed == document_text, (
        f"{COMMITTED_DOCUMENT} is not what the server's routes and models give; regenerate it and the UI's "
        f"client with:\n  {REGENERATE}\n{_diff(committed, document_text, COMMITTED_DOCUMENT)}"
    )


def test_openapi_command_writes_the_document_with_sorted_keys_and_a_final_newline(tmp_path, capsys, document_text):
    target = tmp_path / "openapi.json"
    cli_commands.openapi(Namespace(output=str(target)))
    written = target.read_text(encoding="utf-8")
    assert written == document_text
    assert written.endswith("}\n")
    assert written == json.dumps(json.loads(written), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert "/api/v1/namespaces/{namespace}/jobs/{job}" in json.loads(written)["paths"]

    capsys.readouterr()
    cli_commands.openapi(Namespace(output=None))
    assert capsys.readouterr().out == document_text

"""The UI's client comes from the API's OpenAPI document: the committed ui/openapi.json must be what
the server's routes and models give, and ui/src/generated/openapi.ts what openapi-typescript makes
of it. A route or model changed without regenerating both fails here; a page reading a field the
document lacks fails the UI's type check (`npm run build`)."""

from __future__ import annotations

import difflib
import json
import shutil
import subprocess
from argparse import Namespace
from pathlib import Path

import pytest

from airflow_ol_catalog import cli_commands
from airflow_ol_catalog.api.openapi_document import COMMITTED_DOCUMENT, REGENERATE, openapi_text

ROOT = Path(__file__).resolve().parents[1]
UI = ROOT / "ui"
GENERATED = UI / "src" / "generated" / "openapi.ts"


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


def test_generated_typescript_is_what_openapi_typescript_makes_of_the_committed_document(tmp_path):
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed: the UI's generated client cannot be checked")
    codegen = UI / "node_modules" / ".bin" / "openapi-typescript"
    assert codegen.exists(), "ui/node_modules is missing: run `npm ci` in ui/ (scripts/test.sh does)"
    fresh = tmp_path / "openapi.ts"
    subprocess.run(
        [str(codegen), str(UI / "openapi.json"), "--output", str(fresh)],
        cwd=UI,
        check=True,
        capture_output=True,
        timeout=120,
    )
    committed = GENERATED.read_text(encoding="utf-8")
    now = fresh.read_text(encoding="utf-8")
    assert committed == now, (
        f"ui/src/generated/openapi.ts is stale against {COMMITTED_DOCUMENT}; regenerate it with:\n"
        f"  npm --prefix ui run codegen\n{_diff(committed, now, 'ui/src/generated/openapi.ts')}"
    )


PROBE = """\
import {{ getJson }} from "{src}/api";
import {{ useApi }} from "{src}/useApi";

export const fine = () => useApi("namespaces/{{namespace}}/jobs/{{job}}", {{ path: {{ namespace: "a", job: "b" }} }}).data?.latestRun?.state;
export const unknownField = () => useApi("namespaces", {{ query: {{ limit: 1 }} }}).data?.namespaces[0].nope;
export const unknownRoute = () => getJson("namespaces/{{namespace}}/nothing", {{ path: {{ namespace: "a" }} }});
export const missingParameter = () => useApi("namespaces/{{namespace}}/jobs/{{job}}", {{ path: {{ namespace: "a" }} }});
"""


def test_ui_type_check_refuses_what_the_document_does_not_declare(tmp_path):
    """The pages' API calls are typed by the document: reading a field its model lacks, calling a
    route it does not have, or leaving out a path parameter fails the type check `npm run build` runs."""
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed: the UI's type check cannot run")
    tsc = UI / "node_modules" / ".bin" / "tsc"
    assert tsc.exists(), "ui/node_modules is missing: run `npm ci` in ui/ (scripts/test.sh does)"
    (tmp_path / "probe.ts").write_text(PROBE.format(src=(UI / "src").as_posix()), encoding="utf-8")
    config = {"extends": (UI / "tsconfig.json").as_posix(), "include": ["probe.ts"]}
    (tmp_path / "tsconfig.json").write_text(json.dumps(config), encoding="utf-8")
    checked = subprocess.run(
        [str(tsc), "--noEmit", "-p", "tsconfig.json"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    errors = sorted(
        (int(line.split("(")[1].split(",")[0]), line.split("error ")[1].split(":")[0])
        for line in checked.stdout.splitlines()
        if line.startswith("probe.ts(")
    )
    assert errors == [(5, "TS2339"), (6, "TS2345"), (7, "TS2741")], checked.stdout

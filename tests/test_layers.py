"""The dependency rule of the design: api -> ingest/lineage -> store/events; events imports nothing
of the project; the transport (imported in task processes) only events. The API server's SQL lives
in ingest/ (writes) and lineage/ (reads), never in maintenance/, whose DAG tasks talk to the
catalog over HTTP and so import neither the API nor its SQL."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "airflow_ol_catalog"

# What each layer may import of the project, besides itself.
ALLOWED = {
    "events": set(),
    "transport": {"events"},
    "store": {"events", "config", "provider"},
    "ingest": {"events", "store"},
    "lineage": {"events", "store"},
    "airflow_integration": {"events", "store", "ingest", "lineage"},
    "api": {"events", "store", "ingest", "lineage", "config", "airflow_integration"},
    "maintenance": {"events", "transport"},
}


def _project_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom) and node.level == 0
            else []
        )
        for name in names:
            parts = name.split(".")
            if parts[0] == "airflow_ol_catalog" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_a_layer_imports_only_what_lies_below_it(layer):
    wrong = {}
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        bad = _project_imports(path) - ALLOWED[layer] - {layer}
        if bad:
            wrong[str(path.relative_to(PACKAGE))] = sorted(bad)
    assert wrong == {}


def test_the_transport_loads_no_validator_in_a_task_process():
    """A task process imports the transport for every task; the event model and validator stay unloaded
    until something asks for them by name."""
    probe = (
        "import sys, airflow_ol_catalog.transport, airflow_ol_catalog.events as e\n"
        "heavy = [m for m in ('decode', 'model', 'validate') if f'airflow_ol_catalog.events.{m}' in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert all(getattr(e, name) is not None for name in e.__all__)\n"
        "assert sorted(e.__all__) == sorted(e._HOMES)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr

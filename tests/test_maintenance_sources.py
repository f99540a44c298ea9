"""How the maintenance tasks read data sources, run in this process: Connections from `AIRFLOW_CONN_*`
variables, the catalog a stand-in that answers the match and keeps what the tasks send."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest

from airflow_ol_catalog.maintenance.client import CatalogClient
from airflow_ol_catalog.maintenance.extract import extract_metadata
from airflow_ol_catalog.maintenance.reconcile import reconcile_data_sources


class Catalog:
    """The catalog's side of the tasks' HTTP calls: the datasets to check, and what was sent."""

    def __init__(self, to_check: list[dict[str, Any]] | None = None) -> None:
        self.to_check = to_check or []
        self.sent: dict[str, list[Any]] = {}

    def post(self, path: str, body: Any = None, **params: Any) -> Any:
        if path == "admin/reconciliation/match":
            counts = {"matched": len(self.to_check), "unmatched": 0, "ambiguous": 0}
            return {"toCheck": self.to_check, "counts": counts, "namespaces": []}
        self.sent.setdefault(path, []).append(body)
        return {"failed_events": []} if path == "lineage/batch" else {}

    def get(self, path: str, **params: Any) -> Any:
        return {}

    def checks(self) -> dict[str, dict[str, Any]]:
        return {c["name"]: c for body in self.sent.get("admin/reconciliation/checks", []) for c in body["checks"]}

    def events(self) -> dict[str, dict[str, Any]]:
        return {e["dataset"]["name"]: e for body in self.sent.get("lineage/batch", []) for e in body}


@pytest.fixture
def catalog(monkeypatch) -> Catalog:
    found = Catalog()
    monkeypatch.setattr(CatalogClient, "from_connection", staticmethod(lambda conn_id="": found))
    return found


def connection(monkeypatch, conn_id: str, **fields: Any) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))


def to_check(conn_id: str, scheme: str, namespace: str, name: str, fields: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "namespace": namespace,
        "name": name,
        "connId": conn_id,
        "scheme": scheme,
        "fields": [{"name": n, "type": t} for n, t in fields],
    }


def test_a_sqlite_file_that_does_not_exist_is_not_created_and_its_tables_go_unchecked(catalog, monkeypatch, tmp_path):
    ghost, real = tmp_path / "ghost.db", tmp_path / "real #1.db"
    with sqlite3.connect(real) as db:
        db.execute("CREATE TABLE t (x integer)")
    connection(monkeypatch, "lite_ghost", conn_type="sqlite", host=str(ghost))
    connection(monkeypatch, "lite_real", conn_type="sqlite", host=str(real))
    catalog.to_check = [
        to_check(conn_id, "sqlite", "sqlite://localhost", f"{stem}.main.t", [("x", "integer")])
        for conn_id, stem in (("lite_ghost", "ghost"), ("lite_real", "real #1"))
    ]
    reconcile_data_sources()
    check = catalog.checks()["ghost.main.t"]
    assert check["status"] == "error" and "does not exist" in check["evidence"]["error"], check
    assert not ghost.exists()
    assert catalog.checks()["real #1.main.t"]["status"] == "ok"  # read-only, a file that exists is read

    with pytest.raises(RuntimeError, match="1 of 1 Connections could not be crawled: lite_ghost"):
        extract_metadata(["lite_ghost"])
    assert not ghost.exists() and catalog.events() == {}

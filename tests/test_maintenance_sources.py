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


KINDS = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE TABLE kinds (
    a int[], b char(5), c text[], d varchar(20)[], e mood, f posint, g timetz, h int4, k xml, m bit(3),
    n timestamp(3) with time zone, p numeric(12, 2), q mood[]
)
"""


@pytest.fixture
def kinds(postgres, monkeypatch) -> tuple[str, list[tuple[str, str]]]:
    """A PostgreSQL database with a table of many kinds of types, its Connection `pg_kinds`, and its
    columns' types as producers send them (information_schema's udt_name)."""
    import psycopg2

    postgres.create_database("kinds")
    with (
        psycopg2.connect(host="127.0.0.1", port=postgres.port, user="postgres", dbname="kinds") as db,
        db.cursor() as cur,
    ):
        cur.execute(KINDS)
        cur.execute(
            "SELECT column_name, udt_name FROM information_schema.columns"
            " WHERE table_name = 'kinds' ORDER BY ordinal_position"
        )
        sent = cur.fetchall()
    connection(
        monkeypatch,
        "pg_kinds",
        conn_type="postgres",
        host="127.0.0.1",
        port=postgres.port,
        schema="kinds",
        login="postgres",
    )
    return f"postgres://127.0.0.1:{postgres.port}", sent


def test_an_unchanged_postgresql_table_checks_ok_whichever_spelling_its_types_were_sent_in(catalog, kinds):
    namespace, sent = kinds
    as_sql = [
        ("a", "integer[]"),
        ("b", "character(5)"),
        ("c", "text[]"),
        ("d", "character varying[]"),
        ("e", "mood"),
        ("f", "integer"),
        ("g", "time with time zone"),
        ("h", "integer"),
        ("k", "xml"),
        ("m", "bit(3)"),
        ("n", "timestamptz"),
        ("p", "numeric(12,2)"),
        ("q", "mood[]"),
    ]
    catalog.to_check = [
        to_check("pg_kinds", "postgres", namespace, "kinds.public.kinds", sent),
        to_check("pg_kinds", "postgres", namespace, "kinds.public.KINDS", as_sql),
        to_check("pg_kinds", "postgres", namespace, "kinds", sent),  # no schema: the one on the search path
    ]
    reconcile_data_sources()
    checks = catalog.checks()
    assert {name: (c["status"], c["evidence"]) for name, c in checks.items()} == {
        name: ("ok", {"missing": [], "extra": [], "changed": []})
        for name in ("kinds.public.kinds", "kinds.public.KINDS", "kinds")
    }


def test_extraction_sends_the_types_postgresql_gives_its_columns(catalog, kinds):
    extract_metadata(["pg_kinds"])
    fields = catalog.events()["kinds.public.kinds"]["dataset"]["facets"]["schema"]["fields"]
    assert [(f["name"], f["type"]) for f in fields] == [
        ("a", "integer[]"),
        ("b", "character(5)"),
        ("c", "text[]"),
        ("d", "character varying(20)[]"),
        ("e", "mood"),
        ("f", "integer"),  # a domain's base type, as information_schema's udt_name gives it
        ("g", "time with time zone"),
        ("h", "integer"),
        ("k", "xml"),
        ("m", "bit(3)"),
        ("n", "timestamp(3) with time zone"),
        ("p", "numeric(12,2)"),
        ("q", "mood[]"),
    ]

"""Search by part of a name on PostgreSQL: trigram indexes where pg_trgm can be created, a scan
(and a working migration) where it cannot."""

from __future__ import annotations

import logging

import psycopg2
import pytest
from sqlalchemy import text
from test_projection import event, send

from airflow_ol_catalog.events.naming import fold
from airflow_ol_catalog.lineage.catalog import _matching, search
from airflow_ol_catalog.store.engine import build_engine, read_connection
from airflow_ol_catalog.store.migrate import upgrade
from airflow_ol_catalog.store.tables import dataset, job

TRIGRAM_INDEXES = {
    "ix_ol_catalog_dataset_search_trgm",
    "ix_ol_catalog_job_search_trgm",
    "ix_ol_catalog_facet_search_trgm",
}


def trigram_indexes(conn) -> set[str]:
    return set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%%_trgm'")).scalars())


def plan(conn, query) -> str:
    sql = str(query.compile(conn, compile_kwargs={"literal_binds": True})).replace("%%", "%")
    return "\n".join(conn.exec_driver_sql("EXPLAIN " + sql.replace("%", "%%")).scalars())


def test_part_of_a_name_is_found_through_the_trigram_indexes(catalog_engine):
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("SQLite scans its names")
    send(
        catalog_engine,
        [event("COMPLETE", "2025-01-01T10:00:00Z", outputs=[{"namespace": "pg://db", "name": "shop.orders_daily"}])],
    )
    with read_connection(catalog_engine) as conn:
        assert trigram_indexes(conn) == TRIGRAM_INDEXES
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a tiny table: ask whether the index can serve
        for table, name in ((dataset, "ix_ol_catalog_dataset_search_trgm"), (job, "ix_ol_catalog_job_search_trgm")):
            assert name in plan(conn, _matching(table, table.name, "ORDERS", fold("ORDERS"), []))
        found, total = search(conn, "Orders_D", None, 10)
    assert total == 1 and found[0]["name"] == "shop.orders_daily"


def test_without_the_right_to_create_pg_trgm_the_migration_goes_on_and_search_scans(postgres, caplog):
    """A database user who may create tables but not extensions (a managed service, a locked-down
    role): the catalog migrates, says why it has no trigram indexes, and search still finds."""
    url = postgres.create_database("no_trgm")
    admin = psycopg2.connect(host="127.0.0.1", port=postgres.port, user="postgres", dbname="no_trgm")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("DROP ROLE IF EXISTS catalog_only")
        cur.execute("CREATE ROLE catalog_only LOGIN")
        cur.execute("GRANT CONNECT ON DATABASE no_trgm TO catalog_only")
        cur.execute("GRANT USAGE, CREATE ON SCHEMA public TO catalog_only")
    admin.close()
    limited = url.replace("//postgres@", "//catalog_only@")
    try:
        with caplog.at_level(logging.WARNING):
            upgrade(limited)
        assert any("pg_trgm could not be created" in r.getMessage() for r in caplog.records)
        engine = build_engine(limited)
        send(
            engine,
            [event("COMPLETE", "2025-01-01T10:00:00Z", outputs=[{"namespace": "pg://db", "name": "shop.orders"}])],
        )
        with read_connection(engine) as conn:
            assert trigram_indexes(conn) == set()
            found, total = search(conn, "orders", "dataset", 10)
        assert (total, found[0]["name"]) == (1, "shop.orders")
        engine.dispose()
    finally:
        admin = psycopg2.connect(host="127.0.0.1", port=postgres.port, user="postgres", dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS no_trgm WITH (FORCE)")
            cur.execute("DROP ROLE IF EXISTS catalog_only")
        admin.close()

"""Matching dataset namespaces to Airflow Connections, and comparing tables with lineage schemas (pure logic)."""

from __future__ import annotations

from airflow_ol_catalog.events.datasources import compare_schema, data_source, match_dataset, table_address

PG = data_source("pg_main", "postgres", "PG.Internal", 5432, "shop")
PG_OTHER_DB = data_source("pg_analytics", "postgres", "pg.internal", None, "analytics")
SQLITE = data_source("sqlite_shop", "sqlite", "/data/shop.db", None, None)
MYSQL = data_source(
    "mysql_app", "mysql", "db.example", 3306, "app", {"ol_catalog_aliases": ["10.0.0.7", "mysql://db-replica:3307"]}
)


def test_spellings_of_one_server_match_its_connection():
    for namespace in (
        "postgres://pg.internal:5432",
        "postgresql://PG.INTERNAL",
        "jdbc:postgresql://pg.internal:5432/",
        "postgres://pg.internal/",
    ):
        assert match_dataset(namespace, "shop.public.orders", [PG]).conn_id == "pg_main", namespace
    assert match_dataset("sqlite://localhost", "shop.main.orders", [SQLITE]).status == "matched"
    assert match_dataset("mariadb://10.0.0.7:3306", "app.t", [MYSQL]).conn_id == "mysql_app"  # an alias
    assert match_dataset("mysql://db-replica:3307", "app.t", [MYSQL]).conn_id == "mysql_app"


def test_the_database_in_the_name_decides_between_connections_to_one_server():
    sources = [PG, PG_OTHER_DB]
    assert match_dataset("postgres://pg.internal", "analytics.public.t", sources).conn_id == "pg_analytics"
    ambiguous = match_dataset("postgres://pg.internal", "warehouse.public.t", sources)
    assert (ambiguous.status, ambiguous.candidates) == ("ambiguous", ("pg_analytics", "pg_main"))


def test_unmatched_namespaces_get_a_suggestion_when_a_connection_of_their_kind_exists():
    found = match_dataset("postgres://10.1.2.3:5432", "shop.public.orders", [PG, MYSQL])
    assert found.status == "unmatched" and found.candidates == ("pg_main",)
    assert "add it to that Connection's extra ol_catalog_aliases" in found.suggestion and "10.1.2.3" in found.suggestion
    assert match_dataset("kafka://broker:9092", "topic", [PG]).candidates == ()


def test_schema_comparison_names_missing_extra_and_changed_columns():
    lineage = [
        {"name": "id", "type": "INTEGER"},
        {"name": "amount", "type": "decimal(12,2)"},
        {"name": "note", "type": "text"},
    ]
    table = [
        {"name": "id", "type": "INT4"},
        {"name": "amount", "type": "NUMERIC(12, 2)"},
        {"name": "created", "type": "DATE"},
    ]
    check = compare_schema(lineage, table)
    assert (
        check.status == "drifted" and check.missing == ["note"] and check.extra == ["created"] and check.changed == []
    )
    assert compare_schema(lineage, None).status == "missing"
    assert compare_schema([{"name": "id", "type": "bigint"}], [{"name": "id", "type": "INTEGER"}]).changed == [
        {"column": "id", "lineage": "bigint", "table": "INTEGER"}
    ]
    assert compare_schema([], table).status == "ok"  # no lineage schema: nothing to compare


def test_dataset_names_give_the_inspectors_schema_and_table():
    assert table_address("shop.public.orders", "postgres") == ("public", "orders")
    assert table_address("orders", "sqlite") == ("main", "orders")


def test_snowflake_account_forms_match_one_connection():
    sf = data_source(
        "sf", "snowflake", None, None, None, {"account": "XY12345", "region": "us-east-1", "database": "ANALYTICS"}
    )
    for namespace in ("snowflake://xy12345", "snowflake://XY12345.us-east-1", "snowflake://xy12345.us-east-1/"):
        assert match_dataset(namespace, "ANALYTICS.PUBLIC.T", [sf]).conn_id == "sf", namespace
    org = data_source("sf_org", "snowflake", "myorg-myaccount.snowflakecomputing.com", None, None, {})
    assert match_dataset("snowflake://MYORG-MYACCOUNT", "db.s.t", [org]).status == "matched"

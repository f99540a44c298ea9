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
    # no Connection opens it: not matched (a check through another database's Connection would
    # report the table missing, or compare another table of the same name)
    other = match_dataset("postgres://pg.internal", "warehouse.public.t", sources)
    assert (other.status, other.candidates) == ("unmatched", ("pg_analytics", "pg_main"))
    assert "no Connection opens database 'warehouse'" in other.suggestion
    # however many Connections there are: one SQLite file is not another
    assert match_dataset("sqlite://localhost", "many.main.t0", [SQLITE]).status == "unmatched"
    assert match_dataset("postgres://pg.internal", "warehouse.public.t", [PG]).status == "unmatched"
    # where a Connection's database is not known, a dataset naming one is not matched to it
    unknown = data_source("unknown", "postgres", "pg.internal", None, None)
    assert match_dataset("postgres://pg.internal", "warehouse.public.t", [PG, unknown]).status == "unmatched"
    assert match_dataset("postgres://pg.internal", "shop.public.t", [PG, unknown]).conn_id == "pg_main"
    assert match_dataset("postgres://pg.internal", "public.t", [unknown]).conn_id == "unknown"
    # where a Connection's schema field is no database of the name's, the name's first part decides nothing
    trino = data_source("trino", "trino", "trino.example", 8080, "sales")
    assert match_dataset("trino://trino.example:8080", "hive.sales.orders", [trino]).conn_id == "trino"
    snowflake = data_source("sf", "snowflake", None, None, "PUBLIC", {"account": "xy12345"})
    assert match_dataset("snowflake://xy12345", "ANALYTICS.PUBLIC.ORDERS", [snowflake]).conn_id == "sf"
    oracle = data_source("ora", "oracle", "ora.example", 1521, "HR")
    assert match_dataset("oracle://ora.example:1521", "ORCLPDB.HR.EMP", [oracle]).conn_id == "ora"


def test_a_database_whose_name_holds_dots_leads_the_dataset_name_whole():
    """A SQLite file `my.shop.db` is database `my.shop` (`my.shop.main.orders`), a PostgreSQL
    database may be `sales.eu`: the name's first part, `my`, opened no Connection's database."""
    dotted = data_source("lite_dots", "sqlite", "/data/my.shop.db", None, None)
    short = data_source("lite_my", "sqlite", "/data/my.db", None, None)
    assert match_dataset("sqlite://localhost", "my.shop.main.orders", [dotted]).conn_id == "lite_dots"
    assert match_dataset("sqlite://localhost", "my.shop.main.orders", [dotted, short]).conn_id == "lite_dots"
    assert match_dataset("sqlite://localhost", "my.main.orders", [dotted, short]).conn_id == "lite_my"
    eu = data_source("pg_eu", "postgres", "pg.internal", None, "sales.eu")
    assert match_dataset("postgres://pg.internal", "sales.eu.public.t", [PG, eu]).conn_id == "pg_eu"
    assert table_address("sales.eu.public.t", "postgres", "sales.eu") == ("public", "t")


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
    # after the Connection's database, the schema up to the next dot, and the table all the rest
    assert table_address("shop.main.a.b", "sqlite", "shop") == ("main", "a.b")
    assert table_address("SHOP.public.orders", "postgres", "shop") == ("public", "orders")


def test_time_zone_aware_columns_keep_their_zone():
    from sqlalchemy import TIME, TIMESTAMP

    from airflow_ol_catalog.events.datasources import column_type

    assert column_type(TIMESTAMP(timezone=True)) == "TIMESTAMP WITH TIME ZONE"
    assert column_type(TIME(timezone=True)) == "TIME WITH TIME ZONE"
    assert column_type(TIMESTAMP()) == "TIMESTAMP"
    aware = [{"name": "ts", "type": "timestamptz"}]
    assert compare_schema(aware, [{"name": "ts", "type": column_type(TIMESTAMP(timezone=True))}]).status == "ok"
    assert compare_schema(aware, [{"name": "ts", "type": column_type(TIMESTAMP())}]).changed == [
        {"column": "ts", "lineage": "timestamptz", "table": "TIMESTAMP"}
    ]


def test_snowflake_account_forms_match_one_connection():
    sf = data_source(
        "sf", "snowflake", None, None, None, {"account": "XY12345", "region": "us-east-1", "database": "ANALYTICS"}
    )
    for namespace in ("snowflake://xy12345", "snowflake://XY12345.us-east-1", "snowflake://xy12345.us-east-1/"):
        assert match_dataset(namespace, "ANALYTICS.PUBLIC.T", [sf]).conn_id == "sf", namespace
    org = data_source("sf_org", "snowflake", "myorg-myaccount.snowflakecomputing.com", None, None, {})
    assert match_dataset("snowflake://MYORG-MYACCOUNT", "db.s.t", [org]).status == "matched"


def test_a_table_check_belongs_to_the_connection_it_was_made_through(catalog_engine):
    """A dataset matched to another Connection keeps no check made through the one before, and a
    check that arrives for the Connection it no longer matches (a run begun before) is dropped."""
    from sqlalchemy import select
    from test_events import run_event
    from test_projection import send

    from airflow_ol_catalog.ingest.source_matches import reconcile, record_checks
    from airflow_ol_catalog.store.engine import read_connection, write_transaction
    from airflow_ol_catalog.store.tables import data_source_match

    payload = run_event(eventType="COMPLETE")
    payload["outputs"] = [{"namespace": "sqlite://localhost", "name": "shop.main.orders"}]
    send(catalog_engine, [payload])
    first = data_source("first", "sqlite", "/data/shop.db", None, None)
    second = data_source("second", "sqlite", "/elsewhere/shop.db", None, None)
    check = {"namespace": "sqlite://localhost", "name": "shop.main.orders", "status": "missing", "evidence": {}}

    def stored() -> tuple:
        with read_connection(catalog_engine) as conn:
            return conn.execute(select(data_source_match.c.conn_id, data_source_match.c.check_status)).one()

    with write_transaction(catalog_engine) as conn:
        reconcile(conn, [first], dry_run=False)
        assert record_checks(conn, [{**check, "connId": "first"}]) == 1
    assert stored() == ("first", "missing")
    with write_transaction(catalog_engine) as conn:
        reconcile(conn, [first], dry_run=False)  # matched as before: the check stays
    assert stored() == ("first", "missing")
    with write_transaction(catalog_engine) as conn:
        reconcile(conn, [second], dry_run=False)
    assert stored() == ("second", None)
    with write_transaction(catalog_engine) as conn:
        assert record_checks(conn, [{**check, "connId": "first"}]) == 0  # late, through the old one
        assert record_checks(conn, [{**check, "status": "ok", "connId": "second"}]) == 1
    assert stored() == ("second", "ok")
    # a check that could not be made counts too: the Connection's row adds up to its datasets
    from airflow_ol_catalog.lineage.source_matches import data_source_summary

    with write_transaction(catalog_engine) as conn:
        record_checks(conn, [{**check, "status": "error", "evidence": {"error": "refused"}, "connId": "second"}])
    with read_connection(catalog_engine) as conn:
        (row,) = data_source_summary(conn, [second])["dataSources"]
    assert (row["datasets"], row["ok"], row["missing"], row["drifted"], row["unchecked"]) == (1, 0, 0, 0, 1)


def test_a_table_named_in_another_case_is_found_where_the_database_folds_names(postgres):
    """PostgreSQL stores `CREATE TABLE Orders` as `orders`; a producer may name it `shop.public.ORDERS`.
    A table created with quotes keeps its case and is found as written."""
    import psycopg2
    from sqlalchemy import create_engine, inspect

    from airflow_ol_catalog.maintenance.reconcile import stored_table

    postgres.create_database("folding")
    with (
        psycopg2.connect(host="127.0.0.1", port=postgres.port, user="postgres", dbname="folding") as db,
        db.cursor() as c,
    ):
        c.execute('CREATE TABLE Orders (id integer); CREATE TABLE "Quoted" (id integer); CREATE SCHEMA Sales')
        c.execute("CREATE TABLE Sales.Items (id integer)")
    engine = create_engine(f"postgresql+psycopg2://postgres@127.0.0.1:{postgres.port}/folding")
    try:
        inspector = inspect(engine)
        assert stored_table(inspector, "postgres", "public", "ORDERS") == ("public", "orders")
        assert stored_table(inspector, "postgres", "SALES", "Items") == ("sales", "items")
        assert stored_table(inspector, "postgres", "public", "Quoted") == ("public", "Quoted")
        assert stored_table(inspector, "postgres", "public", "QUOTED") is None  # quoted names keep their case
        assert stored_table(inspector, "mysql", "public", "ORDERS") is None  # only where names fold
        assert stored_table(inspector, "postgres", "public", "nothing") is None
    finally:
        engine.dispose()


def test_postgresql_spellings_of_one_type_compare_equal():
    """Producers send PostgreSQL's internal names (information_schema's udt_name); the database and
    SQLAlchemy write SQL's."""
    for lineage, table in (
        ("_int4", "integer[]"),
        ("int[]", "INTEGER[]"),
        ("_varchar", "character varying(20)[]"),
        ("bpchar", "CHAR(5)"),
        ("bpchar", "character(5)"),
        ("timetz", "time with time zone"),
        ("timetz", "TIME WITH TIME ZONE"),
        ("timestamp", "timestamp(3) without time zone"),
        ("timestamptz", "timestamp(3) with time zone"),
        ("varbit", "bit varying(8)"),
        ("mood", "sales.mood"),  # an enum, written with its schema where it is not on the search path
    ):
        assert compare_schema([{"name": "c", "type": lineage}], [{"name": "c", "type": table}]).status == "ok", lineage
    for lineage, table in (("_int4", "integer"), ("_int4", "text[]"), ("int4", "integer[]"), ("mood", "text")):
        assert compare_schema([{"name": "c", "type": lineage}], [{"name": "c", "type": table}]).changed == [
            {"column": "c", "lineage": lineage, "table": table}
        ]


def test_a_postgresql_connection_naming_no_database_opens_the_one_named_as_its_login():
    """As PostgreSQL's client does: its datasets match, another database's on the server do not."""
    no_database = data_source("pg_nodb", "postgres", "pg.internal", 5432, None, None, "etl")
    assert no_database.database == "etl"
    assert match_dataset("postgres://pg.internal:5432", "etl.public.orders", [no_database]).conn_id == "pg_nodb"
    other = match_dataset("postgres://pg.internal:5432", "other.public.orders", [no_database])
    assert (other.status, other.candidates) == ("unmatched", ("pg_nodb",))
    # nor a login: which database it opens is not known
    nobody = data_source("pg_nobody", "postgres", "pg.internal", 5432, None)
    assert match_dataset("postgres://pg.internal:5432", "other.public.orders", [nobody]).status == "unmatched"
    redshift = data_source("rs", "redshift", "rs.example", 5439, None, None, "etl")
    assert match_dataset("redshift://rs.example:5439", "dev.public.orders", [redshift]).status == "unmatched"

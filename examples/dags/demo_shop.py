"""Demo DAGs: a small shop's pipeline on an embedded SQLite database, whose lineage Airflow's
OpenLineage provider extracts itself and sends to the catalog (scripts/run.sh sets it up).

- `demo_shop_etl` loads orders, converts them to euros and sums revenue per day and country (SQL
  the provider parses: tables, columns, column lineage), checks the orders (a column check that
  fails: one order has no customer) and exports the revenue to a CSV file, an Airflow Asset.
- `demo_shop_report` is scheduled on that Asset: it runs when the export is written.

The database is the `demo_shop` Connection's file (run.sh creates it in $AIRFLOW_HOME/demo).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from airflow.providers.common.sql.operators.sql import SQLColumnCheckOperator, SQLExecuteQueryOperator
from airflow.providers.sqlite.hooks.sqlite import SqliteHook
from airflow.sdk import DAG, Asset, task

DEMO_DIR = Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow") / "demo"
REVENUE_CSV = Asset(name="daily_revenue_export", uri=f"file://{DEMO_DIR / 'exports' / 'daily_revenue.csv'}")
REPORT_CSV = Asset(name="country_report", uri=f"file://{DEMO_DIR / 'exports' / 'country_report.csv'}")
CONN_ID = "demo_shop"


# What the OpenLineage provider reads table schemas from, in the shape of information_schema.columns
# (SQLite has none): a view of SQLite's own table_info.
COLUMNS_VIEW = "ol_information_schema_columns"
COLUMNS_VIEW_SQL = (
    f"CREATE VIEW IF NOT EXISTS {COLUMNS_VIEW} AS SELECT 'main' AS table_schema, m.name AS table_name, "
    "c.name AS column_name, c.cid + 1 AS ordinal_position, lower(c.type) AS data_type "
    "FROM sqlite_master m JOIN pragma_table_info(m.name) c WHERE m.type IN ('table', 'view')"
)


class ShopSqliteHook(SqliteHook):
    """SQLite described to the OpenLineage SQL parser (the sqlite provider does not describe it):
    datasets are named `sqlite://localhost` / `shop.main.<table>`, with their columns."""

    def get_openlineage_database_info(self, connection):
        from contextlib import closing

        from airflow.providers.openlineage.sqlparser import DatabaseInfo

        with closing(self.get_conn()) as db:  # not self.run: that would report the statement as lineage
            db.execute(COLUMNS_VIEW_SQL)
        return DatabaseInfo(
            scheme="sqlite",
            authority="localhost",
            database=Path(connection.host).stem,
            information_schema_table_name=COLUMNS_VIEW,
            information_schema_columns=["table_schema", "table_name", "column_name", "ordinal_position", "data_type"],
            use_flat_cross_db_query=True,
        )

    def get_openlineage_database_dialect(self, connection):
        return "sqlite"

    def get_openlineage_default_schema(self):
        return "main"


class ShopQuery(SQLExecuteQueryOperator):
    def get_db_hook(self):
        return ShopSqliteHook(sqlite_conn_id=self.conn_id)


class ShopColumnCheck(SQLColumnCheckOperator):
    def get_db_hook(self):
        return ShopSqliteHook(sqlite_conn_id=self.conn_id)


with DAG(
    "demo_shop_etl",
    schedule=None,
    catchup=False,
    tags=["demo", "lineage"],
    doc_md="Loads the shop's orders, sums revenue per day and country, checks the orders and exports the revenue.",
):
    create_tables = ShopQuery(
        task_id="create_tables",
        conn_id=CONN_ID,
        sql=[
            "CREATE TABLE IF NOT EXISTS customers (id INTEGER PRIMARY KEY, name TEXT, country TEXT, email TEXT)",
            "CREATE TABLE IF NOT EXISTS raw_orders "
            "(id INTEGER PRIMARY KEY, customer_id INTEGER, amount REAL, currency TEXT, ordered_at TEXT)",
            "CREATE TABLE IF NOT EXISTS fx_rates (currency TEXT PRIMARY KEY, to_eur REAL)",
            "CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, customer_id INTEGER, amount_eur REAL, day TEXT)",
            "CREATE TABLE IF NOT EXISTS daily_revenue (day TEXT, country TEXT, revenue_eur REAL, order_count INTEGER)",
            "INSERT OR REPLACE INTO customers VALUES (1, 'Ada', 'NL', 'ada@example.com'), "
            "(2, 'Grace', 'US', 'grace@example.com'), (3, 'Linus', 'FI', 'linus@example.com')",
            "INSERT OR REPLACE INTO fx_rates VALUES ('EUR', 1.0), ('USD', 0.92)",
            "INSERT OR REPLACE INTO raw_orders VALUES (1, 1, 40.0, 'EUR', '2026-11-30T09:12:00'), "
            "(2, 2, 25.0, 'USD', '2026-11-30T17:40:00'), (3, 3, 12.5, 'EUR', '2026-12-01T08:03:00'), "
            "(4, NULL, 99.0, 'EUR', '2026-12-01T11:30:00'), (5, 1, -5.0, 'EUR', '2026-12-01T12:00:00')",
        ],
    )
    load_orders = ShopQuery(
        task_id="load_orders",
        conn_id=CONN_ID,
        sql=[
            "DELETE FROM orders",
            "INSERT INTO orders (id, customer_id, amount_eur, day) "
            "SELECT r.id, r.customer_id, r.amount * f.to_eur AS amount_eur, substr(r.ordered_at, 1, 10) AS day "
            "FROM raw_orders r JOIN fx_rates f ON f.currency = r.currency WHERE r.amount > 0",
        ],
    )
    daily_revenue = ShopQuery(
        task_id="daily_revenue",
        conn_id=CONN_ID,
        sql=[
            "DELETE FROM daily_revenue",
            "INSERT INTO daily_revenue (day, country, revenue_eur, order_count) "
            "SELECT o.day, c.country, sum(o.amount_eur) AS revenue_eur, count(*) AS order_count "
            "FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY o.day, c.country",
        ],
    )
    check_orders = ShopColumnCheck(
        task_id="check_orders",
        conn_id=CONN_ID,
        table="orders",
        column_mapping={
            "customer_id": {"null_check": {"equal_to": 0}},
            "amount_eur": {"min": {"geq_to": 0}},
        },
    )

    @task(inlets=[], outlets=[REVENUE_CSV])
    def export_revenue() -> int:
        """Writes daily_revenue to the CSV file the Asset names; the Asset event triggers demo_shop_report."""
        rows = ShopSqliteHook(sqlite_conn_id=CONN_ID).get_records(
            "SELECT day, country, revenue_eur, order_count FROM daily_revenue ORDER BY day, country"
        )
        path = Path(REVENUE_CSV.uri.removeprefix("file://"))
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["day", "country", "revenue_eur", "order_count"])
            writer.writerows(rows)
        return len(rows)

    create_tables >> load_orders >> [daily_revenue, check_orders]
    daily_revenue >> export_revenue()


with DAG(
    "demo_shop_report",
    schedule=[REVENUE_CSV],
    catchup=False,
    tags=["demo", "lineage"],
    doc_md="Runs when demo_shop_etl exports the revenue: revenue per country, from the export.",
):

    @task(inlets=[REVENUE_CSV], outlets=[REPORT_CSV])
    def country_report() -> int:
        totals: dict[str, float] = {}
        with Path(REVENUE_CSV.uri.removeprefix("file://")).open(newline="") as source:
            for row in csv.DictReader(source):
                totals[row["country"]] = totals.get(row["country"], 0.0) + float(row["revenue_eur"])
        with Path(REPORT_CSV.uri.removeprefix("file://")).open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["country", "revenue_eur"])
            writer.writerows(sorted(totals.items()))
        return len(totals)

    country_report()

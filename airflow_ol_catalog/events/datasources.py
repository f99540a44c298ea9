"""Which Airflow Connection a dataset's namespace names: the data sources Airflow already knows.

Pure logic. A Connection becomes the namespace keys it answers to (the same match keys the
catalog uses, so `postgresql://PG.internal:5432/` and `postgres://pg.internal` agree), plus the
aliases an admin lists in its extra (`{"ol_catalog_aliases": ["10.0.0.5:5432", "pg-replica"]}`).
A dataset matches the Connections whose keys hold its namespace and, for sources where a
Connection opens one database (PostgreSQL, Redshift, a SQLite file), that open the database its
name gives (`db.schema.table`); when several are left, the one naming that database; otherwise it
is ambiguous and says which Connections could be it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from airflow_ol_catalog.events.naming import namespace_key

ALIASES_EXTRA = "ol_catalog_aliases"

# Airflow conn_type -> the scheme OpenLineage namespaces use for it.
SCHEMES = {
    "postgres": "postgres",
    "postgresql": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mssql": "sqlserver",
    "redshift": "redshift",
    "oracle": "oracle",
    "trino": "trino",
    "hive_cli": "hive",
    "hiveserver2": "hive",
    "hdfs": "hdfs",
    "webhdfs": "hdfs",
    "sqlite": "sqlite",
    "snowflake": "snowflake",
    "google_cloud_platform": "bigquery",
    "gcpbigquery": "bigquery",
    "aws": "s3",
    "fs": "file",
}
SQL_SCHEMES = {"postgres", "mysql", "sqlserver", "redshift", "oracle", "trino", "sqlite", "snowflake"}
# Sources whose Connection opens one database, the one it names, and whose dataset names start with
# it (`db.schema.table`). Elsewhere a Connection's schema field is no such database: Trino's
# catalog, Snowflake's and Oracle's schema, MySQL's default database among those it may open.
ONE_DATABASE_SCHEMES = {"postgres", "redshift", "sqlite"}


@dataclass(frozen=True)
class DataSource:
    conn_id: str
    scheme: str
    keys: frozenset[str]  # namespace match keys
    database: str | None  # the database a SQL connection opens, when it says

    @property
    def is_sql(self) -> bool:
        return self.scheme in SQL_SCHEMES


@dataclass(frozen=True)
class Match:
    status: str  # matched, unmatched, ambiguous
    conn_id: str | None = None
    candidates: tuple[str, ...] = ()  # ambiguous: the Connections it could be; unmatched: suggested ones
    suggestion: str | None = None  # unmatched: what to add to which Connection's aliases


def _aliases(extra: Any) -> list[str]:
    if isinstance(extra, str):
        try:
            extra = json.loads(extra) if extra.strip() else {}
        except ValueError:
            return []
    found = extra.get(ALIASES_EXTRA, []) if isinstance(extra, dict) else []
    return [a for a in ([found] if isinstance(found, str) else found) if isinstance(a, str) and a.strip()]


def data_source(
    conn_id: str,
    conn_type: str,
    host: str | None,
    port: int | None,
    schema: str | None,
    extra: Any = None,
    login: str | None = None,
) -> DataSource | None:
    """The data source an Airflow Connection describes; None for connection types that name no data."""
    scheme = SCHEMES.get((conn_type or "").lower())
    if scheme is None:
        return None
    host = (host or "").strip()
    # Naming no database, PostgreSQL's client opens the one named as the login.
    database = (schema or login or None) if scheme == "postgres" else (schema or None)
    keys = set()
    if scheme == "sqlite":
        # A file: OpenLineage names it sqlite://localhost with the file's stem as the database.
        keys.add("sqlite://localhost")
        database = PurePath(host).stem if host else None
    elif scheme == "snowflake":
        extras = (
            extra
            if isinstance(extra, dict)
            else json.loads(extra or "{}")
            if isinstance(extra, str) and extra.strip()
            else {}
        )
        account = (extras.get("account") or host or "").lower().removesuffix(".snowflakecomputing.com")
        region = (extras.get("region") or "").lower()
        # The account forms producers write: org-account, locator, locator.region(.cloud).
        for form in {account, f"{account}.{region}" if region else account, account.split(".")[0]}:
            if form:
                keys.add(namespace_key(f"snowflake://{form}"))
        database = extras.get("database") or schema or None
    elif scheme == "bigquery":
        keys.add("bigquery")
        database = None
    elif scheme == "s3":
        database = None  # an AWS connection opens every bucket: aliases say which ones (s3://bucket)
    elif host:
        authority = f"{host}:{port}" if port else host
        keys.add(namespace_key(f"{scheme}://{authority}"))
    for alias in _aliases(extra):
        keys.add(namespace_key(alias if "://" in alias else f"{scheme}://{alias}"))
    return DataSource(conn_id, scheme, frozenset(keys), database)


def _database_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[0] if len(parts) >= 3 else None


def _leads(database: str | None, name: str) -> bool:
    """Whether `name` is `database.schema.table` (the table may hold dots)."""
    if not database or not name.lower().startswith(database.lower() + "."):
        return False
    return "." in name[len(database) + 1 :]


def match_dataset(namespace: str, name: str, sources: list[DataSource]) -> Match:
    key = namespace_key(namespace)
    found = on_server = [s for s in sources if key in s.keys]
    database = _database_of(name)
    if database:
        # Such a Connection opens one database (a PostgreSQL database, a SQLite file): a dataset of
        # another database on its server is not in it, nor in one whose database is not known. A
        # database's name may hold dots (`my.shop.db`'s is `my.shop`): the longest that leads the
        # name, before its schema and table, is the one.
        found = [s for s in found if s.scheme not in ONE_DATABASE_SCHEMES or _leads(s.database, name)]
        longest = max((len(s.database or "") for s in found if s.scheme in ONE_DATABASE_SCHEMES), default=0)
        found = [s for s in found if s.scheme not in ONE_DATABASE_SCHEMES or len(s.database or "") == longest]
        if len(found) > 1:
            narrowed = [s for s in found if s.database]
            if len(narrowed) == 1:
                found = narrowed
    if len(found) == 1:
        return Match("matched", found[0].conn_id)
    if found:
        return Match("ambiguous", None, tuple(sorted(s.conn_id for s in found)))
    if on_server:  # the server's Connections each open another database
        others = tuple(sorted(s.conn_id for s in on_server))
        return Match(
            "unmatched", None, others, f"no Connection opens database {database!r}: {', '.join(others)} open others"
        )
    scheme = key.partition("://")[0]
    same_kind = sorted(s.conn_id for s in sources if s.scheme == scheme)
    if not same_kind:
        return Match("unmatched")
    authority = key.partition("://")[2].partition("/")[0]
    suggestion = f"if {authority or namespace!r} is one of {', '.join(same_kind)}, add it to that Connection's extra {ALIASES_EXTRA}"
    return Match("unmatched", None, tuple(same_kind), suggestion)


@dataclass
class SchemaCheck:
    """A matched SQL dataset compared with its table: missing, or columns that differ."""

    status: str  # ok, missing, drifted
    missing: list[str] = field(default_factory=list)  # in the lineage schema, not in the table
    extra: list[str] = field(default_factory=list)  # in the table, not in the lineage schema
    changed: list[dict[str, str | None]] = field(default_factory=list)  # {column, lineage, table}

    def evidence(self) -> dict[str, Any]:
        return {"missing": self.missing, "extra": self.extra, "changed": self.changed}


# Spellings of one type: PostgreSQL's internal names (information_schema's `udt_name`, which
# producers send), SQL's and SQLAlchemy's, each to one of them.
_TYPE_SYNONYMS = {
    "int": "integer",
    "int4": "integer",
    "int8": "bigint",
    "int2": "smallint",
    "float8": "double precision",
    "double": "double precision",
    "float4": "real",
    "bool": "boolean",
    "varchar": "character varying",
    "string": "text",
    "timestamptz": "timestamp with time zone",
    "timestamp without time zone": "timestamp",
    "timetz": "time with time zone",
    "time without time zone": "time",
    "bpchar": "character",
    "char": "character",
    "varbit": "bit varying",
    "numeric": "decimal",
}


def column_type(sql_type: Any) -> str:
    """A column's type as an inspector gives it, in words: SQLAlchemy writes a time zone-aware
    TIMESTAMP or TIME without its zone."""
    text = str(sql_type)
    if getattr(sql_type, "timezone", False) and text.upper() in ("TIMESTAMP", "TIME"):
        return f"{text} WITH TIME ZONE"
    return text


def _type(value: str | None) -> str:
    """The type compared: lengths and precisions left out (`character(5)` is `bpchar`), as is the
    schema a user-defined type's name may be qualified with; an array is its element's type with
    `[]`, which PostgreSQL's internal name writes with a leading underscore (`_int4` is `integer[]`)."""
    text = " ".join(re.sub(r"\([^)]*\)", "", (value or "").lower()).replace('"', "").split())
    if text.startswith("_") and len(text) > 1:
        array, text = True, text[1:]
    else:
        element = re.sub(r"(\s*\[\])+$|\s+array$", "", text)
        array, text = element != text, element
    base = text.rsplit(".", 1)[-1]
    return _TYPE_SYNONYMS.get(base, base) + ("[]" if array else "")


def compare_schema(lineage_fields: list[dict[str, Any]], table_columns: list[dict[str, Any]] | None) -> SchemaCheck:
    """`table_columns` as an inspector gives them ({name, type}); None when the table does not exist."""
    if table_columns is None:
        return SchemaCheck("missing")
    table = {c["name"].lower(): str(c["type"]) for c in table_columns}
    lineage = {
        f["name"].lower(): f.get("type")
        for f in lineage_fields
        if isinstance(f, dict) and isinstance(f.get("name"), str)
    }
    check = SchemaCheck("ok")
    check.missing = sorted(lineage.keys() - table.keys())
    check.extra = sorted(table.keys() - lineage.keys()) if lineage else []
    for column in sorted(lineage.keys() & table.keys()):
        if lineage[column] and _type(lineage[column]) != _type(table[column]):
            check.changed.append({"column": column, "lineage": lineage[column], "table": table[column]})
    if check.missing or check.extra or check.changed:
        check.status = "drifted"
    return check


def table_address(name: str, scheme: str, database: str | None = None) -> tuple[str | None, str]:
    """(schema, table) of a dataset name for the inspector: `db.schema.table`, `schema.table` or
    `table`. With the Connection's `database` leading the name, the schema is what follows it up to
    the next dot and the table all the rest, dots included (`shop.main.a.b`: table `a.b`)."""
    if database and name.lower().startswith(database.lower() + "."):
        schema, _, table = name[len(database) + 1 :].partition(".")
        if table:
            return schema, table
    parts = name.split(".")
    if len(parts) >= 3:
        return parts[-2], parts[-1]
    if len(parts) == 2:
        return parts[0], parts[1]
    return ("main" if scheme == "sqlite" else None), parts[0]

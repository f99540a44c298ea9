"""Small SQL constructs the catalog needs on both SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import re
import zlib
from collections import namedtuple
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Insert,
    Integer,
    Row,
    Select,
    Table,
    any_,
    bindparam,
    case,
    cast,
    event,
    func,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import CompileError, DBAPIError
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.sqltypes import ARRAY, NullType

from airflow_ol_catalog.store.engine import JOINED, PREPARED, Joined, begin_before, sqlite_driver

if TYPE_CHECKING:
    from typing_extensions import Unpack  # in typing from Python 3.11

AnySelect: TypeAlias = "Select[Unpack[tuple[Any, ...]]]"  # of any columns
# What the helpers below run: a SELECT, or an INSERT, UPDATE or DELETE.
Statement: TypeAlias = "AnySelect | UpdateBase"
Upsert: TypeAlias = "postgresql.Insert | sqlite.Insert"
AnyRow: TypeAlias = "Row[Unpack[tuple[Any, ...]]]"
_Query = TypeVar("_Query", bound="AnySelect")

log = logging.getLogger(__name__)


def insert_on_conflict(conn: Connection, table: Table) -> Upsert:
    """An INSERT that supports `.on_conflict_do_nothing()` / `.on_conflict_do_update()` on this backend."""
    return insert_for(conn.dialect.name, table)


def insert_for(dialect: str, table: Table) -> Upsert:
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"the catalog supports SQLite and PostgreSQL, not {dialect}")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def set_by_id(dialect: str, key: Column[Any], column: Column[Any]) -> Statement:
    """`UPDATE table SET column = value WHERE key = id` for many (id, value) pairs, run by `execute`
    with `by_id(dialect, pairs)`: one statement of two arrays on PostgreSQL (one UPDATE per row is
    a round trip each, or a page of them), the driver's executemany on SQLite."""
    table = key.table
    if dialect == "postgresql":
        pairs = select(
            func.unnest(bindparam("p_ids", type_=postgresql.ARRAY(BigInteger))).label("id"),
            func.unnest(bindparam("p_values", type_=postgresql.ARRAY(BigInteger))).label("value"),
        ).subquery()
        return update(table).where(key == pairs.c.id).values({column.key: pairs.c.value})
    return update(table).where(key == bindparam("p_id")).values({column.key: bindparam("p_value")})


def by_id(dialect: str, pairs: dict[int, int]) -> dict[str, Any] | list[dict[str, Any]]:
    """The parameters of a `set_by_id` statement for these {id: value} pairs."""
    if dialect == "postgresql":
        return {"p_ids": list(pairs), "p_values": list(pairs.values())}
    return [{"p_id": i, "p_value": v} for i, v in pairs.items()]


def sorted_by(query: _Query, key: ColumnElement[Any], descending: bool, *tiebreak: ColumnElement[Any]) -> _Query:
    """ORDER BY a list's chosen column (either way), then tie-breakers, so pages never overlap."""
    return query.order_by(key.desc() if descending else key.asc(), *tiebreak)


def earliest(current: ColumnElement[Any], incoming: ColumnElement[Any]) -> ColumnElement[Any]:
    """The earlier of two nullable values, for ON CONFLICT updates (the same on every backend)."""
    return case(
        (current.is_(None), incoming), (incoming.is_(None), current), (incoming < current, incoming), else_=current
    )


def latest(current: ColumnElement[Any], incoming: ColumnElement[Any]) -> ColumnElement[Any]:
    return case(
        (current.is_(None), incoming), (incoming.is_(None), current), (incoming > current, incoming), else_=current
    )


def among(dialect: str, column: ColumnElement[Any], ids: Collection[int]) -> ColumnElement[bool]:
    """`column IN ids` for integer ids, sent as one parameter: a JSON array on SQLite, an array
    on PostgreSQL (`= ANY`, which its planner turns into index look-ups). Graph walks pass
    thousands of ids; an expanding IN costs more to render than the query costs to run.
    """
    if dialect == "postgresql":
        return column == any_(_id_array(ids, column))
    return column.in_(_id_rows(ids))


def not_among(dialect: str, column: ColumnElement[Any], ids: Collection[int]) -> ColumnElement[bool]:
    """`column NOT IN ids`; on PostgreSQL as a hashed sub-select (`<> ALL` is linear per row)."""
    if dialect == "postgresql":
        return column.not_in(select(func.unnest(_id_array(ids, column))))
    return column.not_in(_id_rows(ids))


def in_list(dialect: str, column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """`column IN :name` with the list sent as one parameter, in a statement built once: pass
    `list_value(dialect, values)` as `name`. SQLAlchemy renders an expanding IN anew per call."""
    if dialect == "sqlite":
        return column.in_(_json_array_rows(bindparam(name)))
    # `= ANY` of one array parameter (typed, so that an empty list is an empty array): the
    # statement's text never changes, where an expanding IN is rendered anew per call.
    return column == any_(cast(bindparam(name), postgresql.ARRAY(column.type)))


def list_value(dialect: str, values: Collection[str] | Collection[int]) -> object:
    return json.dumps(sorted(values)) if dialect == "sqlite" else sorted(values)


def grouped_rows(
    conn: Connection,
    key: ColumnElement[Any],
    columns: Sequence[ColumnElement[Any]],
    query: Callable[[AnySelect], AnySelect],
) -> dict[Any, list[list[Any]]]:
    """The rows of `columns` that `query` (given a bare select to add FROM and WHERE to) finds, by `key`.

    On SQLite each key's rows come as one JSON row (`json_group_array`): a graph's jobs have tens of
    thousands of inputs and outputs, and fetching a row costs more than parsing its JSON. On
    PostgreSQL plain rows are faster: its driver fetches them cheaply, and `json_agg` costs the
    server a sort and the client a parse."""
    found: dict[Any, list[list[Any]]] = {}
    if conn.dialect.name == "sqlite":
        aggregated = query(select(key, func.json_group_array(func.json_array(*columns)))).group_by(key)
        for group, value in conn.execute(aggregated).all():
            found[group] = json.loads(value)
        return found
    for group, *values in conn.execute(query(select(key, *columns))).all():
        found.setdefault(group, []).append(values)
    return found


def first_rows_of_each(
    dialect: str,
    owner: Column[int],
    ids: Collection[int],
    table: Table,
    key: str,
    order: Callable[[Any], Sequence[ColumnElement[Any]]],
    kept: Callable[[Any], ColumnElement[bool]],
    count: int,
) -> AnySelect:
    """The first `count` rows of `table` in `order` (given the table or an alias of it) for each
    of these owners (`owner`'s ids, each once however often given), among the rows `kept`; ordered
    by `key`, then `order`.

    Made for an index on (key, *order) WHERE kept: each owner's rows are its first few entries
    there, however many it has. PostgreSQL reads them with LATERAL; SQLite, which has none, with
    a correlated IN of rowids, the same short index scan once per owner."""
    owners = select(owner).where(among(dialect, owner, ids)).subquery()
    first = table.alias("first")
    limited = select(first).where(first.c[key] == owners.c[owner.name], kept(first)).order_by(*order(first))
    if dialect == "postgresql":
        found = limited.limit(count).lateral()
        return select(found).select_from(owners.join(found, true())).order_by(found.c[key], *order(found))
    picked: AnySelect = limited.with_only_columns(literal_column(f"{first.name}.rowid")).limit(count)
    rowid: ColumnElement[int] = literal_column(f"{table.name}.rowid")
    return select(table).select_from(owners.join(table, rowid.in_(picked))).order_by(table.c[key], *order(table))


def _id_array(ids: Collection[int], column: ColumnElement[Any]) -> BindParameter[Sequence[int]]:
    """The ids as an array of the column's own type: PostgreSQL hashes `= ANY` of a constant array
    when a row is checked against it (a filter), but only for one type on both sides; `integer =
    ANY(bigint[])` compares each row with every id in turn."""
    values = sorted(ids)
    # an integer column holds no id beyond 32 bits: such ids, compared as bigint, match nothing
    fits = not values or (values[0] >= -(2**31) and values[-1] < 2**31)
    element = column.type if isinstance(column.type, Integer) and fits else BigInteger()
    return bindparam("ids", values, unique=True, type_=postgresql.ARRAY(element))


def _id_rows(ids: Collection[int]) -> AnySelect:
    return _json_array_rows(bindparam("ids", json.dumps(sorted(ids)), unique=True))


def _json_array_rows(parameter: BindParameter[Any]) -> AnySelect:
    """SQLite: the values of a JSON array parameter, as rows for `IN (...)`."""
    return select(func.json_each(parameter).table_valued("value").c.value)


# --- many rows at once, cheaply, on SQLite ----------------------------------------------------------
#
# The raw paths below rely on public SQLAlchemy behaviour that tests/test_store.py pins (so an
# upgrade that changes it fails a test instead of silently falling back to the slow path): a
# compiled INSERT's `positiontup` lists its parameters in `column_keys` order, its text holds one
# `VALUES (?, ...)` group, and `exported_columns` of a DML statement are its RETURNING columns.
# Compiled statements are cached per statement object: the statements are built once (module
# constants or functools.cache), and the cache holds each one, so an entry can never be taken
# for another statement.

_SQLITE_MAX_VARIABLES = 32766
_VALUES = re.compile(r"VALUES \((\?(?:, \?)*)\)")


@dataclass(frozen=True)
class _RawInsert:
    sql: str  # with one VALUES group
    group: str  # "(?, ?, ...)"
    keys: tuple[str, ...]
    values_of: Callable[[dict[str, Any]], tuple[Any, ...]]  # a row's values in `keys` order
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, bind processor) of the keys that have one
    row: type  # named tuple of the RETURNING columns
    results: tuple[
        tuple[int, Callable[[Any], Any]], ...
    ]  # (position, result processor) of RETURNING columns that have one


_raw_inserts: dict[tuple[object, tuple[str, ...]], _RawInsert | None] = {}


def _raw_insert(conn: Connection, statement: Insert, keys: tuple[str, ...]) -> _RawInsert | None:
    """The statement compiled once for these row keys, or None when it cannot be run raw."""
    cache_key = (statement, keys)
    if cache_key in _raw_inserts:
        return _raw_inserts[cache_key]
    found = None
    compiled = statement.compile(dialect=conn.dialect, column_keys=list(keys))
    match = _VALUES.search(compiled.string)
    positions = tuple(compiled.positiontup or ())
    table = statement.table
    defaults_missing = any(c.default is not None and c.key not in keys for c in table.columns if not c.primary_key)
    if match and len(_VALUES.findall(compiled.string)) == 1 and positions == keys and not defaults_missing:
        # dialect_impl: a TypeDecorator alone would skip the dialect's own processing (SQLite datetime text).
        processors = tuple(
            (i, process)
            for i, k in enumerate(keys)
            if (process := table.c[k].type.dialect_impl(conn.dialect).bind_processor(conn.dialect))
        )
        # the RETURNING columns, if any (table columns: each has a name)
        returned = [(name, column) for name, column in statement.exported_columns.items() if name is not None]
        names = [name for name, _ in returned]
        results = tuple(
            (i, process)
            for i, (_, column) in enumerate(returned)
            if (process := column.type.dialect_impl(conn.dialect).result_processor(conn.dialect, None))
        )
        values_of = itemgetter(*keys) if len(keys) > 1 else (lambda row, key=keys[0]: (row[key],))
        found = _RawInsert(
            compiled.string,
            match.group(0).removeprefix("VALUES "),
            keys,
            values_of,
            processors,
            namedtuple("Row", names) if names else tuple,
            results,
        )
    _raw_inserts[cache_key] = found
    return found


@dataclass(frozen=True)
class _RawStatement:
    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]  # per parameter: a bind processor or None
    fixed: dict[str, Any]  # values the statement holds itself (literals compared with)


_raw_statements: dict[object, _RawStatement] = {}


@contextmanager
def _driver_cursor(conn: Connection) -> Iterator[Any]:
    """A cursor of the driver itself (sqlite3, psycopg2) in the connection's transaction, for the
    paths that bypass SQLAlchemy's execution. Its errors are raised as SQLAlchemy raises them
    (IntegrityError, OperationalError, ... with `.orig`) and a lost connection is invalidated, so
    that callers, the writer's retries and the pool handle them as any other."""
    dbapi = conn.dialect.loaded_dbapi
    raw: Any
    if conn.dialect.name == "sqlite":
        raw = sqlite_driver(conn.connection)
        cursor: Any = raw.cursor()
    else:
        raw = conn.connection.dbapi_connection
        joined: Joined | None = conn.info.get(JOINED)
        if joined is None or joined.begun:
            cursor = raw.cursor()
        else:  # the first statement of a joined transaction
            cursor = raw.cursor(cursor_factory=_beginning_cursor())
            cursor.joined = joined
    try:
        yield cursor
    except dbapi.Error as error:
        lost = conn.dialect.is_disconnect(error, raw, cursor)
        if lost:
            conn.invalidate(error)
        elif lost_prepared(error) and PREPARED in conn.connection.info:
            log.warning(
                "The database session's prepared statements are not those the catalog prepared (%s): if "
                "the catalog reaches PostgreSQL through a pooler in transaction mode, set [ol_catalog] "
                "prepared_statements = False",
                str(error).strip(),
            )
            conn.connection.info[PREPARED] = _FORGOTTEN
        raise DBAPIError.instance(
            None, None, error, dbapi.Error, connection_invalidated=lost, dialect=conn.dialect
        ) from error
    finally:
        with suppress(dbapi.Error):
            cursor.close()


@functools.cache
def _beginning_cursor() -> type:
    """psycopg2's cursor, sending the BEGIN of its joined transaction with its first statement."""
    import psycopg2.extensions  # type: ignore[import-untyped]

    class BeginningCursor(psycopg2.extensions.cursor):  # type: ignore[misc]
        joined: Joined

        def _begin(self) -> bool:
            first = not self.joined.begun
            self.joined.begun = True  # on an error, the transaction is rolled back whether it began or not
            return first

        def execute(self, query: Any, vars: Any = None) -> None:
            if self._begin():
                query = (b"BEGIN;" if isinstance(query, bytes) else "BEGIN;") + query
            super().execute(query, vars)

        def executemany(self, query: Any, vars_list: Any) -> None:
            if self._begin():
                super().execute("BEGIN")
            super().executemany(query, vars_list)

        def copy_expert(self, sql: Any, file: Any, size: int = 8192) -> None:
            if self._begin():
                super().execute("BEGIN")
            super().copy_expert(sql, file, size)

    return BeginningCursor


def execute(
    conn: Connection, statement: Statement, params: dict[str, Any] | list[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """Run a statement built once (a module constant) with one set of parameters or many; its rows.

    On SQLite it goes straight to the driver, compiled once, with SQLAlchemy's type processing:
    on the ingest path a handful of such statements per transaction cost more in SQLAlchemy's
    per-call machinery than in SQLite. Elsewhere SQLAlchemy runs it.
    """
    if conn.dialect.name == "postgresql":
        pg = _pg_statement(conn, statement)
        if pg is not None and (isinstance(params, dict) or not pg.returns_rows):
            return pg.run(conn, params)
    if conn.dialect.name != "sqlite":
        result = conn.execute(statement, params)
        return [tuple(r) for r in result] if result.returns_rows else []
    raw = _raw_statements.get(statement)
    if raw is None:
        compiled = statement.compile(dialect=conn.dialect)
        names = tuple(compiled.positiontup or ())
        processors = tuple(
            compiled.binds[n].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for n in names
        )
        fixed = {n: compiled.binds[n].effective_value for n in names if not compiled.binds[n].required}
        raw = _raw_statements[statement] = _RawStatement(compiled.string, names, processors, fixed)

    def values(p: dict[str, Any]) -> list[Any]:
        found = [p[n] if n in p else raw.fixed[n] for n in raw.names]
        return [f(v) if f is not None and v is not None else v for v, f in zip(found, raw.processors, strict=False)]

    with _driver_cursor(conn) as cursor:
        if isinstance(params, dict):
            cursor.execute(raw.sql, values(params))
        else:
            cursor.executemany(raw.sql, [values(p) for p in params])
        return cursor.fetchall() if cursor.description else []


def _bound(values: Sequence[Any], processors: Sequence[tuple[int, Callable[[Any], Any]]]) -> list[Any]:
    """A row's values with each (position, bind processor) applied to what is not None."""
    found = list(values)
    for i, process in processors:
        if found[i] is not None:
            found[i] = process(found[i])
    return found


def execute_rows(conn: Connection, statement: Insert, rows: list[dict[str, Any]]) -> Sequence[Any]:
    """Run an INSERT (or upsert) for many rows; the RETURNING rows, if any.

    On SQLite it is sent as multi-row VALUES straight to the driver, with the same type
    processing SQLAlchemy would apply: per row, SQLAlchemy's parameter handling costs more than
    SQLite's own work. Elsewhere, and for statements this cannot express, SQLAlchemy runs it.
    """
    if not rows:
        return []
    if conn.dialect.name == "postgresql":
        keys = tuple(rows[0])
        if len(rows) >= STAGE_MIN_ROWS and _copy_allowed(conn):
            staged = _staged_insert(conn, statement, keys)
            if staged is not None and all(tuple(r) == staged.keys for r in rows):
                return staged.run(conn, rows)
        pg_insert = _pg_insert(conn, statement, keys)
        if pg_insert is not None and all(tuple(r) == keys for r in rows):
            return pg_insert.run(conn, rows)
    raw = _raw_insert(conn, statement, tuple(rows[0])) if conn.dialect.name == "sqlite" else None
    if raw is None or any(tuple(r) != raw.keys for r in rows):
        result = conn.execute(statement, rows)
        return result.all() if result.returns_rows else []
    per_statement = max(1, _SQLITE_MAX_VARIABLES // len(raw.keys))
    found: list[Any] = []
    with _driver_cursor(conn) as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            values = []
            for row in chunk:
                values += _bound(raw.values_of(row), raw.processors)
            sql = raw.sql.replace(raw.group, ", ".join([raw.group] * len(chunk)), 1)
            cursor.execute(sql, values)
            if raw.results:
                for r in cursor.fetchall():
                    processed = list(r)
                    for i, process in raw.results:
                        processed[i] = process(processed[i])
                    found.append(raw.row(*processed))
            else:
                found.extend(raw.row(*r) for r in cursor.fetchall())
    return found


# --- straight to psycopg2, on PostgreSQL ---------------------------------------------------------------
#
# Per statement, SQLAlchemy's execution machinery costs more CPU than psycopg2 and PostgreSQL
# together for the ingest path's small statements (a dozen per transaction): they are compiled
# once and sent by psycopg2 itself, with the same bind processing; many rows are one statement of
# rows quoted by psycopg2's own `mogrify`. Statements this cannot express (expanding parameters)
# go through SQLAlchemy; tests/test_store.py pins that the ingest path's do not.


# Statements prepared once per session. PostgreSQL plans a statement sent as text each time it
# comes: for the statements that store events that was 84 of the 219 µs PostgreSQL spent on them
# per event (pg_stat_statements, under bench/ingest.py's single events). A prepared statement keeps
# its plan: each is prepared (PREPARE) the first time a session needs it, then run by name
# (EXECUTE) with its values quoted as literals, many rows as one array per column. A prepared
# statement outlives a rolled back transaction, and lives as long as the session: the pool's
# record of the connection notes the names prepared on it, and a new connection starts with none
# (store/engine.py; none at all, and statements go as text, with `[ol_catalog]
# prepared_statements = False`).

# A session whose prepared statements are not those its record notes (one that ran DISCARD ALL or
# DEALLOCATE, one reached through a pooler in transaction mode): a statement missing (26000), or
# one there already (42P05); or one whose rows a migration changed the type of since it was
# prepared (0A000, "cached plan must not change result type"). Its record then forgets them all,
# the next transaction on it starts with DEALLOCATE ALL, and the writer runs the failed one again.
LOST_PREPARED = ("26000", "42P05")
_FORGOTTEN: frozenset[str] = frozenset()


def lost_prepared(error: BaseException) -> bool:
    """Whether a driver's error says the session's prepared statements are not those prepared."""
    code = getattr(error, "pgcode", None)
    return code in LOST_PREPARED or (code == "0A000" and "cached plan must not change result type" in str(error))


@dataclass(frozen=True)
class _Prepared:
    name: str
    source: str  # the statement, pyformat
    prepare: bytes  # PREPARE name (types) AS ...
    params: tuple[str, ...]  # parameter names, in $n order
    types: tuple[str, ...]  # their SQL types (`unknown`: PostgreSQL infers it from the statement)

    def execute(self, cursor: Any, values: dict[str, Any]) -> bytes:
        """The EXECUTE of these values, on a session that `_quotes_plainly` (as `_prepares` checks)."""
        arguments = [_argument(cursor, values[n], t) for n, t in zip(self.params, self.types, strict=True)]
        return f"EXECUTE {self.name}({', '.join(arguments)})".encode()


def _prepare(sql: str, types: dict[str, str | None]) -> _Prepared | None:
    """`sql` (pyformat) as a statement to prepare; None when a parameter's type cannot be declared."""
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in order:
            order.append(match.group(1))
        return f"${order.index(match.group(1)) + 1}"

    text = _PG_PARAMETER.sub(number, sql).replace("%%", "%")
    declared = tuple(t for n in order if (t := types.get(n)) is not None)
    if len(declared) < len(order):
        return None
    listed = ", ".join(declared)
    name = "olc_" + hashlib.sha1(f"{listed}|{text}".encode()).hexdigest()[:20]
    return _Prepared(name, sql, f"PREPARE {name} ({listed}) AS {text}".encode(), tuple(order), declared)


def _sql_type(conn: Connection, type_: Any) -> str | None:
    """A parameter's type as PREPARE declares it, for the simple types (and arrays of them) the
    catalog's tables use; None for any other, whose statement is then not prepared. A string
    without its length, which a cast of a longer value would cut (an INSERT still refuses one too
    long for its column)."""
    if isinstance(type_, NullType):
        return "unknown"
    element = type_.item_type if isinstance(type_, ARRAY) else type_
    if type(element).__name__ not in _COPY_TYPES or getattr(element, "collation", None):
        return None
    try:
        compiled: str = type_.compile(dialect=conn.dialect)
    except CompileError:
        return None
    return re.sub(r"VARCHAR\(\d+\)", "VARCHAR", compiled)


def _argument(cursor: Any, value: Any, sql_type: str) -> str:
    """A value as an argument of EXECUTE, cast to its parameter's type (in parentheses: a cast binds
    before a minus sign); a list as an array."""
    if isinstance(value, list | tuple) and sql_type.endswith("[]"):
        if not value:
            return f"'{{}}'::{sql_type}"
        whole = _whole_array(value) or "ARRAY[" + ",".join(_literal(cursor, v) for v in value) + "]"
        return f"{whole}::{sql_type}"
    quoted = _literal(cursor, value)
    return quoted if sql_type == "unknown" else f"({quoted})::{sql_type}"


def _whole_array(values: list[Any] | tuple[Any, ...]) -> str | None:
    """A non-empty array of only strings or only integers (most of those that store events) as
    one literal, quoted as psycopg2 quotes each value but without a call per value; None for any
    other, quoted value by value. Its elements' type is text or integer: an argument of an
    `unknown` parameter, which the statement casts itself, and a typed one alike."""
    kinds = set(map(type, values))
    if kinds == {str}:
        quoted = "','".join([str.replace(v, "'", "''") for v in values])
        if str.__contains__(quoted, "\x00"):
            raise ValueError("A string literal cannot contain NUL (0x00) characters.")  # psycopg2's words
        return f"ARRAY['{quoted}']"
    if kinds == {int}:  # a minus sign follows "[" or ",", never another one
        return f"ARRAY[{','.join(map(str, values))}]"
    return None


def _prepares(conn: Connection, cursor: Any, prepared: _Prepared) -> bool:
    """Whether this session runs `prepared` by name: prepared on it now if it is not yet. Only the
    statements that store events are (inside `deferred_writes`): their arrays hold an event's or a
    batch's few names, and the plan kept serves them all; a lineage graph's walk sends arrays of one
    id to tens of thousands, each best planned for its own. Nor on a session that does not
    `_quotes_plainly`: EXECUTE's arguments are quoted by `_literal`, for UTF-8 and standard strings."""
    known: set[str] | None = conn.connection.info.get(PREPARED)
    if known is None or _DEFERRED not in conn.info or not _quotes_plainly(cursor):
        return False
    if known is _FORGOTTEN:
        cursor.execute("DEALLOCATE ALL")
        known = conn.connection.info[PREPARED] = set()
    if prepared.name not in known:
        cursor.execute(prepared.prepare)
        known.add(prepared.name)
    return True


@dataclass(frozen=True)
class _PgStatement:
    sql: str  # pyformat (%(name)s)
    fixed: dict[str, Any]  # values the statement holds itself
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]  # (parameter, bind processor)
    returns_rows: bool
    prepared: _Prepared | None  # the same, prepared once per session
    columns: int  # how many its rows have

    def params(self, given: dict[str, Any]) -> dict[str, Any]:
        values = {**self.fixed, **given}
        for name, process in self.processors:
            if values.get(name) is not None:
                values[name] = process(values[name])
        return values

    def text(self, conn: Connection, cursor: Any, params: dict[str, Any] | list[dict[str, Any]]) -> list[bytes]:
        """The statement with its parameters, one per set of parameters: EXECUTE of the prepared
        statement, or the text with the values quoted by psycopg2."""
        sets = [params] if isinstance(params, dict) else params
        if self.prepared is not None and _prepares(conn, cursor, self.prepared):
            return [self.prepared.execute(cursor, self.params(p)) for p in sets]
        return [cursor.mogrify(self.sql, self.params(p)) for p in sets]

    def run(self, conn: Connection, params: dict[str, Any] | list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        with _driver_cursor(conn) as cursor:
            if isinstance(params, dict) or params:  # one round trip for all of them
                cursor.execute(b";".join(self.text(conn, cursor, params)))
            return [tuple(r) for r in cursor.fetchall()] if isinstance(params, dict) and cursor.description else []


_pg_statements: dict[object, _PgStatement | None] = {}


def _through_psycopg2(conn: Connection) -> bool:
    """Whether the quick paths, which talk to psycopg2 itself (its quoting, cursors and COPY), may
    run on this connection: on PostgreSQL through psycopg2, not through another driver (psycopg 3,
    `postgresql+psycopg://`), where SQLAlchemy runs every statement."""
    return conn.dialect.driver == "psycopg2"


def _pg_statement(conn: Connection, statement: Statement) -> _PgStatement | None:
    if not _through_psycopg2(conn):
        return None
    if statement in _pg_statements:
        return _pg_statements[statement]
    compiled = statement.compile(dialect=conn.dialect)
    found = None
    if not any(b.expanding for b in compiled.binds.values()) and not compiled.escaped_bind_names:
        found = _PgStatement(
            compiled.string,
            {n: b.effective_value for n, b in compiled.binds.items() if not b.required},
            tuple(
                (n, process)
                for n, b in compiled.binds.items()
                if (process := b.type.dialect_impl(conn.dialect).bind_processor(conn.dialect))
            ),
            bool(compiled.returning) or isinstance(statement, Select),
            _prepare(compiled.string, {n: _sql_type(conn, b.type) for n, b in compiled.binds.items()}),
            len(statement.selected_columns) if isinstance(statement, Select) else len(compiled.returning or ()),
        )
    _pg_statements[statement] = found
    return found


def _quotes_plainly(cursor: Any) -> bool:
    """Whether this psycopg2 connection takes `_literal`'s quoting: UTF-8, and a backslash in a
    quoted string is only a backslash (standard_conforming_strings, PostgreSQL's default; each
    session keeps the value it started with, store/engine.py, so a reload cannot change it between
    this check and the statement)."""
    status = cursor.connection.get_parameter_status
    return bool(status("client_encoding") == "UTF8" and status("standard_conforming_strings") == "on")


def _literal(cursor: Any, value: Any) -> str:
    """A value as a PostgreSQL literal, as psycopg2 quotes it on a connection that `_quotes_plainly`:
    here for the types rows hold (psycopg2 takes about 1.5 µs a value, most of a small transaction's
    quoting), through psycopg2 for any other."""
    if value is None:
        return "NULL"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, str):  # str's own methods: a subclass's could not escape the text
        if str.__contains__(value, "\x00"):
            raise ValueError("A string literal cannot contain NUL (0x00) characters.")  # psycopg2's words
        return "'" + str.replace(value, "'", "''") + "'"
    if type(value) is int:
        return f" {value}" if value < 0 else str(value)  # as psycopg2: never "--" after a minus sign
    if type(value) is datetime:
        iso = value.isoformat()
        return f"'{iso}'::timestamptz" if value.tzinfo is not None else f"'{iso}'::timestamp"
    if type(value) is list and value and (whole := _whole_array(value)) is not None:
        return whole
    quoted: bytes = cursor.mogrify("%s", (value,))
    return quoted.decode()


_PG_PARAMETER = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True)
class _PgInsert:
    head: str  # up to VALUES
    group: str  # "(%(a)s, %(b)s)"
    tail: str  # ON CONFLICT ... RETURNING ...
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    row: type  # named tuple of the RETURNING columns
    parts: tuple[str, ...]  # `group` cut at its parameters: the text before each, and after the last
    names: tuple[str, ...]  # its parameters, in order
    prepared: _Prepared | None  # the rows as one array per column: INSERT ... SELECT FROM unnest(...)

    @property
    def columns(self) -> int:
        """How many columns its RETURNING gives."""
        return len(getattr(self.row, "_fields", ()))

    def processed(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        processed = []
        for row in rows:
            values = dict(row)
            for name, process in self.processors:
                if values[name] is not None:
                    values[name] = process(values[name])
            processed.append(values)
        return processed

    def arrays(self, rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
        """The prepared statement's parameters for these rows."""
        processed = self.processed(rows)
        return {_ROWS + name: [values[name] for values in processed] for name in self.names}

    def text(self, conn: Connection, cursor: Any, rows: list[dict[str, Any]]) -> bytes:
        """The statement for these rows: EXECUTE of the prepared statement, or each value quoted as
        psycopg2 quotes it."""
        if self.prepared is not None and _prepares(conn, cursor, self.prepared):
            return self.prepared.execute(cursor, self.arrays(rows))
        return self.inline(cursor, rows)

    def inline(self, cursor: Any, rows: list[dict[str, Any]]) -> bytes:
        """The statement with the rows' values in it, quoted as psycopg2 quotes them."""
        processed = self.processed(rows)
        if not _quotes_plainly(cursor):
            groups = b", ".join(cursor.mogrify(self.group, values) for values in processed)
            return self.head.encode() + b"VALUES " + groups + self.tail.encode()
        text = [self.head, "VALUES "]
        for i, values in enumerate(processed):
            if i:
                text.append(", ")
            for part, name in zip(self.parts, self.names, strict=False):
                text += (part, _literal(cursor, values[name]))
            text.append(self.parts[-1])
        text.append(self.tail)
        return "".join(text).encode()

    def run(self, conn: Connection, rows: list[dict[str, Any]]) -> list[Any]:
        with _driver_cursor(conn) as cursor:
            cursor.execute(self.text(conn, cursor, rows))
            return [self.row(*r) for r in cursor.fetchall()] if cursor.description else []


_ROWS = "olc_rows_"  # the prepared INSERT's parameters: this, then a column's key
_pg_inserts: dict[tuple[object, tuple[str, ...]], _PgInsert | None] = {}


def _pg_insert(conn: Connection, statement: Insert, keys: tuple[str, ...]) -> _PgInsert | None:
    """The statement compiled once for rows of these keys, its VALUES group repeated per row; None
    when its compiled form is not one VALUES group of these parameters, or on another driver."""
    if not _through_psycopg2(conn):
        return None
    cache_key = (statement, keys)
    if cache_key in _pg_inserts:
        return _pg_inserts[cache_key]
    found = None
    table = statement.table
    compiled = statement.compile(dialect=conn.dialect, column_keys=list(keys))
    head, values, tail = _split_values(compiled.string)
    # Sent without parameters, so with the percent signs pyformat doubled undoubled.
    head, tail = head.replace("%%", "%"), tail.replace("%%", "%")
    defaults_missing = any(c.default is not None and c.key not in keys for c in table.columns if not c.primary_key)
    if (
        values is not None
        and sorted(_PG_VALUE.findall(values)) == sorted(keys)
        and _PG_VALUE.sub("", values).replace(", ", "") == ""
        and not defaults_missing
        and not compiled.escaped_bind_names
        and not any(b.expanding for b in compiled.binds.values())
        and set(compiled.binds) == set(keys)
    ):
        returned = [name for name, _ in statement.exported_columns.items() if name is not None]
        group = f"({values})"
        cut = _PG_PARAMETER.split(group)  # text, name, text, name, ..., text
        names = tuple(cut[1::2])
        # a column's values as one array: not for an array column, which unnest would flatten
        types = {
            _ROWS + n: None if isinstance(table.c[n].type, ARRAY) else _sql_type(conn, table.c[n].type) for n in names
        }
        arrays = ", ".join(f"%({_ROWS}{n})s" for n in names)
        unnest = f"{head.replace('%', '%%')}SELECT * FROM unnest({arrays}){tail.replace('%', '%%')}"
        found = _PgInsert(
            head,
            group,
            tail,
            tuple(
                (k, process)
                for k in keys
                if (process := table.c[k].type.dialect_impl(conn.dialect).bind_processor(conn.dialect))
            ),
            namedtuple("Row", returned) if returned else tuple,
            tuple(cut[0::2]),
            names,
            _prepare(unnest, {k: None if t is None else f"{t}[]" for k, t in types.items()}),
        )
    _pg_inserts[cache_key] = found
    return found


def insert_and_read(
    conn: Connection, statement: Insert, rows: list[dict[str, Any]], query: Select[Any], params: dict[str, Any]
) -> tuple[list[Any], list[tuple[Any, ...]]] | None:
    """`execute_rows(statement, rows)` and `execute(query, params)` in one round trip: the insert's
    RETURNING rows and the query's rows, the query reading the tables as they were before the insert
    (one statement sees one snapshot: what the insert adds, the caller takes from its RETURNING).
    On PostgreSQL, for rows few enough to be quoted into one statement; elsewhere None, and the
    caller runs the two itself."""
    if conn.dialect.name != "postgresql" or not rows or len(rows) >= STAGE_MIN_ROWS:
        return None
    keys = tuple(rows[0])
    insert, read = _pg_insert(conn, statement, keys), _pg_statement(conn, query)
    if insert is None or read is None or any(tuple(r) != keys for r in rows):
        return None
    together = _together(insert, read)
    width = 1 + insert.columns
    with _driver_cursor(conn) as cursor:
        if together is not None and _prepares(conn, cursor, together):
            cursor.execute(together.execute(cursor, {**insert.arrays(rows), **read.params(params)}))
        else:
            inline = cursor.mogrify(read.sql, read.params(params))
            cursor.execute(_together_text(insert.inline(cursor, rows), insert.columns, inline, read.columns))
        found = cursor.fetchall()
    return [insert.row(*r[1:width]) for r in found if r[0]], [tuple(r[width:]) for r in found if not r[0]]


def _together_text(insert: bytes, inserted: int, read: bytes, columns: int) -> bytes:
    """`insert_and_read`'s statement: a row of each side is led by whether the insert returned it,
    and holds NULL where the other side's columns are, so the two need not have one shape."""
    head = b"WITH inserted AS (%b) SELECT true, inserted.*%b FROM inserted" % (insert, b", NULL" * columns)
    return head + b" UNION ALL SELECT false, %bread.* FROM (%b) AS read" % (b"NULL, " * inserted, read)


_togethers: dict[tuple[str, str], _Prepared | None] = {}


def _together(insert: _PgInsert, read: _PgStatement) -> _Prepared | None:
    """`insert_and_read`'s statement, prepared."""
    a, b = insert.prepared, read.prepared
    if a is None or b is None:
        return None
    if (a.name, b.name) not in _togethers:
        _togethers[(a.name, b.name)] = _prepare(
            _together_text(a.source.encode(), insert.columns, b.source.encode(), read.columns).decode(),
            {**dict(zip(a.params, a.types, strict=True)), **dict(zip(b.params, b.types, strict=True))},
        )
    return _togethers[(a.name, b.name)]


# --- writes whose results no one reads, sent together, on PostgreSQL ------------------------------------
#
# Most of the projection's statements only write: their rows are not read back in the
# transaction. Inside `deferred_writes`, `write` and `write_rows` keep them, quoted, and send them
# all in one round trip when the block ends (before the commit), in the order they were made: a
# single-event transaction had a dozen round trips, each also a wait for the GIL. Elsewhere, and
# on SQLite, they run at once. A statement that fails there fails the transaction, as it would
# have at once.

_DEFERRED = "ol_catalog_deferred_writes"
_IDLE = 0  # psycopg2.extensions.TRANSACTION_STATUS_IDLE: connected, in no transaction


@dataclass
class _Kept:
    writes: list[bytes] = field(default_factory=list)
    last: list[bytes] = field(default_factory=list)  # sent after every other write (`write(last=True)`)
    # Sent before every write, in the order of their keys: a locking SELECT and its list parameters,
    # each the union of what every `lock_first` with that key asked for; those a call `needed`.
    locks: dict[str, tuple[Statement, dict[str, set[Any]]]] = field(default_factory=dict)
    needed: set[str] = field(default_factory=set)


@contextmanager
def deferred_writes(conn: Connection) -> Iterator[None]:
    if not _through_psycopg2(conn) or _DEFERRED in conn.info:
        yield
        return
    kept = _Kept()
    info = conn.info  # held: an invalidated connection (a lost one) has none to give
    info[_DEFERRED] = kept
    try:
        yield
        writing = bool(kept.writes or kept.last or kept.needed)
        joined: Joined | None = info.get(JOINED)
        commit = [b"COMMIT"] if joined is not None and (writing or joined.begun) else []
        if writing or commit:
            with _driver_cursor(conn) as cursor:
                # A table's lock is sent when a second write needs it, and so are the locks of the
                # tables before it: a transaction that locks its datasets first has taken its jobs by
                # then, as one that locks its jobs first takes them before its datasets.
                locks = _locks(conn, cursor, kept, max(kept.needed)) if kept.needed else []
                cursor.execute(b";\n".join(locks + kept.writes + kept.last + commit))
    finally:
        del info[_DEFERRED]


@contextmanager
def joined_transaction(conn: Connection) -> Iterator[None]:
    """PostgreSQL: a write transaction with no round trip of its own for BEGIN or COMMIT.

    psycopg2 sends BEGIN alone before a transaction's first statement, and COMMIT alone at its end:
    two of the eleven round trips that store a few events, each costing as much as one of their
    statements (the README's performance section). Here psycopg2 runs the session in its
    autocommit mode and the catalog begins and ends the transaction itself: BEGIN goes with the
    first statement, COMMIT with the writes `deferred_writes` keeps for the end, which this block's
    end sends; an exception rolls back. SQLAlchemy's transaction around it commits or rolls back
    nothing meanwhile. Statements go through `_driver_cursor` (its execute, executemany and
    copy_expert) or SQLAlchemy; not through a named cursor (`stream_results`), which psycopg2
    refuses in autocommit mode. A session left inside the transaction (its ROLLBACK interrupted)
    is invalidated. Elsewhere (SQLite, another driver, an engine store/engine.py did not build, a
    session already in a transaction), the transaction as it is.
    """
    if conn.dialect.driver != "psycopg2" or not event.contains(conn.engine, "before_cursor_execute", begin_before):
        yield  # (an engine not built by store/engine.py would send SQLAlchemy's statements without BEGIN)
        return
    raw: Any = conn.connection.dbapi_connection
    if raw.autocommit or raw.info.transaction_status != _IDLE or _DEFERRED in conn.info:
        yield
        return
    info = conn.info  # held: an invalidated connection (a lost one) has none to give
    joined = info[JOINED] = Joined()
    raw.autocommit = True
    try:
        with deferred_writes(conn):
            yield
    except BaseException:
        if joined.begun:
            with suppress(Exception), raw.cursor() as cursor:  # a lost connection has nothing to roll back
                cursor.execute("ROLLBACK")
        raise
    finally:
        del info[JOINED]
        with suppress(Exception):  # a lost connection is invalidated: its pool replaces it
            raw.autocommit = False
        if raw.closed or raw.info.transaction_status != _IDLE:
            # Still in the transaction (its ROLLBACK interrupted), or lost: psycopg2 takes such a
            # session for idle and would never end its transaction, so it is closed, and the pool
            # opens another for the next transaction.
            conn.invalidate()


def lock_first(
    conn: Connection, key: str, statement: Statement, lists: dict[str, Collection[Any]], needed: bool
) -> None:
    """Lock rows at the start of the last round trip of `deferred_writes`, before any of its writes.

    A table whose rows the writes kept update in one statement is locked in that statement's order,
    the same in every writer. Some are updated by two (a job's own update, then the bump of the jobs
    using a dataset with a new version; a dataset's, then the bump of those a finished run wrote),
    each taking its rows in turn: two writers could then each hold a row the other's second write
    waits for. Such a table's rows are locked first, in one statement (`statement`, a SELECT ...
    ORDER BY ... FOR UPDATE of list parameters, ordered as the first write orders them), the tables
    in the order of their `key`s. Calls with the same key add to its lists; it is sent if one of
    them says it is `needed` (a second write), and so are the tables before it. Elsewhere, and on
    SQLite (one writer), nothing."""
    kept = conn.info.get(_DEFERRED)
    if kept is None:
        return
    _, known = kept.locks.setdefault(key, (statement, {name: set() for name in lists}))
    for name, values in lists.items():
        known[name].update(values)
    if needed:
        kept.needed.add(key)


def lock_now(conn: Connection) -> None:
    """Send the locks `lock_first` was asked for so far, now, in the order of their keys: for a
    transaction that must lock rows before its last round trip (a symlink's settling), so that it
    holds them in the order every writer's last round trip takes them. That round trip takes them
    again, with any asked for since (rows it holds already cost no wait)."""
    kept = conn.info.get(_DEFERRED)
    if kept is None:
        return
    with _driver_cursor(conn) as cursor:
        if locks := _locks(conn, cursor, kept, max(kept.locks, default="")):
            cursor.execute(b";\n".join(locks))


def _locks(conn: Connection, cursor: Any, kept: _Kept, last_key: str) -> list[bytes]:
    """The locking statements of the tables up to the one of `last_key`, in the order of their keys."""
    return [
        text
        for key, (statement, lists) in sorted(kept.locks.items())
        if key <= last_key
        for text in _locking_text(conn, cursor, statement, lists)
    ]


def _locking_text(conn: Connection, cursor: Any, statement: Statement, lists: dict[str, set[Any]]) -> list[bytes]:
    pg = _pg_statement(conn, statement)
    if pg is None:
        raise ValueError(f"a statement lock_first cannot send: {statement}")
    return pg.text(conn, cursor, {name: sorted(values) for name, values in lists.items()})


def write(
    conn: Connection, statement: Statement, params: dict[str, Any] | list[dict[str, Any]], last: bool = False
) -> None:
    """`execute` for a statement whose rows are not wanted: kept for the end of `deferred_writes`.

    `last`: after every other write, whenever it was made. Rows every writer updates (a
    namespace's counters, the log's tally) are locked last by every transaction: one holding them
    waits for no other row, so the writers that queue on them never wait for each other in a
    circle, however and whenever (at once, or at the end) each takes its other rows."""
    kept = conn.info.get(_DEFERRED)
    pg = _pg_statement(conn, statement) if kept is not None else None
    if kept is None or pg is None or pg.returns_rows:
        execute(conn, statement, params)
        return
    with _driver_cursor(conn) as cursor:
        (kept.last if last else kept.writes).extend(pg.text(conn, cursor, params))


def write_rows(conn: Connection, statement: Insert, rows: list[dict[str, Any]]) -> None:
    """`execute_rows` for rows whose RETURNING is not wanted: kept for the end of `deferred_writes`,
    however many, in statements of fewer than STAGE_MIN_ROWS rows each. Rows written at once
    (through COPY) would be locked before the last round trip, where other writers take the same
    rows: a writer holding one there while it waits for a row this one takes last would wait in a
    circle with it."""
    kept = conn.info.get(_DEFERRED)
    if kept is None or not rows:
        execute_rows(conn, statement, rows)
        return
    keys = tuple(rows[0])
    pg = _pg_insert(conn, statement, keys)
    if pg is None or any(tuple(r) != keys for r in rows):
        execute_rows(conn, statement, rows)
        return
    with _driver_cursor(conn) as cursor:
        for start in range(0, len(rows), STAGE_MIN_ROWS - 1):
            kept.writes.append(pg.text(conn, cursor, rows[start : start + STAGE_MIN_ROWS - 1]))


# --- many rows at once, cheaply, on PostgreSQL --------------------------------------------------------
#
# A many-row INSERT with parameters costs PostgreSQL a statement of thousands of parameters to
# parse and plan, and psycopg2 a quoting of each. COPY streams the rows instead: into a temporary
# table of the target's columns, from which the statement's own INSERT ... ON CONFLICT ...
# RETURNING takes them, emptying it in the same statement. The table is truncated at each commit
# too (ON COMMIT DELETE ROWS): no autovacuum visits a temporary table, and deleted rows alone
# would keep their pages for as long as the session lives, every later INSERT scanning them all
# (the writer's kept connection staged 26 MB in 18,000 events). Half the time for the event log's rows
# (bench/ingest.py; the design notes give the figures). The statement text comes from SQLAlchemy's
# compiled INSERT, with its one VALUES group of plain parameters replaced by that SELECT:
# tests/test_store.py pins that shape, and anything else falls back to SQLAlchemy.

# Fewer rows than this go the usual way: staging costs two more round trips.
STAGE_MIN_ROWS = 64
COPY_READ_BYTES = 1 << 20  # how much of the rows psycopg2 reads and sends at a time

_PG_VALUE = re.compile(r"%\((\w+)\)s(?:::[A-Z][A-Z0-9_ ]*(?:\(\d+\))?)?")
# Column types whose values COPY's text format takes as str() of what their bind processor gives.
_COPY_TYPES = ("String", "Text", "Integer", "BigInteger", "UTCDateTime", "Boolean", "DateTime")


def _copy_allowed(conn: Connection) -> bool:
    """Whether psycopg2 runs COPY here. It refuses in a process where a library made it cooperative
    (gevent's patch, as a gevent pool of Celery workers runs it, registers a wait callback): many
    rows then go as one statement, instead of failing and being stored by halves."""
    if conn.dialect.driver != "psycopg2":
        return False
    import psycopg2.extensions

    return psycopg2.extensions.get_wait_callback() is None


def _copy_text(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    return _copy_escaped(value if isinstance(value, str) else str(value))


def _copy_escaped(text: str) -> str:
    if "\\" in text or "\n" in text or "\r" in text or "\t" in text:
        return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return text


def _copy_string(value: Any) -> str:
    return _copy_escaped(value) if type(value) is str else _copy_text(value)


def _copy_integer(value: Any) -> str:
    return str(value) if type(value) is int else _copy_text(value)


_copy_times: dict[datetime, str] = {}  # an event's time goes into many rows of its transaction


def _copy_time(process: Callable[[Any], Any]) -> Callable[[Any], str]:
    """A UTCDateTime column's value as COPY text: its bind processing, then the text, kept for the
    UTC times that come again (the catalog's own; two times in a zone with daylight saving can be
    equal as keys and be different instants, so other times are not kept)."""

    def text(value: Any) -> str:
        if value is None:
            return "\\N"
        if getattr(value, "tzinfo", None) is not timezone.utc:
            return _copy_text(process(value))
        found = _copy_times.get(value)
        if found is None:
            if len(_copy_times) >= 4096:
                _copy_times.clear()
            found = _copy_times[value] = _copy_text(process(value))
        return found

    return text


# Per column type without a bind processor on psycopg2: how a value becomes COPY text, the same
# as `_copy_text` gives, with fewer checks for the type's usual values.
_COPY_FORMATS: dict[str, Callable[[Any], str]] = {
    "String": _copy_string,
    "Text": _copy_string,
    "Integer": _copy_integer,
    "BigInteger": _copy_integer,
}


def _copy_format(column_type: Any, dialect: Any) -> Callable[[Any], str]:
    """How a value of a column of this type becomes COPY text, its bind processing included."""
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return _COPY_FORMATS.get(type(column_type).__name__, _copy_text)
    if type(column_type).__name__ == "UTCDateTime":
        return _copy_time(process)
    return lambda value: _copy_text(value if value is None else process(value))


@dataclass(frozen=True)
class _StagedInsert:
    keys: tuple[str, ...]
    order: Callable[[dict[str, Any]], tuple[Any, ...]]  # a row's values in the staging table's column order
    formats: tuple[Callable[[Any], str], ...]  # per column in `order`, its value as COPY text
    create: str  # the staging table, if this session has none yet
    copy: str
    insert: str  # the statement, taking (and deleting) the staged rows
    row: type  # named tuple of the RETURNING columns

    def run(self, conn: Connection, rows: list[dict[str, Any]]) -> list[Any]:
        import psycopg2.extensions  # the postgres extra's driver, as this path is

        order, formats = self.order, self.formats
        lines = ["\t".join([f(v) for f, v in zip(formats, order(row), strict=True)]) for row in rows]
        with _driver_cursor(conn) as cursor:
            # Encoded here, once, and read in large pieces: given text, psycopg2 reads 8 KiB at a
            # time and encodes each piece through a Python call (2-5 % of the writer's CPU for a
            # 1,000-event batch).
            data = ("\n".join(lines) + "\n").encode(psycopg2.extensions.encodings[cursor.connection.encoding])
            cursor.execute(self.create)
            if cursor.connection.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_INTRANS:
                # Each statement would commit alone, and the commit after COPY empty the staging table.
                raise RuntimeError("rows are staged through COPY only inside a transaction")
            cursor.copy_expert(self.copy, io.BytesIO(data), size=COPY_READ_BYTES)
            cursor.execute(self.insert)
            return [self.row(*r) for r in cursor.fetchall()] if cursor.description else []


_staged_inserts: dict[tuple[object, tuple[str, ...]], _StagedInsert | None] = {}


def _staged_insert(conn: Connection, statement: Insert, keys: tuple[str, ...]) -> _StagedInsert | None:
    """The statement as a COPY into a staging table and an INSERT from it, or None when its
    compiled form is not one VALUES group of plain parameters over columns of simple types."""
    cache_key = (statement, keys)
    if cache_key in _staged_inserts:
        return _staged_inserts[cache_key]
    found = None
    table = statement.table
    sql = statement.compile(dialect=conn.dialect, column_keys=list(keys)).string
    head, values, tail = _split_values(sql)
    head, tail = head.replace("%%", "%"), tail.replace("%%", "%")  # sent without parameters
    names = _PG_VALUE.findall(values) if values is not None else []
    columns = head[head.find("(") + 1 : head.rfind(")")].split(", ") if values is not None else []
    simple = values is not None and _PG_VALUE.sub("", values).replace(", ", "") == ""
    defaults_missing = any(c.default is not None and c.key not in keys for c in table.columns if not c.primary_key)
    if (
        simple
        and sorted(names) == sorted(keys)
        and len(columns) == len(names)
        and not defaults_missing
        and all(type(table.c[k].type).__name__ in _COPY_TYPES for k in keys)
    ):
        listed = ", ".join(columns)
        # One staging table per column list: statements staging other columns of the same table
        # (a dataset's insert, and its update checking the alias) each need their own.
        # Named anew for ON COMMIT DELETE ROWS: a session older than it (a pooler's) keeps its old table.
        stage = f"olc_stage_{table.name}_{zlib.crc32(('on commit delete rows ' + listed).encode()):08x}"
        returned = [name for name, _ in statement.exported_columns.items() if name is not None]
        order = itemgetter(*names) if len(names) > 1 else (lambda row, key=names[0]: (row[key],))
        found = _StagedInsert(
            keys,
            order,
            tuple(_copy_format(table.c[k].type, conn.dialect) for k in names),
            # One statement, one round trip; the notice that it exists already is not wanted.
            f"SET LOCAL client_min_messages = warning; CREATE TEMPORARY TABLE IF NOT EXISTS {stage} "
            "ON COMMIT DELETE ROWS AS "
            f"SELECT {listed} FROM {table.name} WITH NO DATA",
            f"COPY {stage} ({listed}) FROM STDIN",
            f"WITH staged AS (DELETE FROM {stage} RETURNING {listed}) {head}SELECT {listed} FROM staged{tail}",
            namedtuple("Row", returned) if returned else tuple,
        )
    _staged_inserts[cache_key] = found
    return found


def _split_values(sql: str) -> tuple[str, str | None, str]:
    """`INSERT INTO t (a, b) ` / `%(a)s, %(b)s` / ` ON CONFLICT ...`: the text around the one VALUES
    group and the group's inside (None when there is not exactly one)."""
    start = sql.find(" VALUES (")
    if start < 0 or sql.find(" VALUES (", start + 1) >= 0:
        return sql, None, ""
    depth, i = 0, start + len(" VALUES ")
    for i in range(start + len(" VALUES "), len(sql)):
        depth += {"(": 1, ")": -1}.get(sql[i], 0)
        if depth == 0:
            break
    return sql[: start + 1], sql[start + len(" VALUES (") : i], sql[i + 1 :]

"""Small SQL constructs the catalog needs on both SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Connection, Table, case
from sqlalchemy.dialects import postgresql, sqlite


def insert_on_conflict(conn: Connection, table: Table):
    """An INSERT that supports `.on_conflict_do_nothing()` / `.on_conflict_do_update()` on this backend."""
    return insert_for(conn.dialect.name, table)


def insert_for(dialect: str, table: Table):
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"the catalog supports SQLite and PostgreSQL, not {dialect}")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def earliest(current, incoming):
    """The earlier of two nullable values, for ON CONFLICT updates (the same on every backend)."""
    return case((current.is_(None), incoming), (incoming.is_(None), current), (incoming < current, incoming), else_=current)


def latest(current, incoming):
    return case((current.is_(None), incoming), (incoming.is_(None), current), (incoming > current, incoming), else_=current)

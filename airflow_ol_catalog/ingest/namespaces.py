"""Registered namespaces (what Atlan calls connections) and how events are placed in them."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from airflow_ol_catalog.events.not_found import NamespaceNotFound
from airflow_ol_catalog.events.validate import identifier_problem
from airflow_ol_catalog.store.namespaces import Namespace, get_namespace
from airflow_ol_catalog.store.sql import (
    Statement,
    Upsert,
    execute,
    in_list,
    insert_for,
    insert_on_conflict,
    list_value,
    utcnow,
    write,
)
from airflow_ol_catalog.store.tables import namespace, namespace_integration


class NamespaceExists(ValueError):
    pass


class NamespaceInvalid(ValueError):
    """A name events could not use as their namespace (the message names the problem)."""


def create_namespace(
    conn: Connection, name: str, created_by: str, description: str = "", admins: list[str] | None = None
) -> Namespace:
    if (problem := identifier_problem(name)) is not None:
        raise NamespaceInvalid(f"name: {problem}")
    inserted = conn.execute(
        insert_on_conflict(conn, namespace)
        .values(
            name=name,
            description=description,
            admins=json.dumps(admins or []),
            created_at=utcnow(),
            created_by=created_by,
            event_count=0,
        )
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(namespace.c.id)
    ).first()
    if inserted is None:
        raise NamespaceExists(f"namespace {name!r} already exists")
    return get_namespace(conn, name)


def update_namespace(
    conn: Connection, name: str, description: str | None = None, admins: list[str] | None = None
) -> Namespace:
    """Change a namespace's description or admins (Airflow user names); None leaves a value as it is."""
    values: dict[str, Any] = {}
    if description is not None:
        values["description"] = description
    if admins is not None:
        values["admins"] = json.dumps(sorted(set(admins)))
    if values and conn.execute(update(namespace).where(namespace.c.name == name).values(**values)).rowcount == 0:
        raise NamespaceNotFound(name)
    return get_namespace(conn, name)


def set_deleted(conn: Connection, name: str, deleted: bool) -> Namespace:
    """Hide a namespace (its later events are quarantined) or restore it."""
    result = conn.execute(
        update(namespace).where(namespace.c.name == name).values(deleted_at=utcnow() if deleted else None)
    )
    if result.rowcount == 0:
        raise NamespaceNotFound(name)
    return get_namespace(conn, name)


@dataclass
class Placement:
    """Where an event goes: the registered namespace's id, or quarantine (namespace_id None)."""

    namespace_id: int | None
    refused: str | None = None


@functools.cache
def _by_names(dialect: str) -> Statement:
    return select(namespace.c.name, namespace.c.id, namespace.c.deleted_at).where(
        in_list(dialect, namespace.c.name, "names")
    )


def _live_ids(conn: Connection, names: set[str]) -> dict[str, tuple[int, bool]]:
    dialect = conn.dialect.name
    rows = execute(conn, _by_names(dialect), {"names": list_value(dialect, names)})
    return {name: (namespace_id, deleted_at is None) for name, namespace_id, deleted_at in rows}


def resolve_namespaces(
    conn: Connection, names: set[str], policy: str, registering: set[str] | None = None
) -> dict[str, Placement]:
    """Place each namespace: registered (id), quarantined (None) or refused, per the policy. Under
    `register`, only those of `registering` (None: all) are registered when unknown."""
    known = _live_ids(conn, names)
    missing = names - known.keys() if registering is None else (names & registering) - known.keys()
    if missing and policy == "register":
        now = utcnow()
        conn.execute(
            insert_on_conflict(conn, namespace).on_conflict_do_nothing(index_elements=["name"]),
            [
                {
                    "name": name,
                    "description": "",
                    "admins": "[]",
                    "created_at": now,
                    "created_by": "first event",
                    "event_count": 0,
                }
                for name in sorted(missing)
            ],
        )
        known.update(_live_ids(conn, missing))
    placements = {}
    for name in names:
        if name in known:
            ns_id, live = known[name]
            placements[name] = Placement(ns_id if live else None)
        elif policy == "reject":
            placements[name] = Placement(
                None,
                refused=f"namespace {name!r} is not registered and unknown namespaces are refused; ask an admin to create it",
            )
        else:
            placements[name] = Placement(None)
    return placements


@functools.cache
def _activity_statements(dialect: str) -> tuple[Statement, Upsert]:
    """Built once per backend: constructing these per call costs more than running them."""
    counters = (
        update(namespace)
        .where(namespace.c.id == bindparam("p_id"))
        .values(
            event_count=namespace.c.event_count + bindparam("p_count"),
            first_event_at=func.coalesce(
                namespace.c.first_event_at, bindparam("p_first", type_=namespace.c.first_event_at.type)
            ),
            last_event_at=bindparam("p_last", type_=namespace.c.last_event_at.type),
        )
    )
    upsert = insert_for(dialect, namespace_integration)
    integration = upsert.on_conflict_do_update(
        index_elements=["namespace_id", "integration"], set_={"last_seen_at": upsert.excluded.last_seen_at}
    )
    return counters, integration


def record_activity(
    conn: Connection, namespace_id: int, count: int, first: datetime, last: datetime, integrations: set[str]
) -> None:
    """Add accepted events to a namespace's counters with atomic updates (safe under concurrent
    writers), among the transaction's last writes (store/sql.py `write`): every writer of the
    namespace updates its row."""
    counters, integration = _activity_statements(conn.dialect.name)
    write(conn, counters, {"p_id": namespace_id, "p_count": count, "p_first": first, "p_last": last}, last=True)
    if integrations:
        write(
            conn,
            integration,
            [
                {"namespace_id": namespace_id, "integration": name, "first_seen_at": last, "last_seen_at": last}
                for name in sorted(integrations)
            ],
            last=True,
        )

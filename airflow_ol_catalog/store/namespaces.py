"""Registered namespaces as the catalog stores them, read by both paths (the write path returns
what it changed)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, func, select

from airflow_ol_catalog.events.not_found import NamespaceNotFound
from airflow_ol_catalog.store.sql import AnyRow, sorted_by
from airflow_ol_catalog.store.tables import event, namespace, namespace_integration


@dataclass
class Namespace:
    id: int
    name: str
    description: str
    admins: list[str]
    created_at: datetime
    created_by: str
    event_count: int
    first_event_at: datetime | None
    last_event_at: datetime | None
    deleted_at: datetime | None
    integrations: list[str] = field(default_factory=list)
    quarantined_count: int = 0


def _from_row(row: AnyRow) -> Namespace:
    return Namespace(
        id=row.id,
        name=row.name,
        description=row.description,
        admins=json.loads(row.admins),
        created_at=row.created_at,
        created_by=row.created_by,
        event_count=row.event_count,
        first_event_at=row.first_event_at,
        last_event_at=row.last_event_at,
        deleted_at=row.deleted_at,
    )


def _with_integrations(conn: Connection, items: list[Namespace]) -> list[Namespace]:
    if not items:
        return items
    by_id = {ns.id: ns for ns in items}
    rows = conn.execute(
        select(namespace_integration.c.namespace_id, namespace_integration.c.integration)
        .where(namespace_integration.c.namespace_id.in_(by_id))
        .order_by(namespace_integration.c.integration)
    )
    for ns_id, integration in rows:
        by_id[ns_id].integrations.append(integration)
    return items


def get_namespace(conn: Connection, name: str) -> Namespace:
    row = conn.execute(select(namespace).where(namespace.c.name == name)).first()
    if row is None:
        raise NamespaceNotFound(name)
    ns = _with_integrations(conn, [_from_row(row)])[0]
    ns.quarantined_count = count_quarantined(conn, name)
    return ns


def namespaces_named(conn: Connection, names: list[str]) -> dict[str, Namespace]:
    """The registered namespaces among `names` (hidden ones too), by name."""
    if not names:
        return {}
    rows = conn.execute(select(namespace).where(namespace.c.name.in_(names)))
    return {ns.name: ns for ns in _with_integrations(conn, [_from_row(row) for row in rows])}


NAMESPACE_SORTS = {
    "name": namespace.c.name,
    "eventCount": namespace.c.event_count,
    "lastEventAt": namespace.c.last_event_at,
}


def list_namespaces(
    conn: Connection,
    limit: int = 100,
    offset: int = 0,
    include_deleted: bool = False,
    sort: str = "name",
    descending: bool = False,
) -> tuple[list[Namespace], int]:
    query = select(namespace)
    if not include_deleted:
        query = query.where(namespace.c.deleted_at.is_(None))
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(
        sorted_by(query, NAMESPACE_SORTS[sort], descending, namespace.c.name).limit(limit).offset(offset)
    )
    return _with_integrations(conn, [_from_row(row) for row in rows]), total


def count_quarantined(conn: Connection, name: str | None = None) -> int:
    query = select(func.count()).select_from(event).where(event.c.quarantined.is_(True))
    if name is not None:
        query = query.where(event.c.namespace == name)
    return conn.execute(query).scalar_one()

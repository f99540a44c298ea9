"""Tags as the read API shows them: those `tags` facets name and those people set, kept apart.

Jobs, datasets and columns answer `tags` as Marquez has it (the names, both kinds together) and
`tagOrigins`, which says where each came from: `facet` (with the facet's `source`, e.g. DBT) or
`user` (who set it and when). A name may come from both.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import Connection, func, select

from airflow_ol_catalog.events.times import iso
from airflow_ol_catalog.store.sql import AnyRow, among
from airflow_ol_catalog.store.tables import facet, tag, tag_assignment


class FacetTag(TypedDict):
    """An entry of a `tags` facet, as the catalog reads it."""

    name: str
    source: str | None
    field: str | None  # the column a dataset's entry names


class TagOrigin(TypedDict):
    """Where one of an entity's tags comes from (an item of `tagOrigins`)."""

    name: str
    origin: str  # "facet" or "user"
    source: str | None
    setBy: str | None
    setAt: str | None


def facet_tag_name(entry: dict[str, Any]) -> str | None:
    """A `tags` facet entry's name: `key`, or `key:value` when the value says more than true."""
    key = entry.get("key")
    if not isinstance(key, str) or not key:
        return None
    value = entry.get("value")
    return key if value in (None, "", "true", True) else f"{key}:{value}"


def facet_tags(facets: dict[str, Any]) -> list[FacetTag]:
    """The entries of an entity's `tags` facet: name, source, and the column a dataset's entry names."""
    return tag_entries(facets.get("tags"))


def tag_entries(tags_facet: Any) -> list[FacetTag]:
    entries = tags_facet.get("tags") if isinstance(tags_facet, dict) else None
    found: list[FacetTag] = []
    for entry in entries if isinstance(entries, list) else []:
        name = facet_tag_name(entry) if isinstance(entry, dict) else None
        if name is not None:
            source, field = entry.get("source"), entry.get("field")
            found.append(
                {
                    "name": name,
                    "source": source if isinstance(source, str) else None,
                    "field": field if isinstance(field, str) and field else None,
                }
            )
    return found


def _origin(
    name: str, origin: str, source: str | None = None, by: str | None = None, at: datetime | None = None
) -> TagOrigin:
    return {"name": name, "origin": origin, "source": source, "setBy": by, "setAt": iso(at)}


def _merge(view: dict[str, Any], origins: list[TagOrigin]) -> None:
    """`tags` becomes every origin's name (Marquez's list), and `tagOrigins` each origin."""
    unique = {(o["name"], o["origin"], o["source"]): o for o in origins}
    view["tagOrigins"] = [unique[key] for key in sorted(unique, key=lambda k: (k[0], k[1], k[2] or ""))]
    view["tags"] = sorted({o["name"] for o in origins})


def _schema_fields(facets: dict[str, Any]) -> dict[str, dict[str, Any]]:
    fields = (facets.get("schema") or {}).get("fields") if isinstance(facets.get("schema"), dict) else None
    return {f["name"]: f for f in fields if isinstance(f, dict) and isinstance(f.get("name"), str)} if fields else {}


def assignments_of(conn: Connection, entity: str, ids: list[int]) -> dict[int, list[AnyRow]]:
    found: dict[int, list[AnyRow]] = {i: [] for i in ids}
    if not ids:
        return found
    for row in conn.execute(
        select(tag_assignment)
        .where(tag_assignment.c.entity == entity, among(conn.dialect.name, tag_assignment.c.entity_id, ids))
        .order_by(tag_assignment.c.tag)
    ):
        found[row.entity_id].append(row)
    return found


def with_tags(
    conn: Connection, entity: str, rows: Sequence[AnyRow], views: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Give each job or dataset view (and each of a dataset's fields) its tags of both kinds. A column's
    facet tags are the dataset `tags` facet's entries that name it and its schema field's own `tags`;
    the dataset's own leave those out."""
    assigned = assignments_of(conn, entity, [r.id for r in rows])
    for row, view in zip(rows, views, strict=True):
        facets = view.get("facets") or {}
        from_facet = facet_tags(facets)
        by_user = assigned[row.id]
        _merge(
            view,
            [_origin(t["name"], "facet", t["source"]) for t in from_facet if t["field"] is None]
            + [_origin(a.tag, "user", by=a.tagged_by, at=a.tagged_at) for a in by_user if a.field == ""],
        )
        schema = _schema_fields(facets)
        for field_view in view.get("fields") or []:
            column = field_view.get("name")
            own = tag_entries(schema.get(column))
            _merge(
                field_view,
                [_origin(t["name"], "facet", t["source"]) for t in from_facet if t["field"] == column]
                + [_origin(t["name"], "facet", t["source"]) for t in own]
                + [_origin(a.tag, "user", by=a.tagged_by, at=a.tagged_at) for a in by_user if a.field == column],
            )
    return views


def definition_view(row: AnyRow) -> dict[str, Any]:
    return {
        "name": row.name,
        "description": row.description,
        "createdBy": row.created_by,
        "createdAt": iso(row.created_at),
        "updatedBy": row.updated_by,
        "updatedAt": iso(row.updated_at),
    }


@dataclass
class _TagUse:
    """What `list_tags` gathers of one tag name before it answers."""

    name: str
    description: str | None = None  # a person's
    defined: bool = False  # a person defined it (it has a row of its own)
    usage: dict[str, int] = field(default_factory=dict)  # entity or "field" -> `tags` facet entries naming it
    user_usage: dict[str, int] = field(default_factory=dict)  # entity or "field" -> people's assignments
    sources: set[str] = field(default_factory=set)  # the facets' `source`s

    def view(self) -> dict[str, Any]:
        description = self.description
        if description is None and self.sources:
            description = f"from {', '.join(sorted(self.sources))}"
        return {
            "name": self.name,
            "description": description,
            "origins": [o for o, present in (("facet", self.usage), ("user", self.defined)) if present],
            "usage": self.usage,
            "userUsage": self.user_usage,
        }


def _facet_entries(conn: Connection) -> Iterator[tuple[str, FacetTag]]:
    """Every entry of every `tags` facet, with the kind of entity its facet belongs to."""
    for entity, value in conn.execute(
        select(facet.c.entity, facet.c.value).where(facet.c.name == "tags", facet.c.value.is_not(None))
    ):
        for t in tag_entries(json.loads(value)):
            yield entity, t


def named_by_facets(conn: Connection, name: str) -> bool:
    """Whether some `tags` facet names the tag `name` (its producer chose the name, rules or not)."""
    return any(t["name"] == name for _, t in _facet_entries(conn))


def list_tags(conn: Connection, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Every tag of either kind, by name: its description (a person's, else the facets' sources), how
    many jobs, runs, datasets and columns `tags` facets tag with it (`usage`), and where people set it (`userUsage`)."""
    found: dict[str, _TagUse] = {}

    def entry(name: str) -> _TagUse:
        return found.setdefault(name, _TagUse(name))

    for entity, t in _facet_entries(conn):
        item = entry(t["name"])
        where = "field" if t["field"] else entity  # an entry naming a column tags the column
        item.usage[where] = item.usage.get(where, 0) + 1
        if t["source"]:
            item.sources.add(t["source"])
    for row in conn.execute(select(tag)):
        item = entry(row.name)
        item.description = row.description
        item.defined = True
    column = (tag_assignment.c.field != "").label("column")
    counts = conn.execute(
        select(tag_assignment.c.tag, tag_assignment.c.entity, column, func.count()).group_by(
            tag_assignment.c.tag, tag_assignment.c.entity, column
        )
    )
    for name, entity, column, count in counts:
        where = "field" if column else entity
        item = entry(name)
        item.user_usage[where] = item.user_usage.get(where, 0) + count
    return [found[name].view() for name in sorted(found)[offset : offset + limit]], len(found)

"""Tags people set on datasets, jobs and columns (PII, tier, ...), as Marquez's tag routes do.

They are kept in their own tables with who set them and when; tags that `tags` facets name stay
in those facets, so neither kind can overwrite or remove the other. Setting a tag that has no
definition yet defines it without a description, as Marquez does.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, select

from airflow_ol_catalog.events.naming import invisible_problem
from airflow_ol_catalog.events.not_found import NotFound
from airflow_ol_catalog.store.datasets import holder_of
from airflow_ol_catalog.store.sql import insert_on_conflict, utcnow
from airflow_ol_catalog.store.tables import dataset, facet, job, tag, tag_assignment
from airflow_ol_catalog.store.view_stamps import bump_generation

MAX_TAG_NAME = 255  # characters, as Marquez's tags table holds
MAX_TAG_DESCRIPTION = 4000


class TagTargetNotFound(NotFound):
    """The dataset, job or column to tag does not exist (or is hidden)."""

    def __init__(self, message: str) -> None:
        LookupError.__init__(self, message)


@dataclass(frozen=True)
class TagDefinition:
    name: str
    description: str | None
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str


def tag_name_problem(name: str, named_by_producer: bool = False) -> str | None:
    """What is wrong with `name` as a tag name, or None. Tag names are shown as they are, so they
    may not hide characters, look like another name in another Unicode spelling, or be padded;
    a name a `tags` facet already uses (`named_by_producer`) is taken as the producer spelt it."""
    if not name.strip():
        return "must not be empty or blank"
    if len(name) > MAX_TAG_NAME:
        return f"is {len(name)} characters long; at most {MAX_TAG_NAME}"
    if "\x00" in name:
        return "contains a NUL character (\\u0000)"
    if named_by_producer:
        return None
    if (hidden := invisible_problem(name)) is not None:
        return hidden
    if name != name.strip():
        return "begins or ends with white space"
    if unicodedata.normalize("NFC", name) != name:
        return "is not in Unicode NFC (compose its characters)"
    if unicodedata.category(name[0]).startswith("M"):
        return f"begins with the combining mark U+{ord(name[0]):04X}, which has no character to mark"
    return None


def description_problem(description: str | None) -> str | None:
    if description is None:
        return None
    if len(description) > MAX_TAG_DESCRIPTION:
        return f"is {len(description)} characters long; at most {MAX_TAG_DESCRIPTION}"
    if "\x00" in description:
        return "contains a NUL character (\\u0000)"
    return None


def define_tag(conn: Connection, name: str, description: str | None, by: str) -> TagDefinition:
    """Create the tag or replace its description (PUT /tags/{tag})."""
    now = utcnow()
    statement = insert_on_conflict(conn, tag).values(
        name=name, description=description, created_at=now, created_by=by, updated_at=now, updated_by=by
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[tag.c.name], set_={"description": description, "updated_at": now, "updated_by": by}
        )
    )
    return TagDefinition(**conn.execute(select(tag).where(tag.c.name == name)).one()._mapping)


def _ensure_defined(conn: Connection, name: str, by: str) -> None:
    now = utcnow()
    conn.execute(
        insert_on_conflict(conn, tag)
        .values(name=name, description=None, created_at=now, created_by=by, updated_at=now, updated_by=by)
        .on_conflict_do_nothing(index_elements=[tag.c.name])
    )


def dataset_id_of(conn: Connection, ns: str, name: str) -> int:
    """The dataset NS:NAME names (the one it is an alias of, when it is one)."""
    found = conn.execute(
        select(dataset.c.id).where(dataset.c.id.in_(holder_of(ns, name)), dataset.c.deleted_at.is_(None))
    ).scalar()
    if found is None:
        raise TagTargetNotFound(f"dataset {ns}:{name} not found")
    return int(found)


def job_id_of(conn: Connection, ns: str, name: str) -> int:
    found = conn.execute(
        select(job.c.id).where(job.c.namespace == ns, job.c.name == name, job.c.deleted_at.is_(None))
    ).scalar()
    if found is None:
        raise TagTargetNotFound(f"job {ns}:{name} not found")
    return int(found)


def _schema_field_names(conn: Connection, dataset_id: int) -> set[str]:
    value = conn.execute(
        select(facet.c.value).where(
            facet.c.entity == "dataset", facet.c.entity_id == dataset_id, facet.c.name == "schema"
        )
    ).scalar()
    fields = json.loads(value).get("fields") if value else None
    return {f["name"] for f in fields if isinstance(f, dict) and isinstance(f.get("name"), str)} if fields else set()


def _check_field(conn: Connection, dataset_id: int, field: str, ns: str, name: str, removing: bool) -> None:
    """A column of the dataset's newest schema; one tagged before may still be untagged after it left the schema."""
    if field in _schema_field_names(conn, dataset_id):
        return
    if (
        removing
        and conn.execute(
            select(tag_assignment.c.tag).where(
                tag_assignment.c.entity == "dataset",
                tag_assignment.c.entity_id == dataset_id,
                tag_assignment.c.field == field,
            )
        ).first()
    ):
        return
    raise TagTargetNotFound(f"field {field!r} not found in the schema of dataset {ns}:{name}")


def _target(conn: Connection, kind: str, ns: str, name: str, field: str | None, removing: bool) -> tuple[int, str]:
    if kind == "job":
        return job_id_of(conn, ns, name), ""
    entity_id = dataset_id_of(conn, ns, name)
    if field is not None:
        _check_field(conn, entity_id, field, ns, name, removing)
    return entity_id, field or ""


def add_tag(conn: Connection, kind: str, ns: str, name: str, tag_name: str, by: str, field: str | None = None) -> None:
    """Tag a job, a dataset or (with `field`) one of its columns. Tagging again keeps who tagged it first."""
    entity_id, column = _target(conn, kind, ns, name, field, removing=False)
    _ensure_defined(conn, tag_name, by)
    conn.execute(
        insert_on_conflict(conn, tag_assignment)
        .values(entity=kind, entity_id=entity_id, field=column, tag=tag_name, tagged_at=utcnow(), tagged_by=by)
        .on_conflict_do_nothing()
    )
    bump_generation(conn)


def remove_tag(conn: Connection, kind: str, ns: str, name: str, tag_name: str, field: str | None = None) -> bool:
    """Remove a tag a person set; False when it was not set (tags from facets are never removed here)."""
    entity_id, column = _target(conn, kind, ns, name, field, removing=True)
    result = conn.execute(
        delete(tag_assignment).where(
            tag_assignment.c.entity == kind,
            tag_assignment.c.entity_id == entity_id,
            tag_assignment.c.field == column,
            tag_assignment.c.tag == tag_name,
        )
    )
    bump_generation(conn)
    return result.rowcount > 0

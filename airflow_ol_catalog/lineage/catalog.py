"""Namespaces, jobs, runs and datasets as the read API returns them (Marquez's shapes, plus a few fields)."""

from __future__ import annotations

import ast
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, func, literal, or_, select, union_all

from airflow_ol_catalog.events.naming import fold, namespace_key
from airflow_ol_catalog.events.node_ids import DATASET_FIELD, format_node_id
from airflow_ol_catalog.events.not_found import DatasetNotFound, DatasetVersionNotFound, JobNotFound, RunNotFound
from airflow_ol_catalog.events.run_states import TERMINAL_RANK, RunState
from airflow_ol_catalog.lineage.refusals import refusals_by_reason
from airflow_ol_catalog.lineage.source_matches import matches_of
from airflow_ol_catalog.store.datasets import holder_of
from airflow_ol_catalog.store.namespaces import Namespace
from airflow_ol_catalog.store.sql import utcnow
from airflow_ol_catalog.store.tables import dataset, dataset_version, edge, event, facet, job, namespace, run


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def facets_of(conn: Connection, entity: str, ids: list[int]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {i: {} for i in ids}
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            select(facet.c.entity_id, facet.c.name, facet.c.value).where(
                facet.c.entity == entity, facet.c.entity_id.in_(ids[start : start + 500]), facet.c.value.is_not(None)
            )
        )
        for entity_id, name, value in rows:
            found[entity_id][name] = json.loads(value)
    return found


# --- namespaces ------------------------------------------------------------------------------------


def namespace_view(ns: Namespace) -> dict:
    return {
        "name": ns.name,
        "createdAt": iso(ns.created_at),
        "updatedAt": iso(ns.last_event_at or ns.created_at),
        "ownerName": ns.admins[0] if ns.admins else "",
        "description": ns.description or None,
        "isHidden": ns.deleted_at is not None,
        "admins": ns.admins,
        "integrations": ns.integrations,
        "eventCount": ns.event_count,
        "firstEventAt": iso(ns.first_event_at),
        "lastEventAt": iso(ns.last_event_at),
    }


# --- jobs ------------------------------------------------------------------------------------------


def _job_rows(conn: Connection, where, limit: int, offset: int) -> tuple[Sequence[Any], int]:
    query = select(job).where(job.c.deleted_at.is_(None), *where)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(job.c.namespace, job.c.name).limit(limit).offset(offset)).all()
    return rows, total


def list_jobs(conn: Connection, ns: str | None, limit: int, offset: int) -> tuple[list[dict], int]:
    rows, total = _job_rows(conn, [job.c.namespace == ns] if ns is not None else [], limit, offset)
    return jobs_view(conn, rows), total


def get_job(conn: Connection, ns: str, name: str) -> dict:
    row = conn.execute(select(job).where(job.c.namespace == ns, job.c.name == name, job.c.deleted_at.is_(None))).first()
    if row is None:
        raise JobNotFound(ns, name)
    return jobs_view(conn, [row])[0]


def jobs_view(conn: Connection, rows: Sequence[Any]) -> list[dict]:
    ids = [r.id for r in rows]
    if not ids:
        return []
    facets = facets_of(conn, "job", ids)
    parent_ids = {r.parent_job_id for r in rows if r.parent_job_id}
    visible = select(job.c.id, job.c.namespace, job.c.name).where(
        job.c.id.in_(parent_ids), job.c.deleted_at.is_(None)
    )  # a hidden parent is not named
    parents = {r.id: (r.namespace, r.name) for r in conn.execute(visible)}
    io: dict[int, dict[str, list]] = {i: {"in": [], "out": []} for i in ids}
    for r in conn.execute(
        select(edge.c.job_id, edge.c.direction, dataset.c.namespace, dataset.c.name)
        .join(dataset, dataset.c.id == edge.c.dataset_id)
        .where(edge.c.job_id.in_(ids), dataset.c.deleted_at.is_(None))
        .order_by(dataset.c.namespace, dataset.c.name)
    ):
        io[r.job_id][r.direction].append({"namespace": r.namespace, "name": r.name})
    latest = latest_runs(conn, ids)
    views = []
    for r in rows:
        job_type = facets[r.id].get("jobType", {})
        parent = parents.get(r.parent_job_id)
        views.append(
            {
                "id": {"namespace": r.namespace, "name": r.name},
                "type": "STREAM" if str(job_type.get("processingType", "")).upper() == "STREAMING" else "BATCH",
                "name": r.name,
                "simpleName": r.name.rsplit(".", 1)[-1] if parent and r.name.startswith(parent[1] + ".") else r.name,
                "parentJobName": parent[1] if parent else None,
                "parentJob": {"namespace": parent[0], "name": parent[1]} if parent else None,
                "createdAt": iso(r.first_seen_at),
                "updatedAt": iso(r.last_seen_at),
                "namespace": r.namespace,
                "inputs": io[r.id]["in"],
                "outputs": io[r.id]["out"],
                "location": facets[r.id].get("sourceCodeLocation", {}).get("url"),
                "description": facets[r.id].get("documentation", {}).get("description"),
                "facets": facets[r.id],
                "latestRun": latest.get(r.id),
                "jobType": job_type.get("jobType"),
                "integration": job_type.get("integration"),
                "processingType": job_type.get("processingType"),
                "placeholder": r.placeholder,
                "upstreamTasks": upstream_tasks((latest.get(r.id) or {}).get("facets", {})),
            }
        )
    return views


def upstream_tasks(run_facets: dict) -> list[str]:
    """Task ids this Airflow task runs after, from the `airflow` run facet.

    Airflow sends `upstream_task_ids` as a Python-style list in a string ("['a', 'b']").
    """
    task = run_facets.get("airflow", {}).get("task", {})
    value = task.get("upstream_task_ids") if isinstance(task, dict) else None
    if isinstance(value, list):
        return [str(v) for v in value]
    if not isinstance(value, str):
        return []
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return []
    return [str(v) for v in parsed] if isinstance(parsed, (list, tuple, set)) else []


# --- runs ------------------------------------------------------------------------------------------

_RUN_ORDER = (func.coalesce(run.c.started_at, run.c.first_event_at).desc(), run.c.run_id.desc())


def runs_view(conn: Connection, rows: Sequence[Any]) -> list[dict]:
    facets = facets_of(conn, "run", [r.id for r in rows])
    views = []
    for r in rows:
        f = facets[r.id]
        nominal = f.get("nominalTime", {})
        ended = r.ended_at if r.state_rank == TERMINAL_RANK else None
        views.append(
            {
                "id": r.run_id,
                "createdAt": iso(r.first_event_at),
                "updatedAt": iso(r.last_event_at),
                "nominalStartTime": nominal.get("nominalStartTime"),
                "nominalEndTime": nominal.get("nominalEndTime"),
                "state": RunState.of(r.state).value,
                "startedAt": iso(r.started_at),
                "endedAt": iso(ended),
                "durationMs": int((ended - r.started_at).total_seconds() * 1000) if ended and r.started_at else None,
                "args": {},
                "facets": f,
                "errorMessage": f.get("errorMessage", {}).get("message"),
                "placeholder": r.placeholder,
            }
        )
    return views


def latest_runs(conn: Connection, job_ids: list[int]) -> dict[int, dict]:
    newest = (
        select(run.c.job_id, func.max(func.coalesce(run.c.started_at, run.c.first_event_at)).label("at"))
        .where(run.c.job_id.in_(job_ids), run.c.placeholder.is_(False))
        .group_by(run.c.job_id)
        .subquery()
    )
    rows = conn.execute(
        select(run).join(
            newest,
            and_(run.c.job_id == newest.c.job_id, func.coalesce(run.c.started_at, run.c.first_event_at) == newest.c.at),
        )
    ).all()
    return {view_row.job_id: view for view_row, view in zip(rows, runs_view(conn, rows), strict=False)}


RUN_SORTS = ("startedAt", "endedAt", "state")


def _run_order(sort: str, descending: bool) -> tuple:
    if sort == "startedAt" and descending:
        return _RUN_ORDER
    ended = case((run.c.state_rank == TERMINAL_RANK, run.c.ended_at), else_=None)
    key = {
        "startedAt": func.coalesce(run.c.started_at, run.c.first_event_at),
        "endedAt": ended,
        "state": run.c.state,
    }[sort]
    return (key.desc() if descending else key.asc(), run.c.run_id.desc() if descending else run.c.run_id.asc())


def list_runs(
    conn: Connection, ns: str, name: str, limit: int, offset: int, sort: str = "startedAt", descending: bool = True
) -> tuple[list[dict], int]:
    job_id = conn.execute(
        select(job.c.id).where(job.c.namespace == ns, job.c.name == name, job.c.deleted_at.is_(None))
    ).scalar()
    if job_id is None:
        raise JobNotFound(ns, name)
    total = conn.execute(select(func.count()).select_from(run).where(run.c.job_id == job_id)).scalar_one()
    rows = conn.execute(
        select(run).where(run.c.job_id == job_id).order_by(*_run_order(sort, descending)).limit(limit).offset(offset)
    ).all()
    return runs_view(conn, rows), total


def runs_in_state(conn: Connection, state: str | None, limit: int, offset: int) -> tuple[list[dict], int]:
    """Runs of every job, newest first, optionally in one state as the read API names it (COMPLETED, FAILED, ...)."""
    query = (
        select(run).join(job, job.c.id == run.c.job_id).where(run.c.placeholder.is_(False), job.c.deleted_at.is_(None))
    )
    if state is not None:
        raw = [t.value for t in RunState(state).event_types()]
        query = query.where(run.c.state.in_(raw) if raw else run.c.state.is_(None))
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(*_RUN_ORDER).limit(limit).offset(offset)).all()
    owners = {
        r.id: (r.namespace, r.name)
        for r in conn.execute(
            select(job.c.id, job.c.namespace, job.c.name).where(job.c.id.in_({r.job_id for r in rows}))
        )
    }
    views = runs_view(conn, rows)
    for row, view in zip(rows, views, strict=False):
        view["jobVersion"] = {"namespace": owners[row.job_id][0], "name": owners[row.job_id][1]}
    return views, total


def get_run(conn: Connection, run_id: str) -> dict:
    """The run with this id. Run ids are unique per job: when jobs share one, the run stored first
    answers (one seen only as a parent after those seen in events), so a later producer reusing
    a run id cannot stand in for a run that exists."""
    shown = select(run).join(job, job.c.id == run.c.job_id).where(run.c.run_id == run_id, job.c.deleted_at.is_(None))
    row = conn.execute(shown.order_by(run.c.placeholder, run.c.id).limit(1)).first()
    if row is None:
        raise RunNotFound(run_id)
    view = runs_view(conn, [row])[0]
    owner = conn.execute(select(job.c.namespace, job.c.name).where(job.c.id == row.job_id)).one()
    view["jobVersion"] = {"namespace": owner.namespace, "name": owner.name}
    return view


# --- datasets --------------------------------------------------------------------------------------


def _dataset_where(ns: str) -> Any:
    return or_(dataset.c.namespace_key == namespace_key(ns), dataset.c.namespace == ns)


def list_datasets(conn: Connection, ns: str, limit: int, offset: int) -> tuple[list[dict], int]:
    query = select(dataset).where(_dataset_where(ns), dataset.c.deleted_at.is_(None), dataset.c.alias_of.is_(None))
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(dataset.c.name).limit(limit).offset(offset)).all()
    return datasets_view(conn, rows), total


def find_dataset(conn: Connection, ns: str, name: str):
    """The dataset row NS:NAME names: its own, or the one it is an alias of; None when unknown or hidden."""
    return conn.execute(
        select(dataset).where(dataset.c.id.in_(holder_of(ns, name)), dataset.c.deleted_at.is_(None))
    ).first()


def get_dataset(conn: Connection, ns: str, name: str) -> dict:
    row = find_dataset(conn, ns, name)
    if row is None:
        raise DatasetNotFound(ns, name)
    return datasets_view(conn, [row])[0]


def datasets_view(conn: Connection, rows: Sequence[Any]) -> list[dict]:
    facets = facets_of(conn, "dataset", [r.id for r in rows])
    aliases: dict[int, list[dict]] = {r.id: [] for r in rows}
    for a in conn.execute(
        select(dataset.c.alias_of, dataset.c.namespace, dataset.c.name)
        .where(dataset.c.alias_of.in_(list(aliases)))
        .order_by(dataset.c.namespace, dataset.c.name)
    ):
        aliases[a.alias_of].append({"namespace": a.namespace, "name": a.name})
    sources = matches_of(conn, [r.id for r in rows])
    views = []
    for r in rows:
        f = facets[r.id]
        schema = f.get("schema", {}).get("fields") or []
        views.append(
            {
                "id": {"namespace": r.namespace, "name": r.name},
                "type": "DB_TABLE",
                "name": r.name,
                "physicalName": r.name,
                "createdAt": iso(r.first_seen_at),
                "updatedAt": iso(r.last_seen_at),
                "namespace": r.namespace,
                "namespaceKey": r.namespace_key,
                "sourceName": f.get("dataSource", {}).get("name") or r.namespace,
                "fields": [
                    {
                        "name": field.get("name"),
                        "type": field.get("type"),
                        "tags": [],
                        "description": field.get("description"),
                    }
                    for field in schema
                    if isinstance(field, dict)
                ],
                "tags": [],
                "lastModifiedAt": iso(r.last_seen_at),
                "description": f.get("documentation", {}).get("description"),
                "facets": f,
                "aliases": aliases[r.id],  # other names of this dataset, from `symlinks` facets
                "dataSource": sources.get(r.id),  # the Airflow Connection it lives in (ol_catalog_reconcile)
                "deleted": False,
            }
        )
    return views


def dataset_versions(conn: Connection, ns: str, name: str, limit: int, offset: int) -> tuple[list[dict], int]:
    ds = find_dataset(conn, ns, name)
    if ds is None:
        raise DatasetNotFound(ns, name)
    where = dataset_version.c.dataset_id == ds.id
    total = conn.execute(select(func.count()).select_from(dataset_version).where(where)).scalar_one()
    rows = conn.execute(
        select(dataset_version)
        .where(where)
        .order_by(dataset_version.c.first_seen_at.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    versions = [
        {
            "id": {"namespace": ds.namespace, "name": ds.name, "version": v.digest},
            "version": v.version or v.digest,
            "name": ds.name,
            "namespace": ds.namespace,
            "createdAt": iso(v.first_seen_at),
            "lastSeenAt": iso(v.last_seen_at),
            "fields": [
                {"name": f.get("name"), "type": f.get("type"), "tags": [], "description": f.get("description")}
                for f in json.loads(v.fields)
            ],
            "createdByRun": {"id": v.first_run_id} if v.first_run_id else None,
        }
        for v in rows
    ]
    return versions, total


def get_dataset_version(conn: Connection, ns: str, name: str, version: str) -> dict:
    found = dataset_versions(conn, ns, name, 10_000, 0)
    for v in found[0]:
        if version in (v["version"], v["id"]["version"]):
            return v
    raise DatasetVersionNotFound(ns, name, version)


# --- tags ------------------------------------------------------------------------------------------


def tag_name(tag: dict) -> str | None:
    key = tag.get("key")
    if not isinstance(key, str) or not key:
        return None
    value = tag.get("value")
    return key if value in (None, "", "true", True) else f"{key}:{value}"


def list_tags(conn: Connection, limit: int, offset: int) -> list[dict]:
    """Tags named by the `tags` facets of jobs, runs and datasets, with where each was seen."""
    found: dict[str, dict] = {}
    for entity, value in conn.execute(
        select(facet.c.entity, facet.c.value).where(facet.c.name == "tags", facet.c.value.is_not(None))
    ):
        tags = json.loads(value).get("tags")
        for tag in tags if isinstance(tags, list) else []:
            name = tag_name(tag) if isinstance(tag, dict) else None
            if name is None:
                continue
            entry = found.setdefault(name, {"name": name, "description": None, "sources": set(), "usage": {}})
            if isinstance(tag.get("source"), str):
                entry["sources"].add(tag["source"])
            entry["usage"][entity] = entry["usage"].get(entity, 0) + 1
    tags = []
    for name in sorted(found)[offset : offset + limit]:
        entry = found[name]
        sources = sorted(entry.pop("sources"))
        entry["description"] = f"from {', '.join(sources)}" if sources else None
        tags.append(entry)
    return tags


# --- search ----------------------------------------------------------------------------------------


SEARCH_SORTS = ("name", "namespace", "type", "updatedAt")


def _contains(column, text: str):
    """`column` holds `text` (a search key holds folded text: pass it folded)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%", escape="\\")


def _matching(table, kind: str, q: str, folded: str):
    shown = [table.c.deleted_at.is_(None)] + ([table.c.alias_of.is_(None)] if table is dataset else [])
    if folded:
        shown.append(_contains(table.c.search_key, folded))
    elif q:  # only invisible characters: the names that hold them
        shown.append(or_(_contains(table.c.name, q), _contains(table.c.namespace, q)))
    return select(
        literal(kind.upper()).label("type"), table.c.namespace, table.c.name, table.c.last_seen_at.label("updated")
    ).where(*shown)


def _search_fields(
    conn: Connection, q: str, folded: str, limit: int, offset: int, sort: str, descending: bool
) -> tuple[list[dict], int]:
    """Columns whose name contains `q` (folded, as names are): from each dataset's newest schema facet."""
    schema = and_(facet.c.entity == "dataset", facet.c.entity_id == dataset.c.id, facet.c.name == "schema")
    matches = _contains(facet.c.search_key, folded) if folded else _contains(facet.c.value, q)
    rows = conn.execute(
        select(dataset.c.namespace, dataset.c.name, dataset.c.last_seen_at, facet.c.value)
        .join(facet, schema)
        .where(dataset.c.deleted_at.is_(None), dataset.c.alias_of.is_(None), matches)
    )
    found = []
    for r in rows:
        fields = json.loads(r.value).get("fields") if r.value else None
        for field in fields if isinstance(fields, list) else []:
            name = field.get("name") if isinstance(field, dict) else None
            if isinstance(name, str) and (folded in fold(name) if folded else q in name):
                found.append(
                    {
                        "type": "FIELD",
                        "name": f"{r.name}.{name}",
                        "namespace": r.namespace,
                        "dataset": r.name,
                        "field": name,
                        "updatedAt": iso(r.last_seen_at),
                        "nodeId": format_node_id(DATASET_FIELD, r.namespace, r.name, name),
                    }
                )
    key = {"name": "name", "namespace": "namespace", "type": "name", "updatedAt": "updatedAt"}[sort]
    found.sort(key=lambda item: (item[key] or "", item["name"]), reverse=descending)
    return found[offset : offset + limit], len(found)


def search(
    conn: Connection,
    q: str,
    kind: str | None,
    limit: int,
    offset: int = 0,
    sort: str = "name",
    descending: bool = False,
) -> tuple[list[dict], int]:
    """Datasets and jobs whose name (or namespace) contains `q`; one page, and how many match.

    Both sides are folded (events/naming.fold): case, Unicode normal forms and invisible
    characters do not count, so look-alike names are found together. A `q` made only of
    invisible characters finds the names that hold it. With kind "field": the columns whose
    name contains `q`.
    """
    folded = fold(q)
    if kind == "field":
        return _search_fields(conn, q, folded, limit, offset, sort, descending)
    parts = [
        _matching(table, name, q, folded)
        for table, name in ((dataset, "dataset"), (job, "job"))
        if kind in (None, name)
    ]
    found = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    total = conn.execute(select(func.count()).select_from(found)).scalar_one()
    key = {"name": found.c.name, "namespace": found.c.namespace, "type": found.c.type, "updatedAt": found.c.updated}[
        sort
    ]
    order = [key.desc() if descending else key.asc(), found.c.name, found.c.namespace, found.c.type]
    rows = conn.execute(select(found).order_by(*order).limit(limit).offset(offset))
    results = [
        {
            "type": r.type,
            "name": r.name,
            "namespace": r.namespace,
            "updatedAt": iso(r.updated),
            "nodeId": format_node_id(r.type.lower(), r.namespace, r.name),
        }
        for r in rows
    ]
    return results, total


# --- stats -----------------------------------------------------------------------------------------


def _hour_of(conn: Connection, column):
    """`YYYY-MM-DDTHH:00` of a timestamp, in SQL (each backend says it its own way)."""
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:00')
    return func.strftime("%Y-%m-%dT%H:00", column)


def stats(conn: Connection, days: int) -> dict:
    """Counts for the overview: events, jobs, datasets, runs by state, events per day and per namespace."""
    since = utcnow().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days - 1)
    day = func.date(event.c.received_at)
    per_day = conn.execute(
        select(day.label("day"), func.count())
        .where(event.c.received_at >= since, event.c.quarantined.is_(False))
        .group_by(day)
        .order_by(day)
    ).all()
    runs_by_state = conn.execute(
        select(run.c.state, func.count()).where(run.c.placeholder.is_(False)).group_by(run.c.state)
    ).all()
    hour = _hour_of(conn, event.c.received_at)
    per_hour = conn.execute(
        select(hour.label("hour"), func.count())
        .where(event.c.received_at >= utcnow() - timedelta(hours=48), event.c.quarantined.is_(False))
        .group_by(hour)
        .order_by(hour)
    ).all()
    return {
        "events": conn.execute(
            select(func.count()).select_from(event).where(event.c.quarantined.is_(False))
        ).scalar_one(),
        "quarantinedEvents": conn.execute(
            select(func.count()).select_from(event).where(event.c.quarantined.is_(True))
        ).scalar_one(),
        "jobs": conn.execute(
            select(func.count()).select_from(job).where(job.c.deleted_at.is_(None), job.c.placeholder.is_(False))
        ).scalar_one(),
        "datasets": conn.execute(
            select(func.count())
            .select_from(dataset)
            .where(dataset.c.deleted_at.is_(None), dataset.c.alias_of.is_(None))
        ).scalar_one(),
        "runsByState": {RunState.of(state).value: count for state, count in runs_by_state},
        "eventsPerDay": [{"day": str(d)[:10], "events": n} for d, n in per_day],
        "eventsPerHour": [{"hour": h, "events": n} for h, n in per_hour],  # the last 48 hours, UTC
        "refusedByReason": refusals_by_reason(conn, since),
        "eventsPerNamespace": [
            {"namespace": r.name, "events": r.event_count, "lastEventAt": iso(r.last_event_at)}
            for r in conn.execute(
                select(namespace).where(namespace.c.deleted_at.is_(None)).order_by(namespace.c.event_count.desc())
            )
        ],
    }

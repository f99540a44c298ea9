"""Namespaces, jobs, runs and datasets as the read API returns them (Marquez's shapes, plus a few fields)."""

from __future__ import annotations

import ast
import json
import statistics
import uuid
from collections import Counter
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from itertools import groupby, pairwise
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    tuple_,
    union_all,
)

from airflow_ol_catalog.events import facet_reading as reading
from airflow_ol_catalog.events.naming import KEY_SEPARATOR, fold, namespace_key
from airflow_ol_catalog.events.node_ids import field_node_id, format_node_id
from airflow_ol_catalog.events.not_found import (
    DatasetNotFound,
    DatasetVersionNotFound,
    JobNotFound,
    NamespaceNotFound,
    RunNotFound,
    SourceNotFound,
)
from airflow_ol_catalog.events.run_states import TERMINAL_RANK, RunState
from airflow_ol_catalog.events.times import TimeInvalid, iso, parse_time
from airflow_ol_catalog.lineage.quality import quality_of, test_failures
from airflow_ol_catalog.lineage.refusals import facet_warnings, refusals_by_reason
from airflow_ol_catalog.lineage.source_matches import matches_of
from airflow_ol_catalog.lineage.tags import facet_tag_name, with_tags
from airflow_ol_catalog.store.datasets import holder_of
from airflow_ol_catalog.store.event_tally import hour_of
from airflow_ol_catalog.store.event_tally import totals as event_totals
from airflow_ol_catalog.store.namespaces import Namespace, namespaces_named
from airflow_ol_catalog.store.sql import (
    AnyRow,
    AnySelect,
    among,
    execute,
    first_rows_of_each,
    grouped_rows,
    utcnow,
)
from airflow_ol_catalog.store.tables import (
    JOB_DELETED,
    NOT_PLACEHOLDER,
    RUN_NEWEST_FIRST,
    by_start,
    column_lineage,
    dataset,
    dataset_version,
    edge,
    event,
    event_tally,
    facet,
    job,
    namespace,
    newest_first,
    run,
    run_dataset,
    stored_time,
)


def facets_of(
    conn: Connection, entity: str, ids: Collection[int], names: Collection[str] | None = None
) -> dict[int, dict[str, Any]]:
    """The facets of these jobs, datasets or runs, by id; with `names`, only those facets."""
    found: dict[int, dict[str, Any]] = {i: {} for i in ids}
    if not ids:
        return found
    query = select(facet.c.entity_id, facet.c.name, facet.c.value).where(
        facet.c.entity == entity, among(conn.dialect.name, facet.c.entity_id, ids), facet.c.value.is_not(None)
    )
    rows = conn.execute(query if names is None else query.where(facet.c.name.in_(names)))
    for entity_id, name, value in rows:
        found[entity_id][name] = json.loads(value)
    # By name: the rows come in whatever order the plan reads them (on PostgreSQL a bitmap scan's
    # is where each row was last written), and answers and kept views must not depend on it.
    return {i: dict(sorted(named.items())) if len(named) > 1 else named for i, named in found.items()}


# --- namespaces ------------------------------------------------------------------------------------


# Marquez names an owner that nobody set so.
NO_OWNER = "anonymous"


def namespace_view(ns: Namespace) -> dict[str, Any]:
    return {
        "name": ns.name,
        "createdAt": iso(ns.created_at),
        "updatedAt": iso(ns.last_event_at or ns.created_at),
        "ownerName": ns.admins[0] if ns.admins else NO_OWNER,
        "description": ns.description or None,
        "isHidden": ns.deleted_at is not None,
        "registered": True,
        "admins": ns.admins,
        "integrations": ns.integrations,
        "eventCount": ns.event_count,
        "firstEventAt": iso(ns.first_event_at),
        "lastEventAt": iso(ns.last_event_at),
    }


def _seen_namespace_view(name: str, created: datetime | None, updated: datetime | None) -> dict[str, Any]:
    """A namespace known only from the jobs or datasets in it (no event was sent as it)."""
    return {
        "name": name,
        "createdAt": iso(created),
        "updatedAt": iso(updated or created),
        "ownerName": NO_OWNER,
        "description": None,
        "isHidden": False,
        "registered": False,
        "admins": [],
        "integrations": [],
        "eventCount": 0,
        "firstEventAt": None,
        "lastEventAt": None,
    }


def _namespace_names(name: str | None = None) -> AnySelect:
    """Every namespace: registered ones, and those of jobs and datasets, with when each was first and last seen."""
    sources = [
        (namespace.c.name, namespace.c.created_at, func.coalesce(namespace.c.last_event_at, namespace.c.created_at)),
        (job.c.namespace, job.c.first_seen_at, job.c.last_seen_at),
        (dataset.c.namespace, dataset.c.first_seen_at, dataset.c.last_seen_at),
    ]
    shown = [
        [namespace.c.deleted_at.is_(None)],
        [job.c.deleted_at.is_(None)],
        [dataset.c.deleted_at.is_(None), dataset.c.alias_of.is_(None)],
    ]
    parts = [
        select(ns.label("name"), created.label("created"), updated.label("updated")).where(
            *where, *([ns == name] if name is not None else [])
        )
        for (ns, created, updated), where in zip(sources, shown, strict=True)
    ]
    seen = union_all(*parts).subquery()
    return select(
        seen.c.name, func.min(seen.c.created).label("created"), func.max(seen.c.updated).label("updated")
    ).group_by(seen.c.name)


def list_all_namespaces(conn: Connection, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Every job namespace and every dataset namespace (as Marquez lists them), by name; registered
    namespaces carry their description, admins, integrations and event counts. Hidden namespaces are
    left out, as Marquez leaves them out (GET of one still answers it, with `isHidden`)."""
    hidden = select(namespace.c.name).where(namespace.c.deleted_at.is_not(None))
    names = _namespace_names()
    names = names.having(names.selected_columns[0].not_in(hidden))
    total = conn.execute(select(func.count()).select_from(names.subquery())).scalar_one()
    rows = conn.execute(names.order_by(names.selected_columns[0]).limit(limit).offset(offset)).all()
    registered = namespaces_named(conn, [r.name for r in rows])
    views = [namespace_view(registered[r.name]) if r.name in registered else _seen_namespace_view(*r) for r in rows]
    return views, total


def find_namespace(conn: Connection, name: str) -> dict[str, Any]:
    """The namespace `name`: registered (hidden ones too), or holding jobs or datasets."""
    registered = namespaces_named(conn, [name])
    if name in registered:
        return namespace_view(registered[name])
    row = conn.execute(_namespace_names(name)).first()
    if row is None:
        raise NamespaceNotFound(name)
    return _seen_namespace_view(*row)


# --- jobs ------------------------------------------------------------------------------------------

# Marquez's `latestRuns` of a job: its newest ten.
LATEST_RUNS = 10


def _job_rows(
    conn: Connection, where: Sequence[ColumnElement[bool]], limit: int, offset: int
) -> tuple[Sequence[AnyRow], int]:
    query = select(job).where(job.c.deleted_at.is_(None), *where)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(job.c.namespace, job.c.name).limit(limit).offset(offset)).all()
    return rows, total


def _last_run_in(states: list[str]) -> ColumnElement[bool]:
    """Jobs whose newest run is in one of `states` as the read API names them (NEW: no run yet, or
    a newest run without a state). Each job's newest run is one look-up in the index of runs
    newest first (store/tables.py `RUN_NEWEST_FIRST`)."""
    newest_state = (
        select(run.c.state)
        .where(run.c.job_id == job.c.id, NOT_PLACEHOLDER)
        .order_by(*RUN_NEWEST_FIRST)
        .limit(1)
        .scalar_subquery()
    )
    raw = [t.value for state in states if state != RunState.NEW for t in RunState(state).event_types()]
    # No run at all, and a newest run without a state, both read as NULL: NEW. No state is "".
    return func.coalesce(newest_state, "").in_([*raw, *([""] if RunState.NEW in states else [])])


def list_jobs(
    conn: Connection, ns: str | None, limit: int, offset: int, last_run_states: list[str] | None = None
) -> tuple[list[dict[str, Any]], int]:
    where = [job.c.namespace == ns] if ns is not None else []
    if last_run_states:
        where.append(_last_run_in(last_run_states))
    rows, total = _job_rows(conn, where, limit, offset)
    if total == 0 and ns is not None:
        find_namespace(conn, ns)  # NamespaceNotFound for a namespace nobody sent (Marquez's 404)
    return jobs_view(conn, rows), total


def get_job(conn: Connection, ns: str, name: str) -> dict[str, Any]:
    row = conn.execute(select(job).where(job.c.namespace == ns, job.c.name == name, job.c.deleted_at.is_(None))).first()
    if row is None:
        raise JobNotFound(ns, name)
    return jobs_view(conn, [row])[0]


def jobs_view(conn: Connection, rows: Sequence[AnyRow], runs: int = LATEST_RUNS) -> list[dict[str, Any]]:
    """Jobs in Marquez's shape, each with its newest `runs` runs in `latestRuns` (a graph of many
    jobs may want fewer: every run costs its facets and dataset versions)."""
    ids = [r.id for r in rows]
    if not ids:
        return []
    facets = facets_of(conn, "job", ids)
    parent_ids = {r.parent_job_id for r in rows if r.parent_job_id}
    visible = select(job.c.id, job.c.namespace, job.c.name).where(
        among(conn.dialect.name, job.c.id, parent_ids), job.c.deleted_at.is_(None)
    )  # a hidden parent is not named
    parents = {r.id: (r.namespace, r.name) for r in conn.execute(visible)}
    io: dict[int, dict[str, list[dict[str, Any]]]] = {i: {"in": [], "out": []} for i in ids}
    refs: dict[tuple[str, str], dict[str, Any]] = {}  # one object per dataset, however many jobs name it
    by_job = grouped_rows(
        conn,
        edge.c.job_id,
        (edge.c.direction, dataset.c.namespace, dataset.c.name),
        lambda q: q.join(dataset, dataset.c.id == edge.c.dataset_id).where(
            among(conn.dialect.name, edge.c.job_id, ids), dataset.c.deleted_at.is_(None)
        ),
    )
    for job_id, found in by_job.items():
        sides = io[job_id]
        for direction, ns, name in sorted(found):  # per direction, by namespace and name
            ref = refs.get((ns, name)) or refs.setdefault((ns, name), {"namespace": ns, "name": name})
            sides[direction].append(ref)
    latest = latest_runs(conn, ids, runs)
    views = []
    for r in rows:
        job_type = facets[r.id].get("jobType", {})
        parent = parents.get(r.parent_job_id)
        newest = latest[r.id][0] if latest[r.id] else None
        views.append(
            {
                "id": {"namespace": r.namespace, "name": r.name},
                "type": "BATCH"
                if str(job_type.get("processingType", "BATCH")).upper() not in ("STREAMING", "SERVICE")
                else "STREAM",
                "name": r.name,
                "simpleName": r.name.rsplit(".", 1)[-1] if parent and r.name.startswith(parent[1] + ".") else r.name,
                "parentJobName": parent[1] if parent else None,
                "parentJob": {"namespace": parent[0], "name": parent[1]} if parent else None,
                "createdAt": iso(r.first_seen_at),
                "updatedAt": iso(r.last_seen_at),
                "namespace": r.namespace,
                # a snapshot job reads and writes what its newest run's newest event says
                "inputs": newest["inputs"] if newest and reading.is_snapshot(facets[r.id]) else io[r.id]["in"],
                "outputs": newest["outputs"] if newest and reading.is_snapshot(facets[r.id]) else io[r.id]["out"],
                "emissionPattern": reading.emission(facets[r.id]),
                "location": facets[r.id].get("sourceCodeLocation", {}).get("url"),
                "description": facets[r.id].get("documentation", {}).get("description"),
                "facets": facets[r.id],
                "latestRun": newest,
                "latestRuns": latest[r.id] or None,  # as Marquez: none when the job has no run (its UI relies on it)
                "currentVersion": newest["jobVersion"]["version"] if newest else None,
                "tags": facet_tags(facets[r.id]),
                "jobType": job_type.get("jobType"),
                "integration": job_type.get("integration"),
                "processingType": job_type.get("processingType"),
                "placeholder": r.placeholder,
                "upstreamTasks": upstream_tasks((newest or {}).get("facets", {})),
                "owners": reading.owners(facets[r.id]),
                "sql": reading.sql(facets[r.id]),
                "sourceCode": reading.source_code(facets[r.id]),
                "sourceCodeLocation": reading.source_location(facets[r.id]),
            }
        )
    return with_tags(conn, "job", rows, views)


def upstream_tasks(run_facets: dict[str, Any]) -> list[str]:
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

_RUN_ORDER = RUN_NEWEST_FIRST[:2]  # run ids are unique per job


def _as_time(value: Any) -> str | None:
    """A time a facet holds, in the form every time of the read API has (UTC); None when it is no
    time the catalog can store (Marquez's clients parse these; the run's facets keep what was sent)."""
    if not isinstance(value, str):
        return None
    try:
        return iso(parse_time(value))
    except TimeInvalid:
        return None


def version_uuid(digest: str) -> str:
    """A dataset version's id as Marquez gives it, a UUID: the first 128 bits of the version's digest."""
    d = digest[:32].lower()
    return f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}"


def job_version_uuid(ns: str, name: str, inputs: Sequence[DatasetRef], outputs: Sequence[DatasetRef]) -> str:
    """A job version as the catalog knows one: the job with one set of inputs and outputs its runs had."""
    ios = [sorted((d.namespace, d.name) for d in side) for side in (inputs, outputs)]
    return str(uuid.uuid5(uuid.NAMESPACE_URL, json.dumps(["job", ns, name, *ios])))


class DatasetRef(NamedTuple):
    id: int
    namespace: str
    name: str


def _by_name(ref: DatasetRef) -> tuple[str, str]:
    return ref.namespace, ref.name


def _run_datasets(conn: Connection, run_pks: list[int]) -> dict[int, dict[str, list[DatasetRef]]]:
    """Each run's inputs and outputs, in no order."""
    found: dict[int, dict[str, list[DatasetRef]]] = {pk: {"in": [], "out": []} for pk in run_pks}
    if not run_pks:
        return found
    by_run = grouped_rows(
        conn,
        run_dataset.c.run_pk,
        (run_dataset.c.direction, dataset.c.id, dataset.c.namespace, dataset.c.name),
        lambda q: q.join(dataset, dataset.c.id == run_dataset.c.dataset_id).where(
            among(conn.dialect.name, run_dataset.c.run_pk, run_pks), dataset.c.deleted_at.is_(None)
        ),
    )
    for run_pk, rows in by_run.items():
        sides = found[run_pk]
        for direction, dataset_id, ns, name in rows:
            sides[direction].append(DatasetRef(dataset_id, ns, name))
    return found


def _io_of_runs(
    conn: Connection,
    rows: Sequence[AnyRow] | Sequence[_VersionRun],
    owners: dict[int, tuple[str, str]],
    snapshots: set[int] | None = None,
) -> dict[int, dict[str, list[DatasetRef]]]:
    """Each run's inputs and outputs as its view shows them (a snapshot job's run's, those its newest
    event names); `owners`: each job's namespace and name, by id; `snapshots`: which of the jobs are
    snapshot jobs, when the caller knows already."""
    io = _run_datasets(conn, [r.id for r in rows])
    if snapshots is None:
        snapshots = _snapshot_jobs(conn, {r.job_id for r in rows})
    if snapshots:
        _as_of_newest_events(conn, [(r.id, r.run_id, *owners[r.job_id]) for r in rows if r.job_id in snapshots], io)
    return io


def _snapshot_jobs(conn: Connection, job_ids: set[int]) -> set[int]:
    """The jobs whose events are COMPLETE_SNAPSHOTs (their `jobType` facet says so)."""
    found = conn.execute(
        select(facet.c.entity_id, facet.c.value).where(
            facet.c.entity == "job",
            facet.c.name == "jobType",
            among(conn.dialect.name, facet.c.entity_id, job_ids),
            facet.c.value.is_not(None),
        )
    )
    return {r.entity_id for r in found if reading.is_snapshot({"jobType": json.loads(r.value)})}


def _as_of_newest_events(
    conn: Connection, runs: list[tuple[int, str, str, str]], io: dict[int, dict[str, list[DatasetRef]]]
) -> None:
    """Keep of each snapshot run's inputs and outputs (pk, run id, job namespace and name) those
    its newest event names: each event holds all of them, replacing the last. Derived from the
    log, so the order events arrived in does not matter; one query for the events, one for the
    datasets they name (by any of their names)."""
    newest_first = func.row_number().over(
        partition_by=(event.c.run_id, event.c.namespace, event.c.job_name),
        order_by=(event.c.event_time.desc(), event.c.digest.desc()),
    )
    ranked = (
        select(event.c.run_id, event.c.namespace, event.c.job_name, event.c.payload, newest_first.label("n"))
        .where(event.c.run_id.in_({run_id for _, run_id, _, _ in runs}), event.c.quarantined.is_(False))
        .subquery()
    )
    newest = {
        (r.run_id, r.namespace, r.job_name): json.loads(r.payload)
        for r in conn.execute(select(ranked).where(ranked.c.n == 1))
    }
    named: dict[int, set[tuple[str, str, str]]] = {}
    for pk, run_id, ns, name in runs:
        payload = newest.get((run_id, ns, name))
        if payload is not None:
            named[pk] = {
                (side, namespace_key(item["namespace"]), item["name"])
                for side, key in (("in", "inputs"), ("out", "outputs"))
                for item in payload.get(key) or []
                if isinstance(item, dict)
                and isinstance(item.get("namespace"), str)
                and isinstance(item.get("name"), str)
            }
    wanted = {(ns_key, name) for names in named.values() for _, ns_key, name in names}
    holders: dict[tuple[str, str], int] = {}
    if wanted:
        found = select(dataset.c.namespace_key, dataset.c.name, func.coalesce(dataset.c.alias_of, dataset.c.id))
        for chunk in _chunks(sorted(wanted), 400):
            for ns_key, name, holder in conn.execute(
                found.where(tuple_(dataset.c.namespace_key, dataset.c.name).in_(chunk))
            ):
                holders[(ns_key, name)] = holder
    for pk, names in named.items():
        ids = {(side, holders.get((ns_key, name))) for side, ns_key, name in names}
        io[pk] = {side: [d for d in refs if (side, d.id) in ids] for side, refs in io[pk].items()}


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class _Versions:
    """A dataset's schema versions, oldest first, with when each was first and last stated, and
    which run wrote each first. A schema stated again later (a column added, then dropped) is the
    same version, seen again: its last sighting moves."""

    def __init__(self) -> None:
        self.seen: list[datetime] = []  # first stated
        self.last: list[datetime] = []  # last stated
        self.digests: list[str] = []
        self.written_by: dict[str, str] = {}  # run id -> digest

    def _in_effect(self, at: datetime | None) -> str | None:
        """The version stated last by `at` (None: ever), as far as first and last sightings tell:
        each version counts from its latest sighting at or before `at`."""
        best: tuple[datetime, datetime] | None = None
        found = None
        for first, last, digest in zip(self.seen, self.last, self.digests, strict=True):
            if at is not None and first > at:
                break  # oldest first: none later was stated yet
            known = (last if at is None or last <= at else first, first)
            if best is None or known >= best:
                best, found = known, digest
        return found

    @property
    def current(self) -> str | None:
        """The version the newest write stated: the dataset's schema now."""
        return self._in_effect(None)

    def at(self, run_row: AnyRow) -> str | None:
        """The version a run read or wrote: the one it wrote first, else the one in effect at the
        run's last event; None when the dataset has no schema version."""
        digest = self.written_by.get(run_row.run_id)
        if digest is None:
            digest = self._in_effect(run_row.last_event_at)
        return version_uuid(digest) if digest else None


def _versions_of(conn: Connection, datasets: ColumnElement[bool]) -> dict[int, _Versions]:
    """The schema versions of the datasets `datasets` (a condition on `dataset_version.dataset_id`) picks,
    of those that have any (most datasets of a big graph have none)."""
    found: dict[int, _Versions] = {}
    for v in conn.execute(
        select(
            dataset_version.c.dataset_id,
            dataset_version.c.digest,
            dataset_version.c.first_seen_at,
            dataset_version.c.last_seen_at,
            dataset_version.c.first_run_id,
        )
        .where(datasets)
        .order_by(dataset_version.c.first_seen_at, dataset_version.c.id)
    ):
        versions = found.get(v.dataset_id) or found.setdefault(v.dataset_id, _Versions())
        versions.seen.append(v.first_seen_at)
        versions.last.append(v.last_seen_at)
        versions.digests.append(v.digest)
        if v.first_run_id:
            versions.written_by.setdefault(v.first_run_id, v.digest)
    return found


def run_end(r: AnyRow) -> tuple[datetime | None, int | None]:
    """A stored run's end (only once a terminal event won) and its duration in milliseconds."""
    ended: datetime | None = r.ended_at if r.state_rank == TERMINAL_RANK else None
    return ended, int((ended - r.started_at).total_seconds() * 1000) if ended and r.started_at else None


def _seen_through_children(conn: Connection, pks: list[int]) -> dict[int, tuple[datetime, datetime]]:
    """Of runs known only as their children's parent or root (no event of their own): when the
    events of the runs naming them came, the earliest and the latest. Marquez's run has them always."""
    found: dict[int, tuple[datetime, datetime]] = {}
    for column in (run.c.parent_run_pk, run.c.root_run_pk) if pks else ():
        named = select(column, func.min(run.c.first_event_at), func.max(run.c.last_event_at))
        for owner, first, last in conn.execute(named.where(among(conn.dialect.name, column, pks)).group_by(column)):
            if first is None:
                continue
            known = found.get(owner)
            found[owner] = (first, last) if known is None else (min(known[0], first), max(known[1], last))
    return found


def runs_view(conn: Connection, rows: Sequence[AnyRow]) -> list[dict[str, Any]]:
    """Runs in Marquez's shape: `jobVersion` names the job with the inputs and outputs this run had,
    `inputDatasetVersions` and `outputDatasetVersions` the schema versions it read and wrote (datasets
    with no schema version are among the job version's inputs and outputs only)."""
    facets = facets_of(conn, "run", [r.id for r in rows])
    owners = {
        r.id: (r.namespace, r.name)
        for r in conn.execute(
            select(job.c.id, job.c.namespace, job.c.name).where(
                among(conn.dialect.name, job.c.id, {r.job_id for r in rows})
            )
        )
    }
    run_pks = [r.id for r in rows]
    io = _io_of_runs(conn, rows, owners)
    read_or_written = select(run_dataset.c.dataset_id).where(among(conn.dialect.name, run_dataset.c.run_pk, run_pks))
    versions = _versions_of(conn, dataset_version.c.dataset_id.in_(read_or_written)) if rows else {}
    # runs of a job mostly share their inputs and outputs: (job id, input ids, output ids) -> version
    job_versions: dict[tuple[int, frozenset[int], frozenset[int]], str] = {}
    through_children = _seen_through_children(conn, [r.id for r in rows if r.first_event_at is None])
    views = []
    for r in rows:
        f = facets[r.id]
        nominal = f.get("nominalTime", {})
        first, last = through_children.get(r.id, (r.first_event_at, r.last_event_at))  # a placeholder: its children's
        ended, duration_ms = run_end(r)
        ns, name = owners[r.job_id]
        inputs, outputs = io[r.id]["in"], io[r.id]["out"]
        key = (r.job_id, frozenset(d.id for d in inputs), frozenset(d.id for d in outputs))
        job_version = job_versions.get(key)
        if job_version is None:
            job_version = job_versions[key] = job_version_uuid(ns, name, inputs, outputs)
        dataset_versions = {
            side: [
                {"datasetVersionId": {"namespace": d.namespace, "name": d.name, "version": version}, "facets": {}}
                for d in sorted(sides, key=_by_name)
                if d.id in versions and (version := versions[d.id].at(r)) is not None
            ]
            if versions
            else []
            for side, sides in (("in", inputs), ("out", outputs))
        }
        views.append(
            {
                "id": r.run_id,
                "createdAt": iso(first),
                "updatedAt": iso(last),
                "nominalStartTime": _as_time(nominal.get("nominalStartTime")),
                "nominalEndTime": _as_time(nominal.get("nominalEndTime")),
                "state": RunState.of(r.state).value,
                "startedAt": iso(r.started_at),
                "endedAt": iso(ended),
                "durationMs": duration_ms,
                "args": {},
                "jobVersion": {"namespace": ns, "name": name, "version": job_version},
                "inputDatasetVersions": dataset_versions["in"],
                "outputDatasetVersions": dataset_versions["out"],
                "inputs": [{"namespace": d.namespace, "name": d.name} for d in sorted(inputs, key=_by_name)],
                "outputs": [{"namespace": d.namespace, "name": d.name} for d in sorted(outputs, key=_by_name)],
                "facets": f,
                "errorMessage": f.get("errorMessage", {}).get("message"),
                "error": reading.error(f),
                "parent": reading.parent(f),
                "root": reading.root(f),
                "tests": reading.tests(f),
                "extractionError": reading.extraction_error(f),
                "parameters": reading.parameters(f),
                "engine": reading.engine(f),
                "airflow": reading.airflow_task(f),
                "placeholder": r.placeholder,
            }
        )
    return views


def newest_run_rows(conn: Connection, job_ids: Collection[int], count: int) -> list[AnyRow]:
    """The newest `count` runs of each job (placeholders left out), by job, newest first.

    Each job's are the first entries of the index of runs newest first (store/tables.py
    `RUN_NEWEST_FIRST`), read per job. Ranking every run of the jobs had cost time in proportion
    to their history: 54-76 ms for a job of 100,000 runs, against under 1 ms so (bench/runs.py)."""
    if not job_ids or count <= 0:  # a negative LIMIT is no limit to SQLite, an error to PostgreSQL
        return []
    # Read from the job rows (nothing deletes one), so that each id is looked up once however often given.
    query = first_rows_of_each(
        conn.dialect.name, job.c.id, job_ids, run, "job_id", newest_first, lambda r: r.c.placeholder.is_(False), count
    )
    return list(conn.execute(query))


def latest_runs(conn: Connection, job_ids: list[int], count: int = LATEST_RUNS) -> dict[int, list[dict[str, Any]]]:
    """The newest `count` runs of each job, newest first."""
    rows = newest_run_rows(conn, job_ids, count)
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in job_ids}
    for row, view in zip(rows, runs_view(conn, rows), strict=True):
        found[row.job_id].append(view)
    return found


RUN_SORTS = ("startedAt", "endedAt", "state")


def _run_order(sort: str, descending: bool) -> tuple[Any, ...]:
    """The order of a job's runs by end or state (by start: `_runs_by_start`); runs alike in it
    newest first, whichever way it goes."""
    ended = case((run.c.state_rank == TERMINAL_RANK, run.c.ended_at), else_=None)
    key = {"endedAt": ended, "state": run.c.state}[sort]
    return (key.desc() if descending else key.asc(), *newest_first())


def list_runs(
    conn: Connection, ns: str, name: str, limit: int, offset: int, sort: str = "startedAt", descending: bool = True
) -> tuple[list[dict[str, Any]], int]:
    job_id = conn.execute(
        select(job.c.id).where(job.c.namespace == ns, job.c.name == name, job.c.deleted_at.is_(None))
    ).scalar()
    if job_id is None:
        raise JobNotFound(ns, name)
    total = conn.execute(select(func.count()).select_from(run).where(run.c.job_id == job_id)).scalar_one()
    rows: Sequence[AnyRow]
    if sort == "startedAt":
        rows = _runs_by_start(conn, job_id, limit, offset, descending)
    else:
        rows = conn.execute(
            select(run)
            .where(run.c.job_id == job_id)
            .order_by(*_run_order(sort, descending))
            .limit(limit)
            .offset(offset)
        ).all()
    return runs_view(conn, rows), total


def _runs_by_start(conn: Connection, job_id: int, limit: int, offset: int, descending: bool) -> list[AnyRow]:
    """A page of the job's runs by start (or first event), run id and row: read in the order of the
    index of each job's runs (store/tables.py), however long the job's history. The runs known
    only as parents, which have no time and are not in that index, come after the others, by run id."""
    order = [key.desc() if descending else key.asc() for key in by_start()]
    rows = list(
        conn.execute(
            select(run).where(run.c.job_id == job_id, NOT_PLACEHOLDER).order_by(*order).limit(limit).offset(offset)
        )
    )
    if len(rows) < limit:  # the page reaches past them: the runs known only as parents follow
        known = conn.execute(
            select(func.count()).select_from(run).where(run.c.job_id == job_id, NOT_PLACEHOLDER)
        ).scalar_one()
        rows += conn.execute(
            select(run)
            .where(run.c.job_id == job_id, run.c.placeholder.is_(True))
            .order_by(*order[1:])
            .limit(limit - len(rows))
            .offset(max(0, offset - known))
        )
    return rows


def job_versions(conn: Connection, ns: str, name: str) -> list[dict[str, Any]]:
    """The job's versions, newest first: one per set of inputs and outputs its runs had (Marquez makes
    a version of each change of inputs, outputs or source location; the catalog keeps no location per run).

    Each run's version needs only its inputs and outputs; only each version's latest run is shown
    whole (building every run's view took 4.5 s for a job of 100,000 runs)."""
    row = conn.execute(select(job).where(job.c.namespace == ns, job.c.name == name, job.c.deleted_at.is_(None))).first()
    if row is None:
        raise JobNotFound(ns, name)
    runs = execute(conn, _JOB_RUNS, {"job": row.id})  # (id, run id, job id, start as stored), newest first
    sides = _io_ids(conn, row.id, runs, ns, name)
    latest: dict[tuple[frozenset[int], frozenset[int]], int] = {}  # inputs and outputs -> their latest run
    created: dict[tuple[frozenset[int], frozenset[int]], Any] = {}  # -> their first run's start, as stored
    for pk, _, _, at in runs:
        key = sides.get(pk, _NO_SIDES)
        if key not in latest:
            latest[key], created[key] = pk, at
        elif at is not None and ((first := created[key]) is None or at < first):
            created[key] = at
    refs = {
        d.id: DatasetRef(d.id, d.namespace, d.name)
        for d in conn.execute(
            select(dataset.c.id, dataset.c.namespace, dataset.c.name).where(
                among(conn.dialect.name, dataset.c.id, set().union(*(i | o for i, o in latest)))
            )
        )
    }
    shown = {r.id: r for r in conn.execute(select(run).where(among(conn.dialect.name, run.c.id, latest.values())))}
    views = runs_view(conn, [shown[pk] for pk in latest.values()])
    location = facets_of(conn, "job", [row.id])[row.id].get("sourceCodeLocation", {}).get("url")
    versions = []
    for (inputs, outputs), view in zip(latest, views, strict=True):
        ins, outs = (sorted((refs[i] for i in ids), key=_by_name) for ids in (inputs, outputs))
        version = view["jobVersion"]["version"]  # of the same inputs and outputs
        versions.append(
            {
                "id": {"namespace": ns, "name": name, "version": version},
                "name": name,
                "createdAt": iso(stored_time(conn.dialect, created[(inputs, outputs)])),
                "version": version,
                "namespace": ns,
                "location": location,
                "inputs": [{"namespace": d.namespace, "name": d.name} for d in ins],
                "outputs": [{"namespace": d.namespace, "name": d.name} for d in outs],
                "latestRun": view,
            }
        )
    return versions


_NO_SIDES: tuple[frozenset[int], frozenset[int]] = (frozenset(), frozenset())


class _VersionRun(NamedTuple):  # a row of `_JOB_RUNS`
    id: int
    run_id: str
    job_id: int
    at: Any  # its start (or first event) as the driver gives it: compared as it is, read as a time once


# A job's runs, newest first, and their links to datasets that are not hidden, read as the driver gives
# them (store/sql.py `execute`): a job may have 100,000 runs, and SQLAlchemy's rows and time processing
# cost most of reading them.
_JOB_RUNS = (
    select(run.c.id, run.c.run_id, run.c.job_id, by_start()[0])
    .where(run.c.job_id == bindparam("job"), NOT_PLACEHOLDER)
    .order_by(*_RUN_ORDER)
)
_JOB_LINKS = (
    select(run_dataset.c.run_pk, run_dataset.c.direction, run_dataset.c.dataset_id)
    .join(run, run.c.id == run_dataset.c.run_pk)
    .join(dataset, dataset.c.id == run_dataset.c.dataset_id)
    .where(run.c.job_id == bindparam("job"), NOT_PLACEHOLDER, dataset.c.deleted_at.is_(None))
    .order_by(run_dataset.c.run_pk, run_dataset.c.direction, run_dataset.c.dataset_id)
)


def _io_ids(
    conn: Connection, job_id: int, runs: Sequence[tuple[Any, ...]], ns: str, name: str
) -> dict[int, tuple[frozenset[int], frozenset[int]]]:
    """The ids of the datasets each of these runs of the job (`_JOB_RUNS`' rows) read and wrote, as
    their views count them (runs that named none left out): the links' dataset ids alone, or, for
    a snapshot job, its runs' inputs and outputs as of their newest events."""
    if snapshots := _snapshot_jobs(conn, {job_id}):
        io = _io_of_runs(conn, [_VersionRun(*r) for r in runs], {job_id: (ns, name)}, snapshots)
        return {pk: (frozenset(d.id for d in io[pk]["in"]), frozenset(d.id for d in io[pk]["out"])) for pk in io}
    # Runs of a job mostly share their inputs and outputs: each distinct list of links is made sets once.
    shared: dict[tuple[tuple[str, int], ...], tuple[frozenset[int], frozenset[int]]] = {}
    found = {}
    for run_pk, group in groupby(execute(conn, _JOB_LINKS, {"job": job_id}), key=itemgetter(0)):
        named = tuple((direction, dataset_id) for _, direction, dataset_id in group)
        sides = shared.get(named)
        if sides is None:
            sides = shared[named] = (
                frozenset(i for d, i in named if d == "in"),
                frozenset(i for d, i in named if d == "out"),
            )
        found[run_pk] = sides
    return found


def _listed_runs() -> list[ColumnElement[bool]]:
    """The runs the list of every job's runs, and the overview's counts of them, hold: none known
    only as a parent; none of a hidden job, left out by the jobs' ids (few) rather than by joining
    each run's job."""
    return [NOT_PLACEHOLDER, run.c.job_id.not_in(select(job.c.id).where(JOB_DELETED))]


def runs_in_state(conn: Connection, state: str | None, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Runs of every job, newest first, optionally in one state as the read API names it (COMPLETED, FAILED, ...).

    A page is read in the order of the index of every job's runs (store/tables.py)."""
    shown = _listed_runs()
    if state is not None:
        raw = [t.value for t in RunState(state).event_types()]
        shown.append(run.c.state.in_(raw) if raw else run.c.state.is_(None))
    total = conn.execute(select(func.count()).select_from(run).where(*shown)).scalar_one()
    rows = conn.execute(select(run).where(*shown).order_by(*RUN_NEWEST_FIRST).limit(limit).offset(offset)).all()
    return runs_view(conn, rows), total


def get_run(conn: Connection, run_id: str, of_job: tuple[str, str] | None = None) -> dict[str, Any]:
    """The run with this id; with `of_job` (namespace, name), that job's. Run ids are unique per
    job: when jobs share one, the run stored first answers (one seen only as a parent after those
    seen in events), so a later producer reusing a run id cannot stand in for a run that exists."""
    return runs_view(conn, [run_row(conn, run_id, of_job)])[0]


def run_row(conn: Connection, run_id: str, of_job: tuple[str, str] | None = None) -> AnyRow:
    """The stored run `get_run` answers with (RunNotFound when there is none)."""
    shown = select(run).join(job, job.c.id == run.c.job_id).where(run.c.run_id == run_id, job.c.deleted_at.is_(None))
    if of_job is not None:
        shown = shown.where(job.c.namespace == of_job[0], job.c.name == of_job[1])
    row = conn.execute(shown.order_by(run.c.placeholder, run.c.id).limit(1)).first()
    if row is None:
        raise RunNotFound(run_id)
    return row


def run_facets(conn: Connection, run_id: str) -> dict[str, Any]:
    """The run's facets (those of the run `get_run` answers with)."""
    facets: dict[str, Any] = get_run(conn, run_id)["facets"]
    return facets


def run_job_facets(conn: Connection, run_id: str) -> dict[str, Any]:
    """The job facets the run's events carried, in event time order, a later facet replacing an
    earlier one of its name (`_deleted: true` removes it)."""
    owner = get_run(conn, run_id)["jobVersion"]
    return job_facets_sent(conn, run_id, owner["namespace"], owner["name"])


def job_facets_sent(conn: Connection, run_id: str, ns: str, name: str) -> dict[str, Any]:
    """`run_job_facets` of the run of job `ns`/`name` with this id."""
    facets: dict[str, Any] = {}
    payloads = conn.execute(
        select(event.c.payload)
        .where(
            event.c.run_id == run_id,
            event.c.namespace == ns,
            event.c.job_name == name,
            event.c.quarantined.is_(False),
        )
        .order_by(event.c.event_time, event.c.id)
    ).scalars()
    for payload in payloads:
        sent = json.loads(payload).get("job", {}).get("facets") or {}
        for name, value in sent.items() if isinstance(sent, dict) else ():
            if isinstance(value, dict) and value.get("_deleted") is True:
                facets.pop(name, None)
            else:
                facets[name] = value
    return facets


# --- datasets --------------------------------------------------------------------------------------


def _dataset_where(ns: str) -> ColumnElement[bool]:
    return or_(dataset.c.namespace_key == namespace_key(ns), dataset.c.namespace == ns)


def list_datasets(conn: Connection, ns: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    query = select(dataset).where(_dataset_where(ns), dataset.c.deleted_at.is_(None), dataset.c.alias_of.is_(None))
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    if total == 0 and conn.execute(select(dataset.c.id).where(_dataset_where(ns)).limit(1)).first() is None:
        # no dataset, not even a hidden one or another's alias: NamespaceNotFound unless known otherwise
        find_namespace(conn, ns)
    rows = conn.execute(query.order_by(dataset.c.name).limit(limit).offset(offset)).all()
    return datasets_view(conn, rows), total


def find_dataset(conn: Connection, ns: str, name: str) -> AnyRow | None:
    """The dataset row NS:NAME names: its own, or the one it is an alias of; None when unknown or hidden."""
    return conn.execute(
        select(dataset).where(dataset.c.id.in_(holder_of(ns, name)), dataset.c.deleted_at.is_(None))
    ).first()


def get_dataset(conn: Connection, ns: str, name: str) -> dict[str, Any]:
    row = find_dataset(conn, ns, name)
    if row is None:
        raise DatasetNotFound(ns, name)
    return datasets_view(conn, [row])[0]


def _fields(schema_fields: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": field.get("name"),
            "type": field.get("type"),
            "tags": _tag_names(field.get("tags")),
            "description": field.get("description"),
        }
        for field in schema_fields
        if isinstance(field, dict)
    ]


def visible_column_lineage(*columns: Any) -> Select[Any]:
    """Column lineage between datasets neither of which is hidden, stated by no job or by one not
    hidden (a hidden job bridges no columns either), with `columns` of the input dataset (`source`)."""
    source, target, stater = dataset.alias("source"), dataset.alias("target"), job.alias("stater")
    return (
        select(column_lineage, *(source.c[name] for name in columns))
        .join(source, source.c.id == column_lineage.c.input_dataset_id)
        .join(target, target.c.id == column_lineage.c.output_dataset_id)
        .outerjoin(stater, stater.c.id == column_lineage.c.job_id)
        .where(source.c.deleted_at.is_(None), target.c.deleted_at.is_(None), stater.c.deleted_at.is_(None))
    )


def _column_lineage_of(conn: Connection, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each dataset's column lineage in Marquez's shape: per output field, the input fields it comes
    from, each once, with its first way (DIRECT before INDIRECT); none when the producer named none."""
    found: dict[int, dict[str, list[dict[str, Any]]]] = {i: {} for i in ids}
    seen: set[tuple[int, str, str, str, str]] = set()
    linked = visible_column_lineage("namespace", "name")
    source = linked.selected_columns
    for r in conn.execute(
        linked.where(
            among(conn.dialect.name, column_lineage.c.output_dataset_id, ids), column_lineage.c.input_field != ""
        ).order_by(
            column_lineage.c.output_field,
            source.namespace,
            source.name,
            column_lineage.c.input_field,
            column_lineage.c.type != "DIRECT",
            column_lineage.c.type,
            column_lineage.c.subtype,
        )
    ):
        pair = (r.output_dataset_id, r.output_field, r.namespace, r.name, r.input_field)
        if pair in seen:
            continue
        seen.add(pair)
        found[r.output_dataset_id].setdefault(r.output_field, []).append(
            {
                "namespace": r.namespace,
                "dataset": r.name,
                "field": r.input_field,
                "transformationDescription": r.description,
                "transformationType": r.type or None,
            }
        )
    return {
        i: [
            {
                "name": field,
                "inputFields": inputs,
                "transformationDescription": inputs[0]["transformationDescription"],
                "transformationType": inputs[0]["transformationType"],
            }
            for field, inputs in by_field.items()
        ]
        for i, by_field in found.items()
    }


# How many of a dataset's newest completed writes its usual write interval is the median of.
CADENCE_WRITES = 10


def _writes(conn: Connection, ids: list[int]) -> dict[int, tuple[datetime, int | None]]:
    """When a completed run last wrote each dataset (Marquez's `lastModifiedAt`), and the median
    seconds between its newest writes (None with fewer than 3 writes: too few to call usual).

    Each dataset's newest completed writes are the last entries of the index of write ends
    (store/tables.py `WRITE_ENDED`), read per dataset: ranking every run that wrote a dataset cost
    time in proportion to its history (57-62 ms for one written 100,000 times; bench/runs.py)."""
    if not ids:
        return {}
    ends = first_rows_of_each(
        conn.dialect.name,
        dataset.c.id,
        ids,
        run_dataset,
        "dataset_id",
        lambda r: (r.c.ended_at.desc(),),
        lambda r: r.c.ended_at.is_not(None),
        CADENCE_WRITES + 1,
    )
    times: dict[int, list[datetime]] = {}
    for write in conn.execute(ends):
        times.setdefault(write.dataset_id, []).append(write.ended_at)
    found_writes: dict[int, tuple[datetime, int | None]] = {}
    for dataset_id, found_ends in times.items():
        gaps = [(a - b).total_seconds() for a, b in pairwise(found_ends)]
        found_writes[dataset_id] = (found_ends[0], round(statistics.median(gaps)) if len(gaps) >= 2 else None)
    return found_writes


def _schema_changes(conn: Connection, versions: dict[int, _Versions]) -> dict[int, datetime]:
    """When each dataset's fields last changed: the first time a schema version with other fields
    than the version before it was seen (datasets whose fields never changed are left out)."""
    changed = [dataset_id for dataset_id, v in versions.items() if len(v.digests) > 1]
    found: dict[int, datetime] = {}
    if not changed:
        return found
    before: dict[int, str] = {}
    for v in conn.execute(
        select(dataset_version.c.dataset_id, dataset_version.c.fields, dataset_version.c.first_seen_at)
        .where(among(conn.dialect.name, dataset_version.c.dataset_id, changed))
        .order_by(dataset_version.c.first_seen_at, dataset_version.c.id)
    ):
        if v.dataset_id in before and before[v.dataset_id] != v.fields:
            found[v.dataset_id] = v.first_seen_at
        before[v.dataset_id] = v.fields
    return found


def datasets_view(conn: Connection, rows: Sequence[AnyRow]) -> list[dict[str, Any]]:
    ids = [r.id for r in rows]
    facets = facets_of(conn, "dataset", ids)
    aliases: dict[int, list[dict[str, Any]]] = {r.id: [] for r in rows}
    for a in conn.execute(
        select(dataset.c.alias_of, dataset.c.namespace, dataset.c.name)
        .where(among(conn.dialect.name, dataset.c.alias_of, ids))
        .order_by(dataset.c.namespace, dataset.c.name)
    ):
        aliases[a.alias_of].append({"namespace": a.namespace, "name": a.name})
    sources = matches_of(conn, ids)
    versions = _versions_of(conn, among(conn.dialect.name, dataset_version.c.dataset_id, ids)) if ids else {}
    columns = _column_lineage_of(conn, ids)
    writes = _writes(conn, ids)
    schema_changed = _schema_changes(conn, versions)
    quality = quality_of(conn, facets)
    views = []
    for r in rows:
        f = facets[r.id]
        newest = versions[r.id].current if r.id in versions else None
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
                "sourceName": source_name(f, r.namespace),
                "fields": _fields(f.get("schema", {}).get("fields") or []),
                "tags": facet_tags(f),
                "lastModifiedAt": iso(writes[r.id][0]) if r.id in writes else None,
                "writeIntervalSeconds": writes[r.id][1] if r.id in writes else None,
                "schemaChangedAt": iso(schema_changed.get(r.id)),
                "lastLifecycleState": f.get("lifecycleStateChange", {}).get("lifecycleStateChange"),
                "description": f.get("documentation", {}).get("description"),
                "currentVersion": version_uuid(newest) if newest else None,
                "columnLineage": columns[r.id],
                "facets": f,
                "aliases": aliases[r.id],  # other names of this dataset, from `symlinks` facets
                "dataSource": sources.get(r.id),  # the Airflow Connection it lives in (ol_catalog_reconcile)
                "quality": quality[r.id],  # the newest test results and metrics sent on it
                "owners": reading.owners(f),
                "catalog": reading.catalog(f),
                "hierarchy": reading.hierarchy(f),
                "storage": reading.storage(f),
                "datasetType": reading.kind(f),
                "deleted": False,
            }
        )
    return with_tags(conn, "dataset", rows, views)


def source_name(facets: dict[str, Any], ns: str) -> str:
    """The source a dataset lives in, as Marquez names it: the `dataSource` facet's name, else the namespace."""
    name = facets.get("dataSource", {}).get("name")
    return name if isinstance(name, str) and name else ns


def dataset_versions(conn: Connection, ns: str, name: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    ds = find_dataset(conn, ns, name)
    if ds is None:
        raise DatasetNotFound(ns, name)
    where = dataset_version.c.dataset_id == ds.id
    total = conn.execute(select(func.count()).select_from(dataset_version).where(where)).scalar_one()
    rows = conn.execute(
        select(dataset_version)
        .where(where)
        .order_by(dataset_version.c.first_seen_at.desc(), dataset_version.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    facets = facets_of(conn, "dataset", [ds.id])[ds.id]
    runs = _runs_by_id(conn, {v.first_run_id for v in rows if v.first_run_id})
    return [_version_view(ds, facets, v, runs) for v in rows], total


def _runs_by_id(conn: Connection, run_ids: Collection[str]) -> dict[str, dict[str, Any]]:
    """The runs `get_run` answers with for these ids (of jobs sharing an id, the run stored first),
    read in one statement and built together; those retention deleted are missing."""
    if not run_ids:
        return {}
    shown = (
        select(run)
        .join(job, job.c.id == run.c.job_id)
        .where(run.c.run_id.in_(sorted(run_ids)), job.c.deleted_at.is_(None))
        .order_by(run.c.placeholder, run.c.id)
    )
    first: dict[str, AnyRow] = {}
    for row in conn.execute(shown):
        first.setdefault(row.run_id, row)
    rows = list(first.values())
    return {row.run_id: view for row, view in zip(rows, runs_view(conn, rows), strict=True)}


def _version_view(ds: AnyRow, facets: dict[str, Any], v: AnyRow, runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A schema version in Marquez's shape. The catalog keeps each version's fields (and the producer's
    `version` facet); the dataset's other facets are kept as they are now, not per version."""
    version = version_uuid(v.digest)
    return {
        "id": {"namespace": ds.namespace, "name": ds.name, "version": version},
        "type": "DB_TABLE",
        "name": ds.name,
        "physicalName": ds.name,
        "createdAt": iso(v.first_seen_at),
        "version": version,
        "namespace": ds.namespace,
        "sourceName": source_name(facets, ds.namespace),
        "fields": _fields(json.loads(v.fields)),
        "tags": [],
        "lifecycleState": None,
        "description": None,
        "createdByRun": runs.get(v.first_run_id) if v.first_run_id else None,  # None: none, or retention deleted it
        "facets": {},
        "datasetVersion": v.version,  # the producer's own version (the `version` facet), when sent
        "lastSeenAt": iso(v.last_seen_at),
    }


def get_dataset_version(conn: Connection, ns: str, name: str, version: str) -> dict[str, Any]:
    """One version, by its UUID, by its digest, or by the producer's own version."""
    ds = find_dataset(conn, ns, name)
    if ds is None:
        raise DatasetNotFound(ns, name)
    rows = conn.execute(select(dataset_version).where(dataset_version.c.dataset_id == ds.id)).all()
    folded = version.lower()  # a UUID or digest in any case; the producer's own version as sent
    found = next(
        (v for v in rows if folded in (version_uuid(v.digest), v.digest.lower()) or version == v.version),
        None,
    )
    if found is None:
        raise DatasetVersionNotFound(ns, name, version)
    runs = _runs_by_id(conn, [found.first_run_id] if found.first_run_id else [])
    return _version_view(ds, facets_of(conn, "dataset", [ds.id])[ds.id], found, runs)


# --- sources ---------------------------------------------------------------------------------------


def _all_sources(conn: Connection) -> dict[str, dict[str, Any]]:
    """The sources datasets live in, as Marquez lists them: each `dataSource` facet's name (else the
    dataset's namespace), with its URI as the connection URL and when datasets in it were first and last seen."""
    data_source = and_(facet.c.entity == "dataset", facet.c.entity_id == dataset.c.id, facet.c.name == "dataSource")
    found: dict[str, dict[str, Any]] = {}
    for r in conn.execute(
        select(dataset.c.namespace, dataset.c.first_seen_at, dataset.c.last_seen_at, facet.c.value)
        .outerjoin(facet, data_source)
        .where(dataset.c.deleted_at.is_(None), dataset.c.alias_of.is_(None))
    ):
        value = json.loads(r.value) if r.value else {}
        name = source_name({"dataSource": value}, r.namespace)
        uri = value.get("uri")
        url: str = uri if isinstance(uri, str) and uri else r.namespace
        entry = found.setdefault(
            name,
            {
                "type": (url.split(":", 1)[0] if ":" in url else url).upper(),
                "name": name,
                "createdAt": r.first_seen_at,
                "updatedAt": r.last_seen_at,
                "connectionUrl": url,
                "description": None,
            },
        )
        entry["createdAt"] = min(entry["createdAt"], r.first_seen_at)
        entry["updatedAt"] = max(entry["updatedAt"], r.last_seen_at)
    return {
        name: {**e, "createdAt": iso(e["createdAt"]), "updatedAt": iso(e["updatedAt"])} for name, e in found.items()
    }


def list_sources(conn: Connection, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    found = _all_sources(conn)
    return [found[name] for name in sorted(found)[offset : offset + limit]], len(found)


def get_source(conn: Connection, name: str) -> dict[str, Any]:
    found = _all_sources(conn).get(name)
    if found is None:
        raise SourceNotFound(name)
    return found


# --- tags ------------------------------------------------------------------------------------------


def _tag_names(tags: Any) -> list[str]:
    names = (facet_tag_name(t) for t in tags if isinstance(t, dict)) if isinstance(tags, list) else ()
    return sorted({n for n in names if n is not None})


def facet_tags(facets: dict[str, Any]) -> list[str]:
    """The tag names a job's or dataset's `tags` facet gives it."""
    return _tag_names(facets.get("tags", {}).get("tags"))


# --- search ----------------------------------------------------------------------------------------


SEARCH_SORTS = ("name", "namespace", "type", "updatedAt")


def _contains(column: ColumnElement[str], text: str, after: str = "") -> ColumnElement[bool]:
    """`column` holds `text`, somewhere after `after` when given (a search key holds folded text: pass it folded)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{after}%{escaped}%" if after else f"%{escaped}%", escape="\\")


def _matching(table: Table, kind: str, q: str, folded: str, within: Sequence[ColumnElement[bool]]) -> AnySelect:
    """Datasets or jobs whose name (not namespace, as in Marquez) contains `q`."""
    shown = [table.c.deleted_at.is_(None), *within] + ([table.c.alias_of.is_(None)] if table is dataset else [])
    if folded:
        # the search key is namespace, separator, name, each folded (the separator is in neither)
        shown.append(_contains(table.c.search_key, folded, after=KEY_SEPARATOR))
    elif q:  # only invisible characters: the names that hold them
        shown.append(_contains(table.c.name, q))
    return select(
        literal(kind.upper()).label("type"), table.c.namespace, table.c.name, table.c.last_seen_at.label("updated")
    ).where(*shown)


def _within(table: Table, ns: str | None, before: datetime | None, after: datetime | None) -> list[ColumnElement[bool]]:
    """Marquez's search bounds: one namespace, last updated before or after a time."""
    where = []
    if ns is not None:  # a dataset namespace in any spelling, as the dataset routes take it
        where.append(_dataset_where(ns) if table is dataset else table.c.namespace == ns)
    if before is not None:
        where.append(table.c.last_seen_at < before)
    if after is not None:
        where.append(table.c.last_seen_at > after)
    return where


_SCHEMA_FACET = and_(facet.c.entity == "dataset", facet.c.entity_id == dataset.c.id, facet.c.name == "schema")


def _search_fields(
    conn: Connection,
    q: str,
    folded: str,
    limit: int,
    offset: int,
    sort: str,
    descending: bool,
    within: Sequence[ColumnElement[bool]],
) -> tuple[list[dict[str, Any]], int]:
    """Columns whose name contains `q` (folded, as names are): from each dataset's newest schema
    facet, by dataset (in the order `sort` asks) and by name within one.

    Each matching facet's search key (its fields' folded names) counts its matches; only the facets
    of the page's datasets are read whole for their fields' own names. Reading every matching
    facet took seconds a keystroke in a catalog of a million columns.
    """
    matches = _contains(facet.c.search_key, folded) if folded else _contains(facet.c.value, q)
    by = {
        "namespace": (dataset.c.namespace, dataset.c.name),
        "updatedAt": (dataset.c.last_seen_at, dataset.c.name, dataset.c.namespace),
    }.get(sort, (dataset.c.name, dataset.c.namespace))
    rows = conn.execute(
        select(dataset.c.id, facet.c.search_key)
        .join(facet, _SCHEMA_FACET)
        .where(dataset.c.deleted_at.is_(None), dataset.c.alias_of.is_(None), matches, *within)
        .order_by(*(column.desc() if descending else column.asc() for column in by))
    ).all()

    def found_in(name: str) -> bool:
        return folded in fold(name) if folded else q in name

    def counted(key: str | None) -> int | None:
        """How many fields match, from the search key (its fields' folded names, in order); None
        where it cannot tell: a q of invisible characters alone (no folded name holds them), a
        key of one name folded to nothing or of none, a facet without a key."""
        if key is None or (q and not folded) or (key == "" and not folded):
            return None
        # A match never spans the separator, which no folded text holds: none, or one, in the whole
        # key is as many names holding q (most keys, at C's speed); more may be fewer names.
        if folded and (found := key.count(folded)) < 2:
            return found
        return sum(folded in name for name in key.split(KEY_SEPARATOR))

    counts = [(r.id, counted(r.search_key)) for r in rows]
    whole = _schema_fields(conn, [i for i, count in counts if count is None])
    page: list[int] = []
    before = total = 0  # matches of the datasets before the page's; of all
    for dataset_id, count in counts:
        if count is None:  # (a dataset whose schema went between the two statements matches nothing)
            count = len([n for n in whole[dataset_id][1] if found_in(n)]) if dataset_id in whole else 0
        if total + count <= offset:
            before += count
        elif total < offset + limit:
            page.append(dataset_id)
        total += count
    read = {**whole, **_schema_fields(conn, [i for i in page if i not in whole])}
    found = []
    for dataset_id in page:
        if dataset_id not in read:
            # On PostgreSQL each statement reads what was committed when it began: a dataset made an
            # alias in between has lost its schema (ingest/symlinks): nothing of it to show.
            continue
        (namespace, name, updated), fields = read[dataset_id]
        for field in sorted((n for n in fields if found_in(n)), reverse=descending):
            found.append(
                {
                    "type": "FIELD",
                    "name": f"{name}.{field}",
                    "namespace": namespace,
                    "dataset": name,
                    "field": field,
                    "updatedAt": iso(updated),
                    "nodeId": field_node_id(namespace, name, field),
                }
            )
    return found[offset - before : offset - before + limit], total


def _schema_fields(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[tuple[str, str, datetime], list[str]]]:
    """Each dataset's (namespace, name, last seen) and the names of its newest schema facet's fields."""
    if not ids:
        return {}
    query = select(dataset.c.id, dataset.c.namespace, dataset.c.name, dataset.c.last_seen_at, facet.c.value)
    read = {}
    for r in conn.execute(query.join(facet, _SCHEMA_FACET).where(among(conn.dialect.name, dataset.c.id, ids))):
        fields = json.loads(r.value).get("fields") if r.value else None
        names = (
            [f["name"] for f in fields if isinstance(f, dict) and isinstance(f.get("name"), str)]
            if isinstance(fields, list)
            else []
        )
        read[r.id] = ((r.namespace, r.name, r.last_seen_at), names)
    return read


def search(
    conn: Connection,
    q: str,
    kind: str | None,
    limit: int,
    offset: int = 0,
    sort: str = "name",
    descending: bool = False,
    ns: str | None = None,
    before: datetime | None = None,
    after: datetime | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Datasets and jobs whose name contains `q`; one page, and how many match. Like Marquez, only
    names are matched, optionally within one namespace and updated before or after a time.

    Both sides are folded (events/naming.fold): case, Unicode normal forms and invisible
    characters do not count, so look-alike names are found together. A `q` made only of
    invisible characters finds the names that hold it. With kind "field": the columns whose
    name contains `q`.
    """
    folded = fold(q)
    if kind == "field":
        return _search_fields(conn, q, folded, limit, offset, sort, descending, _within(dataset, ns, before, after))
    parts = [
        _matching(table, name, q, folded, _within(table, ns, before, after))
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


def _hour_of(conn: Connection, column: ColumnElement[datetime]) -> ColumnElement[str]:
    """`YYYY-MM-DDTHH:00` of a timestamp, in SQL (each backend says it its own way)."""
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:00')
    return func.strftime("%Y-%m-%dT%H:00", column)


def stats(conn: Connection, days: int) -> dict[str, Any]:
    """Counts for the overview: events, jobs, datasets, runs by state, events per day and per namespace."""
    since = utcnow().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days - 1)
    # Events are counted from the log's tally (store/event_tally.py), never the log itself.
    arrived = (event_tally.c.hour >= since, event_tally.c.quarantined.is_(False))
    day = func.date(event_tally.c.hour)
    per_day = conn.execute(
        select(day.label("day"), func.sum(event_tally.c.events)).where(*arrived).group_by(day).order_by(day)
    ).all()
    runs_by_state = conn.execute(select(run.c.state, func.count()).where(*_listed_runs()).group_by(run.c.state)).all()
    hour = _hour_of(conn, event_tally.c.hour)
    per_hour = conn.execute(
        select(hour.label("hour"), func.sum(event_tally.c.events))
        .where(event_tally.c.hour >= hour_of(utcnow() - timedelta(hours=48)), event_tally.c.quarantined.is_(False))
        .group_by(hour)
        .order_by(hour)
    ).all()
    events, quarantined = event_totals(conn)
    by_state: Counter[str] = Counter()  # START and RUNNING both leave a run RUNNING
    for state, count in runs_by_state:
        by_state[RunState.of(state).value] += count
    return {
        "events": events,
        "quarantinedEvents": quarantined,
        # as the job list counts them: a parent known only through its children is listed too
        "jobs": conn.execute(select(func.count()).select_from(job).where(job.c.deleted_at.is_(None))).scalar_one(),
        "datasets": conn.execute(
            select(func.count())
            .select_from(dataset)
            .where(dataset.c.deleted_at.is_(None), dataset.c.alias_of.is_(None))
        ).scalar_one(),
        "runsByState": dict(by_state),
        "eventsPerDay": [{"day": str(d)[:10], "events": int(n)} for d, n in per_day if n],
        "eventsPerHour": [{"hour": h, "events": int(n)} for h, n in per_hour if n],  # the last 48 hours, UTC
        "refusedByReason": refusals_by_reason(conn, since),
        "facetWarnings": facet_warnings(conn, since),
        "tests": test_failures(conn, since),
        "eventsPerNamespace": _events_per_namespace(conn),
    }


def _events_per_namespace(conn: Connection) -> list[dict[str, Any]]:
    """What the log holds of each registered namespace (as `events` counts the whole log), most first;
    a namespace's own `eventCount` counts what it received, whatever retention deleted since."""
    held = dict(
        conn.execute(
            select(event_tally.c.namespace, func.sum(event_tally.c.events))
            .where(event_tally.c.quarantined.is_(False))
            .group_by(event_tally.c.namespace)
        ).all()
    )
    live = conn.execute(select(namespace.c.name, namespace.c.last_event_at).where(namespace.c.deleted_at.is_(None)))
    found = [{"namespace": name, "events": int(held.get(name) or 0), "lastEventAt": iso(last)} for name, last in live]
    return sorted(found, key=lambda n: (-n["events"], n["namespace"]))

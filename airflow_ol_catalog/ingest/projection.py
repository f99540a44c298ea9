"""Projecting events into the catalog, in the transaction that stores them.

Every rule is a set-based upsert whose result does not depend on the order events arrive in:
first/last seen are min/max of event times, a run's state is its highest-ranked event (START <
RUNNING < COMPLETE/FAIL/ABORT, then the later time, then the state's name), a facet keeps the
value of its newest event (ties broken by event digest). Rows for one key are merged in Python
first, because one INSERT ... ON CONFLICT may not touch a row twice.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple, TypeAlias, TypeVar

import msgspec
from sqlalchemy import (
    BigInteger,
    Connection,
    Insert,
    Integer,
    Text,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    null,
    select,
    true,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from airflow_ol_catalog.events import facet_reading as reading
from airflow_ol_catalog.events.flows import (
    DATASET,
    JOB,
    Dependency,
    Entity,
    Flow,
    Transformation,
    column_lineage_flows,
    dataset_facet_flows,
    job_dependencies,
    job_facet_flows,
    named_in,
    usable_names,
)
from airflow_ol_catalog.events.model import JOB_EVENT, RUN_EVENT, DatasetRef, OpenLineageEvent
from airflow_ol_catalog.events.naming import fields_search_key, namespace_key, search_key
from airflow_ol_catalog.events.quality import ASSERTION_FACETS, QUALITY_CHECK, quality_check_name
from airflow_ol_catalog.events.run_states import EventType
from airflow_ol_catalog.ingest.asset_triggers import queue_writes, writes_queued
from airflow_ol_catalog.ingest.scope import Scope
from airflow_ol_catalog.ingest.symlinks import record_links, symlinks_of
from airflow_ol_catalog.store.sql import (
    by_id,
    earliest,
    execute,
    execute_rows,
    in_list,
    insert_and_read,
    insert_for,
    latest,
    list_value,
    set_by_id,
    write,
    write_rows,
)
from airflow_ol_catalog.store.tables import (
    column_lineage,
    dataset,
    dataset_version,
    edge,
    facet,
    job,
    run,
    run_dataset,
)
from airflow_ol_catalog.store.tables import flow as flow_table
from airflow_ol_catalog.store.view_stamps import ONE, bump_datasets, bump_jobs_using, lock_datasets, lock_jobs

_NEVER = datetime.min.replace(tzinfo=timezone.utc)
# Processing types of jobs that run without end (JobTypeJobFacet 2-0-4): a running run confirms its edges.
CONTINUOUS = frozenset({"STREAMING", "SERVICE"})
_encode = msgspec.json.Encoder(order="sorted").encode

Values: TypeAlias = dict[str, Any]  # a row to write, by column (or a JSON object of an event)
JobKey: TypeAlias = tuple[str, str]  # (namespace, name)
RunKey: TypeAlias = tuple[int, str]  # (job id, run id)
LinkKey: TypeAlias = tuple[int, int, str]  # (job id or run pk, dataset id, direction)
_Key = TypeVar("_Key")


@dataclass(frozen=True)
class Projected:
    """An event to project, with the digest of its canonical JSON (the tie-breaker for facets).

    `scope`: what its sender may change (ingest/scope.py; None: everything). `link_parent`:
    whether its parent facet may link and create the parent job (event_log.links_parent);
    `job_namespaces`, where its `lineage` facet may (event_log.links_parent too).
    """

    event: OpenLineageEvent
    digest: str
    scope: Scope | None = None
    link_parent: bool = True
    job_namespaces: frozenset[str] = frozenset()  # besides its own, where its `lineage` facet may name jobs
    read: tuple[Stated | None] | None = None  # (stated_lineage(event),) when the caller read it already

    @functools.cached_property
    def lineage(self) -> Lineage:
        """What its facets say flows, read once (several steps need it)."""
        stated = self.read[0] if self.read is not None else stated_lineage(self.event)
        return _lineage_of(self.event, stated, self.job_namespaces)

    @functools.cached_property
    def own_job(self) -> Entity | None:
        """The event's job (and run), as flows name it."""
        return _own_job(self.event)

    @functools.cached_property
    def parent(self) -> tuple[str, str, str] | None:
        """(runId, job namespace, job name) of the parent facet, when it may be projected."""
        return _parent(self.event) if self.link_parent else None

    @functools.cached_property
    def root(self) -> tuple[str, str, str] | None:
        """(runId, job namespace, job name) of `root` in the parent facet, when it names another run
        than the parent, in the parent's namespace (the one the sender may link)."""
        parent = self.parent
        if parent is None:
            return None
        named = reading.root(self.event.payload["run"]["facets"])
        if named is None:
            return None
        found = (named["runId"], named["job"]["namespace"], named["job"]["name"])
        own = (self.event.run_id, self.event.job_namespace, self.event.job_name)
        return found if found not in (parent, own) and found[1] == parent[1] and usable_names(*found) else None

    def describes(self, ref: DatasetRef) -> bool:
        """Whether the event may change this dataset: its facets, versions and identity."""
        return self.scope is None or self.scope.allows_dataset(ref.namespace)


def _merge_min_max(
    rows: dict[_Key, Values], key: _Key, values: Values, *, first: str = "first_seen_at", last: str = "last_seen_at"
) -> Values:
    row = rows.get(key)
    if row is None:
        rows[key] = dict(values)
        return rows[key]
    if values[first] is not None and (row[first] is None or values[first] < row[first]):
        row[first] = values[first]
    if values[last] is not None and (row[last] is None or values[last] > row[last]):
        row[last] = values[last]
    return row


def _parent(ev: OpenLineageEvent) -> tuple[str, str, str] | None:
    """(runId, job namespace, job name) of the ParentRunFacet, validated by events/validate."""
    facet_ = ev.payload.get("run", {}).get("facets", {}) if ev.kind == RUN_EVENT else {}
    parent = facet_.get("parent") if isinstance(facet_, dict) else None
    if not isinstance(parent, dict):
        return None
    return parent["run"]["runId"], parent["job"]["namespace"], parent["job"]["name"]


def parent_namespace(ev: OpenLineageEvent) -> str | None:
    parent = _parent(ev)
    return parent[1] if parent else None


def _usable(facets: Any, place: str, ev: OpenLineageEvent) -> dict[str, Any]:
    """The facets, less those the catalog reads whole that broke their schema (events/validate.py)."""
    if not isinstance(facets, dict):
        return {}
    if not ev.unused_facets:
        return facets
    return {name: value for name, value in facets.items() if f"{place}.{name}" not in ev.unused_facets}


def _job_facets(ev: OpenLineageEvent) -> dict[str, Any]:
    return _usable(ev.payload.get("job", {}).get("facets"), "job", ev)


def _run_facets(ev: OpenLineageEvent) -> dict[str, Any]:
    return _usable(ev.payload.get("run", {}).get("facets") if ev.kind == RUN_EVENT else None, "run", ev)


_TERMINAL = frozenset(kind.value for kind in (EventType.COMPLETE, EventType.FAIL, EventType.ABORT))

# --- statements, built once per backend ------------------------------------------------------------


@functools.cache
def _statements(dialect: str) -> dict[str, Any]:
    ins = functools.partial(insert_for, dialect)
    s: dict[str, Any] = {}

    stmt = ins(job)
    s["job"] = stmt.on_conflict_do_update(
        index_elements=["namespace", "name"],
        set_={
            "first_seen_at": earliest(job.c.first_seen_at, stmt.excluded.first_seen_at),
            "last_seen_at": latest(job.c.last_seen_at, stmt.excluded.last_seen_at),
            "placeholder": and_(job.c.placeholder, stmt.excluded.placeholder),
            "view_stamp": job.c.view_stamp + ONE,  # every event of a job can change how it reads
        },
    ).returning(job.c.id, job.c.namespace, job.c.name, job.c.parent_job_id)
    stmt = ins(run)
    wins = tuple_(stmt.excluded.state_rank, stmt.excluded.state_time, stmt.excluded.state) > tuple_(
        run.c.state_rank, run.c.state_time, run.c.state
    )
    s["run"] = stmt.on_conflict_do_update(
        index_elements=["job_id", "run_id"],
        set_={
            "state": case((wins, stmt.excluded.state), else_=run.c.state),
            "state_rank": case((wins, stmt.excluded.state_rank), else_=run.c.state_rank),
            "state_time": case((wins, stmt.excluded.state_time), else_=run.c.state_time),
            "ended_at": case((wins, stmt.excluded.ended_at), else_=run.c.ended_at),
            "started_at": earliest(run.c.started_at, stmt.excluded.started_at),
            "placeholder": and_(run.c.placeholder, stmt.excluded.placeholder),
            "first_event_at": earliest(run.c.first_event_at, stmt.excluded.first_event_at),
            "last_event_at": latest(run.c.last_event_at, stmt.excluded.last_event_at),
            # written with the run when its parent's and root's ids are known (`_project_runs`)
            "parent_run_pk": func.coalesce(stmt.excluded.parent_run_pk, run.c.parent_run_pk),
            "root_run_pk": func.coalesce(stmt.excluded.root_run_pk, run.c.root_run_pk),
        },
    ).returning(*(run.c[c] for c in _RunIds._fields))
    stmt = ins(dataset)
    s["dataset"] = stmt.on_conflict_do_update(
        index_elements=["namespace_key", "name"], set_=_dataset_merge(stmt)
    ).returning(dataset.c.id, dataset.c.namespace_key, dataset.c.name, dataset.c.alias_of)
    s["job_parent"] = set_by_id(dialect, job.c.id, job.c.parent_job_id)
    s["run_parent"] = set_by_id(dialect, run.c.id, run.c.parent_run_pk)
    s["run_root"] = set_by_id(dialect, run.c.id, run.c.root_run_pk)
    # The runs' jobs are known to the caller: joining the run table here made PostgreSQL hash
    # all of it for a handful of runs.
    s["links_of_runs"] = select(run_dataset.c.run_pk, run_dataset.c.dataset_id, run_dataset.c.direction).where(
        in_list(dialect, run_dataset.c.run_pk, "runs")
    )
    s["alias_seen"] = (
        update(dataset)
        .where(dataset.c.id == bindparam("p_id"))
        .values(
            first_seen_at=earliest(dataset.c.first_seen_at, bindparam("p_first", type_=dataset.c.first_seen_at.type)),
            last_seen_at=latest(dataset.c.last_seen_at, bindparam("p_last", type_=dataset.c.last_seen_at.type)),
            view_stamp=dataset.c.view_stamp + ONE,  # what its aliases bring shows on it
        )
    )
    s["run_dataset"] = (
        ins(run_dataset)
        .on_conflict_do_nothing(index_elements=["run_pk", "dataset_id", "direction"])
        .returning(run_dataset.c.run_pk, run_dataset.c.dataset_id, run_dataset.c.direction)
    )
    # The end of writes linked before their run ended here (new links are inserted with theirs),
    # from the run as committed with this transaction: the run's row is locked by its upsert until
    # then, so no other writer changes it in between.
    write_end = (
        select(case((run.c.state == EventType.COMPLETE.value, run.c.ended_at), else_=null()))
        .where(run.c.id == run_dataset.c.run_pk)
        .scalar_subquery()
    )
    s["write_ends"] = (
        update(run_dataset)
        .where(
            in_list(dialect, run_dataset.c.run_pk, "runs"),
            run_dataset.c.direction == "out",
            run_dataset.c.ended_at.is_distinct_from(write_end),
        )
        .values(ended_at=write_end)
    )
    stmt = ins(edge)
    newer_run = tuple_(stmt.excluded.last_seen_at, stmt.excluded.last_run_id) > tuple_(
        edge.c.last_seen_at, edge.c.last_run_id
    )
    s["edge"] = stmt.on_conflict_do_update(
        index_elements=["job_id", "dataset_id", "direction"],
        set_={
            "first_seen_at": earliest(edge.c.first_seen_at, stmt.excluded.first_seen_at),
            "last_seen_at": latest(edge.c.last_seen_at, stmt.excluded.last_seen_at),
            "last_run_id": case(
                (stmt.excluded.last_run_id.is_(None), edge.c.last_run_id),
                (edge.c.last_run_id.is_(None), stmt.excluded.last_run_id),
                (newer_run, stmt.excluded.last_run_id),
                else_=edge.c.last_run_id,
            ),
            "run_count": edge.c.run_count + stmt.excluded.run_count,
            "declared": edge.c.declared | stmt.excluded.declared,
            "confirmed": edge.c.confirmed | stmt.excluded.confirmed,
        },
    ).returning(edge.c.job_id)
    s["confirm"] = (
        update(edge)
        .where(
            edge.c.job_id == bindparam("p_job"),
            edge.c.dataset_id == bindparam("p_dataset"),
            edge.c.direction == bindparam("p_dir"),
            edge.c.confirmed.is_(False),
        )
        .values(confirmed=true())
    )
    stmt = ins(facet)
    newer = tuple_(stmt.excluded.event_time, stmt.excluded.event_digest) > tuple_(
        facet.c.event_time, facet.c.event_digest
    )
    s["facet"] = stmt.on_conflict_do_update(
        index_elements=["entity", "entity_id", "name"],
        set_={
            "value": stmt.excluded.value,
            "event_time": stmt.excluded.event_time,
            "event_digest": stmt.excluded.event_digest,
            "search_key": stmt.excluded.search_key,
        },
        where=newer,
    ).returning(facet.c.entity_id)
    stmt = ins(dataset_version)
    first_write = tuple_(stmt.excluded.first_seen_at, stmt.excluded.first_run_id) < tuple_(
        dataset_version.c.first_seen_at, dataset_version.c.first_run_id
    )
    s["version"] = stmt.on_conflict_do_update(
        index_elements=["dataset_id", "digest"],
        set_={
            "first_seen_at": earliest(dataset_version.c.first_seen_at, stmt.excluded.first_seen_at),
            "last_seen_at": latest(dataset_version.c.last_seen_at, stmt.excluded.last_seen_at),
            "first_run_id": case((first_write, stmt.excluded.first_run_id), else_=dataset_version.c.first_run_id),
        },
    ).returning(dataset_version.c.dataset_id, dataset_version.c.first_seen_at, dataset_version.c.first_run_id)
    stmt = ins(column_lineage)
    newer_cl = stmt.excluded.last_seen_at > column_lineage.c.last_seen_at
    s["column_lineage"] = stmt.on_conflict_do_update(
        index_elements=["output_dataset_id", "output_field", "input_dataset_id", "input_field", "type", "subtype"],
        set_={
            "first_seen_at": earliest(column_lineage.c.first_seen_at, stmt.excluded.first_seen_at),
            "last_seen_at": latest(column_lineage.c.last_seen_at, stmt.excluded.last_seen_at),
            "description": case((newer_cl, stmt.excluded.description), else_=column_lineage.c.description),
            "masking": case((newer_cl, stmt.excluded.masking), else_=column_lineage.c.masking),
            "job_id": case((newer_cl, stmt.excluded.job_id), else_=column_lineage.c.job_id),
        },
    ).returning(column_lineage.c.output_dataset_id)
    stmt = ins(flow_table)
    newer_statement = tuple_(stmt.excluded.last_seen_at, stmt.excluded.digest) > tuple_(
        flow_table.c.last_seen_at, flow_table.c.digest
    )
    s["flow"] = stmt.on_conflict_do_update(
        index_elements=[c.name for c in flow_table.primary_key.columns],
        set_={
            "first_seen_at": earliest(flow_table.c.first_seen_at, stmt.excluded.first_seen_at),
            "declared": flow_table.c.declared | stmt.excluded.declared,
            "observed": flow_table.c.observed | stmt.excluded.observed,
            **{
                name: case((newer_statement, stmt.excluded[name]), else_=flow_table.c[name])
                for name in ("digest", "detail", "job_id", "source_run_id", "target_run_id")
            },
            "last_seen_at": latest(flow_table.c.last_seen_at, stmt.excluded.last_seen_at),
        },
    ).returning(flow_table.c.source_id)
    if dialect == "postgresql":  # look-ups without locks: `_read_ids`, and `_ids_first`'s again
        for name, (table, keys, row_type) in _KEYED.items():
            returned = row_type._fields
            wanted = (
                func.unnest(*(bindparam(f"p_{k}", type_=ARRAY(Text)) for k in keys))
                .table_valued(*keys)
                .render_derived(name="wanted")
            )
            s[f"{name}_existing"] = select(*(table.c[c] for c in returned)).join_from(
                table, wanted, and_(*(table.c[k] == wanted.c[k] for k in keys))
            )
            s[f"{name}_new"] = (
                ins(table).on_conflict_do_nothing(index_elements=list(keys)).returning(*(table.c[c] for c in returned))
            )
        # The jobs', the datasets', the parent runs' and the dataset versions' look-ups in one
        # statement (`lookup`, `_read_ids`): each row led by the number of its look-up (that of its
        # table in _KEYED, then 2 for runs, 3 for versions), the parameters named after their
        # table. All rows have one shape, padded to a run's, (id, run id, state, job id, parent
        # and root run pks, a time: a run's end, a version's first sighting); each column named for
        # its place (the union's columns take the first look-up's names, and two alike would be read
        # as one).
        lookups = []
        no_pk, no_time = null().cast(BigInteger), null().cast(dataset_version.c.first_seen_at.type)

        def shaped(kind: int, *columns: Any) -> Any:
            return select(literal_column(str(kind)).label("kind"), *(c.label(f"c{i}") for i, c in enumerate(columns)))

        for i, (name, (table, keys, row_type)) in enumerate(_KEYED.items()):
            wanted = (
                func.unnest(*(bindparam(f"p_{name}_{k}", type_=ARRAY(Text)) for k in keys))
                .table_valued(*keys)
                .render_derived(name=f"wanted_{name}")
            )
            lookups.append(
                shaped(i, *(table.c[c] for c in row_type._fields), no_pk, no_pk, no_time).join_from(
                    table, wanted, and_(*(table.c[k] == wanted.c[k] for k in keys))
                )
            )
        wanted = (
            func.unnest(*(bindparam(f"p_run_{k}", type_=ARRAY(Text)) for k in ("namespace", "name", "run_id")))
            .table_valued("namespace", "name", "run_id")
            .render_derived(name="wanted_run")
        )
        lookups.append(
            shaped(
                2, *(run.c[c] for c in ("id", "run_id", "state", "job_id", "parent_run_pk", "root_run_pk", "ended_at"))
            )
            .join_from(run, job, run.c.job_id == job.c.id)
            .join(
                wanted,
                and_(
                    job.c.namespace == wanted.c.namespace, job.c.name == wanted.c.name, run.c.run_id == wanted.c.run_id
                ),
            )
        )
        # The versions of those datasets, by the id that holds each one's lineage when read (its
        # own, or the one it is an alias of): (dataset id, digest, first run id, first seen).
        wanted = (
            func.unnest(*(bindparam(f"p_version_{k}", type_=ARRAY(Text)) for k in ("namespace_key", "name", "digest")))
            .table_valued("namespace_key", "name", "digest")
            .render_derived(name="wanted_version")
        )
        lookups.append(
            shaped(
                3,
                *(dataset_version.c[c] for c in ("dataset_id", "digest", "first_run_id")),
                no_pk,
                no_pk,
                no_pk,
                dataset_version.c.first_seen_at,
            )
            .join_from(
                dataset,
                wanted,
                and_(dataset.c.namespace_key == wanted.c.namespace_key, dataset.c.name == wanted.c.name),
            )
            .join(
                dataset_version,
                and_(
                    dataset_version.c.dataset_id == func.coalesce(dataset.c.alias_of, dataset.c.id),
                    dataset_version.c.digest == wanted.c.digest,
                ),
            )
        )
        both = union_all(*lookups).subquery("existing")
        s["ids_existing"] = select(*both.c)
        # Dataset versions, read without a lock first (`_versions_first`).
        wanted = (
            func.unnest(bindparam("p_dataset_id", type_=ARRAY(Integer)), bindparam("p_digest", type_=ARRAY(Text)))
            .table_valued("dataset_id", "digest")
            .render_derived(name="wanted")
        )
        s["version_existing"] = select(*(dataset_version.c[c] for c in _VersionSeen._fields)).join_from(
            dataset_version,
            wanted,
            and_(dataset_version.c.dataset_id == wanted.c.dataset_id, dataset_version.c.digest == wanted.c.digest),
        )
        s["version_new"] = (
            ins(dataset_version)
            .on_conflict_do_nothing(index_elements=["dataset_id", "digest"])
            .returning(*(dataset_version.c[c] for c in _VersionSeen._fields))
        )
        # The deferred update of datasets read without a lock: a name another writer made an alias
        # of another dataset meanwhile (ingest/symlinks) would keep this transaction's lineage
        # where nobody reads it, so the transaction fails as a serialization failure and runs again
        # (migration 0017's function), reading the new alias.
        stmt = ins(dataset)
        same_alias = dataset.c.alias_of.is_not_distinct_from(stmt.excluded.alias_of)
        s["dataset_touch"] = stmt.on_conflict_do_update(
            index_elements=["namespace_key", "name"],
            set_={
                **_dataset_merge(stmt),
                "alias_of": case((same_alias, dataset.c.alias_of), else_=func.ol_catalog_dataset_alias_changed()),
            },
        ).returning(dataset.c.id)
    else:  # SQLite: the runs of these jobs with these ids (`_stored_runs` keeps the pairs asked for;
        # PostgreSQL reads them in `ids_existing`)
        s["run_existing"] = select(*(run.c[c] for c in _RunIds._fields)).where(
            in_list(dialect, run.c.job_id, "p_job_ids"), in_list(dialect, run.c.run_id, "p_run_ids")
        )
    return s


def _dataset_merge(stmt: Any) -> dict[str, Any]:
    """How a dataset row takes a sighting: the earliest spelling of its namespace and first sighting,
    those of senders limited to other namespaces only while no other sender named it (`_dataset_rows`);
    the last sighting, whoever sent it."""
    sighting, stored = (stmt.excluded, dataset.c)
    earlier = tuple_(sighting.named_by_outsiders, sighting.first_seen_at, sighting.namespace) < tuple_(
        stored.named_by_outsiders, stored.first_seen_at, stored.namespace
    )
    return {
        "namespace": case((earlier, sighting.namespace), else_=stored.namespace),
        "search_key": case((earlier, sighting.search_key), else_=stored.search_key),
        "first_seen_at": case((earlier, sighting.first_seen_at), else_=stored.first_seen_at),
        "named_by_outsiders": and_(stored.named_by_outsiders, sighting.named_by_outsiders),
        "last_seen_at": latest(stored.last_seen_at, sighting.last_seen_at),
        "view_stamp": stored.view_stamp + ONE,
    }


def _upserted(conn: Connection, statement: Insert, rows: list[Values]) -> Sequence[Any]:
    """Run an upsert whose RETURNING gives every row, inserted or updated (ids without a look-up)."""
    return execute_rows(conn, statement, rows)


def _upsert(conn: Connection, statement: Insert, rows: list[Values]) -> None:
    """An upsert whose rows are not read back: on PostgreSQL it goes with the transaction's other
    such writes, in one round trip (store/sql.py `deferred_writes`). Every upsert has a RETURNING
    clause all the same: with it SQLAlchemy sends many rows per statement ("insertmanyvalues")."""
    write_rows(conn, statement, rows)


def _in_key_order(rows: dict[Any, Values]) -> list[Values]:
    """Rows to upsert, in the order of their keys, however the events listed them: every writer
    then takes the rows it shares with another in the same order, and neither waits for a row the
    other holds while holding one it wants."""
    return [rows[key] for key in sorted(rows)]


# --- the projection ------------------------------------------------------------------------------


class _JobIds(NamedTuple):
    id: int
    namespace: str
    name: str
    parent_job_id: int | None


class _DatasetIds(NamedTuple):
    id: int
    namespace_key: str
    name: str
    alias_of: int | None


# Jobs and datasets by their unique pair: (table, key columns, the row the projection reads back).
_KEYED: dict[str, tuple[Any, tuple[str, str], type[_JobIds] | type[_DatasetIds]]] = {
    "job": (job, ("namespace", "name"), _JobIds),
    "dataset": (dataset, ("namespace_key", "name"), _DatasetIds),
}


def _ids_first(
    conn: Connection,
    st: dict[str, Any],
    name: str,
    rows: dict[tuple[str, str], Values],
    read_already: list[Any] | None,
) -> tuple[Sequence[Any], list[tuple[str, str]]]:
    """Upsert jobs or datasets (`name`), each row keyed by its unique pair: their ids and links,
    and the keys of those that existed, whose update `_touch` then queues.

    On PostgreSQL an upsert locks each row it updates until the transaction ends, and many
    writers touch the same jobs and datasets: the writers of a busy job would wait for each
    other's whole transaction. So the ids come first, without a lock (rows that exist are read;
    new ones are inserted, which waits only for a writer inserting the same row), and the update
    of the rows that existed (times seen, view stamp) goes with the writes sent at the very end
    (store/sql.py `deferred_writes`), in key order, so those locks last one round trip and the
    commit. SQLite has one writer: one upsert there, and nothing to touch. `read_already`: the rows
    of these keys that exist, read by `_read_ids` (PostgreSQL), instead of reading them first here.
    """
    if conn.dialect.name != "postgresql":
        return _upserted(conn, st[name], list(rows.values())), []
    _, columns, row_type = _KEYED[name]
    keys = sorted(rows)
    found: dict[tuple[str, str], Any] = {}
    existed: list[tuple[str, str]] = []
    for _ in range(3):  # a row another writer inserted after this one looked is read again
        wanted = [k for k in keys if k not in found]
        if not wanted:
            break
        if read_already is None:
            arrays = {f"p_{column}": [k[i] for k in wanted] for i, column in enumerate(columns)}
            read = {(r[1], r[2]): row_type(*r) for r in execute(conn, st[f"{name}_existing"], arrays)}
        else:
            read = {(r[1], r[2]): row_type(*r) for r in read_already}
            read_already = None
        found.update(read)
        existed.extend(read)
        missing = [rows[k] for k in keys if k not in found]
        if not missing:
            break
        found.update(((r[1], r[2]), row_type(*r)) for r in _upserted(conn, st[f"{name}_new"], missing))
    if len(found) != len(keys):
        raise RuntimeError(f"{name} rows neither read nor inserted: {[k for k in keys if k not in found]}")
    return list(found.values()), sorted(existed)


VersionKey: TypeAlias = tuple[tuple[str, str], str]  # (dataset's key, digest of the version)


class _Named(NamedTuple):
    """What a transaction's events name, keyed as the catalog stores it: its rows to write, and
    what is looked up before any is written."""

    digests: frozenset[str]  # of the events
    jobs: dict[JobKey, Values]
    datasets: dict[tuple[str, str], Values]
    links: DatasetLinks  # that their `symlinks` facets state
    runs: set[tuple[str, str, str]]  # the parents and roots, as `_run_names`
    versions: dict[VersionKey, Values]

    @classmethod
    def of(cls, items: list[Projected]) -> _Named:
        datasets, links = _dataset_rows(items)
        return cls(
            frozenset(item.digest for item in items),
            _job_rows(items),
            datasets,
            links,
            _run_names(items),
            _version_rows(items),
        )


@dataclass
class Lookup:
    """What `project_events` reads before it writes (PostgreSQL): the jobs, datasets, parent runs
    and dataset versions that events to be projected name, as stored. The caller sends `query` with
    a statement of its own (ingest/event_log: the events' insert) and sets `rows` to its rows; the
    events it then projects may be fewer (those found stored already are not projected again)."""

    named: _Named
    query: Any
    params: dict[str, Any]
    rows: list[tuple[Any, ...]] | None = None


def lookup(conn: Connection, items: list[Projected]) -> Lookup | None:
    """The look-up `project_events` makes first, for the caller to send; None on SQLite (nothing is
    read before it is written there) or for no events."""
    if conn.dialect.name != "postgresql" or not items:
        return None
    return _lookup_of(conn, _Named.of(items))


def _lookup_of(conn: Connection, named: _Named) -> Lookup:
    params = {
        f"p_{name}_{column}": [key[i] for key in sorted(rows)]
        for name, rows in (("job", named.jobs), ("dataset", named.datasets), ("run", named.runs))
        for i, column in enumerate(("namespace", "name", "run_id") if name == "run" else _KEYED[name][1])
    }
    versions = sorted(named.versions)
    params["p_version_namespace_key"] = [key[0][0] for key in versions]
    params["p_version_name"] = [key[0][1] for key in versions]
    params["p_version_digest"] = [key[1] for key in versions]
    return Lookup(named, _statements(conn.dialect.name)["ids_existing"], params)


class _Read(NamedTuple):
    """What `_read_ids` found stored: jobs' and datasets' rows as `_ids_first` reads them, runs, and
    dataset versions with the (dataset id, digest) pairs whose look-up that was."""

    jobs: list[Any] | None
    datasets: list[Any] | None
    runs: list[_RunIds] | None
    versions: dict[tuple[int, str], _VersionSeen] | None
    versions_read: frozenset[tuple[int, str]]


_NOTHING_READ = _Read(None, None, None, None, frozenset())


def _read_ids(conn: Connection, named: _Named, looked: Lookup | None) -> _Read:
    """PostgreSQL: what `lookup` reads, for these events: the rows a caller's statement returned
    (`looked`, read for these events or more), else read here in one round trip (`_ids_first`,
    `_stored_runs` and `_versions_first` would each read their own); elsewhere nothing, and
    `_ids_first` upserts."""
    if conn.dialect.name != "postgresql":
        return _NOTHING_READ
    if looked is None or (looked.rows is None and looked.named is not named):
        looked = _lookup_of(conn, named)
    if looked.rows is None:  # (the caller did not send it: too many events to go with their insert)
        looked.rows = execute(conn, looked.query, looked.params)
    jobs, datasets, runs, versions = [], [], [], {}
    for kind, *row in looked.rows:
        if kind == 0 and (row[1], row[2]) in named.jobs:
            jobs.append(tuple(row[:4]))
        elif kind == 1 and (row[1], row[2]) in named.datasets:
            datasets.append(tuple(row[:4]))
        elif kind == 2:  # `_stored_runs` keeps those it wants
            pk, run_id, state, job_id, parent_pk, root_pk, ended_at = row
            runs.append(_RunIds(pk, job_id, run_id, state, parent_pk, root_pk, ended_at))
        elif kind == 3:  # `_versions_first` keeps those it wants
            dataset_id, digest, first_run_id, *_, first_seen_at = row
            versions[(dataset_id, digest)] = _VersionSeen(dataset_id, digest, first_seen_at, first_run_id)
    holders = {(r[1], r[2]): r[3] or r[0] for r in datasets}
    read = frozenset((holders[key], digest) for key, digest in named.versions if key in holders)
    return _Read(jobs, datasets, runs, versions, read)


def _run_names(items: list[Projected]) -> set[tuple[str, str, str]]:
    """The parent and root runs the events name, as (job namespace, job name, run id)."""
    named = set()
    for item in items:
        if item.event.kind == RUN_EVENT:
            for above in (item.parent, item.root):
                if above:
                    named.add((above[1], above[2], above[0]))
    return named


def _touch(
    conn: Connection,
    st: dict[str, Any],
    name: str,
    rows: dict[tuple[str, str], Values],
    existed: list[tuple[str, str]],
    aliases: dict[tuple[str, str], int | None] | None = None,
) -> None:
    """Queue the update of the jobs or datasets `_ids_first` found; a dataset's is checked against
    the alias it has now in this transaction (`aliases`; see `dataset_touch`)."""
    if not existed:
        return
    if aliases is None:
        _upsert(conn, st[name], [rows[k] for k in existed])
    else:
        _upsert(conn, st[f"{name}_touch"], [{**rows[k], "alias_of": aliases[k]} for k in existed])


@dataclass
class Written:
    """The jobs and datasets whose views a transaction's projection changed."""

    jobs: set[int] = field(default_factory=set)
    datasets: set[int] = field(default_factory=set)
    jobs_using: set[int] = field(default_factory=set)  # datasets whose readers and writers changed too
    queued_writes: bool = False  # writes to marked datasets queued (ingest/asset_triggers): told once committed


# Set by a caller that wants to know (ingest/writer.py: the API server keeps their lineage views up to date).
written_nodes: ContextVar[Written | None] = ContextVar("written_nodes", default=None)


def project_events(conn: Connection, items: list[Projected], looked: Lookup | None = None) -> None:
    """Project these events; `looked`: `lookup`'s rows for them (or for more events), when the
    caller sent it."""
    if not items:
        return
    st = _statements(conn.dialect.name)
    same = looked is not None and looked.named.digests == {item.digest for item in items}
    named = looked.named if looked is not None and same else _Named.of(items)
    read = _read_ids(conn, named, looked)
    job_ids = _project_jobs(conn, st, items, named.jobs, read.jobs)
    run_pks, runs = _project_runs(conn, st, items, job_ids, read.runs)
    dataset_ids, settled = _project_datasets(conn, st, named.datasets, named.links, read.datasets)
    _project_io(conn, st, items, job_ids, run_pks, runs, dataset_ids)
    _project_facets(conn, st, items, job_ids, run_pks, dataset_ids)
    _project_versions(conn, st, named.versions, dataset_ids, read, settled)
    _project_column_lineage(conn, st, items, job_ids, dataset_ids)
    _project_flows(conn, st, items, job_ids, dataset_ids)
    queued = queue_writes(conn, [item.event for item in items], dataset_ids, _completed(items, job_ids, run_pks, runs))
    written = written_nodes.get()
    if queued and written is None:
        writes_queued.set()  # no caller to tell once committed: a sweep reads only what is committed
    if written is not None:
        written.queued_writes = written.queued_writes or bool(queued)
        written.jobs.update(job_ids.values())
        written.datasets.update(dataset_ids.values())


def _completed(
    items: list[Projected], job_ids: dict[JobKey, int], run_pks: dict[RunKey, int], runs: dict[int, _RunIds]
) -> dict[tuple[str, str, str], int]:
    """(job namespace, job name, run id) -> the run's row, of the runs these events name that are
    COMPLETE once they are projected (not those a later FAIL or ABORT ended, whatever came last)."""
    found = {}
    for item in items:
        ev = item.event
        if ev.kind == RUN_EVENT and ev.run_id is not None:
            namespace, name = _job_key(ev)
            pk = run_pks.get((job_ids[namespace, name], ev.run_id))
            if pk is not None and runs[pk].state == EventType.COMPLETE:
                found[namespace, name, ev.run_id] = pk
    return found


def _job_key(ev: OpenLineageEvent) -> JobKey:
    """(namespace, name) of the event's job: every RunEvent and JobEvent has one."""
    if ev.job_namespace is None or ev.job_name is None:
        raise ValueError(f"a {ev.kind} event without a job")
    return ev.job_namespace, ev.job_name


def _run_id(ev: OpenLineageEvent) -> str:
    """The run id of a RunEvent."""
    if ev.run_id is None:
        raise ValueError(f"a {ev.kind} event without a run")
    return ev.run_id


def _job_rows(items: list[Projected]) -> dict[JobKey, Values]:
    """The jobs the events name (their own, parents, roots, those flows name), by key."""
    rows: dict[JobKey, Values] = {}
    for item in items:
        ev = item.event
        if ev.job_namespace is not None and ev.job_name is not None:
            row = _merge_min_max(
                rows, (ev.job_namespace, ev.job_name), _job_row(ev.job_namespace, ev.job_name, ev.event_time, False)
            )
            row["placeholder"] = False
        for above in (item.parent, item.root):
            if above:
                _merge_min_max(rows, above[1:], _job_row(above[1], above[2], ev.event_time, True))
        dependencies = item.lineage.dependencies
        for named in named_in(item.lineage.stated) | {e._replace(run_id=None) for d in dependencies for e in d[:2]}:
            if named.kind == JOB:  # known by a flow only, like a parent: a placeholder until its own events
                _merge_min_max(rows, named[1:3], _job_row(named.namespace, named.name, ev.event_time, True))
    for row in rows.values():
        row["search_key"] = search_key(row["namespace"], row["name"])
    return rows


def _project_jobs(
    conn: Connection, st: dict[str, Any], items: list[Projected], rows: dict[JobKey, Values], read: list[Any] | None
) -> dict[JobKey, int]:
    returned, existed = _ids_first(conn, st, "job", rows, read)
    _touch(conn, st, "job", rows, existed)
    ids = {(r.namespace, r.name): r.id for r in returned}
    lock_jobs(conn, [ids[k] for k in existed])
    linked = {r.id: r.parent_job_id for r in returned}
    links = {}
    for item in items:
        parent = item.parent
        if parent:
            child = ids[_job_key(item.event)]
            if linked[child] != ids[parent[1:]]:  # most events repeat a link that is already there
                links[child] = ids[parent[1:]]
    if links:
        write(conn, st["job_parent"], by_id(conn.dialect.name, links))
    return ids


def _job_row(namespace: str, name: str, when: datetime, placeholder: bool) -> Values:
    return {
        "namespace": namespace,
        "name": name,
        "placeholder": placeholder,
        "first_seen_at": when,
        "last_seen_at": when,
    }


def _run_row(job_id: int, run_id: str, ev: OpenLineageEvent | None, when: datetime | None) -> Values:
    event_type = EventType(ev.event_type) if ev else None
    rank = event_type.rank if event_type else 0
    return {
        "run_id": run_id,
        "job_id": job_id,
        "state": event_type if rank else None,
        "state_rank": rank,
        "state_time": when if rank else None,
        "started_at": when if event_type is EventType.START else None,
        "ended_at": when if event_type and event_type.ends_run else None,
        "parent_run_pk": None,  # set when the parent's id is known (`_project_runs`)
        "root_run_pk": None,
        "placeholder": ev is None,
        "first_event_at": when if ev else None,
        "last_event_at": when if ev else None,
    }


def _wins(new: Values, old: Values) -> bool:
    return (new["state_rank"], new["state_time"] or _NEVER, new["state"] or "") > (
        old["state_rank"],
        old["state_time"] or _NEVER,
        old["state"] or "",
    )


def _project_runs(
    conn: Connection,
    st: dict[str, Any],
    items: list[Projected],
    job_ids: dict[JobKey, int],
    read: list[_RunIds] | None,
) -> tuple[dict[RunKey, int], dict[int, _RunIds]]:
    """Upsert the events' runs and their parents; returns each run's pk, and each pk's run as this
    transaction leaves it (its state and end: the row is locked until the commit)."""
    rows: dict[RunKey, Values] = {}
    parents: dict[RunKey, RunKey] = {}
    roots: dict[RunKey, RunKey] = {}  # a run -> the root its parent facet names
    for item in items:
        ev = item.event
        if ev.kind != RUN_EVENT:
            continue
        key = (job_ids[_job_key(ev)], _run_id(ev))
        new = _run_row(*key, ev, ev.event_time)
        old = rows.get(key)
        if old is None:
            rows[key] = new
        else:
            if _wins(new, old):
                for column in ("state", "state_rank", "state_time", "ended_at"):
                    old[column] = new[column]
            for column, pick in (("started_at", min), ("first_event_at", min), ("last_event_at", max)):
                values = [v for v in (old[column], new[column]) if v is not None]
                old[column] = pick(values) if values else None
            old["placeholder"] = False
        parent = item.parent
        if parent:
            parent_key = (job_ids[parent[1:]], parent[0])
            rows.setdefault(parent_key, _run_row(*parent_key, None, None))
            parents[key] = parent_key
            root = item.root
            if root:
                root_key = (job_ids[root[1:]], root[0])
                rows.setdefault(root_key, _run_row(*root_key, None, None))
                roots[key] = root_key
    # Runs are written with the ids of their parents and roots where those are stored already (an
    # update after them would write each of those rows again, with every index of the run table).
    known = _stored_runs(conn, st, {*parents.values(), *roots.values()}, read)
    for links_of, column in ((parents, "parent_run_pk"), (roots, "root_run_pk")):
        for key, linked_to in links_of.items():
            if linked_to in known:
                rows[key][column] = known[linked_to].id
    stored = {r.id: _RunIds._make(r) for r in _upsert_runs(conn, st, rows, known)}
    pks = {(r.job_id, r.run_id): pk for pk, r in stored.items()}
    changed = {
        pks[child]: pks[parent] for child, parent in parents.items() if stored[pks[child]].parent_run_pk != pks[parent]
    }
    if changed:
        write(conn, st["run_parent"], by_id(conn.dialect.name, changed))
    # Each run keeps the root its own parent facet names: the tree (lineage/run_tree) reaches it
    # from there even when a level between them sent no events.
    rooted = {pks[child]: pks[root] for child, root in roots.items() if stored[pks[child]].root_run_pk != pks[root]}
    if rooted:
        write(conn, st["run_root"], by_id(conn.dialect.name, rooted))
    return pks, stored


class _RunIds(NamedTuple):
    id: int
    job_id: int
    run_id: str
    state: str | None
    parent_run_pk: int | None
    root_run_pk: int | None
    ended_at: datetime | None


def _stored_runs(
    conn: Connection, st: dict[str, Any], keys: set[RunKey], read: list[_RunIds] | None
) -> dict[RunKey, _RunIds]:
    """Those of these runs that are stored, read without locking them: among those `_read_ids` read
    (PostgreSQL), else read here.

    The parents and roots the events name: most are stored already (the DAG run or the Spark
    application of many tasks), and their children are then written with their links at once,
    not updated after them (with every index of the run table)."""
    if not keys:
        return {}
    if read is None:
        ids = {
            "p_job_ids": list_value(conn.dialect.name, {k[0] for k in keys}),
            "p_run_ids": list_value(conn.dialect.name, {k[1] for k in keys}),
        }
        read = [_RunIds(*row) for row in execute(conn, st["run_existing"], ids)]
    return {key: r for r in read if (key := (r.job_id, r.run_id)) in keys}


def _upsert_runs(
    conn: Connection, st: dict[str, Any], rows: dict[RunKey, Values], known: dict[RunKey, _RunIds]
) -> Sequence[Any]:
    """Upsert the runs, in one statement in key order (two writers never lock the same runs in
    opposite orders); their ids, states and links.

    A parent run named by its children's events (an Airflow DAG run, a Spark application) is
    named by every task of it, at once, from several API servers. Its upsert would change nothing
    of a row that exists (a placeholder row has no state and no times) but lock it until the
    transaction ends, making those writers wait for each other: such rows, `known` already, are
    not upserted.
    """
    named_only = {key for key in known if rows[key]["placeholder"] and rows[key]["state_rank"] == 0}
    found = [known[key] for key in named_only]
    upserted = [rows[key] for key in sorted(rows) if key not in named_only]
    return [*found, *_upserted(conn, st["run"], upserted)] if upserted else found


def _datasets_of(ev: OpenLineageEvent) -> list[tuple[str, DatasetRef]]:
    refs = [("in", ref) for ref in ev.inputs] + [("out", ref) for ref in ev.outputs]
    if ev.dataset is not None:
        refs.append(("subject", ev.dataset))
    return refs


class Lineage(NamedTuple):
    """What an event's facets say flows."""

    stated: list[Flow]  # by `lineage` facets: kept as stated (the flow table)
    datasets: list[Flow]  # between datasets, stated or by `columnLineage`: the column lineage
    dependencies: list[Dependency]  # by the run's `jobDependencies` facet: control flow between jobs


def _stated_flows(ev: OpenLineageEvent, own: Entity | None) -> tuple[list[Flow], bool]:
    """The flows `lineage` facets state, and whether the job's own facet stated them.

    As the spec orders them: a job's `lineage` facet is the whole explicit lineage of its event;
    without one, an output's `lineage` facet (or a DatasetEvent's dataset's) states what flows
    into it, and takes the place of its `columnLineage`.
    """
    if own is not None:
        flows = job_facet_flows(_job_facets(ev).get("lineage"), own)
        if flows is not None:
            return flows, True
    stated = []
    for direction, ref in _datasets_of(ev):
        if direction != "in" and "lineage" in ref.facets:
            stated += dataset_facet_flows(ref.facets["lineage"], Entity(DATASET, ref.namespace, ref.name), own)
    return stated, False


def _own_job(ev: OpenLineageEvent) -> Entity | None:
    if ev.kind not in (RUN_EVENT, JOB_EVENT) or ev.job_namespace is None or ev.job_name is None:
        return None
    return Entity(JOB, ev.job_namespace, ev.job_name, ev.run_id)


def _dependencies(ev: OpenLineageEvent, own: Entity | None) -> list[Dependency]:
    return job_dependencies(_run_facets(ev).get("jobDependencies"), own) if own is not None else []


def _states_flows(ev: OpenLineageEvent) -> bool:
    """Whether any facet of the event may state flows: most events have none of these facets."""
    if "lineage" in _job_facets(ev) or "jobDependencies" in _run_facets(ev):
        return True
    return any("lineage" in ref.facets or "columnLineage" in ref.facets for ref in ev.outputs) or (
        ev.dataset is not None and ("lineage" in ev.dataset.facets or "columnLineage" in ev.dataset.facets)
    )


class Stated(NamedTuple):
    """What an event's `lineage` and `jobDependencies` facets state, before anything is dropped."""

    own: Entity | None  # the event's job, as flows name it
    flows: list[Flow]
    whole: bool  # stated by the job's own facet: the outputs' columnLineage is not read then
    dependencies: list[Dependency]


def stated_lineage(ev: OpenLineageEvent) -> Stated | None:
    """The flows and dependencies the event's facets state; None for the many events with none."""
    if not _states_flows(ev):
        return None
    own = _own_job(ev)
    flows, whole = _stated_flows(ev, own)
    return Stated(own, flows, whole, _dependencies(ev, own))


def named_job_namespaces(stated: Stated | None) -> set[str]:
    """The namespaces, other than its own job's, of the jobs an event's `lineage` and
    `jobDependencies` facets name (from `stated_lineage`)."""
    if stated is None:
        return set()
    named = {e.namespace for e in named_in(stated.flows) if e.kind == JOB}
    for dependency in stated.dependencies:
        named |= {dependency.upstream.namespace, dependency.downstream.namespace}
    return named - {stated.own.namespace if stated.own else ""}


_NO_LINEAGE = Lineage([], [], [])


def _lineage_of(ev: OpenLineageEvent, read: Stated | None, job_namespaces: frozenset[str]) -> Lineage:
    """The flows an event states, less those naming a job where it may not (event_log.links_parent)."""
    if read is None:
        return _NO_LINEAGE
    own = read.own
    allowed = job_namespaces | {own.namespace} if own else job_namespaces
    stated = [f for f in read.flows if all(e.kind == DATASET or e.namespace in allowed for e in (f.source, f.target))]
    datasets = [f for f in stated if f.source.kind == DATASET and f.target.kind == DATASET]
    if not read.whole:
        for direction, ref in _datasets_of(ev):
            if direction != "in" and "lineage" not in ref.facets:
                target = Entity(DATASET, ref.namespace, ref.name)
                datasets += column_lineage_flows(ref.facets.get("columnLineage"), target)
    dependencies = [
        d for d in read.dependencies if d.upstream.namespace in allowed and d.downstream.namespace in allowed
    ]
    return Lineage(stated, datasets, dependencies)


DatasetLinks: TypeAlias = dict[tuple[tuple[str, str], tuple[str, str]], str]


def _dataset_rows(items: list[Projected]) -> tuple[dict[tuple[str, str], Values], DatasetLinks]:
    """The datasets the events name, by key, and the links their `symlinks` facets state.

    A sender limited to other namespaces (`outsider`) may name a dataset, not say what it is: its
    sightings give the dataset its namespace's spelling and its first sighting only while nobody
    else has named it (`_dataset_merge` keeps the same order in the database)."""
    rows: dict[tuple[str, str], Values] = {}
    links: DatasetLinks = {}

    def add(namespace: str, name: str, when: datetime, outsider: bool = False) -> tuple[str, str]:
        key = _dataset_key(namespace, name)
        row = rows.get(key)
        if row is None:
            rows[key] = {
                "namespace_key": key[0],
                "name": name,
                "namespace": namespace,
                "first_seen_at": when,
                "last_seen_at": when,
                "named_by_outsiders": outsider,
            }
            return key
        if (outsider, when, namespace) < (row["named_by_outsiders"], row["first_seen_at"], row["namespace"]):
            row["namespace"], row["first_seen_at"] = namespace, when
        row["named_by_outsiders"] = row["named_by_outsiders"] and outsider
        row["last_seen_at"] = max(row["last_seen_at"], when)
        return key

    for item in items:
        ev = item.event
        for _, ref in _datasets_of(ev):
            key = add(ref.namespace, ref.name, ev.event_time, not item.describes(ref))
            for namespace, name, kind in symlinks_of(ref) if item.describes(ref) else ():
                if item.scope is not None and not item.scope.allows_dataset(namespace):
                    continue  # a limited sender may not change the identity of a dataset outside its namespaces
                other = add(namespace, name, ev.event_time)
                links[(key, other)] = max(kind, links.get((key, other), ""))
        for named in named_in(item.lineage.stated + item.lineage.datasets):
            if named.kind == DATASET:
                outsider = item.scope is not None and not item.scope.allows_dataset(named.namespace)
                add(named.namespace, named.name, ev.event_time, outsider)
    for row in rows.values():
        row["search_key"] = search_key(row["namespace"], row["name"])
    return rows, links


def _project_datasets(
    conn: Connection,
    st: dict[str, Any],
    rows: dict[tuple[str, str], Values],
    links: DatasetLinks,
    read: list[Any] | None,
) -> tuple[dict[tuple[str, str], int], bool]:
    """Upsert every dataset the events name; returns the id that holds each name's lineage, and
    whether new symlinks were settled (which bumps the catalog's view generation).

    That is the name's own row, unless a `symlinks` facet made it an alias (ingest/symlinks).
    """
    returned, existed = _ids_first(conn, st, "dataset", rows, read)
    ids = {(r.namespace_key, r.name): r.id for r in returned}
    holder = {r.id: r.alias_of or r.id for r in returned}
    lock_datasets(conn, [ids[k] for k in existed])  # asked first: settling new links locks them at once
    settled = record_links(conn, st, {(ids[a], ids[b]): kind for (a, b), kind in links.items()})
    holder.update(settled or {})
    aliases = {k: None if holder[ids[k]] == ids[k] else holder[ids[k]] for k in existed}
    _touch(conn, st, "dataset", rows, existed, aliases)
    # An alias's sightings count for the dataset it stands for.
    seen: dict[int, Values] = {}
    for key, row in rows.items():
        if holder[ids[key]] != ids[key]:
            first = None if row["named_by_outsiders"] else row["first_seen_at"]  # not what the dataset is
            _merge_min_max(
                seen,
                holder[ids[key]],
                {"p_id": holder[ids[key]], "p_first": first, "p_last": row["last_seen_at"]},
                first="p_first",
                last="p_last",
            )
    if seen:
        lock_datasets(conn, seen, needed=True)
        write(conn, st["alias_seen"], list(seen.values()))
    return {key: holder[i] for key, i in ids.items()}, settled is not None


def _dataset_key(namespace: str, name: str) -> tuple[str, str]:
    """A dataset's unique pair, as its row is keyed (its namespace's spellings made one)."""
    return namespace_key(namespace), name


def _dataset_id(dataset_ids: dict[tuple[str, str], int], ref_namespace: str, name: str) -> int:
    return dataset_ids[_dataset_key(ref_namespace, name)]


def _edges_of(item: Projected) -> Iterator[tuple[JobKey, str, str, str, str | None]]:
    """(job, direction, dataset namespace, dataset name, run id) of every job<->dataset edge the
    event names: its job's inputs and outputs, and those its `lineage` facets state (a flow between
    two datasets passes through the event's job; one from or to a job is that job's edge)."""
    ev, own = item.event, item.own_job
    if own is not None:
        for direction, ref in _datasets_of(ev):
            yield own[1:3], direction, ref.namespace, ref.name, ev.run_id
    for flow in item.lineage.stated:
        source, target = flow.source, flow.target
        if source.kind == DATASET and target.kind == DATASET:
            if own is not None:
                yield own[1:3], "in", source.namespace, source.name, ev.run_id
                yield own[1:3], "out", target.namespace, target.name, ev.run_id
        elif source.kind == DATASET:
            yield target[1:3], "in", source.namespace, source.name, target.run_id
        elif target.kind == DATASET:
            yield source[1:3], "out", target.namespace, target.name, source.run_id


def _project_io(
    conn: Connection,
    st: dict[str, Any],
    items: list[Projected],
    job_ids: dict[JobKey, int],
    run_pks: dict[RunKey, int],
    runs: dict[int, _RunIds],
    dataset_ids: dict[tuple[str, str], int],
) -> None:
    links: dict[LinkKey, LinkKey] = {}  # (run pk, dataset, direction) -> its edge's key
    edges: dict[LinkKey, Values] = {}
    newest_run: dict[LinkKey, tuple[datetime, str]] = {}
    streaming: set[int] = set()
    for item in items:
        ev = item.event
        own = item.own_job
        is_declared = ev.kind == JOB_EVENT
        if own is not None:
            job_type = _job_facets(ev).get("jobType")
            if isinstance(job_type, dict) and str(job_type.get("processingType", "")).upper() in CONTINUOUS:
                streaming.add(job_ids[own[1:3]])
        for job_key, direction, ref_namespace, ref_name, run_id in _edges_of(item):
            job_id = job_ids[job_key]
            ds = _dataset_id(dataset_ids, ref_namespace, ref_name)
            key = (job_id, ds, direction)
            # Another job's edge a flow states is taken as stated: no run of that job links it.
            stated = own is None or job_key != own[1:3]
            row = _merge_min_max(
                edges,
                key,
                {
                    "job_id": job_id,
                    "dataset_id": ds,
                    "direction": direction,
                    "first_seen_at": ev.event_time,
                    "last_seen_at": ev.event_time,
                    "last_run_id": run_id,
                    "run_count": 0,
                    "confirmed": stated and not is_declared,
                    "declared": is_declared,
                },
            )
            row["declared"] = row["declared"] or is_declared
            row["confirmed"] = row["confirmed"] or (stated and not is_declared)
            if row["last_run_id"] is None:
                row["last_run_id"] = run_id
            if ev.run_id is not None and not is_declared and not stated:
                newest = newest_run.get(key)
                if newest is None or (ev.event_time, ev.run_id) > newest:
                    newest_run[key] = (ev.event_time, ev.run_id)
                    row["last_run_id"] = ev.run_id
                links[(run_pks[(job_id, ev.run_id)], ds, direction)] = key
    # An edge is confirmed by a COMPLETE run, or by a streaming job's running run, whichever
    # event brought the dataset. Edges this batch brings from such runs are confirmed in the
    # upsert; inputs/outputs an earlier transaction brought are confirmed after it.
    qualifying = {
        pk
        for (job_id, _), pk in run_pks.items()
        if runs[pk].state == EventType.COMPLETE or (job_id in streaming and runs[pk].state == EventType.RUNNING)
    }
    # A run that ends changes when the datasets it wrote were last modified, named by this event or not.
    ended = {
        run_pks[(job_ids[_job_key(item.event)], _run_id(item.event))]
        for item in items
        if item.event.kind == RUN_EVENT and item.event.event_type in _TERMINAL
    }
    ordered = sorted(qualifying | ended)
    # The links of those runs, the ones this transaction adds included: read with the insert where
    # it can be one statement (PostgreSQL), else after it. One snapshot for both is enough: another
    # transaction linking the same runs upserted them first too, so their row locks put it wholly
    # before or after this statement.
    links_read: list[tuple[Any, ...]] | None = None
    inserted: set[LinkKey] = set()
    if links:
        # A write is linked with its end (its run's, while the run is COMPLETE): the run's row is
        # locked by its upsert until the commit, so no other writer ends it otherwise meanwhile.
        link_rows = [
            {"run_pk": r, "dataset_id": d, "direction": dr, "ended_at": _write_end(runs[r]) if dr == "out" else None}
            for r, d, dr in links
        ]
        params = {"runs": list_value(conn.dialect.name, ordered)}
        together = insert_and_read(conn, st["run_dataset"], link_rows, st["links_of_runs"], params) if ordered else None
        if together is None:
            new_links = execute_rows(conn, st["run_dataset"], link_rows)
        else:
            new_links, links_read = together
            of_runs = set(ordered)
            links_read += [tuple(row) for row in new_links if row.run_pk in of_runs]
        for row in new_links:
            inserted.add(new := (row.run_pk, row.dataset_id, row.direction))
            edges[links[new]]["run_count"] += 1
    for (run_pk, _, _), key in links.items():
        if run_pk in qualifying:
            edges[key]["confirmed"] = True
    _upsert(conn, st["edge"], _in_key_order(edges))
    if links_read is None:
        links_read = [
            tuple(row)
            for start in range(0, len(ordered), 400)
            for row in execute(
                conn, st["links_of_runs"], {"runs": list_value(conn.dialect.name, ordered[start : start + 400])}
            )
        ]
    job_of_run = {pk: job_id for (job_id, _), pk in run_pks.items()}
    confirm: set[LinkKey] = set()
    written: set[int] = set()
    stale: set[int] = set()  # runs that ended here, with writes linked before
    for link in links_read:
        run_pk, dataset_id, direction = link
        if run_pk in qualifying:
            confirm.add((job_of_run[run_pk], dataset_id, direction))
        if run_pk in ended and direction == "out":
            written.add(dataset_id)
            if link not in inserted:
                stale.add(run_pk)
    confirm -= {key for key, row in edges.items() if row["confirmed"]}
    if confirm:
        write(conn, st["confirm"], [{"p_job": j, "p_dataset": d, "p_dir": dr} for j, d, dr in sorted(confirm)])
    bumped = written - set(dataset_ids.values())  # those the events named were touched already
    bump_datasets(conn, bumped)
    if (told := written_nodes.get()) is not None:
        told.datasets.update(bumped)
    # The end of the writes linked before, of runs that ended: at the transaction's end, after the
    # datasets written are locked (by the bump, or their touch), so that a symlink move holding
    # them has moved the links by then (ingest/symlinks.py `_move_lineage`).
    if stale:
        write(conn, st["write_ends"], {"runs": list_value(conn.dialect.name, stale)})


def _write_end(r: _RunIds) -> datetime | None:
    """A write's end: its run's, while the run is COMPLETE (store/tables.py `run_dataset`)."""
    return r.ended_at if r.state == EventType.COMPLETE else None


def _facet_rows(
    rows: dict[tuple[str, int, str], Values],
    entity: str,
    entity_id: int,
    facets: dict[str, Any],
    when: datetime,
    digest: str,
) -> None:
    """The newest value of each facet, not yet encoded: events of one job repeat its facets."""
    for name, value in facets.items():
        if not isinstance(value, dict):
            continue
        key = (entity, entity_id, name)
        old = rows.get(key)
        if old is None or (when, digest) > (old["event_time"], old["event_digest"]):
            rows[key] = {
                "entity": entity,
                "entity_id": entity_id,
                "name": name,
                "value": value,
                "event_time": when,
                "event_digest": digest,
            }


def _project_facets(
    conn: Connection,
    st: dict[str, Any],
    items: list[Projected],
    job_ids: dict[JobKey, int],
    run_pks: dict[RunKey, int],
    dataset_ids: dict[tuple[str, str], int],
) -> None:
    rows: dict[tuple[str, int, str], Values] = {}
    for item in items:
        ev = item.event
        job_id = 0  # a DatasetEvent's: no job
        if ev.job_name is not None:
            job_id = job_ids[_job_key(ev)]
            _facet_rows(rows, "job", job_id, _job_facets(ev), ev.event_time, item.digest)
            if ev.kind == RUN_EVENT:
                _facet_rows(rows, "run", run_pks[(job_id, _run_id(ev))], _run_facets(ev), ev.event_time, item.digest)
        for _, ref in _datasets_of(ev):
            if not item.describes(ref):
                continue
            ds = _dataset_id(dataset_ids, ref.namespace, ref.name)
            # Input/output facets (row counts, quality metrics) describe this run's read or write;
            # the dataset shows the newest, the raw events keep every run's.
            sent = {**ref.io_facets, **ref.facets}
            _facet_rows(rows, "dataset", ds, sent, ev.event_time, item.digest)
            # Test results per dataset and test job: dbt-ol's structured logs send each test from a
            # job of its own, so the dataset's newest facet holds one test; the read side unites them.
            checks = {quality_check_name(name, job_id): sent[name] for name in ASSERTION_FACETS if name in sent}
            _facet_rows(rows, QUALITY_CHECK, ds, checks, ev.event_time, item.digest)
    for row in rows.values():
        value = row["value"]
        row["value"] = None if value.get("_deleted") is True else _encode(value).decode()
        is_schema = row["name"] == "schema" and row["entity"] == "dataset" and row["value"] is not None
        row["search_key"] = fields_search_key(value) if is_schema else None
    _upsert(conn, st["facet"], _in_key_order(rows))


def _version_rows(items: list[Projected]) -> dict[VersionKey, Values]:
    """The dataset versions (schema and version facets) the events' outputs state, by the dataset's key."""
    rows: dict[VersionKey, Values] = {}
    digests: dict[str, str] = {}  # a job's runs mostly state the same schema: each is hashed once
    for item in items:
        ev = item.event
        for direction, ref in _datasets_of(ev):
            if direction == "in" or not item.describes(ref):
                continue
            schema = ref.facets.get("schema")
            version = ref.facets.get("version")
            fields = schema.get("fields") if isinstance(schema, dict) else None
            version_id = version.get("datasetVersion") if isinstance(version, dict) else None
            if fields is None and version_id is None:
                continue
            fields_json = _encode(fields or []).decode()
            stated = f"[{fields_json},{_encode(version_id).decode()}]"  # the pair, encoded as one list
            digest = digests.get(stated)
            if digest is None:
                digest = digests[stated] = hashlib.sha256(stated.encode()).hexdigest()
            new = {
                "dataset_id": None,  # known when the dataset is (`_project_versions`)
                "digest": digest,
                "fields": fields_json,
                "version": str(version_id) if version_id is not None else None,
                "first_seen_at": ev.event_time,
                "last_seen_at": ev.event_time,
                "first_run_id": ev.run_id or "",
            }
            _merge_version(rows, (_dataset_key(ref.namespace, ref.name), digest), new)
    return rows


def _merge_version(rows: dict[_Key, Values], key: _Key, new: Values) -> None:
    old = rows.get(key)
    if old is None:
        rows[key] = new
        return
    if (new["first_seen_at"], new["first_run_id"]) < (old["first_seen_at"], old["first_run_id"]):
        old["first_seen_at"], old["first_run_id"] = new["first_seen_at"], new["first_run_id"]
    old["last_seen_at"] = max(old["last_seen_at"], new["last_seen_at"])


def _project_versions(
    conn: Connection,
    st: dict[str, Any],
    named: dict[VersionKey, Values],
    dataset_ids: dict[tuple[str, str], int],
    read: _Read,
    settled: bool,
) -> None:
    rows: dict[tuple[int, str], Values] = {}
    for (key, digest), row in named.items():  # names that are aliases of one dataset share its versions
        _merge_version(rows, (dataset_ids[key], digest), {**row, "dataset_id": dataset_ids[key]})
    if not rows:
        return
    stored = _versions_first(conn, st, rows, read)
    # A version new to a dataset, or seen earlier than known, can change which version the runs of
    # other jobs read or wrote: those jobs read differently (the datasets themselves were named).
    sent = {(r["dataset_id"], r["first_seen_at"], r["first_run_id"]) for r in rows.values()}
    versioned = {r.dataset_id for r in stored if (r.dataset_id, r.first_seen_at, r.first_run_id) in sent}
    if not settled:
        # Settling symlinks bumped the view generation: every view is built again. Their bump would
        # lock the jobs after the datasets the settle locked (ingest/symlinks), against the order
        # of every other writer's last round trip.
        bump_jobs_using(conn, versioned)
    if (told := written_nodes.get()) is not None:
        told.jobs_using.update(versioned)


class _VersionSeen(NamedTuple):
    dataset_id: int
    digest: str
    first_seen_at: datetime
    first_run_id: str | None


def _versions_first(
    conn: Connection, st: dict[str, Any], rows: dict[tuple[int, str], Values], read: _Read
) -> Sequence[Any]:
    """Upsert dataset versions; the rows (dataset_id, first_seen_at, first_run_id) of those this
    transaction inserted, or may have seen first.

    Every run of a job writing a table with an unchanged schema names the same version: on
    PostgreSQL its upsert would lock that row until the commit, and the writers of a busy table
    would wait for each other's whole transaction, as for jobs and datasets (`_ids_first`). So
    versions are read first, without a lock, and new ones inserted (which waits only for a writer
    inserting the same one); the upsert of those that existed goes with the writes sent at the
    very end, in key order, as every transaction sends them, so no transaction holds a version
    there that another took first. One seen earlier than it was known, inserted by another writer
    since this one looked, or moved here from a dataset this transaction made an alias of this one
    (ingest/symlinks), counts as seen first here: at worst the views of the jobs using the dataset
    are built again once more than needed. Most were read with the jobs and datasets
    (`_read_ids`); those of a dataset new in this transaction, or made an alias here, are read here.
    """
    if conn.dialect.name != "postgresql":
        return _upserted(conn, st["version"], list(rows.values()))
    keys = sorted(rows)
    known = {k: v for k, v in (read.versions or {}).items() if k in rows}
    unread = [k for k in keys if k not in read.versions_read]
    if unread:
        arrays = {"p_dataset_id": [k[0] for k in unread], "p_digest": [k[1] for k in unread]}
        known.update(
            ((r.dataset_id, r.digest), r)
            for r in map(_VersionSeen._make, execute(conn, st["version_existing"], arrays))
        )
    new = [rows[k] for k in keys if k not in known]
    inserted = list(_upserted(conn, st["version_new"], new)) if new else []
    done = {(r.dataset_id, r.digest) for r in inserted}
    later = [rows[k] for k in keys if k not in done]
    _upsert(conn, st["version"], later)
    first = []
    for k in keys:
        seen, row = known.get(k), rows[k]
        if k not in done and (
            seen is None or (row["first_seen_at"], row["first_run_id"]) < (seen.first_seen_at, seen.first_run_id or "")
        ):
            first.append(_VersionSeen(k[0], k[1], row["first_seen_at"], row["first_run_id"]))
    return inserted + first


_NO_TRANSFORMATION = (Transformation("", "", None, False),)


def _project_column_lineage(
    conn: Connection,
    st: dict[str, Any],
    items: list[Projected],
    job_ids: dict[JobKey, int],
    dataset_ids: dict[tuple[str, str], int],
) -> None:
    """A row per (output column, input column, transformation) of the flows between datasets; ""
    is a dataset as a whole. The newest event's description, masking and job win."""
    rows: dict[tuple[int, str, int, str, str, str], Values] = {}
    for item in items:
        ev, own = item.event, item.own_job
        job_id = job_ids[own[1:3]] if own is not None else None
        for flow in item.lineage.datasets:
            out_id = _dataset_id(dataset_ids, flow.target.namespace, flow.target.name)
            in_id = _dataset_id(dataset_ids, flow.source.namespace, flow.source.name)
            for tr in flow.transformations or _NO_TRANSFORMATION:
                key = (out_id, flow.target_field, in_id, flow.source_field, tr.type, tr.subtype)
                new = {
                    "output_dataset_id": out_id,
                    "output_field": flow.target_field,
                    "input_dataset_id": in_id,
                    "input_field": flow.source_field,
                    "type": tr.type,
                    "subtype": tr.subtype,
                    "description": tr.description,
                    "masking": tr.masking,
                    "job_id": job_id,
                    "first_seen_at": ev.event_time,
                    "last_seen_at": ev.event_time,
                }
                old = rows.get(key)
                if old is None:
                    rows[key] = new
                else:
                    old["first_seen_at"] = min(old["first_seen_at"], new["first_seen_at"])
                    if new["last_seen_at"] > old["last_seen_at"]:
                        old.update({k: new[k] for k in ("last_seen_at", "description", "masking", "job_id")})
    _upsert(conn, st["column_lineage"], _in_key_order(rows))


def _project_flows(
    conn: Connection,
    st: dict[str, Any],
    items: list[Projected],
    job_ids: dict[JobKey, int],
    dataset_ids: dict[tuple[str, str], int],
) -> None:
    """Every flow a `lineage` facet states and every dependency a `jobDependencies` facet states, as
    stated: the detail and runs are the newest statement's (ties: the larger digest, so that
    arrival order never matters)."""
    rows: dict[tuple[str, int, str, str, int, str, str], Values] = {}

    def id_of(e: Entity) -> int:
        return job_ids[e[1:3]] if e.kind == JOB else _dataset_id(dataset_ids, e.namespace, e.name)

    for item in items:
        ev, own = item.event, item.own_job
        statements = [
            (f.source, f.source_field, f.target, f.target_field, "data", [t._asdict() for t in f.transformations])
            for f in item.lineage.stated
        ] + [(d.upstream, "", d.downstream, "", "control", d.rules) for d in item.lineage.dependencies]
        for source, source_field, target, target_field, relation, detail in statements:
            key = (
                source.kind.lower(),
                id_of(source),
                source_field,
                target.kind.lower(),
                id_of(target),
                target_field,
                relation,
            )
            detail_json = _encode(detail).decode()
            stated_by = own[1:3] if own is not None else None
            new = {
                **dict(zip(_FLOW_KEY, key, strict=True)),
                "detail": detail_json,
                "job_id": job_ids[own[1:3]] if own is not None else None,
                "source_run_id": source.run_id,
                "target_run_id": target.run_id,
                "declared": ev.kind == JOB_EVENT,
                "observed": ev.kind != JOB_EVENT,
                "digest": hashlib.sha256(_encode([detail_json, stated_by, source.run_id, target.run_id])).hexdigest(),
                "first_seen_at": ev.event_time,
                "last_seen_at": ev.event_time,
            }
            old = rows.get(key)
            if old is None:
                rows[key] = new
                continue
            if (new["last_seen_at"], new["digest"]) > (old["last_seen_at"], old["digest"]):
                old.update({k: new[k] for k in _STATEMENT})
            old["first_seen_at"] = min(old["first_seen_at"], new["first_seen_at"])
            old["declared"] |= new["declared"]
            old["observed"] |= new["observed"]
    _upsert(conn, st["flow"], _in_key_order(rows))


_FLOW_KEY = ("source_kind", "source_id", "source_field", "target_kind", "target_id", "target_field", "relation")
_STATEMENT = ("last_seen_at", "digest", "detail", "job_id", "source_run_id", "target_run_id")

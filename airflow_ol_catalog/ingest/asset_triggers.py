"""Asset events from observed lineage, the write side: which datasets' writes Airflow should hear
about (marks an admin sets: globs on namespace and name), and, in the transaction that stores an
event, a queued write for each marked dataset a COMPLETE event says its run wrote. One row per
dataset and producing run (its job and run id), whatever the retries and duplicates; the API
server then makes the Airflow asset events (airflow_integration/asset_events.py)."""

from __future__ import annotations

import fnmatch
import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select
from sqlalchemy.exc import IntegrityError

from airflow_ol_catalog.events import facet_reading as reading
from airflow_ol_catalog.events.model import OpenLineageEvent
from airflow_ol_catalog.events.naming import namespace_key
from airflow_ol_catalog.events.run_states import EventType
from airflow_ol_catalog.store.sql import among, insert_on_conflict, utcnow
from airflow_ol_catalog.store.tables import asset_trigger, asset_trigger_run, dataset, event, run_dataset

PENDING, EMITTING, CREATED, NO_ASSET = "pending", "emitting", "created", "no_asset"
DECLARED = "declared"  # by an Airflow task whose outlet the Asset is: Airflow announced the write itself
MAX_PATTERN = 1024
MAX_PARTITION_KEY = 250
RULES_TTL_SECONDS = 2.0  # how long a process trusts the marks it read (another worker may change them)


class TriggerError(ValueError):
    """A mark that cannot be stored: the field and the problem."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


class TriggerExists(TriggerError):
    pass


@dataclass(frozen=True)
class Trigger:
    id: int
    namespace_pattern: str
    name_pattern: str
    created_at: datetime
    created_by: str

    def matches(self, namespace: str, name: str) -> bool:
        """A glob on the namespace (as sent, or in its normal spelling) and one on the name."""
        return (
            fnmatch.fnmatchcase(namespace, self.namespace_pattern)
            or fnmatch.fnmatchcase(namespace_key(namespace), namespace_key(self.namespace_pattern))
        ) and fnmatch.fnmatchcase(name, self.name_pattern)


def literal_pattern(text: str) -> str:
    """The glob that matches this text only: its `*`, `?` and `[` each stand for themselves."""
    return _GLOB_SPECIAL.sub(r"[\1]", text)


_GLOB_SPECIAL = re.compile(r"([*?[])")


class _Cache:
    """The marks, read at most every RULES_TTL_SECONDS per process: most events meet none."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._read_at = -1e9
        self._rules: tuple[Trigger, ...] = ()

    def rules(self, conn: Connection) -> tuple[Trigger, ...]:
        with self._lock:
            if time.monotonic() - self._read_at > RULES_TTL_SECONDS:
                self._rules = tuple(list_triggers(conn))
                self._read_at = time.monotonic()
            return self._rules

    def clear(self) -> None:
        with self._lock:
            self._read_at = -1e9


trigger_cache = _Cache()

# Set once a transaction of this process that queued writes has committed (ingest/writer.py; set
# before, a sweep running then could read nothing new and clear it, and the writes would wait for
# the next): the API server then makes their asset events (and the replay DAG's sweep catches what
# a crash left behind).
writes_queued = threading.Event()


def list_triggers(conn: Connection) -> list[Trigger]:
    rows = conn.execute(select(asset_trigger).order_by(asset_trigger.c.namespace_pattern, asset_trigger.c.name_pattern))
    return [Trigger(r.id, r.namespace_pattern, r.name_pattern, r.created_at, r.created_by) for r in rows]


def create_trigger(conn: Connection, namespace_pattern: str, name_pattern: str, created_by: str) -> Trigger:
    for field, value in (("namespace", namespace_pattern), ("name", name_pattern)):
        if not value.strip():
            raise TriggerError(field, "must not be empty (use * for any)")
        if len(value.encode("utf-8")) > MAX_PATTERN:
            raise TriggerError(field, f"longer than {MAX_PATTERN} bytes")
    try:
        with conn.begin_nested():
            row = conn.execute(
                asset_trigger.insert()
                .values(
                    namespace_pattern=namespace_pattern,
                    name_pattern=name_pattern,
                    created_at=utcnow(),
                    created_by=created_by,
                )
                .returning(*asset_trigger.c)
            ).one()
    except IntegrityError:
        raise TriggerExists("namespace", f"{namespace_pattern!r} / {name_pattern!r} is marked already") from None
    trigger_cache.clear()
    return Trigger(row.id, row.namespace_pattern, row.name_pattern, row.created_at, row.created_by)


def delete_trigger(conn: Connection, trigger_id: int) -> Trigger | None:
    """Remove a mark; the mark removed, None when there was none."""
    row = conn.execute(
        delete(asset_trigger).where(asset_trigger.c.id == trigger_id).returning(*asset_trigger.c)
    ).first()
    trigger_cache.clear()
    return (
        None
        if row is None
        else Trigger(row.id, row.namespace_pattern, row.name_pattern, row.created_at, row.created_by)
    )


def partition_key(payload: Mapping[str, Any], output_facets: Mapping[str, Any]) -> str | None:
    """The part of the dataset the run wrote, as a partition key: the output's `subset` facet
    (`day=2026-12-01 country=PL`), else the run's nominal start time (of the event `payload`)."""
    written = reading.subset(output_facets.get("subset"), "out")
    if written is None:
        run_facets = _facets_of(payload.get("run"))
        nominal = run_facets.get("nominalTime")
        written = nominal.get("nominalStartTime") if isinstance(nominal, dict) else None
    return written[:MAX_PARTITION_KEY] if isinstance(written, str) and written else None


def _facets_of(holder: Any) -> dict[str, Any]:
    facets = holder.get("facets") if isinstance(holder, dict) else None
    return facets if isinstance(facets, dict) else {}


def _airflow_task(payload: Mapping[str, Any]) -> str | None:
    task = reading.airflow_task(_facets_of(payload.get("run")))
    return json.dumps([task["dagId"], task["taskId"]]) if task and task["taskId"] else None


@dataclass(frozen=True)
class _Completion:
    """A run's COMPLETE event: what every write of the run is queued with, whichever event named it."""

    event_time: datetime
    payload: Mapping[str, Any]

    def output_facets(self, names: list[tuple[str, str]]) -> Mapping[str, Any]:
        """Its own output facets of the dataset with one of these names, if it names it."""
        keys = {(namespace_key(ns), name) for ns, name in names}
        outputs = self.payload.get("outputs")
        for item in outputs if isinstance(outputs, list) else []:
            if (
                isinstance(item, dict)
                and isinstance(item.get("namespace"), str)
                and (namespace_key(item["namespace"]), item.get("name")) in keys
            ):
                own = item.get("outputFacets")
                return own if isinstance(own, dict) else {}
        return {}


def _completions(
    conn: Connection, of_complete_runs: list[tuple[OpenLineageEvent, int]], run_pks: set[int]
) -> dict[int, _Completion]:
    """The COMPLETE event of each of these runs: among these events, else the newest one stored."""
    found: dict[int, _Completion] = {}
    for ev, pk in of_complete_runs:
        newer = pk not in found or ev.event_time > found[pk].event_time
        if pk in run_pks and ev.event_type == EventType.COMPLETE.value and newer:
            found[pk] = _Completion(ev.event_time, ev.payload)
    for ev, pk in of_complete_runs:
        if pk in run_pks and pk not in found:
            stored = conn.execute(
                select(event.c.event_time, event.c.payload)
                .where(
                    event.c.run_id == ev.run_id,
                    event.c.namespace == ev.job_namespace,
                    event.c.job_name == ev.job_name,
                    event.c.event_type == EventType.COMPLETE.value,
                    event.c.quarantined.is_(False),
                )
                .order_by(event.c.event_time.desc(), event.c.digest.desc())
                .limit(1)
            ).first()
            if stored is not None:
                found[pk] = _Completion(stored.event_time, json.loads(stored.payload))
    return found


def queue_writes(
    conn: Connection,
    events: list[OpenLineageEvent],
    dataset_ids: Mapping[tuple[str, str], int],
    completed: Mapping[tuple[str, str, str], int],
) -> int:
    """Queue a write for every marked dataset the runs of these events wrote, once the run is
    COMPLETE (a run already queued for a dataset is not queued again); how many writes were named.

    A run's outputs are those any of its events named (OpenLineage adds up a run's inputs and
    outputs): a COMPLETE queues those named by the run's earlier events too, and an event of a run
    COMPLETE already (a START arriving after the COMPLETE) queues those it names. Each write is
    queued with what the run's COMPLETE event says (its time, the output's `subset` there, else the
    run's nominal time), whichever event named the output first: the same in any order of arrival.
    `dataset_ids`: (namespace key, name) -> the id holding that name's lineage, as the projection
    stored them in this transaction; `completed`: (job namespace, job name, run id) -> the run's
    row, of the runs that are COMPLETE now (a FAIL later than the COMPLETE, sent before or after
    it, leaves the run failed: its writes trigger nothing)."""
    of_complete_runs = [
        (ev, pk)
        for ev in events
        if (pk := completed.get((ev.job_namespace or "", ev.job_name or "", ev.run_id or ""))) is not None
        and ev.run_id is not None
        and ev.job_namespace is not None
        and ev.job_name is not None
    ]
    if not of_complete_runs:
        return 0
    rules = trigger_cache.rules(conn)
    if not rules:
        return 0
    now = utcnow()
    dialect = conn.dialect.name
    owner = {pk: ev for ev, pk in of_complete_runs}  # the run's job and id, as any of its events says
    # What each completing run's events in this transaction did not name: the outputs its earlier events named.
    completing = {pk for ev, pk in of_complete_runs if ev.event_type == EventType.COMPLETE.value}
    writes: set[tuple[int, int]] = set()  # (dataset id, run pk)
    given: dict[tuple[int, int], tuple[str, str]] = {}  # the name an event gave the output
    if completing:
        for run_pk, dataset_id in conn.execute(
            select(run_dataset.c.run_pk, run_dataset.c.dataset_id).where(
                among(dialect, run_dataset.c.run_pk, completing), run_dataset.c.direction == "out"
            )
        ):
            writes.add((dataset_id, run_pk))
    for ev, run_pk in of_complete_runs:
        for ref in ev.outputs:
            dataset_id = dataset_ids.get((namespace_key(ref.namespace), ref.name))
            if dataset_id is not None:
                writes.add((dataset_id, run_pk))
                given.setdefault((dataset_id, run_pk), (ref.namespace, ref.name))
    if not writes:
        return 0
    # A dataset has names besides the one a write gives (a path and the table over it, made one by
    # a symlinks facet): a mark of any of them counts.
    written = {dataset_id for dataset_id, _ in writes}
    names_of: dict[int, list[tuple[str, str]]] = {}
    for row in conn.execute(
        select(dataset.c.id, dataset.c.namespace, dataset.c.name)
        .where(among(dialect, dataset.c.id, written))
        .union_all(
            select(dataset.c.alias_of, dataset.c.namespace, dataset.c.name).where(
                among(dialect, dataset.c.alias_of, written)
            )
        )
    ):
        names_of.setdefault(row.id, []).append((row.namespace, row.name))
    marked = {}
    for key in sorted(writes):
        names = [*([given[key]] if key in given else []), *names_of.get(key[0], ())]
        if any(rule.matches(*name) for rule in rules for name in names):
            marked[key] = names
    if not marked:
        return 0
    completions = _completions(conn, of_complete_runs, {run_pk for _, run_pk in marked})
    rows = []
    for (dataset_id, run_pk), names in marked.items():
        completion = completions.get(run_pk)
        if completion is None:  # COMPLETE now, yet no COMPLETE event kept: nothing to say it with
            continue
        ev = owner[run_pk]
        rows.append(
            {
                "dataset_id": dataset_id,
                "run_pk": run_pk,
                "run_id": ev.run_id,
                "job_namespace": ev.job_namespace,
                "job_name": ev.job_name,
                "event_time": completion.event_time,
                "partition_key": partition_key(completion.payload, completion.output_facets(names)),
                "airflow_task": _airflow_task(completion.payload),
                "state": PENDING,
                "queued_at": now,
            }
        )
    if not rows:
        return 0
    statement = insert_on_conflict(conn, asset_trigger_run).on_conflict_do_nothing(
        index_elements=["dataset_id", "run_pk"]
    )
    conn.execute(statement, rows)
    return len(rows)

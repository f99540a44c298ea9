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
from airflow_ol_catalog.store.tables import asset_trigger, asset_trigger_run, dataset, run_dataset

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


def partition_key(ev: OpenLineageEvent, output_facets: Mapping[str, Any]) -> str | None:
    """The part of the dataset the run wrote, as a partition key: the output's `subset` facet
    (`day=2026-12-01 country=PL`), else the run's nominal start time."""
    written = reading.subset(output_facets.get("subset"), "out")
    if written is None:
        nominal = ev.payload.get("run", {}).get("facets", {}).get("nominalTime")
        written = nominal.get("nominalStartTime") if isinstance(nominal, dict) else None
    return written[:MAX_PARTITION_KEY] if isinstance(written, str) and written else None


def _airflow_task(ev: OpenLineageEvent) -> str | None:
    task = reading.airflow_task(ev.payload.get("run", {}).get("facets") or {})
    return json.dumps([task["dagId"], task["taskId"]]) if task and task["taskId"] else None


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
    COMPLETE already (a START arriving after the COMPLETE) queues those it names.
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
    # What each run's COMPLETE event did not name itself: the outputs its other events named.
    completing = {pk: ev for ev, pk in of_complete_runs if ev.event_type == EventType.COMPLETE.value}
    stored: dict[int, set[int]] = {}
    if completing:
        for run_pk, dataset_id in conn.execute(
            select(run_dataset.c.run_pk, run_dataset.c.dataset_id).where(
                among(dialect, run_dataset.c.run_pk, completing), run_dataset.c.direction == "out"
            )
        ):
            stored.setdefault(run_pk, set()).add(dataset_id)
    # Each write: (dataset id, the event that says so, the facets of its output there, the name it gave).
    writes: list[tuple[int, int, OpenLineageEvent, Mapping[str, Any], tuple[str, str] | None]] = []
    for ev, run_pk in of_complete_runs:
        for ref in ev.outputs:
            dataset_id = dataset_ids.get((namespace_key(ref.namespace), ref.name))
            if dataset_id is not None:
                writes.append((dataset_id, run_pk, ev, ref.io_facets, (ref.namespace, ref.name)))
    for run_pk, dataset_ids_written in stored.items():
        writes.extend((dataset_id, run_pk, completing[run_pk], {}, None) for dataset_id in sorted(dataset_ids_written))
    # A dataset has names besides the one a write gives (a path and the table over it, made one by
    # a symlinks facet): a mark of any of them counts.
    written = {dataset_id for dataset_id, *_ in writes}
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
    rows: dict[tuple[int, int], dict[str, Any]] = {}
    for dataset_id, run_pk, ev, io_facets, given in writes:
        names = [*([given] if given else []), *names_of.get(dataset_id, ())]
        if (dataset_id, run_pk) in rows or not any(rule.matches(*name) for rule in rules for name in names):
            continue
        rows[dataset_id, run_pk] = {
            "dataset_id": dataset_id,
            "run_pk": run_pk,
            "run_id": ev.run_id,
            "job_namespace": ev.job_namespace,
            "job_name": ev.job_name,
            "event_time": ev.event_time,
            "partition_key": partition_key(ev, io_facets),
            "airflow_task": _airflow_task(ev),
            "state": PENDING,
            "queued_at": now,
        }
    if not rows:
        return 0
    statement = insert_on_conflict(conn, asset_trigger_run).on_conflict_do_nothing(
        index_elements=["dataset_id", "run_pk"]
    )
    conn.execute(statement, sorted(rows.values(), key=lambda r: (r["dataset_id"], r["run_pk"])))
    return len(rows)

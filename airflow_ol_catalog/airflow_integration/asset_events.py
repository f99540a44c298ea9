"""Asset events from observed lineage, the Airflow side: each queued write to a marked dataset
(ingest/asset_triggers.py) becomes an Airflow asset event of every Asset naming that dataset, made
by the asset manager the API server runs, the code behind `POST /api/v2/assets/events`: the
producer is a catalog token or another system, not an Airflow user with a JWT to call the route
with. DAGs scheduled on the Asset then run. `extra.openlineage` names the producing job and run, so
the OpenLineage provider records the DAG run's dependency on it (`jobDependencies`).

Once per write: when the catalog's tables are in Airflow's database (the default), the write is
claimed and its events made in one transaction; with a database of its own, it is claimed first
and a claim left by a crash is taken again after CLAIM_TIMEOUT, so an event may then be made twice
but is never lost. Writes by an Airflow task that declares the Asset as an outlet are skipped:
Airflow announced them itself.
"""

from __future__ import annotations

import inspect
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Engine, or_, select, update

from airflow_ol_catalog.airflow_integration.assets import AirflowAsset, read_assets
from airflow_ol_catalog.store.sql import utcnow

log = logging.getLogger(__name__)

CLAIM_TIMEOUT = timedelta(minutes=10)
BATCH = 200


@dataclass
class Emitted:
    created: int = 0  # writes that made asset events
    events: int = 0  # asset events made
    no_asset: int = 0  # writes to a dataset no Asset names
    declared: int = 0  # writes by a task that declares the Asset itself (Airflow announced them)
    failed: list[str] = field(default_factory=list)


def _same_database(engine: Engine) -> bool:
    from airflow import settings

    airflow_engine = settings.engine
    return airflow_engine is not None and engine.url == airflow_engine.url


def _waiting(conn: Connection, after: int) -> list[Any]:
    from airflow_ol_catalog.ingest.asset_triggers import EMITTING, PENDING
    from airflow_ol_catalog.store.tables import asset_trigger_run as t

    stale = utcnow() - CLAIM_TIMEOUT
    return list(
        conn.execute(
            select(t)
            .where(t.c.id > after, or_(t.c.state == PENDING, (t.c.state == EMITTING) & (t.c.processed_at < stale)))
            .order_by(t.c.id)
            .limit(BATCH)
        )
    )


def _assets_by_dataset(conn: Connection, assets: list[AirflowAsset]) -> dict[int, list[AirflowAsset]]:
    from airflow_ol_catalog.lineage.asset_links import datasets_named

    named: dict[tuple[str, str], list[AirflowAsset]] = {}  # several Assets may name one dataset alike
    for a in assets:
        if a.openlineage:
            named.setdefault((a.openlineage.namespace, a.openlineage.name), []).append(a)
    found: dict[int, list[AirflowAsset]] = {}
    for pair, linked in datasets_named(conn, named).items():
        found.setdefault(linked.id, []).extend(named[pair])
    return found


def _register(session: Any, asset_id: int, extra: dict[str, Any], partition_key: str | None) -> int | None:
    """Make one asset event through Airflow's asset manager; its id (None when the Asset is gone)."""
    from airflow.assets.manager import asset_manager
    from airflow.models.asset import AssetModel

    model = session.get(AssetModel, asset_id)
    if model is None:
        return None
    arguments: dict[str, Any] = {"asset": model, "extra": extra, "session": session, "timestamp": utcnow()}
    accepted = inspect.signature(asset_manager.register_asset_change).parameters
    if "source_is_api" in accepted:
        arguments["source_is_api"] = True
    if partition_key is not None and "partition_key" in accepted:  # partitions came in Airflow 3.2
        arguments["partition_key"] = partition_key
    created = asset_manager.register_asset_change(**arguments)
    session.flush()
    return created.id if created is not None else None


def _extra(row: Any) -> dict[str, Any]:
    return {
        "openlineage": {
            "parentJobNamespace": row.job_namespace,
            "parentJobName": row.job_name,
            "parentRunId": row.run_id,
        },
        "ol_catalog": {"eventTime": row.event_time.isoformat().replace("+00:00", "Z")},
    }


def emit_waiting(engine: Engine) -> Emitted:
    """Make the asset events of every write waiting, BATCH at a time in the order they were queued;
    what was done. Writes whose events failed stay waiting, for the next call: the batches after
    them go on."""
    done, after = Emitted(), 0
    while True:
        read, after = _emit_batch(engine, done, after)
        if read < BATCH:
            return done


def _emit_batch(engine: Engine, done: Emitted, after: int) -> tuple[int, int]:
    """Make the asset events of the batch of waiting writes queued after write `after`, adding to
    `done`; how many were read, and the last one's id."""
    from airflow.utils.session import create_session

    from airflow_ol_catalog.ingest.asset_triggers import CREATED, DECLARED, EMITTING, NO_ASSET, PENDING
    from airflow_ol_catalog.store.engine import read_connection, write_transaction
    from airflow_ol_catalog.store.tables import asset_trigger_run as t

    with read_connection(engine) as conn:
        rows = _waiting(conn, after)
        if not rows:
            return 0, after
        assets = read_assets()
        by_dataset = _assets_by_dataset(conn, assets)
    shared = _same_database(engine)
    for row in rows:
        targets = by_dataset.get(row.dataset_id, [])
        task = tuple(json.loads(row.airflow_task)) if row.airflow_task else None
        if targets and task is not None and all(task in a.producers for a in targets):
            state, outcome = DECLARED, "declared"  # the task's own outlet: Airflow made the event
        elif targets:
            state, outcome = CREATED, "created"
        else:
            state, outcome = NO_ASSET, "no_asset"
        claimable = (t.c.id == row.id) & or_(t.c.state == PENDING, t.c.state == EMITTING)
        try:
            with create_session() as session:
                if shared:
                    claimed = cast(
                        CursorResult, session.execute(update(t).where(claimable).values(state=EMITTING))
                    ).rowcount
                else:
                    with write_transaction(engine) as conn:
                        claimed = conn.execute(
                            update(t).where(claimable).values(state=EMITTING, processed_at=utcnow())
                        ).rowcount
                if not claimed:
                    continue  # another worker has it
                made = (
                    [
                        (a.id, _register(session, a.id, _extra(row), row.partition_key))
                        for a in targets
                        if task not in a.producers
                    ]
                    if state == CREATED
                    else []
                )
                finished = {
                    "state": state,
                    "processed_at": utcnow(),
                    "asset_ids": json.dumps([a for a, _ in made]) if made else None,
                    "asset_event_ids": json.dumps([e for _, e in made if e is not None]) if made else None,
                }
                if shared:
                    session.execute(update(t).where(t.c.id == row.id).values(**finished))
            if not shared:
                with write_transaction(engine) as conn:
                    conn.execute(update(t).where(t.c.id == row.id).values(**finished))
        except Exception as exc:  # one write's failure must not stop the others; it stays waiting
            log.exception("asset events for write %s of run %s failed", row.id, row.run_id)
            done.failed.append(f"write {row.id} (run {row.run_id}): {exc}")
            continue
        if outcome == "created":
            done.created += 1
            done.events += len(made)
        elif outcome == "declared":
            done.declared += 1
        else:
            done.no_asset += 1
    return len(rows), rows[-1].id

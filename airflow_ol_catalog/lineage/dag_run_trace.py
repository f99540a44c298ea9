"""An Airflow DAG run's whole trace, from the OpenLineage events its DAG and the producers it started
sent: the DAG run's own run, its task runs and the Spark, dbt or other runs they started (one run
tree, lineage/run_tree.py) with what each read and wrote; upstream, the runs whose writes
triggered it (its `jobDependencies` facet, which Airflow's OpenLineage provider fills from the
asset events a DAG run was triggered by); downstream, the runs that name one of its runs so."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

import msgspec
from sqlalchemy import Connection, Select, select

from airflow_ol_catalog.events import facet_reading as reading
from airflow_ol_catalog.events.not_found import DagRunNotFound
from airflow_ol_catalog.events.run_states import RunState
from airflow_ol_catalog.events.times import iso
from airflow_ol_catalog.lineage.catalog import facets_of, runs_view
from airflow_ol_catalog.lineage.run_tree import tree_of
from airflow_ol_catalog.store.sql import among
from airflow_ol_catalog.store.tables import dataset, facet, job, run, run_dataset

RUNS_SEARCHED = 1000  # the newest runs of the DAG's jobs searched for the DAG run
DOWNSTREAM_SEARCHED = 2000  # the newest dependency facets searched for runs naming this one


def _dag_run_facet(facets: dict[str, Any]) -> dict[str, Any]:
    found = facets.get("airflowDagRun")
    dag_run = found.get("dagRun") if isinstance(found, dict) else None
    return dag_run if isinstance(dag_run, dict) else {}


def _runs_with_facet(facet_name: str, job_name: str, namespaces: Collection[str], *columns: Any) -> Select[Any]:
    """(run pk, `columns`, the run's facet `facet_name`) of the runs of visible jobs named `job_name` in
    Airflow's `namespaces`: a producer writing another namespace cannot stand in for a DAG or a task."""
    named = (facet.c.entity == "run") & (facet.c.entity_id == run.c.id) & (facet.c.name == facet_name)
    return (
        select(run.c.id, *columns, facet.c.value)
        .join(job, job.c.id == run.c.job_id)
        .join(facet, named)
        .where(job.c.name == job_name, job.c.namespace.in_(namespaces), job.c.deleted_at.is_(None))
    )


def dag_run_ol_run(conn: Connection, dag_id: str, dag_run_id: str, namespaces: Collection[str]) -> Any:
    """The OpenLineage run of an Airflow DAG run (its `airflowDagRun` facet names it), among the
    newest runs of the jobs named as the DAG in Airflow's `namespaces` (a producer writing another
    namespace cannot stand in for it); None when the catalog has none."""
    candidates = conn.execute(
        _runs_with_facet("airflowDagRun", dag_id, namespaces, run.c.run_id)
        .where(facet.c.value.is_not(None))
        .order_by(run.c.id.desc())
        .limit(RUNS_SEARCHED)
    )
    for row in candidates:
        named = _dag_run_facet({"airflowDagRun": json.loads(row.value)})
        if named.get("run_id") == dag_run_id and named.get("dag_id", dag_id) == dag_id:
            return row
    return None


def dag_namespaces(conn: Connection, dag_id: str, namespaces: Collection[str]) -> list[str]:
    """Which of Airflow's `namespaces` hold a visible job named as the DAG, in their order."""
    found = set(
        conn.execute(
            select(job.c.namespace).where(
                job.c.name == dag_id, job.c.namespace.in_(namespaces), job.c.deleted_at.is_(None)
            )
        ).scalars()
    )
    return [ns for ns in namespaces if ns in found]


def task_instance_run(
    conn: Connection, dag_id: str, dag_run_id: str, task_id: str, map_index: int, namespaces: Collection[str]
) -> tuple[str, str, dict[str, Any]] | None:
    """(job namespace, job name, the run as `jobs/runs/{id}` answers it) of an Airflow task instance:
    the run of job DAG.TASK in one of Airflow's `namespaces` whose `airflow` facet names this DAG,
    DAG run, task and map index (-1: not mapped), of its latest try (a retry's run may arrive before
    the first try's, from a spool); None when the catalog has none.
    Every run of the job is looked at, not a page of the newest: a DAG run of years ago still has its tab."""
    name = f"{dag_id}.{task_id}"
    # The facet is stored as msgspec writes JSON (ingest/projection.py): its text holds the DAG run id
    # written so, which keeps the facets read to those of this DAG run's tries.
    written = msgspec.json.encode(dag_run_id).decode()[1:-1]
    pattern = written.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    candidates = conn.execute(
        _runs_with_facet("airflow", name, namespaces, job.c.namespace)
        .where(facet.c.value.like(f'%"{pattern}"%', escape="\\"))
        .order_by(run.c.id.desc())
    )
    best: tuple[int, int, str] | None = None  # (try number, run pk, job namespace) of the latest try
    for row in candidates:
        said = reading.airflow_task({"airflow": json.loads(row.value)})
        if (
            said is not None
            and (said["dagId"], said["dagRunId"], said["taskId"]) == (dag_id, dag_run_id, task_id)
            and said["mapIndex"] in (map_index, None)
        ):
            found = (said["tryNumber"] or 0, row.id, row.namespace)
            best = found if best is None or found[:2] > best[:2] else best
    if best is None:
        return None
    return best[2], name, runs_view(conn, conn.execute(select(run).where(run.c.id == best[1])).all())[0]


def _io(conn: Connection, run_pks: list[int]) -> dict[int, dict[str, list[dict[str, str]]]]:
    found: dict[int, dict[str, list[dict[str, str]]]] = {pk: {"in": [], "out": []} for pk in run_pks}
    rows = conn.execute(
        select(run_dataset.c.run_pk, run_dataset.c.direction, dataset.c.namespace, dataset.c.name)
        .join(dataset, dataset.c.id == run_dataset.c.dataset_id)
        .where(among(conn.dialect.name, run_dataset.c.run_pk, run_pks), dataset.c.deleted_at.is_(None))
        .order_by(dataset.c.namespace, dataset.c.name)
    )
    for pk, direction, namespace, name in rows:
        found[pk][direction].append({"namespace": namespace, "name": name})
    return found


def _dependencies(facets: dict[str, Any], side: str) -> list[dict[str, Any]]:
    """The runs a `jobDependencies` facet names on one side, with how they relate."""
    named = facets.get("jobDependencies")
    items = named.get(side) if isinstance(named, dict) else None
    found = []
    for item in items if isinstance(items, list) else ():
        other = item.get("job") if isinstance(item, dict) else None
        ran = item.get("run")
        run_id = ran.get("runId") if isinstance(ran, dict) else None
        if isinstance(other, dict) and isinstance(other.get("namespace"), str) and isinstance(other.get("name"), str):
            found.append(
                {
                    "job": {"namespace": other["namespace"], "name": other["name"]},
                    "runId": run_id if isinstance(run_id, str) else None,
                    "dependencyType": item.get("dependency_type")
                    if isinstance(item.get("dependency_type"), str)
                    else None,
                }
            )
    return found


def _downstream(conn: Connection, run_ids: set[str], since: Any, namespaces: Collection[str]) -> list[dict[str, Any]]:
    """Runs of Airflow's `namespaces` whose `jobDependencies` name one of `run_ids` upstream (the
    DAG runs its writes triggered)."""
    query = (
        select(run.c.run_id, run.c.state, run.c.started_at, job.c.namespace, job.c.name, facet.c.value, run.c.id)
        .join(job, job.c.id == run.c.job_id)
        .join(facet, (facet.c.entity == "run") & (facet.c.entity_id == run.c.id) & (facet.c.name == "jobDependencies"))
        .where(job.c.namespace.in_(namespaces), job.c.deleted_at.is_(None), facet.c.value.is_not(None))
        .order_by(run.c.id.desc())
        .limit(DOWNSTREAM_SEARCHED)
    )
    if since is not None:
        query = query.where(run.c.last_event_at >= since)
    found = []
    for row in conn.execute(query):
        via = [d["runId"] for d in _dependencies({"jobDependencies": json.loads(row.value)}, "upstream")]
        named = sorted({v for v in via if v in run_ids})
        if named and row.run_id not in run_ids:
            found.append(
                {
                    "job": {"namespace": row.namespace, "name": row.name},
                    "runId": row.run_id,
                    "state": RunState.of(row.state).value,
                    "startedAt": iso(row.started_at),
                    "after": named,
                    "pk": row.id,
                }
            )
    return found


def _airflow_of(facets: dict[str, Any]) -> dict[str, str] | None:
    named = _dag_run_facet(facets)
    dag_id, run_id = named.get("dag_id"), named.get("run_id")
    return {"dagId": dag_id, "dagRunId": run_id} if isinstance(dag_id, str) and isinstance(run_id, str) else None


def _with_io(
    r: dict[str, Any], pks: dict[tuple[str, str, str], int], io: dict[int, dict[str, list[dict[str, str]]]]
) -> dict[str, Any]:
    """A run of the tree with what it read and wrote (its row found by its job and run id)."""
    ends = io.get(pks.get((r["job"]["namespace"], r["job"]["name"], r["runId"]), -1), {})
    return r | {"inputs": ends.get("in", []), "outputs": ends.get("out", [])}


def dag_run_trace(
    conn: Connection, dag_id: str, dag_run_id: str, limit: int, namespaces: Collection[str]
) -> dict[str, Any]:
    """`namespaces`: where this Airflow's DAGs and tasks are jobs ([ol_catalog] airflow_namespaces)."""
    found = dag_run_ol_run(conn, dag_id, dag_run_id, namespaces)
    if found is None:
        raise DagRunNotFound(dag_id, dag_run_id)
    tree = tree_of(conn, found.id, limit)  # the run found, not any run of that id (one per job)
    ids = [r["runId"] for r in tree["runs"]]
    pks = {
        (r.namespace, r.name, r.run_id): r.id
        for r in conn.execute(
            select(run.c.id, run.c.run_id, job.c.namespace, job.c.name)
            .join(job, job.c.id == run.c.job_id)
            .where(run.c.run_id.in_(ids))
        )
    }
    io = _io(conn, list(pks.values()))
    starts = [r["startedAt"] for r in tree["runs"] if r["startedAt"]]
    since_row = conn.execute(select(run.c.first_event_at).where(run.c.id == found.id)).scalar()
    downstream = _downstream(conn, set(ids), since_row, namespaces)
    own_facets = facets_of(conn, "run", [found.id, *(d["pk"] for d in downstream)])
    for d in downstream:
        d["airflow"] = _airflow_of(own_facets[d.pop("pk")])
    return {
        "dagId": dag_id,
        "dagRunId": dag_run_id,
        "runId": found.run_id,
        "truncated": tree["truncated"],
        "startedAt": min(starts) if starts else None,
        "runs": [_with_io(r, pks, io) for r in tree["runs"]],
        "upstream": _dependencies(own_facets[found.id], "upstream"),
        "downstream": downstream,
    }

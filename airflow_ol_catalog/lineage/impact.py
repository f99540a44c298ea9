"""Impact analysis: everything downstream of a dataset or a column, with the path to each."""

from __future__ import annotations

from sqlalchemy import Connection, select

from airflow_ol_catalog.lineage.columns import start_fields
from airflow_ol_catalog.lineage.graph import NodeNotFound, resolve_node
from airflow_ol_catalog.store.tables import column_lineage, dataset, edge, job


def impact(conn: Connection, node_id: str, include_attempted: bool = False, max_nodes: int = 5000) -> dict:
    if node_id.startswith("datasetField:"):
        return _field_impact(conn, node_id, max_nodes)
    kind, start = resolve_node(conn, node_id)
    if kind != "dataset":
        raise NodeNotFound("impact starts from a dataset or a dataset field")
    return _dataset_impact(conn, start, include_attempted, max_nodes)


def _dataset_impact(conn: Connection, start: int, include_attempted: bool, max_nodes: int) -> dict:
    came_from: dict[int, tuple[int, int] | None] = {start: None}  # dataset -> (previous dataset, job)
    depth = {start: 0}
    frontier = {start}
    truncated = False
    while frontier and not truncated:
        confirmed = [] if include_attempted else [edge.c.confirmed | edge.c.declared]
        consumers = conn.execute(
            select(edge.c.job_id, edge.c.dataset_id).join(job, job.c.id == edge.c.job_id)
            .where(edge.c.direction == "in", edge.c.dataset_id.in_(frontier), job.c.deleted_at.is_(None), *confirmed)
        ).all()
        by_job: dict[int, int] = {}
        for job_id, dataset_id in sorted(map(tuple, consumers)):  # plain tuples: Row comparisons are slow
            by_job.setdefault(job_id, dataset_id)
        if not by_job:
            break
        outputs = conn.execute(
            select(edge.c.job_id, edge.c.dataset_id).join(dataset, dataset.c.id == edge.c.dataset_id)
            .where(edge.c.direction == "out", edge.c.job_id.in_(by_job), dataset.c.deleted_at.is_(None), *confirmed)
        ).all()
        next_frontier = set()
        for job_id, dataset_id in sorted(map(tuple, outputs)):
            if dataset_id in came_from:
                continue
            if len(came_from) >= max_nodes:
                truncated = True
                break
            came_from[dataset_id] = (by_job[job_id], job_id)
            depth[dataset_id] = depth[by_job[job_id]] + 1
            next_frontier.add(dataset_id)
        frontier = next_frontier
    return _report(conn, start, came_from, depth, truncated)


def _report(conn: Connection, start: int, came_from: dict, depth: dict, truncated: bool) -> dict:
    ids = list(came_from)
    names = {}
    for i in range(0, len(ids), 500):
        for r in conn.execute(select(dataset.c.id, dataset.c.namespace, dataset.c.name).where(dataset.c.id.in_(ids[i : i + 500]))):
            names[r.id] = f"dataset:{r.namespace}:{r.name}"
    job_ids = {step[1] for step in came_from.values() if step}
    jobs = {}
    for r in conn.execute(select(job.c.id, job.c.namespace, job.c.name).where(job.c.id.in_(job_ids))) if job_ids else []:
        jobs[r.id] = f"job:{r.namespace}:{r.name}"
    # came_from holds nodes in the order the walk found them: a node's predecessor comes first.
    paths: dict[int, list[str]] = {start: [names[start]]}
    via: dict[int, list[str]] = {start: []}
    impacted = []
    for node in ids:
        if node == start:
            continue
        previous, job_id = came_from[node]
        paths[node] = [*paths[previous], jobs[job_id], names[node]]
        via[node] = [*via[previous], jobs[job_id]]
        impacted.append({"id": names[node], "type": "DATASET", "depth": depth[node], "path": paths[node], "jobs": via[node]})
    impacted.sort(key=lambda item: (item["depth"], item["id"]))
    return {"nodeId": names[start], "impacted": impacted, "totalCount": len(impacted), "truncated": truncated}


def _field_impact(conn: Connection, node_id: str, max_nodes: int) -> dict:
    (start,) = start_fields(conn, node_id)
    came_from: dict[tuple[int, str], tuple[tuple[int, str], int | None] | None] = {start: None}
    frontier = {start}
    truncated = False
    while frontier and not truncated:
        rows = conn.execute(
            select(column_lineage).where(column_lineage.c.input_dataset_id.in_({ds for ds, _ in frontier}))
        ).all()
        next_frontier = set()
        for r in sorted(rows, key=lambda r: (r.output_dataset_id, r.output_field)):
            source = (r.input_dataset_id, r.input_field)
            target = (r.output_dataset_id, r.output_field)
            if source not in frontier or target in came_from:
                continue
            if len(came_from) >= max_nodes:
                truncated = True
                break
            came_from[target] = (source, r.job_id)
            next_frontier.add(target)
        frontier = next_frontier
    ids = {ds for ds, _ in came_from}
    names = {r.id: f"{r.namespace}:{r.name}" for r in conn.execute(select(dataset.c.id, dataset.c.namespace, dataset.c.name).where(dataset.c.id.in_(ids)))}
    job_ids = {step[1] for step in came_from.values() if step and step[1]}
    jobs = {r.id: f"job:{r.namespace}:{r.name}" for r in conn.execute(select(job.c.id, job.c.namespace, job.c.name).where(job.c.id.in_(job_ids)))} if job_ids else {}

    def key(f: tuple[int, str]) -> str:
        return f"datasetField:{names[f[0]]}:{f[1]}"

    impacted = []
    for target in came_from:
        if target == start:
            continue
        path, via, current = [], [], target
        while came_from[current] is not None:
            previous, job_id = came_from[current]
            path.insert(0, key(current))
            if job_id in jobs:
                via.insert(0, jobs[job_id])
            current = previous
        impacted.append({"id": key(target), "type": "DATASET_FIELD", "depth": len(path), "path": [key(start), *path], "jobs": via})
    impacted.sort(key=lambda item: (item["depth"], item["id"]))
    return {"nodeId": key(start), "impacted": impacted, "totalCount": len(impacted), "truncated": truncated}

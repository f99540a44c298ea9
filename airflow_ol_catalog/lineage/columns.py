"""Column lineage graphs in Marquez's shape: nodes are dataset fields, edges follow the columnLineage facets."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from airflow_ol_catalog.events.node_ids import (
    DATASET,
    DATASET_FIELD,
    KINDS,
    field_node_id,
)
from airflow_ol_catalog.lineage.catalog import facets_of, visible_column_lineage
from airflow_ol_catalog.lineage.graph import resolve_node
from airflow_ol_catalog.store.sql import AnyRow
from airflow_ol_catalog.store.tables import column_lineage, dataset, edge

Field = tuple[int, str]  # (dataset id, field name; "" is the dataset as a whole)


class Link(NamedTuple):
    """One row of column lineage: an output field, an input field it comes from, and how."""

    output_dataset_id: int
    output_field: str
    input_dataset_id: int
    input_field: str
    type: str  # DIRECT, INDIRECT
    subtype: str  # "" when none was sent
    description: str | None
    masking: bool


def start_fields(conn: Connection, node_id: str, namespace: str | None = None) -> set[Field] | set[int]:
    """A field node's field; a dataset node's dataset (all its fields); a job node's outputs."""
    node, found = resolve_node(conn, node_id, KINDS, namespace)
    if node.kind == DATASET_FIELD:
        assert node.field is not None  # a field node id always names its field (NodeId checks it)
        return {(found, node.field)}
    if node.kind == DATASET:
        return {found}
    outputs = conn.execute(select(edge.c.dataset_id).where(edge.c.job_id == found, edge.c.direction == "out")).scalars()
    return set(outputs)


def column_lineage_graph(
    conn: Connection, node_id: str, depth: int, with_downstream: bool, namespace: str | None = None
) -> list[dict[str, Any]]:
    start = start_fields(conn, node_id, namespace)
    whole = {s for s in start if isinstance(s, int)}
    fields: set[Field] = {s for s in start if isinstance(s, tuple)}
    links: set[Link] = set()

    def expand(upstream: bool, frontier_fields: set[Field], frontier_datasets: set[int]) -> None:
        side, other = (("output_dataset_id", "output_field"), ("input_dataset_id", "input_field"))[
            :: 1 if upstream else -1
        ]
        for _ in range(max(depth, 1)):  # as Marquez: depth 0 still fetches the first edge of each column
            if not (frontier_fields or frontier_datasets):
                return
            rows: list[AnyRow] = []
            ids = {ds for ds, _ in frontier_fields} | frontier_datasets
            for r in conn.execute(visible_column_lineage().where(column_lineage.c[side[0]].in_(ids))):
                mine = (r._mapping[side[0]], r._mapping[side[1]])
                if mine[0] in frontier_datasets or mine in frontier_fields:
                    rows.append(r)
            found: set[Field] = set()
            for r in rows:
                links.add(_link(r))
                found.add((r._mapping[other[0]], r._mapping[other[1]]))
                fields.add((r._mapping[side[0]], r._mapping[side[1]]))  # a whole dataset's field met
            frontier_fields, frontier_datasets = found - fields, set()
            fields.update(found)

    first = set(fields)
    expand(True, set(first), set(whole))
    if with_downstream:  # from the node itself: not the other readers of what it came from
        expand(False, first, set(whole))
        _complete_inputs(conn, fields, links)
    return _nodes(conn, fields, links)


def _link(r: AnyRow) -> Link:
    return Link(
        r.output_dataset_id,
        r.output_field,
        r.input_dataset_id,
        r.input_field,
        r.type,
        r.subtype,
        r.description,
        r.masking,
    )


def _complete_inputs(conn: Connection, fields: set[Field], links: set[Link]) -> None:
    """A field reached downstream shows all its inputs, not only the one the walk came through."""
    outputs = {(out_ds, out_field) for out_ds, out_field, *_ in links}
    ids = {ds for ds, _ in outputs}
    if not ids:
        return
    for r in conn.execute(visible_column_lineage().where(column_lineage.c.output_dataset_id.in_(ids))):
        if (r.output_dataset_id, r.output_field) in outputs:
            links.add(_link(r))
            fields.add((r.input_dataset_id, r.input_field))


def _nodes(conn: Connection, fields: set[Field], links: set[Link]) -> list[dict[str, Any]]:
    """Marquez's column graph: a node per field, one edge per (column, input column) pair, and the
    ways a column derives from an input (DIRECT, INDIRECT, each with its subtype) in its data."""
    ids = sorted({ds for ds, _ in fields})
    names = {
        r.id: (r.namespace, r.name)
        for r in conn.execute(select(dataset.c.id, dataset.c.namespace, dataset.c.name).where(dataset.c.id.in_(ids)))
    }
    facets = facets_of(conn, "dataset", ids)
    types = {
        (ds, f.get("name")): f.get("type")
        for ds in ids
        for f in (facets[ds].get("schema", {}).get("fields") or [])
        if isinstance(f, dict)
    }

    # A node's id: plain, or escaped when a colon in the dataset's name or the field would let the
    # plain one name another column (`field_node_id`); so no two columns of a graph share one.
    ids_of: dict[Field, str] = {(ds, field_name): field_node_id(*names[ds], field_name) for ds, field_name in fields}

    def key(ds: int, field_name: str) -> str:
        return ids_of[ds, field_name]

    nodes: dict[str, dict[str, Any]] = {}
    for ds, field_name in fields:
        ns, name = names[ds]
        nodes[key(ds, field_name)] = {
            "id": key(ds, field_name),
            "type": "DATASET_FIELD",
            "data": {
                "namespace": ns,
                "dataset": name,
                "datasetVersion": None,
                "field": field_name,
                "fieldType": types.get((ds, field_name)),
                "transformationDescription": None,
                "transformationType": None,
                "inputFields": [],
            },
            "inEdges": [],
            "outEdges": [],
        }
    pairs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for out_ds, out_field, in_ds, in_field, type_, subtype, description, masking in links:
        pairs.setdefault((key(out_ds, out_field), key(in_ds, in_field)), []).append(
            {"type": type_, "subtype": subtype or None, "description": description, "masking": bool(masking)}
        )
    for out_key, in_key in sorted(pairs):
        # A way without a type is the projection's mark of an input named with no way: none is said.
        ways = sorted(
            (t for t in pairs[out_key, in_key] if t["type"]),
            key=lambda t: (t["type"] != "DIRECT", t["type"], t["subtype"] or ""),
        )
        first = ways[0] if ways else {"type": None, "subtype": None, "description": None}
        source = nodes[in_key]["data"]
        nodes[out_key]["data"]["inputFields"].append(
            {
                "namespace": source["namespace"],
                "dataset": source["dataset"],
                "datasetVersion": None,
                "field": source["field"],
                "transformationDescription": first["description"],
                "transformationType": first["type"],
                "transformationSubtype": first["subtype"],
                "transformations": ways,
            }
        )
        nodes[out_key]["inEdges"].append({"origin": out_key, "destination": in_key})
        nodes[in_key]["outEdges"].append({"origin": in_key, "destination": out_key})
    for node in nodes.values():
        data = node["data"]
        data["inputFields"].sort(key=lambda f: (f["namespace"], f["dataset"], f["field"]))
        if data["inputFields"]:
            data["transformationDescription"] = data["inputFields"][0]["transformationDescription"]
            data["transformationType"] = data["inputFields"][0]["transformationType"]
    return [nodes[k] for k in sorted(nodes)]

"""Answers of the lineage graph routes and of Marquez's /stats routes, in Marquez's shapes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from airflow_ol_catalog.api.datamodels.common import Answer
from airflow_ol_catalog.api.datamodels.marquez import NodeRef


class Edge(Answer):
    origin: str = Field(description="Node id the edge starts from.")
    destination: str = Field(description="Node id the edge ends at.")


class LineageEdge(Edge):
    """An edge of the lineage graph; the two fields below are only there when they apply (the
    route leaves out what it did not set)."""

    relation: Literal["control"] | None = Field(
        None,
        description="`control` on an edge between two jobs that a run's `jobDependencies` facet states (one job's "
        "run waits for the other's); absent on data flow, which every other edge is.",
    )
    via: str | None = Field(
        None,
        description="On an edge from a job to a job: the node id of the dataset it stands for, a job's passing output "
        "(`datasetType` JOB_OUTPUT or subtype TEMPORARY), left out of the graph unless `showTemporary=true`.",
    )


class _Node(Answer):
    id: str = Field(description="`job:NAMESPACE:NAME` or `dataset:NAMESPACE:NAME`.")
    inEdges: list[LineageEdge] = Field(description="Edges ending at this node, sorted by origin.")
    outEdges: list[LineageEdge] = Field(description="Edges starting at this node, sorted by destination.")


class JobNode(_Node):
    type: Literal["JOB"]
    data: dict[str, Any] = Field(
        description="The job as `GET /namespaces/{namespace}/jobs/{job}` answers it, with its newest run in `latestRun` "
        "and without `latestRuns`, as Marquez's lineage graph has it."
    )


class DatasetNode(_Node):
    type: Literal["DATASET"]
    data: dict[str, Any] = Field(
        description="The dataset as `GET /namespaces/{namespace}/datasets/{dataset}` answers it (to this caller)."
    )


class LineageGraph(Answer):
    graph: list[Annotated[JobNode | DatasetNode, Field(discriminator="type")]] = Field(
        description="Every node once, sorted by id; an edge is listed by both of its nodes."
    )
    truncated: bool = Field(
        description="True when the graph would have passed `[ol_catalog] max_graph_nodes`: it stops at the last hop that fits."
    )


class Transformation(Answer):
    type: str = Field(description="`DIRECT` or `INDIRECT`.")
    subtype: str | None = Field(description="E.g. `IDENTITY`, `TRANSFORMATION`, `AGGREGATION`, `FILTER`, `JOIN`.")
    description: str | None
    masking: bool


class FlowEnd(Answer):
    """A dataset (or one of its columns) or a job at one end of a stated flow."""

    id: str = Field(description="Node id: `job:NAMESPACE:NAME` or `dataset:NAMESPACE:NAME`.")
    type: Literal["JOB", "DATASET"]
    namespace: str
    name: str
    field: str | None = Field(description="The dataset's column; null for the dataset (or job) as a whole.")
    runId: str | None = Field(description="A job's run the statement bound the flow to, when given.")


class StatedFlow(Answer):
    """One flow a `lineage` facet stated, as stated."""

    relation: Literal["data", "control"] = Field(
        description="`data`: a `lineage` facet's flow; `control`: a `jobDependencies` facet's (the target job's run "
        "waits for the source job's)."
    )
    source: FlowEnd = Field(description="Where the data comes from (for control, the job waited for).")
    target: FlowEnd = Field(description="Where it flows into (for control, the job that waits).")
    transformations: list[Transformation] = Field(description="As stated; empty when none was (and for control).")
    rules: dict[str, str] | None = Field(
        description="For control: `dependency_type`, `sequence_trigger_rule`, `status_trigger_rule`, `trigger_rule` "
        "as sent; null for data."
    )
    statedBy: NodeRef | None = Field(description="The job whose events stated it; null for a dataset's own facet.")
    declared: bool = Field(description="A JobEvent declared it (what the job is built to do).")
    observed: bool = Field(description="A run (or a DatasetEvent) stated it as it happened.")
    firstSeenAt: str
    lastSeenAt: str


class StatedFlows(Answer):
    flows: list[StatedFlow] = Field(description="Into the node first, then out of it; each sorted by the other end.")


class InputField(Answer):
    namespace: str
    dataset: str
    datasetVersion: str | None
    field: str = Field(description='The input column; "" when the whole dataset is the input.')
    transformationDescription: str | None = Field(description="Of the first of `transformations` (Marquez's field).")
    transformationType: str | None = Field(description="Of the first of `transformations` (Marquez's field).")
    transformationSubtype: str | None = Field(description="Of the first of `transformations`.")
    transformations: list[Transformation] = Field(
        description="Every way the column is derived from this input, DIRECT ones first; empty when the producer "
        "named the input and no way (the value comes from it, how is not said)."
    )


class ColumnData(Answer):
    namespace: str
    dataset: str
    datasetVersion: str | None
    field: str
    fieldType: str | None = Field(description="From the dataset's newest schema facet.")
    transformationDescription: str | None = Field(description="Of its first input field, as Marquez gives it.")
    transformationType: str | None = Field(description="Of its first input field, as Marquez gives it.")
    inputFields: list[InputField] = Field(description="One per input column, sorted by namespace, dataset, field.")


class ColumnNode(Answer):
    id: str = Field(
        description="`datasetField:NAMESPACE:DATASET:FIELD`, or, when the dataset's name or the field holds a colon, "
        "`datasetField%:NAMESPACE:DATASET:FIELD` with `:` written `%3A` (and `%` `%25`) in the namespace and the "
        "dataset's name, which reads as this column alone."
    )
    type: Literal["DATASET_FIELD"]
    data: ColumnData
    inEdges: list[Edge] = Field(
        description="One per input column; as in Marquez, `origin` is this node and `destination` the input."
    )
    outEdges: list[Edge] = Field(description="One per column derived from this one: `origin` this node.")


class ColumnLineageGraph(Answer):
    graph: list[ColumnNode]


# --- Marquez's /stats routes (its web UI's dashboard) ----------------------------------------------

_INTERVAL = (
    "With `period=DAY` the hour, in UTC. With `period=WEEK` the day in `timezone`, its local midnight written "
    "with a `Z` as Marquez's server writes it (its web UI reads it back in UTC)."
)


class LineageMetric(Answer):
    startInterval: str = Field(description=_INTERVAL)
    endInterval: str
    fail: int = Field(description="FAIL run events with an event time in the interval.")
    start: int
    complete: int
    abort: int


class IntervalMetric(Answer):
    startInterval: str = Field(description=_INTERVAL)
    endInterval: str
    count: int = Field(description="How many there were by the end of the interval (first seen before it ended).")

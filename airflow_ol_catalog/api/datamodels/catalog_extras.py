"""Answers of the catalog's own read routes, beyond Marquez's API: data sources, impact, overview counts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from airflow_ol_catalog.api.datamodels.common import Answer, Problem
from airflow_ol_catalog.api.datamodels.marquez import NodeRef, Owner, Run, RunState, RunTest

# --- /data-sources ---------------------------------------------------------------------------------


class DataSourceSummary(Answer):
    """One Airflow Connection seen as a data source, with the datasets matched to it."""

    connId: str | None = Field(description="The Connection's id; null when the caller may not read Connections.")
    scheme: str = Field(description="The OpenLineage namespace scheme the Connection stands for (`postgres`, ...).")
    namespaces: list[str] = Field(description="Namespace match keys it answers to; empty when withheld.")
    database: str | None = Field(description="The database a SQL Connection opens; null when withheld or unknown.")
    datasets: int = Field(description="Datasets matched to it.")
    ok: int = Field(description="Matched datasets whose table agrees with their lineage schema.")
    missing: int = Field(description="Matched datasets whose table does not exist.")
    drifted: int = Field(description="Matched datasets whose table's columns differ from their lineage schema.")
    unchecked: int = Field(
        0,
        description="Matched datasets whose table could not be checked (the source unreachable, a failed login, ...).",
    )


class UnmatchedNamespace(Answer):
    namespace: str
    status: Literal["unmatched", "ambiguous"]
    datasets: int = Field(description="Datasets of this namespace in that state.")
    candidates: list[str] = Field(
        description="ambiguous: the Connections it could be; unmatched: Connections of the same kind (empty when withheld)."
    )


class Withheld(Answer):
    fields: list[str] = Field(description="The fields left out of this answer, as `list.field`.")
    reason: str


class DataSources(Answer):
    dataSources: list[DataSourceSummary]
    unmatched: list[UnmatchedNamespace]
    reconciled: bool = Field(description="False until the ol_catalog_reconcile DAG has run.")
    withheld: Withheld | None = Field(description="What was left out for this caller and why; null when nothing.")


# --- /impact ---------------------------------------------------------------------------------------


class Impacted(Answer):
    id: str = Field(
        description="Node id of the impacted dataset or field (`dataset:NS:NAME`, `datasetField:...`, or "
        "`datasetField%:...` for a column whose dataset's name or field holds a colon)."
    )
    type: Literal["DATASET", "DATASET_FIELD"]
    depth: int = Field(description="Hops from the start.")
    previous: str = Field(description="The node before this one on its path (the start, at depth 1).")
    via: str | None = Field(
        description="The job between `previous` and this one (named in the answer's `jobs`); null where a "
        "`lineage` facet states the flow between the two datasets without a job."
    )
    path: list[str] = Field(
        description="Node ids from the start to this one (of a dataset: the jobs between too); empty when "
        "`pathsOmitted`."
    )
    jobs: list[str] = Field(
        description="Job node ids on the path, in order (named in the answer's `jobs`); empty when `pathsOmitted`."
    )
    namespace: str = Field(description="The dataset's namespace (of a field: its dataset's).")
    name: str = Field(description="The dataset's name.")
    field: str | None = Field(description="The field's name; null for a dataset.")
    owners: list[Owner] = Field(description="The dataset's owners (its `ownership` facet); a field's: its dataset's.")


class LastRun(Answer):
    runId: str
    state: RunState
    startedAt: str | None
    endedAt: str | None = Field(description="Set once a terminal event (COMPLETE, FAIL, ABORT) arrived.")


class ImpactJob(Answer):
    """A job on the path to something impacted: who owns it and how its newest run went."""

    namespace: str
    name: str
    owners: list[Owner] = Field(description="From the job's `ownership` facet.")
    latestRun: LastRun | None = Field(description="Its newest run; null when it has none of its own.")


class Impact(Answer):
    nodeId: str = Field(description="The start, as a node id.")
    impacted: list[Impacted] = Field(description="Everything downstream, nearest first.")
    jobs: dict[str, ImpactJob] = Field(description="Each job on any of the paths, by node id.")
    totalCount: int
    truncated: bool = Field(description="True when the walk stopped at `[ol_catalog] max_graph_nodes`.")
    pathsOmitted: bool = Field(
        description="True when the paths together would hold over 1,000,000 node ids (they grow with the square "
        "of a chain's length): every `path` and `jobs` is empty, and each path is followed through `previous`."
    )


# --- /stats ----------------------------------------------------------------------------------------


class DayCount(Answer):
    day: str = Field(description="YYYY-MM-DD, UTC.")
    events: int


class HourCount(Answer):
    hour: str = Field(description="YYYY-MM-DDTHH:00, UTC.")
    events: int


class NamespaceCount(Answer):
    namespace: str
    events: int
    lastEventAt: str | None = Field(description="ISO 8601, UTC.")


class FacetWarning(Answer):
    producer: str
    facet: str = Field(description="Where and which: `job.ownership`, `dataset.schema`, `output.outputStatistics` ...")
    events: int = Field(description="Stored events whose facet broke its schema (since the catalog began counting).")
    lastSeenAt: str = Field(description="Event time of the newest.")
    example: Problem = Field(description="The newest one's first problem: the field and what is wrong.")


class FailingDataset(Answer):
    namespace: str
    name: str
    passed: int
    failed: int
    unknown: int = Field(description="Tests whose result was not sent.")
    checkedAt: str = Field(description="Event time of the newest check.")


class FailingRun(Answer):
    runId: str
    job: NodeRef
    failed: int = Field(description="Tests of the run's `test` facet with status `fail`.")
    tests: int
    eventTime: str


class TestFailures(Answer):
    """Test results over the catalog: each dataset's newest result of each test (as its page shows
    them), and the `test` facets of recent runs."""

    datasetsTested: int = Field(description="Datasets with test results in the last `days` days.")
    datasetsFailing: int = Field(description="Of those, datasets with a failed test among their newest results.")
    failedTests: int = Field(description="Failed tests over those datasets.")
    failingDatasets: list[FailingDataset] = Field(description="The newest checked first, at most 10.")
    runsTested: int = Field(description="Runs of the last `days` days that sent a `test` facet.")
    runsFailing: int = Field(description="Of those, runs with a failed test.")
    failingRuns: list[FailingRun] = Field(description="The newest first, at most 10.")


class CatalogStats(Answer):
    events: int = Field(description="Events in the catalog (quarantined ones aside).")
    quarantinedEvents: int = Field(description="Events waiting for their namespace.")
    jobs: int = Field(description="Jobs as the job list counts them (a parent known only through its children too).")
    datasets: int = Field(description="Datasets as the dataset list counts them (aliases counted once).")
    runsByState: dict[str, int] = Field(description="Runs per state (`RUNNING`, `COMPLETED`, `FAILED`, ...).")
    eventsPerDay: list[DayCount] = Field(description="Events received per day over the last `days` days.")
    eventsPerHour: list[HourCount] = Field(description="Events received per hour over the last 48 hours.")
    refusedByReason: dict[str, int] = Field(description="Refused requests per reason over the last `days` days.")
    facetWarnings: list[FacetWarning] = Field(
        description="Producers whose facets broke their published schema in the last `days` days (stored events; "
        "a facet shown whole was not used), most events first, at most 20."
    )
    eventsPerNamespace: list[NamespaceCount] = Field(description="Live namespaces, most events first.")
    tests: TestFailures


class Hidden(Answer):
    """What hiding or restoring left: Marquez answers its DELETE with the entity, which a hidden one
    no longer shows, so the catalog says the state instead."""

    hidden: bool = Field(description="True when the entity is now hidden from lists, lineage and search.")


# --- /namespaces/{ns}/datasets/{name}/measurements -------------------------------------------------


class Measurement(Answer):
    """What one event of a run said of the dataset it read (`side: in`) or wrote (`out`)."""

    eventTime: str
    runId: str
    job: NodeRef
    side: Literal["in", "out"]
    rowCount: int | float | None = Field(description="From inputStatistics/outputStatistics, else dataQualityMetrics.")
    bytes: int | float | None
    fileCount: int | float | None
    columnMetrics: dict[str, dict[str, int | float]] = Field(
        description="Per column: nullCount, distinctCount, sum, count, min, max (dataQualityMetrics)."
    )
    subset: str | None = Field(description="The partitions, locations or condition the run read or wrote, as one line.")


class Measurements(Answer):
    points: list[Measurement] = Field(description="Oldest first.")
    runs: int = Field(description="Runs read.")
    truncated: bool = Field(
        description="True when the dataset has more runs than `runs`, or those runs more events than 20 each "
        "(the newest are read)."
    )


# --- /namespaces/{ns}/datasets/{name}/test-runs ----------------------------------------------------


class TestRun(Answer):
    """A run that read or wrote the dataset and said which tests it executed (TestRunFacet)."""

    runId: str
    job: NodeRef
    state: RunState
    eventTime: str = Field(description="Event time of the run's newest `test` facet.")
    tests: list[RunTest]


class TestRuns(Answer):
    runs: list[TestRun] = Field(description="Newest first.")


# --- /jobs/runs/{id}/compare ------------------------------------------------------------------------


class ComparedSide(Answer):
    added: list[NodeRef] = Field(description="Datasets the run read (or wrote) that the other run did not.")
    removed: list[NodeRef] = Field(description="Datasets the other run read (or wrote) that this run did not.")
    kept: list[NodeRef] = Field(description="Datasets both read (or wrote).")


class RunFigures(Answer):
    rowCount: int | float | None
    bytes: int | float | None
    fileCount: int | float | None


class ComparedMeasurement(Answer):
    side: Literal["in", "out"]
    dataset: NodeRef
    before: RunFigures | None = Field(description="What the other run's newest event measured; null: nothing.")
    after: RunFigures | None = Field(description="What this run's newest event measured; null: nothing.")


class ChangedFacet(Answer):
    kind: Literal["run", "job"] = Field(description="A run facet, or a job facet as the run's events sent it.")
    name: str
    before: Any = Field(description="The other run's value; null when it had none.")
    after: Any = Field(description="This run's value; null when it has none.")


class RunComparison(Answer):
    """How a run differs from another one (`with`), usually the same job's run before it."""

    run: Run
    other: Run
    inputs: ComparedSide
    outputs: ComparedSide
    measurements: list[ComparedMeasurement] = Field(
        description="Rows, bytes and files either run's events measured (`inputStatistics`, `outputStatistics`, "
        "`dataQualityMetrics`), per dataset and side."
    )
    facets: list[ChangedFacet] = Field(description="Facets whose values differ, run facets first, each by name.")

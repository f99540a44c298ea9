"""Answers of the Marquez-compatible routes: namespaces, sources, datasets and their versions, jobs
and their versions, runs and search, in the shapes Marquez's API gives them, so Marquez clients
read the catalog unchanged. Fields Marquez does not have are the catalog's own, used by its pages.

Times are ISO 8601 strings in UTC; null where Marquez leaves a value out or null."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from airflow_ol_catalog.api.datamodels.common import Answer
from airflow_ol_catalog.api.datamodels.quality import DatasetQuality
from airflow_ol_catalog.api.datamodels.tags import TagOrigin

RunState = Literal["NEW", "RUNNING", "COMPLETED", "FAILED", "ABORTED"]
Facets = dict[str, Any]


class NodeRef(Answer):
    """A dataset or job by namespace and name (Marquez's DatasetId and JobId)."""

    namespace: str
    name: str


class VersionRef(NodeRef):
    """A dataset or job version (Marquez's DatasetVersionId and JobVersionId)."""

    version: str = Field(description="A UUID.")


# --- namespaces ------------------------------------------------------------------------------------


class Namespace(Answer):
    name: str
    createdAt: str | None
    updatedAt: str | None
    ownerName: str = Field(description="The namespace's first admin; `anonymous` when it has none.")
    description: str | None
    isHidden: bool
    registered: bool = Field(
        description="Registered in the catalog (events were sent as this namespace, or an admin created it); "
        "false for a namespace known only from the datasets or jobs in it."
    )
    admins: list[str] = Field(description="Airflow users who administer the registered namespace.")
    integrations: list[str] = Field(
        description="Integrations that sent events as this namespace (AIRFLOW, SPARK, ...)."
    )
    eventCount: int
    firstEventAt: str | None
    lastEventAt: str | None


class NamespaceList(Answer):
    namespaces: list[Namespace]
    totalCount: int


# --- sources ---------------------------------------------------------------------------------------


class Source(Answer):
    type: str = Field(description="The connection URL's scheme in capitals, e.g. POSTGRESQL.")
    name: str
    createdAt: str | None
    updatedAt: str | None
    connectionUrl: str
    description: str | None


class SourceList(Answer):
    sources: list[Source]
    totalCount: int


# --- datasets --------------------------------------------------------------------------------------


class DatasetField(Answer):
    name: str | None
    type: str | None
    tags: list[str]
    tagOrigins: list[TagOrigin] = Field([], description="Where each of the column's tags came from (none on versions).")
    description: str | None


class ColumnInput(Answer):
    namespace: str
    dataset: str
    field: str
    transformationDescription: str | None
    transformationType: str | None


class ColumnLineage(Answer):
    name: str = Field(description="The output field.")
    inputFields: list[ColumnInput]
    transformationDescription: str | None
    transformationType: str | None


class Owner(Answer):
    name: str = Field(description="Who, as a URN: `team:data`, `user:jdoe`.")
    type: str | None = Field(description="E.g. MAINTAINER.")


class SqlText(Answer):
    query: str
    dialect: str | None = Field(description="E.g. postgres, snowflake (SQLJobFacet 1-1-0).")


class SourceCode(Answer):
    language: str | None
    sourceCode: str


class SourceLocation(Answer):
    type: str | None = Field(description="E.g. git.")
    url: str | None
    repoUrl: str | None
    path: str | None
    version: str | None
    tag: str | None
    branch: str | None


class RunError(Answer):
    message: str
    programmingLanguage: str | None
    stackTrace: str | None = Field(description="As sent, with its line breaks.")


class RunRef(Answer):
    runId: str
    job: NodeRef


class RunTest(Answer):
    """One test the run executed (TestRunFacet)."""

    name: str
    status: str | None = Field(description="pass (no issues), fail (issues found), skip (not run), as sent.")
    severity: str | None = Field(description="error (blocks the pipeline) or warn.")
    type: str | None = Field(description="E.g. not_null, unique, row_count, freshness, custom_sql.")
    description: str | None
    expected: str | None
    actual: str | None
    content: str | None = Field(description="The test's body, e.g. its SQL.")
    contentType: str | None = Field(description="E.g. sql, json, expression.")
    params: dict[str, Any]


class ExtractionFailure(Answer):
    errorMessage: str
    stackTrace: str | None
    task: str | None = Field(description="What the producer failed to read: a statement, an operator.")
    taskNumber: int | None


class ExtractionError(Answer):
    """The producer's word that the run's lineage is incomplete (ExtractionErrorRunFacet)."""

    totalTasks: int | None
    failedTasks: int | None
    errors: list[ExtractionFailure]


class RunParameter(Answer):
    key: str
    name: str | None
    value: str | None
    description: str | None


class Engine(Answer):
    name: str | None
    version: str | None
    openlineageAdapterVersion: str | None


class AirflowTask(Answer):
    """The Airflow DAG run or task instance an OpenLineage run stands for."""

    dagId: str
    dagRunId: str
    taskId: str | None = Field(description="Null for the run of a whole DAG.")
    mapIndex: int | None = Field(description="-1 when the task is not mapped; null when the facet does not say.")
    tryNumber: int | None
    operator: str | None = Field(description="The task's operator class (`SQLExecuteQueryOperator`, ...).")
    runType: str | None = Field(
        description="How the DAG run came about: manual, scheduled, asset_triggered, backfill..."
    )
    logUrl: str | None = Field(description="The task instance's log in Airflow's UI, as the provider links it.")


class DataCatalog(Answer):
    """The catalog that holds a dataset (CatalogDatasetFacet)."""

    framework: str | None = Field(description="E.g. iceberg, hive, unity, glue.")
    type: str | None
    name: str | None
    metadataUri: str | None
    warehouseUri: str | None
    source: str | None = Field(description="The tool that reported it, e.g. spark.")
    properties: dict[str, str]


class HierarchyLevel(Answer):
    type: str = Field(description="E.g. DATABASE, SCHEMA, TABLE.")
    name: str


class Storage(Answer):
    storageLayer: str = Field(description="E.g. iceberg, delta.")
    fileFormat: str | None = Field(description="E.g. parquet, orc, avro.")


class DatasetKind(Answer):
    datasetType: str = Field(description="E.g. TABLE, VIEW, TOPIC, MODEL, JOB_OUTPUT.")
    subType: str | None


class Dataset(Answer):
    id: NodeRef
    type: Literal["DB_TABLE", "STREAM"]
    name: str
    physicalName: str
    createdAt: str | None
    updatedAt: str | None
    namespace: str
    namespaceKey: str = Field(description="The namespace as the catalog matches spellings of it.")
    sourceName: str
    fields: list[DatasetField]
    tags: list[str] = Field(description="Tag names from the dataset's `tags` facet and set by people.")
    tagOrigins: list[TagOrigin] = Field(description="Where each tag came from: `facet` or `user`.")
    lastModifiedAt: str | None = Field(description="When a completed run last wrote the dataset.")
    writeIntervalSeconds: int | None = Field(
        description="Its usual write interval: the median time between its newest completed writes (up to 10 "
        "intervals); null with fewer than 3 writes. Compare it with the time since `lastModifiedAt` for freshness."
    )
    schemaChangedAt: str | None = Field(
        description="When its fields last changed (a schema version with other fields than the one before was "
        "first seen); null when they never changed."
    )
    lastLifecycleState: str | None
    description: str | None
    currentVersion: str | None = Field(description="UUID of the newest schema version.")
    columnLineage: list[ColumnLineage]
    facets: Facets
    aliases: list[NodeRef] = Field(description="Other names of this dataset, from `symlinks` facets.")
    dataSource: dict[str, Any] | None = Field(
        description="The Airflow Connection the dataset lives in (status, connId, candidates, check, withheld)."
    )
    quality: DatasetQuality | None = Field(
        description="The newest test results and data-quality metrics sent on the dataset; null when none were."
    )
    owners: list[Owner] = Field(description="From the `ownership` facet.")
    catalog: DataCatalog | None = Field(description="From the `catalog` facet.")
    hierarchy: list[HierarchyLevel] = Field(description="From the `hierarchy` facet, outermost first.")
    storage: Storage | None = Field(description="From the `storage` facet.")
    datasetType: DatasetKind | None = Field(description="From the `datasetType` facet.")
    deleted: bool


class DatasetList(Answer):
    datasets: list[Dataset]
    totalCount: int


class DatasetVersionRef(Answer):
    datasetVersionId: VersionRef
    facets: Facets


class Run(Answer):
    id: str
    createdAt: str | None
    updatedAt: str | None
    nominalStartTime: str | None
    nominalEndTime: str | None
    state: RunState
    startedAt: str | None
    endedAt: str | None
    durationMs: int | None
    args: dict[str, str]
    jobVersion: VersionRef = Field(description="The job, and its version: the inputs and outputs this run had.")
    inputDatasetVersions: list[DatasetVersionRef]
    outputDatasetVersions: list[DatasetVersionRef]
    inputs: list[NodeRef] = Field(
        description="The datasets the run read: all its events named, or for a job that emits complete "
        "snapshots, those of its newest event."
    )
    outputs: list[NodeRef] = Field(description="The datasets the run wrote, as `inputs`.")
    facets: Facets
    errorMessage: str | None
    error: RunError | None = Field(description="From the `errorMessage` facet: message, language, stack trace.")
    parent: RunRef | None = Field(description="The run that started this one, from the `parent` facet.")
    root: RunRef | None = Field(description="The first run of this run's tree, from `root` in the `parent` facet.")
    tests: list[RunTest] = Field(description="The tests the run executed, from the `test` facet.")
    extractionError: ExtractionError | None = Field(
        description="Set when the producer says it could not extract all of the run's lineage."
    )
    parameters: list[RunParameter] = Field(description="From the `executionParameters` facet.")
    engine: Engine | None = Field(description="From the `processing_engine` facet.")
    airflow: AirflowTask | None = Field(
        description="The Airflow DAG run or task instance, from the facets of Airflow's OpenLineage provider."
    )
    placeholder: bool = Field(description="Known only as another run's parent so far.")


class TreeRun(Answer):
    runId: str
    job: NodeRef
    parentRunId: str | None = Field(description="Null for the first run of the tree (and when not shown).")
    parentJob: NodeRef | None = Field(description="The job of that parent run (run ids are unique per job).")
    state: RunState
    startedAt: str | None
    endedAt: str | None
    durationMs: int | None
    placeholder: bool = Field(description="Known only as another run's parent so far.")


class RunTree(Answer):
    """A run's tree: the runs above it up to the first, and every run below that one."""

    runId: str
    rootRunId: str = Field(description="The first run of the tree.")
    rootJob: NodeRef
    truncated: bool = Field(description="True when the tree has more runs than `limit`.")
    runs: list[TreeRun] = Field(
        description="Oldest start first; each names its parent. The run asked about and the runs above it are "
        "always among them."
    )


class DatasetVersion(Answer):
    id: VersionRef
    type: Literal["DB_TABLE", "STREAM"]
    name: str
    physicalName: str
    createdAt: str | None
    version: str = Field(description="A UUID.")
    namespace: str
    sourceName: str
    fields: list[DatasetField]
    tags: list[str]
    lifecycleState: str | None
    description: str | None
    createdByRun: Run | None
    facets: Facets = Field(description="Empty: the catalog keeps each version's fields, not its other facets.")
    datasetVersion: str | None = Field(description="The producer's own version (the `version` facet), when sent.")
    lastSeenAt: str | None


class DatasetVersionList(Answer):
    versions: list[DatasetVersion]
    totalCount: int


# --- jobs and runs ---------------------------------------------------------------------------------


class EmissionPattern(Answer):
    """How a job emits its events (`emissionPattern` of the jobType facet)."""

    eventTrigger: str | None = Field(description="E.g. ON_STATE_CHANGE, EVENT_BASED, PERIODIC.")
    eventContentMode: str | None = Field(
        description="ACCUMULATIVE (each event a part of the run's inputs and outputs) or COMPLETE_SNAPSHOT "
        "(each event all of them: the catalog shows the newest)."
    )
    windowDuration: int | float | None = Field(description="Seconds between PERIODIC events.")


class Job(Answer):
    id: NodeRef
    type: Literal["BATCH", "STREAM", "SERVICE"]
    name: str
    simpleName: str
    parentJobName: str | None
    parentJob: NodeRef | None
    createdAt: str | None
    updatedAt: str | None
    namespace: str
    inputs: list[NodeRef]
    outputs: list[NodeRef]
    location: str | None
    description: str | None
    facets: Facets
    latestRun: Run | None
    latestRuns: list[Run] | None = Field(
        description="The newest ten runs, newest first; null when the job has no run (as Marquez answers it)."
    )
    currentVersion: str | None = Field(description="The version of the newest run.")
    tags: list[str] = Field(description="Tag names from the job's `tags` facet and set by people.")
    tagOrigins: list[TagOrigin] = Field(description="Where each tag came from: `facet` or `user`.")
    jobType: str | None
    integration: str | None
    processingType: str | None
    emissionPattern: EmissionPattern | None = Field(description="From the `jobType` facet.")
    placeholder: bool
    upstreamTasks: list[str] = Field(description="Airflow task ids this task runs after.")
    owners: list[Owner] = Field(description="From the `ownership` facet.")
    sql: SqlText | None = Field(description="From the `sql` facet: the query and its dialect.")
    sourceCode: SourceCode | None = Field(description="From the `sourceCode` facet.")
    sourceCodeLocation: SourceLocation | None = Field(description="From the `sourceCodeLocation` facet.")


class JobList(Answer):
    jobs: list[Job]
    totalCount: int


class JobVersion(Answer):
    id: VersionRef
    name: str
    createdAt: str | None
    version: str
    namespace: str
    location: str | None
    inputs: list[NodeRef]
    outputs: list[NodeRef]
    latestRun: Run | None


class JobVersionList(Answer):
    versions: list[JobVersion]
    totalCount: int


class RunList(Answer):
    runs: list[Run]
    totalCount: int


class FacetsOfRun(Answer):
    runId: str
    facets: Facets


# --- search -------------------------------------------------------------------------------------


class SearchResult(Answer):
    type: Literal["DATASET", "JOB", "FIELD"]
    name: str = Field(description="The dataset's or job's name; for a column, `dataset.field`.")
    namespace: str
    updatedAt: str | None
    nodeId: str
    dataset: str | None = Field(None, description="FIELD: the dataset the column belongs to.")
    field: str | None = Field(None, description="FIELD: the column.")


class SearchResults(Answer):
    totalCount: int = Field(description="How many match (Marquez: how many it returned).")
    results: list[SearchResult]

"""Answers of the routes that join Airflow's Assets with the catalog's datasets."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from airflow_ol_catalog.api.datamodels.common import Answer
from airflow_ol_catalog.api.datamodels.marquez import NodeRef, Run, RunState, TreeRun


class AssetProducer(Answer):
    dagId: str
    taskId: str


class ProducingRun(Answer):
    """The OpenLineage run an asset event names in `extra.openlineage` (the run that wrote the data)."""

    job: NodeRef
    runId: str


class AirflowAssetEvent(Answer):
    id: int
    timestamp: str
    sourceDagId: str | None = Field(description="The DAG whose task emitted it; null when made through the API.")
    sourceTaskId: str | None
    sourceRunId: str | None = Field(description="The DAG run of that task.")
    sourceMapIndex: int | None
    partitionKey: str | None
    producingRun: ProducingRun | None = Field(
        description="The OpenLineage run `extra.openlineage` names (parentJobNamespace, parentJobName, parentRunId)."
    )


class AirflowAsset(Answer):
    """One Airflow Asset, and the catalog dataset it names."""

    id: int = Field(description="The Asset's id in Airflow (its page is /assets/{id}).")
    name: str
    uri: str
    group: str
    active: bool = Field(description="Declared by a DAG file the dag-processor parsed last.")
    openLineage: NodeRef | None = Field(
        description="The dataset the OpenLineage provider converts the Asset's URI to; null when it has no conversion for its scheme."
    )
    dataset: NodeRef | None = Field(
        description="The catalog dataset of that name (any spelling of its namespace); null when none."
    )
    producers: list[AssetProducer] = Field(description="Tasks that declare it as an outlet.")
    consumers: list[str] = Field(description="DAGs scheduled on it.")


class AirflowAssetWithEvents(AirflowAsset):
    latestEvents: list[AirflowAssetEvent] = Field(description="Its newest asset events, newest first.")


class AirflowNamespaces(Answer):
    namespaces: list[str] = Field(description="Where this Airflow's DAGs and tasks are OpenLineage jobs.")


class TaskInstanceRun(Answer):
    """The OpenLineage run of an Airflow task instance, and its job; all null while none reached the catalog."""

    namespace: str | None = Field(description="The job's namespace: one of this Airflow's.")
    job: str | None = Field(description="DAG_ID.TASK_ID, as Airflow's OpenLineage provider names a task's job.")
    run: Run | None


class AirflowAssets(Answer):
    assets: list[AirflowAsset]
    totalCount: int


class DatasetAssets(Answer):
    assets: list[AirflowAssetWithEvents] = Field(description="The Assets naming this dataset (usually one).")
    watchedBy: list[AssetTrigger] = Field(description="The marks that make its writes trigger Airflow.")
    exactTrigger: int | None = Field(
        None, description="The id of the mark naming this dataset alone (made with `exact`), if there is one."
    )
    catalogWrites: list[CatalogWrite] = Field(
        description="Its newest writes seen while marked (at most 20), newest first."
    )


class DatasetsWithoutAsset(Answer):
    datasets: list[NodeRef]
    totalCount: int
    schemes: list[str] = Field(
        description="The Asset URI schemes the installed providers convert to OpenLineage names."
    )


class AssetTrigger(Answer):
    """Datasets whose writes Airflow should hear about: a COMPLETE event from any producer writing
    one makes an asset event of every Asset naming it."""

    id: int
    namespace: str = Field(description="Glob on the dataset's namespace (`*` for any); any spelling of it matches.")
    name: str = Field(description="Glob on the dataset's name.")
    createdAt: str
    createdBy: str


class AssetTriggers(Answer):
    triggers: list[AssetTrigger]


class CatalogWrite(Answer):
    """A write to a marked dataset the catalog saw, and what it made of it."""

    job: NodeRef = Field(description="The producing job.")
    runId: str
    eventTime: str = Field(description="When the COMPLETE event says the run ended.")
    partitionKey: str | None
    state: Literal["pending", "emitting", "created", "no_asset", "declared"] = Field(
        description="created: asset events made; no_asset: no Asset names the dataset; declared: the writing "
        "Airflow task declares the Asset as an outlet, and Airflow announced the write itself."
    )
    assetIds: list[int]
    assetEventIds: list[int]


class Emitted(Answer):
    created: int = Field(description="Writes that made asset events.")
    events: int = Field(description="Asset events made.")
    noAsset: int = Field(description="Writes to datasets no Asset names.")
    declared: int = Field(description="Writes by a task declaring the Asset itself (Airflow announced them).")
    failed: list[str]


class MarkingAllowed(Answer):
    allowed: bool = Field(description="Whether the caller may mark and unmark datasets.")
    reason: str | None = Field(description="Why not; null when allowed.")


# --- an Airflow DAG run's trace -------------------------------------------------------------------


class TraceRun(TreeRun):
    inputs: list[NodeRef]
    outputs: list[NodeRef]


class TraceDependency(Answer):
    job: NodeRef
    runId: str | None
    dependencyType: str | None = Field(description="As the producer says: IMPLICIT_ASSET_DEPENDENCY, ...")


class DagRunRef(Answer):
    dagId: str
    dagRunId: str


class TraceDownstream(Answer):
    job: NodeRef
    runId: str
    state: RunState
    startedAt: str | None
    after: list[str] = Field(description="The runs of this trace it names as upstream.")
    airflow: DagRunRef | None = Field(description="The Airflow DAG run it stands for, when it is one.")


class DagRunTrace(Answer):
    """An Airflow DAG run's trace: its task runs and the runs they started, with states, times and
    what each read and wrote; the runs whose writes triggered it; the runs its writes triggered."""

    dagId: str
    dagRunId: str
    runId: str = Field(description="The DAG run's own OpenLineage run.")
    truncated: bool
    startedAt: str | None = Field(description="The earliest start among its runs.")
    runs: list[TraceRun] = Field(description="Oldest start first; each names its parent.")
    upstream: list[TraceDependency] = Field(description="What the DAG run waited for (its jobDependencies facet).")
    downstream: list[TraceDownstream]

"""What the catalog reads out of a valid OpenLineage event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

RUN_EVENT = "run"
DATASET_EVENT = "dataset"
JOB_EVENT = "job"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an event: where (a path such as `inputs[0].name`) and what."""

    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


# Plain slotted dataclasses: frozen ones cost a setattr call per field, on the hot path.
@dataclass(slots=True)
class DatasetRef:
    namespace: str
    name: str
    facets: dict[str, Any] = field(default_factory=dict)
    io_facets: dict[str, Any] = field(default_factory=dict)  # inputFacets / outputFacets of this run


@dataclass(slots=True)
class OpenLineageEvent:
    kind: str  # RUN_EVENT, DATASET_EVENT or JOB_EVENT
    event_type: str | None  # START, RUNNING, COMPLETE, ABORT, FAIL, OTHER (RunEvents only)
    event_time: datetime  # timezone-aware, UTC
    producer: str
    schema_url: str | None
    run_id: str | None
    job_namespace: str | None
    job_name: str | None
    dataset: DatasetRef | None  # the subject of a DatasetEvent
    inputs: tuple[DatasetRef, ...]
    outputs: tuple[DatasetRef, ...]
    integration: str | None
    payload: dict[str, Any]
    warnings: tuple[Problem, ...] = ()  # facets that break their published schema (kept, reported)
    unused_facets: frozenset[str] = frozenset()  # `job.NAME`, `run.NAME` facets not read for that reason
    broken_facets: tuple[tuple[str, Problem], ...] = ()  # (`PLACE.NAME`, its first problem) per such facet

    @property
    def owner_namespace(self) -> str:
        """The namespace an event belongs to: its job's, or its dataset's for a DatasetEvent."""
        if self.job_namespace is not None:
            return self.job_namespace
        assert self.dataset is not None
        return self.dataset.namespace

"""A dataset's data quality: the newest test results (`dataQualityAssertions`, or Great Expectations'
`greatExpectations_assertions`) and metrics (`dataQualityMetrics`) producers sent on it."""

from __future__ import annotations

from pydantic import Field

from airflow_ol_catalog.api.datamodels.common import Answer


class JobRef(Answer):
    namespace: str
    name: str


class SentBy(Answer):
    """The run whose event sent a facet; run and job are null once retention deleted that event."""

    runId: str | None
    job: JobRef | None
    eventTime: str | None


class Assertion(Answer):
    assertion: str = Field(description="The kind of test, e.g. `not_null`, `unique`; `?` when not sent.")
    column: str | None = Field(description="The column tested; null for a test of the whole dataset.")
    success: bool | None = Field(description="Whether the test passed; null when the producer sent no result.")
    name: str | None = Field(description="The test's own name, e.g. dbt's `not_null_orders_id`.")
    severity: str | None
    expected: str | None
    actual: str | None
    runId: str | None = Field(description="The run that checked it.")
    eventTime: str | None


class QualitySummary(Answer):
    passed: int
    failed: int
    unknown: int = Field(description="Assertions without a result.")


class QualityMetrics(SentBy):
    rowCount: int | float | None
    bytes: int | float | None
    fileCount: int | float | None
    lastUpdated: str | None
    columnMetrics: dict[str, dict[str, int | float]] = Field(
        description="Per column: nullCount, distinctCount, sum, count, min, max, as sent."
    )


class DatasetQuality(Answer):
    assertions: list[Assertion] = Field(
        description="Each test's newest result (a test: its kind, column and name), over the newest "
        "`dataQualityAssertions` (or `greatExpectations_assertions`) facet of every job that tests the "
        "dataset; the newest check first."
    )
    summary: QualitySummary
    checkedBy: SentBy | None = Field(
        description="The run of the newest check (each assertion names its own run); null when none were sent."
    )
    metrics: QualityMetrics | None = Field(description="The newest `dataQualityMetrics` facet.")
    problems: list[str] = Field(description="Parts of the assertions facet that could not be read, each with its path.")

"""Every facet the catalog interprets: where it may appear, the published schema it is checked
against, and how the catalog reads it. Pure: no I/O.

The schemas are openlineage-python's generated classes (`openlineage.client.generated`), one per
facet of the spec and generated from its JSON schemas: events/facet_checks.py derives the checks
from them, and each facet's schema version is the class's own. Places: `run` (run.facets), `job`
(job.facets), `dataset` (a dataset's facets), `input` and `output` (inputFacets, outputFacets).

`whole`: the catalog shows the facet as one thing (an owner list, a SQL text), so a facet that
breaks its schema is not used at all (the raw event keeps it). Otherwise the catalog reads the
facet part by part and skips parts of the wrong shape.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from openlineage.client.generated import (
    base_subset_dataset,
    catalog_dataset,
    column_lineage_dataset,
    data_quality_assertions_dataset,
    data_quality_metrics_input_dataset,
    dataset_type_dataset,
    dataset_version_dataset,
    datasource_dataset,
    documentation_dataset,
    documentation_job,
    environment_variables_run,
    error_message_run,
    execution_parameters_run,
    external_query_run,
    extraction_error_run,
    hierarchy_dataset,
    input_statistics_input_dataset,
    job_dependencies_run,
    job_type_job,
    lifecycle_state_change_dataset,
    lineage,
    nominal_time_run,
    output_statistics_output_dataset,
    ownership_dataset,
    ownership_job,
    parent_run,
    processing_engine_run,
    schema_dataset,
    source_code_job,
    source_code_location_job,
    sql_job,
    storage_dataset,
    symlinks_dataset,
    tags_dataset,
    tags_job,
    tags_run,
    test_run,
)

PLACES = ("run", "job", "dataset", "input", "output")


@dataclass(frozen=True)
class FacetSpec:
    name: str  # its key in a facets object
    place: str  # one of PLACES
    schema: type  # the generated class of its published schema
    whole: bool  # shown as one thing: not used at all when it breaks its schema
    use: str  # what the catalog makes of it

    @property
    def version(self) -> str:
        """The schema version, from the class's schema URL (`.../facets/1-0-1/OwnershipJobFacet.json...`)."""
        found = re.search(r"/(\d+-\d+-\d+)/", self.schema._get_schema())  # type: ignore[attr-defined]
        return found.group(1).replace("-", ".") if found else "?"


def _spec(name: str, place: str, schema: type, whole: bool, use: str) -> FacetSpec:
    return FacetSpec(name, place, schema, whole, use)


FACETS: tuple[FacetSpec, ...] = (
    # run
    _spec(
        "parent",
        "run",
        parent_run.ParentRunFacet,
        False,
        "links runs and jobs to their parent (DAG -> task -> Spark); `root`, to the first run of the tree",
    ),
    _spec("nominalTime", "run", nominal_time_run.NominalTimeRunFacet, True, "the run's scheduled time"),
    _spec("errorMessage", "run", error_message_run.ErrorMessageRunFacet, True, "a failed run's error and stack trace"),
    _spec("jobDependencies", "run", job_dependencies_run.JobDependenciesRunFacet, False, "control edges between jobs"),
    _spec(
        "processing_engine",
        "run",
        processing_engine_run.ProcessingEngineRunFacet,
        True,
        "engine and version, on the run",
    ),
    _spec("externalQuery", "run", external_query_run.ExternalQueryRunFacet, True, "the query id in the source system"),
    _spec(
        "extractionError",
        "run",
        extraction_error_run.ExtractionErrorRunFacet,
        True,
        "a warning on the run: lineage the producer missed",
    ),
    _spec(
        "environmentVariables",
        "run",
        environment_variables_run.EnvironmentVariablesRunFacet,
        True,
        "kept among the run's facets",
    ),
    _spec(
        "executionParameters", "run", execution_parameters_run.ExecutionParametersRunFacet, True, "the run's parameters"
    ),
    _spec("test", "run", test_run.TestRunFacet, True, "the tests a run executed; failures in the overview"),
    _spec("tags", "run", tags_run.TagsRunFacet, False, "tags of the run"),
    # job
    _spec(
        "jobType",
        "job",
        job_type_job.JobTypeJobFacet,
        False,
        "integration, job type, batch or streaming; a COMPLETE_SNAPSHOT emission replaces",
    ),
    _spec("lineage", "job", lineage.LineageJobFacet, False, "explicit lineage: flows between datasets and jobs"),
    _spec("sql", "job", sql_job.SQLJobFacet, True, "the query, with its dialect"),
    _spec("sourceCode", "job", source_code_job.SourceCodeJobFacet, True, "the job's code"),
    _spec(
        "sourceCodeLocation", "job", source_code_location_job.SourceCodeLocationJobFacet, True, "where the code lives"
    ),
    _spec("documentation", "job", documentation_job.DocumentationJobFacet, True, "the job's description"),
    _spec("ownership", "job", ownership_job.OwnershipJobFacet, True, "the job's owners"),
    _spec("tags", "job", tags_job.TagsJobFacet, False, "tags of the job"),
    # dataset
    _spec("schema", "dataset", schema_dataset.SchemaDatasetFacet, False, "fields, schema versions, column search"),
    _spec("columnLineage", "dataset", column_lineage_dataset.ColumnLineageDatasetFacet, False, "column lineage"),
    _spec("lineage", "dataset", lineage.LineageDatasetFacet, False, "explicit lineage into the dataset"),
    _spec("symlinks", "dataset", symlinks_dataset.SymlinksDatasetFacet, False, "other names of one dataset"),
    _spec("dataSource", "dataset", datasource_dataset.DatasourceDatasetFacet, True, "the data source and its URI"),
    _spec("documentation", "dataset", documentation_dataset.DocumentationDatasetFacet, True, "the description"),
    _spec("ownership", "dataset", ownership_dataset.OwnershipDatasetFacet, True, "the dataset's owners"),
    _spec("version", "dataset", dataset_version_dataset.DatasetVersionDatasetFacet, True, "the producer's version"),
    _spec(
        "storage",
        "dataset",
        storage_dataset.StorageDatasetFacet,
        True,
        "storage layer and file format, in the page header",
    ),
    _spec(
        "lifecycleStateChange",
        "dataset",
        lifecycle_state_change_dataset.LifecycleStateChangeDatasetFacet,
        True,
        "created, overwritten, dropped ...",
    ),
    _spec("datasetType", "dataset", dataset_type_dataset.DatasetTypeDatasetFacet, True, "table, view, job output ..."),
    _spec(
        "catalog",
        "dataset",
        catalog_dataset.CatalogDatasetFacet,
        True,
        "the catalog that holds the dataset, in the page header",
    ),
    _spec(
        "hierarchy",
        "dataset",
        hierarchy_dataset.HierarchyDatasetFacet,
        True,
        "database, schema, table levels, in the page header",
    ),
    _spec("tags", "dataset", tags_dataset.TagsDatasetFacet, False, "tags of the dataset and its columns"),
    _spec(
        "dataQualityAssertions",
        "dataset",
        data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet,
        False,
        "test results on the dataset page",
    ),
    # input and output
    _spec(
        "dataQualityAssertions",
        "input",
        data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet,
        False,
        "test results on the dataset page",
    ),
    _spec(
        "dataQualityMetrics",
        "input",
        data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet,
        False,
        "row counts and column metrics, over time (Measurements)",
    ),
    _spec(
        "inputStatistics",
        "input",
        input_statistics_input_dataset.InputStatisticsInputDatasetFacet,
        True,
        "rows read, over time (Measurements)",
    ),
    _spec(
        "subset",
        "input",
        base_subset_dataset.InputSubsetInputDatasetFacet,
        True,
        "the partitions read, per run (Measurements)",
    ),
    _spec(
        "outputStatistics",
        "output",
        output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet,
        True,
        "rows and bytes written, over time (Measurements)",
    ),
    _spec(
        "subset",
        "output",
        base_subset_dataset.OutputSubsetOutputDatasetFacet,
        True,
        "the partitions written, per run (Measurements)",
    ),
)


@functools.cache
def facets_at(place: str) -> dict[str, FacetSpec]:
    """The facets the catalog knows at one place, by name."""
    return {spec.name: spec for spec in FACETS if spec.place == place}

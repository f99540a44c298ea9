"""What the catalog shows of the facets it reads whole (events/facet_registry.py): each facet read
into the few fields a page shows, so that pages and API clients get them interpreted instead of
digging into raw facets. Pure: no I/O.

A facet that broke its schema is not stored (the raw event keeps it), but catalogs written before
the checks may hold one: anything of the wrong shape reads as absent.
"""

from __future__ import annotations

import json
from typing import Any


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def number(value: Any) -> int | float | None:
    """A number as JSON decodes it (not a boolean, which Python counts as an int); else None."""
    return value if type(value) in (int, float) else None


def _facet(facets: dict[str, Any], name: str) -> dict[str, Any]:
    found = facets.get(name)
    return found if isinstance(found, dict) else {}


def owners(facets: dict[str, Any]) -> list[dict[str, str | None]]:
    """The `ownership` facet's owners: name (a URN such as `team:data`) and type (MAINTAINER ...)."""
    listed = _facet(facets, "ownership").get("owners")
    return [
        {"name": owner["name"], "type": _text(owner.get("type"))}
        for owner in (listed if isinstance(listed, list) else [])
        if isinstance(owner, dict) and _text(owner.get("name"))
    ]


def sql(facets: dict[str, Any]) -> dict[str, str | None] | None:
    """The `sql` facet: the query and its dialect (1-1-0), when sent."""
    facet = _facet(facets, "sql")
    query = _text(facet.get("query"))
    return {"query": query, "dialect": _text(facet.get("dialect"))} if query else None


def source_code(facets: dict[str, Any]) -> dict[str, str | None] | None:
    """The `sourceCode` facet: the language and the code."""
    facet = _facet(facets, "sourceCode")
    code = _text(facet.get("sourceCode"))
    return {"language": _text(facet.get("language")), "sourceCode": code} if code else None


_LOCATION = ("type", "url", "repoUrl", "path", "version", "tag", "branch")


def source_location(facets: dict[str, Any]) -> dict[str, str | None] | None:
    """The `sourceCodeLocation` facet: where the code lives (git, a URL), at which version."""
    facet = _facet(facets, "sourceCodeLocation")
    found = {key: _text(facet.get(key)) for key in _LOCATION}
    return found if found["url"] or found["repoUrl"] else None


def error(facets: dict[str, Any]) -> dict[str, str | None] | None:
    """The `errorMessage` run facet: the message, the language, and the stack trace as sent."""
    facet = _facet(facets, "errorMessage")
    message = _text(facet.get("message"))
    if not message:
        return None
    return {
        "message": message,
        "programmingLanguage": _text(facet.get("programmingLanguage")),
        "stackTrace": _text(facet.get("stackTrace")),
    }


def is_temporary(facets: dict[str, Any]) -> bool:
    """Whether the `datasetType` facet says the dataset only passes data from job to job
    (JOB_OUTPUT, or subtype TEMPORARY)."""
    kind = _facet(facets, "datasetType")
    dataset_type, subtype = kind.get("datasetType"), kind.get("subType")
    return (isinstance(dataset_type, str) and dataset_type.upper() == "JOB_OUTPUT") or (
        isinstance(subtype, str) and subtype.upper() == "TEMPORARY"
    )


def _run_ref(value: Any) -> dict[str, Any] | None:
    """`{run: {runId}, job: {namespace, name}}` as the parent facet and its `root` carry them."""
    if not isinstance(value, dict):
        return None
    run_, job_ = value.get("run"), value.get("job")
    run_id = _text(run_.get("runId")) if isinstance(run_, dict) else None
    if not run_id or not isinstance(job_, dict) or not _text(job_.get("namespace")) or not _text(job_.get("name")):
        return None
    return {"runId": run_id, "job": {"namespace": job_["namespace"], "name": job_["name"]}}


def parent(facets: dict[str, Any]) -> dict[str, Any] | None:
    """The run that started this one (the `parent` facet): its id and its job."""
    return _run_ref(facets.get("parent"))


def root(facets: dict[str, Any]) -> dict[str, Any] | None:
    """The first run of the tree this run belongs to (`root` in the parent facet, 1-1-0): an
    Airflow DAG run for a Spark job started by one of its tasks. None when not sent."""
    return _run_ref(_facet(facets, "parent").get("root"))


_TEST = ("name", "status", "severity", "type", "description", "expected", "actual", "content", "contentType")


def tests(facets: dict[str, Any]) -> list[dict[str, Any]]:
    """The tests the run executed (the `test` facet): name, status (pass, fail, skip ...),
    severity (error, warn), kind, what was expected and found, and the test's body."""
    listed = _facet(facets, "test").get("tests")
    found = []
    for item in listed if isinstance(listed, list) else []:
        if isinstance(item, dict) and _text(item.get("name")):
            shown: dict[str, Any] = {key: _text(item.get(key)) for key in _TEST}
            params = item.get("params")
            shown["params"] = params if isinstance(params, dict) else {}
            found.append(shown)
    return found


def _count(value: Any) -> int | None:
    return value if type(value) is int else None


def extraction_error(facets: dict[str, Any]) -> dict[str, Any] | None:
    """What the producer says it could not extract (the `extractionError` facet): the run's
    lineage is incomplete. Each error with the task (a statement, an operator) it failed on."""
    facet = _facet(facets, "extractionError")
    if not facet:
        return None
    listed = facet.get("errors")
    errors = [
        {
            "errorMessage": error_["errorMessage"],
            "stackTrace": _text(error_.get("stackTrace")),
            "task": _text(error_.get("task")),
            "taskNumber": _count(error_.get("taskNumber")),
        }
        for error_ in (listed if isinstance(listed, list) else [])
        if isinstance(error_, dict) and _text(error_.get("errorMessage"))
    ]
    return {
        "totalTasks": _count(facet.get("totalTasks")),
        "failedTasks": _count(facet.get("failedTasks")),
        "errors": errors,
    }


def parameters(facets: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's parameters (the `executionParameters` facet): key, name, value, description."""
    listed = _facet(facets, "executionParameters").get("parameters")
    return [
        {
            "key": item["key"],
            "name": _text(item.get("name")),
            "value": item.get("value") if isinstance(item.get("value"), str) else None,
            "description": _text(item.get("description")),
        }
        for item in (listed if isinstance(listed, list) else [])
        if isinstance(item, dict) and _text(item.get("key"))
    ]


def engine(facets: dict[str, Any]) -> dict[str, str | None] | None:
    """The engine that ran the job (the `processing_engine` facet): name, version, and the version
    of its OpenLineage integration."""
    facet = _facet(facets, "processing_engine")
    found = {key: _text(facet.get(key)) for key in ("name", "version", "openlineageAdapterVersion")}
    return found if found["name"] or found["version"] else None


def airflow_task(facets: dict[str, Any]) -> dict[str, Any] | None:
    """The Airflow task instance or DAG run behind an OpenLineage run, from the facets Airflow's
    OpenLineage provider sends (`airflow` on task runs, `airflowDagRun` on DAG runs): DAG id, DAG
    run id and how the DAG run came about (`manual`, `scheduled`, `asset_triggered`...), and for a
    task its id, map index (-1 when not mapped), try number, operator and log."""
    task_facet = _facet(facets, "airflow")
    facet = task_facet or _facet(facets, "airflowDagRun")
    dag, dag_run = _facet(facet, "dag"), _facet(facet, "dagRun")
    dag_id = _text(dag.get("dag_id")) or _text(dag_run.get("dag_id"))
    run_id = _text(dag_run.get("run_id"))
    if not dag_id or not run_id:
        return None
    task, instance = _facet(facet, "task"), _facet(facet, "taskInstance")
    map_index = _count(instance.get("map_index"))
    log_url = _text(instance.get("log_url"))
    return {
        "dagId": dag_id,
        "dagRunId": run_id,
        "taskId": _text(task.get("task_id")) if task_facet else None,
        "mapIndex": map_index if task_facet else -1,  # None: the facet does not say
        "tryNumber": _count(instance.get("try_number")),
        "operator": _text(task.get("operator_class")) if task_facet else None,
        "runType": _text(dag_run.get("run_type")),
        # the task instance's log, as the provider links it; only a web address is a link
        "logUrl": log_url if log_url and log_url.lower().startswith(("http://", "https://")) else None,
    }


_COMPARISONS = {
    "EQUAL": "=",
    "GREATER_THAN": ">",
    "GREATER_EQUAL_THAN": ">=",
    "LESS_THAN": "<",
    "LESS_EQUAL_THAN": "<=",
}
_NESTING = 16  # conditions nested deeper read as "…"


def _operand(value: Any) -> str:
    if not isinstance(value, dict):
        return "?"
    if value.get("type") == "field":
        return _text(value.get("field")) or "?"
    if value.get("type") == "literal":
        literal = value.get("value")
        return f"'{literal}'" if isinstance(literal, str) else json.dumps(literal, ensure_ascii=False)
    return "?"


def _condition(value: Any, depth: int = 0) -> str:
    if not isinstance(value, dict) or depth > _NESTING:
        return "…"
    kind = value.get("type")
    if kind == "compare":
        comparison = value.get("comparison")
        sign = _COMPARISONS.get(comparison, comparison) if isinstance(comparison, str) else "?"
        return f"{_operand(value.get('left'))} {sign} {_operand(value.get('right'))}"
    if kind == "binary":
        operator = _text(value.get("operator")) or "?"
        return f"({_condition(value.get('left'), depth + 1)}) {operator} ({_condition(value.get('right'), depth + 1)})"
    if kind == "location":
        listed = value.get("locations")
        return ", ".join(v for v in (listed if isinstance(listed, list) else []) if isinstance(v, str)) or "?"
    if kind == "partition":
        listed = value.get("partitions")
        shown = []
        for partition in listed if isinstance(listed, list) else []:
            if not isinstance(partition, dict):
                continue
            dimensions = partition.get("dimensions")
            named = " ".join(f"{k}={v}" for k, v in dimensions.items()) if isinstance(dimensions, dict) else ""
            shown.append(_text(partition.get("identifier")) or named or "?")
        return ", ".join(shown) or "?"
    return "…"


def subset(facet: Any, side: str) -> str | None:
    """The part of a dataset a run read or wrote (the `subset` input or output facet), as one line:
    `business_date=2024-10-15 country=PL, ...` for partitions, the locations, or the condition."""
    if not isinstance(facet, dict):
        return None
    condition = facet.get("inputCondition" if side == "in" else "outputCondition")
    return _condition(condition) if condition is not None else None


def statistics(facet: Any) -> dict[str, int | float | None] | None:
    """Rows, bytes and files of an `inputStatistics` or `outputStatistics` facet (`size` is bytes)."""
    if not isinstance(facet, dict):
        return None
    found = {
        "rowCount": number(facet.get("rowCount")),
        "bytes": number(facet.get("size")),
        "fileCount": number(facet.get("fileCount")),
    }
    return found if any(v is not None for v in found.values()) else None


_CATALOG = ("framework", "type", "name", "metadataUri", "warehouseUri", "source")


def catalog(facets: dict[str, Any]) -> dict[str, Any] | None:
    """The catalog that holds the dataset (the `catalog` facet): framework (iceberg, hive, unity ...),
    kind, name, its URIs and the tool that reported it, with its properties as sent."""
    facet = _facet(facets, "catalog")
    found: dict[str, Any] = {key: _text(facet.get(key)) for key in _CATALOG}
    if not found["name"] and not found["framework"]:
        return None
    properties = facet.get("catalogProperties")
    found["properties"] = (
        {k: v for k, v in properties.items() if isinstance(v, str)} if isinstance(properties, dict) else {}
    )
    return found


def hierarchy(facets: dict[str, Any]) -> list[dict[str, str]]:
    """The levels that hold the dataset, outermost first (the `hierarchy` facet): DATABASE my_db,
    SCHEMA my_schema, TABLE my_table."""
    listed = _facet(facets, "hierarchy").get("hierarchy")
    return [
        {"type": level["type"], "name": level["name"]}
        for level in (listed if isinstance(listed, list) else [])
        if isinstance(level, dict) and _text(level.get("type")) and _text(level.get("name"))
    ]


def storage(facets: dict[str, Any]) -> dict[str, str | None] | None:
    """How the dataset is stored (the `storage` facet): layer (iceberg, delta ...) and file format."""
    facet = _facet(facets, "storage")
    layer = _text(facet.get("storageLayer"))
    return {"storageLayer": layer, "fileFormat": _text(facet.get("fileFormat"))} if layer else None


def kind(facets: dict[str, Any]) -> dict[str, str | None] | None:
    """What the dataset is (the `datasetType` facet): TABLE, VIEW, TOPIC, JOB_OUTPUT ..., and its subtype."""
    facet = _facet(facets, "datasetType")
    dataset_type = _text(facet.get("datasetType"))
    return {"datasetType": dataset_type, "subType": _text(facet.get("subType"))} if dataset_type else None


SNAPSHOT = "COMPLETE_SNAPSHOT"


def emission(facets: dict[str, Any]) -> dict[str, Any] | None:
    """How the job emits events (`emissionPattern` of the `jobType` facet, 2-0-4): on state changes
    or PERIODIC (every `windowDuration` seconds), each event ACCUMULATIVE (a part of the run's
    inputs and outputs) or a COMPLETE_SNAPSHOT (all of them, replacing what came before)."""
    pattern = _facet(_facet(facets, "jobType"), "emissionPattern")
    trigger, mode = _text(pattern.get("eventTrigger")), _text(pattern.get("eventContentMode"))
    if not trigger and not mode:
        return None
    window = pattern.get("windowDuration")
    return {
        "eventTrigger": trigger,
        "eventContentMode": mode,
        "windowDuration": number(window),
    }


def is_snapshot(facets: dict[str, Any]) -> bool:
    """Whether each of the job's events holds all of its run's inputs and outputs."""
    found = emission(facets)
    return found is not None and (found["eventContentMode"] or "").upper() == SNAPSHOT

"""Reading data-quality facets: test results (`dataQualityAssertions`, sent by dbt-ol and Great
Expectations) and measurements (`dataQualityMetrics`). Pure: no I/O.

Producers send these facets as they are; the catalog stores them unchecked, so reading them is
lenient: a part of the wrong shape is left out and said so in `problems`, never an error.
"""

from __future__ import annotations

import json
from typing import Any

from airflow_ol_catalog.events.facet_reading import number

ASSERTIONS = "dataQualityAssertions"
METRICS = "dataQualityMetrics"
# Great Expectations' OpenLineage action sends its results in a facet of its own, the same list
# with each test's kind in `expectationType`.
GE_ASSERTIONS = "greatExpectations_assertions"
ASSERTION_FACETS = {ASSERTIONS: "assertion", GE_ASSERTIONS: "expectationType"}

# The catalog keeps each dataset's newest test results per test job as facets of this entity
# (entity_id: the dataset; name: `quality_check_name`), beside the dataset's own newest facet.
QUALITY_CHECK = "quality"


def quality_check_name(facet_name: str, job_id: int) -> str:
    return f"{facet_name}:{job_id}"


def checked_facet(check_name: str) -> str:
    """The facet a `quality_check_name` is of."""
    return check_name.rpartition(":")[0]


_COLUMN_METRICS = ("nullCount", "distinctCount", "sum", "count", "min", "max")


def _text(value: Any) -> str | None:
    return value if type(value) is str else None


def read_assertions(facet: Any, kind_key: str = "assertion") -> tuple[list[dict[str, Any]], list[str]]:
    """The assertions of a `dataQualityAssertions` facet (or of another facet of that shape, whose
    member `kind_key` names the kind of test), and what could not be read of it.

    `success` is None when the producer sent no boolean: the result is unknown, neither passed nor
    failed. `column` is None for an assertion on the whole dataset.
    """
    items = facet.get("assertions") if isinstance(facet, dict) else None
    if not isinstance(items, list):
        return [], [f"assertions: expected a list, got {type(items).__name__ if items is not None else 'nothing'}"]
    found, problems = [], []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(f"assertions[{i}]: expected an object, got {type(item).__name__}")
            continue
        success = item.get("success")
        if not isinstance(success, bool):
            sent = json.dumps(success)[:40] if "success" in item else "nothing"
            problems.append(f"assertions[{i}].success: expected true or false, got {sent}")
            success = None
        assertion = _text(item.get(kind_key))
        if assertion is None:
            problems.append(f"assertions[{i}].{kind_key}: expected a string")
        found.append(
            {
                "assertion": assertion or "?",
                "column": _text(item.get("column")) or None,
                "success": success,
                "name": _text(item.get("name")),
                "severity": _text(item.get("severity")),
                "expected": _text(item.get("expected")),
                "actual": _text(item.get("actual")),
            }
        )
    return found, problems


def summarise(assertions: list[dict[str, Any]]) -> dict[str, int]:
    """How many assertions passed, failed, and have no known result."""
    results = [a["success"] for a in assertions]
    return {
        "passed": results.count(True),
        "failed": results.count(False),
        "unknown": sum(1 for r in results if r is None),
    }


def read_metrics(facet: Any) -> dict[str, Any] | None:
    """The numbers of a `dataQualityMetrics` facet (row count, size, per-column counts); None when it has none."""
    if not isinstance(facet, dict):
        return None
    columns = facet.get("columnMetrics")
    column_metrics = {}
    for name, values in columns.items() if isinstance(columns, dict) else ():
        if isinstance(values, dict):
            column_metrics[name] = {key: values[key] for key in _COLUMN_METRICS if number(values.get(key)) is not None}
    return {
        "rowCount": number(facet.get("rowCount")),
        "bytes": number(facet.get("bytes")),
        "fileCount": number(facet.get("fileCount")),
        "lastUpdated": _text(facet.get("lastUpdated")),
        "columnMetrics": column_metrics,
    }

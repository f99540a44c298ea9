"""A dataset's data quality as the read API shows it: the newest test results and metrics sent on it.

Test results are each test's newest result over every job that tests the dataset: the newest
`dataQualityAssertions` (or Great Expectations' `greatExpectations_assertions`) facet of each job,
kept by the projection as QUALITY_CHECK facets. dbt-ol sends a model's tests from one job, or, with
its structured logs, each test from a job of its own; both show every test. Metrics are the
dataset's newest `dataQualityMetrics`. The run that sent each is found through the event that
holds its facet. Two queries per batch of datasets, none for datasets without such facets.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, select

from airflow_ol_catalog.events import facet_reading as reading
from airflow_ol_catalog.events.quality import (
    ASSERTION_FACETS,
    METRICS,
    QUALITY_CHECK,
    checked_facet,
    read_assertions,
    read_metrics,
    summarise,
)
from airflow_ol_catalog.events.run_states import RunState
from airflow_ol_catalog.events.times import iso
from airflow_ol_catalog.store.sql import among
from airflow_ol_catalog.store.tables import dataset, event, facet, job, run, run_dataset

_SENT_BY = and_(event.c.event_time == facet.c.event_time, event.c.digest == facet.c.event_digest)


def _sender(r: Any) -> dict[str, Any]:
    return {
        "runId": r.run_id,  # None once retention deleted the event
        "job": {"namespace": r.namespace, "name": r.job_name} if r.job_name is not None else None,
        "eventTime": iso(r.event_time),
    }


def _senders(conn: Connection, ids: list[int]) -> dict[tuple[int, str], tuple[datetime, dict[str, Any]]]:
    """The event time, and the run (with its job) behind each dataset's quality facets."""
    found: dict[tuple[int, str], tuple[datetime, dict[str, Any]]] = {}
    rows = conn.execute(
        select(facet.c.entity_id, facet.c.name, facet.c.event_time, event.c.run_id, event.c.namespace, event.c.job_name)
        .outerjoin(event, _SENT_BY)
        .where(
            facet.c.entity == "dataset",
            among(conn.dialect.name, facet.c.entity_id, ids),
            facet.c.name.in_((*ASSERTION_FACETS, METRICS)),
        )
    )
    for r in rows:
        found[(r.entity_id, r.name)] = (r.event_time, _sender(r))
    return found


class _Check(NamedTuple):
    """One test job's newest results on a dataset."""

    facet: str  # dataQualityAssertions, or Great Expectations' facet
    when: tuple[datetime, str]  # event time and digest: the newest check first
    value: Any
    sender: dict[str, Any]


def _checks(conn: Connection, ids: list[int]) -> dict[int, list[_Check]]:
    found: dict[int, list[_Check]] = {i: [] for i in ids}
    rows = conn.execute(
        select(
            facet.c.entity_id,
            facet.c.name,
            facet.c.value,
            facet.c.event_time,
            facet.c.event_digest,
            event.c.run_id,
            event.c.namespace,
            event.c.job_name,
        )
        .outerjoin(event, _SENT_BY)
        .where(
            facet.c.entity == QUALITY_CHECK,
            among(conn.dialect.name, facet.c.entity_id, ids),
            facet.c.value.is_not(None),
        )
    )
    for r in rows:
        found[r.entity_id].append(
            _Check(checked_facet(r.name), (r.event_time, r.event_digest), json.loads(r.value), _sender(r))
        )
    return found


def quality_of(conn: Connection, facets: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any] | None]:
    """Each dataset's quality (None when no quality facet was sent), from its facets by dataset id."""
    ids = sorted(i for i, f in facets.items() if METRICS in f or any(name in f for name in ASSERTION_FACETS))
    senders = _senders(conn, ids) if ids else {}
    checks = _checks(conn, ids) if ids else {}
    found: dict[int, dict[str, Any] | None] = dict.fromkeys(facets)
    unknown = (datetime.min.replace(tzinfo=timezone.utc), {"runId": None, "job": None, "eventTime": None})
    for i in ids:
        mine = checks[i]
        for name in ASSERTION_FACETS:
            # a catalog projected before checks were kept has the dataset's newest facet only
            if name in facets[i] and not any(c.facet == name for c in mine):
                when, sender = senders.get((i, name), unknown)
                mine.append(_Check(name, (when, ""), facets[i][name], sender))
        mine.sort(key=lambda c: c.when, reverse=True)
        assertions, problems = _united(mine)
        metrics = read_metrics(facets[i].get(METRICS))
        found[i] = {
            "assertions": assertions,
            "summary": summarise(assertions),
            "checkedBy": mine[0].sender if mine else None,
            "metrics": {**metrics, **senders.get((i, METRICS), unknown)[1]} if metrics is not None else None,
            "problems": problems,
        }
    return found


def _united(checks: list[_Check]) -> tuple[list[dict[str, Any]], list[str]]:
    """Each test's newest result, over every test job's newest check (newest check first, each in
    the order it was sent); a test is its kind, column and name."""
    assertions: list[dict[str, Any]] = []
    problems: list[str] = []
    seen: set[tuple[Any, ...]] = set()
    for check in checks:
        read, trouble = read_assertions(check.value, ASSERTION_FACETS[check.facet])
        problems += [p for p in trouble if p not in problems]
        for a in read:
            key = (a["assertion"], a["column"], a["name"])
            if key not in seen:
                seen.add(key)
                a["runId"], a["eventTime"] = check.sender["runId"], check.sender["eventTime"]
                assertions.append(a)
    return assertions, problems


_SHOWN = 10  # failing datasets and runs the overview names


def test_failures(conn: Connection, since: datetime) -> dict[str, Any]:
    """What the overview says of tests since `since`: datasets whose newest results of those days
    (each test's newest, as the dataset page shows them) include a failure, and runs whose `test`
    facet has a failed test; the newest of each first."""
    checks: dict[int, list[_Check]] = {}
    for r in conn.execute(
        select(facet.c.entity_id, facet.c.name, facet.c.value, facet.c.event_time, facet.c.event_digest)
        .join(dataset, dataset.c.id == facet.c.entity_id)
        .where(
            facet.c.entity == QUALITY_CHECK,
            facet.c.value.is_not(None),
            facet.c.event_time >= since,  # bounded: the tests of the last days, not all time
            dataset.c.deleted_at.is_(None),
        )
    ):
        sender = {"runId": None, "job": None, "eventTime": iso(r.event_time)}
        checks.setdefault(r.entity_id, []).append(
            _Check(checked_facet(r.name), (r.event_time, r.event_digest), json.loads(r.value), sender)
        )
    failing = []
    for dataset_id, mine in checks.items():
        mine.sort(key=lambda c: c.when, reverse=True)
        summary = summarise(_united(mine)[0])
        if summary["failed"]:
            failing.append((mine[0].when, dataset_id, summary))
    failing.sort(reverse=True)
    names = {
        r.id: (r.namespace, r.name)
        for r in conn.execute(
            select(dataset.c.id, dataset.c.namespace, dataset.c.name).where(
                among(conn.dialect.name, dataset.c.id, [f[1] for f in failing[:_SHOWN]])
            )
        )
    }
    runs = _failing_runs(conn, since)
    return {
        "datasetsTested": len(checks),
        "datasetsFailing": len(failing),
        "failedTests": sum(f[2]["failed"] for f in failing),
        "failingDatasets": [
            {"namespace": names[i][0], "name": names[i][1], **summary, "checkedAt": iso(when[0])}
            for when, i, summary in failing[:_SHOWN]
        ],
        "runsTested": runs[0],
        "runsFailing": len(runs[1]),
        "failingRuns": runs[1][:_SHOWN],
    }


def _failing_runs(conn: Connection, since: datetime) -> tuple[int, list[dict[str, Any]]]:
    """How many runs since `since` sent a `test` facet, and those with a failed test, newest first."""
    tested, failing = 0, []
    rows = conn.execute(
        select(facet.c.value, facet.c.event_time, run.c.run_id, job.c.namespace, job.c.name)
        .join(run, run.c.id == facet.c.entity_id)
        .join(job, job.c.id == run.c.job_id)
        .where(
            facet.c.entity == "run",
            facet.c.name == "test",
            facet.c.value.is_not(None),
            facet.c.event_time >= since,
            job.c.deleted_at.is_(None),
        )
        .order_by(facet.c.event_time.desc(), run.c.run_id)
    )
    for r in rows:
        tests = reading.tests({"test": json.loads(r.value)})
        tested += bool(tests)
        failed = sum(1 for t in tests if (t["status"] or "").lower() == "fail")
        if failed:
            failing.append(
                {
                    "runId": r.run_id,
                    "job": {"namespace": r.namespace, "name": r.name},
                    "failed": failed,
                    "tests": len(tests),
                    "eventTime": iso(r.event_time),
                }
            )
    return tested, failing


def test_runs(conn: Connection, dataset_id: int, limit: int) -> list[dict[str, Any]]:
    """The newest runs that read or wrote the dataset and sent a `test` facet (TestRunFacet: a
    dbt singular test, a check operator), each with its tests, newest first."""
    rows = conn.execute(
        select(facet.c.value, facet.c.event_time, run.c.run_id, run.c.state, job.c.namespace, job.c.name)
        .select_from(run_dataset)
        .join(run, run.c.id == run_dataset.c.run_pk)
        .join(job, job.c.id == run.c.job_id)
        .join(facet, and_(facet.c.entity == "run", facet.c.entity_id == run.c.id, facet.c.name == "test"))
        .where(run_dataset.c.dataset_id == dataset_id, facet.c.value.is_not(None), job.c.deleted_at.is_(None))
        .distinct()
        .order_by(facet.c.event_time.desc(), run.c.run_id)
        .limit(limit)
    )
    found = []
    for r in rows:
        tests = reading.tests({"test": json.loads(r.value)})
        if tests:
            found.append(
                {
                    "runId": r.run_id,
                    "job": {"namespace": r.namespace, "name": r.name},
                    "state": RunState.of(r.state).value,
                    "eventTime": iso(r.event_time),
                    "tests": tests,
                }
            )
    return found

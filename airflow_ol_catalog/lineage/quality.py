"""A dataset's data quality as the read API shows it: the newest test results and metrics sent on it.

Test results are the newest `dataQualityAssertions` facet (or Great Expectations' own
`greatExpectations_assertions`, when newer). Both come from the dataset's facets (the newest
event that sent each wins, input facets included); the run that sent them is found through the
event that holds each facet. One query per 500 datasets, and none for datasets without such facets.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, and_, select

from airflow_ol_catalog.events.quality import ASSERTION_FACETS, METRICS, read_assertions, read_metrics, summarise
from airflow_ol_catalog.store.sql import among
from airflow_ol_catalog.store.tables import event, facet


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _senders(conn: Connection, ids: list[int]) -> dict[tuple[int, str], tuple[datetime, dict[str, Any]]]:
    """The event time, and the run (with its job) behind each dataset's quality facets."""
    found: dict[tuple[int, str], tuple[datetime, dict[str, Any]]] = {}
    sent_by = and_(event.c.event_time == facet.c.event_time, event.c.digest == facet.c.event_digest)
    if not ids:
        return found
    rows = conn.execute(
        select(facet.c.entity_id, facet.c.name, facet.c.event_time, event.c.run_id, event.c.namespace, event.c.job_name)
        .outerjoin(event, sent_by)
        .where(
            facet.c.entity == "dataset",
            among(conn.dialect.name, facet.c.entity_id, ids),
            facet.c.name.in_((*ASSERTION_FACETS, METRICS)),
        )
    )
    for r in rows:
        found[(r.entity_id, r.name)] = (
            r.event_time,
            {
                "runId": r.run_id,  # None once retention deleted the event
                "job": {"namespace": r.namespace, "name": r.job_name} if r.job_name is not None else None,
                "eventTime": _iso(r.event_time),
            },
        )
    return found


def quality_of(conn: Connection, facets: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any] | None]:
    """Each dataset's quality (None when no quality facet was sent), from its facets by dataset id."""
    ids = sorted(i for i, f in facets.items() if METRICS in f or any(name in f for name in ASSERTION_FACETS))
    senders = _senders(conn, ids) if ids else {}
    found: dict[int, dict[str, Any] | None] = dict.fromkeys(facets)
    unknown = (datetime.min.replace(tzinfo=timezone.utc), {"runId": None, "job": None, "eventTime": None})
    for i in ids:
        problems: list[str] = []
        assertions: list[dict[str, Any]] = []
        checked = None
        sent = [name for name in ASSERTION_FACETS if name in facets[i]]
        if sent:
            # the newest of the facets that hold assertions, when a dataset has both
            name = max(sent, key=lambda n: senders.get((i, n), unknown)[0])
            checked = senders.get((i, name), unknown)[1]
            assertions, problems = read_assertions(facets[i][name], ASSERTION_FACETS[name])
            for a in assertions:
                a["runId"], a["eventTime"] = checked["runId"], checked["eventTime"]
        metrics = read_metrics(facets[i].get(METRICS))
        found[i] = {
            "assertions": assertions,
            "summary": summarise(assertions),
            "checkedBy": checked,
            "metrics": {**metrics, **senders.get((i, METRICS), unknown)[1]} if metrics is not None else None,
            "problems": problems,
        }
    return found

"""Marquez's /stats answers (its web UI's dashboard): run events by type, and how many jobs,
datasets and sources there were, per hour of the last 24 hours or per day of the last 7 days.

Hours are UTC hours. Days are days in the caller's time zone; as Marquez's server does, each is
written as its local midnight followed by `Z`, which Marquez's web UI reads back in UTC to label it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Literal, SupportsInt, get_args
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Case, ColumnElement, Connection, Subquery, and_, case, func, select

from airflow_ol_catalog.store.tables import dataset, event, facet, job

PeriodName = Literal["DAY", "WEEK"]
PERIODS = get_args(PeriodName)
EVENT_TYPES = ("FAIL", "START", "COMPLETE", "ABORT")  # the ones Marquez counts


@dataclass(frozen=True)
class Interval:
    start: datetime  # UTC instants
    end: datetime
    label: tuple[str, str]  # startInterval, endInterval as answered


def _utc_text(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day_text(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def intervals(period: str, zone: ZoneInfo | None, now: datetime) -> list[Interval]:
    """The 24 hours up to and including the current one (DAY), or the 7 days of `zone` up to and including today (WEEK)."""
    if period == "DAY":
        hour = now.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
        starts = [hour - timedelta(hours=23 - i) for i in range(24)]
        return [Interval(s, s + timedelta(hours=1), (_utc_text(s), _utc_text(s + timedelta(hours=1)))) for s in starts]
    if zone is None:
        raise ValueError("a week is counted in days of a time zone: give one")
    today = now.astimezone(zone).date()
    days = [today - timedelta(days=6 - i) for i in range(8)]
    midnights = [datetime.combine(d, time(), tzinfo=zone).astimezone(timezone.utc) for d in days]
    return [Interval(midnights[i], midnights[i + 1], (_day_text(days[i]), _day_text(days[i + 1]))) for i in range(7)]


def _bucket(column: ColumnElement[datetime], spans: list[Interval]) -> Case[int]:
    """Which interval a time falls in (index), for times within [first start, last end)."""
    return case(*[(column < span.end, i) for i, span in enumerate(spans[:-1])], else_=len(spans) - 1)


def lineage_events(conn: Connection, spans: list[Interval]) -> list[dict[str, Any]]:
    """Run events per interval by type (FAIL, START, COMPLETE, ABORT), by event time; quarantined ones left out."""
    bucket = _bucket(event.c.event_time, spans).label("bucket")
    rows = conn.execute(
        select(bucket, event.c.event_type, func.count())
        .where(
            event.c.event_time >= spans[0].start,
            event.c.event_time < spans[-1].end,
            event.c.kind == "run",
            event.c.event_type.in_(EVENT_TYPES),
            event.c.quarantined.is_(False),
        )
        .group_by(bucket, event.c.event_type)
    ).all()
    counts = [dict.fromkeys(EVENT_TYPES, 0) for _ in spans]
    for index, event_type, count in rows:
        counts[index][event_type] = count
    return [
        {
            "startInterval": span.label[0],
            "endInterval": span.label[1],
            **{event_type.lower(): counts[i][event_type] for event_type in EVENT_TYPES},
        }
        for i, span in enumerate(spans)
    ]


def _totals(spans: list[Interval], totals: Iterable[SupportsInt]) -> list[dict[str, Any]]:
    return [
        {"startInterval": span.label[0], "endInterval": span.label[1], "count": int(total)}
        for span, total in zip(spans, totals, strict=True)
    ]


def _running_totals(conn: Connection, rows: Subquery, spans: list[Interval]) -> list[dict[str, Any]]:
    """How many rows existed by the end of each interval (their `first_seen` before it ended): one
    scan, counted per interval (all earlier rows in the first), then added up."""
    bucket = _bucket(rows.c.first_seen, spans).label("bucket")
    counted = select(bucket, func.count()).where(rows.c.first_seen < spans[-1].end).group_by(bucket)
    per_bucket = dict(conn.execute(counted).all())
    totals, total = [], 0
    for i in range(len(spans)):
        total += per_bucket.get(i, 0)
        totals.append(total)
    return _totals(spans, totals)


def _existing_by_end(
    conn: Connection, first_seen: ColumnElement[datetime], where: Sequence[ColumnElement[bool]], spans: list[Interval]
) -> list[dict[str, Any]]:
    return _running_totals(conn, select(first_seen.label("first_seen")).where(*where).subquery(), spans)


def jobs(conn: Connection, spans: list[Interval]) -> list[dict[str, Any]]:
    """Jobs seen in events (not only named as a parent), not hidden, by when they were first seen."""
    where = [job.c.deleted_at.is_(None), job.c.placeholder.is_(False)]
    return _existing_by_end(conn, job.c.first_seen_at, where, spans)


def datasets(conn: Connection, spans: list[Interval]) -> list[dict[str, Any]]:
    """Datasets (not aliases of another, not hidden), by when they were first seen."""
    where = [dataset.c.deleted_at.is_(None), dataset.c.alias_of.is_(None)]
    return _existing_by_end(conn, dataset.c.first_seen_at, where, spans)


def _text_field(conn: Connection, document: ColumnElement[str], key: str) -> ColumnElement[str]:
    """A JSON object's field when it is a non-empty string, else NULL."""
    if conn.dialect.name == "postgresql":
        value = func.cast(document, JSON)[key]
        return case((and_(func.json_typeof(value) == "string", value.as_string() != ""), value.as_string()), else_=None)
    path = f"$.{key}"
    text = func.json_extract(document, path)
    return case((and_(func.json_type(document, path) == "text", text != ""), text), else_=None)


def sources(conn: Connection, spans: list[Interval]) -> list[dict[str, Any]]:
    """Sources, as Marquez names them (a dataset's `dataSource` facet name, else its namespace), each
    first seen with the first of its datasets: grouped in the database, one row a source."""
    data_source = and_(facet.c.entity == "dataset", facet.c.entity_id == dataset.c.id, facet.c.name == "dataSource")
    name = func.coalesce(_text_field(conn, facet.c.value, "name"), dataset.c.namespace).label("source")
    first = (
        select(name, func.min(dataset.c.first_seen_at).label("first_seen"))
        .select_from(dataset)
        .outerjoin(facet, data_source)
        .where(dataset.c.deleted_at.is_(None), dataset.c.alias_of.is_(None))
        .group_by(name)
    ).subquery()
    return _running_totals(conn, first, spans)

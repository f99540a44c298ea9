"""Marquez's /stats counts (lineage/stats.py): intervals of a day or a week, events by type, running totals."""

from __future__ import annotations

from datetime import datetime, timezone
from itertools import pairwise
from zoneinfo import ZoneInfo

from test_lineage_graph import ds, run_of
from test_projection import event, send

from airflow_ol_catalog.lineage import stats
from airflow_ol_catalog.store.engine import read_connection

NOW = datetime(2025, 3, 10, 12, 30, tzinfo=timezone.utc)


def test_a_day_is_the_24_utc_hours_up_to_the_current_one():
    spans = stats.intervals("DAY", None, NOW)
    assert len(spans) == 24
    assert spans[0].label == ("2025-03-09T13:00:00Z", "2025-03-09T14:00:00Z")
    assert spans[-1].label == ("2025-03-10T12:00:00Z", "2025-03-10T13:00:00Z")
    assert all(a.end == b.start for a, b in pairwise(spans))


def test_a_week_is_the_7_days_of_the_time_zone_labelled_with_their_local_midnight():
    # 12:30 UTC is 18:15 in Kathmandu (UTC+05:45): today there is the 10th.
    spans = stats.intervals("WEEK", ZoneInfo("Asia/Kathmandu"), NOW)
    assert [s.label[0] for s in spans] == [f"2025-03-{d:02d}T00:00:00Z" for d in range(4, 11)]
    assert spans[-1].label[1] == "2025-03-11T00:00:00Z"
    assert spans[0].start == datetime(2025, 3, 3, 18, 15, tzinfo=timezone.utc)
    # 20:00 UTC on the 10th is already the 11th in Kathmandu but still the 10th in New York.
    late = datetime(2025, 3, 10, 20, 0, tzinfo=timezone.utc)
    assert stats.intervals("WEEK", ZoneInfo("Asia/Kathmandu"), late)[-1].label[0] == "2025-03-11T00:00:00Z"
    assert stats.intervals("WEEK", ZoneInfo("America/New_York"), late)[-1].label[0] == "2025-03-10T00:00:00Z"


def test_a_week_over_a_daylight_saving_change_has_a_23_hour_day():
    spans = stats.intervals("WEEK", ZoneInfo("America/New_York"), NOW)  # clocks went forward on the 9th
    lengths = {s.label[0][:10]: (s.end - s.start).total_seconds() / 3600 for s in spans}
    assert lengths["2025-03-09"] == 23 and lengths["2025-03-08"] == 24


def test_run_events_are_counted_by_type_in_the_interval_of_their_event_time(catalog_engine):
    send(
        catalog_engine,
        [
            event("START", "2025-03-10T11:05:00Z", run_id="a"),
            event("COMPLETE", "2025-03-10T12:10:00Z", run_id="a"),
            event("START", "2025-03-10T12:15:00Z", run_id="b"),
            event("FAIL", "2025-03-10T12:20:00Z", run_id="b"),
            event("RUNNING", "2025-03-10T12:16:00Z", run_id="b"),  # Marquez counts four types only
            event("ABORT", "2025-03-08T12:20:00Z", run_id="c"),  # before the day
        ],
    )
    with read_connection(catalog_engine) as conn:
        day = stats.lineage_events(conn, stats.intervals("DAY", None, NOW))
        week = stats.lineage_events(conn, stats.intervals("WEEK", ZoneInfo("UTC"), NOW))
    assert day[-1] == {
        "startInterval": "2025-03-10T12:00:00Z",
        "endInterval": "2025-03-10T13:00:00Z",
        "fail": 1,
        "start": 1,
        "complete": 1,
        "abort": 0,
    }
    assert (day[-2]["start"], day[-2]["complete"]) == (1, 0)
    assert sum(m["abort"] for m in day) == 0 and sum(m["start"] for m in day) == 2
    assert [(m["startInterval"][:10], m["abort"], m["start"]) for m in week if m["abort"] or m["start"]] == [
        ("2025-03-08", 1, 0),
        ("2025-03-10", 0, 2),
    ]


def test_jobs_datasets_and_sources_are_running_totals_by_first_seen(catalog_engine):
    old = run_of("old", "r1", 1, [ds("a")], [ds("b")])  # January: before the window
    new = run_of("new", "r2", 1, [ds("b")], [ds("c")])
    for payload in new:
        payload["eventTime"] = payload["eventTime"].replace("2025-01-01T10", "2025-03-10T11")
    new[-1]["outputs"] = [
        {
            "namespace": "s3://other",
            "name": "d",
            "facets": {
                "dataSource": {
                    "_producer": "https://example.com",
                    "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/DatasourceDatasetFacet.json",
                    "name": "lake",
                    "uri": "s3://other",
                }
            },
        }
    ]
    send(catalog_engine, old + new)
    spans = stats.intervals("DAY", None, NOW)
    with read_connection(catalog_engine) as conn:
        jobs, datasets, sources = (count(conn, spans) for count in (stats.jobs, stats.datasets, stats.sources))
    assert [m["count"] for m in jobs[-3:]] == [1, 2, 2]
    assert [m["count"] for m in datasets[-3:]] == [2, 4, 4]  # a, b; then c and d
    assert [m["count"] for m in sources[-3:]] == [1, 2, 2]  # postgres://db:5432, then "lake"
    assert jobs[-1]["startInterval"] == "2025-03-10T12:00:00Z"


def test_a_data_source_without_a_usable_name_counts_as_its_namespace(catalog_engine):
    """Only a non-empty string names a source; anything else (empty, a number, an object, no
    name) leaves the dataset under its namespace, as the dataset list shows it."""
    names = ["", 5, {"nested": "x"}, None, "lake"]
    outputs = []
    for i, name in enumerate(names):
        facet = {"_producer": "https://example.com", "_schemaURL": "https://example.com/DatasourceDatasetFacet.json"}
        if name is not None:
            facet["name"] = name
        outputs.append({"namespace": "s3://bucket", "name": f"t{i}", "facets": {"dataSource": facet}})
    (first, *rest) = run_of("sources", "r1", 1, [], [])
    first["outputs"] = outputs
    send(catalog_engine, [first, *rest])
    spans = stats.intervals("DAY", None, NOW)
    with read_connection(catalog_engine) as conn:
        counted = stats.sources(conn, spans)[-1]["count"]
    assert counted == 2, "s3://bucket (the four without a usable name) and lake"

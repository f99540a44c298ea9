"""Lineage graphs keep their nodes' views between requests (lineage/view_cache): every kind of write
that changes a job or dataset as the read API shows it must make the kept view go.

Each case reads a graph (keeping its views), makes one write, and reads it again: the suite runs with
`view_cache_check` on (tests/conftest.py), so a kept view that differs from one built anew fails the
read; each case also asserts the change shows, and that the views it did not touch were used again.
Each case runs twice: with the views kept in this process, and with only those kept in the database
(what another API-server process, or this one after a restart, finds).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from pydantic_core import to_json
from sqlalchemy import select
from test_lineage_graph import PG, ds, run_of
from test_projection import event, send

from airflow_ol_catalog.events import validate_event
from airflow_ol_catalog.ingest import writer
from airflow_ol_catalog.ingest.event_log import Receipt, Submission, store_events
from airflow_ol_catalog.ingest.hiding import set_dataset_hidden
from airflow_ol_catalog.ingest.namespaces import create_namespace
from airflow_ol_catalog.ingest.quarantine import replay_quarantined
from airflow_ol_catalog.ingest.retention import apply_retention
from airflow_ol_catalog.ingest.tags import add_tag
from airflow_ol_catalog.ingest.writer import BatchCommitter, told_transaction
from airflow_ol_catalog.lineage import view_cache, view_refresh
from airflow_ol_catalog.lineage.graph import lineage
from airflow_ol_catalog.lineage.view_cache import NodeView, StaleView, ViewCache, node_views
from airflow_ol_catalog.lineage.view_refresh import view_refresher
from airflow_ol_catalog.store.engine import read_connection, write_transaction
from airflow_ol_catalog.store.node_views import StoredView, store_views, stored_views
from airflow_ol_catalog.store.tables import facet, job, node_view


def schema(*fields: tuple[str, str]) -> dict:
    return {"fields": [{"name": name, "type": kind} for name, kind in fields]}


def with_schema(name: str, *fields: tuple[str, str]) -> dict:
    return {**ds(name), "facets": {"schema": schema(*fields)}}


KEPT_IN = {"where": "process"}


@pytest.fixture(params=["process", "database"])
def kept_in(request):
    KEPT_IN["where"] = request.param
    return request.param


@pytest.fixture
def chain(catalog_engine, kept_in):
    """a -> j1 -> b -> j2 -> c; b written with a schema on day 1, read by j2 on day 3."""
    send(
        catalog_engine,
        run_of("j1", "r1", 1, [ds("a")], [with_schema("b", ("id", "int"))])
        + run_of("j2", "r2", 3, [ds("b")], [with_schema("c", ("id", "int"))]),
    )
    return catalog_engine


def graph(engine, node: str = f"dataset:{PG}:b") -> dict[str, dict]:
    if KEPT_IN["where"] == "database":
        node_views.flush()
        node_views.clear()  # as a process that has kept none finds them
    with read_connection(engine) as conn:
        return {n["id"]: n["data"] for n in lineage(conn, node, 5).as_list()}


def job_id(name: str) -> str:
    return f"job:team-a:{name}"


def dataset_id(name: str) -> str:
    return f"dataset:{PG}:{name}"


def reread(engine, write) -> tuple[dict[str, dict], dict[str, dict], int]:
    """The graph before and after the write, and how many of its views the second read used again."""
    before = graph(engine)
    write(engine)
    hits = used_again()
    after = graph(engine)
    return before, after, used_again() - hits


def used_again() -> int:
    return node_views.stored if KEPT_IN["where"] == "database" else node_views.hits


def test_a_later_run_changes_its_job_only(chain):
    before, after, kept = reread(chain, lambda e: send(e, run_of("j2", "r3", 5, [ds("b")], [ds("c")])))
    assert before[job_id("j2")]["latestRun"]["id"] == "r2"
    assert after[job_id("j2")]["latestRun"]["id"] == "r3"
    assert after[dataset_id("a")] == before[dataset_id("a")] and kept >= 2  # a and j1 at least


def test_an_older_event_arriving_late_still_shows(chain):
    late = event("RUNNING", "2025-01-03T10:02:00Z", run_id="r2", inputs=[ds("b")], outputs=[])
    late["job"]["name"] = "j2"
    late["run"]["facets"] = {"nominalTime": {"nominalStartTime": "2025-01-03T00:00:00Z"}}
    before, after, _ = reread(chain, lambda e: send(e, [late]))
    assert before[job_id("j2")]["latestRun"]["nominalStartTime"] is None
    assert after[job_id("j2")]["latestRun"]["nominalStartTime"] == "2025-01-03T00:00:00Z"


def test_a_schema_version_sent_late_by_another_job_changes_what_a_run_read(chain):
    """j2 read b on day 3; a version of b that j4 wrote on day 2 arrives after: j2's run read that one.
    Neither j2 nor its run is named by the late event."""
    late = run_of("j4", "r4", 2, [], [with_schema("b", ("id", "bigint"))])
    before, after, _ = reread(chain, lambda e: send(e, late))
    read_before = before[job_id("j2")]["latestRun"]["inputDatasetVersions"]
    read_after = after[job_id("j2")]["latestRun"]["inputDatasetVersions"]
    assert read_before and read_after and read_before != read_after


def test_a_run_ending_without_naming_its_outputs_modifies_them(chain):
    start = event("START", "2025-01-06T10:00:00Z", run_id="r5", inputs=[ds("a")], outputs=[ds("b")])
    complete = event("COMPLETE", "2025-01-06T10:09:00Z", run_id="r5")
    for payload in (start, complete):
        payload["job"]["name"] = "j1"
    send(chain, [start])
    before, after, _ = reread(chain, lambda e: send(e, [complete]))
    assert before[dataset_id("b")]["lastModifiedAt"] != after[dataset_id("b")]["lastModifiedAt"]
    assert after[dataset_id("b")]["lastModifiedAt"].startswith("2025-01-06T10:09")


def test_hiding_a_dataset_changes_the_jobs_that_used_it(chain):
    def hide(engine):
        with write_transaction(engine) as conn:
            set_dataset_hidden(conn, PG, "c", True)

    before, after, _ = reread(chain, hide)
    assert [o["name"] for o in before[job_id("j2")]["outputs"]] == ["c"]
    assert after[job_id("j2")]["outputs"] == [] and dataset_id("c") not in after


def test_tags_set_by_people_show(chain):
    def tag(engine):
        with write_transaction(engine) as conn:
            add_tag(conn, "dataset", PG, "b", "pii", "alice")
            add_tag(conn, "job", "team-a", "j1", "tier1", "alice")

    before, after, _ = reread(chain, tag)
    assert "pii" not in json.dumps(before[dataset_id("b")]["tags"])
    assert "pii" in json.dumps(after[dataset_id("b")]["tags"]) and "tier1" in json.dumps(after[job_id("j1")]["tags"])


def test_a_symlink_moving_a_dataset_to_its_other_name_changes_the_jobs_that_used_it(chain):
    """j5 says c is also a Hive table: j2, which the event does not name, now writes whichever name holds c."""
    aliased = {**ds("c"), "facets": {"symlinks": {"identifiers": [{"namespace": "hive://ms", "name": "warehouse.c", "type": "TABLE"}]}}}  # fmt: skip
    before, after, _ = reread(chain, lambda e: send(e, run_of("j5", "r8", 8, [], [aliased])))
    assert before[job_id("j2")]["outputs"] == [ds("c")]
    assert after[job_id("j2")]["outputs"] == [{"namespace": "hive://ms", "name": "warehouse.c"}]


def test_retention_deleting_runs_changes_what_datasets_show(chain):
    """j2's newest run failed: once retention deletes its older, completed one, c was never written."""
    send(chain, run_of("j2", "r7", 4, [ds("b")], [ds("c")], final="FAIL"))
    before, after, _ = reread(chain, lambda e: apply_retention(e, days=0, keep_runs_per_job=1))
    assert before[dataset_id("c")]["lastModifiedAt"] is not None
    assert after[dataset_id("c")]["lastModifiedAt"] is None


def test_views_of_unchanged_nodes_are_used_again(chain):
    graph(chain)
    hits, built = used_again(), node_views.misses
    again = graph(chain)
    assert used_again() - hits == len(again) == 5 and node_views.misses == built


def test_the_views_kept_in_memory_are_bounded_in_bytes_too(chain, monkeypatch):
    """A view of a dataset of a thousand columns weighs about 300 KB: a count alone let a process
    keep gigabytes. Past MAX_KEPT_BYTES the least recently used go, whatever the count allows."""
    node_views.clear()
    graph(chain)
    weight = node_views.kept_bytes
    assert len(node_views) == 5 and weight > 0
    monkeypatch.setattr(view_cache, "MAX_KEPT_BYTES", weight // 2)
    node_views.clear()
    assert len(graph(chain)) == 5  # the answer is whole; fewer views stay for the next
    assert 0 < len(node_views) < 5 and 0 < node_views.kept_bytes <= weight // 2
    node_views.clear()
    assert node_views.kept_bytes == 0


def test_a_stored_view_only_moves_forward(catalog_engine):
    """Two processes may build one view while a write lands: the one built under the older stamp or
    generation never replaces the newer one in the database."""

    def stored_stamp() -> tuple[int, int, bytes]:
        with read_connection(catalog_engine) as conn:
            found = stored_views(conn, "JOB", [7])[7]
        return found.generation, found.view_stamp, found.body

    for generation, stamp, body, expected in (
        (0, 2, b'{"v":2}', (0, 2, b'{"v":2}')),
        (0, 1, b'{"v":1}', (0, 2, b'{"v":2}')),  # older stamp: kept out
        (0, 2, b'{"v":"again"}', (0, 2, b'{"v":"again"}')),  # the same key built again
        (1, 0, b'{"g":1}', (1, 0, b'{"g":1}')),  # a later generation, whatever the stamp
        (0, 9, b'{"g":0}', (1, 0, b'{"g":1}')),  # an earlier generation: kept out
    ):
        with write_transaction(catalog_engine) as conn:
            store_views(conn, "JOB", [StoredView(7, stamp, generation, False, body)])
        assert stored_stamp() == expected
    with read_connection(catalog_engine) as conn:
        assert stored_views(conn, "JOB", [7])[7].temporary is False  # a boolean on SQLite too, not 0


def test_a_view_not_stored_is_built_again_and_the_read_goes_on(chain, monkeypatch, caplog):
    """The database refusing views (full, read-only) costs later reads their build, never an answer."""

    def refuse(*args):
        raise OSError("disk full")

    node_views.flush()
    with write_transaction(chain) as conn:
        conn.execute(node_view.delete())
    monkeypatch.setattr(view_cache, "store_views", refuse)
    node_views.clear()
    assert len(graph(chain)) == 5
    node_views.flush()
    assert "views not kept in the database: disk full" in caplog.text
    with read_connection(chain) as conn:
        assert conn.execute(select(node_view.c.entity_id)).first() is None


def test_a_write_that_misses_its_stamp_is_caught(chain):
    """The check the suite runs with: a facet changed behind the projection's back is found."""
    cache = ViewCache(check=True)

    def build(conn, rows):
        found = conn.execute(select(facet.c.name).where(facet.c.entity == "job", facet.c.entity_id == rows[0].id))
        return [NodeView(to_json({"facets": sorted(found.scalars())}))]

    with read_connection(chain) as conn:
        rows = conn.execute(select(job.c.id, job.c.view_stamp).where(job.c.name == "j1")).all()
        cache.views(conn, "JOB", rows, build, 0)
    with write_transaction(chain) as conn:
        when = datetime(2025, 1, 1, tzinfo=timezone.utc)
        conn.execute(
            facet.insert().values(entity="job", entity_id=rows[0].id, name="documentation", value="{}", event_time=when, event_digest="")
        )  # fmt: skip
    with read_connection(chain) as conn, pytest.raises(StaleView, match="documentation"):
        cache.views(conn, "JOB", rows, build, 0)


@pytest.fixture
def refreshed(monkeypatch):
    """The API server's writer telling the view refresher what each commit wrote, as api/app.py sets it up."""
    monkeypatch.setattr(writer, "committed", [view_refresher.written])
    monkeypatch.setattr(view_refresher, "delay", 0.05)
    assert view_refresher.flush()
    yield view_refresher
    assert view_refresher.flush()


def commit(engine, payloads: list[dict]) -> None:
    """Through the API server's writer (its commits tell the refresher what they wrote)."""
    (outcomes,) = BatchCommitter(engine, "register").commit(
        [[Submission.of(validate_event(p), None, 500) for p in payloads]]
    )
    assert isinstance(outcomes, list) and all(isinstance(o, Receipt) and not o.duplicate for o in outcomes)


def test_views_a_graph_showed_are_built_again_after_a_write_before_anyone_asks(chain, refreshed):
    graph(chain)  # shows, and so keeps, every view of the graph
    node_views.flush()
    done = refreshed.refreshed
    commit(chain, run_of("j2", "r9", 6, [ds("b")], [ds("c")]))  # j2's newest run; c written again
    assert refreshed.flush()
    assert refreshed.refreshed - done >= 2  # j2 and c at least
    built = node_views.misses
    after = graph(chain)
    assert after[job_id("j2")]["latestRun"]["id"] == "r9" and node_views.misses == built  # nothing built on read


def test_views_a_write_changes_without_naming_them_are_built_again_too(chain, refreshed):
    """A late schema version of b, sent by another job, changes which version j2's run read; a run of
    j1 ending without naming b changes when b was written. Neither event names j2 or b's new state."""
    start = event("START", "2025-01-06T10:00:00Z", run_id="r5", inputs=[ds("a")], outputs=[ds("b")])
    start["job"]["name"] = "j1"
    commit(chain, [start])
    before = graph(chain)
    node_views.flush()
    complete = event("COMPLETE", "2025-01-06T10:09:00Z", run_id="r5")
    complete["job"]["name"] = "j1"
    commit(chain, [complete, *run_of("j4", "r4", 2, [], [with_schema("b", ("id", "bigint"))])])
    assert refreshed.flush()
    built = node_views.misses
    after = graph(chain)
    assert after[dataset_id("b")]["lastModifiedAt"] != before[dataset_id("b")]["lastModifiedAt"]
    read = [
        after[job_id("j2")]["latestRun"]["inputDatasetVersions"],
        before[job_id("j2")]["latestRun"]["inputDatasetVersions"],
    ]
    assert read[0] != read[1]
    assert node_views.misses == built  # j4 too: no graph had shown it, and it was built ahead


def stored_ids(engine) -> set[tuple[str, int]]:
    with read_connection(engine) as conn:
        return {(r.kind, r.entity_id) for r in conn.execute(select(node_view.c.kind, node_view.c.entity_id))}


def test_views_no_graph_showed_are_built_ahead_into_the_database(chain, refreshed):
    commit(chain, run_of("j9", "r9", 6, [ds("x")], [ds("y")]))
    assert refreshed.flush()
    assert len(stored_ids(chain)) == 3  # j9, x and y: the chain was written without the refresher
    node_views.clear()  # as another process finds them
    built = node_views.misses
    assert job_id("j9") in graph(chain, f"dataset:{PG}:x")  # view_cache_check compares each with one built now
    assert node_views.misses == built


def test_quarantined_events_replayed_outside_the_writer_have_their_views_built_ahead(chain, refreshed):
    """The admin route and the command line replay in a transaction of their own, which tells the refresher."""
    payloads = run_of("j9", "r9", 6, [ds("x")], [ds("y")])
    for payload in payloads:
        payload["job"]["namespace"] = "team-late"
    (outcomes,) = BatchCommitter(chain, "quarantine").commit(
        [[Submission.of(validate_event(p), None, 500) for p in payloads]]
    )
    assert all(isinstance(o, Receipt) and o.quarantined for o in outcomes)
    assert refreshed.flush() and stored_ids(chain) == set()  # quarantined: nothing projected
    with write_transaction(chain) as conn:
        create_namespace(conn, "team-late", "test")
    with told_transaction(chain) as conn:
        assert replay_quarantined(conn) == {"team-late": 2}
    assert refreshed.flush()
    with read_connection(chain) as conn:
        late = conn.execute(select(job.c.id).where(job.c.namespace == "team-late")).scalar_one()
    assert ("JOB", late) in stored_ids(chain) and len(stored_ids(chain)) == 3  # j9, x and y
    node_views.clear()
    built = node_views.misses
    assert "job:team-late:j9" in graph(chain, f"dataset:{PG}:x")
    assert node_views.misses == built


def test_a_replay_that_fails_tells_the_refresher_nothing(chain, refreshed):
    told: list[tuple] = []
    writer.committed.append(lambda *args: told.append(args))
    commit(chain, run_of("j9", "r9", 6, [ds("x")], [ds("y")]))
    assert len(told) == 1

    def failing_replay() -> None:
        with told_transaction(chain) as conn:
            subs = [Submission.of(validate_event(p), None, 500) for p in run_of("j8", "r8", 6, [], [ds("z")])]
            store_events(conn, subs, "register")
            raise RuntimeError("the replay failed after projecting")

    with pytest.raises(RuntimeError):
        failing_replay()
    assert len(told) == 1  # rolled back: nothing to build
    with read_connection(chain) as conn:
        assert conn.execute(select(job.c.id).where(job.c.name == "j8")).first() is None


def test_with_view_prebuild_off_views_no_graph_showed_are_left_for_the_first_graph(chain, refreshed, monkeypatch):
    monkeypatch.setattr(refreshed, "prebuild", False)
    commit(chain, run_of("j9", "r9", 6, [ds("x")], [ds("y")]))
    assert refreshed.flush()
    assert stored_ids(chain) == set()
    assert job_id("j9") in graph(chain, f"dataset:{PG}:x")


def test_building_ahead_gives_way_to_writes_between_two_batches(chain, refreshed, monkeypatch):
    """One batch of views built ahead, then a write comes in: the next batch waits for the next round,
    which first refreshes what that write changed; a steady stream of writes still lets one batch
    through each round."""
    steps: list[str] = []
    refresh, prebuild = view_refresh.refresh_views, view_refresh.prebuild_views

    def refreshing(engine, *args):
        steps.append("refresh")
        if steps.count("refresh") <= 2:  # a write lands during each of the first two rounds
            refreshed.written(engine, set(), set(), {0})
        return refresh(engine, *args)

    def building(*args):
        steps.append("ahead")
        return prebuild(*args)

    monkeypatch.setattr(view_refresh, "refresh_views", refreshing)
    monkeypatch.setattr(view_refresh, "prebuild_views", building)
    monkeypatch.setattr(view_refresh, "PREBUILD_BATCH", 1)
    monkeypatch.setattr(view_refresh, "PREBUILD_BATCH_WHILE_WRITING", 1)
    commit(chain, run_of("j9", "r9", 6, [ds("x")], [ds("y")]))
    assert refreshed.flush()
    assert steps == ["refresh", "ahead", "refresh", "ahead", "refresh", "ahead"]  # j9, then x and y
    assert len(stored_ids(chain)) == 3


def test_views_that_cannot_be_built_ahead_are_left_to_the_graphs(chain, refreshed, monkeypatch, caplog):
    """The first refused batch drops the rest of what waited (the database would most likely refuse
    it too): the graphs build those views."""
    calls = []

    def refuse(*args):
        calls.append(args)
        raise OSError("disk full")

    with monkeypatch.context() as patched:
        patched.setattr(view_cache, "store_views", refuse)
        patched.setattr(view_refresh, "PREBUILD_BATCH", 1)
        commit(chain, run_of("j9", "r9", 6, [ds("x")], [ds("y")]))
        assert refreshed.flush()
    assert len(calls) == 1 and "views of 3 jobs and datasets not built ahead: disk full" in caplog.text
    assert stored_ids(chain) == set()
    assert job_id("j9") in graph(chain, f"dataset:{PG}:x")


def test_a_refresh_that_fails_leaves_the_views_to_the_graphs(chain, refreshed, monkeypatch, caplog):
    graph(chain)
    node_views.flush()

    def refuse(*args):
        raise OSError("disk full")

    monkeypatch.setattr(view_cache, "store_views", refuse)
    commit(chain, run_of("j2", "r9", 6, [ds("b")], [ds("c")]))
    assert refreshed.flush()
    assert "not refreshed: disk full" in caplog.text
    monkeypatch.undo()  # the database takes views again: the graph builds what the refresh could not keep
    node_views.clear()
    assert graph(chain)[job_id("j2")]["latestRun"]["id"] == "r9"

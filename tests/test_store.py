"""The catalog's storage on SQLite and PostgreSQL: migrations, event log, namespaces, tokens, quarantine."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from test_events import run_event

from airflow_ol_catalog.events import validate_event
from airflow_ol_catalog.events.not_found import TokenNotFound
from airflow_ol_catalog.ingest import namespaces, quarantine, tokens
from airflow_ol_catalog.ingest.event_log import Receipt, Refusal, Submission, store_events
from airflow_ol_catalog.ingest.writer import BatchCommitter, CatalogUnavailable, EventWriter
from airflow_ol_catalog.store import namespaces as namespace_rows
from airflow_ol_catalog.store.engine import get_engine, read_connection, write_transaction
from airflow_ol_catalog.store.migrate import VERSION_TABLE, head_revision, include_object
from airflow_ol_catalog.store.sql import among, not_among
from airflow_ol_catalog.store.tables import edge, event, job, metadata


def submission(namespace="team-a", run_id="r-1", event_type="START", token_id=None, **changes) -> Submission:
    payload = run_event(eventType=event_type, **changes)
    payload["job"]["namespace"] = namespace
    payload["run"]["runId"] = run_id
    return Submission.of(validate_event(payload), token_id, 500)


def stored_count(engine, **where) -> int:
    with read_connection(engine) as conn:
        query = select(func.count()).select_from(event)
        for column, value in where.items():
            query = query.where(event.c[column] == value)
        return conn.execute(query).scalar_one()


# SQLAlchemy cannot read an index on expressions back from SQLite (the newest runs' index of
# migration 0021): the plan test in test_marquez_views.py checks that one on both backends.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_migrations_create_exactly_the_tables_of_the_metadata(catalog_engine):
    with catalog_engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "version_table": VERSION_TABLE,
                "compare_type": True,
                "include_object": include_object,
            },
        )
        assert context.get_current_revision() == head_revision()
        assert compare_metadata(context, metadata) == []


def test_upgrading_fills_the_ends_of_the_writes_of_completed_runs(database_url):
    """0022 gives each run's link to a dataset it wrote the run's end while the run is COMPLETE:
    not a failed run's, a running one's, or a read's."""
    from sqlalchemy import create_engine, insert

    from airflow_ol_catalog.store.migrate import upgrade
    from airflow_ol_catalog.store.tables import run, run_dataset

    upgrade(database_url, "0021")
    engine = create_engine(database_url)
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    states = {1: ("COMPLETE", at), 2: ("FAIL", at + timedelta(hours=1)), 3: ("START", None)}
    with engine.begin() as conn:
        for pk, (state, ended) in states.items():
            conn.execute(
                insert(run).values(
                    id=pk,
                    run_id=f"r{pk}",
                    job_id=1,
                    state=state,
                    state_rank=3 if ended else 1,
                    ended_at=ended,
                    started_at=at,
                    first_event_at=at,
                    last_event_at=at,
                    placeholder=False,
                )
            )
        for pk, dataset_id, direction in ((1, 10, "out"), (1, 11, "in"), (2, 10, "out"), (3, 10, "out")):
            conn.execute(insert(run_dataset).values(run_pk=pk, dataset_id=dataset_id, direction=direction))
    upgrade(database_url)
    with engine.connect() as conn:
        ends = {(r.run_pk, r.dataset_id): r.ended_at for r in conn.execute(select(run_dataset))}
    engine.dispose()
    assert ends == {(1, 10): at, (1, 11): None, (2, 10): None, (3, 10): None}


def test_upgrading_a_filled_event_log_keeps_its_events_and_their_duplicates(database_url):
    """0007 re-keys the log by (event time, digest): events stored before stay duplicates of themselves."""
    from sqlalchemy import create_engine, text

    from airflow_ol_catalog.store.migrate import upgrade

    upgrade(database_url, "0006")
    engine = create_engine(database_url)
    old = submission(run_id="before")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ol_catalog_event (digest, received_at, event_time, kind, event_type, producer, namespace, run_id, quarantined, payload)"
                " VALUES (:digest, :t, :event_time, 'run', 'START', 'p', 'team-a', 'before', :q, :payload)"
            ),
            {
                "digest": old.digest,
                "t": "2026-01-01 00:00:00.000000",
                "event_time": old.event.event_time.strftime("%Y-%m-%d %H:%M:%S.%f"),
                "q": False,
                "payload": old.canonical,
            },
        )
    engine.dispose()
    upgrade(database_url)
    engine = create_engine(database_url)
    committer = BatchCommitter(engine, "register")
    (outcomes,) = committer.commit([[old, submission(run_id="after"), submission(run_id="after")]])
    assert [o.duplicate for o in outcomes] == [True, False, True]
    assert stored_count(engine) == 2
    engine.dispose()


def test_upgrading_gives_stored_datasets_jobs_and_schemas_their_search_keys(database_url):
    """0008 fills the search key of every row stored before it: search finds them under any spelling."""
    from sqlalchemy import create_engine, insert

    from airflow_ol_catalog.lineage.catalog import search
    from airflow_ol_catalog.store.migrate import upgrade
    from airflow_ol_catalog.store.tables import dataset, facet, job

    upgrade(database_url, "0007")
    engine = create_engine(database_url)
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    seen = {"first_seen_at": when, "last_seen_at": when}
    decomposed, spaced = "cafe\u0301_orders", "pay\u200bments"
    with engine.begin() as conn:
        ids = [
            conn.execute(
                insert(dataset).values(namespace_key="s3://lake", namespace="s3://Lake", name=name, **seen)
            ).inserted_primary_key[0]
            for name in (decomposed, spaced)
        ]
        conn.execute(insert(job).values(namespace="team-a", name="Load\u200dOrders", placeholder=False, **seen))
        schema = json.dumps({"fields": [{"name": "Cust\u00f6mer"}, {"name": "total"}]})
        conn.execute(
            insert(facet).values(
                entity="dataset", entity_id=ids[0], name="schema", value=schema, event_time=when, event_digest="d"
            )
        )
    engine.dispose()
    upgrade(database_url)
    engine = create_engine(database_url)
    with engine.connect() as conn:
        keys = dict(conn.execute(select(dataset.c.name, dataset.c.search_key)).all())
        assert keys == {decomposed: "s3://lake\x1fcaf\u00e9_orders", spaced: "s3://lake\x1fpayments"}
        assert conn.execute(select(job.c.search_key)).scalar_one() == "team-a\x1floadorders"
        assert conn.execute(select(facet.c.search_key)).scalar_one() == "cust\u00f6mer\x1ftotal"
        assert [r["name"] for r in search(conn, "CAF\u00c9", None, 10)[0]] == [decomposed]
        assert [r["name"] for r in search(conn, "payments", "dataset", 10)[0]] == [spaced]
        assert [r["name"] for r in search(conn, "loadorders", "job", 10)[0]] == ["Load\u200dOrders"]
        assert [r["field"] for r in search(conn, "custo\u0308mer", "field", 10)[0]] == ["Cust\u00f6mer"]
    engine.dispose()


def test_identical_event_is_stored_once(catalog_engine):
    with write_transaction(catalog_engine) as conn:
        first = store_events(conn, [submission()], "register")[0]
    with write_transaction(catalog_engine) as conn:
        again, in_same_batch = store_events(conn, [submission(), submission()], "register")
    assert isinstance(first, Receipt) and not first.duplicate
    assert again.duplicate and in_same_batch.duplicate and again.event_id == first.event_id
    assert stored_count(catalog_engine) == 1


def test_id_lists_of_any_size_match_only_what_is_there(catalog_engine):
    """An id list for an integer column is sent as integers on PostgreSQL (so that a filter by it
    is hashed); ids beyond 32 bits are then no error, and match nothing."""
    with write_transaction(catalog_engine) as conn:
        store_events(conn, [submission()], "register")
    with read_connection(catalog_engine) as conn:
        (job_id,) = conn.execute(select(job.c.id)).scalars().all()
        dialect = conn.dialect.name

        def found(condition):
            return conn.execute(select(job.c.id).where(condition)).scalars().all()

        assert found(among(dialect, job.c.id, [job_id, 2**31, -(2**31) - 1, 2**62])) == [job_id]
        assert found(among(dialect, job.c.id, [2**40])) == found(among(dialect, job.c.id, [])) == []
        assert found(not_among(dialect, job.c.id, [2**40, -(2**40)])) == [job_id]


def test_same_content_with_other_key_order_is_a_duplicate(catalog_engine):
    payload = run_event()
    reordered = json.loads(json.dumps(dict(reversed(list(payload.items())))))
    with write_transaction(catalog_engine) as conn:
        a, b = store_events(
            conn,
            [Submission.of(validate_event(payload), None, 500), Submission.of(validate_event(reordered), None, 500)],
            "register",
        )
    assert b.duplicate and a.event_id == b.event_id


def test_a_resent_batch_finds_each_stored_event_by_its_own_time_and_digest(catalog_engine, monkeypatch):
    """Duplicates are matched pair by pair: an event sharing its time with one stored event and its
    content with none is new, even next to duplicates (and across look-up chunks)."""
    from airflow_ol_catalog.ingest import event_log

    monkeypatch.setattr(event_log, "DUPLICATE_LOOKUP_PAIRS", 7)
    start = datetime(2026, 5, 1, tzinfo=timezone.utc)
    times = [(start + timedelta(seconds=i)).isoformat() for i in range(30)]
    first = [submission(run_id=f"r-{i}", eventTime=t) for i, t in enumerate(times)]
    quarantined_one = submission(namespace="nobody-yet", run_id="q", eventTime=times[0])
    with write_transaction(catalog_engine) as conn:
        namespaces.create_namespace(conn, "team-a", created_by="test")
        stored = store_events(conn, [*first, quarantined_one], "quarantine")
    assert not any(o.duplicate or o.quarantined for o in stored[:30]) and stored[-1].quarantined
    same_times_new_runs = [submission(run_id=f"other-{i}", eventTime=t) for i, t in enumerate(times[:5])]
    with write_transaction(catalog_engine) as conn:
        again = store_events(conn, [*reversed(first), quarantined_one, *same_times_new_runs], "quarantine")
    assert [o.event_id for o in again[:30]] == [o.event_id for o in reversed(stored[:30])]
    assert all(o.duplicate and not o.quarantined for o in again[:30])
    assert again[30].duplicate and again[30].quarantined and again[30].event_id == stored[-1].event_id
    assert not any(o.duplicate for o in again[31:])
    assert stored_count(catalog_engine) == 36


def test_register_policy_creates_namespace_and_counts_events_and_integrations(catalog_engine):
    with write_transaction(catalog_engine) as conn:
        store_events(conn, [submission(event_type="START"), submission(event_type="COMPLETE")], "register")
    with read_connection(catalog_engine) as conn:
        ns = namespace_rows.get_namespace(conn, "team-a")
    assert (ns.event_count, ns.integrations, ns.created_by) == (2, ["AIRFLOW"], "first event")
    assert ns.first_event_at is not None and ns.last_event_at >= ns.first_event_at


def test_reject_policy_refuses_unknown_namespace_and_stores_nothing(catalog_engine):
    with write_transaction(catalog_engine) as conn:
        (outcome,) = store_events(conn, [submission(namespace="nobody")], "reject")
    assert isinstance(outcome, Refusal) and "'nobody' is not registered" in outcome.reason
    assert stored_count(catalog_engine) == 0


def test_reject_policy_accepts_registered_namespace(catalog_engine):
    with write_transaction(catalog_engine) as conn:
        namespaces.create_namespace(conn, "team-a", "test")
        (outcome,) = store_events(conn, [submission()], "reject")
    assert isinstance(outcome, Receipt) and not outcome.quarantined


def test_quarantined_events_wait_for_their_namespace_then_replay(catalog_engine):
    with write_transaction(catalog_engine) as conn:
        outcomes = store_events(conn, [submission(run_id="a"), submission(run_id="b")], "quarantine")
    assert all(o.quarantined for o in outcomes)
    with write_transaction(catalog_engine) as conn:
        assert quarantine.replay_quarantined(conn) == {}  # namespace still unknown
        assert [q.run_id for q in quarantine.list_quarantined(conn)] == ["a", "b"]
        namespaces.create_namespace(conn, "team-a", "test")
        assert quarantine.replay_quarantined(conn) == {"team-a": 2}
    with read_connection(catalog_engine) as conn:
        ns = namespace_rows.get_namespace(conn, "team-a")
        assert (ns.event_count, ns.quarantined_count, ns.integrations) == (2, 0, ["AIRFLOW"])
    assert stored_count(catalog_engine, quarantined=False) == 2


def test_replay_updates_the_namespaces_and_the_tally_after_projecting_every_event(catalog_engine, monkeypatch, request):
    """Replay projects in batches, namespace after namespace, each batch's writes kept for its end
    as a writer's are (store/sql.py `deferred_writes`). Every writer updates the
    namespaces' counters and the log's tally last (store/sql.py `write`), so replay does too: after
    the last batch of the last namespace, not between batches, where it would go on to lock jobs
    and datasets while holding them, the opposite order to the writers'. Counts stay exact."""
    from sqlalchemy import event as sqlalchemy_events

    monkeypatch.setattr(quarantine, "REPLAY_BATCH", 2)
    sent = [submission(namespace=ns, run_id=f"{ns}-{i}") for ns in ("team-a", "team-b") for i in range(3)]
    with write_transaction(catalog_engine) as conn:
        store_events(conn, sent, "quarantine")
        namespaces.create_namespace(conn, "team-a", "test")
        namespaces.create_namespace(conn, "team-b", "test")
    statements = request.getfixturevalue("driver_statements")  # from here on, with SQLAlchemy's own
    sqlalchemy_events.listen(catalog_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with write_transaction(catalog_engine) as conn:
        assert quarantine.replay_quarantined(conn) == {"team-a": 3, "team-b": 3}
    shared = [
        i for i, text in enumerate(statements) if "ol_catalog_namespace SET" in text or "ol_catalog_event_tally" in text
    ]
    projected = [i for i, text in enumerate(statements) if "INSERT INTO ol_catalog_job " in text]
    assert shared and projected and min(shared) > max(projected), statements
    with read_connection(catalog_engine) as conn:
        counts = {ns: namespace_rows.get_namespace(conn, ns) for ns in ("team-a", "team-b")}
    assert [(c.event_count, c.quarantined_count) for c in counts.values()] == [(3, 0), (3, 0)]


def test_two_replays_at_once_count_each_event_once(catalog_engine):
    """Two replays of the same quarantined events (an admin's, the replay DAG's): the second waits
    for the first's locks and then releases nothing, and says so; the namespace's count stays the
    number of events in it (it had counted the events it read, released or not)."""
    with write_transaction(catalog_engine) as conn:
        store_events(conn, [submission(run_id=f"r-{i}") for i in range(3)], "quarantine")
        namespaces.create_namespace(conn, "team-a", "test")
    first = catalog_engine.connect()
    transaction = first.begin()
    assert quarantine.replay_quarantined(first, "team-a") == {"team-a": 3}
    with ThreadPoolExecutor(1) as pool:
        second = pool.submit(lambda: _replayed_in_own_transaction(catalog_engine))
        time.sleep(0.5)  # on PostgreSQL it has read the events and waits for the first's locks
        transaction.commit()
        first.close()
        assert second.result(timeout=60) == {}
    with read_connection(catalog_engine) as conn:
        ns = namespace_rows.get_namespace(conn, "team-a")
        assert (ns.event_count, ns.quarantined_count) == (3, 0)
    assert stored_count(catalog_engine, quarantined=False) == 3


def _replayed_in_own_transaction(engine) -> dict[str, int]:
    with write_transaction(engine) as conn:
        return dict(quarantine.replay_quarantined(conn))


def test_events_of_a_deleted_namespace_are_quarantined_until_it_is_restored(catalog_engine):
    with write_transaction(catalog_engine) as conn:
        store_events(conn, [submission(run_id="before")], "register")
        namespaces.set_deleted(conn, "team-a", True)
        (later,) = store_events(conn, [submission(run_id="after")], "register")
    assert later.quarantined
    with write_transaction(catalog_engine) as conn:
        assert namespace_rows.list_namespaces(conn)[1] == 0
        namespaces.set_deleted(conn, "team-a", False)
        assert quarantine.replay_quarantined(conn) == {"team-a": 1}


def test_a_database_error_shows_no_value_of_its_statement(catalog_engine):
    """The API server logs the database's errors: a token's digest or an event's text must not be in
    them (a catalog whose tables were never migrated logged each new token's digest)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    statement = text("INSERT INTO ol_catalog_not_migrated (secret_hash) VALUES (:digest)")
    with pytest.raises(DBAPIError) as refused, write_transaction(catalog_engine) as conn:
        conn.execute(statement, {"digest": "d1g3st-of-a-token"})
    assert "d1g3st-of-a-token" not in str(refused.value) and "hidden" in str(refused.value)


def test_namespace_names_are_unique(catalog_engine):
    with write_transaction(catalog_engine) as conn:
        namespaces.create_namespace(conn, "team-a", "test", "Team A", ["alice"])
        with pytest.raises(namespaces.NamespaceExists):
            namespaces.create_namespace(conn, "team-a", "test")
        assert namespace_rows.get_namespace(conn, "team-a").admins == ["alice"]


def test_the_queue_of_writes_to_marked_datasets_keys_each_run_by_its_job_after_migrating(database_url):
    """0024: a queued write was one per dataset and run id, cut at 36 characters; it is one per
    dataset and run (job and run id), the run found for the writes queued before."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from airflow_ol_catalog.store.migrate import alembic_config, upgrade

    upgrade(database_url, "0023")
    engine = create_engine(database_url)
    at = datetime(2026, 12, 1, tzinfo=timezone.utc)
    with engine.begin() as conn:
        job_id = conn.execute(
            text(
                "INSERT INTO ol_catalog_job (namespace, name, search_key, first_seen_at, last_seen_at, view_stamp, placeholder)"
                " VALUES ('spark', 'load', 'spark load', :at, :at, 0, false) RETURNING id"
            ),
            {"at": at},
        ).scalar_one()
        run_pk = conn.execute(
            text(
                "INSERT INTO ol_catalog_run (job_id, run_id, first_event_at, last_event_at, placeholder, state_rank)"
                " VALUES (:job, 'r-1', :at, :at, false, 0) RETURNING id"
            ),
            {"job": job_id, "at": at},
        ).scalar_one()
        queued = {"event_time": at, "state": "created", "queued_at": at}
        insert = text(
            "INSERT INTO ol_catalog_asset_trigger_run (dataset_id, run_id, job_namespace, job_name, event_time, state, queued_at)"
            " VALUES (7, :run, :ns, :name, :event_time, :state, :queued_at)"
        )
        conn.execute(insert, {"run": "r-1", "ns": "spark", "name": "load", **queued})
        conn.execute(insert, {"run": "r-gone", "ns": "spark", "name": "load", **queued})  # its run deleted since
    engine.dispose()
    upgrade(database_url)
    engine = create_engine(database_url)
    with engine.begin() as conn:
        found = conn.execute(text("SELECT run_id, run_pk FROM ol_catalog_asset_trigger_run ORDER BY id")).all()
        assert [tuple(row) for row in found] == [("r-1", run_pk), ("r-gone", None)]
        long_id = "x" * 300
        conn.execute(
            text(
                "INSERT INTO ol_catalog_asset_trigger_run (dataset_id, run_pk, run_id, job_namespace, job_name, event_time, state, queued_at)"
                " VALUES (7, :pk, :run, 'other', 'job', :at, 'pending', :at)"
            ),
            {"pk": run_pk + 1, "run": long_id, "at": at},
        )
        conn.execute(  # another job's run of the same id
            text(
                "INSERT INTO ol_catalog_asset_trigger_run (dataset_id, run_pk, run_id, job_namespace, job_name, event_time, state, queued_at)"
                " VALUES (7, :pk, 'r-1', 'other', 'job', :at, 'pending', :at)"
            ),
            {"pk": run_pk + 2, "at": at},
        )
    engine.dispose()
    command.downgrade(alembic_config(database_url), "0023")  # lossy: what the old key cannot hold goes
    engine = create_engine(database_url)
    with engine.begin() as conn:
        kept = conn.execute(text("SELECT run_id, job_namespace FROM ol_catalog_asset_trigger_run ORDER BY id")).all()
    assert [tuple(row) for row in kept] == [("r-1", "spark"), ("r-gone", "spark")]
    engine.dispose()


@pytest.mark.parametrize(
    "sqlstate, unavailable",
    [
        ("22P02", False),  # invalid text representation: the event's value
        ("23505", False),  # unique violation
        ("44000", False),  # a view's check option
        ("54000", False),  # program limit (an index row too large): psycopg2 raises it as an OperationalError
        ("P0001", False),  # a trigger's RAISE on the row
        ("25006", True),  # read-only transaction: a standby
        ("42501", True),  # insufficient privilege
        ("55P03", True),  # lock not available
        ("57014", True),  # query canceled (statement_timeout)
        ("53100", True),  # disk full
    ],
)
def test_which_postgresql_errors_refuse_the_request_and_which_say_the_database_cannot_work(
    catalog_engine, sqlstate, unavailable
):
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's SQLSTATEs")
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import DBAPIError

    from airflow_ol_catalog.store.engine import database_unavailable

    psycopg3 = create_engine(catalog_engine.url.set(drivername="postgresql+psycopg"))  # psycopg 3 says `sqlstate`
    for engine in (catalog_engine, psycopg3):
        with pytest.raises(DBAPIError) as raised, engine.connect() as conn:
            conn.execute(text(f"DO $$ BEGIN RAISE EXCEPTION 'raised' USING ERRCODE = '{sqlstate}'; END $$"))
        assert database_unavailable(raised.value) is unavailable, engine.url.drivername
    psycopg3.dispose()


def test_token_is_stored_hashed_and_verified(catalog_engine):
    with write_transaction(catalog_engine) as conn:
        token, secret = tokens.create_token(conn, "spark", "test", ["team-a"], can_read=False)
        stored = conn.execute(select(tokens.token)).one()
    assert secret not in json.dumps([str(value) for value in stored])
    with read_connection(catalog_engine) as conn:
        assert tokens.verify_token(conn, secret).name == "spark"
        assert tokens.verify_token(conn, secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
        assert tokens.verify_token(conn, "olc_") is None
    assert token.scope.allows_job("team-a") and not token.scope.allows_job("team-b")


def test_an_expired_token_is_looked_up_once_for_the_requests_waiting_on_it(catalog_engine, monkeypatch):
    """When a busy producer's cached token expires, the requests then in flight (as many as its
    connections) each read the token table, each with a connection of its own: past the pool's
    size, new ones were opened. They now wait for one look-up; one that goes away (cancelled)
    stops none of the others; a look-up begun before `clear` (a revocation) keeps nothing."""
    from airflow_ol_catalog.api import auth

    with write_transaction(catalog_engine) as conn:
        _, secret = tokens.create_token(conn, "spark", "test")
    looked = []

    def slow_verify(conn, value):
        looked.append(value)
        time.sleep(0.2)  # long enough for every request to arrive meanwhile
        return tokens.verify_token(conn, value)

    monkeypatch.setattr(auth, "get_engine", lambda: catalog_engine)
    monkeypatch.setattr(auth, "verify_token", slow_verify)
    cache = auth._TokenCache()

    async def requests_at_once() -> list:
        waiting = [asyncio.ensure_future(cache.verify(secret)) for _ in range(16)]
        await asyncio.sleep(0.05)
        waiting[0].cancel()  # its client went away
        return await asyncio.gather(*waiting[1:])

    found = asyncio.run(requests_at_once())
    assert len(looked) == 1 and {token.name for token in found} == {"spark"}
    assert asyncio.run(cache.verify(secret)).name == "spark" and len(looked) == 1  # cached

    async def cleared_while_looking() -> None:
        looking = asyncio.ensure_future(cache.verify(secret))
        await asyncio.sleep(0.05)
        cache.clear()
        assert (await looking).name == "spark"

    cache.clear()
    asyncio.run(cleared_while_looking())
    assert asyncio.run(cache.verify(secret)).name == "spark" and len(looked) == 3  # nothing kept


def test_revoked_token_no_longer_verifies_and_names_are_unique(catalog_engine):
    with write_transaction(catalog_engine) as conn:
        _, secret = tokens.create_token(conn, "dbt", "test")
        with pytest.raises(tokens.TokenError, match="exists already"):
            tokens.create_token(conn, "dbt", "test")
        tokens.revoke_token(conn, "dbt")
        with pytest.raises(TokenNotFound, match="active token 'dbt' not found"):
            tokens.revoke_token(conn, "dbt")
    with read_connection(catalog_engine) as conn:
        assert tokens.verify_token(conn, secret) is None
        assert tokens.list_tokens(conn) == [] and len(tokens.list_tokens(conn, include_revoked=True)) == 1


def test_nul_inside_facets_is_stored_safely(catalog_engine):
    payload = run_event()
    payload["job"]["facets"]["sql"] = {"query": "SELECT '\x00'"}
    with write_transaction(catalog_engine) as conn:
        (receipt,) = store_events(conn, [Submission.of(validate_event(payload), None, 500)], "register")
    with read_connection(catalog_engine) as conn:
        stored = conn.execute(select(event.c.payload).where(event.c.id == receipt.event_id)).scalar_one()
    assert json.loads(stored)["job"]["facets"]["sql"]["query"] == "SELECT '\x00'"


def test_concurrent_writers_store_each_event_once(catalog_engine):
    """Several writers (as in several api-server workers) committing overlapping events at once."""
    committers = [BatchCommitter(catalog_engine, "register") for _ in range(3)]
    subs = [submission(run_id=f"run-{i % 40}", event_type=("START", "COMPLETE")[i // 40 % 2]) for i in range(240)]
    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(lambda i: committers[i % 3].commit([[subs[i]]])[0], range(240)))
    outcomes = [result[0] for result in results]
    assert all(isinstance(o, Receipt) for o in outcomes)
    assert sum(not o.duplicate for o in outcomes) == stored_count(catalog_engine) == 80
    with read_connection(catalog_engine) as conn:
        assert namespace_rows.get_namespace(conn, "team-a").event_count == 80


def test_writer_commits_waiting_requests_in_one_transaction(catalog_engine):
    commits = []
    sqlalchemy_event.listen(catalog_engine, "commit", lambda conn: commits.append(1))

    async def send_all():
        writer = EventWriter(catalog_engine, "register")
        return await asyncio.gather(*(writer.write([submission(run_id=f"r{i}")]) for i in range(21)))

    results = asyncio.run(send_all())
    assert [r[0].run_id for r in results] == [f"r{i}" for i in range(21)]
    assert len(commits) == 1
    assert stored_count(catalog_engine) == 21


def test_a_commit_waits_for_announced_requests_but_not_for_long(catalog_engine, monkeypatch):
    """A request still reading its body joins the next commit. One that never writes holds a
    commit back at most ANNOUNCED_WAIT_SECONDS, and only the first: later ones do not wait for it."""
    import time

    from airflow_ol_catalog.ingest import writer as writer_module

    commits = []
    sqlalchemy_event.listen(catalog_engine, "commit", lambda conn: commits.append(1))

    async def reading_then_writing(writer: EventWriter, run_id: str):
        with writer.announced():
            for _ in range(5):  # a body arriving in several pieces
                await asyncio.sleep(0)
        return await writer.write([submission(run_id=run_id)])

    async def joined() -> list:
        writer = EventWriter(catalog_engine, "register")
        first = asyncio.ensure_future(writer.write([submission(run_id="ready")]))
        later = [asyncio.ensure_future(reading_then_writing(writer, f"reading-{i}")) for i in range(3)]
        return await asyncio.gather(first, *later)

    # Long enough that a busy machine cannot end the wait before the bodies are read: the wait ends
    # as soon as they are (the test of the bound is below).
    monkeypatch.setattr(writer_module, "ANNOUNCED_WAIT_SECONDS", 5.0)
    started = time.perf_counter()
    results = asyncio.run(joined())
    assert [r[0].run_id for r in results] == ["ready", "reading-0", "reading-1", "reading-2"]
    assert len(commits) == 1
    assert time.perf_counter() - started < 4  # no waiting out the bound once everyone announced has written

    monkeypatch.setattr(writer_module, "ANNOUNCED_WAIT_SECONDS", 0.3)

    async def stuck() -> list[float]:
        writer = EventWriter(catalog_engine, "register")
        never_written = asyncio.Event()

        async def hangs():
            with writer.announced():
                await never_written.wait()

        hanging = asyncio.ensure_future(hangs())
        await asyncio.sleep(0)
        waited = []
        for run_id in ("alone", "later"):
            started = time.perf_counter()
            await writer.write([submission(run_id=run_id)])
            waited.append(time.perf_counter() - started)
        never_written.set()
        await hanging
        return waited

    commits.clear()
    first, second = asyncio.run(stuck())
    assert 0.25 < first < 0.3 + 0.5
    assert second < 0.15
    assert len(commits) == 2
    assert stored_count(catalog_engine) == 6


@pytest.fixture
def poison_refused(monkeypatch):
    """The store refuses any group holding an event of run `poison`, as a database error would."""
    from airflow_ol_catalog.ingest import writer as writer_module

    original = writer_module.store_events

    def refuse_poison(conn, subs, policy):
        if any(sub.event.run_id == "poison" for sub in subs):
            raise IntegrityError("INSERT ...", None, ValueError("cannot store this one"))
        return original(conn, subs, policy)

    monkeypatch.setattr(writer_module, "store_events", refuse_poison)


def test_the_sqlite_writer_keeps_one_connection_across_groups_and_failures(tmp_path, poison_refused):
    """The event loop's writer commits every group on one connection, even after a refused one."""
    from airflow_ol_catalog.store import engine as engine_module
    from airflow_ol_catalog.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    upgrade(url)
    engine = engine_module.get_engine(url)
    checkouts = []
    sqlalchemy_event.listen(engine, "checkout", lambda *args: checkouts.append(threading.current_thread().name))

    async def send() -> list:
        writer = EventWriter(engine, "register")
        return [(await writer.write([submission(run_id=run_id)]))[0] for run_id in ("a", "poison", "b", "c")]

    try:
        results = asyncio.run(send())
        assert [getattr(r, "run_id", None) for r in results] == ["a", None, "b", "c"]
        assert isinstance(results[1], Refusal) and "cannot store this one" in results[1].reason
        assert stored_count(engine) == 3
        # the writer's and stored_count's; the refused event was split on a thread of its own
        assert (
            len(
                [name for name in checkouts if not name.startswith(("ol-catalog-wal-checkpoint", "ol-catalog-isolate"))]
            )
            == 2
        )
    finally:
        engine_module.dispose_engines()


def test_group_with_a_failing_event_still_commits_the_others(catalog_engine, poison_refused):
    committer = BatchCommitter(catalog_engine, "register")
    good, mixed = committer.commit(
        [[submission(run_id="good")], [submission(run_id="ok"), submission(run_id="poison")]]
    )
    assert good[0].run_id == "good"
    assert mixed[0].run_id == "ok" and isinstance(mixed[1], Refusal) and "cannot store this one" in mixed[1].reason
    assert stored_count(catalog_engine) == 2


def test_an_event_the_catalog_fails_on_is_answered_500_to_send_again_and_the_others_commit(
    catalog_engine, monkeypatch, caplog
):
    """A failure that is not the database's answer to an event's values (a fault of the catalog:
    every event failed so on psycopg 3) is no reason to drop the event: it is answered 500,
    retriable, with its traceback in the log, while the rest of its group commits."""
    from airflow_ol_catalog.ingest import writer as writer_module

    original = writer_module.store_events

    def fail_on_bug(conn, subs, policy):
        if any(sub.event.run_id == "bug" for sub in subs):
            raise AttributeError("'Connection' object has no attribute 'get_parameter_status'")
        return original(conn, subs, policy)

    monkeypatch.setattr(writer_module, "store_events", fail_on_bug)
    committer = BatchCommitter(catalog_engine, "register")
    (found,) = committer.commit([[submission(run_id="ok"), submission(run_id="bug"), submission(run_id="fine")]])
    assert [getattr(o, "run_id", None) for o in found] == ["ok", None, "fine"]
    assert isinstance(found[1], Refusal) and (found[1].status, found[1].retriable) == (500, True)
    assert "nothing was stored (AttributeError: 'Connection' object" in found[1].reason
    assert stored_count(catalog_engine) == 2
    assert any(r.exc_info and r.exc_info[0] is AttributeError for r in caplog.records)


class HeldStore:
    """The writer's store_events, holding each group with a `held...` run until `release` is set;
    it notes the most stores that ran at once and whether a connection was ever used by two."""

    def __init__(self) -> None:
        self.release, self.entered = threading.Event(), threading.Semaphore(0)
        self.most, self.shared = 0, False
        self._in_use: set[int] = set()
        self._guard = threading.Lock()

    def __call__(self, conn, submissions, policy):
        connection = id(conn.connection.dbapi_connection)
        with self._guard:
            self.shared |= connection in self._in_use
            self._in_use.add(connection)
            self.most = max(self.most, len(self._in_use))
        try:
            if any(sub.event.run_id.startswith("held") for sub in submissions):
                self.entered.release()
                assert self.release.wait(30)
            return store_events(conn, submissions, policy)
        finally:
            with self._guard:
                self._in_use.discard(connection)


@pytest.fixture
def held_store(monkeypatch):
    from airflow_ol_catalog.ingest import writer as writer_module

    store = HeldStore()
    monkeypatch.setattr(writer_module, "store_events", store)
    yield store
    store.release.set()


def test_the_postgresql_writer_stores_new_groups_while_its_transactions_wait(catalog_engine, held_store):
    """On PostgreSQL a writer runs POSTGRES_TRANSACTIONS transactions at once, each on its own
    connection: while one waits (here: held in the middle of storing), the next group commits;
    once every connection is busy, new groups wait for one, and nothing is stored twice."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time; its transactions run on the event loop")
    from airflow_ol_catalog.ingest import writer as writer_module

    slots = writer_module.POSTGRES_TRANSACTIONS
    assert slots >= 2

    async def send() -> tuple[list, list]:
        loop = asyncio.get_running_loop()
        writer = EventWriter(catalog_engine, "register")
        held = []
        for i in range(slots - 1):  # all connections but one are held
            held.append(asyncio.ensure_future(writer.write([submission(run_id=f"held-{i}")])))
            assert await loop.run_in_executor(None, held_store.entered.acquire, True, 10)
        quick = await asyncio.wait_for(writer.write([submission(run_id="quick")]), 10)
        assert not any(h.done() for h in held)  # committed beside the held transactions
        held.append(asyncio.ensure_future(writer.write([submission(run_id=f"held-{slots - 1}")])))
        assert await loop.run_in_executor(None, held_store.entered.acquire, True, 10)
        waiting = asyncio.ensure_future(writer.write([submission(run_id="after"), submission(run_id="quick")]))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # every connection is busy
        held_store.release.set()
        return [*quick, *await waiting], [r for h in held for r in await h]

    (quick, after, repeated), held = asyncio.run(send())
    assert (quick.run_id, after.run_id, repeated.run_id) == ("quick", "after", "quick")
    assert not quick.duplicate and not after.duplicate and repeated.duplicate
    assert sorted(r.run_id for r in held) == [f"held-{i}" for i in range(slots)]
    assert held_store.most == slots and not held_store.shared
    assert stored_count(catalog_engine) == slots + 2


def test_a_cancelled_transaction_answers_its_requests_and_leaves_the_writer_working(catalog_engine, held_store):
    """Stopping the event loop cancels the writer's transactions. One cancelled while its thread
    still stores tells its requests to send again (503); a connection is never used by two
    threads at once, even when the next transaction takes it meanwhile; one cancelled before it
    began gives its connection back; and the writer goes on with the next group."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("on SQLite a small transaction runs on the event loop: nothing to cancel meanwhile")
    from airflow_ol_catalog.ingest import writer as writer_module

    async def send() -> list:
        loop = asyncio.get_running_loop()
        writer = EventWriter(catalog_engine, "register")
        held = asyncio.ensure_future(writer.write([submission(run_id="held")]))
        assert await loop.run_in_executor(None, held_store.entered.acquire, True, 10)
        for task in list(writer._running):
            task.cancel()
        with pytest.raises(CatalogUnavailable, match="stopped before"):
            await held
        later = [asyncio.ensure_future(writer.write([submission(run_id=f"later-{i}")])) for i in range(4)]
        await asyncio.sleep(0.3)
        held_store.release.set()  # the cancelled transaction's thread ends; a group that took its connection follows
        stored = [r for f in later for r in await asyncio.wait_for(f, 10)]
        # cancelled before it began: its connection comes back, and the next write takes its group
        waiting = asyncio.ensure_future(writer.write([submission(run_id="unstarted")]))
        await asyncio.sleep(0)
        assert writer._starting is not None
        writer._starting.cancel()
        await asyncio.sleep(0.05)
        assert writer._starting is None and len(writer._free) == writer_module.POSTGRES_TRANSACTIONS
        stored += await asyncio.wait_for(writer.write([submission(run_id="next")]), 10)
        stored += await asyncio.wait_for(waiting, 10)
        return stored

    stored = asyncio.run(send())
    assert sorted(r.run_id for r in stored) == ["later-0", "later-1", "later-2", "later-3", "next", "unstarted"]
    assert not held_store.shared
    assert stored_count(catalog_engine) == 7  # the held event too: its thread committed it


def test_a_transaction_postgresql_picks_to_break_a_deadlock_is_run_again(catalog_engine, monkeypatch):
    """Two api-server workers can deadlock on PostgreSQL (the fuzz test met it once in 10,000
    requests); the loser's events are stored by a second run of the transaction, not refused."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: no deadlock")
    from airflow_ol_catalog.ingest import writer

    calls = []
    other = catalog_engine.connect()
    other_locked, other_waiting = threading.Event(), threading.Event()

    def other_writer():
        # Holds lock 2 and asks for lock 1; it waits longer before checking for a deadlock, so
        # PostgreSQL picks the catalog's transaction to roll back.
        with other.begin():
            other.exec_driver_sql("SET LOCAL deadlock_timeout = '10s'")
            other.exec_driver_sql("SELECT pg_advisory_xact_lock(2)")
            other_locked.set()
            other_waiting.set()
            other.exec_driver_sql("SELECT pg_advisory_xact_lock(1)")

    def store_meeting_another_writer(conn, submissions, policy):
        calls.append(len(submissions))
        if len(calls) == 1:
            conn.exec_driver_sql("SET LOCAL deadlock_timeout = '100ms'")
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(1)")
            thread.start()
            other_locked.wait(10)
            other_waiting.wait(10)
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(2)")  # the cycle: PostgreSQL aborts this one
        return store_events(conn, submissions, policy)

    thread = threading.Thread(target=other_writer)
    monkeypatch.setattr(writer, "store_events", store_meeting_another_writer)
    try:
        ((receipt,),) = BatchCommitter(catalog_engine, "register").commit([[submission(run_id="deadlocked")]])
    finally:
        thread.join(30)
        other.close()
    assert isinstance(receipt, Receipt) and calls == [1, 1]
    assert stored_count(catalog_engine, run_id="deadlocked") == 1


def test_unreachable_database_fails_the_group_as_unavailable():
    from sqlalchemy import create_engine

    committer = BatchCommitter(create_engine("postgresql+psycopg2://nobody@127.0.0.1:9/none"), "register")
    (result,) = committer.commit([[submission()]])
    assert isinstance(result, CatalogUnavailable)


def test_fast_inserts_store_values_exactly_as_sqlalchemy_does(tmp_path):
    """The SQLite many-row path must write the same text SQLAlchemy writes (times compare as text)."""
    from sqlalchemy import create_engine, insert, text

    from airflow_ol_catalog.store.sql import execute_rows, insert_for
    from airflow_ol_catalog.store.tables import facet

    engine = create_engine(f"sqlite:///{tmp_path / 'c.db'}")
    metadata.create_all(engine)
    when = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
    row = {"entity": "job", "entity_id": 1, "name": "a", "value": "{}", "event_time": when, "event_digest": "d"}
    with engine.begin() as conn:
        conn.execute(insert(facet), [row])
        execute_rows(conn, insert_for("sqlite", facet).returning(facet.c.name), [{**row, "name": "b"}])
        stored = conn.execute(text("SELECT name, event_time FROM ol_catalog_facet ORDER BY name")).all()
    assert stored[0][1] == stored[1][1] == "2026-01-02 03:04:05.000006"


def test_projecting_on_sqlite_sends_every_statement_raw_through_the_driver(tmp_path):
    """store/sql.py compiles the projection's statements once and sends them to the driver itself; it
    relies on SQLAlchemy's compiled INSERTs (positiontup in column_keys order, one VALUES group) and
    on exported_columns naming the RETURNING columns. Should an upgrade change that, the statements
    fall back to SQLAlchemy's execution, which this sees, and the ingest path loses its speed."""
    from airflow_ol_catalog.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'c.db'}"
    upgrade(url)
    engine = get_engine(url)
    through_sqlalchemy = []
    sqlalchemy_event.listen(engine, "before_cursor_execute", lambda *args: through_sqlalchemy.append(args[2]))
    schema = {"fields": [{"name": "id", "type": "INT"}, {"name": "amount", "type": "DECIMAL"}]}
    for i in range(2):
        payload = run_event(
            eventType="COMPLETE",
            run={
                "runId": f"r-{i}",
                "facets": {"parent": {"run": {"runId": "p-1"}, "job": {"namespace": "team-a", "name": "dag"}}},
            },
            inputs=[{"namespace": "postgres://db:5432", "name": f"s.in_{i}", "facets": {"schema": schema}}],
            outputs=[{"namespace": "postgres://db:5432", "name": f"s.out_{i}", "facets": {"schema": schema}}],
        )
        through_sqlalchemy.clear()  # the first event also registers the namespace, through SQLAlchemy
        with write_transaction(engine) as conn:
            (receipt,) = store_events(conn, [Submission.of(validate_event(payload), None, 500)], "register")
        assert isinstance(receipt, Receipt)
    assert [sql for sql in through_sqlalchemy if sql != "BEGIN IMMEDIATE"] == []
    with read_connection(engine) as conn:
        assert conn.execute(select(func.count()).select_from(edge)).scalar_one() == 4


def test_fast_inserts_fall_back_to_sqlalchemy_with_their_returning_rows(tmp_path):
    """Rows whose keys differ from the first row's (here in order) cannot share one raw statement:
    SQLAlchemy runs them, RETURNING included."""
    from sqlalchemy import create_engine

    from airflow_ol_catalog.store.sql import execute_rows, insert_for
    from airflow_ol_catalog.store.tables import facet

    engine = create_engine(f"sqlite:///{tmp_path / 'c.db'}")
    metadata.create_all(engine)
    when = datetime(2026, 1, 2, tzinfo=timezone.utc)
    row = {"entity": "job", "entity_id": 1, "name": "a", "value": "{}", "event_time": when, "event_digest": "d"}
    reordered = dict(reversed(list({**row, "name": "b"}.items())))
    statement = insert_for("sqlite", facet).returning(facet.c.name)
    with engine.begin() as conn:
        assert sorted(r.name for r in execute_rows(conn, statement, [row, reordered])) == ["a", "b"]
        assert execute_rows(conn, insert_for("sqlite", facet), [{**row, "name": "c"}, {**reordered, "name": "d"}]) == []
        assert conn.execute(select(func.count()).select_from(facet)).scalar_one() == 4


def test_sqlite_times_are_stored_as_utc_text_that_sorts(tmp_path):
    """Other offsets become UTC, whole seconds keep their fraction: text order is time order."""
    from sqlalchemy import create_engine, insert, select, text

    from airflow_ol_catalog.store.tables import facet

    engine = create_engine(f"sqlite:///{tmp_path / 'c.db'}")
    metadata.create_all(engine)
    plus_two = timezone(timedelta(hours=2))
    times = {
        "a": datetime(2026, 1, 2, 5, 4, 5, tzinfo=plus_two),
        "b": datetime(2026, 1, 2, 3, 4, 5, 1, tzinfo=timezone.utc),
    }
    with engine.begin() as conn:
        conn.execute(
            insert(facet),
            [
                {"entity": "job", "entity_id": 1, "name": n, "value": "{}", "event_time": t, "event_digest": "d"}
                for n, t in times.items()
            ],
        )
        stored = dict(conn.execute(text("SELECT name, event_time FROM ol_catalog_facet")).all())
        read = dict(conn.execute(select(facet.c.name, facet.c.event_time)).all())
        later = (
            conn.execute(
                select(facet.c.name).where(facet.c.event_time > datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
            )
            .scalars()
            .all()
        )
    assert stored == {"a": "2026-01-02 03:04:05.000000", "b": "2026-01-02 03:04:05.000001"}
    assert read == {"a": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc), "b": times["b"]}
    assert later == ["b"]


def test_the_writer_copies_the_sqlite_log_into_the_database_file_in_the_background(tmp_path, monkeypatch):
    """Commits leave the write-ahead log alone until it is large; a thread of the writer copies it,
    and truncates it once it has grown past its limit."""
    import time

    from airflow_ol_catalog.store import engine as engine_module
    from airflow_ol_catalog.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    upgrade(url)
    engine = engine_module.get_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == engine_module.SQLITE_AUTOCHECKPOINT_PAGES
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    size = (tmp_path / "catalog.db").stat().st_size

    async def send() -> None:
        writer = EventWriter(engine, "register")
        await asyncio.gather(*(writer.write([submission(run_id=f"r{i}")]) for i in range(200)))

    try:
        asyncio.run(send())
        assert stored_count(engine) == 200
        deadline = time.monotonic() + 5
        while (tmp_path / "catalog.db").stat().st_size == size and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (tmp_path / "catalog.db").stat().st_size > size  # the events reached the database file
        assert [t for t in threading.enumerate() if t.name == "ol-catalog-wal-checkpoint"]
        wal = tmp_path / "catalog.db-wal"
        assert wal.stat().st_size > 0
        monkeypatch.setattr(engine_module, "WAL_TRUNCATE_BYTES", 1)
        deadline = time.monotonic() + 5
        while wal.stat().st_size > 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert wal.stat().st_size == 0
    finally:
        engine_module.dispose_engines()
    deadline = time.monotonic() + 5
    while [t for t in threading.enumerate() if t.name == "ol-catalog-wal-checkpoint"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [t for t in threading.enumerate() if t.name == "ol-catalog-wal-checkpoint"]  # disposing stops it


def test_a_long_reader_does_not_hold_writers_back_behind_the_truncating_checkpoint(tmp_path, monkeypatch):
    """A truncating checkpoint waits for readers and blocks writers meanwhile: only briefly."""
    import sqlite3
    import time

    from airflow_ol_catalog.store import engine as engine_module
    from airflow_ol_catalog.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    upgrade(url)
    engine = engine_module.get_engine(url)
    committer = BatchCommitter(engine, "register")
    committer.commit([[submission(run_id="first")]])
    reader = sqlite3.connect(tmp_path / "catalog.db", isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM ol_catalog_event").fetchall()  # holds its snapshot
    committer.commit([[submission(run_id="second")]])  # the log now has frames the reader does not see
    monkeypatch.setattr(engine_module, "WAL_TRUNCATE_BYTES", 1)
    try:
        engine_module.start_wal_checkpoints(engine)
        time.sleep(engine_module.WAL_CHECKPOINT_SECONDS * 3)  # truncation attempts while the reader stays
        for i in range(5):
            started = time.monotonic()
            committer.commit([[submission(run_id=f"later-{i}")]])
            assert time.monotonic() - started < 2 * engine_module.TRUNCATE_WAIT_MS / 1000 + 0.5
        reader.execute("COMMIT")
        assert stored_count(engine) == 7
    finally:
        reader.close()
        engine_module.dispose_engines()


def test_retention_and_a_writer_ending_the_same_old_run_do_not_deadlock(catalog_engine, monkeypatch):
    """A writer locks a run (its upsert) before the run's links (their write ends, last). Retention
    locks the runs it deletes before their links too: deleting the links first, it waited for the
    writer's run while holding links the writer then waited for, and PostgreSQL broke the deadlock."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer")
    from airflow_ol_catalog.ingest import projection
    from airflow_ol_catalog.ingest.retention import apply_retention

    def event_of(event_type: str, minute: int) -> Submission:
        payload = run_event(
            eventType=event_type,
            eventTime=f"2020-01-01T00:{minute:02d}:00Z",
            run={"runId": "old-run"},
            outputs=[{"namespace": "s3://lake", "name": "old"}],
        )
        return Submission.of(validate_event(payload), None, 500)

    with write_transaction(catalog_engine) as conn:
        store_events(conn, [event_of("START", 0)], "register")
    reached, release = threading.Event(), threading.Event()
    project_io = projection._project_io

    def paused(*args, **kwargs):
        reached.set()  # the run is upserted, and locked until this transaction ends
        assert release.wait(30)
        return project_io(*args, **kwargs)

    monkeypatch.setattr(projection, "_project_io", paused)

    def complete() -> None:
        with write_transaction(catalog_engine) as conn:
            store_events(conn, [event_of("COMPLETE", 1)], "register")

    with ThreadPoolExecutor(2) as pool:
        ending = pool.submit(complete)
        assert reached.wait(30)
        retention = pool.submit(apply_retention, catalog_engine, 0, 0)
        time.sleep(1)  # retention reaches the run's lock
        release.set()
        ending.result(timeout=60)  # raised DeadlockDetected before
        assert retention.result(timeout=60)["runs"] == 1


def test_writes_to_marked_datasets_are_announced_once_their_transaction_has_committed(catalog_engine, monkeypatch):
    """The flag that starts the API server's sweep was set inside the transaction: a sweep running
    then read nothing new (the writes were not committed), cleared the flag and stopped, and the
    writes waited for the next one (a test saw them pending for 20 s). It is set after the commit."""
    from airflow_ol_catalog.ingest import asset_triggers, projection
    from airflow_ol_catalog.ingest.asset_triggers import create_trigger, trigger_cache, writes_queued

    with write_transaction(catalog_engine) as conn:
        create_trigger(conn, "s3://b", "announced", "user:admin")
    trigger_cache.clear()
    queue = asset_triggers.queue_writes

    def swept_meanwhile(*args):
        queued = queue(*args)
        writes_queued.clear()  # a sweep ran now, and found nothing committed
        return queued

    monkeypatch.setattr(projection, "queue_writes", swept_meanwhile)
    writes_queued.clear()
    outputs = [{"namespace": "s3://b", "name": "announced"}]
    (outcomes,) = BatchCommitter(catalog_engine, "register").commit(
        [[submission(run_id="run-a", event_type="COMPLETE", outputs=outputs)]]
    )
    assert isinstance(outcomes[0], Receipt) and writes_queued.is_set()
    writes_queued.clear()


def test_a_run_retention_deleted_leaves_its_triggering_write_to_no_later_run(catalog_engine):
    """A COMPLETE run wrote a marked dataset; retention deleted the run. On SQLite the next run may
    get the deleted one's row id, and its write was taken for the one queued already."""
    from airflow_ol_catalog.ingest.asset_triggers import create_trigger, trigger_cache
    from airflow_ol_catalog.ingest.retention import apply_retention
    from airflow_ol_catalog.store.tables import asset_trigger_run

    outputs = [{"namespace": "s3://b", "name": "marked"}]
    with write_transaction(catalog_engine) as conn:
        create_trigger(conn, "s3://b", "marked", "user:admin")
    trigger_cache.clear()
    with write_transaction(catalog_engine) as conn:
        old = submission(run_id="run-a", event_type="COMPLETE", eventTime="2020-01-01T10:00:00Z", outputs=outputs)
        store_events(conn, [old], "register")
    assert apply_retention(catalog_engine, 365, 0)["runs"] == 1
    with write_transaction(catalog_engine) as conn:
        store_events(conn, [submission(run_id="run-b", event_type="COMPLETE", outputs=outputs)], "register")
    with read_connection(catalog_engine) as conn:
        queued = conn.execute(
            select(asset_trigger_run.c.run_id, asset_trigger_run.c.run_pk).order_by(asset_trigger_run.c.id)
        ).all()
    assert [(run_id, pk is not None) for run_id, pk in queued] == [("run-a", False), ("run-b", True)]


def test_a_retention_dry_run_reports_exactly_what_the_real_run_deletes(catalog_engine):
    """Runs that go take their events with them: the dry run must count those too."""
    from airflow_ol_catalog.ingest.retention import apply_retention

    old, recent = "2020-01-0{}T10:00:00Z", datetime.now(timezone.utc).isoformat()
    subs = []
    for day in range(1, 6):  # five old runs of one job, two events each; with the fresh run, the newest two stay
        for event_type in ("START", "COMPLETE"):
            subs.append(submission(run_id=f"old-{day}", event_type=event_type, eventTime=old.format(day)))
    subs.append(submission(run_id="fresh", event_type="COMPLETE", eventTime=recent))
    subs.append(
        Submission.of(
            validate_event(
                {
                    "eventTime": old.format(1),
                    "producer": "p",
                    "dataset": {"namespace": "s3://b", "name": "old-dataset-event"},
                }
            ),
            None,
            500,
        )
    )
    with write_transaction(catalog_engine) as conn:
        store_events(conn, subs, "register")
    dry = apply_retention(catalog_engine, 365, 2, dry_run=True)
    real = apply_retention(catalog_engine, 365, 2)
    assert (dry["runs"], dry["events"]) == (real["runs"], real["events"]) == (4, 9)
    assert stored_count(catalog_engine) == len(subs) - 9
    assert apply_retention(catalog_engine, 365, 2, dry_run=True)["events"] == 0


def test_many_rows_on_postgresql_go_through_copy_and_store_what_sqlalchemy_stores(catalog_engine):
    """On PostgreSQL, an upsert of many rows is COPY into a staging table and the statement's own
    INSERT ... ON CONFLICT ... RETURNING from it. Awkward text (backslashes, tabs, line breaks,
    quotes, NUL as JSON writes it, other scripts), NULLs, booleans and times (the same instants with
    other offsets among them, which the text of times kept for the rows after must not confuse) come
    back exactly as through SQLAlchemy, conflicts are resolved as the statement says, and the staging
    table is left empty for the next statement of the transaction. A time without an offset is
    refused, as SQLAlchemy's bind processing refuses it."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's")
    from sqlalchemy import text

    from airflow_ol_catalog.store.sql import STAGE_MIN_ROWS, _staged_insert, execute_rows, insert_for
    from airflow_ol_catalog.store.tables import facet

    when = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
    awkward = ["a\\b", "tab\there", "line\nbreak\r\n", '{"q":"\\"x\\""}', "\\u0000", "Ĳ café 販売 🚀", "\\N", ""]
    statement = insert_for("postgresql", facet).on_conflict_do_nothing().returning(facet.c.entity_id, facet.c.value)

    def rows(entity: str) -> list[dict]:
        return [
            {
                "entity": entity,
                "entity_id": i,
                "name": awkward[i % len(awkward)],
                "value": None if i % 5 == 0 else awkward[i % len(awkward)] * (i % 3 + 1),
                "event_time": (when + timedelta(microseconds=i // 2)).astimezone(offsets[i % len(offsets)]),
                "event_digest": f"d{i}",
                "search_key": None,
            }
            for i in range(STAGE_MIN_ROWS * 2)
        ]

    offsets = [timezone.utc, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=9, seconds=1))]
    naive = rows("naive")
    naive[-1]["event_time"] = when.replace(tzinfo=None)
    with write_transaction(catalog_engine) as conn, pytest.raises(ValueError, match="naive datetime"):
        execute_rows(conn, statement, naive)
    with write_transaction(catalog_engine) as conn:
        assert _staged_insert(conn, statement, tuple(rows("x")[0])) is not None  # the shape the COPY path needs
        staged = execute_rows(conn, statement, rows("copied"))
        again = execute_rows(conn, statement, rows("copied"))  # every row conflicts: nothing returned
        through_sqlalchemy = conn.execute(statement, rows("plain")).all()
        stage = conn.execute(text("SELECT relname FROM pg_class WHERE relname LIKE 'olc_stage_ol_catalog_facet%'"))
        assert conn.execute(text(f"SELECT count(*) FROM {stage.scalar_one()}")).scalar_one() == 0
    assert again == []
    assert sorted(tuple(r) for r in staged) == sorted(tuple(r) for r in through_sqlalchemy)
    with read_connection(catalog_engine) as conn:
        stored = {
            entity: sorted(
                conn.execute(
                    select(facet.c.entity_id, facet.c.name, facet.c.value, facet.c.event_time).where(
                        facet.c.entity == entity
                    )
                ).all()
            )
            for entity in ("copied", "plain")
        }
    assert stored["copied"] == stored["plain"] and len(stored["copied"]) == STAGE_MIN_ROWS * 2
    # the two 01:30 of a night daylight saving ends are equal as keys, and an hour apart
    from zoneinfo import ZoneInfo

    night = [datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York"), fold=f) for f in (0, 1)]
    folds = rows("fold")
    for row, when in zip(folds, night, strict=False):
        row["event_time"] = when
    with write_transaction(catalog_engine) as conn:
        execute_rows(conn, statement, folds)
    with read_connection(catalog_engine) as conn:
        first, second = conn.execute(
            select(facet.c.event_time).where(facet.c.entity == "fold").order_by(facet.c.entity_id).limit(2)
        ).scalars()
    assert second - first == timedelta(hours=1)


def test_a_staging_table_keeps_no_pages_past_a_commit(catalog_engine):
    """The staged rows are deleted as the INSERT takes them, and their pages freed at commit: a
    session that stages batch after batch (the writer's kept connection, for hours) does not grow
    its temporary table, which no autovacuum ever visits, nor its INSERT's scan of it."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's")
    from sqlalchemy import text

    from airflow_ol_catalog.store.engine import WRITE
    from airflow_ol_catalog.store.sql import STAGE_MIN_ROWS, execute_rows, insert_for
    from airflow_ol_catalog.store.tables import facet

    when = datetime(2026, 1, 2, tzinfo=timezone.utc)
    statement = insert_for("postgresql", facet).on_conflict_do_nothing().returning(facet.c.entity_id)
    stage_pages = text(
        "SELECT pg_relation_size(oid) FROM pg_class "
        "WHERE relname LIKE 'olc_stage_ol_catalog_facet%' AND relnamespace = pg_my_temp_schema()"
    )
    with catalog_engine.connect().execution_options(**WRITE) as conn:
        for batch in range(3):
            rows = [
                {
                    "entity": f"batch-{batch}",
                    "entity_id": i,
                    "name": "sql",
                    "value": "x" * 2000,
                    "event_time": when,
                    "event_digest": f"d{i}",
                    "search_key": None,
                }
                for i in range(STAGE_MIN_ROWS * 4)
            ]
            with conn.begin():
                assert len(execute_rows(conn, statement, rows)) == len(rows)
                assert conn.execute(stage_pages).scalar_one() > 0  # the COPY path was taken
            with conn.begin():
                assert conn.execute(stage_pages).scalar_one() == 0


def test_rows_are_not_staged_outside_a_transaction(catalog_engine):
    """Outside a transaction the commit after COPY would empty the staging table before the INSERT
    read it: many rows on a session in autocommit are refused, and nothing is stored."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's")
    from airflow_ol_catalog.store.sql import STAGE_MIN_ROWS, execute_rows, insert_for
    from airflow_ol_catalog.store.tables import facet

    when = datetime(2026, 1, 2, tzinfo=timezone.utc)
    statement = insert_for("postgresql", facet).on_conflict_do_nothing().returning(facet.c.entity_id)
    rows = [
        {
            "entity": "auto",
            "entity_id": i,
            "name": "sql",
            "value": "x",
            "event_time": when,
            "event_digest": f"d{i}",
            "search_key": None,
        }
        for i in range(STAGE_MIN_ROWS + 1)
    ]
    autocommit = catalog_engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    with autocommit as conn, pytest.raises(RuntimeError, match="only inside a transaction"):
        execute_rows(conn, statement, rows)
    with read_connection(catalog_engine) as conn:
        assert conn.execute(select(func.count()).select_from(facet)).scalar_one() == 0


def test_rows_copied_on_a_session_of_another_client_encoding_are_sent_in_that_encoding(catalog_engine):
    """COPY's rows are encoded by the catalog in the session's client encoding, as psycopg2 encodes
    text: a LATIN1 session stores accented text as a UTF-8 one does, and text LATIN1 cannot hold is
    refused, nothing stored."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's")
    from sqlalchemy import create_engine

    from airflow_ol_catalog.store.sql import STAGE_MIN_ROWS, execute_rows, insert_for
    from airflow_ol_catalog.store.tables import facet

    when = datetime(2026, 1, 2, tzinfo=timezone.utc)
    statement = insert_for("postgresql", facet).on_conflict_do_nothing().returning(facet.c.entity_id)

    def rows(value: str) -> list[dict]:
        return [
            {
                "entity": "latin",
                "entity_id": i,
                "name": "café",
                "value": value,
                "event_time": when,
                "event_digest": f"d{i}",
                "search_key": None,
            }
            for i in range(STAGE_MIN_ROWS + 1)
        ]

    latin = create_engine(catalog_engine.url, connect_args={"client_encoding": "LATIN1"})
    try:
        with latin.begin() as conn:
            assert conn.connection.dbapi_connection.encoding == "LATIN1"
            assert len(execute_rows(conn, statement, rows("naïve ½ déjà"))) == STAGE_MIN_ROWS + 1
        with pytest.raises(UnicodeEncodeError), latin.begin() as conn:
            execute_rows(conn, statement, [{**row, "entity": "other"} for row in rows("販売")])
    finally:
        latin.dispose()
    with read_connection(catalog_engine) as conn:
        stored = conn.execute(select(facet.c.entity, facet.c.name, facet.c.value).distinct()).all()
    assert [tuple(r) for r in stored] == [("latin", "café", "naïve ½ déjà")]


def test_batches_inserting_then_updating_many_datasets_in_one_session_both_stage(catalog_engine):
    """A dataset's insert and its update (which checks the alias) stage other columns of one table
    through COPY: in one database session, each must have its own staging table."""
    from airflow_ol_catalog.store.sql import STAGE_MIN_ROWS
    from airflow_ol_catalog.store.tables import dataset

    many = STAGE_MIN_ROWS * 2
    outputs = [{"namespace": "s3://bucket", "name": f"table_{i}"} for i in range(many)]

    def batch(run_id: str) -> list[Submission]:
        return [submission(run_id=run_id, event_type="COMPLETE", outputs=outputs)]

    catalog_engine.pool.dispose()  # one session for both batches (the pool's first connection)
    committer = BatchCommitter(catalog_engine, "register")
    (first,) = committer.commit([batch("r-new")])
    (second,) = committer.commit([batch("r-again")])  # every dataset exists: all are updated
    assert [o.duplicate for o in first + second] == [False, False]
    with read_connection(catalog_engine) as conn:
        assert conn.execute(select(func.count()).select_from(dataset)).scalar_one() == many


def test_the_projections_big_upserts_take_the_copy_path_on_postgresql(catalog_engine):
    """The statements that carry most rows keep the shape the COPY path needs (SQLAlchemy's compiled
    INSERT with one VALUES group of plain parameters): should an upgrade change it, they fall back
    to the slower many-row INSERT and this fails."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's")
    from airflow_ol_catalog.ingest import projection
    from airflow_ol_catalog.ingest.event_log import _insert_event
    from airflow_ol_catalog.store.sql import _staged_insert
    from airflow_ol_catalog.store.tables import facet, run_dataset

    statements = projection._statements("postgresql")
    keys = {
        "event": tuple(c.key for c in event.columns if c.key != "id"),
        "run": tuple(projection._run_row(1, "r", None, None)),
        "facet": tuple(c.key for c in facet.columns),
        "run_dataset": tuple(c.key for c in run_dataset.columns),
    }
    with write_transaction(catalog_engine) as conn:
        assert _staged_insert(conn, _insert_event("postgresql"), keys["event"]) is not None
        for name in ("run", "facet", "run_dataset"):
            assert _staged_insert(conn, statements[name], keys[name]) is not None, name


def test_projecting_on_postgresql_sends_every_statement_straight_through_psycopg2(catalog_engine, monkeypatch):
    """On PostgreSQL too the ingest path compiles its statements once and sends them through
    psycopg2 itself (single events, and batches through COPY): SQLAlchemy's per-statement machinery
    cost more CPU than the database's work. Should an upgrade change the compiled shapes this relies
    on, statements fall back to SQLAlchemy, which this sees."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's path")
    from airflow_ol_catalog.ingest import asset_triggers
    from airflow_ol_catalog.store.sql import STAGE_MIN_ROWS

    # The asset-trigger marks are read once in a while, not per event: here by the first transaction
    # only, however slowly a busy machine runs the batches after it.
    monkeypatch.setattr(asset_triggers, "RULES_TTL_SECONDS", 3600.0)
    asset_triggers.trigger_cache.clear()

    through_sqlalchemy = []
    sqlalchemy_event.listen(catalog_engine, "before_cursor_execute", lambda *args: through_sqlalchemy.append(args[2]))
    schema = {"fields": [{"name": "id", "type": "INT"}, {"name": "amount", "type": "DECIMAL"}]}

    def payload(i: int) -> dict:
        return run_event(
            eventType="COMPLETE",
            eventTime=f"2026-01-01T00:00:{i % 60:02d}.{i:06d}Z",
            run={
                "runId": f"r-{i}",
                "facets": {"parent": {"run": {"runId": "p-1"}, "job": {"namespace": "team-a", "name": "dag"}}},
            },
            inputs=[{"namespace": "postgres://db:5432", "name": f"s.in_{i}", "facets": {"schema": schema}}],
            outputs=[{"namespace": "postgres://db:5432", "name": f"s.out_{i}", "facets": {"schema": schema}}],
        )

    with write_transaction(catalog_engine) as conn:  # registers the namespace, through SQLAlchemy
        store_events(conn, [Submission.of(validate_event(payload(0)), None, 500)], "register")
    for batch in ([payload(1)], [payload(i) for i in range(2, 2 + STAGE_MIN_ROWS)]):
        through_sqlalchemy.clear()
        with write_transaction(catalog_engine) as conn:
            receipts = store_events(conn, [Submission.of(validate_event(p), None, 500) for p in batch], "register")
        assert all(isinstance(r, Receipt) and not r.duplicate for r in receipts)
        assert through_sqlalchemy == []
    with read_connection(catalog_engine) as conn:
        assert conn.execute(select(func.count()).select_from(edge)).scalar_one() == 2 * (2 + STAGE_MIN_ROWS)


def test_the_postgresql_writer_keeps_its_connection_and_checks_it_after_an_idle_spell(catalog_engine):
    """The writer's thread keeps one connection (a pool check-out per group cost a round trip); a
    connection idle for long goes back through the pool's pre-ping first, so one that the network or
    the server cut meanwhile costs no event."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's writer")
    from sqlalchemy import text

    from airflow_ol_catalog.ingest.writer import KEPT_IDLE_SECONDS

    committer = BatchCommitter(catalog_engine, "register", keep_connection=True)
    assert isinstance(committer.commit([[submission(run_id="r-1")]])[0], list)
    kept = committer._kept
    assert isinstance(committer.commit([[submission(run_id="r-2")]])[0], list)
    assert committer._kept is kept  # the same connection, group after group
    backend = kept.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    kept.rollback()
    with catalog_engine.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    committer._kept_used -= KEPT_IDLE_SECONDS + 1  # idle that long meanwhile
    (outcomes,) = committer.commit([[submission(run_id="r-3")]])
    assert isinstance(outcomes, list) and isinstance(outcomes[0], Receipt), outcomes
    assert stored_count(catalog_engine) == 3


def test_a_postgresql_writer_transaction_sends_its_begin_and_commit_with_its_statements(
    catalog_engine, database_url, request
):
    """psycopg2 would send BEGIN and COMMIT each in a round trip of its own; the writer's transaction
    sends BEGIN with its first statement and COMMIT with its last writes, as PostgreSQL's own log of
    the session shows, and what it stored is committed."""
    import re

    from airflow_ol_catalog.store.engine import build_engine

    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's transactions")
    log = request.getfixturevalue("postgres").dir / "server.log"
    engine = build_engine(database_url + "?options=-c%20log_statement%3Dall")  # logged, for this session only
    io = {
        "inputs": [{"namespace": "postgres://db", "name": "public.a"}],
        "outputs": [{"namespace": "s3://b", "name": "k"}],
    }
    try:
        committer = BatchCommitter(engine, "register", keep_connection=True)
        committer.commit([[submission(run_id="r-0", **io)]])  # prepares the statements
        pid = committer._kept.connection.dbapi_connection.get_backend_pid()
        start = log.stat().st_size
        (outcomes,) = committer.commit([[submission(run_id="r-1", **io), submission(run_id="r-2", **io)]])
        with open(log, "rb") as f:
            f.seek(start)
            logged = f.read().decode()
    finally:
        engine.dispose()
    sent = [text.strip() for text in re.findall(rf"\[{pid}\] LOG:  statement: (.*?)(?=^\S|\Z)", logged, re.S | re.M)]
    assert len(sent) >= 5, sent
    assert sent[0].startswith("BEGIN;EXECUTE "), sent[0][:100]
    assert sent[-1].endswith("COMMIT"), sent[-1][-100:]
    assert not [text for text in sent if text.upper() in ("BEGIN", "COMMIT", "ROLLBACK")]
    assert all(isinstance(o, Receipt) and not o.duplicate for o in outcomes)
    assert stored_count(catalog_engine) == 3


@pytest.mark.parametrize("first", ["execute", "executemany", "copy_expert", "SQLAlchemy"])
@pytest.mark.parametrize("failure", ["an exception", "a statement the database refuses"])
def test_a_joined_transaction_that_fails_stores_nothing_whatever_its_first_statement(catalog_engine, first, failure):
    """However the first statement of a joined transaction goes (through the driver's cursor, with
    BEGIN in front of it or before it, or through SQLAlchemy, with BEGIN before it), a failure later
    rolls back all of it, and the session goes on to store the next transaction as psycopg2 left it."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's transactions")
    import io

    from sqlalchemy import insert, text

    from airflow_ol_catalog.store.sql import _driver_cursor, joined_transaction
    from airflow_ol_catalog.store.tables import namespace

    columns = "ol_catalog_namespace (name, description, admins, created_at, created_by, event_count)"
    with catalog_engine.connect() as conn:
        raw = conn.connection.dbapi_connection

        def fail() -> None:
            with conn.begin(), joined_transaction(conn):
                assert raw.autocommit
                if first == "SQLAlchemy":
                    conn.execute(
                        insert(namespace).values(name="1", created_at=datetime.now(timezone.utc), created_by="t")
                    )
                else:
                    with _driver_cursor(conn) as cursor:
                        if first == "execute":
                            cursor.execute(f"INSERT INTO {columns} VALUES ('1', '', '[]', now(), 't', 0)")
                        elif first == "executemany":
                            cursor.executemany(
                                f"INSERT INTO {columns} VALUES (%s, '', '[]', now(), 't', 0)", [("1",), ("2",)]
                            )
                        else:
                            cursor.copy_expert(f"COPY {columns} FROM STDIN", io.BytesIO(b"1\t\t[]\t2026-01-01\tt\t0\n"))
                store_events(conn, [submission(run_id="r-1")], "register")
                if failure == "an exception":
                    raise RuntimeError("on purpose")
                conn.execute(text("SELECT 1 / 0"))

        with pytest.raises(Exception, match=r"on purpose|division by zero"):
            fail()
        assert not raw.autocommit
        with conn.begin(), joined_transaction(conn):
            (receipt,) = store_events(conn, [submission(run_id="r-2")], "register")
        assert isinstance(receipt, Receipt) and not raw.autocommit
    assert stored_count(catalog_engine) == 1
    with read_connection(catalog_engine) as conn:
        assert conn.execute(select(namespace.c.name)).scalars().all() == ["team-a"]


def test_what_events_name_is_looked_up_with_their_insert_in_one_round_trip(catalog_engine, request):
    """On PostgreSQL the jobs, the datasets, the parent runs and the dataset versions a
    transaction's events name are read in the statement that inserts the events into the log,
    before the projection writes any: each a round trip of its own cost single events about 4 % of
    their rate (README, Performance). What is not stored yet is inserted after it, and a child is
    written with its stored parent's link at once."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's round trips")
    from airflow_ol_catalog.store.tables import dataset, dataset_version, run

    sent = request.getfixturevalue("driver_statements")
    schema = {"schema": {"fields": [{"name": "id", "type": "int"}]}}
    io = {
        "inputs": [{"namespace": "postgres://db", "name": "public.a"}],
        "outputs": [{"namespace": "s3://b", "name": "k", "facets": schema}],
    }
    parent = {"parent": {"run": {"runId": "dag-run-1"}, "job": {"namespace": "team-a", "name": "dag"}}}
    committer = BatchCommitter(catalog_engine, "register", keep_connection=True)
    tables = ("job", "dataset", "run", "dataset_version")
    new = {"outputs": [*io["outputs"], {"namespace": "s3://b", "name": "new"}]}
    for run_id, extra in (("r-0", {}), ("r-1", {}), ("r-2", new)):
        sent.clear()
        payload = submission(run_id=run_id, **{**io, **extra}).event.payload
        payload["run"]["facets"] = parent
        (outcomes,) = committer.commit([[Submission.of(validate_event(payload), None, 500)]])
        assert isinstance(outcomes[0], Receipt) and not outcomes[0].duplicate
        together = [
            text
            for text in sent
            if "INSERT INTO ol_catalog_event " in text and all(f"ol_catalog_{t} " in text for t in tables)
        ]
        reads = [
            text
            for text in sent
            if re.match(r"\s*SELECT .* FROM ol_catalog_(job|dataset|run|dataset_version) ", text, re.S)
        ]
        assert len(together) == 1, sent
        # The first transaction stores the dataset, then reads its versions: they could not be
        # looked up by its id before it had one.
        unexpected = [r for r in reads if "FROM ol_catalog_dataset_version " not in r] if run_id == "r-0" else reads
        assert unexpected == [], reads
        if run_id != "r-0":  # the parent stored: no update of the child after it is written
            assert not [text for text in sent if "UPDATE ol_catalog_run SET parent_run_pk" in text], sent
    with read_connection(catalog_engine) as conn:
        assert sorted(conn.execute(select(dataset.c.name)).scalars()) == ["k", "new", "public.a"]
        assert conn.execute(select(func.count()).select_from(edge)).scalar_one() == 3
        assert conn.execute(select(func.count()).select_from(dataset_version)).scalar_one() == 1
        runs = dict(conn.execute(select(run.c.run_id, run.c.parent_run_pk)).all())
        pk = conn.execute(select(run.c.id).where(run.c.run_id == "dag-run-1")).scalar_one()
        assert runs == {"dag-run-1": None, "r-0": pk, "r-1": pk, "r-2": pk}


def test_the_look_up_reads_each_stored_runs_own_parent_and_root(catalog_engine):
    """The joint look-up's rows hold several columns of one type: each must come back as itself (a
    run's root read as its parent's column would be taken for the parent)."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL reads before it writes")
    from airflow_ol_catalog.ingest import projection
    from airflow_ol_catalog.store.tables import run

    dag = {"namespace": "team-a", "name": "dag"}
    facets = {
        "parent": {
            "run": {"runId": "dag-run-1"},
            "job": dag,
            "root": {"run": {"runId": "root-1"}, "job": {"namespace": "team-a", "name": "root"}},
        }
    }
    payload = submission(run_id="task-1").event.payload
    payload["run"]["facets"] = facets
    BatchCommitter(catalog_engine, "register").commit([[Submission.of(validate_event(payload), None, 500)]])
    child = submission(run_id="sub-1").event.payload
    child["run"]["facets"] = {
        "parent": {"run": {"runId": "task-1"}, "job": {"namespace": "team-a", "name": payload["job"]["name"]}}
    }
    with catalog_engine.connect() as conn:
        pks = dict(conn.execute(select(run.c.run_id, run.c.id)).all())
        item = projection.Projected(validate_event(child), "digest")
        read = projection._read_ids(conn, projection._Named.of([item]), None)
    assert [(r.run_id, r.parent_run_pk, r.root_run_pk) for r in read.runs] == [
        ("task-1", pks["dag-run-1"], pks["root-1"])
    ]


def test_a_joined_transaction_whose_rollback_is_interrupted_leaves_no_session_stuck_in_it(
    catalog_engine, database_url, monkeypatch
):
    """An interrupt (a second Ctrl-C, SystemExit) that stops the ROLLBACK of a failed joined
    transaction would leave its session inside the aborted transaction while psycopg2 takes it for
    idle, and every later transaction on it would fail. The session is closed instead, and the
    writer's next transaction, on a new one, stores its group."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's transactions")
    import psycopg2.extensions
    from sqlalchemy import create_engine, text

    from airflow_ol_catalog.ingest import event_log
    from airflow_ol_catalog.store import engine as engine_module

    interrupt = threading.Event()

    class Cursor(psycopg2.extensions.cursor):
        def execute(self, query, vars=None):
            if query == "ROLLBACK" and interrupt.is_set():
                interrupt.clear()
                raise KeyboardInterrupt
            return super().execute(query, vars)

    class Connection(psycopg2.extensions.connection):
        def cursor(self, *args, **kwargs):
            kwargs.setdefault("cursor_factory", Cursor)
            return super().cursor(*args, **kwargs)

    engine = create_engine(database_url, connect_args={"connection_factory": Connection}, pool_pre_ping=True)
    engine_module._configure_postgresql(engine)
    project = event_log.project_events

    def failing(conn, items, *looked) -> None:
        project(conn, items, *looked)
        if any(item.event.run_id == "bad" for item in items):
            interrupt.set()
            conn.execute(text("SELECT 1 / 0"))

    monkeypatch.setattr(event_log, "project_events", failing)
    try:
        committer = BatchCommitter(engine, "register", keep_connection=True)
        committer.commit([[submission(run_id="r-0")]])
        with pytest.raises(KeyboardInterrupt):
            committer.commit([[submission(run_id="bad")]])
        assert committer._kept.invalidated
        for run_id in ("r-1", "r-2"):
            (outcomes,) = committer.commit([[submission(run_id=run_id)]])
            assert isinstance(outcomes[0], Receipt) and not outcomes[0].duplicate, outcomes
    finally:
        engine.dispose()
    assert stored_count(catalog_engine) == 3


def test_on_an_engine_without_the_catalogs_listener_a_transaction_is_psycopg2s_own(catalog_engine, database_url):
    """SQLAlchemy's statements get their BEGIN from a listener store/engine.py puts on the engines it
    builds; on any other engine a joined transaction is psycopg2's own, so that a statement
    SQLAlchemy sends first is still rolled back with the rest."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's transactions")
    from sqlalchemy import create_engine, insert

    from airflow_ol_catalog.store.sql import joined_transaction
    from airflow_ol_catalog.store.tables import namespace

    engine = create_engine(database_url)

    def fail() -> None:
        with engine.connect() as conn, conn.begin(), joined_transaction(conn):
            assert not conn.connection.dbapi_connection.autocommit
            conn.execute(insert(namespace).values(name="first", created_at=datetime.now(timezone.utc), created_by="t"))
            raise RuntimeError("on purpose")

    try:
        with pytest.raises(RuntimeError, match="on purpose"):
            fail()
    finally:
        engine.dispose()
    with read_connection(catalog_engine) as conn:
        assert conn.execute(select(func.count()).select_from(namespace)).scalar_one() == 0


def test_the_collector_is_paused_no_longer_than_its_limit_however_long_the_block_lasts(monkeypatch):
    """A transaction can wait for another writer's lock for as long as that writer holds it: the
    collector, paused for the whole process, is turned back on once paused MAX_PAUSE_SECONDS."""
    import gc

    from airflow_ol_catalog.events import collector

    monkeypatch.setattr(collector, "MAX_PAUSE_SECONDS", 0.2)
    monkeypatch.setattr(collector, "_WATCH_SECONDS", 0.05)
    with collector.collector_paused():
        assert not gc.isenabled()
        collector_back = time.monotonic() + 5  # the watching thread may be in a longer sleep at first
        while not gc.isenabled():
            assert time.monotonic() < collector_back, "the collector stayed paused"
            time.sleep(0.01)
    assert gc.isenabled()
    with collector.collector_paused():  # the next block pauses it again
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_stays_paused_until_the_last_of_overlapping_blocks_ends(monkeypatch):
    """Blocks of several threads overlap (two transactions, a batch being decoded): the first to
    end leaves the collector paused for the others, whose objects it would walk; the last turns it
    on. Once the watching thread has turned it on, the next block to begin pauses it again."""
    import gc
    import threading

    from airflow_ol_catalog.events import collector

    monkeypatch.setattr(collector, "MAX_PAUSE_SECONDS", 0.2)
    monkeypatch.setattr(collector, "_WATCH_SECONDS", 0.05)
    first_in, first_out, second_done = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with collector.collector_paused():
            first_in.set()
            first_out.wait(5)

    thread = threading.Thread(target=first)
    thread.start()
    assert first_in.wait(5)
    try:
        with collector.collector_paused():
            assert not gc.isenabled()
            first_out.set()
            thread.join(5)
            assert not gc.isenabled(), "the first block to end turned the collector on under the second"
            collector_back = time.monotonic() + 5
            while not gc.isenabled():  # the watching thread, after MAX_PAUSE_SECONDS
                assert time.monotonic() < collector_back, "the collector stayed paused"
                time.sleep(0.01)
            with collector.collector_paused():
                assert not gc.isenabled(), "a block beginning after the watching thread did not pause it again"
            assert not gc.isenabled()
            second_done.set()
    finally:
        first_out.set()
        thread.join(5)
    assert second_done.is_set() and gc.isenabled()


def test_a_collector_turned_off_before_stays_off_and_a_forked_child_gets_it_back(monkeypatch):
    """A collector the application turned off is not turned on by blocks that began after it; a
    process forked in the middle of a block has none of its parent's blocks running."""
    import gc
    import os

    from airflow_ol_catalog.events import collector

    gc.disable()
    try:
        with collector.collector_paused(), collector.collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    with collector.collector_paused():
        child = os.fork()
        if child == 0:  # the child: is the collector on, and does a block of its own turn it back on?
            ok = gc.isenabled()
            with collector.collector_paused():
                ok = ok and not gc.isenabled()
            ok = ok and gc.isenabled()
        else:
            _, status = os.waitpid(child, 0)
            assert not gc.isenabled()
    if child == 0:  # the parent's block has ended in the child too, counting for nothing there
        with collector.collector_paused():
            ok = ok and not gc.isenabled()
        os._exit(0 if ok and gc.isenabled() else 1)
    assert os.waitstatus_to_exitcode(status) == 0, "the forked child's collector stayed paused"
    assert gc.isenabled()


def test_the_writer_stores_with_the_cyclic_collector_paused_and_turns_it_back_on(catalog_engine, monkeypatch):
    """A transaction's rows all live until it ends: the collector is paused meanwhile (collections
    would only walk them), and on again after it, whether it committed or failed; one that was
    off before stays off."""
    import gc

    from airflow_ol_catalog.ingest import writer

    store, seen = writer.store_events, []

    def noting(conn, submissions, policy):
        seen.append(gc.isenabled())
        if submissions[0].event.run_id == "bad":
            raise ValueError("refused")
        return store(conn, submissions, policy)

    monkeypatch.setattr(writer, "store_events", noting)
    committer = BatchCommitter(catalog_engine, "register")
    assert gc.isenabled()
    (outcomes,) = committer.commit([[submission(run_id="r-1")]])
    assert isinstance(outcomes[0], Receipt) and seen == [False] and gc.isenabled()
    with pytest.raises(ValueError, match="refused"):
        committer._store([submission(run_id="bad")])
    assert seen == [False, False] and gc.isenabled()
    gc.disable()
    try:
        committer.commit([[submission(run_id="r-2")]])
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert stored_count(catalog_engine) == 2


def test_a_transaction_whose_connection_is_cut_stores_nothing_and_runs_again_once(catalog_engine, monkeypatch):
    """The server ends the writer's session in the middle of a transaction (a restart, a
    failover, an idle timeout, an administrator): nothing of it is stored, and it runs once more on
    a new connection; cut again, the group is answered as unavailable, and the writer's next
    transaction stores it."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's transactions")
    from sqlalchemy import text

    from airflow_ol_catalog.ingest import event_log

    committer = BatchCommitter(catalog_engine, "register", keep_connection=True)
    committer.commit([[submission(run_id="r-0")]])
    project = event_log.project_events
    cuts = []

    def cut(conn, items, *looked) -> None:
        project(
            conn, items, *looked
        )  # the log's insert and the projection's look-ups are sent, its last writes are not
        if not cuts.pop():
            return
        pid = conn.connection.dbapi_connection.get_backend_pid()
        # each statement its own transaction: within one, pg_stat_activity keeps what it first showed
        with catalog_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            deadline = time.monotonic() + 30
            while other.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}).scalar():
                assert time.monotonic() < deadline, "the writer's session outlived its termination"
                time.sleep(0.01)

    monkeypatch.setattr(event_log, "project_events", cut)
    cuts[:] = [True, True]  # both attempts cut
    (result,) = committer.commit([[submission(run_id="r-1")]])
    assert isinstance(result, CatalogUnavailable), result
    assert stored_count(catalog_engine) == 1 and cuts == []
    cuts[:] = [False, True]  # the first cut, the second not
    (outcomes,) = committer.commit([[submission(run_id="r-1")]])
    assert isinstance(outcomes[0], Receipt) and not outcomes[0].duplicate
    assert stored_count(catalog_engine) == 2 and cuts == []


def test_many_rows_are_stored_without_copy_where_psycopg2_waits_through_a_callback(catalog_engine):
    """A library that makes psycopg2 cooperative (gevent's patch, in a gevent pool of Celery
    workers) registers a wait callback, and psycopg2 then refuses COPY: many rows go as one
    statement instead, stored the same, in one transaction."""
    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("psycopg2's")
    import psycopg2.extensions
    import psycopg2.extras

    from airflow_ol_catalog.store.sql import STAGE_MIN_ROWS

    many = [submission(run_id=f"many-{i}") for i in range(STAGE_MIN_ROWS * 2)]
    committer = BatchCommitter(catalog_engine, "register")
    commits, rollbacks = [], []
    sqlalchemy_event.listen(catalog_engine, "commit", lambda conn: commits.append(1))
    sqlalchemy_event.listen(catalog_engine, "rollback", lambda conn: rollbacks.append(1))
    psycopg2.extensions.set_wait_callback(psycopg2.extras.wait_select)
    try:
        (stored,) = committer.commit([many])
    finally:
        psycopg2.extensions.set_wait_callback(None)
    assert [r.run_id for r in stored] == [f"many-{i}" for i in range(STAGE_MIN_ROWS * 2)]
    assert not any(r.duplicate for r in stored)
    assert (commits, rollbacks) == ([1], [])  # not refused, then stored by halves
    assert stored_count(catalog_engine) == STAGE_MIN_ROWS * 2


def test_rows_quoted_by_the_catalog_are_what_psycopg2_would_send_and_come_back_unchanged(catalog_engine, monkeypatch):
    """On PostgreSQL, small multi-row INSERTs quote their values themselves (store/sql.py `_literal`:
    psycopg2 took about 1.5 µs a value). The text must be what psycopg2's quoting gives, value for
    value and statement for statement, and what is stored must read back as written, for the ugly
    values too: quotes, backslashes, newlines, look-alike Unicode, extreme dates, negative numbers,
    enums, and a NUL, which both refuse alike."""
    import enum

    from airflow_ol_catalog.store import sql
    from airflow_ol_catalog.store.tables import facet

    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's quoting")

    class State(str, enum.Enum):
        DONE = "COMPLETE"

    class Rank(enum.IntEnum):
        LAST = 3

    class Sneaky(str):  # its own methods must not decide the quoting
        def replace(self, *args):
            return "x"

        def __contains__(self, item):
            return False

    utc = timezone.utc
    values = [
        None, True, False, 0, -5, 2**62, -(2**63), Rank.LAST, 1.5, "", "it's", "''; DROP TABLE x; --",
        "a\\b", "\\'", "x\ny\tz\r", "é🙂", "\u0430dmin", "\u202etxt", State.DONE, Sneaky("it's"),
        datetime(1, 1, 1, tzinfo=utc), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-3))),
        datetime(2026, 1, 1, 12, 0, 0, 1),
    ]  # fmt: skip
    raw = catalog_engine.raw_connection()
    try:
        cursor = raw.cursor()
        assert sql._quotes_plainly(cursor)
        for value in values:
            assert sql._literal(cursor, value) == cursor.mogrify("%s", (value,)).decode(), value
        for quote in (sql._literal, lambda cur, v: cur.mogrify("%s", (v,))):
            with pytest.raises(ValueError, match="NUL"):
                quote(cursor, "a\x00b")
    finally:
        raw.close()

    texts = [value for value in values if isinstance(value, str)]
    times = [datetime(1, 1, 1, tzinfo=utc), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=utc)]
    rows = [
        {"entity": "job", "entity_id": i, "name": text, "value": text, "event_time": times[i % 2], "event_digest": "d"}
        for i, text in enumerate(texts)
    ]
    statement = sql.insert_for("postgresql", facet)
    with write_transaction(catalog_engine) as conn:
        sql.execute_rows(conn, statement, rows)
        mine = sql._pg_insert(conn, statement, tuple(rows[0])).inline(conn.connection.dbapi_connection.cursor(), rows)
        monkeypatch.setattr(sql, "_quotes_plainly", lambda cursor: False)
        theirs = sql._pg_insert(conn, statement, tuple(rows[0])).inline(conn.connection.dbapi_connection.cursor(), rows)
    assert mine == theirs
    with read_connection(catalog_engine) as conn:
        stored = conn.execute(select(facet.c.entity_id, facet.c.name, facet.c.value, facet.c.event_time)).all()
    assert sorted(stored) == [(r["entity_id"], r["name"], r["value"], r["event_time"]) for r in rows]


def test_arrays_quoted_by_the_catalog_read_back_as_sent(catalog_engine):
    """EXECUTE's array arguments are quoted whole when they hold only strings or only integers
    (store/sql.py `_whole_array`), else value by value. Each must read back in PostgreSQL as
    psycopg2's quoting of the same list does, cast to its type, or given to a prepared statement's
    `unknown` parameter that casts it itself (an empty one, and one of only NULLs, included); a NUL
    is refused as psycopg2 refuses it, wherever it is in the list."""
    from airflow_ol_catalog.store import sql

    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's quoting")

    class Sneaky(str):
        def replace(self, *args):
            return "x"

    utc = timezone.utc
    arrays: list[tuple[list, str]] = [
        ([], "TEXT[]"), ([], "BIGINT[]"), (["a"], "TEXT[]"), (["it's", "''; DROP TABLE x; --", "a\\b", "\\'"], "TEXT[]"),
        (["x\ny", "é🙂", "\u0430dmin", "\u202etxt", "", "$1", "{a,b}", '"q"'], "VARCHAR[]"),
        ([Sneaky("it's"), "b"], "TEXT[]"), ([None, "a"], "TEXT[]"), ([None], "TEXT[]"), ([None], "INTEGER[]"),
        ([None, None], "BIGINT[]"), ([None], "TIMESTAMP WITH TIME ZONE[]"),
        ([0, -5, 2**62, -(2**63), 9223372036854775807], "BIGINT[]"), ([-1], "INTEGER[]"), ([1, None, -2], "BIGINT[]"),
        ([True, False], "BOOLEAN[]"),
        ([datetime(1, 1, 1, tzinfo=utc), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=utc)], "TIMESTAMP WITH TIME ZONE[]"),
    ]  # fmt: skip
    raw = catalog_engine.raw_connection()
    try:
        cursor = raw.cursor()
        for values, sql_type in arrays:
            typed = sql._argument(cursor, values, sql_type)
            cursor.execute(f"SELECT {typed}")
            (mine,) = cursor.fetchone()
            cursor.execute(f"SELECT %s::{sql_type}", (values,))
            (theirs,) = cursor.fetchone()
            assert mine == theirs == [str.__str__(v) if isinstance(v, str) else v for v in values], values
        for number, (values, sql_type) in enumerate(arrays):  # to a parameter the statement casts itself
            cursor.execute(f"PREPARE olc_test_{number} (unknown) AS SELECT CAST($1 AS {sql_type})")
            cursor.execute(f"EXECUTE olc_test_{number}({sql._argument(cursor, list(values), 'unknown')})")
            (mine,) = cursor.fetchone()
            cursor.execute(f"SELECT %s::{sql_type}", (values,))
            assert mine == cursor.fetchone()[0], values
        for values in (["a", "b\x00"], ["\x00"], [None, "a\x00"]):
            with pytest.raises(ValueError, match="NUL"):
                sql._argument(cursor, values, "TEXT[]")
            with pytest.raises(ValueError, match="NUL"):
                cursor.mogrify("%s", (values,))
    finally:
        raw.close()


def test_postgresql_plans_the_statements_that_store_events_once_per_session(catalog_engine, database_url, request):
    """On PostgreSQL the statements that store events are prepared the first time a session needs
    them and then run by name (store/sql.py), many rows as arrays, so that one statement serves any
    number of rows: once a session has stored a run's start and end, a transaction of two more runs'
    prepares nothing, and each of its look-ups and writes is an EXECUTE. What is stored is the same."""
    import re

    from airflow_ol_catalog.store.engine import build_engine

    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's prepared statements")
    sent = request.getfixturevalue("driver_statements_as_sent")
    engine = build_engine(database_url)  # one session for the whole test
    io = {
        "inputs": [{"namespace": "postgres://db", "name": "public.a"}],
        "outputs": [{"namespace": "s3://b", "name": "k"}],
    }

    def run(run_id: str) -> list[Submission]:
        return [submission(run_id=run_id, event_type=kind, **io) for kind in ("START", "COMPLETE")]

    try:
        with engine.connect() as conn:
            for events in (run("r-1")[:1], run("r-1")[1:]):
                with conn.begin():
                    store_events(conn, events, "register")
            first = list(sent)
            sent.clear()
            with conn.begin():
                store_events(conn, run("r-2") + run("r-3"), "register")
            prepared = set(conn.exec_driver_sql("SELECT name FROM pg_prepared_statements").scalars())
    finally:
        engine.dispose()
    assert any(text.startswith("PREPARE olc_") for text in first)
    parts = [part for text in sent for part in text.split(";\n")]
    assert parts and all(re.match(r"EXECUTE (olc_\w+)\(", part) for part in parts), [p[:200] for p in parts]
    assert {re.match(r"EXECUTE (olc_\w+)\(", part).group(1) for part in parts} <= prepared
    with read_connection(catalog_engine) as conn:
        assert conn.execute(select(func.count()).select_from(edge)).scalar_one() == 2
    assert stored_count(catalog_engine) == 6


@pytest.mark.parametrize("lose", ["DEALLOCATE ALL", "one", "a migration"])
def test_a_session_that_lost_its_prepared_statements_prepares_them_again(catalog_engine, database_url, lose):
    """A session can lose its prepared statements under the catalog (DISCARD ALL, DEALLOCATE, a
    pooler in transaction mode), all of them or some, and a migration can change the type of what
    one returns: the transaction that finds it fails, and the session's next transactions prepare
    them again instead of failing for ever (preparing again one that is still there fails too)."""
    from sqlalchemy.exc import DBAPIError

    from airflow_ol_catalog.store.engine import build_engine
    from airflow_ol_catalog.store.sql import lost_prepared

    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's prepared statements")
    engine = build_engine(database_url)
    try:
        with engine.connect() as conn:
            with conn.begin():
                store_events(conn, [submission(run_id="r-1")], "register")
            with conn.begin():
                if lose == "one":  # the log's tally, one of the last writes: the others are still there
                    (name,) = conn.exec_driver_sql(
                        "SELECT name FROM pg_prepared_statements WHERE strpos(statement, 'INTO ol_catalog_event_tally') > 0"
                    ).scalars()
                    conn.exec_driver_sql(f"DEALLOCATE {name}")
                elif lose == "a migration":  # the runs' upsert returns it
                    conn.exec_driver_sql("ALTER TABLE ol_catalog_run ALTER COLUMN job_id TYPE bigint")
                else:
                    conn.exec_driver_sql(lose)
            with pytest.raises(DBAPIError) as lost, conn.begin():
                store_events(conn, [submission(run_id="r-2")], "register")
            assert lost_prepared(lost.value.orig), lost.value
            receipts = []
            for run_id in ("r-2", "r-3", "r-4"):
                with conn.begin():
                    receipts += store_events(conn, [submission(run_id=run_id)], "register")
    finally:
        engine.dispose()
    assert [(r.run_id, r.duplicate) for r in receipts] == [("r-2", False), ("r-3", False), ("r-4", False)]
    assert stored_count(catalog_engine) == 4


def test_the_writer_runs_again_a_transaction_whose_session_lost_a_prepared_statement(
    catalog_engine, monkeypatch, caplog
):
    """The writer takes a missing prepared statement for what it is: the session's, not the event's.
    It runs the transaction again, which prepares the statements anew (those still there too), and
    the event is stored once, without being taken for a bad event and stored alone; the log says
    what to set if a pooler in transaction mode is the cause."""
    from airflow_ol_catalog.store import sql

    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's prepared statements")
    prepares, lost, seen = sql._prepares, [], []

    def isolated(*args):
        raise AssertionError("the event was stored alone, as a refused one")

    def losing(conn, cursor, prepared):
        found = prepares(conn, cursor, prepared)
        if found and prepared.name not in seen:
            seen.append(prepared.name)
            if len(seen) == 3:  # gone from the session, still noted as prepared; the first two are still there
                cursor.execute(f"DEALLOCATE {prepared.name}")
                lost.append(prepared.name)
        return found

    monkeypatch.setattr(sql, "_prepares", losing)
    monkeypatch.setattr(BatchCommitter, "isolate", isolated)

    async def send():
        return await EventWriter(catalog_engine, "register").write([submission(run_id="r-1")])

    (receipt,) = asyncio.run(send())
    assert lost and receipt.run_id == "r-1" and not receipt.duplicate
    assert stored_count(catalog_engine) == 1
    assert "prepared_statements = False" in caplog.text


def test_with_prepared_statements_off_the_catalog_prepares_nothing(catalog_engine, database_url, monkeypatch, request):
    """`[ol_catalog] prepared_statements = False`, for a pooler in transaction mode: every statement
    goes as text, and the session holds no prepared statement."""
    from airflow_ol_catalog.store.engine import build_engine

    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's prepared statements")
    monkeypatch.setenv("AIRFLOW__OL_CATALOG__PREPARED_STATEMENTS", "False")
    sent = request.getfixturevalue("driver_statements_as_sent")
    engine = build_engine(database_url)
    try:
        with engine.connect() as conn:
            for run_id in ("r-1", "r-2"):
                with conn.begin():
                    store_events(conn, [submission(run_id=run_id)], "register")
            prepared = conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar_one()
    finally:
        engine.dispose()
    assert prepared == 0
    assert sent and not any("PREPARE " in text or "EXECUTE " in text for text in sent)
    assert stored_count(catalog_engine) == 2


def test_prepared_statements_take_every_value_as_it_is_and_cut_none(catalog_engine):
    """Prepared statements get their values as literals cast to each parameter's type, many rows as
    arrays. The ugly values come back as written, a look-up by them finds them, and a value longer
    than its column is refused as before: a string parameter is never cast to the column's length,
    which would cut a longer value and match a stored one it only begins like."""
    from sqlalchemy import bindparam
    from sqlalchemy.exc import DataError

    from airflow_ol_catalog.store import sql
    from airflow_ol_catalog.store.tables import facet

    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's prepared statements")
    texts = [
        "",
        "it's",
        "''; DROP TABLE x; --",
        "a\\b",
        "\\'",
        "x\ny\tz\r",
        "é🙂",
        "\u0430dmin",
        "\u202etxt",
        "{}",
        "$1",
    ]
    times = [datetime(1, 1, 1, tzinfo=timezone.utc), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)]
    rows = [
        {"entity": "job", "entity_id": 2**40 + i, "name": text, "value": None if i % 3 else text,
         "event_time": times[i % 2], "event_digest": "d" * 64}
        for i, text in enumerate(texts)
    ]  # fmt: skip
    insert = sql.insert_for("postgresql", facet)
    by_names = select(facet.c.entity_id, facet.c.name).where(sql.in_list("postgresql", facet.c.name, "names"))
    by_digest = select(facet.c.entity_id).where(facet.c.event_digest == bindparam("digest"))
    by_id = select(facet.c.name).where(facet.c.entity_id == bindparam("id"))
    with write_transaction(catalog_engine) as conn, sql.deferred_writes(conn):
        sql.write_rows(conn, insert, rows)
    with write_transaction(catalog_engine) as conn, sql.deferred_writes(conn):
        assert sql._prepares(
            conn, conn.connection.dbapi_connection.cursor(), sql._pg_statement(conn, by_names).prepared
        )
        found = sql.execute(conn, by_names, {"names": sql.list_value("postgresql", texts)})
        assert sorted(found) == sorted((r["entity_id"], r["name"]) for r in rows)
        assert sql.execute(conn, by_names, {"names": []}) == []
        assert sql.execute(conn, by_digest, {"digest": "d" * 64 + "x"}) == []
        assert len(sql.execute(conn, by_digest, {"digest": "d" * 64})) == len(rows)
        assert sql.execute(conn, by_id, {"id": -(2**63)}) == []  # a cast binds before the minus sign
        assert sql.execute(conn, by_id, {"id": 2**40}) == [("",)]
    with read_connection(catalog_engine) as conn:
        stored = conn.execute(select(facet.c.entity_id, facet.c.name, facet.c.value, facet.c.event_time)).all()
    assert sorted(stored) == sorted((r["entity_id"], r["name"], r["value"], r["event_time"]) for r in rows)
    too_long = [{**rows[0], "entity_id": 1, "event_digest": "d" * 65}]
    with (
        pytest.raises(DataError, match="too long"),
        write_transaction(catalog_engine) as conn,
        sql.deferred_writes(conn),
    ):
        sql.write_rows(conn, insert, too_long)


def test_only_the_statements_that_store_events_are_prepared(catalog_engine, database_url):
    """Reads (a lineage graph's walk sends arrays of one id to tens of thousands) are planned for
    their own parameters each time; only the statements inside `deferred_writes`, which store
    events, are prepared."""
    from airflow_ol_catalog.store import sql
    from airflow_ol_catalog.store.engine import build_engine
    from airflow_ol_catalog.store.tables import facet

    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's prepared statements")
    by_names = select(facet.c.entity_id).where(sql.in_list("postgresql", facet.c.name, "names"))
    engine = build_engine(database_url)
    try:
        with engine.connect() as conn:
            prepared = "SELECT count(*) FROM pg_prepared_statements"
            assert sql.execute(conn, by_names, {"names": ["a"]}) == []
            assert conn.exec_driver_sql(prepared).scalar_one() == 0
            with sql.deferred_writes(conn):
                assert sql.execute(conn, by_names, {"names": ["a"]}) == []
            assert conn.exec_driver_sql(prepared).scalar_one() == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize("session", ["client_encoding LATIN1", "standard_conforming_strings off"])
def test_a_session_the_catalog_cannot_quote_for_itself_sends_its_statements_as_text(
    catalog_engine, database_url, request, session
):
    """EXECUTE's arguments are quoted by the catalog, for UTF-8 sessions that read a backslash as a
    backslash. A session that does not (a database or role set to another encoding, or to the old
    escaping) sends the same statements as text, quoted by psycopg2 for it: names with accents,
    quotes and backslashes are stored as sent, and nothing is prepared."""
    from airflow_ol_catalog.store.engine import build_engine

    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's prepared statements")
    sent = request.getfixturevalue("driver_statements_as_sent")
    names = ["café", "x\\', now()); --", "a\\\\b"]
    engine = build_engine(database_url)
    try:
        with engine.connect() as conn:
            setting, value = session.split()
            if setting == "client_encoding":  # through psycopg2, which then encodes for it
                conn.connection.dbapi_connection.set_client_encoding(value)
            else:
                conn.exec_driver_sql(f"SET {setting} = {value}")
                conn.commit()
            for i, name in enumerate(names):
                named = submission(run_id=f"r-{i}", job={"namespace": "team-a", "name": name, "facets": {}})
                with conn.begin():
                    store_events(conn, [named], "register")
            prepared = conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar_one()
    finally:
        engine.dispose()
    assert prepared == 0 and not any(text.startswith(("PREPARE", "EXECUTE")) for text in sent)
    with read_connection(catalog_engine) as conn:
        assert set(conn.execute(select(job.c.name)).scalars()) == set(names)


def test_a_configuration_reload_cannot_change_how_a_live_session_reads_backslashes(catalog_engine, monkeypatch):
    """Values are quoted for the way the session reads backslashes (standard_conforming_strings). A
    reload that turned it off under a live session would have the server read a quoted backslash
    as an escape, and a name from an event break out of its string: each session keeps the value
    it began with (store/engine.py). Here the reload lands after the event's writes were quoted and
    before they are sent."""
    from airflow_ol_catalog.ingest import event_log
    from airflow_ol_catalog.store.tables import facet

    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's setting")
    with catalog_engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE victim (x int)")
    admin = catalog_engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    quoted_then_reloaded = event_log._store_events

    def reloading(conn, submissions, policy):
        outcomes = quoted_then_reloaded(conn, submissions, policy)  # the writes are quoted, not sent yet
        admin.exec_driver_sql("ALTER SYSTEM SET standard_conforming_strings = off")
        admin.exec_driver_sql("SELECT pg_reload_conf()")
        time.sleep(0.3)
        return outcomes

    monkeypatch.setattr(event_log, "_store_events", reloading)
    evil = "x\\', ', now(), ', NULL); DROP TABLE victim; --"
    payload = run_event()
    payload["run"]["facets"] = {
        evil: {"_producer": "https://example.com/p", "_schemaURL": "https://example.com/s.json"}
    }
    try:
        with write_transaction(catalog_engine) as conn:
            (receipt,) = store_events(conn, [Submission.of(validate_event(payload), None, 500)], "register")
    finally:
        admin.exec_driver_sql("ALTER SYSTEM RESET standard_conforming_strings")
        admin.exec_driver_sql("SELECT pg_reload_conf()")
        admin.close()
    assert isinstance(receipt, Receipt)
    with read_connection(catalog_engine) as conn:
        assert conn.exec_driver_sql("SELECT to_regclass('victim')").scalar() == "victim"
        assert conn.execute(select(facet.c.name).where(facet.c.entity == "run")).scalars().all() == [evil]


def test_deferred_writes_go_together_in_their_order_and_fail_their_transaction(catalog_engine):
    """On PostgreSQL the writes nobody reads back are kept to the end of the block and sent in one
    round trip, in the order they were made; one that fails there fails the whole transaction, as it
    would have at once. Outside such a block (and on SQLite) a write runs at once."""
    from sqlalchemy import exc, insert, update

    from airflow_ol_catalog.store.sql import deferred_writes, insert_for, write, write_rows
    from airflow_ol_catalog.store.tables import facet

    when = datetime(2026, 1, 2, tzinfo=timezone.utc)
    row = {"entity": "job", "entity_id": 7, "name": "a", "value": "1", "event_time": when, "event_digest": "d"}
    rename = update(facet).where(facet.c.entity_id == 7).values(value=facet.c.value + "2")
    pending = catalog_engine.dialect.name == "postgresql"

    def values(conn) -> list:
        return conn.execute(select(facet.c.value).where(facet.c.entity_id == 7)).scalars().all()

    with write_transaction(catalog_engine) as conn:
        with deferred_writes(conn):
            write_rows(conn, insert_for(conn.dialect.name, facet), [row])
            write(conn, rename, {})
            assert values(conn) == ([] if pending else ["12"])  # not sent yet on PostgreSQL
        assert values(conn) == ["12"]  # inserted, then updated: in their order
        write(conn, rename, {})
        assert values(conn) == ["122"]  # outside the block: at once

    def again() -> None:
        with write_transaction(catalog_engine) as conn, deferred_writes(conn):
            write(conn, rename, {})
            write_rows(conn, insert(facet), [row])  # the same key again: refused

    with pytest.raises(exc.IntegrityError):  # as SQLAlchemy raises it, whichever way it was sent
        again()
    with read_connection(catalog_engine) as conn:
        assert values(conn) == ["122"]  # the failed transaction changed nothing


def test_rows_locked_first_are_locked_only_when_a_second_write_needs_it(catalog_engine, request):
    """`lock_first` (store/sql.py) sends its locking statement at the start of the last round trip
    only if one of its calls says a second write of the table needs it, and a block that asked for
    locks no write needed sends nothing at all (not an empty statement)."""
    from airflow_ol_catalog.store.sql import deferred_writes
    from airflow_ol_catalog.store.view_stamps import lock_datasets, lock_jobs

    if catalog_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's last round trip")
    job_id = 1  # locking a row that is not there locks nothing, and is no error
    sent = request.getfixturevalue("driver_statements")
    with write_transaction(catalog_engine) as conn, deferred_writes(conn):
        lock_jobs(conn, [job_id])
        lock_datasets(conn, [])
    assert sent == []
    with write_transaction(catalog_engine) as conn, deferred_writes(conn):
        lock_jobs(conn, [job_id])
        lock_datasets(conn, [])
        lock_jobs(conn, using=[], needed=True)
    assert len(sent) == 1 and "FOR UPDATE" in sent[0] and "ol_catalog_dataset" not in sent[0], sent


def test_a_transaction_rolled_back_for_its_timing_runs_again_after_waits_that_double(catalog_engine, monkeypatch):
    """Writers that met (a deadlock, or a name made an alias while another read it) tend to meet
    again when they run again at once: each new attempt waits a random time up to a bound that
    doubles, and only after the last attempt is the caller answered that nothing was stored."""
    from types import SimpleNamespace

    from sqlalchemy.exc import OperationalError

    from airflow_ol_catalog.ingest import writer

    class SerializationFailure(Exception):
        pgcode = "40001"

    failures, waited, stored = [7], [], []

    def storing(conn, submissions, policy):
        if failures[0]:
            failures[0] -= 1
            raise OperationalError("INSERT ...", {}, SerializationFailure("a dataset became an alias"))
        stored.append(len(submissions))
        return real_store(conn, submissions, policy)

    real_store = writer.store_events
    monkeypatch.setattr(writer, "store_events", storing)
    monkeypatch.setattr(writer, "_retry_wait", lambda attempt: waited.append(attempt) or 0)
    (outcomes,) = BatchCommitter(catalog_engine, "register").commit([[submission(run_id="r")]])
    assert stored == [1] and not outcomes[0].duplicate and waited == [1, 2, 3, 4, 5, 6, 7]  # the eighth stores
    failures[0], waited[:] = writer.TRANSIENT_ATTEMPTS, []
    (gave_up,) = BatchCommitter(catalog_engine, "register").commit([[submission(run_id="r2")]])
    assert isinstance(gave_up, CatalogUnavailable) and "a dataset became an alias" in str(gave_up)
    assert len(waited) == writer.TRANSIENT_ATTEMPTS - 1 == 7 and stored == [1]
    monkeypatch.undo()
    monkeypatch.setattr(writer, "random", SimpleNamespace(uniform=lambda low, high: high))  # the longest waits
    assert [writer._retry_wait(attempt) for attempt in range(1, 8)] == [0.01, 0.02, 0.04, 0.08, 0.16, 0.2, 0.2]


def test_a_psycopg_3_url_stores_what_a_psycopg2_url_stores(postgres):
    """`postgresql+psycopg://` (psycopg 3, which Airflow takes for its own database too): the quick
    paths that talk to psycopg2 itself step aside and SQLAlchemy runs the statements; the examples
    give the same catalog as through psycopg2, every event accepted. Every event was refused as
    the database's reason (`get_parameter_status`, psycopg2's) before."""
    from catalog_snapshot import snapshot
    from conftest import EXAMPLES

    from airflow_ol_catalog.store.migrate import upgrade

    payloads = [json.loads(p.read_text()) for p in sorted(EXAMPLES.rglob("*.json"))]
    assert len(payloads) > 20
    found = []
    for number, driver in enumerate(("psycopg2", "psycopg")):
        url = postgres.create_database(f"driver_{number}").replace("+psycopg2://", f"+{driver}://", 1)
        upgrade(url)
        engine = get_engine(url)
        assert engine.dialect.driver == driver
        committer = BatchCommitter(engine, "register")
        subs = [Submission.of(validate_event(p), None, 500) for p in payloads]
        outcomes = committer.commit([subs[:10], subs[10:]]) + committer.commit([[sub] for sub in subs])
        assert not any(isinstance(result, CatalogUnavailable) for result in outcomes), outcomes
        assert all(isinstance(o, Receipt) for result in outcomes for o in result), outcomes
        assert [o.duplicate for result in outcomes for o in result] == [False] * len(subs) + [True] * len(subs)
        with read_connection(engine) as conn:
            found.append(snapshot(conn))
    assert found[0] == found[1]

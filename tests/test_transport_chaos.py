"""Chaos on the routing transport's promises (README, "Airflow's own events: the routing
transport"): emit returns within its bound whatever happens, nothing emitted is lost, and a
destination gets an event a bounded number of times. Each test failed on the transport before its mend."""

from __future__ import annotations

import collections
import json
import multiprocessing
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from servers import AIRFLOW, free_port
from test_faults_transport import BOUND, numbered, routing
from test_transport import TRANSPORT, Receiver, airflow_loaded  # noqa: F401 (an autouse fixture)

from airflow_ol_catalog.transport import RoutingTransport


def _emit_five(transport, first: int) -> None:
    for n in range(first, first + 5):
        transport.emit(numbered(n))


def test_chaos_a_forked_child_emitting_while_the_parent_emits_from_two_threads_neither_hangs(tmp_path: Path):
    """Task processes are forked from one whose threads keep emitting (a destination failing
    slowly: 500 after 0.2 s, so there is a backlog). The children's emits hung for ever in the
    spool's append (a lock a parent's thread held at the fork, inherited), and the parent's emits waited for the children to die (15 s here, against a
    bound of 1 s)."""
    failing = Receiver()
    failing.status, failing.delay = 500, 0.2
    transport = routing(tmp_path, {"d": {"type": "http", "url": failing.url}})
    stop, longest = threading.Event(), [0.0]

    def parent_emits(first: int) -> None:
        n = first
        while not stop.is_set():
            started = time.monotonic()
            transport.emit(numbered(n))
            longest[0] = max(longest[0], time.monotonic() - started)
            n += 1

    threads = [threading.Thread(target=parent_emits, args=(k * 1000,)) for k in (1, 2)]
    for thread in threads:
        thread.start()
    children = []
    try:
        time.sleep(0.3)
        for k in range(2):
            child = multiprocessing.get_context("fork").Process(target=_emit_five, args=(transport, 100 + 10 * k))
            child.start()
            children.append(child)
            time.sleep(0.2)
        deadline = time.monotonic() + 15
        for child in children:
            child.join(max(0.1, deadline - time.monotonic()))
        hung = [child.pid for child in children if child.exitcode is None]
        for child in children:
            if child.exitcode is None:
                os.kill(child.pid, signal.SIGKILL)
                child.join(10)
        time.sleep(1.5)  # the parent's emits blocked behind the children come back
        stop.set()
        for thread in threads:
            thread.join(30)
        assert hung == [], f"{len(hung)} forked children hung in emit (5 emits with a 1 s bound, 15 s given)"
        assert longest[0] < BOUND + 0.2, f"a parent emit took {longest[0]:.1f} s"
    finally:
        stop.set()
        for child in children:
            if child.exitcode is None:
                os.kill(child.pid, signal.SIGKILL)
        failing.close()


def test_chaos_a_long_lived_process_keeps_no_journal_per_thread_it_ever_ran(tmp_path: Path):
    """A long-lived process (the scheduler, a worker) emits from threads that come and go. With a
    journal of events in flight (`*.inflight`) per emitting thread, kept after the thread ended,
    the spool directory had one more file per thread for the life of the process."""
    from airflow_ol_catalog.transport import in_flight

    receiver = Receiver()
    transport = routing(tmp_path, {"d": {"type": "http", "url": receiver.url}})
    try:
        for n in range(200):
            thread = threading.Thread(target=transport.emit, args=(numbered(n),))
            thread.start()
            thread.join()
        assert len(receiver.events) == 200
        journals = list((tmp_path / "spool").glob(f"*{in_flight.SUFFIX}"))
        assert len(journals) <= 2, f"{len(journals)} journals left by 200 threads that have ended"
    finally:
        receiver.close()


def _emit_and_exit_at_once(transport, n: int) -> None:
    transport.emit(numbered(n))
    os._exit(0)  # as a forked task process ends: no atexit


def test_chaos_forked_children_that_exit_leave_no_journal_each_behind(tmp_path: Path):
    """A worker forks a task process per task from one that built the transport; each ends with
    os._exit, leaving its journal (empty, unlocked). The parent, which keeps emitting, never
    removed them: one file per task ever run."""
    from airflow_ol_catalog.transport import in_flight

    receiver = Receiver()
    transport = routing(tmp_path, {"d": {"type": "http", "url": receiver.url}})
    try:
        transport.emit(numbered(0))
        for n in range(1, 101):
            child = multiprocessing.get_context("fork").Process(target=_emit_and_exit_at_once, args=(transport, n))
            child.start()
            child.join(10)
            transport.emit(numbered(1000 + n))
        assert len({e["run"]["runId"] for e in receiver.events}) == 201
        journals = list((tmp_path / "spool").glob(f"*{in_flight.SUFFIX}"))
        assert len(journals) <= 2, f"{len(journals)} journals left by 100 forked children that have exited"
    finally:
        receiver.close()


def _task_process(destinations: dict, spool_dir: Path, k: int) -> None:
    """A task process: builds the transport, emits START and COMPLETE, and ends."""
    from test_transport import TRANSPORT

    from airflow_ol_catalog.transport import RoutingConfig

    config = {"type": TRANSPORT, "timeout": BOUND, "destinations": destinations, "spool": {"dir": str(spool_dir)}}
    transport = RoutingTransport(RoutingConfig.from_dict(config))
    transport.emit(numbered(2 * k))
    transport.emit(numbered(2 * k + 1))


def run_tasks(destinations: dict, spool_dir: Path, count: int) -> None:
    """Short task processes, one after another, each forked to emit two events and end."""
    for k in range(count):
        task = multiprocessing.get_context("fork").Process(target=_task_process, args=(destinations, spool_dir, k))
        task.start()
        task.join(30)


def copies_of(receiver: Receiver) -> collections.Counter:
    return collections.Counter(e["run"]["runId"] for e in receiver.events)


def test_chaos_a_destination_slightly_slower_than_the_bound_gets_an_event_at_most_twice(tmp_path: Path):
    """A destination that answers every request, in 1.5 s against emit's bound of 1 s (a slow
    Marquez). Each short task process redelivered the head of that destination's spool, gave up at
    the bound and ended before the answer: the destination received the same first event once per
    task (12 times for 12 tasks)."""
    slow = Receiver()
    slow.delay = 1.5
    destinations = {"slow": {"type": "http", "url": slow.url}}
    try:
        run_tasks(destinations, tmp_path / "spool", 12)
        time.sleep(2)  # the last answers
        copies = copies_of(slow)
        assert max(copies.values()) <= 2, (
            f"delivered {copies.most_common(1)[0][1]} times: {copies.most_common(1)[0][0]}"
        )
    finally:
        slow.close()


def test_chaos_the_spooled_events_of_a_destination_renamed_in_the_config_are_shown(tmp_path: Path):
    """A destination down spools events; the config is changed, the destination renamed (same
    url). Its spool stays in the shared directory, but the transport started with the new config,
    its status and its flush neither delivered those events nor said they were there: they waited,
    unseen, for ever (unlike events in flight, which are said to wait for a config that names them)."""
    from airflow_ol_catalog.transport.spool import Spool

    down = f"http://127.0.0.1:{free_port()}/"
    old = routing(tmp_path, {"marquez": {"type": "http", "url": down}})
    for n in range(5):
        old.emit(numbered(n))
    assert Spool(tmp_path / "spool", "marquez", 1 << 20).status().events == 5
    receiver = Receiver(int(down.rsplit(":", 1)[1].strip("/")))
    try:
        renamed = routing(tmp_path, {"lineage": {"type": "http", "url": receiver.url}})
        renamed.flush_spools()
        config = tmp_path / "openlineage.json"
        config.write_text(
            json.dumps(
                {
                    "type": TRANSPORT,
                    "destinations": {"lineage": {"type": "http", "url": receiver.url}},
                    "spool": {"dir": str(tmp_path / "spool")},
                }
            )
        )
        env = {"AIRFLOW_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        status = subprocess.run(
            [AIRFLOW, "ol-catalog", "spool", "status", "--config", str(config)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        waiting = Spool(tmp_path / "spool", "marquez", 1 << 20).status().events
        assert (waiting, receiver.events) == (5, [])  # not delivered by the flush
        assert "marquez" in status.stdout + status.stderr, (
            f"{waiting} events wait in the spool of 'marquez'; `spool status` shows:\n{status.stdout}"
        )
    finally:
        receiver.close()


def test_chaos_a_destination_that_hangs_for_a_while_gets_an_event_at_most_twice(
    tmp_path: Path,
):
    """A destination that stops answering for a while (it reads every request) and comes back.
    Each task process that ran meanwhile sent it the head of its spool, gave up at the bound and
    ended; the destination answered them all when it was back: the first event arrived 11 times.
    Now three at most: the first send, one redelivery by an emit, and the flush."""
    hung = Receiver()
    hung.answering.clear()
    destinations = {"hung": {"type": "http", "url": hung.url, "timeout": 60}}
    try:
        run_tasks(destinations, tmp_path / "spool", 10)
        hung.answering.set()
        time.sleep(2)
        routing(tmp_path, destinations).flush_spools()
        copies = copies_of(hung)
        assert len(copies) == 20
        assert max(copies.values()) <= 3, (
            f"delivered {copies.most_common(1)[0][1]} times: {copies.most_common(1)[0][0]}"
        )
    finally:
        hung.close()


def test_chaos_one_event_refused_again_and_again_crowds_no_other_out_of_the_dead_letters(tmp_path: Path):
    """The same event refused again "stays one letter", but each refusal appends a record to the
    dead letters: 100 refusals of one event filled `max_bytes` (20,000 here), and the next event
    refused for good, a different one, was dropped while the dead letters held one letter."""
    refusing = Receiver()
    refusing.status = 400
    transport = routing(tmp_path, {"d": {"type": "http", "url": refusing.url}}, max_bytes=20000)
    try:
        for _ in range(100):
            transport.emit(numbered(1))
        transport.emit(numbered(2))
        letters = transport.senders["d"].spool.dead_letters.letters()
        runs = sorted(json.loads(letter.payload)["run"]["runId"] for letter in letters)
        dead_bytes = sum(f.stat().st_size for f in (tmp_path / "spool").glob("d.dead*"))
        assert runs == ["run-001", "run-002"], f"dead letters {runs}, in {dead_bytes} bytes"
    finally:
        refusing.close()


def test_chaos_a_forked_child_builds_its_own_transport_with_the_credentials_its_parent_read(
    tmp_path: Path, monkeypatch
):
    """A forked child does not use its parent's HTTP session (its pooled connections share their
    sockets, its locks may be held by a parent's thread): it builds its own transport, from the
    credentials the parent read, without looking the Connection up again."""
    from test_events import run_event

    catalog = Receiver()
    monkeypatch.setenv("AIRFLOW_CONN_FORKED", json.dumps({"conn_type": "http", "password": "parent-token"}))
    transport = routing(tmp_path, {"catalog": {"type": "catalog", "url": catalog.url, "conn_id": "forked"}}, bound=5.0)
    try:
        transport.emit(run_event(eventType="START"))
        parents = transport.senders["catalog"]._transport
        monkeypatch.setenv("AIRFLOW_CONN_FORKED", json.dumps({"conn_type": "http", "password": "not-read"}))
        child = multiprocessing.get_context("fork").Process(
            target=transport.emit, args=(run_event(eventType="COMPLETE"),)
        )
        child.start()
        child.join(30)
        assert child.exitcode == 0
        assert catalog.authorizations == ["Bearer parent-token"] * 2
        assert transport.senders["catalog"]._transport is parents  # the parent's own, untouched
    finally:
        catalog.close()


def _own_from_the_start(transport: RoutingTransport) -> None:
    sender = transport.senders["d"]
    journal = transport.journal
    os._exit(0 if sender._worker_pid == os.getpid() and journal is not None and journal._pid == os.getpid() else 1)


def test_chaos_a_forked_child_owns_its_senders_and_journals_before_any_thread_uses_them(tmp_path: Path):
    """Made the child's at the fork, while it is alone: found the parent's by two of its threads
    at once, both would reset them (two workers for one destination, the order lost)."""
    receiver = Receiver()
    transport = routing(tmp_path, {"d": {"type": "http", "url": receiver.url}})
    try:
        transport.emit(numbered(0))
        child = multiprocessing.get_context("fork").Process(target=_own_from_the_start, args=(transport,))
        child.start()
        child.join(30)
        assert child.exitcode == 0
    finally:
        receiver.close()


def test_chaos_one_slow_answer_does_not_hold_back_later_events_until_a_flush(tmp_path: Path):
    """The first send outlasts the bound once (a busy catalog), then the destination answers at
    once: the next task's emit redelivers what waits, without waiting the minute that sends not
    waited out twice get."""
    catalog = Receiver()
    catalog.delay = 1.5
    destinations = {"catalog": {"type": "http", "url": catalog.url}}
    try:
        run_tasks(destinations, tmp_path / "spool", 1)
        catalog.delay = 0.0
        time.sleep(1)  # the late answer
        run_tasks(destinations, tmp_path / "spool", 2)
        assert set(copies_of(catalog)) == {f"run-{n:03d}" for n in range(4)}
    finally:
        catalog.close()

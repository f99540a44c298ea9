"""The routing transport's journal, recovery, dead letters and spools of destinations no longer named,
in the cases a review found wrong: an interrupted emit, a spool that cannot be written, full dead
letters, many journals to recover, a journal kept for another config. Each failed before its mend."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

from test_faults_transport import BOUND, numbered, routing
from test_transport import TRANSPORT, Receiver, airflow_loaded  # noqa: F401 (an autouse fixture)

from airflow_ol_catalog.transport import RoutingConfig, RoutingTransport, in_flight, records
from airflow_ol_catalog.transport.dead_letters import DeadLetter, letter_id
from airflow_ol_catalog.transport.spool import Spool


def dead_journal(spool_dir: Path, events: dict[str, bytes], name: str | None = None) -> Path:
    """The journal a process killed during emit leaves: each event noted, none answered, no lock."""
    spool_dir.mkdir(parents=True, exist_ok=True)
    path = spool_dir / f"{name or uuid.uuid4().hex}{in_flight.SUFFIX}"
    data = b""
    for destination, payload in events.items():
        encoded = destination.encode()
        data += records.encode(in_flight._NAME.pack(len(encoded)) + encoded + payload, time.time())
    path.write_bytes(data)
    return path


def test_a_recovery_that_cannot_spool_one_destination_respools_the_others_at_every_start(tmp_path):
    """A dead process's journal holds one event for `a` and one for `b`; b's spool cannot be
    written (here its file is a directory; in production a spool file left owned by root by a
    `spool flush` run as root, or ENOSPC). `in_flight.recover` spools a's event, then raises on
    b's: the journal is neither removed nor rewritten (in_flight.py:191-195), so every transport
    started afterwards (every task process) appends a's event to a's spool once more. The raise
    also ends the walk over the journals, so the ones sorted after it are never recovered."""
    spool_dir = tmp_path / "spool"
    dead_journal(spool_dir, {"a": b'{"n": 1}', "b": b'{"n": 2}'}, name="0" * 32)
    dead_journal(spool_dir, {"a": b'{"n": 3}'}, name="f" * 32)  # sorted after the first
    (spool_dir / "b.spool").mkdir()
    down = {"type": "http", "url": "http://127.0.0.1:9/"}
    for _ in range(3):  # three task processes start
        routing(tmp_path, {"a": down, "b": down})
    a = Spool(spool_dir, "a", 1 << 20)
    payloads = []
    with open(a.path, "rb") as reader:
        payloads = [item.payload for item in records.scan(reader.read(), 0) if item.payload is not None]
    assert sorted(payloads) == [b'{"n": 1}', b'{"n": 3}'], f"a's spool after 3 starts: {payloads}"


def test_spool_status_survives_an_unreadable_spool_of_a_destination_no_longer_named(tmp_path, capsys):
    """`spool status` catches OSError for the spools of named destinations and shows a row, but
    not for the spools of destinations the config no longer names (cli_commands.py:339-346,
    spool.py:79 `has_backlog` catches only FileNotFoundError): one such spool that cannot be read
    ends the command with a traceback and no table at all, named destinations included."""
    from airflow_ol_catalog.cli_commands import spool_status

    spool_dir = tmp_path / "spool"
    (spool_dir / "ghost.spool").mkdir(parents=True)  # cannot be read as a file
    config = tmp_path / "openlineage.json"
    config.write_text(
        json.dumps(
            {
                "type": TRANSPORT,
                "destinations": {"d": {"type": "console"}},
                "spool": {"dir": str(spool_dir)},
            }
        )
    )
    spool_status(SimpleNamespace(config=str(config)))
    out = capsys.readouterr().out
    assert "d" in out and "ghost" in out


def test_a_refused_event_keeps_the_emit_bound_when_the_dead_letters_are_full(tmp_path):
    """Dead letters that reach max_bytes (100 MB by default) are now compacted before a letter is
    turned away: in the emit path (`_settle` -> `_dead_letter`), each
    further refused event reads and parses the whole file, rewrites and fsyncs it, then reads and
    parses it once more. With full dead letters of distinct events, every refused event costs the
    emit that much, far past the bound (before the change a full file said no at once)."""
    refusing = Receiver()
    refusing.status = 403
    transport = routing(tmp_path, {"d": {"type": "http", "url": refusing.url}})  # the default max_bytes, 100 MB
    dead = transport.senders["d"].spool.dead_letters
    try:
        chunks, size, n = [], 0, 0
        while True:  # full of distinct letters, as months of a refused namespace leave them
            payload = json.dumps(numbered(10_000 + n)).encode()
            document = DeadLetter(letter_id(payload), time.time(), 403, "no", payload).document()
            record = records.encode(json.dumps(document).encode(), time.time())
            if size + len(record) > dead.max_bytes:
                break
            chunks.append(record)
            size, n = size + len(record), n + 1
        dead.path.parent.mkdir(parents=True, exist_ok=True)
        dead.path.write_bytes(b"".join(chunks))
        started = time.monotonic()
        transport.emit(numbered(1))
        took = time.monotonic() - started
        assert took < BOUND + 0.2, f"an emit whose event was refused took {took:.2f} s against a bound of {BOUND} s"
    finally:
        refusing.close()


def _first_emit_in_a_forked_task(transport: RoutingTransport, out: Path) -> None:
    started = time.monotonic()
    transport.emit(numbered(0))
    out.write_text(str(time.monotonic() - started))
    os._exit(0)


def test_the_first_emit_of_a_forked_task_keeps_its_bound_while_it_recovers_journals(tmp_path, monkeypatch):
    """A forked task process recovers dead journals in its first emit (routing.py:358-362), before
    the emit's deadline is even taken: every recovered event is an fsync'd spool append. After a
    node lost many task processes at once (an eviction, the OOM killer), the first task started
    pays for them all inside its emit. fsync is made 4 ms, as on a cloud disk."""
    receiver = Receiver()
    transport = routing(
        tmp_path, {"a": {"type": "http", "url": receiver.url}, "b": {"type": "http", "url": receiver.url}}
    )
    for _ in range(150):  # 150 task processes killed during their emits, each with two events in flight
        dead_journal(tmp_path / "spool", {"a": b'{"n": 1}', "b": b'{"n": 1}'})
    real_fsync = os.fsync

    def slow_fsync(fd):
        time.sleep(0.004)
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    out = tmp_path / "took"
    try:
        child = multiprocessing.get_context("fork").Process(target=_first_emit_in_a_forked_task, args=(transport, out))
        child.start()
        child.join(60)
        took = float(out.read_text())
        assert took < BOUND + 0.2, f"the task's first emit took {took:.2f} s against a bound of {BOUND} s"
    finally:
        receiver.close()


def test_a_journal_kept_for_another_config_is_not_rewritten_at_every_start(tmp_path):
    """A journal whose events are for a destination this config lacks is rewritten, with an fsync
    of the file and of the directory, by every recovery that finds it (in_flight.py:192-193,
    `_keep`), although nothing in it changed: each task process started pays two fsyncs per such
    journal, for as long as no config names the destination."""
    spool_dir = tmp_path / "spool"
    path = dead_journal(spool_dir, {"gone": b'{"n": 1}'})
    os.link(path, tmp_path / "the-journal-as-written")
    routing(tmp_path, {"a": {"type": "http", "url": "http://127.0.0.1:9/"}})
    assert path.samefile(tmp_path / "the-journal-as-written"), "the journal was replaced by a copy of itself"


def _emit_with_sigterm_raising(destinations: dict, spool_dir: Path) -> None:
    """A process whose SIGTERM handler raises SystemExit (common in services, so that `finally`
    blocks and atexit run); a SIGINT to the process group (KeyboardInterrupt, which the OpenLineage
    provider's forked emitter expects) or a SIGALRM timeout raise in emit the same way."""
    import signal
    import sys

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    config = {"type": TRANSPORT, "timeout": 2, "destinations": destinations, "spool": {"dir": str(spool_dir)}}
    RoutingTransport(RoutingConfig.from_dict(config)).emit(numbered(0))


def test_a_process_terminated_gracefully_during_the_bound_loses_no_event(tmp_path):
    """SIGKILL during the bound loses nothing: the held event stays in the journal. SIGTERM, turned
    into SystemExit by the process's handler while emit waits in `_settle_as_answered`, runs the
    `finally: noted.settled()` of `_emit` (routing.py:385-389), which empties the journal although
    the send held by the silent destination was never settled (not spooled, no answer): the
    process exits and the event is nowhere. The same happens in a living process for any
    exception a signal handler raises there (SIGALRM timeouts, KeyboardInterrupt): the late send
    is then neither spooled nor journaled."""
    import signal

    from test_faults_transport import silent_address, spooled

    hole, hole_url = silent_address()
    spool_dir = tmp_path / "spool"
    destinations = {"hang": {"type": "http", "url": hole_url, "timeout": 30}}
    try:
        child = multiprocessing.get_context("fork").Process(
            target=_emit_with_sigterm_raising, args=(destinations, spool_dir)
        )
        child.start()
        time.sleep(1)  # within the 2 s bound: the silent destination holds the request
        os.kill(child.pid, signal.SIGTERM)
        child.join(10)
        routing(tmp_path, destinations)  # the next transport started recovers what was in flight
        assert spooled(spool_dir, "hang") == {"hang": 1}, "the event in flight at SIGTERM is lost"
    finally:
        hole.close()


def test_starting_a_transport_does_not_read_a_removed_destinations_dead_letters(tmp_path):
    """At every start (`_warn_of_unnamed_spools`, spool.py:79) the transport reads and parses the
    whole dead-letter file of each destination the config no longer names, only to learn whether
    it holds a letter. With the OpenLineage provider the transport is built in the forked process
    of each task event (the adapter makes its client on first emit, in `_fork_execute`'s child):
    a removed destination's 100 MB of dead letters cost every task event ~2 s here."""
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    chunks, size, n = [], 0, 0
    while True:
        payload = json.dumps(numbered(n)).encode()
        document = DeadLetter(letter_id(payload), time.time(), 403, "no", payload).document()
        record = records.encode(json.dumps(document).encode(), time.time())
        if size + len(record) > 100 * 1024 * 1024:
            break
        chunks.append(record)
        size, n = size + len(record), n + 1
    (spool_dir / "removed.dead").write_bytes(b"".join(chunks))
    started = time.monotonic()
    routing(tmp_path, {"a": {"type": "console"}})
    took = time.monotonic() - started
    assert took < 0.5, f"a transport took {took:.2f} s to start"

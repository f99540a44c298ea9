"""Faults on the routing transport's way out: a destination down, hung or refusing events, and the
spool's process killed (SIGKILL) at every durable step. Nothing emitted may be lost: each event
reaches its destination or, refused for good, a dead-letter file with the answer it got."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import signal
import socket
import time
from pathlib import Path
from types import SimpleNamespace

from servers import free_port
from test_events import run_event
from test_transport import TRANSPORT, Receiver, airflow_loaded  # noqa: F401 (an autouse fixture)

from airflow_ol_catalog.cli_commands import spool_status
from airflow_ol_catalog.transport import RoutingConfig, RoutingTransport, in_flight
from airflow_ol_catalog.transport import spool as spool_module
from airflow_ol_catalog.transport.spool import Spool

BOUND = 1.0


def routing(tmp_path: Path, destinations: dict, bound: float = BOUND, **spool) -> RoutingTransport:
    """A routing transport spooling in `tmp_path / "spool"` (`spool`: its other settings)."""
    return RoutingTransport(
        RoutingConfig.from_dict(
            {
                "type": TRANSPORT,
                "timeout": bound,
                "destinations": destinations,
                "spool": {"dir": str(tmp_path / "spool"), **spool},
            }
        )
    )


def numbered(n: int, **changes) -> dict:
    return run_event(eventType="COMPLETE", run={"runId": f"run-{n:03d}", "facets": {}}, **changes)


def arrivals(receiver: Receiver) -> tuple[list[str], int]:
    """The run ids that reached the receiver, each once in order of first arrival, and how many came twice."""
    runs = [e["run"]["runId"] for e in receiver.events]
    return list(dict.fromkeys(runs)), len(runs) - len(set(runs))


def emit_within_bound(transport: RoutingTransport, event: dict) -> None:
    started = time.monotonic()
    transport.emit(event)
    assert time.monotonic() - started < BOUND + 0.2


# --- destinations down, hung, refusing ----------------------------------------------------------


def test_faults_a_destination_down_gets_every_event_once_it_is_back(tmp_path, fault_report):
    catalog, port = Receiver(), free_port()
    transport = routing(
        tmp_path,
        {
            "catalog": {"type": "http", "url": catalog.url},
            "backend": {"type": "http", "url": f"http://127.0.0.1:{port}/"},
        },
    )
    try:
        for n in range(20):
            emit_within_bound(transport, numbered(n))
            assert len(catalog.events) == n + 1  # the healthy destination has it before emit returns
        assert transport.senders["backend"].spool.status().events == 20
        backend = Receiver(port)  # back, on the same address
        emit_within_bound(transport, numbered(20))  # behind the backlog; a few are redelivered
        transport.flush_spools()
        reached, twice = arrivals(backend)
        assert reached == [f"run-{n:03d}" for n in range(21)]  # in order
        assert arrivals(catalog) == ([f"run-{n:03d}" for n in range(21)], 0)
        fault_report(
            "transport: a destination down (connection refused), 21 events",
            acknowledged=21,
            stored=len(reached),
            delivered_twice=twice,
            dead_letters=0,
        )
    finally:
        catalog.close()
        if "backend" in locals():
            backend.close()


def test_faults_a_hung_destination_delays_no_other_and_gets_every_event_from_its_spool(tmp_path, fault_report):
    catalog, hung = Receiver(), Receiver()
    hung.answering.clear()  # accepts and reads every request, answers none
    transport = routing(
        tmp_path,
        {"catalog": {"type": "http", "url": catalog.url}, "backend": {"type": "http", "url": hung.url, "timeout": 30}},
    )
    try:
        for n in range(15):
            emit_within_bound(transport, numbered(n))
            assert len(catalog.events) == n + 1
        assert transport.senders["backend"].spool.status().events == 15
        hung.answering.set()  # the one send it held is answered late, and arrives
        transport.flush_spools()
        reached, twice = arrivals(hung)
        assert reached == [f"run-{n:03d}" for n in range(15)] and twice <= 1
        assert arrivals(catalog) == ([f"run-{n:03d}" for n in range(15)], 0)
        fault_report(
            "transport: a hung destination (accepts, never answers), 15 events",
            acknowledged=15,
            stored=len(reached),
            delivered_twice=twice,
            dead_letters=0,
        )
    finally:
        catalog.close()
        hung.close()


def _emit_once(destinations: dict, spool_dir: Path) -> None:
    config = {"type": TRANSPORT, "timeout": 2, "destinations": destinations, "spool": {"dir": str(spool_dir)}}
    RoutingTransport(RoutingConfig.from_dict(config)).emit(numbered(0))


def silent_address() -> tuple[socket.socket, str]:
    """An address whose connections the kernel accepts and nobody reads: a request sent there is
    held unanswered, and never reaches anyone."""
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)
    return hole, f"http://127.0.0.1:{hole.getsockname()[1]}/"


def killed_in_the_bound(target, *args) -> None:
    """Run `target` in a forked child and SIGKILL it 1 s in, within emit's 2 s bound."""
    child = multiprocessing.get_context("fork").Process(target=target, args=args)
    child.start()
    time.sleep(1)
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)


def spooled(spool_dir: Path, *names: str) -> dict[str, int]:
    return {name: Spool(spool_dir, name, 1 << 20).status().events for name in names}


def test_faults_killed_during_the_bound_loses_no_event_not_even_the_one_a_destination_held(tmp_path, fault_report):
    """A process killed while one destination still holds its request. The destinations that
    answered already have the event where their answer put it, whatever their place in the
    config (settled in config order, a hung destination listed first kept their outcomes in
    memory). The held event was noted on disk before it was sent: the next transport started
    on the machine spools it, not before its process is gone, and not for the destinations
    that had answered (they would get it twice)."""
    hole, hole_url = silent_address()
    failing, refusing_all, back = Receiver(), Receiver(), Receiver()
    failing.status = 500
    refusing_all.status = 400
    spool_dir = tmp_path / "spool"
    destinations = {
        "hang": {"type": "http", "url": hole_url, "timeout": 30},
        "fail": {"type": "http", "url": failing.url},
        "bad": {"type": "http", "url": refusing_all.url},
    }
    config = {"type": TRANSPORT, "timeout": 2, "destinations": destinations, "spool": {"dir": str(spool_dir)}}
    try:
        child = multiprocessing.get_context("fork").Process(target=_emit_once, args=(destinations, spool_dir))
        child.start()
        time.sleep(1)  # within emit's 2 s bound: the silent destination still holds its request
        alive = RoutingTransport(RoutingConfig.from_dict(config)).recover_in_flight()
        assert alive == in_flight.Recovered()  # a living process's events in flight are its own
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
        letters = len(Spool(spool_dir, "bad", 1 << 20).dead_letters.letters())
        assert (spooled(spool_dir, "hang", "fail"), letters) == ({"hang": 0, "fail": 1}, 1)

        config["destinations"] = dict(destinations, hang={"type": "http", "url": back.url})  # where it went
        started = RoutingTransport(RoutingConfig.from_dict(config))
        assert (spooled(spool_dir, "hang", "fail", "bad"), letters) == ({"hang": 1, "fail": 1, "bad": 0}, 1)
        assert list(spool_dir.glob(f"*{in_flight.SUFFIX}")) == []
        started.flush_spools(destinations=["hang"])
        assert arrivals(back) == (["run-000"], 0)
        fault_report(
            "transport: SIGKILL during emit's bound, one destination silent, one failing, one refusing",
            acknowledged=3,
            stored=len(back.events) + spooled(spool_dir, "fail")["fail"] + letters,
            delivered_twice=0,
        )
    finally:
        hole.close()
        for receiver in (failing, refusing_all, back):
            receiver.close()


def _emit_numbered(transport: RoutingTransport, n: int) -> None:
    transport.emit(numbered(n))


def test_faults_a_forked_process_notes_its_events_in_flight_apart_from_its_parent(tmp_path):
    """Task processes are forked from one that has emitted already. The child's events in flight
    go to a journal of its own: in the parent's, its death would never be found (the lock held
    is the parent's), and emptying it would empty the parent's."""
    receiver = Receiver()
    transport = routing(tmp_path, {"hang": {"type": "http", "url": receiver.url, "timeout": 30}}, bound=2)
    try:
        transport.emit(numbered(0))  # the parent's journal is made
        assert len(list((tmp_path / "spool").glob(f"*{in_flight.SUFFIX}"))) == 1
        receiver.answering.clear()  # now it reads requests and answers none
        killed_in_the_bound(_emit_numbered, transport, 1)
        found = transport.recover_in_flight()
        assert found is not None and dict(found.spooled) == {"hang": 1}
        assert len(list((tmp_path / "spool").glob(f"*{in_flight.SUFFIX}"))) == 1  # the parent's, still held
    finally:
        receiver.answering.set()
        receiver.close()


def _emit_and_fork_a_sleeper(destinations: dict, spool_dir: Path, sleeper: Path) -> None:
    """Emit from a thread, and fork a long-lived child while that emit is in flight."""
    import threading

    threading.Thread(target=_emit_once, args=(destinations, spool_dir)).start()
    time.sleep(0.3)
    pid = os.fork()
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    sleeper.write_text(str(pid))
    time.sleep(60)


def test_faults_a_child_outliving_its_parent_does_not_hold_the_parents_events_in_flight(tmp_path):
    """A process forked while another thread's emit was in flight, which outlives its parent (a
    task's own subprocess): the parent's journal is closed in the child, so its lock ends with the
    parent and the next transport recovers the event."""
    hole, hole_url = silent_address()
    spool_dir, sleeper = tmp_path / "spool", tmp_path / "sleeper.pid"
    destinations = {"hang": {"type": "http", "url": hole_url, "timeout": 30}}
    try:
        killed_in_the_bound(_emit_and_fork_a_sleeper, destinations, spool_dir, sleeper)
        assert os.kill(int(sleeper.read_text()), 0) is None  # the child lives on
        routing(tmp_path, destinations)
        assert spooled(spool_dir, "hang") == {"hang": 1}
    finally:
        hole.close()
        if sleeper.exists():
            os.kill(int(sleeper.read_text()), signal.SIGKILL)


def test_faults_events_in_flight_for_a_destination_this_config_lacks_wait_for_one_that_has_it(tmp_path, capsys):
    """The spool directory may be shared by configs that differ (the scheduler's, a CLI's own
    `--config`): a recovery leaves the events of destinations it does not know in their journal,
    and `spool status` counts them."""
    hole, hole_url = silent_address()
    spool_dir = tmp_path / "spool"
    try:
        killed_in_the_bound(_emit_once, {"hang": {"type": "http", "url": hole_url, "timeout": 30}}, spool_dir)
        other = routing(tmp_path, {"other": {"type": "http", "url": hole_url}}).recover_in_flight()
        assert other is not None and (dict(other.kept), dict(other.spooled)) == ({"hang": 1}, {})
        assert len(list(spool_dir.glob(f"*{in_flight.SUFFIX}"))) == 1
        config = tmp_path / "other.json"
        config.write_text(
            json.dumps(
                {"type": TRANSPORT, "destinations": {"other": {"type": "console"}}, "spool": {"dir": str(spool_dir)}}
            )
        )
        spool_status(SimpleNamespace(config=str(config)))  # shows them
        assert "in journals of events in flight (not in this config)" in capsys.readouterr().out
        routing(tmp_path, {"hang": {"type": "http", "url": hole_url}})
        assert spooled(spool_dir, "hang") == {"hang": 1}
        assert list(spool_dir.glob(f"*{in_flight.SUFFIX}")) == []
    finally:
        hole.close()


def refusing(event: dict) -> tuple[int, str] | None:
    """A catalog's lasting refusals: a 1,100-byte job name, a namespace the token may not write, a body too large."""
    job = event["job"]
    if len(job["name"].encode()) > 1024:
        return 422, json.dumps({"detail": f"job.name: {len(job['name'].encode())} bytes, more than 1024"})
    if job["namespace"] == "forbidden":
        return 403, json.dumps({"detail": "this token may not write namespace 'forbidden'"})
    if "blob" in job["facets"]:
        return 413, json.dumps({"detail": "the body is larger than the limit ([ol_catalog] max_body_bytes)"})
    return None


def refused_kind(n: int) -> dict:
    kinds = [
        {},
        {"job": {"namespace": "team-a", "name": "x" * 1100, "facets": {}}},
        {},
        {"job": {"namespace": "forbidden", "name": "etl", "facets": {}}},
        {},
        {"job": {"namespace": "team-a", "name": "etl", "facets": {"blob": {"data": "y" * 2000}}}},
        {},
    ]
    return kinds[n % len(kinds)]


def test_faults_refused_events_become_dead_letters_and_never_hold_back_the_rest(tmp_path, fault_report):
    catalog = Receiver()
    catalog.refuse = refusing
    transport = routing(tmp_path, {"catalog": {"type": "http", "url": catalog.url}})
    spool = transport.senders["catalog"].spool
    try:
        events = [numbered(n, **refused_kind(n)) for n in range(28)]
        for event in events[:10]:  # refused at the first send
            emit_within_bound(transport, event)
        catalog.status = 503  # a short outage: what is refused now is refused at redelivery
        for event in events[10:20]:
            emit_within_bound(transport, event)
        catalog.status = 201
        for event in events[20:]:
            emit_within_bound(transport, event)
        transport.flush_spools()
        expected_refusals = [(e["run"]["runId"], refusing(e)[0]) for e in events if refusing(e)]
        letters = spool.dead_letters.letters()
        assert [(json.loads(letter.payload)["run"]["runId"], letter.status) for letter in letters] == expected_refusals
        assert all(letter.answer.startswith('{"detail": ') and letter.at > 0 for letter in letters)
        accepted = [e["run"]["runId"] for e in events if not refusing(e)]
        reached, twice = arrivals(catalog)
        assert reached == accepted and spool.status().events == 0
        fault_report(
            "transport: a destination refusing some events for good (422, 403, 413), 28 events",
            acknowledged=len(accepted),
            stored=len(reached),
            delivered_twice=twice,
            emitted=len(events),
            dead_letters=len(letters),
        )
    finally:
        catalog.close()


# --- the spool's process killed at each durable step -----------------------------------------------


def _die_before(step: int) -> None:
    """SIGKILL this process just before its `step`-th durable file operation (an fsync or a rename)."""
    calls = itertools.count(1)

    def durable(real):
        def step_or_die(*args, **kwargs):
            if next(calls) == step:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args, **kwargs)

        return step_or_die

    os.fsync, os.replace = durable(os.fsync), durable(os.replace)


def _log_to(path: Path):
    """Append lines with plain writes (no fsync: they survive SIGKILL, and count no step)."""

    def write(line) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, f"{line}\n".encode())
        finally:
            os.close(fd)

    return write


REFUSED = {2, 5}


class Refused(Exception):
    """What openlineage-python's http transport raises for a lasting 422 (requests' HTTPError shape)."""

    def __init__(self) -> None:
        super().__init__("422 Client Error")
        self.response = SimpleNamespace(status_code=422, text='{"detail": "invalid event"}')


def _sender(received: Path, refuse: set[int]):
    write = _log_to(received)

    def send(payload: bytes) -> None:
        n = json.loads(payload)["n"]
        if n in refuse:
            raise Refused()
        write(n)

    return send


def _append(spool: Spool, acknowledged: Path, numbers, pad: int = 0) -> None:
    write = _log_to(acknowledged)
    for n in numbers:
        if spool.append(json.dumps({"n": n, "pad": "p" * (pad or n % 7)}).encode()):
            write(n)  # only what append acknowledged must arrive


def _append_deliver_compact(directory: Path, step: int) -> None:
    _die_before(step)
    spool_module.COMPACT_BYTES = 1  # every partial delivery compacts: its copy and switch are steps too
    spool = Spool(directory, "d", 1 << 20)
    send = _sender(directory / "received", set())
    _append(spool, directory / "acknowledged", range(5))
    spool.deliver(send, limit=2)  # offsets advance, then the rest is copied to a new file
    spool.deliver(send)  # drained: switched to an empty file
    _append(spool, directory / "acknowledged", range(5, 8))
    spool.deliver(send, limit=1)
    spool.deliver(send)


def _dead_letter_and_retry(directory: Path, step: int) -> None:
    _die_before(step)
    spool = Spool(directory, "d", 1 << 20)
    _append(spool, directory / "acknowledged", range(7))
    spool.deliver(_sender(directory / "received", REFUSED))  # two refused for good: dead letters
    spool.requeue_dead_letters()  # the refusals were fixed: retried at the end of the spool
    spool.deliver(_sender(directory / "received", set()))


def _recover(directory: Path, refuse: set[int]) -> None:
    """After the crash: new events (more bytes than any earlier offset), then the scenario's deliveries to their end."""
    spool = Spool(directory, "d", 1 << 20)
    _append(spool, directory / "acknowledged", range(100, 103), pad=300)
    spool.deliver(_sender(directory / "received", refuse))
    if refuse:
        spool.requeue_dead_letters()
        spool.deliver(_sender(directory / "received", set()))
        assert spool.dead_letters.letters() == []
    assert spool.status().events == 0


def _numbers(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def kill_at_every_step(tmp_path: Path, scenario, refuse: set[int] = frozenset()) -> dict:
    """Run `scenario` in a child process killed before its 1st, 2nd, ... durable step until it completes."""
    context = multiprocessing.get_context("fork")
    totals = {"acknowledged": 0, "stored": 0, "delivered_twice": 0, "kill_points": 0, "most_twice_in_one_run": 0}
    for step in range(1, 500):
        directory = tmp_path / f"step-{step}"
        directory.mkdir()
        child = context.Process(target=scenario, args=(directory, step))
        child.start()
        child.join(30)
        assert child.exitcode in (0, -signal.SIGKILL), child.exitcode
        _recover(directory, refuse)
        acknowledged, received = _numbers(directory / "acknowledged"), _numbers(directory / "received")
        twice = len(received) - len(set(received))
        assert set(acknowledged) <= set(received), (
            f"killed before step {step}: lost {sorted(set(acknowledged) - set(received))}"
        )
        assert twice <= 1, f"killed before step {step}: {twice} events delivered twice"
        totals["acknowledged"] += len(acknowledged)
        totals["stored"] += len(set(acknowledged) & set(received))
        totals["delivered_twice"] += twice
        totals["most_twice_in_one_run"] = max(totals["most_twice_in_one_run"], twice)
        if child.exitcode == 0:  # no step left to kill at
            totals["kill_points"] = step - 1
            return totals
    raise AssertionError("the scenario never completed")


def test_faults_spool_killed_at_every_step_of_append_delivery_and_compaction(tmp_path, fault_report):
    totals = kill_at_every_step(tmp_path, _append_deliver_compact)
    assert totals["kill_points"] > 25
    fault_report(
        "transport spool: SIGKILL before each fsync/rename of append, delivery, compaction and drain", **totals
    )


def test_faults_spool_killed_at_every_step_of_dead_lettering_and_retry(tmp_path, fault_report):
    totals = kill_at_every_step(tmp_path, _dead_letter_and_retry, REFUSED)
    assert totals["kill_points"] > 20
    fault_report("transport spool: SIGKILL before each fsync/rename of dead-lettering and retry", **totals)

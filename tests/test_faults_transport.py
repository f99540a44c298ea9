"""Faults on the routing transport's way out: the spool's process killed (SIGKILL) at every durable
step, dead-lettering and retry included. Nothing acknowledged may be lost: each event reaches its
destination or, refused for good, a dead-letter file; a crash may deliver at most one event twice."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import signal
from pathlib import Path
from types import SimpleNamespace

from airflow_ol_catalog.transport import spool as spool_module
from airflow_ol_catalog.transport.spool import Spool


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
        assert set(acknowledged) <= set(received), f"killed before step {step}: lost {sorted(set(acknowledged) - set(received))}"
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
    fault_report("transport spool: SIGKILL before each fsync/rename of append, delivery, compaction and drain", **totals)


def test_faults_spool_killed_at_every_step_of_dead_lettering_and_retry(tmp_path, fault_report):
    totals = kill_at_every_step(tmp_path, _dead_letter_and_retry, REFUSED)
    assert totals["kill_points"] > 20
    fault_report("transport spool: SIGKILL before each fsync/rename of dead-lettering and retry", **totals)

"""The health check's bound and its one check at a time, with a check that hangs (a frozen
database): every request is answered within the bound, and the hanging check is never joined by
another (each would hold a thread and a database connection)."""

from __future__ import annotations

import asyncio
import json
import threading
import time

from airflow_ol_catalog.api import health


def test_health_answers_within_its_bound_with_one_check_at_a_time_while_checks_hang(monkeypatch):
    running, most, release = [0], [0], threading.Event()
    lock = threading.Lock()

    def hanging_check():
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            release.wait(10)
            return "reachable", "current", {}
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(health, "_check", hanging_check)
    monkeypatch.setattr(health, "CHECK_SECONDS", 0.3)

    async def requests_at_once(n: int) -> list:
        return await asyncio.gather(*(health.health() for _ in range(n)))

    for _ in range(3):  # one after the other, each in its own event loop
        started = time.monotonic()
        answers = asyncio.run(requests_at_once(4))
        assert time.monotonic() - started < 2
        for answer in answers:
            assert answer.status_code == 503 and "no answer within 0.3 s" in json.loads(answer.body)["database"]
    assert most[0] == 1
    release.set()
    deadline = time.monotonic() + 10
    while True:  # the hanging check returned: the next request starts a new one, which answers
        (answer,) = asyncio.run(requests_at_once(1))
        if answer.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert answer.status_code == 200 and most[0] == 1

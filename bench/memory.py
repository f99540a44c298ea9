"""Memory: the API server's resident memory while it ingests 1,000,000 events; it must not grow
with the number of events.

    .venv/bin/python bench/memory.py [--events 1000000] [--backend postgresql|sqlite] [--batch 500]

Clients post batches of events (`bench/ingest.py`'s typical event, each with its own run, the
runs spread over 50,000 jobs so that the catalog and the server's caches of job and dataset views
see more names than they keep) while a reader asks for the lineage of random jobs and searches.
The resident memory of the api-server and every process under it is read from /proc after each
tenth of the events; the report compares the last reading with the one after the first tenth.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from ingest import Template  # noqa: E402
from servers import AirflowServer, PostgresServer  # noqa: E402

JOBS = 50_000
CLIENTS = 2


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, MB."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        pending += children.get(current, [])
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def reader(server: AirflowServer, stop: threading.Event, sent: list[int], margin: int, answers: Counter) -> None:
    """Lineage of random jobs already sent and searches, as people browsing the catalog meanwhile."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {server.token}"
    rng = random.Random(3)
    while not stop.is_set():
        stored = sent[0] - margin  # every event before this one is stored (batches end out of order)
        if stored <= 0:
            time.sleep(0.1)
            continue
        job = f"load.job_{rng.randrange(min(JOBS, stored))}"
        for path, params in (
            ("ol-catalog/api/v1/lineage", {"nodeId": f"job:bench:{job}", "depth": 2}),
            ("ol-catalog/api/v1/search", {"q": f"job_{rng.randrange(JOBS)}"}),
        ):
            try:
                answers[session.get(server.url + path, params=params, timeout=60).status_code] += 1
            except requests.RequestException as failed:
                answers[type(failed).__name__] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    args = parser.parse_args()
    postgres = PostgresServer().start() if args.backend == "postgresql" else None
    # As in service: the test suite's check of every kept view (racy under concurrent writes) is off.
    server = AirflowServer(postgres.create_database("memory") if postgres else None, view_cache_check="False")
    template = Template("bench", "typical")
    job_name = '"job": {"namespace": "bench", "name": "billing.build_invoices"'
    assert job_name in template.text
    try:
        server.start()
        assert server.process is not None
        url = server.url + "ol-catalog/api/v1/lineage/batch"
        headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"}
        start = datetime.now(timezone.utc) - timedelta(days=1)
        sent = [0]

        def post(batch: int) -> None:
            run = str(uuid.uuid4())[:24]
            events = []
            for i in range(args.batch):
                n = batch * args.batch + i
                text = template.event(f"{run}{i:012x}", start + timedelta(milliseconds=n))
                events.append(
                    text.replace(job_name, f'"job": {{"namespace": "bench", "name": "load.job_{n % JOBS}"', 1)
                )
            answer = requests.post(url, data="[" + ",".join(events) + "]", headers=headers, timeout=600)
            assert answer.status_code == 200, answer.text[:300]
            sent[0] += args.batch

        stop, answers = threading.Event(), Counter()
        browsing = threading.Thread(
            target=reader, args=(server, stop, sent, CLIENTS * args.batch, answers), daemon=True
        )
        browsing.start()
        readings: list[tuple[int, float]] = [(0, tree_rss_mb(server.process.pid))]
        batches = args.events // args.batch
        tenth = max(1, batches // 10)
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            for first in range(0, batches, tenth):
                list(pool.map(post, range(first, min(batches, first + tenth))))
                readings.append((sent[0], tree_rss_mb(server.process.pid)))
                print(f"  {sent[0]:>10,} events: {readings[-1][1]:,.0f} MB", flush=True)
        elapsed = time.perf_counter() - started
        stop.set()
        browsing.join()
        _, after_first = readings[1]
        _, last = readings[-1]
        print(
            f"{args.backend}: {sent[0]:,} events in batches of {args.batch} at {sent[0] / elapsed:,.0f} events/s, "
            f"reads meanwhile answered {dict(answers)}"
        )
        print(
            f"api-server resident memory: {readings[0][1]:,.0f} MB at start, {after_first:,.0f} MB after "
            f"{readings[1][0]:,} events, {last:,.0f} MB after {sent[0]:,}: "
            f"{last - after_first:+,.0f} MB ({last / after_first:.2f}x) over the last nine tenths"
        )
        if set(answers) != {200}:
            sys.exit("FAILED: a read was not answered 200")
    finally:
        server.cleanup()
        if postgres:
            postgres.stop()


if __name__ == "__main__":
    main()

"""Transport benchmark: RoutingTransport against openlineage-python's own http transport, in one run.

    .venv/bin/python bench/transport.py [--events 400]

Both send the same kind of events to the catalog endpoint of a real api-server (SQLite): the
routing transport with one route to a `catalog` destination, the http transport configured as
a user would (gzip, api_key). Emits alternate between the two, so noise hits both alike. Then
the destination goes away: a port that refuses connections, and a server that accepts and never
answers; emit latency there must stay under the configured bound (2 s), the events spooled.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState  # noqa: E402
from openlineage.client.transport.http import HttpConfig, HttpTransport  # noqa: E402
from servers import AirflowServer, free_port  # noqa: E402

from airflow_ol_catalog.transport import RoutingConfig, RoutingTransport  # noqa: E402

PRODUCER = "https://github.com/apache/airflow/tree/providers-openlineage/2.20.3"
BOUND = 2.0


def event() -> RunEvent:
    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=datetime.now(timezone.utc).isoformat(),
        run=Run(runId=str(uuid.uuid4())),
        job=Job(namespace="bench", name="transport.task"),
        producer=PRODUCER,
        inputs=[InputDataset(namespace="postgres://db:5432", name="shop.public.orders")],
        outputs=[OutputDataset(namespace="postgres://db:5432", name="shop.public.totals")],
    )


def routing(url: str, token: str, spool: str) -> RoutingTransport:
    return RoutingTransport(
        RoutingConfig.from_dict(
            {
                "type": "airflow_ol_catalog.transport.RoutingTransport",
                "timeout": BOUND,
                "destinations": {"catalog": {"type": "catalog", "url": url, "api_key": token}},
                "routes": [{"match": {"job_namespace": "bench"}, "to": ["catalog"]}],
                "spool": {"dir": spool, "redeliver_per_emit": 0},
            }
        )
    )


def timed(transport, count: int) -> list[float]:
    out = []
    for _ in range(count):
        started = time.perf_counter()
        transport.emit(event())
        out.append((time.perf_counter() - started) * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def black_hole() -> tuple[socket.socket, str]:
    """A server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held = []
    threading.Thread(target=lambda: [held.append(listener.accept()) for _ in iter(int, 1)], daemon=True).start()
    return listener, f"http://127.0.0.1:{listener.getsockname()[1]}/"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=400)
    args = parser.parse_args()
    server = AirflowServer()
    spool = tempfile.mkdtemp(prefix="olc-bench-spool-")
    try:
        server.start()
        token = server.create_token("bench-transport")
        ours = routing(server.url, token, spool)
        theirs = HttpTransport(
            HttpConfig.from_dict(
                {
                    "type": "http",
                    "url": server.url,
                    "endpoint": "ol-catalog/api/v1/lineage",
                    "compression": "gzip",
                    "auth": {"type": "api_key", "apiKey": token},
                }
            )
        )
        timed(ours, 20), timed(theirs, 20)  # warm up connections and the server
        results = {"http": [], "routing": []}
        for _ in range(args.events // 20):
            results["http"] += timed(theirs, 10)
            results["routing"] += timed(ours, 10)
        # Each emit with an empty spool, so each one really tries the destination.
        down = {"refused": [], "no answer": []}
        for _ in range(20):
            down["refused"] += timed(routing(f"http://127.0.0.1:{free_port()}/", token, tempfile.mkdtemp(dir=spool)), 1)
        hole, hole_url = black_hole()
        for _ in range(5):
            down["no answer"] += timed(routing(hole_url, token, tempfile.mkdtemp(dir=spool)), 1)
        hole.close()
    finally:
        server.cleanup()
    http50, http99 = pct(results["http"], 0.5), pct(results["http"], 0.99)
    print(f"{'transport':<36}{'p50 ms':>9}{'p99 ms':>9}{'p50 ratio':>11}{'p99 ratio':>11}")
    print(f"{'openlineage-python http (baseline)':<36}{http50:>9.2f}{http99:>9.2f}{1:>11.2f}{1:>11.2f}")
    r50, r99 = pct(results["routing"], 0.5), pct(results["routing"], 0.99)
    print(f"{'RoutingTransport -> catalog':<36}{r50:>9.2f}{r99:>9.2f}{r50 / http50:>11.2f}{r99 / http99:>11.2f}")
    for name, values in down.items():
        print(
            f"{'destination down: ' + name:<36}{pct(values, 0.5):>9.2f}{pct(values, 0.99):>9.2f}   (bound {BOUND * 1000:.0f} ms)"
        )
    print(f"({len(results['http'])} events each way, alternating in blocks of 10)")


if __name__ == "__main__":
    main()

"""Ingestion benchmark: a real api-server, measured against a do-nothing route of the same app.

    .venv/bin/python bench/ingest.py [--seconds 10] [--rounds 3] [--backend sqlite|postgresql]

Single-event POSTs come from `wrk` (16 connections, every request a new event); the batch
endpoint from a Python client posting batches of 1,000 events. Rounds alternate between the
routes and the medians are reported, so a noisy machine affects both sides alike.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from servers import AirflowServer, PostgresServer  # noqa: E402

EVENT = ROOT / "examples" / "02_table_lineage" / "02_build_invoices_complete.json"
MARK = "RUN-ID-MARK"
LUA = """
local counter = 0
local prefix = [==[{prefix}]==]
local suffix = [==[{suffix}]==]
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
request = function()
  counter = counter + 1
  return wrk.format(nil, "{path}", nil, prefix .. "{run}-" .. counter .. suffix)
end
"""


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk (Debian package) ...", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
    return shutil.which("wrk")


def template() -> tuple[str, str]:
    payload = json.loads(EVENT.read_text())
    payload["run"]["runId"] = MARK
    prefix, suffix = json.dumps(payload).split(MARK)
    return prefix, suffix


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise RuntimeError(f"cannot read wrk latency {text!r}")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(wrk: str, server: AirflowServer, path: str, seconds: int, connections: int) -> dict:
    prefix, suffix = template()
    script = LUA.format(prefix=prefix, suffix=suffix, token=server.token, path="/" + path, run=uuid.uuid4().hex)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    out = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", handle.name, server.url.rstrip("/")],
        capture_output=True, text=True, check=True,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        "p99": _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
        "errors": int(errors.group(1)) if errors else 0,
    }


def run_batches(server: AirflowServer, batches: int, size: int, clients: int) -> float:
    prefix, suffix = template()
    bodies = []
    for _ in range(batches):
        run = uuid.uuid4().hex
        bodies.append(("[" + ",".join(f"{prefix}{run}-{i}{suffix}" for i in range(size)) + "]").encode())
    headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"}
    url = server.url + "ol-catalog/api/v1/lineage/batch"

    def post(body: bytes) -> None:
        response = requests.post(url, data=body, headers=headers, timeout=300)
        assert response.status_code == 200, response.text[:300]

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(post, bodies))
    return batches * size / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()

    wrk = ensure_wrk()
    postgres = PostgresServer().start() if args.backend == "postgresql" else None
    server = AirflowServer(
        postgres.create_database("bench") if postgres else None, extra_env={"OL_CATALOG_BENCHMARK_ROUTES": "1"}
    )
    try:
        server.start()
        print(f"api-server up ({args.backend}, 1 worker); {args.rounds} rounds of {args.seconds} s, {args.connections} connections")
        run_wrk(wrk, server, "ol-catalog/api/v1/benchmark/nothing", 2, args.connections)  # warm-up
        run_wrk(wrk, server, "ol-catalog/api/v1/lineage", 2, args.connections)
        results: dict[str, list[dict]] = {"nothing": [], "single": []}
        batch_rates = []
        for round_ in range(args.rounds):
            results["nothing"].append(run_wrk(wrk, server, "ol-catalog/api/v1/benchmark/nothing", args.seconds, args.connections))
            results["single"].append(run_wrk(wrk, server, "ol-catalog/api/v1/lineage", args.seconds, args.connections))
            batch_rates.append(run_batches(server, batches=20, size=1000, clients=2))
            print(f"  round {round_ + 1}: nothing {results['nothing'][-1]['rps']:.0f} req/s, "
                  f"single {results['single'][-1]['rps']:.0f} events/s, batch {batch_rates[-1]:.0f} events/s", flush=True)
        med = {name: {key: statistics.median(r[key] for r in runs) for key in ("rps", "p50", "p99")} for name, runs in results.items()}
        errors = sum(r["errors"] for runs in results.values() for r in runs)
        print()
        print(f"{'route':<34}{'per s (median)':>16}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}")
        print(f"{'do-nothing POST (baseline)':<34}{med['nothing']['rps']:>16.0f}{med['nothing']['p50']:>9.1f}{med['nothing']['p99']:>9.1f}{1:>8.2f}")
        print(f"{'POST /api/v1/lineage (events)':<34}{med['single']['rps']:>16.0f}{med['single']['p50']:>9.1f}{med['single']['p99']:>9.1f}"
              f"{med['single']['rps'] / med['nothing']['rps']:>8.2f}")
        print(f"{'POST /api/v1/lineage/batch (events)':<34}{statistics.median(batch_rates):>16.0f}")
        print(f"non-2xx answers: {errors}")
    finally:
        server.cleanup()
        if postgres:
            postgres.stop()


if __name__ == "__main__":
    main()

"""Runs the demo DAGs once through Airflow's REST API (scripts/run.sh calls it).

    python scripts/run_demo_dags.py AIRFLOW_URL USER PASSWORD

Waits for the dag-processor to parse them, unpauses both, triggers demo_shop_etl and waits for it
and for the demo_shop_report run its Asset event starts. Prints how each ended; exits 1 when one
did not end in time. Only the standard library: it runs before anything else is known to work.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request

ETL, REPORT = "demo_shop_etl", "demo_shop_report"
DEADLINE_SECONDS = 300


def call(base: str, method: str, path: str, token: str | None = None, body: object = None) -> object:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def wait_for(what: str, deadline: float, check) -> object:
    while True:
        try:
            found = check()
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(2)


class ImportFailed(Exception):
    """The DAG file does not import: waiting longer would not help."""


def parsed(base: str, token: str, dag_id: str) -> object:
    """The DAG once the dag-processor has stored it; ImportFailed with Airflow's import error for its file."""
    try:
        return call(base, "GET", f"api/v2/dags/{dag_id}", token)
    except urllib.error.HTTPError as error:
        if error.code != 404:
            raise
    errors = call(base, "GET", "api/v2/importErrors?limit=100", token)["import_errors"]
    for found in errors:
        if found["filename"].endswith("demo_shop.py"):
            raise ImportFailed(found["stack_trace"])
    return None


def main() -> int:
    base, user, password = sys.argv[1].rstrip("/") + "/", sys.argv[2], sys.argv[3]
    token = call(base, "POST", "auth/token", body={"username": user, "password": password})["access_token"]
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        for dag_id in (ETL, REPORT):
            wait_for(f"the dag-processor to parse {dag_id}", deadline, lambda d=dag_id: parsed(base, token, d))
            call(base, "PATCH", f"api/v2/dags/{dag_id}", token, {"is_paused": False})

        def report_runs() -> dict:
            return call(base, "GET", f"api/v2/dags/{REPORT}/dagRuns?order_by=-run_after&limit=1", token)

        before = report_runs()["total_entries"]  # run.sh may have run before on this home
        started = call(base, "POST", f"api/v2/dags/{ETL}/dagRuns", token, {"logical_date": None})["dag_run_id"]

        def ended(dag_id: str, run_id: str) -> str | None:
            state = call(base, "GET", f"api/v2/dags/{dag_id}/dagRuns/{run_id}", token)["state"]
            return state if state in ("success", "failed") else None

        etl_state = wait_for(f"{ETL} to finish", deadline, lambda: ended(ETL, started))
        print(f"    {ETL}: {etl_state} (check_orders fails on purpose: one order has no customer)")

        def report_run() -> str | None:
            runs = report_runs()
            return runs["dag_runs"][0]["dag_run_id"] if runs["total_entries"] > before else None

        report = wait_for(f"{REPORT} to be triggered by its Asset", deadline, report_run)
        print(f"    {REPORT}: {wait_for(f'{REPORT} to finish', deadline, lambda: ended(REPORT, report))}")
    except ImportFailed as failed:
        print(f"    the demo DAG file does not import:\n{failed}", file=sys.stderr)
        return 1
    except TimeoutError as waited:
        print(f"    gave up waiting for {waited} after {DEADLINE_SECONDS} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

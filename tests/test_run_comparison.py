"""Two runs of a job side by side (GET /jobs/runs/{id}/compare?with=): what this run read and wrote
that the other did not, the rows each measured, and the facets whose values differ. In process."""

from __future__ import annotations

from test_events import run_event

SPEC = "https://openlineage.io/spec/facets/"
BEFORE = "0193c000-0000-7000-8000-000000000001"
AFTER = "0193c000-0000-7000-8000-000000000002"
OTHER_JOB_RUN = "0193c000-0000-7000-8000-000000000003"


def facet(schema: str, **fields) -> dict:
    return {"_producer": "https://example.com/tests", "_schemaURL": f"{SPEC}{schema}"} | fields


def dataset(name: str, rows: int | None = None) -> dict:
    found = {"namespace": "s3://lake", "name": name, "facets": {}}
    if rows is not None:
        found["outputFacets"] = {
            "outputStatistics": facet("1-0-2/OutputStatisticsOutputDatasetFacet.json", rowCount=rows)
        }
    return found


def load(
    run_id: str, day: str, reads: list[str], rows: int, sql: str, job: str = "load_orders", minutes: int = 2
) -> list[dict]:
    job_facets = {"sql": facet("1-1-0/SQLJobFacet.json", query=sql)}
    nominal = {"nominalTime": facet("1-0-1/NominalTimeRunFacet.json", nominalStartTime=f"2026-03-{day}T00:00:00Z")}
    common = {
        "job": {"namespace": "shop", "name": job, "facets": job_facets},
        "inputs": [dataset(name) for name in reads],
    }
    return [
        run_event(
            eventType="START",
            eventTime=f"2026-03-{day}T01:00:00Z",
            run={"runId": run_id, "facets": nominal},
            outputs=[dataset("orders")],
            **common,
        ),
        run_event(
            eventType="COMPLETE",
            eventTime=f"2026-03-{day}T01:{minutes:02d}:00Z",
            run={"runId": run_id, "facets": nominal},
            outputs=[dataset("orders", rows)],
            **common,
        ),
    ]


def test_a_run_compared_with_the_one_before(catalog_api):
    events = load(BEFORE, "01", ["raw_orders", "customers"], 100, "select * from raw_orders")
    events += load(AFTER, "02", ["raw_orders", "refunds"], 80, "select * from raw_orders where ok", minutes=5)
    for payload in events:
        assert catalog_api.send(payload).status_code == 201
    response = catalog_api.get(f"api/v1/jobs/runs/{AFTER}/compare", **{"with": BEFORE})
    assert response.status_code == 200, response.text
    found = response.json()
    assert found["run"]["id"] == AFTER and found["other"]["id"] == BEFORE
    assert found["run"]["durationMs"] == 5 * 60_000 and found["other"]["durationMs"] == 2 * 60_000
    ref = lambda name: {"namespace": "s3://lake", "name": name}  # noqa: E731
    assert found["inputs"] == {"added": [ref("refunds")], "removed": [ref("customers")], "kept": [ref("raw_orders")]}
    assert found["outputs"] == {"added": [], "removed": [], "kept": [ref("orders")]}
    assert found["measurements"] == [
        {
            "side": "out",
            "dataset": ref("orders"),
            "before": {"rowCount": 100, "bytes": None, "fileCount": None},
            "after": {"rowCount": 80, "bytes": None, "fileCount": None},
        }
    ]
    changed = {(f["kind"], f["name"]): f for f in found["facets"]}
    assert set(changed) == {("run", "nominalTime"), ("job", "sql")}
    assert changed[("job", "sql")]["before"]["query"] == "select * from raw_orders"
    assert changed[("job", "sql")]["after"]["query"] == "select * from raw_orders where ok"
    assert changed[("run", "nominalTime")]["after"]["nominalStartTime"] == "2026-03-02T00:00:00Z"


def test_a_run_compared_with_itself_differs_in_nothing(catalog_api):
    found = catalog_api.get(f"api/v1/jobs/runs/{BEFORE}/compare", **{"with": BEFORE}).json()
    assert found["inputs"]["added"] == found["inputs"]["removed"] == [] and found["facets"] == []
    assert [m["before"] == m["after"] for m in found["measurements"]] == [True]


def test_runs_of_two_jobs_compare_too(catalog_api):
    for payload in load(OTHER_JOB_RUN, "03", ["raw_orders"], 10, "select 1", job="load_orders_v2"):
        assert catalog_api.send(payload).status_code == 201
    found = catalog_api.get(f"api/v1/jobs/runs/{OTHER_JOB_RUN}/compare", **{"with": BEFORE}).json()
    assert (
        found["run"]["jobVersion"]["name"] == "load_orders_v2" and found["other"]["jobVersion"]["name"] == "load_orders"
    )


def test_an_unknown_run_or_a_missing_other_is_refused_with_its_reason(catalog_api):
    unknown = "0193c000-0000-7000-8000-0000000000ff"
    for path, query in (
        (f"api/v1/jobs/runs/{unknown}/compare", {"with": BEFORE}),
        (f"api/v1/jobs/runs/{BEFORE}/compare", {"with": unknown}),
    ):
        response = catalog_api.get(path, **query)
        assert response.status_code == 404 and unknown in response.json()["detail"], response.text
    missing = catalog_api.get(f"api/v1/jobs/runs/{BEFORE}/compare")
    assert missing.status_code == 422 and "with" in missing.text

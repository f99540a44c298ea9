"""The ingestion endpoint of a real `airflow api-server`, on SQLite and on PostgreSQL."""

from __future__ import annotations

import time
import uuid

import pytest
import requests
from conftest import EXAMPLES
from http_client import LINEAGE, corpus_events, fresh_event

pytestmark = pytest.mark.integration


def test_health_reports_database_and_migrations(client):
    body = requests.get(client.server.url + "ol-catalog/health", timeout=10).json()
    assert {k: body[k] for k in ("status", "database", "migrations")} == {
        "status": "healthy",
        "database": "reachable",
        "migrations": "current",
    }
    assert set(body["eventLog"]) == {"lastEventReceivedAt", "quarantinedEvents"}


def test_every_corpus_event_is_accepted_and_a_resend_stores_nothing(client, corpus):
    events = corpus_events(corpus, "corpus-" + uuid.uuid4().hex[:6])
    assert len(events) == 32
    before = client.stored()
    answers = [client.send(payload) for payload in events]
    assert [a.status_code for a in answers] == [201] * 32
    assert not any(a.json()["duplicate"] for a in answers)
    assert client.stored() == before + 32
    again = [client.send(payload) for payload in events]
    assert [a.status_code for a in again] == [201] * 32
    assert all(a.json()["duplicate"] for a in again)
    assert [a.json()["eventId"] for a in again] == [a.json()["eventId"] for a in answers]
    assert client.stored() == before + 32


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_openlineage_python_client_sends_events(client, compression):
    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.transport.http import HttpConfig, HttpTransport

    config = {"url": client.server.url, "endpoint": LINEAGE, "auth": {"type": "api_key", "apiKey": client.server.token}}
    if compression:
        config["compression"] = compression
    ol = OpenLineageClient(transport=HttpTransport(HttpConfig.from_dict(config)))
    run_id = str(uuid.uuid4())
    namespace = f"ol-client-{compression or 'plain'}"
    for state in (RunState.START, RunState.COMPLETE):
        ol.emit(
            RunEvent(
                eventType=state,
                eventTime="2025-06-01T10:00:00Z",
                run=Run(runId=run_id),
                job=Job(namespace=namespace, name="daily.load"),
                producer="https://example.com/my-script",
                inputs=[InputDataset(namespace="postgres://db:5432", name="shop.public.orders")],
                outputs=[OutputDataset(namespace="s3://bucket", name="exports/orders")],
            )
        )
    events = client.get("ol-catalog/api/v1/events/lineage", runId=run_id, sortDirection="asc").json()
    assert [e["eventType"] for e in events["events"]] == ["START", "COMPLETE"]
    assert events["events"][0]["inputs"][0]["name"] == "shop.public.orders"


def test_facets_made_by_openlineage_python_show_as_run_trees_tests_and_measurements(client):
    """The facets of the 2026 spec, made with openlineage-python's own classes and sent by its
    client: a Spark run under a task that sent nothing, naming the DAG run as its root, with its
    tests, an extraction error, the partition it read and the rows it wrote."""
    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.generated import (
        base_subset_dataset,
        extraction_error_run,
        output_statistics_output_dataset,
        parent_run,
        test_run,
    )
    from openlineage.client.transport.http import HttpConfig, HttpTransport

    config = {"url": client.server.url, "endpoint": LINEAGE, "auth": {"type": "api_key", "apiKey": client.server.token}}
    ol = OpenLineageClient(transport=HttpTransport(HttpConfig.from_dict(config)))
    namespace = "ol-facets-" + uuid.uuid4().hex[:6]
    dag_run, task_run, spark_run = (str(uuid.uuid4()) for _ in range(3))
    ol.emit(
        RunEvent(
            eventType=RunState.START,
            eventTime="2026-05-04T06:00:00Z",
            run=Run(runId=dag_run),
            job=Job(namespace=namespace, name="sales"),
            producer="https://example.com/dag",
        )
    )
    parent = parent_run.ParentRunFacet(
        run=parent_run.Run(runId=task_run),
        job=parent_run.Job(namespace=namespace, name="sales.load"),
        root=parent_run.Root(
            run=parent_run.RootRun(runId=dag_run), job=parent_run.RootJob(namespace=namespace, name="sales")
        ),
    )
    tests = test_run.TestRunFacet(
        tests=[test_run.TestExecution(name="no_orphans", status="fail", severity="warn", expected="0", actual="3")]
    )
    missed = extraction_error_run.ExtractionErrorRunFacet(
        totalTasks=2,
        failedTasks=1,
        errors=[extraction_error_run.Error(errorMessage="LogicalRDD not read", taskNumber=1)],
    )
    partition = base_subset_dataset.PartitionSubsetCondition(
        partitions=[base_subset_dataset.Partition(identifier="2026-05-04", dimensions={"day": "2026-05-04"})]
    )
    ol.emit(
        RunEvent(
            eventType=RunState.COMPLETE,
            eventTime="2026-05-04T06:10:00Z",
            run=Run(runId=spark_run, facets={"parent": parent, "test": tests, "extractionError": missed}),
            job=Job(namespace=namespace, name="load_orders"),
            producer="https://example.com/spark",
            inputs=[
                InputDataset(
                    namespace="s3://lake",
                    name="orders",
                    inputFacets={"subset": base_subset_dataset.InputSubsetInputDatasetFacet(inputCondition=partition)},
                )
            ],
            outputs=[
                OutputDataset(
                    namespace="s3://lake",
                    name=f"{namespace}/daily",
                    outputFacets={
                        "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                            rowCount=1200, size=4096
                        )
                    },
                )
            ],
        )
    )
    shown = client.get(f"ol-catalog/api/v1/jobs/runs/{spark_run}").json()
    assert (shown["root"]["runId"], shown["parent"]["runId"]) == (dag_run, task_run)
    assert [(t["name"], t["status"], t["actual"]) for t in shown["tests"]] == [("no_orphans", "fail", "3")]
    assert shown["extractionError"]["errors"][0]["errorMessage"] == "LogicalRDD not read"
    tree = client.get(f"ol-catalog/api/v1/jobs/runs/{spark_run}/tree").json()
    assert {r["runId"]: r["parentRunId"] for r in tree["runs"]} == {
        dag_run: None,
        task_run: dag_run,
        spark_run: task_run,
    }
    read = client.get("ol-catalog/api/v1/namespaces/s3%3A%2F%2Flake/datasets/orders/measurements").json()
    assert [p["subset"] for p in read["points"] if p["runId"] == spark_run] == ["2026-05-04"]
    written = client.get(
        f"ol-catalog/api/v1/namespaces/s3%3A%2F%2Flake/datasets/{namespace}%2Fdaily/measurements"
    ).json()
    assert [(p["rowCount"], p["bytes"]) for p in written["points"]] == [(1200, 4096)]


def test_cli_send_posts_a_directory_and_counts_outcomes(client, corpus, tmp_path):
    namespace = "cli-" + uuid.uuid4().hex[:6]
    args = (
        "ol-catalog",
        "send",
        str(corpus),
        "--namespace",
        namespace,
        "--url",
        client.server.url,
        "--token",
        client.server.token,
    )
    first = client.server.cli(*args).stdout.strip().splitlines()
    assert "[1/32] 01_simple_dag/events/01_dag_start.json: accepted" in first
    assert first[-1] == "32 events: 32 accepted, 0 duplicate, 0 rejected, 0 not sent"
    again = client.server.cli(*args).stdout.strip().splitlines()[-1]
    assert again == "32 events: 0 accepted, 32 duplicate, 0 rejected, 0 not sent"
    (tmp_path / "bad.json").write_text('{"eventTime": "2025-01-01T00:00:00Z"}')
    result = client.server.cli(
        "ol-catalog", "send", str(tmp_path), "--url", client.server.url, "--token", client.server.token, check=False
    )
    assert result.returncode == 1
    assert result.stdout.strip().endswith("1 events: 0 accepted, 0 duplicate, 1 rejected, 0 not sent")
    # a token the catalog refuses stops the sending at the first event, saying so
    (tmp_path / "also.json").write_text('{"eventTime": "2025-01-01T00:00:00Z"}')
    result = client.server.cli(
        "ol-catalog", "send", str(tmp_path), "--url", client.server.url, "--token", "olc_" + "x" * 40, check=False
    )
    assert result.returncode == 1 and "the catalog refused the token (401)" in result.stderr
    assert "[2/2]" not in result.stdout
    # a server that cannot be reached: not sent, not rejected
    result = client.server.cli(
        "ol-catalog", "send", str(tmp_path), "--url", "http://127.0.0.1:9", "--token", client.server.token, check=False
    )
    assert result.returncode == 1 and result.stdout.strip().endswith("0 rejected, 2 not sent")


def test_project_examples_are_all_accepted(client):
    result = client.server.cli(
        "ol-catalog",
        "send",
        str(EXAMPLES),
        "--namespace",
        "examples-" + uuid.uuid4().hex[:6],
        "--url",
        client.server.url,
        "--token",
        client.server.token,
    )
    assert " 0 rejected" in result.stdout.strip().splitlines()[-1]


def test_airflow_login_of_an_admin_may_send_and_a_viewer_may_only_read(client):
    admin, viewer = client.server.jwt("admin"), client.server.jwt("viewer")
    assert client.send(fresh_event(), token=admin).status_code == 201
    refused = client.send(fresh_event(), token=viewer)
    assert refused.status_code == 403 and "viewer" in refused.json()["detail"]
    assert client.get("ol-catalog/api/v1/events/lineage", token=viewer, limit=1).status_code == 200


def test_namespace_cli_shows_counts_and_integrations(client):
    namespace = "shown-" + uuid.uuid4().hex[:6]
    client.send(fresh_event(namespace))
    shown = client.server.cli("ol-catalog", "namespaces", "show", namespace).stdout
    assert "events:        1 (quarantined: 0)" in shown and "integrations:  AIRFLOW" in shown
    assert namespace in client.server.cli("ol-catalog", "namespaces", "list").stdout


def test_refused_requests_are_logged_for_admins_and_counted_in_stats(client):
    marker = "refusal-" + uuid.uuid4().hex[:8]
    assert client.post('{"truncated": ', path=LINEAGE + "?" + marker).status_code == 400
    batch = client.send([fresh_event(), {"eventTime": marker}], path=LINEAGE + "/batch")
    assert batch.status_code == 200
    admin = client.server.jwt("admin")
    deadline = time.monotonic() + 15
    while True:  # the log is written about once a second
        logged = client.get("ol-catalog/api/v1/admin/refusals", token=admin, limit=50).json()["refusals"]
        mine = [
            r
            for r in logged
            if r["caller"] == "token:tests" and (r["status"] == 400 or r["detail"].startswith("batch event 1: "))
        ]
        if len(mine) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert {(r["status"], r["reason"]) for r in mine} >= {(400, "unreadable body"), (422, "invalid event")}
    assert all(r["path"].startswith("/ol-catalog/api/v1/lineage") and r["remote"] == "127.0.0.1" for r in mine)
    stats = client.get("ol-catalog/api/v1/stats").json()
    assert stats["refusedByReason"]["unreadable body"] >= 1
    assert client.get("ol-catalog/api/v1/admin/refusals", token=client.server.jwt("viewer")).status_code == 403

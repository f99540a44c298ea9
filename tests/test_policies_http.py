"""Unknown-namespace policies, a separate catalog database, what tokens may do and who sees Airflow
Connections, with real Airflow processes (SQLite, SimpleAuthManager)."""

from __future__ import annotations

import json
import sqlite3
import uuid

import pytest
import requests
from http_client import LINEAGE, fresh_event
from servers import AirflowServer
from sqlalchemy import create_engine, select

from airflow_ol_catalog.store.migrate import head_revision
from airflow_ol_catalog.store.tables import job, node_view

pytestmark = pytest.mark.integration


def _server_with_policy(policy: str):
    server = AirflowServer(unknown_namespace_policy=policy)
    try:
        yield server.start()
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def quarantine_server():
    yield from _server_with_policy("quarantine")


@pytest.fixture(scope="module")
def reject_server():
    yield from _server_with_policy("reject")


def post(server: AirflowServer, payload) -> requests.Response:
    return requests.post(
        server.url + LINEAGE, json=payload, headers={"Authorization": f"Bearer {server.token}"}, timeout=30
    )


def listed_runs(server: AirflowServer, namespace: str) -> list[str]:
    response = requests.get(
        server.url + "ol-catalog/api/v1/events/lineage",
        params={"namespace": namespace},
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=30,
    )
    return [e["run"]["runId"] for e in response.json()["events"]]


def test_quarantined_event_waits_until_its_namespace_is_created_and_replayed(quarantine_server):
    namespace = "late-" + uuid.uuid4().hex[:6]
    payload = fresh_event(namespace)
    receipt = post(quarantine_server, payload).json()
    assert receipt["quarantined"] is True and receipt["duplicate"] is False
    assert post(quarantine_server, payload).json() == {**receipt, "duplicate": True}
    assert listed_runs(quarantine_server, namespace) == []
    assert namespace in quarantine_server.cli("ol-catalog", "quarantine", "list").stdout

    created = quarantine_server.cli(
        "ol-catalog", "namespaces", "create", namespace, "--description", "Late team", "--admin", "admin"
    )
    assert "1 quarantined events wait for it" in created.stdout
    replayed = quarantine_server.cli("ol-catalog", "quarantine", "replay", "--namespace", namespace).stdout
    assert f"{namespace}: 1 events replayed" in replayed
    assert listed_runs(quarantine_server, namespace) == [payload["run"]["runId"]]
    engine = create_engine(quarantine_server.catalog_url)
    try:  # the command built the replayed job's lineage view before it ended
        with engine.connect() as conn:
            views = conn.execute(
                select(node_view.c.kind)
                .join(job, job.c.id == node_view.c.entity_id)
                .where(job.c.namespace == namespace)
            ).all()
    finally:
        engine.dispose()
    assert ("JOB",) in views
    shown = quarantine_server.cli("ol-catalog", "namespaces", "show", namespace).stdout
    assert "events:        1 (quarantined: 0)" in shown and "admins:        admin" in shown


def test_registered_namespace_is_not_quarantined(quarantine_server):
    namespace = "known-" + uuid.uuid4().hex[:6]
    quarantine_server.cli("ol-catalog", "namespaces", "create", namespace)
    assert post(quarantine_server, fresh_event(namespace)).json()["quarantined"] is False


def test_deleted_namespace_quarantines_later_events_until_restored(quarantine_server):
    namespace = "gone-" + uuid.uuid4().hex[:6]
    quarantine_server.cli("ol-catalog", "namespaces", "create", namespace)
    quarantine_server.cli("ol-catalog", "namespaces", "delete", namespace)
    assert post(quarantine_server, fresh_event(namespace)).json()["quarantined"] is True
    assert namespace not in quarantine_server.cli("ol-catalog", "namespaces", "list").stdout
    quarantine_server.cli("ol-catalog", "namespaces", "restore", namespace)
    assert (
        "1 events replayed"
        in quarantine_server.cli("ol-catalog", "quarantine", "replay", "--namespace", namespace).stdout
    )


def test_reject_policy_refuses_unknown_namespace_with_422_naming_it(reject_server):
    namespace = "stranger-" + uuid.uuid4().hex[:6]
    response = post(reject_server, fresh_event(namespace))
    assert response.status_code == 422 and f"'{namespace}' is not registered" in response.json()["detail"]
    reject_server.cli("ol-catalog", "namespaces", "create", namespace)
    assert post(reject_server, fresh_event(namespace)).status_code == 201


def test_reject_policy_in_a_batch_fails_only_the_unknown_namespace(reject_server):
    reject_server.cli("ol-catalog", "namespaces", "create", "batch-known")
    response = requests.post(
        reject_server.url + LINEAGE + "/batch",
        json=[fresh_event("batch-known"), fresh_event("batch-unknown")],
        headers={"Authorization": f"Bearer {reject_server.token}"},
        timeout=30,
    )
    assert response.status_code == 200
    assert [(f["index"], f["retriable"]) for f in response.json()["failed_events"]] == [(1, False)]


def test_airflow_db_migrate_puts_the_catalog_in_its_own_database(tmp_path):
    catalog_db = tmp_path / "catalog.db"
    server = AirflowServer(extra_env={"AIRFLOW__OL_CATALOG__SQL_ALCHEMY_CONN": f"sqlite:///{catalog_db}"})
    try:
        server.cli("db", "migrate")
        with sqlite3.connect(catalog_db) as own, sqlite3.connect(server.home / "airflow.db") as airflow:
            own_tables = {row[0] for row in own.execute("select name from sqlite_master where type='table'")}
            airflow_tables = {row[0] for row in airflow.execute("select name from sqlite_master where type='table'")}
            assert {
                "ol_catalog_event",
                "ol_catalog_namespace",
                "ol_catalog_token",
                "ol_catalog_alembic_version",
            } <= own_tables
            assert not {name for name in airflow_tables if name.startswith("ol_catalog")}
            assert own.execute("select version_num from ol_catalog_alembic_version").fetchall() == [(head_revision(),)]
        token = server.create_token("own-db")
        assert token.startswith("olc_")
        with sqlite3.connect(catalog_db) as own:
            assert own.execute("select name from ol_catalog_token").fetchall() == [("own-db",)]
        server.cli("db", "migrate")  # a second run upgrades nothing and keeps the data
        with sqlite3.connect(catalog_db) as own:
            assert own.execute("select count(*) from ol_catalog_token").fetchone() == (1,)
    finally:
        server.cleanup()


def _admin(server: AirflowServer, user: str = "admin") -> dict:
    return {"Authorization": f"Bearer {server.jwt(user)}"}


def test_admin_api_manages_tokens_and_refuses_viewers_and_tokens(quarantine_server):
    url = quarantine_server.url + "ol-catalog/api/v1/admin/tokens"
    name = "ui-" + uuid.uuid4().hex[:6]
    created = requests.post(
        url, json={"name": name, "namespaces": ["a", "b"], "read": True}, headers=_admin(quarantine_server), timeout=10
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith(body["token"]["prefix"]) and body["token"]["namespaces"] == ["a", "b"]
    assert body["token"]["createdBy"] == "admin"
    again = requests.post(url, json={"name": name}, headers=_admin(quarantine_server), timeout=10)
    assert again.status_code == 409 and name in again.json()["detail"]
    listed = requests.get(url, headers=_admin(quarantine_server), timeout=10).json()["tokens"]
    assert name in {t["name"] for t in listed} and all("secret" not in t for t in listed)
    # The new token works until revoked (the token cache keeps it a few seconds at most).
    reads = quarantine_server.url + "ol-catalog/api/v1/namespaces"
    assert requests.get(reads, headers={"Authorization": f"Bearer {body['secret']}"}, timeout=10).status_code == 200
    revoked = requests.post(f"{url}/{name}/revoke", headers=_admin(quarantine_server), timeout=10)
    assert revoked.status_code == 200 and revoked.json()["revokedAt"]
    twice = requests.post(f"{url}/{name}/revoke", headers=_admin(quarantine_server), timeout=10)
    assert (twice.status_code, twice.json()) == (404, {"detail": f"active token {name!r} not found"})
    assert requests.get(url, headers=_admin(quarantine_server, "viewer"), timeout=10).status_code == 403
    assert (
        requests.get(url, headers={"Authorization": f"Bearer {quarantine_server.token}"}, timeout=10).status_code == 403
    )
    assert requests.get(url, timeout=10).status_code == 401
    empty = requests.post(url, json={"name": ""}, headers=_admin(quarantine_server), timeout=10)
    assert empty.status_code == 422 and "name" in empty.json()["detail"]


def test_admin_api_creates_namespaces_and_replays_or_discards_quarantine(quarantine_server):
    base = quarantine_server.url + "ol-catalog/api/v1/admin/"
    kept, dropped = "kept-" + uuid.uuid4().hex[:6], "dropped-" + uuid.uuid4().hex[:6]
    for namespace in (kept, dropped):
        assert post(quarantine_server, fresh_event(namespace)).json()["quarantined"] is True
    waiting = requests.get(base + "quarantine", headers=_admin(quarantine_server), timeout=10).json()
    assert {kept, dropped} <= {e["namespace"] for e in waiting["events"]}
    created = requests.post(
        base + "namespaces", json={"name": kept, "admins": ["admin"]}, headers=_admin(quarantine_server), timeout=10
    )
    assert created.status_code == 201 and created.json()["quarantinedEvents"] == 1
    changed = requests.patch(
        base + f"namespaces/{kept}",
        json={"description": "Team K", "admins": ["admin", "viewer"]},
        headers=_admin(quarantine_server),
        timeout=10,
    )
    assert changed.json()["admins"] == ["admin", "viewer"] and changed.json()["description"] == "Team K"
    unknown = requests.patch(
        base + f"namespaces/{kept}-never", json={"description": "x"}, headers=_admin(quarantine_server), timeout=10
    )
    assert (unknown.status_code, unknown.json()) == (404, {"detail": f"namespace {kept + '-never'!r} not found"})
    replayed = requests.post(
        base + "quarantine/replay", json={"namespace": kept}, headers=_admin(quarantine_server), timeout=10
    ).json()
    assert replayed == {"replayed": {kept: 1}, "total": 1}
    assert len(listed_runs(quarantine_server, kept)) == 1
    discarded = requests.post(
        base + "quarantine/discard", json={"namespace": dropped}, headers=_admin(quarantine_server), timeout=10
    )
    assert discarded.json() == {"discarded": 1}
    assert (
        requests.post(base + "quarantine/discard", json={}, headers=_admin(quarantine_server), timeout=10).status_code
        == 422
    )
    assert (
        requests.post(
            base + "namespaces", json={"name": kept}, headers=_admin(quarantine_server), timeout=10
        ).status_code
        == 409
    )


def test_admin_lists_page_and_sort_on_the_server(quarantine_server):
    base = quarantine_server.url + "ol-catalog/api/v1/admin/"
    for i in range(3):
        created = requests.post(
            base + "tokens",
            json={"name": f"sorted-{i}-{uuid.uuid4().hex[:4]}"},
            headers=_admin(quarantine_server),
            timeout=10,
        )
        assert created.status_code == 201
    newest = requests.get(
        base + "tokens",
        params={"sortBy": "createdAt", "sortDirection": "desc", "limit": 2},
        headers=_admin(quarantine_server),
        timeout=10,
    ).json()
    assert (
        len(newest["tokens"]) == 2 and newest["totalCount"] >= 4 and newest["tokens"][0]["name"].startswith("sorted-2-")
    )
    by_name = requests.get(
        base + "tokens", params={"limit": 1000}, headers=_admin(quarantine_server), timeout=10
    ).json()["tokens"]
    assert [t["name"] for t in by_name] == sorted(t["name"] for t in by_name)
    busiest = requests.get(
        base + "namespaces",
        params={"sortBy": "eventCount", "sortDirection": "desc"},
        headers=_admin(quarantine_server),
        timeout=10,
    ).json()
    counts = [n["eventCount"] for n in busiest["namespaces"]]
    assert counts == sorted(counts, reverse=True)
    for path, key in (("quarantine", "namespace"), ("refusals", "status")):
        answer = requests.get(
            base + path, params={"sortBy": key, "offset": 0, "limit": 5}, headers=_admin(quarantine_server), timeout=10
        )
        assert answer.status_code == 200, answer.text
    assert (
        requests.get(
            base + "refusals", params={"sortBy": "secret"}, headers=_admin(quarantine_server), timeout=10
        ).status_code
        == 422
    )


# --- who may do what: tokens and Airflow logins ------------------------------------------------------


def _bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture(scope="module")
def admin_token(quarantine_server) -> str:
    return quarantine_server.create_token("maintenance-" + uuid.uuid4().hex[:6], "--admin")


def test_no_token_may_hide_or_restore_namespaces_datasets_or_jobs(quarantine_server, admin_token):
    server = quarantine_server
    namespace = "kept-" + uuid.uuid4().hex[:6]
    api = server.url + "ol-catalog/api/v1/"
    assert (
        requests.post(
            api + "admin/namespaces", json={"name": namespace}, headers=_admin(server), timeout=10
        ).status_code
        == 201
    )
    payload = fresh_event(namespace, outputs=[{"namespace": "s3://bucket", "name": "kept/table"}])
    assert post(server, payload).json()["quarantined"] is False
    dataset = "namespaces/s3%3A%2F%2Fbucket/datasets/kept%2Ftable"
    targets = [f"namespaces/{namespace}", f"namespaces/{namespace}/jobs/{payload['job']['name']}", dataset]
    for target in targets:
        for method, path in (("DELETE", target), ("POST", target + "/restore")):
            answer = requests.request(method, api + path, headers=_bearer(admin_token), timeout=10)
            assert answer.status_code == 403, (method, path, answer.status_code, answer.text)
            assert "Airflow login allowed to delete assets" in answer.json()["detail"]
    reader = _bearer(server.token)
    assert requests.get(api + f"namespaces/{namespace}", headers=reader, timeout=10).status_code == 200
    assert requests.get(api + dataset, headers=reader, timeout=10).status_code == 200
    # An Airflow login allowed to delete assets may.
    assert requests.delete(api + dataset, headers=_admin(server), timeout=10).json() == {"hidden": True}
    assert requests.post(api + dataset + "/restore", headers=_admin(server), timeout=10).json() == {"hidden": False}


def test_an_admin_token_creates_only_tokens_without_admin(quarantine_server, admin_token):
    url = quarantine_server.url + "ol-catalog/api/v1/admin/tokens"
    name = "minted-" + uuid.uuid4().hex[:6]
    refused = requests.post(url, json={"name": name, "admin": True}, headers=_bearer(admin_token), timeout=10)
    assert refused.status_code == 403, refused.text
    assert "admin" in refused.json()["detail"] and "Airflow login" in refused.json()["detail"]
    names = {t["name"] for t in requests.get(url, headers=_admin(quarantine_server), timeout=10).json()["tokens"]}
    assert name not in names
    created = requests.post(url, json={"name": name, "read": True}, headers=_bearer(admin_token), timeout=10)
    assert created.status_code == 201 and created.json()["token"]["admin"] is False
    by_login = requests.post(
        url, json={"name": name + "-admin", "admin": True}, headers=_admin(quarantine_server), timeout=10
    )
    assert by_login.status_code == 201 and by_login.json()["token"]["admin"] is True


def test_an_empty_namespace_list_is_refused_naming_the_field(quarantine_server, admin_token):
    url = quarantine_server.url + "ol-catalog/api/v1/admin/tokens"
    for namespaces in ([], [""], ["ok", "  "]):
        name = "nowhere-" + uuid.uuid4().hex[:6]
        for caller in (_admin(quarantine_server), _bearer(admin_token)):
            refused = requests.post(url, json={"name": name, "namespaces": namespaces}, headers=caller, timeout=10)
            assert refused.status_code == 422, (namespaces, refused.text)
            assert refused.json()["detail"].startswith("namespaces: ")
        listed = requests.get(
            url, params={"includeRevoked": True}, headers=_admin(quarantine_server), timeout=10
        ).json()["tokens"]
        assert name not in {t["name"] for t in listed}
    assert (
        "omit"
        in requests.post(
            url, json={"name": "x", "namespaces": []}, headers=_admin(quarantine_server), timeout=10
        ).json()["detail"]
    )
    refused = requests.post(
        url,
        json={"name": "limited-admin", "namespaces": ["a"], "admin": True},
        headers=_admin(quarantine_server),
        timeout=10,
    )
    assert refused.status_code == 422 and refused.json()["detail"].startswith("namespaces: ")
    cli = quarantine_server.cli("ol-catalog", "tokens", "create", "--name", "blank-ns", "--namespace", "", check=False)
    assert cli.returncode == 1 and "namespace" in cli.stderr, cli.stdout + cli.stderr
    assert "blank-ns" not in quarantine_server.cli("ol-catalog", "tokens", "list", "--all").stdout


# --- Airflow Connections on the read API: only for users allowed to read Connections -------------


@pytest.fixture(scope="module")
def reconciled(quarantine_server):
    """A Connection with an alias in its extra, a dataset it holds, one it does not, matched."""
    server = quarantine_server
    server.cli(
        "connections",
        "add",
        "pg_secret",
        "--conn-type",
        "postgres",
        "--conn-host",
        "secret-db.internal",
        "--conn-port",
        "5432",
        "--conn-schema",
        "shop",
        "--conn-extra",
        json.dumps({"ol_catalog_aliases": ["10.1.2.3:5432"]}),
    )
    namespace = "sources-" + uuid.uuid4().hex[:6]
    api = server.url + "ol-catalog/api/v1/"
    assert (
        requests.post(
            api + "admin/namespaces", json={"name": namespace}, headers=_admin(server), timeout=10
        ).status_code
        == 201
    )
    payload = fresh_event(
        namespace,
        inputs=[{"namespace": "postgres://10.1.2.3:5432", "name": "shop.public.orders"}],
        outputs=[{"namespace": "postgres://10.9.9.9:5432", "name": "shop.public.totals"}],
    )
    assert post(server, payload).status_code == 201
    matched = requests.post(api + "admin/reconciliation/match", headers=_admin(server), timeout=30)
    assert matched.status_code == 200, matched.text
    return server


CONNECTION_SECRETS = ("pg_secret", "secret-db", "10.1.2.3")


def test_data_sources_show_connections_only_to_users_allowed_to_read_them(reconciled, admin_token):
    server = reconciled
    url = server.url + "ol-catalog/api/v1/data-sources"
    shown = requests.get(url, headers=_admin(server), timeout=10).json()
    assert shown["withheld"] is None
    pg = next(s for s in shown["dataSources"] if s["connId"] == "pg_secret")
    assert "postgres://10.1.2.3" in pg["namespaces"] and pg["database"] == "shop" and pg["datasets"] == 1
    assert any("pg_secret" in u["candidates"] for u in shown["unmatched"])
    callers = {
        "viewer": _admin(server, "viewer"),
        "read token": _bearer(server.token),
        "admin token": _bearer(admin_token),
    }
    for who, headers in callers.items():
        answer = requests.get(url, headers=headers, timeout=10)
        assert answer.status_code == 200, (who, answer.text)
        assert not [s for s in CONNECTION_SECRETS if s in answer.text], (who, answer.text)
        body = answer.json()
        assert set(body["withheld"]["fields"]) >= {
            "dataSources.connId",
            "dataSources.namespaces",
            "dataSources.database",
            "unmatched.candidates",
        }
        assert ("may not read Connections" if who == "viewer" else "catalog token") in body["withheld"]["reason"], who
        # The same answer otherwise: one row per Connection with its counts, the unmatched namespaces.
        assert [(s["scheme"], s["datasets"]) for s in body["dataSources"]] == [
            (s["scheme"], s["datasets"]) for s in shown["dataSources"]
        ]
        assert [(u["namespace"], u["status"]) for u in body["unmatched"]] == [
            (u["namespace"], u["status"]) for u in shown["unmatched"]
        ]


def test_datasets_name_their_connection_only_to_users_allowed_to_read_connections(reconciled, admin_token):
    server = reconciled
    one = server.url + "ol-catalog/api/v1/namespaces/postgres%3A%2F%2F10.1.2.3%3A5432/datasets/shop.public.orders"
    listed = server.url + "ol-catalog/api/v1/namespaces/postgres%3A%2F%2F10.9.9.9%3A5432/datasets"
    assert requests.get(one, headers=_admin(server), timeout=10).json()["dataSource"]["connId"] == "pg_secret"
    assert requests.get(listed, headers=_admin(server), timeout=10).json()["datasets"][0]["dataSource"][
        "candidates"
    ] == ["pg_secret"]
    for headers in (_admin(server, "viewer"), _bearer(server.token), _bearer(admin_token)):
        source = requests.get(one, headers=headers, timeout=10).json()["dataSource"]
        assert (
            source["status"] == "matched" and source["connId"] is None and "Connections" in source["withheld"]["reason"]
        )
        unmatched = requests.get(listed, headers=headers, timeout=10)
        assert "pg_secret" not in unmatched.text and unmatched.json()["datasets"][0]["dataSource"]["candidates"] == []
    # Lineage graphs carry datasets as their routes answer each caller, from views kept for everyone.
    graph = server.url + "ol-catalog/api/v1/lineage"
    node = {"nodeId": "dataset:postgres://10.1.2.3:5432:shop.public.orders", "depth": 2}
    for headers, shown in ((_admin(server), True), (_bearer(server.token), False), (_admin(server, "viewer"), False)):
        answer = requests.get(graph, params=node, headers=headers, timeout=10)
        data = {n["id"]: n["data"] for n in answer.json()["graph"]}[node["nodeId"]]
        assert ("pg_secret" in answer.text) is shown and (data["dataSource"]["connId"] == "pg_secret") is shown

"""Attacks on the auth side, against a real api-server: what a namespace-limited token may change
outside its namespaces, what the catalog records of a token's use, whether an empty Authorization
header lifts the forgery check off the login cookie, and what a token's name may write into the API
server's log."""

from __future__ import annotations

import time
import uuid

import pytest
import requests
from http_client import LINEAGE, fresh_event
from servers import AirflowServer

pytestmark = pytest.mark.integration

API = "ol-catalog/api/v1/"


def _parent(namespace: str, name: str) -> dict:
    return {
        "_producer": "https://example.com/attacker",
        "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/ParentRunFacet.json",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": namespace, "name": name},
    }


def _job_dependencies(upstream: str, downstream: str) -> dict:
    return {
        "_producer": "https://example.com/attacker",
        "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/JobDependenciesRunFacet.json",
        "upstream": [{"job": {"namespace": upstream, "name": "job"}, "run": {"runId": str(uuid.uuid4())}}],
        "downstream": [{"job": {"namespace": downstream, "name": "job"}}],
    }


def _namespace_names(client) -> set[str]:
    answer = client.get(API + "namespaces", limit=1000)
    assert answer.status_code == 200, answer.text
    return {n["name"] for n in answer.json()["namespaces"]}


# --- a namespace-limited token and the namespaces outside its limit ---------------------------------


@pytest.mark.parametrize("facet", ["parent", "jobDependencies"])
def test_a_namespace_limited_token_registers_no_namespace_outside_its_limit(airflow_server, client, facet):
    """README, "What a namespace-limited token may change": it sends events whose owner namespace is one
    of its namespaces, and it does not create or link jobs outside them (a parent facet naming a job
    elsewhere is not projected); registering is what an event's owner namespace, or an admin, does.
    A limited token's run naming a job of another namespace in its `parent` or `jobDependencies`
    facet registers that namespace (`registered: true`, listed among the namespaces) all the same."""
    suffix = uuid.uuid4().hex[:6]
    own, foreign, other = f"limited-{suffix}", f"victim-{suffix}", f"victim-down-{suffix}"
    token = airflow_server.create_token(f"limited-{suffix}", "--namespace", own)
    payload = fresh_event(own, eventType="COMPLETE")
    if facet == "parent":
        payload["run"]["facets"]["parent"] = _parent(foreign, "victim-job")
    else:
        payload["run"]["facets"]["jobDependencies"] = _job_dependencies(foreign, other)
    stored = client.send(payload, token=token)
    assert stored.status_code == 201, stored.text
    assert stored.json()["namespace"] == own

    # The namespace must not be registered by a token that may not send to it.
    answer = client.get(API + f"namespaces/{foreign}")
    assert answer.status_code == 404, f"{foreign} was registered by a token limited to {own}: {answer.text}"
    assert foreign not in _namespace_names(client)
    if facet == "jobDependencies":
        assert client.get(API + f"namespaces/{other}").status_code == 404


def test_an_unlimited_token_still_registers_the_parents_namespace(airflow_server, client):
    """The control for the test above: under the default `register` policy a token that may send to
    every namespace registers the namespace its parent facet names (so the parent job can be linked)."""
    suffix = uuid.uuid4().hex[:6]
    token = airflow_server.create_token(f"unlimited-{suffix}")
    payload = fresh_event(f"child-{suffix}", eventType="COMPLETE")
    payload["run"]["facets"]["parent"] = _parent(f"parent-{suffix}", "parent-job")
    assert client.send(payload, token=token).status_code == 201
    assert client.get(API + f"namespaces/parent-{suffix}").status_code == 200


# --- when a token was last used ---------------------------------------------------------------------


def _listed(client, admin_token: str) -> dict[str, dict]:
    answer = client.get(API + "admin/tokens", token=admin_token, limit=1000)
    assert answer.status_code == 200, answer.text
    return {t["name"]: t for t in answer.json()["tokens"]}


@pytest.mark.parametrize("flags", [("--read",), ("--admin",)])
def test_a_token_used_to_read_or_administer_records_when_it_was_last_used(airflow_server, client, flags):
    """README, "Namespaces and tokens": the catalog "records when each [token] was last used". A token
    that only reads (a Marquez client, the Marquez web proxy) or only administers (the maintenance
    DAGs' admin token) is used again and again and still shows `lastUsedAt: null` (and "-" in
    `tokens list`), as if it were never used: only sending an event records a use."""
    name = f"user-{flags[0].strip('-')}-{uuid.uuid4().hex[:6]}"
    token = airflow_server.create_token(name, *flags)
    lister = airflow_server.create_token(f"lister-{uuid.uuid4().hex[:6]}", "--admin")
    assert _listed(client, lister)[name]["lastUsedAt"] is None  # not used yet
    for _ in range(3):
        assert client.get(API + "namespaces", token=token).status_code == 200
    if "--admin" in flags:
        assert client.get(API + "admin/namespaces", token=token).status_code == 200
    deadline = time.monotonic() + 10  # let a deferred or batched write of the time land
    while time.monotonic() < deadline:
        if _listed(client, lister)[name]["lastUsedAt"] is not None:
            break
        time.sleep(0.5)
    assert _listed(client, lister)[name]["lastUsedAt"] is not None, f"{name} was used 3 times, never recorded"


def test_a_token_that_sends_records_when_it_was_last_used(airflow_server, client):
    """The control: a token that sends an event has its use recorded."""
    name = f"sender-{uuid.uuid4().hex[:6]}"
    token = airflow_server.create_token(name)
    lister = airflow_server.create_token(f"lister-{uuid.uuid4().hex[:6]}", "--admin")
    assert client.send(fresh_event("sender-ns"), token=token).status_code == 201
    assert _listed(client, lister)[name]["lastUsedAt"] is not None


# --- requests from browsers: an empty Authorization header beside the login cookie -----------------


def test_an_empty_authorization_header_does_not_lift_the_forgery_check_off_the_cookie(airflow_server, client):
    """README, "Requests from browsers": a POST, PUT, PATCH or DELETE signed in only by the `_token`
    cookie is refused with 403 unless it comes from the catalog's own pages (same origin, and the
    `X-OL-Catalog-Request` header); requests with an Authorization header carry no ambient credential
    and are not concerned. An Authorization header that is empty (or blank) carries no credential
    either, and the request is then signed in by the cookie alone, yet the check is skipped: from
    another origin, without the catalog's header, it creates an admin token (a blank value does
    the same)."""
    authorization = ""
    name = f"forged-{uuid.uuid4().hex[:6]}"
    forged = requests.post(
        airflow_server.url + API + "admin/tokens",
        json={"name": name, "admin": True},
        cookies={"_token": airflow_server.jwt("admin")},
        headers={"Authorization": authorization, "Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": "same-site"},
        timeout=30,
    )
    assert forged.request.headers.get("Authorization") == authorization  # sent as given
    admin = airflow_server.create_token(f"lister-{uuid.uuid4().hex[:6]}", "--admin")
    created = name in _listed(client, admin)
    assert forged.status_code in (401, 403) and not created, (forged.status_code, forged.text[:200])


def test_the_same_forged_request_without_an_authorization_header_is_refused(airflow_server, client):
    """The control: the same request with no Authorization header at all is refused (403)."""
    name = f"forged-{uuid.uuid4().hex[:6]}"
    forged = requests.post(
        airflow_server.url + API + "admin/tokens",
        json={"name": name, "admin": True},
        cookies={"_token": airflow_server.jwt("admin")},
        headers={"Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": "same-site"},
        timeout=30,
    )
    assert forged.status_code == 403, forged.text


# --- the refused-request log line -------------------------------------------------------------------


@pytest.fixture(scope="module")
def info_server():
    """A server logging at INFO, where "ingest refused ..." lines are written."""
    server = AirflowServer(extra_env={"AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO"})
    try:
        yield server.start()
    finally:
        server.cleanup()


def test_a_token_name_holding_a_line_break_or_another_invisible_character_is_refused(airflow_server):
    """A token's name is shown in lists and written into log lines: a line break in it would let it
    write a log line of its own, dated and levelled as its author chose."""
    admin = {"Authorization": f"Bearer {airflow_server.jwt('admin')}"}
    for name, code in (("forger\n2020-01-01 [info] FORGED", "000A"), ("right\u202eleft", "202E")):
        created = requests.post(
            airflow_server.url + API + "admin/tokens", json={"name": name}, headers=admin, timeout=30
        )
        assert created.status_code == 422, created.text
        assert "name" in created.text and f"U+{code}" in created.text, created.text
    refused = airflow_server.cli("ol-catalog", "tokens", "create", "--name", "tab\tbed", check=False)
    assert refused.returncode != 0 and "U+0009" in refused.stdout + refused.stderr


def test_a_token_name_cannot_forge_lines_in_the_api_servers_log(info_server):
    """Refused requests are logged one line each (`ingest refused status=... reason=...
    caller=token:NAME remote=... path=...`). A name holding a line break (a token made before names
    were checked) ended the line, and its rest made a line of its own: the caller is written escaped."""
    from sqlalchemy import create_engine, update
    from sqlalchemy.pool import NullPool

    from airflow_ol_catalog.store.tables import token

    forged = "2020-01-01T00:00:00.000000Z [info     ] FORGED-" + uuid.uuid4().hex[:6] + " everything is fine"
    secret = info_server.create_token("forger", "--namespace", "only-here")
    engine = create_engine(info_server.catalog_url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(update(token).where(token.c.name == "forger").values(name="forger\n" + forged))
    engine.dispose()
    refused = requests.post(
        info_server.url + LINEAGE,
        json=fresh_event("somewhere-else"),
        headers={"Authorization": f"Bearer {secret}"},
        timeout=30,
    )
    assert refused.status_code == 403, refused.text
    log = info_server.home / "api-server.log"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "caller=token:forger" not in log.read_text():
        time.sleep(0.2)
    lines = log.read_text().splitlines()
    assert any("ingest refused" in line and "caller=token:forger\\n2020-01-01" in line for line in lines), lines[-5:]
    assert not [line for line in lines if line.startswith(forged)], "a token name wrote a log line of its own"

"""The tag routes of a real api-server (SQLite and PostgreSQL): set and remove tags on datasets, jobs
and columns, define tags, list both kinds, and every refusal."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest
import requests
from test_tags import tagged_event

pytestmark = pytest.mark.integration

API = "ol-catalog/api/v1/"


@pytest.fixture(scope="module")
def admin(client) -> dict:
    return {"Authorization": f"Bearer {client.server.jwt('admin')}"}


@pytest.fixture
def names(client) -> dict:
    """A job and a dataset of their own (namespace and table name fresh per test), with facet tags."""
    suffix = uuid.uuid4().hex[:6]
    payload = tagged_event()
    payload["run"]["runId"] = str(uuid.uuid4())
    payload["job"]["namespace"] = ns = f"tags-{suffix}"
    payload["outputs"][0]["name"] = table = f"public.orders_{suffix}"
    assert client.send(payload).status_code == 201
    quoted_ns = "postgres%3A%2F%2Fdb%3A5432"
    return {
        "job": f"{API}namespaces/{ns}/jobs/load_orders",
        "dataset": f"{API}namespaces/{quoted_ns}/datasets/{table}",
        "ns": ns,
        "table": table,
    }


def call(client, method: str, path: str, headers: dict | None = None, **kwargs) -> requests.Response:
    return requests.request(method, client.server.url + path, headers=headers or {}, timeout=30, **kwargs)


def origins(view: dict) -> list[tuple]:
    return [(o["name"], o["origin"], o["setBy"]) for o in view["tagOrigins"]]


def test_an_editor_tags_a_dataset_and_removes_the_tag_facet_tags_stay(client, admin, names):
    assert call(client, "GET", f"{API}tags/editing", admin).json() == {"allowed": True, "reason": None}
    answer = call(client, "POST", names["dataset"] + "/tags/certified", admin)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["name"] == names["table"] and body["tags"] == ["certified", "tier:gold"]
    assert origins(body) == [("certified", "user", "admin"), ("tier:gold", "facet", None)]
    shown = client.get(names["dataset"]).json()
    assert shown["tags"] == ["certified", "tier:gold"] and shown["tagOrigins"] == body["tagOrigins"]
    removed = call(client, "DELETE", names["dataset"] + "/tags/certified", admin)
    assert removed.status_code == 200 and origins(removed.json()) == [("tier:gold", "facet", None)]
    # a facet's tag is not removed by a person: it changes only with the producer's events, and the answer says so
    refused = call(client, "DELETE", names["dataset"] + "/tags/tier:gold", admin)
    assert refused.status_code == 409 and "comes from a `tags` facet" in refused.json()["detail"], refused.text
    refused = call(client, "DELETE", names["dataset"] + "/fields/email/tags/PII", admin)
    assert refused.status_code == 409 and "column 'email'" in refused.json()["detail"], refused.text
    assert client.get(names["dataset"]).json()["tags"] == ["tier:gold"]
    # a tag nobody set is removed as Marquez removes it: the dataset, unchanged
    assert call(client, "DELETE", names["dataset"] + "/tags/never-set", admin).status_code == 200


def test_an_editor_tags_a_column_and_removes_the_tag(client, admin, names):
    answer = call(client, "POST", names["dataset"] + "/fields/id/tags/PII", admin)
    assert answer.status_code == 200, answer.text
    fields = {f["name"]: f for f in answer.json()["fields"]}
    assert fields["id"]["tags"] == ["PII"] and origins(fields["id"]) == [("PII", "user", "admin")]
    assert origins(fields["email"]) == [("PII", "facet", None)]
    removed = call(client, "DELETE", names["dataset"] + "/fields/id/tags/PII", admin).json()
    assert next(f for f in removed["fields"] if f["name"] == "id")["tags"] == []


def test_an_editor_tags_a_job_and_removes_the_tag(client, admin, names):
    answer = call(client, "POST", names["job"] + "/tags/critical", admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["tags"] == ["critical", "team:sales"]
    assert client.get(names["job"]).json()["tagOrigins"][0]["setBy"] == "admin"
    jobs = client.get(f"{API}namespaces/{names['ns']}/jobs").json()["jobs"]
    assert jobs[0]["tags"] == ["critical", "team:sales"]
    assert call(client, "DELETE", names["job"] + "/tags/critical", admin).json()["tags"] == ["team:sales"]


def test_put_defines_a_tag_and_the_list_has_both_kinds(client, admin, names):
    tag = "tier-" + uuid.uuid4().hex[:6]
    answer = call(client, "PUT", f"{API}tags/{tag}", admin, json={"description": "Curated"})
    assert answer.status_code == 200, answer.text
    assert {k: answer.json()[k] for k in ("name", "description", "createdBy")} == {
        "name": tag,
        "description": "Curated",
        "createdBy": "admin",
    }
    assert call(client, "PUT", f"{API}tags/{tag}", admin, json={"description": "Gold"}).json()["description"] == "Gold"
    listed = {t["name"]: t for t in client.get(f"{API}tags", limit=1000).json()["tags"]}
    assert listed[tag]["origins"] == ["user"] and listed[tag]["description"] == "Gold"
    assert listed["tier:gold"]["origins"][0] == "facet" and listed["tier:gold"]["usage"]["dataset"] >= 1


def test_writes_need_an_airflow_login_allowed_to_edit_assets_never_a_token(client, names):
    url = names["dataset"] + "/tags/certified"
    assert call(client, "POST", url).status_code == 401
    refused = call(client, "POST", url, {"Authorization": f"Bearer {client.server.token}"})
    assert refused.status_code == 403 and "tokens never may" in refused.json()["detail"]
    admin_token = client.server.create_token("tags-admin-" + uuid.uuid4().hex[:6], "--admin")
    assert call(client, "PUT", f"{API}tags/x", {"Authorization": f"Bearer {admin_token}"}).status_code == 403
    viewer = {"Authorization": f"Bearer {client.server.jwt('viewer')}"}
    refused = call(client, "DELETE", names["job"] + "/tags/critical", viewer)
    assert refused.status_code == 403 and "needs PUT on assets" in refused.json()["detail"]
    assert call(client, "GET", f"{API}tags", viewer).status_code == 200  # reading is for viewers too
    editing = call(client, "GET", f"{API}tags/editing", viewer).json()
    assert editing["allowed"] is False and "needs PUT on assets" in editing["reason"]
    assert client.get(f"{API}tags/editing").json()["allowed"] is False
    assert client.get(names["dataset"]).json()["tags"] == ["tier:gold"]


def test_cookie_writes_must_come_from_the_catalogs_pages(client, names):
    cookie = {"_token": client.server.jwt("admin")}
    url = client.server.url + names["dataset"] + "/tags/certified"
    forged = requests.post(url, cookies=cookie, timeout=30)
    assert forged.status_code == 403 and "X-OL-Catalog-Request" in forged.json()["detail"]
    origin = client.server.url.rstrip("/")
    own = {"Origin": origin, "Sec-Fetch-Site": "same-origin", "X-OL-Catalog-Request": "ui"}
    assert requests.post(url, cookies=cookie, headers=own, timeout=30).json()["tags"] == ["certified", "tier:gold"]


def test_unknown_dataset_job_or_field_is_404_naming_it(client, admin, names):
    answer = call(client, "POST", f"{API}namespaces/{names['ns']}/jobs/nope/tags/x", admin)
    assert answer.status_code == 404 and answer.json()["detail"] == f"job {names['ns']}:nope not found"
    answer = call(client, "POST", f"{API}namespaces/s3%3A%2F%2Fnone/datasets/nope/tags/x", admin)
    assert answer.status_code == 404 and answer.json()["detail"] == "dataset s3://none:nope not found"
    answer = call(client, "DELETE", names["dataset"] + "/fields/missing/tags/x", admin)
    assert answer.status_code == 404 and "field 'missing' not found" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("tag", "problem"),
    [
        ("x" * 256, "at most 255"),
        ("pa%E2%80%8Bii", "U+200B"),
        ("%20pii", "white space"),
        ("cafe%CC%81", "NFC"),
        ("pi%00i", "NUL"),
    ],
)
def test_bad_tag_names_are_422_saying_what_is_wrong(client, admin, names, tag, problem):
    for method, path in (("POST", names["dataset"] + f"/tags/{tag}"), ("PUT", f"{API}tags/{tag}")):
        answer = call(client, method, path, admin)
        assert answer.status_code == 422 and problem in answer.json()["detail"], answer.text


def test_names_a_tags_facet_chose_can_be_described_and_set_whatever_their_spelling(client, admin, names):
    """Producers name their tags as they like; people can still describe those and set them elsewhere."""
    chosen = [" padded ", "cafe\u0301", "zero\u200bwidth"]
    payload = tagged_event()
    payload["run"]["runId"] = str(uuid.uuid4())
    payload["outputs"][0]["facets"]["tags"]["tags"] = [{"key": name, "value": "true"} for name in chosen]
    payload["outputs"][0]["name"] = f"public.chosen_{uuid.uuid4().hex[:6]}"
    assert client.send(payload).status_code == 201
    for name in chosen:
        path = quote(name, safe="")
        answer = call(client, "PUT", f"{API}tags/{path}", admin, json={"description": f"about {name}"})
        assert answer.status_code == 200 and answer.json()["name"] == name, answer.text
        answer = call(client, "POST", names["dataset"] + f"/tags/{path}", admin)
        assert answer.status_code == 200 and name in answer.json()["tags"], answer.text
    listed = {t["name"]: t for t in client.get(f"{API}tags", limit=1000).json()["tags"]}
    assert all(listed[name]["description"] == f"about {name}" for name in chosen)
    # the same spelling nobody's facet uses is still refused
    answer = call(client, "PUT", f"{API}tags/{quote(' other ', safe='')}", admin)
    assert answer.status_code == 422 and "white space" in answer.json()["detail"], answer.text


def test_a_description_with_nul_or_too_long_is_422_naming_it(client, admin):
    for description, problem in (("a\u0000b", "NUL"), ("d" * 4001, "at most 4000")):
        answer = call(client, "PUT", f"{API}tags/doc", admin, json={"description": description})
        assert answer.status_code == 422 and "description" in answer.json()["detail"], answer.text
        assert problem in answer.json()["detail"]


def test_marquez_python_client_tags_datasets_and_fields(client, names):
    from marquez_client import MarquezClient

    marquez = MarquezClient(client.server.url + "ol-catalog", api_key=client.server.jwt("admin"))
    tag = "gold-" + uuid.uuid4().hex[:6]
    assert marquez.create_tag(tag, "Curated")["description"] == "Curated"
    tagged = marquez.tag_dataset("postgres://db:5432", names["table"], tag)
    assert tag in tagged["tags"]
    tagged = marquez.tag_dataset_field("postgres://db:5432", names["table"], "id", "PII")
    assert next(f for f in tagged["fields"] if f["name"] == "id")["tags"] == ["PII"]
    assert tag in {t["name"] for t in marquez.list_tags(limit=1000)["tags"]}

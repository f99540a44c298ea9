"""The catalog answers in Marquez's shapes: every Marquez-compatible answer of a catalog built from the
shared corpus is validated with openapi-core against marquez_api_contract.yaml, which states what
Marquez's read API answers (paths, required fields, types).

In process (tests/inprocess.py), on a catalog holding the corpus alone: the shapes are the routes'
and their models', the same on every backend (the views they answer run on both in the store's
tests), and a catalog shared with other tests would have this test read all of theirs too."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from conftest import EXAMPLES
from inprocess import InProcessCatalog
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

CONTRACT = Path(__file__).with_name("marquez_api_contract.yaml")


@pytest.fixture(scope="module")
def client(catalog_api):
    return catalog_api


class Checker:
    """Reads answers of the catalog and validates each against Marquez's shapes."""

    def __init__(self, client: InProcessCatalog):
        self.client = client
        self.contract = OpenAPI.from_dict(yaml.safe_load(CONTRACT.read_text()))
        self.checked: Counter[str] = Counter()

    def __call__(self, kind: str, path: str, **params) -> dict:
        response = self.client.get("api/v1/" + path, **params)
        assert response.status_code == 200, (path, response.text)
        request = MockRequest("http://catalog", "get", "/api/v1/" + path, args={k: str(v) for k, v in params.items()})
        answer = MockResponse(response.content, status_code=200, content_type="application/json")
        self.contract.validate_response(request, answer)  # raises, naming the field, when a shape differs
        self.checked[kind] += 1
        return response.json()


def seg(value: str) -> str:
    return quote(value, safe="")


def test_every_marquez_compatible_answer_has_marquezs_shape(client, sent):
    check = Checker(client)
    namespaces = check("namespaces", "namespaces", limit=1000)["namespaces"]
    for ns in namespaces:
        check("namespace", f"namespaces/{seg(ns['name'])}")
        for ds in check("datasets", f"namespaces/{seg(ns['name'])}/datasets", limit=1000)["datasets"]:
            base = f"namespaces/{seg(ds['namespace'])}/datasets/{seg(ds['name'])}"
            check("dataset", base)
            for version in check("dataset versions", base + "/versions")["versions"]:
                check("dataset version", f"{base}/versions/{version['version']}")
    check("all jobs", "jobs", limit=1000)
    check("jobs by last run state", "jobs", lastRunStates="FAILED", limit=1000)
    for job in check("jobs", f"namespaces/{seg(sent)}/jobs", limit=1000)["jobs"]:
        base = f"namespaces/{seg(sent)}/jobs/{seg(job['name'])}"
        check("job", base)
        for version in check("job versions", base + "/versions")["versions"]:
            check("job version", f"{base}/versions/{version['version']}")
        for run in check("runs", base + "/runs")["runs"]:
            check("run", f"jobs/runs/{seg(run['id'])}")
            check("run facets", f"jobs/runs/{seg(run['id'])}/facets", type="run")
            check("job facets of a run", f"jobs/runs/{seg(run['id'])}/facets", type="job")
    check("search", "search", q="orders")
    check("search", "search", q="orders", filter="JOB", sort="UPDATE_AT", namespace=sent)
    check("tags", "tags")
    for source in check("sources", "sources")["sources"]:
        check("source", f"sources/{seg(source['name'])}")
    check("events", "events/lineage", limit=50)
    # Nothing above is vacuous: the corpus gave every kind of answer, most of them many times.
    assert min(check.checked.values()) >= 1 and len(check.checked) == 21, check.checked
    assert check.checked["dataset version"] >= 5 and check.checked["run"] >= 16, check.checked


def test_the_contract_refuses_an_answer_missing_what_marquez_always_sends():
    contract = OpenAPI.from_dict(yaml.safe_load(CONTRACT.read_text()))
    request = MockRequest("http://catalog", "get", "/api/v1/namespaces")
    lacking = MockResponse(b'{"namespaces": [{"name": "x"}]}', status_code=200, content_type="application/json")
    with pytest.raises(Exception, match="nvalid"):
        contract.validate_response(request, lacking)


def test_events_are_run_events_as_marquez_lists_them_unless_another_kind_is_asked(client, sent):
    """Marquez lists RunEvents alone, and its web UI reads each listed event's `run`: a DatasetEvent
    in the list left its Events page blank. `kind` asks for the others, or for every kind."""

    def listed(**params) -> dict:
        response = client.get("api/v1/events/lineage", limit=1000, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def kind_of(payload: dict) -> str:
        return "run" if "run" in payload else "dataset" if "dataset" in payload else "job"

    for path in sorted((EXAMPLES / "06_dataset_and_job_events").glob("*.json")):  # a DatasetEvent, a JobEvent
        assert client.send(json.loads(path.read_text())).status_code == 201
    every = listed(kind="all")
    kinds = Counter(kind_of(e) for e in every["events"])
    assert kinds["run"] and kinds["dataset"] and kinds["job"], kinds  # the examples hold each kind
    assert every["totalCount"] == sum(kinds.values())
    for kind in ("run", "dataset", "job"):
        found = listed(kind=kind)
        assert {kind_of(e) for e in found["events"]} == {kind} and found["totalCount"] == kinds[kind]
    assert listed() == listed(kind="run")
    assert client.get(f"api/v1/events/{seg(sent)}", limit=1000).json()["events"] == listed(namespace=sent)["events"]
    assert client.get("api/v1/events/lineage", kind="runs").status_code == 422

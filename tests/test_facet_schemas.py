"""Facets checked against their published schemas (openlineage-python's generated classes): a
facet that breaks its schema is kept and reported, never refused; one the catalog shows whole is
then not used; real producers' events pass without a warning."""

from __future__ import annotations

import json
from pathlib import Path

import attr
import pytest
from http_client import fresh_event
from openlineage.client.generated import ownership_job, schema_dataset, sql_job
from openlineage.client.serde import Serde
from test_events import run_event
from test_projection import catalog, send

from airflow_ol_catalog.events import validate_event
from airflow_ol_catalog.events.facet_registry import FACETS, PLACES, facets_at

ROOT = Path(__file__).resolve().parents[1]


def test_the_registry_names_each_facet_once_per_place_with_its_schema_version():
    assert len({(f.place, f.name) for f in FACETS}) == len(FACETS)
    assert {f.place for f in FACETS} == set(PLACES)
    for spec in FACETS:
        assert attr.has(spec.schema) and spec.schema.__module__.startswith("openlineage.client.generated.")
        assert spec.version.count(".") == 2, spec


def test_the_readme_lists_every_facet_the_catalog_understands():
    readme = (ROOT / "README.md").read_text()
    missing = [f"{f.place} {f.name}" for f in FACETS if f"`{f.name}` {f.version}" not in readme]
    assert missing == [], "README's list of understood facets lacks: " + ", ".join(missing)


def test_facets_made_by_openlineage_python_pass_their_checks():
    job = {
        "sql": Serde.to_dict(sql_job.SQLJobFacet(query="select 1", dialect="postgres")),
        "ownership": Serde.to_dict(ownership_job.OwnershipJobFacet(owners=[ownership_job.Owner(name="team:data")])),
    }
    schema = schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name="id", type="BIGINT", description="key")]
    )
    payload = run_event(
        job={"namespace": "n", "name": "j", "facets": job},
        outputs=[{"namespace": "s3://b", "name": "t", "facets": {"schema": Serde.to_dict(schema)}}],
    )
    assert validate_event(payload).warnings == ()


def test_real_producers_events_pass_without_a_warning(corpus):
    checked = 0
    for path in sorted(corpus.rglob("*.json")):
        payload = json.loads(path.read_text())
        if isinstance(payload, dict) and "eventTime" in payload:
            assert validate_event(payload).warnings == (), path
            checked += 1
    assert checked > 30


def _sloppy() -> dict:
    """Ownership without a name, SQL as a number, a column described by a number, row counts as text."""
    return run_event(
        eventType="COMPLETE",
        job={
            "namespace": "sloppy",
            "name": "job",
            "facets": {"ownership": {"owners": [{"type": "MAINTAINER"}]}, "sql": {"query": 42}},
        },
        outputs=[
            {
                "namespace": "s3://b",
                "name": "t",
                "facets": {"schema": {"fields": [{"name": "id"}, {"name": "n", "description": 7}]}},
                "outputFacets": {"outputStatistics": {"rowCount": "many"}},
            }
        ],
    )


def test_a_facet_breaking_its_schema_is_kept_reported_and_not_read_when_shown_whole(catalog_engine):
    ev = validate_event(_sloppy())
    assert {(w.path, w.message) for w in ev.warnings} == {
        ("job.facets.ownership.owners[0].name", "is required (OwnershipJobFacet 1.0.1)"),
        ("job.facets.sql.query", "expected a string, got a number (SQLJobFacet 1.1.0)"),
        (
            "outputs[0].facets.schema.fields[1].description",
            "expected a string, got a number (SchemaDatasetFacet 1.2.0)",
        ),
        (
            "outputs[0].outputFacets.outputStatistics.rowCount",
            "expected an integer, got a string (OutputStatisticsOutputDatasetFacet 1.0.2)",
        ),
    }
    assert ev.unused_facets == {"job.ownership", "job.sql"}
    send(catalog_engine, [_sloppy()])
    facets = catalog(catalog_engine)["facets"]
    names = {(entity, name) for entity, _, name in facets}
    # ownership, SQL and the statistics are shown whole: not used; the schema is read field by field
    assert ("job", "ownership") not in names and ("job", "sql") not in names
    assert ("dataset", "outputStatistics") not in names and ("dataset", "schema") in names


def test_a_deleted_facet_is_no_schema_break():
    payload = run_event(job={"namespace": "n", "name": "j", "facets": {"ownership": {"_deleted": True}}})
    assert validate_event(payload).warnings == ()


@pytest.fixture(scope="module")
def client(catalog_api):
    return catalog_api


def test_the_receipt_and_the_batch_answer_carry_the_warnings(client):
    answer = client.send(_sloppy() | {"run": {"runId": "0193b000-0000-7000-8000-000000000001", "facets": {}}})
    assert answer.status_code == 201, answer.text
    assert len(answer.json()["warnings"]) == 4
    assert {"path": "job.facets.sql.query", "message": "expected a string, got a number (SQLJobFacet 1.1.0)"} in (
        answer.json()["warnings"]
    )
    batch = client.send([fresh_event("clean"), _sloppy()], path="api/v1/lineage/batch")
    assert batch.status_code == 200 and batch.json()["status"] == "success"
    assert {w["index"] for w in batch.json()["warnings"]} == {1} and len(batch.json()["warnings"]) == 4
    assert client.send(fresh_event("clean")).json()["warnings"] == []


def test_every_place_has_facets_the_catalog_reads():
    assert all(facets_at(place) for place in PLACES)


def test_the_overview_counts_broken_facets_per_producer_with_the_newest_example(client):
    before = {(w["producer"], w["facet"]): w["events"] for w in client.get("api/v1/stats").json()["facetWarnings"]}
    for n in range(3):
        sloppy = _sloppy()
        sloppy["producer"] = "https://example.com/sloppy-producer"
        sloppy["run"] = {"runId": f"0193b000-0000-7000-8000-00000000001{n}", "facets": {}}
        sloppy["eventTime"] = f"2026-01-0{n + 1}T00:00:00Z"
        assert client.send(sloppy).status_code == 201
    assert client.send(sloppy).json()["duplicate"] is True  # a duplicate is not counted again
    found = {
        w["facet"]: w
        for w in client.get("api/v1/stats", days=366).json()["facetWarnings"]
        if w["producer"] == "https://example.com/sloppy-producer"
    }
    assert set(found) == {"job.ownership", "job.sql", "dataset.schema", "output.outputStatistics"}
    assert found["job.sql"]["events"] - before.get(("https://example.com/sloppy-producer", "job.sql"), 0) == 3
    assert found["job.sql"]["lastSeenAt"] == "2026-01-03T00:00:00Z"
    assert found["job.sql"]["example"] == {
        "path": "job.facets.sql.query",
        "message": "expected a string, got a number (SQLJobFacet 1.1.0)",
    }


def test_an_array_or_object_where_the_schema_wants_a_literal_is_a_warning_not_an_error():
    entry = {"namespace": "n", "name": "t", "type": ["DATASET"], "inputs": [{"type": {"k": 1}}]}
    payload = run_event(job={"namespace": "n", "name": "j", "facets": {"lineage": {"entries": [entry]}}})
    warnings = {w.path for w in validate_event(payload).warnings}
    assert "job.facets.lineage.entries[0].type" in warnings


def test_a_condition_breaking_its_schema_is_reported_against_the_kind_it_says_it_is():
    """Subset conditions are a union told apart by `type`: a `compare` condition whose literal is a
    number (the schema wants a string) is reported at that literal, not as a `location` lacking
    its locations."""
    from airflow_ol_catalog.events.facet_checks import facet_problems
    from airflow_ol_catalog.events.facet_registry import facets_at

    compare = {"type": "compare", "comparison": "GREATER_THAN"}
    compare |= {"left": {"type": "field", "field": "amount"}, "right": {"type": "literal", "value": 10}}
    condition = {"type": "binary", "operator": "AND", "left": compare | {"right": {"type": "literal", "value": "1"}}}
    subset = {"_producer": "p", "_schemaURL": "s", "inputCondition": condition | {"right": compare}}
    found = facet_problems(facets_at("input")["subset"].schema, subset, "inputs[0].inputFacets.subset")
    assert found == [
        ("inputs[0].inputFacets.subset.inputCondition.right.right.value", "expected a string, got a number")
    ]

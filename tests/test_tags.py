"""Tags people set on datasets, jobs and columns, kept apart from tags named by `tags` facets
(storage and read views, on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from test_events import run_event
from test_projection import send

from airflow_ol_catalog.ingest.tags import TagTargetNotFound, add_tag, define_tag, remove_tag, tag_name_problem
from airflow_ol_catalog.lineage.catalog import get_dataset, get_job, list_jobs
from airflow_ol_catalog.lineage.tags import list_tags
from airflow_ol_catalog.store.engine import read_connection, write_transaction

NS = "team-t"
TABLE_NS = "postgres://db:5432"


def tagged_event() -> dict:
    """A job with a `tags` facet, writing a dataset whose `tags` facet tags it and one of its columns."""
    return run_event(
        eventType="COMPLETE",
        job={
            "namespace": NS,
            "name": "load_orders",
            "facets": {"tags": {"tags": [{"key": "team", "value": "sales", "source": "AIRFLOW"}]}},
        },
        outputs=[
            {
                "namespace": TABLE_NS,
                "name": "public.orders",
                "facets": {
                    "schema": {"fields": [{"name": "id", "type": "INT"}, {"name": "email", "type": "TEXT"}]},
                    "tags": {
                        "tags": [
                            {"key": "tier", "value": "gold", "source": "DBT"},
                            {"key": "PII", "value": "true", "source": "DBT", "field": "email"},
                        ]
                    },
                },
            }
        ],
    )


@pytest.fixture
def engine(catalog_engine):
    send(catalog_engine, [tagged_event()])
    return catalog_engine


def write(engine, work, *args):
    with write_transaction(engine) as conn:
        return work(conn, *args)


def read(engine, work, *args):
    with read_connection(engine) as conn:
        return work(conn, *args)


def origins(view: dict) -> list[tuple]:
    return [(o["name"], o["origin"], o["source"], o["setBy"]) for o in view["tagOrigins"]]


def test_facet_tags_show_on_jobs_datasets_and_columns_as_from_the_facet(engine):
    job = read(engine, get_job, NS, "load_orders")
    assert job["tags"] == ["team:sales"] and origins(job) == [("team:sales", "facet", "AIRFLOW", None)]
    ds = read(engine, get_dataset, TABLE_NS, "public.orders")
    assert ds["tags"] == ["tier:gold"] and origins(ds) == [("tier:gold", "facet", "DBT", None)]
    email = next(f for f in ds["fields"] if f["name"] == "email")
    assert email["tags"] == ["PII"] and origins(email) == [("PII", "facet", "DBT", None)]


def test_a_schema_fields_own_tags_are_facet_tags_of_the_column(catalog_engine):
    event = tagged_event()
    fields = event["outputs"][0]["facets"]["schema"]["fields"]
    fields[0]["tags"] = [{"key": "key", "value": "primary", "source": "DBT"}]
    send(catalog_engine, [event])
    ds = read(catalog_engine, get_dataset, TABLE_NS, "public.orders")
    assert ds["fields"][0]["tags"] == ["key:primary"] and origins(ds["fields"][0]) == [
        ("key:primary", "facet", "DBT", None)
    ]
    assert ds["tags"] == ["tier:gold"]


def test_user_tags_are_kept_apart_from_facet_tags_with_who_and_when(engine):
    write(engine, add_tag, "dataset", TABLE_NS, "public.orders", "tier:gold", "alice")
    write(engine, add_tag, "dataset", TABLE_NS, "public.orders", "certified", "alice")
    write(engine, add_tag, "dataset", TABLE_NS, "public.orders", "PII", "bob", "id")
    write(engine, add_tag, "job", NS, "load_orders", "critical", "carol")
    ds = read(engine, get_dataset, TABLE_NS, "public.orders")
    assert ds["tags"] == ["certified", "tier:gold"]
    assert origins(ds) == [
        ("certified", "user", None, "alice"),
        ("tier:gold", "facet", "DBT", None),
        ("tier:gold", "user", None, "alice"),
    ]
    assert all(o["setAt"].endswith("Z") for o in ds["tagOrigins"] if o["origin"] == "user")
    fields = {f["name"]: origins(f) for f in ds["fields"]}
    assert fields == {"id": [("PII", "user", None, "bob")], "email": [("PII", "facet", "DBT", None)]}
    job = read(engine, get_job, NS, "load_orders")
    assert job["tags"] == ["critical", "team:sales"]
    assert read(engine, list_jobs, NS, 10, 0)[0][0]["tags"] == ["critical", "team:sales"]


def test_removing_a_tag_removes_only_the_one_a_person_set(engine):
    write(engine, add_tag, "dataset", TABLE_NS, "public.orders", "tier:gold", "alice")
    assert write(engine, remove_tag, "dataset", TABLE_NS, "public.orders", "tier:gold") is True
    assert write(engine, remove_tag, "dataset", TABLE_NS, "public.orders", "tier:gold") is False
    ds = read(engine, get_dataset, TABLE_NS, "public.orders")
    assert origins(ds) == [("tier:gold", "facet", "DBT", None)]
    assert write(engine, remove_tag, "dataset", TABLE_NS, "public.orders", "PII", "email") is False
    assert read(engine, get_dataset, TABLE_NS, "public.orders")["fields"][1]["tags"] == ["PII"]


def test_tagging_again_keeps_who_tagged_first(engine):
    write(engine, add_tag, "job", NS, "load_orders", "critical", "carol")
    write(engine, add_tag, "job", NS, "load_orders", "critical", "dave")
    assert origins(read(engine, get_job, NS, "load_orders"))[0] == ("critical", "user", None, "carol")


def test_an_alias_name_tags_the_dataset_that_holds_it_and_unknown_targets_are_refused(engine):
    with pytest.raises(TagTargetNotFound, match="dataset postgres://db:5432:nope not found"):
        write(engine, add_tag, "dataset", TABLE_NS, "nope", "x", "alice")
    with pytest.raises(TagTargetNotFound, match="job team-t:nope not found"):
        write(engine, add_tag, "job", NS, "nope", "x", "alice")
    with pytest.raises(TagTargetNotFound, match="field 'missing' not found in the schema"):
        write(engine, add_tag, "dataset", TABLE_NS, "public.orders", "x", "alice", "missing")
    # another spelling of the namespace names the same dataset
    write(engine, add_tag, "dataset", "postgresql://DB:5432", "public.orders", "spelled", "alice")
    assert "spelled" in read(engine, get_dataset, TABLE_NS, "public.orders")["tags"]


def test_hidden_datasets_and_jobs_cannot_be_tagged(engine):
    from airflow_ol_catalog.ingest.hiding import set_dataset_hidden, set_job_hidden

    write(engine, set_dataset_hidden, TABLE_NS, "public.orders", True)
    write(engine, set_job_hidden, NS, "load_orders", True)
    with pytest.raises(TagTargetNotFound, match="dataset"):
        write(engine, add_tag, "dataset", TABLE_NS, "public.orders", "x", "alice")
    with pytest.raises(TagTargetNotFound, match="job"):
        write(engine, remove_tag, "job", NS, "load_orders", "x")


def test_tag_list_has_both_kinds_with_their_descriptions_and_usage(engine):
    write(engine, define_tag, "tier:gold", "Curated, with an owner on call", "alice")
    write(engine, add_tag, "dataset", TABLE_NS, "public.orders", "PII", "bob", "id")
    write(engine, add_tag, "job", NS, "load_orders", "critical", "carol")
    tags, total = read(engine, list_tags, 100, 0)
    found = {t["name"]: t for t in tags}
    assert total == 4 and list(found) == ["PII", "critical", "team:sales", "tier:gold"]
    assert found["tier:gold"] == {
        "name": "tier:gold",
        "description": "Curated, with an owner on call",
        "origins": ["facet", "user"],
        "usage": {"dataset": 1},
        "userUsage": {},
    }
    assert found["PII"]["origins"] == ["facet", "user"] and found["PII"]["userUsage"] == {"field": 1}
    assert found["PII"]["usage"] == {"field": 1}  # the facet tags a column, not the dataset
    assert found["team:sales"]["description"] == "from AIRFLOW" and found["team:sales"]["origins"] == ["facet"]
    assert found["critical"]["userUsage"] == {"job": 1} and found["critical"]["description"] is None
    assert [t["name"] for t in read(engine, list_tags, 2, 1)[0]] == ["critical", "team:sales"]


def test_defining_a_tag_again_changes_its_description_and_who_changed_it(engine):
    first = write(engine, define_tag, "tier:gold", "old", "alice")
    second = write(engine, define_tag, "tier:gold", "new", "bob")
    assert (second.description, second.created_by, second.updated_by) == ("new", "alice", "bob")
    assert second.created_at == first.created_at


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "must not be empty or blank"),
        ("   ", "must not be empty or blank"),
        ("x" * 256, "is 256 characters long; at most 255"),
        ("pi\x00i", "contains a NUL character"),
        ("pa\u200bii", "invisible or control character U+200B at position 2"),
        ("tab\there", "U+0009"),
        (" pii", "begins or ends with white space"),
        ("cafe\u0301", "is not in Unicode NFC"),
        ("\u0301", "begins with the combining mark U+0301"),
        ("\u0301pii", "begins with the combining mark U+0301"),
    ],
)
def test_bad_tag_names_say_what_is_wrong(name, problem):
    assert problem in tag_name_problem(name)


@pytest.mark.parametrize("name", ["PII", "tier:gold", "x" * 255, "café", "owner/team a"])
def test_good_tag_names_pass(name):
    assert tag_name_problem(name) is None

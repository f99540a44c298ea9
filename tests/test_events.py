"""Decoding and validation of OpenLineage events (pure logic, no server)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import airflow_ol_catalog.events.decode as decoding
from airflow_ol_catalog.events import BodyError, EventInvalid, decode_json, validate_event
from airflow_ol_catalog.events.canonical import canonical_json, event_digest
from airflow_ol_catalog.events.times import TimeInvalid, parse_time


def run_event(**changes) -> dict:
    event = {
        "eventTime": "2025-01-15T10:00:00.000Z",
        "eventType": "START",
        "producer": "https://github.com/apache/airflow/tree/providers-openlineage/2.1.0",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "01936f5e-8b3a-7000-8000-000000000001", "facets": {}},
        "job": {"namespace": "team-a", "name": "etl.load", "facets": {}},
        "inputs": [],
        "outputs": [],
    }
    event.update(changes)
    return event


def problems_of(payload) -> dict[str, str]:
    with pytest.raises(EventInvalid) as info:
        validate_event(payload)
    return {p.path: p.message for p in info.value.problems}


def test_run_event_is_read_with_owner_namespace_and_integration_from_producer():
    event = validate_event(run_event())
    assert (event.kind, event.event_type, event.owner_namespace, event.integration) == (
        "run",
        "START",
        "team-a",
        "AIRFLOW",
    )
    assert event.event_time == datetime(2025, 1, 15, 10, tzinfo=timezone.utc)


def test_job_type_integration_wins_over_producer():
    event = run_event()
    event["job"]["facets"]["jobType"] = {"integration": "spark", "jobType": "JOB", "processingType": "BATCH"}
    assert validate_event(event).integration == "SPARK"


def test_dataset_event_belongs_to_its_dataset_namespace():
    event = validate_event(
        {
            "eventTime": "2025-01-15T10:00:00Z",
            "producer": "p",
            "dataset": {"namespace": "postgres://db:5432", "name": "s.t"},
        }
    )
    assert (event.kind, event.owner_namespace, event.event_type) == ("dataset", "postgres://db:5432", None)


def test_job_event_has_no_run():
    event = validate_event(
        {"eventTime": "2025-01-15T10:00:00Z", "producer": "p", "job": {"namespace": "n", "name": "j"}}
    )
    assert (event.kind, event.run_id, event.owner_namespace) == ("job", None, "n")


@pytest.mark.parametrize(
    "changes, path",
    [
        ({"run": None}, "run"),  # a RunEvent's eventType and job, without its run
        ({"job": None}, "job"),  # its run, without its job
    ],
)
def test_a_run_event_missing_its_run_or_job_is_refused_naming_it_not_read_as_another_kind(changes, path):
    """A COMPLETE with a job but no `run` was stored as a JobEvent (its inputs and outputs became
    declared edges); a run with no job was no event at all. Either is a RunEvent missing a part."""
    payload = run_event(eventType="COMPLETE")
    for key in changes:
        del payload[key]
    with pytest.raises(EventInvalid) as refused:
        validate_event(payload)
    assert [p.path for p in refused.value.problems] == [path]
    assert "is required" in refused.value.problems[0].message


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2025-01-15T10:00:00Z", datetime(2025, 1, 15, 10, tzinfo=timezone.utc)),
        ("2025-01-15T10:00:00", datetime(2025, 1, 15, 10, tzinfo=timezone.utc)),  # no zone: UTC
        ("2025-01-15 12:00:00.123456789+02:00", datetime(2025, 1, 15, 10, 0, 0, 123456, tzinfo=timezone.utc)),
        ("2025-01-15T05:30-0430", datetime(2025, 1, 15, 10, 0, tzinfo=timezone.utc)),
    ],
)
def test_event_times_are_read_leniently_as_utc(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    "text, reason",
    [
        ("0001-01-01T00:00:00+14:00", "outside years 1-9999"),
        ("9999-12-31T23:59:59-14:00", "outside years 1-9999"),
        ("2025-01-15T10:00:00+99:00", "beyond ±23:59"),
        ("2025-01-15 10:00:00 +24:00", "beyond ±23:59"),
        ("2025-02-30T10:00:00Z", "not a valid ISO 8601 date-time"),
        ("2025-01-15T10:00:00Z\x00", "NUL character"),
        ("2025-01-15T10:00:00\x00garbage", "NUL character"),
        ("\uff12\uff10\uff12\uff15-01-15T10:00:00Z", "expected an ISO 8601 date-time"),  # fullwidth digits
        ("2025-01-15 1\u0660:00:00Z", "expected an ISO 8601 date-time"),  # an Arabic-Indic zero
        ("2026-12-01T00:00:00+00:00:00.5", "is not ±HH:MM"),  # CPython drops the offset's fraction
        ("2026-12-01T00:00:00+01:00:30", "is not ±HH:MM"),
    ],
)
def test_times_no_utc_instant_can_hold_are_refused_with_the_reason(text, reason):
    with pytest.raises(TimeInvalid, match=reason):
        parse_time(text)
    assert reason in problems_of(run_event(eventTime=text))["eventTime"]


def test_the_extremes_of_the_calendar_in_utc_are_event_times():
    assert parse_time("0001-01-01T00:00:00Z") == datetime(1, 1, 1, tzinfo=timezone.utc)
    assert parse_time("9999-12-31T23:59:59.999999-00:00") == datetime(
        9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc
    )


def test_event_times_past_the_latest_accepted_are_refused():
    latest = datetime(2026, 1, 2, tzinfo=timezone.utc)
    assert validate_event(run_event(eventTime="2026-01-02T00:00:00Z"), latest).event_time == latest
    with pytest.raises(EventInvalid) as info:
        validate_event(run_event(eventTime="2026-01-02T00:00:01Z"), latest)
    assert (
        info.value.problems[0].path == "eventTime" and "ahead of the server's clock" in info.value.problems[0].message
    )


@pytest.mark.parametrize("text", ["yesterday", "2025-13-01T00:00:00Z", "2025-01-15", "1736935200"])
def test_event_times_that_are_not_datetimes_are_refused(text):
    assert "ISO 8601" in problems_of(run_event(eventTime=text))["eventTime"]


def test_non_uuid_run_ids_and_unknown_spec_versions_are_accepted():
    event = run_event(schemaURL="https://openlineage.io/spec/9-9-9/OpenLineage.json")
    event["run"]["runId"] = "scheduled__2025-01-15T10:00:00+00:00"
    assert validate_event(event).run_id == "scheduled__2025-01-15T10:00:00+00:00"


def test_missing_required_fields_are_each_named():
    event = run_event()
    del event["eventTime"]
    del event["run"]["runId"]
    del event["job"]["name"]
    problems = problems_of(event)
    assert problems == {"eventTime": "is required", "run.runId": "is required", "job.name": "is required"}


def test_null_facets_are_accepted_and_string_facets_refused_with_their_path():
    event = run_event()
    event["run"]["facets"] = None
    event["job"]["facets"] = {"sql": None}
    validate_event(event)
    event["job"]["facets"] = {"sql": "SELECT 1"}
    assert problems_of(event) == {"job.facets.sql": "a facet must be an object, got string"}
    event["job"]["facets"] = "oops"
    assert "expected an object of facets" in problems_of(event)["job.facets"]


def test_dataset_problems_carry_their_index():
    event = run_event(inputs=[{"namespace": "n", "name": "ok"}, {"namespace": "n"}], outputs="x")
    assert problems_of(event) == {
        "inputs[1].name": "is required",
        "outputs": "expected an array of datasets, got string",
    }


def test_nul_in_an_identifier_is_refused_but_allowed_in_facets():
    event = run_event()
    event["job"]["facets"]["sql"] = {"query": "SELECT '\x00'"}
    validate_event(event)
    event["job"]["name"] = "bad\x00name"
    assert "NUL" in problems_of(event)["job.name"]


@pytest.mark.parametrize("name", [".", ".."])
def test_a_name_no_url_can_address_is_refused_naming_why(name):
    """Names are path segments of the read API (`/namespaces/NS/jobs/NAME`), and every HTTP client,
    browsers first, takes `.` and `..` (even written `%2E`) for the directory and its parent: such
    a job could never be read back (its page asked for the namespace instead and showed nothing)."""
    for path in ("job.name", "job.namespace", "inputs[0].name", "outputs[0].namespace"):
        event = run_event(
            inputs=[{"namespace": "s3://b", "name": "in"}], outputs=[{"namespace": "s3://b", "name": "out"}]
        )
        part, key = path.rsplit(".", 1)
        target = event[part] if "[" not in part else event[part[:-3]][0]
        target[key] = name
        assert "no URL" in problems_of(event)[path], path
    assert validate_event(run_event(job={"namespace": "team-a", "name": "..."}))  # only the dot segments
    # nor do the jobs facets name (a `jobDependencies` entry), which are skipped, as other names the catalog cannot take
    from airflow_ol_catalog.events.flows import usable_names

    assert not usable_names("team", name) and not usable_names("team", "a\x00b") and usable_names("team", "...")


def test_unknown_event_type_lists_the_allowed_ones():
    assert "START, RUNNING, COMPLETE, ABORT, FAIL, OTHER" in problems_of(run_event(eventType="DONE"))["eventType"]


def test_lowercase_event_type_is_normalised():
    assert validate_event(run_event(eventType="complete")).event_type == "COMPLETE"


@pytest.mark.parametrize(
    "payload, expected", [(None, "got null"), ("x", "got string"), ([], "/batch"), ({}, "RunEvent")]
)
def test_non_events_are_refused_at_the_root(payload, expected):
    assert expected in problems_of(payload)["$"]


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"", "empty"),
        (b'{"a": 1', "not valid JSON"),
        (b'{"a": "\xff"}', "not valid UTF-8: byte 0xff at offset 7"),
        (b'{"a": NaN}', "NaN"),
        (b'{"a": Infinity}', "Infinity"),
        (b'{"a": 1e999}', "out of range"),
        (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
        (b'{"a": ' + b"9" * 5000 + b"}", "5000 digits"),
        (b"[" * 2000 + b"]" * 2000, "nesting is deeper than the parser can read"),
    ],
)
def test_unreadable_bodies_name_the_problem(raw, expected):
    with pytest.raises(BodyError) as info:
        decode_json(raw)
    assert expected in str(info.value)


def test_depth_limit_counts_levels_not_brackets():
    wide = {"a": [[1], [2], [3]] * 300}
    assert canonical_json(wide, max_depth=5).startswith('{"a":[[1],')
    with pytest.raises(BodyError, match="deeper than the limit of 5 levels"):
        canonical_json({"a": [[[[[1]]]]]}, max_depth=5)


# Texts that JSON readers disagree on: escapes, quotes and colons where a key count could be
# fooled, look-alikes, surrogates, NUL and non-ASCII.
_awkward_text = st.text(alphabet=st.sampled_from('a:"\\{}[], \t\n/\x00\x1f\x7fé\u2028\ud800\U0001d11e'), max_size=6)
_numbers = st.sampled_from(
    [
        "0",
        "-0",
        "1",
        "-0.0",
        "1.50",
        "1e5",
        "1E-2",
        "2e-324",
        "1e-400",
        "1e400",
        "-1e400",
        "0.1",
        "1.0e+2",
        "9" * 4300,
        "9" * 4301,
        "123456789012345678901234567890",
        "NaN",
        "Infinity",
        "01",
        "1.",
    ]
)


def _string_literal(text: str, ascii_only: bool) -> str:
    return json.dumps(text, ensure_ascii=ascii_only)


_documents = st.recursive(
    _numbers | st.sampled_from(["true", "false", "null"]) | _awkward_text.map(lambda t: ("str", t)),
    lambda inner: (
        st.lists(inner, max_size=4).map(lambda items: ("list", items))
        | st.lists(st.tuples(_awkward_text | st.sampled_from(["a", "b"]), inner), max_size=4).map(
            lambda pairs: ("obj", pairs)
        )
    ),
    max_leaves=12,
)


def _written(node, space: str, ascii_only: bool) -> str:
    """A document written out as producers write JSON: its keys as given, duplicates included."""
    if isinstance(node, str):
        return node
    kind, content = node
    if kind == "str":
        return _string_literal(content, ascii_only)
    if kind == "list":
        return "[" + f",{space}".join(_written(item, space, ascii_only) for item in content) + "]"
    return (
        "{"
        + f",{space}".join(
            f"{_string_literal(key, ascii_only)}{space}:{space}{_written(value, space, ascii_only)}"
            for key, value in content
        )
        + "}"
    )


def _exactly(value):
    """A decoded value in a form whose equality tells 1 from 1.0, 0.0 from -0.0 and keys' order."""
    if isinstance(value, dict):
        return ("object", [(key, _exactly(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("array", [_exactly(item) for item in value])
    return (type(value).__name__, repr(value))


def _decoded_or_refusal(decode, raw: bytes):
    try:
        return "value", _exactly(decode(raw))
    except BodyError as exc:
        return "refused", str(exc)


@settings(max_examples=800, deadline=None)
@given(_documents, st.sampled_from(["", " ", "\n  ", "\t"]), st.booleans())
def test_the_quick_decoder_reads_every_body_as_the_strict_one_does(document, space, ascii_only):
    text = _written(document, space, ascii_only)
    for raw in {text.encode("utf-8", "surrogatepass"), text.encode("utf-8", "replace")}:
        assert _decoded_or_refusal(decode_json, raw) == _decoded_or_refusal(decoding._decoded_strictly, raw), raw


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":1,"a":2}',
        b'{"a" :1,"a":2}',  # a key followed by white space, and a duplicate
        b'{"a":":x","a":1}',  # a value that starts with a colon
        b'{"a\\":":1,"a\\":":2}',  # a key that ends with an escaped quote and a colon
        b'{"\\u0061":1,"a":2}',  # the same key written two ways
        b'[{"x":{"k":[1,{"k":2,"k":3}]}}]',
    ],
)
def test_duplicate_keys_are_refused_however_they_are_written(raw):
    with pytest.raises(BodyError, match="duplicate key"):
        decode_json(raw)


@pytest.mark.parametrize(
    "value",
    [
        {"eventType": "COMPLETE", "run": {"facets": {"x": [1, 2.5, None, True, 'a\\"b:c']}}},
        [{"a": "é\u2028\U0001d11e", "b": {"c": []}}, {"a": -0.0}],
    ],
)
def test_bodies_written_as_producers_write_them_take_the_quick_path(value):
    for raw in (
        msgspec.json.encode(value),
        json.dumps(value, ensure_ascii=False).encode(),  # json.dumps's default separators
        json.dumps(value, ensure_ascii=False, indent=2).encode(),
    ):
        assert decoding._decoded_quickly(raw) == (True, value), raw


def test_events_as_openlineage_python_sends_them_take_the_quick_path():
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
    from openlineage.client.serde import Serde

    sent = RunEvent(
        eventType=RunState.COMPLETE,
        eventTime="2026-03-02T07:03:30.000Z",
        run=Run(runId="019a0000-0000-7000-8000-000000000011"),
        job=Job(namespace="examples", name="billing.build_invoices"),
        producer="https://github.com/apache/airflow/tree/providers-openlineage/2.20.3",
    )
    raw = Serde.to_json(sent).encode()
    assert decoding._decoded_quickly(raw) == (True, json.loads(raw))


def test_utf8_bom_is_ignored():
    assert decode_json(b"\xef\xbb\xbf{}") == {}


def test_lone_surrogate_is_refused_when_canonicalised():
    value = decode_json(b'{"a": "\\ud800"}')
    with pytest.raises(BodyError, match="lone surrogate"):
        canonical_json(value, 10)


def test_canonical_form_ignores_key_order_and_white_space():
    a = decode_json(b'{"b": 1, "a": {"y": 2, "x": [1, 2]}}')
    b = decode_json(b'{"a":{"x":[1,2],"y":2},"b":1}')
    assert canonical_json(a, 10) == canonical_json(b, 10) == '{"a":{"x":[1,2],"y":2},"b":1}'
    assert event_digest(canonical_json(a, 10)) == event_digest(canonical_json(b, 10))


def test_canonical_form_keeps_nul_escaped():
    assert canonical_json({"q": "a\x00b"}, 10) == '{"q":"a\\u0000b"}'


def test_symlink_identifiers_must_name_a_dataset():
    event = run_event(
        outputs=[
            {
                "namespace": "s3://b",
                "name": "p",
                "facets": {"symlinks": {"identifiers": [{"namespace": "hive://m"}, "x"]}},
            }
        ]
    )
    assert problems_of(event) == {
        "outputs[0].facets.symlinks.identifiers[0].name": "is required",
        "outputs[0].facets.symlinks.identifiers[1]": "expected an object, got string",
    }


def _with_column_lineage(**source) -> dict:
    payload = run_event()
    payload["outputs"] = [
        {
            "namespace": "s3://out",
            "name": "t",
            "facets": {
                "columnLineage": {
                    "fields": {"a": {"inputFields": [{"namespace": "s3://in", "name": "s", "field": "b", **source}]}}
                }
            },
        }
    ]
    return payload


@pytest.mark.parametrize(
    "source, path",
    [
        (
            {"transformations": [{"type": "DIRECT" * 3}]},
            "outputs[0].facets.columnLineage.fields.a.inputFields[0].transformations[0].type",
        ),
        (
            {"transformations": [{"type": "DIRECT", "subtype": "x" * 65}]},
            "outputs[0].facets.columnLineage.fields.a.inputFields[0].transformations[0].subtype",
        ),
        (
            {"transformations": [{"type": {"nested": True}}]},
            "outputs[0].facets.columnLineage.fields.a.inputFields[0].transformations[0].type",
        ),
        ({"field": "f" * 1025}, "outputs[0].facets.columnLineage.fields.a.inputFields[0].field"),
        ({"name": "n" * 1025}, "outputs[0].facets.columnLineage.fields.a.inputFields[0].name"),
        (
            {"transformationType": "IDENTITY-TRANSFORMATION"},
            "outputs[0].facets.columnLineage.fields.a.inputFields[0].transformationType",
        ),
    ],
)
def test_column_lineage_that_would_not_fit_its_columns_is_refused_with_its_path(source, path):
    assert path in problems_of(_with_column_lineage(**source))


def test_integrations_longer_than_their_column_are_refused():
    payload = run_event()
    payload["job"]["facets"]["jobType"] = {"integration": "spark" * 13, "jobType": "JOB", "processingType": "BATCH"}
    assert "at most 64" in problems_of(payload)["job.facets.jobType.integration"]


def test_a_jobs_declared_lineage_is_checked_like_column_lineage():
    payload = run_event()
    payload["job"]["facets"]["lineage"] = {"entries": [{"namespace": "s3://out", "name": "t" * 1025, "inputs": []}]}
    assert "job.facets.lineage.entries[0].name" in problems_of(payload)


def test_length_limits_are_those_of_the_columns():
    from airflow_ol_catalog.events import validate
    from airflow_ol_catalog.store.tables import column_lineage, namespace_integration

    assert namespace_integration.c.integration.type.length == validate.MAX_INTEGRATION
    assert column_lineage.c.type.type.length == validate.MAX_TRANSFORMATION_TYPE
    assert column_lineage.c.subtype.type.length == validate.MAX_TRANSFORMATION_SUBTYPE


def test_symlinks_are_bounded_per_dataset_and_per_event():
    def output(i: int, links: int) -> dict:
        ids = [{"namespace": "s3://b", "name": f"d{i}-{k}", "type": "TABLE"} for k in range(links)]
        return {"namespace": "s3://a", "name": f"d{i}", "facets": {"symlinks": {"identifiers": ids}}}

    assert "at most 100" in problems_of(run_event(outputs=[output(0, 101)]))["outputs[0].facets.symlinks.identifiers"]
    validate_event(run_event(outputs=[output(i, 100) for i in range(10)]))
    assert (
        "more than 1000"
        in problems_of(run_event(outputs=[output(i, 100) for i in range(11)]))[
            "outputs[10].facets.symlinks.identifiers"
        ]
    )

"""Node ids: one formatter, one parser, and every node id read back from its text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_ol_catalog.events.node_ids import (
    DATASET,
    DATASET_FIELD,
    JOB,
    KINDS,
    NodeId,
    NodeIdInvalid,
    escaped_node_id,
    format_node_id,
    readings,
)

# Names and namespaces as producers send them: colons, slashes, `://`, dots, any Unicode; a name may
# start with `//` (a UNC path), and a field's name may hold colons too.
text = st.text(alphabet=st.sampled_from("ab:/.é_- 1\u200b"), max_size=12) | st.text(max_size=8)
namespaces = text | st.builds(lambda host, port: f"postgres://{host}:{port}", text, st.integers(0, 65535))
names = text | st.builds(lambda path: f"//{path}", text)
fields = text
node_ids = st.builds(NodeId, st.sampled_from((JOB, DATASET)), namespaces, names) | st.builds(
    NodeId, st.just(DATASET_FIELD), namespaces, names, fields
)


@given(node_ids)
def test_every_node_id_is_among_the_readings_of_its_text(node):
    assert node in readings(str(node))


@given(node_ids)
def test_every_reading_of_a_node_id_spells_it_the_same(node):
    text = str(node)
    assert all(str(reading) == text for reading in readings(text))


@given(node_ids)
def test_the_escaped_spelling_reads_one_way_as_its_node_and_is_no_plain_id(node):
    text = escaped_node_id(node.kind, node.namespace, node.name, node.field)
    assert readings(text) == [node] and text.startswith(f"{node.kind}%:") and text != str(node)
    rest = text.split(":", 1)[1]
    assert rest.count(":") == (1 if node.field is None else 2 + node.field.count(":"))


def test_a_text_read_too_many_ways_is_refused_unless_its_namespace_is_given():
    """A field's id with many colons can be read about their square ways, each a look-up."""
    many = "datasetField:ns:" + ":".join("x" * 3 for _ in range(40))
    with pytest.raises(NodeIdInvalid, match="can be read 780 ways"):
        readings(many)
    assert len(readings(many, namespace="ns")) == 39
    assert len(readings("dataset:" + ":".join("a" * 200))) == 199


def test_the_namespace_given_keeps_only_its_readings():
    text = "dataset:postgres://h:5432:db.t"
    assert readings(text, namespace="postgres://h:5432") == [NodeId(DATASET, "postgres://h:5432", "db.t")]
    assert readings(text, namespace="postgres://h") == [NodeId(DATASET, "postgres://h", "5432:db.t")]
    with pytest.raises(NodeIdInvalid, match="does not read as a node of namespace 'postgres://h:54'"):
        readings(text, namespace="postgres://h:54")
    # a `%` in a plain id is itself; only an id of a kind marked `%` is escaped
    assert readings("dataset:a%zz:b") == [NodeId(DATASET, "a%zz", "b")]
    assert readings("dataset:a%3Ab:c") == [NodeId(DATASET, "a%3Ab", "c")]
    assert readings("dataset%:a%3Ab:c") == [NodeId(DATASET, "a:b", "c")]
    with pytest.raises(NodeIdInvalid, match="escaped ones"):
        readings("dataset%:a:b:c")


@given(node_ids)
def test_readings_come_shortest_namespace_first_those_of_names_starting_with_slashes_last(node):
    found = readings(str(node))
    slashed = [r.name.startswith("//") for r in found]
    assert slashed == sorted(slashed)  # a namespace ends where `//` follows only in the last readings
    for group in (False, True):
        lengths = [len(r.namespace) for r, s in zip(found, slashed, strict=True) if s is group]
        assert lengths == sorted(lengths)


def test_a_name_starting_with_two_slashes_is_read_when_no_namespace_ends_elsewhere():
    """A UNC path in the `file` namespace: `dataset:file://server/share/x.csv` is the only way to
    spell it, and nothing else reads that text."""
    assert readings("dataset:file://server/share/x.csv") == [NodeId(DATASET, "file", "//server/share/x.csv")]
    found = readings("dataset:s3://bucket:key")
    assert found == [NodeId(DATASET, "s3://bucket", "key"), NodeId(DATASET, "s3", "//bucket:key")]


def test_a_namespace_with_a_scheme_and_port_is_read_whole_first():
    found = readings("dataset:postgres://db.internal:5432:sales.public.orders")
    assert found[0] == NodeId(DATASET, "postgres://db.internal", "5432:sales.public.orders")
    assert NodeId(DATASET, "postgres://db.internal:5432", "sales.public.orders") in found
    assert found[-1].namespace == "postgres"  # split inside `://` last, for a name starting with `//`
    assert all(not r.namespace.endswith("postgres") for r in found[:-1])


def test_a_field_is_what_follows_a_colon_the_last_one_first():
    assert readings("datasetField:s3://bucket:path/to:x:amount")[:3] == [
        NodeId(DATASET_FIELD, "s3://bucket", "path/to:x", "amount"),
        NodeId(DATASET_FIELD, "s3://bucket", "path/to", "x:amount"),
        NodeId(DATASET_FIELD, "s3://bucket:path/to", "x", "amount"),
    ]
    assert NodeId(DATASET_FIELD, "ns", "t", "c").dataset == NodeId(DATASET, "ns", "t")


def test_the_formatter_and_the_node_id_spell_alike():
    assert (
        format_node_id(JOB, "airflow", "dag.task") == str(NodeId(JOB, "airflow", "dag.task")) == "job:airflow:dag.task"
    )
    assert str(NodeId(DATASET_FIELD, "bigquery", "p.d.t", "c")) == "datasetField:bigquery:p.d.t:c"


@pytest.mark.parametrize(
    ("text", "kinds", "message"),
    [
        ("table:x:y", KINDS, "expected job:NAMESPACE:NAME, dataset:NAMESPACE:NAME, datasetField:NAMESPACE:NAME:FIELD"),
        ("dataset", KINDS, "got 'dataset'"),
        ("job:only-a-namespace", KINDS, "job node ids are job:NAMESPACE:NAME"),
        ("datasetField:ns:no-field", KINDS, "datasetField node ids are datasetField:NAMESPACE:NAME:FIELD"),
        ("job:ns:name", (DATASET, DATASET_FIELD), "expected dataset:NAMESPACE:NAME, datasetField:"),
    ],
)
def test_text_that_is_no_node_id_of_the_kinds_taken_says_what_is_expected(text, kinds, message):
    with pytest.raises(NodeIdInvalid, match=message.replace(".", r"\.")):
        readings(text, kinds)


def test_a_node_id_holds_a_field_exactly_when_it_is_a_field():
    with pytest.raises(NodeIdInvalid, match="needs a field"):
        NodeId(DATASET_FIELD, "ns", "t")
    with pytest.raises(NodeIdInvalid, match="has no field"):
        NodeId(JOB, "ns", "t", "c")
    with pytest.raises(NodeIdInvalid, match="kind must be one of"):
        NodeId("table", "ns", "t")

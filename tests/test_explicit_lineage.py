"""The explicit `lineage` facet (LineageFacet 1-0-0): every relation the spec lets it state, read
as the spec says (a job's `entries`, a dataset's `inputs` and `fields`, the event's own job when an
entry or input names no job), with its precedence over `columnLineage`.

Each test sends the kind of event one of the spec's examples describes, built here from the facet's
schema, and checks what the catalog then shows: edges, flows, column lineage and the graph."""

from __future__ import annotations

import json

from pydantic import TypeAdapter
from test_events import run_event
from test_projection import catalog, send

from airflow_ol_catalog.api.datamodels.graph import LineageGraph
from airflow_ol_catalog.lineage.columns import column_lineage_graph
from airflow_ol_catalog.lineage.graph import lineage
from airflow_ol_catalog.store.engine import read_connection

WH = "postgresql://warehouse:5432"
AF = "airflow://production"
FACET_URL = "https://openlineage.io/spec/facets/1-0-0/LineageFacet.json#/$defs/"
RUN_A = "0193a000-0000-7000-8000-00000000000a"
RUN_B = "0193a000-0000-7000-8000-00000000000b"


def ds(name: str, field: str | None = None, *transformations: dict) -> dict:
    item = {"namespace": WH, "name": name, "type": "DATASET"}
    if field is not None:
        item["field"] = field
    if transformations:
        item["transformations"] = list(transformations)
    return item


def jb(name: str | None = None, run_id: str | None = None, *transformations: dict) -> dict:
    item: dict = {"type": "JOB"}
    if name is not None:
        item |= {"namespace": AF, "name": name}
    if run_id is not None:
        item["runId"] = run_id
    if transformations:
        item["transformations"] = list(transformations)
    return item


def tr(kind: str, subtype: str, description: str | None = None) -> dict:
    return {"type": kind, "subtype": subtype} | ({"description": description} if description else {})


def job_facet(*entries: dict) -> dict:
    return {
        "_producer": "https://example.com/tests",
        "_schemaURL": FACET_URL + "LineageJobFacet",
        "entries": list(entries),
    }


def completed(entries: list[dict], inputs=(), outputs=(), job_name: str = "daily.own", **facets) -> dict:
    """A COMPLETE RunEvent of `job_name` whose job states `entries`."""
    return run_event(
        eventType="COMPLETE",
        eventTime="2026-03-01T06:00:00Z",
        run={"runId": RUN_A, "facets": {}},
        job={"namespace": AF, "name": job_name, "facets": {"lineage": job_facet(*entries)} | facets},
        inputs=[{"namespace": WH, "name": n} for n in inputs],
        outputs=[{"namespace": WH, "name": n} for n in outputs],
    )


def edges(engine) -> dict:
    """(job name, dataset name, direction) -> (confirmed, declared) of every edge."""
    return {(j[1], d[1], direction): (v[4], v[5]) for (j, d, direction), v in catalog(engine)["edges"].items()}


def flows(engine) -> dict:
    """(source name, its field, target name, its field) -> (transformations, source run, target run,
    declared, observed) of every stated flow."""
    return {
        (k[1][1], k[2], k[4][1], k[5]): (json.loads(v[0]), v[2], v[3], v[4], v[5])
        for k, v in catalog(engine)["flows"].items()
        if k[6] == "data"
    }


def graph_edges(engine, node_id: str, depth: int = 2) -> set[tuple[str, str]]:
    with read_connection(engine) as conn:
        nodes = lineage(conn, node_id, depth).as_list()
    return {(e["origin"], e["destination"]) for n in nodes for e in n["outEdges"]}


def transformation(kind: str, subtype: str, description: str | None = None) -> dict:
    return {"type": kind, "subtype": subtype, "description": description, "masking": False}


def test_a_dataset_facet_states_a_derivation_with_no_job(catalog_engine):
    """A DatasetEvent: a view derived from a table, one column mapped one to one."""
    view = {
        "namespace": WH,
        "name": "public.customer_keys",
        "facets": {
            "lineage": {
                "_producer": "https://example.com/tests",
                "_schemaURL": FACET_URL + "LineageDatasetFacet",
                "inputs": [ds("public.accounts")],
                "fields": {"account_ref": {"inputs": [ds("public.accounts", "id", tr("DIRECT", "IDENTITY"))]}},
            }
        },
    }
    send(
        catalog_engine,
        [{"eventTime": "2026-03-01T06:00:00Z", "producer": "https://example.com/tests", "dataset": view}],
    )
    assert flows(catalog_engine) == {
        ("public.accounts", "", "public.customer_keys", ""): ([], None, None, False, True),
        ("public.accounts", "id", "public.customer_keys", "account_ref"): (
            [transformation("DIRECT", "IDENTITY")],
            None,
            None,
            False,
            True,
        ),
    }
    assert edges(catalog_engine) == {}  # no job: the graph draws the derivation itself
    accounts, keys = f"dataset:{WH}:public.accounts", f"dataset:{WH}:public.customer_keys"
    assert graph_edges(catalog_engine, keys) == {(accounts, keys)}
    with read_connection(catalog_engine) as conn:
        columns = column_lineage_graph(conn, f"datasetField:{WH}:public.customer_keys:account_ref", 1, False)
    node = next(n for n in columns if n["data"]["field"] == "account_ref")
    assert [(i["dataset"], i["field"]) for i in node["data"]["inputFields"]] == [("public.accounts", "id")]


def test_a_job_entry_states_what_a_named_job_reads(catalog_engine):
    """dataset -> job: another job reads a column of a staging table, filtering on it."""
    entry = {"namespace": AF, "name": "daily.load", "type": "JOB"} | {
        "inputs": [ds("public.staging_orders", "order_id", tr("INDIRECT", "FILTER"))]
    }
    send(catalog_engine, [completed([entry])])
    assert edges(catalog_engine) == {("daily.load", "public.staging_orders", "in"): (True, False)}
    assert flows(catalog_engine) == {
        ("public.staging_orders", "order_id", "daily.load", ""): (
            [transformation("INDIRECT", "FILTER")],
            None,
            None,
            False,
            True,
        )
    }
    placeholder = catalog(catalog_engine)["jobs"][(AF, "daily.load")]
    assert placeholder[0] is True  # known through the flow only


def test_a_generator_states_how_its_own_job_made_a_column(catalog_engine):
    """An extract with no tracked input: `inputs: []`, and its `total` aggregated by the job itself."""
    entry = {"namespace": WH, "name": "public.extracted", "type": "DATASET", "inputs": []} | {
        "fields": {"total": {"inputs": [jb(None, None, tr("DIRECT", "AGGREGATION", "sum()"))]}}
    }
    send(catalog_engine, [completed([entry], outputs=["public.extracted"])])
    assert edges(catalog_engine) == {("daily.own", "public.extracted", "out"): (True, False)}
    assert flows(catalog_engine) == {
        ("daily.own", "", "public.extracted", "total"): (
            [transformation("DIRECT", "AGGREGATION", "sum()")],
            RUN_A,  # the event's own job, in its own run
            None,
            False,
            True,
        )
    }


def test_an_entry_naming_no_job_is_the_events_own_job_reading(catalog_engine):
    """A sink: the event's job reads transactions (filtering them) and writes nothing tracked."""
    entry = jb() | {"inputs": [ds("public.transactions", None, tr("INDIRECT", "FILTER"))]}
    send(catalog_engine, [completed([entry], inputs=["public.transactions"])])
    assert edges(catalog_engine) == {("daily.own", "public.transactions", "in"): (True, False)}
    cat = catalog(catalog_engine)
    assert {(r[0][0][1], r[1][1], r[2]) for r in cat["run_io"]} == {("daily.own", "public.transactions", "in")}
    assert flows(catalog_engine) == {
        ("public.transactions", "", "daily.own", ""): ([transformation("INDIRECT", "FILTER")], None, RUN_A, False, True)
    }


def test_a_dataset_entry_states_which_job_wrote_it_and_in_which_run(catalog_engine):
    """job -> dataset: an orchestrator says which run of an extract produced a summary."""
    entry = {"namespace": WH, "name": "public.daily_summary", "type": "DATASET", "inputs": [jb("daily.extract", RUN_B)]}
    send(catalog_engine, [completed([entry])])
    assert edges(catalog_engine) == {("daily.extract", "public.daily_summary", "out"): (True, False)}
    assert flows(catalog_engine) == {("daily.extract", "", "public.daily_summary", ""): ([], RUN_B, None, False, True)}
    extract, summary = f"job:{AF}:daily.extract", f"dataset:{WH}:public.daily_summary"
    assert graph_edges(catalog_engine, summary) == {(extract, summary)}


def test_a_job_entry_with_a_job_input_is_a_job_to_job_edge_in_the_graph(catalog_engine):
    """job -> job, bound to the runs on both ends, with no dataset between them."""
    entry = jb("daily.load", RUN_A) | {"inputs": [jb("daily.transform", RUN_B)]}
    send(catalog_engine, [completed([entry], job_name="daily.orchestrate")])
    assert edges(catalog_engine) == {}
    assert flows(catalog_engine) == {("daily.transform", "", "daily.load", ""): ([], RUN_B, RUN_A, False, True)}
    transform, load = f"job:{AF}:daily.transform", f"job:{AF}:daily.load"
    assert graph_edges(catalog_engine, load) == {(transform, load)}
    assert graph_edges(catalog_engine, transform) == {(transform, load)}
    with read_connection(catalog_engine) as conn:
        downstream = lineage(conn, transform, 1, direction="downstream").as_list()
        upstream = lineage(conn, transform, 1, direction="upstream").as_list()
    assert [n["id"] for n in downstream] == [load, transform] and [n["id"] for n in upstream] == [transform]


def test_mixed_sources_feed_one_dataset_and_one_of_its_columns(catalog_engine):
    """A dataset fed by a table and by a job, and one column fed by a column and by that job."""
    entry = {"namespace": WH, "name": "public.enriched_orders", "type": "DATASET"} | {
        "inputs": [ds("public.orders"), jb("daily.enrichment")],
        "fields": {
            "customer_segment": {
                "inputs": [
                    ds("public.orders", "customer_id"),
                    jb("daily.enrichment", None, tr("DIRECT", "TRANSFORMATION")),
                ]
            }
        },
    }
    send(catalog_engine, [completed([entry], inputs=["public.orders"], outputs=["public.enriched_orders"])])
    assert edges(catalog_engine) == {
        ("daily.own", "public.orders", "in"): (True, False),
        ("daily.own", "public.enriched_orders", "out"): (True, False),
        ("daily.enrichment", "public.enriched_orders", "out"): (True, False),
    }
    assert set(flows(catalog_engine)) == {
        ("public.orders", "", "public.enriched_orders", ""),
        ("daily.enrichment", "", "public.enriched_orders", ""),
        ("public.orders", "customer_id", "public.enriched_orders", "customer_segment"),
        ("daily.enrichment", "", "public.enriched_orders", "customer_segment"),
    }
    lineage_rows = {(k[0][1], k[1], k[2][1], k[3]) for k in catalog(catalog_engine)["column_lineage"]}
    assert lineage_rows == {
        ("public.enriched_orders", "", "public.orders", ""),
        ("public.enriched_orders", "customer_segment", "public.orders", "customer_id"),
    }


def test_a_job_event_declares_and_a_run_event_observes(catalog_engine):
    entry = {"namespace": WH, "name": "public.out", "type": "DATASET", "inputs": [ds("public.in")]}
    declared = run_event(
        eventTime="2026-03-01T05:00:00Z",
        job={"namespace": AF, "name": "daily.declared", "facets": {"lineage": job_facet(entry)}},
    )
    del declared["run"], declared["eventType"]
    send(catalog_engine, [declared, completed([entry])])
    assert edges(catalog_engine) == {
        ("daily.declared", "public.in", "in"): (False, True),
        ("daily.declared", "public.out", "out"): (False, True),
        ("daily.own", "public.in", "in"): (True, False),
        ("daily.own", "public.out", "out"): (True, False),
    }
    (values,) = flows(catalog_engine).values()
    assert values[3:] == (True, True)  # one flow, both declared and observed


def test_a_jobs_lineage_facet_takes_precedence_over_column_lineage_and_the_product(catalog_engine):
    """Reading a, b and writing c, d: the facet says a -> c only; the `columnLineage` of d is not read."""
    cll = {"fields": {"x": {"inputFields": [{"namespace": WH, "name": "public.b", "field": "x"}]}}}
    payload = completed(
        [{"namespace": WH, "name": "public.c", "type": "DATASET", "inputs": [ds("public.a")]}],
        inputs=["public.a", "public.b"],
        outputs=["public.c", "public.d"],
    )
    payload["outputs"][1]["facets"] = {"columnLineage": cll}
    send(catalog_engine, [payload])
    rows = {(k[0][1], k[1], k[2][1], k[3]) for k in catalog(catalog_engine)["column_lineage"]}
    assert rows == {("public.c", "", "public.a", "")}
    # without the job's facet, the same `columnLineage` is read
    del payload["job"]["facets"]["lineage"]
    payload["run"]["runId"] = RUN_B
    send(catalog_engine, [payload])
    rows = {(k[0][1], k[1], k[2][1], k[3]) for k in catalog(catalog_engine)["column_lineage"]}
    assert rows == {("public.c", "", "public.a", ""), ("public.d", "x", "public.b", "x")}


def test_parts_of_the_wrong_shape_are_skipped(catalog_engine):
    entries = [
        {"namespace": WH, "type": "DATASET", "inputs": [ds("public.a")]},  # no name
        {"namespace": AF, "type": "JOB", "inputs": [ds("public.a")]},  # a job with a namespace and no name
        {"namespace": WH, "name": "public.t", "type": "VIEW", "inputs": [ds("public.a")]},  # no such type
        "not an entry",
        {
            "namespace": WH,
            "name": "public.ok",
            "type": "DATASET",
            "inputs": [ds("public.a"), 7, {"type": "JOB", "name": "x"}],
        },
    ]
    send(catalog_engine, [completed(entries)])
    assert set(flows(catalog_engine)) == {("public.a", "", "public.ok", "")}


def test_the_api_lists_stated_flows_and_draws_job_to_job_edges(catalog_api):
    entry = jb("daily.load", RUN_A) | {"inputs": [jb("daily.transform", RUN_B, tr("DIRECT", "IDENTITY"))]}
    assert catalog_api.send(completed([entry], job_name="daily.orchestrate")).status_code == 201
    load, transform = f"job:{AF}:daily.load", f"job:{AF}:daily.transform"
    answer = catalog_api.get("api/v1/flows", nodeId=load)
    assert answer.status_code == 200, answer.text
    assert answer.json()["flows"] == [
        {
            "relation": "data",
            "source": {"id": transform, "type": "JOB", "namespace": AF, "name": "daily.transform", "field": None}
            | {"runId": RUN_B},
            "target": {"id": load, "type": "JOB", "namespace": AF, "name": "daily.load", "field": None}
            | {"runId": RUN_A},
            "transformations": [{"type": "DIRECT", "subtype": "IDENTITY", "description": None, "masking": False}],
            "rules": None,
            "statedBy": {"namespace": AF, "name": "daily.orchestrate"},
            "declared": False,
            "observed": True,
            "firstSeenAt": "2026-03-01T06:00:00Z",
            "lastSeenAt": "2026-03-01T06:00:00Z",
        }
    ]
    assert [f["target"]["id"] for f in catalog_api.get("api/v1/flows", nodeId=transform).json()["flows"]] == [load]
    graph = catalog_api.get("api/v1/lineage", nodeId=load, depth=1).json()["graph"]
    assert {n["id"]: n["inEdges"] for n in graph}[load] == [{"origin": transform, "destination": load}]  # no nulls
    assert catalog_api.get("api/v1/flows", nodeId=f"job:{AF}:nobody").status_code == 404
    assert catalog_api.get("api/v1/flows", nodeId="run:x").status_code == 422


def test_sending_to_another_namespace_moves_the_jobs_of_that_namespace_a_lineage_facet_names():
    from airflow_ol_catalog.cli_commands import replace_namespace

    entry = {"namespace": AF, "name": "daily.load", "type": "JOB"} | {
        "inputs": [jb("daily.transform"), {"namespace": "elsewhere", "name": "x", "type": "JOB"}, ds("public.t")],
    }
    payload = completed([entry])
    replace_namespace(payload, "mine")
    moved = payload["job"]["facets"]["lineage"]["entries"][0]
    assert (payload["job"]["namespace"], moved["namespace"]) == ("mine", "mine")
    assert [i["namespace"] for i in moved["inputs"]] == ["mine", "elsewhere", WH]


def test_impact_follows_what_a_job_states_instead_of_the_product_of_its_inputs_and_outputs(catalog_engine):
    """A bulk copy reads a and b, writes a_copy and b_copy, and says which comes from which; a view
    of a_copy is derived with no job. Another job without a statement keeps the product."""
    from airflow_ol_catalog.lineage.impact import impact

    copies = [
        {"namespace": WH, "name": "public.a_copy", "type": "DATASET", "inputs": [ds("public.a")]},
        {"namespace": WH, "name": "public.b_copy", "type": "DATASET", "inputs": [ds("public.b")]},
    ]
    view = {
        "namespace": WH,
        "name": "public.a_view",
        "facets": {"lineage": {"inputs": [ds("public.a_copy")]}},
    }
    plain = completed([], inputs=["public.b"], outputs=["public.b_report", "public.b_other"], job_name="daily.plain")
    del plain["job"]["facets"]["lineage"]
    plain["run"]["runId"] = RUN_B
    send(
        catalog_engine,
        [
            completed(copies, inputs=["public.a", "public.b"], outputs=["public.a_copy", "public.b_copy"]),
            {"eventTime": "2026-03-01T07:00:00Z", "producer": "https://example.com/tests", "dataset": view},
            plain,
        ],
    )

    def reached(name: str) -> dict[str, list[str]]:
        with read_connection(catalog_engine) as conn:
            found = impact(conn, f"dataset:{WH}:{name}")
        return {i["id"].rsplit(":", 1)[1]: i["jobs"] for i in found["impacted"]}

    own = f"job:{AF}:daily.own"
    assert reached("public.a") == {"public.a_copy": [own], "public.a_view": [own]}
    assert reached("public.b") == {
        "public.b_copy": [own],
        "public.b_other": [f"job:{AF}:daily.plain"],
        "public.b_report": [f"job:{AF}:daily.plain"],
    }
    with read_connection(catalog_engine) as conn:
        path = impact(conn, f"dataset:{WH}:public.a")["impacted"][1]["path"]
    assert path == [f"dataset:{WH}:public.a", own, f"dataset:{WH}:public.a_copy", f"dataset:{WH}:public.a_view"]


def test_a_namespace_limited_sender_states_no_flows_of_jobs_outside_its_namespaces(catalog_engine):
    from airflow_ol_catalog.events import validate_event
    from airflow_ol_catalog.ingest.event_log import Submission, store_events
    from airflow_ol_catalog.ingest.scope import Scope
    from airflow_ol_catalog.store.engine import write_transaction

    foreign = {"namespace": "other-team", "name": "their.job", "type": "JOB"}
    entries = [
        {"namespace": WH, "name": "public.out", "type": "DATASET", "inputs": [ds("public.in"), foreign]},
        jb("daily.sibling") | {"inputs": [foreign]},
    ]
    submission = Submission.of(validate_event(completed(entries)), None, 500, Scope(frozenset({AF})))
    with write_transaction(catalog_engine) as conn:
        store_events(conn, [submission], "register")
    assert set(flows(catalog_engine)) == {("public.in", "", "public.out", "")}
    assert ("other-team", "their.job") not in catalog(catalog_engine)["jobs"]


def as_its_model_writes_it(answer: dict) -> dict:
    """The lineage route writes its answer around its nodes' kept JSON: it must be what the route's
    model would write (nothing undeclared, an edge's `relation` and `via` only where set)."""
    model = TypeAdapter(LineageGraph)
    assert model.dump_python(model.validate_python(answer), exclude_unset=True) == answer
    return answer


def test_job_dependencies_are_control_edges_between_jobs_apart_from_data_flow(catalog_api):
    """An asset-triggered DAG run names the run it waited for, and one that waits for it."""
    dependencies = {
        "upstream": [
            {
                "job": {"namespace": AF, "name": "producer_dag"},
                "run": {"runId": RUN_B},
                "dependency_type": "IMPLICIT_DEPENDENCY",
                "sequence_trigger_rule": "FINISH_TO_START",
            }
        ],
        "downstream": [{"job": {"namespace": AF, "name": "reporting_dag"}}, {"job": {"name": "no namespace"}}],
        "trigger_rule": "ALL_SUCCESS",
    }
    payload = run_event(
        eventType="COMPLETE",
        eventTime="2026-03-01T08:00:00Z",
        run={"runId": RUN_A, "facets": {"jobDependencies": dependencies}},
        job={"namespace": AF, "name": "consumer_dag", "facets": {}},
    )
    assert catalog_api.send(payload).status_code == 201
    consumer, producer = f"job:{AF}:consumer_dag", f"job:{AF}:producer_dag"
    flows_of = catalog_api.get("api/v1/flows", nodeId=consumer).json()["flows"]
    assert [(f["relation"], f["source"]["id"], f["target"]["id"], f["rules"]) for f in flows_of] == [
        (
            "control",
            producer,
            consumer,
            {
                "dependency_type": "IMPLICIT_DEPENDENCY",
                "sequence_trigger_rule": "FINISH_TO_START",
                "trigger_rule": "ALL_SUCCESS",
            },
        ),
        ("control", consumer, f"job:{AF}:reporting_dag", {}),
    ]
    assert (flows_of[0]["source"]["runId"], flows_of[0]["target"]["runId"]) == (RUN_B, RUN_A)
    graph = as_its_model_writes_it(catalog_api.get("api/v1/lineage", nodeId=consumer, depth=1).json())["graph"]
    edges = {(e["origin"], e["destination"], e.get("relation")) for n in graph for e in n["outEdges"]}
    assert edges == {(producer, consumer, "control"), (consumer, f"job:{AF}:reporting_dag", "control")}


def test_a_jobs_passing_output_becomes_a_job_to_job_edge_via_it_unless_asked_for(catalog_api):
    """Spark writes a temporary dataset that the next job reads: the graph shows writer -> reader."""
    temp = {
        "namespace": WH,
        "name": "tmp.stage_1",
        "facets": {"datasetType": {"datasetType": "JOB_OUTPUT", "subType": "TEMPORARY"}},
    }
    write = completed([], job_name="spark.stage_1")
    write["outputs"] = [temp]
    del write["job"]["facets"]["lineage"]
    read = completed([], job_name="spark.stage_2", inputs=["tmp.stage_1"], outputs=["public.result"])
    del read["job"]["facets"]["lineage"]
    read["run"]["runId"] = RUN_B
    for payload in (write, read):
        assert catalog_api.send(payload).status_code == 201
    stage_1, stage_2, temp_id = f"job:{AF}:spark.stage_1", f"job:{AF}:spark.stage_2", f"dataset:{WH}:tmp.stage_1"

    def edges_from(**params) -> set:
        answer = catalog_api.get("api/v1/lineage", nodeId=stage_1, depth=4, **params).json()
        graph = as_its_model_writes_it(answer)["graph"]
        return {(e["origin"], e["destination"], e.get("via")) for n in graph for e in n["outEdges"]}

    assert edges_from() == {(stage_1, stage_2, temp_id), (stage_2, f"dataset:{WH}:public.result", None)}
    assert (stage_1, temp_id, None) in edges_from(showTemporary="true")
    around_temp = catalog_api.get("api/v1/lineage", nodeId=temp_id, depth=1).json()["graph"]
    assert temp_id in {n["id"] for n in around_temp}  # a graph that starts there keeps it


def test_dependencies_on_jobs_the_catalog_cannot_name_are_skipped(catalog_engine):
    dependencies = {
        "upstream": [
            {"job": {"namespace": AF, "name": "x" * 2000}},
            {"job": {"namespace": AF, "name": "  "}},
            {"job": {"namespace": AF, "name": "fine_dag"}},
        ]
    }
    payload = run_event(
        eventType="COMPLETE",
        run={"runId": RUN_A, "facets": {"jobDependencies": dependencies}},
        job={"namespace": AF, "name": "consumer_dag", "facets": {}},
    )
    send(catalog_engine, [payload])
    controls = [k for k in catalog(catalog_engine)["flows"] if k[6] == "control"]
    assert [(k[1][1], k[4][1]) for k in controls] == [("fine_dag", "consumer_dag")]


def test_a_quarantined_event_replayed_states_the_same_flows_as_one_that_was_not(catalog_engine):
    """Replay projects an event as when it arrived: its `lineage` facet may name jobs of other
    namespaces the policy places (they were dropped before)."""
    from airflow_ol_catalog.events import validate_event
    from airflow_ol_catalog.ingest import namespaces as registry
    from airflow_ol_catalog.ingest.event_log import Submission, store_events
    from airflow_ol_catalog.ingest.quarantine import replay_quarantined
    from airflow_ol_catalog.store.engine import write_transaction

    entry = jb("late.load", RUN_A) | {"inputs": [{"namespace": "upstream-team", "name": "feed", "type": "JOB"}]}
    submission = Submission.of(validate_event(completed([entry], job_name="late.orchestrate")), None, 500)
    with write_transaction(catalog_engine) as conn:
        store_events(conn, [submission], "quarantine")  # AF is not registered: the event waits
    assert flows(catalog_engine) == {}
    with write_transaction(catalog_engine) as conn:
        registry.create_namespace(conn, AF, "tests")
        registry.create_namespace(conn, "upstream-team", "tests")
        assert replay_quarantined(conn, AF, "quarantine")[AF] == 1
    assert set(flows(catalog_engine)) == {("feed", "", "late.load", "")}


def test_the_graph_answer_keeps_names_that_json_must_escape(catalog_api):
    """The answer is written around kept JSON: quotes, backslashes, control characters, line and
    paragraph separators, `</script>`, `/`, `%2F` and look-alike letters in names come back as sent
    (NUL is refused on the way in)."""
    odd = ['q"uote\\d', "ctrl\x01\x1f", "sep\u2028\u2029", "</script><b>", "a/b%2Fc", "\u0440\u0430yments"]
    payload = run_event(
        eventType="COMPLETE",
        eventTime="2026-03-01T09:00:00Z",
        run={"runId": RUN_A, "facets": {}},
        job={"namespace": AF, "name": odd[0], "facets": {"documentation": {"description": odd[3]}}},
        inputs=[{"namespace": WH, "name": name} for name in odd[1:3]],
        outputs=[{"namespace": WH, "name": name} for name in odd[3:]],
    )
    assert catalog_api.send(payload).status_code == 201
    for _ in range(2):  # views built, then read as kept
        answer = catalog_api.get("api/v1/lineage", nodeId=f"job:{AF}:{odd[0]}", depth=1)
        graph = as_its_model_writes_it(json.loads(answer.content))["graph"]
        names = {n["data"]["name"] for n in graph}
        assert names == set(odd)
        job = next(n["data"] for n in graph if n["type"] == "JOB")
        assert job["description"] == odd[3] and b"</script>" in answer.content  # JSON, served as JSON
        assert answer.headers["content-type"] == "application/json"

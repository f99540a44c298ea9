"""Lineage traversal: directions and depths, confirmed edges, time travel, size cap, deleted jobs."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import update
from test_projection import event, send

from airflow_ol_catalog.events.node_ids import NodeIdInvalid
from airflow_ol_catalog.events.not_found import NodeNotFound
from airflow_ol_catalog.lineage.graph import lineage
from airflow_ol_catalog.store.engine import read_connection, write_transaction
from airflow_ol_catalog.store.tables import job

PG = "postgres://db:5432"


def ds(name: str) -> dict:
    return {"namespace": PG, "name": name}


def run_of(job_name: str, run_id: str, day: int, inputs: list, outputs: list, final: str = "COMPLETE") -> list[dict]:
    events = []
    for event_type, minute in (("START", 0), (final, 5)):
        payload = event(
            event_type, f"2025-01-{day:02d}T10:{minute:02d}:00Z", run_id=run_id, inputs=inputs, outputs=outputs
        )
        payload["job"]["name"] = job_name
        events.append(payload)
    return events


@pytest.fixture
def chain(catalog_engine):
    """a -> j1 -> b -> j2 -> c, and j3 (failed) reading b and writing d."""
    send(
        catalog_engine,
        run_of("j1", "r1", 1, [ds("a")], [ds("b")])
        + run_of("j2", "r2", 3, [ds("b")], [ds("c")])
        + run_of("j3", "r3", 2, [ds("b")], [ds("d")], final="FAIL"),
    )
    return catalog_engine


def names(engine, node: str, **kwargs) -> set[str]:
    with read_connection(engine) as conn:
        graph = lineage(conn, node, **kwargs)
    return {n["data"]["name"] for n in graph.as_list()}


def test_both_directions_walk_hops_either_way(chain):
    assert names(chain, f"dataset:{PG}:b", depth=1) == {"b", "j1", "j2"}
    assert names(chain, f"dataset:{PG}:b", depth=2) == {"a", "b", "c", "j1", "j2"}


def test_upstream_and_downstream_have_their_own_depths(chain):
    assert names(chain, f"dataset:{PG}:c", depth=10, direction="upstream", up_depth=2) == {"c", "j2", "b"}
    assert names(chain, f"dataset:{PG}:a", depth=10, direction="downstream") == {"a", "j1", "b", "j2", "c"}
    assert names(chain, f"dataset:{PG}:b", depth=10, up_depth=1, down_depth=2) == {"b", "j1", "j2", "c"}


def test_failed_runs_edges_only_with_include_attempted(chain):
    assert "j3" not in names(chain, f"dataset:{PG}:b", depth=2)
    assert {"j3", "d"} <= names(chain, f"dataset:{PG}:b", depth=2, include_attempted=True)


def test_as_of_shows_the_graph_as_it_stood(chain):
    before_j2 = datetime(2025, 1, 2, 12, tzinfo=timezone.utc)
    assert names(chain, f"dataset:{PG}:a", depth=10, direction="downstream", as_of=before_j2) == {"a", "j1", "b"}


def test_graph_over_the_cap_stops_at_the_last_hop_that_fits(chain):
    with read_connection(chain) as conn:
        graph = lineage(conn, f"dataset:{PG}:a", depth=10, direction="downstream", max_nodes=4)
    assert graph.truncated and {n["data"]["name"] for n in graph.as_list()} == {"a", "j1", "b", "j2"}


def test_deleted_job_no_longer_bridges_lineage(chain):
    with write_transaction(chain) as conn:
        conn.execute(update(job).where(job.c.name == "j1").values(deleted_at=datetime.now(timezone.utc)))
    assert names(chain, f"dataset:{PG}:a", depth=10, direction="downstream") == {"a"}
    send(chain, run_of("j1", "r9", 9, [ds("a")], [ds("b")]))  # later events do not bring it back
    assert names(chain, f"dataset:{PG}:a", depth=10, direction="downstream") == {"a"}


def test_node_ids_with_colons_in_the_namespace_resolve(chain):
    assert names(chain, "dataset:postgresql://DB:b", depth=0) == {"b"}
    with read_connection(chain) as conn, pytest.raises(NodeNotFound):
        lineage(conn, f"dataset:{PG}:nope", depth=1)


def test_impact_lists_everything_downstream_with_path_and_jobs(chain):
    from airflow_ol_catalog.lineage.impact import impact

    with read_connection(chain) as conn:
        report = impact(conn, f"dataset:{PG}:a")
        attempted = impact(conn, f"dataset:{PG}:a", include_attempted=True)
    by_name = {item["id"].rsplit(":", 1)[1]: item for item in report["impacted"]}
    assert set(by_name) == {"b", "c"} and report["totalCount"] == 2
    assert by_name["c"]["depth"] == 2 and [j.rsplit(":", 1)[1] for j in by_name["c"]["jobs"]] == ["j1", "j2"]
    assert by_name["c"]["path"] == [
        f"dataset:{PG}:a",
        "job:team-a:j1",
        f"dataset:{PG}:b",
        "job:team-a:j2",
        f"dataset:{PG}:c",
    ]
    assert {item["id"].rsplit(":", 1)[1] for item in attempted["impacted"]} == {"b", "c", "d"}


def test_impact_names_owners_and_the_newest_run_of_each_job_on_the_paths(chain):
    from airflow_ol_catalog.lineage.impact import impact

    def owned(who: str) -> dict:
        return {"ownership": {"owners": [{"name": who, "type": "MAINTAINER"}]}}

    later = run_of("j2", "r4", 5, [{**ds("b"), "facets": owned("team:finance")}], [ds("c")], final="FAIL")
    later[0]["job"]["facets"].update(owned("user:jdoe"))
    send(chain, later)
    with read_connection(chain) as conn:
        report = impact(conn, f"dataset:{PG}:a", include_attempted=True)
    by_name = {item["id"].rsplit(":", 1)[1]: item for item in report["impacted"]}
    assert by_name["b"]["owners"] == [{"name": "team:finance", "type": "MAINTAINER"}]
    assert (by_name["b"]["namespace"], by_name["b"]["name"], by_name["b"]["field"]) == (PG, "b", None)
    assert by_name["c"]["owners"] == [] and by_name["d"]["owners"] == []
    assert set(report["jobs"]) == {"job:team-a:j1", "job:team-a:j2", "job:team-a:j3"}
    j1, j2, j3 = (report["jobs"][f"job:team-a:{name}"] for name in ("j1", "j2", "j3"))
    assert j1 == {
        "namespace": "team-a",
        "name": "j1",
        "owners": [],
        "latestRun": {
            "runId": "r1",
            "state": "COMPLETED",
            "startedAt": "2025-01-01T10:00:00Z",
            "endedAt": "2025-01-01T10:05:00Z",
        },
    }
    assert j2["owners"] == [{"name": "user:jdoe", "type": "MAINTAINER"}]
    assert (j2["latestRun"]["runId"], j2["latestRun"]["state"]) == ("r4", "FAILED")  # the newest of its two runs
    assert j3["latestRun"]["state"] == "FAILED"


def test_impact_of_a_random_graph_matches_a_plain_breadth_first_walk(catalog_engine):
    """Every dataset downstream, at its shortest distance, through a real chain of edges; twice the same."""
    import random
    from collections import deque

    from airflow_ol_catalog.lineage.impact import impact

    rng = random.Random(5)
    reads: dict[str, set[str]] = {}
    writes: dict[str, set[str]] = {}
    payloads = []
    for number in range(60):  # datasets t00..t39, each job reads earlier tables than it writes: a DAG
        cut = rng.randint(1, 38)
        reads[f"j{number}"] = {f"t{i:02d}" for i in rng.sample(range(cut), min(3, cut))}
        writes[f"j{number}"] = {f"t{i:02d}" for i in rng.sample(range(cut, 40), 2)}
        payloads += run_of(
            f"j{number}",
            f"r{number}",
            1,
            [ds(n) for n in sorted(reads[f"j{number}"])],
            [ds(n) for n in sorted(writes[f"j{number}"])],
        )
    send(catalog_engine, payloads, one_by_one=False)
    start = min(reads["j0"])
    distance = {start: 0}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        for job_name, inputs in reads.items():
            for target in writes[job_name] if current in inputs else ():
                if target not in distance:
                    distance[target] = distance[current] + 1
                    queue.append(target)
    with read_connection(catalog_engine) as conn:
        report = impact(conn, f"dataset:{PG}:{start}")
        again = impact(conn, f"dataset:{PG}:{start}")
    assert report == again
    found = {item["id"].rsplit(":", 1)[1]: item for item in report["impacted"]}
    assert {name: item["depth"] for name, item in found.items()} == {n: d for n, d in distance.items() if n != start}
    for name, item in found.items():
        path = [step.rsplit(":", 1)[1] for step in item["path"]]
        assert len(path) == 2 * item["depth"] + 1 and path[0] == start and path[-1] == name
        for source, job_name, target in zip(path[0::2], path[1::2], path[2::2], strict=False):
            assert source in reads[job_name] and target in writes[job_name]
        assert [j.rsplit(":", 1)[1] for j in item["jobs"]] == path[1::2]
        assert (item["previous"], item["via"]) == (item["path"][-3], item["path"][-2])
    assert report["pathsOmitted"] is False


def _followed(report: dict, item: dict) -> list[str]:
    """An impacted node's path, followed back through `previous` and `via` to the start."""
    by_id = {i["id"]: i for i in report["impacted"]}
    path = [item["id"]]
    while item["id"] != report["nodeId"]:
        path[:0] = [item["previous"]] if item["via"] is None else [item["previous"], item["via"]]
        item = by_id.get(item["previous"], {"id": item["previous"]})
    return path


def test_paths_too_long_together_are_left_out_and_followed_through_previous(catalog_engine, monkeypatch):
    """A chain's paths grow with the square of its length (3,000 datasets: 325 MB of paths): over
    MAX_PATH_IDS ids together they are left out, and each node still names the one before it and the
    job between, which lead back to the start by the same path; the field impact alike."""
    from airflow_ol_catalog.lineage import impact as module

    length = 12
    payloads = []
    for number in range(length):
        column = {"c": {"inputFields": [{"namespace": PG, "name": f"t{number:02d}", "field": "c"}]}}
        output = {**ds(f"t{number + 1:02d}"), "facets": {"columnLineage": {"fields": column}}}
        payloads += run_of(f"j{number:02d}", f"r{number}", 1, [ds(f"t{number:02d}")], [output])
    send(catalog_engine, payloads, one_by_one=False)
    # The paths together: the start and a node and a job a hop (a column's path has no jobs, its `jobs`
    # has), of 1 to 12 hops.
    hops = length * (length + 1) // 2
    for start, held in ((f"dataset:{PG}:t00", length + 3 * hops), (f"datasetField:{PG}:t00:c", length + 2 * hops)):
        with read_connection(catalog_engine) as conn:
            monkeypatch.setattr(module, "MAX_PATH_IDS", held)
            full = module.impact(conn, start)
            monkeypatch.setattr(module, "MAX_PATH_IDS", held - 1)
            short = module.impact(conn, start)
        assert full["totalCount"] == short["totalCount"] == length and len(full["jobs"]) == length
        assert not full["pathsOmitted"] and full["impacted"][-1]["depth"] == length
        assert short["pathsOmitted"] and all(i["path"] == i["jobs"] == [] for i in short["impacted"])
        assert short["jobs"] == full["jobs"]
        for before, after in zip(full["impacted"], short["impacted"], strict=True):
            assert {k: v for k, v in after.items() if k not in ("path", "jobs")} == {
                k: v for k, v in before.items() if k not in ("path", "jobs")
            }
            followed = _followed(short, after)
            if after["field"] is None:
                assert followed == before["path"] and followed[1::2] == before["jobs"]
            else:  # a column's path holds columns alone
                assert followed[0::2] == before["path"] and followed[1::2] == before["jobs"]


def test_impact_spells_two_datasets_of_one_plain_id_apart(catalog_engine, monkeypatch):
    """Dataset `z` of namespace `x:y` and dataset `y:z` of namespace `x` are both `dataset:x:y:z`
    plainly: in one answer the second met is spelled escaped, as a lineage graph spells it, so each
    `previous` names one dataset and leads back to the start by the path the answer gives whole."""
    from airflow_ol_catalog.lineage import impact as module

    def at(namespace: str, name: str) -> dict:
        return {"namespace": namespace, "name": name}

    send(
        catalog_engine,
        run_of("j1", "r1", 1, [at("x", "s")], [at("x:y", "z")])
        + run_of("j2", "r2", 2, [at("x:y", "z")], [at("x", "y:z")])
        + run_of("j3", "r3", 3, [at("x", "y:z")], [at("x", "end")]),
    )
    with read_connection(catalog_engine) as conn:
        whole = module.impact(conn, "dataset:x:s", namespace="x")
        monkeypatch.setattr(module, "MAX_PATH_IDS", 0)
        short = module.impact(conn, "dataset:x:s", namespace="x")
    found = [(i["namespace"], i["name"], i["id"]) for i in whole["impacted"]]
    assert found == [("x:y", "z", "dataset:x:y:z"), ("x", "y:z", "dataset%:x:y%3Az"), ("x", "end", "dataset:x:end")]
    assert len({i["id"] for i in whole["impacted"]} | {whole["nodeId"]}) == 4
    assert short["pathsOmitted"]
    for item, full in zip(short["impacted"], whole["impacted"], strict=True):
        assert item["previous"] != item["id"] and _followed(short, item) == full["path"]


def test_impact_of_a_job_is_refused(chain):
    from airflow_ol_catalog.lineage.impact import impact

    with read_connection(chain) as conn, pytest.raises(NodeIdInvalid, match="expected dataset:NAMESPACE:NAME"):
        impact(conn, "job:team-a:j1")


def test_with_children_starts_from_a_dag_and_every_job_below_it(catalog_engine):
    task = run_of("dag.extract", "t1", 1, [ds("src")], [ds("staged")])
    spark = run_of("dag.extract.spark_job", "s1", 1, [ds("staged")], [ds("final")])
    for payload in task:
        payload["run"]["facets"]["parent"] = {"run": {"runId": "d1"}, "job": {"namespace": "team-a", "name": "dag"}}
    for payload in spark:
        payload["run"]["facets"]["parent"] = {
            "run": {"runId": "t1"},
            "job": {"namespace": "team-a", "name": "dag.extract"},
        }
        payload["job"]["facets"]["jobType"] = {"integration": "spark", "jobType": "JOB", "processingType": "BATCH"}
    send(catalog_engine, task + spark)
    assert names(catalog_engine, "job:team-a:dag", depth=1) == {"dag"}
    with read_connection(catalog_engine) as conn:
        graph = {n["id"]: n for n in lineage(conn, "job:team-a:dag", depth=1, with_children=True).as_list()}
    assert {n["data"]["name"] for n in graph.values()} == {
        "dag",
        "dag.extract",
        "dag.extract.spark_job",
        "src",
        "staged",
        "final",
    }
    spark_node = graph["job:team-a:dag.extract.spark_job"]["data"]
    assert spark_node["parentJob"] == {"namespace": "team-a", "name": "dag.extract"}
    assert spark_node["integration"] == "spark"
    assert graph["job:team-a:dag.extract"]["data"]["parentJob"] == {"namespace": "team-a", "name": "dag"}


def test_node_data_is_the_job_or_dataset_as_their_routes_answer_them(chain):
    from airflow_ol_catalog.lineage.catalog import get_dataset, get_job

    with read_connection(chain) as conn:
        graph = {n["id"]: n for n in lineage(conn, f"dataset:{PG}:b", depth=1).as_list()}
        job = get_job(conn, "team-a", "j1")
        # the newest run only, in latestRun, as Marquez's graph has it
        assert graph["job:team-a:j1"]["data"] == {k: v for k, v in job.items() if k != "latestRuns"}
        assert graph["job:team-a:j1"]["data"]["latestRun"] == job["latestRuns"][0]
        assert graph[f"dataset:{PG}:b"]["data"] == get_dataset(conn, PG, "b")
    assert graph["job:team-a:j1"]["data"]["latestRun"]["state"] == "COMPLETED"
    assert graph[f"dataset:{PG}:b"]["inEdges"] == [{"origin": "job:team-a:j1", "destination": f"dataset:{PG}:b"}]
    assert graph[f"dataset:{PG}:b"]["outEdges"] == [{"origin": f"dataset:{PG}:b", "destination": "job:team-a:j2"}]


def test_edges_are_sorted_by_origin_then_destination(catalog_engine):
    send(catalog_engine, run_of("writer", "w1", 1, [ds("z"), ds("a"), ds("m")], [ds("y"), ds("b")]))
    with read_connection(catalog_engine) as conn:
        (writer,) = [n for n in lineage(conn, "job:team-a:writer", depth=1).as_list() if n["type"] == "JOB"]
    assert [e["origin"] for e in writer["inEdges"]] == [f"dataset:{PG}:{n}" for n in ("a", "m", "z")]
    assert [e["destination"] for e in writer["outEdges"]] == [f"dataset:{PG}:{n}" for n in ("b", "y")]


def test_column_lineage_has_one_edge_per_column_pair_and_every_transformation_in_its_data(catalog_engine):
    from airflow_ol_catalog.lineage.columns import column_lineage_graph

    source = {"namespace": PG, "name": "orders"}
    both = [
        {"type": "INDIRECT", "subtype": "FILTER", "description": "WHERE status = 'paid'"},
        {"type": "DIRECT", "subtype": "IDENTITY", "description": "copied", "masking": True},
    ]
    target = {
        "namespace": PG,
        "name": "paid_orders",
        "facets": {
            "columnLineage": {
                "_producer": "https://example.com/tests",
                "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
                "fields": {
                    "id": {"inputFields": [{**source, "field": "id", "transformations": both}]},
                    "total": {"inputFields": [{**source, "field": "id", "transformations": both[:1]}]},
                },
            }
        },
    }
    send(catalog_engine, run_of("paid", "p1", 1, [source], [target]))
    with read_connection(catalog_engine) as conn:
        graph = {n["id"]: n for n in column_lineage_graph(conn, f"dataset:{PG}:paid_orders", 5, False)}
    column, origin = f"datasetField:{PG}:paid_orders:id", f"datasetField:{PG}:orders:id"
    assert graph[column]["inEdges"] == [{"origin": column, "destination": origin}]
    assert graph[origin]["outEdges"] == [
        {"origin": origin, "destination": column},
        {"origin": origin, "destination": f"datasetField:{PG}:paid_orders:total"},
    ]
    (input_field,) = graph[column]["data"]["inputFields"]
    assert input_field["transformations"] == [
        {"type": "DIRECT", "subtype": "IDENTITY", "description": "copied", "masking": True},
        {"type": "INDIRECT", "subtype": "FILTER", "description": "WHERE status = 'paid'", "masking": False},
    ]
    assert (input_field["transformationType"], input_field["transformationDescription"]) == ("DIRECT", "copied")
    assert graph[column]["data"]["transformationType"] == "DIRECT"
    # The dataset's columnLineage (Marquez's shape) names each input once, by its first way.
    from airflow_ol_catalog.lineage.catalog import get_dataset

    with read_connection(catalog_engine) as conn:
        stated = {c["name"]: c["inputFields"] for c in get_dataset(conn, PG, "paid_orders")["columnLineage"]}
    assert stated["id"] == [
        {
            "namespace": PG,
            "dataset": "orders",
            "field": "id",
            "transformationDescription": "copied",
            "transformationType": "DIRECT",
        }
    ]


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        # Airflow's SQL parser names the input columns and says nothing of how: no way is made up.
        ({"transformationType": "", "transformationDescription": ""}, []),
        ({}, []),
        # Before 1-1-0, IDENTITY and MASKED were the values: both take the value from the input.
        (
            {"transformationType": "IDENTITY", "transformationDescription": "as is"},
            [{"type": "DIRECT", "subtype": "IDENTITY", "description": "as is", "masking": False}],
        ),
        (
            {"transformationType": "masked", "transformationDescription": "sha256"},
            [{"type": "DIRECT", "subtype": "TRANSFORMATION", "description": "sha256", "masking": True}],
        ),
        (
            {"transformationType": "INDIRECT"},
            [{"type": "INDIRECT", "subtype": None, "description": None, "masking": False}],
        ),
        (
            {"transformationType": "CAST"},
            [{"type": "DIRECT", "subtype": "CAST", "description": None, "masking": False}],
        ),
    ],
)
def test_column_lineage_before_1_1_0_reads_as_todays_transformations(catalog_engine, sent, read):
    from airflow_ol_catalog.lineage.columns import column_lineage_graph

    target = {
        "namespace": PG,
        "name": "orders_copy",
        "facets": {
            "columnLineage": {
                "_producer": "https://example.com/tests",
                "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ColumnLineageDatasetFacet.json",
                "fields": {"id": {"inputFields": [{"namespace": PG, "name": "orders", "field": "id"}], **sent}},
            }
        },
    }
    send(catalog_engine, run_of("copy", "c1", 1, [{"namespace": PG, "name": "orders"}], [target]))
    with read_connection(catalog_engine) as conn:
        graph = {n["id"]: n for n in column_lineage_graph(conn, f"dataset:{PG}:orders_copy", 1, False)}
    (input_field,) = graph[f"datasetField:{PG}:orders_copy:id"]["data"]["inputFields"]
    assert input_field["transformations"] == read


def _copied(name: str, field: str, source: str, source_field: str) -> dict:
    """An output dataset whose `field` is copied from `source_field` of `source`."""
    return {
        "namespace": PG,
        "name": name,
        "facets": {
            "columnLineage": {
                "_producer": "https://example.com/tests",
                "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
                "fields": {field: {"inputFields": [{"namespace": PG, "name": source, "field": source_field}]}},
            }
        },
    }


def test_column_lineage_downstream_follows_as_many_hops_as_upstream(catalog_engine):
    from airflow_ol_catalog.lineage.columns import column_lineage_graph

    events = []
    for i in range(1, 7):
        events += run_of(f"copy{i}", f"c{i}", 1, [ds(f"t{i - 1}")], [_copied(f"t{i}", "c", f"t{i - 1}", "c")])
    send(catalog_engine, events)

    def reached(start: int, depth: int, downstream: bool) -> list[str]:
        with read_connection(catalog_engine) as conn:
            nodes = column_lineage_graph(conn, f"datasetField:{PG}:t{start}:c", depth, downstream)
        return sorted(n["data"]["dataset"] for n in nodes)

    assert reached(3, 2, False) == ["t1", "t2", "t3"]
    assert reached(3, 2, True) == ["t1", "t2", "t3", "t4", "t5"]
    assert reached(0, 5, True) == [f"t{i}" for i in range(6)]
    assert reached(0, 100, True) == [f"t{i}" for i in range(7)]
    assert reached(3, 0, True) == reached(3, 1, True) == ["t2", "t3", "t4"]  # depth 0 is one hop, as in Marquez
    with read_connection(catalog_engine) as conn:
        whole = column_lineage_graph(conn, f"dataset:{PG}:t3", 0, False)
    assert sorted(n["id"].rsplit(":", 2)[-2] for n in whole) == ["t2", "t3"]


def test_column_lineage_downstream_starts_from_the_node_not_from_what_it_came_from(catalog_engine):
    """src.c feeds mid.c and side.c; mid.c feeds out.c, which also reads other.c. Asked about mid.c
    both ways: src.c upstream, out.c downstream with all its inputs (other.c too), but not side.c,
    which is another reader of mid's input and neither upstream nor downstream of mid.c."""
    from airflow_ol_catalog.lineage.columns import column_lineage_graph

    events = run_of("to_mid", "m", 1, [ds("src")], [_copied("mid", "c", "src", "c")])
    events += run_of("to_side", "s", 1, [ds("src")], [_copied("side", "c", "src", "c")])
    out = _copied("out", "c", "mid", "c")
    out["facets"]["columnLineage"]["fields"]["c"]["inputFields"].append(
        {"namespace": PG, "name": "other", "field": "c"}
    )
    events += run_of("to_out", "o", 1, [ds("mid"), ds("other")], [out])
    send(catalog_engine, events)
    with read_connection(catalog_engine) as conn:
        for depth in (1, 5):
            nodes = column_lineage_graph(conn, f"datasetField:{PG}:mid:c", depth, True)
            assert sorted(n["data"]["dataset"] for n in nodes) == ["mid", "other", "out", "src"]
        whole = column_lineage_graph(conn, f"dataset:{PG}:mid", 5, True)
        assert sorted(n["data"]["dataset"] for n in whole) == ["mid", "other", "out", "src"]


def test_field_node_ids_the_graph_answers_resolve_when_sent_back_and_unknown_fields_are_404(catalog_engine):
    from airflow_ol_catalog.lineage.columns import column_lineage_graph

    send(catalog_engine, run_of("colons", "k1", 1, [ds("a:b")], [_copied("dir/../x:y", "out:col", "a:b", "f:1")]))
    with read_connection(catalog_engine) as conn:
        ids = {n["id"] for n in column_lineage_graph(conn, f"dataset:{PG}:dir/../x:y", 5, True)}
        escaped_pg = PG.replace(":", "%3A")  # colons in the names: the ids are escaped (field_node_id)
        assert ids == {f"datasetField%:{escaped_pg}:dir/../x%3Ay:out:col", f"datasetField%:{escaped_pg}:a%3Ab:f:1"}
        for node_id in ids:
            assert node_id in {n["id"] for n in column_lineage_graph(conn, node_id, 5, True)}
        for unknown in (f"datasetField:{PG}:a:b:nope", f"datasetField:{PG}:a:b:", f"datasetField:{PG}:dir/../x:y:out"):
            with pytest.raises(NodeNotFound):
                column_lineage_graph(conn, unknown, 5, True)


def test_a_node_id_naming_two_nodes_reads_as_the_one_recorded_first_or_as_the_namespace_says(chain):
    """`dataset:postgres://db:5432:b` is namespace `postgres://db:5432` + `b` (the chain's b) and also
    namespace `postgres://db` + `5432:b`. A producer sending the second later takes over neither
    the first's id nor its lineage; with the namespace given, each is read as asked."""
    send(chain, run_of("squatter", "s1", 4, [ds("a")], [{"namespace": "postgres://db", "name": "5432:b"}]))
    assert names(chain, f"dataset:{PG}:b", depth=1) == {"b", "j1", "j2"}
    assert names(chain, f"dataset:{PG}:b", depth=1, namespace="postgres://db") == {"5432:b", "squatter"}
    assert names(chain, f"dataset:{PG}:b", depth=1, namespace=PG) == {"b", "j1", "j2"}
    with read_connection(chain) as conn, pytest.raises(NodeIdInvalid, match="does not read as a node of namespace"):
        lineage(conn, f"dataset:{PG}:b", depth=1, namespace="postgres://other")


def test_two_nodes_of_one_graph_spelled_alike_keep_apart_and_each_id_reads_back(catalog_engine):
    """j reads (`postgres://db:5432`, `b`) and writes (`postgres://db`, `5432:b`): both are spelled
    `dataset:postgres://db:5432:b`. The graph holds two nodes, the second with the escaped spelling,
    its edges drawn to each, and each id sent back starts a graph at its own node."""
    send(catalog_engine, run_of("j", "r1", 1, [ds("b")], [{"namespace": "postgres://db", "name": "5432:b"}]))
    with read_connection(catalog_engine) as conn:
        graph = lineage(conn, f"dataset:{PG}:b", depth=2).as_list()
        by_id = {n["id"]: n for n in graph}
        assert len(graph) == len(by_id) == 3
        plain = f"dataset:{PG}:b"
        escaped = {"dataset%:postgres%3A//db%3A5432:b", "dataset%:postgres%3A//db:5432%3Ab"}  # either may come second
        (job_id,) = [i for i in by_id if i.startswith("job:")]
        (other,) = set(by_id) - {plain, job_id}
        assert other in escaped
        assert {(by_id[i]["data"]["namespace"], by_id[i]["data"]["name"]) for i in (plain, other)} == {
            (PG, "b"),
            ("postgres://db", "5432:b"),
        }
        job_node = by_id[job_id]
        assert {e["origin"] for e in job_node["inEdges"]} | {e["destination"] for e in job_node["outEdges"]} == {
            plain,
            other,
        }
        for node_id in (plain, other):
            start = lineage(conn, node_id, depth=0).as_list()
            assert [(n["data"]["namespace"], n["data"]["name"]) for n in start] == [
                (by_id[node_id]["data"]["namespace"], by_id[node_id]["data"]["name"])
            ]


def test_an_escaped_id_is_no_plain_id_of_another_node(catalog_engine):
    """A dataset named as an escaped id would spell it (`postgres%3A//db` + `5432%3Ab`), recorded
    first: in a graph with both nodes spelled `dataset:postgres://db:5432:b`, it keeps its own id,
    the escaped one is another, and each id sent back reads as its own node."""
    lookalike = {"namespace": "postgres%3A//db", "name": "5432%3Ab"}
    send(catalog_engine, run_of("early", "r0", 1, [], [lookalike]))
    send(catalog_engine, run_of("j", "r1", 2, [ds("b"), lookalike], [{"namespace": "postgres://db", "name": "5432:b"}]))
    with read_connection(catalog_engine) as conn:
        graph = lineage(conn, "job:team-a:j", depth=1).as_list()
        assert len(graph) == 4 and len({n["id"] for n in graph}) == 4
        for node in graph:
            if node["type"] == "DATASET":
                (again,) = lineage(conn, node["id"], depth=0).as_list()
                assert (again["data"]["namespace"], again["data"]["name"]) == (
                    node["data"]["namespace"],
                    node["data"]["name"],
                )


def test_column_nodes_spelled_alike_keep_apart(catalog_engine):
    """Field `a:b` of dataset `t` and field `b` of dataset `t:a` are both `datasetField:NS:t:a:b`."""
    from airflow_ol_catalog.lineage.columns import column_lineage_graph

    out = _copied("t:a", "b", "t", "a:b")
    send(catalog_engine, run_of("cols", "c1", 1, [ds("t")], [out]))
    with read_connection(catalog_engine) as conn:
        nodes = column_lineage_graph(conn, f"dataset:{PG}:t:a", 5, True)
        assert len({n["id"] for n in nodes}) == len(nodes) == 2
        assert {(n["data"]["dataset"], n["data"]["field"]) for n in nodes} == {("t", "a:b"), ("t:a", "b")}
        (target,) = [n for n in nodes if n["data"]["dataset"] == "t:a"]
        (source,) = [n for n in nodes if n["data"]["dataset"] == "t"]
        assert target["inEdges"] == [{"origin": target["id"], "destination": source["id"]}]


def test_a_column_id_the_graph_gives_reads_back_as_that_column_not_an_older_one_spelled_alike(catalog_engine):
    """Column `b:c` of dataset `a` (recorded first) and column `c` of dataset `a:b` are both
    `datasetField:NS:a:b:c`, and in one namespace the namespace cannot tell them apart: the id the
    column graph gave `a:b`.`c` read back as `a`.`b:c`, and its impact was the other column's. A
    column id with a colon in its dataset's name or field is escaped now, wherever the API writes
    one (here: the column graph and impact), and reads back as that column."""
    from airflow_ol_catalog.events.node_ids import field_node_id
    from airflow_ol_catalog.lineage.columns import column_lineage_graph
    from airflow_ol_catalog.lineage.impact import impact

    send(catalog_engine, run_of("j1", "r1", 1, [ds("a")], [_copied("out1", "o", "a", "b:c")]))
    send(catalog_engine, run_of("j2", "r2", 2, [ds("a:b")], [_copied("out2", "o", "a:b", "c")]))
    with read_connection(catalog_engine) as conn:
        nodes = column_lineage_graph(conn, f"dataset:{PG}:a:b", 5, True)
        (column,) = [n for n in nodes if (n["data"]["dataset"], n["data"]["field"]) == ("a:b", "c")]
        assert column["id"] == field_node_id(PG, "a:b", "c") == f"datasetField%:{PG.replace(':', '%3A')}:a%3Ab:c"
        assert {i["name"] for i in impact(conn, column["id"], namespace=PG)["impacted"]} == {"out2"}
        (older,) = [n for n in column_lineage_graph(conn, f"dataset:{PG}:a", 5, True) if n["data"]["field"] == "b:c"]
        assert {i["name"] for i in impact(conn, older["id"], namespace=PG)["impacted"]} == {"out1"}


def test_a_plain_column_id_reads_back_as_the_column_it_was_written_for(catalog_engine):
    """The API writes a plain column id only for a column with no colon in its dataset's name or
    field; read back without `namespace=`, such an id is that column, not one of a dataset recorded
    first whose name holds a colon (`postgres://db` + `5432:t` against `postgres://db:5432` + `t`)."""
    from airflow_ol_catalog.events.node_ids import field_node_id
    from airflow_ol_catalog.lineage.impact import impact

    send(
        catalog_engine,
        run_of("j1", "r1", 1, [ds("a")], [_copied("5432:t", "x", "a", "x") | {"namespace": "postgres://db"}]),
    )
    send(catalog_engine, run_of("j2", "r2", 2, [ds("b")], [_copied("t", "x", "b", "x")]))
    written = field_node_id(PG, "t", "x")
    assert written == f"datasetField:{PG}:t:x"
    with read_connection(catalog_engine) as conn:
        assert impact(conn, written)["nodeId"] == written
        other = field_node_id("postgres://db", "5432:t", "x")  # escaped: it reads as its own column
        assert impact(conn, other)["nodeId"] == other


def test_hidden_datasets_and_jobs_leave_column_lineage_and_column_impact(catalog_engine):
    """src.c -> (hider) -> secret.c -> (reader) -> out.c. Hiding `secret` takes it out of the column
    graph, the field impact and `out`'s own column lineage; hiding the job `hider` (secret restored)
    takes the link it stated: src.c no longer reaches anything through it."""
    from airflow_ol_catalog.ingest.hiding import set_dataset_hidden, set_job_hidden
    from airflow_ol_catalog.lineage.catalog import datasets_view
    from airflow_ol_catalog.lineage.columns import column_lineage_graph
    from airflow_ol_catalog.lineage.impact import impact
    from airflow_ol_catalog.store.tables import dataset

    events = run_of("hider", "h", 1, [ds("src")], [_copied("secret", "c", "src", "c")])
    events += run_of("reader", "r", 2, [ds("secret")], [_copied("out", "c", "secret", "c")])
    send(catalog_engine, events)

    def seen() -> tuple[set[str], set[str], list]:
        with read_connection(catalog_engine) as conn:
            graph = {n["data"]["dataset"] for n in column_lineage_graph(conn, f"dataset:{PG}:out", 5, True)}
            reached = {i["name"] for i in impact(conn, f"datasetField:{PG}:src:c")["impacted"]}
            (out_row,) = conn.execute(dataset.select().where(dataset.c.name == "out")).all()
            (view,) = datasets_view(conn, [out_row])
            return graph, reached, [f["dataset"] for c in view["columnLineage"] for f in c["inputFields"]]

    assert seen() == ({"out", "secret", "src"}, {"secret", "out"}, ["secret"])
    with write_transaction(catalog_engine) as conn:
        set_dataset_hidden(conn, PG, "secret", True)
    assert seen() == (set(), set(), [])  # out.c comes from nothing visible: no column to draw
    with write_transaction(catalog_engine) as conn:
        set_dataset_hidden(conn, PG, "secret", False)
        set_job_hidden(conn, "team-a", "hider", True)
    assert seen() == ({"out", "secret"}, set(), ["secret"])

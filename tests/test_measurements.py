"""What a dataset page shows of the dataset's facets beyond schema and lineage: its measurements
over time (GET .../datasets/{name}/measurements: the statistics, data-quality metrics and subsets
its runs sent, per event, oldest first), and where it lives (catalog, hierarchy, storage, type).
Built from the facets' schemas (OutputStatistics, InputStatistics, DataQualityMetrics, BaseSubset
1-1-0, Catalog, Hierarchy, Storage, DatasetType)."""

from __future__ import annotations

from urllib.parse import quote

from test_events import run_event

SPEC = "https://openlineage.io/spec/facets/"
AF = "airflow://production"
WH = "s3://lake"
TABLE = "sales/orders"  # a name with a slash, as object stores name datasets


def facet(schema: str, **fields) -> dict:
    return {"_producer": "https://example.com/tests", "_schemaURL": f"{SPEC}{schema}"} | fields


def written(day: int, rows, size: int) -> dict:
    # dimensions read back in name order: the catalog keeps events as canonical JSON
    stats = facet("1-0-2/OutputStatisticsOutputDatasetFacet.json", rowCount=rows, size=size, fileCount=day)
    partition = {"type": "partition", "partitions": [{"dimensions": {"day": f"2026-05-0{day}", "country": "PL"}}]}
    subset = facet("1-1-0/BaseSubsetDatasetFacet.json#/$defs/OutputSubsetDatasetFacet", outputCondition=partition)
    return run_event(
        eventType="COMPLETE",
        eventTime=f"2026-05-0{day}T06:00:00Z",
        run={"runId": f"0193c000-0000-7000-8000-00000000000{day}", "facets": {}},
        job={"namespace": AF, "name": "orders.load", "facets": {}},
        outputs=[{"namespace": WH, "name": TABLE, "outputFacets": {"outputStatistics": stats, "subset": subset}}],
    )


def read_with_metrics() -> dict:
    metrics = facet(
        "1-0-2/DataQualityMetricsInputDatasetFacet.json",
        rowCount=1200,
        columnMetrics={"amount": {"nullCount": 3, "min": 0.5, "max": 99.0}},
    )
    condition = {
        "type": "binary",
        "operator": "AND",
        "left": {
            "type": "compare",
            "left": {"type": "field", "field": "day"},
            "right": {"type": "literal", "value": "2026-05-02"},
            "comparison": "EQUAL",
        },
        "right": {
            "type": "compare",
            "left": {"type": "field", "field": "amount"},
            "right": {"type": "literal", "value": "10"},
            "comparison": "GREATER_THAN",
        },
    }
    subset = facet("1-1-0/BaseSubsetDatasetFacet.json#/$defs/InputSubsetDatasetFacet", inputCondition=condition)
    return run_event(
        eventType="COMPLETE",
        eventTime="2026-05-02T07:00:00Z",
        run={"runId": "0193c000-0000-7000-8000-000000000010", "facets": {}},
        job={"namespace": AF, "name": "orders.report", "facets": {}},
        inputs=[{"namespace": WH, "name": TABLE, "inputFacets": {"dataQualityMetrics": metrics, "subset": subset}}],
    )


def test_a_datasets_runs_measure_it_over_time(catalog_api):
    for payload in (written(1, 1000, 4096), written(2, 1100, 4500), read_with_metrics(), written(3, "many", 1)):
        assert catalog_api.send(payload).status_code == 201
    path = f"api/v1/namespaces/{quote(WH, safe='')}/datasets/{quote(TABLE, safe='')}/measurements"
    answer = catalog_api.get(path)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert (found["runs"], found["truncated"]) == (4, False)
    shown = [
        (p["eventTime"][:13], p["side"], p["rowCount"], p["bytes"], p["fileCount"], p["subset"])
        for p in found["points"]
    ]
    assert shown == [
        ("2026-05-01T06", "out", 1000, 4096, 1, "country=PL day=2026-05-01"),
        ("2026-05-02T06", "out", 1100, 4500, 2, "country=PL day=2026-05-02"),
        ("2026-05-02T07", "in", 1200, None, None, "(day = '2026-05-02') AND (amount > '10')"),
        # day 3 broke OutputStatistics' schema (rowCount is no number): its statistics are left out,
        # its subset (which keeps to its schema) is still shown
        ("2026-05-03T06", "out", None, None, None, "country=PL day=2026-05-03"),
    ]
    assert found["points"][2]["columnMetrics"] == {"amount": {"nullCount": 3, "min": 0.5, "max": 99.0}}
    assert found["points"][2]["job"] == {"namespace": AF, "name": "orders.report"}

    # statistics among the dataset's own facets, where some producers send them, count as well
    among_facets = written(4, 1300, 5000)
    among_facets["outputs"][0]["facets"] = {
        "outputStatistics": among_facets["outputs"][0].pop("outputFacets")["outputStatistics"]
    }
    assert catalog_api.send(among_facets).status_code == 201
    assert catalog_api.get(path).json()["points"][-1]["rowCount"] == 1300

    newest = catalog_api.get(path, runs=2).json()
    assert newest["truncated"] is True
    assert {p["eventTime"][:10] for p in newest["points"]} == {"2026-05-03", "2026-05-04"}  # the newest two runs
    assert catalog_api.get(f"api/v1/namespaces/{quote(WH, safe='')}/datasets/nothing/measurements").status_code == 404
    assert catalog_api.get(path, runs=0).status_code == 422


def test_a_dataset_names_its_catalog_hierarchy_storage_and_type(catalog_api):
    facets = {
        "catalog": facet(
            "1-0-0/CatalogDatasetFacet.json",
            framework="iceberg",
            type="rest",
            name="prod",
            metadataUri="https://catalog.example/api",
            warehouseUri="s3://warehouse",
            source="spark",
            catalogProperties={"region": "eu-west-1"},
        ),
        "hierarchy": facet(
            "1-0-0/HierarchyDatasetFacet.json",
            hierarchy=[{"type": "DATABASE", "name": "analytics"}, {"type": "TABLE", "name": "events"}],
        ),
        "storage": facet("1-0-0/StorageDatasetFacet.json", storageLayer="iceberg", fileFormat="parquet"),
        "datasetType": facet("1-0-0/DatasetTypeDatasetFacet.json", datasetType="TABLE", subType="MANAGED"),
    }
    sent = run_event(
        eventType="COMPLETE",
        run={"runId": "0193c100-0000-7000-8000-000000000001", "facets": {}},
        job={"namespace": AF, "name": "events.load", "facets": {}},
        outputs=[{"namespace": "iceberg://prod", "name": "analytics.events", "facets": facets}],
    )
    assert catalog_api.send(sent).status_code == 201
    shown = catalog_api.get("api/v1/namespaces/iceberg%3A%2F%2Fprod/datasets/analytics.events").json()
    assert shown["catalog"] == {
        "framework": "iceberg",
        "type": "rest",
        "name": "prod",
        "metadataUri": "https://catalog.example/api",
        "warehouseUri": "s3://warehouse",
        "source": "spark",
        "properties": {"region": "eu-west-1"},
    }
    assert shown["hierarchy"] == [{"type": "DATABASE", "name": "analytics"}, {"type": "TABLE", "name": "events"}]
    assert shown["storage"] == {"storageLayer": "iceberg", "fileFormat": "parquet"}
    assert shown["datasetType"] == {"datasetType": "TABLE", "subType": "MANAGED"}


def test_each_kind_of_subset_condition_reads_as_one_line():
    """The four shapes the spec's BaseSubsetDatasetFacet describes: a comparison, a binary of two,
    locations, partitions (with an identifier or by their dimensions)."""
    from airflow_ol_catalog.events.facet_reading import subset

    def field(name: str) -> dict:
        return {"type": "field", "field": name}

    def literal(value: str) -> dict:
        return {"type": "literal", "value": value}

    compare = {"type": "compare", "left": field("country"), "right": literal("PL"), "comparison": "EQUAL"}
    later = {
        "type": "compare",
        "left": field("day"),
        "right": literal("2024-10-15"),
        "comparison": "GREATER_EQUAL_THAN",
    }
    binary = {"type": "binary", "left": compare, "right": later, "operator": "OR"}
    locations = {"type": "location", "locations": ["s3://bucket/a", "s3://bucket/b"]}
    partitions = {
        "type": "partition",
        "partitions": [
            {"identifier": "2024-10-15-PL", "dimensions": {"day": "2024-10-15"}},
            {"dimensions": {"day": "2024-10-16", "country": "DE"}},
        ],
    }
    assert subset({"inputCondition": compare}, "in") == "country = 'PL'"
    assert subset({"inputCondition": binary}, "in") == "(country = 'PL') OR (day >= '2024-10-15')"
    assert subset({"outputCondition": locations}, "out") == "s3://bucket/a, s3://bucket/b"
    assert subset({"outputCondition": partitions}, "out") == "2024-10-15-PL, day=2024-10-16 country=DE"
    assert subset({"outputCondition": partitions}, "in") is None  # an input's subset is its inputCondition
    deep: dict = compare
    for _ in range(40):  # nesting beyond what a page shows ends in an ellipsis, not a recursion error
        deep = {"type": "binary", "left": deep, "right": compare, "operator": "AND"}
    assert "…" in subset({"inputCondition": deep}, "in")


def test_a_subset_condition_nested_as_deep_as_the_body_allows_is_no_server_error(catalog_api):
    """max_json_depth lets a body nest 200 levels; a condition that deep is stored with a warning
    (or refused by the depth limit), never a 500."""
    compare = {"type": "compare", "left": {"type": "field", "field": "a"}, "right": {"type": "literal", "value": "1"}}
    compare["comparison"] = "EQUAL"
    for depth in (90, 185, 240):
        condition: dict = compare
        for _ in range(depth):
            condition = {"type": "binary", "left": condition, "right": compare, "operator": "AND"}
        subset = facet("1-1-0/BaseSubsetDatasetFacet.json", inputCondition=condition)
        sent = run_event(
            run={"runId": f"0193c200-0000-7000-8000-000000000{depth}", "facets": {}},
            inputs=[{"namespace": WH, "name": "deep", "inputFacets": {"subset": subset}}],
        )
        answer = catalog_api.send(sent)
        assert answer.status_code in (201, 400, 413, 422), answer.text
        if answer.status_code == 201:
            path = f"api/v1/namespaces/{quote(WH, safe='')}/datasets/deep/measurements"
            assert catalog_api.get(path).status_code == 200


def test_measurements_find_every_spelling_of_the_namespace_and_fall_back_to_metrics(catalog_api):
    """`postgres://WH:5432`, `postgres://wh:5432` and `postgres://wh` are one data source; rows come
    from inputStatistics when it has them, else from dataQualityMetrics."""
    for n, namespace in enumerate(("postgres://WH:5432", "postgres://wh:5432", "postgres://wh")):
        stats = facet("1-0-0/InputStatisticsInputDatasetFacet.json", size=100 + n)
        metrics = facet("1-0-2/DataQualityMetricsInputDatasetFacet.json", rowCount=10 + n, columnMetrics={})
        sent = run_event(
            eventType="COMPLETE",
            eventTime=f"2026-06-0{n + 1}T00:00:00Z",
            run={"runId": f"0193c300-0000-7000-8000-00000000000{n}", "facets": {}},
            inputs=[
                {
                    "namespace": namespace,
                    "name": "public.spelt",
                    "inputFacets": {"inputStatistics": stats, "dataQualityMetrics": metrics},
                }
            ],
        )
        assert catalog_api.send(sent).status_code == 201
    found = catalog_api.get("api/v1/namespaces/postgres%3A%2F%2Fwh/datasets/public.spelt/measurements").json()
    assert [(p["rowCount"], p["bytes"]) for p in found["points"]] == [(10, 100), (11, 101), (12, 102)]


def test_metrics_with_one_part_of_the_wrong_shape_still_measure_the_dataset(catalog_api):
    """A `dataQualityMetrics` facet whose column metric breaks the schema is stored with a warning;
    the dataset's quality view reads it by part, and so do its measurements: the row count stays,
    the bad part is left out (the whole point was dropped). A facet of which nothing can be read
    gives no point."""
    metrics = facet(
        "1-0-2/DataQualityMetricsInputDatasetFacet.json",
        rowCount=100,
        columnMetrics={"a": {"max": "x", "nullCount": 3}, "b": {"count": 7}},
    )
    sent = run_event(
        eventType="COMPLETE",
        eventTime="2026-06-10T00:00:00Z",
        run={"runId": "0193c400-0000-7000-8000-000000000001", "facets": {}},
        inputs=[{"namespace": WH, "name": "partly", "inputFacets": {"dataQualityMetrics": metrics}}],
    )
    answer = catalog_api.send(sent)
    assert answer.status_code == 201 and answer.json()["warnings"], answer.text
    # a facet of which nothing can be read measures nothing: no point
    empty = run_event(
        eventType="COMPLETE",
        eventTime="2026-06-11T00:00:00Z",
        run={"runId": "0193c400-0000-7000-8000-000000000002", "facets": {}},
        inputs=[
            {
                "namespace": WH,
                "name": "partly",
                "inputFacets": {"dataQualityMetrics": facet("1-0-2/DataQualityMetricsInputDatasetFacet.json")},
            }
        ],
    )
    assert catalog_api.send(empty).status_code == 201
    found = catalog_api.get(f"api/v1/namespaces/{quote(WH, safe='')}/datasets/partly/measurements").json()
    assert [(p["rowCount"], p["columnMetrics"]) for p in found["points"]] == [
        (100, {"a": {"nullCount": 3}, "b": {"count": 7}})
    ]


def test_a_token_limited_to_other_namespaces_adds_no_measurements_to_a_dataset_outside_them(catalog_api):
    """A limited sender may say its job read and wrote any dataset, not what that dataset is: its
    statistics and metrics of a dataset outside its namespaces are no measurements of it."""
    table = "guarded/orders"
    owned = written(1, 500, 10)
    owned["outputs"][0]["name"] = table
    assert catalog_api.send(owned).status_code == 201
    limited = catalog_api.create_token("limited-measurer", namespaces=["outsiders"])
    forged = written(2, 999999, 1)
    forged["job"] = {"namespace": "outsiders", "name": "forger", "facets": {}}
    forged["run"]["runId"] = "0193c000-0000-7000-8000-0000000000aa"
    forged["outputs"][0]["name"] = table
    forged["inputs"] = [
        {
            "namespace": WH,
            "name": table,
            "inputFacets": {
                "dataQualityMetrics": facet("1-0-2/DataQualityMetricsInputDatasetFacet.json", rowCount=12345)
            },
        }
    ]
    assert catalog_api.send(forged, token=limited).status_code == 201
    path = f"api/v1/namespaces/{quote(WH, safe='')}/datasets/{quote(table, safe='')}/measurements"
    found = catalog_api.get(path).json()
    assert [(p["job"]["name"], p["side"], p["rowCount"]) for p in found["points"]] == [("orders.load", "out", 500)]

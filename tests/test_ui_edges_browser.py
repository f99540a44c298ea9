"""The catalog's pages with awkward data, in Debian's headless Chromium: node ids that read two ways,
column impact, columns known only from column lineage, an empty schema, a long test name."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from urllib.parse import quote

import pytest
from servers import AirflowServer
from test_ui_browser import SHOTS, _logged_in, browser  # noqa: F401  (browser is a fixture)

pytestmark = pytest.mark.integration

PRODUCER = "https://example.com/attack-ui"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def _event(job_ns: str, job: str, inputs=(), outputs=()) -> dict:
    return {
        "eventType": "COMPLETE",
        "eventTime": datetime.now(timezone.utc).isoformat(),
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "run": {"runId": str(uuid.uuid4()), "facets": {}},
        "job": {"namespace": job_ns, "name": job, "facets": {}},
        "inputs": list(inputs),
        "outputs": list(outputs),
    }


def _dataset(ns: str, name: str, fields=None, lineage_from=None) -> dict:
    facets: dict = {}
    if fields is not None:
        facets["schema"] = {
            "_producer": PRODUCER,
            "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
            "fields": [{"name": f, "type": "string"} for f in fields],
        }
    if lineage_from is not None:
        src_ns, src_name, mapping = lineage_from
        facets["columnLineage"] = {
            "_producer": PRODUCER,
            "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
            "fields": {
                out: {"inputFields": [{"namespace": src_ns, "name": src_name, "field": inp}]}
                for out, inp in mapping.items()
            },
        }
    return {"namespace": ns, "name": name, "facets": facets}


@pytest.fixture(scope="module")
def attack_server():
    server = AirflowServer()
    server.start()
    try:
        # Two datasets (and two jobs) whose node ids are spelled alike: namespace "amb" + name "b:c"
        # (recorded first) and namespace "amb:b" + name "c".
        for payload in (
            _event("amb", "amb_writer_1", outputs=[_dataset("amb", "b:c", fields=["f1"])]),
            _event("amb", "amb_writer_2", outputs=[_dataset("amb:b", "c", fields=["f2"])]),
            _event("jamb", "b:j", outputs=[_dataset("jamb", "out_of_b_j")]),
            _event("jamb:b", "j", outputs=[_dataset("jamb:b", "out_of_j")]),
            # a column copied by a job: src_tbl.id -> dst_tbl.id (copy_job)
            _event(
                "impact-ui",
                "copy_job",
                inputs=[_dataset("impact-ui", "src_tbl", fields=["id", "name"])],
                outputs=[
                    _dataset(
                        "impact-ui",
                        "dst_tbl",
                        fields=["id", "name"],
                        lineage_from=("impact-ui", "src_tbl", {"id": "id"}),
                    )
                ],
            ),
            # an input whose columns are known only from the column lineage of what it feeds
            _event(
                "impact-ui",
                "score_job",
                inputs=[_dataset("impact-ui", "customers_no_schema")],
                outputs=[
                    _dataset(
                        "impact-ui",
                        "scores",
                        fields=["customer_id"],
                        lineage_from=("impact-ui", "customers_no_schema", {"customer_id": "id"}),
                    )
                ],
            ),
            # a schema facet sent with no fields
            _event("impact-ui", "empty_schema_job", outputs=[_dataset("impact-ui", "empty_schema", fields=[])]),
        ):
            response = server.send(payload)
            assert response.status_code == 201, response.text
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def page(attack_server, browser):  # noqa: F811
    context, page = _logged_in(attack_server, browser, "admin")
    yield page
    context.close()


def _ui(server: AirflowServer) -> str:
    return server.url + "ol-catalog/ui/"


@pytest.mark.parametrize(
    ("kind", "namespace", "name", "its", "other"),
    [("dataset", "amb:b", "c", "amb_writer_2", "amb_writer_1"), ("job", "jamb:b", "j", "out_of_j", "out_of_b_j")],
)
def test_the_explorer_opened_from_a_node_whose_id_reads_two_ways_shows_that_node(
    attack_server, page, kind, namespace, name, its, other
):
    """The page of dataset `amb:b` / `c` (job `jamb:b` / `j`) linked to the explorer with the plain id
    `dataset:amb:b:c`, which the API reads as `amb` / `b:c` (recorded first): the explorer showed
    the other node and its neighbours. Its links name the namespace too."""
    from playwright.sync_api import expect

    page.goto(_ui(attack_server) + f"#/{kind}?ns=" + quote(namespace, safe="") + f"&name={name}&tab=lineage")
    expect(page.get_by_text(its).first).to_be_visible()
    page.get_by_text("Open in the lineage explorer").click()
    expect(page.locator("[data-node-id]").first).to_be_visible()
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SHOTS / f"attack-explorer-{kind}-read-two-ways.png"))
    body = page.inner_text("body")
    assert other not in body and its in body, f"the explorer opened another {kind} than {namespace} / {name}"


def test_column_impact_path_names_the_jobs_with_their_newest_run(attack_server, page):
    """The API's column impact names the job between (`via`, `jobs`, with `latestRun`); the table's
    "Path (jobs with their newest run)" column leaves the jobs out for a column."""
    from playwright.sync_api import expect

    page.goto(_ui(attack_server) + "#/dataset?ns=impact-ui&name=src_tbl&tab=impact")
    expect(page.get_by_text("copy_job").first).to_be_visible()  # the whole dataset: the job is on the path
    page.get_by_label("Impact of").select_option(label="Column id")
    expect(page.get_by_text(re.compile(r"downstream columns? depends?"))).to_be_visible()
    page.screenshot(path=str(SHOTS / "attack-column-impact-path.png"))
    row = page.locator("tbody tr").first
    assert "dst_tbl" in row.inner_text()
    assert "copy_job" in row.inner_text(), f"the path names no job: {row.inner_text()!r}"


def test_column_chosen_for_impact_survives_a_reload(attack_server, page):
    """Every page has its own URL (README); the column chosen on the Impact tab is not in it."""
    from playwright.sync_api import expect

    page.goto(_ui(attack_server) + "#/dataset?ns=impact-ui&name=src_tbl&tab=impact")
    expect(page.get_by_label("Impact of")).to_be_visible()
    page.get_by_label("Impact of").select_option(label="Column id")
    expect(page.get_by_text(re.compile(r"downstream columns? depends?"))).to_be_visible()
    page.reload()
    expect(page.get_by_label("Impact of")).to_be_visible()
    page.wait_for_timeout(1500)
    assert page.get_by_label("Impact of").input_value() != "", "the reload went back to the whole dataset"
    expect(page.get_by_text(re.compile(r"downstream columns? depends?"))).to_be_visible()


def test_impact_offers_columns_known_from_column_lineage(attack_server, page):
    """`customers_no_schema` sent no schema, but `scores.customer_id` is derived from its column `id`;
    the API answers `/impact?nodeId=datasetField:impact-ui:customers_no_schema:id`, the tab offers
    only "The whole dataset"."""
    from playwright.sync_api import expect

    page.goto(_ui(attack_server) + "#/dataset?ns=impact-ui&name=customers_no_schema&tab=impact")
    expect(page.get_by_label("Impact of")).to_be_visible()
    page.wait_for_timeout(1000)
    options = page.get_by_label("Impact of").locator("option").all_inner_texts()
    assert any("id" in option for option in options), options


def test_a_schema_sent_with_no_fields_is_not_called_missing(attack_server, page):
    from playwright.sync_api import expect

    page.goto(_ui(attack_server) + "#/dataset?ns=impact-ui&name=empty_schema")
    expect(page.get_by_role("heading", name="Schema", exact=True)).to_be_visible()
    page.screenshot(path=str(SHOTS / "attack-empty-schema.png"))
    assert "No schema facet has been sent" not in page.inner_text("body")


def test_start_from_here_on_a_node_whose_id_reads_two_ways_keeps_that_node(attack_server, page):
    """In the explorer around job amb_writer_2, the node amb:b / c is the one selected; "Start from
    here" puts `node=dataset:amb:b:c` in the address and the graph re-centres on amb / b:c."""
    from playwright.sync_api import expect

    page.goto(_ui(attack_server) + "#/graph?node=" + quote("job:amb:amb_writer_2", safe=""))
    node = page.locator("[data-node-id]", has_text="amb:b").first
    expect(node).to_be_visible()
    node.click()
    page.get_by_role("button", name="Start from here").click()
    page.wait_for_timeout(2500)
    page.screenshot(path=str(SHOTS / "attack-start-from-here-wrong-node.png"))
    texts = page.locator("[data-node-id]").all_inner_texts()
    assert not any("amb_writer_1" in text for text in texts), texts
    assert any("amb_writer_2" in text for text in texts), texts


def test_a_long_test_name_in_the_quality_section_stays_inside_the_page(attack_server, page):
    """A data-quality assertion with a long unbroken name (a generated dbt test name, say) is drawn
    as one badge that does not wrap: the dataset page grows twice as wide as the window."""
    from playwright.sync_api import expect

    dataset = _dataset("quality-ui", "long_test_names", fields=["amount"])
    dataset["inputFacets"] = {
        "dataQualityAssertions": {
            "_producer": PRODUCER,
            "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/DataQualityAssertionsDatasetFacet.json",
            "assertions": [
                {"assertion": "accepted_values_" + "x" * 300, "success": False},
                {"assertion": "not_null", "success": True, "column": "amount"},
            ],
        }
    }
    response = attack_server.send(_event("quality-ui", "dbt_test_job", inputs=[dataset]))
    assert response.status_code == 201, response.text
    page.goto(_ui(attack_server) + "#/dataset?ns=quality-ui&name=long_test_names")
    expect(page.get_by_role("heading", name="Quality", exact=True)).to_be_visible()
    page.wait_for_timeout(1000)
    page.screenshot(path=str(SHOTS / "attack-quality-overflow.png"), full_page=True)
    scroll_width, client_width = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll_width <= client_width, f"the page is {scroll_width} px wide in a {client_width} px window"


def test_a_dag_runs_task_run_that_started_with_it_is_listed_under_it(attack_server, page):
    """The DAG run's Lineage tab indents task runs under their DAG run; ordered by start time and
    then run id, a task run that started at the same moment and whose id sorts first came above it."""
    from playwright.sync_api import expect

    spec = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunFacet"
    dag_run, task_run, started = (
        "ffffffff-0000-4000-8000-000000000001",
        "00000000-0000-4000-8000-000000000002",
        datetime.now(timezone.utc).isoformat(),
    )
    dag_facet = {
        "_producer": PRODUCER,
        "_schemaURL": spec,
        "dag": {"dag_id": "same_start"},
        "dagRun": {"dag_id": "same_start", "run_id": "manual__same"},
    }
    parent = {
        "_producer": PRODUCER,
        "_schemaURL": spec,
        "run": {"runId": dag_run},
        "job": {"namespace": "default", "name": "same_start"},
    }
    for run_id, name, facets in (
        (task_run, "same_start.the_task", {"airflow": dag_facet | {"task": {"task_id": "the_task"}}, "parent": parent}),
        (dag_run, "same_start", {"airflowDagRun": dag_facet}),
    ):
        payload = _event("default", name)
        payload.update(eventType="START", eventTime=started, run={"runId": run_id, "facets": facets})
        assert attack_server.send(payload).status_code == 201
    page.goto(_ui(attack_server) + "#/dagrun/same_start/manual__same")
    expect(page.get_by_test_id("trace-run")).to_have_count(2)
    rows = page.get_by_test_id("trace-run").all_inner_texts()
    assert "the_task" not in rows[0] and "the_task" in rows[1], rows

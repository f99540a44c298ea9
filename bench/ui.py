"""UI benchmark: the lineage explorer in headless Chromium with graphs of 100, 1,000 and 5,000 nodes.

    .venv/bin/python bench/ui.py [--rounds 3] [--sizes 100,1000,5000]

The built UI (airflow_ol_catalog/www) is served as files, and the browser's calls to the
lineage API are answered with synthetic graphs that the API's own response models accept (jobs
with their latest run, datasets with columns and owners), so the figures are the
page's own work: fetch handling, the layout (in a Web Worker) and React Flow's first render. Measured
from navigation start: the first node on screen, and the graph laid out and fitted (the
`ol-graph-settled` performance mark). The baseline is the same page with a one-node graph.
Medians of the rounds; Debian's chromium, as in the tests.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import statistics
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WWW = ROOT / "airflow_ol_catalog" / "www"
sys.path.insert(0, str(ROOT / "tests"))

from ingest import verdict  # noqa: E402
from test_ui_browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

# The explorer's goals: settled time over the baseline's, at most.
GOALS = {1000: 1.5, 5000: 3.0}

FIRST_NODE_PROBE = """
new MutationObserver((_, observer) => {
  if (document.querySelector('.react-flow__node')) {
    window.__firstNode = performance.now();
    observer.disconnect();
  }
}).observe(document, {childList: true, subtree: true});
"""


def node_data(kind: str, name: str, layer: int) -> dict:
    """A job or dataset as the API answers it, checked against the API's own response models, so
    the page gets what it gets from a real catalog: a job with its latest run, a dataset with
    columns, an owner and its last write."""
    from airflow_ol_catalog.api.datamodels.marquez import Dataset, Job, Run

    written = f"2026-11-30T{layer % 24:02d}:00:00+00:00"
    ref = {"namespace": "bench", "name": name}
    if kind == "dataset":
        return Dataset.model_validate(
            {
                **{key: None for key in Dataset.model_fields if Dataset.model_fields[key].is_required()},
                "id": ref,
                "type": "DB_TABLE",
                "name": name,
                "physicalName": name,
                "namespace": "bench",
                "namespaceKey": "bench",
                "sourceName": "bench",
                "fields": [
                    {"name": column, "type": "VARCHAR", "tags": [], "description": None}
                    for column in ("id", "customer_id", "amount", "updated_at")
                ],
                "tags": [],
                "tagOrigins": [],
                "lastModifiedAt": written,
                "writeIntervalSeconds": 3600,
                "columnLineage": [],
                "facets": {},
                "aliases": [],
                "owners": [{"name": "team:data", "type": "MAINTAINER"}],
                "hierarchy": [],
                "deleted": False,
            }
        ).model_dump(mode="json")
    run = {
        **{key: None for key in Run.model_fields if Run.model_fields[key].is_required()},
        "id": f"0190f000-0000-7000-8000-{layer:012d}",
        "state": "COMPLETED",
        "startedAt": written,
        "endedAt": written,
        "durationMs": 61_000,
        "args": {},
        "jobVersion": {**ref, "version": "0190f000-0000-7000-8000-000000000000"},
        "inputDatasetVersions": [],
        "outputDatasetVersions": [],
        "inputs": [],
        "outputs": [],
        "facets": {},
        "tests": [],
        "parameters": [],
        "placeholder": False,
    }
    return Job.model_validate(
        {
            **{key: None for key in Job.model_fields if Job.model_fields[key].is_required()},
            "id": ref,
            "type": "BATCH",
            "name": name,
            "simpleName": name,
            "namespace": "bench",
            "inputs": [],
            "outputs": [],
            "facets": {},
            "latestRun": run,
            "latestRuns": [run],
            "tags": [],
            "tagOrigins": [],
            "integration": "SPARK",
            "placeholder": False,
            "upstreamTasks": [],
            "owners": [{"name": "team:data", "type": "MAINTAINER"}],
        }
    ).model_dump(mode="json")


def synthetic_graph(size: int) -> list[dict]:
    """Layers of datasets and jobs, left to right; each job reads two datasets of the layer before."""
    per_layer = max(1, int(size**0.5))
    ids = []
    for i in range(size):
        layer, slot = divmod(i, per_layer)
        kind = "job" if layer % 2 else "dataset"
        ids.append((f"{kind}:bench:{kind}_{layer}_{slot}", kind, layer, slot))
    nodes = {
        node_id: {
            "id": node_id,
            "type": kind.upper(),
            "data": node_data(kind, node_id.split(":")[-1], layer),
            "inEdges": [],
            "outEdges": [],
        }
        for node_id, kind, layer, _ in ids
    }
    by_layer: dict[int, list[str]] = {}
    for node_id, _, layer, _ in ids:
        by_layer.setdefault(layer, []).append(node_id)
    for node_id, _, layer, slot in ids:
        previous = by_layer.get(layer - 1, [])
        for source in {previous[slot % len(previous)], previous[(slot * 7 + 3) % len(previous)]} if previous else ():
            edge = {"origin": source, "destination": node_id}
            nodes[source]["outEdges"].append(edge)
            nodes[node_id]["inEdges"].append(edge)
    return list(nodes.values())


def serve_www() -> tuple[http.server.ThreadingHTTPServer, str]:
    class Handler(http.server.SimpleHTTPRequestHandler):
        def translate_path(self, path: str) -> str:
            return super().translate_path(path.removeprefix("/ol-catalog/ui"))

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(WWW)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/ol-catalog/ui/"


def measure(browser, url: str, graph: list[dict]) -> tuple[float, float]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.add_init_script(FIRST_NODE_PROBE)
    body = json.dumps({"graph": graph, "truncated": False})
    page.route(
        "**/ol-catalog/api/v1/lineage?**",
        lambda route: route.fulfill(status=200, content_type="application/json", body=body),
    )
    page.goto(url + "#/graph?node=" + graph[0]["id"] + "&up=50&down=50")
    page.wait_for_function("performance.getEntriesByName('ol-graph-settled').length > 0", timeout=300_000)
    first, settled = page.evaluate(
        "[window.__firstNode, performance.getEntriesByName('ol-graph-settled')[0].startTime]"
    )
    context.close()
    return first, settled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default="100,1000,5000")
    args = parser.parse_args()
    if not (WWW / "index.html").exists():
        sys.exit("build the UI first: cd ui && npm ci && npm run build")
    from playwright.sync_api import sync_playwright

    server, url = serve_www()
    sizes = [1] + [int(s) for s in args.sizes.split(",")]
    graphs = {size: synthetic_graph(size) for size in sizes}
    results: dict[int, list[tuple[float, float]]] = {size: [] for size in sizes}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(args.rounds):
            for size in sizes:  # sizes alternate within a round, so noise hits them alike
                results[size].append(measure(browser, url, graphs[size]))
        browser.close()
    server.shutdown()
    base_first = statistics.median(r[0] for r in results[1])
    base_settled = statistics.median(r[1] for r in results[1])
    print(f"{'nodes':>12} {'edges':>6} {'first node ms':>14} {'settled ms':>11} {'settled / baseline':>19}  goal")
    for size in sizes:
        edges = sum(len(n["outEdges"]) for n in graphs[size])
        first = statistics.median(r[0] for r in results[size])
        settled = statistics.median(r[1] for r in results[size])
        label = "1 (baseline)" if size == 1 else str(size)
        ratio = settled / base_settled
        goal = GOALS.get(size)
        outcome = f"  <= {goal}: {verdict(ratio <= goal)}" if goal else ""
        print(f"{label:>12} {edges:>6} {first:>14.0f} {settled:>11.0f} {ratio:>19.2f}{outcome}")
    print(f"(baseline first node {base_first:.0f} ms; medians of {args.rounds} rounds)")


if __name__ == "__main__":
    main()

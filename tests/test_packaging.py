"""The package as Airflow users get it: `python -m build` on a fresh copy of the sources (the build
hook builds the UI), the wheel installed into a new virtualenv with the pinned constraints (no
editable install, no repository on the path), then migrated, served, browsed, its DAGs parsed
and an event sent, all by the installed package."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import uuid
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests
from http_client import openlineage_client
from servers import AirflowServer
from test_ui_browser import SHOTS, _logged_in, browser  # noqa: F401  (browser is a fixture)

from airflow_ol_catalog import __version__
from airflow_ol_catalog.provider import get_provider_info

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # hatch_build.py, the build hook
import hatch_build  # noqa: E402

pytestmark = pytest.mark.integration

MAINTENANCE_DAGS = ["ol_catalog_extract_metadata", "ol_catalog_reconcile", "ol_catalog_replay", "ol_catalog_retention"]
BUNDLES = [
    {"name": "dags-folder", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle", "kwargs": {}},
    {
        "name": "ol-catalog-maintenance",
        "classpath": "airflow_ol_catalog.maintenance.bundle.MaintenanceDagBundle",
        "kwargs": {},
    },
]


def fresh_sources(target: Path) -> Path:
    """What a fresh clone holds: the files git tracks or would track (nothing ignored, so no built
    UI and no node_modules), copied with their times."""
    if not (ROOT / ".git").exists():
        pytest.skip("needs the sources as a git checkout")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (entry.decode() for entry in listed)):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    assert not (target / "airflow_ol_catalog" / "www").exists()
    return target


def build(sources: Path, out: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess:
    env = os.environ | ({"PATH": path} if path is not None else {})
    return subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), *args, str(sources)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def json_output(result: subprocess.CompletedProcess) -> list:
    """A CLI's `--output json` table: its last line (Airflow logs warnings to standard output
    before it, such as a missing graphviz); Airflow prints "No data found" for an empty one."""
    last = result.stdout.strip().splitlines()[-1]
    return [] if last == "No data found" else json.loads(last)


def test_the_hook_rebuilds_the_ui_when_its_sources_change_whatever_the_file_times(tmp_path):
    ui, www = tmp_path / "ui", tmp_path / "airflow_ol_catalog" / "www"
    shutil.copytree(ROOT / "ui", ui, ignore=shutil.ignore_patterns("node_modules", ".eslintcache"))
    assert hatch_build.why_stale(tmp_path) == "airflow_ol_catalog/www is missing"
    www.mkdir(parents=True)
    (www / "index.html").write_text("<html></html>")
    assert hatch_build.why_stale(tmp_path) == "airflow_ol_catalog/www does not say which sources it was built from"
    (www / ".ui-inputs.sha256").write_text(hatch_build.inputs_digest(ui) + "\n")
    assert hatch_build.why_stale(tmp_path) is None
    # Times decide nothing: sources newer than the pages (an sdist unpacked without its times, a
    # Docker cache), or older, are the same sources.
    for path in ui.rglob("*"):
        os.utime(path, (4_000_000_000, 4_000_000_000))
    assert hatch_build.why_stale(tmp_path) is None
    main = ui / "src" / "main.tsx"
    main.write_text(main.read_text() + "// edited\n")
    assert hatch_build.why_stale(tmp_path) == "ui/ has changed since airflow_ol_catalog/www was built"
    main.write_text(main.read_text().removesuffix("// edited\n"))
    (ui / "src" / "new.ts").write_text("export {};\n")  # a new source file is a change too
    assert hatch_build.why_stale(tmp_path) == "ui/ has changed since airflow_ol_catalog/www was built"
    shutil.rmtree(ui)  # pages and no sources (an unpacked wheel's tree): nothing to build from, nothing to do
    assert hatch_build.why_stale(tmp_path) is None


def test_the_repositorys_built_ui_carries_the_digest_the_hook_computes():
    """ui/stamp-inputs.mjs (run by `npm run build`) and hatch_build.py agree on the digest."""
    stamp = ROOT / "airflow_ol_catalog" / "www" / ".ui-inputs.sha256"
    assert stamp.read_text().strip() == hatch_build.inputs_digest(ROOT / "ui")


def test_every_file_of_the_ui_is_an_input_of_its_build_or_said_not_to_be():
    """A file the build reads but the digest does not cover would let stale pages into a wheel."""
    inputs = json.loads((ROOT / "ui" / "build-inputs.json").read_text())
    not_read_by_the_build = {"openapi.json", "eslint.config.js"}  # codegen's input; the linter's config
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "ui"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    top = {Path(name).relative_to("ui").parts[0] for name in tracked.split()}
    assert top == set(inputs) | not_read_by_the_build


def test_a_build_without_node_and_without_the_built_ui_fails_saying_why(tmp_path):
    sources = fresh_sources(tmp_path / "src")
    # Only the virtualenv's own bin on PATH: no npm, no node.
    result = build(sources, tmp_path / "dist", "--wheel", path=str(Path(sys.executable).parent))
    assert result.returncode != 0
    assert (
        "cannot build airflow-ol-catalog: airflow_ol_catalog/www is missing. Building its UI takes Node.js 20.19 "
        "or newer (or 22.12 or newer) with npm, and there is no Node.js with npm on PATH. (The sdist carries "
        "the built UI: a wheel built from it needs no Node.js.)"
    ) in result.stdout + result.stderr
    assert not list((tmp_path / "dist").glob("*.whl"))


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """`python -m build` on a fresh copy: the sdist (its hook builds the UI with npm), then the
    wheel built from that sdist."""
    work = tmp_path_factory.mktemp("build")
    sources = fresh_sources(work / "src")
    result = build(sources, work / "dist")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "building the UI with npm: airflow_ol_catalog/www is missing" in result.stdout + result.stderr
    # The sdist again, unpacked as tools that drop its file times do (every file written now, the UI's
    # sources after the pages): a wheel built from it with no Node.js on PATH builds nothing.
    (sdist,) = (work / "dist").glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(work / "unpacked", filter="data")
    (unpacked,) = (work / "unpacked").iterdir()
    for path in sorted(unpacked.rglob("*"), key=lambda p: p.is_relative_to(unpacked / "ui")):
        os.utime(path)
    again = build(unpacked, work / "again", "--wheel", path=str(Path(sys.executable).parent))
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "building the UI" not in again.stdout + again.stderr
    (rebuilt,) = (work / "again").glob("*.whl")
    with zipfile.ZipFile(rebuilt) as archive:
        assert "airflow_ol_catalog/www/index.html" in archive.namelist()
    return work / "dist"


def test_the_sdist_and_the_wheel_carry_the_pages_the_dags_and_one_version(dist):
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    assert wheel.name == f"airflow_ol_catalog-{__version__}-py3-none-any.whl"
    assert sdist.name == f"airflow_ol_catalog-{__version__}.tar.gz"
    assert get_provider_info()["versions"] == [__version__]
    newest = re.search(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert newest is not None and newest[1] == __version__
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(f"airflow_ol_catalog-{__version__}.dist-info/METADATA").decode()
        entry_points = archive.read(f"airflow_ol_catalog-{__version__}.dist-info/entry_points.txt").decode()
    assert f"Version: {__version__}" in metadata
    assert "apache_airflow_provider" in entry_points and "airflow.plugins" in entry_points
    assert "airflow-ol-catalog = airflow_ol_catalog.cli:main" in entry_points  # the commands on Airflow 3.1
    assert {
        "airflow_ol_catalog/www/index.html",
        "airflow_ol_catalog/www/swagger/swagger-ui-bundle.js",
        "airflow_ol_catalog/maintenance/bundle.py",
        *(f"airflow_ol_catalog/maintenance/dags/{dag}.py" for dag in MAINTENANCE_DAGS),
        "airflow_ol_catalog/store/migrations/env.py",
    } <= names
    assert any(n.startswith("airflow_ol_catalog/www/assets/") and n.endswith(".js") for n in names)
    assert not any("__pycache__" in n or n.startswith(("tests/", "ui/", "bench/")) for n in names)
    with tarfile.open(sdist) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    # the hook and the UI's sources to rebuild it, and the built pages so that no Node.js is needed
    assert {"hatch_build.py", "airflow_ol_catalog/www/index.html", "airflow_ol_catalog/www/.ui-inputs.sha256"} <= names
    for source in json.loads((ROOT / "ui" / "build-inputs.json").read_text()):
        assert f"ui/{source}" in names or any(n.startswith(f"ui/{source}/") for n in names), source
    assert "CHANGELOG.md" in names and "constraints.txt" in names


@pytest.fixture(scope="module")
def installed(dist, tmp_path_factory) -> Path:
    """A new virtualenv with the wheel and what it needs, as the README's install section says."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    (wheel,) = dist.glob("*.whl")
    result = subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",  # Python compiles what it imports; compiling all of Airflow ahead costs 20 s
            "--constraint",
            str(ROOT / "constraints.txt"),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return venv


@pytest.fixture(scope="module")
def server(installed):
    server = AirflowServer(
        airflow=str(installed / "bin" / "airflow"),
        extra_env={"AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(BUNDLES)},
    )
    # The installed package alone: nothing of the repository or of the tests' virtualenv.
    server.env.pop("PYTHONPATH", None)
    try:
        server.cli("db", "migrate", timeout=600)
        server.start_api_server()
        yield server
    finally:
        server.cleanup()


def _in_installed(installed, server, program: str, *args: str) -> subprocess.CompletedProcess:
    """A program of the new virtualenv, run in the server's Airflow home."""
    return subprocess.run(
        [str(installed / "bin" / program), *args], cwd=server.home, env=server.env, capture_output=True, text=True
    )


def test_the_installed_package_is_the_wheels_and_airflow_lists_its_version(installed, server):
    found = _in_installed(
        installed, server, "python", "-c", "import airflow_ol_catalog; print(airflow_ol_catalog.__file__)"
    )
    assert found.returncode == 0, found.stderr[-2000:]
    where = found.stdout.strip()
    assert where.startswith(str(installed)) and "site-packages" in where
    alone = _in_installed(installed, server, "airflow-ol-catalog", "namespaces", "list")
    assert alone.returncode == 0, alone.stderr[-2000:]
    providers = json_output(server.cli("providers", "list", "--output", "json"))
    assert {"package_name": "airflow-ol-catalog", "version": __version__} in [
        {"package_name": p["package_name"], "version": p["version"]} for p in providers
    ]


def test_the_installed_package_parses_its_dags_from_its_own_bundle(server):
    server.cli("dags", "reserialize", timeout=600)
    listed = json_output(server.cli("dags", "list", "--output", "json", "--columns", "dag_id,bundle_name"))
    assert sorted((d["dag_id"], d["bundle_name"]) for d in listed) == [
        (dag, "ol-catalog-maintenance") for dag in MAINTENANCE_DAGS
    ]
    assert json_output(server.cli("dags", "list-import-errors", "--output", "json")) == []


def test_the_installed_package_takes_an_event_and_shows_its_pages(server, browser):  # noqa: F811
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from playwright.sync_api import expect

    token = server.cli_token("installed", "--read")  # the installed `airflow ol-catalog`
    client = openlineage_client(server.url, token)
    client.emit(
        RunEvent(
            eventType=RunState.COMPLETE,
            eventTime=datetime.now(timezone.utc).isoformat(),
            run=Run(runId=str(uuid.uuid4())),
            job=Job(namespace="installed", name="load_orders"),
            producer="https://example.com/installed-check",
            inputs=[InputDataset(namespace="postgres://db:5432", name="shop.public.raw_orders")],
            outputs=[OutputDataset(namespace="postgres://db:5432", name="shop.public.orders")],
        )
    )
    job = requests.get(
        server.url + "ol-catalog/api/v1/namespaces/installed/jobs/load_orders",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert job.status_code == 200, job.text
    assert [o["name"] for o in job.json()["outputs"]] == ["shop.public.orders"]
    context, page = _logged_in(server, browser, "admin")
    try:
        page.goto(server.url + "plugin/lineage")
        frame = page.frame_locator("iframe")
        expect(frame.get_by_role("heading", name="Lineage catalog")).to_be_visible()
        frame.get_by_role("navigation").get_by_label("Search datasets, jobs, columns and namespaces").fill("orders")
        expect(frame.get_by_role("option", name="shop.public.orders")).to_be_visible()
        page.screenshot(path=str(SHOTS / "90-installed-wheel-overview.png"))
        page.goto(server.url + "ol-catalog/docs")
        expect(page.locator(".swagger-ui")).to_be_visible()
    finally:
        context.close()

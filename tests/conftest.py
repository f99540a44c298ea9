"""Fixtures: every storage test runs on SQLite and on a real PostgreSQL server started here."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import sys
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from http_client import Client, corpus_events
from inprocess import InProcessCatalog, migrate
from servers import AirflowServer, PostgresServer

from airflow_ol_catalog.lineage.view_cache import node_views
from airflow_ol_catalog.lineage.view_refresh import view_refresher

# Lineage graphs read in this process check every view they keep against one built anew (the
# api-servers the tests start do too: tests/servers.py), so a write that changes a job or dataset
# without bumping its stamp fails the test that made it.
node_views.configure(node_views.size, check=True)

BACKENDS = ("sqlite", "postgresql")
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "atlan-generic-openlineage-examples"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
_database_numbers = itertools.count()
FAULT_REPORT = Path(__file__).resolve().parents[1] / "test-output" / "faults.txt"
_fault_lines: list[str] = []


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared sample corpus, which lives beside the clone (CI always has it)."""
    if not CORPUS.is_dir():
        message = f"sample corpus not found at {CORPUS}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message + " (it sits beside the clone in CI)")
    return CORPUS


@pytest.fixture(autouse=True)
def _writer_listeners(monkeypatch):
    """What a test's create_app() tells the event writer about (the view refresher) ends with the test;
    an in-process app's (tests/inprocess.py) ends with its module."""
    from airflow_ol_catalog.ingest import writer

    monkeypatch.setattr(writer, "committed", list(writer.committed))


@pytest.fixture
def driver_statements(monkeypatch) -> list[str]:
    """The text of every statement the catalog sends through its driver-level path
    (store/sql.py `_driver_cursor`: the ingest path's raw statements and the last round trip's
    writes), in order, from now to the end of the test. A prepared statement's EXECUTE reads as
    the statement it runs, followed by its arguments; the PREPAREs themselves are left out."""
    return _noting_driver_statements(monkeypatch, as_sent=False)


@pytest.fixture
def driver_statements_as_sent(monkeypatch) -> list[str]:
    """As `driver_statements`, each text as it was sent: PREPAREs included, EXECUTEs by name."""
    return _noting_driver_statements(monkeypatch, as_sent=True)


def _noting_driver_statements(monkeypatch, as_sent: bool) -> list[str]:
    from airflow_ol_catalog.store import sql

    sent: list[str] = []

    def readable(text: str) -> str:
        prepared = [s.prepared for s in [*sql._pg_statements.values(), *sql._pg_inserts.values()] if s is not None]
        source = {p.name: p.source for p in [*prepared, *sql._togethers.values()] if p is not None}
        return re.sub(r"EXECUTE (olc_\w+)\(", lambda m: f"{source[m.group(1)]} /* EXECUTE */ (", text)

    def noting(cursor, statement, *args):
        # (a session in another encoding sends other bytes than UTF-8)
        text = statement.decode(errors="replace") if isinstance(statement, bytes) else str(statement)
        if as_sent:
            sent.append(text)
        elif not text.startswith("PREPARE "):
            sent.append(readable(text))
        return cursor.execute(statement, *args)

    through_driver_cursors(monkeypatch, noting)
    return sent


def through_driver_cursors(monkeypatch, execute: Callable[..., Any]) -> None:
    """From now to the end of the test, every statement of store/sql.py's driver-level path
    (`_driver_cursor`) goes through `execute(cursor, statement, *args)`, which runs it."""
    from airflow_ol_catalog.store import sql

    cursor_of = sql._driver_cursor

    class Through:
        def __init__(self, cursor):
            self._cursor = cursor

        def __getattr__(self, name):
            return getattr(self._cursor, name)

        def execute(self, statement, *args):
            return execute(self._cursor, statement, *args)

    @contextmanager
    def through(conn):
        with cursor_of(conn) as cursor:
            yield Through(cursor)

    monkeypatch.setattr(sql, "_driver_cursor", through)


@pytest.fixture(scope="session")
def postgres():
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def database_url(backend, tmp_path, request) -> str:
    """An empty database of the backend under test."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    return request.getfixturevalue("postgres").create_database(f"t{os.getpid()}_{next(_database_numbers)}")


# Per backend, a catalog database migrated once in this process, which each `catalog_engine` copies:
# the migrations cost about half a second a test, a copy a few milliseconds. Tests of the migrations
# themselves run them on empty databases (`database_url`).
_migrated_catalogs: dict[str, str] = {}


def _migrated_copy(backend: str, database_url: str, request) -> None:
    """Make the (new, empty) database at `database_url` a copy of a migrated catalog."""
    from airflow_ol_catalog.store.engine import dispose_engines
    from airflow_ol_catalog.store.migrate import upgrade

    template = _migrated_catalogs.get(backend)
    if template is None:
        if backend == "sqlite":
            template = str(request.getfixturevalue("tmp_path_factory").mktemp("catalog-migrated") / "catalog.db")
            upgrade(f"sqlite:///{template}")
        else:
            template = f"catalog_migrated_{os.getpid()}"
            upgrade(request.getfixturevalue("postgres").create_database(template))
        dispose_engines()  # PostgreSQL copies a template nobody is connected to
        _migrated_catalogs[backend] = template
    if backend == "sqlite":
        shutil.copyfile(template, database_url.removeprefix("sqlite:///"))
    else:
        request.getfixturevalue("postgres").create_database(database_url.rsplit("/", 1)[1], template=template)


@pytest.fixture
def catalog_engine(database_url, backend, monkeypatch, request):
    """A migrated catalog database, configured as `[ol_catalog] sql_alchemy_conn` for code under test."""
    from airflow_ol_catalog.store import engine as engine_module

    monkeypatch.setenv("AIRFLOW__OL_CATALOG__SQL_ALCHEMY_CONN", database_url)
    _migrated_copy(backend, database_url, request)
    engine = engine_module.get_engine(database_url)
    yield engine
    # lineage views this test built, refreshed or built ahead reach the database now, not during the next test
    assert view_refresher.flush()
    node_views.flush()
    engine_module.dispose_engines()


@pytest.fixture(scope="session", params=BACKENDS)
def airflow_server(request):
    """A real api-server with the plugin; Airflow's metadata DB (and the catalog) on the backend."""
    if request.param == "sqlite":
        server = AirflowServer()
    else:
        server = AirflowServer(request.getfixturevalue("postgres").create_database(f"airflow_{os.getpid()}"))
    try:
        yield server.start(cli_token=True)  # `airflow ol-catalog tokens create` on each backend
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def client(airflow_server):
    """HTTP to the real api-server (modules that test the app in-process override it with `catalog_api`)."""
    c = Client(airflow_server)
    yield c
    c.engine.dispose()


@pytest.fixture(scope="module")
def sent(client, corpus) -> str:
    """Every corpus set, sent once into a namespace of this module's own."""
    namespace = "corpus-" + uuid.uuid4().hex[:6]
    for payload in corpus_events(corpus, namespace):
        assert client.send(payload).status_code == 201
    return namespace


@pytest.fixture(scope="session")
def page_server():
    """A real api-server on SQLite for browser tests whose data does not meet (tags, data quality):
    started once for all of them. test_ui_browser.py counts what its catalog holds and has its own."""
    server = AirflowServer()
    try:
        yield server.start()
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def migrated_airflow_db(tmp_path_factory) -> Path:
    """A SQLite database as `airflow db migrate` leaves it (Airflow's tables and the catalog's), run once
    and copied by each in-process app."""
    return migrate(tmp_path_factory.mktemp("airflow-migrated"))


@pytest.fixture(scope="module")
def catalog_api(migrated_airflow_db, tmp_path_factory):
    """The catalog's FastAPI app in this process (tests/inprocess.py), on a database of its own per module."""
    api = InProcessCatalog(tmp_path_factory.mktemp("airflow-home"), migrated_airflow_db).start()
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture
def fault_report():
    """Records how a fault scenario ended; every line is printed at the end of the run and kept
    in test-output/faults.txt. Nothing acknowledged may be missing, nothing stored twice."""

    def report(
        scenario: str, *, acknowledged: int, stored: int, delivered_twice: int, stored_twice: int = 0, **extra
    ) -> None:
        details = "".join(f", {key.replace('_', ' ')} {value}" for key, value in extra.items())
        line = (
            f"{scenario}: acknowledged {acknowledged}, stored {stored}, lost {acknowledged - stored if acknowledged > stored else 0}, "
            f"delivered twice {delivered_twice}, duplicates in the catalog {stored_twice}{details}"
        )
        _fault_lines.append(line)
        FAULT_REPORT.parent.mkdir(parents=True, exist_ok=True)
        with FAULT_REPORT.open("a") as handle:
            handle.write(line + "\n")
        assert stored >= acknowledged, line
        assert stored_twice == 0, line

    return report


# Test files by the time each took in a whole run, longest first. scripts/test.sh runs the suite in two
# processes that take whole files in this order (pytest-xdist's `--dist loadfile`, with its own
# reordering by number of tests turned off): the long files start early and the short ones fill the
# gaps at the end, instead of one process running a long file alone while the other has finished.
# Files not listed follow, those that start Airflow processes first. Only the order depends on it.
LONGEST_FIRST = (
    "test_faults_http.py",
    "test_ui_browser.py",
    "test_fab_auth.py",
    "test_packaging.py",
    "test_maintenance_dags.py",
    "test_transport_airflow.py",
    "test_ingest_http.py",
    "test_production_http.py",
    "test_policies_http.py",
    "test_demo_dags.py",
    "test_attacks_http.py",
    "test_catalog_http.py",
    "test_tags_http.py",
    "test_schemathesis.py",
    "test_transport.py",
    "test_view_cache.py",
    "test_store.py",
    "test_quality_browser.py",
    "test_projection.py",
)


def pytest_collection_modifyitems(items):
    starting = {item.path for item in items if item.get_closest_marker("integration")}

    def rank(item) -> tuple[int, bool]:
        name = item.path.name
        return (LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST), item.path not in starting)

    items.sort(key=rank)  # stable: each file keeps its own order


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):  # the run's controller, not one of its pytest-xdist workers
        FAULT_REPORT.unlink(missing_ok=True)


def pytest_terminal_summary(terminalreporter):
    """Every scenario's line, from the report file: with pytest-xdist the scenarios ran in the workers."""
    lines = FAULT_REPORT.read_text().splitlines() if FAULT_REPORT.exists() else _fault_lines
    if lines:
        terminalreporter.section("faults: what each scenario acknowledged, stored and delivered")
        for line in lines:
            terminalreporter.write_line(line)

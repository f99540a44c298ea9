"""Fixtures: every storage test runs on SQLite and on a real PostgreSQL server started here."""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from servers import AirflowServer, PostgresServer  # noqa: E402

BACKENDS = ("sqlite", "postgresql")
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "atlan-generic-openlineage-examples"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
_database_numbers = itertools.count()


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared sample corpus, which lives beside the clone (CI always has it)."""
    if not CORPUS.is_dir():
        message = f"sample corpus not found at {CORPUS}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message + " (it sits beside the clone in CI)")
    return CORPUS


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


@pytest.fixture
def catalog_engine(database_url, monkeypatch):
    """A migrated catalog database, configured as `[ol_catalog] sql_alchemy_conn` for code under test."""
    from airflow_ol_catalog.store import engine as engine_module
    from airflow_ol_catalog.store.migrate import upgrade

    monkeypatch.setenv("AIRFLOW__OL_CATALOG__SQL_ALCHEMY_CONN", database_url)
    upgrade(database_url)
    engine = engine_module.get_engine(database_url)
    yield engine
    engine_module.dispose_engines()


@pytest.fixture(scope="session", params=BACKENDS)
def airflow_server(request):
    """A real api-server with the plugin; Airflow's metadata DB (and the catalog) on the backend."""
    if request.param == "sqlite":
        server = AirflowServer()
    else:
        server = AirflowServer(request.getfixturevalue("postgres").create_database(f"airflow_{os.getpid()}"))
    try:
        yield server.start()
    finally:
        server.cleanup()

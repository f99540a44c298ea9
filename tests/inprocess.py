"""The catalog's FastAPI app in the test process: FastAPI's TestClient on a SQLite Airflow database
in a temporary AIRFLOW_HOME, migrated as `airflow db migrate` does. For the API's own rules (auth,
error bodies, validation, shapes): no api-server to start, no HTTP, a few milliseconds a request."""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from servers import airflow_env
from sqlalchemy import func, select

from airflow_ol_catalog.store.tables import event

# Environment the app reads while it runs; other AIRFLOW__OL_CATALOG__ settings are removed.
OWN_SETTINGS = (
    "AIRFLOW_HOME",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CORE__LOAD_EXAMPLES",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS",
)

# One for the whole test process: Airflow keeps its JWT signer and validator once made. Airflow
# would generate a short one, which PyJWT warns about on every login.
JWT_SECRET = secrets.token_urlsafe(64)


@contextmanager
def airflow_home(home: Path, **options: str) -> Iterator[None]:
    """This process's Airflow and catalog on the SQLite database in `home` (with `[ol_catalog]`
    `options`), as an api-server started there would be; as before afterwards. Airflow may have
    been imported, and configured, before: its ORM and the catalog's engines are pointed anew."""
    env = airflow_env(home, f"sqlite:///{home / 'airflow.db'}", **options)
    ours = {name: env[name] for name in env if name in OWN_SETTINGS or name.startswith("AIRFLOW__OL_CATALOG__")}
    ours["AIRFLOW__API_AUTH__JWT_SECRET"] = JWT_SECRET
    saved = {name: os.environ.pop(name, None) for name in {*ours, *_catalog_settings()}}
    os.environ.update(ours)
    _reconfigure()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _reconfigure()


def _catalog_settings() -> list[str]:
    return [name for name in os.environ if name.startswith("AIRFLOW__OL_CATALOG__")]


def _reconfigure() -> None:
    from airflow import settings

    from airflow_ol_catalog.api.auth import token_cache
    from airflow_ol_catalog.store.engine import dispose_engines

    settings.configure_vars()
    settings.reconfigure_orm()
    dispose_engines()
    token_cache.clear()


def migrate(home: Path) -> Path:
    """What `airflow db migrate` does on a new database (Airflow's upgradedb: Airflow's tables, then
    the catalog's through its DB manager), in this process: the command would import Airflow again
    and cost twice the CPU. Returns the database file."""
    from airflow.utils.db import upgradedb

    (home / "dags").mkdir(exist_ok=True)
    with airflow_home(home):
        upgradedb()
    return home / "airflow.db"


class InProcessCatalog:
    """create_app() on a migrated database, driven by a TestClient, with catalog tokens made by the
    catalog's own token code and Airflow logins signed by Airflow's SimpleAuthManager, initialised
    here as the api-server does. Other auth managers, several workers and crashes need a real
    api-server: see servers.py."""

    def __init__(self, home: Path, migrated: Path | None = None, **options: str) -> None:
        """`migrated`: a database `migrate()` made, copied instead of migrating again; `options`:
        `[ol_catalog]` settings, as in AirflowServer."""
        self.home = home
        (home / "dags").mkdir(exist_ok=True)
        self.options = options
        if migrated is not None:
            shutil.copy(migrated, home / "airflow.db")
        else:
            migrate(home)

    def start(self) -> InProcessCatalog:
        from airflow.api_fastapi.app import _AuthManagerState, init_auth_manager
        from fastapi.testclient import TestClient

        from airflow_ol_catalog.api.app import create_app

        self._home = airflow_home(self.home, **self.options)
        self._home.__enter__()
        self._auth_manager = _AuthManagerState.instance
        init_auth_manager()  # the api-server does it at start: Airflow logins are checked by it
        self.app = create_app()
        # One client for the module: one event loop, so the loop's event writer lives as long as it.
        self.client = TestClient(self.app).__enter__()
        self.token = self.create_token("tests", read=True)
        return self

    def stop(self) -> None:
        from airflow.api_fastapi.app import _AuthManagerState

        from airflow_ol_catalog.ingest import writer
        from airflow_ol_catalog.ingest.refusals import refusal_log
        from airflow_ol_catalog.lineage.view_cache import node_views
        from airflow_ol_catalog.lineage.view_refresh import view_refresher

        self.client.__exit__(None, None, None)
        # The lineage views its graphs built, refreshed or built ahead go to this database, and later
        # tests' writes no longer reach the refresher (create_app told the writer about it).
        assert view_refresher.flush()
        node_views.flush()
        if view_refresher.written in writer.committed:
            writer.committed.remove(view_refresher.written)
        _AuthManagerState.instance = self._auth_manager
        # What the api-server keeps for the life of its event loop must not outlive this one.
        # Writers are kept per loop id, which a later loop may reuse: drop this loop's, bound to
        # this database. The refusal log flushes on the loop a second after a refusal: one this
        # loop will never run would keep it waiting, logging nothing, for the next app.
        writer._writers.clear()
        refusal_log.__init__()
        self._home.__exit__(None, None, None)

    def create_token(
        self, name: str, namespaces: list[str] | None = None, read: bool = False, admin: bool = False
    ) -> str:
        from airflow_ol_catalog.ingest.tokens import create_token
        from airflow_ol_catalog.store.engine import write_transaction

        with write_transaction() as conn:
            _, secret = create_token(conn, name, "tests", namespaces, read, admin)
        return secret

    def jwt(self, user: str) -> str:
        """An Airflow login of a SimpleAuthManager user (`admin` or `viewer`), as `POST /auth/token` issues it."""
        from airflow.api_fastapi.app import get_auth_manager
        from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

        return get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=user, role=user))

    def revoke_token(self, name: str) -> None:
        from airflow_ol_catalog.api.auth import token_cache
        from airflow_ol_catalog.ingest.tokens import revoke_token
        from airflow_ol_catalog.store.engine import write_transaction

        with write_transaction() as conn:
            revoke_token(conn, name)
        token_cache.clear()  # the api-server's cache would keep it for a few seconds

    def request(self, method: str, path: str, token: str | None = None, **kwargs):
        headers = kwargs.pop("headers", None) or {}
        if token != "":  # "" sends no credential
            headers.setdefault("Authorization", f"Bearer {token or self.token}")
        return self.client.request(method, "/" + path.lstrip("/"), headers=headers, **kwargs)

    def get(self, path: str, token: str | None = None, **params):
        return self.request("GET", path, token, params=params)

    def post(self, body: bytes | str, path: str = "api/v1/lineage", token: str | None = None, **headers):
        headers.setdefault("Content-Type", "application/json")
        headers = {k.replace("_", "-"): v for k, v in headers.items() if v is not None}
        data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        return self.request("POST", path, token, content=data, headers=headers)

    def send(self, payload, **kwargs):
        return self.post(json.dumps(payload), **kwargs)

    def stored(self) -> int:
        from airflow_ol_catalog.store.engine import get_engine, read_connection

        with read_connection(get_engine()) as conn:
            return conn.execute(select(func.count()).select_from(event)).scalar_one()

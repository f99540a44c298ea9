"""Real servers for the tests: a PostgreSQL cluster and Airflow api-servers in temporary homes."""

from __future__ import annotations

import atexit
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

BIN = Path(sys.executable).parent
AIRFLOW = str(BIN / "airflow")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_bindir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    if candidates:
        return Path(candidates[-1])
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError(
        "PostgreSQL server binaries not found: install Debian's postgresql package (the README's test command does)"
    )


class PostgresServer:
    """A throw-away PostgreSQL cluster on loopback (fsync off: tests need no durability), in a new
    temporary folder or in `directory` (a benchmark's, to measure again later: `resume()` starts
    the cluster already there)."""

    def __init__(self, directory: Path | None = None) -> None:
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
        # absolute: the server takes its socket folder relative to its data folder
        self.dir = directory.resolve() if directory is not None else Path(tempfile.mkdtemp(prefix="olc-pg-"))
        self.port = free_port()
        self.bindir = _pg_bindir()
        self._as_postgres = os.geteuid() == 0  # the server refuses to run as root

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> PostgresServer:
        if self._as_postgres:
            shutil.chown(self.dir, "postgres")
        self._run(
            "initdb", "-D", str(self.dir / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"
        )
        self.resume()
        return self

    def pause(self) -> None:
        """Stop the server, keeping its data (an outage)."""
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run(
            "pg_ctl", "-D", str(self.dir / "data"), "-o", options, "-l", str(self.dir / "server.log"), "-w", "start"
        )

    def recycle_wal(self, megabytes: int = 1024) -> PostgresServer:
        """Bring the cluster's write-ahead log to a long-running server's state, for benchmarks.

        A new cluster creates each 16 MB WAL segment when it first needs one, writing zeros
        through the whole file, and the commit that needs it waits 100 ms or more: every 16 MB of
        WAL, about 4,500 typical events. A server that has run a while renames the segments a
        checkpoint frees instead (`min_wal_size` of them at least). This writes that much WAL
        once, and checkpoints, so that the next segments are recycled files.
        """
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"ALTER SYSTEM SET min_wal_size = '{int(megabytes)}MB'")
            cur.execute("SELECT pg_reload_conf()")
            cur.execute(
                "CREATE TABLE wal_filler AS SELECT repeat('x', 900) AS filler FROM generate_series(1, %s)",
                (int(megabytes) * 1000,),
            )
            cur.execute("DROP TABLE wal_filler")
            cur.execute("CHECKPOINT")
        conn.close()
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """A new database (replacing one of that name), empty or a copy of `template`."""
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        conn.close()
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def catalog_database(backend: str, name: str) -> Iterator[str]:
    """A benchmark's database URL: a new SQLite file, or a database on a PostgreSQL cluster started
    for it; afterwards the package's engines are closed and the cluster stopped."""
    from airflow_ol_catalog.store.engine import dispose_engines

    postgres = PostgresServer().start() if backend == "postgresql" else None
    try:
        yield postgres.create_database(name) if postgres else f"sqlite:///{tempfile.mkdtemp(prefix='olc-')}/{name}.db"
    finally:
        dispose_engines()
        if postgres:
            postgres.stop()


# Databases as `airflow db migrate` left them, by what decides their tables (the backend, and every
# Airflow setting but the paths): the first server of a kind migrates its database, and later ones
# start from a copy of it, SQLite's file or a PostgreSQL template database (the catalog's settings
# decide nothing there but its own database, which is left to `airflow db migrate`). A migration costs an
# Airflow process, 5-10 s a server. Tests of the migration itself run `airflow db migrate` anyway.
_migrated: dict[tuple[str, ...], str] = {}
_PATH_SETTINGS = ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CORE__DAGS_FOLDER")


def _migration_key(server: AirflowServer) -> tuple[str, ...] | None:
    if "AIRFLOW__OL_CATALOG__SQL_ALCHEMY_CONN" in server.env:
        return None  # the catalog in a database of its own: migrated where the test says
    url = server.sql_alchemy_conn
    if url.startswith("sqlite:///"):
        where = "sqlite"
    elif url.startswith("postgresql"):
        where = url.rsplit("/", 1)[0]  # the server, without the database
    else:
        return None
    settings = sorted(
        f"{k}={v}"
        for k, v in server.env.items()
        if k.startswith("AIRFLOW__") and k not in _PATH_SETTINGS and not k.startswith("AIRFLOW__OL_CATALOG__")
    )
    return (where, *settings)


def _sqlite_file(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def _pg(url: str):
    import psycopg2
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    conn = psycopg2.connect(host=parsed.host, port=parsed.port, user=parsed.username, dbname="postgres")
    conn.autocommit = True
    return conn, parsed.database


def _keep_migrated(server: AirflowServer) -> None:
    """Keep a copy of the database `airflow db migrate` has just made, for the next server of its kind."""
    key = _migration_key(server)
    if key is None or key in _migrated:
        return
    url = server.sql_alchemy_conn
    if url.startswith("sqlite:///"):
        copy = Path(tempfile.mkdtemp(prefix="olc-migrated-")) / "airflow.db"
        atexit.register(shutil.rmtree, copy.parent, ignore_errors=True)  # kept for the session only
        shutil.copyfile(_sqlite_file(url), copy)
        _migrated[key] = str(copy)
        return
    conn, database = _pg(url)
    template = f"migrated_{len(_migrated)}"
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{template}" TEMPLATE "{database}"')
    conn.close()
    _migrated[key] = template


def _copy_migrated(server: AirflowServer) -> bool:
    """Give a server a copy of a database migrated as its own would be, when there is one and its own
    database is new (no file; no table). Whether it did."""
    key = _migration_key(server)
    if key is None or key not in _migrated:
        return False
    url = server.sql_alchemy_conn
    if url.startswith("sqlite:///"):
        target = _sqlite_file(url)
        if target.exists():
            return False
        shutil.copyfile(_migrated[key], target)
        return True
    import psycopg2

    with psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://")) as own, own.cursor() as cur:
        cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        empty = cur.fetchone()[0] == 0
    own.close()
    if not empty:
        return False
    conn, database = _pg(url)
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE "{database}"')
        cur.execute(f'CREATE DATABASE "{database}" TEMPLATE "{_migrated[key]}"')
    conn.close()
    return True


def airflow_env(home: Path, sql_alchemy_conn: str, **options: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_alchemy_conn,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            # every kept view is checked against one built anew: a write that misses its stamp fails
            "AIRFLOW__OL_CATALOG__VIEW_CACHE_CHECK": "True",
        }
    )
    env.update({f"AIRFLOW__OL_CATALOG__{key.upper()}": value for key, value in options.items()})
    return env


class AirflowServer:
    """`airflow db migrate` then `airflow api-server`, in its own process group, in a temporary home."""

    def __init__(
        self,
        sql_alchemy_conn: str | None = None,
        extra_env: dict[str, str] | None = None,
        airflow: str = AIRFLOW,  # another installation's `airflow`: the tests of the installed wheel
        **options: str,
    ):
        self.airflow = airflow
        self.home = Path(tempfile.mkdtemp(prefix="olc-airflow-"))
        (self.home / "dags").mkdir()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        conn = sql_alchemy_conn or f"sqlite:///{self.home / 'airflow.db'}"
        self.sql_alchemy_conn = conn
        self.env = airflow_env(self.home, conn, **options)
        self.env.update(extra_env or {})
        self.process: subprocess.Popen | None = None
        self.token = ""

    def cli(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [self.airflow, *args], env=self.env, cwd=self.home, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"airflow {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result

    def start(self, cli_token: bool = False) -> AirflowServer:
        """Migrate (or start from a copy of a database migrated the same way), start the api-server
        and make a read token (with `airflow ol-catalog tokens create` when `cli_token`)."""
        if not _copy_migrated(self):
            self.cli("db", "migrate")
            _keep_migrated(self)
        self.start_api_server()
        self.token = (self.cli_token if cli_token else self.create_token)("tests", "--read")
        return self

    def start_api_server(self) -> None:
        """Start (or restart, after stop()) the api-server process alone."""
        self.log = open(self.home / "api-server.log", "a")  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen(
            [self.airflow, "api-server", "--port", str(self.port), "--host", "127.0.0.1"],
            env=self.env,
            cwd=self.home,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_healthy()

    def start_component(self, name: str) -> subprocess.Popen:
        """`airflow scheduler`, `dag-processor`, ... in its own process group; stop it with stop_component."""
        log = open(self.home / f"{name}.log", "a")  # noqa: SIM115 - the child process writes it until stopped
        return subprocess.Popen(
            [self.airflow, name],
            env=self.env,
            cwd=self.home,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @staticmethod
    def stop_component(process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def wait_healthy(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"api-server exited:\n{(self.home / 'api-server.log').read_text()[-4000:]}")
            try:
                if requests.get(self.url + "ol-catalog/health", timeout=5).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):  # still starting, or a busy machine
                pass
            time.sleep(0.3)
        raise RuntimeError(
            f"api-server not healthy after {timeout}s:\n{(self.home / 'api-server.log').read_text()[-4000:]}"
        )

    def cli_token(self, name: str, *flags: str) -> str:
        """A token made by `airflow ol-catalog tokens create --name NAME FLAGS`."""
        return self.cli("ol-catalog", "tokens", "create", "--name", name, *flags).stdout.strip().splitlines()[-1]

    def create_token(self, name: str, *flags: str) -> str:
        """A token as `airflow ol-catalog tokens create --name NAME FLAGS` (`--read`, `--admin`,
        `--namespace NS`...) makes it, stored by the same function in this process: the command
        costs an Airflow process start, and its own tests run it."""
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        from airflow_ol_catalog.ingest.tokens import create_token

        namespaces = [flags[i + 1] for i, flag in enumerate(flags) if flag == "--namespace"]
        unknown = set(flags) - {"--read", "--admin", "--namespace", *namespaces}
        if unknown:
            raise ValueError(f"create_token does not know {sorted(unknown)}; use cli_token")
        engine = create_engine(self.catalog_url, poolclass=NullPool)
        try:
            with engine.begin() as conn:
                _, secret = create_token(
                    conn, name, "tests", namespaces or None, can_read="--read" in flags, can_admin="--admin" in flags
                )
        finally:
            engine.dispose()
        return secret

    @property
    def catalog_url(self) -> str:
        """Where the catalog's tables are: `[ol_catalog] sql_alchemy_conn`, else Airflow's database."""
        return self.env.get("AIRFLOW__OL_CATALOG__SQL_ALCHEMY_CONN") or self.sql_alchemy_conn

    def send(self, payload: object, token: str | None = None) -> requests.Response:
        """POST one event (or a batch) to the catalog's endpoint, with the server's token unless told."""
        return requests.post(
            self.url + "ol-catalog/api/v1/lineage",
            json=payload,
            headers={"Authorization": f"Bearer {token or self.token}"},
            timeout=10,
        )

    def jwt(self, user: str) -> str:
        passwords = json.loads((self.home / "simple_auth_manager_passwords.json.generated").read_text())
        response = requests.post(
            self.url + "auth/token", json={"username": user, "password": passwords[user]}, timeout=30
        )
        response.raise_for_status()
        return response.json()["access_token"]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
        if hasattr(self, "log"):
            self.log.close()

    def cleanup(self) -> None:
        self.stop()
        if not os.environ.get("OLC_KEEP_HOMES"):  # set it to read a failed test's server logs afterwards
            shutil.rmtree(self.home, ignore_errors=True)

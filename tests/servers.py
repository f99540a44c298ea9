"""Real servers for the tests: a PostgreSQL cluster and Airflow api-servers in temporary homes."""

from __future__ import annotations

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
    """A throw-away PostgreSQL cluster on loopback (fsync off: tests need no durability)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="olc-pg-"))
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

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


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
        }
    )
    env.update({f"AIRFLOW__OL_CATALOG__{key.upper()}": value for key, value in options.items()})
    return env


class AirflowServer:
    """`airflow db migrate` then `airflow api-server`, in its own process group, in a temporary home."""

    def __init__(self, sql_alchemy_conn: str | None = None, extra_env: dict[str, str] | None = None, **options: str):
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
            [AIRFLOW, *args], env=self.env, cwd=self.home, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"airflow {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result

    def start(self) -> AirflowServer:
        self.cli("db", "migrate")
        self.start_api_server()
        self.token = self.create_token("tests", "--read")
        return self

    def start_api_server(self) -> None:
        """Start (or restart, after stop()) the api-server process alone."""
        self.log = open(self.home / "api-server.log", "a")  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen(
            [AIRFLOW, "api-server", "--port", str(self.port), "--host", "127.0.0.1"],
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
            [AIRFLOW, name], env=self.env, cwd=self.home, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
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

    def create_token(self, name: str, *flags: str) -> str:
        return self.cli("ol-catalog", "tokens", "create", "--name", name, *flags).stdout.strip().splitlines()[-1]

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

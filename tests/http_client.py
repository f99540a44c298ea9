"""Talking to a real api-server over HTTP, as a producer and a reader do."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import requests
from sqlalchemy import create_engine, func, select
from test_events import run_event

from airflow_ol_catalog.cli_commands import replace_namespace
from airflow_ol_catalog.store.tables import event

LINEAGE = "ol-catalog/api/v1/lineage"


class Client:
    def __init__(self, server):
        self.server = server
        self.engine = create_engine(server.sql_alchemy_conn)

    def post(self, body: bytes | str, path: str = LINEAGE, token: str | None = None, **headers) -> requests.Response:
        headers.setdefault("Content-Type", "application/json")
        headers = {k.replace("_", "-"): v for k, v in headers.items() if v is not None}
        headers["Authorization"] = f"Bearer {token or self.server.token}"
        data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        return requests.post(self.server.url + path, data=data, headers=headers, timeout=60)

    def send(self, payload, **kwargs) -> requests.Response:
        return self.post(json.dumps(payload), **kwargs)

    def get(self, path: str, token: str | None = None, **params) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.server.token}"}
        return requests.get(self.server.url + path, params=params, headers=headers, timeout=60)

    def stored(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(event)).scalar_one()


def fresh_event(namespace: str | None = None, **changes) -> dict:
    payload = run_event(**changes)
    payload["run"]["runId"] = str(uuid.uuid4())
    if namespace:
        payload["job"]["namespace"] = namespace
    return payload


def corpus_events(corpus: Path, namespace: str) -> list[dict]:
    events = []
    for path in sorted(corpus.rglob("*.json")):
        payload = json.loads(path.read_text())
        replace_namespace(payload, namespace)
        events.append(payload)
    return events


def openlineage_client(url: str, token: str):
    """openlineage-python's own client, configured as a producer would to send to the catalog."""
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.http import HttpConfig, HttpTransport

    config = {"type": "http", "url": url, "endpoint": LINEAGE, "auth": {"type": "api_key", "apiKey": token}}
    return OpenLineageClient(transport=HttpTransport(HttpConfig.from_dict(config)))

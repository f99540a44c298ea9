"""The maintenance tasks' way to the catalog: its HTTP API, with a token kept in an Airflow Connection.

Task code cannot use Airflow's database, so the DAGs talk to the catalog like any client. The
Connection (default `ol_catalog_default`) holds the API server's URL as host (`http://airflow-api:8080`)
and an admin token (`airflow ol-catalog tokens create --name maintenance --admin`) as password.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

DEFAULT_CONN_ID = "ol_catalog_default"


class CatalogError(RuntimeError):
    pass


@dataclass
class CatalogClient:
    url: str  # the API server's base URL, ending with /
    token: str
    timeout: float = 300.0

    @classmethod
    def from_connection(cls, conn_id: str = DEFAULT_CONN_ID) -> CatalogClient:
        from airflow_ol_catalog.maintenance.sources import airflow_connection

        connection = airflow_connection(conn_id)
        host = (connection.host or "").strip()
        if not host:
            raise CatalogError(
                f"Connection {conn_id!r} needs the API server's URL as its host, e.g. http://airflow-api:8080"
            )
        if "://" not in host:
            host = f"{connection.conn_type if connection.conn_type in ('http', 'https') else 'http'}://{host}"
        if connection.port and host.count(":") < 2:
            host = f"{host}:{connection.port}"
        if not connection.password:
            raise CatalogError(f"Connection {conn_id!r} needs a catalog admin token as its password")
        return cls(host.rstrip("/") + "/", connection.password)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(
            method,
            self.url + "ol-catalog/api/v1/" + path,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=self.timeout,
            **kwargs,
        )
        if response.status_code >= 400:
            try:
                body = response.json()
                # a batch none of whose events was stored says why per event
                detail = body.get("detail") or next((e.get("reason") for e in body.get("failed_events") or []), None)
            except (ValueError, AttributeError):
                detail = response.text[:300]
            raise CatalogError(f"{method} {path}: {response.status_code} {detail}")
        return response.json()

    def get(self, path: str, **params: Any) -> Any:
        return self._call("GET", path, params=params)

    def post(self, path: str, body: Any = None, **params: Any) -> Any:
        return self._call("POST", path, json=body if body is not None else {}, params=params)

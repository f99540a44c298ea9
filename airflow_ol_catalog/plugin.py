"""The Airflow plugin. Imported in every Airflow process, task processes included: keep it light.

The FastAPI application is built on the first request, in the api-server only.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


class _LazyCatalogApp:
    """An ASGI app that builds the real one on first use."""

    def __init__(self) -> None:
        self._app = None

    async def __call__(self, scope, receive, send):
        if self._app is None:
            from airflow_ol_catalog.api.app import create_app

            self._app = create_app()
        await self._app(scope, receive, send)


class OLCatalogPlugin(AirflowPlugin):
    name = "ol_catalog"
    fastapi_apps = [{"app": _LazyCatalogApp(), "url_prefix": "/ol-catalog", "name": "OpenLineage catalog"}]
    # Pages in Airflow's UI (same-origin iframes). Relative hrefs keep [api] base_url sub-paths working.
    external_views = [
        {"name": "Lineage", "href": "ol-catalog/ui/", "url_route": "lineage", "category": "browse"},
        # Shown to everyone who sees plugins; the page and its API answer only catalog admins.
        {"name": "Lineage admin", "href": "ol-catalog/ui/#/admin", "url_route": "lineage-admin", "category": "browse"},
        {"name": "Lineage", "href": "ol-catalog/ui/#/dag/{DAG_ID}", "url_route": "lineage-dag", "destination": "dag"},
        {
            "name": "OpenLineage",
            "href": "ol-catalog/ui/#/task/{DAG_ID}/{RUN_ID}/{TASK_ID}/{MAP_INDEX}",
            "url_route": "lineage-task-instance",
            "destination": "task_instance",
        },
    ]

"""The Airflow plugin. Imported in every Airflow process, task processes included: keep it light.

The FastAPI application is built on the first request, in the api-server only.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


def _freeze_loaded_heap() -> None:
    """Keep what the loaded API server holds out of later garbage collections.

    Airflow's API server keeps a large heap for its whole life; every full collection walks all
    of it, which under load showed as ~300 ms pauses at the 99th percentile of every route.
    Collect once, then freeze what is left: it is long-lived, and new objects are still collected.
    """
    import gc

    gc.collect()
    gc.freeze()


class _LazyCatalogApp:
    """An ASGI app that builds the real one on first use."""

    def __init__(self) -> None:
        self._app = None

    async def __call__(self, scope, receive, send):
        if self._app is None:
            from airflow_ol_catalog.api.app import create_app

            self._app = create_app()
            if self._app.state.settings.gc_freeze:
                _freeze_loaded_heap()
        await self._app(scope, receive, send)


def _line_break_paths(app):
    """api/paths.LineBreakPaths, imported only by the API server that installs it."""
    from airflow_ol_catalog.api.paths import LineBreakPaths

    return LineBreakPaths(app)


def _has_asset_destination() -> bool:
    """Whether this Airflow's UI offers plugins a tab on Asset pages (the `asset` destination, which
    Airflow 3.3 does not have). Asked only where the UI is served, the API server (which has loaded
    FastAPI when it loads plugins): task processes need no pages and stay light."""
    import sys

    if "fastapi" not in sys.modules:
        return False
    try:
        from typing import get_args

        from airflow.api_fastapi.core_api.datamodels.plugins import BaseDestinationLiteral
    except ImportError:
        return False
    return "asset" in get_args(BaseDestinationLiteral)


# The Lineage tab on an Asset's page: the catalog dataset the Asset names.
ASSET_VIEW = {
    "name": "Lineage",
    "href": "ol-catalog/ui/#/asset/{ASSET_ID}",
    "url_route": "lineage-asset",
    "destination": "asset",
}


class OLCatalogPlugin(AirflowPlugin):
    name = "ol_catalog"
    fastapi_apps = [{"app": _LazyCatalogApp(), "url_prefix": "/ol-catalog", "name": "OpenLineage catalog"}]
    fastapi_root_middlewares = [{"middleware": _line_break_paths, "name": "OpenLineage catalog: line breaks in names"}]
    # Pages in Airflow's UI (same-origin iframes). Relative hrefs keep [api] base_url sub-paths working.
    external_views = [
        {"name": "Lineage", "href": "ol-catalog/ui/", "url_route": "lineage", "category": "browse"},
        # Shown to everyone who sees plugins; the page and its API answer only catalog admins.
        {"name": "Lineage admin", "href": "ol-catalog/ui/#/admin", "url_route": "lineage-admin", "category": "browse"},
        {"name": "Lineage", "href": "ol-catalog/ui/#/dag/{DAG_ID}", "url_route": "lineage-dag", "destination": "dag"},
        {
            "name": "Lineage",
            "href": "ol-catalog/ui/#/dagrun/{DAG_ID}/{RUN_ID}",
            "url_route": "lineage-dag-run",
            "destination": "dag_run",
        },
        {
            "name": "OpenLineage",
            "href": "ol-catalog/ui/#/task/{DAG_ID}/{RUN_ID}/{TASK_ID}/{MAP_INDEX}",
            "url_route": "lineage-task-instance",
            "destination": "task_instance",
        },
        *([ASSET_VIEW] if _has_asset_destination() else []),
    ]

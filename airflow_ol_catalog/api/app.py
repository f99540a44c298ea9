"""Builds the FastAPI application the plugin mounts at /ol-catalog."""

from __future__ import annotations

import logging
import os

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from airflow_ol_catalog import __version__
from airflow_ol_catalog.api.datamodels.common import ErrorBody
from airflow_ol_catalog.events import metrics
from airflow_ol_catalog.events.naming import escaped
from airflow_ol_catalog.events.not_found import NotFound
from airflow_ol_catalog.store.engine import database_unavailable

log = logging.getLogger(__name__)

BENCHMARK_ENV = "OL_CATALOG_BENCHMARK_ROUTES"


class AnswerStart:
    """At the start of every answer: count it by status (`ol_catalog.requests.<status>`), and say
    that only pages of this origin may frame the catalog (Airflow's plugin iframe is one) and that
    browsers must take each answer for the type it declares. A plain ASGI wrapper, cheap per request."""

    SAFETY_HEADERS = (
        (b"x-frame-options", b"SAMEORIGIN"),
        (b"content-security-policy", b"frame-ancestors 'self'"),
        (b"x-content-type-options", b"nosniff"),
    )

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def starting_send(message) -> None:
            if message["type"] == "http.response.start":
                metrics.incr(f"requests.{message['status']}")
                present = {name.lower() for name, _ in message.get("headers", ())}
                extra = [(name, value) for name, value in self.SAFETY_HEADERS if name not in present]
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await self.app(scope, receive, starting_send)


def is_ingest_request(request: Request) -> bool:
    route = request.scope.get("route")
    return route is not None and "ingest" in getattr(route, "tags", ())


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    body = exc.detail if isinstance(exc.detail, dict) else {"detail": exc.detail}
    if is_ingest_request(request):
        from airflow_ol_catalog.ingest.refusals import reason_of, refusal_log

        caller = getattr(request.state, "caller", None)
        remote = request.client.host if request.client else None
        refusal_log.record(exc.status_code, str(body.get("detail", "")), request.url.path, caller, remote)
        # Structured, and never the token or the body: what an operator greps for. One line: a
        # caller's name (a token made before names were checked) cannot write one of its own.
        log.info(
            "ingest refused status=%s reason=%r caller=%s remote=%s path=%s",
            exc.status_code,
            reason_of(exc.status_code),
            escaped(caller or "-"),
            remote or "-",
            escaped(request.url.path),
        )
        metrics.incr("events.refused_requests", tags={"status": str(exc.status_code)})
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _not_found(request: Request, exc: NotFound) -> JSONResponse:
    """Every missing namespace, dataset, version, job, run, node or token: 404 with what was not found."""
    return JSONResponse(ErrorBody(detail=str(exc)).model_dump(exclude_none=True), status_code=404)


async def _query_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [
        {"path": ".".join(str(part) for part in err.get("loc", ())), "message": err.get("msg", "invalid")}
        for err in exc.errors()
    ]
    detail = "; ".join(f"{p['path']}: {p['message']}" for p in problems)
    return JSONResponse({"detail": detail, "errors": problems}, status_code=422)


async def _database_unavailable(request: Request, exc: DBAPIError) -> JSONResponse:
    """Any database error a route did not handle: 503 when the database cannot work now
    (store/engine.py `database_unavailable`: unreachable, locked, read-only), else 500."""
    if not database_unavailable(exc):
        log.error("catalog database error", exc_info=exc)
        return JSONResponse({"detail": "internal error of the catalog's database"}, status_code=500)
    log.warning("catalog database unavailable: %s", exc)
    return JSONResponse(
        {"detail": "the catalog database is momentarily unavailable; retry later"},
        status_code=503,
        headers={"Retry-After": "5"},
    )


def _log_guard_refusal(scope: dict, status: int, detail: str) -> None:
    """Requests to the ingestion routes that the request guard refuses go to the refusal log too."""
    from airflow_ol_catalog.api.ingest import INGEST_PATHS
    from airflow_ol_catalog.ingest.refusals import refusal_log

    path = scope["path"]
    if path[len(scope.get("root_path", "")) :] in INGEST_PATHS:
        remote = scope["client"][0] if scope.get("client") else None
        refusal_log.record(status, detail, path, None, remote)
        metrics.incr("events.refused_requests", tags={"status": str(status)})


def document_errors(app: FastAPI) -> None:
    """Give every error answer the OpenAPI document lists the body the handlers above send
    (ErrorBody): the 401 and 403 that document_auth adds, and a 422 on every route taking
    parameters or a body, in place of FastAPI's own validation-error shape, which this app never sends."""
    from fastapi.dependencies.utils import get_flat_params
    from fastapi.routing import APIRoute
    from fastapi.utils import create_model_field

    from airflow_ol_catalog.api.datamodels.common import ErrorBody

    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        if route.body_field is not None or get_flat_params(route.dependant):
            route.responses.setdefault(422, {"description": "A parameter or the body is invalid; `detail` names it."})
        for status, answer in route.responses.items():
            if str(status).isdigit() and int(status) >= 400 and status not in route.response_fields:
                answer["model"] = ErrorBody
                route.response_fields[status] = create_model_field(
                    name=f"Response_{status}_{route.unique_id}", type_=ErrorBody, mode="serialization"
                )


def create_app() -> FastAPI:
    from airflow_ol_catalog.api import admin, assets, catalog, events, health, ingest, refused_writes, tags, ui
    from airflow_ol_catalog.api.auth import document_auth
    from airflow_ol_catalog.api.paths import RequestGuard
    from airflow_ol_catalog.api.stats import router as stats_router
    from airflow_ol_catalog.config import load_settings

    app = FastAPI(
        title="OpenLineage catalog",
        version=__version__,
        description="OpenLineage ingestion and lineage catalog inside Apache Airflow.",
        docs_url=None,  # api/ui.py serves the docs page with Swagger UI from the package, not a CDN
        redoc_url=None,
    )
    from airflow_ol_catalog.ingest import writer
    from airflow_ol_catalog.lineage.view_cache import node_views
    from airflow_ol_catalog.lineage.view_refresh import view_refresher

    app.state.settings = load_settings()
    node_views.configure(app.state.settings.view_cache_size, app.state.settings.view_cache_check)
    view_refresher.prebuild = app.state.settings.view_prebuild
    writer.listen(view_refresher.written)  # views stay ready for graphs after writes
    app.add_middleware(RequestGuard, on_refusal=_log_guard_refusal)
    app.add_middleware(AnswerStart)
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]  # Starlette types a handler as taking any Exception
    app.add_exception_handler(RequestValidationError, _query_error)  # type: ignore[arg-type]  # Starlette types a handler as taking any Exception
    app.add_exception_handler(NotFound, _not_found)  # type: ignore[arg-type]  # Starlette types a handler as taking any Exception
    app.add_exception_handler(DBAPIError, _database_unavailable)  # type: ignore[arg-type]  # Starlette types a handler as taking any Exception
    app.include_router(ingest.router)
    app.include_router(events.router)
    app.include_router(tags.router)
    app.include_router(stats_router)
    app.include_router(assets.router)
    app.include_router(catalog.router)
    app.include_router(refused_writes.router)
    app.include_router(admin.router)
    app.include_router(health.router)
    app.include_router(ui.router)
    app.add_route("/docs", ui.api_docs, include_in_schema=False)
    app.add_route("/docs/{name}", ui.api_docs_file, include_in_schema=False)
    document_auth(app)
    document_errors(app)
    if os.environ.get(BENCHMARK_ENV) == "1":
        from airflow_ol_catalog.api import benchmark

        app.include_router(benchmark.router)
    return app

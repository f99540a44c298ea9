"""Marquez's write routes, answered with why the catalog does not take them.

Marquez clients may create namespaces, sources, datasets, jobs and runs, and move runs between
states, with calls of their own. The catalog builds all of these from the OpenLineage events sent
to /api/v1/lineage, its one way in, so these calls get a 405 saying so instead of a bare 404.
"""

from __future__ import annotations

import inspect
import re

from fastapi import APIRouter, HTTPException, Request

from airflow_ol_catalog.api.auth import ReadAuth
from airflow_ol_catalog.api.datamodels.common import ErrorBody

router = APIRouter(prefix="/api/v1", tags=["catalog"])

# path -> (method, what it would write)
REFUSED = {
    "/namespaces/{namespace:name}": ("PUT", "namespaces"),
    "/sources/{source:name}": ("PUT", "sources"),
    "/namespaces/{namespace:name}/datasets/{dataset:name}": ("PUT", "datasets"),
    "/namespaces/{namespace:name}/jobs/{job:name}": ("PUT", "jobs"),
    "/namespaces/{namespace:name}/jobs/{job:name}/runs": ("POST", "runs"),
    "/jobs/runs/{run_id:name}/start": ("POST", "run states"),
    "/jobs/runs/{run_id:name}/complete": ("POST", "run states"),
    "/jobs/runs/{run_id:name}/fail": ("POST", "run states"),
    "/jobs/runs/{run_id:name}/abort": ("POST", "run states"),
}


def _allowed(request: Request, refused: str) -> str:
    """The methods the catalog answers on this path (`Allow` of the 405): GET, and DELETE where it hides."""
    path = request.scope["route"].path
    methods = {m for route in request.app.routes if getattr(route, "path", None) == path for m in route.methods}
    return ", ".join(sorted(methods - {refused, "HEAD"}))


def refusal(method: str, what: str) -> str:
    return (
        f"{method} is not supported here: the catalog builds {what} from OpenLineage events; "
        "send them to POST /api/v1/lineage (RunEvent, DatasetEvent or JobEvent)"
    )


def _refuse(path: str, method: str, what: str):
    async def refuse(request: Request, **_: object) -> None:
        raise HTTPException(405, refusal(method, what), headers={"Allow": _allowed(request, method)})

    # The path's parameters, declared so that the OpenAPI document describes the route as it is.
    names = re.findall(r"{(\w+)", path)
    parameters = [inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request)]
    parameters += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=str) for name in names]
    parameters.append(inspect.Parameter("principal", inspect.Parameter.KEYWORD_ONLY, annotation=ReadAuth))
    refuse.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return refuse


for _path, (_method, _what) in REFUSED.items():
    router.add_api_route(
        _path,
        _refuse(_path, _method, _what),
        methods=[_method],
        summary=f"Not supported: {_what} come from OpenLineage events",
        status_code=405,
        response_model=None,
        responses={405: {"model": ErrorBody, "description": "Always: send OpenLineage events instead."}},
    )

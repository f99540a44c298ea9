"""A do-nothing route, mounted only when OL_CATALOG_BENCHMARK_ROUTES=1: the baseline bench/ measures against."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(include_in_schema=False)


@router.post("/api/v1/benchmark/nothing")
async def do_nothing(request: Request) -> JSONResponse:
    """Receives the body and answers: the cost of the HTTP stack alone (no auth, no parsing, no storage).

    Reading the body matters: through Airflow's middleware stack, receiving it costs about as
    much as everything else in the request.
    """
    await request.body()
    return JSONResponse({"ok": True}, status_code=201)

"""A do-nothing route, mounted only when OL_CATALOG_BENCHMARK_ROUTES=1: the baseline bench/ measures against."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

router = APIRouter(include_in_schema=False)


@router.post("/api/v1/benchmark/nothing")
async def do_nothing() -> JSONResponse:
    """No auth, no body read, no work: the cost of the HTTP stack alone."""
    return JSONResponse({"ok": True}, status_code=201)

"""Reading request bodies safely: content type, size limit (before and after gzip), strict JSON."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
from fastapi import HTTPException, Request

from airflow_ol_catalog.events import BodyError, decode_json
from airflow_ol_catalog.events.collector import collector_paused

JSON_TYPES = ("application/json",)
LARGE_BODY_BYTES = 256 * 1024
T = TypeVar("T")


def _check_content_type(request: Request) -> None:
    content_type = request.headers.get("content-type")
    if content_type is None:
        return  # curl --data-binary without -H, scripts: the body still has to be JSON
    media, _, parameters = content_type.partition(";")
    media = media.strip().lower()
    if not (media in JSON_TYPES or (media.startswith("application/") and media.endswith("+json"))):
        raise HTTPException(415, f"Content-Type {content_type!r} is not JSON; send application/json")
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower().replace("_", "-") not in (
            "utf-8",
            "utf8",
        ):
            raise HTTPException(
                415, f"Content-Type {content_type!r}: JSON bodies are read as UTF-8; send charset=utf-8 or none"
            )


def _too_large(limit: int, what: str) -> HTTPException:
    return HTTPException(413, f"{what} is larger than the limit of {limit} bytes ([ol_catalog] max_body_bytes)")


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit, "request body")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit, "request body")
        chunks.append(chunk)
    return b"".join(chunks)


def _gunzip(data: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise HTTPException(400, f"Content-Encoding is gzip but the body is not valid gzip data: {exc}") from None
    if len(out) > limit:
        raise _too_large(limit, "gzip-inflated request body")
    if not inflater.eof:
        raise HTTPException(400, "Content-Encoding is gzip but the gzip data is truncated")
    if inflater.unused_data:
        raise HTTPException(400, f"Content-Encoding is gzip but {len(inflater.unused_data)} bytes follow the gzip data")
    return out


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body as sent, inflated: content type, encoding and size checked (HTTPException otherwise)."""
    _check_content_type(request)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "", "gzip", "x-gzip"):
        raise HTTPException(415, f"Content-Encoding {encoding!r} is not supported; send gzip or no encoding")
    raw = await _read_limited(request, max_bytes)
    if encoding in ("gzip", "x-gzip"):
        raw = _gunzip(raw, max_bytes)
    return raw


def decode_body(raw: bytes) -> Any:
    """The JSON document of a body read by read_body; 400 naming the problem otherwise."""
    try:
        return decode_json(raw)
    except BodyError as exc:
        raise HTTPException(400, str(exc)) from None


async def off_the_loop_if_large(raw: bytes, work: Callable[[], T]) -> T:
    """Decode and check a body: on the event loop when small, on a thread when large.

    A 5 MB event takes most of a second to decode, validate and canonicalise; on the loop, every
    other route of the API server (Airflow's own too) would wait that long. The cyclic collector
    is paused meanwhile: every object built lives until the request ends.
    """
    if len(raw) <= LARGE_BODY_BYTES:
        return work()

    def paused() -> T:
        with collector_paused():
            return work()

    return await anyio.to_thread.run_sync(paused)

"""Request parameters shared by the routes: paging, times, text a body may store.

Response models live in api/datamodels/."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import HTTPException, Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from airflow_ol_catalog.events.node_ids import NodeIdInvalid, NotOfNamespace, readings
from airflow_ol_catalog.events.times import TimeInvalid, parse_time

# Paging, the same on every list. Offsets are bounded: the databases hold 64-bit integers at most.
MAX_OFFSET = 1_000_000_000
# 0 answers the count alone (`totalCount`), as Marquez's lists do.
Limit = Query(100, ge=0, le=1000, description="How many to return (at most 1,000; 0 for the count alone).")
Offset = Query(0, ge=0, le=MAX_OFFSET, description="How many to skip.")


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("contains a NUL character (\\u0000), which the catalog cannot store")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as bad:  # JSON may escape half of a surrogate pair (\ud800) alone
        raise ValueError(
            f"holds the lone surrogate U+{ord(value[bad.start]):04X} at character {bad.start}, which is not valid Unicode"
        ) from None
    return value


# Text of a request body that the catalog stores in a column: no NUL (PostgreSQL text cannot hold
# it), no lone surrogate (no database can encode one).
Text = Annotated[str, AfterValidator(_storable)]

# A row id in a request body: the databases hold 64-bit integers at most (SQLite refuses more with
# an error, not an answer).
RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]
# The same in a path (`/asset-triggers/{trigger_id}`).
PathRowId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def time_zone_parameter(value: str | None, name: str) -> ZoneInfo | None:
    """A query parameter naming an IANA time zone (`Europe/Berlin`, `UTC`); 422 naming it otherwise."""
    if value is None:
        return None
    try:
        return ZoneInfo(value)
    except (ValueError, OSError, ZoneInfoNotFoundError):  # malformed keys, directories, unknown zones
        raise HTTPException(
            422, f"query parameter {name}: {value[:80]!r} is not an IANA time zone such as Europe/Berlin or UTC"
        ) from None


def time_parameter(value: str | None, name: str) -> datetime | None:
    """A query parameter holding an ISO 8601 time, read as event times are; 422 naming it otherwise."""
    if value is None:
        return None
    if not value.isascii():  # Python would read other scripts' digits as digits
        raise HTTPException(422, f"query parameter {name}: {value[:40]!r} is not an ISO 8601 time (ASCII digits)")
    try:
        return parse_time(value)
    except TimeInvalid as exc:
        raise HTTPException(422, f"query parameter {name}: {exc}") from None


def node_id_parameter(value: str, kinds: tuple[str, ...], namespace: str | None = None) -> str:
    """A query parameter holding a node id of one of these kinds (with `namespace`, one of that
    namespace); 422 naming the parameter and saying what it takes otherwise."""
    try:
        readings(value, kinds, namespace)
    except NotOfNamespace as exc:
        raise HTTPException(422, f"query parameter namespace: {exc}") from None
    except NodeIdInvalid as exc:
        raise HTTPException(422, f"query parameter nodeId: {exc}") from None
    return value


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def date_parameter(value: str | None, name: str) -> datetime | None:
    """A query parameter holding a day (YYYY-MM-DD, as Marquez's search takes): its start, in UTC."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value) if _DAY.fullmatch(value) else None  # not 2026-W49-2, nor other digits
    except ValueError:
        day = None
    if day is None:
        raise HTTPException(422, f"query parameter {name}: {value[:40]!r} is not a day written YYYY-MM-DD")
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


class TagDescription(BaseModel):
    """The body of PUT /tags/{tag}, as Marquez takes it."""

    model_config = ConfigDict(extra="forbid")

    description: Text | None = Field(None, max_length=4000, description="What the tag means; null for none.")

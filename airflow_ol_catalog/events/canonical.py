"""Canonical JSON: the stored form of an event and the basis of duplicate detection."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from airflow_ol_catalog.events.decode import BodyError, nesting_depth

# msgspec (a dependency of Airflow's task SDK) encodes about six times faster than json.dumps.
_encoder = msgspec.json.Encoder(order="sorted")


def canonical_json(value: Any, max_depth: int) -> str:
    """Sorted keys, no insignificant white space, non-ASCII kept as UTF-8.

    `\\u0000` stays escaped in the text, so the stored form is safe for PostgreSQL text columns.
    Also enforces the nesting limit: an event cannot be deeper than it has brackets, so only
    events with many brackets are walked.
    """
    try:
        data = _encoder.encode(value)
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end].encode("unicode_escape").decode("ascii")
        raise BodyError(f"a string holds the lone surrogate {bad}, which is not valid Unicode") from None
    except RecursionError:
        raise BodyError(f"JSON nesting is deeper than the limit of {max_depth} levels") from None
    if data.count(b"[") + data.count(b"{") > max_depth and nesting_depth(value) > max_depth:
        raise BodyError(f"JSON nesting is deeper than the limit of {max_depth} levels")
    return data.decode("utf-8")


def event_digest(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


NUL_ESCAPE = "\\u0000"  # how canonical JSON writes a NUL character


def without_nul(value: Any) -> Any:
    """A copy of decoded JSON with every NUL in keys and strings replaced by U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    return value

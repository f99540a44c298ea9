"""Canonical JSON: the stored form of an event and the basis of duplicate detection."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from airflow_ol_catalog.events.decode import BodyError


def canonical_json(value: Any) -> str:
    """Sorted keys, no insignificant white space, non-ASCII kept as UTF-8.

    `\\u0000` stays escaped in the text, so the stored form is safe for PostgreSQL text columns.
    """
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start : exc.end].encode("unicode_escape").decode("ascii")
        raise BodyError(f"a string holds the lone surrogate {bad}, which is not valid Unicode") from None
    return text


def event_digest(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

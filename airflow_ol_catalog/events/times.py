"""Reading ISO 8601 date-times as the catalog stores them: timezone-aware, in UTC.

Producers are lenient about the format (no timezone, a space for the `T`, nanoseconds), so
reading is too; what cannot be a UTC instant the catalog can store (an offset beyond ±23:59 or
other than ±HH[:MM], a time that falls outside years 1-9999 once moved to UTC) is refused with
the reason.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(?:([Zz])|([+-])(\d{2}):?(\d{2})?)?",
    re.ASCII,  # digits 0-9 only, not the other scripts' (fullwidth ones, say) that \d takes otherwise
)


_OFFSET_END = re.compile(r"[+-][0-9]{2}(?::?[0-9]{2})?\Z")


class TimeInvalid(ValueError):
    """Not a date-time the catalog can store; the message says why, for the caller to show."""


def parse_time(text: str) -> datetime:
    """ISO 8601 date-time to an aware UTC datetime; a missing offset means UTC."""
    if "\x00" in text:  # CPython's fromisoformat stops reading at a NUL and would take the rest for valid
        raise TimeInvalid(f"{text[:64]!r} contains a NUL character")
    if len(text) >= 19 and text[10] in "Tt":
        try:  # the common case, in C (Python 3.11+ reads 'Z' and any fraction length)
            value = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if value.tzinfo is None:
                return _in_utc(value.replace(tzinfo=timezone.utc), text)
            if text[-1] not in "Zz" and not _OFFSET_END.search(text):
                # CPython reads `+00:00:00.5` and drops the offset's fraction: a time half a second off
                raise TimeInvalid(f"the offset of {text[:64]!r} is not ±HH:MM")
            return _in_utc(value, text)
    match = _TIMESTAMP.fullmatch(text.strip())
    if not match:
        raise TimeInvalid(f"expected an ISO 8601 date-time such as 2025-01-15T10:00:00Z, got {text[:64]!r}")
    year, month, day, hour, minute, second, fraction, _zulu, sign, off_h, off_m = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    if sign:
        offset = timedelta(hours=int(off_h), minutes=int(off_m or 0))
        if offset >= timedelta(hours=24):
            raise TimeInvalid(f"the offset {sign}{off_h}:{off_m or '00'} of {text[:64]!r} is beyond ±23:59")
        tz = timezone(-offset if sign == "-" else offset)
    try:
        value = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, tz)
    except ValueError as exc:
        raise TimeInvalid(f"{text[:64]!r} is not a valid ISO 8601 date-time ({exc})") from None
    return _in_utc(value, text)


def _in_utc(value: datetime, text: str) -> datetime:
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise TimeInvalid(f"{text[:64]!r} falls outside years 1-9999 in UTC") from None


def iso(value: datetime | None) -> str | None:
    """A stored time as the API writes it: ISO 8601 in UTC with `Z` (a driver may give another
    offset: PostgreSQL's session time zone, where a connection pooler does not keep the catalog's)."""
    if not value:
        return None
    if value.utcoffset():
        value = value.astimezone(timezone.utc)
    return value.isoformat().replace("+00:00", "Z")

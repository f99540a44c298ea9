"""Which failed sends no retry can fix: a destination's lasting refusal of an event (pure logic).

openlineage-python's http transport calls `raise_for_status()`, so a non-2xx answer arrives as
requests' `HTTPError`, whose `response` carries the status and the body. Only an HTTP 4xx other
than 408 (timeout), 425 (too early) and 429 (too many requests) is lasting: the same event will be
refused the same way. Everything else (connection errors, timeouts, 5xx, other transports such as
kafka or file raising) may work next time, so the event waits in the spool.
"""

from __future__ import annotations

from dataclasses import dataclass

RETRIABLE_CLIENT_ERRORS = frozenset({408, 425, 429})
ANSWER_CHARS = 1000


@dataclass(frozen=True)
class Refusal:
    status: int
    answer: str  # the body of the answer, truncated

    def __str__(self) -> str:
        return f"HTTP {self.status}: {self.answer}" if self.answer else f"HTTP {self.status}"


def truncated(text: str, limit: int = ANSWER_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit} more characters)"


def lasting_refusal(error: BaseException) -> Refusal | None:
    """The refusal in `error` if sending the event again cannot succeed, else None."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    if response is None or not isinstance(status, int) or not 400 <= status < 500 or status in RETRIABLE_CLIENT_ERRORS:
        return None
    try:
        body = response.text or ""
    except Exception:  # an answer that cannot be decoded still refused the event
        body = ""
    return Refusal(status, truncated(body))

"""Which failed sends no retry can fix: a destination's lasting refusal of an event (pure logic).

openlineage-python's http transport calls `raise_for_status()`, so a 4xx or 5xx answer arrives
as requests' `HTTPError`, whose `response` carries the status and the body; a 3xx answer, a
redirect that turned the POST into a GET, or one not followed for a client certificate, arrives
as `NotDelivered` (routing.py checks the answer). Only those redirects and an HTTP 4xx other
than 408 (timeout), 425 (too early) and 429 (too many requests) are lasting: the same event will
be answered the same way. Everything else
(connection errors, timeouts, 5xx, other transports such as kafka or file raising) may work next
time, so the event waits in the spool.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


class NotDelivered(Exception):
    """An HTTP destination answered a redirect the event did not follow: `response` is that answer."""

    def __init__(self, response: Any) -> None:
        self.response = response
        where = response.headers.get("Location") if response.headers is not None else None
        super().__init__(
            f"HTTP {response.status_code}"
            + (f", a redirect to {where}" if where else "")
            + ": the event was not delivered; set the destination's url to the address that takes it"
        )


def lasting_refusal(error: BaseException) -> Refusal | None:
    """The refusal in `error` if sending the event again cannot succeed, else None."""
    if isinstance(error, NotDelivered):
        return Refusal(error.response.status_code, truncated(str(error)))
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    if response is None or not isinstance(status, int) or not 400 <= status < 500 or status in RETRIABLE_CLIENT_ERRORS:
        return None
    return Refusal(status, truncated(_text(response)))


def _text(response: Any) -> str:
    """An answer's body as text: in the charset it names, else UTF-8 (requests reads text/* without
    one as Latin-1, which garbled `é` into `Ã©`); what cannot be decoded, replaced."""
    try:
        content = response.content or b""
        named = "charset=" in (response.headers.get("Content-Type") or "").lower()
    except Exception:  # an answer that cannot be read still refused the event
        return ""
    try:
        return content.decode(response.encoding if named and response.encoding else "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return content.decode("utf-8", errors="replace")

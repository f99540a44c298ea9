"""What a RunEvent's eventType does to its run, and the states the read API names (Marquez's).

A run's state is its highest-ranked event, whatever order events arrive in: START < RUNNING <
COMPLETE = FAIL = ABORT (ties: the later event time, then the name). OTHER changes nothing, so a
START retried after COMPLETE cannot reopen a run.
"""

from __future__ import annotations

from enum import Enum


class EventType(str, Enum):
    START = "START"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    ABORT = "ABORT"
    FAIL = "FAIL"
    OTHER = "OTHER"

    @property
    def rank(self) -> int:
        """0 changes no state; a run keeps the state of its highest rank."""
        return _RANKS[self]

    @property
    def ends_run(self) -> bool:
        return self.rank == TERMINAL_RANK

    @property
    def run_state(self) -> RunState:
        return RunState.of(self)


class RunState(str, Enum):
    """A run's state as the read API says it."""

    NEW = "NEW"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"

    @classmethod
    def of(cls, stored: str | None) -> RunState:
        """The state of a run whose state-setting event type is `stored` (None: no such event yet)."""
        return _STATES.get(stored, cls.NEW)

    def event_types(self) -> tuple[EventType, ...]:
        """The event types that leave a run in this state (none for NEW)."""
        return tuple(t for t in EventType if t.rank and _STATES[t] is self)


TERMINAL_RANK = 3
_RANKS = {
    EventType.START: 1,
    EventType.RUNNING: 2,
    EventType.COMPLETE: TERMINAL_RANK,
    EventType.FAIL: TERMINAL_RANK,
    EventType.ABORT: TERMINAL_RANK,
    EventType.OTHER: 0,
}
_STATES = {
    EventType.START: RunState.RUNNING,
    EventType.RUNNING: RunState.RUNNING,
    EventType.COMPLETE: RunState.COMPLETED,
    EventType.FAIL: RunState.FAILED,
    EventType.ABORT: RunState.ABORTED,
}

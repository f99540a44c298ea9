"""Run states: what each eventType does to its run, and the states the read API names."""

from __future__ import annotations

import pytest

from airflow_ol_catalog.events.run_states import TERMINAL_RANK, EventType, RunState
from airflow_ol_catalog.events.validate import EVENT_TYPES


def test_terminal_events_outrank_running_which_outranks_start_and_other_ranks_nothing():
    assert EventType.OTHER.rank == 0 < EventType.START.rank < EventType.RUNNING.rank < TERMINAL_RANK
    assert {t for t in EventType if t.rank == TERMINAL_RANK} == {EventType.COMPLETE, EventType.FAIL, EventType.ABORT}
    assert [t for t in EventType if t.ends_run] == [EventType.COMPLETE, EventType.ABORT, EventType.FAIL]


@pytest.mark.parametrize(
    ("stored", "state"),
    [
        ("START", RunState.RUNNING),
        ("RUNNING", RunState.RUNNING),
        ("COMPLETE", RunState.COMPLETED),
        ("FAIL", RunState.FAILED),
        ("ABORT", RunState.ABORTED),
        (None, RunState.NEW),
    ],
)
def test_a_stored_event_type_reads_as_marquez_names_the_state(stored, state):
    assert RunState.of(stored) is state


def test_each_state_lists_the_event_types_that_leave_a_run_in_it():
    assert RunState.RUNNING.event_types() == (EventType.START, EventType.RUNNING)
    assert RunState.COMPLETED.event_types() == (EventType.COMPLETE,)
    assert RunState.NEW.event_types() == ()
    covered = [t for state in RunState for t in state.event_types()]
    assert sorted(covered) == sorted(t for t in EventType if t.rank)  # every state-setting type, once


def test_validation_accepts_exactly_the_event_types():
    assert set(EVENT_TYPES) == {t.value for t in EventType}

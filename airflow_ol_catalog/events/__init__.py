"""The OpenLineage event model and the catalog's vocabulary: decode, validate, canonicalise; node ids,
run states, what a request may find missing. Pure logic, no project imports; the one exception is
metrics.py, which hands counts to Airflow's Stats, so that every layer (the transport too) may count.

The names below load on first use: a task process whose transport needs only `run_states` or
`metrics` does not pay for the validator and the event model."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_ol_catalog.events.decode import BodyError, decode_json
    from airflow_ol_catalog.events.model import DatasetRef, OpenLineageEvent, Problem
    from airflow_ol_catalog.events.validate import EventInvalid, validate_event

_HOMES = {
    "BodyError": "decode",
    "decode_json": "decode",
    "DatasetRef": "model",
    "OpenLineageEvent": "model",
    "Problem": "model",
    "EventInvalid": "validate",
    "validate_event": "validate",
}

__all__ = [
    "BodyError",
    "DatasetRef",
    "EventInvalid",
    "OpenLineageEvent",
    "Problem",
    "decode_json",
    "validate_event",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value

"""The OpenLineage event model and the catalog's vocabulary: decode, validate, canonicalise; node ids,
run states, what a request may find missing. Pure logic, no project imports; the one exception is
metrics.py, which hands counts to Airflow's Stats, so that every layer (the transport too) may count."""

from airflow_ol_catalog.events.decode import BodyError, decode_json
from airflow_ol_catalog.events.model import DatasetRef, OpenLineageEvent, Problem
from airflow_ol_catalog.events.validate import EventInvalid, validate_event

__all__ = [
    "BodyError",
    "DatasetRef",
    "EventInvalid",
    "OpenLineageEvent",
    "Problem",
    "decode_json",
    "validate_event",
]

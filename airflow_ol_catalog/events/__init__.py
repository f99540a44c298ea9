"""The OpenLineage event model: decode, validate, canonicalise. Pure logic, no I/O, no project imports."""

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

"""What a namespace-limited token may change in the catalog.

A token limited to namespaces sends events whose owner namespace (the job's, or a DatasetEvent's
dataset's) is one of them. Such an event may say that its job read and wrote any dataset: the
edges, the run's inputs and outputs and the column lineage it states are recorded whatever the
datasets' namespaces, because they are the job's own statement. It may not change what a
dataset outside its namespaces is: that dataset's facets (schema, documentation, ownership,
input and output facets), its schema versions and its identity (symlinks) are not taken from
the event, and its sighting sets the namespace's spelling and first sighting shown only while no
other sender has named the dataset (ingest/projection.py `_dataset_rows`). Nor may it create or link jobs outside its namespaces: a parent facet naming a job
elsewhere is not projected (the raw event keeps it). Dataset namespaces match by their match key,
so `postgres://db` in a token covers `postgresql://DB:5432`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from airflow_ol_catalog.events.model import DATASET_EVENT, OpenLineageEvent
from airflow_ol_catalog.events.naming import namespace_key


@dataclass(frozen=True)
class Scope:
    namespaces: frozenset[str]
    _dataset_keys: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_dataset_keys", frozenset(namespace_key(name) for name in self.namespaces))

    def allows_job(self, namespace: str) -> bool:
        return namespace in self.namespaces

    def allows_dataset(self, namespace: str) -> bool:
        return namespace in self.namespaces or namespace_key(namespace) in self._dataset_keys

    def allows_owner(self, ev: OpenLineageEvent) -> bool:
        """May send this event at all: its job's namespace, or its dataset's for a DatasetEvent."""
        if ev.kind == DATASET_EVENT:
            return self.allows_dataset(ev.owner_namespace)
        return self.allows_job(ev.owner_namespace)

"""Structural validation of OpenLineage events: strict on what the catalog relies on, lenient elsewhere.

Real producers send `dataSource.uri: "bigquery"`, event times without a timezone and run ids
that are not UUIDs; all of that is accepted. Unknown facets are kept verbatim. What the
catalog reads (identifiers, event type and time, the standard facets it interprets) must have
the right shape, and every problem found is reported with its path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow_ol_catalog.events.facet_checks import facet_problems
from airflow_ol_catalog.events.facet_registry import PLACES, facets_at
from airflow_ol_catalog.events.model import (
    DATASET_EVENT,
    JOB_EVENT,
    RUN_EVENT,
    DatasetRef,
    OpenLineageEvent,
    Problem,
)
from airflow_ol_catalog.events.run_states import EventType
from airflow_ol_catalog.events.times import TimeInvalid, parse_time

EVENT_TYPES = tuple(t.value for t in EventType)
_KNOWN = {place: facets_at(place) for place in PLACES}  # the facets checked against their schemas, by place
# Identifiers end up in indexed columns; PostgreSQL's btree keys must stay well under 2.7 KB.
MAX_IDENTIFIER_BYTES = 1024
MAX_FACET_NAME = 200
# A dataset has a name or three (a path, the table over it); each new link settles an identity.
MAX_SYMLINKS_PER_DATASET = 100
MAX_SYMLINKS_PER_EVENT = 1000
# The columns these land in (store/tables.py; a test keeps them equal).
MAX_INTEGRATION = 64
MAX_TRANSFORMATION_TYPE = 16
MAX_TRANSFORMATION_SUBTYPE = 64

# Integrations recognised from the producer URI when the job has no jobType facet.
_PRODUCER_INTEGRATIONS = (
    ("spark", "SPARK"),
    ("flink", "FLINK"),
    ("dbt", "DBT"),
    ("airflow", "AIRFLOW"),
    ("great_expectations", "GREAT_EXPECTATIONS"),
    ("great-expectations", "GREAT_EXPECTATIONS"),
    ("trino", "TRINO"),
    ("hive", "HIVE"),
)


def identifier_problem(value: str) -> str | None:
    """What makes this text no identifier (a namespace, a job's or a dataset's name), or None."""
    if not value.strip():
        return "must not be empty"
    if value in (".", ".."):
        # a path segment of the read API (/namespaces/NS/jobs/NAME) that every HTTP client, browsers
        # first, reads as this directory or its parent, even written %2E: no URL could address it
        return f"{value!r} names no URL: HTTP clients read it as a directory, so it could never be read back"
    if "\x00" in value:
        return "contains a NUL character (\\u0000), which identifiers cannot hold"
    if len(value.encode("utf-8", "surrogatepass")) > MAX_IDENTIFIER_BYTES:
        return f"is longer than {MAX_IDENTIFIER_BYTES} bytes"
    return None


class EventInvalid(ValueError):
    """An event that does not have the structure of an OpenLineage event (answered with 422)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}.get(
        type(value), type(value).__name__
    )


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []  # facets that break their published schema: kept, reported
        self.unused: set[str] = set()  # `job.NAME`, `run.NAME`: such facets the catalog does not read
        self.broken: list[tuple[str, Problem]] = []  # (`PLACE.NAME`, its first problem) per facet that broke
        self.symlinks = 0  # identifiers named by the event's symlinks facets so far

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def obj(self, value: Any, path: str, required: bool = True) -> dict[str, Any] | None:
        if value is None and not required:
            return None
        if not isinstance(value, dict):
            self.fail(path, f"expected an object, got {_type_name(value)}" if value is not None else "is required")
            return None
        return value

    def identifier(self, value: Any, path: str) -> str | None:
        if not isinstance(value, str):
            self.fail(path, "is required" if value is None else f"expected a string, got {_type_name(value)}")
            return None
        problem = identifier_problem(value)
        if problem is not None:
            self.fail(path, problem)
            return None
        return value

    def optional_string(self, value: Any, path: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(path, f"expected a string, got {_type_name(value)}")
            return None
        return value

    def facets(self, value: Any, path: str) -> dict[str, Any]:
        """A facet container: an object whose members are objects (null members are ignored)."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(path, f"expected an object of facets, got {_type_name(value)}")
            return {}
        for name, facet in value.items():
            if len(name) > MAX_FACET_NAME:
                self.fail(f"{path}.{name[:40]}…", f"a facet name may have at most {MAX_FACET_NAME} characters")
            elif facet is not None and not isinstance(facet, dict):
                self.fail(f"{path}.{name}", f"a facet must be an object, got {_type_name(facet)}")
        return {name: facet for name, facet in value.items() if isinstance(facet, dict)}

    def dataset(self, value: Any, path: str) -> DatasetRef | None:
        body = self.obj(value, path)
        if body is None:
            return None
        namespace = self.identifier(body.get("namespace"), f"{path}.namespace")
        name = self.identifier(body.get("name"), f"{path}.name")
        facets = self.facets(body.get("facets"), f"{path}.facets")
        self._schema_facet(facets.get("schema"), f"{path}.facets.schema")
        self._symlinks_facet(facets.get("symlinks"), f"{path}.facets.symlinks")
        self.column_lineage(facets.get("columnLineage"), f"{path}.facets.columnLineage", "inputFields", "dataset")
        self.column_lineage(facets.get("lineage"), f"{path}.facets.lineage", "inputs", "inputs")
        io_facets: dict[str, Any] = {}
        for extra, place in (("inputFacets", "input"), ("outputFacets", "output")):
            if body.get(extra) is not None:  # most datasets have neither
                sent = self.facets(body[extra], f"{path}.{extra}")
                io_facets.update(self.usable(sent, place, f"{path}.{extra}"))
        if namespace is None or name is None:
            return None
        return DatasetRef(namespace, name, self.usable(facets, "dataset", f"{path}.facets"), io_facets)

    def schema_warnings(self, facets: dict[str, Any], place: str, path: str) -> set[str]:
        """Warn of each known facet that breaks its published schema; the names of those the
        catalog reads whole, which it will not read then (events/facet_registry.py)."""
        unusable = set()
        known = _KNOWN[place]
        for name, value in facets.items():
            spec = known.get(name)
            if spec is None or not isinstance(value, dict) or value.get("_deleted") is True:
                continue  # unknown; refused already; or the spec's mark of a deleted facet
            problems = facet_problems(spec.schema, value, f"{path}.{name}")
            if problems:
                found = [
                    Problem(where, f"{message} ({spec.schema.__name__} {spec.version})") for where, message in problems
                ]
                self.warnings.extend(found)
                self.broken.append((f"{place}.{name}", found[0]))
                if spec.whole:
                    unusable.add(name)
        return unusable

    def usable(self, facets: dict[str, Any], place: str, path: str) -> dict[str, Any]:
        """The facets, less those read whole that break their schema."""
        if not facets:
            return facets
        unusable = self.schema_warnings(facets, place, path)
        return {k: v for k, v in facets.items() if k not in unusable} if unusable else facets

    def datasets(self, value: Any, path: str) -> tuple[DatasetRef, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail(path, f"expected an array of datasets, got {_type_name(value)}")
            return ()
        refs = (self.dataset(item, f"{path}[{i}]") for i, item in enumerate(value))
        return tuple(ref for ref in refs if ref is not None)

    def _schema_facet(self, facet: dict[str, Any] | None, path: str) -> None:
        if facet is None:
            return
        fields = facet.get("fields")
        if fields is None:
            return
        if not isinstance(fields, list):
            self.fail(f"{path}.fields", f"expected an array, got {_type_name(fields)}")
            return
        for i, item in enumerate(fields):
            if not isinstance(item, dict):
                self.fail(f"{path}.fields[{i}]", f"expected an object, got {_type_name(item)}")
            elif not isinstance(item.get("name"), str):
                self.fail(f"{path}.fields[{i}].name", "a schema field needs a string name")

    def _symlinks_facet(self, facet: dict[str, Any] | None, path: str) -> None:
        """Other names of the dataset: each becomes an alias of one dataset identity, so each must be a name."""
        identifiers = facet.get("identifiers") if facet is not None else None
        if identifiers is None:
            return
        if not isinstance(identifiers, list):
            self.fail(f"{path}.identifiers", f"expected an array, got {_type_name(identifiers)}")
            return
        self.symlinks += len(identifiers)
        if len(identifiers) > MAX_SYMLINKS_PER_DATASET:
            self.fail(
                f"{path}.identifiers",
                f"names {len(identifiers)} other names; a dataset may have at most {MAX_SYMLINKS_PER_DATASET}",
            )
            return
        if self.symlinks > MAX_SYMLINKS_PER_EVENT:
            self.fail(
                f"{path}.identifiers",
                f"the event's symlinks facets name more than {MAX_SYMLINKS_PER_EVENT} other names in all",
            )
            return
        for i, item in enumerate(identifiers):
            if self.obj(item, f"{path}.identifiers[{i}]") is not None:
                self.identifier(item.get("namespace"), f"{path}.identifiers[{i}].namespace")
                self.identifier(item.get("name"), f"{path}.identifiers[{i}].name")
                self.optional_string(item.get("type"), f"{path}.identifiers[{i}].type")

    def column_lineage(self, facet: Any, path: str, inputs_key: str, dataset_key: str) -> None:
        """What the catalog stores of a column-lineage facet: field names, the datasets read, transformations.

        The rest of the facet is read leniently (a part of the wrong shape is skipped), but
        what is stored must fit its column, or the database would refuse the whole event.
        """
        if not isinstance(facet, dict):
            return
        fields = facet.get("fields")
        for name, spec in fields.items() if isinstance(fields, dict) else ():
            self.field_name(name, f"{path}.fields")
            if isinstance(spec, dict) and isinstance(spec.get(inputs_key), list):
                for i, source in enumerate(spec[inputs_key]):
                    self.lineage_source(source, f"{path}.fields.{name[:64]}.{inputs_key}[{i}]")
        if isinstance(facet.get(dataset_key), list):
            for i, source in enumerate(facet[dataset_key]):
                self.lineage_source(source, f"{path}.{dataset_key}[{i}]")

    def lineage_source(self, source: Any, path: str) -> None:
        if (
            not isinstance(source, dict)
            or not isinstance(source.get("namespace"), str)
            or not isinstance(source.get("name"), str)
        ):
            return  # not a dataset: skipped by the projection
        self.identifier(source["namespace"], f"{path}.namespace")
        self.identifier(source["name"], f"{path}.name")
        if isinstance(source.get("field"), str):
            self.field_name(source["field"], f"{path}.field")
        transformations = source.get("transformations")
        for i, item in enumerate(transformations if isinstance(transformations, list) else ()):
            if isinstance(item, dict):
                self.short_string(item.get("type"), f"{path}.transformations[{i}].type", MAX_TRANSFORMATION_TYPE)
                self.short_string(
                    item.get("subtype"), f"{path}.transformations[{i}].subtype", MAX_TRANSFORMATION_SUBTYPE
                )
        self.short_string(source.get("transformationType"), f"{path}.transformationType", MAX_TRANSFORMATION_TYPE)

    def declared_lineage(self, facet: Any, path: str) -> None:
        """A job's `lineage` facet: its `entries`, targets each with the inputs that feed it."""
        entries = facet.get("entries") if isinstance(facet, dict) else None
        for i, entry in enumerate(entries if isinstance(entries, list) else ()):
            self.lineage_source(entry, f"{path}.entries[{i}]")
            self.column_lineage(entry, f"{path}.entries[{i}]", "inputs", "inputs")

    def field_name(self, value: str, path: str) -> None:
        if len(value.encode("utf-8", "surrogatepass")) > MAX_IDENTIFIER_BYTES:
            self.fail(path, f"the field name {value[:40]!r}… is longer than {MAX_IDENTIFIER_BYTES} bytes")

    def short_string(self, value: Any, path: str, limit: int) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            self.fail(path, f"expected a string, got {_type_name(value)}")
        elif len(value) > limit:
            self.fail(path, f"may have at most {limit} characters, got {len(value)}")

    def job_type(self, facets: dict[str, Any], path: str) -> str | None:
        facet = facets.get("jobType")
        if facet is None:
            return None
        for key in ("integration", "jobType", "processingType"):
            self.optional_string(facet.get(key), f"{path}.jobType.{key}")
        if isinstance(facet.get("integration"), str):
            self.short_string(facet["integration"], f"{path}.jobType.integration", MAX_INTEGRATION)
        integration = facet.get("integration")
        return integration.strip().upper() if isinstance(integration, str) and integration.strip() else None

    def parent(self, facets: dict[str, Any], path: str) -> None:
        facet = facets.get("parent")
        if facet is None:
            return
        run = self.obj(facet.get("run"), f"{path}.parent.run")
        if run is not None:
            self.identifier(run.get("runId"), f"{path}.parent.run.runId")
        job = self.obj(facet.get("job"), f"{path}.parent.job")
        if job is not None:
            self.identifier(job.get("namespace"), f"{path}.parent.job.namespace")
            self.identifier(job.get("name"), f"{path}.parent.job.name")


def _integration_from_producer(producer: str) -> str | None:
    lowered = producer.lower()
    for hint, integration in _PRODUCER_INTEGRATIONS:
        if hint in lowered:
            return integration
    return None


def _kind_of(payload: dict[str, Any]) -> str | None:
    """Which event the payload is, by what it holds: a RunEvent's parts (its run, or its eventType
    with a job) make it one, even with a part missing, which is then refused naming that part."""
    if "run" in payload or ("job" in payload and "eventType" in payload):
        return RUN_EVENT
    if "dataset" in payload:
        return DATASET_EVENT
    if "job" in payload:
        return JOB_EVENT
    return None


def validate_event(payload: Any, latest: datetime | None = None) -> OpenLineageEvent:
    """Check one decoded event and read out what the catalog needs; raise EventInvalid otherwise.

    `latest`: the latest event time accepted (the server's clock plus the allowed skew); a facet
    newer than every later event would otherwise stay in place for good.
    """
    if not isinstance(payload, dict):
        hint = " (send arrays of events to the /batch endpoint)" if isinstance(payload, list) else ""
        raise EventInvalid([Problem("$", f"expected an OpenLineage event object, got {_type_name(payload)}{hint}")])
    kind = _kind_of(payload)
    if kind is None:
        raise EventInvalid(
            [
                Problem(
                    "$",
                    "not an OpenLineage event: a RunEvent has `run` and `job`, a DatasetEvent `dataset`, "
                    "a JobEvent `job`",
                )
            ]
        )
    check = _Checker()

    event_time = None
    raw_time = payload.get("eventTime")
    if isinstance(raw_time, str):
        try:
            event_time = parse_time(raw_time)
        except TimeInvalid as exc:
            check.fail("eventTime", str(exc))
        else:
            if latest is not None and event_time > latest:
                check.fail(
                    "eventTime",
                    f"{raw_time[:64]!r} is ahead of the server's clock by more than the catalog accepts ({latest:%Y-%m-%dT%H:%M:%SZ} is the latest)",
                )
                event_time = None
    else:
        check.fail("eventTime", "is required" if raw_time is None else f"expected a string, got {_type_name(raw_time)}")

    producer = check.identifier(payload.get("producer"), "producer")
    schema_url = check.optional_string(payload.get("schemaURL"), "schemaURL")

    event_type = None
    raw_type = payload.get("eventType")
    if raw_type is not None:
        if isinstance(raw_type, str) and raw_type.strip().upper() in EVENT_TYPES:
            event_type = raw_type.strip().upper()
        else:
            check.fail("eventType", f"expected one of {', '.join(EVENT_TYPES)}, got {raw_type!r}"[:200])
    elif kind == RUN_EVENT:
        event_type = "OTHER"  # the spec makes eventType optional; without it a run event changes no state

    run_id = job_namespace = job_name = integration = None
    dataset = None
    if kind in (RUN_EVENT, JOB_EVENT):
        job = check.obj(payload.get("job"), "job")
        if job is not None:
            job_namespace = check.identifier(job.get("namespace"), "job.namespace")
            job_name = check.identifier(job.get("name"), "job.name")
            job_facets = check.facets(job.get("facets"), "job.facets")
            if job_facets:
                check.unused |= {f"job.{name}" for name in check.schema_warnings(job_facets, "job", "job.facets")}
            integration = check.job_type(job_facets, "job.facets")
            check.declared_lineage(job_facets.get("lineage"), "job.facets.lineage")
    if kind == RUN_EVENT:
        run = check.obj(payload.get("run"), "run")
        if run is not None:
            run_id = check.identifier(run.get("runId"), "run.runId")
            run_facets = check.facets(run.get("facets"), "run.facets")
            if run_facets:
                check.unused |= {f"run.{name}" for name in check.schema_warnings(run_facets, "run", "run.facets")}
            check.parent(run_facets, "run.facets")
    if kind == DATASET_EVENT:
        dataset = check.dataset(payload.get("dataset"), "dataset")
    inputs = check.datasets(payload.get("inputs"), "inputs")
    outputs = check.datasets(payload.get("outputs"), "outputs")

    if check.problems:
        raise EventInvalid(check.problems)
    assert event_time is not None and producer is not None
    return OpenLineageEvent(
        kind=kind,
        event_type=event_type if kind == RUN_EVENT else None,
        event_time=event_time,
        producer=producer,
        schema_url=schema_url,
        run_id=run_id,
        job_namespace=job_namespace,
        job_name=job_name,
        dataset=dataset,
        inputs=inputs,
        outputs=outputs,
        integration=integration or _integration_from_producer(producer),
        payload=payload,
        warnings=tuple(check.warnings),
        unused_facets=frozenset(check.unused),
        broken_facets=tuple(check.broken),
    )

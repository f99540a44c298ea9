"""What facets say flows between datasets and jobs: the explicit `lineage` facet (LineageFacet
1-0-0) and the `columnLineage` facet it evolves.

A job's facet (`job.facets.lineage`, LineageJobFacet) lists `entries`: each names a target (a
dataset, or a job) and the `inputs` that feed it (datasets, with a field or not, and jobs); a
dataset target may also map its `fields` to inputs. A dataset's facet (`facets.lineage`,
LineageDatasetFacet) has the same `inputs` and `fields`, for the dataset it sits on. A job with
neither namespace nor name is the event's own job. On a RunEvent the job's facet is what the run
observed; on a JobEvent, what the job is declared to do.

Parts of the wrong shape are skipped, not guessed at: a target or input without its identity,
a job with a namespace and no name, a type other than DATASET or JOB.

`columnLineage` (ColumnLineageDatasetFacet) maps an output's `fields` to `inputFields`, and lists
`dataset` inputs that affect the whole output (1-2-0); its inputs are always datasets.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from airflow_ol_catalog.events.validate import identifier_problem

DATASET = "DATASET"
JOB = "JOB"


class Entity(NamedTuple):
    """A dataset or a job an entry names; `run_id` only for a job, when the producer bound the run."""

    kind: str  # DATASET or JOB
    namespace: str
    name: str
    run_id: str | None = None


class Transformation(NamedTuple):
    type: str  # DIRECT, INDIRECT, ... ("" when the producer sent none)
    subtype: str  # IDENTITY, AGGREGATION, FILTER, ... ("" when none)
    description: str | None
    masking: bool


class Flow(NamedTuple):
    """Data flowing from `source` (its `source_field`, or "" for all of it) into `target` (likewise)."""

    source: Entity
    source_field: str
    target: Entity
    target_field: str
    transformations: tuple[Transformation, ...]  # () when none was stated


def transformations_of(source: dict[str, Any], field_spec: dict[str, Any] | None = None) -> tuple[Transformation, ...]:
    """The transformations an input states (`transformations`). Column lineage before 1-1-0 put one
    on the field (`transformationType`, `transformationDescription`), for all its inputs."""
    found = source.get("transformations")
    items = [t for t in found if isinstance(t, dict)] if isinstance(found, list) else []
    if items:
        return tuple(
            Transformation(
                _text(item.get("type")),
                _text(item.get("subtype")),
                item["description"] if isinstance(item.get("description"), str) else None,
                item.get("masking") is True,
            )
            for item in items
        )
    for holder in (source, field_spec or {}):
        legacy = _legacy(holder.get("transformationType"), holder.get("transformationDescription"))
        if legacy:
            return (legacy,)
    return ()


def _legacy(kind: Any, description: Any) -> Transformation | None:
    """A `transformationType` of column lineage before 1-1-0 in today's terms: IDENTITY (the same
    value) and MASKED (no original data left) were its values, both a value taken from the input;
    an empty one (as Airflow's SQL parser sends) says nothing. DIRECT and INDIRECT, which some
    producers put there, keep their meaning; any other word is a DIRECT way of that name."""
    if not isinstance(kind, str) or not kind.strip():
        return None
    said = description if isinstance(description, str) and description else None
    word = kind.strip().upper()
    if word == "IDENTITY":
        return Transformation("DIRECT", "IDENTITY", said, False)
    if word == "MASKED":
        return Transformation("DIRECT", "TRANSFORMATION", said, True)
    if word in ("DIRECT", "INDIRECT"):
        return Transformation(word, "", said, False)
    return Transformation("DIRECT", word, said, False)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def entity(item: Any, own_job: Entity | None) -> Entity | None:
    """The dataset or job an entry or input names; the event's own job for a job named by neither
    namespace nor name; None for anything else."""
    if not isinstance(item, dict):
        return None
    kind = item.get("type", DATASET)
    kind = kind.upper() if isinstance(kind, str) else None
    namespace, name = item.get("namespace"), item.get("name")
    if kind == DATASET:
        return Entity(DATASET, namespace, name) if isinstance(namespace, str) and isinstance(name, str) else None
    if kind != JOB:
        return None
    run_id = item.get("runId") if isinstance(item.get("runId"), str) and item.get("runId") else None
    if isinstance(namespace, str) and isinstance(name, str):
        return Entity(JOB, namespace, name, run_id)
    if namespace is None and name is None and own_job is not None:
        return own_job if run_id is None else own_job._replace(run_id=run_id)
    return None


def _flows_into(target: Entity, spec: dict[str, Any], own_job: Entity | None) -> list[Flow]:
    """The flows of one target: its `inputs`, and for a dataset each of its `fields`' inputs."""
    flows = []
    inputs = spec.get("inputs")
    for item in inputs if isinstance(inputs, list) else ():
        source = entity(item, own_job)
        if source is not None:
            field = item.get("field") if source.kind == DATASET and isinstance(item.get("field"), str) else ""
            flows.append(Flow(source, field, target, "", transformations_of(item)))
    fields = spec.get("fields") if target.kind == DATASET else None
    for target_field, field_spec in fields.items() if isinstance(fields, dict) else ():
        if not target_field or not isinstance(field_spec, dict) or not isinstance(field_spec.get("inputs"), list):
            continue
        for item in field_spec["inputs"]:
            source = entity(item, own_job)
            if source is not None:
                field = item.get("field") if source.kind == DATASET and isinstance(item.get("field"), str) else ""
                flows.append(Flow(source, field, target, target_field, transformations_of(item)))
    return flows


def job_facet_flows(facet: Any, own_job: Entity | None) -> list[Flow] | None:
    """The flows of a job's `lineage` facet; None when the job has no such facet (or not an object
    with `entries`): then column lineage and the inputs and outputs say what flows."""
    entries = facet.get("entries") if isinstance(facet, dict) else None
    if not isinstance(entries, list):
        return None
    flows = []
    for item in entries:
        target = entity(item, own_job)
        if target is not None:
            flows += _flows_into(target, item, own_job)
    return flows


def dataset_facet_flows(facet: Any, target: Entity, own_job: Entity | None) -> list[Flow]:
    """The flows of a dataset's `lineage` facet into that dataset."""
    return _flows_into(target, facet, own_job) if isinstance(facet, dict) else []


def column_lineage_flows(facet: Any, target: Entity) -> list[Flow]:
    """The flows a `columnLineage` facet states into its dataset."""
    if not isinstance(facet, dict):
        return []
    flows = []
    fields = facet.get("fields")
    for target_field, spec in fields.items() if isinstance(fields, dict) else ():
        inputs = spec.get("inputFields") if isinstance(spec, dict) else None
        for item in inputs if target_field and isinstance(inputs, list) else ():
            source = entity(item, None)
            if source is not None and source.kind == DATASET:
                field = item.get("field") if isinstance(item.get("field"), str) else ""
                flows.append(Flow(source, field, target, target_field, transformations_of(item, spec)))
    whole = facet.get("dataset")
    for item in whole if isinstance(whole, list) else ():
        source = entity(item, None)
        if source is not None and source.kind == DATASET:
            field = item.get("field") if isinstance(item.get("field"), str) else ""
            flows.append(Flow(source, field, target, "", transformations_of(item)))
    return flows


def named_in(flows: list[Flow]) -> set[Entity]:
    """Every dataset and job the flows name (jobs without their run)."""
    return {e._replace(run_id=None) for f in flows for e in (f.source, f.target)}


class Dependency(NamedTuple):
    """A run of `upstream` must end before a run of `downstream` starts (JobDependenciesRunFacet):
    control flow, not data, so kept apart from the flows between datasets and jobs."""

    upstream: Entity  # jobs, each with the run when the facet named it
    downstream: Entity
    rules: dict[str, str]  # dependency_type, sequence_trigger_rule, status_trigger_rule, trigger_rule, as sent


_RULES = ("dependency_type", "sequence_trigger_rule", "status_trigger_rule")


def usable_names(*values: Any) -> bool:
    """Whether each is a name the catalog takes for a job: a string that is an identifier as
    validate.py holds a job's own names (`identifier_problem`: not blank, no NUL, not `.` or `..`,
    at most MAX_IDENTIFIER_BYTES)."""
    return all(isinstance(v, str) and identifier_problem(v) is None for v in values)


def job_dependencies(facet: Any, own_job: Entity) -> list[Dependency]:
    """The `upstream` and `downstream` job runs of a run's `jobDependencies` facet."""
    if not isinstance(facet, dict):
        return []
    found = []
    overall = facet.get("trigger_rule") if isinstance(facet.get("trigger_rule"), str) else None
    for side in ("upstream", "downstream"):
        items = facet.get(side)
        for item in items if isinstance(items, list) else ():
            job = item.get("job") if isinstance(item, dict) else None
            if not isinstance(job, dict) or not usable_names(job.get("namespace"), job.get("name")):
                continue  # a job the catalog could not name (absent, blank, too long)
            run = item.get("run")
            run_id = run.get("runId") if isinstance(run, dict) and isinstance(run.get("runId"), str) else None
            other = Entity(JOB, job["namespace"], job["name"], run_id or None)
            rules = {key: item[key] for key in _RULES if isinstance(item.get(key), str)}
            if overall and side == "upstream":
                rules["trigger_rule"] = overall  # the rule this run waits on its upstream runs by
            found.append(Dependency(other, own_job, rules) if side == "upstream" else Dependency(own_job, other, rules))
    return found

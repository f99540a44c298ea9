"""Which destinations an event goes to, and what each destination's rewrite does to it (pure logic)."""

from __future__ import annotations

import copy
import fnmatch
from collections import Counter
from dataclasses import dataclass
from typing import Any

from airflow_ol_catalog.transport.config import Rewrite, RoutingSettings, Rule


def event_kind(event: dict[str, Any]) -> str:
    """The event's type for routing: a RunEvent's eventType, else DATASET or JOB."""
    if "run" in event:
        return str(event.get("eventType") or "OTHER").upper()
    return "DATASET" if "dataset" in event else "JOB"


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _facts(event: dict[str, Any]) -> dict[str, list[str]]:
    # An event of any shape is routed (one the receiver refuses is its dead letter, not lost here):
    # what is not an object where the spec has one reads as absent.
    job = _object(event.get("job"))
    job_type = _object(_object(job.get("facets")).get("jobType"))
    datasets = [d for side in ("inputs", "outputs") for d in _list(event.get(side)) if isinstance(d, dict)]
    if isinstance(event.get("dataset"), dict):
        datasets.append(event["dataset"])

    def one(value: Any) -> list[str]:
        return [value] if isinstance(value, str) else []

    return {
        "job_namespace": one(job.get("namespace")),
        "job_name": one(job.get("name")),
        "integration": [v.upper() for v in one(job_type.get("integration"))],
        "job_type": [v.upper() for v in one(job_type.get("jobType"))],
        "processing_type": [v.upper() for v in one(job_type.get("processingType"))],
        "event_type": [event_kind(event)],
        "dataset_namespace": [d["namespace"] for d in datasets if isinstance(d.get("namespace"), str)],
        "producer": one(event.get("producer")),
    }


_CASELESS = {"integration", "job_type", "processing_type", "event_type"}


def rule_matches(rule: Rule, facts: dict[str, list[str]]) -> bool:
    """Every criterion must hold; a criterion holds when any of its patterns matches any of the event's values."""
    for key, patterns in rule.match.items():
        values = facts[key]
        if key in _CASELESS:
            patterns = tuple(p.upper() for p in patterns)
        if not any(fnmatch.fnmatchcase(value, pattern) for value in values for pattern in patterns):
            return False
    return True


@dataclass(frozen=True)
class Decision:
    matched: tuple[int, ...]  # indexes of the routes that matched and were applied
    destinations: tuple[str, ...]
    by_default: bool  # no route ended the walk: the default destinations are among them


def route(settings: RoutingSettings, event: dict[str, Any]) -> Decision:
    """Routes apply in order; one without `continue: true` ends the walk. A walk no route ended
    (nothing matched, or only routes that continue) goes to the default destinations too:
    `continue` adds destinations, it does not take the default away."""
    facts = _facts(event)
    matched: list[int] = []
    destinations: list[str] = []
    ended = False
    for rule in settings.rules:
        if rule_matches(rule, facts):
            matched.append(rule.index)
            destinations.extend(d for d in rule.to if d not in destinations)
            if not rule.proceed:
                ended = True
                break
    if ended:
        return Decision(tuple(matched), tuple(destinations), False)
    destinations.extend(d for d in settings.default if d not in destinations)
    return Decision(tuple(matched), tuple(destinations), True)


def sends(rewrite: Rewrite, event: dict[str, Any]) -> bool:
    return rewrite.event_types is None or event_kind(event) in rewrite.event_types


def _new_namespace(rewrite: Rewrite, namespace: Any) -> Any:
    if isinstance(namespace, str):
        for pattern, replacement in rewrite.job_namespace.items():
            if fnmatch.fnmatchcase(namespace, pattern):
                return replacement
    return namespace


def _drop(facets: Any, names: tuple[str, ...]) -> None:
    if isinstance(facets, dict):
        for name in names:
            facets.pop(name, None)


def apply_rewrite(rewrite: Rewrite, event: dict[str, Any]) -> dict[str, Any]:
    """A rewritten copy: job namespace replaced (in the job and the parent/root facets), facets dropped."""
    if not rewrite.changes_events:
        return event
    out = copy.deepcopy(event)
    job = out.get("job")
    if isinstance(job, dict):
        job["namespace"] = _new_namespace(rewrite, job.get("namespace"))
    run_facets = (out.get("run") or {}).get("facets") if isinstance(out.get("run"), dict) else None
    parent = run_facets.get("parent") if isinstance(run_facets, dict) else None
    if isinstance(parent, dict):
        for holder in (parent, parent.get("root")):
            if isinstance(holder, dict) and isinstance(holder.get("job"), dict):
                holder["job"]["namespace"] = _new_namespace(rewrite, holder["job"].get("namespace"))
    if rewrite.drop_facets:
        _drop(run_facets, rewrite.drop_facets)
        _drop(job.get("facets") if isinstance(job, dict) else None, rewrite.drop_facets)
        datasets = [d for side in ("inputs", "outputs") for d in _list(out.get(side))] + (
            [out["dataset"]] if isinstance(out.get("dataset"), dict) else []
        )
        for dataset in datasets:
            if isinstance(dataset, dict):
                for key in ("facets", "inputFacets", "outputFacets"):
                    _drop(dataset.get(key), rewrite.drop_facets)
    return out


def explain(settings: RoutingSettings, event: dict[str, Any]) -> list[str]:
    """Human-readable lines: the routes that matched, the destinations, and what each rewrite changes."""
    decision = route(settings, event)
    lines = []
    if decision.by_default and not decision.matched:
        lines.append(f"no route matched: the default destinations {list(decision.destinations)}")
    elif decision.by_default:
        lines.append(f"no route ended the walk: the default destinations {list(settings.default)} too")
    for index in decision.matched:
        rule = settings.rules[index]
        lines.append(
            f"route {index} matched ({', '.join(f'{k}={list(v)}' for k, v in rule.match.items()) or 'everything'}) -> {list(rule.to)}"
            + (" and continues" if rule.proceed else "")
        )
    for name in decision.destinations:
        rewrite = settings.destinations[name].rewrite
        if not sends(rewrite, event):
            lines.append(f"{name}: not sent (only {', '.join(rewrite.event_types or ())} events)")
            continue
        changes = _changes(event, apply_rewrite(rewrite, event))
        lines.append(f"{name}: sent" + (f" with {'; '.join(changes)}" if changes else " unchanged"))
    return lines


def _job_namespaces(event: dict[str, Any]) -> dict[str, Any]:
    """The job namespaces a rewrite may change: the job's, and its parent's and root's (parent facet)."""
    run_facets = event["run"].get("facets") if isinstance(event.get("run"), dict) else None
    parent = run_facets.get("parent") if isinstance(run_facets, dict) else None
    holders = {"job": event, "parent job": parent, "root job": parent.get("root") if isinstance(parent, dict) else None}
    return {
        where: holder["job"].get("namespace")
        for where, holder in holders.items()
        if isinstance(holder, dict) and isinstance(holder.get("job"), dict)
    }


def _facet_names(event: dict[str, Any]) -> Counter[str]:
    """How many times each facet name appears where a rewrite drops facets."""
    run, job = event.get("run"), event.get("job")
    holders = [
        run.get("facets") if isinstance(run, dict) else None,
        job.get("facets") if isinstance(job, dict) else None,
    ]
    datasets = [d for side in ("inputs", "outputs") for d in _list(event.get(side))] + [event.get("dataset")]
    holders += [
        d.get(key) for d in datasets if isinstance(d, dict) for key in ("facets", "inputFacets", "outputFacets")
    ]
    return Counter(name for facets in holders if isinstance(facets, dict) for name in facets)


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What a rewrite changed in this event: namespaces it replaced, facets it found and dropped."""
    old, new = _job_namespaces(before), _job_namespaces(after)
    changes = [f"{where} namespace {old[where]!r} -> {new[where]!r}" for where in old if old[where] != new.get(where)]
    dropped = _facet_names(before) - _facet_names(after)
    if dropped:
        changes.append(f"facets dropped: {', '.join(sorted(dropped))}")
    return changes

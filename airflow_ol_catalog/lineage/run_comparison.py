"""Two runs side by side, as a user asks after a run went wrong: what did this run do differently
from the one before? Durations and states, the datasets each read and wrote, the rows, bytes and
files each measured, and the run and job facets whose values differ."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from airflow_ol_catalog.lineage.catalog import job_facets_sent, run_row, runs_view
from airflow_ol_catalog.lineage.measurements import run_measurements


def _refs(view: dict[str, Any], side: str) -> dict[tuple[str, str], dict[str, str]]:
    return {(d["namespace"], d["name"]): d for d in view[side]}


def _sides(before: dict[str, Any], after: dict[str, Any], side: str) -> dict[str, list[dict[str, str]]]:
    was, now = _refs(before, side), _refs(after, side)
    return {
        "added": [now[k] for k in sorted(now.keys() - was.keys())],
        "removed": [was[k] for k in sorted(was.keys() - now.keys())],
        "kept": [now[k] for k in sorted(now.keys() & was.keys())],
    }


def _changed_facets(kind: str, before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"kind": kind, "name": name, "before": before.get(name), "after": after.get(name)}
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    ]


def compare_runs(conn: Connection, run_id: str, other_id: str) -> dict[str, Any]:
    """How run `run_id` differs from run `other_id` (RunNotFound when either is unknown)."""
    after, before = runs_view(conn, [run_row(conn, run_id), run_row(conn, other_id)])

    def sent(view: dict[str, Any]) -> tuple[str, str, str]:
        return view["id"], view["jobVersion"]["namespace"], view["jobVersion"]["name"]

    measured_before, measured_after = run_measurements(conn, *sent(before)), run_measurements(conn, *sent(after))
    measurements = [
        {
            "side": side,
            "dataset": {"namespace": namespace, "name": name},
            "before": measured_before.get((side, namespace, name)),
            "after": measured_after.get((side, namespace, name)),
        }
        for side, namespace, name in sorted(measured_before.keys() | measured_after.keys())
    ]
    return {
        "run": after,
        "other": before,
        "inputs": _sides(before, after, "inputs"),
        "outputs": _sides(before, after, "outputs"),
        "measurements": measurements,
        "facets": _changed_facets("run", before["facets"], after["facets"])
        + _changed_facets("job", job_facets_sent(conn, *sent(before)), job_facets_sent(conn, *sent(after))),
    }

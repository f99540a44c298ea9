"""What metrics relies on in Airflow: private modules, pinned here so that an upgrade that moves them fails."""

from __future__ import annotations

import importlib

import pytest

from airflow_ol_catalog.events import metrics


@pytest.mark.parametrize("name", metrics.STATS_MODULES)
def test_airflow_still_has_the_stats_modules_metrics_reads(name):
    module = importlib.import_module(name)
    assert hasattr(module, "_factory") and hasattr(module.Stats, "incr") and hasattr(module.Stats, "timing")


def test_a_process_that_initialised_stats_is_counted_through_its_stats(monkeypatch):
    sent = []

    class Recorder:
        @staticmethod
        def incr(name, count, tags):
            sent.append((name, count, tags))

    module = importlib.import_module(metrics.STATS_MODULES[1])
    monkeypatch.setattr(module, "_factory", object())
    monkeypatch.setattr(module, "Stats", Recorder)
    monkeypatch.setattr(metrics, "_found", None)
    metrics.incr("events.accepted", 2, tags={"namespace": "a"})
    assert sent == [("ol_catalog.events.accepted", 2, {"namespace": "a"})]

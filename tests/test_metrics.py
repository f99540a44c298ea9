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


def test_a_stats_class_keeping_its_own_factory_counts_as_initialised_without_building_a_logger(monkeypatch):
    """Airflow 3.2 keeps the factory on the Stats class (set by `initialize`), not in the module: the
    module's `_factory` was looked for alone, and the API server's metrics were dropped there. The
    class is asked through its own attributes: its metaclass builds a logger for any other."""
    sent, built = [], []

    class Building(type):
        def __getattr__(cls, name):
            built.append(name)
            raise AttributeError(name)

    class Stats(metaclass=Building):
        factory = object()  # as Airflow 3.2's Stats.initialize leaves it

        @staticmethod
        def incr(name, count, tags):
            sent.append((name, count, tags))

    module = importlib.import_module(metrics.STATS_MODULES[0])
    monkeypatch.setattr(module, "_factory", None, raising=False)
    monkeypatch.setattr(module, "Stats", Stats)
    monkeypatch.setattr(metrics, "_found", None)
    metrics.incr("events.accepted", 1)
    assert sent == [("ol_catalog.events.accepted", 1, {})] and built == []

    class NotInitialised(metaclass=Building):
        pass

    monkeypatch.setattr(module, "Stats", NotInitialised)
    monkeypatch.setattr(metrics, "_found", None)
    assert metrics._initialised(module) is False and built == []

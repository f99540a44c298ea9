"""The plugin's lazily built app (built on the first request, then the loaded heap is frozen) and the
provider's configuration reference."""

from __future__ import annotations

import asyncio
import gc
import weakref
from datetime import timedelta
from types import SimpleNamespace

import pytest

from airflow_ol_catalog import plugin


class _App:
    def __init__(self, gc_freeze: bool) -> None:
        self.state = SimpleNamespace(settings=SimpleNamespace(gc_freeze=gc_freeze))
        self.calls = 0

    async def __call__(self, scope, receive, send) -> None:
        self.calls += 1


@pytest.fixture(autouse=True)
def _unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def _serve_twice(monkeypatch, app: _App) -> int:
    from airflow_ol_catalog.api import app as app_module

    built = []
    monkeypatch.setattr(app_module, "create_app", lambda: built.append(app) or app)
    lazy = plugin._LazyCatalogApp()
    assert built == [] and gc.get_freeze_count() == 0  # nothing happens at import or plugin load
    for _ in range(2):
        asyncio.run(lazy({"type": "http"}, None, None))
    assert built == [app] and app.calls == 2
    return gc.get_freeze_count()


class _Node:
    pass


def test_first_request_builds_the_app_once_and_freezes_the_loaded_heap(monkeypatch):
    garbage = _Node()
    garbage.me = garbage  # a reference cycle: collected before the freeze, not kept by it
    gone = weakref.ref(garbage)
    del garbage
    assert _serve_twice(monkeypatch, _App(gc_freeze=True)) > 0
    assert gone() is None


def test_gc_freeze_false_leaves_the_collector_alone(monkeypatch):
    assert _serve_twice(monkeypatch, _App(gc_freeze=False)) == 0


def test_every_option_is_documented_and_read_into_the_settings():
    from dataclasses import fields

    from airflow_ol_catalog.config import CatalogSettings, load_settings
    from airflow_ol_catalog.provider import SECTION, get_provider_info

    options = get_provider_info()["config"][SECTION]["options"]
    for name, option in options.items():
        assert option["description"].strip() and option["example"] and option["version_added"], name
        assert option["type"] in ("string", "integer", "boolean") and isinstance(option["default"], str), name
    assert options["sql_alchemy_conn"]["sensitive"] is True
    assert {f.name for f in fields(CatalogSettings)} == set(options)
    settings = load_settings()
    assert settings.gc_freeze is True and settings.max_graph_nodes == int(options["max_graph_nodes"]["default"])


def test_an_asset_tab_only_where_airflow_has_the_asset_destination(monkeypatch):
    """Feature-detected, not version-pinned: Airflow 3.3 has no plugin destination on Asset pages."""
    import sys
    from typing import Literal

    import fastapi  # noqa: F401 - the API server has loaded it when it loads plugins

    assert plugin._has_asset_destination() is False
    newer = SimpleNamespace(BaseDestinationLiteral=Literal["nav", "dag", "dag_run", "task", "task_instance", "asset"])
    monkeypatch.setitem(sys.modules, "airflow.api_fastapi.core_api.datamodels.plugins", newer)
    assert plugin._has_asset_destination() is True
    assert plugin.ASSET_VIEW["destination"] == "asset" and "{ASSET_ID}" in plugin.ASSET_VIEW["href"]
    monkeypatch.delitem(sys.modules, "fastapi")
    assert plugin._has_asset_destination() is False  # a task process: no pages, no imports


def test_a_json_depth_the_read_api_could_not_answer_is_lowered_to_what_it_can(monkeypatch, caplog):
    """JSON answers nest at most 255 levels and hold an event's facets a few levels deeper than the
    event: a limit over 200 would let one accepted event make reads answer 500. The old default,
    500, kept in a config, is lowered with a warning (stopping would stop Airflow's API server)."""
    from airflow_ol_catalog.config import load_settings

    monkeypatch.setenv("AIRFLOW__OL_CATALOG__MAX_JSON_DEPTH", "500")
    with caplog.at_level("WARNING"):
        assert load_settings().max_json_depth == 200
    assert "max_json_depth = 500 is more than the read API's answers can hold" in caplog.text
    monkeypatch.setenv("AIRFLOW__OL_CATALOG__MAX_JSON_DEPTH", "64")
    assert load_settings().max_json_depth == 64
    monkeypatch.setenv("AIRFLOW__OL_CATALOG__MAX_JSON_DEPTH", "0")
    with pytest.raises(ValueError, match="max_json_depth = 0: expected 1 to 200"):
        load_settings()


def test_an_event_time_limit_past_what_dates_hold_is_lowered_and_a_negative_one_refused(monkeypatch, caplog):
    """`max_future_seconds = 999999999999` started the API server, and every event then answered
    500 (the limit overflowed a date). It is lowered to a century, with a warning; a negative one
    stops with the option named."""
    from airflow_ol_catalog.config import MAX_FUTURE_SECONDS, load_settings
    from airflow_ol_catalog.store.sql import utcnow

    monkeypatch.setenv("AIRFLOW__OL_CATALOG__MAX_FUTURE_SECONDS", "999999999999")
    with caplog.at_level("WARNING"):
        settings = load_settings()
    assert settings.max_future_seconds == MAX_FUTURE_SECONDS
    assert "max_future_seconds = 999999999999 is more than 100 years" in caplog.text
    assert (utcnow() + timedelta(seconds=settings.max_future_seconds)).year < 9999
    monkeypatch.setenv("AIRFLOW__OL_CATALOG__MAX_FUTURE_SECONDS", "-1")
    with pytest.raises(ValueError, match="max_future_seconds = -1: expected 0 or more seconds"):
        load_settings()

"""Metrics through Airflow's Stats (StatsD or OpenTelemetry, whatever Airflow is configured with).

Every layer counts through this one module, the transport too, which may import nothing of the
project but events/: so it lives here, importing nothing of the project and Airflow only when
called. A metric that cannot be sent never breaks the work it measures.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

log = logging.getLogger(__name__)


_found = None
_unusable = False  # importing Airflow's Stats raised other than ImportError: metrics are dropped

# Airflow has no public way to ask which of its two Stats singletons a process initialised, so
# this reads private modules and their factory (`_initialised`); tests/test_metrics.py fails should
# a release move or rename them (metrics would otherwise be dropped without a word).
STATS_MODULES = ("airflow._shared.observability.metrics.stats", "airflow.sdk._shared.observability.metrics.stats")


def _stats() -> Any:  # Airflow's Stats singleton: untyped, and found at run time
    """The Stats module this process initialised: the API server's (core), else the task SDK's.

    Airflow keeps two copies of its Stats singleton; each process initialises the one it uses
    (the API server at start-up, task processes when they run). Until one is, metrics are
    dropped, so the choice is looked up again on each call until then.
    """
    global _found
    if _found is not None:
        return _found
    modules = []
    global _unusable
    if _unusable:
        return None
    if "airflow" not in sys.modules:
        # A process that has not loaded Airflow (a script emitting through the routing transport)
        # initialised no Stats: importing Airflow here took the first emit a second past its bound.
        return None
    for name in STATS_MODULES:
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            continue
        except Exception:  # outside Airflow, an import that fails configuring Airflow: not tried again
            _unusable = True
            return None
    for module in modules:
        if _initialised(module):
            _found = module.Stats
            return _found
    try:  # Airflow 3.1
        from airflow.stats import Stats
    except ImportError:
        return None
    except Exception:  # as above: a metric never stops what it counts
        _unusable = True
        return None
    return Stats


def _initialised(module: Any) -> bool:
    """Whether this process initialised the Stats of this module: its factory is set, kept by the
    module (Airflow 3.3) or, in Airflow 3.2, by the Stats class itself (read from the class's own
    attributes: asking the class for one it lacks would make its metaclass build a logger)."""
    if getattr(module, "_factory", None) is not None:
        return True
    return vars(getattr(module, "Stats", object)).get("factory") is not None


def incr(name: str, count: int = 1, tags: dict[str, str] | None = None) -> None:
    stats = _stats()
    if stats is not None and count:
        try:
            stats.incr(f"ol_catalog.{name}", count, tags=tags or {})
        except Exception:
            log.debug("metric %s not sent", name, exc_info=True)


def timing(name: str, milliseconds: float, tags: dict[str, str] | None = None) -> None:
    stats = _stats()
    if stats is not None:
        try:
            stats.timing(f"ol_catalog.{name}", milliseconds, tags=tags or {})
        except Exception:
            log.debug("metric %s not sent", name, exc_info=True)

"""Keeping the lineage views that graphs showed up to date after writes, in the API server.

The event writer tells `written` which jobs and datasets each of its commits wrote (ingest/writer.py
`committed`). A thread of its own, a moment later (writes come in bursts, and one build serves them
all), builds again those of their views this process keeps for graphs it showed lately (at most
`view_cache_size`; lineage/graph.py `refresh_views`), in memory and in the database, so that the
next graph showing them reads them ready instead of building them while someone waits. Views no
graph has shown lately are left until one does: building a view for every write would cost the
write path more than it does itself. What this misses (a write made outside the API server's
writer, more ids than `MAX_PENDING` waiting) is built by the first graph that needs it, as before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection

from sqlalchemy import Engine

from airflow_ol_catalog.lineage.graph import refresh_views

log = logging.getLogger(__name__)

REFRESH_DELAY_SECONDS = 1.0
MAX_PENDING = 100_000  # job or dataset ids waiting per catalog; later ones are left to the graphs


class ViewRefresher:
    def __init__(self, delay: float = REFRESH_DELAY_SECONDS) -> None:
        self.delay = delay
        self._pending: dict[Engine, tuple[set[int], set[int], set[int]]] = {}
        self._changed = threading.Condition()
        self._busy = False
        self._thread: threading.Thread | None = None
        self.refreshed = 0  # views built again since the process started

    def written(
        self, engine: Engine, jobs: Collection[int], datasets: Collection[int], jobs_using: Collection[int]
    ) -> None:
        """Called after a commit wrote these jobs and datasets (and changed the readers and writers
        of `jobs_using`); returns at once."""
        if not (jobs or datasets or jobs_using):
            return
        with self._changed:
            pending = self._pending.setdefault(engine, (set(), set(), set()))
            for waiting, new in zip(pending, (jobs, datasets, jobs_using), strict=True):
                if len(waiting) < MAX_PENDING:
                    waiting.update(new)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="ol-catalog-view-refresh", daemon=True)
                self._thread.start()
            self._changed.notify_all()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: bool(self._pending))
            time.sleep(self.delay)  # the rest of a burst of writes joins this round
            with self._changed:
                work, self._pending, self._busy = self._pending, {}, True
            try:
                for engine, (jobs, datasets, jobs_using) in work.items():
                    try:
                        self.refreshed += refresh_views(engine, jobs, datasets, jobs_using)
                    except Exception as failure:  # the graphs that need these views build them
                        log.warning(
                            "lineage: views of %d jobs and %d datasets not refreshed: %s",
                            len(jobs),
                            len(datasets),
                            failure,
                        )
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()

    def flush(self, timeout: float = 60) -> bool:
        """Wait until the views of every write told so far are refreshed; False if that took longer."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._pending and not self._busy, timeout)


# The API server's: its writer's commits reach it (api/app.py).
view_refresher = ViewRefresher()

"""Keeping lineage views ready after writes, in the API server (and in a command that replays
quarantined events, which waits for them).

The event writer tells `written` which jobs and datasets each of its commits wrote (ingest/writer.py
`committed`). A thread of its own, a moment later (writes come in bursts, and one build serves them
all), builds again those of their views this process keeps for graphs it showed lately (at most
`view_cache_size`; lineage/graph.py `refresh_views`), in memory and in the database, so that the
next graph showing them reads them ready instead of building them while someone waits.

The views of the other jobs and datasets written (`[ol_catalog] view_prebuild`) are built next, into
the database only, a batch at a time and only while no new write has come in since the round
began: building a view costs more than the write that changed it, so a burst of writes shares the
process with one small batch a round at most (about 5 ms a second on SQLite, 12 on PostgreSQL, so
that a steady stream of writes does not starve it), and the rest is built in the pauses between
bursts. The first graph that shows them then reads them. Quarantined events replayed outside the
writer tell it too (ingest/writer.py `told_transaction`). What this misses (more ids than
`MAX_PENDING` waiting, a view generation bumped by a rare catalog-wide change such as a tag or
retention, a database that failed a batch) is built by the first graph that needs it, as always.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Collection

from sqlalchemy import Engine

from airflow_ol_catalog.lineage.graph import prebuild_views, refresh_views

log = logging.getLogger(__name__)

REFRESH_DELAY_SECONDS = 1.0
MAX_PENDING = 100_000  # job or dataset ids waiting per catalog; later ones are left to the graphs
# Views built ahead per transaction: 50 in a pause between bursts of writes (about 25 ms on SQLite),
# 10 while writes keep coming (a round's one batch then, so that they do not starve it).
PREBUILD_BATCH = 50
PREBUILD_BATCH_WHILE_WRITING = 10


class ViewRefresher:
    def __init__(self, delay: float = REFRESH_DELAY_SECONDS, prebuild: bool = True) -> None:
        self.delay = delay
        self.prebuild = prebuild
        self._pending: dict[Engine, tuple[set[int], set[int], set[int]]] = {}
        # jobs and datasets written whose views no graph showed lately, to build ahead of graphs
        self._backlog: dict[Engine, tuple[set[int], set[int]]] = {}
        self._changed = threading.Condition()
        self._busy = False
        self._thread: threading.Thread | None = None
        self._turn = False  # whether jobs take the next batch built ahead
        self.refreshed = self.prebuilt = 0  # views built again, and built ahead, since the process started

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
                _add(waiting, new)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="ol-catalog-view-refresh", daemon=True)
                self._thread.start()
            self._changed.notify_all()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: bool(self._pending or self._backlog))
            time.sleep(self.delay)  # the rest of a burst of writes joins this round
            with self._changed:
                work, self._pending, self._busy = self._pending, {}, True
            try:
                for engine, (jobs, datasets, jobs_using) in work.items():
                    self._refresh(engine, jobs, datasets, jobs_using)
                self._build_ahead()
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()

    def _refresh(self, engine: Engine, jobs: set[int], datasets: set[int], jobs_using: set[int]) -> None:
        try:
            built, other_jobs, other_datasets = refresh_views(engine, jobs, datasets, jobs_using)
        except Exception as failure:  # the graphs that need these views build them
            log.warning(
                "lineage: views of %d jobs and %d datasets not refreshed: %s", len(jobs), len(datasets), failure
            )
            return
        self.refreshed += built
        if self.prebuild and (other_jobs or other_datasets):
            with self._changed:
                backlog = self._backlog.setdefault(engine, (set(), set()))
                _add(backlog[0], other_jobs)
                _add(backlog[1], other_datasets)

    def _build_ahead(self) -> None:
        """Views of the backlog, a batch per transaction, until a write comes in (one batch at least).
        Batches take turns between catalogs and between jobs and datasets, so that a steady stream
        of one kind does not hold back the other."""
        first = True
        while True:
            with self._changed:
                if not self._backlog or (self._pending and not first):
                    return
                engine, (jobs, datasets) = next(iter(self._backlog.items()))
                self._turn = not self._turn
                kind, ids = ("JOB", jobs) if jobs and (self._turn or not datasets) else ("DATASET", datasets)
                size = PREBUILD_BATCH_WHILE_WRITING if self._pending else PREBUILD_BATCH
                batch = [ids.pop() for _ in range(min(size, len(ids)))]
                self._backlog[engine] = self._backlog.pop(engine)  # to the end: the next catalog's turn
                if not jobs and not datasets:
                    del self._backlog[engine]
            first = False
            try:
                self.prebuilt += prebuild_views(engine, kind, batch)
            except Exception as failure:  # the first graphs that show them build them
                with self._changed:
                    left = self._backlog.pop(engine, (set(), set()))
                log.warning(
                    "lineage: views of %d jobs and datasets not built ahead: %s",
                    len(batch) + len(left[0]) + len(left[1]),
                    failure,
                )

    def flush(self, timeout: float = 60) -> bool:
        """Wait until the views of every write told so far are refreshed and built ahead; False if that
        took longer."""
        with self._changed:
            return self._changed.wait_for(lambda: not (self._pending or self._backlog or self._busy), timeout)


def _add(waiting: set[int], new: Collection[int]) -> None:
    room = MAX_PENDING - len(waiting)
    if room >= len(new):
        waiting.update(new)
    elif room > 0:
        waiting.update(itertools.islice(new, room))


# The API server's: its writer's commits reach it (api/app.py); so do a replay command's (cli_commands.py).
view_refresher = ViewRefresher()

"""Job and dataset views kept between requests, for the nodes of lineage graphs.

A graph of a thousand jobs carries each job as its own route answers it, with its latest run, that
run's job version and the dataset versions it read and wrote: building those views is most of the
work of a deep graph, and most of them are the same from one request to the next. So a view, once
built, is kept twice: in this process (the newest `size`, ready to send) and in the database
(store/node_views; every API-server process and every restart finds it there), both under its row's
`view_stamp` and the catalog's view generation (read once per request, before the rows;
store/view_stamps: every write that changes a view bumps one or the other), and used while both are
unchanged. Views are kept as the JSON the API sends, so a graph's answer is written from them
without parsing them again.

A view found here is never older than the state its key was read in: rows are read before their
views are built, so a write that lands in between makes the kept view newer than its key, which
only means a later request builds it again. With `check` on (`[ol_catalog] view_cache_check`, set
by the test suite), every view used from either place is built again and compared, and a
difference is an error: a write that changes a view without bumping its key shows up as a failing
test.

Views built by a request go to the database from a thread of their own (`flush` waits for it), so
that a read never waits for the database's writer: a view that could not be stored is built again
by the next process that needs it.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from airflow_ol_catalog.store.engine import write_transaction
from airflow_ol_catalog.store.node_views import StoredView, store_views, stored_views
from airflow_ol_catalog.store.sql import AnyRow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NodeView:
    """A job's or dataset's view as the API writes it, and what a graph needs of it without parsing it."""

    body: bytes  # JSON
    temporary: bool = False  # a dataset that is only a job's passing output

    def value(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


Build = Callable[[Connection, Sequence[AnyRow]], list[NodeView]]

# Views waiting for the database, in batches (one per call of `views`): beyond this many, new ones
# are not stored (the next process that needs them builds them).
PENDING_BATCHES = 16
# Views written per transaction (about 600 KB of jobs), and on SQLite the pause between two.
WRITE_CHUNK = 100
WRITE_PAUSE_SECONDS = 0.02


class StaleView(AssertionError):
    """A kept view differs from one built now: a write changed it without bumping its key."""


# The views a process keeps weigh this much at most, however many `size` allows: a dataset of a
# thousand columns has a view of about 300 KB, and 10,000 of them would hold 3 GB.
MAX_KEPT_BYTES = 256 * 1024 * 1024


class ViewCache:
    def __init__(self, size: int = 10_000, check: bool = False) -> None:
        self.size = size
        self.check = check
        self._views: OrderedDict[tuple[str, str, int], tuple[tuple[int, int], NodeView]] = OrderedDict()
        self._bytes = 0  # of the views kept
        self._lock = threading.Lock()
        self._pending: queue.Queue[tuple[Engine, str, list[StoredView]]] = queue.Queue(PENDING_BATCHES)
        self._writer: threading.Thread | None = None
        # since the process started: views kept in this process, read from the database, built
        self.hits = self.stored = self.misses = 0

    def configure(self, size: int, check: bool) -> None:
        with self._lock:
            self.size, self.check = size, check
            self._evict()

    def clear(self) -> None:
        """Forget the views kept in this process (the database's stay)."""
        with self._lock:
            self._views.clear()
            self._bytes = 0

    def _evict(self) -> None:
        """Drop the least recently used views past `size` or MAX_KEPT_BYTES (the lock held)."""
        while self._views and (len(self._views) > self.size or self._bytes > MAX_KEPT_BYTES):
            _, (_, view) = self._views.popitem(last=False)
            self._bytes -= len(view.body)

    def __len__(self) -> int:
        return len(self._views)

    @property
    def kept_bytes(self) -> int:
        """What the views kept in this process weigh (their JSON)."""
        return self._bytes

    def views(
        self, conn: Connection, kind: str, rows: Sequence[AnyRow], build: Build, generation: int
    ) -> list[NodeView]:
        """The views of these rows (each has `id` and `view_stamp`): kept in this process, else stored
        in the database, where their keys still hold; else built, and then kept in both."""
        database = conn.engine.url.render_as_string()  # one process may read several catalogs
        found: dict[int, NodeView] = {}  # by position in `rows`
        with self._lock:
            for i, row in enumerate(rows):
                kept = self._views.get((database, kind, row.id))
                if kept is not None and kept[0] == (row.view_stamp, generation):
                    self._views.move_to_end((database, kind, row.id))
                    found[i] = kept[1]
        missing = [i for i in range(len(rows)) if i not in found]
        stored = stored_views(conn, kind, [rows[i].id for i in missing])
        for i in missing:
            view = stored.get(rows[i].id)
            if view is not None and _current(view, rows[i], generation):
                found[i] = NodeView(view.body, view.temporary)
        unbuilt = [i for i in missing if i not in found]
        if unbuilt:
            found.update(zip(unbuilt, build(conn, [rows[i] for i in unbuilt]), strict=True))
            made = [(rows[i], found[i]) for i in unbuilt]
            self._store(conn.engine, kind, _as_stored(made, generation))
        with self._lock:
            self.hits += len(rows) - len(missing)
            self.stored += len(missing) - len(unbuilt)
            self.misses += len(unbuilt)
        self._keep(database, kind, [(rows[i], found[i]) for i in missing], generation)
        if self.check:
            self._check(conn, kind, rows, found, set(unbuilt), build)
        return [found[i] for i in range(len(rows))]

    def held(self, database: str, kind: str, ids: Collection[int]) -> list[int]:
        """Those of these ids whose views this process keeps (graphs showed them lately), under any key."""
        with self._lock:
            return [i for i in ids if (database, kind, i) in self._views]

    def refresh(self, conn: Connection, kind: str, rows: Sequence[AnyRow], build: Build, generation: int) -> int:
        """Build again the views of these rows that this process keeps under an older key, and keep
        them here and, before returning, in the database (for a thread that keeps views up to date
        after writes, not for a request). Returns how many it built."""
        database = conn.engine.url.render_as_string()
        with self._lock:
            stale = [
                r
                for r in rows
                if (kept := self._views.get((database, kind, r.id))) is not None
                and kept[0] != (r.view_stamp, generation)
            ]
        if not stale:
            return 0
        made = list(zip(stale, build(conn, stale), strict=True))
        self._keep(database, kind, made, generation)
        _write_views(conn.engine, kind, _as_stored(made, generation))
        return len(made)

    def prepare(self, conn: Connection, kind: str, rows: Sequence[AnyRow], build: Build, generation: int) -> int:
        """Build the views of these rows that the database does not hold under their current key, and
        store them there, before returning (for a thread that builds views before any graph asks for
        them, not for a request). This process keeps none of them in memory: the graphs it shows
        choose those. Returns how many it built."""
        stored = stored_views(conn, kind, [r.id for r in rows])
        stale = [r for r in rows if (view := stored.get(r.id)) is None or not _current(view, r, generation)]
        if not stale:
            return 0
        made = zip(stale, build(conn, stale), strict=True)
        _write_views(conn.engine, kind, _as_stored(made, generation))
        return len(stale)

    def _keep(self, database: str, kind: str, made: list[tuple[AnyRow, NodeView]], generation: int) -> None:
        with self._lock:
            if self.size > 0:
                for row, view in made:
                    key = (database, kind, row.id)
                    replaced = self._views.get(key)
                    self._bytes += len(view.body) - (len(replaced[1].body) if replaced is not None else 0)
                    self._views[key] = ((row.view_stamp, generation), view)
                    self._views.move_to_end(key)
                self._evict()

    def _check(
        self,
        conn: Connection,
        kind: str,
        rows: Sequence[AnyRow],
        found: dict[int, NodeView],
        built: set[int],
        build: Build,
    ) -> None:
        reused = [i for i in range(len(rows)) if i not in built]
        for i, fresh in zip(reused, build(conn, [rows[i] for i in reused]) if reused else [], strict=True):
            if found[i] != fresh:
                raise StaleView(
                    f"the kept {kind} view of row {rows[i].id} differs from one built now: {_diff(found[i], fresh)}"
                )

    def _store(self, engine: Engine, kind: str, views: list[StoredView]) -> None:
        try:
            self._pending.put_nowait((engine, kind, views))
        except queue.Full:
            return  # the writer is behind: the next process that needs these builds them
        with self._lock:
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(target=self._write, name="ol-catalog-node-views", daemon=True)
                self._writer.start()

    def _write(self) -> None:
        while True:
            engine, kind, views = self._pending.get()
            try:
                _write_views(engine, kind, views)
            except Exception as failure:  # a view not stored is built again when next needed
                log.warning("lineage: %d %s views not kept in the database: %s", len(views), kind.lower(), failure)
            finally:
                self._pending.task_done()

    def flush(self) -> None:
        """Wait until every view built so far is in the database (or failed to get there)."""
        self._pending.join()


def _current(view: StoredView, row: AnyRow, generation: int) -> bool:
    """Whether a stored view was built from the row as it is now (its stamp) under this generation."""
    return (view.view_stamp, view.generation) == (row.view_stamp, generation)


def _as_stored(made: Iterable[tuple[AnyRow, NodeView]], generation: int) -> list[StoredView]:
    return [StoredView(r.id, r.view_stamp, generation, v.temporary, v.body) for r, v in made]


def _write_views(engine: Engine, kind: str, views: list[StoredView]) -> None:
    """Into the database in short transactions: on SQLite each holds the one write lock the event
    writer needs, which then gets it between two of them."""
    for start in range(0, len(views), WRITE_CHUNK):
        if start and engine.dialect.name == "sqlite":
            time.sleep(WRITE_PAUSE_SECONDS)
        with write_transaction(engine) as conn:
            store_views(conn, kind, views[start : start + WRITE_CHUNK])


def _diff(kept: NodeView, fresh: NodeView) -> str:
    old, new = kept.value(), fresh.value()
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    changed = "; ".join(f"{k}: kept {old.get(k)!r:.200}, now {new.get(k)!r:.200}" for k in keys)
    return changed or f"temporary: kept {kept.temporary}, now {fresh.temporary}"


# The API server's: lineage graphs describe their nodes through it.
node_views = ViewCache()

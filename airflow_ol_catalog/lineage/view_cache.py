"""Job and dataset views kept between requests, for the nodes of lineage graphs.

A graph of a thousand jobs carries each job as its own route answers it, with its latest run, that
run's job version and the dataset versions it read and wrote: building those views is most of the
work of a deep graph, and most of them are the same from one request to the next. A view is kept
under its row's `view_stamp` and the catalog's view generation (read once per request, before the
rows; store/view_stamps: every write that changes a view bumps one or the other) and used while
both are unchanged.

A view found here is never older than the state its key was read in: rows are read before their
views are built, so a write that lands in between makes the kept view newer than its key, which
only means a later request builds it again. With `check` on (`[ol_catalog] view_cache_check`, set
by the test suite), every view used from here is built again and compared, and a difference is an
error: a write that changes a view without bumping its key shows up as a failing test.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection

from airflow_ol_catalog.store.sql import AnyRow

View = dict[str, Any]
Build = Callable[[Connection, Sequence[AnyRow]], list[View]]


class StaleView(AssertionError):
    """A kept view differs from the one built now: a write changed it without bumping its key."""


class ViewCache:
    def __init__(self, size: int = 10_000, check: bool = False) -> None:
        self.size = size
        self.check = check
        self._views: OrderedDict[tuple[str, str, int], tuple[tuple[int, int], View]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0  # since the process started

    def configure(self, size: int, check: bool) -> None:
        with self._lock:
            self.size, self.check = size, check
            while len(self._views) > size:
                self._views.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._views.clear()

    def __len__(self) -> int:
        return len(self._views)

    def views(self, conn: Connection, kind: str, rows: Sequence[AnyRow], build: Build, generation: int) -> list[View]:
        """The views of these rows (each has `id` and `view_stamp`), kept ones where their keys still hold.

        The views are shared between requests: callers copy before they change one.
        """
        database = conn.engine.url.render_as_string()  # one process may read several catalogs
        found: list[View | None] = []
        with self._lock:
            for row in rows:
                kept = self._views.get((database, kind, row.id))
                if kept is not None and kept[0] == (row.view_stamp, generation):
                    self._views.move_to_end((database, kind, row.id))
                    found.append(kept[1])
                else:
                    found.append(None)
            missing = [i for i, view in enumerate(found) if view is None]
            self.hits += len(rows) - len(missing)
            self.misses += len(missing)
        if missing:
            built = build(conn, [rows[i] for i in missing])
            with self._lock:
                for i, view in zip(missing, built, strict=True):
                    found[i] = view
                    if self.size > 0:
                        key = (database, kind, rows[i].id)
                        self._views[key] = ((rows[i].view_stamp, generation), view)
                        self._views.move_to_end(key)
                while len(self._views) > self.size:
                    self._views.popitem(last=False)
        if self.check:
            absent = set(missing)
            reused = [i for i in range(len(rows)) if i not in absent]
            for i, fresh in zip(reused, build(conn, [rows[i] for i in reused]) if reused else [], strict=True):
                if found[i] != fresh:
                    raise StaleView(
                        f"the kept {kind} view of row {rows[i].id} differs from one built now: {_diff(found[i], fresh)}"
                    )
        return [view for view in found if view is not None]


def _diff(kept: View | None, fresh: View) -> str:
    kept = kept or {}
    keys = sorted(k for k in set(kept) | set(fresh) if kept.get(k) != fresh.get(k))
    return "; ".join(f"{k}: kept {kept.get(k)!r:.200}, now {fresh.get(k)!r:.200}" for k in keys)


# The API server's: lineage graphs describe their nodes through it.
node_views = ViewCache()

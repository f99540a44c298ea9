"""Pausing Python's cyclic garbage collector while work builds many objects that all live until it ends."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

# The longest the collector stays paused: a transaction waiting for another writer's lock can
# last as long as that writer holds it, and the process's cyclic garbage would pile up meanwhile.
MAX_PAUSE_SECONDS = 2.0
_WATCH_SECONDS = 0.5  # how often a pause's length is checked

_paused_at: float | None = None  # time.monotonic() when a block here paused the collector
_watch: threading.Thread | None = None
_starting = threading.Lock()


@contextmanager
def collector_paused(paused: bool = True) -> Iterator[None]:
    """No cyclic garbage collection while a large request's objects are built and checked, or
    while a transaction stores events (ingest/writer.py).

    They all stay alive until the request or the transaction ends, so collections in between
    would only walk them again and again: about a third of the time spent decoding a 1,000-event
    batch, and of the writer's time storing one (113 against 72 µs an event on SQLite, 124
    against 73 on PostgreSQL, in-process). The collector is the process's: a block that ends
    while another runs turns it back on for the other, and a watching thread turns it back on
    once it has been paused MAX_PAUSE_SECONDS, however long the block goes on.
    """
    global _paused_at
    if not paused or not gc.isenabled():
        yield
        return
    _watching()
    gc.disable()
    _paused_at = time.monotonic()
    try:
        yield
    finally:
        _paused_at = None
        gc.enable()


def _watching() -> None:
    global _watch
    if _watch is not None and _watch.is_alive():
        return
    with _starting:  # one watching thread a process (a forked worker does not inherit its parent's)
        if _watch is None or not _watch.is_alive():
            _watch = threading.Thread(target=_watch_pauses, name="ol-catalog-collector-watch", daemon=True)
            _watch.start()


def _watch_pauses() -> None:
    while True:
        time.sleep(_WATCH_SECONDS)
        since = _paused_at
        if since is not None and time.monotonic() - since > MAX_PAUSE_SECONDS:
            gc.enable()

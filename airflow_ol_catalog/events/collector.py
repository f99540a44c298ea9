"""Pausing Python's cyclic garbage collector while work builds many objects that all live until it ends."""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

# The longest the collector stays paused: a transaction waiting for another writer's lock can
# last as long as that writer holds it, and requests may overlap without end under steady load;
# the process's cyclic garbage would pile up meanwhile.
MAX_PAUSE_SECONDS = 2.0
_WATCH_SECONDS = 0.5  # how often a pause's length is checked

_state = threading.Lock()
_depth = 0  # blocks running now, in every thread
_ours = False  # whether the collector was on when the first of them began (else it is left alone)
_paused_at: float | None = None  # time.monotonic() when a block here last paused the collector
_generation = 0  # one more in a forked child: blocks begun before the fork end there as nothing
_watch: threading.Thread | None = None
_starting = threading.Lock()


@contextmanager
def collector_paused(paused: bool = True) -> Iterator[None]:
    """No cyclic garbage collection while a request's events are decoded, checked and stored, or
    while a transaction stores events (ingest/writer.py).

    Their objects all stay alive until the work ends, so collections in between would only walk
    them again and again: about a third of the time spent decoding a 1,000-event batch, and of
    the writer's time storing one (113 against 72 µs an event on SQLite, 124 against 73 on
    PostgreSQL, in-process). The collector is the process's, and blocks of several threads and
    requests overlap: it is on again when the last of them ends, once their objects are gone
    (turned on while some still lived, a collection walks every one of them once more). A
    watching thread turns it on once it has been paused MAX_PAUSE_SECONDS however long blocks go
    on, and the next block to begin pauses it again; a collector that was off before the first
    block began is left off.
    """
    if not paused:
        yield
        return
    _watching()
    generation = _begin()
    try:
        yield
    finally:
        _end(generation)


def _begin() -> int:
    global _depth, _ours, _paused_at
    with _state:
        _depth += 1
        if _depth == 1:
            _ours = gc.isenabled()
        if _ours and gc.isenabled():  # the first block, or the watching thread turned it on
            gc.disable()
            _paused_at = time.monotonic()
        return _generation


def _end(generation: int) -> None:
    global _depth, _paused_at
    with _state:
        if generation != _generation:  # begun in the parent of this forked process: not counted here
            return
        _depth -= 1
        if _depth == 0 and _ours:
            _paused_at = None
            gc.enable()


def _forked() -> None:
    """A child forked during a block: none of the parent's blocks run in it."""
    global _depth, _paused_at, _watch, _state, _starting, _generation
    _state, _starting = threading.Lock(), threading.Lock()
    _generation += 1
    _watch = None  # a forked process does not inherit its parent's threads
    if _depth and _ours:
        gc.enable()
    _depth, _paused_at = 0, None


os.register_at_fork(after_in_child=_forked)


def _watching() -> None:
    global _watch
    if _watch is not None and _watch.is_alive():
        return
    with _starting:
        if _watch is None or not _watch.is_alive():
            _watch = threading.Thread(target=_watch_pauses, name="ol-catalog-collector-watch", daemon=True)
            _watch.start()


def _watch_pauses() -> None:
    global _paused_at
    while True:
        time.sleep(_WATCH_SECONDS)
        with _state:
            since = _paused_at
            if since is not None and time.monotonic() - since > MAX_PAUSE_SECONDS:
                _paused_at = None
                gc.enable()

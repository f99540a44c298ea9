"""Pausing Python's cyclic garbage collector while a request builds many objects that all live until it ends."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused(paused: bool = True) -> Iterator[None]:
    """No cyclic garbage collection while a large request's objects are built and checked, or
    while a transaction stores events (ingest/writer.py).

    They all stay alive until the request or the transaction ends, so collections in between
    would only walk them again and again: about a third of the time spent decoding a 1,000-event
    batch, and of the writer's time storing one (113 against 72 µs an event on SQLite, 124
    against 73 on PostgreSQL, in-process). The collector is the process's: a block that ends
    while another runs turns it back on for the other.
    """
    if not paused or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()

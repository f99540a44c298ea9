"""One worker thread per destination, so a destination that never answers holds back no other.

A daemon thread rather than a ThreadPoolExecutor: the executor's threads are joined when the
interpreter exits, so a send hung on a silent server would keep a finished task process alive.
The routing transport never queues behind a hung send (it spools instead), so each destination
has one thread at most, whatever the destination does.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any


class Worker:
    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, function: Callable[..., Any], *args: Any) -> Future:
        future: Future = Future()
        self._jobs.put((future, function, args))
        return future

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, function, args = job
            if not future.set_running_or_notify_cancel():
                continue  # cancelled before it started: it was spooled instead
            try:
                future.set_result(function(*args))
            except BaseException as error:
                future.set_exception(error)

    def stop(self, timeout: float) -> bool:
        """Stop after the jobs queued so far; True if it stopped within `timeout` seconds."""
        self._jobs.put(None)
        self._thread.join(max(0.0, timeout))
        return not self._thread.is_alive()

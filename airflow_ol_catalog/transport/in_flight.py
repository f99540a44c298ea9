"""Events in flight: what a process has handed to destinations and not yet settled, kept on disk.

`emit` settles every send within its bound: delivered, spooled or dead-lettered. A process killed
inside that bound (SIGKILL, the OOM killer, a pod evicted) would take the events still waiting on a
destination's answer with it. So before sending, each emit writes them to a journal in the spool
directory that no other emit uses meanwhile, a file its process holds under an exclusive lock as
long as it lives, notes each destination's answer there, and empties it once every send is
settled. A journal whose lock can be taken belongs to a process that is gone: the next transport
started on the machine (a task, the scheduler, `spool status`, a flush, the first emit of a
forked process) appends its events to their destinations' spools, where they are delivered as any
spooled event, at least once.

The journal is written without fsync: it outlives its process, not a crash of the machine.
"""

from __future__ import annotations

import atexit
import logging
import os
import struct
import threading
import time
import uuid
import weakref
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from airflow_ol_catalog.transport import records
from airflow_ol_catalog.transport.spool import Spool

log = logging.getLogger(__name__)

SUFFIX = ".inflight"
_NAME = struct.Struct(">H")  # length of the destination's name, which leads each record's payload


@dataclass
class Recovered:
    """What `recover` found in the journals of processes that are gone."""

    spooled: Counter[str] = field(default_factory=Counter)  # per destination
    dropped: Counter[str] = field(default_factory=Counter)  # per destination: its spool was full
    # per destination: events left in their journal (a destination this config does not have, or
    # whose spool cannot be written now)
    kept: Counter[str] = field(default_factory=Counter)
    damaged_bytes: int = 0


class Journal:
    """The journals of events in flight of one spool directory, in this process: one per emit at a
    time, reused by the next (threads that come and go leave no file behind them)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._free: list[BinaryIO] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._failed = False
        _journals.add(self)

    def _in_this_process(self) -> None:
        if self._pid != os.getpid():  # forked: the parent's journals are not ours, its lock may be held
            self._lock, self._free, self._pid = threading.Lock(), [], os.getpid()

    def emit(self) -> InFlight:
        """One emit's events in flight; `settled()` when every send is."""
        return InFlight(self)

    def _checkout(self) -> BinaryIO:
        self._in_this_process()
        with self._lock:
            if self._free:
                return self._free.pop()
        return _create(self.directory)

    def _give_back(self, handle: BinaryIO) -> None:
        try:
            os.ftruncate(handle.fileno(), 0)
            handle.seek(0)
        except OSError as error:
            log.warning("OpenLineage journal of events in flight cannot be emptied: %s", error)
            handle.close()  # left to a recovery once this process is gone
            return
        with self._lock:
            if self._pid == os.getpid():
                self._free.append(handle)

    def _cannot_write(self, error: OSError) -> None:
        if not self._failed:  # once per process
            self._failed = True
            log.warning(
                "OpenLineage events in flight cannot be noted in %s (%s): a process killed while a "
                "destination holds its request will lose that event",
                self.directory,
                error,
            )


class InFlight:
    """One emit's events in flight, in a journal taken when the first is noted."""

    def __init__(self, journal: Journal):
        self.journal = journal
        self._handle: BinaryIO | None = None
        self._broken = False

    def note(self, destination: str, payload: bytes) -> bool:
        """Write an event before it is sent to `destination`; False if it could not be written
        (the event is sent all the same)."""
        return self._write(destination, payload)

    def answered(self, destination: str) -> None:
        """The event noted for `destination` is where its answer put it (delivered, spooled or a dead
        letter): a recovery leaves it out, and the destination does not get it twice."""
        if self._handle is not None:
            self._write(destination, b"")

    def settled(self) -> None:
        """Every send is delivered, spooled or dead-lettered: the journal is emptied for the next emit."""
        if self._handle is not None:
            handle, self._handle = self._handle, None
            self.journal._give_back(handle)

    def _write(self, destination: str, payload: bytes) -> bool:
        if self._broken:
            return False
        name = destination.encode()
        data = records.encode(_NAME.pack(len(name)) + name + payload, time.time())
        try:
            if self._handle is None:
                self._handle = self.journal._checkout()
            view = memoryview(data)
            while view:  # unbuffered: a write may take only part of it (a disk nearly full)
                written = self._handle.write(view)
                if not written:
                    raise OSError("the journal took none of a record")
                view = view[written:]
        except OSError as error:
            self._broken = True
            self.journal._cannot_write(error)
            return False
        return True


# Made their process's at once in a forked child, alone in it then (two of its threads would race).
_journals: weakref.WeakSet[Journal] = weakref.WeakSet()


def _forked() -> None:
    for journal in list(_journals):
        journal._in_this_process()


os.register_at_fork(after_in_child=_forked)


def _create(directory: Path) -> BinaryIO:
    """A new journal, locked; made again if a recovery took it for a dead process's before the lock."""
    directory.mkdir(parents=True, exist_ok=True)
    while True:
        path = directory / f"{uuid.uuid4().hex}{SUFFIX}"
        handle: BinaryIO = records.open_held(path, "xb", buffering=0)  # kept open for the process's life
        _own.append((os.getpid(), handle))
        records.lock(handle)
        if records.still_named(handle, path):
            return handle
        handle.close()


# The journals this process made (with its pid), removed when it exits normally: a process killed
# leaves its own, empty or not, for the next recovery. A forked child's copies point at /dev/null
# (records.open_held), so the parent's locks end with the parent.
_own: list[tuple[int, BinaryIO]] = []


@atexit.register
def _remove_own() -> None:
    for pid, handle in _own:
        if pid == os.getpid():
            try:
                if os.fstat(handle.fileno()).st_size == 0:
                    os.unlink(handle.name)
            except (OSError, ValueError):  # ValueError: closed
                pass


def recover(directory: Path, spools: dict[str, Spool], deadline: float | None = None) -> Recovered:
    """Put the events in the journals of processes that are gone into their destinations' spools,
    journal by journal until `deadline` (time.monotonic()), the rest left for the next recovery.
    A journal some of whose events cannot be spooled now keeps them; the others go on."""
    found = Recovered()
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        if deadline is not None and time.monotonic() >= deadline:
            break
        try:
            _recover_one(path, spools, found)
        except OSError as error:
            log.warning("OpenLineage journal of events in flight %s not recovered now: %s", path, error)
    for name, count in found.spooled.items():
        log.warning(
            "OpenLineage: %d event(s) for %s were in flight in a process that ended during emit: put in its spool",
            count,
            name,
        )
    for name, count in found.dropped.items():
        log.error("OpenLineage: %d event(s) in flight for %s dropped: its spool is full", count, name)
    if kept := sum(found.kept.values()):
        log.warning(
            "OpenLineage: %d event(s) in flight for destinations this config does not have, or whose spool "
            "cannot be written now, are left in %s",
            kept,
            directory,
        )
    if found.damaged_bytes:
        log.warning("OpenLineage: %d damaged bytes of journals of events in flight skipped", found.damaged_bytes)
    return found


def _recover_one(path: Path, spools: dict[str, Spool], found: Recovered) -> None:
    try:
        handle = records.open_held(path, "rb")
    except FileNotFoundError:  # recovered meanwhile by another process
        return
    with handle:
        try:
            records.lock(handle, blocking=False)
        except BlockingIOError:  # its process lives
            return
        if not records.still_named(handle, path):  # recovered by another process meanwhile
            return
        data = handle.read()
        left = _take(data, spools, found)
        if not left:
            path.unlink()
        elif left != data:
            _keep(path, left)


def _keep(path: Path, data: bytes) -> None:
    """Replace a journal by the records still to keep (a crash leaves the old one or this, whole)."""
    records.replace_durably(path, lambda out: out.write(data))


def _take(data: bytes, spools: dict[str, Spool], found: Recovered) -> bytes:
    """Spool each event of a journal whose destination had not answered; the records to keep: those
    of unknown destinations, and of spools that cannot be written now."""
    noted: list[tuple[str, bytes, float]] = []
    answered = set()
    for item in records.scan(data, 0):
        if item.payload is None or item.stamp is None:
            found.damaged_bytes += item.damaged
            continue
        (length,) = _NAME.unpack_from(item.payload)
        name, event = item.payload[_NAME.size : _NAME.size + length].decode(), item.payload[_NAME.size + length :]
        if event:
            noted.append((name, event, item.stamp))
        else:
            answered.add(name)
    left = []
    for name, event, stamp in noted:
        if name in answered:
            continue
        spool = spools.get(name)
        try:
            spooled = spool is not None and spool.append(event)
        except OSError as error:
            log.warning("OpenLineage: an event in flight for %s stays in its journal: %s", name, error)
            spool = None
        if spool is None:
            found.kept[name] += 1
            left.append(records.encode(_NAME.pack(len(name.encode())) + name.encode() + event, stamp))
        elif spooled:
            found.spooled[name] += 1
        else:
            found.dropped[name] += 1
    return b"".join(left)

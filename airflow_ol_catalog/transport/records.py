"""Record files: the framing of spool and dead-letter records, and the file steps that keep them whole.

Each record is `MAGIC, length, crc32, time, payload`. A record torn by a crash fails its length
or checksum; the reader reports the bytes up to the next intact record as damaged, so damage
never hides the records after it and is never skipped silently. Files are appended under an
exclusive lock and fsync'd, and replaced only by an atomic rename of a complete, fsync'd copy.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct
import threading
import weakref
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

MAGIC = b"\xf0OLS"
HEADER = struct.Struct(">IId")  # payload length, crc32 of time+payload, append time (epoch seconds)


@dataclass(frozen=True)
class Scanned:
    """One intact record, or (payload None) a stretch of damaged bytes; `end` is the offset just after it."""

    end: int
    stamp: float | None
    payload: bytes | None
    damaged: int = 0


def encode(payload: bytes, stamp: float) -> bytes:
    return MAGIC + HEADER.pack(len(payload), zlib.crc32(struct.pack(">d", stamp) + payload), stamp) + payload


def _record_at(data: bytes, at: int) -> tuple[float, bytes, int] | None:
    """(time, payload, end) of the intact record starting at `at`, else None."""
    header_end = at + len(MAGIC) + HEADER.size
    if data[at : at + len(MAGIC)] != MAGIC or header_end > len(data):
        return None
    length, crc, stamp = HEADER.unpack(data[at + len(MAGIC) : header_end])
    payload = data[header_end : header_end + length]
    if len(payload) != length or zlib.crc32(struct.pack(">d", stamp) + payload) != crc:
        return None
    return stamp, payload, header_end + length


def scan(data: bytes, base: int) -> Iterator[Scanned]:
    """The records in `data` (read from file offset `base`), damaged stretches included."""
    at, damaged_from = 0, None
    while at < len(data):
        record = _record_at(data, at)
        if record is None:
            damaged_from = at if damaged_from is None else damaged_from
            found = data.find(MAGIC, at + 1)
            at = found if found >= 0 else len(data)
            continue
        if damaged_from is not None:
            yield Scanned(base + at, None, None, at - damaged_from)
            damaged_from = None
        stamp, payload, at = record
        yield Scanned(base + at, stamp, payload)
    if damaged_from is not None:
        yield Scanned(base + len(data), None, None, len(data) - damaged_from)


def open_locked(path: Path) -> BinaryIO:
    """`path` opened for append and exclusively locked; reopened if a replacement came in meanwhile."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        handle = open_held(path, "ab")
        lock(handle)
        if still_named(handle, path):
            return handle
        handle.close()


# The files this process holds a lock on. A forked child gets a copy of each descriptor, and with it
# the lock, which then lasts as long as the child: the child of a process that was emitting from
# another thread waited for ever on the lock it had inherited (and the parent with it).
# A file is known from the moment it is open: locked later, after a fork, its lock would be the
# child's too. Forks wait while a file is being opened and noted.
_held: weakref.WeakSet[IO[Any]] = weakref.WeakSet()
_opening = threading.Lock()


def open_held(path: Path, mode: str, buffering: int = -1) -> Any:
    """`path` opened to be locked: a child forked while this process holds the lock does not hold it."""
    with _opening:
        handle = open(path, mode, buffering=buffering)  # noqa: SIM115 - the caller owns it
        _held.add(handle)
    return handle


def lock(handle: IO[Any], blocking: bool = True) -> None:
    """flock `handle` (opened by `open_held`) exclusively; BlockingIOError when not `blocking` and
    another holds it."""
    fcntl.flock(handle, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)


def _forked() -> None:
    """In a forked child: each inherited descriptor of a locked file points at /dev/null instead. Not
    closed: the file object of a thread that is not in the child could later flush its buffer, or
    close a descriptor number reused meanwhile."""
    _opening.release()
    if not _held:
        return
    null = os.open(os.devnull, os.O_RDWR)
    try:
        for handle in list(_held):
            with contextlib.suppress(OSError, ValueError):  # ValueError: closed already
                os.dup2(null, handle.fileno())
    finally:
        os.close(null)
    _held.clear()


os.register_at_fork(before=_opening.acquire, after_in_parent=_opening.release, after_in_child=_forked)


def still_named(handle: BinaryIO, path: Path) -> bool:
    """Whether `path` still names the file `handle` has open (not replaced or removed since it was opened)."""
    try:
        return os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def append_durably(handle: BinaryIO, data: bytes) -> None:
    handle.write(data)
    handle.flush()
    os.fsync(handle.fileno())


def replace_durably(path: Path, write: Callable[[BinaryIO], object], sync_directory: bool = True) -> None:
    """Replace `path` by what `write(handle)` writes: a crash leaves either the old file or the new one, whole."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    if not sync_directory:
        return
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_snapshot(path: Path) -> tuple[BinaryIO, int] | None:
    """`path` opened for reading, and the size up to which its records are complete (None: no file).

    The size is taken under the append lock; the handle keeps reading this file even if a
    compaction replaces it afterwards.
    """
    if not path.exists():
        return None
    with open_locked(path) as locked:
        reader = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
        return reader, locked.seek(0, os.SEEK_END)

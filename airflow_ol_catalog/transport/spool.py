"""A durable, crash-safe spool of events per destination, shared by every process on the machine.

Each record is `MAGIC, length, crc32, time, payload`, appended under an exclusive lock and
fsync'd before `append` returns. A record torn by a crash fails its length or checksum and is
skipped (the reader looks for the next MAGIC), so it never hides the records after it. A
separate offset file says how far delivery has got; it is replaced atomically after each
delivered record, so a crash can at worst deliver one record twice (delivery is at-least-once;
the catalog's de-duplication makes it exactly-once there).
"""

from __future__ import annotations

import fcntl
import os
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

MAGIC = b"\xf0OLS"
HEADER = struct.Struct(">IId")  # payload length, crc32 of time+payload, append time (epoch seconds)
COMPACT_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class SpoolStatus:
    destination: str
    events: int
    bytes: int
    oldest: float | None
    last_error: str | None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    def __init__(self, directory: str | Path, destination: str, max_bytes: int):
        self.directory = Path(directory)
        self.destination = destination
        self.max_bytes = max_bytes
        self.path = self.directory / f"{destination}.spool"
        self.offset_path = self.directory / f"{destination}.offset"
        self.error_path = self.directory / f"{destination}.error"
        self.flush_lock_path = self.directory / f"{destination}.flush.lock"

    # --- appending -------------------------------------------------------------------------------

    def _open_locked(self):
        """The spool file opened for append and locked; reopened if compaction replaced it meanwhile."""
        self.directory.mkdir(parents=True, exist_ok=True)
        while True:
            handle = open(self.path, "ab")
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                if os.fstat(handle.fileno()).st_ino == os.stat(self.path).st_ino:
                    return handle
            except FileNotFoundError:
                pass
            handle.close()

    def append(self, payload: bytes) -> bool:
        """Add one event; False when the spool is full (the event is not stored)."""
        stamp = time.time()
        record = MAGIC + HEADER.pack(len(payload), zlib.crc32(struct.pack(">d", stamp) + payload), stamp) + payload
        with self._open_locked() as handle:
            size = handle.seek(0, os.SEEK_END)
            if size - self._read_offset(size) + len(record) > self.max_bytes:
                return False
            handle.write(record)
            handle.flush()
            os.fsync(handle.fileno())
        return True

    # --- reading ---------------------------------------------------------------------------------

    def _read_offset(self, size: int) -> int:
        try:
            offset = int(self.offset_path.read_text() or 0)
        except (FileNotFoundError, ValueError):
            return 0
        return offset if 0 <= offset <= size else 0

    def _write_offset(self, offset: int) -> None:
        temporary = self.offset_path.with_suffix(f".offset.{os.getpid()}")
        with open(temporary, "w") as handle:
            handle.write(str(offset))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.offset_path)

    def _size(self) -> int:
        """The size up to which every record is complete (appends happen under the lock)."""
        if not self.path.exists():
            return 0
        with self._open_locked() as handle:
            return handle.seek(0, os.SEEK_END)

    def records(self, start: int, end: int) -> Iterator[tuple[int, float, bytes]]:
        """(end offset, append time, payload) of each intact record in [start, end); torn ones are skipped."""
        if end <= start:
            return
        with open(self.path, "rb") as handle:
            handle.seek(start)
            data = handle.read(end - start)
        at = 0
        while at < len(data):
            if data[at : at + 4] != MAGIC:
                found = data.find(MAGIC, at + 1)
                if found < 0:
                    return
                at = found
                continue
            header_end = at + 4 + HEADER.size
            if header_end > len(data):
                return
            length, crc, stamp = HEADER.unpack(data[at + 4 : header_end])
            payload = data[header_end : header_end + length]
            if len(payload) != length or zlib.crc32(struct.pack(">d", stamp) + payload) != crc:
                at += 1  # torn or corrupt: look for the next record
                continue
            at = header_end + length
            yield start + at, stamp, payload

    def status(self) -> SpoolStatus:
        size = self._size()
        offset = self._read_offset(size)
        events, oldest = 0, None
        for _, stamp, _ in self.records(offset, size):
            events += 1
            oldest = stamp if oldest is None else min(oldest, stamp)
        error = self.error_path.read_text() if self.error_path.exists() else None
        return SpoolStatus(self.destination, events, size - offset, oldest, error or None)

    def has_backlog(self) -> bool:
        size = self.path.stat().st_size if self.path.exists() else 0
        return size > self._read_offset(size)

    # --- delivering ------------------------------------------------------------------------------

    def deliver(self, send: Callable[[bytes], None], limit: int | None = None, deadline: float | None = None) -> int:
        """Send spooled events in order until done, `limit` or `deadline` (time.monotonic()).

        Stops at the first failure (the event stays first in line) and records the error.
        Returns how many were delivered. Another process delivering at the same time: returns 0.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.flush_lock_path, "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0
            size = self._size()
            offset = self._read_offset(size)
            delivered = 0
            for end, _, payload in self.records(offset, size):
                if (limit is not None and delivered >= limit) or (deadline is not None and time.monotonic() >= deadline):
                    break
                try:
                    send(payload)
                except Exception as exc:
                    self.error_path.write_text(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {type(exc).__name__}: {exc}"[:2000])
                    break
                offset = end
                delivered += 1
                self._write_offset(offset)
            else:
                offset = size  # only torn bytes remained after the last record
                self._write_offset(offset)
            if delivered and self.error_path.exists() and offset >= size:
                self.error_path.unlink(missing_ok=True)
            self._compact(offset)
        return delivered

    def _compact(self, offset: int) -> None:
        """Drop delivered records from the file: all of them when drained, else when they are many."""
        if offset == 0:
            return
        with self._open_locked() as handle:
            size = handle.seek(0, os.SEEK_END)
            if offset >= size:
                handle.truncate(0)
                os.fsync(handle.fileno())
                self._write_offset(0)
            elif offset >= COMPACT_BYTES:
                temporary = self.path.with_suffix(f".spool.{os.getpid()}")
                with open(self.path, "rb") as source, open(temporary, "wb") as target:
                    source.seek(offset)
                    while chunk := source.read(1 << 20):
                        target.write(chunk)
                    target.flush()
                    os.fsync(target.fileno())
                self._write_offset(0)
                os.replace(temporary, self.path)
                _fsync_dir(self.directory)

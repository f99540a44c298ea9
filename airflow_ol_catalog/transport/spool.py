"""A durable, crash-safe spool of events per destination, shared by every process on the machine.

Records (see records.py) are appended under an exclusive lock and fsync'd before `append`
returns. A separate offset file says how far delivery has got; it is replaced atomically after
each delivered record, so a crash can at worst deliver one record twice (delivery is
at-least-once; the catalog's de-duplication makes it exactly-once there).

The offset file also names the spool file it counts in, by that file's first bytes (the first
record's header: its length, checksum and time). A compaction writes the records left to a new
file and renames it over the old one before it resets the offset; killed in between, the offset
no longer names the file and delivery starts at the new file's first record, which is the first
one not yet delivered. Every state change is thus a single rename or an fsync'd append.

An event the destination refuses for good goes to the destination's dead letters and delivery
goes on; damaged bytes (a write torn by a crash) are skipped, counted and logged.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from airflow_ol_catalog.transport import records
from airflow_ol_catalog.transport.dead_letters import DeadLetters
from airflow_ol_catalog.transport.refusals import Refusal, lasting_refusal

log = logging.getLogger(__name__)

COMPACT_BYTES = 8 * 1024 * 1024
# How long a flush waits for another process's delivery of the same spool: an emit's redelivery
# holds it for a few events, a send hung on a silent destination for as long as its timeout.
TURN_WAIT_SECONDS = 60.0
TURN_POLL_SECONDS = 0.01
# An emit's redelivery of an event whose sends nobody waited out twice (a destination slower than the
# bound or hung, its tasks ended) waits this long before it sends it again, doubled each time up to
# an hour: each such send may have reached the destination. `spool flush` waits for answers.
UNANSWERED_WAIT_SECONDS = 60.0
UNANSWERED_WAIT_MAX_SECONDS = 3600.0
IDENTITY_BYTES = len(records.MAGIC) + records.HEADER.size


@dataclass(frozen=True)
class SpoolStatus:
    destination: str
    events: int
    bytes: int
    oldest: float | None
    last_error: str | None
    dead_letters: int
    damaged_records: int  # skipped since the spool was created, and torn among its dead letters now
    damaged_bytes: int


@dataclass
class Delivery:
    """What one delivery run did."""

    delivered: int = 0
    dead_lettered: int = 0
    dropped: int = 0  # refused for good, and no room left among the dead letters
    damaged_records: int = 0
    damaged_bytes: int = 0
    busy: bool = False  # another process delivered this spool all the time it was waited for: nothing was done


def unnamed_spools(directory: str | Path, names: Collection[str], max_bytes: int) -> list[Spool]:
    """The spools in `directory` of destinations not among `names` (renamed or removed from the
    config) that hold events or dead letters: they wait for a config naming their destination."""
    found = {
        path.name.removesuffix(suffix) for suffix in (".spool", ".dead") for path in Path(directory).glob(f"*{suffix}")
    }
    spools = [Spool(directory, name, max_bytes) for name in sorted(found - set(names))]
    return [s for s in spools if _not_empty(s.path) or _not_empty(s.dead_letters.path)]


def _not_empty(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except FileNotFoundError:
        return False


def _unanswered_wait(count: int) -> float:
    """How long after its `count`-th send not waited out an emit may send an event again: at once
    after the first (one slow answer must not hold back every later event until a flush), then a
    minute, doubled each time up to an hour."""
    return 0.0 if count <= 1 else min(UNANSWERED_WAIT_MAX_SECONDS, UNANSWERED_WAIT_SECONDS * 2 ** min(count - 2, 20))


class Spool:
    def __init__(self, directory: str | Path, destination: str, max_bytes: int):
        self.directory = Path(directory)
        self.destination = destination
        self.max_bytes = max_bytes
        self.path = self.directory / f"{destination}.spool"
        self.offset_path = self.directory / f"{destination}.offset"
        self.error_path = self.directory / f"{destination}.error"
        self.damaged_path = self.directory / f"{destination}.damaged"
        self.flush_lock_path = self.directory / f"{destination}.flush.lock"
        self.unanswered_path = self.directory / f"{destination}.unanswered"
        self.dead_letters = DeadLetters(self.directory / f"{destination}.dead", max_bytes)

    # --- appending -------------------------------------------------------------------------------

    def append(self, payload: bytes) -> bool:
        """Add one event; False when the spool is full (the event is not stored)."""
        record = records.encode(payload, time.time())
        with records.open_locked(self.path) as handle:
            size = handle.seek(0, os.SEEK_END)
            with open(self.path, "rb") as reader:
                offset = self._read_offset(size, reader.read(IDENTITY_BYTES))
            if size - offset + len(record) > self.max_bytes:
                return False
            records.append_durably(handle, record)
        return True

    # --- the offset ------------------------------------------------------------------------------

    def _read_offset(self, size: int, head: bytes) -> int:
        """How far delivery has got in the file that starts with `head`; 0 if the offset names another file."""
        try:
            fields = self.offset_path.read_text().split()
            offset = int(fields[0])
            identity = bytes.fromhex(fields[1]) if len(fields) > 1 else None
        except (FileNotFoundError, IndexError, ValueError):
            return 0
        if not 0 <= offset <= size:
            return 0
        if identity is None:  # written by a version before file identities
            return offset
        # A file shorter than a header when the offset was written must still be exactly that.
        same_file = head == identity and (len(identity) == IDENTITY_BYTES or size == len(identity))
        return offset if same_file else 0

    def _write_offset(self, offset: int, head: bytes) -> None:
        # The directory is not fsync'd: an offset update lost to a power cut only delivers again.
        records.replace_durably(
            self.offset_path, lambda handle: handle.write(f"{offset} {head.hex()}".encode()), sync_directory=False
        )

    def _pending(self) -> tuple[bytes, int, bytes]:
        """(the file's first bytes, the offset, the bytes from there to the end of the last complete record)."""
        snapshot = records.open_snapshot(self.path)
        if snapshot is None:
            return b"", 0, b""
        reader, size = snapshot
        with reader:
            head = reader.read(IDENTITY_BYTES)
            offset = self._read_offset(size, head)
            reader.seek(offset)
            return head, offset, reader.read(size - offset)

    # --- reading ---------------------------------------------------------------------------------

    def status(self) -> SpoolStatus:
        _, _, data = self._pending()
        events, oldest = 0, None
        for item in records.scan(data, 0):
            if item.payload is not None and item.stamp is not None:  # an intact record has both
                events += 1
                oldest = item.stamp if oldest is None else min(oldest, item.stamp)
        error = self.error_path.read_text() if self.error_path.exists() else None
        damaged_records, damaged_bytes = self._damage_so_far()
        torn_letters, torn_bytes = self.dead_letters.damage()  # skipped at each read, so counted as they are now
        damaged_records, damaged_bytes = damaged_records + torn_letters, damaged_bytes + torn_bytes
        return SpoolStatus(
            self.destination,
            events,
            len(data),
            oldest,
            error or None,
            len(self.dead_letters.letters()),
            damaged_records,
            damaged_bytes,
        )

    def has_backlog(self) -> bool:
        try:
            with open(self.path, "rb") as reader:
                size = os.fstat(reader.fileno()).st_size
                return size > self._read_offset(size, reader.read(IDENTITY_BYTES))
        except FileNotFoundError:
            return False

    # --- delivering ------------------------------------------------------------------------------

    @contextmanager
    def _delivery_lock(self, until: float) -> Iterator[bool]:
        """True when this process may deliver: one deliverer per spool at a time. Another one
        delivering is waited for until `until` (time.monotonic()), by polling: flock waits without end."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with records.open_held(self.flush_lock_path, "a") as lock:
            while True:
                try:
                    records.lock(lock, blocking=False)
                    break
                except BlockingIOError:
                    if time.monotonic() >= until:
                        yield False
                        return
                    time.sleep(TURN_POLL_SECONDS)
            yield True

    def deliver(
        self,
        send: Callable[[bytes], None],
        limit: int | None = None,
        deadline: float | None = None,
        wait: float = 0.0,
        cautious: bool = False,
    ) -> Delivery:
        """Send spooled events in order until done, `limit` or `deadline` (time.monotonic()).

        An event refused for good becomes a dead letter and delivery goes on; any other failure
        stops it (the event stays first in line) and is recorded. Another process delivering at
        the same time is waited for up to `wait` seconds (never past `deadline`); still
        delivering then, nothing is done (`busy`). `cautious` (an emit's redelivery, which its
        process may not wait out): an event whose last send was not waited out is sent again only
        after `_unanswered_wait`, so a slow destination does not get it once per task.
        """
        done = Delivery()
        until = time.monotonic() + wait
        with self._delivery_lock(until if deadline is None else min(until, deadline)) as mine:
            if not mine:
                done.busy = True
                return done
            self._remove_leftovers()
            head, offset, data = self._pending()
            end, handled = offset + len(data), 0
            for item in records.scan(data, offset):
                if item.payload is None:
                    self._note_damage(item.damaged, done)
                else:
                    if (limit is not None and handled >= limit) or (
                        deadline is not None and time.monotonic() >= deadline
                    ):
                        break
                    if cautious and not self._may_send_again(item.payload):
                        break
                    answered = self._hand_over(item.payload, send, done)
                    self.unanswered_path.unlink(missing_ok=True)  # whatever the answer, there was one
                    if not answered:
                        break
                    handled += 1
                offset = item.end
                self._write_offset(offset, head)
            if offset >= end:  # drained: no error stands
                self.error_path.unlink(missing_ok=True)
            self._compact(offset)
            if not cautious:  # a flush, which no bound holds: dead letters refused again take one place
                self.dead_letters.compact_if_full()
        return done

    def note_unanswered(self, payload: bytes) -> None:
        """A send of this event was not waited out: it may have reached the destination. Not durable
        (it only spaces out sends); written before the send, so a process that ends during it leaves it."""
        digest = hashlib.sha256(payload).hexdigest()[:16]
        count = 0
        try:
            fields = self.unanswered_path.read_text().split()
            if fields[0] == digest:
                count = int(fields[1])
        except (FileNotFoundError, IndexError, ValueError):
            pass
        # Replaced whole: a reader meeting half a file would start the waits over.
        temporary = self.unanswered_path.with_name(f"{self.unanswered_path.name}.{os.getpid()}.tmp")
        temporary.write_text(f"{digest} {count + 1} {time.time()}")
        os.replace(temporary, self.unanswered_path)

    def _may_send_again(self, payload: bytes) -> bool:
        """Whether an emit may send this first event now; if so, noted as unanswered until it is."""
        try:
            digest, count, at = self.unanswered_path.read_text().split()
            if digest == hashlib.sha256(payload).hexdigest()[:16] and time.time() - float(at) < _unanswered_wait(
                int(count)
            ):
                return False
        except (FileNotFoundError, ValueError):
            pass
        self.note_unanswered(payload)
        return True

    def _remove_leftovers(self) -> None:
        """Temporary files of a compaction or offset update killed half-way (a copy may be as large as the spool).

        Those files are written only under the delivery lock, which this process holds: none is in use.
        """
        for name in (self.path.name, self.offset_path.name, self.damaged_path.name, self.unanswered_path.name):
            for leftover in self.directory.glob(f"{name}.*.tmp"):
                if leftover.name[len(name) + 1 : -len(".tmp")].isdigit():  # NAME.PID.tmp, not another destination's
                    leftover.unlink(missing_ok=True)

    def note_error(self, reason: str) -> None:
        """Why events wait here: `spool status` shows it as the last error until the spool is drained."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.error_path.write_text(f"{stamp} {reason}"[:2000])

    def _hand_over(self, payload: bytes, send: Callable[[bytes], None], done: Delivery) -> bool:
        """Send one event; False when it must stay first in line."""
        try:
            send(payload)
        except Exception as error:
            refusal = lasting_refusal(error)
            if refusal is None:
                self.note_error(f"{type(error).__name__}: {error}")
                return False
            if self.dead_letter(payload, refusal):
                done.dead_lettered += 1
            else:
                done.dropped += 1
            return True
        done.delivered += 1
        return True

    def dead_letter(self, payload: bytes, refusal: Refusal) -> bool:
        """Keep an event refused for good among the dead letters; False (logged) when they are full.

        From `deliver` this happens before the offset moves on: a crash in between sends the event
        again, and the same event refused again is the same letter.
        """
        if self.dead_letters.add(payload, refusal):
            log.warning(
                "OpenLineage destination %s refused an event for good (%s): kept among its dead letters",
                self.destination,
                refusal,
            )
            return True
        log.error(
            "OpenLineage destination %s refused an event for good (%s) and its dead letters are full (%d bytes): "
            "event dropped",
            self.destination,
            refusal,
            self.max_bytes,
        )
        return False

    def _damage_so_far(self) -> tuple[int, int]:
        try:
            damaged_records, damaged_bytes = (int(n) for n in self.damaged_path.read_text().split())
        except (FileNotFoundError, ValueError):
            return 0, 0
        return damaged_records, damaged_bytes

    def _note_damage(self, skipped: int, done: Delivery) -> None:
        # Counted before the offset moves past it: a crash in between counts it twice, never zero times.
        damaged_records, damaged_bytes = self._damage_so_far()
        records.replace_durably(
            self.damaged_path,
            lambda h: h.write(f"{damaged_records + 1} {damaged_bytes + skipped}".encode()),
            sync_directory=False,
        )
        done.damaged_records += 1
        done.damaged_bytes += skipped
        log.warning(
            "OpenLineage spool of %s: %d damaged bytes skipped (a write torn by a crash, or a corrupt disk)",
            self.destination,
            skipped,
        )

    def _compact(self, offset: int) -> None:
        """Drop delivered records from the file: all of them when drained, else when they are many."""
        if offset == 0:
            return
        with records.open_locked(self.path) as handle:
            size = handle.seek(0, os.SEEK_END)
            if offset < size and offset < COMPACT_BYTES:
                return

            def rest(target) -> None:
                with open(self.path, "rb") as source:
                    source.seek(offset)
                    while chunk := source.read(1 << 20):
                        target.write(chunk)

            records.replace_durably(self.path, rest)
            with open(self.path, "rb") as reader:
                self._write_offset(0, reader.read(IDENTITY_BYTES))

    # --- dead letters ----------------------------------------------------------------------------

    def requeue_dead_letters(self, ids: set[str] | None = None) -> int:
        """Put dead letters (all, or those with these ids) back at the end of the spool; how many were."""
        moved = 0
        for letter in self.dead_letters.letters():
            if ids is not None and letter.id not in ids:
                continue
            if not self.append(letter.payload):
                break  # the spool is full: the rest stay dead letters
            # One at a time: a crash between the two steps leaves only this event in both places.
            self.dead_letters.remove([letter])
            moved += 1
        if moved:
            self.dead_letters.compact()
        return moved

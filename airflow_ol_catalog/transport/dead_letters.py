"""Dead letters: events a destination refused for good, kept with the answer they got.

An event the destination refuses with a lasting 4xx would, left at the head of the spool, hold
back every later event. It moves here instead, with the status, the answer and when, and
delivery goes on. `airflow ol-catalog spool dead-letters` lists, retries or discards them.

The file is a record file (see records.py) of JSON documents, only ever appended to: a letter,
or the removal of letters by id; a compaction rewrites it atomically with the living letters.
A letter's id is a digest of the event, so the same event refused again (after a crash between
dead-lettering it and moving the spool on, or after a retry) is still one letter.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from airflow_ol_catalog.transport import records
from airflow_ol_catalog.transport.refusals import Refusal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeadLetter:
    id: str
    at: float  # when it was refused (epoch seconds)
    status: int
    answer: str
    payload: bytes

    def summary(self) -> str:
        """The event in a few words: its type and job (or dataset)."""
        try:
            event = json.loads(self.payload)
            subject = event.get("job") or event.get("dataset") or {}
            name = f"{subject.get('namespace')}/{subject.get('name')}"
            kind = event.get("eventType") or ("DATASET" if "dataset" in event else "JOB")
        except (ValueError, AttributeError):
            return "(not a JSON object)"
        return f"{kind} {name if len(name) <= 80 else name[:79] + '…'}"

    def document(self) -> dict:
        return {
            "id": self.id,
            "at": self.at,
            "status": self.status,
            "answer": self.answer,
            "event": self.payload.decode("utf-8", "surrogateescape"),
        }


# A full file is compacted when a letter is added only up to this size; beyond it, by a flush.
COMPACT_WHEN_ADDING_BYTES = 2 * 1024 * 1024
COMPACT_SLACK_BYTES = 64 * 1024  # "full": less room left than this


def letter_id(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()[:12]


class DeadLetters:
    def __init__(self, path: Path, max_bytes: int):
        self.path = path
        self.max_bytes = max_bytes
        self.compacted_path = path.with_name(f"{path.name}.compacted")

    def add(self, payload: bytes, refusal: Refusal) -> bool:
        """Keep a refused event; False when the file is full (the event is not kept).

        Each refusal is appended, the same event's too (its newest answer wins when read): a full
        file is compacted, which keeps one letter per event, before a letter is turned away, here
        when it is small (a file of 100 MB takes seconds, past emit's bound), else by the next
        flush (`compact_if_full`).
        """
        letter = DeadLetter(letter_id(payload), time.time(), refusal.status, refusal.answer, payload)
        if self._append(letter.document(), capped=True):
            return True
        if self._size() > COMPACT_WHEN_ADDING_BYTES or not self.compact_if_full():
            return False
        return self._append(letter.document(), capped=True)

    def compact_if_full(self) -> bool:
        """Compact a file that reached max_bytes, unless nothing was added since its last compaction;
        whether it was."""
        size = self._size()
        if size + COMPACT_SLACK_BYTES < self.max_bytes or self._compacted_size() == size:
            return False
        self.compact()
        return True

    def _size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def _compacted_size(self) -> int | None:
        """The file's size when a compaction last left it (None: not known)."""
        try:
            return int(self.compacted_path.read_text())
        except (FileNotFoundError, ValueError):
            return None

    def remove(self, letters: Iterable[DeadLetter]) -> None:
        """Forget these letters, in one durable append (never refused for space: it makes room).

        A letter is named by its id and time, so the same event refused again meanwhile stays.
        """
        named = [[letter.id, letter.at] for letter in letters]
        if named:
            self._append({"removed": named}, capped=False)

    def discard(self, ids: set[str] | None = None) -> int:
        """Delete letters (all, or those with these ids); how many were."""
        chosen = [letter for letter in self.letters() if ids is None or letter.id in ids]
        if chosen:
            self.remove(chosen)
            self.compact()
        return len(chosen)

    def _append(self, document: dict, capped: bool) -> bool:
        record = records.encode(json.dumps(document).encode(), time.time())
        with records.open_locked(self.path) as handle:
            if capped and handle.seek(0, os.SEEK_END) + len(record) > self.max_bytes:
                return False
            records.append_durably(handle, record)
        return True

    def letters(self) -> list[DeadLetter]:
        """The living letters, oldest first."""
        snapshot = records.open_snapshot(self.path)
        if snapshot is None:
            return []
        reader, size = snapshot
        with reader:
            return self._living(reader.read(size))

    def damage(self) -> tuple[int, int]:
        """Records torn by a crash in the file now, and their bytes: skipped by every read, gone at
        the next compaction."""
        snapshot = records.open_snapshot(self.path)
        if snapshot is None:
            return 0, 0
        reader, size = snapshot
        with reader:
            torn = [item.damaged for item in records.scan(reader.read(size), 0) if item.payload is None]
        return len(torn), sum(torn)

    def _living(self, data: bytes) -> list[DeadLetter]:
        living: dict[str, DeadLetter] = {}
        for item in records.scan(data, 0):
            if item.payload is None:
                log.warning("dead letters %s: %d damaged bytes skipped", self.path, item.damaged)
                continue
            document = json.loads(item.payload)
            for named_id, at in document.get("removed", ()):
                if named_id in living and living[named_id].at == at:
                    del living[named_id]
            if "event" in document:
                living.pop(document["id"], None)  # refused again: the latest answer, at the end
                living[document["id"]] = DeadLetter(
                    document["id"],
                    document["at"],
                    document["status"],
                    document["answer"],
                    document["event"].encode("utf-8", "surrogateescape"),
                )
        return list(living.values())

    def compact(self) -> None:
        """Rewrite the file with the living letters only (after removals), atomically."""
        if not self.path.exists():
            return
        with records.open_locked(self.path) as handle:
            size = handle.seek(0, os.SEEK_END)
            with open(self.path, "rb") as reader:
                living = self._living(reader.read(size))

            def write(target) -> None:
                for letter in living:
                    target.write(records.encode(json.dumps(letter.document()).encode(), letter.at))

            records.replace_durably(self.path, write)
            # Not durable: lost, the next full refusal compacts once more.
            self.compacted_path.write_text(str(self._size()))

"""PostgreSQL keeps the event log in monthly partitions by event time, so that retention drops a
month that is wholly past its window as one table instead of deleting its rows one by one.

Each month from the current one to `AHEAD` months after it has its own partition, made ahead of
time by the migration that partitioned the log (0015) and by every retention run. An event whose
month has no partition (an event time years away, or a month nobody made in time) goes to the
default partition, `ol_catalog_event_other`: nothing is refused for its time. When a month's
partition is made later, its events move out of the default partition in the same transaction.

SQLite keeps one table: nothing here runs there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Connection, text

PARENT = "ol_catalog_event"
OTHER = f"{PARENT}_other"  # the default partition
AHEAD = 2  # months kept ready after the current one
# DDL on the log waits this long for the readers and writers before it, then gives up; writers
# that come meanwhile wait behind it, so it is short.
LOCK_TIMEOUT = "2s"
ADVISORY_KEY = 0x6F6C635F70617274  # serialises partition changes across API servers ("olc_part")
_MONTHLY = re.compile(rf"^{PARENT}_(\d{{4}})_(\d{{2}})$")


@dataclass(frozen=True, order=True)
class Month:
    """One monthly partition: event times from `start` (included) to `end` (excluded), in UTC."""

    start: datetime
    end: datetime

    @classmethod
    def of(cls, when: datetime) -> Month:
        when = when.astimezone(timezone.utc)
        return cls.starting(when.year, when.month)

    @classmethod
    def starting(cls, year: int, month: int) -> Month:
        start = datetime(year, month, 1, tzinfo=timezone.utc)
        end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=timezone.utc)
        return cls(start, end)

    @property
    def table(self) -> str:
        return f"{PARENT}_{self.start.year:04d}_{self.start.month:02d}"

    @property
    def bounds(self) -> str:
        """The partition's bounds as SQL (DDL takes no parameters; these are the catalog's own times)."""
        return f"FROM ('{self.start.isoformat()}') TO ('{self.end.isoformat()}')"

    def following(self, count: int) -> Iterator[Month]:
        """This month and the `count` after it."""
        month = self
        for _ in range(count + 1):
            yield month
            month = Month.of(month.end)


def is_partitioned(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": PARENT}).scalar()
    return kind == "p"


def monthly_partitions(conn: Connection) -> list[Month]:
    """The log's monthly partitions, oldest first (other partitions an operator attached are left alone)."""
    names = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(:t)"
        ),
        {"t": PARENT},
    ).scalars()
    months = []
    for name in names:
        found = _MONTHLY.match(name)
        if found:
            months.append(Month.starting(int(found[1]), int(found[2])))
    return sorted(months)


def serialise_changes(conn: Connection) -> None:
    """One partition change at a time across API servers, and no long wait for the log's lock."""
    conn.execute(text("SET LOCAL lock_timeout = 0"))  # for the other's change, however long it takes
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_KEY})
    conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))


def lock_log(conn: Connection) -> None:
    """Keep every reader and writer of the log out until the transaction ends."""
    conn.execute(text(f"LOCK TABLE {PARENT} IN ACCESS EXCLUSIVE MODE"))


def add_month(conn: Connection, month: Month) -> None:
    """Make a month's partition, taking its events out of the default partition first."""
    bounds = {"start": month.start, "end": month.end}
    lock_log(conn)  # making a partition takes it anyway; no event of that month lands in the default one meanwhile
    waiting = conn.execute(
        text(f"SELECT EXISTS (SELECT 1 FROM {OTHER} WHERE event_time >= :start AND event_time < :end)"), bounds
    ).scalar()
    if waiting:
        conn.execute(text(f"CREATE TEMPORARY TABLE olc_moving (LIKE {PARENT}) ON COMMIT DROP"))
        conn.execute(
            text(
                f"WITH moved AS (DELETE FROM {OTHER} WHERE event_time >= :start AND event_time < :end RETURNING *) "
                "INSERT INTO olc_moving SELECT * FROM moved"
            ),
            bounds,
        )
    conn.execute(text(f"CREATE TABLE {month.table} PARTITION OF {PARENT} FOR VALUES {month.bounds}"))
    if waiting:
        conn.execute(text(f"INSERT INTO {PARENT} SELECT * FROM olc_moving"))
        conn.execute(text("DROP TABLE olc_moving"))


def ensure_months(conn: Connection, now: datetime) -> list[Month]:
    """Make the partitions of the current month and the `AHEAD` after it that are missing."""
    serialise_changes(conn)
    have = set(monthly_partitions(conn))
    made = [month for month in Month.of(now).following(AHEAD) if month not in have]
    for month in made:
        add_month(conn, month)
    return made


def drop_month(conn: Connection, month: Month) -> None:
    conn.execute(text(f"DROP TABLE {month.table}"))

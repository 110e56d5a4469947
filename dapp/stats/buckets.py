"""Hour and day buckets of pairs and tokens: how they are kept per input and read back.

An input folds its events into the hour buckets it touches, and only those are written per
input. A day bucket is its hours merged in order (`day_of`), so it is not kept per event: when a
pair or token first trades in a later day, its previous day is written once, from that day's
hours (read back in one range query). The day of a subject's latest hour is therefore never
stored: a reader merges it from its hours (at most 24 rows, `day_buckets`), or, for a pair's
high and low, reads the latest hour's extremes of the day so far. Rewriting a whole day row on
every swap was a third of the recorder's writes.

A token's buckets are touched out of time order when an input files a stream swap's flow at the
end of its interval (possibly in an earlier hour) after another pair's later flow with the same
token: that hour is read, folded and written, and its day, if already written, merged anew. A
pair's own events are always in time order (its order pools are executed up to an input's time
before anything else touches it), which the day-so-far extremes of its hours rely on.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from dapp.stats.figures import DAY, HOUR, PairCandle, TokenCandle, period_start

C = TypeVar("C", PairCandle, TokenCandle)


@dataclass(frozen=True)
class CandleTable(Generic[C]):
    """Where the buckets of one kind of subject live."""

    kind: type[C]
    table: str
    column: str  # the subject's id column

    def latest_hour(self, sql: sqlite3.Connection, subject_id: int) -> tuple[int, C] | None:
        row = sql.execute(
            f"SELECT start, data FROM {self.table} WHERE {self.column} = ? AND span = ?"
            " ORDER BY start DESC LIMIT 1",
            (subject_id, HOUR),
        ).fetchone()
        return None if row is None else (row[0], self.kind.load(row[1]))

    def open_day(self, sql: sqlite3.Connection, subject_id: int) -> int | None:
        """The start of the day of the subject's latest hour: the one day never stored."""
        row = sql.execute(
            f"SELECT start FROM {self.table} WHERE {self.column} = ? AND span = ?"
            " ORDER BY start DESC LIMIT 1",
            (subject_id, HOUR),
        ).fetchone()
        return None if row is None else row[0] - row[0] % DAY

    def hours_of_day(
        self, sql: sqlite3.Connection, subject_id: int, day: int
    ) -> list[tuple[int, C]]:
        """The subject's stored hours of `day` (start, bucket), in order."""
        return [
            (start, self.kind.load(data))
            for start, data in sql.execute(
                f"SELECT start, data FROM {self.table} WHERE {self.column} = ? AND span = ?"
                " AND start >= ? AND start < ? ORDER BY start",
                (subject_id, HOUR, day, day + DAY),
            )
        ]

    def day_from_hours(self, sql: sqlite3.Connection, subject_id: int, day: int) -> C | None:
        """The day bucket made of the subject's stored hours of `day`, or None if there are none."""
        hours = self.hours_of_day(sql, subject_id, day)
        return self.kind.day_of(hours) if hours else None


PAIR_CANDLES = CandleTable(PairCandle, "pair_candles", "pair_id")
TOKEN_CANDLES = CandleTable(TokenCandle, "token_candles", "token_id")


def later_hour(kind: type[C], latest: tuple[int, C] | None, start: int) -> tuple[C, int | None]:
    """The new bucket of the hour at `start`, after the subject's `latest` (start, bucket), and
    the day that this closes, if any: an hour of the same day opens from the one before it, an
    hour of a later day afresh (the recorder and the benchmark's seeder both keep this rule)."""
    if latest is None:
        return kind.opening(), None
    day = period_start(latest[0], DAY)
    if day == period_start(start, DAY):
        return latest[1].next_hour(), None
    return kind.opening(), day


@dataclass
class Periods(Generic[C]):
    """What the recorder remembers of one kind of subject between inputs: each one's latest
    hour bucket (start, bucket), equal to what the database holds."""

    latest: dict[int, tuple[int, C]] = field(default_factory=dict)

    def trim(self, limit: int) -> None:
        if len(self.latest) > limit:
            self.latest.clear()


class InputBuckets(Generic[C]):
    """The hour buckets of one kind of subject that one input touches, and their writing."""

    def __init__(self, where: CandleTable[C], periods: Periods[C], sql: sqlite3.Connection) -> None:
        self.where: CandleTable[C] = where
        self.periods: Periods[C] = periods
        self.sql = sql
        self.touched: dict[tuple[int, int], C] = {}  # (subject id, hour start) → bucket
        self.earlier: set[tuple[int, int]] = set()  # touched hours before the subject's latest
        self.closed: set[tuple[int, int]] = set()  # (subject, day) a later hour has closed

    def hour(self, subject_id: int, ts: int) -> tuple[C, bool]:
        """The subject's hour bucket around `ts`, and whether this input touches it first."""
        start = ts - ts % HOUR
        key = (subject_id, start)
        bucket = self.touched.get(key)
        if bucket is not None:
            return bucket, False
        bucket = self.touched[key] = self._open(subject_id, start)
        return bucket, True

    def _open(self, subject_id: int, start: int) -> C:
        latest = self.periods.latest.get(subject_id)
        if latest is None:
            latest = self.where.latest_hour(self.sql, subject_id)
            if latest is not None:
                self.periods.latest[subject_id] = latest
        if latest is not None and latest[0] == start:
            return latest[1]
        if latest is None or latest[0] < start:
            bucket, closed_day = later_hour(self.where.kind, latest, start)
            self.periods.latest[subject_id] = (start, bucket)
            if closed_day is not None:
                self.closed.add((subject_id, closed_day))
            return bucket
        assert self.where.kind is not PairCandle, "a pair's events come in time order"
        self.earlier.add((subject_id, start))
        row = self.sql.execute(
            f"SELECT data FROM {self.where.table} WHERE {self.where.column} = ? AND span = ?"
            " AND start = ?",
            (subject_id, HOUR, start),
        ).fetchone()
        return self.where.kind.opening() if row is None else self.where.kind.load(row[0])

    def write(self) -> None:
        """The touched hours, then the days they close or change."""
        if not self.touched:
            return
        where, sql = self.where, self.sql
        sql.executemany(
            f"INSERT OR REPLACE INTO {where.table} VALUES (?, {HOUR}, ?, ?)",
            [
                (subject_id, start, bucket.dump())
                for (subject_id, start), bucket in self.touched.items()
            ],
        )
        days = set(self.closed)
        for subject_id, start in self.earlier:
            latest = self.periods.latest[subject_id][0]
            day = start - start % DAY
            if day != latest - latest % DAY:  # the open day is merged when read, or when it closes
                days.add((subject_id, day))
        rows = []
        for subject_id, day in sorted(days):
            bucket = where.day_from_hours(sql, subject_id, day)
            assert bucket is not None  # the hour that closed it or changed it is one of them
            rows.append((subject_id, day, bucket.dump()))
        if rows:
            sql.executemany(f"INSERT OR REPLACE INTO {where.table} VALUES (?, {DAY}, ?, ?)", rows)


def day_buckets(
    sql: sqlite3.Connection,
    where: CandleTable[C],
    subject_id: int,
    first: int,
    last: int,
    limit: int | None = None,
) -> list[tuple[int, C]]:
    """The subject's day buckets with first ≤ start ≤ last in order, at most `limit`: the stored
    ones, then its open day (the day of its latest hour) merged from its hours."""
    rows = sql.execute(
        f"SELECT start, data FROM {where.table} WHERE {where.column} = ? AND span = ?"
        " AND start >= ? AND start <= ? ORDER BY start" + ("" if limit is None else " LIMIT ?"),
        (subject_id, DAY, first, last) + (() if limit is None else (limit,)),
    ).fetchall()
    out = [(start, where.kind.load(data)) for start, data in rows]
    if limit is not None and len(out) >= limit:
        return out
    day = where.open_day(sql, subject_id)
    if day is not None and first <= day <= last:
        merged = where.day_from_hours(sql, subject_id, day)
        assert merged is not None
        out.append((day, merged))
    return out

"""External price series: CSV files and a seeded geometric Brownian motion, all exact.

A price is a `Fraction` (quote per whole base token) at a Unix time in seconds; times strictly
increase. Nothing here uses binary floats for a price: CSV closes are parsed from their decimal
text, and the GBM draws its normal variates from `random.Random(seed)` integers (Irwin–Hall: the
sum of 12 uniforms minus 6) and exponentiates with `decimal` at a fixed precision, so the same
seed gives the same path, to the last digit, on every platform.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import ROUND_DOWN, Context, Decimal
from fractions import Fraction
from pathlib import Path

DAY = 86_400
DEFAULT_START = 1_704_067_200  # 2024-01-01T00:00:00Z
_MISSING = {"", "null", "none", "nan", "na", "n/a", "-"}
_EXP_CONTEXT = Context(prec=40)
_PRICE_DIGITS = 18  # significant digits kept per simulated price


@dataclass(frozen=True)
class PricePoint:
    time: int
    price: Fraction


@dataclass(frozen=True)
class SkippedRow:
    line: int  # 1-based line number in the file (the header is line 1)
    reason: str


@dataclass(frozen=True)
class PriceSeries:
    points: list[PricePoint]
    skipped: list[SkippedRow] = field(default_factory=list)
    source: str = ""

    def __len__(self) -> int:
        return len(self.points)


def parse_time(text: str) -> int:
    """`YYYY-MM-DD`, an ISO date-time (UTC unless it says otherwise) or Unix seconds."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


def parse_price(text: str) -> Fraction | None:
    """A positive decimal price, or None when the cell is missing, `null` or not a number."""
    cleaned = text.strip().replace(",", "")
    if cleaned.lower() in _MISSING:
        return None
    try:
        value = Fraction(cleaned)
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def read_csv(path: str | Path) -> PriceSeries:
    """`date,close` or Yahoo's `Date,Open,High,Low,Close,Adj Close,Volume` (the `Close` column).

    Rows whose date or close is missing, `null` or malformed, and rows not later than the row
    before, are skipped and listed in `skipped` with their line number and reason.
    """
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise ValueError(f"{path}: empty file")
    header = [cell.strip().lower() for cell in rows[0]]
    if "date" not in header or "close" not in header:
        raise ValueError(f"{path}: the header needs `date` and `close` columns, got {rows[0]}")
    date_column, close_column = header.index("date"), header.index("close")
    points: list[PricePoint] = []
    skipped: list[SkippedRow] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            skipped.append(SkippedRow(line, "empty row"))
            continue
        if len(row) <= max(date_column, close_column):
            skipped.append(SkippedRow(line, "missing columns"))
            continue
        try:
            when = parse_time(row[date_column])
        except ValueError:
            skipped.append(SkippedRow(line, f"bad date {row[date_column]!r}"))
            continue
        price = parse_price(row[close_column])
        if price is None:
            skipped.append(SkippedRow(line, f"no price ({row[close_column].strip()!r})"))
            continue
        if points and when <= points[-1].time:
            skipped.append(SkippedRow(line, "not later than the previous row"))
            continue
        points.append(PricePoint(when, price))
    return PriceSeries(points, skipped, source=str(path))


def _normal(rng: random.Random) -> Fraction:
    """A standard normal variate (Irwin–Hall, 12 uniforms), exact from 53-bit integers."""
    total = sum(rng.getrandbits(53) for _ in range(12))
    return Fraction(total, 1 << 53) - 6


def _round_significant(value: Fraction, digits: int) -> Fraction:
    """`value` > 0 rounded down to `digits` significant decimal digits."""
    context = Context(prec=digits, rounding=ROUND_DOWN)
    return Fraction(context.divide(Decimal(value.numerator), Decimal(value.denominator)))


def gbm(
    days: int,
    *,
    seed: int,
    start_price: Fraction = Fraction(2000),
    drift: Fraction = Fraction(0),
    volatility: Fraction = Fraction(8, 10),
    steps_per_day: int = 1,
    start_time: int = DEFAULT_START,
) -> PriceSeries:
    """A geometric Brownian motion of `days` days (annual `drift` and `volatility`).

    `days * steps_per_day + 1` points, the first at `start_time` with `start_price`;
    S(t+dt) = S(t) · exp((μ − σ²/2)·dt + σ·√dt·Z), dt in years (365 days).
    """
    if days < 1 or steps_per_day < 1:
        raise ValueError("days and steps_per_day must be at least 1")
    if start_price <= 0:
        raise ValueError("start_price must be positive")
    rng = random.Random(seed)
    dt = Fraction(1, 365 * steps_per_day)
    sqrt_dt = _EXP_CONTEXT.sqrt(Decimal(dt.numerator) / Decimal(dt.denominator))
    step_drift = (drift - volatility * volatility / 2) * dt
    price = Fraction(start_price)
    interval = DAY // steps_per_day
    points = [PricePoint(start_time, price)]
    for step in range(1, days * steps_per_day + 1):
        shock = _normal(rng) * volatility
        exponent = _EXP_CONTEXT.add(
            _decimal(step_drift), _EXP_CONTEXT.multiply(_decimal(shock), sqrt_dt)
        )
        factor = Fraction(_EXP_CONTEXT.exp(exponent))
        price = _round_significant(price * factor, _PRICE_DIGITS)
        points.append(PricePoint(start_time + step * interval, price))
    return PriceSeries(points, [], source=f"gbm(seed={seed})")


def flat(
    days: int, *, price: Fraction, steps_per_day: int = 1, start_time: int = DEFAULT_START
) -> PriceSeries:
    """A constant price: for tests and for measuring execution costs alone."""
    interval = DAY // steps_per_day
    return PriceSeries(
        [PricePoint(start_time + i * interval, price) for i in range(days * steps_per_day + 1)],
        [],
        source=f"flat({price})",
    )


def _decimal(value: Fraction) -> Decimal:
    return _EXP_CONTEXT.divide(Decimal(value.numerator), Decimal(value.denominator))

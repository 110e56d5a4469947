"""Exact decimal rendering of integer state (stats-routes §0 "Numbers").

Amounts are kept in base units and shown as `raw / 10**decimals`, exactly. Prices and USD values
are fixed point with `SCALE` = 10**18, rounded toward zero when computed; shown with trailing
zeros trimmed ("0" for zero). Nothing here is a float.
"""

from __future__ import annotations

SCALE = 10**18
SCALE_DIGITS = 18


def units(raw: int, decimals: int) -> str:
    """`raw / 10**decimals` as an exact decimal string, trailing zeros trimmed."""
    if decimals == 0:
        return str(raw)
    sign = "-" if raw < 0 else ""
    whole, fraction = divmod(abs(raw), 10**decimals)
    if fraction == 0:
        return f"{sign}{whole}"
    digits = str(fraction).rjust(decimals, "0").rstrip("0")
    return f"{sign}{whole}.{digits}"


def fixed(scaled: int | None) -> str | None:
    """A fixed-point value (scale 10**18) as a decimal string; None stays None (JSON null)."""
    return None if scaled is None else units(scaled, SCALE_DIGITS)


def ratio(numerator: int, denominator: int) -> int | None:
    """`numerator / denominator` in fixed point, rounded toward zero; None when undefined."""
    if denominator == 0:
        return None
    quotient = abs(numerator) * SCALE // abs(denominator)
    return -quotient if (numerator < 0) != (denominator < 0) else quotient


def percent_change(now: int | None, before: int | None) -> int | None:
    """`(now − before) / before · 100` in fixed point; None when there is no base to compare."""
    if now is None or before is None or before == 0:
        return None
    return ratio((now - before) * 100, before)


def price(
    amount_quote: int, decimals_quote: int, amount_base: int, decimals_base: int
) -> int | None:
    """Whole quote tokens per whole base token, from base-unit amounts, in fixed point."""
    return ratio(amount_quote * 10**decimals_base, amount_base * 10**decimals_quote)

"""Decimal arithmetic as the published figures do it: rounded half-up (四捨五入), never to even."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

HUNDRED = Decimal(100)


def half_up(value: Decimal | int, places: int = 2) -> Decimal:
    """Round half-up to `places` decimals: 0.125 -> 0.13, where Python's round() gives 0.12."""
    return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def share_pct(part: int, whole: int) -> Decimal | None:
    """A composition share (構成比) in percent with two decimals; None when the whole is zero."""
    if whole == 0:
        return None
    return half_up(Decimal(part) * HUNDRED / Decimal(whole))


def ratio(numerator: Decimal | int, denominator: Decimal | int, places: int = 4) -> Decimal | None:
    """numerator / denominator rounded half-up; None when the denominator is zero."""
    if denominator == 0:
        return None
    return half_up(Decimal(numerator) / Decimal(denominator), places)


def text(value: Decimal | None) -> str | None:
    """How an exact figure is kept in the stored snapshot (JSON has no decimal type)."""
    return None if value is None else str(value)

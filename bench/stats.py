"""Percentiles, trends and ratios over the figures a benchmark collects."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def pct(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def slope(points: Sequence[tuple[float, int]]) -> float | None:
    """Least-squares slope of (t, n) points; None for fewer than three."""
    if len(points) < 3:
        return None
    xs = [p[0] for p in points]
    ys = [float(p[1]) for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else None


def ratio(value: float | None, ceiling: float) -> float | None:
    return None if value is None or not ceiling else round(value / ceiling, 3)

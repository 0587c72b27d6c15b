"""Confidence intervals for ICE scores (shares of n probes).

Why Wilson: a score is k positives out of n answered probes; at n=1000 the 95% interval is about
±0.03 around 0.3, and near 0 the normal approximation gives negative bounds while Wilson does not.
Two scores are "not distinguishable" when Newcombe's interval for their difference (built from the
two Wilson intervals, method 10 of Newcombe 1998) contains 0.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for k successes in n trials (None when n == 0)."""
    if n <= 0:
        return None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_diff(k1: int, n1: int, k2: int, n2: int, z: float = Z95) -> tuple[float, float] | None:
    """95% interval for p1 - p2 (Newcombe's hybrid score method)."""
    a, b = wilson(k1, n1, z), wilson(k2, n2, z)
    if a is None or b is None:
        return None
    p1, p2 = k1 / n1, k2 / n2
    d = p1 - p2
    lo = d - math.sqrt((p1 - a[0]) ** 2 + (b[1] - p2) ** 2)
    hi = d + math.sqrt((a[1] - p1) ** 2 + (p2 - b[0]) ** 2)
    return lo, hi


def distinguishable(k1: int, n1: int, k2: int, n2: int) -> bool | None:
    """True when the two shares differ at the 95% level (None when either n is 0)."""
    iv = newcombe_diff(k1, n1, k2, n2)
    return None if iv is None else not (iv[0] <= 0 <= iv[1])


def round_half_up(k: int, n: int, places: int) -> Decimal:
    """k/n rounded the way a person rounds (0.035 -> 0.04), exactly, without binary-float surprises."""
    return (Decimal(k) / Decimal(n)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)

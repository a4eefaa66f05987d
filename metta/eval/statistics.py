"""Running summaries (count, mean, spread) that merge exactly, and Student-t intervals.

Summaries are kept as (n, mean, m2) with m2 the sum of squared deviations from the mean,
so shards and databases can be merged without keeping every value and without the
cancellation that sum-of-squares formulas suffer from. The t quantile is computed here
(no scipy dependency) from the closed-form t distribution for integer degrees of freedom.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

CONFIDENCE = 0.95
_Z_975 = 1.959963984540054  # standard normal 97.5% quantile


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    m2: float  # sum of squared deviations from `mean`

    @staticmethod
    def zeros(n: int) -> Summary:
        """`n` observations that are all 0: a metric the database left out because it was 0."""
        return Summary(n, 0.0, 0.0)

    def merged(self, other: Summary) -> Summary:
        """The summary of both samples together (Chan et al.'s pairwise update)."""
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * other.n / n
        m2 = self.m2 + other.m2 + delta * delta * self.n * other.n / n
        return Summary(n, mean, max(m2, 0.0))

    @property
    def std(self) -> float | None:
        """Sample standard deviation (n - 1 in the denominator); None for fewer than 2 values."""
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else None

    @property
    def sem(self) -> float | None:
        std = self.std
        return std / math.sqrt(self.n) if std is not None else None

    def ci95(self) -> tuple[float, float] | None:
        """Two-sided 95% interval for the mean: mean +- t(0.975, n-1) * std / sqrt(n)."""
        if self.sem is None:
            return None
        half = t_quantile_975(self.n - 1) * self.sem
        return (self.mean - half, self.mean + half)


def difference_ci95(a: Summary, b: Summary) -> tuple[float, tuple[float, float] | None]:
    """mean(a) - mean(b) and its Welch 95% interval (unequal variances).

    The Welch-Satterthwaite degrees of freedom are rounded down, which widens the interval
    slightly: on the safe side for saying two policies differ.
    """
    diff = a.mean - b.mean
    if a.sem is None or b.sem is None:
        return diff, None
    va, vb = a.sem**2, b.sem**2
    if va + vb == 0:
        return diff, (diff, diff)
    df = (va + vb) ** 2 / ((va**2 / (a.n - 1) if va else 0.0) + (vb**2 / (b.n - 1) if vb else 0.0))
    half = t_quantile_975(max(1, math.floor(df))) * math.sqrt(va + vb)
    return diff, (diff - half, diff + half)


@lru_cache(maxsize=4096)
def t_quantile_975(df: int) -> float:
    """The 97.5% quantile of Student's t with `df` (integer) degrees of freedom."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df > 300:
        return _t_quantile_expansion(df)
    low, high = 0.0, 20.0 if df > 1 else 100.0  # t(0.975, 1) = 12.71
    for _ in range(80):  # bisection on the central probability; 80 halvings reach float precision
        mid = (low + high) / 2
        if _central_probability(mid, df) < CONFIDENCE:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _central_probability(t: float, df: int) -> float:
    """P(-t < T < t) for integer df, by the finite trigonometric series of the t distribution
    (Abramowitz & Stegun 26.7.3-4)."""
    theta = math.atan(t / math.sqrt(df))
    s, c2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2 == 0:
        term, total = 1.0, 1.0
        for k in range(1, df // 2):  # products (1*3*...*(2k-1)) / (2*4*...*2k) * cos^(2k)
            term *= c2 * (2 * k - 1) / (2 * k)
            total += term
        return s * total
    if df == 1:
        return 2 * theta / math.pi
    term = total = math.cos(theta)
    for k in range(1, (df - 1) // 2):  # products (2*4*...*2k) / (3*5*...*(2k+1)) * cos^(2k+1)
        term *= c2 * (2 * k) / (2 * k + 1)
        total += term
    return 2 / math.pi * (theta + s * total)


def _t_quantile_expansion(df: int) -> float:
    """Cornish-Fisher expansion of the t quantile around the normal one; for large df the
    error is far below anything a report prints."""
    z = _Z_975
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    return z + g1 / df + g2 / df**2 + g3 / df**3

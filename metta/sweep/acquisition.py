"""How Protein picks among candidates: constrained expected improvement at a random cost target.

Each suggestion draws a target cost somewhere along the Pareto front (a little beyond its dearest
end, by `expansion_rate`) and asks: which candidate most improves the best score found so far
*at or below that cost*? That is expected improvement over the front's score at the target,
weighted by the probability that the candidate's cost stays under the target (Gardner et al.,
"Bayesian optimization with inequality constraints", ICML 2014). Over many suggestions the
targets cover the whole front, so cheap configurations keep improving alongside the best one.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """E[max(f - best, 0)] for f ~ N(mean, std^2), higher scores being better."""
    z = (mean - best) / std
    return (mean - best) * norm.cdf(z) + std * norm.pdf(z)


def probability_below(mean: np.ndarray, std: np.ndarray, threshold: float) -> np.ndarray:
    return norm.cdf((threshold - mean) / std)


def sample_cost_target(front_log_costs: np.ndarray, expansion_rate: float, max_log_cost: float,
                       rng: np.random.Generator) -> float:
    """A log-cost drawn uniformly between the front's cheapest point and a bit beyond its dearest.

    The range is extended upward by `expansion_rate` times the front's log-cost span (at least
    one e-fold, so a front of equal costs still has room to grow), then capped at the budget.
    """
    low, high = float(np.min(front_log_costs)), float(np.max(front_log_costs))
    high = high + expansion_rate * max(high - low, 1.0)
    high = min(high, max_log_cost)
    if high <= low:
        return low
    return float(rng.uniform(low, high))


def incumbent_at(target_log_cost: float, log_costs: np.ndarray, scores: np.ndarray) -> float:
    """The best score among runs that cost no more than the target (the front's height there)."""
    within = log_costs <= target_log_cost + 1e-12
    return float(np.max(scores[within])) if within.any() else float(np.min(scores))


def log_cost_cap(max_suggestion_cost: float | None) -> float:
    return math.inf if max_suggestion_cost is None else math.log(max_suggestion_cost)

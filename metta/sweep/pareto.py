"""The score/cost Pareto front: the runs no other run beats on both counts at once."""

from __future__ import annotations

import numpy as np


def pareto_front(costs: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated points, cheapest first (higher score and lower cost are better).

    A point is on the front when every cheaper-or-equal point scores strictly lower. Walking the
    points from cheapest to dearest and keeping each one that beats the best score so far finds
    exactly those; among equal costs the best score is visited first, so ties keep one point.
    """
    costs = np.asarray(costs, dtype=float)
    scores = np.asarray(scores, dtype=float)
    order = np.lexsort((-scores, costs))  # by cost, then best score first
    front, best = [], -np.inf
    for index in order:
        if scores[index] > best:
            front.append(index)
            best = scores[index]
    return np.array(front, dtype=int)

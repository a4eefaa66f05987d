"""How a curriculum picks the next task: one class per kind, all over task ids [0, n).

Every kind describes its distribution the same sparse way, so thousands of tasks cost nothing
until they are played: p(i) = uniform / n + extra.get(i, 0), with uniform + sum(extra) = 1.
Sampling, the logged probabilities and the entropy all read that one description.
Statistics are kept only for tasks that finished episodes (dicts keyed by task id).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np


class Kind:
    """Uniform over all tasks (the `bucketed` kind, and the base of the others)."""

    def __init__(self, num_tasks: int, **params: Any):
        self.num_tasks = num_tasks

    def distribution(self) -> tuple[float, dict[int, float]]:
        return 1.0, {}

    def update(self, task_id: int, score: float) -> None:
        """One finished episode of `task_id` scoring `score` (its mean agent reward)."""

    def state(self) -> dict[str, Any]:
        return {}

    def load_state(self, state: dict[str, Any]) -> None:
        pass


class Single(Kind):
    pass


class Bucketed(Kind):
    pass


class Random(Kind):
    """Fixed weights (a task list with `weight`s)."""

    def __init__(self, num_tasks: int, weights: list[float] | None = None, **params: Any):
        super().__init__(num_tasks)
        weights = np.asarray(weights if weights is not None else [1.0] * num_tasks, dtype=np.float64)
        self.extra = {i: float(w) for i, w in enumerate(weights / weights.sum()) if w > 0}

    def distribution(self):
        return 0.0, self.extra


class LearningProgress(Kind):
    """Bidirectional learning progress: fast and slow moving averages of each task's normalised
    success; tasks are drawn by |fast - slow| (where success is changing, up or down), with a
    `rand_task_rate` share drawn uniformly and tasks below `sample_threshold` episodes not yet
    weighed (their averages mean little)."""

    def __init__(self, num_tasks: int, ema_timescale: float = 0.02, slow_timescale: float | None = None,
                 progress_smoothing: float = 0.05, rand_task_rate: float = 0.25, sample_threshold: int = 5,
                 score_max: float | None = None, **params: Any):
        super().__init__(num_tasks)
        self.fast_rate = float(ema_timescale)
        self.slow_rate = float(slow_timescale if slow_timescale is not None else ema_timescale / 5)
        self.smoothing = float(progress_smoothing)
        self.rand_task_rate = float(rand_task_rate)
        self.sample_threshold = int(sample_threshold)
        self.score_max = score_max  # normaliser; None: the largest score seen so far
        self.fast: dict[int, float] = {}
        self.slow: dict[int, float] = {}
        self.count: dict[int, int] = {}
        self.seen_max = 0.0

    def _normalise(self, score: float) -> float:
        top = self.score_max if self.score_max else max(self.seen_max, 1e-8)
        return min(max(score / top, 0.0), 1.0)

    def update(self, task_id, score):
        self.seen_max = max(self.seen_max, float(score))
        success = self._normalise(float(score))
        n = self.count.get(task_id, 0) + 1
        self.count[task_id] = n
        if n == 1:
            self.fast[task_id] = self.slow[task_id] = success
            return
        self.fast[task_id] += self.fast_rate * (success - self.fast[task_id])
        self.slow[task_id] += self.slow_rate * (success - self.slow[task_id])

    def progress(self) -> dict[int, float]:
        return {i: abs(self.fast[i] - self.slow[i]) for i, n in self.count.items() if n >= self.sample_threshold}

    def distribution(self):
        progress = self.progress()
        # No measured task changes (early on, or a sparse reward still all zero): nothing to
        # prefer yet, so draw uniformly rather than favour whichever tasks were measured first.
        if not progress or max(progress.values()) <= 1e-9:
            return 1.0, {}
        # Smoothing keeps every measured task drawable; a flat progress means uniform among them.
        weights = {i: p + self.smoothing * (max(progress.values()) + 1e-6) for i, p in progress.items()}
        total = sum(weights.values())
        share = 1.0 - self.rand_task_rate
        return self.rand_task_rate, {i: share * w / total for i, w in weights.items()}

    def state(self):
        return {"fast": self.fast, "slow": self.slow, "count": self.count, "seen_max": self.seen_max}

    def load_state(self, state):
        self.fast = {int(k): v for k, v in state["fast"].items()}
        self.slow = {int(k): v for k, v in state["slow"].items()}
        self.count = {int(k): v for k, v in state["count"].items()}
        self.seen_max = float(state["seen_max"])


class PrioritizeRegressed(Kind):
    """Weight each task by max score / moving-average score: tasks the policy once did better on
    come back more often. Unplayed tasks weigh like the heaviest played one (they get tried)."""

    def __init__(self, num_tasks: int, moving_avg_decay_rate: float = 0.05, rand_task_rate: float = 0.1, **params):
        super().__init__(num_tasks)
        self.decay = float(moving_avg_decay_rate)
        self.rand_task_rate = float(rand_task_rate)
        self.average: dict[int, float] = {}
        self.best: dict[int, float] = {}

    def update(self, task_id, score):
        score = float(score)
        if task_id not in self.average:
            self.average[task_id], self.best[task_id] = score, score
            return
        self.average[task_id] += self.decay * (score - self.average[task_id])
        self.best[task_id] = max(self.best[task_id], score)

    def weights(self) -> dict[int, float]:
        return {i: (self.best[i] + 1e-6) / (abs(self.average[i]) + 1e-6) for i in self.average}

    def distribution(self):
        weights = self.weights()
        if not weights:
            return 1.0, {}
        total = sum(weights.values())
        return self.rand_task_rate, {i: (1 - self.rand_task_rate) * w / total for i, w in weights.items()}

    def state(self):
        return {"average": self.average, "best": self.best}

    def load_state(self, state):
        self.average = {int(k): v for k, v in state["average"].items()}
        self.best = {int(k): v for k, v in state["best"].items()}


class Progressive(Kind):
    """Tasks in order: stay on one until its mean score over the last `window` episodes reaches
    `threshold`, then move on (the last task stays)."""

    def __init__(self, num_tasks: int, threshold: float = 0.8, window: int = 10, **params):
        super().__init__(num_tasks)
        self.threshold = float(threshold)
        self.window = int(window)
        self.current = 0
        self.recent: deque[float] = deque(maxlen=self.window)

    def update(self, task_id, score):
        if task_id != self.current:
            return
        self.recent.append(float(score))
        if len(self.recent) == self.window and np.mean(self.recent) >= self.threshold \
                and self.current < self.num_tasks - 1:
            self.current += 1
            self.recent.clear()

    def distribution(self):
        return 0.0, {self.current: 1.0}

    def state(self):
        return {"current": self.current, "recent": list(self.recent)}

    def load_state(self, state):
        self.current = int(state["current"])
        self.recent = deque(state["recent"], maxlen=self.window)


KINDS: dict[str, type[Kind]] = {
    "single": Single,
    "random": Random,
    "bucketed": Bucketed,
    "learning_progress": LearningProgress,
    "prioritize_regressed": PrioritizeRegressed,
    "progressive": Progressive,
}


def sample(rng: np.random.Generator, num_tasks: int, uniform: float, extra: dict[int, float]) -> int:
    if not extra or rng.random() < uniform:
        return int(rng.integers(num_tasks))
    ids = list(extra)
    weights = np.fromiter(extra.values(), dtype=np.float64, count=len(ids))
    return ids[int(rng.choice(len(ids), p=weights / weights.sum()))]


def probability(num_tasks: int, uniform: float, extra: dict[int, float], task_id: int) -> float:
    if not extra:
        uniform = 1.0
    return uniform / num_tasks + extra.get(task_id, 0.0)


def entropy(num_tasks: int, uniform: float, extra: dict[int, float]) -> float:
    """Entropy (nats) of the sparse distribution, without touching the unweighted tasks one by one."""
    if not extra:
        return math.log(num_tasks)
    base = uniform / num_tasks
    total = 0.0
    for p in extra.values():
        q = base + p
        if q > 0:
            total -= q * math.log(q)
    rest = num_tasks - len(extra)
    if base > 0 and rest > 0:
        total -= rest * base * math.log(base)
    return total

"""Curricula: which task each env plays next, chosen from how training goes (docs/curricula.md).

`load_curriculum("mettagrid/curriculum/navigation", seed)` reads a curriculum config under
configs/env/mettagrid/curriculum/ (or wraps a plain env config as a single task);
`Curriculum.next_task()` draws a task id, `config(task_id)` builds its EnvConfig when an env is
about to play it, `complete(task_id, score)` feeds back a finished episode. The vector env asks
for tasks at episode boundaries (mettagrid/vec_env.py); the trainer logs `epoch_metrics()` and
saves `state_dict()` in its trainer state.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from metta.rl.curriculum.kinds import KINDS, entropy, probability, sample
from metta.rl.curriculum.loader import load_task_space
from metta.rl.curriculum.tasks import TaskSpace
from mettagrid.config import EnvConfig

# Per-task metrics logged each epoch: the most likely tasks by name, the rest summed.
TOP_K = 16


class Curriculum:
    def __init__(self, name: str, space: TaskSpace, kind: str, params: dict[str, Any], seed: int):
        self.name, self.space, self.kind_name = name, space, kind
        self.kind = KINDS[kind](len(space), **params)
        self.rng = np.random.default_rng(seed)
        self.completions: dict[int, int] = {}  # whole run
        self._epoch_completions: dict[int, int] = {}
        self._epoch_rewards: dict[int, float] = {}

    def __len__(self) -> int:
        return len(self.space)

    # -- the env side ---------------------------------------------------------------------------

    def next_task(self) -> int:
        uniform, extra = self.kind.distribution()
        return sample(self.rng, len(self.space), uniform, extra)

    def config(self, task_id: int) -> EnvConfig:
        return self.space.config(task_id)

    def task_name(self, task_id: int) -> str:
        return self.space.name(task_id)

    def complete(self, task_id: int, score: float) -> None:
        self.kind.update(task_id, score)
        self.completions[task_id] = self.completions.get(task_id, 0) + 1
        self._epoch_completions[task_id] = self._epoch_completions.get(task_id, 0) + 1
        self._epoch_rewards[task_id] = self._epoch_rewards.get(task_id, 0.0) + float(score)

    # -- what is logged -------------------------------------------------------------------------

    def probability(self, task_id: int) -> float:
        uniform, extra = self.kind.distribution()
        return probability(len(self.space), uniform, extra, task_id)

    def entropy(self) -> float:
        return entropy(len(self.space), *self.kind.distribution())

    def epoch_metrics(self, top_k: int = TOP_K) -> dict[str, float]:
        """This epoch's `curriculum/...` metrics (and a reset of the epoch counters). Bounded:
        at most `top_k` tasks by name per family, the others summed into `_rest`."""
        n = len(self.space)
        uniform, extra = self.kind.distribution()
        candidates = set(extra) | set(self._epoch_completions) | (set(range(n)) if n <= top_k else set())
        probs = {i: probability(n, uniform, extra, i) for i in candidates}
        shown = sorted(probs, key=lambda i: (-probs[i], i))[:top_k]
        metrics = {"curriculum/num_tasks": float(n), "curriculum/entropy": self.entropy()}
        for i in shown:
            metrics[f"curriculum/task_probs/{self.task_name(i)}"] = probs[i]
        if n > len(shown):
            metrics["curriculum/task_probs/_rest"] = max(0.0, 1.0 - sum(probs[i] for i in shown))
        by_count = sorted(self._epoch_completions, key=lambda i: (-self._epoch_completions[i], i))
        for i in by_count[:top_k]:
            name = self.task_name(i)
            metrics[f"curriculum/completions/{name}"] = float(self._epoch_completions[i])
            metrics[f"curriculum/reward/{name}"] = self._epoch_rewards[i] / self._epoch_completions[i]
        if len(by_count) > top_k:
            rest = by_count[top_k:]
            metrics["curriculum/completions/_rest"] = float(sum(self._epoch_completions[i] for i in rest))
            metrics["curriculum/reward/_rest"] = (sum(self._epoch_rewards[i] for i in rest)
                                                  / sum(self._epoch_completions[i] for i in rest))
        self._epoch_completions, self._epoch_rewards = {}, {}
        return metrics

    # -- resume ---------------------------------------------------------------------------------

    def state_dict(self) -> str:
        """JSON text (trainer_state.pt loads with weights_only: plain strings travel safely)."""
        return json.dumps({
            "name": self.name, "kind": self.kind_name, "num_tasks": len(self.space),
            "rng": self.rng.bit_generator.state, "kind_state": self.kind.state(),
            "completions": self.completions,
        })

    def load_state_dict(self, text: str) -> None:
        state = json.loads(text)
        if (state["name"], state["kind"], state["num_tasks"]) != (self.name, self.kind_name, len(self.space)):
            raise ValueError(f"saved curriculum {state['name']} ({state['kind']}, {state['num_tasks']} tasks) "
                             f"is not this run's {self.name} ({self.kind_name}, {len(self.space)} tasks)")
        self.kind.load_state(state["kind_state"])
        self.rng.bit_generator.state = state["rng"]
        self.completions = {int(k): v for k, v in state["completions"].items()}


def load_curriculum(name: str, seed: int = 0) -> Curriculum:
    """The curriculum `name` (`env/mettagrid/curriculum/navigation`, `/env/...`, or a plain env)."""
    name, space, kind, params = load_task_space(name)
    return Curriculum(name, space, kind, params, seed)


__all__ = ["Curriculum", "load_curriculum", "KINDS"]

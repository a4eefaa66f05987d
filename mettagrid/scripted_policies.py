"""Policies that need no training, vectorised over every agent of a MettaGridVecEnv.

`random` draws uniformly among valid (action, arg) pairs. `simple` wanders like a person
exploring: mostly forward, sometimes turning, and it tries to use whatever it faces. Both are
baselines and drivers for renderers and benchmarks, not players.
"""

from __future__ import annotations

import numpy as np

from mettagrid.vec_env import ACTION_DTYPE, MettaGridVecEnv


class RandomPolicy:
    def __init__(self, env: MettaGridVecEnv, seed: int = 0):
        self.env = env
        self.rng = np.random.default_rng(seed)

    def act(self, observations: np.ndarray) -> np.ndarray:
        return self.env.valid_random_actions(self.rng)


class SimplePolicy:
    """Forward 60%, turn 20%, use what is in front (get, then put) 20%."""

    def __init__(self, env: MettaGridVecEnv, seed: int = 0):
        self.env = env
        self.rng = np.random.default_rng(seed)
        ids = {name: index for index, name in enumerate(env.action_names)}
        self.choices = [
            (0.6, ids.get("move"), lambda n: np.zeros(n)),
            (0.2, ids.get("rotate"), lambda n: self.rng.integers(0, 4, n)),
            (0.1, ids.get("get_items"), lambda n: np.zeros(n)),
            (0.1, ids.get("put_items"), lambda n: np.zeros(n)),
        ]
        self.noop = ids.get("noop", 0)

    def act(self, observations: np.ndarray) -> np.ndarray:
        n = self.env.total_agents
        actions = np.zeros((n, 2), dtype=ACTION_DTYPE)
        actions[:, 0] = self.noop
        draw = self.rng.random(n)
        low = 0.0
        for share, action_id, make_args in self.choices:
            chosen = (draw >= low) & (draw < low + share)
            low += share
            if action_id is None:
                continue  # this game lacks the action: those agents noop
            actions[chosen, 0] = action_id
            actions[chosen, 1] = make_args(n)[chosen]
        return actions


def _nearest_building(env: MettaGridVecEnv, seed: int = 0):
    from mettagrid.scripted_navigator import NearestBuildingPolicy

    return NearestBuildingPolicy(env, seed)


def _arena(env: MettaGridVecEnv, seed: int = 0):
    from mettagrid.scripted_arena import ArenaPolicy

    return ArenaPolicy(env, seed)


SCRIPTED_POLICIES = {"random": RandomPolicy, "simple": SimplePolicy, "scripted": _nearest_building,
                     "arena": _arena}

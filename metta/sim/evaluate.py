"""Run a policy on a simulation suite and report mean episode rewards.

Episodes of one simulation run side by side in one batched vector env (one env per
episode; the loop is shared with `suite_runner`, which `tools/sim.py` uses to record stats
DBs). The policy may have been trained on another env: an `EnvAdapter` maps feature ids
and actions by name, and refuses an env the policy cannot read. This quick score for the
trainer lets the policy play every agent (a simulation's NPC share is for `tools/sim.py`).
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from metta.agent.compat import PolicyEnvMismatch
from metta.agent.policy_actor import PolicyActor
from metta.sim.simulation_config import SimulationConfig, SimulationSuiteConfig
from metta.sim.suite_runner import make_sim_env, play_episodes
from mettagrid.env_configs import compose_env_config


def run_simulation(policy, sim: SimulationConfig, num_episodes: int, max_time_s: float, seed: int = 0,
                   device: torch.device | str = "cpu") -> list[dict]:
    """Run `num_episodes` episodes (one per env, in parallel); returns their episode results."""
    env_config = compose_env_config(sim.env, sim.env_overrides)
    env = make_sim_env(env_config, num_episodes, seed)
    try:
        results, _ = play_episodes(env, PolicyActor(policy, env, device), num_episodes, max_time_s)
    finally:
        env.close()
    return results


def evaluate_suite(policy, suite: SimulationSuiteConfig, seed: int = 0, device: torch.device | str = "cpu",
                   skipped: set[str] | None = None) -> dict[str, float]:
    """`eval/<suite>/<simulation>/reward` per simulation and `eval/<suite>/score` (their mean).

    Simulations the policy cannot play are skipped; pass the same `skipped` set to repeated
    calls (as the trainer does) to say so only once."""
    skipped = set() if skipped is None else skipped
    metrics: dict[str, float] = {}
    for name, sim in suite.simulations.items():
        episodes = sim.num_episodes or suite.num_episodes
        try:
            results = run_simulation(policy, sim, episodes, sim.max_time_s or suite.max_time_s, seed=seed,
                                     device=device)
        except PolicyEnvMismatch as error:
            # A suite may hold envs this policy was never built for (other actions or
            # features): skip them, say so once, keep training.
            if name not in skipped:
                skipped.add(name)
                print(f"evaluation: skipping {suite.name}/{name}: {error}", file=sys.stderr)
            continue
        rewards = [float(np.mean(result["episode_rewards"])) for result in results]
        metrics[f"eval/{suite.name}/{name}/reward"] = float(np.mean(rewards)) if rewards else float("nan")
    scores = [value for value in metrics.values() if not np.isnan(value)]
    metrics[f"eval/{suite.name}/score"] = float(np.mean(scores)) if scores else float("nan")
    return metrics

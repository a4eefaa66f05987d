"""Time the scripted CoGsGuard policies: wall seconds for one full episode of a mission with
the policy playing every agent (both teams), env stepping included.

Usage (repo root, package installed with `pip install -e .`):
    python devops/bench/cogsguard_policies.py [--mission cogsguard_arena.basic] [--episodes 3]
Prints the median episode time and agent steps per second for each policy.
"""

from __future__ import annotations

import argparse
import statistics
import time

from metta.agent.policy_uri import builtin_spec
from mettagrid.cogsguard.missions import load_mission
from mettagrid.vec_env import MettaGridVecEnv

POLICIES = ("role", "role_py", "cogsguard?gear=10", "baseline", "random")


def episode_seconds(mission: str, policy: str, seed: int) -> tuple[float, int]:
    env = MettaGridVecEnv(load_mission(mission, desync_episodes=False), num_envs=1, seed=seed, auto_reset=False)
    try:
        actor = builtin_spec(policy).make_actor(env, "cpu", seed)
        observations = env.reset()
        started = time.perf_counter()
        while not env.episode_over(0):
            observations, _, terminals, truncations = env.step(actor.act(observations))
            actor.observe_dones(terminals, truncations)
        return time.perf_counter() - started, env.current_step(0) * env.num_agents
    finally:
        env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mission", default="cogsguard_arena.basic")
    parser.add_argument("--episodes", type=int, default=3)
    args = parser.parse_args()
    print(f"{args.mission}: median of {args.episodes} episode(s)")
    for policy in POLICIES:
        runs = [episode_seconds(args.mission, policy, seed) for seed in range(args.episodes)]
        seconds = statistics.median(s for s, _ in runs)
        agent_steps = runs[0][1]
        print(f"  {policy:<20} {seconds:6.2f} s/episode  {agent_steps / seconds:9,.0f} agent steps/s", flush=True)


if __name__ == "__main__":
    main()

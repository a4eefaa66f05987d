"""Scrimmage: a policy plays the cogs against an opponent playing the clips, for a few episodes.

`scrimmage(mission, policy_uri, ...)` returns one metrics dict per episode and their means.
The evaluated policy controls every `cogs` agent; `opponent_uri` controls the `clips` (the
default is `metta://policy/baseline`; `None` lets the evaluated policy play both teams).
Any URI `metta.agent.policy_uri.resolve_policies` takes works on either side: built-ins
with parameters (`metta://policy/role?miner=4`) or trained checkpoints.

Metrics per episode, per team (`cogs/...`, `clips/...`):
  `heart.gained`           hearts the team's agents gained (sum)
  `aligned.junction.held`  junction-steps the team held (game stat `<team>/aligned.junction.held`)
  `junction.aligned`, `junction.scrambled`   alignments and scrambles its agents made
  `reward`                 mean episode reward of its agents
  `role.<role>`            its agents holding `<role>_gear` at the end
and for the evaluated (cogs) side, unprefixed: `heart.gained` and `reward` per agent (the
trainer's `env_agent/...` view), `aligned.junction.held`, and `win`: 1 when the cogs held
more junction-steps than the clips, on a tie more hearts, 0.5 on a full tie, else 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from mettagrid._core import REPLAY_FIXED_COLUMNS

from mettagrid.cogsguard.missions import load_mission
from mettagrid.cogsguard.policies.base import ROLES
from mettagrid.vec_env import MettaGridVecEnv

TEAMS = ("cogs", "clips")
DEFAULT_OPPONENT = "metta://policy/baseline"
GROUP_COLUMN = REPLAY_FIXED_COLUMNS.index("group")  # of a replay frame


def _actor(uri: str, env: MettaGridVecEnv, seed: int):
    from metta.agent.policy_uri import resolve_policies

    return resolve_policies(uri)[0].make_actor(env, seed=seed)


def episode_metrics(result: dict[str, Any], group_names: dict[int, str]) -> dict[str, float]:
    """The scrimmage metrics of one episode result (docs/mettagrid.md, section 10)."""
    game = result["game_stats"]
    metrics: dict[str, float] = {"steps": float(result["steps"])}
    teams = {team: [a for a, g in enumerate(result["agent_groups"]) if group_names.get(g) == team] for team in TEAMS}
    for team, agents in teams.items():
        stats = [result["agent_stats"][a] for a in agents]
        metrics[f"{team}/agents"] = float(len(agents))
        for key in ("heart.gained", "junction.aligned", "junction.scrambled"):
            metrics[f"{team}/{key}"] = float(sum(s.get(key, 0.0) for s in stats))
        metrics[f"{team}/aligned.junction.held"] = float(game.get(f"{team}/aligned.junction.held", 0.0))
        rewards = [result["episode_rewards"][a] for a in agents]
        metrics[f"{team}/reward"] = float(np.mean(rewards)) if rewards else 0.0
        for role in ROLES:
            gear = f"{role}_gear"
            held = [s.get(f"{gear}.gained", 0.0) - s.get(f"{gear}.lost", 0.0) for s in stats]
            metrics[f"{team}/role.{role}"] = float(sum(1 for h in held if h > 0))
    cogs = max(1.0, metrics["cogs/agents"])
    metrics["heart.gained"] = metrics["cogs/heart.gained"] / cogs
    metrics["reward"] = metrics["cogs/reward"]
    metrics["aligned.junction.held"] = metrics["cogs/aligned.junction.held"]
    key = ("aligned.junction.held", "heart.gained")
    ours = tuple(metrics[f"cogs/{k}"] for k in key)
    theirs = tuple(metrics[f"clips/{k}"] for k in key)
    metrics["win"] = 1.0 if ours > theirs else 0.0 if ours < theirs else 0.5
    return metrics


def scrimmage(
    mission: str,
    policy_uri: str,
    episodes: int = 10,
    steps: int | None = None,
    seed: int = 0,
    opponent_uri: str | None = DEFAULT_OPPONENT,
) -> dict[str, Any]:
    """Play `episodes` episodes of `mission` (each `steps` long, default the mission's) and
    return {"mission", "policy", "opponent", "episodes": [metrics...], "mean": {metric: mean}}.
    Episode k uses map seed `seed` + k's stream; the policies are seeded from `seed`."""
    config = load_mission(mission, max_steps=steps, desync_episodes=False)
    env = MettaGridVecEnv(config, num_envs=1, seed=seed)
    group_names = {group.id: name for name, group in config.game.groups.items()}
    clips_id = config.game.groups["clips"].id
    ours = _actor(policy_uri, env, seed)
    theirs = None if opponent_uri is None else _actor(opponent_uri, env, seed + 1)

    def both_teams():
        """The actor for this episode: agent ids follow the map (row-major), so which rows
        are clips changes per episode."""
        if theirs is None:
            return ours
        from metta.sim.suite_runner import MixedActor

        return MixedActor(ours, theirs, env.replay_frame(0)[: env.num_agents, GROUP_COLUMN] != clips_id)

    observations = env.reset()
    actor = both_teams()
    results: list[dict[str, Any]] = []
    while len(results) < episodes:
        observations, _, terminals, truncations = env.step(actor.act(observations))
        actor.observe_dones(terminals, truncations)
        ended = env.episode_results()
        if ended:  # the env has auto-reset onto the next episode's map
            results += ended
            actor = both_teams()
    env.close()
    per_episode = [episode_metrics(result, group_names) for result in results[:episodes]]
    keys = per_episode[0].keys() if per_episode else []
    return {
        "mission": mission,
        "policy": policy_uri,
        "opponent": opponent_uri or policy_uri,
        "episodes": per_episode,
        "mean": {key: float(np.mean([m[key] for m in per_episode])) for key in keys},
    }

"""One match: several policies share the agents of a MettaGrid env and are scored.

A season's settings (`SeasonSettings`, stored as JSON with the season) name the env and how
long a match is. A match runner is any function

    run_match(settings: SeasonSettings, bundles: list[Path], seed: int) -> list[float]

taking unpacked bundles (metta/tournament/bundle.py) and returning one score per bundle;
the server is told which with `--match-runner module:function`. The default one below:

1. builds the season's env with `episodes_per_match` envs side by side (one episode each,
   as metta/sim/suite_runner.py does for evaluations);
2. deals each env's agents into equal teams, one per policy, by a permutation drawn from
   `seed` (`team_rows`), so positions on the map are not a policy's advantage; or, with
   `teams: groups` (team games such as CoGsGuard), gives each policy one of the game's
   groups, rotating sides across the envs (`group_team_rows`);
3. plays every policy on its team (`TeamActor`) until each env finished its episode;
4. scores each policy by the mean episode reward of its agents over all envs.

The same bundles and seed give the same scores: built-ins draw from seeded generators and
torch's sampling is seeded from `seed` too. A policy that cannot load or play is reported
as a `ParticipantError` naming its position, so that the server can blame that submission
rather than the match.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from metta.common.uri import first_line


class SeasonSettings(BaseModel):
    """How a season's matches are played."""

    model_config = ConfigDict(extra="forbid")

    env: str = Field("mettagrid/arena/basic",
                     description="Env config under configs/env/ (has a '/'), or a mission name that "
                                 "mettagrid.cogsguard.missions.load_mission knows")
    env_overrides: list[str] = Field(default_factory=list, description="key=value overrides of the env config")
    max_steps: PositiveInt | None = Field(300, description="Episode length in steps; None keeps the env's own")
    episodes_per_match: PositiveInt = Field(2, description="Episodes per match, played side by side")
    policies_per_match: int = Field(2, ge=2, description="Policies in one match, each playing one team")
    agents_per_team: PositiveInt | None = Field(
        None, description="Agents each policy plays; None = an equal share. Must multiply with "
                          "policies_per_match to the env's agent count")
    teams: Literal["auto", "shuffled", "groups"] = Field(
        "auto", description="How agents are dealt to policies: 'shuffled' = a seeded permutation cut into "
                            "equal teams; 'groups' = each policy plays one of the game's groups (CoGsGuard's "
                            "cogs or clips), the sides rotating from one episode to the next; 'auto' = groups "
                            "for a mission (an env without '/'), shuffled otherwise")
    max_match_time_s: float = Field(300.0, gt=0, description="Wall-clock budget of one match")
    target_matches: PositiveInt = Field(
        30, description="The scheduler stops seeking matches for a submission that played this many")


class MatchError(RuntimeError):
    """A match that could not be played, through no single policy's fault."""


class ParticipantError(RuntimeError):
    """The policy at `position` could not load or play."""

    def __init__(self, position: int, message: str):
        super().__init__(position, message)
        self.position, self.message = position, message

    def __str__(self) -> str:
        return f"policy {self.position}: {self.message}"


def season_env_config(settings: SeasonSettings) -> Any:
    """The EnvConfig a season's matches run on."""
    from mettagrid.cogsguard.missions import env_config_by_name

    config = env_config_by_name(settings.env, settings.env_overrides)
    if settings.max_steps is not None:
        config = config.model_copy(deep=True)
        config.game.max_steps = settings.max_steps
    return config


def team_rows(num_envs: int, num_agents: int, num_teams: int, seed: int) -> np.ndarray:
    """The team (0..num_teams-1) of every agent row (env-major): in each env a seeded
    permutation of the agents is cut into equal consecutive teams."""
    if num_agents % num_teams:
        raise MatchError(f"the env's {num_agents} agents do not split into {num_teams} equal teams")
    share = num_agents // num_teams
    rng = np.random.default_rng(seed)
    teams = np.empty((num_envs, num_agents), dtype=np.int64)
    for env_teams in teams:
        env_teams[rng.permutation(num_agents)] = np.arange(num_agents) // share
    return teams.reshape(-1)


def dealt_by_groups(settings: SeasonSettings) -> bool:
    """Whether policies play the game's own groups (see SeasonSettings.teams)."""
    return settings.teams == "groups" or (settings.teams == "auto" and "/" not in settings.env)


def group_team_rows(env: Any, num_teams: int) -> np.ndarray:
    """The team of every agent row when policies play the game's own groups: in env i, the
    policy at position p plays the (p + i)-th group (by group id), so over several episodes
    each policy plays every side. Call after the env was reset (its agents are on the map)."""
    rows = []
    for env_index in range(env.num_envs):
        agents = sorted((obj["agent_id"], obj["group"]) for obj in env.grid_objects(env_index) if "agent_id" in obj)
        group_ids = sorted({group for _, group in agents})
        if len(group_ids) != num_teams:
            raise MatchError(f"teams=groups needs one group per policy: the env has {len(group_ids)} groups with "
                             f"agents for {num_teams} policies")
        sizes = {group: sum(1 for _, g in agents if g == group) for group in group_ids}
        if len(set(sizes.values())) != 1:
            raise MatchError(f"teams=groups needs groups of equal size, not {sizes}")
        side = {group: (rank - env_index) % num_teams for rank, group in enumerate(group_ids)}
        rows.append([side[group] for _, group in agents])
    return np.asarray(rows, dtype=np.int64).reshape(-1)


class TeamActor:
    """Several actors, each acting for its own team's rows. Every actor sees every agent's
    observation (its memory stays aligned with the env's rows); only its team's actions are
    used. A failure while acting is blamed on the actor's position."""

    def __init__(self, actors: list[Any], teams: np.ndarray):
        self.actors = actors
        self.teams = teams

    def act(self, observations: np.ndarray) -> np.ndarray:
        actions = None
        for position, actor in enumerate(self.actors):
            try:
                chosen = np.asarray(actor.act(observations))
            except Exception as error:  # noqa: BLE001  (foreign weights may fail in any way)
                raise ParticipantError(position, f"failed to act ({first_line(error)})") from None
            if actions is None:
                actions = chosen.copy()
            mine = self.teams == position
            actions[mine] = chosen[mine]
        return actions

    def observe_dones(self, terminals: np.ndarray, truncations: np.ndarray) -> None:
        for actor in self.actors:
            actor.observe_dones(terminals, truncations)


def run_match(settings: SeasonSettings, bundles: list[Path], seed: int) -> list[float]:
    """The default match runner (see the module docstring)."""
    import torch

    from metta.agent.compat import PolicyEnvMismatch
    from metta.agent.policy_file import CheckpointError
    from metta.agent.policy_store import PolicyStoreError
    from metta.sim.suite_runner import make_sim_env, play_episodes
    from metta.tournament.bundle import BundleError, load_bundle_spec

    if len(bundles) != settings.policies_per_match:
        raise MatchError(f"{len(bundles)} policies for a match of {settings.policies_per_match}")
    env = make_sim_env(season_env_config(settings), settings.episodes_per_match, seed)
    try:
        expected = settings.agents_per_team and settings.agents_per_team * len(bundles)
        if expected and expected != env.num_agents:
            raise MatchError(f"agents_per_team {settings.agents_per_team} x {len(bundles)} policies is not the "
                             f"env's {env.num_agents} agents")
        observations = env.reset()
        if dealt_by_groups(settings):
            teams = group_team_rows(env, len(bundles))
        else:
            teams = team_rows(env.num_envs, env.num_agents, len(bundles), seed)
        torch.manual_seed(seed)
        actors = []
        for position, bundle in enumerate(bundles):
            try:
                spec = load_bundle_spec(bundle, label=f"p{position}")
                actors.append(spec.make_actor(env, "cpu", seed + 1000 * position))
            except (BundleError, CheckpointError, PolicyEnvMismatch, PolicyStoreError) as error:
                raise ParticipantError(position, first_line(error)) from None
        results, _ = play_episodes(env, TeamActor(actors, teams), env.num_envs, settings.max_match_time_s,
                                   observations=observations)
    finally:
        env.close()
    if not results:
        raise MatchError(f"no episode finished within max_match_time_s={settings.max_match_time_s}")
    rewards = np.concatenate([np.asarray(r["episode_rewards"], dtype=np.float64) for r in results])
    played = np.concatenate([teams[r["env_index"] * env.num_agents:(r["env_index"] + 1) * env.num_agents]
                             for r in results])
    return [float(rewards[played == position].mean()) for position in range(len(bundles))]


def timed(runner: Any, settings: SeasonSettings, bundles: list[Path], seed: int) -> tuple[list[float], float]:
    """Run a runner and check its answer: (scores, seconds taken)."""
    started = time.monotonic()
    scores = [float(score) for score in runner(settings, bundles, seed)]
    if len(scores) != len(bundles):
        raise MatchError(f"the match runner returned {len(scores)} scores for {len(bundles)} policies")
    if not all(np.isfinite(scores)):
        raise MatchError(f"the match runner returned a non-finite score: {scores}")
    return scores, time.monotonic() - started


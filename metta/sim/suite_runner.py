"""Run a simulation suite for one or more policies and record every episode in a stats DB.

Each (policy, simulation) pair is one task: `num_episodes` episodes side by side in one
MettaGridVecEnv (one env per episode, `desync_episodes` off so they start together), within
the simulation's wall-clock budget. Tasks run in worker processes, each writing its own
DuckDB shard; the shards are merged into one file at the end.

A simulation may hand a share of each episode's agents (`policy_agents_pct`) to an NPC
policy (`npc_policy_uri`); which agents is drawn per env from the seed. A policy (or NPC)
that cannot play a simulation's env is skipped there, with one line on stderr.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metta.agent.compat import PolicyEnvMismatch
from metta.agent.policy_uri import PolicySpec, resolve_policies
from metta.sim.replay import ReplayRecorder, replay_destination, write_replay
from metta.sim.simulation_config import SimulationConfig, SimulationSuiteConfig
from metta.sim.stats_db import (
    StatsWriter,
    merge_shards,
    open_stats_db,
    simulation_episode_means,
    simulation_metric_mean,
)
from mettagrid.atomic_files import temp_path_for
from mettagrid.config import EnvConfig
from mettagrid.env_configs import compose_env_config
from mettagrid.vec_env import MettaGridVecEnv

# ---------------------------------------------------------------------------------------------
# one simulation, in this process


def make_sim_env(env_config: EnvConfig, num_episodes: int, seed: int) -> MettaGridVecEnv:
    """One env per episode; episodes start together so that they finish together. Only an
    env's first episode counts, so a finished env waits (no auto-reset) with its final
    frame intact for the replay recorder."""
    env_config = env_config.model_copy(update={"desync_episodes": False})
    return MettaGridVecEnv(env_config, num_envs=num_episodes, seed=seed, auto_reset=False)


def play_episodes(env: MettaGridVecEnv, actor: Any, num_episodes: int, max_time_s: float,
                  recorder: Any = None, observations: np.ndarray | None = None) -> tuple[list[dict], bool]:
    """Step until every env has finished one episode or the budget is spent.

    `observations`: pass the env's observations when the caller has reset it already (to look
    at the map first); otherwise the env is reset here.
    Returns the first episode result of each env (ordered by env, each with a UTC
    `completed_at`) and whether time ran out.
    """
    if observations is None:
        observations = env.reset()
    if recorder is not None:
        recorder.after_step()
    finished: dict[int, dict] = {}
    deadline = time.monotonic() + max_time_s
    while len(finished) < num_episodes:
        if time.monotonic() >= deadline:
            break
        observations, _, terminals, truncations = env.step(actor.act(observations))
        actor.observe_dones(terminals, truncations)
        if recorder is not None:
            recorder.after_step()
        for result in env.episode_results():
            # With auto-reset an env that finished early plays on; only its first episode counts.
            if result["env_index"] not in finished:
                finished[result["env_index"]] = {**result, "completed_at": _utc_now()}
    results = [finished[index] for index in sorted(finished)]
    return results, len(finished) < num_episodes


class MixedActor:
    """The evaluated policy on some agents, the NPC policy on the rest. Both see every
    agent's observation (simple, and their memories stay aligned with the env's rows)."""

    def __init__(self, policy_actor: Any, npc_actor: Any, policy_rows: np.ndarray):
        self.policy_actor, self.npc_actor = policy_actor, npc_actor
        self.policy_rows = policy_rows[:, None]

    def act(self, observations: np.ndarray) -> np.ndarray:
        ours = np.asarray(self.policy_actor.act(observations))
        theirs = np.asarray(self.npc_actor.act(observations))
        return np.where(self.policy_rows, ours, theirs)

    def observe_dones(self, terminals: np.ndarray, truncations: np.ndarray) -> None:
        self.policy_actor.observe_dones(terminals, truncations)
        self.npc_actor.observe_dones(terminals, truncations)


def policy_agent_rows(num_envs: int, num_agents: int, pct: float, seed: int) -> np.ndarray:
    """Bool per agent row (env-major): played by the evaluated policy. At least one per env."""
    if pct >= 1:
        return np.ones(num_envs * num_agents, dtype=bool)
    count = min(num_agents, max(1, round(num_agents * pct)))
    rng = np.random.default_rng(seed)
    rows = np.zeros((num_envs, num_agents), dtype=bool)
    for env_rows in rows:
        env_rows[rng.choice(num_agents, size=count, replace=False)] = True
    return rows.reshape(-1)


# ---------------------------------------------------------------------------------------------
# tasks (picklable: they cross into worker processes)


@dataclass
class SimulationTask:
    suite: str
    name: str
    env_name: str
    env_config: EnvConfig
    policy: PolicySpec
    npc: PolicySpec | None
    policy_agents_pct: float
    num_episodes: int
    max_time_s: float
    seed: int
    device: str
    shard_path: Path
    replay_dir: str | None = None  # a directory or an s3:// prefix
    torch_threads: int | None = None


@dataclass
class SimulationOutcome:
    suite: str
    name: str
    policy_uri: str
    simulation_id: str | None = None
    episodes: int = 0
    skipped: str | None = None  # why the policy could not play it
    timed_out: bool = False
    shard_path: Path | None = None


def run_simulation_task(task: SimulationTask) -> SimulationOutcome:
    if task.torch_threads:
        import torch

        torch.set_num_threads(task.torch_threads)
    outcome = SimulationOutcome(task.suite, task.name, task.policy.uri)
    env = make_sim_env(task.env_config, task.num_episodes, task.seed)
    try:
        try:
            actor = task.policy.make_actor(env, task.device, task.seed)
        except PolicyEnvMismatch as error:
            outcome.skipped = f"{task.policy.name}: {error}"
            return outcome
        rows = policy_agent_rows(env.num_envs, env.num_agents, task.policy_agents_pct, task.seed)
        if task.npc is not None:
            try:
                npc_actor = task.npc.make_actor(env, task.device, task.seed + 1)
            except PolicyEnvMismatch as error:
                outcome.skipped = f"{task.policy.name} (its NPC {task.npc.name}: {error})"
                return outcome
            actor = MixedActor(actor, npc_actor, rows)
        recorder = _replay_recorder(env, task)
        with StatsWriter(task.shard_path) as writer:
            npc_key = task.npc.policy_key if task.npc else None
            npc_version = task.npc.policy_version if task.npc else None
            sim_id = writer.add_simulation(task.name, task.suite, task.env_name, task.policy.policy_key,
                                           task.policy.policy_version, npc_key, npc_version)
            started = _utc_now()
            results, outcome.timed_out = play_episodes(env, actor, task.num_episodes, task.max_time_s, recorder)
            for result in results:
                index = result["env_index"]
                agents = rows[index * env.num_agents : (index + 1) * env.num_agents]
                assignment = [_key(task.policy) if mine else _key(task.npc) for mine in agents]
                replay_url = write_replay(recorder.replay(index), _replay_path(task, index)) if recorder else None
                writer.add_episode(result, sim_id, assignment, replay_url=replay_url,
                                   attributes={"seed": task.seed}, created_at=started)
        outcome.simulation_id, outcome.episodes, outcome.shard_path = sim_id, len(results), task.shard_path
        return outcome
    finally:
        env.close()


def _key(spec: PolicySpec | None) -> tuple[str, str]:
    assert spec is not None
    return spec.policy_key, spec.policy_version


def _utc_now():
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


# -- replays: one file per episode, `<replay_dir>/<suite>/<simulation>/<policy>_<env>.json.z`
# (replay_dir may be an s3:// prefix); its path or URI goes into the episodes table.


def _replay_recorder(env: MettaGridVecEnv, task: SimulationTask) -> Any:
    if task.replay_dir is None:
        return None
    metadata = {"policy_uri": task.policy.uri, "suite": task.suite, "simulation": task.name,
                "env": task.env_name, "seed": task.seed}
    return ReplayRecorder(env, metadata=metadata)


def _replay_path(task: SimulationTask, env_index: int) -> str:
    assert task.replay_dir is not None
    name = f"{_file_safe(task.policy.name)}_{env_index}"
    return replay_destination(f"{task.replay_dir}/{_file_safe(task.suite)}/{_file_safe(task.name)}", name)


def _file_safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


# ---------------------------------------------------------------------------------------------
# a suite, for several policies


@dataclass
class PolicyResult:
    spec: PolicySpec
    metrics: dict[str, float | None] = field(default_factory=dict)
    episodes: dict[str, list[float]] = field(default_factory=dict)  # <sim>/reward -> each episode's mean

    def spread(self, metric: str) -> tuple[float | None, int]:
        """(sample std, n) of `metric` across episodes: one simulation's episodes for
        `<sim>/reward`, every simulation's pooled for `reward_avg`; (None, n) below 2 episodes
        or for a metric not made of episodes."""
        if metric == "reward_avg":
            values = [v for column in self.episodes.values() for v in column]
        else:
            values = self.episodes.get(metric, [])
        return (float(np.std(values, ddof=1)) if len(values) >= 2 else None), len(values)


def default_num_workers(num_tasks: int) -> int:
    return max(1, min(os.cpu_count() or 1, num_tasks))


def run_suite(
    specs: list[PolicySpec],
    suite: SimulationSuiteConfig,
    out_path: str | Path,
    *,
    num_workers: int | None = None,
    num_episodes: int | None = None,
    seed: int = 0,
    device: str = "cpu",
    replay_dir: str | Path | None = None,
    log=sys.stderr,
) -> list[PolicyResult]:
    """Evaluate every spec on every simulation of `suite`; the merged stats DB is written to
    `out_path`. `num_episodes` overrides the suite's and simulations' counts. Returns, per
    spec, `<sim>/reward` (mean agent reward, missing = 0) and `reward_avg` over simulations."""
    out_path = Path(out_path)
    env_configs = {name: compose_env_config(sim.env, sim.env_overrides) for name, sim in suite.simulations.items()}
    npcs = {name: _resolve_npc(sim) for name, sim in suite.simulations.items()}
    for spec in specs:
        spec.load("cpu")  # an unreadable checkpoint fails here, in one line, before any work
    out_path.parent.mkdir(parents=True, exist_ok=True)
    # Named like an atomic write's temp file, so a killed evaluation's shards are swept by
    # remove_stale_temp_files at the next start of sim.py here.
    shard_dir = temp_path_for(out_path.with_name(out_path.name + ".shards"))
    shard_dir.mkdir()
    tasks = []
    for spec in specs:
        detached = spec.detached()
        for name, sim in suite.simulations.items():
            tasks.append(SimulationTask(
                suite=suite.name, name=name, env_name=sim.env, env_config=env_configs[name], policy=detached,
                npc=npcs[name], policy_agents_pct=sim.policy_agents_pct,
                num_episodes=num_episodes or sim.num_episodes or suite.num_episodes,
                max_time_s=sim.max_time_s or suite.max_time_s, seed=seed, device=device,
                shard_path=shard_dir / f"shard_{len(tasks):04d}.duckdb",
                replay_dir=str(replay_dir).rstrip("/") if replay_dir else None,
            ))
    workers = num_workers or default_num_workers(len(tasks))
    try:
        outcomes = _run_tasks(tasks, workers)
        for outcome in outcomes:
            if outcome.skipped:
                print(f"sim: skipping {outcome.suite}/{outcome.name} for {outcome.skipped}", file=log)
            elif outcome.timed_out:
                print(f"sim: {outcome.suite}/{outcome.name}: time budget spent after "
                      f"{outcome.episodes} finished episode(s)", file=log)
        merge_shards([o.shard_path for o in outcomes if o.shard_path], out_path)
    finally:
        shutil.rmtree(shard_dir, ignore_errors=True)
    return _policy_results(specs, outcomes, len(suite.simulations), out_path)


def _resolve_npc(sim: SimulationConfig) -> PolicySpec | None:
    if not sim.npc_policy_uri or sim.policy_agents_pct >= 1:
        return None
    npc = resolve_policies(sim.npc_policy_uri, selector="latest")[0]
    npc.load("cpu")
    return npc.detached()


def _run_tasks(tasks: list[SimulationTask], workers: int) -> list[SimulationOutcome]:
    if workers <= 1 or len(tasks) <= 1:
        return [run_simulation_task(task) for task in tasks]
    threads = max(1, (os.cpu_count() or 1) // workers)  # keep workers from oversubscribing cores
    for task in tasks:
        task.torch_threads = threads
    # spawn, not fork: a forked child of a process that already ran torch/OpenMP can hang.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(run_simulation_task, tasks))


def _policy_results(specs: list[PolicySpec], outcomes: list[SimulationOutcome], sims_per_spec: int,
                    db_path: Path) -> list[PolicyResult]:
    results = []
    with open_stats_db(db_path) as con:
        for index, spec in enumerate(specs):
            result = PolicyResult(spec)
            for outcome in outcomes[index * sims_per_spec : (index + 1) * sims_per_spec]:
                if outcome.simulation_id is None:
                    continue
                mean = simulation_metric_mean(con, outcome.simulation_id, "reward", spec.policy_key,
                                              spec.policy_version)
                result.metrics[f"{outcome.name}/reward"] = mean
                result.episodes[f"{outcome.name}/reward"] = simulation_episode_means(
                    con, outcome.simulation_id, "reward", spec.policy_key, spec.policy_version)
            played = [v for v in result.metrics.values() if v is not None and not math.isnan(v)]
            result.metrics = {"reward_avg": float(np.mean(played)) if played else None, **result.metrics}
            results.append(result)
    return results

"""`tools/autotune.py`: time env stepping (and optionally the policy) over a grid of settings.

Each grid point is one (vectorization, num_envs, num_workers) triple. A point runs the same
`TrainingEnv` the trainer uses, with random valid actions, for `seconds_per_point` seconds and
reports agent-steps/s. Before anything is built, the point's memory is estimated from shapes
(observation buffers plus the trainer's rollout storage for `trainer.batch_size`); points above
`memory_budget_gb` are skipped. With `include_policy` the policy's forward pass is timed too on
a batch of that point's agents, and points are ranked by the combined rate of env + policy.
`write_hardware=NAME` saves the fastest point as `configs/hardware/NAME.yaml`, composed from the
hardware preset the job ran with, so `./tools/train.py hardware=NAME` picks it up.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from omegaconf import DictConfig
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator

from metta.common.tool import job_config_from
from metta.common.uri import atomic_write_bytes
from metta.rl.trainer_config import TrainerConfig, rollout_shape
from mettagrid.config import EnvConfig
from mettagrid.env_configs import CONFIGS_DIR
from mettagrid.errors import ConfigError

GB = 1024**3
# Written into every preset this tool saves; only such presets may be overwritten.
MARKER = "# Written by tools/autotune.py"
PRESET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
ENGINES = ("threads", "multiprocessing")


class AutotuneConfig(BaseModel):
    """The `autotune:` section of configs/autotune_job.yaml."""

    model_config = ConfigDict(extra="forbid")

    num_envs: list[PositiveInt] = Field(min_length=1, description="Env counts to try")
    num_workers: list[PositiveInt] | None = Field(
        None, min_length=1, description="Thread/process counts to try; null = 1, 2, 4, ... up to the CPU count"
    )
    vectorization: list[Literal["threads", "multiprocessing"]] = Field(
        default_factory=lambda: list(ENGINES), min_length=1,
        description="Engines to try; multiprocessing only runs when pufferlib imports",
    )
    seconds_per_point: float = Field(1.0, gt=0, le=600, description="Timed seconds per grid point")
    warmup_steps: int = Field(8, ge=0, description="Untimed steps before each point's clock starts")
    include_policy: bool = Field(False, description="Also time the policy forward pass per point")
    memory_budget_gb: float = Field(8.0, gt=0, description="Skip points whose estimate exceeds this")
    write_hardware: str | None = Field(None, description="Save the fastest point as configs/hardware/NAME.yaml")
    seed: int = 0

    @field_validator("num_envs", "num_workers", "vectorization", mode="before")
    @classmethod
    def _one_value_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, (int, str)) and not isinstance(value, bool) else value

    @field_validator("num_envs", "num_workers", "vectorization")
    @classmethod
    def _no_repeats(cls, value: list | None) -> list | None:
        return None if value is None else list(dict.fromkeys(value))

    @field_validator("write_hardware")
    @classmethod
    def _preset_name(cls, name: str | None) -> str | None:
        if name is not None and not PRESET_NAME.match(name):
            raise ValueError("use letters, digits, '_' and '-' (it names configs/hardware/<name>.yaml)")
        return name


@dataclass
class Point:
    vectorization: str
    num_envs: int
    num_workers: int
    num_agents: int
    memory_bytes: int
    env_sps: float | None = None  # agent steps per second of the env alone
    policy_sps: float | None = None  # agent steps per second of the policy forward alone
    skipped: str | None = None

    @property
    def combined_sps(self) -> float | None:
        """Env then policy, one after the other (as in a rollout)."""
        if self.env_sps is None:
            return None
        if self.policy_sps is None:
            return self.env_sps
        return 1.0 / (1.0 / self.env_sps + 1.0 / self.policy_sps)


@dataclass
class AutotuneResult:
    points: list[Point] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def measured(self) -> list[Point]:
        done = [p for p in self.points if p.skipped is None]
        return sorted(done, key=lambda p: p.combined_sps or 0.0, reverse=True)

    @property
    def best(self) -> Point | None:
        measured = self.measured
        return measured[0] if measured else None


def default_workers() -> list[int]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    workers, n = [], 1
    while n < cores:
        workers.append(n)
        n *= 2
    return workers + [cores]


# -- memory ------------------------------------------------------------------------------------


def estimate_memory(env_config: EnvConfig, trainer: TrainerConfig, architecture: dict[str, Any],
                    num_envs: int, vectorization: str) -> int:
    """Bytes for one point: the env's step buffers and the trainer's rollout storage.

    Step buffers per agent: tokens x 3 uint8 of observation, an int32 (action, arg) pair, a
    float32 reward and two bool flags; multiprocessing keeps a second, shared copy. Rollout
    storage follows `metta.rl.experience.Experience` for the batch `rollout_shape` lays out:
    per agent step the observation, an int64 action, six float32 columns and a bool, plus the
    recurrent state (for the LSTM core, h and c) saved at each BPTT segment start. Raises ValueError (from
    `rollout_shape`) when the batch cannot hold one segment of every agent.
    """
    game = env_config.game
    agents = num_envs * game.num_agents
    obs_bytes = game.num_observation_tokens * 3
    step_buffers = agents * (obs_bytes + 2 * 4 + 4 + 1 + 1)
    if vectorization == "multiprocessing":
        step_buffers *= 2
    shape = rollout_shape(trainer.model_copy(update={"num_envs": num_envs}), game.num_agents)
    steps = shape.horizon * shape.num_agents
    per_step = obs_bytes + 8 + 6 * 4 + 1
    from metta.agent.architectures import parse_architecture
    from metta.agent.cores import state_floats_per_agent

    arch = parse_architecture(architecture)
    per_agent = state_floats_per_agent(arch.core, arch.hidden_size, arch.lstm_layers, arch.ssm_state_size,
                                       arch.cortex_pattern)
    segments = shape.horizon // trainer.bptt_horizon
    states = segments * shape.num_agents * per_agent * 4
    return step_buffers + steps * per_step + states


# -- measuring ---------------------------------------------------------------------------------


def _random_action_table(vec, num_agents: int, rng: np.random.Generator, rows: int = 32) -> list[np.ndarray]:
    max_args = np.asarray(vec.action_max_args)
    table = []
    for _ in range(rows):
        actions = rng.integers(0, len(max_args), size=num_agents)
        args = (rng.random(num_agents) * (max_args[actions] + 1)).astype(np.int64)
        table.append(np.stack([actions, args], axis=1).astype(np.int32))
    return table


def measure_env(env_config: EnvConfig, point: Point, seconds: float, warmup_steps: int, seed: int) -> float:
    """Agent steps per second of `TrainingEnv` at this point (construction and reset untimed)."""
    from metta.rl.training_env import TrainingEnv

    env = TrainingEnv(env_config, point.num_envs, point.num_workers, seed=seed, vectorization=point.vectorization)
    try:
        env.reset()
        table = _random_action_table(env.vec, env.num_agents, np.random.default_rng(seed))
        for i in range(warmup_steps):
            env.step(table[i % len(table)])
        steps, start = 0, time.perf_counter()
        while True:
            env.step(table[steps % len(table)])
            steps += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                return steps * env.num_agents / elapsed
    finally:
        env.close()


class PolicyTimer:
    """Times `policy.act` on observations of N agents; one policy, rates cached by N."""

    def __init__(self, env_config: EnvConfig, architecture: dict[str, Any], device: str, seed: int):
        import torch

        from metta.agent.architectures import make_policy
        from metta.agent.env_info import PolicyEnvInfo
        from mettagrid.vec_env import MettaGridVecEnv

        self.torch = torch
        self.device = torch.device(device)
        self.env = MettaGridVecEnv(env_config, num_envs=1, seed=seed)
        self.env.reset()
        torch.manual_seed(seed)
        self.policy = make_policy(architecture, PolicyEnvInfo.from_vec_env(self.env)).to(self.device).eval()
        self.rates: dict[int, float] = {}

    def agent_steps_per_second(self, num_agents: int, seconds: float) -> float:
        if num_agents in self.rates:
            return self.rates[num_agents]
        torch = self.torch
        one_env = torch.from_numpy(self.env.buffers.observations.copy())
        reps = -(-num_agents // one_env.shape[0])
        obs = one_env.repeat(reps, 1, 1)[:num_agents].to(self.device)
        state = self.policy.initial_state(num_agents, self.device)
        sync = torch.cuda.synchronize if self.device.type == "cuda" else (lambda: None)
        with torch.no_grad():
            self.policy.act(obs, state)  # warm-up
            sync()
            calls, start = 0, time.perf_counter()
            while True:
                _, _, _, _, state = self.policy.act(obs, state)
                calls += 1
                sync()
                elapsed = time.perf_counter() - start
                if elapsed >= seconds:
                    break
        self.rates[num_agents] = calls * num_agents / elapsed
        return self.rates[num_agents]

    def close(self) -> None:
        self.env.close()


def pufferlib_problem() -> str | None:
    try:
        import pufferlib.vector  # noqa: F401
    except (ImportError, OSError, RuntimeError, AttributeError) as error:  # the engine is unavailable
        return f"{type(error).__name__}: {error}"
    return None


def plan_points(settings: AutotuneConfig, env_config: EnvConfig, trainer: TrainerConfig,
                architecture: dict[str, Any], result: AutotuneResult) -> None:
    """Lay out the grid; mark the points that will not be measured, and why."""
    engines = list(settings.vectorization)
    if "multiprocessing" in engines:
        problem = pufferlib_problem()
        if problem:
            engines.remove("multiprocessing")
            result.notes.append(f"multiprocessing not measured: pufferlib does not import ({problem})")
    budget = settings.memory_budget_gb * GB
    workers = settings.num_workers or default_workers()
    for engine in engines:
        for num_envs in settings.num_envs:
            for num_workers in workers:
                point = Point(engine, num_envs, num_workers, num_envs * env_config.game.num_agents, 0)
                result.points.append(point)
                try:
                    point.memory_bytes = estimate_memory(env_config, trainer, architecture, num_envs, engine)
                except ValueError as error:
                    point.skipped = f"trainer: {error}"
                    continue
                if num_workers > num_envs:
                    point.skipped = "more workers than envs"
                elif engine == "multiprocessing" and num_envs % num_workers:
                    point.skipped = "num_envs is not a multiple of num_workers"
                elif point.memory_bytes > budget:
                    point.skipped = (f"estimated {point.memory_bytes / GB:.2f} GB > "
                                     f"memory_budget_gb {settings.memory_budget_gb:g}")


def autotune(settings: AutotuneConfig, env_config: EnvConfig, trainer: TrainerConfig,
             architecture: dict[str, Any], device: str = "cpu", progress=print) -> AutotuneResult:
    result = AutotuneResult()
    plan_points(settings, env_config, trainer, architecture, result)
    runnable = [p for p in result.points if p.skipped is None]
    if not runnable:
        over_budget = [p for p in result.points if p.skipped and p.skipped.startswith("estimated")]
        if over_budget:
            smallest = min(over_budget, key=lambda p: p.memory_bytes)
            raise ConfigError(
                f"autotune.memory_budget_gb: every grid point is over the budget of {settings.memory_budget_gb:g} GB "
                f"(smallest estimate {smallest.memory_bytes / GB:.3f} GB at num_envs={smallest.num_envs})"
            )
        reasons = sorted({p.skipped for p in result.points if p.skipped})
        raise ConfigError("autotune: no grid point can run (" + "; ".join(reasons or ["empty grid"]) + ")")
    timer = PolicyTimer(env_config, architecture, device, settings.seed) if settings.include_policy else None
    try:
        for index, point in enumerate(runnable, 1):
            point.env_sps = measure_env(env_config, point, settings.seconds_per_point, settings.warmup_steps,
                                        settings.seed)
            if timer is not None:
                point.policy_sps = timer.agent_steps_per_second(point.num_agents, settings.seconds_per_point)
            progress(f"[{index}/{len(runnable)}] {point.vectorization} num_envs={point.num_envs} "
                     f"num_workers={point.num_workers}: {point.combined_sps:,.0f} agent-steps/s", flush=True)
    finally:
        if timer is not None:
            timer.close()
    return result


# -- output ------------------------------------------------------------------------------------


def format_table(result: AutotuneResult, include_policy: bool) -> str:
    headers = ["rank", "vectorization", "num_envs", "num_workers", "agents", "env agent-steps/s"]
    if include_policy:
        headers += ["policy agent-steps/s", "combined agent-steps/s"]
    headers.append("memory MB")
    rows = []
    for rank, p in enumerate(result.measured, 1):
        row = [str(rank), p.vectorization, str(p.num_envs), str(p.num_workers), str(p.num_agents),
               f"{p.env_sps:,.0f}"]
        if include_policy:
            row += [f"{p.policy_sps:,.0f}", f"{p.combined_sps:,.0f}"]
        row.append(f"{p.memory_bytes / 2**20:,.1f}")
        rows.append(row)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
    for p in result.points:
        if p.skipped:
            lines.append(f"skipped: {p.vectorization} num_envs={p.num_envs} num_workers={p.num_workers}: {p.skipped}")
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)


def fastest_line(point: Point) -> str:
    return (f"fastest: trainer.vectorization={point.vectorization} trainer.num_envs={point.num_envs} "
            f"trainer.num_workers={point.num_workers} ({point.combined_sps:,.0f} agent-steps/s, "
            f"~{point.memory_bytes / 2**20:,.1f} MB)")


# -- writing a hardware preset -----------------------------------------------------------------


def _preset_base(hardware_dir: Path, base: str, name: str) -> str:
    """The preset a new one composes from. Re-tuning a preset in place composes from its base."""
    if base != name:
        return base
    path = hardware_dir / f"{name}.yaml"
    import yaml

    data = yaml.safe_load(path.read_text()) if path.is_file() else None
    defaults = (data or {}).get("defaults") or []
    for entry in defaults:
        if isinstance(entry, str) and entry != "_self_":
            return entry
    raise ConfigError(f"autotune.write_hardware: cannot compose hardware/{name} from itself (pick hardware=cpu)")


def preset_target(name: str, base: str, hardware_dir: Path | None = None) -> tuple[Path, str]:
    """Where NAME goes and which preset it composes from; refuses before anything is measured."""
    hardware_dir = hardware_dir or CONFIGS_DIR / "hardware"
    path = hardware_dir / f"{name}.yaml"
    if path.exists() and MARKER not in path.read_text():
        raise ConfigError(f"autotune.write_hardware: hardware/{name} exists and was not written by autotune; "
                          "pick another name")
    base = _preset_base(hardware_dir, base, name)
    if not (hardware_dir / f"{base}.yaml").is_file():
        raise ConfigError(f"autotune.write_hardware: base preset hardware/{base} not found")
    return path, base


def write_hardware(name: str, point: Point, base: str, env_name: str, hardware_dir: Path | None = None) -> Path:
    """Write `hardware_dir/NAME.yaml` atomically: the base preset plus the three vector keys."""
    path, base = preset_target(name, base, hardware_dir)
    text = (
        "# @package _global_\n"
        f"{MARKER} on {time.strftime('%Y-%m-%d %H:%M')} for env={env_name}:\n"
        f"# {fastest_line(point)}\n"
        f"# Everything else comes from hardware/{base}.\n"
        "defaults:\n"
        f"  - {base}\n"
        "  - _self_\n"
        "trainer:\n"
        f"  num_envs: {point.num_envs}\n"
        f"  num_workers: {point.num_workers}\n"
        f"  vectorization: {point.vectorization}\n"
    )
    atomic_write_bytes(path, text.encode("utf-8"))
    return path


def check_preset(name: str, env_name: str | None) -> None:
    """Compose train_job with the new preset and check the trainer accepts its batch layout."""
    from metta.common.tool import compose_job, validate_job

    overrides = [f"hardware={name}"] + ([f"env={env_name}"] if env_name else [])
    try:
        validate_job(compose_job("train_job", overrides), "train_job")  # includes the batch-vs-agents check
    except ConfigError as error:
        raise ConfigError(f"hardware/{name}: {error}") from None


# -- the tool ----------------------------------------------------------------------------------


def _choice(group: str, default: str | None) -> str | None:
    """The option picked for a config group (`hardware=cpu` -> "cpu"), when under @hydra.main."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():  # tests composing directly
        return default
    return HydraConfig.get().runtime.choices.get(group, default)


def run_autotune(cfg: DictConfig) -> AutotuneResult:
    from metta.common.tool import validate_job
    from metta.rl.train_job import SystemConfig

    parts = validate_job(cfg, "autotune_job")
    settings, env_config, trainer = parts["autotune"], parts["env"], parts["trainer"]
    architecture = parts["agent"].model_dump()
    # `system` comes with the hardware preset, as for training.
    system = job_config_from(cfg, "system", SystemConfig)
    device = system.device
    if settings.include_policy and system.torch_threads:
        import torch

        torch.set_num_threads(system.torch_threads)
    base = _choice("hardware", "cpu")
    env_name = _choice("env", None)
    if settings.write_hardware:
        preset_target(settings.write_hardware, base)

    result = autotune(settings, env_config, trainer, architecture, device=device)
    print(format_table(result, settings.include_policy))
    best = result.best
    print(fastest_line(best))
    if settings.write_hardware:
        path = write_hardware(settings.write_hardware, best, base, env_name or "?")
        try:
            check_preset(settings.write_hardware, env_name)
        except Exception:
            path.unlink(missing_ok=True)
            raise
        print(f"wrote {path.relative_to(CONFIGS_DIR.parent) if path.is_relative_to(CONFIGS_DIR.parent) else path}"
              f": ./tools/train.py hardware={settings.write_hardware}" + (f" env={env_name}" if env_name else ""))
    return result


def main(cfg: DictConfig) -> None:
    """tools/autotune.py (the table and the fastest point are printed by run_autotune)."""
    run_autotune(cfg)

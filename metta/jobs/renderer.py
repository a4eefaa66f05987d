"""Run a scripted policy in one env and draw it in the terminal, with a status line."""

from __future__ import annotations

import sys
import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mettagrid.config import EnvConfig
from mettagrid.errors import ConfigError
from mettagrid.renderer.terminal import render_grid
from mettagrid.scripted_policies import SCRIPTED_POLICIES
from mettagrid.vec_env import MettaGridVecEnv

CLEAR_SCREEN = "\x1b[H\x1b[2J"


class RendererJobConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy_type: Literal["random", "simple", "scripted", "trained"] = Field(
        "simple", description="random | simple | scripted (shortest path to useful buildings) | trained (policy_uri)"
    )
    renderer_type: Literal["human", "nethack", "miniscope"] = Field("human", description="Drawing style")
    num_steps: int = Field(200, ge=0, description="Steps to run; 0 = until interrupted")
    sleep_time: float = Field(0.0, ge=0, description="Seconds between frames")
    num_agents: int | None = Field(None, ge=1, description="Agent count override (random maps only)")
    seed: int = 0
    frames: Literal["auto", "all", "last"] = Field("auto", description="Which frames to print")


class RendererRunConfig(BaseModel):
    """The top-level keys of configs/renderer_job.yaml."""

    model_config = ConfigDict(extra="forbid")

    policy_uri: str | None = Field(None, description="For policy_type=trained: file://, a path, s3://, wandb://")


def main(cfg) -> None:
    """tools/renderer.py."""
    from metta.common.tool import validate_job

    parts = validate_job(cfg, "renderer_job")
    run_renderer(parts["env"], parts["renderer_job"], policy_uri=parts[""].policy_uri)


def with_agent_count(env: EnvConfig, num_agents: int) -> EnvConfig:
    """Change how many agents a random-placement map holds (the map decides the count)."""
    builder = env.game.map_builder
    if builder.type != "random":
        raise ConfigError(
            f"renderer_job.num_agents: only maps of type 'random' can change their agent count "
            f"(env.game.map_builder.type is {builder.type!r})"
        )
    data = env.model_dump()
    data["game"]["num_agents"] = num_agents
    data["game"]["map_builder"]["agents"] = num_agents
    return EnvConfig.model_validate(data)


def make_actor(env: MettaGridVecEnv, job: RendererJobConfig, policy_uri: str | None):
    """The policy driving every agent: a scripted one, or a trained one loaded from a URI."""
    if job.policy_type != "trained":
        return SCRIPTED_POLICIES[job.policy_type](env, seed=job.seed)
    if not policy_uri:
        raise ConfigError("policy_uri: renderer_job.policy_type=trained needs policy_uri=file://... (or s3://, wandb://)")
    from metta.agent.compat import PolicyEnvMismatch
    from metta.agent.policy_uri import resolve_policies

    try:
        return resolve_policies(policy_uri, selector="latest")[0].make_actor(env)
    except (PolicyEnvMismatch, ValueError) as error:
        raise ConfigError(f"policy_uri: {error}") from None


def run_renderer(env_config: EnvConfig, job: RendererJobConfig, out=sys.stdout, policy_uri: str | None = None) -> dict:
    if job.num_agents is not None:
        env_config = with_agent_count(env_config, job.num_agents)
    env = MettaGridVecEnv(env_config, num_envs=1, seed=job.seed)
    policy = make_actor(env, job, policy_uri)
    observe_dones = getattr(policy, "observe_dones", None)
    style = "miniscope" if job.renderer_type == "miniscope" else "nethack"
    animate = job.frames == "all" or (job.frames == "auto" and out.isatty())
    observations = env.reset()
    height, width = env.map_size()
    total_reward, episodes, steps, start = 0.0, 0, 0, time.perf_counter()
    try:
        while job.num_steps == 0 or steps < job.num_steps:
            observations, rewards, terminals, truncations = env.step(policy.act(observations))
            if observe_dones:
                observe_dones(terminals, truncations)
            steps += 1
            total_reward += float(rewards.sum())
            episodes += len(env.episode_results())
            if animate:
                _draw(env, style, height, width, steps, total_reward, episodes, start, out, clear=True)
                if job.sleep_time:
                    time.sleep(job.sleep_time)
    except KeyboardInterrupt:
        pass
    _draw(env, style, height, width, steps, total_reward, episodes, start, out, clear=animate)
    return {"steps": steps, "total_reward": total_reward, "episodes": episodes}


def _draw(env, style, height, width, steps, total_reward, episodes, start, out, clear: bool) -> None:
    elapsed = max(time.perf_counter() - start, 1e-9)
    frame = render_grid(env.grid_objects(0), height, width, style)
    status = (
        f"step {env.current_step(0)} (total {steps}) | episodes done {episodes} | "
        f"reward {total_reward:.2f} | agents {env.num_agents} | {steps / elapsed:.0f} steps/s"
    )
    out.write((CLEAR_SCREEN if clear else "") + frame + "\n" + status + "\n")
    out.flush()

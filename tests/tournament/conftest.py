"""Shared fixtures: small policy checkpoints made for a given env (untrained weights: these tests
check plumbing, not skill)."""

from __future__ import annotations

import pytest


def save_checkpoint(run_dir, env_name: str, run: str = "tiny"):
    from metta.agent.architectures import make_policy
    from metta.agent.env_info import PolicyEnvInfo
    from metta.rl.checkpoint import CheckpointManager
    from mettagrid.env_configs import compose_env_config
    from mettagrid.vec_env import MettaGridVecEnv

    env = MettaGridVecEnv(compose_env_config(env_name), num_envs=1, seed=0)
    policy = make_policy({"name": "fast", "hidden_size": 16, "cnn_channels": 8}, PolicyEnvInfo.from_vec_env(env))
    env.close()
    return CheckpointManager(run, run_dir).save(policy, epoch=1, agent_steps=64)


@pytest.fixture(scope="session")
def arena_run_dir(tmp_path_factory):
    """A run directory holding `tiny:v1.pt`, a policy shaped for mettagrid/arena/basic."""
    run_dir = tmp_path_factory.mktemp("arena_run") / "tiny"
    save_checkpoint(run_dir, "mettagrid/arena/basic")
    return run_dir


@pytest.fixture(scope="session")
def navigation_checkpoint(tmp_path_factory):
    """A checkpoint shaped for mettagrid/navigation: it lacks the arena's actions."""
    return save_checkpoint(tmp_path_factory.mktemp("nav_run") / "nav", "mettagrid/navigation", run="nav")

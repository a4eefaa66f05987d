"""Built-in policies by URI, checkpoints turned into specs, and the one actor interface."""

import numpy as np
import pytest

from metta.agent.architectures import make_policy
from metta.agent.compat import PolicyEnvMismatch
from metta.agent.env_info import PolicyEnvInfo
from metta.agent.policy_store import PolicyStoreError
from metta.agent.policy_uri import BUILTIN_NAMES, resolve_policies
from metta.rl.checkpoint import CheckpointManager
from mettagrid.env_configs import compose_env_config
from mettagrid.vec_env import MettaGridVecEnv


def make_env(name="mettagrid/navigation/evals/emptyspace", num_envs=2):
    return MettaGridVecEnv(compose_env_config(name, ["game.max_steps=20"]), num_envs=num_envs, seed=0)


def save_checkpoints(run_dir, env, epochs=(1, 2)):
    manager = CheckpointManager("nav", run_dir)
    for epoch in epochs:
        policy = make_policy({"name": "fast", "hidden_size": 16, "cnn_channels": 8}, PolicyEnvInfo.from_vec_env(env))
        manager.save(policy, epoch, agent_steps=epoch * 64, extra_metadata={"score": float(epoch % 2)})
    return manager


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_builtins_resolve_and_play_every_agent(name):
    [spec] = resolve_policies(f"metta://policy/{name}")
    assert (spec.name, spec.policy_key, spec.policy_version) == (name, name, "builtin")
    assert spec.uri == f"metta://policy/{name}" and spec.load() is None
    env = make_env()
    actor = spec.make_actor(env, seed=1)
    observations = env.reset()
    for _ in range(5):
        actions = actor.act(observations)
        assert actions.shape == (env.total_agents, 2) and actions.dtype == np.int32
        observations, _, terminals, truncations = env.step(actions)
        actor.observe_dones(terminals, truncations)


def test_selector_is_ignored_for_builtins():
    assert [s.name for s in resolve_policies("metta://policy/simple", selector="top", metric="x")] == ["simple"]


@pytest.mark.parametrize("uri, words", [
    ("metta://policy/clever", "unknown built-in policy (known: random, simple, scripted, arena)"),
    ("metta://agents/random", "metta://policy/<name>"),
    ("ftp://x/y", "unknown URI scheme"),
])
def test_bad_uris_are_one_line_errors(uri, words):
    with pytest.raises(PolicyStoreError) as error:
        resolve_policies(uri)
    assert words in str(error.value) and uri in str(error.value) and "\n" not in str(error.value)


def test_checkpoints_become_specs_with_run_and_version(tmp_path):
    env = make_env()
    manager = save_checkpoints(tmp_path / "nav", env)
    [latest] = resolve_policies(f"file://{manager.run_dir}")
    assert (latest.name, latest.policy_key, latest.policy_version) == ("nav:v2", "nav", "v2")
    assert [s.policy_version for s in resolve_policies(str(manager.run_dir), selector="all")] == ["v1", "v2"]
    [top] = resolve_policies(str(manager.run_dir), selector="top", metric="score")
    assert top.policy_version == "v1"

    actor = latest.make_actor(env)
    observations = env.reset()
    actions = actor.act(observations)
    assert actions.shape == (env.total_agents, 2)
    actor.observe_dones(np.zeros(env.total_agents, bool), np.zeros(env.total_agents, bool))

    detached = latest.detached()
    assert detached.record is None and detached.checkpoint.is_file()
    import pickle

    assert pickle.loads(pickle.dumps(detached)).load() is not None


def test_a_policy_that_cannot_play_an_env_says_why(tmp_path):
    manager = save_checkpoints(tmp_path / "nav", make_env(), epochs=(1,))
    [spec] = resolve_policies(str(manager.run_dir))
    with pytest.raises(PolicyEnvMismatch, match="actions unknown to the policy"):
        spec.make_actor(make_env("mettagrid/arena/basic_easy_shaped", num_envs=1))

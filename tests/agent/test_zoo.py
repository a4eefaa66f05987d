"""The policy zoo end to end: every row of ARCHITECTURES trains through tools/train.py, resumes,
saves and reloads to identical outputs, plays in tools/sim.py and is refused in one line by an
env it cannot read. Per-architecture maths (shapes, forward == forward_sequence, resets,
gradients) is in test_policies.py, which is parametrised over the same table.

Training runs through the real tool are a few seconds each; all but three architectures' runs
are marked slow (the fast suite keeps the default, an SSM-core one and the component graph)."""

import json
import subprocess
from pathlib import Path

import pytest
import torch

from metta.agent.architectures import ARCHITECTURES, make_policy, parse_architecture
from metta.agent.compat import EnvAdapter, PolicyEnvMismatch
from metta.agent.policies.graph import _fast_graph
from metta.agent.policy_file import load_policy, save_policy
from mettagrid.errors import ConfigError
from tests.agent.test_policies import make_info, random_obs, random_state

ROOT = Path(__file__).resolve().parents[2]
CHEAP_TRAINING = {"fast", "mamba", "graph"}
SMALL_SIZES = {"cnn_channels": 8, "embed_dim": 16, "num_heads": 2, "num_latents": 2, "num_layers": 1}


def small_overrides(name: str) -> list[str]:
    """Command-line overrides shrinking architecture `name` to a test size."""
    fields = ARCHITECTURES[name][0].model_fields
    return [f"agent={name}", "agent.hidden_size=32"] + [
        f"agent.{key}={value}" for key, value in SMALL_SIZES.items() if key in fields
    ]


def training_params():
    return [pytest.param(name, marks=() if name in CHEAP_TRAINING else pytest.mark.slow) for name in ARCHITECTURES]


TINY_TRAIN = [
    "env=mettagrid/navigation", "trainer.batch_size=256", "trainer.minibatch_size=128", "trainer.bptt_horizon=8",
    "trainer.num_envs=4", "trainer.num_workers=1", "trainer.checkpoint_interval=1", "wandb=off",
    "system.torch_threads=1",
]  # fmt: skip


def train(tmp_path: Path, name: str, steps: int) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / "tools" / "train.py"), "run=zoo", f"train_dir={tmp_path}",
                           f"trainer.total_timesteps={steps}", *TINY_TRAIN, *small_overrides(name)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, check=False)


@pytest.mark.parametrize("name", training_params())
def test_trains_resumes_reloads_and_plays_in_sim(name, tmp_path):
    first = train(tmp_path, name, 512)
    assert first.returncode == 0, first.stderr
    resumed = train(tmp_path, name, 1024)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from zoo:v2.pt at epoch 2" in resumed.stdout
    checkpoints = tmp_path / "zoo" / "checkpoints"
    assert json.loads((checkpoints / "zoo:v4.json").read_text())["architecture"]["name"] == name

    policy = load_policy(checkpoints / "zoo:v4.pt").eval()
    save_policy(tmp_path / "again.pt", policy, {})
    again = load_policy(tmp_path / "again.pt").eval()
    obs = torch.from_numpy(random_obs(6, info=policy.env_info).numpy())
    state = random_state(policy, 6)
    with torch.no_grad():
        for ours, theirs in zip(policy(obs, state), again(obs, state), strict=True):
            if isinstance(ours, tuple):
                assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))
            else:
                assert torch.equal(ours, theirs)

    sim = subprocess.run([str(ROOT / "tools" / "sim.py"), f"sim_job.policy_uris=[\"file://{checkpoints}\"]",
                          "sim_job.simulation_suite=navigation", "sim_job.num_episodes=1", "selector_type=top", "sim_job.metric=agent_steps",
                          f"train_dir={tmp_path}"], capture_output=True, text=True, timeout=300, cwd=ROOT, check=False)
    assert sim.returncode == 0, sim.stderr
    [checkpoint] = json.loads(sim.stdout)["policies"][0]["checkpoints"]
    assert checkpoint["name"] == "zoo:v4" and "reward_avg" in checkpoint["metrics"]

    if policy.architecture.core != "lstm":  # a state other than (h, c): the replay recorder carries it too
        replay = subprocess.run([str(ROOT / "tools" / "replay.py"), f"replay_job.policy_uri=file://{checkpoints}",
                                 "replay_job.sim.env=mettagrid/navigation", 'replay_job.sim.env_overrides=["game.max_steps=40"]',
                                 "replay_job.serve=false", "replay_job.open_browser_on_start=false",
                                 f"replay_job.replay_dir={tmp_path}/replays"],
                                capture_output=True, text=True, timeout=300, cwd=ROOT, check=False)
        assert replay.returncode == 0, replay.stderr
        assert list((tmp_path / "replays").glob("*.json.z"))


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_save_load_round_trip_and_env_refusal(name, tmp_path):
    torch.manual_seed(0)
    policy = make_policy({"name": name}, make_info()).train()
    policy(random_obs(8), policy.initial_state(8))  # moves the feature scale off its start
    save_policy(tmp_path / "p.pt", policy, {})
    loaded = load_policy(tmp_path / "p.pt")
    obs, state = random_obs(4, seed=2), random_state(policy, 4)
    with torch.no_grad():
        expected = policy.eval()(obs, state)
        got = loaded.eval()(obs, state)
    assert torch.equal(expected[0], got[0]) and torch.equal(expected[1], got[1])
    assert all(torch.equal(a, b) for a, b in zip(expected[2], got[2], strict=True))
    with pytest.raises(PolicyEnvMismatch, match="observation window differs") as caught:
        EnvAdapter(loaded.env_info, make_info(obs_width=13, obs_height=13))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_return_hidden_is_the_heads_input(name):
    torch.manual_seed(0)
    policy = make_policy({"name": name}, make_info()).eval()
    obs = random_obs(3 * 2, seed=4).view(3, 2, -1, 3)
    with torch.no_grad():
        logits, values, _, hidden = policy.forward_sequence(obs, policy.initial_state(2), None, return_hidden=True)
        assert hidden.shape == (3, 2, policy.architecture.hidden_size)
        head_logits, head_values = policy._heads(hidden)
        torch.testing.assert_close(head_logits, logits)
        torch.testing.assert_close(head_values, values)


def graph_with(**changes) -> dict:
    components = {name: c.model_dump(by_alias=True) for name, c in _fast_graph().items()}
    for name, value in changes.items():
        components[name] = {**components[name], **value}
    return {"name": "graph", "components": components}


@pytest.mark.parametrize("changes, message", [
    ({"cnn1": {"sources": [{"name": "cnn2"}]}}, r"components\.cnn\d: cycle cnn\d -> cnn\d -> cnn\d"),
    ({"fc1": {"sources": [{"name": "nowhere"}]}}, "components.fc1: unknown source 'nowhere'"),
    ({"cnn2": {"_target_": "mystery.Layer"}}, "components.cnn2: unknown _target_ 'mystery.Layer'"),
])
def test_bad_graphs_are_refused_in_one_line(changes, message):
    with pytest.raises(ConfigError, match=message) as caught:
        parse_architecture(graph_with(**changes))
    assert "\n" not in str(caught.value)


def test_the_original_graph_shapes_load_and_slices_cut_sources():
    from omegaconf import OmegaConf

    from metta.common.tool import compose_job

    for option in ("graph/fast", "graph/latent_attn_tiny", "graph/latent_attn_small", "graph/latent_attn_med"):
        data = OmegaConf.to_container(compose_job(None, [f"+agent={option}"]).agent)
        policy = make_policy(data, make_info())
        assert "core" in data["components"] and policy(random_obs(2), policy.initial_state(2))[0].shape[0] == 2
    # A source cut to its first 16 features feeds a layer of that width.
    sliced = graph_with(encoded_obs={"sources": [{"name": "fc1", "slice": [0, 16]}]})
    policy = make_policy(sliced, make_info())
    assert policy.encoder.runner.layers["encoded_obs"].layer.in_features == 16

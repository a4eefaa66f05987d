"""Policies: shapes, the token scatter, recurrence, masking, env compatibility, and a tiny
supervised check that each architecture can learn. Observations are built by hand; only the
last test needs the compiled env core."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from metta.agent.action_pairs import ActionPairs
from metta.agent.architectures import ARCHITECTURES, make_policy, parse_architecture, policy_from_metadata
from metta.agent.compat import EnvAdapter, PolicyEnvMismatch
from metta.agent.env_info import PolicyEnvInfo
from metta.agent.policies.fast import TokenBoxCNN
from metta.agent.policy import FeatureScale
from mettagrid.errors import ConfigError

ARCHITECTURE_NAMES = list(ARCHITECTURES)  # every row of the table is tested

FEATURES = (
    "type_id", "agent:group", "agent:frozen", "agent:orientation", "agent:color", "agent:glyph",
    "converting", "swappable", "episode_completion_pct", "last_action", "last_action_arg", "last_reward",
    "inv:ore_red", "inv:battery_red", "inv:heart",
)  # fmt: skip
ACTIONS = ("noop", "move", "rotate", "put_items", "get_items", "attack", "swap", "change_color")
MAX_ARGS = (0, 1, 3, 0, 0, 8, 0, 3)
PAD = 0xFF


def make_info(**changes) -> PolicyEnvInfo:
    fields = {
        "feature_names": FEATURES, "action_names": ACTIONS, "action_max_args": MAX_ARGS,
        "obs_width": 11, "obs_height": 11, "num_observation_tokens": 40,
    }  # fmt: skip
    return PolicyEnvInfo(**{**fields, **changes})


def location(row: int, col: int) -> int:
    return (row << 4) | col


def random_obs(
    batch: int, tokens: int = 40, seed: int = 0, info: PolicyEnvInfo | None = None
) -> torch.Tensor:
    """Env-like observations: a random number of real tokens first, padding after."""
    info = info or make_info()
    rng = np.random.default_rng(seed)
    obs = np.full((batch, tokens, 3), PAD, dtype=np.uint8)
    for agent in range(batch):
        count = rng.integers(1, tokens + 1)
        rows = rng.integers(0, info.obs_height, count)
        cols = rng.integers(0, info.obs_width, count)
        obs[agent, :count, 0] = (rows << 4) | cols
        obs[agent, :count, 1] = rng.integers(0, info.num_features, count)
        obs[agent, :count, 2] = rng.integers(0, 256, count)
    return torch.from_numpy(obs)


def build(name: str, info: PolicyEnvInfo | None = None, seed: int = 0):
    torch.manual_seed(seed)
    return make_policy({"name": name}, info or make_info())


def random_state(policy, batch: int, seed: int = 1):
    generator = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(s.shape, generator=generator) for s in policy.initial_state(batch))


# ---- env info and action pairs ---------------------------------------------------------------


def test_env_info_round_trips_through_json():
    info = make_info()
    again = PolicyEnvInfo.from_dict(json.loads(json.dumps(info.to_dict())))
    assert again == info and isinstance(again.feature_names, tuple)


def test_env_info_from_a_vec_env_shaped_object():
    class Game:
        obs_width, obs_height, num_observation_tokens = 11, 11, 40

    class Env:
        game = Game()
        feature_names, action_names, action_max_args = list(FEATURES), list(ACTIONS), list(MAX_ARGS)

    assert PolicyEnvInfo.from_vec_env(Env()) == make_info()


def test_env_info_refuses_bad_tables():
    with pytest.raises(ValueError, match="missing obs_width"):
        PolicyEnvInfo.from_dict({k: v for k, v in make_info().to_dict().items() if k != "obs_width"})
    with pytest.raises(ValueError, match="2 action names but 1 action_max_args"):
        make_info(action_names=("noop", "move"), action_max_args=(0,))
    with pytest.raises(ValueError, match="feature_names repeats type_id"):
        make_info(feature_names=("type_id", "type_id"))


def test_action_pairs_convert_both_ways():
    pairs = ActionPairs(ACTIONS, MAX_ARGS)
    assert pairs.num_pairs == sum(arg + 1 for arg in MAX_ARGS) == 23
    assert pairs.index("noop") == 0 and pairs.index("move", 1) == 2 and pairs.index("attack", 8) == 17
    assert pairs.names[pairs.index("rotate", 3)] == "rotate_3"
    every = np.arange(pairs.num_pairs)
    actions = pairs.to_actions(every)
    assert actions.dtype == np.int32 and actions.shape == (23, 2)
    assert actions[pairs.index("attack", 5)].tolist() == [5, 5]
    np.testing.assert_array_equal(pairs.to_pair_index(actions), every)
    assert pairs.is_valid(actions).all()
    assert not pairs.is_valid(np.array([[1, 2], [8, 0], [-1, 0]])).any()
    torch_actions = pairs.to_actions(torch.arange(23).view(1, 23))
    assert torch_actions.shape == (1, 23, 2) and torch_actions.dtype == torch.int32
    assert torch.equal(pairs.to_pair_index(torch_actions), torch.arange(23).view(1, 23))
    with pytest.raises(ValueError, match="rotate takes args 0..3"):
        pairs.index("rotate", 4)


# ---- architecture configs ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ARCHITECTURE_NAMES)
def test_config_files_validate_and_build(name):
    from omegaconf import OmegaConf

    from metta.common.tool import compose_job

    data = OmegaConf.to_container(compose_job(None, [f"+agent={name}"]).agent)
    config = parse_architecture(data)
    assert config == ARCHITECTURES[name][0]()  # the composed group holds the class's defaults
    assert make_policy(data, make_info()).architecture == config


@pytest.mark.parametrize("name", ARCHITECTURE_NAMES)
def test_a_setting_no_yaml_states_can_be_overridden(name):
    from omegaconf import OmegaConf

    from metta.common.tool import compose_job

    data = OmegaConf.to_container(compose_job(None, [f"+agent={name}", "agent.hidden_size=32"]).agent)
    assert parse_architecture(data).hidden_size == 32


def test_a_new_architecture_is_one_module_and_one_row(monkeypatch, tmp_path):
    """What docs/architecture.md promises: with a config class, a policy class and a row in the
    table, the architecture validates, builds, saves and loads back like the shipped ones."""
    from typing import Literal

    from pydantic import Field

    from metta.agent import architectures
    from metta.agent.policies.fast import FastArchitecture, FastPolicy
    from metta.agent.policy_file import load_policy, save_policy

    class TinyArchitecture(FastArchitecture):
        name: Literal["tiny"] = Field("tiny")
        cnn_channels: int = 8

    monkeypatch.setitem(architectures.ARCHITECTURES, "tiny", (TinyArchitecture, FastPolicy))
    policy = make_policy({"name": "tiny", "hidden_size": 16}, make_info())
    assert policy.architecture == TinyArchitecture(hidden_size=16)
    save_policy(tmp_path / "tiny:v1.pt", policy, {})
    loaded = load_policy(tmp_path / "tiny:v1.pt")
    assert loaded.architecture.name == "tiny" and loaded.architecture.cnn_channels == 8
    with pytest.raises(ValueError, match="agent.name: unknown architecture 'huge'"):
        parse_architecture({"name": "huge"})


def test_config_errors_are_one_line():
    with pytest.raises(ConfigError, match=r"^agent.cnn_chanels: unknown key \(got 32\)$"):
        parse_architecture({"name": "fast", "cnn_chanels": 32})
    with pytest.raises(ConfigError, match="agent.name: unknown architecture 'vit'"):
        parse_architecture({"name": "vit"})
    with pytest.raises(ConfigError, match="embed_dim \\(30\\) must be a multiple of num_heads \\(4\\)"):
        parse_architecture({"name": "latent_attn_small", "embed_dim": 30})


# ---- shapes and initial behaviour --------------------------------------------------------------


@pytest.mark.parametrize("name", ARCHITECTURE_NAMES)
def test_output_shapes(name):
    policy = build(name)
    batch, steps, pairs = 6, 4, policy.num_pairs
    state = policy.initial_state(batch)
    if policy.architecture.core == "lstm":
        hidden = policy.architecture.hidden_size
        assert [s.shape for s in state] == [(1, batch, hidden)] * 2
    assert all(s.shape[1] == batch for s in state)  # the batch is on dim 1 for every core
    logits, value, new_state = policy(random_obs(batch), state, torch.zeros(batch, dtype=torch.bool))
    assert logits.shape == (batch, pairs) and value.shape == (batch,)
    assert [s.shape for s in new_state] == [s.shape for s in state]
    obs = random_obs(steps * batch).view(steps, batch, -1, 3)
    logits, values, _ = policy.forward_sequence(obs, state, torch.zeros(steps, batch, dtype=torch.bool))
    assert logits.shape == (steps, batch, pairs) and values.shape == (steps, batch)
    pair, log_prob, entropy, value, _ = policy.act(random_obs(batch), state)
    assert pair.shape == log_prob.shape == entropy.shape == value.shape == (batch,)
    assert pair.dtype == torch.int64 and ((pair >= 0) & (pair < pairs)).all()
    log_prob2, entropy2 = policy.evaluate_actions(logits, torch.zeros(steps, batch, dtype=torch.long))
    assert log_prob2.shape == entropy2.shape == (steps, batch)


@pytest.mark.parametrize("name", ARCHITECTURE_NAMES)
def test_initial_policy_is_near_uniform(name):
    policy = build(name)
    obs = random_obs(64)
    policy.train()
    policy(obs, policy.initial_state(64))  # let the feature scale see the values, as training would
    with torch.no_grad():
        logits, _, _ = policy(obs, policy.initial_state(64))
    probs = torch.softmax(logits, dim=-1)
    uniform = 1.0 / policy.num_pairs
    assert (probs / uniform - 1).abs().max() < 0.1
    _, _, entropy, _, _ = policy.act(obs, policy.initial_state(64))
    assert entropy.min() > 0.999 * math.log(policy.num_pairs)


@pytest.mark.parametrize("name", ARCHITECTURE_NAMES)
def test_layer_sizes_are_configurable(name):
    fields = ARCHITECTURES[name][0].model_fields
    extra = {key: value for key, value in
             {"cnn_channels": 16, "embed_dim": 32, "num_latents": 2, "num_layers": 1, "num_heads": 2}.items()
             if key in fields}
    policy = make_policy({"name": name, "hidden_size": 48, "lstm_layers": 2, **extra}, make_info())
    state = policy.initial_state(3)
    if policy.architecture.core == "lstm":
        assert state[0].shape == (2, 3, 48)
    logits, _, new_state = policy(random_obs(3), state)
    assert logits.shape == (3, policy.num_pairs) and [s.shape for s in new_state] == [s.shape for s in state]


# ---- the token scatter (fast) ------------------------------------------------------------------


def test_scatter_builds_the_exact_box():
    policy = build("fast").eval()
    encoder = policy.encoder
    encoder.scale.feature_max.copy_(torch.tensor([2.0] + [4.0] * (len(FEATURES) - 1)))
    tokens = [
        (location(5, 5), 8, 255),  # a global token at the centre
        (location(0, 0), 0, 1),
        (PAD, PAD, PAD),  # padding in the middle is ignored too
        (location(10, 3), 3, 2),
        (location(10, 3), 14, 4),
        (location(2, 7), 0, 3),
        (location(2, 7), 0, 1),  # same feature and cell: the values add up
        (location(4, 4), 200, 9),  # a feature id beyond the table: ignored
        (location(12, 0), 1, 9),  # a row outside the 11x11 window: ignored
    ]
    tokens += [(PAD, PAD, PAD)] * 3
    obs = torch.tensor([tokens, [(PAD, PAD, PAD)] * len(tokens)], dtype=torch.uint8)
    box = encoder.box(obs)
    expected = torch.zeros(2, len(FEATURES), 11, 11)
    expected[0, 8, 5, 5] = 255 / 4
    expected[0, 0, 0, 0] = 1 / 2
    expected[0, 3, 10, 3] = 2 / 4
    expected[0, 14, 10, 3] = 4 / 4
    expected[0, 0, 2, 7] = (3 + 1) / 2
    assert torch.equal(box, expected)
    # The forward pass computes conv1(box) straight from the tokens, without the box.
    torch.testing.assert_close(encoder.first_conv(obs), encoder.conv1(box), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("path", ["native", "torch"])
@pytest.mark.parametrize("channels", [64, 24])
def test_first_conv_from_tokens_matches_conv_of_box_in_value_and_gradient(path, channels, monkeypatch):
    # The kernel's gradient is computed by hand from (token, position) pairs, in C++ on the CPU
    # (token_conv.cpp; 64 channels take the vector loops, other widths the plain ones) and in torch
    # ops elsewhere (fast.py's _TokenConv1): both must equal autograd's through the explicit box,
    # padding and all window sizes included.
    if path == "torch":
        monkeypatch.setattr(TokenBoxCNN, "runs_native", lambda self, obs: False)
    for height, width in [(11, 11), (13, 13), (5, 7), (3, 3)]:
        info = make_info(obs_height=height, obs_width=width)
        torch.manual_seed(0)
        encoder = make_policy({"name": "fast", "cnn_channels": channels}, info).encoder.eval()
        assert encoder.runs_native(random_obs(1, info=info)) == (path == "native")
        encoder.scale.feature_max.uniform_(1.0, 50.0)
        obs = random_obs(16, info=info)
        obs[3] = PAD  # an agent that sees nothing
        from_tokens = encoder.first_conv(obs)
        of_box = encoder.conv1(encoder.box(obs))
        torch.testing.assert_close(from_tokens, of_box, rtol=1e-4, atol=1e-4)
        upstream = torch.randn_like(of_box)
        (from_tokens * upstream).sum().backward()
        token_grads = encoder.conv1.weight.grad.clone(), encoder.conv1.bias.grad.clone()
        encoder.zero_grad()
        (of_box * upstream).sum().backward()
        torch.testing.assert_close(token_grads[0], encoder.conv1.weight.grad, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(token_grads[1], encoder.conv1.bias.grad, rtol=1e-4, atol=1e-4)
        assert encoder.conv1.weight.grad.abs().sum() > 0
        # The whole encoder is the plain CNN over the box (conv2 as a GEMM on the 3x3 map included),
        # so checkpoints mean the same whatever layout the fast path keeps its activations in.
        with torch.no_grad():
            plain = encoder.dense(F.relu(encoder.conv2(F.relu(of_box))).flatten(1))
            torch.testing.assert_close(encoder(obs), plain, rtol=1e-4, atol=1e-4)
        assert build("fast", info)(obs, build("fast", info).initial_state(16))[0].shape == (16, 23)


def test_native_first_conv_is_repeatable_splits_over_threads_and_refuses_bad_arrays():
    from metta.agent import _token_conv

    encoder = build("fast").encoder.eval()
    obs = random_obs(300, seed=4)  # enough agents for several workers
    kernel = encoder.kernel_rows().detach().contiguous()
    positions = encoder.out1_h * encoder.out1_w

    def conv(threads: int) -> tuple[torch.Tensor, torch.Tensor]:
        out = torch.empty(300, positions * 64)
        _token_conv.forward(obs.numpy(), kernel.numpy(), encoder.num_features, 11, 11, positions,
                            encoder._cell_position, encoder._cell_tap, out.numpy(), threads)
        grad = torch.full_like(kernel, float("nan"))  # every entry must be written
        _token_conv.backward(obs.numpy(), out.numpy(), encoder.num_features, 11, 11, positions,
                             encoder._cell_position, encoder._cell_tap, grad.numpy(), threads)
        return out, grad

    one, two = conv(1), conv(2)
    assert all(torch.equal(a, b) for a, b in zip(one, conv(1)))  # same thread count, same bits
    torch.testing.assert_close(two[0], one[0], rtol=0, atol=0)  # agents never span workers
    torch.testing.assert_close(two[1], one[1], rtol=1e-4, atol=1e-3)  # worker sums, added in order
    assert not one[1].isnan().any() and torch.equal(one[1][-1], torch.zeros(64))
    out = torch.empty(300, positions * 64)
    with pytest.raises(TypeError):  # a float64 output would be a silent copy: refused instead
        _token_conv.forward(obs.numpy(), kernel.numpy(), encoder.num_features, 11, 11, positions,
                            encoder._cell_position, encoder._cell_tap, out.double().numpy(), 1)
    with pytest.raises(ValueError, match="token_conv: out must be"):
        _token_conv.forward(obs.numpy(), kernel.numpy(), encoder.num_features, 11, 11, positions,
                            encoder._cell_position, encoder._cell_tap, out[:10].numpy(), 1)
    with pytest.raises(ValueError, match="token_conv: cell_position must be"):
        _token_conv.forward(obs.numpy(), kernel.numpy(), encoder.num_features, 13, 13, positions,
                            encoder._cell_position, encoder._cell_tap, out.numpy(), 1)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="OpenMP is only linked on Linux")
def test_native_kernel_shares_torchs_openmp_runtime():
    # token_conv.cpp runs on torch's OpenMP pool only if loading it adds no libgomp of its own: a
    # second runtime would bring its own threads to fight torch's for the cores
    # (docs/performance.md). A fresh interpreter, because other tests in this worker may have loaded
    # libraries that vendor their own renamed libgomp (scikit-learn's wheel does).
    probe = """
import json, pathlib, torch
def runtimes():
    maps = pathlib.Path('/proc/self/maps').read_text().splitlines()
    return sorted({line.split()[-1] for line in maps if 'libgomp' in line})
with_torch = runtimes()
from metta.agent import _token_conv
print(json.dumps(with_torch)); print(json.dumps(runtimes()))
"""
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    with_torch, with_kernel = map(json.loads, run.stdout.splitlines()[:2])
    assert len(with_kernel) == 1, with_kernel
    assert with_kernel == with_torch  # the kernel resolved torch's copy, not one found elsewhere


def test_feature_scale_follows_acting_and_training_but_not_eval_forward():
    policy = build("fast")
    scale = policy.encoder.scale.feature_max
    obs = torch.tensor(
        [[(location(0, 0), 3, 7), (location(1, 1), 12, 30), (PAD, PAD, PAD)]], dtype=torch.uint8
    )
    policy.eval()(obs, policy.initial_state(1))
    assert torch.equal(scale, torch.ones(len(FEATURES)))  # a plain eval pass leaves it alone
    expected = torch.ones(len(FEATURES))
    expected[3], expected[12] = 7, 30
    with torch.no_grad():
        policy.act(obs, policy.initial_state(1))  # rollouts act in eval mode: the scale follows them
    assert torch.equal(scale, expected)
    louder = obs.clone()
    louder[0, 0, 2] = 9
    policy.train()(louder, policy.initial_state(1))
    expected[3] = 9
    assert torch.equal(scale, expected)
    assert "encoder.scale.feature_max" in policy.state_dict()


def test_feature_scale_freezes_after_its_rows_and_then_clips():
    scale = FeatureScale(3, freeze_after_rows=4)
    features = torch.tensor([[0, 1], [2, 1]])
    scale.observe(features, torch.tensor([[5, 2], [1, 1]]))  # 2 rows
    assert not scale.frozen and scale.value_caps() is None
    scale.observe(features, torch.tensor([[6, 3], [2, 1]]))  # 4 rows: this batch still counts
    assert scale.frozen and int(scale.rows_observed) == 4
    assert scale.feature_max.tolist() == [6, 3, 2]
    scale.observe(features, torch.tensor([[90, 90], [90, 90]]))
    assert scale.feature_max.tolist() == [6, 3, 2]  # frozen: louder values no longer raise it
    values = torch.tensor([[12.0, 3.0], [1.0, 30.0]])
    assert scale.scaled(features, values).tolist() == [[1.0, 1.0], [0.5, 1.0]]
    assert scale.clipped(features, values).tolist() == [[6.0, 3.0], [1.0, 3.0]]
    assert scale.value_caps()[:4].tolist() == [6, 3, 2, 1]
    forever = FeatureScale(3, freeze_after_rows=None)
    forever.observe(features, torch.tensor([[5, 2], [1, 1]]))
    forever.raise_to(torch.zeros(3), rows=10**9)
    assert not forever.frozen and forever.scaled(features, values)[0, 0] == 12.0 / 5.0


@pytest.mark.parametrize("name", ARCHITECTURE_NAMES)
def test_a_frozen_scale_makes_values_above_the_max_read_as_the_max(name):
    # Every encoder divides through its FeatureScale; frozen, a value louder than the max must
    # give exactly what the max gives (and unfrozen, it must not, or this test could not fail).
    policy = make_policy({"name": name, "feature_scale_rows": 1}, make_info()).eval()
    quiet = random_obs(6, seed=5)
    quiet[..., 2] = torch.where(quiet[..., 1] != PAD, torch.randint(0, 10, quiet.shape[:2], dtype=torch.uint8),
                                quiet[..., 2])
    loud = quiet.clone()
    loud[..., 2] = torch.where((quiet[..., 1] != PAD) & (quiet[..., 2] == 9), 250, quiet[..., 2])
    assert (loud != quiet).any()
    scales = [m for m in policy.modules() if isinstance(m, FeatureScale)]
    assert scales and all(not s.frozen for s in scales)
    for scale in scales:
        scale.feature_max.fill_(9.0)
    state = policy.initial_state(6)
    unfrozen = policy(loud, state)[0]
    assert not torch.allclose(unfrozen, policy(quiet, state)[0])
    with torch.no_grad():
        policy.act(quiet, state)  # one observed batch: 6 rows >= 1, frozen at 9
    assert all(s.frozen and s.feature_max.max() == 9 for s in scales)
    torch.testing.assert_close(policy(loud, state)[0], policy(quiet, state)[0], rtol=0, atol=1e-6)


@pytest.mark.parametrize("path", ["native", "torch"])
def test_frozen_first_conv_clips_in_value_and_gradient(path, monkeypatch):
    # The C++ kernel clips token values to the frozen max itself (`value_cap`); it must agree
    # with conv1 over the explicit box of clipped values, forward and backward.
    if path == "torch":
        monkeypatch.setattr(TokenBoxCNN, "runs_native", lambda self, obs: False)
    torch.manual_seed(0)
    encoder = make_policy({"name": "fast", "feature_scale_rows": 1}, make_info()).encoder.eval()
    encoder.scale.feature_max.uniform_(1.0, 50.0).round_()
    encoder.scale.raise_to(torch.zeros(len(FEATURES)), rows=1)
    assert encoder.scale.frozen
    obs = random_obs(16)
    box = encoder.box(obs)
    assert box.max() == 1.0 and (box == 1.0).sum() > 10  # many values were above their max
    expected = torch.zeros_like(box)
    real = obs[..., 1] != PAD
    for agent, slot in real.nonzero().tolist():
        loc, feature, value = obs[agent, slot].tolist()
        cap = float(encoder.scale.feature_max[feature])
        expected[agent, feature, loc >> 4, loc & 15] += min(value, cap) / cap
    torch.testing.assert_close(box, expected)
    from_tokens = encoder.first_conv(obs)
    of_box = encoder.conv1(box)
    torch.testing.assert_close(from_tokens, of_box, rtol=1e-4, atol=1e-4)
    upstream = torch.randn_like(of_box)
    (from_tokens * upstream).sum().backward()
    token_grad = encoder.conv1.weight.grad.clone()
    encoder.zero_grad()
    (of_box * upstream).sum().backward()
    torch.testing.assert_close(token_grad, encoder.conv1.weight.grad, rtol=1e-4, atol=1e-4)
    if path == "native":
        from metta.agent import _token_conv

        out = torch.empty(16, encoder.out1_h * encoder.out1_w * 64)
        with pytest.raises(ValueError, match="token_conv: value_cap must be"):
            _token_conv.forward(obs.numpy(), encoder.kernel_rows().detach().numpy(), encoder.num_features, 11, 11,
                                encoder.out1_h * encoder.out1_w, encoder._cell_position, encoder._cell_tap,
                                out.numpy(), 1, np.full(len(FEATURES), 9, dtype=np.uint8))


def test_checkpoints_carry_the_freeze_and_older_ones_load():
    policy = make_policy({"name": "fast", "feature_scale_rows": 8}, make_info())
    with torch.no_grad():
        policy.act(random_obs(8), policy.initial_state(8))
    assert policy.encoder.scale.frozen
    saved = policy.state_dict()
    assert int(saved["encoder.scale.rows_observed"]) == 8
    restored = make_policy({"name": "fast", "feature_scale_rows": 8}, make_info())
    restored.load_state_dict(saved, strict=True)
    assert restored.encoder.scale.frozen
    assert torch.equal(restored.encoder.scale.feature_max, policy.encoder.scale.feature_max)
    older = {k: v for k, v in saved.items() if not k.endswith("rows_observed")}  # before the freeze existed
    restored = make_policy({"name": "fast", "feature_scale_rows": 8}, make_info())
    restored.load_state_dict(older, strict=True)
    assert not restored.encoder.scale.frozen and int(restored.encoder.scale.rows_observed) == 0


# ---- recurrence --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ARCHITECTURE_NAMES)
def test_forward_sequence_equals_step_by_step(name):
    policy = build(name).eval()
    steps, batch = 6, 5
    obs = random_obs(steps * batch, seed=3).view(steps, batch, -1, 3)
    dones = torch.zeros(steps, batch, dtype=torch.bool)
    dones[0, 1] = dones[2, 0] = dones[2, 3] = dones[5, 4] = True  # includes a reset before the first step
    state = random_state(policy, batch)
    with torch.no_grad():
        seq_logits, seq_values, seq_state = policy.forward_sequence(obs, state, dones)
        step_state = state
        for t in range(steps):
            logits, values, step_state = policy(obs[t], step_state, dones[t])
            torch.testing.assert_close(seq_logits[t], logits, rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(seq_values[t], values, rtol=1e-5, atol=1e-5)
    for seq_part, step_part in zip(seq_state, step_state, strict=True):
        torch.testing.assert_close(seq_part, step_part, rtol=1e-5, atol=1e-5)
    no_resets = policy.forward_sequence(obs, state, None)[0]
    torch.testing.assert_close(no_resets, policy.forward_sequence(obs, state, torch.zeros_like(dones))[0])


@pytest.mark.parametrize("name", ARCHITECTURE_NAMES)
def test_done_zeroes_the_state(name):
    policy = build(name).eval()
    obs = random_obs(2, seed=4)
    state = random_state(policy, 2)
    done = torch.tensor([True, False])
    with torch.no_grad():
        logits, value, _ = policy(obs, state, done)
        fresh_logits, fresh_value, _ = policy(obs, policy.initial_state(2))
        kept_logits, _, _ = policy(obs, state)
    torch.testing.assert_close(logits[0], fresh_logits[0])
    torch.testing.assert_close(value[0], fresh_value[0])
    torch.testing.assert_close(logits[1], kept_logits[1])  # the other agent keeps its memory
    assert not torch.allclose(logits[1], fresh_logits[1])


# ---- robustness and training signal ------------------------------------------------------------


@pytest.mark.parametrize("name", ARCHITECTURE_NAMES)
def test_all_padding_observation_gives_no_nans(name):
    policy = build(name).train()
    obs = random_obs(3)
    obs[1] = PAD  # one agent sees nothing at all
    empty_batch = torch.full((2, 10, 3), PAD, dtype=torch.uint8)
    for batch in (obs, empty_batch):
        logits, value, state = policy(batch, policy.initial_state(batch.shape[0]))
        (logits.sum() + value.sum()).backward()
        assert all(torch.isfinite(t).all() for t in (logits, value, *state))
        assert all(torch.isfinite(p.grad).all() for p in policy.parameters() if p.grad is not None)
        policy.zero_grad()


@pytest.mark.parametrize("name", ARCHITECTURE_NAMES)
def test_gradients_reach_every_parameter(name):
    policy = build(name).train()
    steps, batch = 3, 8
    obs = random_obs(steps * batch, seed=5).view(steps, batch, -1, 3)
    dones = torch.zeros(steps, batch, dtype=torch.bool)
    dones[1, :2] = True
    logits, values, _ = policy.forward_sequence(obs, random_state(policy, batch), dones)
    targets = torch.randint(0, policy.num_pairs, (steps, batch))
    log_prob, entropy = policy.evaluate_actions(logits, targets)
    loss = -log_prob.mean() - 0.01 * entropy.mean() + (values - 1.0).pow(2).mean()
    loss.backward()
    missing = [n for n, p in policy.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, f"no gradient for {missing}"


@pytest.mark.parametrize("name", ARCHITECTURE_NAMES)
def test_metadata_rebuilds_the_same_policy(name):
    policy = build(name).train()
    policy(random_obs(8), policy.initial_state(8))  # moves the feature scale off its start
    metadata = json.loads(json.dumps(policy.metadata()))
    again = policy_from_metadata(metadata)
    again.load_state_dict(policy.state_dict())
    obs, state = random_obs(4, seed=9), random_state(policy, 4)
    with torch.no_grad():
        torch.testing.assert_close(policy.eval()(obs, state)[0], again.eval()(obs, state)[0])


def supervised_cue_batch(batch: int, generator: torch.Generator, info: PolicyEnvInfo, cue: int):
    """Up to 15 distractor tokens anywhere, plus one cue token at the centre whose value (0..3)
    names the rotate arg to choose."""
    seed = int(torch.randint(0, 2**31, (1,), generator=generator))
    obs = random_obs(batch, tokens=16, seed=seed, info=info)
    obs[obs[..., 1] == cue] = PAD  # the cue feature appears only where we put it
    target = torch.randint(0, 4, (batch,), generator=generator)
    obs[:, -1, 0], obs[:, -1, 1], obs[:, -1, 2] = location(5, 5), cue, target.to(torch.uint8)
    return obs, target


@pytest.mark.parametrize("name", ARCHITECTURE_NAMES)
def test_learns_a_cued_action_quickly(name):
    info = make_info()
    policy = build(name, info, seed=0).train()
    cue = FEATURES.index("agent:orientation")
    first_rotate = policy.action_pairs.index("rotate", 0)
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-3, eps=1e-5)
    generator = torch.Generator().manual_seed(0)
    for _ in range(250):  # "quickly": in 250 small steps (speed itself is for benchmarks, not tests)
        obs, target = supervised_cue_batch(64, generator, info, cue)
        logits, value, _ = policy(obs, policy.initial_state(64))
        # As in actor-critic training, a value loss shapes the shared trunk alongside the policy
        # loss: with the near-silent initial action head (gain 0.01) alone, Adam's first
        # updates to the trunk have no useful direction.
        loss = F.cross_entropy(logits, target + first_rotate) + F.mse_loss(value, target.float())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    obs, target = supervised_cue_batch(512, generator, info, cue)
    with torch.no_grad():
        logits, _, _ = policy.eval()(obs, policy.initial_state(512))
    accuracy = (logits.argmax(-1) == target + first_rotate).float().mean().item()
    assert accuracy > 0.95, f"accuracy {accuracy:.2f}"


# ---- env compatibility -------------------------------------------------------------------------


def test_identical_infos_give_an_identity_adapter():
    info = make_info()
    adapter = EnvAdapter(info, make_info(num_observation_tokens=200))  # slot count does not matter
    assert adapter.is_identity and adapter.action_mask() is None
    obs = random_obs(4)
    assert adapter.observations(obs) is obs and adapter.observations(obs.numpy()) is not None
    logits = torch.randn(4, 23)
    assert adapter.mask_logits(logits) is logits
    pairs = torch.arange(23)
    assert torch.equal(adapter.env_actions(pairs), ActionPairs(ACTIONS, MAX_ARGS).to_actions(pairs))


def test_a_renamed_and_reordered_feature_table_is_remapped_by_name():
    policy_info = make_info()
    # The env lists fewer items, in another order; its last_action ids differ too (no rotate).
    env_features = FEATURES[:12] + ("inv:heart", "inv:ore_red")
    env_actions = tuple(a for a in ACTIONS if a != "rotate")
    env_info = make_info(
        feature_names=env_features,
        action_names=env_actions,
        action_max_args=tuple(m for a, m in zip(ACTIONS, MAX_ARGS) if a != "rotate"),
    )
    adapter = EnvAdapter(policy_info, env_info)
    assert adapter.remaps_observations and not adapter.is_identity
    env_obs = np.array(
        [[
            (location(1, 2), env_features.index("inv:heart"), 3),
            (location(3, 4), env_features.index("inv:ore_red"), 5),
            (location(5, 5), env_features.index("last_action"), env_actions.index("attack")),
            (location(5, 5), env_features.index("last_action_arg"), 4),
            (location(6, 6), env_features.index("type_id"), env_actions.index("attack")),  # not an action id
            (PAD, PAD, PAD),
        ]],
        dtype=np.uint8,
    )  # fmt: skip
    expected = np.array(
        [[
            (location(1, 2), FEATURES.index("inv:heart"), 3),
            (location(3, 4), FEATURES.index("inv:ore_red"), 5),
            (location(5, 5), FEATURES.index("last_action"), ACTIONS.index("attack")),
            (location(5, 5), FEATURES.index("last_action_arg"), 4),
            (location(6, 6), FEATURES.index("type_id"), env_actions.index("attack")),
            (PAD, PAD, PAD),
        ]],
        dtype=np.uint8,
    )  # fmt: skip
    np.testing.assert_array_equal(adapter.observations(env_obs), expected)
    np.testing.assert_array_equal(adapter.observations(torch.from_numpy(env_obs)).numpy(), expected)
    assert env_obs[0, 0, 1] == env_features.index("inv:heart")  # the input is not modified


def test_an_env_with_fewer_actions_masks_and_converts():
    policy_info = make_info()
    env_info = make_info(
        action_names=("noop", "move", "attack"), action_max_args=(0, 1, 4)
    )  # narrower attack
    adapter = EnvAdapter(policy_info, env_info)
    pairs = ActionPairs(ACTIONS, MAX_ARGS)
    supported = [pairs.index("noop"), pairs.index("move", 0), pairs.index("move", 1)]
    supported += [pairs.index("attack", arg) for arg in range(5)]
    mask = adapter.action_mask()
    assert mask.dtype == torch.bool and mask.nonzero().flatten().tolist() == supported
    masked = adapter.mask_logits(torch.zeros(2, pairs.num_pairs))
    assert torch.isinf(masked[:, ~mask]).all() and (masked[:, mask] == 0).all()
    np.testing.assert_array_equal(
        adapter.env_actions(np.array(supported)),
        [[0, 0], [1, 0], [1, 1], [2, 0], [2, 1], [2, 2], [2, 3], [2, 4]],
    )
    assert adapter.env_actions(np.array([pairs.index("rotate", 2)])).tolist() == [[-1, -1]]
    assert adapter.policy_pair_index(np.array([[2, 3], [1, 1]])).tolist() == [pairs.index("attack", 3), 2]
    # Sampling through the mask only ever picks what the env has, and log-probs stay finite.
    policy = build("fast")
    obs = random_obs(256)
    chosen, log_prob, entropy, _, _ = policy.act(
        obs, policy.initial_state(256), generator=torch.Generator().manual_seed(0), action_mask=mask
    )
    assert mask[chosen].all() and torch.isfinite(log_prob).all() and torch.isfinite(entropy).all()
    assert entropy.max() <= math.log(len(supported)) + 1e-4
    env_actions = adapter.env_actions(chosen)
    assert ActionPairs.from_env_info(env_info).is_valid(env_actions.numpy()).all()
    logits = policy(obs, policy.initial_state(256))[0]
    log_prob2, _ = policy.evaluate_actions(logits, chosen, action_mask=mask)
    torch.testing.assert_close(log_prob2, log_prob)


@pytest.mark.parametrize(
    "env_changes, message",
    [
        (
            {"feature_names": FEATURES + ("inv:gem", "inv:key")},
            "env features unknown to the policy: inv:gem, inv:key",
        ),
        (
            {"action_names": ACTIONS + ("change_glyph",), "action_max_args": MAX_ARGS + (15,)},
            "env actions unknown to the policy: change_glyph",
        ),
        (
            {"action_max_args": (0, 1, 3, 0, 0, 8, 0, 5)},
            r"env action args beyond the policy's range: change_color 0..5 \(policy 0..3\)",
        ),
        ({"obs_width": 13, "obs_height": 13}, "observation window differs: env 13x13, policy 11x11"),
    ],
)
def test_adapter_refuses_what_the_policy_cannot_handle(env_changes, message):
    with pytest.raises(PolicyEnvMismatch, match=message) as caught:
        EnvAdapter(make_info(), make_info(**env_changes))
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_a_policy_that_knows_more_than_the_env_is_fine():
    small_env = make_info(feature_names=FEATURES[:13], action_names=ACTIONS[:3], action_max_args=MAX_ARGS[:3])
    adapter = EnvAdapter(make_info(), small_env)
    assert not adapter.remaps_observations  # a prefix of the policy's tables keeps its ids
    assert adapter.masks_actions


# ---- with the real env (optional) --------------------------------------------------------------


def test_policy_plays_the_real_env_through_an_adapter():
    pytest.importorskip("mettagrid._core")
    from mettagrid.env_configs import compose_env_config
    from mettagrid.vec_env import MettaGridVecEnv

    trained_on = MettaGridVecEnv(compose_env_config("mettagrid/arena/advanced"), num_envs=1, seed=0)
    policy = make_policy({"name": "fast"}, PolicyEnvInfo.from_vec_env(trained_on)).eval()
    env = MettaGridVecEnv(compose_env_config("mettagrid/navigation"), num_envs=2, seed=0)
    adapter = EnvAdapter(policy.env_info, PolicyEnvInfo.from_vec_env(env))
    obs = env.reset()
    state = policy.initial_state(env.total_agents)
    done = torch.zeros(env.total_agents, dtype=torch.bool)
    generator = torch.Generator().manual_seed(0)
    for _ in range(5):
        with torch.no_grad():
            pair, _, _, _, state = policy.act(
                torch.from_numpy(adapter.observations(obs)), state, done, generator, adapter.action_mask()
            )
        actions = adapter.env_actions(pair.numpy())
        assert ActionPairs.from_env_info(adapter.env_info).is_valid(actions).all()
        obs, _, terminals, truncations = env.step(actions)
        done = torch.from_numpy(terminals | truncations)


def test_fast_inference_cache_follows_weight_and_scale_changes():
    """The no-grad conv1 matrix cache must never serve stale weights or a stale feature scale."""
    policy = build("fast").eval()
    obs = random_obs(8)
    state = policy.initial_state(8)

    def no_grad_logits():
        with torch.no_grad():
            return policy(obs, state)[0]

    def uncached_logits():
        return policy(obs, state)[0].detach()  # grad enabled: built afresh every call

    first = no_grad_logits()
    assert torch.allclose(first, uncached_logits(), atol=1e-6)
    optimizer = torch.optim.SGD(policy.parameters(), lr=1.0)
    policy(obs, state)[0].sum().backward()
    optimizer.step()  # changes conv1 weights in place
    after_step = no_grad_logits()
    assert not torch.allclose(after_step, first)
    assert torch.allclose(after_step, uncached_logits(), atol=1e-6)
    policy.encoder.scale.feature_max.mul_(2.0)  # a raised feature max, in place
    assert torch.allclose(no_grad_logits(), uncached_logits(), atol=1e-6)

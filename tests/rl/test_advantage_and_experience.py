"""GAE arithmetic and BPTT segment bookkeeping, checked against hand computations."""

import pytest
import torch

from metta.rl.advantage import compute_gae
from metta.rl.experience import Experience
from metta.rl.trainer_config import TrainerConfig, rollout_shape


def reference_gae(rewards, values, dones, next_value, gamma, lam):
    T, N = rewards.shape
    adv = torch.zeros(T, N)
    for n in range(N):
        running = 0.0
        for t in reversed(range(T)):
            nv = next_value[n] if t == T - 1 else values[t + 1, n]
            nd = 1.0 - dones[t, n]
            delta = rewards[t, n] + gamma * nv * nd - values[t, n]
            running = delta + gamma * lam * nd * running
            adv[t, n] = running
    return adv


def test_gae_matches_a_plain_loop_and_stops_at_episode_ends():
    g = torch.Generator().manual_seed(0)
    rewards, values = torch.rand(7, 3, generator=g), torch.rand(7, 3, generator=g)
    dones = torch.zeros(7, 3)
    dones[2, 0] = dones[6, 1] = 1.0
    next_value = torch.rand(3, generator=g)
    adv, ret = compute_gae(rewards, values, dones, next_value, 0.9, 0.8)
    assert torch.allclose(adv, reference_gae(rewards, values, dones, next_value, 0.9, 0.8), atol=1e-6)
    assert torch.allclose(ret, adv + values)
    # Nothing flows back across the episode end at t=2 for agent 0.
    assert torch.isclose(adv[2, 0], rewards[2, 0] - values[2, 0])


def test_single_step_gae_with_hand_numbers():
    adv, _ = compute_gae(torch.tensor([[1.0]]), torch.tensor([[0.5]]), torch.tensor([[0.0]]),
                         torch.tensor([2.0]), gamma=0.5, gae_lambda=1.0)
    assert adv.item() == 1.0 + 0.5 * 2.0 - 0.5


def test_minibatch_segments_pick_the_right_steps_and_states():
    exp = Experience(horizon=8, num_agents=3, obs_shape=(2, 3), bptt_horizon=4, state_shapes=((1, 1, 5), (1, 1, 5)),
                     device=torch.device("cpu"))
    exp.rewards.copy_(torch.arange(24, dtype=torch.float32).view(8, 3))
    for t in range(8):
        state = (torch.full((1, 3, 5), float(t)), torch.full((1, 3, 5), -float(t)))
        exp.store_state_if_segment_start(t, state)
    exp.advantages.copy_(exp.rewards)
    # Segment ids are segment * N + agent: id 4 = second segment (steps 4..7) of agent 1.
    mb = exp.minibatch(torch.tensor([4, 0]))
    assert mb["advantages"][:, 0].tolist() == [13.0, 16.0, 19.0, 22.0]
    assert mb["advantages"][:, 1].tolist() == [0.0, 3.0, 6.0, 9.0]
    h, c = mb["state"]
    assert h.shape == (1, 2, 5)
    assert h[0, 0, 0].item() == 4.0 and h[0, 1, 0].item() == 0.0
    assert c[0, 0, 0].item() == -4.0


def test_rollout_shape_fills_the_batch_with_whole_segments():
    cfg = TrainerConfig(total_timesteps=10, batch_size=12288, minibatch_size=2048, bptt_horizon=16)
    shape = rollout_shape(cfg, agents_per_env=24)
    assert shape.num_envs == 32 and shape.horizon == 16 and shape.batch_size == 12288
    assert shape.segments_per_minibatch == 128


def test_rollout_shape_refuses_a_batch_smaller_than_one_segment():
    cfg = TrainerConfig(total_timesteps=10, batch_size=64, minibatch_size=64, bptt_horizon=16, num_envs=4)
    try:
        rollout_shape(cfg, agents_per_env=24)
    except ValueError as error:
        assert "trainer.batch_size (64)" in str(error)
        assert "give trainer.batch_size=1536 or more" in str(error) and "bptt_horizon" not in str(error).split(": give")[1]
    else:
        raise AssertionError("expected a refusal")
    # a batch that holds a shorter horizon says which
    with pytest.raises(ValueError, match=r"trainer.batch_size=384 or more, or trainer.bptt_horizon=1$"):
        rollout_shape(TrainerConfig(total_timesteps=10, batch_size=32, minibatch_size=16, bptt_horizon=16),
                      agents_per_env=24)


def test_a_minibatch_bigger_than_the_rollout_becomes_the_rollout_and_says_so():
    # `trainer.batch_size=1024` alone on the CPU preset (minibatch 2048) with 24-agent envs:
    # the rollout rounds down to 2 envs x 24 agents x 16 steps = 768.
    cfg = TrainerConfig(total_timesteps=10, batch_size=1024, minibatch_size=2048, bptt_horizon=16)
    shape = rollout_shape(cfg, agents_per_env=24)
    assert shape.batch_size == 768 and shape.segments_per_minibatch == 48
    assert shape.minibatch_note.endswith("using minibatch_size=768")
    fitting = rollout_shape(cfg.model_copy(update={"minibatch_size": 384}), agents_per_env=24)
    assert fitting.segments_per_minibatch == 24 and fitting.minibatch_note is None

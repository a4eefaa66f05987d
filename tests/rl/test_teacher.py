"""The sliced cloner's parts: row slicing, the teacher-to-student pair map, the BC loss, the
minibatch layout, and the env really stepping with the teacher's actions on teacher-led rows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from metta.agent.action_pairs import ActionPairs
from metta.agent.architectures import make_policy
from metta.agent.env_info import PolicyEnvInfo
from metta.rl.experience import Experience
from metta.rl.teacher import (
    PPO_ONLY,
    STUDENT_LED,
    TEACHER_LED,
    PairMap,
    bc_loss,
    check_vectorization,
    make_teacher,
    row_roles,
    slice_ranks,
    teacher_led_share,
)
from metta.rl.train_job import TeacherConfig
from metta.rl.training_env import TrainingEnv
from mettagrid.env_configs import compose_env_config
from mettagrid.errors import ConfigError

NAV_ACTIONS = (["noop", "move", "rotate", "get_items"], [0, 1, 3, 0])
SCRIPTED = TeacherConfig(mode="sliced_cloner", policy_uri="metta://policy/scripted",
                         teacher_led_proportion=0.5, student_led_proportion=0.5)


@pytest.fixture
def nav_env():
    env = TrainingEnv(compose_env_config("mettagrid/navigation"), num_envs=4, num_workers=1, seed=3)
    yield env
    env.close()


def tiny_policy(env: TrainingEnv):
    torch.manual_seed(0)
    return make_policy({"name": "fast", "cnn_channels": 8, "hidden_size": 32}, PolicyEnvInfo.from_vec_env(env.vec))


# -- slicing ------------------------------------------------------------------------------------


def test_slicing_is_seeded_and_sized_by_the_proportions():
    assert np.array_equal(slice_ranks(1000, seed=7), slice_ranks(1000, seed=7))
    assert not np.array_equal(slice_ranks(1000, seed=7), slice_ranks(1000, seed=8))
    assert sorted(slice_ranks(1000, seed=7).tolist()) == list(range(1000))
    roles = row_roles(slice_ranks(1000, seed=7), teacher_led=0.3, guided=0.8)
    assert [(roles == role).sum() for role in (TEACHER_LED, STUDENT_LED, PPO_ONLY)] == [300, 500, 200]
    # Rows are spread over the envs, not the first 300 of them.
    assert 0 < (roles[:500] == TEACHER_LED).sum() < 300


def test_annealing_turns_teacher_led_rows_student_led():
    cfg = TeacherConfig(mode="sliced_cloner", policy_uri="metta://policy/scripted", teacher_led_proportion=0.6,
                        student_led_proportion=0.2, teacher_led_anneal_steps=1000)
    assert [teacher_led_share(cfg, steps) for steps in (0, 500, 1000, 5000)] == pytest.approx([0.6, 0.3, 0.0, 0.0])
    ranks = slice_ranks(100, seed=0)
    start, half, end = (row_roles(ranks, teacher_led_share(cfg, steps), guided=0.8) for steps in (0, 500, 1000))
    assert (start == TEACHER_LED).sum() == 60 and (half == TEACHER_LED).sum() == 30 and (end == TEACHER_LED).sum() == 0
    # Teacher-led rows only ever become student-led; the PPO-only rows never change.
    assert set(np.flatnonzero(half == TEACHER_LED)) <= set(np.flatnonzero(start == TEACHER_LED))
    assert np.array_equal(start == PPO_ONLY, end == PPO_ONLY)
    assert (end == STUDENT_LED).sum() == 80


def test_teacher_config_refuses_incomplete_or_oversized_slices():
    with pytest.raises(ValueError, match="policy_uri"):
        TeacherConfig(mode="sliced_cloner")
    with pytest.raises(ValueError, match="exceeds 1"):
        TeacherConfig(mode="sliced_cloner", policy_uri="x", teacher_led_proportion=0.7, student_led_proportion=0.5)
    with pytest.raises(ValueError, match="nothing to clone"):
        TeacherConfig(mode="sliced_cloner", policy_uri="x", teacher_led_proportion=0.0)
    assert not TeacherConfig().enabled


def test_multiprocessing_is_refused_in_one_line():
    with pytest.raises(ConfigError, match="trainer.vectorization=threads"):
        check_vectorization(SCRIPTED, "multiprocessing")
    check_vectorization(TeacherConfig(), "multiprocessing")  # no teacher: anything goes


# -- the pair map -------------------------------------------------------------------------------


def test_pair_map_matches_by_name_and_excludes_what_the_student_lacks():
    env_names, env_max_args = ["noop", "move", "rotate", "get_items"], [0, 1, 3, 0]
    # The student knows fewer actions, in another order, and only forward moves.
    student = ActionPairs(["move", "noop", "get_items"], [0, 0, 0])
    pair_map = PairMap(student, env_names, env_max_args)
    env_actions = np.array([[0, 0], [1, 0], [1, 1], [2, 3], [3, 0], [-1, -1], [1, 5], [9, 0]], dtype=np.int32)
    expected = [student.index("noop"), student.index("move", 0), -1, -1, student.index("get_items"), -1, -1, -1]
    assert pair_map(env_actions).tolist() == expected
    # The student of the trainer (built from the env) has every env pair: the map is the identity.
    same = ActionPairs(env_names, env_max_args)
    assert PairMap(same, env_names, env_max_args)(same.table).tolist() == list(range(same.num_pairs))


# -- the BC loss --------------------------------------------------------------------------------


def test_bc_loss_is_the_cross_entropy_over_masked_steps():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 5.0], [1.0, 1.0, 1.0]])
    target = torch.tensor([0, 2, -1])
    mask = torch.tensor([True, False, False])
    expected = -torch.log_softmax(logits[0], dim=-1)[0]
    assert bc_loss(logits, target, mask).item() == pytest.approx(expected.item())
    nothing = bc_loss(logits.requires_grad_(), target, torch.zeros(3, dtype=torch.bool))
    assert nothing.item() == 0.0
    nothing.backward()  # still part of the graph


def test_bc_alone_fits_a_fixed_teacher_on_a_fixed_batch(nav_env):
    """Record a rollout of the scripted teacher, then train only on BC: the loss falls and the
    student's greedy actions come to match the teacher's."""
    policy = tiny_policy(nav_env)
    pairs = policy.action_pairs
    teacher = make_teacher(SCRIPTED, nav_env, pairs, horizon=16, bptt_horizon=16, device=torch.device("cpu"), seed=0)
    observations = nav_env.reset()
    obs = []
    for t in range(16):
        obs.append(torch.from_numpy(observations.copy()))
        actions = teacher.act(t, observations, pairs.to_actions(np.zeros(nav_env.num_agents, dtype=np.int64)))
        observations, _, dones, _ = nav_env.step(actions)
        teacher.observe_dones(dones)
    obs, targets = torch.stack(obs), teacher.targets.clone()
    mask = targets >= 0
    assert mask.all()  # the trainer's student has every pair the scripted teacher uses

    optimizer = torch.optim.Adam(policy.parameters(), lr=3e-3)
    state = policy.initial_state(nav_env.num_agents)
    losses, agreement = [], []
    for _ in range(30):
        logits, _, _ = policy.forward_sequence(obs, state)
        logits = logits.reshape(-1, logits.shape[-1])
        loss = bc_loss(logits, targets.reshape(-1), mask.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        agreement.append((logits.argmax(-1) == targets.reshape(-1)).float().mean().item())
    assert losses[-1] < 0.6 * losses[0]
    assert agreement[-1] > agreement[0] + 0.2 and agreement[-1] > 0.7


# -- the rollout side ---------------------------------------------------------------------------


def last_actions(observations: np.ndarray, feature_ids: dict[str, int]) -> np.ndarray:
    """(rows, 2): the `last_action` and `last_action_arg` tokens of each agent's observation."""
    out = np.full((observations.shape[0], 2), -1, dtype=np.int64)
    for column, name in enumerate(("last_action", "last_action_arg")):
        hits = observations[:, :, 1] == feature_ids[name]
        rows, slots = np.nonzero(hits)
        out[rows, column] = observations[rows, slots, 2]
    return out


def test_teacher_led_rows_step_the_env_with_the_teachers_actions(nav_env):
    policy = tiny_policy(nav_env)
    pairs = policy.action_pairs
    teacher = make_teacher(SCRIPTED, nav_env, pairs, horizon=16, bptt_horizon=8, device=torch.device("cpu"), seed=1)
    teacher_rows = teacher.roles_np == TEACHER_LED
    assert teacher_rows.sum() == nav_env.num_agents // 2
    observations = nav_env.reset()
    student = pairs.to_actions(np.full(nav_env.num_agents, pairs.index("noop"), dtype=np.int64))
    saw_moves = 0
    for t in range(16):
        actions = teacher.act(t, observations, student)
        proposed = pairs.to_actions(teacher.targets[t].numpy())
        observations, _, dones, _ = nav_env.step(actions)
        teacher.observe_dones(dones)
        taken = last_actions(observations, nav_env.vec.feature_ids)
        assert np.array_equal(taken[teacher_rows], proposed[teacher_rows])  # the env did what the teacher said
        assert (taken[~teacher_rows] == student[~teacher_rows]).all()  # the others did their own thing
        saw_moves += int((proposed[teacher_rows, 0] == pairs.action_names.index("move")).sum())
    assert saw_moves > 0  # the teacher is not just a noop


def test_guide_minibatch_matches_the_experience_layout(nav_env):
    """Teacher targets are read back for the same (step, row) cells `Experience.minibatch` returns."""
    horizon, rows, bptt = 16, nav_env.num_agents, 8
    teacher = make_teacher(SCRIPTED, nav_env, tiny_policy(nav_env).action_pairs, horizon, bptt,
                           torch.device("cpu"), seed=0)
    experience = Experience(horizon, rows, (4, 3), bptt, ((1, 1, 4), (1, 1, 4)), torch.device("cpu"))
    codes = torch.arange(horizon * rows).reshape(horizon, rows)  # a unique number per cell
    experience.actions.copy_(codes)
    teacher.targets.copy_(codes)
    segment_ids = torch.tensor([5, 0, rows + 3, 2 * rows - 1])
    guide = teacher.minibatch(segment_ids)
    assert torch.equal(guide.target, experience.minibatch(segment_ids)["actions"].reshape(-1))
    # The roles follow the rows: teacher-led cells skip PPO, PPO-only cells skip BC.
    row_of_cell = guide.target % rows
    assert torch.equal(guide.ppo, teacher.roles[row_of_cell] != TEACHER_LED)
    assert torch.equal(guide.bc, teacher.roles[row_of_cell] != PPO_ONLY)


def test_unknown_or_incompatible_teacher_is_a_config_error(nav_env):
    pairs = tiny_policy(nav_env).action_pairs
    bad = SCRIPTED.model_copy(update={"policy_uri": "metta://policy/nobody"})
    with pytest.raises(ConfigError, match=r"^teacher.policy_uri: metta://policy/nobody: unknown built-in"):
        make_teacher(bad, nav_env, pairs, 16, 8, torch.device("cpu"), seed=0)
    assert make_teacher(TeacherConfig(), nav_env, pairs, 16, 8, torch.device("cpu"), seed=0) is None

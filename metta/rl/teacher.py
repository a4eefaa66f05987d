"""Teacher-guided training: behavioural cloning (BC) from a teacher policy alongside PPO.

The sliced cloner (`teacher.mode=sliced_cloner`, or the loss table's
`trainer.losses.sliced_scripted_cloner` with `training_env.supervisor_policy_uri`: both become
one `TeacherConfig`, metta/rl/train_job.py `resolve_teacher`) runs a teacher policy on the trainer's own env; it proposes an (action, arg) for every agent at
every step. The agent rows are sliced once, from the seed, into three roles:

* teacher-led (`teacher_led_proportion`): the env steps with the teacher's action. The
  student learns from these steps by BC only; they are masked out of the PPO loss (the
  student did not choose the action, so its stored log-prob and advantage mean nothing).
* student-led (`student_led_proportion`): the env steps with the student's own sample; the
  steps get PPO and, as in DAgger, BC toward what the teacher would have done there.
* the rest: plain PPO; the teacher's proposal only feeds `teacher/agreement`.

BC is the cross-entropy of the student's action distribution toward the teacher's action,
mapped to the student's pair index by action name (`PairMap`); a step whose teacher action
the student cannot express is left out of BC. With `teacher_led_anneal_steps` the teacher-led
share falls linearly to 0; the rows it frees turn student-led. Roles change only between
rollouts, so each row of one rollout keeps its role.

The teacher needs the env object (a scripted teacher reads the map), so it works with
`trainer.vectorization=threads` only, where the env is in this process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from metta.agent.action_pairs import ActionPairs
from metta.rl.experience import LossBatch, segment_cells
from metta.rl.losses import SlicedScriptedClonerConfig
from metta.rl.train_job import TeacherConfig
from mettagrid.errors import ConfigError

# Row roles.
TEACHER_LED, STUDENT_LED, PPO_ONLY = 0, 1, 2


def slice_ranks(num_rows: int, seed: int) -> np.ndarray:
    """Each row's place in a seeded shuffle of the rows: the slicing order, fixed for a run."""
    ranks = np.empty(num_rows, dtype=np.int64)
    ranks[np.random.default_rng(seed).permutation(num_rows)] = np.arange(num_rows)
    return ranks


def row_roles(ranks: np.ndarray, teacher_led: float, guided: float) -> np.ndarray:
    """Roles by rank: the first round(teacher_led x rows) are teacher-led, the rest of the first
    round(guided x rows) student-led, the others PPO only. `guided` (teacher_led_proportion +
    student_led_proportion) stays fixed while annealing shrinks `teacher_led`."""
    num_rows = len(ranks)
    roles = np.full(num_rows, PPO_ONLY, dtype=np.int64)
    roles[ranks < round(guided * num_rows)] = STUDENT_LED
    roles[ranks < round(teacher_led * num_rows)] = TEACHER_LED
    return roles


def teacher_led_share(cfg: TeacherConfig, agent_steps: int) -> float:
    """The teacher-led share at this point of training (annealed when configured)."""
    if cfg.teacher_led_anneal_steps is None:
        return cfg.teacher_led_proportion
    return cfg.teacher_led_proportion * max(0.0, 1.0 - agent_steps / cfg.teacher_led_anneal_steps)


class PairMap:
    """Env `(action_id, arg)` -> the student's pair index, matched by action name; -1 where
    the student has no such pair or the env pair itself is invalid (those steps get no BC)."""

    def __init__(self, student: ActionPairs, env_action_names: Sequence[str], env_action_max_args: Sequence[int]):
        self.env_pairs = ActionPairs(env_action_names, env_action_max_args)
        student_action = {name: index for index, name in enumerate(student.action_names)}
        self.table = np.full(self.env_pairs.num_pairs, -1, dtype=np.int64)
        for env_pair, (action_id, arg) in enumerate(self.env_pairs.table.tolist()):
            student_id = student_action.get(self.env_pairs.action_names[action_id])
            if student_id is not None and arg <= student.action_max_args[student_id]:
                self.table[env_pair] = student.offsets[student_id] + arg

    def __call__(self, env_actions: np.ndarray) -> np.ndarray:
        """`(..., 2)` env actions -> `(...)` int64 student pair indices, -1 where unmapped."""
        env_actions = np.asarray(env_actions)
        valid = self.env_pairs.is_valid(env_actions)
        env_pair = self.env_pairs.to_pair_index(np.where(valid[..., None], env_actions, 0))
        return np.where(valid, self.table[env_pair], -1)


def bc_loss(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of `logits` (B, P) toward `target` (B,) over the steps in `mask`
    (B,) bool; 0 (still part of the graph) when no step is."""
    log_probs = F.log_softmax(logits.float(), dim=-1)
    picked = log_probs.gather(-1, target.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -(picked * mask).sum() / mask.sum().clamp(min=1)


@dataclass
class GuideBatch:
    """Flat per-step teacher data of one minibatch, in the trainer's flattening order."""

    target: torch.Tensor  # (B,) int64 student pair the teacher chose; -1: none
    ppo: torch.Tensor  # (B,) bool: the step is in the PPO loss (not teacher-led)
    bc: torch.Tensor  # (B,) bool: the step is in the BC loss (teacher- or student-led, target known)


class SlicedCloner:
    """The teacher, the row slicing and the per-step teacher actions of one rollout."""

    def __init__(self, cfg: TeacherConfig, actor, pair_map: PairMap, horizon: int, num_rows: int,
                 bptt_horizon: int, device: torch.device, seed: int):
        self.cfg, self.actor, self.pair_map = cfg, actor, pair_map
        self.bptt_horizon, self.device = bptt_horizon, device
        self.ranks = slice_ranks(num_rows, seed)
        self.targets = torch.full((horizon, num_rows), -1, dtype=torch.long, device=device)
        self.begin_rollout(0)
        self._matches = self._counted = 0

    def begin_rollout(self, agent_steps: int) -> None:
        """Fix the rows' roles for the next rollout (annealing moves them between rollouts only)."""
        guided = self.cfg.teacher_led_proportion + self.cfg.student_led_proportion
        self.roles_np = row_roles(self.ranks, teacher_led_share(self.cfg, agent_steps), guided)
        self.teacher_rows = self.roles_np == TEACHER_LED
        self.roles = torch.as_tensor(self.roles_np, device=self.device)

    def act(self, t: int, observations: np.ndarray, student_actions: np.ndarray) -> np.ndarray:
        """The env actions of step `t`: the teacher's on teacher-led rows, the student's elsewhere.
        Records the teacher's proposal for every row as that step's BC target."""
        teacher_actions = np.asarray(self.actor.act(observations))
        self.targets[t] = torch.from_numpy(self.pair_map(teacher_actions)).to(self.device)
        return np.where(self.teacher_rows[:, None], teacher_actions, student_actions).astype(student_actions.dtype)

    def observe_dones(self, dones: np.ndarray) -> None:
        """Episodes that just ended (a trained teacher clears its memory there)."""
        self.actor.observe_dones(dones, np.zeros_like(dones))

    def minibatch(self, segment_ids: torch.Tensor) -> GuideBatch:
        """The teacher data of the segments `Experience.minibatch` returns for the same ids
        (segment id = segment_index x rows + row; `bptt_horizon` steps each), flattened."""
        steps, rows = segment_cells(segment_ids, self.targets.shape[1], self.bptt_horizon)
        target = self.targets[steps, rows].reshape(-1)
        role = self.roles[rows].reshape(-1)
        return GuideBatch(target=target, ppo=role != TEACHER_LED, bc=(role != PPO_ONLY) & (target >= 0))

    @torch.no_grad()
    def observe_agreement(self, logits: torch.Tensor, batch: GuideBatch) -> None:
        """Count the steps (every role) where the student's greedy pair is the teacher's."""
        known = batch.target >= 0
        self._matches += int(((logits.argmax(dim=-1) == batch.target) & known).sum())
        self._counted += int(known.sum())

    def metrics(self) -> dict[str, float]:
        """`teacher/*` for the epoch just trained; resets the agreement counts."""
        metrics = {"teacher/led_proportion": float(self.teacher_rows.mean())}
        if self._counted:
            metrics["teacher/agreement"] = self._matches / self._counted
        self._matches = self._counted = 0
        return metrics


def cloner_loss(batch: LossBatch, cfg: SlicedScriptedClonerConfig) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The `sliced_scripted_cloner` row of the loss table: action_loss_coef x BC over the BC steps."""
    if batch.guide is None:
        raise RuntimeError("sliced_scripted_cloner is enabled but the trainer has no supervisor")
    bc = bc_loss(batch.logits, batch.guide.target, batch.guide.bc)
    return cfg.action_loss_coef * bc, {"bc_loss": bc.detach()}


def check_vectorization(cfg: TeacherConfig, vectorization: str) -> None:
    """A teacher needs the env in this process: refuse other engines in one line."""
    if cfg.enabled and vectorization != "threads":
        raise ConfigError(f"teacher: mode {cfg.mode} needs trainer.vectorization=threads "
                          f"(the teacher reads the env in this process; got {vectorization})")


def make_teacher(cfg: TeacherConfig, env, student_pairs: ActionPairs, horizon: int, bptt_horizon: int,
                 device: torch.device, seed: int) -> SlicedCloner | None:
    """The sliced cloner for a `TrainingEnv` (None with mode none); one-line ConfigErrors for
    a teacher that cannot be loaded or cannot play this env."""
    if not cfg.enabled:
        return None
    check_vectorization(cfg, env.vectorization)
    from metta.agent.policy_uri import resolve_policies

    try:
        spec = resolve_policies(cfg.policy_uri)[0]
        spec.load(device)  # a trained teacher's file: unreadable or NaN is said as such, not as "cannot play"
    except ValueError as error:  # PolicyStoreError, CheckpointError: already name the URI or file
        raise ConfigError(f"teacher.policy_uri: {error}") from None
    try:
        actor = spec.make_actor(env.vec, device, seed)
    except (ValueError, KeyError) as error:  # PolicyEnvMismatch, or a script missing an action it needs
        raise ConfigError(f"teacher.policy_uri: {cfg.policy_uri} cannot play this env: {error}") from None
    pair_map = PairMap(student_pairs, env.vec.action_names, env.vec.action_max_args)
    return SlicedCloner(cfg, actor, pair_map, horizon, env.num_agents, bptt_horizon, device, seed)

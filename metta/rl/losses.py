"""The table of losses: `trainer.losses.<name>`, one row each, summed in every update.

A row is a config class (pydantic, with `enabled`) and the function computing the loss,
named as "module:function" so this module (read by the config schema) imports no torch.
The function takes `(batch: LossBatch, cfg)` and returns `(loss tensor, {metric: value})`;
`Trainer.update` calls the enabled rows in table order and adds their losses
(metta/rl/trainer.py). Adding a loss: a config class and a function, and one row here;
`trainer.losses.<name>.*` then validates, composes and trains.

The rows are the original's layout (docs/training.md, "Losses"):
  ppo_actor               clipped-surrogate policy loss and entropy bonus
  ppo_critic              value loss toward GAE returns or, with `critic_update: gtd_lambda`,
                          toward lambda-returns recomputed from the critic's current values
  sliced_scripted_cloner  behavioural cloning toward the supervisor's actions (metta/rl/teacher.py);
                          the supervisor is `training_env.supervisor_policy_uri`
and the zoo (metta/rl/loss_zoo.py):
  ppo                     the umbrella switch: `ppo.enabled=false` turns ppo_actor and ppo_critic off
  kickstarter             distillation toward teacher policies' logits and values, annealed
  action_supervised       cross-entropy toward a supervisor's actions on every row
  grpo                    clipped surrogate with group-relative advantages, no critic
  contrastive             InfoNCE between the core output at t and t+k of the same segment
  dynamics                predict the next observation's feature histogram and the reward

Besides `compute`, a row may name a `head` ("module:function"(cfg, policy) -> nn.Module): an
auxiliary module the loss owns. The trainer keeps these in one `aux_heads` ModuleDict, trains
them with the policy and saves them in `trainer_state.pt` (not in the policy file, which stays
the architecture's weights alone, so sim/replay/cogames load it unchanged). A `setup`
("module:function"(cfg, trainer) -> object, read from `batch.state[<row>]`) holds what a loss
needs from the run (teachers, advantages per rollout: an object with `after_rollout(trainer)`).
`needs_hidden` asks the trainer for the core output (`batch.hidden`, (bptt, S, H)); rows
without it cost plain PPO nothing.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator


class LossConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Add this loss in every update")


class PPOActorConfig(LossConfig):
    """Clipped-surrogate policy loss with an entropy bonus."""

    clip_coef: float = Field(0.1, gt=0, description="Policy ratio clip range")
    ent_coef: float = Field(0.0021, ge=0, description="Entropy bonus weight")
    norm_adv: bool = Field(True, description="Normalise advantages per minibatch")
    target_kl: float | None = Field(None, gt=0, description="Stop the update epoch early above this KL")


class PPOCriticConfig(LossConfig):
    """Value loss: 0.5 x squared error to the critic's target, clipped around the rollout value."""

    vf_coef: float = Field(0.44, ge=0, description="Value loss weight")
    vf_clip_coef: float = Field(0.1, ge=0, description="Value clip range around the rollout value; 0 = no clip")
    critic_update: Literal["gae", "gtd_lambda"] = Field(
        "gae", description="gae: regress to the rollout's GAE returns; gtd_lambda: to lambda-returns "
                           "recomputed each minibatch from the critic's current values (trainer.gae_lambda)",
    )


class PPOConfig(LossConfig):
    """The umbrella over ppo_actor and ppo_critic: `enabled=false` switches both off."""

    enabled: bool = Field(True, description="false: ppo_actor and ppo_critic are off (e.g. for grpo alone)")


class KickstartTeacher(BaseModel):
    """One teacher of the kickstarter."""

    model_config = ConfigDict(extra="forbid")

    teacher_uri: str = Field(description="A trained policy (file://, a path, s3://, wandb://) with the student's actions")
    action_loss_coef: float = Field(1.0, ge=0, description="Weight of the cross-entropy toward its action distribution")
    value_loss_coef: float = Field(1.0, ge=0, description="Weight of the squared error toward its value")


class KickstarterConfig(LossConfig):
    """Distillation toward teacher policies (the original's `trainer.kickstart`), annealed to 0."""

    enabled: bool = Field(False, description="Distil the teachers (needs teacher_uri or additional_teachers)")
    teacher_uri: str | None = Field(None, description="The first teacher (weighted by the coefficients below)")
    action_loss_coef: float = Field(1.0, ge=0, description="teacher_uri's action-distillation weight")
    value_loss_coef: float = Field(1.0, ge=0, description="teacher_uri's value-distillation weight")
    additional_teachers: list[KickstartTeacher] = Field(default_factory=list, description="More teachers")
    anneal_ratio: float = Field(0.65, ge=0, le=1, description="Share of kickstart_steps over which the weight "
                                                             "falls linearly to 0 (at the end)")
    kickstart_steps: PositiveInt = Field(1_000_000_000, description="Agent steps after which the loss is off")

    def teachers(self) -> list[KickstartTeacher]:
        first = [KickstartTeacher(teacher_uri=self.teacher_uri, action_loss_coef=self.action_loss_coef,
                                  value_loss_coef=self.value_loss_coef)] if self.teacher_uri else []
        return first + list(self.additional_teachers)

    @model_validator(mode="after")
    def _has_teacher(self) -> KickstarterConfig:
        if self.enabled and not self.teachers():
            raise ValueError("enabled without a teacher: give teacher_uri or additional_teachers")
        return self


class ActionSupervisedConfig(LossConfig):
    """Imitation: cross-entropy toward a supervisor's action on every step (the student acts), or
    toward the actions of a recorded demonstration file."""

    enabled: bool = Field(False, description="Imitate the supervisor (supervisor_uri, or the run's teacher)")
    action_loss_coef: float = Field(1.0, ge=0, description="Weight of the cross-entropy")
    supervisor_uri: str | None = Field(
        None, description="Any policy URI (metta://policy/scripted, a checkpoint); None = "
                          "training_env.supervisor_policy_uri or teacher.policy_uri")
    demonstrations_uri: str | None = Field(
        None, description="A recorded demonstration file (.npz, metta/rl/demonstrations.py) to imitate "
                          "instead of a supervisor playing alongside")


class GRPOConfig(LossConfig):
    """Clipped surrogate with group-relative advantages; needs no critic."""

    enabled: bool = Field(False, description="Add the GRPO policy loss (usually with ppo.enabled=false)")
    clip_coef: float = Field(0.1, gt=0, description="Policy ratio clip range")
    ent_coef: float = Field(0.0021, ge=0, description="Entropy bonus weight")
    policy_coef: float = Field(1.0, ge=0, description="Weight of the surrogate")


class ContrastiveConfig(LossConfig):
    """InfoNCE between the core output at t and t+offset of one segment; other segments are negatives."""

    enabled: bool = Field(False, description="Add the contrastive representation loss")
    coef: float = Field(0.1, ge=0, description="Weight of the InfoNCE loss")
    offset: PositiveInt = Field(1, description="Steps between an anchor and its positive")
    temperature: float = Field(0.1, gt=0, description="Softmax temperature of the similarities")
    projection_dim: PositiveInt = Field(32, description="Width of the loss's projection head")


class DynamicsConfig(LossConfig):
    """Predict, from the core output and the action, the next observation's feature histogram and the reward."""

    enabled: bool = Field(False, description="Add the dynamics prediction loss")
    coef: float = Field(1.0, ge=0, description="Weight of the next-observation prediction error")
    reward_coef: float = Field(1.0, ge=0, description="Weight of the reward prediction error")
    head_hidden: PositiveInt = Field(64, description="Width of the prediction head's hidden layer")


class SlicedScriptedClonerConfig(LossConfig):
    """Behavioural cloning toward `training_env.supervisor_policy_uri` (the `teacher=` shorthand sets both)."""

    enabled: bool = Field(False, description="Clone the supervisor (needs training_env.supervisor_policy_uri)")
    action_loss_coef: float = Field(1.0, ge=0, description="Weight of the BC loss")
    teacher_led_proportion: float = Field(0.5, ge=0, le=1, description="Share of agent rows acting as the supervisor does")
    student_led_proportion: float = Field(0.0, ge=0, le=1, description="Share acting themselves, cloned toward it")
    teacher_led_anneal_steps: PositiveInt | None = Field(
        None, description="Agent steps over which the teacher-led share falls linearly to 0; None = fixed")


@dataclasses.dataclass(frozen=True)
class Loss:
    config: type[LossConfig]
    compute: str | None  # "module:function"(batch: LossBatch, cfg) -> (loss, metrics); None: a switch only
    needs_hidden: bool = False  # the loss reads batch.hidden, the core output
    head: str | None = None  # "module:function"(cfg, policy) -> nn.Module, the loss's own parameters
    setup: str | None = None  # "module:function"(cfg, trainer) -> batch.state[<row>]


LOSSES: dict[str, Loss] = {
    "ppo_actor": Loss(PPOActorConfig, "metta.rl.ppo:actor_loss"),
    "ppo_critic": Loss(PPOCriticConfig, "metta.rl.ppo:critic_loss"),
    "sliced_scripted_cloner": Loss(SlicedScriptedClonerConfig, "metta.rl.teacher:cloner_loss"),
    "ppo": Loss(PPOConfig, None),
    "kickstarter": Loss(KickstarterConfig, "metta.rl.loss_zoo:kickstarter_loss", setup="metta.rl.loss_zoo:Kickstarter"),
    "action_supervised": Loss(ActionSupervisedConfig, "metta.rl.loss_zoo:action_supervised_loss",
                              setup="metta.rl.loss_zoo:recorded_demonstrations"),
    "grpo": Loss(GRPOConfig, "metta.rl.loss_zoo:grpo_loss", setup="metta.rl.loss_zoo:GroupAdvantages"),
    "contrastive": Loss(ContrastiveConfig, "metta.rl.loss_zoo:contrastive_loss", needs_hidden=True,
                        head="metta.rl.loss_zoo:contrastive_head"),
    "dynamics": Loss(DynamicsConfig, "metta.rl.loss_zoo:dynamics_loss", needs_hidden=True,
                     head="metta.rl.loss_zoo:dynamics_head"),
}

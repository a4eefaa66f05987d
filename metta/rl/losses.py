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
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt


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
    compute: str  # "module:function"(batch: LossBatch, cfg) -> (loss, metrics)


LOSSES: dict[str, Loss] = {
    "ppo_actor": Loss(PPOActorConfig, "metta.rl.ppo:actor_loss"),
    "ppo_critic": Loss(PPOCriticConfig, "metta.rl.ppo:critic_loss"),
    "sliced_scripted_cloner": Loss(SlicedScriptedClonerConfig, "metta.rl.teacher:cloner_loss"),
}

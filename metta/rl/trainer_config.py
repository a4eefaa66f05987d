"""Typed trainer configuration (the `trainer:` group), validated once with one-line errors."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, create_model, model_validator

from metta.rl.losses import LOSSES
from metta.rl.profiling import ProfilerConfig


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _losses_model() -> type[BaseModel]:
    """`trainer.losses`: one field per row of the loss table (metta/rl/losses.py)."""
    fields = {name: (row.config, Field(default_factory=row.config, description=row.config.__doc__.splitlines()[0]))
              for name, row in LOSSES.items()}
    return create_model("LossesConfig", __base__=StrictModel, __doc__="The losses summed in each update.", **fields)


LossesConfig = _losses_model()


class OptimizerConfig(StrictModel):
    type: Literal["adam", "adamw"] = "adam"
    learning_rate: float | None = Field(
        None, gt=0, description="The original's place for the learning rate: when set, it is trainer.learning_rate"
    )
    beta1: float = Field(0.9, ge=0, lt=1)
    beta2: float = Field(0.999, ge=0, lt=1)
    eps: float = Field(1e-8, gt=0)
    weight_decay: float = Field(0.0, ge=0)


class TrainerConfig(StrictModel):
    """PPO hyperparameters and the shape of the rollouts."""

    total_timesteps: PositiveInt = Field(description="Agent steps to train for")
    batch_size: PositiveInt = Field(description="Agent steps per rollout (whole multiple of agents x bptt)")
    minibatch_size: PositiveInt = Field(description="Agent steps per gradient step (multiple of bptt_horizon)")
    bptt_horizon: PositiveInt = Field(64, description="Steps per LSTM training segment")
    update_epochs: PositiveInt = Field(1, description="Passes over each rollout")
    learning_rate: float = Field(4.57e-4, gt=0, description="Adam learning rate")
    lr_schedule: Literal["constant", "linear", "cosine"] = Field("constant", description="Decay over training")
    gamma: float = Field(0.977, gt=0, le=1, description="Discount")
    gae_lambda: float = Field(0.916, ge=0, le=1, description="GAE lambda")
    max_grad_norm: float = Field(0.5, gt=0, description="Gradient clipping norm")
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    losses: LossesConfig = Field(default_factory=LossesConfig)
    num_envs: PositiveInt | None = Field(None, description="Env instances per process; None = fit the batch")
    num_workers: PositiveInt | None = Field(None, description="Env threads/processes; None = CPU count")
    vectorization: Literal["threads", "multiprocessing"] = Field(
        "threads", description="threads: one C++ vector stepped by a thread pool; multiprocessing: PufferLib workers"
    )
    curriculum: str | None = Field(
        None, description="Train on a curriculum: env/mettagrid/curriculum/<name> (docs/curricula.md) or any env "
                          "config (one task); None = the env= config"
    )
    checkpoint_interval: PositiveInt = Field(50, description="Epochs between checkpoints")
    checkpoint_interval_s: float = Field(300.0, gt=0, description="Also checkpoint after this many seconds")
    evaluate_interval: int = Field(0, ge=0, description="Epochs between evaluations; 0 = never")
    replay_interval: int = Field(0, ge=0, description="Epochs between recorded replay episodes; 0 = never")
    replay_dir: str | None = Field(
        None, pattern=r"^(s3://[^/]+(/.*)?|[^:]*|file://.*)$",
        description="Directory or s3:// prefix for replays; None = <run dir>/replays",
    )
    keep_checkpoints: int = Field(0, ge=0, description="Keep only the newest N policy checkpoints; 0 = all")
    upload_uri: str | None = Field(
        None, pattern=r"^s3://[^/]+(/.*)?$",
        description="s3://bucket/prefix to mirror each checkpoint to, under <prefix>/<run>/checkpoints/",
    )
    log_interval_s: float = Field(10.0, gt=0, description="Seconds between console summary lines")
    compile: bool = Field(False, description="torch.compile the training pass (pays off on GPUs)")
    amp: Literal["off", "bf16", "fp16"] = Field(
        "off", description="Mixed precision for the update: bf16 (no scaler) or fp16 (GradScaler, CUDA only)"
    )
    pin_memory: bool = Field(False, description="Stage observations in pinned host memory (CUDA: async copies)")
    profiler: ProfilerConfig = Field(default_factory=ProfilerConfig)

    @model_validator(mode="before")
    @classmethod
    def _optimizer_learning_rate(cls, data: object) -> object:
        """`trainer.optimizer.learning_rate` (the original's key, and sweeps') sets the one learning rate."""
        if isinstance(data, dict) and isinstance(data.get("optimizer"), dict):
            rate = data["optimizer"].get("learning_rate")
            if rate is not None:
                data = {**data, "learning_rate": rate}
        return data

    @model_validator(mode="before")
    @classmethod
    def _kickstart_spelling(cls, data: object) -> object:
        """The Hydra era's `trainer.kickstart.*` (teacher_uri, action_loss_coef, value_loss_coef,
        anneal_ratio, kickstart_steps, additional_teachers) is the kickstarter row; a teacher enables it."""
        if not isinstance(data, dict) or "kickstart" not in data:
            return data
        data = dict(data)
        kickstart = data.pop("kickstart") or {}
        if not isinstance(kickstart, dict):
            raise ValueError(f"kickstart: expected a mapping, got {kickstart!r}")
        losses = dict(data.get("losses") or {})
        present = losses.get("kickstarter") or {}
        if isinstance(present, BaseModel):
            present = present.model_dump()
        if present.get("enabled"):
            raise ValueError("kickstart: set by both trainer.kickstart and trainer.losses.kickstarter; use one")
        row = {**present, **kickstart}
        if row.get("teacher_uri") or row.get("additional_teachers"):
            row["enabled"] = kickstart.get("enabled", True)
        if row.get("additional_teachers") is None:
            row.pop("additional_teachers", None)
        losses["kickstarter"] = row
        return {**data, "losses": losses}

    @model_validator(mode="after")
    def _ppo_umbrella(self) -> TrainerConfig:
        """`losses.ppo.enabled=false` switches ppo_actor and ppo_critic off, whatever their own flags
        say (the preset sets them; `ppo.enabled=true`, the default, leaves them to their flags)."""
        if self.losses.ppo.enabled:
            return self
        off = {name: getattr(self.losses, name).model_copy(update={"enabled": False})
               for name in ("ppo_actor", "ppo_critic")}
        object.__setattr__(self, "losses", self.losses.model_copy(update=off))
        return self

    @model_validator(mode="after")
    def _minibatch_fits(self) -> TrainerConfig:
        if self.minibatch_size % self.bptt_horizon:
            raise ValueError(
                f"minibatch_size ({self.minibatch_size}) must be a multiple of bptt_horizon ({self.bptt_horizon})"
            )
        if not any(getattr(self.losses, name).enabled for name, row in LOSSES.items() if row.compute):
            raise ValueError(f"losses: no loss is enabled (enable one of {', '.join(n for n, r in LOSSES.items() if r.compute)})")
        return self


class RolloutShape(StrictModel):
    """How a batch is laid out: `horizon` steps of `num_envs` envs of `agents_per_env` agents."""

    num_envs: int
    agents_per_env: int
    horizon: int
    segments_per_minibatch: int
    # Set when the minibatch was derived because the configured one is bigger than the rollout.
    minibatch_note: str | None = None

    @property
    def num_agents(self) -> int:
        return self.num_envs * self.agents_per_env

    @property
    def batch_size(self) -> int:
        return self.num_agents * self.horizon


def rollout_shape(trainer: TrainerConfig, agents_per_env: int) -> RolloutShape:
    """Lay the batch out as `horizon` steps of `num_envs` envs, horizon a multiple of bptt_horizon.

    With num_envs unset, envs are added until one bptt_horizon of all agents fills the batch.
    The batch is then rounded down to whole segments (the start line prints the real size);
    a batch smaller than one segment of every agent is refused in one line. A minibatch bigger
    than the rollout (a preset's, after `trainer.batch_size=1024` alone) becomes the whole
    rollout, and `minibatch_note` says so.
    """
    bptt = trainer.bptt_horizon
    if trainer.num_envs is None:
        num_envs = max(1, trainer.batch_size // (bptt * agents_per_env))
    else:
        num_envs = trainer.num_envs
    num_agents = num_envs * agents_per_env
    horizon = (trainer.batch_size // (num_agents * bptt)) * bptt
    if horizon == 0:
        shorter = trainer.batch_size // num_agents  # the longest horizon this batch holds
        raise ValueError(
            f"trainer.batch_size ({trainer.batch_size}) is smaller than one bptt_horizon of every agent "
            f"({num_envs} envs x {agents_per_env} agents x {bptt} steps = {num_agents * bptt}): give "
            f"trainer.batch_size={num_agents * bptt} or more"
            + (f", or trainer.bptt_horizon={shorter}" if shorter >= 1 else "")
        )
    segments, note = trainer.minibatch_size // bptt, None
    rollout_segments = horizon // bptt * num_agents
    if segments > rollout_segments:
        segments = rollout_segments
        note = (f"trainer.minibatch_size {trainer.minibatch_size} is bigger than the rollout "
                f"({horizon * num_agents} agent steps): using minibatch_size={segments * bptt}")
    return RolloutShape(num_envs=num_envs, agents_per_env=agents_per_env, horizon=horizon,
                        segments_per_minibatch=segments, minibatch_note=note)


# Bytes per agent step of rollout storage besides the observation (metta/rl/experience.py):
# action (int64), logprob, value, reward, done, advantage, return (float32), reset (bool), and
# the observation copy the env writes before it is stored.
_STEP_BYTES = 8 + 6 * 4 + 1


def rollout_bytes(shape: RolloutShape, obs_tokens: int) -> int:
    """About how much memory one rollout takes: the experience (observations as uint8 tokens,
    per-step numbers) for every agent step; the LSTM states and the envs come on top."""
    return shape.batch_size * (obs_tokens * 3 + _STEP_BYTES) + shape.num_agents * obs_tokens * 3


def available_memory_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (None where there is no such file)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def check_rollout_fits(shape: RolloutShape, obs_tokens: int, device: str) -> None:
    """A rollout that cannot fit in this machine's free memory is refused before anything is
    allocated (one line naming trainer.batch_size), instead of dying of the OOM killer later.
    Checked for device=cpu, where the experience lives in host memory."""
    if device != "cpu":
        return
    free = available_memory_bytes()
    need = rollout_bytes(shape, obs_tokens)
    if free is not None and need > free:
        raise ValueError(
            f"trainer.batch_size ({shape.batch_size}) needs about {need / 2**30:.1f} GiB of rollout storage "
            f"({shape.num_envs} envs x {shape.agents_per_env} agents x {shape.horizon} steps) but this machine "
            f"has {free / 2**30:.1f} GiB free; lower trainer.batch_size or train on a bigger box"
        )

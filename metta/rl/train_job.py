"""The top-level keys of `configs/train_job.yaml` that are not config groups."""

from __future__ import annotations

import os
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationInfo, field_validator

# Run names become directory and checkpoint file names (`<run>:v<epoch>.pt`).
RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")


class SystemConfig(BaseModel):
    """Where the policy runs."""

    model_config = ConfigDict(extra="forbid")

    device: str = Field("cpu", description="torch device: cpu, cuda, cuda:1, mps")
    torch_threads: int | None = Field(None, ge=1, description="torch intra-op threads; None = all cores")

    @field_validator("device")
    @classmethod
    def _known_device(cls, device: str) -> str:
        if not re.match(r"^(cpu|mps|cuda(:\d+)?)$", device):
            raise ValueError("must be cpu, mps, cuda or cuda:<index>")
        return device


class InitialPolicyConfig(BaseModel):
    """A policy to start a new run from (ignored when the run resumes from its own checkpoint)."""

    model_config = ConfigDict(extra="forbid")

    uri: str | None = Field(None, description="file://, a path, s3:// or wandb:// URI of a trained policy")
    selector: Literal["latest", "top"] = "latest"
    metric: str = Field("score", description="Metadata metric for selector=top")

    @field_validator("uri")
    @classmethod
    def _has_weights(cls, uri: str | None) -> str | None:
        # metta://policy/<name> resolves (metta.agent.policy_uri), but to a scripted policy:
        # there are no weights to start from, only actions to learn from.
        if uri and uri.lower().startswith("metta://"):
            raise ValueError(
                f"{uri} is a scripted policy with no weights to start from; to learn from it, use "
                f"teacher.mode=sliced_cloner teacher.policy_uri={uri}"
            )
        return uri


class TeacherConfig(BaseModel):
    """A teacher policy guiding training by behavioural cloning (metta/rl/teacher.py, docs/training.md)."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["none", "sliced_cloner"] = Field("none", description="none: plain PPO; sliced_cloner: BC + PPO")
    policy_uri: str | None = Field(
        None, validate_default=True,
        description="The teacher: metta://policy/<name>[?k=v], file://, a path, s3:// or wandb://",
    )
    teacher_led_proportion: float = Field(
        0.5, ge=0, le=1, description="Share of agent rows that act with the teacher's action (BC, no PPO)"
    )
    student_led_proportion: float = Field(
        0.0, ge=0, le=1, validate_default=True,
        description="Share of agent rows that act with their own action (PPO + BC); the rest: PPO only",
    )
    action_loss_coef: float = Field(1.0, ge=0, description="Weight of the BC loss added to PPO's")
    teacher_led_anneal_steps: PositiveInt | None = Field(
        None, description="Agent steps over which the teacher-led share falls linearly to 0 (its rows "
                          "turn student-led); None = fixed"
    )

    @field_validator("policy_uri")
    @classmethod
    def _uri_when_enabled(cls, uri: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("mode", "none") != "none" and not uri:
            raise ValueError(f"required with mode {info.data['mode']}")
        return uri

    @field_validator("student_led_proportion")
    @classmethod
    def _shares_fit(cls, student: float, info: ValidationInfo) -> float:
        teacher = info.data.get("teacher_led_proportion")
        if info.data.get("mode", "none") == "none" or teacher is None:
            return student
        if teacher + student > 1 + 1e-9:
            raise ValueError(f"teacher_led_proportion + student_led_proportion = {teacher + student:g} exceeds 1")
        if teacher + student == 0:
            raise ValueError("teacher_led_proportion and student_led_proportion are both 0: nothing to clone")
        return student

    @property
    def enabled(self) -> bool:
        return self.mode != "none"


class TrainingEnvConfig(BaseModel):
    """The original's `training_env:` section; only the supervisor is read here."""

    model_config = ConfigDict(extra="forbid")

    supervisor_policy_uri: str | None = Field(
        None, description="The policy trainer.losses.sliced_scripted_cloner clones (any policy URI)")


class TrainJobConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run: str = Field(description="Run name: train_dir/<run>/ holds its config, metrics and checkpoints")
    train_dir: str = Field("train_dir", description="Parent directory of runs")
    seed: int = Field(0, description="Seeds torch, numpy and the envs (offset per rank)")
    system: SystemConfig = Field(default_factory=SystemConfig)
    initial_policy: InitialPolicyConfig = Field(default_factory=InitialPolicyConfig)
    teacher: TeacherConfig = Field(default_factory=TeacherConfig)
    training_env: TrainingEnvConfig = Field(default_factory=TrainingEnvConfig)

    @field_validator("run")
    @classmethod
    def _safe_run_name(cls, run: str) -> str:
        if not RUN_NAME.match(run):
            raise ValueError("use letters, digits, '.', '_' and '-' (it names a directory and files)")
        return run

    @staticmethod
    def default_num_workers(world_size: int) -> int:
        """Env threads per rank: the machine's cores shared among the ranks on it."""
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        return max(1, cores // max(1, world_size))


CLONER = "trainer.losses.sliced_scripted_cloner"


def resolve_teacher(job: TrainJobConfig, trainer):
    """The run's teacher, from either spelling, and the trainer config with the cloner row
    matching it: `teacher={mode: sliced_cloner, ...}` (the recipe shorthand) or
    `trainer.losses.sliced_scripted_cloner.enabled=true` + `training_env.supervisor_policy_uri`.
    Both at once, or the row without a supervisor, is a one-line ConfigError."""
    from pydantic import ValidationError

    from mettagrid.errors import ConfigError

    row = trainer.losses.sliced_scripted_cloner
    shared = ("action_loss_coef", "teacher_led_proportion", "student_led_proportion", "teacher_led_anneal_steps")
    if job.teacher.enabled:
        if row.enabled:
            raise ConfigError(f"teacher: set by both teacher=... and {CLONER}.enabled=true; use one of the two")
        if job.training_env.supervisor_policy_uri not in (None, job.teacher.policy_uri):
            raise ConfigError(f"training_env.supervisor_policy_uri: {job.training_env.supervisor_policy_uri} "
                              f"differs from teacher.policy_uri {job.teacher.policy_uri}; use one of the two")
        teacher = job.teacher
    elif row.enabled:
        uri = job.training_env.supervisor_policy_uri
        if not uri:
            raise ConfigError(f"training_env.supervisor_policy_uri: required with {CLONER}.enabled=true")
        try:
            teacher = TeacherConfig(mode="sliced_cloner", policy_uri=uri, **{k: getattr(row, k) for k in shared})
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"])
            raise ConfigError(f"{CLONER}.{field}: {first['msg'].removeprefix('Value error, ')}") from None
        return teacher, trainer
    else:
        return job.teacher, trainer
    losses = trainer.losses.model_copy(update={"sliced_scripted_cloner": row.model_copy(
        update={"enabled": True, **{k: getattr(teacher, k) for k in shared}})})
    return teacher, trainer.model_copy(update={"losses": losses})


def resolve_supervisor(job: TrainJobConfig, trainer, teacher: TeacherConfig) -> TeacherConfig:
    """The teacher plumbing with `trainer.losses.action_supervised` enabled: the run's teacher when
    there is one (its actions are the labels), else its supervisor (`supervisor_uri`, or
    `training_env.supervisor_policy_uri`) run as a teacher whose rows are all student-led: the
    student acts, the supervisor's action on every step is the label."""
    from mettagrid.errors import ConfigError

    row = trainer.losses.action_supervised
    if not row.enabled:
        return teacher
    key = "trainer.losses.action_supervised.supervisor_uri"
    if row.demonstrations_uri:  # imitation from a file: no supervisor plays (metta/rl/demonstrations.py)
        if row.supervisor_uri:
            raise ConfigError(f"{key}: give a supervisor or trainer.losses.action_supervised.demonstrations_uri, "
                              "not both")
        return teacher
    if teacher.enabled:
        if row.supervisor_uri not in (None, teacher.policy_uri):
            raise ConfigError(f"{key}: {row.supervisor_uri} differs from the run's teacher {teacher.policy_uri}; "
                              "one supervisor per run")
        return teacher
    uri = row.supervisor_uri or job.training_env.supervisor_policy_uri
    if not uri:
        raise ConfigError(f"{key}: required with trainer.losses.action_supervised.enabled=true "
                          "(or training_env.supervisor_policy_uri, or a teacher=)")
    return TeacherConfig(mode="sliced_cloner", policy_uri=uri, teacher_led_proportion=0.0,
                         student_led_proportion=1.0, action_loss_coef=0.0)

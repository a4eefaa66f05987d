"""The top-level keys of `configs/train_job.yaml` that are not config groups."""

from __future__ import annotations

import os
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

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

    uri: str | None = Field(None, description="file://, s3:// or wandb:// URI")
    selector: Literal["latest", "top"] = "latest"
    metric: str = Field("score", description="Metadata metric for selector=top")


class TrainJobConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run: str = Field(description="Run name: train_dir/<run>/ holds its config, metrics and checkpoints")
    train_dir: str = Field("train_dir", description="Parent directory of runs")
    seed: int = Field(0, description="Seeds torch, numpy and the envs (offset per rank)")
    system: SystemConfig = Field(default_factory=SystemConfig)
    initial_policy: InitialPolicyConfig = Field(default_factory=InitialPolicyConfig)

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

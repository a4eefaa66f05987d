"""Validation suites as data: the CI suite (quick smoke jobs, every change) and the stable suite
(long runs with acceptance thresholds, before a release). Each suite module defines `JOBS`, a
list of `JobConfig` rows; `metta.jobs.validation` runs them (`metta ci --stage recipe-tests`,
`metta suite stable`).

A job is one `./tools/run.py <module> <args...>` subprocess. In `args`, `{train_dir}` stands for
the suite's run directory and `{out}` for its output directory (the runner fills both in), so an
evaluation job can name the checkpoints the training job before it wrote.
"""

from __future__ import annotations

import operator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

OPERATORS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}


class AcceptanceCriterion(BaseModel):
    """A metric's final value must compare with `threshold` by `operator`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str = Field(description="A tracked metric, e.g. overview/sps or env_agent/heart.gained")
    operator: Literal[">=", ">", "<=", "<", "=="] = Field(">=", description="value <operator> threshold passes")
    threshold: float

    def holds(self, value: float) -> bool:
        return bool(OPERATORS[self.operator](value, self.threshold))

    def __str__(self) -> str:
        return f"{self.metric} {self.operator} {self.threshold:g}"


class JobConfig(BaseModel):
    """One job of a suite: a recipe tool run with arguments, a time limit and what counts as a pass."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Unique within the suite, e.g. ci.arena_train")
    module: str = Field(description="What tools/run.py runs: recipes.<recipe>.<tool>")
    args: list[str] = Field(default_factory=list, description="key=value arguments; {train_dir}/{out} filled in")
    timeout_s: int = Field(300, gt=0, description="The job is killed (and fails) after this many seconds")
    is_training_job: bool = Field(False, description="Metrics come from train_dir/<run>/metrics.jsonl")
    metrics_to_track: list[str] = Field(default_factory=list, description="Metrics reported in the result file")
    acceptance_criteria: list[AcceptanceCriterion] = Field(default_factory=list)

    def run_name(self) -> str | None:
        """The training run this job writes (`run=` among its args)."""
        runs = [arg.partition("=")[2] for arg in self.args if arg.startswith("run=")]
        return runs[-1] if runs else None

"""Run a validation suite (metta/recipes/validation/): each job as `./tools/run.py <module> <args>`
in its own process group under its time limit, then its metrics checked against its acceptance
criteria. Prints one line per job and writes `<out>/results.json` atomically.

  metta suite ci                                     # = metta ci --stage recipe-tests
  metta suite stable --override trainer.total_timesteps=20000 --job stable.arena_train

Where metrics come from:
- a training job: the run's `metrics.jsonl` (`<train_dir>/<run>/`), each metric's last logged value;
- any other job: the JSON report it prints (tools/sim.py's): the metrics of the first policy's
  last checkpoint (`reward_avg`, `<sim>/reward`, ...);
- every job: `job/duration_s`, its wall time.
A job passes when it exits 0 within its time limit and every criterion holds; a criterion on a
metric the job never reported fails. A tracked metric without a value is listed in
`missing_metrics` (episode stats are logged only when non-zero, e.g. no heart made yet).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from metta.common.cli_parser import CliParser
from metta.common.uri import atomic_write_bytes
from metta.recipes.validation import JobConfig
from mettagrid.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
RUN_TOOL = ROOT / "tools" / "run.py"
SUITES = {"ci": "metta.recipes.validation.ci_suite", "stable": "metta.recipes.validation.stable_suite"}


class CriterionResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    criterion: str
    value: float | None
    passed: bool


class JobResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    command: list[str]
    status: str = Field(description="passed, failed (exit code or criteria) or timeout")
    exit_code: int | None
    duration_s: float
    metrics: dict[str, float]
    missing_metrics: list[str]
    criteria: list[CriterionResult]
    log: str
    reason: str = ""


def suite_jobs(suite: str) -> list[JobConfig]:
    """The JOBS of a suite by short name (`ci`, `stable`) or module path."""
    module_name = SUITES.get(suite, suite)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        raise ConfigError(f"unknown suite {suite!r} (suites: {', '.join(SUITES)})") from None
    jobs = getattr(module, "JOBS", None)
    if not isinstance(jobs, list) or not all(isinstance(job, JobConfig) for job in jobs):
        raise ConfigError(f"{module_name}: JOBS must be a list of JobConfig")
    names = [job.name for job in jobs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(f"{module_name}: job names repeat: {', '.join(duplicates)}")
    return jobs


def job_argv(job: JobConfig, train_dir: Path, out: Path, overrides: list[str]) -> list[str]:
    """The run.py command line: the module, its args with {train_dir}/{out} filled in, the
    suite's train_dir for a training job, and the caller's overrides for training jobs last."""
    args = [arg.replace("{train_dir}", str(train_dir)).replace("{out}", str(out)) for arg in job.args]
    if job.is_training_job:
        if job.run_name() is None:
            raise ConfigError(f"{job.name}: a training job needs run=<name> in its args")
        args += [f"train_dir={train_dir}", *overrides]
    return [str(RUN_TOOL), job.module, *args]


def training_metrics(run_dir: Path) -> dict[str, float]:
    """Each metric's last logged value in the run's metrics.jsonl (empty when there is none)."""
    metrics: dict[str, float] = {}
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return metrics
    for line in path.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            row = json.loads(line)
            metrics.update({k: float(v) for k, v in row.items() if isinstance(v, (int, float)) and k != "time"})
    return metrics


def report_metrics(stdout: str) -> dict[str, float]:
    """The metrics of the first policy's last checkpoint in a JSON report printed on stdout."""
    start = stdout.find("{")
    if start < 0:
        return {}
    try:
        report = json.loads(stdout[start:])
        checkpoint = report["policies"][0]["checkpoints"][-1]
    except (json.JSONDecodeError, KeyError, IndexError, TypeError):
        return {}
    return {k: float(v) for k, v in checkpoint.get("metrics", {}).items() if isinstance(v, (int, float))}


def run_process(argv: list[str], timeout_s: float, log_path: Path) -> tuple[int | None, str, float]:
    """(exit code or None on timeout, stdout, seconds). The job runs in its own process group so
    a timeout kills it with every worker it started; its output goes to log_path as well."""
    start = time.monotonic()
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        code = None
    duration = time.monotonic() - start
    log_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(log_path, (f"$ {' '.join(argv)}\n--- stdout\n{stdout}\n--- stderr\n{stderr}").encode())
    return code, stdout, duration


def run_job(job: JobConfig, train_dir: Path, out: Path, overrides: list[str]) -> JobResult:
    argv = job_argv(job, train_dir, out, overrides)
    log_path = out / "logs" / f"{job.name}.log"
    code, stdout, duration = run_process(argv, job.timeout_s, log_path)
    metrics = training_metrics(train_dir / str(job.run_name())) if job.is_training_job else report_metrics(stdout)
    metrics["job/duration_s"] = round(duration, 3)
    wanted = list(dict.fromkeys(job.metrics_to_track + [c.metric for c in job.acceptance_criteria]))
    kept = {name: metrics[name] for name in wanted if name in metrics and math.isfinite(metrics[name])}
    kept["job/duration_s"] = metrics["job/duration_s"]
    missing = [name for name in wanted if name not in kept]
    criteria = [CriterionResult(criterion=str(c), value=kept.get(c.metric),
                                passed=c.metric in kept and c.holds(kept[c.metric])) for c in job.acceptance_criteria]
    if code is None:
        status, reason = "timeout", f"killed after {job.timeout_s}s"
    elif code != 0:
        status, reason = "failed", f"exit code {code}"
    elif not all(c.passed for c in criteria):
        status, reason = "failed", "; ".join(f"{c.criterion} (got {'no value' if c.value is None else f'{c.value:g}'})"
                                             for c in criteria if not c.passed)
    else:
        status, reason = "passed", ""
    return JobResult(name=job.name, command=argv, status=status, exit_code=code, duration_s=round(duration, 3),
                     metrics=kept, missing_metrics=missing, criteria=criteria, log=str(log_path), reason=reason)


def run_suite(suite: str, out: Path, overrides: list[str] | None = None, only: list[str] | None = None,
              jobs: list[JobConfig] | None = None) -> dict[str, Any]:
    """Run a suite's jobs in order; returns (and writes to <out>/results.json) the results."""
    jobs = suite_jobs(suite) if jobs is None else jobs
    if only:
        unknown = sorted(set(only) - {job.name for job in jobs})
        if unknown:
            raise ConfigError(f"--job {unknown[0]!r}: not in suite {suite} ({', '.join(j.name for j in jobs)})")
        jobs = [job for job in jobs if job.name in only]
    out = out.resolve()
    train_dir = out / "train_dir"
    results: list[JobResult] = []
    started = time.time()
    path = out / "results.json"
    for job in jobs:
        print(f"[{suite}] {job.name}: running (limit {job.timeout_s}s)", flush=True)
        result = run_job(job, train_dir, out, overrides or [])
        results.append(result)
        shown = ", ".join(f"{k}={v:g}" for k, v in result.metrics.items())
        print(f"[{suite}] {job.name}: {result.status.upper()} in {result.duration_s:.1f}s"
              + (f" ({result.reason})" if result.reason else "") + (f" [{shown}]" if shown else ""), flush=True)
        summary = _summary(suite, started, overrides or [], results)
        atomic_write_bytes(path, json.dumps(summary, indent=2).encode())  # kept current after every job
    summary = _summary(suite, started, overrides or [], results)
    atomic_write_bytes(path, json.dumps(summary, indent=2).encode())
    passed = sum(r.status == "passed" for r in results)
    print(f"[{suite}] {passed}/{len(results)} jobs passed; results: {path}", flush=True)
    return summary


def _summary(suite: str, started: float, overrides: list[str], results: list[JobResult]) -> dict[str, Any]:
    return {"suite": suite, "started": started, "overrides": overrides,
            "passed": all(r.status == "passed" for r in results),
            "jobs": [r.model_dump() for r in results]}


def main(argv: list[str] | None = None) -> int:

    parser = CliParser(prog="metta suite", description="Run a validation suite.")
    parser.add_argument("suite", help=f"{' or '.join(SUITES)} (or a module defining JOBS)")
    parser.add_argument("--out", default=None, help="Output directory (default train_dir/validation/<suite>)")
    parser.add_argument("--job", action="append", default=[], help="Run only this job (repeatable)")
    parser.add_argument("--override", action="append", default=[],
                        help="key=value appended to every training job, e.g. trainer.total_timesteps=20000")
    args = parser.parse_args(argv)
    out = Path(args.out or ROOT / "train_dir" / "validation" / args.suite.rpartition(".")[2])
    try:
        summary = run_suite(args.suite, out, args.override, args.job)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0 if summary["passed"] else 1

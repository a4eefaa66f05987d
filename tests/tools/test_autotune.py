"""tools/autotune.py as a user runs it: a tiny grid prints a ranked table and the fastest point,
the memory budget leaves points out (all of them: one clear line), bad grid values are refused
in one line, and a written hardware preset composes with train_job."""

import os
import subprocess
import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError

from metta.common.tool import compose_job
from metta.jobs.autotune import GB, AutotuneConfig, estimate_memory, preset_target
from metta.rl.trainer_config import TrainerConfig, rollout_shape
from mettagrid.env_configs import CONFIGS_DIR, compose_env_config
from mettagrid.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
AUTOTUNE = str(ROOT / "tools" / "autotune.py")
NAV = "env=mettagrid/navigation"


def run_autotune(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([AUTOTUNE, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env,
                          check=False)


def table_rows(stdout: str) -> list[list[str]]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["rank", "vectorization"])
    rows = []
    for line in lines[start + 1:]:
        cells = line.split()
        if not cells or not cells[0].isdigit():
            break
        rows.append(cells)
    return rows


def sps(cell: str) -> float:
    return float(cell.replace(",", ""))


def test_tiny_grid_prints_one_row_per_point_and_the_fastest():
    result = run_autotune(NAV, "autotune.num_envs=[2,4]", "autotune.num_workers=[1,2]",
                          "autotune.seconds_per_point=0.2")
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    engines = {row[1] for row in rows}
    expected = 4 * len(engines)
    assert engines <= {"threads", "multiprocessing"} and "threads" in engines
    if "multiprocessing" not in engines:
        assert "multiprocessing not measured" in result.stdout
    assert len(rows) == expected
    assert {(row[1], row[2], row[3]) for row in rows} == {
        (e, n, w) for e in engines for n in ("2", "4") for w in ("1", "2")
    }
    rates = [sps(row[5]) for row in rows]
    assert rates == sorted(rates, reverse=True) and rates[-1] > 0
    assert all(sps(row[-1]) > 0 for row in rows)  # memory estimate, MB
    best = rows[0]
    fastest = [line for line in result.stdout.splitlines() if line.startswith("fastest:")]
    assert len(fastest) == 1
    assert f"trainer.vectorization={best[1]} trainer.num_envs={best[2]} trainer.num_workers={best[3]}" in fastest[0]


def test_memory_budget_leaves_out_big_points():
    env_config = compose_env_config("mettagrid/navigation")
    composed = compose_job("autotune_job", [NAV])
    trainer = TrainerConfig.model_validate(dict(composed.trainer))
    agent = dict(composed.agent)
    small = estimate_memory(env_config, trainer, agent, 2, "threads")
    big = estimate_memory(env_config, trainer, agent, 96, "threads")
    assert small < big
    budget = (small + big) / 2 / GB
    result = run_autotune(NAV, "autotune.num_envs=[2,96]", "autotune.num_workers=[1]",
                          "autotune.vectorization=[threads]", "autotune.seconds_per_point=0.1",
                          f"autotune.memory_budget_gb={budget}")
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    assert [(row[1], row[2]) for row in rows] == [("threads", "2")]
    assert "skipped: threads num_envs=96 num_workers=1: estimated" in result.stdout


def test_tiny_budget_is_one_clear_line():
    result = run_autotune(NAV, "autotune.num_envs=[2,4]", "autotune.num_workers=[1]",
                          "autotune.memory_budget_gb=0.0001")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: autotune.memory_budget_gb: every grid point is over")
    assert "[1/" not in result.stdout  # nothing was measured


def test_bad_grid_values_are_one_line_errors():
    for override, expected in [
        ("autotune.num_envs=[0,4]", "error: autotune.num_envs.0: Input should be greater than 0 (got 0)"),
        ("autotune.vectorization=[gpu]", "error: autotune.vectorization.0:"),
    ]:
        result = run_autotune(NAV, override)
        assert result.returncode == 2, (override, result.stdout)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(expected), (override, result.stderr)
    for bad in ({"num_envs": []}, {"num_envs": [4], "num_workers": ["two"]}, {"num_envs": [4], "seconds_per_point": 0}):
        with pytest.raises(ValidationError):
            AutotuneConfig.model_validate(bad)
    assert AutotuneConfig.model_validate({"num_envs": 8}).num_envs == [8]


def test_write_hardware_preset_composes_with_train_job():
    name = f"autotune_test_{uuid.uuid4().hex[:10]}"
    path = CONFIGS_DIR / "hardware" / f"{name}.yaml"
    try:
        result = run_autotune(NAV, "autotune.num_envs=[2,4]", "autotune.num_workers=[1]",
                              "autotune.vectorization=[threads]", "autotune.seconds_per_point=0.1",
                              f"autotune.write_hardware={name}")
        assert result.returncode == 0, result.stderr
        text = path.read_text()
        assert text.startswith("# @package _global_\n")
        best = table_rows(result.stdout)[0]
        assert f"hardware={name}" in result.stdout
        tuned = compose_job("train_job", [NAV, f"hardware={name}"])
        cpu = compose_job("train_job", [NAV, "hardware=cpu"])
        assert tuned.trainer.num_envs == int(best[2])
        assert tuned.trainer.num_workers == int(best[3])
        assert tuned.trainer.vectorization == "threads"
        for key in ("batch_size", "minibatch_size", "bptt_horizon", "total_timesteps", "learning_rate"):
            assert tuned.trainer[key] == cpu.trainer[key], key
        assert tuned.system.device == cpu.system.device == "cpu"
        trainer = TrainerConfig.model_validate(dict(tuned.trainer))
        assert rollout_shape(trainer, 4).num_envs == int(best[2])
        # A shipped preset is never overwritten (refused before anything is measured).
        with pytest.raises(ConfigError, match="not written by autotune"):
            preset_target("cpu", "cpu")
        assert preset_target(name, name) == (path, "cpu")  # re-tuning in place keeps its base
    finally:
        path.unlink(missing_ok=True)
    assert not list(path.parent.glob(f".{name}*"))  # no temp file left behind

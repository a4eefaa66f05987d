"""tools/validate_config.py as a user types it: clean configs print as YAML and exit 0; misspelled
keys, wrong types, missing values and unresolvable interpolations are each listed on stderr as
one line naming the dotted key, and every problem of a job is listed, group by group."""

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.hardening.bad_input import run_command

ROOT = Path(__file__).resolve().parents[2]
TOOL = str(ROOT / "tools" / "validate_config.py")


def validate(*args: str) -> subprocess.CompletedProcess:
    return run_command([TOOL, *args], timeout=120)


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


@pytest.mark.parametrize("config", ["configs/env/mettagrid/navigation.yaml", "env/mettagrid/navigation"])
def test_clean_env_file_prints_yaml_and_exits_0(config):
    result = validate(config)
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load(result.stdout)
    assert data["game"]["num_agents"] == 4
    assert data["game"]["map_builder"]["type"] == "random"
    assert "inventory_item_names" in data["game"]  # composed from the base and game/ files
    assert error_lines(result) == []


@pytest.mark.parametrize("config", ["trainer/trainer.yaml", "configs/agent/fast.yaml", "configs/sim/navigation.yaml",
                                    "wandb/default", "hardware/gpu", "configs/train_job.yaml", "configs/sim_job.yaml",
                                    "configs/renderer_job.yaml", "configs/analyze_job.yaml", "configs/replay_job.yaml",
                                    "configs/play_job.yaml", "configs/sweep/quick.yaml", "sweep/full",
                                    "configs/sweep/arena_basic_easy_shaped.yaml"])
def test_every_kind_of_shipped_config_is_clean(config):
    result = validate(config)
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout)


def test_train_job_is_composed_and_resolved():
    result = validate("configs/train_job.yaml", "run=check1")
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load(result.stdout)
    assert data["run"] == "check1"
    assert data["trainer"]["batch_size"] == 12288  # hardware=cpu applied over trainer/trainer.yaml
    assert set(data) >= {"env", "trainer", "agent", "sim", "wandb", "system"}
    assert "hydra" not in data


def test_misspelled_key_is_an_unknown_key():
    result = validate("configs/train_job.yaml", "+trainer.learning_rat=0.1")
    assert result.returncode == 1
    [line] = error_lines(result)
    assert "trainer.learning_rat" in line and "unknown key" in line
    assert yaml.safe_load(result.stdout)["trainer"]["learning_rat"] == 0.1  # still printed


def test_override_of_a_key_that_does_not_exist_names_it():
    result = validate("configs/train_job.yaml", "trainer.learning_rat=0.1")
    assert result.returncode == 1
    [line] = error_lines(result)
    assert "trainer.learning_rat" in line and "unknown key" in line


def test_wrong_type_names_the_key_and_the_value():
    result = validate("configs/train_job.yaml", "trainer.batch_size=lots")
    assert result.returncode == 1
    [line] = error_lines(result)
    assert "trainer.batch_size" in line and "'lots'" in line and "integer" in line


def test_missing_required_value_names_the_key():
    result = validate("configs/train_job.yaml", "~trainer.total_timesteps")
    assert result.returncode == 1
    [line] = error_lines(result)
    assert "trainer.total_timesteps" in line and "required" in line


def test_env_without_a_map_builder_is_missing_a_required_key():
    result = validate("configs/env/mettagrid/navigation.yaml", "~game.map_builder")
    assert result.returncode == 1
    [line] = error_lines(result)
    assert "env.game.map_builder" in line and "required" in line
    assert line.startswith("error: command line:")


def test_unresolvable_interpolation_is_reported_not_crashed_on():
    result = validate("configs/train_job.yaml", "+trainer.foo=${nope}")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = error_lines(result)
    assert any("trainer.foo" in line and "${nope}" in line and "resolve" in line for line in lines), lines
    data = yaml.safe_load(result.stdout)  # the rest is printed, the bad value as written
    assert data["trainer"]["foo"] == "${nope}"
    assert data["trainer"]["batch_size"] == 12288


def test_problems_in_different_groups_are_all_listed():
    result = validate("configs/train_job.yaml", "trainer.batch_size=lots", "wandb.mode=sometimes",
                      "env.game.num_agents=0", "run=a/b")
    assert result.returncode == 1
    lines = error_lines(result)
    assert any("trainer.batch_size" in line for line in lines), lines
    assert any("wandb.mode" in line and "'sometimes'" in line for line in lines), lines
    assert any("env.game.num_agents" in line for line in lines), lines
    assert any(": run: " in line for line in lines), lines  # the job's own keys too
    assert "4 problems found" in result.stderr


def test_problem_in_a_group_file_names_that_file():
    # The env's map places 24 agents; a count of 3 breaks the map the env file defines.
    result = validate("configs/train_job.yaml", "env.game.num_agents=3")
    assert result.returncode == 1
    [line] = error_lines(result)
    assert line.startswith("error: configs/env/mettagrid/arena/basic_easy_shaped.yaml: env.game.map_builder:")


def test_problem_from_a_hardware_preset_names_the_preset():
    result = validate("configs/train_job.yaml", "trainer.bptt_horizon=2048", "trainer.minibatch_size=4096")
    assert result.returncode == 1
    [line] = error_lines(result)
    assert line.startswith("error: configs/hardware/cpu.yaml: trainer.batch_size:")


def test_agent_group_is_validated():
    result = validate("configs/train_job.yaml", "agent.hidden_size=-3")
    assert result.returncode == 1
    [line] = error_lines(result)
    assert "agent.hidden_size" in line and "-3" in line


def test_group_file_overrides_are_relative_to_the_group():
    result = validate("trainer/trainer.yaml", "batch_size=lots")
    assert result.returncode == 1
    [line] = error_lines(result)
    assert "trainer.batch_size" in line and "'lots'" in line


def test_sim_suite_naming_a_missing_env_is_reported():
    result = validate("configs/sim/smoke_test.yaml", "+simulations.extra.env=mettagrid/nowhere")
    assert result.returncode == 1
    [line] = error_lines(result)
    assert "sim.simulations.extra.env" in line and "mettagrid/nowhere" in line


@pytest.mark.parametrize("config", ["configs/nope.yaml", "trainer/nope", "configs/sweep/nope.yaml"])
def test_unknown_config_is_one_line_and_exit_2(config):
    result = validate(config)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1


def test_sweep_files_are_checked_parameter_by_parameter_and_phase_by_phase(tmp_path):
    bad_mean = validate("configs/sweep/quick.yaml", "parameters.trainer.gamma.mean=2")
    assert bad_mean.returncode == 1
    [line] = error_lines(bad_mean)
    assert "sweep.parameters.trainer.gamma: mean 2 is outside [0.9, 0.999]" in line
    bad_phase = validate("configs/sweep/full.yaml", "schedule.phases.0.sweep.parameters.trainer.total_timesteps.mean=1")
    [line] = error_lines(bad_phase)
    assert "schedule.explore_cheap.parameters.trainer.total_timesteps: mean 1 is outside" in line
    job = validate("configs/sweep_job.yaml")
    [line] = error_lines(job)
    assert "sweep_name" in line and "missing" in line
    assert validate("configs/sweep_job.yaml", "sweep_name=ok").returncode == 0


def test_a_users_own_file_at_the_configs_root_is_checked_group_by_group():
    path = ROOT / "configs" / "my_config_validate_test.yaml"
    path.write_text("defaults:\n  - train_job\n  - _self_\nrun: mine\ntrainer:\n  learning_rate: -0.5\n")
    try:
        result = validate("configs/my_config_validate_test.yaml")
        assert result.returncode == 1, result.stderr
        assert error_lines(result) == [("error: configs/my_config_validate_test.yaml: trainer.learning_rate: "
                                        "Input should be greater than 0 (got -0.5)")]
        assert "checked its groups: env, trainer, agent" in result.stderr
        path.write_text("defaults:\n  - train_job\n  - _self_\nrun: mine\n")
        clean = validate("configs/my_config_validate_test.yaml")
        assert clean.returncode == 0 and yaml.safe_load(clean.stdout)["run"] == "mine"
    finally:
        path.unlink()


def test_hardware_gpu_turns_on_mixed_precision_pinned_memory_and_compile():
    result = validate("configs/train_job.yaml", "run=gpu1", "hardware=gpu")
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load(result.stdout)
    assert data["system"]["device"] == "cuda"
    assert (data["trainer"]["amp"], data["trainer"]["pin_memory"], data["trainer"]["compile"]) == ("bf16", True, True)
    assert data["trainer"]["profiler"]["enabled"] is False


def test_a_misspelled_amp_mode_names_the_key():
    result = validate("configs/train_job.yaml", "run=gpu2", "trainer.amp=fp8")
    assert result.returncode != 0
    assert any("trainer.amp" in line for line in error_lines(result)), result.stderr

"""The table of config groups, jobs and tools (metta/common/config_table.py) and the rule it
serves: every key has one default, in its schema, and YAML states only what differs."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from metta.common.config_table import GROUPS, JOBS, TOOLS, job_defaults, load, schema_defaults
from metta.common.tool import compose_job, normalize_overrides, validate_job
from mettagrid.env_configs import CONFIGS_DIR
from mettagrid.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_every_row_names_things_that_exist():
    for job in JOBS.values():
        assert (CONFIGS_DIR / f"{job.name}.yaml").is_file(), job.name
        for reference in job.sections.values():
            assert hasattr(load(reference), "model_validate"), reference
        for group in job.groups:
            assert group in GROUPS and (CONFIGS_DIR / group).is_dir(), (job.name, group)
        if job.cross_check:
            assert callable(load(job.cross_check))
    for tool in TOOLS.values():
        assert (ROOT / "tools" / tool.script).is_file(), tool.script
        assert tool.job in JOBS and callable(load(tool.runner)), tool.script
        assert f'hydra_tool("{tool.script}")' in (ROOT / "tools" / tool.script).read_text()
    for group in GROUPS.values():
        if group.schema:
            load(group.schema)


def test_every_job_config_file_is_in_the_table():
    files = {Path(path).stem for path in glob.glob(str(CONFIGS_DIR / "*_job.yaml"))}
    assert files == set(JOBS)


def _restated(data, defaults, path=""):
    """Keys of `data` whose value equals the schema default: a second copy of a default."""
    if isinstance(data, dict) and isinstance(defaults, dict):
        found = []
        for key, value in data.items():
            if key in defaults:
                found += _restated(value, defaults[key], f"{path}.{key}" if path else key)
        return found
    return [path] if data == defaults else []


def _own_yaml(path: Path) -> dict:
    data = yaml.safe_load(path.read_text()) or {}
    data.pop("defaults", None)
    data.pop("hydra", None)
    return data


@pytest.mark.parametrize("job", sorted(JOBS))
def test_job_files_state_only_what_differs_from_the_schema(job):
    defaults = job_defaults(JOBS[job])
    assert _restated(_own_yaml(CONFIGS_DIR / f"{job}.yaml"), defaults) == []


@pytest.mark.parametrize("group", [name for name, group in GROUPS.items() if group.defaults_from_schema])
def test_group_files_state_only_what_differs_from_the_schema(group):
    defaults = schema_defaults(load(GROUPS[group].schema))
    for path in sorted((CONFIGS_DIR / group).glob("*.yaml")):
        assert _restated(_own_yaml(path), defaults) == [], path.name


def test_the_checker_sees_a_restated_default():
    assert _restated({"trainer": {"gamma": 0.977, "lr": 1}}, {"trainer": {"gamma": 0.977, "lr": 2}}) == [
        "trainer.gamma"
    ]


def test_a_key_no_yaml_states_is_in_the_composed_config_and_overridable():
    text = (CONFIGS_DIR / "trainer" / "trainer.yaml").read_text()
    assert "gamma" not in text and "ent_coef" not in text
    cfg = compose_job("train_job", ["trainer.gamma=0.99", "trainer.losses.ppo_actor.ent_coef=0.01"])
    parts = validate_job(cfg, "train_job")
    assert parts["trainer"].gamma == 0.99 and parts["trainer"].losses.ppo_actor.ent_coef == 0.01
    plain = compose_job("train_job", [])
    schema_default = load(GROUPS["trainer"].schema).model_fields["gae_lambda"].default
    assert OmegaConf.select(plain, "trainer.gae_lambda") == schema_default  # from the schema, not a YAML


def test_a_missing_key_is_one_line_naming_it():
    with pytest.raises(ConfigError, match=r"^configs/train_job.yaml: Could not override 'trainer.gama'") as caught:
        compose_job("train_job", ["trainer.gama=0.9"])
    assert "\n" not in str(caught.value)


def test_plus_on_a_schema_key_sets_it_and_on_a_group_picks_it():
    assert normalize_overrides(["+eval_db_uri=x.duckdb", "+sim=arena", "++a=1", "b=2"]) == [
        "++eval_db_uri=x.duckdb", "+sim=arena", "++a=1", "b=2"
    ]
    cfg = compose_job("stats_cli_job", ["+eval_db_uri=x.duckdb"])
    assert validate_job(cfg, "stats_cli_job")[""].eval_db_uri == "x.duckdb"


def test_validate_job_types_every_part_and_refuses_bad_values():
    parts = validate_job(compose_job("sim_job", ["selector_type=top", "sim_job.num_episodes=2"]), "sim_job")
    assert parts[""].selector_type == "top" and parts["sim_job"].num_episodes == 2
    with pytest.raises(ConfigError, match="selector_type"):
        validate_job(compose_job("sim_job", ["selector_type=best"]), "sim_job")
    with pytest.raises(ConfigError, match="batch_size"):
        validate_job(compose_job("train_job", ["trainer.batch_size=100"]), "train_job")  # < one segment


def test_group_null_drops_an_optional_group_and_names_a_required_one():
    assert normalize_overrides(["sim=null", "trainer.replay_dir=null"]) == ["~sim", "trainer.replay_dir=null"]
    assert validate_job(compose_job("train_job", ["sim=null"]), "train_job")["sim"] is None
    with pytest.raises(ConfigError, match=r"^env: required group is missing"):
        validate_job(compose_job("train_job", ["env=null"]), "train_job")


def test_plus_on_a_key_the_schema_lacks_is_refused_naming_it():
    with pytest.raises(ConfigError, match=r"^new_key: unknown key") as caught:
        validate_job(compose_job("train_job", ["+new_key=1"]), "train_job")
    assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError, match=r"^trainer\.new_key: unknown key"):
        validate_job(compose_job("train_job", ["+trainer.new_key=1"]), "train_job")

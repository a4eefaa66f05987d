"""The sweep config forms the original's docs use, loaded by the real code: the named sweep files,
the documented sweep_job block (sweep_job_overrides as a nested mapping), the distribution and
phase examples, `trainer.optimizer.learning_rate`, `metric=<suite>_score`, the dashboard's
selection flags and `wandb://sweep/<name>:best`. No training here (tests/tools/test_sweep_tools.py
runs the tools)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from metta.agent.sweep_record import SweepRecordError, sweep_checkpoint
from metta.common.tool import compose_job, normalize_overrides, validate_job
from metta.rl.trainer_config import TrainerConfig
from metta.sweep.dashboard import select_runs, sweep_snapshot
from metta.sweep.distributions import SearchSpace
from metta.sweep.lifecycle import check_sweep, flatten_overrides, override_args, parse_job, prepare_run
from metta.sweep.store import SweepStore
from mettagrid.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SWEEPS = ROOT / "configs" / "sweep"


def train_parts(overrides: list[str]) -> dict:
    return validate_job(compose_job("train_job", overrides), "train_job")


@pytest.mark.parametrize("name, suite, env", [("fast", "smoke_test", "navigation"),
                                              ("navigation_sweep", "navigation", "navigation"),
                                              ("cogeval_sweep", "cogeval", "navigation")])
def test_named_sweep_files_fit_the_trainer_at_their_center_and_bounds(name, suite, env):
    data = yaml.safe_load((SWEEPS / f"{name}.yaml").read_text())
    job = parse_job({"sweep_name": "s", "sweep": data})
    check_sweep(data)
    assert job.scoring() == (suite, "reward_avg") and (ROOT / "configs" / "sim" / f"{suite}.yaml").is_file()
    space = SearchSpace.from_dict(job.sweep.parameters)
    assert any(key.endswith("learning_rate") for key in space.names)
    for corner in (-1.0, 0.0, 1.0):  # every parameter at min, center, max: a config train.py accepts
        params = space.to_overrides(space.denormalize(space.center() * 0 + corner))
        parts = train_parts([*job.train_overrides(), *override_args(params)])
        assert parts["env"].name == env
        for key, value in params.items():
            node = parts["agent"] if key.startswith("agent.") else parts["trainer"]
            for part in key.split(".")[1:]:
                node = getattr(node, part)
            assert node == pytest.approx(value), key
        rate = params.get("trainer.optimizer.learning_rate")
        if rate is not None:
            assert parts["trainer"].learning_rate == pytest.approx(rate)  # the one rate the optimizer uses


def test_sweep_equals_fast_and_sweep_params_give_the_same_sweep():
    by_group = compose_job("sweep_job", ["sweep_name=lr_search", "sweep=fast"])
    by_file = yaml.safe_load((SWEEPS / "fast.yaml").read_text())
    group, file = validate_job(by_group, "sweep_job")[""].sweep, check_sweep(by_file)
    assert group.model_dump(exclude={"parameters"}) == file.model_dump(exclude={"parameters"})
    spaces = [SearchSpace.from_dict(sweep.parameters) for sweep in (group, file)]  # YAML reads 1e-3 as text
    assert spaces[0].names == spaces[1].names
    assert spaces[0].to_overrides(spaces[0].denormalize(spaces[0].center())) == \
        spaces[1].to_overrides(spaces[1].denormalize(spaces[1].center()))


DOC_SWEEP_JOB = """
sweep_name: my_sweep
settings:
  max_consecutive_failures: 0
  rollout_retry_delay: 5
  max_observations_to_load: 250
  sweep_server_uri: https://api.observatory.softmax-research.net
sim_name: arena
sweep_job_overrides:
  trainer:
    curriculum: /env/mettagrid/arena/advanced
    simulation:
      evaluate_interval: 0
      replay_dir: ''
"""


def test_the_documented_sweep_job_block_loads_and_its_overrides_train():
    data = yaml.safe_load(DOC_SWEEP_JOB)
    data["sweep"] = yaml.safe_load((SWEEPS / "quick.yaml").read_text())
    job = parse_job(data)
    assert job.settings.max_consecutive_failures == 0 and job.scoring() == ("arena", "reward_avg")
    overrides = job.train_overrides()
    assert overrides == ["env=mettagrid/arena/advanced", "++trainer.evaluate_interval=0", "++trainer.replay_dir=''"]
    parts = train_parts([*overrides, "++trainer.batch_size=1024", "trainer.minibatch_size=256",
                         "++trainer.optimizer.learning_rate=0.0003"])
    assert parts["env"].name == "arena/advanced"  # trainer.curriculum picked the env
    assert parts["trainer"].replay_dir == "" and parts["trainer"].learning_rate == 0.0003


def test_nested_overrides_keep_their_values_through_hydra():
    tree = {"trainer": {"gamma": 0.99, "compile": True, "replay_dir": "it's here", "upload_uri": None},
            "wandb": {"tags": ["a b", "c"]}, "hardware": "gpu"}
    flat = flatten_overrides(tree)
    assert flat["hardware"] == "hardware=gpu" and flat["trainer.gamma"] == "++trainer.gamma=0.99"
    cfg = compose_job("train_job", list(flat.values()))
    assert cfg.trainer.replay_dir == "it's here" and cfg.trainer.compile is True
    assert list(cfg.wandb.tags) == ["a b", "c"] and cfg.trainer.upload_uri is None
    assert cfg.system.device == "cuda"  # hardware=gpu was chosen as a group
    # the list form is kept as written; later sources replace earlier ones key by key
    assert flatten_overrides(["env=x", "++trainer.gamma=1"]) == {"env": "env=x", "trainer.gamma": "++trainer.gamma=1"}


def test_dotted_overrides_below_sweep_job_overrides_add_keys_on_the_command_line():
    line = ["sweep_name=my_sweep", "sweep=quick", "sweep.protein.num_random_samples=10",
            "sweep_job_overrides.trainer.total_timesteps=10000000"]
    assert normalize_overrides(line, "sweep_job")[-1] == "++sweep_job_overrides.trainer.total_timesteps=10000000"
    assert normalize_overrides(line)[-1] == line[-1]  # only the job's open keys
    job = validate_job(compose_job("sweep_job", line), "sweep_job")[""]
    assert job.sweep.protein["num_random_samples"] == 10
    assert job.train_overrides() == ["++trainer.total_timesteps=10000000"]
    listed = validate_job(compose_job("sweep_job", ["sweep_name=s", 'sweep_job_overrides=["env=a"]']), "sweep_job")
    assert listed[""].train_overrides() == ["env=a"]


def test_the_documented_distribution_phase_and_full_examples_load():
    full = {
        "protein": {"num_random_samples": 20, "max_suggestion_cost": 3600, "resample_frequency": 3,
                    "global_search_scale": 1.0, "random_suggestions": 15, "suggestions_per_pareto": 32,
                    "expansion_rate": 0.15, "seed_with_search_center": True},
        "metric": "reward", "goal": "maximize", "method": "bayes",
        "parameters": {"trainer": {
            # the doc's full example has min 500M, below which its own phase example moves the
            # mean (300M): refused (one line naming the phase), so this base starts at 100M
            "total_timesteps": {"distribution": "int_uniform", "min": 100000000, "max": 2000000000,
                                "mean": 1000000000, "scale": "auto"},
            "batch_size": {"distribution": "uniform_pow2", "min": 262144, "max": 2097152, "mean": 524288,
                           "scale": "auto"},
            "minibatch_size": {"distribution": "uniform_pow2", "min": 4096, "max": 32768, "mean": 16384},
            "optimizer": {"learning_rate": {"distribution": "log_normal", "min": "1e-4", "max": "1e-2",
                                            "mean": "3e-4", "scale": "auto"}}}},
        "schedule": {"phases": [
            {"name": "explore_cheap", "num_runs": 100, "sweep": {
                "protein": {"max_suggestion_cost": 1800, "random_suggestions": 18, "expansion_rate": 0.18},
                "parameters": {"trainer": {"total_timesteps": {"mean": 300000000}, "batch_size": {"mean": 524288},
                                           "minibatch_size": {"mean": 8192}}}}},
            {"name": "peak_expensive", "num_runs": 11, "sweep": {
                "protein": {"max_suggestion_cost": 7200, "random_suggestions": 5, "suggestions_per_pareto": 16,
                            "expansion_rate": 0.06}}}]},
    }
    sweep = check_sweep(full)
    assert SearchSpace.from_dict(sweep.parameters).names[-1] == "trainer.optimizer.learning_rate"
    for snippet in ({"distribution": "uniform", "min": 0.1, "max": 1.0, "mean": 0.5, "scale": "auto"},
                    {"distribution": "logit_normal", "min": 0.1, "max": 0.9, "mean": 0.5, "scale": "auto"},
                    {"distribution": "log_normal", "min": "1e-5", "max": "1e-2", "mean": "3e-4", "scale": "time"}):
        check_sweep({"parameters": {"x": snippet}})
    with pytest.raises(ConfigError, match=r"^sweep.sim_name: no suite 'nav' in configs/sim/"):
        check_sweep({**full, "sim_name": "nav"})
    with pytest.raises(ConfigError, match="explore_cheap"):  # a phase that breaks a parameter is named
        bad = json.loads(json.dumps(full))
        bad["schedule"]["phases"][0]["sweep"]["parameters"]["trainer"]["batch_size"]["mean"] = 3
        check_sweep(bad)


def test_optimizer_learning_rate_is_the_learning_rate():
    base = {"total_timesteps": 1, "batch_size": 512, "minibatch_size": 256}
    assert TrainerConfig.model_validate(base).learning_rate == pytest.approx(4.57e-4)
    assert TrainerConfig.model_validate({**base, "learning_rate": 0.01,
                                         "optimizer": {"learning_rate": 3e-4}}).learning_rate == 3e-4
    with pytest.raises(ValueError):
        TrainerConfig.model_validate({**base, "optimizer": {"learning_rate": -1}})


def test_metric_names_a_suite_score_and_the_run_names_its_sweep():
    cfg = compose_job("sweep_job", ["run=nav.r.3", "metric=navigation_score"])
    from metta.jobs.sweep import job_from_cfg

    job = job_from_cfg(cfg)
    assert job.sweep_name == "nav" and job.sweep.metric == "navigation_score"
    assert job.scoring() == ("navigation", "reward_avg")
    plain = job_from_cfg(compose_job("sweep_job", ["sweep_name=a", "metric=navigation/walls/reward"]))
    assert plain.scoring() == ("navigation", "navigation/walls/reward")


def finished_sweep(root: Path, scores: list[float | None], goal: str = "maximize",
                   entity: str | None = None) -> SweepStore:
    """A sweep whose runs finished with `scores` (None = failed), each with a checkpoint URI."""
    job = parse_job({"sweep_name": "hp", "sweep_dir": str(root), "wandb_entity": entity,
                     "sweep": {**yaml.safe_load((SWEEPS / "quick.yaml").read_text()), "goal": goal, "max_runs": None}})
    store = SweepStore(str(root), "hp")
    store.create_sweep(job.sweep.model_dump(mode="json"))
    for score in scores:
        run_id, params, _ = prepare_run(store, job)
        store.record_observation(run_id, {"params": params, "score": score, "cost": 1.0, "failed": score is None,
                                          "checkpoint": f"file:///ckpt/{run_id}/{run_id}:v1.pt"})
    return store


def test_wandb_sweep_uri_names_the_best_or_latest_run_checkpoint(tmp_path, monkeypatch):
    finished_sweep(tmp_path, [0.2, 0.9, None, 0.5])
    assert sweep_checkpoint("wandb://sweep/hp:best", str(tmp_path)) == "file:///ckpt/hp.r.1/hp.r.1:v1.pt"
    assert sweep_checkpoint("wandb://sweep/hp:latest", str(tmp_path)).endswith("hp.r.3:v1.pt")
    monkeypatch.setenv("METTA_SWEEP_DIR", str(tmp_path))
    assert sweep_checkpoint("wandb://sweep/hp").endswith("hp.r.1:v1.pt")
    finished_sweep(tmp_path / "min", [0.2, 0.9], goal="minimize")
    assert sweep_checkpoint("wandb://sweep/hp:best", str(tmp_path / "min")).endswith("hp.r.0:v1.pt")
    for uri, message in (("wandb://sweep/hp:worst", "expected"), ("wandb://sweep/nope:best", "no sweep 'nope'")):
        with pytest.raises(SweepRecordError, match=message):
            sweep_checkpoint(uri)
    finished_sweep(tmp_path / "failed", [None])
    with pytest.raises(SweepRecordError, match="no successful runs"):
        sweep_checkpoint("wandb://sweep/hp:best", str(tmp_path / "failed"))


def test_dashboard_selects_by_wandb_namespace_and_caps_finished_runs(tmp_path):
    store = finished_sweep(tmp_path, [0.1, 0.2, 0.3, 0.4], entity="metta-research")
    job = parse_job({"sweep_name": "hp", "sweep_dir": str(tmp_path), "sweep": store.sweep_config()})
    prepare_run(store, job)  # one still running, logged to the default entity
    records = store.runs()
    assert [r.run_id for r in select_runs(records, max_observations=2)] == ["hp.r.2", "hp.r.3", "hp.r.4"]
    assert len(select_runs(records, entity="metta-research", project="metta")) == 4
    assert select_runs(records, project="other") == []
    snap = sweep_snapshot(store, store.sweep_config(), hourly_cost=5.0, max_observations=3, entity="metta-research")
    assert [r["run_id"] for r in snap["runs"]] == ["hp.r.1", "hp.r.2", "hp.r.3"] and snap["runs_total"] == 4
    assert snap["hourly_cost"] == 5.0 and snap["wandb"] == {"entity": "metta-research", "project": None}
    assert time.time() - snap["now"] < 60


def test_a_sweep_run_trains_where_the_user_ran_the_sweep(tmp_path, monkeypatch):
    """The trainer is launched from the checkout; a relative train_dir still means the user's."""
    from metta.jobs.sweep import train_command

    monkeypatch.chdir(tmp_path)
    job = parse_job({"sweep_name": "s", "sweep": yaml.safe_load((SWEEPS / "quick.yaml").read_text())})
    assert job.train_dir == "train_dir"
    assert f"train_dir={tmp_path / 'train_dir'}" in train_command(job, "s.r.0", {})

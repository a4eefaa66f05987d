"""The sweep tools as a user runs them: init (idempotent), a quick sweep of 5 tiny trainings
with 2 concurrent workers launched by Hydra's submitit launcher, resuming from the record,
the manual init -> train -> eval path, S3 as the shared record, and the best-params patch
training."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from metta.sweep.store import SweepStore
from tests.tools.test_train_tool import TINY

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"
TRAIN_OVERRIDES = "sweep_job_overrides=" + json.dumps([*TINY, "trainer.total_timesteps=1024"])
EVAL = ["sim_name=smoke_test", "num_episodes=1", "wandb_mode=off"]


def tool(name: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(TOOLS / name), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          check=False)


def places(tmp_path: Path) -> list[str]:
    return [f"sweep_dir={tmp_path}/sweeps", f"train_dir={tmp_path}/train"]


def test_init_is_idempotent_and_writes_the_first_suggestion(tmp_path):
    first = tool("sweep_init.py", "sweep_name=idem", *places(tmp_path))
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["created"] is True and report["run"] == "idem.r.0"
    # the first suggestion is the search center of configs/sweep/quick.yaml
    assert report["params"] == {"trainer.learning_rate": 0.001, "trainer.gamma": 0.977, "trainer.update_epochs": 2}
    overrides = yaml.safe_load(Path(report["overrides_file"]).read_text())
    assert overrides == {"trainer": {"learning_rate": 0.001, "gamma": 0.977, "update_epochs": 2}}

    again = tool("sweep_init.py", "sweep_name=idem", *places(tmp_path))
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["created"] is False and "exists (1 run(s) so far)" in again.stderr
    assert [r.run_id for r in SweepStore(f"{tmp_path}/sweeps", "idem").runs()] == ["idem.r.0"]


def test_quick_sweep_with_two_workers_then_resume_and_best_params_patch(tmp_path):
    name = f"duo{uuid.uuid4().hex[:6]}"  # names the patch written into configs/trainer/patch
    run = tool("sweep_execute.py", "-m", f"sweep_name={name}", "worker=w0,w1", "hydra/launcher=submitit_local",
               *places(tmp_path), *EVAL, TRAIN_OVERRIDES)
    assert run.returncode == 0, run.stdout + run.stderr
    store = SweepStore(f"{tmp_path}/sweeps", name)
    runs = store.runs()
    assert [r.run_id for r in runs] == [f"{name}.r.{n}" for n in range(5)]  # max_runs of sweep=quick, no duplicates
    assert {r.claim["worker"] for r in runs} == {"w0", "w1"}  # both workers took runs
    assert all(r.done and not r.observation["failed"] for r in runs), [r.observation for r in runs]
    assert all(r.observation["cost"] > 0 for r in runs)
    assert runs[0].suggestion["info"]["source"] == "search_center"
    distinct = {json.dumps(r.suggestion["params"], sort_keys=True) for r in runs}
    assert len(distinct) == 5

    # a restarted worker resumes from the record: nothing to do at max_runs, one more above it
    done = tool("sweep_execute.py", f"sweep_name={name}", *places(tmp_path), *EVAL, TRAIN_OVERRIDES)
    assert done.returncode == 0 and "max_runs (5) reached" in done.stderr
    more = tool("sweep_execute.py", f"sweep_name={name}", "sweep.max_runs=6", *places(tmp_path), *EVAL, TRAIN_OVERRIDES)
    assert more.returncode == 0, more.stderr
    assert f"{name}.r.5" in more.stderr and len(store.runs()) == 6

    # the best run's parameters as a patch that tools/train.py takes
    patch_dir = ROOT / "configs" / "trainer" / "patch"
    best = tool("get_best_params_from_sweep.py", f"sweep_name={name}", f"sweep_dir={tmp_path}/sweeps", "--top-n", "3",
                "--json")
    assert best.returncode == 0, best.stderr
    top = json.loads(best.stdout)
    assert len(top) == 3 and top[0]["score"] >= top[1]["score"] >= top[2]["score"]
    patch = patch_dir / f"{name}_best.yaml"
    try:
        unknown = tool("get_best_params_from_sweep.py", "sweep_name=nosuch", f"sweep_dir={tmp_path}/sweeps")
        assert unknown.returncode == 2 and "no sweep 'nosuch'" in unknown.stderr
        written = tool("get_best_params_from_sweep.py", f"sweep_name={name}", f"sweep_dir={tmp_path}/sweeps",
                       "--output-dir", str(patch_dir))
        assert written.returncode == 0, written.stderr
        assert patch.is_file() and patch.read_text().startswith("# @package _global_")
        trained = tool("train.py", "run=patched", f"train_dir={tmp_path}/train", *TINY, "trainer.total_timesteps=512",
                       f"+trainer/patch={name}_best")
        assert trained.returncode == 0, trained.stderr
        saved = yaml.safe_load((tmp_path / "train" / "patched" / "config.yaml").read_text())
        for key, value in top[0]["params"].items():
            node = saved
            for part in key.split("."):
                node = node[part]
            assert node == pytest.approx(value), key
    finally:
        patch.unlink(missing_ok=True)


def test_manual_init_train_eval_and_an_s3_record(tmp_path, s3_endpoint):
    import boto3

    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket="sweeps-tool")
    shared = ["sweep_dir=s3://sweeps-tool/sweeps", f"train_dir={tmp_path}/train"]
    init = tool("sweep_init.py", "sweep_name=manual", *shared)
    assert init.returncode == 0, init.stderr
    report = json.loads(init.stdout)
    run_id = report["run"]
    params = [f"++{k}={v}" for k, v in report["params"].items()]
    trained = tool("train.py", f"run={run_id}", f"train_dir={tmp_path}/train", *TINY, "trainer.total_timesteps=1024",
                   *params)
    assert trained.returncode == 0, trained.stderr
    evaluated = tool("sweep_eval.py", "sweep_name=manual", f"run={run_id}", *shared, *EVAL[:2], "wandb_mode=offline")
    assert evaluated.returncode == 0, evaluated.stderr
    assert list((tmp_path / "train" / run_id / "wandb").glob("offline-run-*"))  # the observation, in wandb too
    observation = json.loads(evaluated.stdout)
    assert observation["failed"] is False and observation["score"] is not None and observation["cost"] > 0
    [record] = SweepStore("s3://sweeps-tool/sweeps", "manual").runs()
    assert record.observation["score"] == observation["score"]

    # a worker on the same S3 record (started the devops way, run= naming the sweep) picks up from there
    worker = subprocess.run([str(ROOT / "devops" / "sweep.sh"), "run=manual", "sweep.max_runs=2", *shared, *EVAL,
                             TRAIN_OVERRIDES], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert worker.returncode == 0, worker.stderr
    assert [r.run_id for r in SweepStore("s3://sweeps-tool/sweeps", "manual").runs()] == ["manual.r.0", "manual.r.1"]

    missing = tool("sweep_eval.py", "sweep_name=manual", "run=manual.r.9", *shared, *EVAL)
    assert missing.returncode == 2 and "manual.r.9 is not a run of sweep manual" in missing.stderr


def test_bad_sweep_settings_are_one_line_errors(tmp_path):
    bad = tool("sweep_init.py", "sweep_name=bad", *places(tmp_path), "sweep.parameters.trainer.learning_rate.mean=5")
    assert bad.returncode == 2
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and "learning_rate" in lines[0], bad.stderr
    missing = tool("sweep_init.py", *places(tmp_path))
    assert missing.returncode != 0 and "sweep_name" in missing.stderr

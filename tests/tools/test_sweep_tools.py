"""The sweep tools as a user runs them: init (idempotent), a quick sweep of 5 tiny trainings
with 2 concurrent workers launched by Hydra's submitit launcher, resuming from the record,
the manual init -> train -> eval path, S3 as the shared record, and the best-params patch
training."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
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


# ---------------------------------------------------------------------------------------------
# the original's documented command lines (docs: sweep-system.md, tools-*-era.md)

DOTTED_TINY = [f"sweep_job_overrides.{item}" for item in TINY]


def test_launch_py_builds_the_sky_command_and_says_when_sky_is_missing():
    launch = ROOT / "devops" / "skypilot" / "launch.py"
    env = {"PATH": f"{ROOT / '.venv' / 'bin'}:/usr/bin:/bin"}  # no `sky` here

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(launch), *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=60,
                              check=False)

    missing = run("sweep", "run=my_sweep")
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1, missing.stderr
    assert "`sky` is not installed" in missing.stderr and "./devops/sweep.sh run=my_sweep" in missing.stderr
    plan = json.loads(run("sweep", "run=my_sweep", "--gpus", "8", "--nodes", "4", "sweep_dir=s3://b/sweeps",
                          "--dry-run").stdout)
    command = plan["command"].split()
    assert command[:5] == ["sky", "launch", "-c", "my-sweep", "devops/skypilot/sweep.yaml"]
    for flag, value in (("--num-nodes", "4"), ("--gpus", "H100:8")):
        assert command[command.index(flag) + 1] == value
    assert "--use-spot" in command and {"SWEEP=my_sweep", "SWEEP_DIR=s3://b/sweeps", "GPUS_PER_NODE=8"} <= {
        command[i + 1] for i, word in enumerate(command) if word == "--env"}
    assert plan["local"] == "./devops/sweep.sh run=my_sweep sweep_dir=s3://b/sweeps"
    on_demand = json.loads(run("sweep", "run=my_sweep", "--no-spot", "--dry-run").stdout)["command"]
    assert "--no-use-spot" in on_demand.split() and "--use-spot" not in on_demand.split()
    unshared = run("sweep", "run=my_sweep", "--gpus", "8", "--nodes", "4")
    assert unshared.returncode == 2 and "sweep_dir=s3://" in unshared.stderr
    train = json.loads(run("train", "run=r1", "--gpus", "A100:4", "env=mettagrid/navigation", "--dry-run").stdout)
    assert "devops/skypilot/train.yaml" in train["command"] and "--gpus A100:4" in train["command"]
    assert train["local"] == "./devops/train.sh run=r1 env=mettagrid/navigation"
    for task in ("sweep", "train"):  # the tasks the plans name hold the env vars they set
        spec = yaml.safe_load((ROOT / "devops" / "skypilot" / f"{task}.yaml").read_text())
        assert "GPUS_PER_NODE" in spec["envs"] and "ARGS" in spec["envs"]


def test_node_index_1_waits_for_node_0_and_gives_up_alone(tmp_path):
    import os

    worker = subprocess.Popen([str(TOOLS / "sweep_init.py"), "sweep_name=distributed_exp", *places(tmp_path)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "NODE_INDEX": "1"})
    time.sleep(3)
    assert worker.poll() is None  # still waiting: node 0 has not created the sweep
    master = subprocess.run([str(TOOLS / "sweep_init.py"), "sweep_name=distributed_exp", *places(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, env={**os.environ, "NODE_INDEX": "0"},
                            timeout=120, check=False)
    out, err = worker.communicate(timeout=120)
    assert master.returncode == 0 and worker.returncode == 0, master.stderr + err
    first, second = json.loads(master.stdout), json.loads(out)
    assert first["created"] is True and second["created"] is False and second["node"] == 1
    assert first["run"] == second["run"] == "distributed_exp.r.0" and first["params"] == second["params"]
    assert len(SweepStore(f"{tmp_path}/sweeps", "distributed_exp").runs()) == 1
    alone = subprocess.run([str(TOOLS / "sweep_init.py"), "sweep_name=nobody", "settings.init_wait_s=1",
                            *places(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                           env={**os.environ, "NODE_INDEX": "1"}, timeout=120, check=False)
    assert alone.returncode == 1 and len(alone.stderr.strip().splitlines()) == 2  # "waiting", then the error
    assert "node 0 did not create it" in alone.stderr


def test_debug_sweep_with_dotted_overrides_trains_through_devops_train_sh(tmp_path):
    import os

    run = subprocess.run([str(TOOLS / "sweep_execute.py"), "sweep_name=debug", "sweep=fast", "sweep.max_runs=1",
                          "sweep.protein.num_random_samples=10", "sweep_job_overrides.trainer.total_timesteps=1024",
                          *DOTTED_TINY, *places(tmp_path), *EVAL[:2], "wandb_entity=metta-research"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
                         env={**os.environ, "HYDRA_FULL_ERROR": "1"})
    assert run.returncode == 0, run.stdout + run.stderr
    [record] = SweepStore(f"{tmp_path}/sweeps", "debug").runs()
    assert record.done and not record.observation["failed"], record.observation
    assert record.suggestion["wandb"] == {"entity": "metta-research", "project": "metta", "group": "debug"}
    saved = yaml.safe_load((tmp_path / "train" / "debug.r.0" / "config.yaml").read_text())
    rate = record.params["trainer.optimizer.learning_rate"]
    assert saved["trainer"]["learning_rate"] == saved["trainer"]["optimizer"]["learning_rate"] == rate
    assert saved["trainer"]["total_timesteps"] == 1024 and saved["env"]["name"] == "navigation"
    assert (saved["wandb"]["group"], saved["wandb"]["name"], saved["wandb"]["entity"]) == (
        "debug", "debug.r.0", "metta-research")
    # the run's files are also where the original kept them: train_dir/<sweep>/<run>/
    assert (tmp_path / "train" / "debug" / "debug.r.0" / "config.yaml").is_file()


def test_a_sweep_run_is_linked_under_its_sweep_unless_the_path_is_taken(tmp_path):
    from metta.jobs.sweep import link_run_under_sweep

    (tmp_path / "s.r.0").mkdir()
    link = link_run_under_sweep(tmp_path, "s", "s.r.0")
    assert link == tmp_path / "s" / "s.r.0" and link.resolve() == (tmp_path / "s.r.0").resolve()
    assert link_run_under_sweep(tmp_path, "s", "s.r.0") == link  # again: the same link
    (tmp_path / "t" / "t.r.0").mkdir(parents=True)  # a real directory there is left alone
    assert link_run_under_sweep(tmp_path, "t", "t.r.0") is None


def test_documented_workflow_init_train_sh_eval_metric_render_and_dashboard(tmp_path):
    import os

    sweeps = f"{tmp_path}/sweeps"
    init = tool("sweep_init.py", "sweep_name=hyperparam_search_001", "sweep_params=configs/sweep/fast.yaml",
                *places(tmp_path))
    assert init.returncode == 0, init.stderr
    report = json.loads(init.stdout)
    run_id = report["run"]
    rate = report["params"]["trainer.optimizer.learning_rate"]
    # the command line sweep-system.md shows a worker running (minibatch and sizes shrunk to fit)
    trained = subprocess.run(
        [str(ROOT / "devops" / "train.sh"), f"run={run_id}", "wandb.entity=me", "wandb.project=proj",
         "wandb.group=hyperparam_search_001", f"wandb.name={run_id}", "++trainer.batch_size=1024",
         f"++trainer.optimizer.learning_rate={rate}", "++trainer.total_timesteps=1024", "sim=arena",
         f"train_dir={tmp_path}/train", *[t for t in TINY if not t.startswith("trainer.batch_size")]],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert trained.returncode == 0, trained.stderr
    saved = yaml.safe_load((tmp_path / "train" / run_id / "config.yaml").read_text())
    assert saved["trainer"]["learning_rate"] == rate and saved["trainer"]["batch_size"] == 1024
    assert saved["wandb"]["name"] == run_id and saved["sim"]["name"] == "arena"

    # no sweep_name: the run id names it; metric=<suite>_score scores on that suite (the doc's
    # navigation_score takes a minute on 2 cores; smoke_test_score is the same path on a small suite)
    evaluated = tool("sweep_eval.py", f"run={run_id}", "metric=smoke_test_score", "sim_name=navigation",
                     *places(tmp_path), "num_episodes=1", "wandb_mode=off")
    assert evaluated.returncode == 0, evaluated.stderr
    observation = json.loads(evaluated.stdout)
    assert observation["score"] == observation["metrics"]["reward_avg"]
    metrics = set(observation["metrics"])  # the smoke_test suite's simulations, not sim_name's
    assert "navigation/emptyspace/reward" in metrics and "labyrinth/reward" not in metrics
    [record] = SweepStore(sweeps, "hyperparam_search_001").runs()
    assert record.observation["score"] == observation["score"]

    rendered = subprocess.run(
        [str(TOOLS / "renderer.py"), "renderer_job.policy_type=trained",
         "policy_uri=wandb://sweep/hyperparam_search_001:best", "env=mettagrid/navigation",
         "renderer_job.num_steps=2", "renderer_job.frames=last"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "METTA_SWEEP_DIR": sweeps})
    assert rendered.returncode == 0, rendered.stderr
    assert "step 2" in rendered.stdout

    dashboard = ROOT / "experiments" / "dashboards" / "sweep_dashboard.py"
    wrong = subprocess.run([sys.executable, str(dashboard), "--sweep-name", "hyperparam_search_001",
                            "--sweep-dir", sweeps, "--entity", "metta-research", "--project", "metta"],
                           cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert wrong.returncode == 2 and "--entity" in wrong.stderr and "(default entity)/metta" in wrong.stderr
    served = subprocess.Popen([sys.executable, str(dashboard), "--sweep-name", "hyperparam_search_001",
                               "--sweep-dir", sweeps, "--project", "metta", "--max-observations", "500",
                               "--hourly-cost", "5.0", "--port", "0", "--no-browser"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = served.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), served.stderr.read() if served.poll() is not None else url
        with urllib.request.urlopen(url + "api/sweep", timeout=30) as response:
            snapshot = json.loads(response.read())
        assert [r["run_id"] for r in snapshot["runs"]] == [run_id]
        assert snapshot["hourly_cost"] == 5.0 and snapshot["max_observations"] == 500
    finally:
        served.terminate()
        served.wait(timeout=10)

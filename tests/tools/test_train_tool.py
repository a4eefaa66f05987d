"""tools/train.py as a user runs it: a tiny run end to end, resume after SIGKILL, DDP on gloo,
starting from an initial policy, and bad overrides refused in one line."""

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
TRAIN = str(ROOT / "tools" / "train.py")

# A small, fast configuration: 8 navigation envs, a tiny network, checkpoints every epoch.
TINY = [
    "env=mettagrid/navigation",
    "trainer.batch_size=512",
    "trainer.minibatch_size=256",
    "trainer.bptt_horizon=8",
    "trainer.num_envs=8",
    "trainer.num_workers=1",
    "trainer.checkpoint_interval=1",
    "agent.cnn_channels=8",
    "agent.hidden_size=32",
    "wandb=off",
    "system.torch_threads=1",
]


def run_train(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([TRAIN, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def epochs_logged(run_dir: Path) -> list[int]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [int(json.loads(line)["metric/epoch"]) for line in lines]


def test_tiny_run_writes_config_metrics_and_checkpoints(tmp_path):
    result = run_train("run=tiny", f"train_dir={tmp_path}", "trainer.total_timesteps=1536", *TINY)
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "tiny"
    assert "training tiny (new run)" in result.stdout
    assert (run_dir / "config.yaml").is_file()
    assert epochs_logged(run_dir) == [1, 2, 3]
    names = sorted(p.name for p in (run_dir / "checkpoints").glob("*.pt"))
    assert names == ["tiny:v1.pt", "tiny:v2.pt", "tiny:v3.pt", "trainer_state.pt"]
    metadata = json.loads((run_dir / "checkpoints" / "tiny:v3.json").read_text())
    assert metadata["epoch"] == 3 and metadata["agent_steps"] == 1536
    assert metadata["architecture"]["name"] == "fast"
    assert metadata["env_info"]["action_names"] == ["noop", "move", "rotate", "get_items"]


def test_feature_scale_freezes_after_the_configured_rows(tmp_path):
    # One epoch observes 512 rollout rows and as many per update epoch: frozen within epoch 1,
    # so later checkpoints carry the same scale however loud their observations were.
    result = run_train("run=frozen", f"train_dir={tmp_path}", "trainer.total_timesteps=1536",
                       "agent.feature_scale_rows=600", *TINY)
    assert result.returncode == 0, result.stderr
    checkpoints = tmp_path / "frozen" / "checkpoints"
    first, last = (torch.load(checkpoints / f"frozen:v{epoch}.pt", weights_only=True)["state_dict"]
                   for epoch in (1, 3))
    assert int(first["encoder.scale.rows_observed"]) >= 600
    assert int(last["encoder.scale.rows_observed"]) == int(first["encoder.scale.rows_observed"])
    assert torch.equal(last["encoder.scale.feature_max"], first["encoder.scale.feature_max"])
    metadata = json.loads((checkpoints / "frozen:v3.json").read_text())
    assert metadata["architecture"]["feature_scale_rows"] == 600


def train_then_sigkill(tmp_path: Path, *overrides: str) -> dict:
    """Start run `killed`, SIGKILL it once it has two checkpoints; returns its trainer state."""
    run_dir = tmp_path / "killed"
    process = subprocess.Popen([TRAIN, "run=killed", f"train_dir={tmp_path}", "trainer.total_timesteps=10_000_000",
                                *overrides], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state_path = run_dir / "checkpoints" / "trainer_state.pt"
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            if state_path.is_file() and len(list((run_dir / "checkpoints").glob("killed:v*.pt"))) >= 2:
                break
            time.sleep(0.2)
        else:
            pytest.fail("no checkpoint appeared")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    return torch.load(state_path, weights_only=True)


def test_resume_after_sigkill_loses_at_most_one_epoch(tmp_path):
    run_dir = tmp_path / "killed"
    state = train_then_sigkill(tmp_path, *TINY)
    saved_epoch = int(state["epoch"])
    result = run_train("run=killed", f"train_dir={tmp_path}",
                       f"trainer.total_timesteps={(saved_epoch + 2) * 512}", *TINY)
    assert result.returncode == 0, result.stderr
    assert f"resumed from killed:v{saved_epoch}.pt at epoch {saved_epoch}" in result.stdout
    assert epochs_logged(run_dir)[-2:] == [saved_epoch + 1, saved_epoch + 2]
    final = json.loads((run_dir / "checkpoints" / f"killed:v{saved_epoch + 2}.json").read_text())
    assert final["agent_steps"] == (saved_epoch + 2) * 512


def test_initial_policy_seeds_a_new_run(tmp_path):
    first = run_train("run=teacher", f"train_dir={tmp_path}", "trainer.total_timesteps=512", *TINY)
    assert first.returncode == 0, first.stderr
    uri = f"file://{tmp_path}/teacher/checkpoints"
    second = run_train("run=student", f"train_dir={tmp_path}", "trainer.total_timesteps=512",
                       f"initial_policy.uri={uri}", *TINY)
    assert second.returncode == 0, second.stderr
    teacher = torch.load(tmp_path / "teacher/checkpoints/teacher:v1.pt", weights_only=True)["state_dict"]
    student = torch.load(tmp_path / "student/checkpoints/student:v1.pt", weights_only=True)["state_dict"]
    # The student started from the teacher's weights: after one small update they are still close.
    key = "action_head.weight"
    assert torch.allclose(teacher[key], student[key], atol=0.05)
    assert not torch.equal(teacher[key], student[key])


@pytest.mark.skipif(shutil.which("torchrun", path=str(Path(sys.executable).parent)) is None,
                    reason="torchrun not installed")
def test_two_process_ddp_on_gloo(tmp_path):
    torchrun = str(Path(sys.executable).parent / "torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node=2", TRAIN, "run=ddp", f"train_dir={tmp_path}",
         "trainer.total_timesteps=2048", "system.device=cpu", *TINY],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=env,
    )
    # Both streams: a rank that aborts says where it got to on stdout, and why on stderr.
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "2 ranks" in result.stdout
    run_dir = tmp_path / "ddp"
    # Each epoch covers both ranks' rollouts: 2 x 512 agent steps.
    assert epochs_logged(run_dir) == [1, 2]
    metadata = json.loads((run_dir / "checkpoints" / "ddp:v2.json").read_text())
    assert metadata["agent_steps"] == 2048
    assert [p.name for p in tmp_path.iterdir()] == ["ddp"]  # one run directory, written by rank 0


def test_unknown_key_is_refused_in_one_line():
    result = run_train("trainer.learning_rat=0.1")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "trainer.learning_rat" in result.stderr


def test_choosing_the_help_template_shows_the_help_and_trains_nothing(tmp_path):
    result = run_train("hydra/help=default", f"train_dir={tmp_path}", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "== Configuration groups ==" in result.stdout and "env/mettagrid: ants, memory, multiagent" in result.stdout
    assert not any(tmp_path.iterdir())


def test_wrong_type_is_refused_in_one_line():
    result = run_train("trainer.batch_size=lots")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "trainer.batch_size" in result.stderr and "'lots'" in result.stderr


def test_bad_agent_key_is_refused_in_one_line():
    result = run_train("+agent.hiden_size=3")
    assert result.returncode == 2
    assert "agent.hiden_size" in result.stderr


def test_a_scripted_initial_policy_is_refused_in_one_line_that_names_the_teacher(tmp_path):
    result = run_train("initial_policy.uri=metta://policy/scripted", f"train_dir={tmp_path}", *TINY)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "initial_policy.uri" in result.stderr and "teacher.policy_uri=metta://policy/scripted" in result.stderr
    assert not any(tmp_path.iterdir())  # refused before a run directory was made


def test_evaluation_during_training_logs_suite_scores(tmp_path):
    result = run_train("run=evals", f"train_dir={tmp_path}", "trainer.total_timesteps=512",
                       "trainer.evaluate_interval=1", "sim=smoke_test", *TINY)
    assert result.returncode == 0, result.stderr
    row = json.loads((tmp_path / "evals" / "metrics.jsonl").read_text().splitlines()[-1])
    # Trained on navigation: the navigation eval runs; the arena eval needs actions it lacks.
    assert "eval/smoke_test/navigation/emptyspace/reward" in row
    assert "eval/smoke_test/score" in row
    assert "skipping smoke_test/arena/basic" in result.stderr


def test_wandb_offline_run_is_written_under_the_run(tmp_path):
    result = run_train("run=wb", f"train_dir={tmp_path}", "trainer.total_timesteps=512",
                       *[arg for arg in TINY if arg != "wandb=off"], "wandb=offline")
    assert result.returncode == 0, result.stderr
    offline_runs = list((tmp_path / "wb" / "wandb").glob("offline-run-*"))
    assert len(offline_runs) == 1
    assert list(offline_runs[0].glob("*.wandb"))  # the run's log, ready for `wandb sync`


@pytest.mark.skipif(importlib.util.find_spec("pufferlib") is None, reason="pufferlib not installed")
def test_pufferlib_multiprocessing_vectorization(tmp_path):
    result = run_train("run=mp", f"train_dir={tmp_path}", "trainer.total_timesteps=1024",
                       *[arg for arg in TINY if arg != "trainer.num_workers=1"],
                       "trainer.vectorization=multiprocessing", "trainer.num_workers=2")
    assert result.returncode == 0, result.stderr
    assert epochs_logged(tmp_path / "mp") == [1, 2]


def test_checkpoints_are_mirrored_to_s3_and_load_back(tmp_path, s3_endpoint):
    import boto3

    boto3.client("s3").create_bucket(Bucket="runs")
    result = run_train("run=up", f"train_dir={tmp_path}", "trainer.total_timesteps=1024",
                       "trainer.upload_uri=s3://runs/team", *TINY)
    assert result.returncode == 0, result.stderr
    keys = sorted(o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="runs")["Contents"])
    assert keys == ["team/up/checkpoints/up:v1.json", "team/up/checkpoints/up:v1.pt",
                    "team/up/checkpoints/up:v2.json", "team/up/checkpoints/up:v2.pt"]
    from metta.agent.policy_store import PolicyStore

    record = PolicyStore(cache_dir=tmp_path / "cache").records("s3://runs/team/up/checkpoints/")[0]
    assert record.name == "up:v2"
    policy = record.load("cpu")
    local = torch.load(tmp_path / "up/checkpoints/up:v2.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(policy.state_dict()[k], v) for k, v in local.items())


def test_replays_every_replay_interval_epochs(tmp_path):
    from mettagrid.replay import load_replay

    result = run_train("run=rep", f"train_dir={tmp_path}", "trainer.total_timesteps=2048", *TINY,
                       "trainer.replay_interval=2", "env.game.max_steps=60")
    assert result.returncode == 0, result.stderr
    replays = sorted((tmp_path / "rep" / "replays").glob("*.json.z"))
    assert [p.name for p in replays] == ["rep_e00002.json.z", "rep_e00004.json.z"]
    replay = load_replay(replays[-1])
    assert replay["max_steps"] == 60 and replay["num_agents"] == 4
    assert replay["metadata"] == {"run": "rep", "epoch": 4, "agent_steps": 2048}
    assert f"epoch 4: replay written to {replays[-1]}" in result.stdout


def test_resuming_a_run_on_another_env_is_refused_in_one_line(tmp_path):
    first = run_train("run=moved", f"train_dir={tmp_path}", "trainer.total_timesteps=512", *TINY)
    assert first.returncode == 0, first.stderr
    # the same run name again, on the arena: its navigation checkpoint cannot continue there
    tiny_on_arena = [arg for arg in TINY if not arg.startswith(("env=", "trainer.num_envs="))] + [
        "env=mettagrid/arena/basic_easy_shaped", "trainer.num_envs=2"]
    again = run_train("run=moved", f"train_dir={tmp_path}", "trainer.total_timesteps=1024", *tiny_on_arena)
    assert again.returncode == 2, again.stderr
    assert again.stderr.strip().count("\n") == 0, again.stderr
    assert "run moved (" in again.stderr and "trained on another env" in again.stderr
    assert "pick another run= for this env" in again.stderr

"""Bad checkpoints, as every tool that loads one meets them: corrupt, truncated, empty, pickled
code, not a policy, NaN or Inf weights, another architecture, another env. Each row of
`CASES` runs a real command line and must be refused in one line that names the file, with
no traceback and nothing written (`snapshot`). Then what must NOT stop a run: resuming past
a bad newest checkpoint or an unreadable trainer state, falling back to the newest checkpoint
that loads.

Run: PYTHONPATH=. .venv/bin/python -m pytest tests/hardening/test_bad_checkpoints.py -x
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from metta.agent.architectures import make_policy
from metta.agent.env_info import PolicyEnvInfo
from metta.agent.policy_file import FORMAT, load_policy, save_policy
from tests.hardening.bad_input import BadInput, assert_refused, run_command, snapshot

# tests/tools/test_train_tool.py's tiny run, without evaluations.
TINY = ("env=mettagrid/navigation", "trainer.batch_size=512", "trainer.minibatch_size=256", "trainer.bptt_horizon=8",
        "trainer.num_envs=8", "trainer.num_workers=1", "trainer.checkpoint_interval=1", "agent.cnn_channels=8",
        "agent.hidden_size=32", "wandb=off", "system.torch_threads=1", "sim=null")
SIM = ("sim_job.simulation_suite=smoke_test", "sim_job.num_episodes=1", "sim_job.num_workers=1")
REPLAY = ("replay_job.sim.env=mettagrid/navigation", 'replay_job.sim.env_overrides=["game.max_steps=20"]',
          "replay_job.open_browser_on_start=false", "replay_job.serve=false")


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A good run of two epochs: `good:v1.pt`, `good:v2.pt` and `trainer_state.pt`."""
    train_dir = tmp_path_factory.mktemp("trained")
    result = run_command(("tools/train.py", "run=good", f"train_dir={train_dir}", "trainer.total_timesteps=1024",
                          *TINY))
    assert result.returncode == 0, result.stderr
    return train_dir / "good"


@pytest.fixture(scope="module")
def bad_files(trained, tmp_path_factory) -> Path:
    """One checkpoint file per fault, each named after it (`<fault>/x:v1.pt`)."""
    root = tmp_path_factory.mktemp("bad")
    good = trained / "checkpoints" / "good:v2.pt"
    raw = good.read_bytes()
    policy = load_policy(good)
    meta = dict(policy.checkpoint_metadata)

    def place(fault: str) -> Path:
        (root / fault).mkdir()
        return root / fault / "x:v1.pt"

    place("truncated").write_bytes(raw[: len(raw) // 2])
    place("empty").write_bytes(b"")
    place("garbage").write_bytes(b"\x00\x01not a checkpoint at all" * 100)
    torch.save(torch.nn.Linear(2, 2), place("pickled"))  # a pickled module: code, refused by weights_only
    torch.save({"weight": torch.zeros(2)}, place("plain_state_dict"))  # a tensor dict, not a metta policy
    torch.save({"format": FORMAT, "state_dict": {}, "metadata_json": "{not json"}, place("bad_metadata"))
    for fault, value in (("nan", float("nan")), ("inf", float("inf"))):
        broken = load_policy(good)
        with torch.no_grad():
            next(broken.parameters()).view(-1)[0] = value
        save_policy(place(fault), broken, meta)
    attn = make_policy({"name": "latent_attn_small"}, policy.env_info)
    save_policy(place("other_architecture"), attn, {k: v for k, v in meta.items() if k != "architecture"})
    wider = make_policy({**meta["architecture"], "hidden_size": 64}, policy.env_info)
    save_policy(place("other_size"), wider, {k: v for k, v in meta.items() if k != "architecture"})
    # The weights of one architecture under the metadata of another.
    payload = torch.load(good, weights_only=True)
    payload["state_dict"] = {k: v.clone() for k, v in attn.state_dict().items()}
    torch.save(payload, place("foreign_weights"))
    # A policy of an env with another observation window and an extra action.
    info = policy.env_info.to_dict()
    other_env = PolicyEnvInfo.from_dict({**info, "obs_width": 7, "obs_height": 7,
                                         "action_names": [*info["action_names"], "attack"],
                                         "action_max_args": [*info["action_max_args"], 8]})
    save_policy(place("other_env"), make_policy(meta["architecture"], other_env),
                {k: v for k, v in meta.items() if k != "env_info"})
    return root


def initial_policy(fault: str, fragment: str) -> BadInput:
    return BadInput(f"train initial_policy {fault}", ("tools/train.py", "run=fresh", "trainer.total_timesteps=512",
                                                      "initial_policy.uri={bad}/" + fault + "/x:v1.pt", *TINY),
                    fragment)


def teacher(fault: str, fragment: str) -> BadInput:
    return BadInput(f"train teacher {fault}", ("tools/train.py", "run=fresh", "trainer.total_timesteps=512",
                                               "teacher.mode=sliced_cloner",
                                               "teacher.policy_uri={bad}/" + fault + "/x:v1.pt", *TINY), fragment)


def sim(fault: str, fragment: str) -> BadInput:
    return BadInput(f"sim {fault}", ("tools/sim.py", "sim_job.policy_uris=[file://{bad}/" + fault + "/x:v1.pt]", *SIM),
                    fragment)


def replay(fault: str, fragment: str) -> BadInput:
    return BadInput(f"replay {fault}", ("tools/replay.py", "replay_job.policy_uri=file://{bad}/" + fault + "/x:v1.pt",
                                        *REPLAY), fragment)


def renderer(fault: str, fragment: str) -> BadInput:
    return BadInput(f"renderer {fault}", ("tools/renderer.py", "env=mettagrid/navigation",
                                          "renderer_job.policy_type=trained", "renderer_job.num_steps=1",
                                          "policy_uri=file://{bad}/" + fault + "/x:v1.pt"), fragment)


UNREADABLE = "not a readable checkpoint"
CASES = [
    initial_policy("truncated", UNREADABLE),
    initial_policy("empty", UNREADABLE),
    initial_policy("garbage", UNREADABLE),
    initial_policy("pickled", UNREADABLE),
    initial_policy("plain_state_dict", "not a metta.policy/1 checkpoint"),
    initial_policy("bad_metadata", "missing or malformed metadata"),
    initial_policy("nan", "weights contain NaN"),
    initial_policy("inf", "weights contain Inf"),
    initial_policy("other_architecture", "saved with another architecture (agent=latent_attn_small (this run: fast))"),
    initial_policy("other_size", "add agent.hidden_size=64 to start from it"),
    initial_policy("foreign_weights", "weights do not fit the architecture"),
    initial_policy("other_env", "trained on another env than this run's (observation window 7x7, here 11x11"),
    initial_policy("missing", "no checkpoints found"),
    teacher("truncated", UNREADABLE),
    teacher("nan", "weights contain NaN"),
    sim("truncated", UNREADABLE),
    sim("nan", "weights contain NaN"),
    sim("foreign_weights", "weights do not fit the architecture"),
    sim("pickled", UNREADABLE),
    replay("truncated", UNREADABLE),
    replay("inf", "weights contain Inf"),
    replay("bad_metadata", "missing or malformed metadata"),
    renderer("empty", UNREADABLE),
    renderer("nan", "weights contain NaN"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_a_bad_checkpoint_is_refused_in_one_line(case: BadInput, bad_files: Path, tmp_path: Path):
    train_dir = tmp_path / "train_dir"
    train_dir.mkdir()
    argv = [arg.replace("{bad}", str(bad_files)) for arg in case.argv]
    tool = Path(argv[0]).name
    argv += {"train.py": [f"train_dir={train_dir}"], "sim.py": [f"train_dir={train_dir}"],
             "replay.py": [f"replay_job.replay_dir={train_dir}/replays"]}.get(tool, [])
    before = snapshot(bad_files), snapshot(train_dir)
    line = assert_refused(run_command(argv), case.fragment)
    fault = case.name.rsplit(" ", 1)[1]
    if fault != "missing":
        assert f"{bad_files}/{fault}/x:v1.pt" in line  # names the file
    assert (snapshot(bad_files), snapshot(train_dir)) == before  # nothing written, nothing moved


# ---------------------------------------------------------------------------------------------
# resuming a run: refuse only when nothing good is left


def copy_run(trained: Path, tmp_path: Path) -> Path:
    shutil.copytree(trained, tmp_path / "good")
    return tmp_path / "good"


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:1000])


def poison(path: Path) -> None:
    policy = load_policy(path)
    with torch.no_grad():
        next(policy.parameters()).view(-1)[0] = float("nan")
    save_policy(path, policy, policy.checkpoint_metadata)


def resume(run_dir: Path, *extra: str, steps: int = 2048):
    return run_command(("tools/train.py", "run=good", f"train_dir={run_dir.parent}",
                        f"trainer.total_timesteps={steps}", *TINY, *extra))


@pytest.mark.parametrize("damage", [truncate, poison], ids=["truncated", "nan"])
def test_resume_with_only_bad_checkpoints_is_refused_and_changes_nothing(damage, trained, tmp_path):
    run_dir = copy_run(trained, tmp_path)
    for path in (run_dir / "checkpoints").glob("good:v*.pt"):
        damage(path)
    before = snapshot(run_dir)
    line = assert_refused(resume(run_dir), "no other checkpoint of run good loads")
    assert f"{run_dir}/checkpoints/good:v2.pt: " in line and f"remove {run_dir}" in line
    assert snapshot(run_dir) == before


def test_resume_on_another_env_says_to_pick_another_run_name(trained, tmp_path):
    run_dir = copy_run(trained, tmp_path)
    before = snapshot(run_dir)
    result = resume(run_dir, "env=mettagrid/object_use", "trainer.num_envs=null")
    line = assert_refused(result, "trained on another env than this one")
    assert "pick another run= for this env, or remove" in line and str(run_dir) in line
    assert snapshot(run_dir) == before  # config.yaml still says the first env


@pytest.mark.parametrize("damage", [truncate, poison], ids=["truncated", "nan"])
def test_a_bad_newest_checkpoint_falls_back_to_the_one_before(damage, trained, tmp_path):
    run_dir = copy_run(trained, tmp_path)
    newest = run_dir / "checkpoints" / "good:v2.pt"
    damage(newest)
    result = resume(run_dir)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and str(newest) in warnings[0], result.stderr
    assert "resuming from good:v1.pt (epoch 1) with a fresh optimizer state" in warnings[0]
    assert "training good (resumed from good:v1.pt at epoch 1)" in result.stdout
    # the bad file is kept aside, out of every listing; training went on from epoch 1
    assert (run_dir / "checkpoints" / "good:v2.pt.unusable").is_file()
    assert load_policy(newest).checkpoint_metadata["epoch"] == 2  # rewritten by the resumed run
    epochs = [json.loads(line)["metric/epoch"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 2, 3, 4]


def test_an_unreadable_trainer_state_resumes_from_the_weights_with_a_fresh_optimizer(trained, tmp_path):
    run_dir = copy_run(trained, tmp_path)
    state = run_dir / "checkpoints" / "trainer_state.pt"
    state.write_bytes(b"garbage")
    result = resume(run_dir, steps=1536)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("warning:") == 1 and f"warning: {state}: unreadable trainer state" in result.stderr
    assert "resuming from good:v2.pt (epoch 2) with a fresh optimizer state" in result.stderr
    assert "training good (resumed from good:v2.pt at epoch 2)" in result.stdout
    saved = torch.load(state, weights_only=True)  # written afresh at the next checkpoint
    assert saved["epoch"] == 3 and saved["agent_steps"] == 1536


def test_a_trainer_state_whose_checkpoint_was_deleted_resumes_from_the_newest_left(trained, tmp_path):
    run_dir = copy_run(trained, tmp_path)
    (run_dir / "checkpoints" / "good:v2.pt").unlink()
    result = resume(run_dir)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, result.stderr
    assert "trainer_state.pt: names epoch 2, whose checkpoint is missing" in warnings[0]
    assert "resuming from good:v1.pt (epoch 1) with a fresh optimizer state" in warnings[0]

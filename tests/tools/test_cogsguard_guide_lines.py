"""Training-guide lines not covered elsewhere, typed as the guide types them: the recipe runner's
play with render=gui on a machine without a display, the full-scale BC training line (it composes
and validates; an impossible batch is refused in one line), and `cogames train` with -p lstm."""

import json
import os
import subprocess
import sys
from pathlib import Path

from metta.common.tool import validate_job
from metta.jobs.run_tool import compose, resolve, translate

ROOT = Path(__file__).resolve().parents[2]
TEACHER = ('teacher={mode: sliced_cloner, policy_uri: "metta://policy/cogsguard?gear=10", '
           'teacher_led_proportion: 0.5, student_led_proportion: 0.5}')


def run(argv, cwd, timeout=240):
    env = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def test_play_render_gui_without_a_display_writes_the_replay_and_returns(tmp_path):
    done = run([str(ROOT / "tools" / "run.py"), "recipes.experiment.cogsguard.play", "policy_uri=metta://policy/role",
                "render=gui", "max_steps=30"], tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "play: no display, so no viewer" in done.stdout
    [replay] = (tmp_path / "train_dir" / "replays").glob("cogames_cogsguard_arena.basic_*.json.z")
    assert str(replay.relative_to(tmp_path)) in done.stdout


def test_the_guides_full_scale_bc_line_composes_and_validates():
    call = resolve("train", "recipes.experiment.cogsguard")
    args = ["run=my-cogsguard-bc-001", TEACHER, "trainer.total_timesteps=5_000_000_000", "trainer.batch_size=2097152"]
    parts = validate_job(compose(call.config_name, list(call.overrides) + translate(call.config_name, args)),
                         "train_job")
    assert parts["trainer"].batch_size == 2097152 and parts["trainer"].total_timesteps == 5_000_000_000
    assert parts[""].teacher.policy_uri == "metta://policy/cogsguard?gear=10"


def test_a_batch_beyond_this_machines_memory_is_one_line(tmp_path):
    done = run([str(ROOT / "tools" / "run.py"), "recipes.experiment.cogsguard.train", "run=huge", TEACHER,
                f"train_dir={tmp_path}", "trainer.batch_size=1099511627776"], tmp_path, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: trainer.batch_size (1099511627776) needs about")
    assert done.stderr.strip().count("\n") == 0 and not (tmp_path / "huge").exists()


def test_cogames_train_with_the_lstm_policy_on_cpu(tmp_path):
    # The guide's "smaller local test" (--steps 1000000 --batch-size 4096 --device cpu), cut to one
    # epoch of 4096 agent steps with a tiny network.
    done = run([sys.executable, "-m", "metta.cogames.cli", "train", "-m", "cogsguard_arena.basic", "--steps", "4096",
                "--batch-size", "4096", "--device", "cpu", "-p", "lstm", "--run", "local",
                "agent.hidden_size=32", "agent.cnn_channels=8", "wandb=off", "env.game.max_steps=64"], tmp_path)
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "train_dir" / "local"  # ./train_dir where the command was typed
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["metric/agent_step"] == 4096 and "losses/policy_loss" in rows[-1]
    saved = (run_dir / "config.yaml").read_text()
    assert "batch_size: 4096" in saved and "name: fast" in saved


def test_the_full_scale_batch_on_cpu_says_it_will_be_slow_to_start(capsys):
    from metta.jobs.train import warn_if_slow_to_start

    call = resolve("train", "recipes.experiment.cogsguard")
    parts = validate_job(compose(call.config_name, list(call.overrides) + ["trainer.batch_size=2097152"]),
                         "train_job")
    warn_if_slow_to_start(parts["trainer"], parts["env"], "cpu")
    assert "lays out 8192 envs x 16 agents" in capsys.readouterr().err
    warn_if_slow_to_start(parts["trainer"], parts["env"], "cuda")
    default = validate_job(compose(call.config_name, list(call.overrides)), "train_job")
    warn_if_slow_to_start(default["trainer"], default["env"], "cpu")
    assert capsys.readouterr().err == ""

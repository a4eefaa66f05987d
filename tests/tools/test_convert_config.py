"""tools/convert_config.py on files in the original's mid-2025 shape (tests/tools/upstream_configs/,
written for these tests): each converts to a config that composes here and runs (an env that
steps, a trainer the train job accepts, an architecture that builds), and every upstream key
that did not come across is a line on stderr naming it. Also the MeanDistance map builder the
original's navigation evals use."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from mettagrid.env_configs import CONFIGS_DIR, compose_env_config
from mettagrid.map_builder import build_map
from mettagrid.vec_env import MettaGridVecEnv

ROOT = Path(__file__).resolve().parents[2]
UPSTREAM = Path(__file__).parent / "upstream_configs"


def convert(name: str, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / "tools" / "convert_config.py"), str(UPSTREAM / name), *flags], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)


def noted_keys(result: subprocess.CompletedProcess, name: str) -> dict[str, str]:
    """stderr as {key path: why}; every line must name the file and a key."""
    prefix = f"{UPSTREAM / name}: "
    out = {}
    for line in result.stderr.strip().splitlines():
        assert line.startswith(prefix), line
        key, why = line[len(prefix):].split(": ", 1)
        out[key] = why
    return out


@pytest.fixture
def installed(request):
    """Write converted YAML under configs/ for the test (as a user would), removed afterwards."""
    written: list[Path] = []

    def install(text: str, relative: str) -> Path:
        path = CONFIGS_DIR / relative
        path.write_text(text)
        written.append(path)
        return path

    yield install
    for path in written:
        path.unlink(missing_ok=True)


def step_a_few(config, steps: int = 20) -> None:
    env = MettaGridVecEnv(config, num_envs=2, seed=0)
    try:
        env.reset()
        rng = np.random.default_rng(0)
        for _ in range(steps):
            observations, *_ = env.step(env.valid_random_actions(rng))
        assert observations.shape[0] == 2 * config.game.num_agents
    finally:
        env.close()


def test_navigation_env_with_mean_distance_converts_loads_and_steps(installed):
    result = convert("nav_mean_distance.yaml")
    assert result.returncode == 0, result.stderr
    notes = noted_keys(result, "nav_mean_distance.yaml")
    assert notes["game.mystery_setting"] == "unknown upstream key, dropped (was 7)"
    for key in ("sampling", "defaults", "game.global_obs", "game.track_movement_metrics", "game.groups.agent.sprite",
                "game.actions.place_box", "game.objects.altar.type_id", "game.objects.block.type_id"):
        assert key in notes, key
    converted = yaml.safe_load(result.stdout)
    assert converted["game"]["map_builder"] == {"type": "mean_distance", "mean_distance": 6, "objects": {"altar": 3},
                                                "width": 25, "height": 25, "border_width": 3}
    assert converted["game"]["objects"]["block"]["kind"] == "block"  # swappable: true
    assert converted["game"]["objects"]["wall"]["kind"] == "wall"
    assert converted["game"]["agent"]["rewards"] == {"inventory": {"heart": 0.333}}  # heart_max: null = no cap

    installed(result.stdout, "env/mettagrid/_converted_nav_test.yaml")
    config = compose_env_config("mettagrid/_converted_nav_test")
    assert config.game.num_agents == 1 and config.game.max_steps == 300
    assert not config.game.actions.attack.enabled and not config.game.actions.change_color.enabled
    grid = build_map(config.game.map_builder, 3)
    assert grid[3 + 12, 3 + 12] == "agent.agent" and np.count_nonzero(grid == "altar") == 3
    step_a_few(config)

    # a value the original took from a parent config, set on the command line
    shorter = convert("nav_mean_distance.yaml", "game.max_steps=50", "game.num_agents=1")
    assert shorter.returncode == 0 and yaml.safe_load(shorter.stdout)["game"]["max_steps"] == 50


def test_arena_env_with_instances_and_resolvers(installed):
    result = convert("arena_basic.yaml", "--kind", "env")
    assert result.returncode == 0, result.stderr
    notes = noted_keys(result, "arena_basic.yaml")
    assert notes["game.objects.glowing_rock.type_id"] == "2 -> 15 (the id is taken here)"
    assert "game.resource_loss_prob" not in notes  # 0.0 is what happens here anyway
    converted = yaml.safe_load(result.stdout)
    builder = converted["game"]["map_builder"]
    assert builder["type"] == "instances" and builder["num_instances"] == 4  # ${div:${..num_agents},2}
    assert builder["instance"]["type"] == "random" and builder["instance"]["agents"] == 2
    assert converted["game"]["agent"]["rewards"]["inventory"] == {"heart": 1, "ore_red": 0.1, "ore_red_max": 2}

    installed(result.stdout, "env/mettagrid/_converted_arena_test.yaml")
    config = compose_env_config("mettagrid/_converted_arena_test")
    assert config.game.objects["glowing_rock"].type_id == 15 and config.game.objects["mine_red"].type_id == 3
    step_a_few(config)


def test_trainer_converts_into_what_differs_and_composes_as_the_trainer_group(installed):
    from metta.common.tool import check_group, compose_job, to_container

    result = convert("trainer.yaml")
    assert result.returncode == 0, result.stderr
    notes = noted_keys(result, "trainer.yaml")
    assert notes["some_new_knob"] == "unknown upstream key, dropped (was 3)"
    assert "kickstart" not in notes  # no teacher: nothing to keep, nothing lost
    for key in ("curriculum", "prioritized_experience_replay", "checkpoint.checkpoint_dir",
                "hyperparameter_scheduler.ppo_clip_schedule", "simulation.replay_dir"):
        assert key in notes, key
    converted = yaml.safe_load(result.stdout)
    assert converted["losses"] == {"ppo_actor": {"clip_coef": 0.2}}  # the rest equal the schema's defaults
    assert "weight_decay" not in converted.get("optimizer", {})

    installed(result.stdout, "trainer/_converted_test.yaml")
    composed = compose_job(None, ["+trainer=_converted_test"])  # the group as train.py composes it
    trainer = check_group("trainer", to_container(composed.trainer), "trainer")
    assert (trainer.learning_rate, trainer.gamma, trainer.gae_lambda) == (0.0003, 0.99, 0.95)
    assert (trainer.batch_size, trainer.minibatch_size, trainer.bptt_horizon) == (4096, 1024, 16)
    assert trainer.lr_schedule == "cosine" and trainer.optimizer.eps == 1e-12 and trainer.checkpoint_interval == 20


def test_agent_converts_to_an_architecture_that_builds(installed):
    from metta.agent.architectures import parse_architecture

    result = convert("agent_fast.yaml")
    assert result.returncode == 0, result.stderr
    notes = noted_keys(result, "agent_fast.yaml")
    assert "components.critic_1" in notes and "analyze_weights_interval" in notes
    converted = yaml.safe_load(result.stdout)
    assert converted["defaults"] == ["_fast", "_self_"]
    architecture = parse_architecture({"name": "fast", **{k: v for k, v in converted.items() if k != "defaults"}})
    assert (architecture.cnn_channels, architecture.hidden_size, architecture.lstm_layers) == (32, 96, 2)


def test_bad_input_is_one_line(tmp_path):
    unknown_scene = tmp_path / "old.yaml"
    unknown_scene.write_text("game:\n  num_agents: 1\n  map_builder:\n    _target_: metta.map.mapgen.MapGen\n"
                             "    width: 5\n    height: 5\n    root:\n      type: metta.map.scenes.spiral.Spiral\n")
    for path, fragment in ((unknown_scene, "game.map_builder.root.type: metta.map.scenes.spiral.Spiral: no converter"),
                           (UPSTREAM / "nope.yaml", "no such file")):
        result = subprocess.run([str(ROOT / "tools" / "convert_config.py"), str(path)], cwd=ROOT,
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 2 and result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.stderr
    neither = tmp_path / "neither.yaml"
    neither.write_text("hello: 1\n")
    result = subprocess.run([str(ROOT / "tools" / "convert_config.py"), str(neither)], capture_output=True, text=True, check=False)
    assert result.returncode == 2 and "pass --kind" in result.stderr


def test_mean_distance_places_the_agent_at_the_centre_and_objects_around_it():
    grid = build_map({"type": "mean_distance", "width": 41, "height": 41, "mean_distance": 8,
                      "objects": {"altar": 150}}, 0)
    assert grid[20, 20] == "agent.agent"
    rows, columns = np.nonzero(grid == "altar")
    assert len(rows) == 150 and 7 < np.hypot(rows - 20, columns - 20).mean() < 9.5
    near = build_map({"type": "mean_distance", "width": 41, "height": 41, "mean_distance": 2,
                      "objects": {"altar": 20}}, 0)
    rows, columns = np.nonzero(near == "altar")
    assert np.hypot(rows - 20, columns - 20).mean() < 4
    with pytest.raises(ValueError, match=r"mean_distance 3x3: could not place 'altar'"):
        build_map({"type": "mean_distance", "width": 3, "height": 3, "mean_distance": 1, "objects": {"altar": 9},
                   "max_draws": 50}, 0)


def test_a_kickstart_block_with_a_teacher_becomes_the_kickstarter_loss(tmp_path):
    from metta.rl.trainer_config import TrainerConfig

    source = tmp_path / "trainer.yaml"
    source.write_text("total_timesteps: 1000\nbatch_size: 4096\nminibatch_size: 1024\nkickstart:\n"
                      "  teacher_uri: file:///teachers/nav:v3.pt\n  action_loss_coef: 0.5\n  kickstart_steps: 2000\n")
    result = subprocess.run([str(ROOT / "tools" / "convert_config.py"), str(source)], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    converted = yaml.safe_load(result.stdout)
    assert converted["kickstart"]["teacher_uri"] == "file:///teachers/nav:v3.pt"
    trainer = TrainerConfig.model_validate({k: v for k, v in converted.items() if k != "defaults"})
    row = trainer.losses.kickstarter
    assert row.enabled and row.action_loss_coef == 0.5 and row.kickstart_steps == 2000

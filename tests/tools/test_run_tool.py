"""tools/run.py as a user types it: listing, dry runs, a tiny recipe train, an eval of it,
and bad input refused in one line with exit code 2."""

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from mettagrid.replay import load_replay
from tests.hardening.bad_input import assert_refused, run_command
from tests.tools.test_train_tool import TINY

ROOT = Path(__file__).resolve().parents[2]
RUN = str(ROOT / "tools" / "run.py")
TINY_NO_ENV = [arg for arg in TINY if not arg.startswith("env=")]


def run_tool(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return run_command([RUN, *args], timeout=timeout)


def assert_one_line_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert_refused(result, fragment, exit_code=2, prefix="error: ")


def test_list_shows_every_recipe_and_its_tools():
    result = run_tool("--list")
    assert result.returncode == 0, result.stderr
    assert "arena: train, evaluate, analyze, replay, play" in result.stdout
    assert "navigation: train, evaluate, analyze, replay, play" in result.stdout
    assert "experiment.cogsguard: train, evaluate, replay, play" in result.stdout
    assert "not available" not in result.stdout


def test_dry_run_shows_composed_config_and_hydra_command():
    result = run_tool("train", "arena", "--dry-run", "run=x")
    assert result.returncode == 0, result.stderr
    assert "run: x" in result.stdout
    assert ("# equivalent: ./tools/train.py env=mettagrid/arena/basic_easy_shaped sim=arena agent=fast "
            "trainer.total_timesteps=100_000_000 run=x") in result.stdout


def test_dotted_form_matches_two_token_form():
    dotted = run_tool("navigation.train", "--dry-run", "run=n")
    spaced = run_tool("train", "navigation", "--dry-run", "run=n")
    prefixed = run_tool("recipes.navigation.train", "--dry-run", "run=n")
    experiments = run_tool("experiments.recipes.navigation.train", "--dry-run", "run=n")
    assert dotted.returncode == 0, dotted.stderr
    assert "./tools/train.py env=mettagrid/navigation sim=navigation run=n" in dotted.stdout
    assert dotted.stdout == spaced.stdout == prefixed.stdout == experiments.stdout


def test_policy_architecture_is_the_agent_group():
    result = run_tool("train", "arena", "run=my_exp", "trainer.batch_size=512", "policy_architecture=latent_attn_small",
                      "policy_architecture.hidden_size=64", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "agent=latent_attn_small agent.hidden_size=64" in result.stdout
    assert "name: latent_attn_small" in result.stdout and "hidden_size: 64" in result.stdout


def test_mock_policy_evaluates_as_random_actions(tmp_path):
    result = run_tool("eval", "navigation", "policy_uris=mock://policy", "sim_job.num_episodes=1",
                      "sim_job.simulation_suite=smoke_test", f"train_dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    [policy] = json.loads(result.stdout)["policies"]
    assert policy["policy_uri"] == "mock://policy" and policy["checkpoints"][0]["name"] == "policy"


def test_train_then_eval_navigation(tmp_path, s3_endpoint):
    trained = run_tool("train", "navigation", "run=t", f"train_dir={tmp_path}", "trainer.total_timesteps=512",
                       *TINY_NO_ENV)
    assert trained.returncode == 0, trained.stderr
    checkpoints = tmp_path / "t" / "checkpoints"
    assert (checkpoints / "t:v1.pt").is_file()
    assert "final metrics:" in trained.stdout

    evaluated = run_tool("eval", "navigation", f"policy_uri=file://{checkpoints}", "sim_job.num_episodes=1",
                         f"train_dir={tmp_path}")
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert report["simulation_suite"] == "navigation"
    assert report["policies"][0]["policy_uri"] == f"file://{checkpoints}"
    assert [c["name"] for c in report["policies"][0]["checkpoints"]] == ["t:v1"]

    # the reference's `.mpt` names and its multi-line list, as typed
    listed = run_tool("evaluate", "navigation", f'policy_uris=[\n  "file://{checkpoints}/t:v1.mpt",\n'
                      f'  "file://{checkpoints}/t:v1.pt"\n]', "sim_job.num_episodes=1", f"train_dir={tmp_path}")
    assert listed.returncode == 0, listed.stderr
    names = [p["checkpoints"][0]["name"] for p in json.loads(listed.stdout)["policies"]]
    assert names == ["t:v1", "t:v1"]

    # eval_remote: queued, run by a worker process that fetches the checkpoint from S3 (boto3 -> moto)
    import boto3

    bucket = f"remote-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    boto3.client("s3").upload_file(str(checkpoints / "t:v1.pt"), bucket, "run:v10.pt")
    queued = run_tool("eval_remote", "navigation", f"policy_uri=s3://{bucket}/run:v10.pt", "sim_job.num_episodes=1",
                      f"train_dir={tmp_path}")
    assert queued.returncode == 0, queued.stderr
    receipt = json.loads(queued.stdout)
    assert receipt["worker_pid"] and f"results will land in {receipt['result']}" in queued.stderr
    result = Path(receipt["result"])
    deadline = time.time() + 180
    while not result.exists() and time.time() < deadline:
        assert not (result.parent / "error.txt").exists(), (result.parent / "error.txt").read_text()
        time.sleep(0.5)
    remote = json.loads(result.read_text())
    assert remote["policies"][0]["policy_uri"] == f"s3://{bucket}/run:v10.pt"
    assert remote["stats_db"] == receipt["stats_db"] and Path(receipt["stats_db"]).is_file()
    assert not list((tmp_path / "eval_remote" / "pending").iterdir())

    replayed = run_tool("replay", "navigation", f"policy_uri=file://{checkpoints}", f"replay_dir={tmp_path}/replays",
                        "replay_job.serve=false", 'replay_job.sim.env_overrides=["game.max_steps=40"]')
    assert replayed.returncode == 0, replayed.stderr
    [replay_file] = (tmp_path / "replays").glob("t:v1_mettagrid_navigation_*.json.z")
    replay = load_replay(replay_file)
    assert replay["max_steps"] == 40 and replay["metadata"]["policy"] == "t:v1"
    assert f"40 steps written to {replay_file}" in replayed.stderr


def test_play_and_replay_compose_the_viewer_jobs():
    played = run_tool("play", "arena", "--dry-run", "policy_uri=metta://policy/random")
    assert played.returncode == 0, played.stderr
    assert "# equivalent: ./tools/play.py replay_job.sim.env=mettagrid/arena/basic_easy_shaped " \
           "replay_job.policy_uri=metta://policy/random" in played.stdout
    replayed = run_tool("navigation.replay", "--dry-run", "open_browser_on_start=false")
    assert "open_browser_on_start: false" in replayed.stdout


def test_unknown_recipe_tool_and_override_are_one_line_errors():
    assert_one_line_error(run_tool("train", "nowhere"), "unknown recipe 'nowhere'")
    assert_one_line_error(run_tool("arena.fly"), "has no tool 'fly'")
    assert_one_line_error(run_tool("train", "arena", "trainer.learning_rat=1", "--dry-run"),
                          "trainer.learning_rat")
    assert_one_line_error(run_tool("replay", "arena", "policy_uri=metta://policy/nobody"),
                          "metta://policy/nobody: unknown built-in policy")


GUIDE_TEACHER = ('teacher={mode: sliced_cloner, policy_uri: "metta://policy/cogsguard?gear=10", '
                 'teacher_led_proportion: 0.5, student_led_proportion: 0.5}')


def test_the_cogsguard_recipe_as_the_guide_types_it():
    trained = run_tool("recipes.experiment.cogsguard.train", "run=my-cogsguard-bc-001", GUIDE_TEACHER,
                       "trainer.total_timesteps=5_000_000_000", "trainer.batch_size=2097152", "--dry-run")
    assert trained.returncode == 0, trained.stderr
    assert "mode: sliced_cloner" in trained.stdout and "policy_uri: metta://policy/cogsguard?gear=10" in trained.stdout
    assert "# equivalent: ./tools/train.py env=cogsguard/arena/basic sim=cogsguard run=my-cogsguard-bc-001" \
        in trained.stdout
    # The short name serves as well as the dotted one.
    assert run_tool("train", "cogsguard", "run=my-cogsguard-bc-001", GUIDE_TEACHER, "trainer.total_timesteps="
                    "5_000_000_000", "trainer.batch_size=2097152", "--dry-run").stdout == trained.stdout

    played = run_tool("recipes.experiment.cogsguard.play", "policy_uri=metta://policy/role", "render=log",
                      "max_steps=120", "mission=cogsguard_arena.small")
    assert played.returncode == 0, played.stderr
    assert "step 100: total reward" in played.stdout and "episode: heart.gained" in played.stdout
    assert "cogames play -m cogsguard_arena.basic -r gui" in run_tool("play", "cogsguard", "render=gui",
                                                                      "--dry-run").stdout
    assert_one_line_error(run_tool("play", "cogsguard", "speed=3"), "'speed': not a setting of `cogames play`")


def test_the_cogsguard_recipe_evaluates_the_scripted_roles_by_default(tmp_path):
    evaluated = run_tool("recipes.experiment.cogsguard.evaluate", "sim_job.num_episodes=1", f"train_dir={tmp_path}")
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    [policy] = report["policies"]
    assert policy["policy_uri"] == "metta://policy/role"
    metrics = policy["checkpoints"][0]["metrics"]
    assert {"small/reward", "basic/reward", "no_clips/reward"} <= set(metrics)
    assert metrics["reward_avg"] > 1  # the roles make hearts and hold junctions


def test_prod_recipes_answer_to_every_form_of_their_name(capsys):
    from metta.jobs.run_tool import main

    def dry_run(*argv: str) -> str:
        assert main([*argv, "--dry-run"]) == 0
        return capsys.readouterr().out

    expected = "# equivalent: ./tools/train.py env=mettagrid/arena/easy_shaped sim=arena_easy_shaped run=p"
    outputs = [dry_run(*form, "run=p") for form in [("train", "arena_basic_easy_shaped"),
                                                   ("arena_basic_easy_shaped.train",),
                                                   ("recipes.prod.arena_basic_easy_shaped.train",),
                                                   ("train", "prod.arena_basic_easy_shaped")]]
    assert expected in outputs[0] and len(set(outputs)) == 1
    cvc = dry_run("train", "cvc.small_maps", "run=c")
    assert "./tools/train.py env=cogsguard/arena/small sim=cogsguard_small run=c" in cvc
    assert dry_run("recipes.prod.cvc.small_maps.train", "run=c") == cvc
    assert main(["--list"]) == 0
    listing = capsys.readouterr().out
    assert "prod.arena_basic_easy_shaped: train, evaluate, analyze, replay, play" in listing
    assert "prod.cvc.small_maps: train, evaluate, replay, play" in listing
    assert "validation" not in listing  # suites are data, not recipes


def test_the_prod_arena_is_easy_and_shaped():
    from mettagrid.env_configs import compose_env_config

    easy, basic = compose_env_config("mettagrid/arena/easy_shaped"), compose_env_config("mettagrid/arena/basic")
    assert easy.game.objects["altar"].input_resources == {"battery_red": 1}
    assert basic.game.objects["altar"].input_resources == {"battery_red": 3}
    # The Hydra-era name trains on the same game: one env, two names.
    assert compose_env_config("mettagrid/arena/basic_easy_shaped").game == easy.game
    starts_holding = {name for name, obj in easy.game.objects.items() if obj.initial_resource_count}
    assert starts_holding == {"mine_red", "generator_red", "altar"}
    assert not any(obj.initial_resource_count for obj in basic.game.objects.values())
    rewards = easy.game.agent.rewards.inventory
    assert 0 < rewards["ore_red"] < rewards["battery_red"] < rewards["heart"]
    assert all(rewards[f"{item}_max"] <= rewards["heart"] for item in ("ore_red", "battery_red", "laser", "armor"))


def test_a_recipe_a_user_adds_is_found_by_its_name(tmp_path):
    name = f"my_recipe_{os.getpid()}"
    module = ROOT / "metta" / "recipes" / "experiment" / f"{name}.py"
    module.write_text('from metta.recipes import RecipeCall\n\n\ndef train():\n'
                      '    return RecipeCall("train_job", ["env=mettagrid/navigation", "sim=navigation"])\n')
    try:
        assert f"experiment.{name}: train" in run_tool("--list").stdout
        trained = run_tool("train", name, "run=test", f"train_dir={tmp_path}", "trainer.total_timesteps=512",
                           *TINY_NO_ENV)
        assert trained.returncode == 0, trained.stderr
        assert (tmp_path / "test" / "checkpoints" / "test:v1.pt").is_file()
    finally:
        module.unlink()


def test_a_short_recipe_name_must_be_unique(monkeypatch):
    from metta.jobs import run_tool as module

    monkeypatch.setattr(module, "recipe_names", lambda: ["prod.small", "experiment.small", "prod.cvc.small_maps"])
    assert module.canonical_recipe("cvc.small_maps") == "prod.cvc.small_maps"
    assert module.canonical_recipe("recipes.prod.small") == "prod.small"
    with pytest.raises(module.UsageError, match="'small' is ambiguous: prod.small, experiment.small"):
        module.canonical_recipe("small")

"""Curricula (metta/rl/curriculum): each kind samples as specified, state survives a resume,
bad curricula are refused in one line, env slots really switch tasks, memory stays flat."""

import tracemalloc

import numpy as np
import pytest

from metta.rl.curriculum import Curriculum, load_curriculum
from metta.rl.curriculum.loader import compose_env_dict
from metta.rl.curriculum.tasks import Bucket, TaskSpace
from mettagrid.errors import ConfigError
from mettagrid.vec_env import MettaGridVecEnv


def listed(n: int) -> TaskSpace:
    return TaskSpace("test", {}, rows=[(f"t{i}", "none", {}) for i in range(n)])


def frequencies(curriculum: Curriculum, draws: int) -> np.ndarray:
    counts = np.bincount([curriculum.next_task() for _ in range(draws)], minlength=len(curriculum))
    return counts / draws


def test_random_follows_weights():
    curriculum = Curriculum("w", listed(3), "random", {"weights": [1.0, 3.0, 0.0]}, seed=1)
    freq = frequencies(curriculum, 8000)
    assert freq[0] == pytest.approx(0.25, abs=0.02)
    assert freq[1] == pytest.approx(0.75, abs=0.02)
    assert freq[2] == 0


def test_bucketed_is_uniform_and_lazy_over_thousands_of_tasks():
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    space = TaskSpace("test", {}, rows=None, bucket_base="none",
                      buckets=(Bucket("a", tuple(range(20))), Bucket("b.c", tuple(range(25))), Bucket("d", tuple(range(24)))))
    curriculum = Curriculum("b", space, "bucketed", {}, seed=2)
    draws = [curriculum.next_task() for _ in range(20000)]
    for task_id in draws[:2000]:
        curriculum.complete(task_id, 1.0)
    metrics = curriculum.epoch_metrics()
    grown = sum(stat.size_diff for stat in tracemalloc.take_snapshot().compare_to(before, "filename"))
    tracemalloc.stop()
    assert len(curriculum) == 20 * 25 * 24 == 12000
    assert grown < 2_000_000  # counters for the tasks played, never a list of all combinations
    first = np.bincount([space.describe(i)[2][("a",)] for i in draws], minlength=20) / len(draws)
    assert np.allclose(first, 1 / 20, atol=0.01)
    assert space.describe(1 * 600 + 7 * 24 + 3)[2] == {("a",): 1, ("b", "c"): 7, ("d",): 3}
    assert len(metrics) <= 2 + 17 + 2 * 17  # bounded: top-K per family plus `_rest`
    assert metrics["curriculum/entropy"] == pytest.approx(np.log(12000))


def test_learning_progress_prefers_tasks_whose_success_changes():
    curriculum = Curriculum("lp", listed(3), "learning_progress",
                            {"ema_timescale": 0.1, "sample_threshold": 3, "rand_task_rate": 0.1, "score_max": 1.0},
                            seed=3)
    for step in range(60):
        curriculum.complete(0, 0.5)  # flat
        curriculum.complete(1, min(1.0, step / 60))  # improving
        curriculum.complete(2, 0.0)  # flat
    probs = [curriculum.probability(i) for i in range(3)]
    assert probs[1] > 0.6 and probs[1] > 4 * max(probs[0], probs[2])
    assert sum(probs) == pytest.approx(1.0)
    assert frequencies(curriculum, 4000)[1] == pytest.approx(probs[1], abs=0.03)


def test_prioritize_regressed_weighs_tasks_that_got_worse():
    curriculum = Curriculum("pr", listed(2), "prioritize_regressed", {"rand_task_rate": 0.0}, seed=4)
    curriculum.complete(0, 1.0)
    for _ in range(60):
        curriculum.complete(0, 0.1)  # regressed from 1.0
        curriculum.complete(1, 0.5)  # steady
    probs = [curriculum.probability(i) for i in range(2)]
    assert probs[0] > 0.75
    assert frequencies(curriculum, 4000)[0] == pytest.approx(probs[0], abs=0.03)


def test_progressive_advances_when_the_threshold_holds():
    curriculum = Curriculum("pg", listed(3), "progressive", {"threshold": 0.8, "window": 4}, seed=5)
    assert {curriculum.next_task() for _ in range(50)} == {0}
    for score in (0.9, 0.9, 0.9, 0.4, 0.9, 0.9, 0.9):
        curriculum.complete(0, score)
    assert curriculum.next_task() == 0  # the 0.4 is still in the window of 4: mean 0.775 < 0.8
    curriculum.complete(0, 0.9)
    assert {curriculum.next_task() for _ in range(50)} == {1}
    for _ in range(4):
        curriculum.complete(1, 1.0)
    for _ in range(8):
        curriculum.complete(2, 1.0)
    assert curriculum.next_task() == 2  # the last task stays


def test_resume_restores_the_distribution_and_the_draws_exactly():
    params = {"ema_timescale": 0.2, "sample_threshold": 2}
    original = Curriculum("lp", listed(5), "learning_progress", params, seed=6)
    rng = np.random.default_rng(0)
    for _ in range(100):
        task_id = original.next_task()
        original.complete(task_id, float(rng.random() * task_id))
    saved = original.state_dict()
    resumed = Curriculum("lp", listed(5), "learning_progress", params, seed=999)
    resumed.load_state_dict(saved)
    assert [resumed.probability(i) for i in range(5)] == [original.probability(i) for i in range(5)]
    assert [resumed.next_task() for _ in range(200)] == [original.next_task() for _ in range(200)]
    with pytest.raises(ValueError, match="is not this run's"):
        Curriculum("other", listed(4), "learning_progress", params, seed=0).load_state_dict(saved)


@pytest.mark.parametrize("text, message", [
    ("kind: random\ntasks: [mettagrid/no_such_env]\n", "unknown task env 'mettagrid/no_such_env'"),
    ("kind: bucketed\nenv: mettagrid/navigation\nbuckets: {game.max_steps: []}\n", "buckets.game.max_steps: empty bucket list"),
    ("kind: bucketed\nenv: mettagrid/navigation\nbuckets: {}\n", "buckets: empty bucket list"),
    ("kind: random\ntasks: [{env: mettagrid/navigation, weight: -1}]\n", "tasks[0].weight: -1 is negative"),
    ("kind: bucketed\nenv: mettagrid/navigation\nbuckets: {game.no_such_key: [1, 2]}\n",
     "buckets.game.no_such_key: env mettagrid/navigation has no key game.no_such_key"),
    ("kind: nonsense\ntasks: [mettagrid/navigation]\n", "kind: 'nonsense' is not one of"),
    ("kind: random\ntasks: [mettagrid/navigation, mettagrid/navigation/evals/walls]\n",
     "tasks mettagrid/navigation and mettagrid/navigation/evals/walls differ in num_agents (4 vs 1)"),
])
def test_bad_curricula_are_refused_in_one_line(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_curriculum(str(path))
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert str(path) in str(caught.value)


def test_unknown_curriculum_name_is_refused():
    with pytest.raises(ConfigError, match="no such curriculum or env config 'env/mettagrid/curriculum/nope'"):
        load_curriculum("env/mettagrid/curriculum/nope")


def test_shipped_navigation_curriculum_and_a_plain_env_load():
    navigation = load_curriculum("env/mettagrid/curriculum/navigation")
    assert navigation.kind_name == "bucketed" and len(navigation) == 108
    single = load_curriculum("/env/mettagrid/navigation")
    assert single.kind_name == "single" and {single.next_task() for _ in range(10)} == {0}


@pytest.mark.parametrize("prebuild", [False, True])
def test_env_slots_switch_tasks_map_and_params(tmp_path, prebuild):
    # Two tasks that differ in map size and in max_steps: each finished episode must have the
    # length of the task it was attributed to, and both tasks must be played by one env slot.
    path = tmp_path / "two.yaml"
    path.write_text(
        "kind: random\n"
        "env_overrides: {desync_episodes: false}\n"
        "tasks:\n"
        "  - {name: short, env: mettagrid/navigation, overrides: {game.max_steps: 7, game.map_builder.width: 16}}\n"
        "  - {name: long, env: mettagrid/navigation, overrides: {game.max_steps: 13, game.map_builder.width: 30}}\n"
    )
    curriculum = load_curriculum(str(path), seed=0)
    env = MettaGridVecEnv(curriculum.config(0), num_envs=2, seed=0, tasks=curriculum, prebuild_maps=prebuild)
    env.reset()
    rng = np.random.default_rng(0)
    lengths = {0: set(), 1: set()}
    widths = {0: set(), 1: set()}
    tasks_of_env0 = set()
    for _ in range(400):
        # The border wall's last column: the map of the episode env 0 is playing.
        widths[env.task_of(0)].add(1 + max(o["col"] for o in env.grid_objects(0) if o["type_name"] == "wall"))
        env.step(env.valid_random_actions(rng))
        for result in env.episode_results():
            lengths[result["task_id"]].add(result["steps"])
            if result["env_index"] == 0:
                tasks_of_env0.add(result["task_id"])
        if prebuild:
            env._tasks.wait()
    env.close()
    assert lengths == {0: {7}, 1: {13}}
    assert tasks_of_env0 == {0, 1}
    assert widths == {0: {16 + 2}, 1: {30 + 2}}  # the width inside a border of 1


def test_compose_env_dict_names_unknown_env():
    with pytest.raises(ConfigError, match="unknown task env 'mettagrid/nope'"):
        compose_env_dict("mettagrid/nope", "here")


def test_sweep_overrides_keep_a_curriculum_and_map_a_plain_env():
    from metta.sweep.lifecycle import flatten_overrides

    assert flatten_overrides({"trainer": {"curriculum": "/env/mettagrid/curriculum/navigation"}}) == {
        "trainer.curriculum": "++trainer.curriculum=/env/mettagrid/curriculum/navigation"}
    assert flatten_overrides({"trainer": {"curriculum": "/env/mettagrid/arena/advanced"}}) == {
        "env": "env=mettagrid/arena/advanced"}


def test_the_core_refuses_a_task_game_of_another_layout():
    from mettagrid import _core
    from mettagrid.cells import encode_map
    from mettagrid.config import compile_params
    from mettagrid.env_configs import compose_env_config
    from mettagrid.map_builder import make_map_builder

    env = MettaGridVecEnv(compose_env_config("mettagrid/navigation"))
    other = compose_env_config("mettagrid/navigation/evals/walls")  # 1 agent, not 4
    grid = encode_map(make_map_builder(other.game.map_builder).build(0), other.game)
    with pytest.raises(ValueError, match="params: num_agents differs from the VecEnv's"):
        env._core.set_map(0, grid, _core.Params({**compile_params(other), "auto_reset": True}))


@pytest.mark.parametrize("name", ["arena/random", "arena/basic_with_easy", "arena/basic_mostly_easy",
                                  "cogsguard/roles"])
def test_shipped_curricula_step_in_the_vector(name):
    curriculum = load_curriculum(f"env/mettagrid/curriculum/{name}", seed=0)
    env = MettaGridVecEnv(curriculum.config(0), num_envs=len(curriculum), seed=0, tasks=curriculum,
                          prebuild_maps=False)
    env.reset()
    rng = np.random.default_rng(0)
    for _ in range(5):
        env.step(env.valid_random_actions(rng))
    assert all(env.task_of(i) is not None for i in range(env.num_envs))
    env.close()

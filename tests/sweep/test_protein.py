"""The sweep search space and the Protein optimizer: coordinates, validation, and suggestions."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="Protein needs scikit-learn (the sweep extra)")

from metta.sweep import Observation, Protein, ProteinSettings, SearchSpace, parse_parameter, parse_settings
from metta.sweep.pareto import pareto_front
from mettagrid.errors import ConfigError

LR = {"distribution": "log_normal", "min": 1e-4, "max": 1e-2, "mean": 1e-3, "scale": "auto"}
SPACE_TREE = {
    "trainer": {
        "optimizer": {"learning_rate": LR},
        "batch_size": {"distribution": "uniform_pow2", "min": 256, "max": 4096, "mean": 1024},
        "total_timesteps": {"distribution": "int_uniform", "min": 10, "max": 20, "mean": 12},
        "gamma": {"distribution": "logit_normal", "min": 0.9, "max": 0.999, "mean": 0.99, "scale": "time"},
        "clip_coef": {"distribution": "uniform", "min": 0.1, "max": 0.3, "mean": 0.2, "scale": 0.3},
    }
}


def unit_space(dim: int) -> SearchSpace:
    return SearchSpace.from_dict({f"x{i}": {"distribution": "uniform", "min": 0.0, "max": 1.0, "mean": 0.5}
                                  for i in range(dim)})


# ---------------------------------------------------------------------------------------------
# Distributions and the search space
# ---------------------------------------------------------------------------------------------


def test_nested_parameters_become_dotted_paths_in_file_order():
    space = SearchSpace.from_dict(SPACE_TREE)
    assert space.names == ["trainer.optimizer.learning_rate", "trainer.batch_size", "trainer.total_timesteps",
                           "trainer.gamma", "trainer.clip_coef"]
    assert space.denormalize(space.center()) == {
        "trainer.optimizer.learning_rate": 1e-3, "trainer.batch_size": 1024, "trainer.total_timesteps": 12,
        "trainer.gamma": 0.99, "trainer.clip_coef": 0.2}
    assert list(space.scales()) == [0.5, 0.5, 0.5, 0.5, 0.3]  # auto and time are both 0.5


@pytest.mark.parametrize("spec, value", [
    ({"distribution": "uniform", "min": -2, "max": 3, "mean": 0}, 1.25),
    (LR, 3.7e-4),
    ({"distribution": "logit_normal", "min": 0.8, "max": 0.999, "mean": 0.9}, 0.97),
])
def test_continuous_values_round_trip_and_bounds_map_to_the_ends(spec, value):
    parameter = parse_parameter("p", spec)
    assert parameter.denormalize(parameter.normalize(value)) == pytest.approx(value, rel=1e-9)
    assert parameter.normalize(spec["min"]) == -1.0 and parameter.normalize(spec["max"]) == 1.0
    assert parameter.normalize(spec["max"] * 10) == 1.0  # out of range is clipped, not extrapolated
    assert parameter.denormalize(-5.0) == spec["min"] and parameter.denormalize(5.0) == spec["max"]


def test_log_normal_is_uniform_in_log_space():
    parameter = parse_parameter("lr", LR)
    assert parameter.normalize(1e-3) == pytest.approx(0.0)  # the geometric middle of 1e-4 and 1e-2


def test_int_uniform_rounds_to_integers_inside_the_bounds():
    parameter = parse_parameter("n", {"distribution": "int_uniform", "min": 2, "max": 8, "mean": 4})
    values = [parameter.denormalize(x) for x in np.linspace(-1, 1, 101)]
    assert all(type(v) is int for v in values)
    assert sorted(set(values)) == list(range(2, 9))
    assert all(parameter.denormalize(parameter.normalize(v)) == v for v in range(2, 9))


def test_uniform_pow2_gives_powers_of_two_inside_the_bounds():
    parameter = parse_parameter("b", {"distribution": "uniform_pow2", "min": 256, "max": 4096, "mean": 1024})
    values = [parameter.denormalize(x) for x in np.linspace(-1, 1, 101)]
    assert sorted(set(values)) == [256, 512, 1024, 2048, 4096]
    assert parameter.normalize(1024) == pytest.approx(0.0)
    assert parameter.denormalize(parameter.normalize(1000)) == 1024  # nearest power in log2


def test_to_overrides_rounds_and_returns_plain_python_numbers():
    space = SearchSpace.from_dict(SPACE_TREE)
    values = dict(space.denormalize(space.center()), **{"trainer.batch_size": np.float64(1500.0)})
    overrides = space.to_overrides(values)
    assert overrides["trainer.batch_size"] == 2048 and type(overrides["trainer.batch_size"]) is int
    assert json.loads(json.dumps(overrides)) == overrides
    with pytest.raises(ConfigError, match=r"^trainer\.gamma: no value given"):
        space.to_overrides({k: v for k, v in values.items() if k != "trainer.gamma"})


def test_sample_around_stays_in_the_box_and_follows_the_scale():
    space = unit_space(2)
    rng = np.random.default_rng(0)
    samples = space.sample_around(np.zeros(2), 1.0, rng, n=5000)
    assert samples.min() >= -1 and samples.max() <= 1
    assert np.std(samples, axis=0) == pytest.approx([0.5, 0.5], abs=0.05)
    narrow = space.sample_around(np.zeros(2), 0.1, rng, n=5000)
    assert np.std(narrow, axis=0) == pytest.approx([0.05, 0.05], abs=0.005)


@pytest.mark.parametrize("spec, message", [
    (dict(LR, mean=2), "trainer.optimizer.learning_rate: mean 2 is outside [0.0001, 0.01]"),
    (dict(LR, min=0.1), "trainer.optimizer.learning_rate: min 0.1 must be below max 0.01"),
    (dict(LR, min=0, mean=0), "trainer.optimizer.learning_rate: min 0 must be positive for log_normal"),
    (dict(LR, scale=-1), "trainer.optimizer.learning_rate: scale -1 must be positive (or auto)"),
    (dict(LR, distribution="gaussian"), "trainer.optimizer.learning_rate.distribution: unknown distribution"),
    (dict(LR, maximum=3), "trainer.optimizer.learning_rate.maximum: unknown key"),
    ({"distribution": "logit_normal", "min": 0.5, "max": 1.0, "mean": 0.7},
     "trainer.optimizer.learning_rate: bounds [0.5, 1] must lie strictly inside (0, 1)"),
    ({"distribution": "uniform_pow2", "min": 5, "max": 7, "mean": 6},
     "trainer.optimizer.learning_rate: no power of two lies in [5, 7]"),
    ({"distribution": "int_uniform", "min": 1.5, "max": 7, "mean": 6},
     "trainer.optimizer.learning_rate: min 1.5 and max 7 must be whole numbers"),
    ({"min": 1, "max": 2, "mean": 1.5}, "trainer.optimizer.learning_rate: missing 'distribution'"),
    (0.001, "trainer.optimizer.learning_rate: expected a parameter spec"),
])
def test_bad_parameters_are_one_line_errors_naming_the_key(spec, message):
    with pytest.raises(ConfigError) as caught:
        SearchSpace.from_dict({"trainer": {"optimizer": {"learning_rate": spec}}})
    text = str(caught.value)
    assert text.startswith(message), text
    assert "\n" not in text


def test_bad_settings_are_one_line_errors_naming_the_key():
    with pytest.raises(ConfigError, match=r"^sweep\.protein\.expansion_rat: unknown key \(got 0.1\)$"):
        parse_settings({"expansion_rat": 0.1}, prefix="sweep.protein")
    with pytest.raises(ConfigError, match=r"^protein\.suggestions_per_pareto: .*greater than 0"):
        parse_settings({"suggestions_per_pareto": 0})
    assert parse_settings(None) == ProteinSettings()


def test_a_run_without_a_score_must_be_marked_failed():
    with pytest.raises(ValueError, match="failed=True"):
        Observation(params={"x0": 0.1}, score=float("nan"), cost=1.0)
    assert Observation(params={"x0": 0.1}, score=None, cost=1.0, failed=True).failed


def test_pareto_front_keeps_the_runs_nothing_beats_on_both_counts():
    costs = np.array([1.0, 2.0, 2.0, 3.0, 4.0, 0.5])
    scores = np.array([1.0, 3.0, 2.0, 2.5, 5.0, 0.0])
    assert list(pareto_front(costs, scores)) == [5, 0, 1, 4]


# ---------------------------------------------------------------------------------------------
# Protein
# ---------------------------------------------------------------------------------------------


def observe_quadratic(protein: Protein, runs: int) -> None:
    """Score peaks at x = 0.3 in every coordinate; cost grows with the first coordinate."""
    for _ in range(runs):
        params, _info = protein.suggest()
        x = np.array(list(params.values()))
        protein.observe(params, score=-float(np.sum((x - 0.3) ** 2)), cost=1.0 + x[0])


def test_the_first_suggestion_is_the_search_center():
    space = SearchSpace.from_dict(SPACE_TREE)
    params, info = Protein(space, seed=3).suggest()
    assert params == space.denormalize(space.center()) and info == {"source": "search_center"}
    params, info = Protein(space, ProteinSettings(seed_with_search_center=False), seed=3).suggest()
    assert info["source"] == "random" and params != space.denormalize(space.center())


def test_suggestions_are_deterministic_given_seed_observations_and_index():
    space = unit_space(3)
    protein = Protein(space, seed=7)
    observe_quadratic(protein, 9)
    first, info = protein.suggest()
    assert info["source"] == "gp"
    again = Protein(space, seed=7, observations=protein.observations)
    assert again.suggest() == (first, info)
    assert Protein(space, seed=8, observations=protein.observations).suggest()[0] != first
    # A parallel worker asking for a later run (one still in flight) gets a different point.
    assert protein.suggest(index=10)[0] != first


def test_the_optimizer_rebuilds_from_observations_stored_as_json():
    space = SearchSpace.from_dict(SPACE_TREE)
    protein = Protein(space, seed=1)
    for _ in range(8):
        params, _info = protein.suggest()
        protein.observe(params, score=math.log(params["trainer.optimizer.learning_rate"]), cost=2.0)
    stored = json.dumps([run.model_dump() for run in protein.observations])
    rebuilt = Protein(space, seed=1, observations=json.loads(stored))
    assert rebuilt.observations == protein.observations
    assert rebuilt.suggest() == protein.suggest()
    # The stateless form: the same list passed in.
    assert Protein(space, seed=1).suggest(json.loads(stored)) == protein.suggest()


def test_suggestions_stay_under_max_suggestion_cost():
    # Score rises with x, so the optimizer wants large x; cost = 1 + 9x, so the cap of 4 allows
    # only x <= 1/3. Once the cost model has data, no suggestion should go past the cap.
    space = unit_space(1)
    settings = ProteinSettings(max_suggestion_cost=4.0, num_random_samples=5)
    protein = Protein(space, settings, seed=0)
    model_costs = []
    for _ in range(20):
        params, info = protein.suggest()
        cost = 1.0 + 9.0 * params["x0"]
        if info["source"] == "gp":
            model_costs.append(cost)
        protein.observe(params, score=params["x0"], cost=cost)
    assert len(model_costs) == 15
    assert max(model_costs) <= 4.0 * 1.1, model_costs
    assert max(model_costs) >= 3.0  # it does push up to the cap, where the score is best


def test_a_region_that_always_fails_stops_being_suggested():
    # The score rises toward x0 = 1, but every run with x0 > 0.6 fails. Observed as failures,
    # they teach the score model that the region is bad; later suggestions avoid it.
    space = unit_space(2)
    protein = Protein(space, ProteinSettings(num_random_samples=5), seed=2)
    late = []
    for run in range(25):
        params, _info = protein.suggest()
        if params["x0"] > 0.6:
            protein.observe(params, score=None, cost=1.0, failed=True)
        else:
            protein.observe(params, score=params["x0"] - (params["x1"] - 0.5) ** 2, cost=1.0)
        if run >= 15:
            late.append(params["x0"] > 0.6)
    assert sum(late) <= 2, late
    best = max((o for o in protein.observations if not o.failed), key=lambda o: o.score)
    assert 0.45 < best.params["x0"] <= 0.6


def test_resample_repeats_a_front_point():
    space = unit_space(2)
    protein = Protein(space, ProteinSettings(resample_frequency=10, num_random_samples=5), seed=0)
    observe_quadratic(protein, 10)
    params, info = protein.suggest()
    assert info["source"] == "resample"
    assert params == protein.observations[info["repeats_run"]].params


def branin(x1: float, x2: float) -> float:
    quadratic = (x2 - 5.1 / (4 * math.pi**2) * x1**2 + 5 / math.pi * x1 - 6) ** 2
    return quadratic + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


def test_protein_beats_random_search_on_branin():
    # Branin's minimum is 0.398; random search's best of 20 uniform samples averages ~3-5.
    space = SearchSpace.from_dict({
        "x1": {"distribution": "uniform", "min": -5, "max": 10, "mean": 2.5},
        "x2": {"distribution": "uniform", "min": 0, "max": 15, "mean": 7.5},
    })
    protein_best, random_best = [], []
    for seed in range(3):
        protein = Protein(space, seed=seed, goal="minimize")
        for _ in range(20):
            params, _info = protein.suggest()
            protein.observe(params, score=branin(params["x1"], params["x2"]), cost=1.0)
        protein_best.append(min(o.score for o in protein.observations))
        rng = np.random.default_rng(seed)
        random_best.append(min(branin(*space.denormalize(x).values()) for x in space.sample_uniform(rng, 20)))
    assert np.mean(protein_best) < 1.0, protein_best
    assert np.mean(protein_best) < 0.5 * np.mean(random_best), (protein_best, random_best)


def test_runs_without_values_for_every_parameter_are_left_out():
    # e.g. a failure recorded before the run got parameters, which a shared store can hold.
    space = unit_space(2)
    protein = Protein(space, ProteinSettings(num_random_samples=5), seed=0)
    observe_quadratic(protein, 6)
    runs = protein.observations + [Observation(params={}, score=None, cost=0.0, failed=True)]
    params, info = protein.suggest(runs, index=6)
    assert info["source"] == "gp" and info["skipped_observations"] == 1
    without_skip_count = {k: v for k, v in info.items() if k != "skipped_observations"}
    assert (params, without_skip_count) == protein.suggest(index=6)

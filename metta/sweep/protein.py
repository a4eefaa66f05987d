"""Protein: cost-aware Bayesian optimization of a sweep's hyperparameters.

A suggestion is a pure function of (search space, settings, seed, observations, run index), so
every worker of a multi-worker sweep rebuilds the optimizer from the shared list of finished runs
and gets the same answer for the same run index; nothing else needs to be stored or locked.

One suggestion, in order (docs/sweeps.md has the reasoning):
1. run 0 is the search center (`seed_with_search_center`);
2. until `num_random_samples` runs are observed (and two have succeeded), a Gaussian step from
   the center with each parameter's scale x `global_search_scale`; runs without a value for
   every parameter are left out (they cannot be placed in the space);
3. otherwise fit two GPs on all runs, one to the score and one to log(cost); failed runs count
   with a score below the worst success, so the model steers away from where they happened;
4. candidates: `suggestions_per_pareto` steps around each point of the score/cost Pareto front,
   plus `random_suggestions` uniform over the whole space; those whose predicted cost exceeds
   `max_suggestion_cost` are dropped;
5. draw a random cost target along the front and take the candidate with the highest expected
   improvement over the front's score at that cost, weighted by the chance it costs no more
   (acquisition.py). Every `resample_frequency`-th run instead repeats a front point, to average
   out a noisy metric.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    model_validator,
)

from metta.sweep.acquisition import (
    expected_improvement,
    incumbent_at,
    log_cost_cap,
    probability_below,
    sample_cost_target,
)
from metta.sweep.distributions import SearchSpace
from metta.sweep.gp import fit_gp
from metta.sweep.pareto import pareto_front
from mettagrid.errors import ConfigError, describe_validation_error

# Local steps around a front point are scaled by a factor drawn log-uniformly from this range, so
# one batch of candidates both refines the point (small steps) and looks around it (full steps).
LOCAL_STEP_RANGE = (1 / 16, 1.0)
# A failed run is scored this fraction of the successful scores' range below the worst success:
# worse than anything that worked, but not so far below that the GP's fit elsewhere is distorted.
FAILURE_MARGIN = 0.1


class ProteinSettings(BaseModel):
    """The `protein:` block of a sweep file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_suggestion_cost: PositiveFloat | None = Field(
        None, description="Drop candidates whose predicted cost exceeds this (same unit as observed cost)"
    )
    expansion_rate: NonNegativeFloat = Field(
        0.5, description="How far past the front's dearest point cost targets may go (fraction of its span)"
    )
    suggestions_per_pareto: PositiveInt = Field(32, description="Candidates sampled around each front point")
    random_suggestions: NonNegativeInt = Field(32, description="Candidates sampled uniformly over the space")
    seed_with_search_center: bool = Field(True, description="Run 0 is every parameter's mean")
    num_random_samples: NonNegativeInt = Field(
        6, description="Runs observed before the GPs are used (random steps from the center until then)"
    )
    resample_frequency: NonNegativeInt = Field(
        0, description="Every n-th run repeats a front point to average noise; 0 = never"
    )
    global_search_scale: PositiveFloat = Field(1.0, description="Multiplies every parameter's scale")


def parse_settings(data: Mapping[str, Any] | None, prefix: str = "protein") -> ProteinSettings:
    try:
        return ProteinSettings.model_validate(dict(data or {}))
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, prefix=prefix)) from None


class Observation(BaseModel):
    """One finished run: the values it ran with, its score and what it cost.

    A failed run keeps its cost (the compute it burned) and needs no score.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    params: dict[str, float] = Field(description="Dotted parameter path -> value the run used")
    score: float | None = Field(None, description="The sweep metric; None for a failed run")
    cost: NonNegativeFloat = Field(description="Compute spent, e.g. seconds; the same unit for every run")
    failed: bool = Field(False, description="The run crashed or produced no metric")

    @model_validator(mode="after")
    def _score_unless_failed(self) -> Observation:
        if not self.failed and (self.score is None or not math.isfinite(self.score)):
            raise ValueError(f"score {self.score} is not a number; observe the run with failed=True")
        return self


class Protein:
    """Suggests the next run's hyperparameters from the runs observed so far.

    `Protein(space, settings, seed)` holds nothing but its inputs and a list of observations;
    `Protein(..., observations=shared_list)` rebuilds it exactly.
    """

    def __init__(self, space: SearchSpace, settings: ProteinSettings | None = None, seed: int = 0,
                 goal: Literal["maximize", "minimize"] = "maximize",
                 observations: Sequence[Observation | Mapping[str, Any]] = ()):
        if goal not in ("maximize", "minimize"):
            raise ConfigError(f"goal: must be maximize or minimize (got {goal!r})")
        self.space = space
        self.settings = settings or ProteinSettings()
        self.seed = seed
        self.goal = goal
        self.observations: list[Observation] = [_as_observation(o) for o in observations]

    def observe(self, params: Mapping[str, Any], score: float | None, cost: float,
                failed: bool = False) -> Observation:
        observation = Observation(params=dict(params), score=score, cost=cost, failed=failed)
        self.observations.append(observation)
        return observation

    def suggest(self, observations: Sequence[Observation | Mapping[str, Any]] | None = None,
                index: int | None = None) -> tuple[dict[str, int | float], dict[str, Any]]:
        """The parameters for run number `index` (default: the number of observations) and why.

        Deterministic in (seed, observations, index); workers running in parallel should pass
        their run's index so that runs still in flight get different suggestions.
        """
        runs = self.observations if observations is None else [_as_observation(o) for o in observations]
        index = len(runs) if index is None else index
        rng = np.random.default_rng([self.seed, index])
        settings = self.settings
        center = self.space.center()

        if index == 0 and settings.seed_with_search_center:
            return self.space.denormalize(center), {"source": "search_center"}

        # A run that lacks a value for some parameter cannot be placed in the space: a failure
        # recorded before it got parameters, or a run from before the parameter was added.
        usable = [run for run in runs if all(name in run.params for name in self.space.parameters)]
        skipped = {"skipped_observations": len(runs) - len(usable)} if len(usable) < len(runs) else {}

        succeeded = sum(not run.failed for run in usable)
        if len(usable) < settings.num_random_samples or succeeded < 2:
            x = self.space.sample_around(center, settings.global_search_scale, rng)[0]
            return self.space.denormalize(x), {"source": "random", **skipped}

        params, info = self._suggest_from_models(usable, index, rng)
        return params, {**info, **skipped}

    # -----------------------------------------------------------------------------------------

    def _training_data(self, runs: list[Observation]):
        x = np.array([self.space.normalize(run.params) for run in runs])
        failed = np.array([run.failed for run in runs])
        sign = 1.0 if self.goal == "maximize" else -1.0
        scores = np.array([sign * run.score if not run.failed else np.nan for run in runs])
        good = scores[~failed]
        spread = good.max() - good.min()
        floor = good.min() - FAILURE_MARGIN * (spread if spread > 0 else max(abs(good.min()), 1.0))
        scores[failed] = floor
        costs = np.array([run.cost for run in runs])
        # A run that cost nothing (crashed at once) would put log(0) in the cost model; floor it at
        # a thousandth of the dearest run so it reads as "very cheap", not as minus infinity.
        log_costs = np.log(np.maximum(costs, 1e-3 * max(costs.max(), 1e-12)))
        return x, scores, log_costs, failed

    def _suggest_from_models(self, runs: list[Observation], index: int, rng: np.random.Generator):
        settings, space = self.settings, self.space
        x, scores, log_costs, failed = self._training_data(runs)
        ok = ~failed
        front = np.flatnonzero(ok)[pareto_front(log_costs[ok], scores[ok])]

        if settings.resample_frequency and index % settings.resample_frequency == 0:
            pick = int(rng.choice(front))
            return space.denormalize(x[pick]), {"source": "resample", "repeats_run": pick}

        score_model = fit_gp(x, scores, random_state=int(rng.integers(2**31)))
        cost_seed = int(rng.integers(2**31))

        per_point = settings.suggestions_per_pareto
        steps = np.exp(rng.uniform(*np.log(LOCAL_STEP_RANGE), size=(len(front) * per_point, 1)))
        local = space.sample_around(np.repeat(x[front], per_point, axis=0),
                                    settings.global_search_scale * steps, rng, n=len(front) * per_point)
        candidates = np.vstack([local, space.sample_uniform(rng, settings.random_suggestions)])
        candidates = np.array([space.snap(c) for c in candidates])

        if np.ptp(log_costs) > 1e-9:
            cost_mean, cost_std = fit_gp(x, log_costs, random_state=cost_seed).predict(candidates)
        else:
            # Every run cost the same: nothing to model. (A GP would still report more doubt far
            # from the data, and the cost weight would then quietly penalize exploring.)
            cost_mean, cost_std = np.full(len(candidates), log_costs[0]), np.full(len(candidates), 1e-9)
        max_log_cost = log_cost_cap(settings.max_suggestion_cost)
        affordable = cost_mean <= max_log_cost
        over_budget = not affordable.any()
        if over_budget:  # nothing fits the budget: the cheapest candidate is the closest we can get
            affordable = cost_mean == cost_mean.min()
        candidates, cost_mean, cost_std = candidates[affordable], cost_mean[affordable], cost_std[affordable]

        target = sample_cost_target(log_costs[front], settings.expansion_rate, max_log_cost, rng)
        best_at_target = incumbent_at(target, log_costs[ok], scores[ok])
        score_mean, score_std = score_model.predict(candidates)
        value = (expected_improvement(score_mean, score_std, best_at_target)
                 * probability_below(cost_mean, cost_std, target))
        pick = int(np.argmax(value))

        sign = 1.0 if self.goal == "maximize" else -1.0
        info = {
            "source": "gp",
            "predicted_score": float(sign * score_mean[pick]),
            "predicted_score_std": float(score_std[pick]),
            "predicted_cost": float(np.exp(cost_mean[pick])),
            "cost_target": float(np.exp(target)),
            "pareto_size": len(front),
            "candidates": int(affordable.sum()),
            "dropped_over_max_cost": int((~affordable).sum()),
            "all_over_max_cost": over_budget,
        }
        return space.denormalize(candidates[pick]), info


def _as_observation(item: Observation | Mapping[str, Any]) -> Observation:
    return item if isinstance(item, Observation) else Observation.model_validate(dict(item))

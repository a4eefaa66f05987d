"""Ratings from match outcomes: a Bradley-Terry model fitted by maximum likelihood.

Each policy i has a strength p_i > 0 and beats j with probability p_i / (p_i + p_j). Given
every pairwise outcome of a season (a draw counts as half a win for each side), the strengths
that make those outcomes most likely are found with Hunter's MM iteration (Hunter 2004,
"MM algorithms for generalized Bradley-Terry models"):

    p_i <- W_i / sum_j n_ij / (p_i + p_j)

where W_i is i's (half-)wins and n_ij the games between i and j. Two things make it
well-posed for a small, young tournament:

* a prior: every player also plays `prior_games` virtual games against an anchor of
  strength 1, drawn half and half. An unbeaten player then gets a finite rating, and a
  player with few games stays near the anchor;
* the anchor fixes the scale, so no renormalisation is needed.

Ratings are shown on the Elo scale, `BASE_RATING + 400 * log10(p)`: 400 points apart means
the stronger side is expected to win 10 of 11 games. The fit uses every outcome at once, so
unlike an online Elo update the result does not depend on the order matches finished in.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

BASE_RATING = 1500.0
ELO_SCALE = 400.0


@dataclass(frozen=True)
class Outcome:
    """One game between two players: `score_a` is 1 (a won), 0 (b won) or 0.5 (draw)."""

    a: Hashable
    b: Hashable
    score_a: float


def pairwise_outcomes(players: Sequence[Hashable], scores: Sequence[float], tie_tolerance: float = 1e-9) -> list[Outcome]:
    """The games hidden in one match of several players: each pair is compared by score."""
    if len(players) != len(scores):
        raise ValueError(f"{len(players)} players but {len(scores)} scores")
    outcomes = []
    for i in range(len(players)):
        for j in range(i + 1, len(players)):
            diff = scores[i] - scores[j]
            score_a = 0.5 if abs(diff) <= tie_tolerance else (1.0 if diff > 0 else 0.0)
            outcomes.append(Outcome(players[i], players[j], score_a))
    return outcomes


def bradley_terry(
    outcomes: Iterable[Outcome],
    players: Iterable[Hashable] = (),
    prior_games: float = 2.0,
    max_iterations: int = 10_000,
    tolerance: float = 1e-10,
) -> dict[Hashable, float]:
    """Elo-scale ratings of every player in `outcomes` (plus `players`, who may have none).

    A player without games gets `BASE_RATING`, as does everyone when `outcomes` is empty.
    """
    if prior_games <= 0:
        raise ValueError("prior_games must be positive (it keeps unbeaten players finite)")
    wins: dict[Hashable, float] = defaultdict(float)
    games: dict[Hashable, dict[Hashable, float]] = defaultdict(lambda: defaultdict(float))
    for player in players:
        wins[player] += 0.0
    for outcome in outcomes:
        if outcome.a == outcome.b:
            raise ValueError(f"a player cannot play itself ({outcome.a!r})")
        wins[outcome.a] += outcome.score_a
        wins[outcome.b] += 1.0 - outcome.score_a
        games[outcome.a][outcome.b] += 1.0
        games[outcome.b][outcome.a] += 1.0
    strength = {player: 1.0 for player in wins}
    for _ in range(max_iterations):
        largest_change = 0.0
        for player, p in list(strength.items()):  # Gauss-Seidel: later updates see this one
            denominator = prior_games / (p + 1.0)  # the virtual games against the anchor
            denominator += sum(n / (p + strength[other]) for other, n in games[player].items())
            new = (wins[player] + prior_games / 2) / denominator
            largest_change = max(largest_change, abs(math.log(new / p)))
            strength[player] = new
        if largest_change < tolerance:
            break
    return {player: BASE_RATING + ELO_SCALE * math.log10(p) for player, p in strength.items()}


def expected_score(rating_a: float, rating_b: float) -> float:
    """The probability that a beats b under the model, from Elo-scale ratings."""
    return 1.0 / (1.0 + 10.0 ** ((rating_b - rating_a) / ELO_SCALE))

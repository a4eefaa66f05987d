"""The Bradley-Terry fit behind the leaderboard: order-free, finite, and what the model says."""

import math
import random

import pytest

from metta.tournament.ranking import BASE_RATING, Outcome, bradley_terry, expected_score, pairwise_outcomes


def games(a, b, wins_a, losses_a=0, draws=0):
    return [Outcome(a, b, 1.0)] * wins_a + [Outcome(a, b, 0.0)] * losses_a + [Outcome(a, b, 0.5)] * draws


def test_no_games_means_base_rating():
    assert bradley_terry([], players=["x", "y"]) == {"x": BASE_RATING, "y": BASE_RATING}


def test_winner_rises_loser_falls_and_both_stay_finite():
    ratings = bradley_terry(games("strong", "weak", wins_a=5))
    assert ratings["strong"] > BASE_RATING > ratings["weak"]
    assert all(math.isfinite(r) for r in ratings.values())
    assert ratings["strong"] - BASE_RATING == pytest.approx(BASE_RATING - ratings["weak"])


def test_draws_and_even_records_give_equal_ratings():
    ratings = bradley_terry(games("a", "b", wins_a=3, losses_a=3, draws=2))
    assert ratings["a"] == pytest.approx(ratings["b"]) == pytest.approx(BASE_RATING)


def test_the_fit_does_not_depend_on_the_order_of_matches():
    outcomes = games("a", "b", 4, 1) + games("b", "c", 3, 2) + games("a", "c", 2, 0, 1)
    shuffled = outcomes[:]
    random.Random(0).shuffle(shuffled)
    first, second = bradley_terry(outcomes), bradley_terry(shuffled)
    assert first == pytest.approx(second, abs=1e-6)
    assert first["a"] > first["b"] > first["c"]


def test_the_fit_is_the_maximum_likelihood_with_its_prior():
    # Two players, a 3-1 record, prior = 2 virtual games each against an anchor at 1500 drawn
    # half and half. At the optimum the expected wins equal the actual ones for every player.
    ratings = bradley_terry(games("a", "b", 3, 1), prior_games=2.0)
    a, b = ratings["a"], ratings["b"]
    expected_a = 4 * expected_score(a, b) + 2 * expected_score(a, BASE_RATING)
    assert expected_a == pytest.approx(3 + 1, abs=1e-6)
    expected_b = 4 * expected_score(b, a) + 2 * expected_score(b, BASE_RATING)
    assert expected_b == pytest.approx(1 + 1, abs=1e-6)


def test_a_stronger_prior_pulls_ratings_towards_the_base():
    loose = bradley_terry(games("a", "b", 5), prior_games=0.5)
    tight = bradley_terry(games("a", "b", 5), prior_games=10.0)
    assert loose["a"] > tight["a"] > BASE_RATING


def test_pairwise_outcomes_compare_every_pair_by_score():
    outcomes = pairwise_outcomes(["x", "y", "z"], [2.0, 2.0, 1.0])
    assert outcomes == [Outcome("x", "y", 0.5), Outcome("x", "z", 1.0), Outcome("y", "z", 1.0)]
    with pytest.raises(ValueError):
        pairwise_outcomes(["x"], [1.0, 2.0])
    with pytest.raises(ValueError):
        bradley_terry([Outcome("x", "x", 1.0)])

"""Scrimmage: `role` clearly beats `random`, and the metrics say who held what."""

from metta.cogames.scrimmage import scrimmage


def test_role_beats_random():
    report = scrimmage("cogsguard_arena.small", "metta://policy/role", episodes=2, steps=300, seed=0,
                       opponent_uri="metta://policy/random")
    mean = report["mean"]
    assert mean["win"] == 1.0
    assert mean["cogs/aligned.junction.held"] > 300 and mean["clips/aligned.junction.held"] == 0
    assert mean["cogs/heart.gained"] >= 5 and mean["cogs/heart.gained"] > 5 * mean["clips/heart.gained"]
    assert mean["cogs/role.miner"] >= 1 and len(report["episodes"]) == 2


def test_random_loses_to_role_from_the_other_side():
    report = scrimmage("cogsguard_arena.small", "metta://policy/random", episodes=1, steps=300, seed=1,
                       opponent_uri="metta://policy/role")
    assert report["mean"]["win"] == 0.0 and report["mean"]["clips/aligned.junction.held"] > 300


def test_self_play_uses_one_policy_for_both_teams():
    report = scrimmage("cogsguard_arena.small", "metta://policy/role", episodes=1, steps=100, opponent_uri=None)
    assert report["opponent"] == "metta://policy/role"
    assert report["mean"]["cogs/agents"] == report["mean"]["clips/agents"] == 3

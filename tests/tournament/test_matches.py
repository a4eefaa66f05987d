"""The default match runner: teams dealt from the seed, scores per policy, the same seed the same
match, and a policy that cannot play blamed by its position."""

import numpy as np
import pytest

from metta.sim.suite_runner import make_sim_env
from metta.tournament.bundle import bundle_policy, extract_bundle
from metta.tournament.matches import (
    MatchError,
    ParticipantError,
    SeasonSettings,
    group_team_rows,
    run_match,
    team_rows,
)

FAST = SeasonSettings(max_steps=200, episodes_per_match=1)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory, arena_run_dir, navigation_checkpoint):
    root = tmp_path_factory.mktemp("bundles")
    sources = {"scripted": "metta://policy/scripted", "random": "metta://policy/random",
               "tiny": arena_run_dir, "nav": navigation_checkpoint}
    unpacked = {}
    for name, source in sources.items():
        extract_bundle(bundle_policy(source, out_path=root / f"{name}.zip"), root / name)
        unpacked[name] = root / name
    return unpacked


def test_team_rows_deal_equal_teams_per_env_from_the_seed():
    rows = team_rows(num_envs=3, num_agents=6, num_teams=2, seed=5)
    assert rows.shape == (18,)
    for env_rows in rows.reshape(3, 6):
        assert sorted(env_rows) == [0, 0, 0, 1, 1, 1]
    assert np.array_equal(rows, team_rows(3, 6, 2, seed=5))
    assert not np.array_equal(rows, team_rows(3, 6, 2, seed=6))
    with pytest.raises(MatchError, match="do not split into 4 equal teams"):
        team_rows(1, 6, 4, seed=0)


def test_scripted_beats_random_and_the_seed_fixes_the_match(bundles):
    first = run_match(FAST, [bundles["scripted"], bundles["random"]], seed=3)
    assert first[0] > first[1]
    assert run_match(FAST, [bundles["scripted"], bundles["random"]], seed=3) == first


def test_a_trained_checkpoint_plays_its_share(bundles):
    settings = SeasonSettings(max_steps=20, episodes_per_match=2, policies_per_match=3)
    scores = run_match(settings, [bundles["tiny"], bundles["random"], bundles["random"]], seed=1)
    assert len(scores) == 3 and all(np.isfinite(scores))


def test_a_policy_that_cannot_play_is_blamed_by_position(bundles):
    with pytest.raises(ParticipantError) as error:
        run_match(SeasonSettings(max_steps=10), [bundles["random"], bundles["nav"]], seed=0)
    assert error.value.position == 1 and "unknown to the policy" in error.value.message


def test_settings_that_cannot_be_met_are_match_errors(bundles):
    with pytest.raises(MatchError, match="agents_per_team 5 x 2 policies is not the env's 24 agents"):
        run_match(SeasonSettings(max_steps=10, agents_per_team=5), [bundles["random"], bundles["random"]], seed=0)
    # A name without '/' is a mission: refused by the mission loader, or for want of one.
    with pytest.raises((MatchError, ValueError), match="mission"):
        run_match(SeasonSettings(env="no_such_mission"), [bundles["random"], bundles["random"]], seed=0)


def test_a_mission_season_gives_each_policy_a_side_of_the_game(tmp_path):
    """CoGsGuard: policy 0 plays cogs in the first episode and clips in the second."""
    settings = SeasonSettings(env="cogsguard_arena.small", max_steps=10, episodes_per_match=2)
    env = make_sim_env(season_env_config_for(settings), num_episodes=2, seed=0)
    try:
        env.reset()
        rows = group_team_rows(env, 2).reshape(2, env.num_agents)
        for env_index, first_side in enumerate((1, 2)):  # group ids: cogs 1, clips 2
            groups = {o["agent_id"]: o["group"] for o in env.grid_objects(env_index) if "agent_id" in o}
            assert all((rows[env_index][agent] == 0) == (group == first_side) for agent, group in groups.items())
        with pytest.raises(MatchError, match="one group per policy"):
            group_team_rows(env, 3)
    finally:
        env.close()


def test_the_scripted_team_beats_random_from_either_side(tmp_path):
    root = tmp_path / "b"
    bundles = []
    for name in ("role", "random"):
        extract_bundle(bundle_policy(f"metta://policy/{name}", out_path=tmp_path / f"{name}.zip"), root / name)
        bundles.append(root / name)
    settings = SeasonSettings(env="cogsguard_arena.small", max_steps=150, episodes_per_match=2)
    role, random = run_match(settings, bundles, seed=4)
    assert role > random + 1, (role, random)
    with pytest.raises(MatchError, match="one group per policy"):  # no_clips: one side is empty
        run_match(settings.model_copy(update={"env": "cogsguard_arena.no_clips"}), bundles, seed=4)


def season_env_config_for(settings: SeasonSettings):
    from metta.tournament.matches import season_env_config

    return season_env_config(settings)

"""One test per CoGsGuard rule (docs/cogsguard.md), each on a small hand-drawn map."""

import numpy as np
import pytest

from mettagrid.config import EnvConfig, load_env_config
from mettagrid.env_configs import compose_env_config
from mettagrid.errors import ConfigError
from mettagrid.vec_env import MettaGridVecEnv
from tests.cogsguard.helpers import building, game, held

COGS, CLIPS = 1, 2


# ---------------------------------------------------------------------------- alignment


def test_align_claims_a_neutral_junction_for_a_heart():
    h = game("""
    #####
    #.j.#
    #.1.#
    #####
    """, cogs={"aligner_gear": 1, "heart": 2})
    h.step("align")  # faces up, at the junction
    assert building(h, "junction")["team"] == COGS
    assert held(h, 0, "heart") == 1 and held(h, 0, "aligner_gear") == 1
    assert h.stats(0)["junction.aligned"] == 1 and h.stats(0)["action.align.success"] == 1
    h.step("align")  # already ours
    assert h.stats(0)["action.align.failed"] == 1 and held(h, 0, "heart") == 1


@pytest.mark.parametrize("start", [{"heart": 1}, {"aligner_gear": 1}])
def test_align_needs_aligner_gear_and_a_heart(start):
    h = game("""
    #####
    #.j.#
    #.1.#
    #####
    """, cogs=start)
    h.step("align")
    assert building(h, "junction")["team"] == -1 and h.stats(0)["action.align.failed"] == 1


def test_align_cannot_take_the_other_teams_junction():
    h = game("""
    #####
    #.K.#
    #.1.#
    #####
    """, cogs={"aligner_gear": 1, "heart": 1})
    h.step("align")
    assert building(h, "junction")["team"] == CLIPS and held(h, 0, "heart") == 1


def test_only_alignable_buildings_align():
    h = game("""
    #####
    #.o.#
    #.1.#
    #####
    """, cogs={"aligner_gear": 1, "heart": 1})
    h.step("align")
    assert h.stats(0)["action.align.failed"] == 1


def test_scramble_neutralises_the_other_teams_junction_for_energy():
    h = game("""
    ######
    #.J.K#
    #.2.1#
    ######
    """, cogs={"scrambler_gear": 1, "energy": 2}, clips={"scrambler_gear": 1, "energy": 2})
    # Agent ids are row-major: 0 is the clips agent (under J), 1 the cogs agent (under K).
    h.step("scramble", "scramble")
    assert [o["team"] for o in h.objects("junction")] == [-1, -1]
    for agent in (0, 1):
        assert h.stats(agent)["junction.scrambled"] == 1 and held(h, agent, "energy") == 1


def test_scramble_fails_on_own_and_neutral_buildings():
    h = game("""
    ######
    #.J.j#
    #.1.1#
    ######
    """, cogs={"scrambler_gear": 1, "energy": 2})
    h.step("scramble", "scramble")
    assert [o["team"] for o in h.objects("junction")] == [COGS, -1]
    assert h.stats(0)["action.scramble.failed"] == 1 and h.stats(1)["action.scramble.failed"] == 1
    assert held(h, 0, "energy") == 2


def test_held_junction_steps_are_counted_per_team_and_member():
    h = game("""
    ######
    #J.K.#
    #1.2.#
    #1...#
    ######
    """)
    for _ in range(5):
        h.step("noop", "noop", "noop")
    game_stats = h.env.game_stats(0)
    assert game_stats["cogs/aligned.junction.held"] == 5 and game_stats["clips/aligned.junction.held"] == 5
    assert all(h.stats(a)["aligned.junction.held"] == 5 for a in range(3))


def test_aligned_feature_shows_the_owner_id():
    h = game("""
    #####
    #.j.#
    #.1.#
    #####
    """, cogs={"aligner_gear": 1, "heart": 1})
    aligned = h.env.feature_names.index("aligned")
    assert aligned == 12 + len(h.env.item_names)
    assert not [t for t in h.tokens(0) if t[1] == aligned]  # neutral: no token
    h.step("align")
    assert [t[2] for t in h.tokens(0) if t[1] == aligned] == [COGS]


def test_games_without_teams_have_no_aligned_feature():
    env = MettaGridVecEnv(compose_env_config("mettagrid/arena/basic"), num_envs=1)
    assert "aligned" not in env.feature_names and "align" not in env.action_names


# ---------------------------------------------------------------------------- team-only buildings


def test_hub_makes_a_heart_from_three_ore_and_an_influence():
    h = game("""
    #####
    #.H.#
    #.1.#
    #####
    """, cogs={"ore": 4, "influence": 1})
    h.step("put_items")
    assert held(h, 0, "ore") == 1 and held(h, 0, "influence") == 0
    h.step("noop")  # the conversion takes a tick
    assert building(h, "hub")["output"] == {"heart": 1}
    h.step("get_items")
    assert held(h, 0, "heart") == 1 and h.stats(0)["heart.gained"] == 1


def test_the_other_team_cannot_use_a_hub():
    h = game("""
    #####
    #.H.#
    #.2.#
    #####
    """, clips={"ore": 3, "influence": 1})
    h.step("put_items")
    assert held(h, 0, "ore") == 3 and h.stats(0)["action.put_items.failed"] == 1


def test_a_neutral_charger_serves_nobody_until_aligned():
    h = game("""
    ######
    #.c..#
    #.1.2#
    ######
    """, cogs={"aligner_gear": 1, "heart": 1})
    h.step("noop", "noop")  # the charger makes energy
    h.step("get_items", "noop")
    assert held(h, 0, "energy") == 0
    h.step("align", "noop")
    h.step("get_items", "noop")
    assert held(h, 0, "energy") == 1


# ---------------------------------------------------------------------------- gear


def test_miner_gear_is_free_and_one_is_the_limit():
    h = game("""
    #####
    #.M.#
    #.1.#
    #####
    """)
    h.step("get_items")
    assert held(h, 0, "miner_gear") == 1
    for _ in range(2):
        h.step("noop")
    h.step("get_items")  # the station made another, but one is all an agent holds
    assert held(h, 0, "miner_gear") == 1 and h.stats(0)["action.get_items.failed"] == 1


def test_aligner_gear_costs_energy_at_the_own_station():
    h = game("""
    #####
    #.A.#
    #.1.#
    #####
    """, cogs={"energy": 1})
    h.step("get_items")
    assert held(h, 0, "aligner_gear") == 0
    h.step("put_items")
    h.step("noop")
    h.step("get_items")
    assert held(h, 0, "aligner_gear") == 1 and held(h, 0, "energy") == 0


def test_extractors_need_miner_gear():
    h = game("""
    ######
    #.o.o#
    #.1.1#
    ######
    """, cogs={})
    h2 = game("""
    ######
    #.o.o#
    #.1.1#
    ######
    """, cogs={"miner_gear": 1})
    h.step("get_items", "get_items")
    h2.step("get_items", "get_items")
    assert held(h, 0, "ore") == 0 and h.stats(0)["action.get_items.failed"] == 1
    assert held(h2, 0, "ore") == 4  # 3 at reset, 1 more made in the first tick


# ---------------------------------------------------------------------------- scouts


def test_scout_attack_freezes_without_stealing():
    h = game("""
    #####
    #.2.#
    #.1.#
    #####
    """, cogs={"scout_gear": 1, "energy": 1}, clips={"ore": 4, "heart": 2})
    h.step("noop", "attack")  # agent 0 is the clips agent (row 1), agent 1 the cogs scout
    assert h.agent(0)["frozen"] > 0
    assert held(h, 0, "ore") == 4 and held(h, 0, "heart") == 2 and held(h, 1, "energy") == 0


def test_attack_needs_scout_gear():
    h = game("""
    #####
    #.2.#
    #.1.#
    #####
    """, cogs={"energy": 1})
    h.step("noop", "attack")
    assert h.agent(0)["frozen"] == 0


# ---------------------------------------------------------------------------- maps and configs


def test_owned_cells_encode_their_team_and_bad_codes_are_refused():
    h = game("""
    #####
    #HKh#
    #.1.#
    #####
    """)
    teams = {o["type_name"] + str(o["col"]): o.get("team") for o in h.env.grid_objects(0) if o["kind"] != "agent"
             and o["type_name"] != "wall"}
    assert teams == {"hub1": COGS, "junction2": CLIPS, "hub3": CLIPS}
    assert list(h.env.object_teams(0)[:1]) == [-1]  # walls are nobody's
    bad = np.array([[1 + 65536 * 1, -1]], dtype=np.int32)  # a wall "owned" by cogs
    with pytest.raises(ValueError, match="not an object type with teams"):
        h.env.set_map(0, bad)


def _cogsguard_data() -> dict:
    return compose_env_config("cogsguard/arena/small").model_dump()


def test_config_refuses_group_id_zero_in_a_team_game():
    data = _cogsguard_data()
    data["game"]["groups"]["cogs"]["id"] = 0
    with pytest.raises(ConfigError, match="groups.cogs.id: must be >= 1"):
        load_env_config(data, check_map=False)


def test_config_refuses_teams_on_walls_and_dots_in_object_names():
    data = _cogsguard_data()
    data["game"]["objects"]["wall"]["alignable"] = True
    with pytest.raises(ConfigError, match="cannot be alignable"):
        load_env_config(data, check_map=False)
    data = _cogsguard_data()
    data["game"]["objects"]["hub.x"] = data["game"]["objects"].pop("hub") | {"type_id": 99}
    with pytest.raises(ConfigError, match="may not contain"):
        load_env_config(data, check_map=False)


def test_unknown_owner_in_a_map_cell_is_a_config_error():
    config = EnvConfig.model_validate(_cogsguard_data())
    from mettagrid.cells import encode_map

    grid = np.array([["wall.cogs", "agent.cogs"]])
    with pytest.raises(ConfigError, match="wall.cogs"):
        encode_map(grid, config.game)

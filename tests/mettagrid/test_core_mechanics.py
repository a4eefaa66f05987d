"""One test per game rule of the C++ core (docs/mettagrid.md sections 2-7)."""

import numpy as np
import pytest

from tests.mettagrid.core_helpers import (
    ARMOR,
    BATTERY,
    DOWN,
    FEATURES,
    HEART,
    ITEMS,
    LASER,
    LEFT,
    ORE,
    RIGHT,
    UP,
    Harness,
    default_object_types,
    group,
    make_params,
    parse_map,
)

ROOM = """
#####
#...#
#.@.#
#...#
#####
"""


def with_types(**changes):
    """Default object types with some converter fields changed: with_types(mine_red={...})."""
    types = default_object_types()
    for t in types:
        t.update(changes.get(t["name"], {}))
    return types


# ---------------------------------------------------------------------------- movement


def test_move_forward_back_and_blocked():
    h = Harness(ROOM)
    assert h.pos(0) == (2, 2)
    h.step(("move", 0))  # orientation starts up
    assert h.pos(0) == (1, 2)
    h.step(("move", 0))  # wall ahead
    assert h.pos(0) == (1, 2)
    h.step(("move", 1))  # back, orientation unchanged
    assert h.pos(0) == (2, 2)
    assert h.agent(0)["orientation"] == UP
    s = h.stats(0)
    assert s["action.move.success"] == 2 and s["action.move.failed"] == 1


def test_move_blocked_by_agent_and_object():
    h = Harness("""
    #####
    #.s.#
    #.@.#
    #.@.#
    #####
    """)
    h.step(("move", 0), ("move", 0))  # agent 0 into the block: fails; agent 1 into agent 0: fails
    assert h.pos(0) == (2, 2) and h.pos(1) == (3, 2)
    assert h.stats(0)["action.move.failed"] == 1 and h.stats(1)["action.move.failed"] == 1


def test_rotate():
    h = Harness(ROOM)
    h.step(("rotate", RIGHT))
    assert h.agent(0)["orientation"] == RIGHT
    h.step(("move", 0))
    assert h.pos(0) == (2, 3)
    h.step(("rotate", DOWN))
    h.step(("move", 0))
    assert h.pos(0) == (3, 3)
    assert h.stats(0)["action.rotate.success"] == 2


# ---------------------------------------------------------------------------- converters


def test_put_items_then_conversion_after_conversion_ticks():
    types = with_types(generator_red={"conversion_ticks": 2, "cooldown": 0, "max_output": -1})
    grp = group(0, "red", initial_inventory=[2, 0, 0, 0, 0])
    h = Harness("""
    #####
    #.n.#
    #.@.#
    #####
    """, object_types=types, groups=[grp])
    def gen():
        return h.objects("generator_red")[0]

    h.step(("put_items", 0))  # tick 1: put 1 ore (recipe amount), conversion starts
    assert h.inv(0, ORE) == 1
    assert gen()["converting"] and gen()["input"] == {} and gen()["output"] == {}
    h.step("noop")  # tick 2
    assert gen()["output"] == {}
    h.step("noop")  # tick 3 = 1 + conversion_ticks: finished at the start of the step
    assert gen()["output"] == {"battery_red": 1}
    assert not gen()["converting"]
    s = h.stats(0)
    assert s["ore_red.put"] == 1 and s["ore_red.lost"] == 1 and s["action.put_items.success"] == 1
    b = h.env.building_stats(0)
    assert b == {"generator_red.conversions.started": 1, "generator_red.conversions.completed": 1,
                 "generator_red.consumed.ore_red": 1, "generator_red.produced.battery_red": 1}


def test_put_items_fails_without_inputs_or_building():
    h = Harness("""
    #####
    #.n.#
    #.@.#
    #####
    """)
    h.step(("put_items", 0))  # holds no ore
    h.step(("rotate", LEFT))
    h.step(("put_items", 0))  # nothing in front
    assert h.stats(0)["action.put_items.failed"] == 2


def test_get_items_respects_resource_limit():
    types = with_types(generator_red={"initial_resource_count": 5, "max_output": 5})
    limits = [50, 3, 50, 50, 50]
    grp = group(0, "red", resource_limits=limits, initial_inventory=[0, 1, 0, 0, 0])
    h = Harness("""
    #####
    #.n.#
    #.@.#
    #####
    """, object_types=types, groups=[grp])
    assert h.objects("generator_red")[0]["output"] == {"battery_red": 5}
    h.step(("get_items", 0))
    assert h.inv(0, BATTERY) == 3
    assert h.objects("generator_red")[0]["output"] == {"battery_red": 3}
    h.step(("get_items", 0))  # no room left
    assert h.inv(0, BATTERY) == 3
    s = h.stats(0)
    assert s["battery_red.get"] == 2 and s["action.get_items.success"] == 1
    assert s["action.get_items.failed"] == 1


def test_mine_drips_to_max_output_then_resumes_after_get():
    types = with_types(mine_red={"max_output": 2, "cooldown": 0, "conversion_ticks": 1})
    h = Harness("""
    #####
    #.m.#
    #.@.#
    #####
    """, object_types=types)
    def mine():
        return h.objects("mine_red")[0]

    assert mine()["output"] == {} and mine()["converting"]
    counts = []
    for _ in range(4):
        h.step("noop")
        counts.append(mine()["output"].get("ore_red", 0))
    assert counts == [1, 2, 2, 2]
    assert not mine()["converting"]
    h.step(("get_items", 0))  # takes both; the mine starts again at once
    assert h.inv(0, ORE) == 2
    assert mine()["output"] == {} and mine()["converting"]
    h.step("noop")
    assert mine()["output"] == {"ore_red": 1}
    assert h.env.building_stats(0)["mine_red.conversions.completed"] == 3


def test_cooldown_timing():
    types = with_types(mine_red={"max_output": -1, "cooldown": 3, "conversion_ticks": 1})
    h = Harness("""
    #####
    #.m.#
    #.@.#
    #####
    """, object_types=types)
    counts, converting = [], []
    for _ in range(9):
        h.step("noop")
        m = h.objects("mine_red")[0]
        counts.append(m["output"].get("ore_red", 0))
        converting.append(m["converting"] or m["cooling_down"])
    # finish at 1, cool 1..4, start 4, finish 5, cool 5..8, start 8, finish 9
    assert counts == [1, 1, 1, 1, 2, 2, 2, 2, 3]
    assert all(converting)


def test_max_conversions():
    types = with_types(mine_red={"max_output": -1, "cooldown": 0, "max_conversions": 2})
    h = Harness("""
    #####
    #.m.#
    #.@.#
    #####
    """, object_types=types)
    for _ in range(5):
        h.step("noop")
    m = h.objects("mine_red")[0]
    assert m["output"] == {"ore_red": 2} and m["conversions_started"] == 2 and not m["converting"]


def test_initial_resource_count():
    types = with_types(mine_red={"max_output": 3, "initial_resource_count": 3})
    h = Harness("""
    #####
    #.m.#
    #.@.#
    #####
    """, object_types=types)
    m = h.objects("mine_red")[0]
    assert m["output"] == {"ore_red": 3} and not m["converting"]
    assert h.env.building_stats(0) == {}
    assert h.env.game_stats(0)["objects.mine_red"] == 1


# ---------------------------------------------------------------------------- attack

ATTACK_MAP = """
#####
#.2.#
#...#
#.1.#
#####
"""  # agent 0 = target (group 1) at (1, 2); agent 1 = attacker (group 0) at (3, 2), facing up


def attack_harness(attacker=None, target=None, **kw):
    attacker = attacker or {}
    target = target or {}
    groups = [group(0, "red", **attacker), group(1, "blue", **target)]
    return Harness(ATTACK_MAP, groups=groups, **kw)


def test_attack_freezes_and_steals():
    h = attack_harness(attacker={"initial_inventory": [0, 0, 0, 0, 2]},
                       target={"initial_inventory": [5, 3, 0, 0, 0]})
    h.step("noop", ("attack", 0))
    assert h.agent(0)["frozen"] == 9  # frozen for 10, and this step's turn is already skipped
    assert [h.inv(1, i) for i in range(len(ITEMS))] == [5, 3, 0, 0, 1]
    assert [h.inv(0, i) for i in range(len(ITEMS))] == [0, 0, 0, 0, 0]
    a, t = h.stats(1), h.stats(0)
    assert a["attack.hit"] == 1 and a["attack.other_team"] == 1 and a["ore_red.stolen"] == 5
    assert a["laser.lost"] == 1 and a["action.attack.success"] == 1
    assert t["attacked.frozen"] == 1 and t["ore_red.stolen_from"] == 5 and t["battery_red.stolen_from"] == 3


def test_attack_steal_respects_attacker_limits():
    h = attack_harness(attacker={"initial_inventory": [1, 0, 0, 0, 1], "resource_limits": [3, 50, 50, 50, 50]},
                       target={"initial_inventory": [5, 0, 0, 0, 0]})
    h.step("noop", ("attack", 0))
    assert h.inv(1, ORE) == 3 and h.inv(0, ORE) == 3
    assert h.stats(1)["ore_red.stolen"] == 2


def test_attack_without_laser_fails():
    h = attack_harness(target={"initial_inventory": [5, 0, 0, 0, 0]})
    h.step("noop", ("attack", 0))
    assert h.agent(0)["frozen"] == 0 and h.inv(0, ORE) == 5
    assert h.stats(1)["action.attack.failed"] == 1


def test_attack_without_target_fails_and_keeps_laser():
    h = attack_harness(attacker={"initial_inventory": [0, 0, 0, 0, 1]})
    h.step("noop", ("attack", 1))  # only one agent in range
    assert h.inv(1, LASER) == 1 and h.stats(1)["action.attack.failed"] == 1


def test_armor_blocks_attack():
    h = attack_harness(attacker={"initial_inventory": [0, 0, 0, 0, 1]},
                       target={"initial_inventory": [5, 0, 0, 2, 0]})
    h.step("noop", ("attack", 0))
    assert h.agent(0)["frozen"] == 0
    assert h.inv(0, ARMOR) == 1 and h.inv(0, ORE) == 5
    assert h.inv(1, LASER) == 0 and h.inv(1, ORE) == 0
    assert h.stats(1)["attack.blocked"] == 1 and h.stats(0)["attacked.blocked"] == 1


def test_attack_arg_picks_nth_agent_nearest_row_first():
    # attacker (agent 4) at (5, 2) facing up; left-to-right from its point of view.
    h = Harness("""
    #####
    #...#
    #.2.#
    #2.2#
    #...#
    #.1.#
    #####
    """, groups=[group(0, "red", initial_inventory=[0, 0, 0, 0, 5]), group(1, "blue")])
    # ids (row-major): 0 (2,2), 1 (3,1), 2 (3,3), 3 (5,2) attacker
    h.step("noop", "noop", "noop", ("attack", 3))  # only 3 targets: fails
    assert h.stats(3)["action.attack.failed"] == 1
    h.step("noop", "noop", "noop", ("attack", 2))  # row 1: (4,*) empty; row 2: (3,1), (3,3); row 3: (2,2)
    assert [h.agent(i)["frozen"] for i in range(3)] == [9, 0, 0]
    h.step("noop", "noop", "noop", ("attack", 1))  # frozen agents are skipped: now (3,3)
    assert [h.agent(i)["frozen"] > 0 for i in range(3)] == [True, False, True]
    h.step("noop", "noop", "noop", ("attack", 0))
    assert all(h.agent(i)["frozen"] > 0 for i in range(3))


def test_attack_scan_when_facing_right():
    h = Harness("""
    ######
    #..2.#
    #1...#
    #..2.#
    ######
    """, groups=[group(0, "red", initial_inventory=[0, 0, 0, 0, 5]), group(1, "blue")])
    # ids: 0 (1,3), 1 (2,1) attacker, 2 (3,3). Facing right, the agent's left is up.
    h.step("noop", ("rotate", RIGHT), "noop")
    h.step("noop", ("attack", 0), "noop")
    assert h.agent(0)["frozen"] == 9 and h.agent(2)["frozen"] == 0


def test_frozen_agent_skips_exactly_freeze_duration_steps():
    h = attack_harness(attacker={"initial_inventory": [0, 0, 0, 0, 1]}, target={"freeze_duration": 3})
    # target (agent 0) at (1, 2) faces up (a wall): make it face down-left-ish open space first
    h.step(("rotate", LEFT), "noop")
    positions = []
    h.step(("move", 0), ("attack", 0))  # attack runs first (priority): the move is skipped
    positions.append(h.pos(0))
    assert h.agent(0)["frozen"] == 2
    for _ in range(3):
        h.step(("move", 0), "noop")
        positions.append(h.pos(0))
    assert positions == [(1, 2), (1, 2), (1, 2), (1, 1)]
    assert h.stats(0)["status.frozen.ticks"] == 3
    assert h.stats(0)["action.move.success"] == 1


# ---------------------------------------------------------------------------- swap


def test_swap_with_block():
    h = Harness(ROOM.replace("#...#\n#.@", "#.s.#\n#.@"))
    assert h.objects("block")[0]["row"] == 1
    h.step(("swap", 0))
    assert h.pos(0) == (1, 2)
    b = h.objects("block")[0]
    assert (b["row"], b["col"]) == (2, 2)
    assert h.stats(0)["swap.block"] == 1


def test_swap_with_frozen_agent_and_not_with_active_one():
    h = attack_harness(attacker={"initial_inventory": [0, 0, 0, 0, 1]})
    h.step("noop", ("move", 0))  # attacker to (2, 2), right behind the target
    h.step("noop", ("swap", 0))  # target not frozen: fails
    assert h.stats(1)["action.swap.failed"] == 1
    h.step("noop", ("attack", 0))
    h.step("noop", ("swap", 0))
    assert h.pos(1) == (1, 2) and h.pos(0) == (2, 2)
    assert h.stats(1)["swap.agent"] == 1


def test_swap_with_wall_fails():
    h = Harness(ROOM)
    h.step(("move", 0))
    h.step(("swap", 0))
    assert h.pos(0) == (1, 2) and h.stats(0)["action.swap.failed"] == 1


# ---------------------------------------------------------------------------- color, glyph, invalid


def test_change_color_and_glyph():
    h = Harness(ROOM)
    colors = []
    for arg in [0, 0, 1, 2, 3, 1]:
        h.step(("change_color", arg))
        colors.append(h.agent(0)["color"])
    assert colors == [1, 2, 1, 17, 1, 0]
    h.step(("change_color", 1))
    assert h.agent(0)["color"] == 255
    h.step(("change_glyph", 5))
    assert h.agent(0)["glyph"] == 5
    h.step(("change_glyph", 16))  # above max_arg
    assert h.agent(0)["glyph"] == 5
    assert h.stats(0)["action.change_glyph.failed"] == 1


def test_invalid_action_id_and_arg_fail_and_count():
    h = Harness(ROOM, groups=[group(0, "red", action_failure_penalty=0.25)])
    _, rewards, _, _ = h.step((99, 0))
    assert rewards[0] == pytest.approx(-0.25)
    h.step((-1, 0))
    h.step(("move", 2))
    h.step(("rotate", -1))
    s = h.stats(0)
    assert s["action.invalid"] == 4
    assert s["action.move.failed"] == 1 and s["action.rotate.failed"] == 1
    assert h.pos(0) == (2, 2)


def test_required_and_consumed_resources():
    actions = make_params(1)["actions"]
    actions[1]["required"] = [[HEART, 1]]  # move needs a heart
    actions[2]["consumed"] = [[ORE, 1]]  # rotate costs an ore
    h = Harness(ROOM, actions=actions, groups=[group(0, "red", initial_inventory=[1, 0, 0, 0, 0])])
    h.step(("move", 0))
    assert h.pos(0) == (2, 2) and h.stats(0)["action.move.failed"] == 1
    h.step(("rotate", LEFT))
    assert h.inv(0, ORE) == 0 and h.agent(0)["orientation"] == LEFT
    h.step(("rotate", RIGHT))
    assert h.agent(0)["orientation"] == LEFT and h.stats(0)["action.rotate.failed"] == 1


# ---------------------------------------------------------------------------- rewards


def test_inventory_rewards_with_cap_and_loss():
    types = with_types(altar={"initial_resource_count": 3, "max_output": 3})
    grp = group(0, "red", inventory_rewards=[0, 0, 1.0, 0, 0], inventory_reward_max=[1e30, 1e30, 2.0, 1e30, 1e30])
    h = Harness("""
    #####
    #._.#
    #.@T#
    #####
    """, object_types=types, groups=[grp])
    _, r, _, _ = h.step(("get_items", 0))
    assert h.inv(0, HEART) == 3 and r[0] == pytest.approx(2.0)  # capped
    _, r, _, _ = h.step(("rotate", RIGHT))
    assert r[0] == 0
    _, r, _, _ = h.step(("put_items", 0))  # 3 -> 2 hearts, still at the cap
    assert h.inv(0, HEART) == 2 and r[0] == 0
    _, r, _, _ = h.step("noop")  # temple converts: nothing changes for the agent
    _, r, _, _ = h.step(("put_items", 0))  # 2 -> 1: loses one heart's reward
    assert h.inv(0, HEART) == 1 and r[0] == pytest.approx(-1.0)
    assert h.env.episode_rewards(0)[0] == pytest.approx(1.0)
    assert h.stats(0)["reward"] == pytest.approx(1.0)


def test_stat_rewards():
    grp = group(0, "red", stat_rewards=[["action.move.success", 0.5, 1.0]])
    h = Harness(ROOM, groups=[grp])
    got = []
    for a in [("move", 1), ("move", 0), ("move", 0), ("move", 1)]:
        _, r, _, _ = h.step(a)
        got.append(float(r[0]))
    assert got == pytest.approx([0.5, 0.5, 0.0, 0.0])


def test_failure_penalty():
    h = Harness(ROOM, groups=[group(0, "red", action_failure_penalty=0.1)])
    h.step(("move", 0))
    _, r, _, _ = h.step(("move", 0))
    assert r[0] == pytest.approx(-0.1)
    _, r, _, _ = h.step("noop")
    assert r[0] == 0


def test_group_reward_sharing():
    sr = [["action.rotate.success", 1.0, 1e30]]
    groups = [group(0, "red", group_reward_pct=0.5, stat_rewards=sr), group(1, "blue", stat_rewards=sr)]
    h = Harness("""
    #######
    #1.1.2#
    #######
    """, groups=groups)
    _, r, _, _ = h.step(("rotate", 1), "noop", ("rotate", 1))
    # group red: raw [1, 0] -> each keeps half, plus 0.5 * 1 / 2
    assert list(r) == pytest.approx([0.75, 0.25, 1.0])
    _, r, _, _ = h.step(("rotate", 1), ("rotate", 1), "noop")
    assert list(r) == pytest.approx([1.0, 1.0, 0.0])


# ---------------------------------------------------------------------------- episode end


@pytest.mark.parametrize("terminate", [False, True])
def test_max_steps_truncation_or_termination(terminate):
    h = Harness(ROOM, max_steps=3, terminate_at_max_steps=terminate)
    for _ in range(2):
        _, _, term, trunc = h.step("noop")
        assert not term[0] and not trunc[0]
    _, _, term, trunc = h.step("noop")
    assert bool(term[0]) == terminate and bool(trunc[0]) == (not terminate)
    _, _, term, trunc = h.step("noop")
    assert not term[0] and not trunc[0]


def test_no_limit_when_max_steps_zero():
    h = Harness(ROOM, max_steps=0)
    for _ in range(50):
        _, _, term, trunc = h.step("noop")
        assert not term.any() and not trunc.any()
    assert h.env.current_step(0) == 50


def test_auto_reset():
    grp = group(0, "red", stat_rewards=[["action.move.success", 1.0, 1e30]])
    h = Harness(ROOM, max_steps=3, groups=[grp])
    h.step(("move", 0))
    h.step("noop")
    assert h.pos(0) == (1, 2)
    obs, r, _, trunc = h.step(("rotate", LEFT))
    assert trunc[0] and r[0] == 0
    # the buffer holds the new episode's first observation
    assert h.env.current_step(0) == 0 and h.pos(0) == (2, 2)
    center = 0x55
    assert [tuple(t) for t in obs[0][:4]] == [(center, 8, 0), (center, 9, 0), (center, 10, 0), (center, 11, 0)]
    assert h.agent(0)["orientation"] == UP
    results = h.env.episode_results()
    assert len(results) == 1
    res = results[0]
    assert res["env_index"] == 0 and res["steps"] == 3 and res["agent_groups"] == [0]
    assert res["episode_rewards"] == pytest.approx([1.0])
    assert res["agent_stats"][0]["action.move.success"] == 1
    assert res["agent_stats"][0]["action.rotate.success"] == 1
    assert res["game_stats"]["objects.wall"] == 16
    assert h.env.episode_results() == []
    assert h.env.agent_stats(0) == [{}]


def test_desync_first_episode_only():
    grid = parse_map(ROOM)
    h = Harness(grids=[grid] * 16, num_envs=16, max_steps=10, desync_episodes=True, seed=3)
    for _ in range(20):
        h.step(np.zeros((16, 2), dtype=np.int32))
    results = h.env.episode_results()
    first = {}
    later = []
    for r in results:
        if r["env_index"] not in first:
            first[r["env_index"]] = r["steps"]
        else:
            later.append(r["steps"])
    assert len(first) == 16
    assert all(1 <= s <= 10 for s in first.values())
    assert len(set(first.values())) > 1
    assert later and all(s == 10 for s in later)


# ---------------------------------------------------------------------------- observations

OBS_MAP = """
#####
#.m.#
#.@.#
#...#
#####
"""


def expected_obs_map_tokens():
    def loc(dr, dc):
        return ((dr + 2) << 4) | (dc + 2)

    toks = [(0x22, 8, 0), (0x22, 9, 0), (0x22, 10, 0), (0x22, 11, 0)]
    toks += [(0x22, 0, 0), (0x22, 12 + ORE, 2)]  # self: type 0, group 0 omitted, 2 ore
    toks += [(loc(-1, 0), 0, 3), (loc(-1, 0), 6, 1)]  # mine, converting since reset
    window = sorted((abs(dr) + abs(dc), dr, dc) for dr in range(-2, 3) for dc in range(-2, 3))
    for _distance, dr, dc in window:
        if abs(dr) == 2 or abs(dc) == 2:  # the border walls
            toks.append((loc(dr, dc), 0, 1))
    return toks


def test_observation_token_layout():
    grp = group(0, "red", initial_inventory=[2, 0, 0, 0, 0])
    h = Harness(OBS_MAP, obs_width=5, obs_height=5, num_observation_tokens=30, groups=[grp])
    expected = expected_obs_map_tokens()
    assert len(expected) == 24
    assert h.tokens(0) == expected
    assert (h.obs[0][24:] == 255).all()
    assert h.env.game_stats(0)["tokens.written"] == 24
    assert "tokens.dropped" not in h.env.game_stats(0)


def test_observation_globals_and_agent_features():
    sr = [["action.rotate.success", 0.123, 1e30]]
    grp = group(3, "red", initial_inventory=[2, 0, 0, 0, 0], color=7, stat_rewards=sr)
    h = Harness(OBS_MAP, obs_width=5, obs_height=5, num_observation_tokens=30, max_steps=10, groups=[grp])
    toks = h.tokens(0)
    assert toks[4:8] == [(0x22, 0, 0), (0x22, 1, 3), (0x22, 4, 7), (0x22, 12 + ORE, 2)]
    h.step(("rotate", RIGHT))
    toks = h.tokens(0)
    # completion 255 * 1 / 10, last action id 2 (rotate), its arg, round(100 * 0.123)
    assert toks[:4] == [(0x22, 8, 25), (0x22, 9, 2), (0x22, 10, RIGHT), (0x22, 11, 12)]
    assert toks[4:9] == [(0x22, 0, 0), (0x22, 1, 3), (0x22, 3, RIGHT), (0x22, 4, 7), (0x22, 12 + ORE, 2)]


def test_observation_drops_farthest_tokens():
    grp = group(0, "red", initial_inventory=[2, 0, 0, 0, 0])
    h = Harness(OBS_MAP, obs_width=5, obs_height=5, num_observation_tokens=10, groups=[grp])
    assert h.tokens(0) == expected_obs_map_tokens()[:10]
    stats = h.env.game_stats(0)
    assert stats["tokens.dropped"] == 14 and stats["tokens.written"] == 10


def test_observation_small_window_at_map_edge():
    # a 3x3 window at the map edge: cells outside the map are empty
    h = Harness("""
    @s
    """, obs_width=3, obs_height=3, num_observation_tokens=20)
    toks = h.tokens(0)
    assert toks[4:] == [(0x11, 0, 0), (0x12, 0, 2), (0x12, 7, 1)]


def test_feature_names_match_docs():
    h = Harness(ROOM)
    assert h.env.feature_names == FEATURES + ["inv:" + i for i in ITEMS]
    assert h.env.action_names == ["noop", "move", "rotate", "put_items", "get_items", "attack", "swap",
                                  "change_color", "change_glyph"]
    assert h.env.action_max_args == [0, 1, 3, 0, 0, 8, 0, 3, 15]
    assert h.env.item_names == ITEMS
    assert h.env.object_type_names == ["wall", "block", "mine_red", "generator_red", "altar", "temple"]
    assert (h.env.num_envs, h.env.num_agents, h.env.height, h.env.width) == (1, 1, 5, 5)


def test_converter_observation_shows_output_inventory():
    types = with_types(mine_red={"max_output": 3, "initial_resource_count": 3})
    h = Harness(OBS_MAP, obs_width=5, obs_height=5, object_types=types)
    toks = h.tokens(0)
    assert toks[5:7] == [(0x12, 0, 3), (0x12, 12 + ORE, 3)]  # idle: no converting token

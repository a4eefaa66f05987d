"""Helpers for the C++ core tests: a params dict and an int32 grid from a tiny ASCII picture.

The params dict follows docs/mettagrid.md section 9 directly (no Python config layer), so
these tests exercise `mettagrid._core` on its own.
"""

from __future__ import annotations

import copy

import numpy as np

from mettagrid import _core

ITEMS = ["ore_red", "battery_red", "heart", "armor", "laser"]
ORE, BATTERY, HEART, ARMOR, LASER = range(len(ITEMS))

FEATURES = [
    "type_id", "agent:group", "agent:frozen", "agent:orientation", "agent:color", "agent:glyph",
    "converting", "swappable", "episode_completion_pct", "last_action", "last_action_arg", "last_reward",
]  # then "inv:<item>"

ACTIONS = [
    {"name": "noop", "max_arg": 0, "priority": 0, "required": [], "consumed": [], "defense": [], "steal": False},
    {"name": "move", "max_arg": 1, "priority": 0, "required": [], "consumed": [], "defense": [], "steal": False},
    {"name": "rotate", "max_arg": 3, "priority": 0, "required": [], "consumed": [], "defense": [], "steal": False},
    {"name": "put_items", "max_arg": 0, "priority": 0, "required": [], "consumed": [], "defense": [], "steal": False},
    {"name": "get_items", "max_arg": 0, "priority": 0, "required": [], "consumed": [], "defense": [], "steal": False},
    {"name": "attack", "max_arg": 8, "priority": 1, "required": [], "consumed": [[LASER, 1]],
     "defense": [[ARMOR, 1]], "steal": True},
    {"name": "swap", "max_arg": 0, "priority": 0, "required": [], "consumed": [], "defense": [], "steal": False},
    {"name": "change_color", "max_arg": 3, "priority": 0, "required": [], "consumed": [], "defense": [], "steal": False},
    {"name": "change_glyph", "max_arg": 15, "priority": 0, "required": [], "consumed": [], "defense": [], "steal": False},
]
UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3


def converter(name, type_id, inp, out, max_output=-1, max_conversions=-1, conversion_ticks=1,
              cooldown=0, initial_resource_count=0):
    return {"name": name, "type_id": type_id, "kind": "converter", "input": inp, "output": out,
            "max_output": max_output, "max_conversions": max_conversions,
            "conversion_ticks": conversion_ticks, "cooldown": cooldown,
            "initial_resource_count": initial_resource_count, "color": 0,
            "alignable": False, "team_only": False, "use_required": []}


def default_object_types():
    """Cell codes: 1 wall, 2 block, 3 mine_red, 4 generator_red, 5 altar, 6 temple."""
    return [
        {"name": "wall", "type_id": 1, "kind": "wall", "color": 0},
        {"name": "block", "type_id": 2, "kind": "block", "color": 0},
        converter("mine_red", 3, [], [[ORE, 1]], max_output=5, cooldown=50),
        converter("generator_red", 4, [[ORE, 1]], [[BATTERY, 1]], max_output=5, cooldown=25),
        converter("altar", 5, [[BATTERY, 3]], [[HEART, 1]], max_output=5, cooldown=10),
        converter("temple", 6, [[HEART, 1]], [[HEART, 5]], max_output=5, cooldown=5),
    ]


LEGEND = {".": 0, " ": 0, "#": 1, "s": 2, "m": 3, "n": 4, "_": 5, "T": 6, "@": -1, "1": -1, "2": -2}


def group(gid, name, **props):
    n = len(props.pop("items", ITEMS))
    g = {
        "id": gid, "name": name, "group_reward_pct": 0.0, "freeze_duration": 10,
        "resource_limits": [50] * n, "initial_inventory": [0] * n,
        "inventory_rewards": [0.0] * n, "inventory_reward_max": [1e30] * n,
        "stat_rewards": [], "action_failure_penalty": 0.0, "color": 0,
    }
    g.update(props)
    return g


def make_params(num_agents, **overrides):
    params = {
        "num_agents": num_agents,
        "obs_width": 11, "obs_height": 11, "num_observation_tokens": 200,
        "max_steps": 1000, "terminate_at_max_steps": False, "desync_episodes": False,
        "item_names": list(ITEMS),
        "actions": copy.deepcopy(ACTIONS),
        "color_step": 16,
        "object_types": default_object_types(),
        "groups": [group(0, "red"), group(1, "blue")],
    }
    params.update(overrides)
    return params


def parse_map(picture: str, legend=None) -> np.ndarray:
    legend = LEGEND if legend is None else legend
    rows = [line.strip() for line in picture.strip("\n").splitlines() if line.strip()]
    grid = np.array([[legend[ch] for ch in row] for row in rows], dtype=np.int32)
    return grid


def count_agents(grid):
    return int((grid < 0).sum())


class Harness:
    """One VecEnv with its buffers; `step` takes a list of (action name, arg) per agent."""

    def __init__(self, picture=None, params=None, grids=None, num_envs=1, seed=0, num_threads=1,
                 reset=True, **overrides):
        if grids is None:
            grids = [parse_map(picture)] * num_envs
        if params is None:
            params = make_params(count_agents(grids[0]), **overrides)
        self.params = params
        self.env = _core.VecEnv(params, num_envs, seed, num_threads)
        for i, g in enumerate(grids):
            self.env.set_map(i, g)
        n = num_envs * params["num_agents"]
        self.obs = np.zeros((n, params["num_observation_tokens"], 3), dtype=np.uint8)
        self.actions = np.zeros((n, 2), dtype=np.int32)
        self.rewards = np.zeros(n, dtype=np.float32)
        self.terminals = np.zeros(n, dtype=bool)
        self.truncations = np.zeros(n, dtype=bool)
        self.env.set_buffers(self.obs, self.actions, self.rewards, self.terminals, self.truncations)
        self.action_ids = {name: i for i, name in enumerate(self.env.action_names)}
        if reset:
            self.env.reset()

    def step(self, *acts):
        """acts: one (name, arg) per agent (a bare name means arg 0), or a raw int array."""
        if len(acts) == 1 and isinstance(acts[0], np.ndarray):
            self.actions[:] = acts[0]
        else:
            for i, a in enumerate(acts):
                name, arg = (a, 0) if isinstance(a, str) else a
                self.actions[i] = (self.action_ids[name] if isinstance(name, str) else name, arg)
        self.env.step()
        return self.obs, self.rewards, self.terminals, self.truncations

    # Shortcuts for env 0.
    def inv(self, agent, item):
        return int(self.env.agent_inventory(0)[agent, item])

    def pos(self, agent):
        return tuple(int(x) for x in self.env.agent_positions(0)[agent])

    def stats(self, agent):
        return self.env.agent_stats(0)[agent]

    def objects(self, type_name):
        return [o for o in self.env.grid_objects(0) if o["type_name"] == type_name]

    def agent(self, agent):
        return [o for o in self.env.grid_objects(0) if o["kind"] == "agent"][agent]

    def tokens(self, agent):
        """Tokens of an agent as a list of (loc, feature, value), padding removed."""
        return [tuple(int(v) for v in t) for t in self.obs[agent] if not (t == 255).all()]

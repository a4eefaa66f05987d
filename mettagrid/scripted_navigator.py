"""A scripted player: walk the shortest path to the nearest useful building and use it.

A building is useful to an agent when it holds outputs the agent has room for (get_items),
or when the agent holds some of its recipe inputs (put_items). Each step, per agent, a
breadth-first search over free cells finds the nearest cell next to a useful building; the
agent turns toward the next cell of that path and moves, or, once beside the building and
facing it, takes or puts. With nothing useful in reach it wanders.

It reads the full map through `grid_objects` (it is not limited to the agent's window), so it
is an upper-ish baseline for learning benchmarks, not a fair opponent; it runs in Python and is
meant for small evaluation maps.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from mettagrid.vec_env import ACTION_DTYPE, MettaGridVecEnv

# Orientation ids (docs/mettagrid.md): up, down, left, right, as (drow, dcol).
STEPS = ((-1, 0), (1, 0), (0, -1), (0, 1))


class NearestBuildingPolicy:
    def __init__(self, env: MettaGridVecEnv, seed: int = 0):
        self.env = env
        self.rng = np.random.default_rng(seed)
        self.ids = {name: index for index, name in enumerate(env.action_names)}
        self.items = env.item_names
        groups = env.params["groups"]
        self.limits = {group["id"]: group["resource_limits"] for group in groups}
        self.recipes = {t["name"]: t for t in env.params["object_types"] if t["kind"] == "converter"}

    def act(self, observations: np.ndarray) -> np.ndarray:
        actions = np.zeros((self.env.total_agents, 2), dtype=ACTION_DTYPE)
        height, width = self.env.map_size()
        for env_index in range(self.env.num_envs):
            objects = self.env.grid_objects(env_index)
            blocked = np.zeros((height, width), dtype=bool)
            buildings = {}
            for obj in objects:
                blocked[obj["row"], obj["col"]] = True
                if obj["kind"] == "converter":
                    buildings[(obj["row"], obj["col"])] = obj
            for agent in (o for o in objects if o["kind"] == "agent"):
                row = env_index * self.env.num_agents + agent["agent_id"]
                actions[row] = self._agent_action(agent, buildings, blocked)
        return actions

    def _useful(self, agent: dict, building: dict) -> str | None:
        """'get' or 'put' when the agent can do something at this building, else None."""
        inventory = agent["inventory"]
        limits = self.limits.get(agent["group"])
        for item, count in building["output"].items():
            room = (limits[self.items.index(item)] if limits else 255) - inventory.get(item, 0)
            if count > 0 and room > 0 and "get_items" in self.ids:
                return "get"
        recipe = self.recipes.get(building["type_name"])
        if recipe and "put_items" in self.ids:
            if any(inventory.get(self.items[item], 0) > 0 for item, _ in recipe["input"]):
                return "put"
        return None

    def _agent_action(self, agent: dict, buildings: dict, blocked: np.ndarray) -> tuple[int, int]:
        if agent["frozen"]:
            return self.ids.get("noop", 0), 0
        start = (agent["row"], agent["col"])
        # Beside a useful building? Face it, then use it.
        for orientation, (dr, dc) in enumerate(STEPS):
            building = buildings.get((start[0] + dr, start[1] + dc))
            use = building and self._useful(agent, building)
            if use:
                if agent["orientation"] != orientation:
                    return self.ids["rotate"], orientation
                return self.ids["get_items" if use == "get" else "put_items"], 0
        first_step = self._first_step_towards_useful(agent, start, buildings, blocked)
        if first_step is None:
            return self._wander(agent, start, blocked)
        if agent["orientation"] != first_step:
            return self.ids["rotate"], first_step
        return self.ids["move"], 0

    def _first_step_towards_useful(self, agent, start, buildings, blocked) -> int | None:
        """BFS over free cells; the orientation of the first step towards the nearest cell that
        is beside a useful building, or None when none is reachable."""
        height, width = blocked.shape
        first = {start: None}
        queue = deque([start])
        while queue:
            cell = queue.popleft()
            if cell != start:
                for dr, dc in STEPS:
                    building = buildings.get((cell[0] + dr, cell[1] + dc))
                    if building and self._useful(agent, building):
                        return first[cell]
            for orientation, (dr, dc) in enumerate(STEPS):
                nxt = (cell[0] + dr, cell[1] + dc)
                if 0 <= nxt[0] < height and 0 <= nxt[1] < width and not blocked[nxt] and nxt not in first:
                    first[nxt] = orientation if cell == start else first[cell]
                    queue.append(nxt)
        return None

    def _wander(self, agent, start, blocked) -> tuple[int, int]:
        dr, dc = STEPS[agent["orientation"]]
        ahead = (start[0] + dr, start[1] + dc)
        inside = 0 <= ahead[0] < blocked.shape[0] and 0 <= ahead[1] < blocked.shape[1]
        if inside and not blocked[ahead] and self.rng.random() < 0.8:
            return self.ids["move"], 0
        return self.ids["rotate"], int(self.rng.integers(0, 4))

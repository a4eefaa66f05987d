"""What the scripted CoGsGuard policies know of one env: its full state, read once per step.

`World` reads the core's inspection buffers (`replay_frame`, `object_teams`) of one env into
numpy arrays: agents (position, orientation, frozen, group, inventory) and buildings (type,
position, team, output and input inventories). The layout (walls and buildings never move)
is kept per episode, with a breadth-first distance field per building computed on first use:
`distance(b)[r, c]` is the number of moves from (r, c) to a cell beside building `b`
(0 beside it), ignoring agents. Navigation then needs no search per step.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from mettagrid._core import REPLAY_FIXED_COLUMNS
from mettagrid.vec_env import MettaGridVecEnv

# Orientation ids (docs/mettagrid.md): up, down, left, right, as (drow, dcol).
DIRS = ((-1, 0), (1, 0), (0, -1), (0, 1))
FAR = 1 << 20  # distance of a cell that cannot reach the building

# Columns of a replay frame: the core's fixed ones, then inventory and input per item.
_TYPE, _ROW, _COL, _ORIENT, _FROZEN, _GLYPH, _GROUP = (
    REPLAY_FIXED_COLUMNS.index(name) for name in ("type", "row", "col", "orientation", "frozen", "glyph", "group")
)
_FIXED = len(REPLAY_FIXED_COLUMNS)


class Layout:
    """The static part of an episode: walls and buildings, and their distance fields."""

    def __init__(self, frame: np.ndarray, num_agents: int, type_names: dict[int, str], height: int, width: int):
        objects = frame[num_agents:]
        self.height, self.width = height, width
        self.blocked = np.zeros((height, width), dtype=bool)
        self.blocked[objects[:, _ROW], objects[:, _COL]] = True
        names = [type_names.get(int(t), "") for t in objects[:, _TYPE]]
        # Buildings are every object that is not a wall, in object order.
        self.object_index = np.asarray([i for i, n in enumerate(names) if n not in ("", "wall")], dtype=np.int64)
        self.type_name = [names[i] for i in self.object_index]
        self.row = objects[self.object_index, _ROW].astype(np.int64)
        self.col = objects[self.object_index, _COL].astype(np.int64)
        self.at = {(int(r), int(c)): b for b, (r, c) in enumerate(zip(self.row, self.col))}  # cell -> building
        self.of_type: dict[str, list[int]] = {}
        for b, name in enumerate(self.type_name):
            self.of_type.setdefault(name, []).append(b)
        self._fields: dict[int, np.ndarray] = {}

    def distance(self, b: int) -> np.ndarray:
        """Moves from each cell to a cell beside building b (FAR where unreachable)."""
        field = self._fields.get(b)
        if field is None:
            field = self._fields[b] = self._bfs(int(self.row[b]), int(self.col[b]))
        return field

    def _bfs(self, row: int, col: int) -> np.ndarray:
        height, width, blocked = self.height, self.width, self.blocked
        dist = np.full(height * width, FAR, dtype=np.int64)
        flat_blocked = blocked.ravel().tolist()
        out = dist.tolist()
        queue = deque()
        for dr, dc in DIRS:
            r, c = row + dr, col + dc
            if 0 <= r < height and 0 <= c < width and not flat_blocked[r * width + c]:
                out[r * width + c] = 0
                queue.append(r * width + c)
        while queue:
            cell = queue.popleft()
            r, c = divmod(cell, width)
            d = out[cell] + 1
            for nxt, inside in ((cell - width, r > 0), (cell + width, r < height - 1),
                                (cell - 1, c > 0), (cell + 1, c < width - 1)):
                if inside and not flat_blocked[nxt] and out[nxt] > d:
                    out[nxt] = d
                    queue.append(nxt)
        return np.asarray(out, dtype=np.int64).reshape(height, width)


class World:
    """One env's state at the current step, plus its episode's Layout and teams."""

    def __init__(self, env: MettaGridVecEnv, env_index: int):
        self.env, self.env_index = env, env_index
        self.items = env.item_names
        self.item = {name: i for i, name in enumerate(self.items)}
        self.num_agents = env.num_agents
        self.type_names = {t["type_id"]: t["name"] for t in env.params["object_types"]}
        self.limits = {g["id"]: g["resource_limits"] for g in env.params["groups"]}
        # What each building type's recipe takes, per item (static: read once, not per query).
        self.recipe_input: dict[str, dict[str, int]] = {}
        for t in env.params["object_types"]:
            cost: dict[str, int] = {}
            for i, amount in t.get("input", []):
                cost[self.items[i]] = cost.get(self.items[i], 0) + amount
            self.recipe_input.setdefault(t["name"], cost)
        self.layout: Layout | None = None
        self.teams: dict[int, list[int]] = {}  # group id -> its agents, ascending (set per episode)
        self._last_step = -1

    def refresh(self) -> None:
        """Read this step's state; a new episode (the step counter went back) gets a new Layout."""
        env = self.env
        step = env.current_step(self.env_index)
        frame = env.replay_frame(self.env_index)
        if self.layout is None or step <= self._last_step:
            height, width = self.env.map_size()
            self.layout = Layout(frame, self.num_agents, self.type_names, height, width)
            groups = frame[: self.num_agents, _GROUP].tolist()  # agents keep their group all episode
            self.teams = {g: [a for a, h in enumerate(groups) if h == g] for g in sorted(set(groups))}
        self._last_step = step
        self.step = step
        A, NI = self.num_agents, len(self.items)
        agents = frame[:A]
        self.a_row, self.a_col = agents[:, _ROW], agents[:, _COL]
        self.a_orient, self.a_frozen = agents[:, _ORIENT], agents[:, _FROZEN]
        self.a_group, self.a_glyph = agents[:, _GROUP], agents[:, _GLYPH]
        self.a_inv = agents[:, _FIXED : _FIXED + NI]
        buildings = frame[A:][self.layout.object_index]
        self.b_out = buildings[:, _FIXED : _FIXED + NI]
        self.b_in = buildings[:, _FIXED + NI : _FIXED + 2 * NI]
        self.b_team = env.object_teams(self.env_index)[self.layout.object_index]
        self.occupied = np.zeros((self.layout.height, self.layout.width), dtype=np.int64)
        self.occupied[self.a_row, self.a_col] = np.arange(1, A + 1)

    # -- queries used by the roles --------------------------------------------------------------

    def held(self, agent: int, item: str) -> int:
        return int(self.a_inv[agent, self.item[item]])

    def room(self, agent: int, item: str) -> int:
        return self.limits[int(self.a_group[agent])][self.item[item]] - self.held(agent, item)

    def output(self, b: int, item: str) -> int:
        return int(self.b_out[b, self.item[item]])

    def input(self, b: int, item: str) -> int:
        return int(self.b_in[b, self.item[item]])

    def buildings(self, type_name: str) -> list[int]:
        return self.layout.of_type.get(type_name, [])

    def owned(self, type_name: str, team: int) -> list[int]:
        return [b for b in self.buildings(type_name) if self.b_team[b] == team]

    def distance_to(self, agent: int, b: int) -> int:
        return int(self.layout.distance(b)[self.a_row[agent], self.a_col[agent]])

    def nearest(self, agent: int, candidates: list[int]) -> int | None:
        """The reachable candidate fewest moves away (ties: lowest index), or None."""
        best, best_d = None, FAR
        for b in candidates:
            d = self.distance_to(agent, b)
            if d < best_d:
                best, best_d = b, d
        return best

    def cheapest(self, agent: int, candidates: list[tuple[int, str]], empty_cost: int) -> int | None:
        """The candidate (building, item) of least `moves + empty_cost if it holds none of the
        item`, reachable ones only (ties: first listed), or None."""
        best, best_cost = None, FAR
        for b, item in candidates:
            d = self.distance_to(agent, b)
            if d >= FAR:
                continue
            cost = d + (empty_cost if self.output(b, item) == 0 else 0)
            if cost < best_cost:
                best, best_cost = b, cost
        return best

    def enemies(self, agent: int) -> np.ndarray:
        """Agents of other groups that are not frozen."""
        return np.flatnonzero((self.a_group != self.a_group[agent]) & (self.a_frozen == 0))

    def attack_targets(self, agent: int, orientation: int) -> list[int]:
        """Unfrozen agents in the 3x3 block ahead for `orientation`, in the core's scan order."""
        fr, fc = DIRS[orientation]
        lr, lc = -fc, fr
        row, col = int(self.a_row[agent]), int(self.a_col[agent])
        found = []
        for d in (1, 2, 3):
            for side in (1, 0, -1):
                r, c = row + d * fr + side * lr, col + d * fc + side * lc
                if 0 <= r < self.layout.height and 0 <= c < self.layout.width:
                    other = self.occupied[r, c] - 1
                    if other >= 0 and self.a_frozen[other] == 0:
                        found.append(int(other))
        return found

    def free(self, row: int, col: int) -> bool:
        layout = self.layout
        return (0 <= row < layout.height and 0 <= col < layout.width
                and not layout.blocked[row, col] and not self.occupied[row, col])

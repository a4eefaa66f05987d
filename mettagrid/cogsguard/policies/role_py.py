"""`role_py`: a second, independent implementation of the scripted roles, for parity checks.

It follows the same written rules as `role` (docs/cogsguard.md, "Scripted roles") but shares
no code with it: it reads the env through `grid_objects` (plain dicts), keeps its own
breadth-first distance maps, splits roles with its own arithmetic and decides per agent in
one function per role. `scripts/run_cogsguard_parity.py` compares the two: their action
distributions should match closely, not step for step (ties and the random step aside when
stuck may differ).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from mettagrid.vec_env import ACTION_DTYPE, MettaGridVecEnv

MOVES = {0: (-1, 0), 1: (1, 0), 2: (0, -1), 3: (0, 1)}  # orientation -> (drow, dcol)
UNREACHABLE = 10**9
ROLE_ORDER = ["miner", "aligner", "scrambler", "scout"]  # seat order and tie order
WEIGHTS = {"miner": 4, "scout": 2, "aligner": 2, "scrambler": 2}


def seats(weights: dict[str, int], n: int) -> list[str]:
    """Hamilton apportionment of n seats among roles by weight."""
    total = sum(weights.values())
    if n == 0 or total == 0:
        return ["miner"] * n
    exact = [(role, n * weights.get(role, 0) / total) for role in ROLE_ORDER]
    given = {role: math.floor(q) for role, q in exact}
    remainders = sorted(exact, key=lambda rq: rq[1] - math.floor(rq[1]), reverse=True)  # stable: keeps tie order
    for role, _ in remainders[: n - sum(given.values())]:
        given[role] += 1
    out: list[str] = []
    for role in ROLE_ORDER:
        out.extend([role] * given[role])
    return out


class Episode:
    """The cells walls and buildings fill in one env's episode, and distance maps to buildings."""

    def __init__(self, objects: list[dict], height: int, width: int):
        self.height, self.width = height, width
        self.solid = {(obj["row"], obj["col"]) for obj in objects if obj["kind"] != "agent"}
        self.maps: dict[tuple[int, int], dict[tuple[int, int], int]] = {}

    def dist(self, building: dict) -> dict[tuple[int, int], int]:
        key = (building["row"], building["col"])
        if key not in self.maps:
            seen: dict[tuple[int, int], int] = {}
            todo = deque()
            for dr, dc in MOVES.values():
                cell = (key[0] + dr, key[1] + dc)
                if self.open(cell):
                    seen[cell] = 0
                    todo.append(cell)
            while todo:
                cell = todo.popleft()
                for dr, dc in MOVES.values():
                    nxt = (cell[0] + dr, cell[1] + dc)
                    if nxt not in seen and self.open(nxt):
                        seen[nxt] = seen[cell] + 1
                        todo.append(nxt)
            self.maps[key] = seen
        return self.maps[key]

    def open(self, cell: tuple[int, int]) -> bool:
        return 0 <= cell[0] < self.height and 0 <= cell[1] < self.width and cell not in self.solid


class RolePyPolicy:
    def __init__(self, env: MettaGridVecEnv, seed: int = 0, **counts: int):
        if "align" not in env.action_names or "junction" not in env.object_type_names:
            raise ValueError("role_py plays CoGsGuard games only")
        bad = set(counts) - set(WEIGHTS)
        if bad or any(v < 0 for v in counts.values()) or (counts and not any(counts.values())):
            raise ValueError(f"role_py: bad role counts {counts}")
        self.env = env
        self.weights = dict(counts) if counts else dict(WEIGHTS)
        self.random = np.random.default_rng(seed)
        self.action = {name: i for i, name in enumerate(env.action_names)}
        self.items = env.item_names
        self.caps = {g["id"]: dict(zip(self.items, g["resource_limits"])) for g in env.params["groups"]}
        self.energy_price = {}
        for t in env.params["object_types"]:
            if t["name"].endswith("_station"):
                self.energy_price[t["name"]] = sum(n for i, n in t.get("input", []) if self.items[i] == "energy")
        self.episodes: list[Episode | None] = [None] * env.num_envs
        self.last_step = [-1] * env.num_envs
        self.blocked_for: dict[tuple[int, int], int] = {}
        self.detours: dict[tuple[int, int], tuple[tuple[int, int], list[tuple[int, int]]]] = {}
        self.last_roles: list[list[str]] = [[] for _ in range(env.num_envs)]

    # -- per step ---------------------------------------------------------------------------------

    def act(self, observations: np.ndarray | None = None) -> np.ndarray:
        env = self.env
        out = np.zeros((env.total_agents, 2), dtype=ACTION_DTYPE)
        height, width = env.map_size()
        for e in range(env.num_envs):
            objects = env.grid_objects(e)
            step = env.current_step(e)
            if self.episodes[e] is None or step <= self.last_step[e]:
                self.episodes[e] = Episode(objects, height, width)
            self.last_step[e] = step
            self.ep, self.e, self.step_no = self.episodes[e], e, step
            agents = [o for o in objects if o["kind"] == "agent"]
            self.agents = agents
            self.buildings = [o for o in objects if o["kind"] == "converter"]
            self.taken = {(a["row"], a["col"]) for a in agents}
            team_members: dict[int, list[int]] = {}
            for a in agents:
                team_members.setdefault(a["group"], []).append(a["agent_id"])
            role_of = {}
            for members in team_members.values():
                role_of.update(zip(members, seats(self.weights, len(members))))
            self.last_roles[e] = [role_of[i] for i in range(env.num_agents)]
            for a in agents:
                name, arg = ("noop", 0) if a["frozen"] else getattr(self, role_of[a["agent_id"]])(a)
                out[e * env.num_agents + a["agent_id"]] = (self.action[name], arg)
        return out

    # -- what the agent sees ----------------------------------------------------------------------

    def has(self, a: dict, item: str) -> int:
        return a["inventory"].get(item, 0)

    def of(self, kind: str, team: int | None = None) -> list[dict]:
        """Buildings of a kind; with `team`, only those that team holds (-1: neutral)."""
        return [b for b in self.buildings if b["type_name"] == kind and (team is None or b.get("team", -1) == team)]

    def moves_to(self, a: dict, b: dict) -> int:
        return self.ep.dist(b).get((a["row"], a["col"]), UNREACHABLE)

    def closest(self, a: dict, buildings: list[dict]) -> dict | None:
        best = None
        for b in buildings:
            d = self.moves_to(a, b)
            if d < UNREACHABLE and (best is None or d < best[0]):
                best = (d, b)
        return best[1] if best else None

    def best_source(self, a: dict, options: list[tuple[dict, str]]) -> tuple[dict, str] | None:
        """Fewest moves, an empty source counting 5 more; first listed wins ties."""
        best = None
        for b, item in options:
            d = self.moves_to(a, b)
            if d >= UNREACHABLE:
                continue
            score = d + (5 if b["output"].get(item, 0) == 0 else 0)
            if best is None or score < best[0]:
                best = (score, b, item)
        return (best[1], best[2]) if best else None

    def free(self, cell: tuple[int, int]) -> bool:
        return self.ep.open(cell) and cell not in self.taken

    # -- moving -----------------------------------------------------------------------------------

    def go_and(self, a: dict, b: dict, verb: str) -> tuple[str, int]:
        here = (a["row"], a["col"])
        dist = self.ep.dist(b)
        if dist.get(here) == 0:
            face = next(o for o, (dr, dc) in MOVES.items() if (here[0] + dr, here[1] + dc) == (b["row"], b["col"]))
            return (verb, 0) if a["orientation"] == face else ("rotate", face)
        return self.head_for(a, b, dist)

    def head_for(self, a: dict, b: dict, dist: dict) -> tuple[str, int]:
        """Keep to a detour taken earlier toward this building while it stays open; else downhill."""
        here, me, goal = (a["row"], a["col"]), (self.e, a["agent_id"]), (b["row"], b["col"])
        kept = self.detours.pop(me, None)
        if kept and kept[0] == goal:
            cells = kept[1][1:] if kept[1] and kept[1][0] == here else kept[1]
            if cells and abs(cells[0][0] - here[0]) + abs(cells[0][1] - here[1]) == 1 and self.free(cells[0]):
                self.detours[me] = (goal, cells)
                o = next(o for o, (dr, dc) in MOVES.items() if (here[0] + dr, here[1] + dc) == cells[0])
                return ("move", 0) if o == a["orientation"] else ("rotate", o)
        return self.downhill(a, lambda cell: dist.get(cell, UNREACHABLE), dist, goal)

    def downhill(self, a: dict, height_of, goal: dict | None = None, target=None) -> tuple[str, int]:
        here = (a["row"], a["col"])
        h = height_of(here)
        me = (self.e, a["agent_id"])
        if h < UNREACHABLE:
            for o in [a["orientation"], 0, 1, 2, 3]:
                cell = (here[0] + MOVES[o][0], here[1] + MOVES[o][1])
                if self.free(cell) and height_of(cell) < h:
                    self.blocked_for[me] = 0
                    return ("move", 0) if o == a["orientation"] else ("rotate", o)
            if goal is not None:
                cells = self.around_agents(here, goal)
                if cells:
                    self.blocked_for[me] = 0
                    self.detours[me] = (target, cells)
                    o = next(o for o, (dr, dc) in MOVES.items() if (here[0] + dr, here[1] + dc) == cells[0])
                    return ("move", 0) if o == a["orientation"] else ("rotate", o)
        self.blocked_for[me] = self.blocked_for.get(me, 0) + 1
        if h < UNREACHABLE and self.blocked_for[me] < 3:
            return "noop", 0
        return self.step_aside(a)

    def around_agents(self, start: tuple[int, int], goal: dict) -> list[tuple[int, int]] | None:
        """The cells of a shortest path through free cells to a cell of distance 0 (start excluded)."""
        queue = deque([start])
        came: dict[tuple[int, int], tuple[int, int] | None] = {start: None}
        while queue:
            cell = queue.popleft()
            for o in range(4):
                nxt = (cell[0] + MOVES[o][0], cell[1] + MOVES[o][1])
                if nxt in came or not self.free(nxt):
                    continue
                came[nxt] = cell
                if goal.get(nxt) == 0:
                    walk = [nxt]
                    while came[walk[0]] != start:
                        walk.insert(0, came[walk[0]])
                    return walk
                queue.append(nxt)
        return None

    def step_aside(self, a: dict) -> tuple[str, int]:
        here = (a["row"], a["col"])
        options = [o for o in range(4) if self.free((here[0] + MOVES[o][0], here[1] + MOVES[o][1]))]
        if not options:
            return "noop", 0
        o = options[int(self.random.integers(len(options)))]
        self.blocked_for[(self.e, a["agent_id"])] = 0
        return ("move", 0) if o == a["orientation"] else ("rotate", o)

    def wait_near(self, a: dict, b: dict) -> tuple[str, int]:
        dist = self.ep.dist(b)
        here = (a["row"], a["col"])
        d = dist.get(here, UNREACHABLE)
        if d == 0:
            for o in range(4):
                cell = (here[0] + MOVES[o][0], here[1] + MOVES[o][1])
                if self.free(cell) and 0 < dist.get(cell, UNREACHABLE) < UNREACHABLE:
                    return ("move", 0) if o == a["orientation"] else ("rotate", o)
            return "noop", 0
        if d <= 3:
            return "noop", 0
        return self.head_for(a, b, dist)

    # -- shared errands ---------------------------------------------------------------------------

    def energy_run(self, a: dict) -> tuple[str, int]:
        pick = self.best_source(a, [(c, "energy") for c in self.of("charger", a["group"])])
        if pick is None:
            return "noop", 0
        charger = pick[0]
        return self.go_and(a, charger, "get_items" if charger["output"].get("energy", 0) else "noop")

    def gear_run(self, a: dict, role: str) -> tuple[str, int] | None:
        gear = role + "_gear"
        if self.has(a, gear):
            return None
        station = self.closest(a, self.of(role + "_station", a["group"]))
        if station is None:
            return "noop", 0
        if station["output"].get(gear, 0):
            return self.go_and(a, station, "get_items")
        if self.energy_price.get(role + "_station", 0) <= station["input"].get("energy", 0):
            return self.go_and(a, station, "noop")
        if self.has(a, "energy"):
            return self.go_and(a, station, "put_items")
        return self.energy_run(a)

    # -- the roles --------------------------------------------------------------------------------

    def miner(self, a: dict) -> tuple[str, int]:
        errand = self.gear_run(a, "miner")
        if errand:
            return errand
        ore, inf = self.has(a, "ore"), self.has(a, "influence")
        hub = self.closest(a, self.of("hub", a["group"]))
        loaded = ore >= 9 or inf >= 4 or (ore >= 6 and inf >= 2)
        if hub and loaded:
            return self.go_and(a, hub, "put_items")
        if hub and self.moves_to(a, hub) == 0:
            if ore >= 3 and inf >= 1:
                return self.go_and(a, hub, "put_items")
            if hub["output"].get("heart", 0) >= 5 and self.has(a, "heart") < self.caps[a["group"]]["heart"]:
                return self.go_and(a, hub, "get_items")
        options: list[tuple[dict, str]] = []
        if ore < 6:
            options += [(b, "ore") for b in self.of("ore_extractor")]
        if inf < 2:
            options += [(b, "influence") for b in self.of("influence_extractor")]
            options += [(b, "influence") for b in self.of("junction", a["group"])]
        pick = self.best_source(a, options)
        if pick:
            b, item = pick
            return self.go_and(a, b, "get_items" if b["output"].get(item, 0) else "noop")
        return self.go_and(a, hub, "put_items") if hub else ("noop", 0)

    def aligner(self, a: dict) -> tuple[str, int]:
        errand = self.gear_run(a, "aligner")
        if errand:
            return errand
        hub = self.closest(a, self.of("hub", a["group"]))
        if not self.has(a, "heart"):
            if hub is None:
                return "noop", 0
            return self.go_and(a, hub, "get_items") if hub["output"].get("heart", 0) else self.wait_near(a, hub)
        for kind in ("junction", "charger"):
            target = self.closest(a, self.of(kind, -1))
            if target:
                return self.go_and(a, target, "align")
        return self.wait_near(a, hub) if hub else ("noop", 0)

    def scrambler(self, a: dict) -> tuple[str, int]:
        errand = self.gear_run(a, "scrambler")
        if errand:
            return errand
        if not self.has(a, "energy"):
            return self.energy_run(a)
        for kind in ("junction", "charger"):
            target = self.closest(a, [b for b in self.of(kind) if b.get("team", -1) not in (-1, a["group"])])
            if target:
                return self.go_and(a, target, "scramble")
        spot = self.closest(a, self.of("junction"))
        return self.go_and(a, spot, "noop") if spot else ("noop", 0)

    def scout(self, a: dict) -> tuple[str, int]:
        errand = self.gear_run(a, "scout")
        if errand:
            return errand
        if not self.has(a, "energy"):
            return self.energy_run(a)
        at = {(o["row"], o["col"]): o for o in self.agents if not o["frozen"]}
        for o in [a["orientation"], 0, 1, 2, 3]:
            fr, fc = MOVES[o]
            seen = []
            for d in (1, 2, 3):
                for side in (1, 0, -1):  # the agent's left, ahead, right
                    other = at.get((a["row"] + d * fr - side * fc, a["col"] + d * fc + side * fr))
                    if other:
                        seen.append(other)
            hit = next((i for i, other in enumerate(seen) if other["group"] != a["group"]), None)
            if hit is not None:
                return ("attack", hit) if o == a["orientation"] else ("rotate", o)
        foes = [o for o in self.agents if o["group"] != a["group"] and not o["frozen"]]
        if foes:
            foe = min(foes, key=lambda o: (abs(o["row"] - a["row"]) + abs(o["col"] - a["col"]), o["agent_id"]))
            return self.downhill(a, lambda cell: abs(cell[0] - foe["row"]) + abs(cell[1] - foe["col"]))
        junctions = self.of("junction")
        if not junctions:
            return "noop", 0
        return self.go_and(a, junctions[(a["agent_id"] + self.step_no // 50) % len(junctions)], "noop")

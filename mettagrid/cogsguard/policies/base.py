"""What the scripted CoGsGuard roles share: role splits, moving, fetching energy and gear.

`Nav` walks agents along the World's distance fields and holds the little state moving needs
(how long an agent has been stuck) and the policy's RNG, so a policy is deterministic given
its seed. Every role module (miner, scout, aligner, scrambler) has `act(world, agent, nav)`
returning an action by name, following docs/cogsguard.md ("Scripted roles").
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mettagrid.cogsguard.world import DIRS, FAR, World

Action = tuple[str, int]
ROLES = ("miner", "scout", "aligner", "scrambler")
GLYPHS = {"miner": 1, "scout": 2, "aligner": 3, "scrambler": 4}  # change_glyph arg per role
DEFAULT_WEIGHTS = {"miner": 4, "scout": 2, "aligner": 2, "scrambler": 2}
TIE_ORDER = ("miner", "aligner", "scrambler", "scout")  # who gets a seat on equal remainders
STUCK_STEPS = 3  # blocked this many steps in a row: step aside at random
LINGER = 3  # waiting agents stand this many moves (or fewer, not 0) from the building
EMPTY_COST = 5  # choosing a source: an empty one counts as this many extra moves


def split_roles(weights: dict[str, int], size: int, order: tuple[str, ...] = TIE_ORDER) -> list[str]:
    """`size` roles in proportion to `weights` (largest remainder; ties in `order`), grouped in
    `order`: by default miners first, then aligners, scramblers, scouts."""
    total = sum(weights.get(role, 0) for role in order)
    if size == 0 or total == 0:
        return ["miner"] * size
    quotas = {role: weights.get(role, 0) * size / total for role in order}
    counts = {role: int(q) for role, q in quotas.items()}
    left = size - sum(counts.values())
    for role in sorted(order, key=lambda r: (-(quotas[r] - counts[r]), order.index(r)))[:left]:
        counts[role] += 1
    return [role for role in order for _ in range(counts[role])]


def check_counts(params: dict[str, int], owner: str) -> dict[str, int]:
    """Role counts from URI parameters (`miner=4&scout=2`), the default split when none given."""
    counts = {role: int(params[role]) for role in ROLES if role in params}
    if any(n < 0 for n in counts.values()):
        raise ValueError(f"{owner}: role counts must be >= 0 (got {counts})")
    if counts and sum(counts.values()) == 0:
        raise ValueError(f"{owner}: at least one role count must be > 0")
    return counts or dict(DEFAULT_WEIGHTS)


class Nav:
    """Turns 'go to this building and use it' into rotate / move / use actions."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.stuck: dict[tuple[int, int], int] = {}
        # A detour being followed: (env, agent) -> (target cell, cells still to walk).
        self.routes: dict[tuple[int, int], tuple[tuple[int, int], list[tuple[int, int]]]] = {}

    def use(self, world: World, agent: int, b: int, verb: str) -> Action:
        """Walk beside building b, face it, then `verb` it (`noop` waits beside it)."""
        row, col = int(world.a_row[agent]), int(world.a_col[agent])
        field = world.layout.distance(b)
        if field[row, col] == 0:
            toward = DIRS.index((int(world.layout.row[b]) - row, int(world.layout.col[b]) - col))
            if int(world.a_orient[agent]) != toward:
                return "rotate", toward
            return verb, 0
        return self.go(world, agent, b, field)

    def go(self, world: World, agent: int, b: int, field) -> Action:
        """A step toward a cell beside building b: along a detour being followed, else downhill."""
        row, col = int(world.a_row[agent]), int(world.a_col[agent])
        key, target = (world.env_index, agent), (int(world.layout.row[b]), int(world.layout.col[b]))
        route = self.routes.pop(key, None)
        if route is not None and route[0] == target:
            path = route[1][1:] if route[1] and route[1][0] == (row, col) else route[1]
            if path and abs(path[0][0] - row) + abs(path[0][1] - col) == 1 and world.free(*path[0]):
                self.routes[key] = (target, path)
                d = DIRS.index((path[0][0] - row, path[0][1] - col))
                return ("move", 0) if d == int(world.a_orient[agent]) else ("rotate", d)
        return self.descend(world, agent, lambda r, c: int(field[r, c]), field, target)

    def linger(self, world: World, agent: int, b: int) -> Action:
        """Wait near building b without standing beside it (its sides stay free for users)."""
        row, col = int(world.a_row[agent]), int(world.a_col[agent])
        field = world.layout.distance(b)
        here = int(field[row, col])
        if here == 0:
            for d in range(4):
                r, c = row + DIRS[d][0], col + DIRS[d][1]
                if world.free(r, c) and 0 < field[r, c] < FAR:
                    return ("move", 0) if d == int(world.a_orient[agent]) else ("rotate", d)
            return "noop", 0
        if here <= LINGER:
            return "noop", 0
        return self.go(world, agent, b, field)

    def toward_cell(self, world: World, agent: int, row: int, col: int) -> Action:
        """One greedy step nearer (Manhattan) to a cell, e.g. another agent's."""
        return self.descend(world, agent, lambda r, c: abs(r - row) + abs(c - col))

    def descend(self, world: World, agent: int, cost: Callable[[int, int], int], field=None, target=None) -> Action:
        """A step to a free neighbour of lower cost (facing first, then up, down, left, right);
        when agents block all of them, a shortest detour around agents to a cell of `field` 0
        (if given), followed from then on (see `go`); else wait, and after STUCK_STEPS waits
        step aside."""
        row, col = int(world.a_row[agent]), int(world.a_col[agent])
        here = cost(row, col)
        orient = int(world.a_orient[agent])
        key = (world.env_index, agent)
        if here < FAR:
            for d in (orient, 0, 1, 2, 3):
                r, c = row + DIRS[d][0], col + DIRS[d][1]
                if world.free(r, c) and cost(r, c) < here:
                    self.stuck[key] = 0
                    return ("move", 0) if d == orient else ("rotate", d)
            path = detour(world, row, col, field) if field is not None else None
            if path:
                self.stuck[key] = 0
                self.routes[key] = (target, path)
                d = DIRS.index((path[0][0] - row, path[0][1] - col))
                return ("move", 0) if d == orient else ("rotate", d)
        self.stuck[key] = self.stuck.get(key, 0) + 1
        if self.stuck[key] < STUCK_STEPS and here < FAR:
            return "noop", 0
        return self.wander(world, agent)

    def wander(self, world: World, agent: int) -> Action:
        row, col = int(world.a_row[agent]), int(world.a_col[agent])
        open_dirs = [d for d in range(4) if world.free(row + DIRS[d][0], col + DIRS[d][1])]
        if not open_dirs:
            return "noop", 0
        d = open_dirs[int(self.rng.integers(len(open_dirs)))]
        self.stuck[(world.env_index, agent)] = 0
        return ("move", 0) if d == int(world.a_orient[agent]) else ("rotate", d)


def detour(world: World, row: int, col: int, field) -> list[tuple[int, int]] | None:
    """The cells of a shortest path over free cells (no agents) from (row, col) to a cell where
    `field` is 0, by breadth-first search expanding up, down, left, right; None without one."""
    parent: dict[tuple[int, int], tuple[int, int] | None] = {(row, col): None}
    frontier = [(row, col)]
    while frontier:
        nxt = []
        for r, c in frontier:
            for dr, dc in DIRS:
                cell = (r + dr, c + dc)
                if cell in parent or not world.free(*cell):
                    continue
                parent[cell] = (r, c)
                if field[cell] == 0:
                    path = [cell]
                    while parent[path[-1]] != (row, col):
                        path.append(parent[path[-1]])
                    return path[::-1]
                nxt.append(cell)
        frontier = nxt
    return None


# -- steps several roles share ------------------------------------------------------------------


def fetch_energy(world: World, agent: int, nav: Nav) -> Action:
    """Take energy from the cheapest own charger (moves, + EMPTY_COST when empty), or wait there."""
    own = world.owned("charger", int(world.a_group[agent]))
    b = world.cheapest(agent, [(b, "energy") for b in own], EMPTY_COST)
    if b is None:
        return "noop", 0
    return nav.use(world, agent, b, "get_items" if world.output(b, "energy") > 0 else "noop")


def fetch_gear(world: World, agent: int, role: str, nav: Nav) -> Action | None:
    """None when the agent holds its role's gear; else the next step of getting it: take it from
    the own station, or pay the station's energy first (fetching energy if needed)."""
    gear = f"{role}_gear"
    if world.held(agent, gear) > 0:
        return None
    station = world.nearest(agent, world.owned(f"{role}_station", int(world.a_group[agent])))
    if station is None:
        return "noop", 0
    if world.output(station, gear) > 0:
        return nav.use(world, agent, station, "get_items")
    price = world.recipe_input.get(f"{role}_station", {}).get("energy", 0)
    missing = price - world.input(station, "energy")
    if missing <= 0:
        return nav.use(world, agent, station, "noop")  # paid: the gear is on its way
    if world.held(agent, "energy") > 0:
        return nav.use(world, agent, station, "put_items")
    return fetch_energy(world, agent, nav)


def fetch_heart(world: World, agent: int, nav: Nav) -> Action | None:
    """None when the agent holds a heart; else the next step of taking one from the own hub
    (waiting beside it while it has none)."""
    if world.held(agent, "heart") > 0:
        return None
    hub = world.nearest(agent, world.owned("hub", int(world.a_group[agent])))
    if hub is None:
        return "noop", 0
    if world.output(hub, "heart") > 0:
        return nav.use(world, agent, hub, "get_items")
    return nav.linger(world, agent, hub)


def arm(world: World, agent: int, role: str, nav: Nav) -> Action | None:
    """For roles whose action costs energy (scout, scrambler): the errand that comes first,
    the role's gear and then energy to spend, or None when the agent holds both."""
    step = fetch_gear(world, agent, role, nav)
    if step is None and world.held(agent, "energy") == 0:
        step = fetch_energy(world, agent, nav)
    return step

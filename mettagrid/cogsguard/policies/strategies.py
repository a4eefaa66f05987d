"""Team strategies beyond the fixed roles: `cogsguard_v2`, `wombo`, `cogsguard_control`,
`cogsguard_targeted` (docs/cogsguard.md, "Scripted policies").

* `cogsguard_v2`: `cogsguard`'s smart gear, re-planned every `gear` steps by default (10;
  0 = never), and every agent also takes the opportunity in front of it
  (tactics.opportunity): a miner passing a neutral junction with a heart and aligner gear
  aligns it, a scrambler with energy scrambles what it faces, a scout strikes without turning.
* `wombo`: miners and raiders (tactics.act_raider: both aligner and scrambler gear, so one
  agent scrambles a junction and aligns it itself), one scout in a team of 4 or more while
  the other team has unfrozen agents, and every agent opportunistic. Re-planned every `gear`
  steps (default 10): raider seats = junctions and chargers to take (neutral or the other
  team's), at most half the team; the rest mine.
* `cogsguard_control`: junction control. Default split 3 miners : 3 aligners : 2 scramblers,
  no scouts, re-planned as `cogsguard?gear=N` (default 10). Its scramblers defend: they
  take back the other team's junction nearest their own hub first (then chargers), so the
  aligners re-claim the junctions easiest to keep.
* `cogsguard_targeted`: goes after the other team's junctions. Fixed split
  `miner:aligner:raider:scout` (default 3:2:3:0); its raiders go for junctions the other team holds (scramble, then align
  the one just scrambled), neutral ones only when the other team holds none; its scouts
  chase the enemies carrying aligner gear first (the ones that take junctions).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from mettagrid.cogsguard.policies import scout
from mettagrid.cogsguard.policies.base import Action, Nav, arm, split_roles
from mettagrid.cogsguard.policies.cogsguard import CogsGuardPolicy
from mettagrid.cogsguard.policies.tactics import act_raider
from mettagrid.cogsguard.policies.team import PLAY
from mettagrid.cogsguard.world import World
from mettagrid.vec_env import MettaGridVecEnv

REPLAN_STEPS = 10
RAIDER_ORDER = ("miner", "raider", "aligner", "scrambler", "scout")


def _claim_counts(world: World, team: int) -> tuple[int, int]:
    """(neutral, held by another team) junctions and chargers."""
    buildings = world.buildings("junction") + world.buildings("charger")
    neutral = sum(1 for b in buildings if world.b_team[b] == -1)
    theirs = sum(1 for b in buildings if world.b_team[b] not in (-1, team))
    return neutral, theirs


def _unfrozen_enemies(world: World, team: int) -> int:
    return int(((world.a_group != team) & (world.a_frozen == 0)).sum())


class CogsGuardV2Policy(CogsGuardPolicy):
    opportunist = True

    def __init__(self, env: MettaGridVecEnv, seed: int = 0, gear: int = REPLAN_STEPS, **counts: int):
        super().__init__(env, seed, gear=gear, **counts)


class WomboPolicy(CogsGuardPolicy):
    opportunist = True

    def __init__(self, env: MettaGridVecEnv, seed: int = 0, gear: int = REPLAN_STEPS):
        super().__init__(env, seed, gear=gear)
        self.weights = {"miner": 1, "raider": 1}

    def split(self, size: int) -> list[str]:
        return split_roles(self.weights, size, RAIDER_ORDER)

    def _wanted(self, world: World, team: int, size: int) -> dict[str, int]:
        neutral, theirs = _claim_counts(world, team)
        wanted = {"scout": 1 if size >= 4 and _unfrozen_enemies(world, team) else 0}
        wanted["raider"] = min(neutral + theirs, size // 2)
        wanted["miner"] = size - sum(wanted.values())
        return wanted


def act_defender(world: World, agent: int, nav: Nav) -> Action:
    """Scrambler of `cogsguard_control`: the other team's junction nearest the own hub first."""
    step = arm(world, agent, "scrambler", nav)
    if step is not None:
        return step
    team = int(world.a_group[agent])
    hub = world.nearest(agent, world.owned("hub", team))
    for kind in ("junction", "charger"):
        theirs = [b for b in world.buildings(kind) if world.b_team[b] not in (-1, team)]
        if theirs:
            return nav.use(world, agent, _nearest_to(world, hub, theirs), "scramble")
    return PLAY["scrambler"](world, agent, nav)


def _nearest_to(world: World, hub: int | None, candidates: list[int]) -> int:
    """The candidate fewest cells (Manhattan) from the hub (ties: first listed); the first without a hub."""
    if hub is None:
        return candidates[0]
    row, col = world.layout.row, world.layout.col
    return min(candidates, key=lambda b: abs(row[b] - row[hub]) + abs(col[b] - col[hub]))


class ControlPolicy(CogsGuardPolicy):
    play: ClassVar[dict] = {**PLAY, "scrambler": act_defender}

    def __init__(self, env: MettaGridVecEnv, seed: int = 0, gear: int = REPLAN_STEPS, **counts: int):
        super().__init__(env, seed, gear=gear, **(counts or {"miner": 3, "aligner": 3, "scrambler": 2, "scout": 0}))


def act_hunter(world: World, agent: int, nav: Nav) -> Action:
    """Scout of `cogsguard_targeted`: chases enemies holding aligner gear before the others."""
    step = arm(world, agent, "scout", nav)
    if step is not None:
        return step
    team = int(world.a_group[agent])
    aligners = [e for e in world.enemies(agent) if world.held(int(e), "aligner_gear") > 0]
    if not aligners or any(world.a_group[t] != team for d in range(4) for t in world.attack_targets(agent, d)):
        return scout.act(world, agent, nav)  # someone to hit from here, or no aligner to chase
    gaps = [abs(int(world.a_row[e]) - int(world.a_row[agent])) + abs(int(world.a_col[e]) - int(world.a_col[agent]))
            for e in aligners]
    target = int(aligners[int(np.argmin(gaps))])
    return nav.toward_cell(world, agent, int(world.a_row[target]), int(world.a_col[target]))


class TargetedPolicy(CogsGuardPolicy):
    play: ClassVar[dict] = {**PLAY, "raider": lambda world, agent, nav: act_raider(world, agent, nav, enemy_first=True),
            "scout": act_hunter}

    def __init__(self, env: MettaGridVecEnv, seed: int = 0, **counts: int):
        super().__init__(env, seed)
        counts = {role: int(n) for role, n in counts.items()}
        if any(n < 0 for n in counts.values()) or (counts and sum(counts.values()) == 0):
            raise ValueError(f"cogsguard_targeted: role counts must be >= 0, one > 0 (got {counts})")
        self.weights = counts or {"miner": 3, "aligner": 2, "raider": 3}

    def split(self, size: int) -> list[str]:
        return split_roles(self.weights, size, RAIDER_ORDER)


"""Diagnostics for scripted CoGsGuard policies: the rollout sanity check, the parity comparison
and the instrumented audit behind `scripts/run_cogsguard_*.py` (docs/cogsguard.md).

Each function runs a short rollout on one env of a mission and returns a report dict with a
`passed` flag and printable `lines`; the scripts print the lines and exit 0 when it passed,
1 when it found a failure.

Per step, a `Probe` reads what every agent faced and held before its action, and what
changed after it, so the checks can say *which* building an agent used:
a successful get that raised ore or influence was mining; a put that lowered them was a
deposit; an align / scramble is judged by the building it faced.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np

from mettagrid.cogsguard.missions import load_mission
from mettagrid.cogsguard.policies.base import ROLES
from mettagrid.cogsguard.world import DIRS
from mettagrid.vec_env import MettaGridVecEnv

RESOURCES = ("ore", "influence", "energy", "heart")


def policy_uri(name: str) -> str:
    """`role` -> `metta://policy/role`; URIs pass through."""
    return name if "://" in name or "/" in name else f"metta://policy/{name}"


def make_rollout(mission: str, policy: str, agents: int | None, steps: int, seed: int):
    """A one-env rollout of `mission` (`agents` per team when given), `policy` playing both
    teams; the episode outlasts the `steps` steps."""
    from metta.agent.policy_uri import resolve_policies

    config = load_mission(mission, cogs=agents, clips=agents, max_steps=steps + 1, desync_episodes=False)
    env = MettaGridVecEnv(config, num_envs=1, seed=seed)
    return env, resolve_policies(policy_uri(policy))[0].make_actor(env, seed=seed)


def play(env: MettaGridVecEnv, actor: Any, observations: np.ndarray,
         steps: int) -> Iterator[tuple[int, np.ndarray, list[str], Probe, Probe]]:
    """Step `steps` times from `observations`; yields (step, actions, roles, before, after):
    the actions taken, each agent's role when it chose them, and Probes around the step."""
    before = Probe(env)
    for step in range(1, steps + 1):
        actions = actor.act(observations)
        roles = _roles(actor, before)
        observations, _, _, _ = env.step(actions)
        env.episode_results()
        after = Probe(env)
        yield step, actions, roles, before, after
        before = after


def add_rollout_arguments(parser: argparse.ArgumentParser, steps: int) -> None:
    """The options every diagnostic script takes: --steps, --agents, --mission, --seed."""
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--agents", type=int, default=None, help="agents per team (default: the mission's)")
    parser.add_argument("--mission", default="cogsguard_arena.basic")
    parser.add_argument("--seed", type=int, default=0)


def print_report(report: dict[str, Any]) -> int:
    """Print a report's lines; the script's exit code (0 passed, 1 a failure found)."""
    print("\n".join(report["lines"]))
    return 0 if report["passed"] else 1


class Probe:
    """The state of one env around each step: who faced what, who held what, what changed."""

    def __init__(self, env: MettaGridVecEnv):
        self.env = env
        self.items = env.item_names
        self.item = {name: i for i, name in enumerate(self.items)}
        self.type_of = {t["type_id"]: t["name"] for t in env.params["object_types"]}
        self.groups = {g["id"]: g["name"] for g in env.params["groups"]}
        self.action_names = env.action_names
        self.read()

    def read(self) -> None:
        env, A, NI = self.env, self.env.num_agents, len(self.items)
        frame = env.replay_frame(0)
        self.frame = frame
        self.agents = frame[:A]
        self.inventory = frame[:A, 14 : 14 + NI].copy()
        objects = frame[A:]
        self.teams = env.object_teams(0)
        self.at: dict[tuple[int, int], int] = {}
        for o, (_type, r, c) in enumerate(objects[:, :3].tolist()):
            self.at[(r, c)] = o
        self.object_type = [self.type_of.get(t, "") for t in objects[:, 0].tolist()]
        self.object_out = objects[:, 14 : 14 + NI]

    def facing(self, agent: int) -> tuple[str, int] | None:
        """(type name, owner group id or -1) of the object the agent faces, or None."""
        row, col, orient = (int(v) for v in self.agents[agent, 1:4])
        o = self.at.get((row + DIRS[orient][0], col + DIRS[orient][1]))
        if o is None:
            return None
        return self.object_type[o], int(self.teams[o])

    def group(self, agent: int) -> int:
        return int(self.agents[agent, 7])

    def held(self, agent: int, item: str) -> int:
        return int(self.inventory[agent, self.item[item]])


def _roles(actor: Any, probe: Probe) -> list[str]:
    """Each agent's role: the policy's own word when it keeps one, else the gear it holds."""
    policy = getattr(actor, "policy", None)
    roles = getattr(policy, "last_roles", None)
    if roles and roles[0]:
        return list(roles[0])
    out = []
    for a in range(probe.env.num_agents):
        held = [role for role in ROLES if probe.held(a, f"{role}_gear") > 0]
        out.append(held[0] if held else "none")
    return out


# -- the rollout sanity check --------------------------------------------------------------------


def rollout_check(
    mission: str = "cogsguard_arena.basic",
    policy: str = "metta://policy/role",
    steps: int = 200,
    agents: int | None = None,
    seed: int = 0,
    trace_roles: bool = False,
    trace_prereqs: bool = False,
    trace_resources: bool = False,
    trace_every: int = 50,
) -> dict[str, Any]:
    """Run `steps` steps (the policy plays both teams) and check structures, alignment tags,
    roles, mining and alignment targets, and gear acquisition."""
    env, actor = make_rollout(mission, policy, agents, steps, seed)
    observations = env.reset()
    lines: list[str] = []
    failures: list[str] = []
    counts: Counter = Counter()

    # Structures: every team has its hub, stations and charger, tagged with its group.
    objects = [o for o in env.grid_objects(0) if o["kind"] == "converter"]
    kinds = Counter(o["type_name"] for o in objects)
    lines.append("structures: " + ", ".join(f"{k}={v}" for k, v in sorted(kinds.items())))
    team_ids = {g["name"]: g["id"] for g in env.params["groups"]}
    for team, gid in team_ids.items():
        for kind in ("hub", "charger", *(f"{r}_station" for r in ROLES)):
            if not any(o["type_name"] == kind and o.get("team") == gid for o in objects):
                failures.append(f"{team} has no {kind} of its own")
    if not failures:
        lines.append(f"hub discovery: every team ({', '.join(team_ids)}) has its hub, chargers and stations")
    # Charger tags: the object_teams buffer and grid_objects agree, and only real groups own them.
    teams = env.object_teams(0)
    for o in (o for o in objects if o["type_name"] == "charger"):
        if o.get("team") not in (-1, *team_ids.values()) or teams[o["object_id"]] != o.get("team"):
            failures.append(f"charger at ({o['row']}, {o['col']}) has an inconsistent team tag")
    counts["chargers"] = kinds["charger"]

    cogs = team_ids.get("cogs")
    roles_seen_per_step = 0
    previous_roles: list[str] | None = None
    for step, actions, roles, before, after in play(env, actor, observations, steps):
        team_roles = {r for a, r in enumerate(roles) if before.group(a) == cogs}
        if set(ROLES) <= team_roles:
            roles_seen_per_step += 1
        if trace_roles and (step == 1 or step % trace_every == 0):
            dist = Counter(r for a, r in enumerate(roles) if before.group(a) == cogs)
            lines.append(f"step {step}: cogs roles " + ", ".join(f"{r}={dist[r]}" for r in (*ROLES, "none")))
        if previous_roles is not None:
            counts["role_transitions"] += sum(1 for x, y in zip(previous_roles, roles) if x != y)
        previous_roles = roles
        _judge_step(before, after, actions, roles, counts, trace_prereqs, lines, step)
        if trace_resources and (step == 1 or step % trace_every == 0):
            lines.append(f"step {step}: cogs hold " + ", ".join(
                f"{item}={sum(after.held(a, item) for a in range(env.num_agents) if after.group(a) == cogs)}"
                for item in RESOURCES))

    counts["steps_with_all_roles"] = roles_seen_per_step
    if roles_seen_per_step == 0:
        failures.append("the four roles (miner, scout, aligner, scrambler) never played at once in the cogs team")
    for key in ("mine_mismatches", "align_mismatches", "scramble_mismatches"):
        if counts[key]:
            failures.append(f"{key} = {counts[key]} (agents used the wrong kind of structure)")
    if counts["gear_acquired"] == 0:
        failures.append("no gear acquired")
    if counts["deposits"] == 0 and steps >= 100:
        failures.append("no miner deposited resources at its hub")
    lines.append("counts: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    lines += [f"FAIL: {f}" for f in failures]
    lines.append("PASS" if not failures else f"{len(failures)} check(s) failed")
    return {"passed": not failures, "failures": failures, "counts": dict(counts), "lines": lines}


def _judge_step(before: Probe, after: Probe, actions, roles, counts: Counter, trace: bool, lines, step) -> None:
    names = before.action_names
    for a in range(before.env.num_agents):
        name = names[int(actions[a, 0])] if 0 <= int(actions[a, 0]) < len(names) else "invalid"
        faced = before.facing(a)
        team = before.group(a)
        gained = after.inventory[a] - before.inventory[a]
        g = {item: int(gained[before.item[item]]) for item in before.items}
        if name == "get_items" and faced:
            kind, owner = faced
            if g.get("ore", 0) > 0 or g.get("influence", 0) > 0:
                counts["mined"] += 1
                ok = kind in ("ore_extractor", "influence_extractor") or (kind == "junction" and owner == team)
                counts["mine_mismatches"] += 0 if ok else 1
            for role in ROLES:
                if g.get(f"{role}_gear", 0) > 0:
                    counts["gear_acquired"] += 1
                    counts[f"gear_acquired.{role}"] += 1
                    if trace:
                        lines.append(f"step {step}: agent {a} ({roles[a]}) took {role} gear at {kind}")
        if name == "put_items" and faced:
            kind, owner = faced
            if faced[0].endswith("_station") and before.held(a, "energy") == 0 and owner == team:
                counts["gear_attempts_without_resources"] += 1
            if (g.get("ore", 0) < 0 or g.get("influence", 0) < 0):
                counts["deposits"] += 1
                counts["mine_mismatches"] += 0 if (kind == "hub" and owner == team) else 1
        if name == "align":
            ok = bool(faced) and faced[0] in ("junction", "charger") and faced[1] == -1
            counts["aligns"] += 1
            counts["align_mismatches"] += 0 if ok or before.held(a, "aligner_gear") == 0 else 1
        if name == "scramble":
            ok = bool(faced) and faced[0] in ("junction", "charger") and faced[1] not in (-1, team)
            counts["scrambles"] += 1
            counts["scramble_mismatches"] += 0 if ok or before.held(a, "scrambler_gear") == 0 else 1


# -- parity ----------------------------------------------------------------------------------------


# What a rollout achieved, compared by parity next to the action shares.
OUTCOMES = ("heart.gained", "junction.aligned", "junction.scrambled", "action.attack.success")


def action_profile(mission: str, policy: str, steps: int, agents: int | None, seed: int) -> dict[str, Any]:
    """Action counts by name, move success rate and outcome totals (OUTCOMES, summed over every
    agent and every episode of the rollout) of `policy` playing both teams."""
    env, actor = make_rollout(mission, policy, agents, steps, seed)
    observations = env.reset()
    counts: Counter = Counter()
    totals: Counter = Counter()

    def add(stats: list[dict[str, float]]) -> None:
        for key in (*OUTCOMES, "action.move.success", "action.move.failed"):
            totals[key] += sum(s.get(key, 0.0) for s in stats)

    for _ in range(steps):
        actions = actor.act(observations)
        for action_id in actions[:, 0].tolist():
            counts[env.action_names[action_id] if 0 <= action_id < len(env.action_names) else "invalid"] += 1
        observations, _, _, _ = env.step(actions)
        for result in env.episode_results():
            add(result["agent_stats"])
    add(env.agent_stats(0))  # the episode still running
    ok, failed = totals["action.move.success"], totals["action.move.failed"]
    return {"counts": counts, "total": sum(counts.values()), "move_success": ok / (ok + failed) if ok + failed else 0.0,
            "outcomes": {key: totals[key] for key in OUTCOMES}}


def parity(
    policy_a: str,
    policy_b: str,
    mission: str = "cogsguard_arena.basic",
    steps: int = 500,
    agents: int | None = None,
    seed: int = 0,
    tolerance: float = 0.05,
) -> dict[str, Any]:
    """Compare two policies' action distributions (same mission, seed and length). Passes when
    the total variation distance between the action shares and the difference of the move
    success rates are both within `tolerance`."""
    a = action_profile(mission, policy_a, steps, agents, seed)
    b = action_profile(mission, policy_b, steps, agents, seed)
    names = sorted(set(a["counts"]) | set(b["counts"]))
    share_a = {n: a["counts"][n] / max(1, a["total"]) for n in names}
    share_b = {n: b["counts"][n] / max(1, b["total"]) for n in names}
    deltas = sorted(((share_a[n] - share_b[n], n) for n in names), key=lambda d: -abs(d[0]))
    tv = 0.5 * sum(abs(d) for d, _ in deltas)
    move_gap = abs(a["move_success"] - b["move_success"])
    lines = [f"policy A {policy_a}: " + ", ".join(f"{n}={a['counts'][n]}" for n in names),
             f"policy B {policy_b}: " + ", ".join(f"{n}={b['counts'][n]}" for n in names),
             f"move success: A {a['move_success']:.3f}  B {b['move_success']:.3f}",
             "outcomes (all agents): " + ", ".join(f"{k} A {a['outcomes'][k]:g} B {b['outcomes'][k]:g}"
                                                   for k in OUTCOMES),
             "largest deltas (share A - share B): " + ", ".join(f"{n} {d:+.3f}" for d, n in deltas[:5]),
             f"total variation {tv:.3f}, move success gap {move_gap:.3f}, tolerance {tolerance}"]
    passed = tv <= tolerance and move_gap <= tolerance
    lines.append("PASS" if passed else "FAIL: the action distributions differ beyond the tolerance")
    return {"passed": passed, "total_variation": tv, "move_success_gap": move_gap, "lines": lines,
            "counts_a": dict(a["counts"]), "counts_b": dict(b["counts"]),
            "outcomes_a": a["outcomes"], "outcomes_b": b["outcomes"]}


# -- the instrumented audit -----------------------------------------------------------------------


def audit(
    mission: str = "cogsguard_arena.basic",
    policy: str = "metta://policy/role_py",
    steps: int = 1000,
    agents: int | None = None,
    seed: int = 0,
    trace_every: int = 200,
) -> dict[str, Any]:
    """Role distribution and collective resources every `trace_every` steps, role transitions,
    and per agent the chargers and extractors it took from. Fails when no hub made a heart in
    a rollout of 300 steps or more, or some agent never had a role."""
    env, actor = make_rollout(mission, policy, agents, steps, seed)
    observations = env.reset()
    probe = Probe(env)  # the last state seen (after the loop: the final one)
    cogs = next(g["id"] for g in env.params["groups"] if g["name"] == "cogs")
    lines: list[str] = []
    transitions: Counter = Counter()
    used: dict[int, dict[str, set]] = {a: {"charger": set(), "extractor": set()} for a in range(env.num_agents)}
    previous_roles: list[str] | None = None
    previous_totals: dict[str, int] | None = None
    hearts_made = 0
    roleless = set(range(env.num_agents))
    for step, actions, roles, before, probe in play(env, actor, observations, steps):
        roleless -= {a for a, r in enumerate(roles) if r != "none"}
        if previous_roles is not None:
            for x, y in zip(previous_roles, roles):
                if x != y:
                    transitions[f"{x}->{y}"] += 1
        previous_roles = roles
        for a in range(env.num_agents):
            if env.action_names[int(actions[a, 0])] != "get_items":
                continue
            faced = before.facing(a)
            if faced and int((probe.inventory[a] - before.inventory[a]).clip(min=0).sum()) > 0:
                row, col, orient = (int(v) for v in before.agents[a, 1:4])
                where = (row + DIRS[orient][0], col + DIRS[orient][1])
                if faced[0] == "charger":
                    used[a]["charger"].add(where)
                elif faced[0].endswith("_extractor"):
                    used[a]["extractor"].add(where)
        hearts_made = int(env.building_stats(0).get("hub.produced.heart", 0))
        if step == 1 or step % trace_every == 0 or step == steps:
            dist = Counter(r for a, r in enumerate(roles) if probe.group(a) == cogs)
            lines.append(f"step {step}: roles " + ", ".join(f"{r}={dist[r]}" for r in (*ROLES, "none") if dist[r]))
            totals = {item: sum(probe.held(a, item) for a in range(env.num_agents) if probe.group(a) == cogs)
                      for item in RESOURCES}
            totals["hearts_made_by_both_hubs"] = hearts_made
            delta = "" if previous_totals is None else " (" + ", ".join(
                f"{k} {totals[k] - previous_totals[k]:+d}" for k in totals) + ")"
            lines.append(f"step {step}: cogs resources " + ", ".join(f"{k}={v}" for k, v in totals.items()) + delta)
            previous_totals = totals
    lines.append("role transitions: " + (", ".join(f"{k}={v}" for k, v in sorted(transitions.items())) or "none"))
    for a in range(env.num_agents):
        lines.append(f"agent {a} ({probe.groups[probe.group(a)]}, {previous_roles[a] if previous_roles else '?'}): "
                     f"chargers={len(used[a]['charger'])} extractors={len(used[a]['extractor'])}")
    failures = []
    if steps >= 300 and hearts_made == 0:
        failures.append("no heart was made: production is broken")
    if roleless:
        failures.append(f"agents {sorted(roleless)} never had a role")
    lines += [f"FAIL: {f}" for f in failures]
    lines.append("PASS" if not failures else f"{len(failures)} check(s) failed")
    return {"passed": not failures, "failures": failures, "lines": lines, "transitions": dict(transitions),
            "hearts_made": hearts_made}

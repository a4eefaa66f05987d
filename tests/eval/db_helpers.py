"""Stats databases built by hand with DuckDB SQL, so analysis tests know every number that
went in. The schema is `metta.sim.stats_db`'s (which stores metrics in a table behind the
spec's `agent_metrics` view); `SPEC_SCHEMA` is the bare spec, for checking that the
analysis needs nothing beyond the spec's columns."""

from __future__ import annotations

import itertools
from pathlib import Path

SPEC_SCHEMA = """
CREATE TABLE simulations (id VARCHAR PRIMARY KEY, name VARCHAR, suite VARCHAR, env VARCHAR,
                          policy_key VARCHAR, policy_version INTEGER);
CREATE TABLE episodes (id VARCHAR PRIMARY KEY, step_count INTEGER, created_at TIMESTAMP,
                       completed_at TIMESTAMP, simulation_id VARCHAR, replay_url VARCHAR);
CREATE TABLE episode_attributes (episode_id VARCHAR, attribute VARCHAR, value VARCHAR);
CREATE TABLE agent_groups (episode_id VARCHAR, group_id INTEGER, agent_id INTEGER);
CREATE TABLE agent_metrics (episode_id VARCHAR, agent_id INTEGER, metric VARCHAR, value DOUBLE);
CREATE TABLE agent_policies (episode_id VARCHAR, agent_id INTEGER, policy_key VARCHAR, policy_version INTEGER);
"""


class StatsDbBuilder:
    """`add_episode(name, suite, {agent_id: ((key, version), {metric: value})})`; zeros are
    not stored, as the real writer does."""

    _ids = itertools.count()

    def __init__(self, path: Path, spec_only: bool = False):
        import duckdb

        self.path = Path(path)
        self.db = duckdb.connect(str(self.path))
        if spec_only:
            self.db.execute(SPEC_SCHEMA)
        else:
            from metta.sim.stats_db import create_schema

            create_schema(self.db)
        tables = {r[0] for r in self.db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'").fetchall()}
        self.metrics_table = "agent_metric_values" if "agent_metric_values" in tables else "agent_metrics"
        self.simulations: dict[tuple, str] = {}

    def simulation(self, name: str, suite: str, policy: tuple) -> str:
        key = (name, suite, policy)
        if key not in self.simulations:
            sim_id = f"sim{next(self._ids)}"
            self.db.execute(
                "INSERT INTO simulations (id, name, suite, env, policy_key, policy_version) VALUES (?, ?, ?, ?, ?, ?)",
                [sim_id, name, suite, f"env/{name}", policy[0], policy[1]],
            )
            self.simulations[key] = sim_id
        return self.simulations[key]

    def add_episode(self, name: str, suite: str, agents: dict[int, tuple[tuple, dict[str, float]]]) -> str:
        evaluated = next(iter(agents.values()))[0]
        sim_id = self.simulation(name, suite, evaluated)
        episode_id = f"ep{next(self._ids)}"
        self.db.execute("INSERT INTO episodes VALUES (?, 100, now(), now(), ?, NULL)", [episode_id, sim_id])
        for agent_id, ((key, version), metrics) in agents.items():
            self.db.execute("INSERT INTO agent_groups VALUES (?, 0, ?)", [episode_id, agent_id])
            self.db.execute("INSERT INTO agent_policies VALUES (?, ?, ?, ?)", [episode_id, agent_id, key, version])
            for metric, value in metrics.items():
                if value != 0:
                    self.db.execute(f"INSERT INTO {self.metrics_table} VALUES (?, ?, ?, ?)",
                                    [episode_id, agent_id, metric, value])
        return episode_id

    def close(self) -> Path:
        self.db.close()
        return self.path


V1, V2, RANDOM = ("nav_run", "v1"), ("nav_run", "v2"), ("random", "builtin")


def fill_two_policy_db(db: StatsDbBuilder, v1=V1, v2=V2, rnd=RANDOM) -> Path:
    """Two checkpoints of `nav_run` and the built-in `random` on two navigation maps and one
    arena map; the numbers are chosen to be easy by hand (see test_analysis.py)."""
    # navigation/emptyspace, one agent per episode: v2 rewards 1,2,3,4; v1 0,0,1,1; random 0 x4.
    for v2_reward, v1_reward in zip([1, 2, 3, 4], [0, 0, 1, 1]):
        db.add_episode("emptyspace", "navigation", {0: (v2, {"reward": v2_reward, "altar.used": 1})})
        db.add_episode("emptyspace", "navigation", {0: (v1, {"reward": v1_reward})})
        db.add_episode("emptyspace", "navigation", {0: (rnd, {"reward": 0, "action.move": 5})})
    # navigation/walls, two agents x two episodes: v2 2,2,0,4; v1 1,1,1,1.
    db.add_episode("walls", "navigation", {0: (v2, {"reward": 2}), 1: (v2, {"reward": 2})})
    db.add_episode("walls", "navigation", {0: (v2, {"reward": 0}), 1: (v2, {"reward": 4})})
    db.add_episode("walls", "navigation", {0: (v1, {"reward": 1}), 1: (v1, {"reward": 1})})
    db.add_episode("walls", "navigation", {0: (v1, {"reward": 1}), 1: (v1, {"reward": 1})})
    # arena/basic (the name has its category already): only v2, three agents in one episode.
    db.add_episode("arena/basic", "all", {0: (v2, {"reward": 3}), 1: (v2, {"reward": 6}), 2: (v2, {"reward": 0})})
    return db.close()


def two_policy_db(path: Path) -> Path:
    return fill_two_policy_db(StatsDbBuilder(path))


def showcase_db(path: Path, seed: int = 7) -> Path:
    """A fuller, seeded database for the documentation screenshots: three checkpoints of a run
    getting better, two built-ins, eight evaluations, four agents in five episodes each."""
    import random

    rng = random.Random(seed)
    skill = {("nav_run", "v10"): 0.35, ("nav_run", "v20"): 0.6, ("nav_run", "v40"): 0.85,
             ("simple", "builtin"): 0.3, ("random", "builtin"): 0.08}
    maps = {"emptyspace": 1.0, "walls": 0.8, "corridors": 0.6, "labyrinth": 0.35, "radial_maze": 0.5,
            "obstacles": 0.7}
    evaluations = [(f"navigation/{m}", e) for m, e in maps.items()] + [("arena/basic", 0.5), ("arena/combat", 0.3)]
    db = StatsDbBuilder(path)
    for policy, level in skill.items():
        for name, ease in evaluations:
            for _ in range(5):
                agents = {}
                for agent in range(4):
                    found = rng.random() < level * ease + 0.05
                    agents[agent] = (policy, {
                        "reward": round(found * rng.uniform(0.6, 1.0) * (3 if name.startswith("arena") else 1), 3),
                        "altar.used": int(found),
                        "action.move": rng.randint(20, 120),
                    })
                db.add_episode(name, "all", agents)
    return db.close()

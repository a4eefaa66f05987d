"""The team strategies (cogsguard_v2, wombo, cogsguard_control, cogsguard_targeted) play as
docs/cogsguard.md says: each checked by what it does in a short game."""

from mettagrid._core import REPLAY_FIXED_COLUMNS

from metta.agent.policy_uri import resolve_policies
from metta.cogames.scrimmage import scrimmage
from metta.sim.suite_runner import MixedActor
from mettagrid.cogsguard.missions import load_mission
from mettagrid.vec_env import MettaGridVecEnv

STEPS = 300


def per_agent_stats(uri, opponent="metta://policy/role"):
    """One basic episode (uri as cogs): each cogs agent's stats."""
    env = MettaGridVecEnv(load_mission("cogsguard_arena.basic", max_steps=STEPS, desync_episodes=False), num_envs=1)
    ours, theirs = (resolve_policies(u)[0].make_actor(env, seed=s) for u, s in ((uri, 0), (opponent, 1)))
    observations = env.reset()
    cogs = env.replay_frame(0)[: env.num_agents, REPLAY_FIXED_COLUMNS.index("group")] == 1  # cogs: group 1
    actor = MixedActor(ours, theirs, cogs)
    while not (results := env.episode_results()):
        observations, *_ = env.step(actor.act(observations))
    env.close()
    return [stats for stats, mine in zip(results[0]["agent_stats"], cogs) if mine]


def mean(uri, opponent, mission="cogsguard_arena.basic"):
    return scrimmage(mission, uri, episodes=1, steps=STEPS, seed=0, opponent_uri=opponent)["mean"]


def test_control_holds_more_junctions_than_random_and_than_role():
    control = mean("metta://policy/cogsguard_control", "metta://policy/random")
    random = mean("metta://policy/random", "metta://policy/random")
    assert random["cogs/aligned.junction.held"] == 0
    assert control["cogs/aligned.junction.held"] > 0.5 * 8 * STEPS  # over half of 8 junctions' steps
    # Against the same opponent (role), control holds more junction-steps than role does.
    held = {uri: mean(f"metta://policy/{uri}", "metta://policy/role")["cogs/aligned.junction.held"]
            for uri in ("cogsguard_control", "role")}
    assert held["cogsguard_control"] > held["role"], held


def test_raiders_take_junctions_from_the_other_team_themselves():
    # A raider scrambles a junction and then aligns it; in `role` no agent does both.
    for uri in ("metta://policy/cogsguard_targeted", "metta://policy/wombo"):
        stats = per_agent_stats(uri)
        assert any(s.get("junction.scrambled", 0) > 0 and s.get("junction.aligned", 0) > 0 for s in stats), uri
    assert not any(s.get("junction.scrambled", 0) and s.get("junction.aligned", 0)
                   for s in per_agent_stats("metta://policy/role"))


def test_targeted_spends_its_claims_on_the_other_teams_junctions():
    targeted = mean("metta://policy/cogsguard_targeted", "metta://policy/role")
    wombo = mean("metta://policy/wombo", "metta://policy/role")
    share = {name: m["cogs/junction.scrambled"] / max(1.0, m["cogs/junction.aligned"])
             for name, m in (("targeted", targeted), ("wombo", wombo))}
    assert share["targeted"] > share["wombo"], share


def test_v2_takes_the_chances_smart_gear_walks_past():
    # The same re-planned roles as cogsguard?gear=10, plus opportunities: over two seeds against
    # role, v2 holds more junction-steps.
    def held(uri):
        return sum(scrimmage("cogsguard_arena.basic", uri, episodes=1, steps=STEPS, seed=seed,
                             opponent_uri="metta://policy/role")["mean"]["cogs/aligned.junction.held"]
                   for seed in (0, 1))

    assert held("metta://policy/cogsguard_v2") > held("metta://policy/cogsguard?gear=10")

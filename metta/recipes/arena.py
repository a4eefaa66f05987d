"""Arena: 24 agents gathering, crafting and fighting; shaped rewards make it learnable quickly.

`train` is the arena goal's run (issue #19, docs/performance.md "Arena learning"): the `fast`
agent with the 2-core `hardware=cpu` settings on the original's easy shaped arena, for the
original's release budget of 100M agent steps. On 2 CPU cores these settings (one update epoch,
the feature scale frozen; about 40k agent-steps/s) made 6.3-6.8 hearts per agent in 12 minutes;
`devops/bench/learn.py arena` trains them on a wall-clock budget. The Protein sweep
`configs/sweep/arena_basic_easy_shaped.yaml` (20 runs of 5M steps, with two update epochs) found
nothing better than its center: its best run sat within 15% of it and inside the run-to-run
noise (docs/performance.md "Arena learning")."""

from metta.recipes import RecipeCall

ENV = "mettagrid/arena/basic_easy_shaped"
TRAIN = [f"env={ENV}", "sim=arena", "agent=fast", "trainer.total_timesteps=100_000_000"]


def train() -> RecipeCall:
    return RecipeCall("train_job", list(TRAIN))


def evaluate() -> RecipeCall:
    return RecipeCall("sim_job", ["sim_job.simulation_suite=arena"])


def analyze() -> RecipeCall:
    return RecipeCall("analyze_job", ["analysis.policy_selector.metric=arena_score", "analysis.suite=arena"])


def replay() -> RecipeCall:
    return RecipeCall("replay_job", [f"replay_job.sim.env={ENV}"])


def play() -> RecipeCall:
    return RecipeCall("play_job", [f"replay_job.sim.env={ENV}"])

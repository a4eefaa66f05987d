"""Arena: 24 agents gathering, crafting and fighting; shaped rewards make it learnable quickly."""

from metta.recipes import RecipeCall

ENV = "mettagrid/arena/basic_easy_shaped"


def train() -> RecipeCall:
    return RecipeCall("train_job", [f"env={ENV}", "sim=arena"])


def evaluate() -> RecipeCall:
    return RecipeCall("sim_job", ["sim_job.simulation_suite=arena"])


def analyze() -> RecipeCall:
    return RecipeCall("analyze_job", ["analysis.policy_selector.metric=arena_score", "analysis.suite=arena"])


def replay() -> RecipeCall:
    return RecipeCall("replay_job", [f"replay_job.sim.env={ENV}"])


def play() -> RecipeCall:
    return RecipeCall("play_job", [f"replay_job.sim.env={ENV}"])

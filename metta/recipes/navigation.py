"""Navigation: one agent finding altars; evaluated on the fixed navigation maps."""

from metta.recipes import RecipeCall

ENV = "mettagrid/navigation"


def train() -> RecipeCall:
    return RecipeCall("train_job", [f"env={ENV}", "sim=navigation"])


def evaluate() -> RecipeCall:
    return RecipeCall("sim_job", ["sim_job.simulation_suite=navigation"])


def analyze() -> RecipeCall:
    return RecipeCall("analyze_job", ["analysis.policy_selector.metric=navigation_score", "analysis.suite=navigation"])


def replay() -> RecipeCall:
    return RecipeCall("replay_job", [f"replay_job.sim.env={ENV}"])


def play() -> RecipeCall:
    return RecipeCall("play_job", [f"replay_job.sim.env={ENV}"])

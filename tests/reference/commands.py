"""Every command line of the reference documents, one row per line, in document order.

A row is the line as the document types it (continuation lines joined), plus what the test
changes to run it here, each stated: `budget` is appended to shrink long work (later
overrides win; `env` where no argument can), placeholders such as `<run_id>` get the
document's values (a row's own over them), `given` lists what the document's lines assume
exists (made before its first line runs: files, checkpoints, buckets, local services), and
a row's `before` lists what the reader has done just before that line with the project's
own tools (trained the run it names, generated the map it views).

A row runs unless it says why not:
  hosted   needs a service or machine that has no local stand-in (an ssh host, a GPU, a
           wandb account); the reason is shown in the test report
  serves   a viewer that runs until interrupted: the test opens the address it prints
           (the page must answer) and then stops it
  syntax   a usage pattern (`<tool> <recipe> [args...]`), not a command
  red      fails because of the project (the reason says how), expected to fail until fixed
  refused  a documented form that cannot work the same way here: the line must exit 2 (or
           the tool's own code, `refused_code`) with one line on stderr that names the fault
           and what to type instead (the row gives text that line must contain)

Rows marked `quick` (one per tool and form, each cheap and needing no earlier line) run in
the default test run; METTA_REFERENCE_WALK=1 walks every row.

S3 lines run against a local S3 server (moto) with the bucket the line names; the
tournament lines run against the local tournament server (metta/tournament), started at the
address `cogames login` uses by default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.reference.givens import Given


@dataclass(frozen=True)
class Row:
    line: int
    command: str
    budget: str = ""
    expect: str = ""  # text the output must contain, where the exit code alone says too little
    hosted: str = ""
    syntax: bool = False
    serves: bool = False  # runs until interrupted: passes when the address it prints answers
    timeout: float = 240
    refused: str = ""  # the one-line error must contain this (what to type instead)
    refused_code: int = 2  # the exit code of a refusal (2, a usage error, unless the tool says otherwise)
    placeholders: dict[str, str] = field(default_factory=dict)  # this line's values, over the document's
    # What the document says (in prose, not as a command) happens before this line, done with
    # the project's own tools; each must exit 0.
    before: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)  # a budget set in the environment (where no argument can)
    red: str = ""  # known to fail, and why: the project's fault, not the line's (an expected failure)
    quick: bool = False  # also in the default test run (the full walk needs METTA_REFERENCE_WALK=1)


@dataclass
class Doc:
    name: str
    rows: list[Row]
    placeholders: dict[str, str] = field(default_factory=dict)
    given: Given = field(default_factory=Given)


ARENA = "mettagrid/arena/basic_easy_shaped"
NAVIGATION = "mettagrid/navigation"

# Budgets. A training line keeps what it types (batch sizes, architectures) and trains one
# small batch; evaluations play one short episode per simulation.
TRAIN = "trainer.total_timesteps=1024 trainer.batch_size=1024 trainer.minibatch_size=512"
TRAIN_STEPS = "trainer.total_timesteps=1024"
EVAL = "sim_job.num_episodes=1 sim_job.max_steps=60"
# Viewers: without a display they write the replay and exit; serve=true makes them serve as on a
# desktop, so the test opens the page. Any free port, so a busy 8000 here does not matter.
VIEWER = "replay_job.serve=true replay_job.port=0"


WANDB_ARTIFACT = "a wandb artifact: network access and a wandb account (no local stand-in)"
# ./tools/upload_map_imgs.py uploads to this bucket by default (on the local S3 server here).
UPLOAD_MAP_IMGS_BUCKET = "softmax-public"

# Files a reader of the tools pages has written: a map builder config, a scene file.
USER_FILES = {
    "map_config.yaml": "# my map: a small random room\ntype: random\nwidth: 15\nheight: 11\nborder_width: 1\n"
                       "agents: 2\nobjects: {altar: 2, wall: 12}\n",
    "scene.yaml": "# my scene\ngenerator:\n  type: wfc\n  pattern_size: 3\n  pattern: |\n    ........\n"
                  "    ..##....\n    ..##..#.\n    ......#.\n    .#......\n",
    "configs/my_config.yaml": "# my training config\ndefaults:\n  - train_job\n  - _self_\n\nrun: my_experiment\n"
                              "trainer:\n  total_timesteps: 100000\n",
}
# What a reader has done before some lines (a row's `before`), with the project's own tools:
# generated the map a line views (./my_map.yaml is viewed before the walkthrough that makes it),
MAP_YAML = ("./tools/map/gen.py configs/env/mettagrid/maps/maze_9x9.yaml --output-uri=./map.yaml",)
MY_MAP_YAML = ("./tools/map/gen.py configs/env/mettagrid/maps/template.yaml --output-uri=./my_map.yaml",)
# trained the runs the dashboard line picks by name,
RUN1_RUN2 = (f"./tools/train.py run=run1 {TRAIN}", f"./tools/train.py run=run2 {TRAIN}")
# evaluated a policy into the stats DB a line reads from S3.
S3_STATS_DB = ((f"./tools/sim.py sim_job.policy_uris=metta://policy/random sim_job.simulation_suite=smoke_test {EVAL} "
                "sim_job.stats_db_uri=s3://my-bucket/evaluations/experiment_001.db"),)


# `metta install` is devops/setup.sh: pip from a package index into .venv, which in the walk
# is the test run's own interpreter.
INSTALLS = "installs packages from a package index (network) into the venv the walk itself runs in"


ARCHITECTURE_MAP = Doc(
    "architecture-map.md",
    given=Given(checkpoints={
        "train_dir/my_run/checkpoints/my_run:v42.pt": ARENA,
        "train_dir/run1/checkpoints/run1:v10.pt": ARENA,
        "train_dir/run2/checkpoints/run2:v20.pt": ARENA,
        "s3://my-bucket/policies/run_name/checkpoints/run_name:v10.pt": ARENA,
    }, files={
        # The document's recipe walkthrough: step 1 is "create recipes/experiment/my_recipe.py".
        "metta/recipes/experiment/my_recipe.py": (
            '"""A user\'s recipe: the arena with a longer episode."""\n\n'
            "from metta.recipes import RecipeCall\n\n\n"
            "def train() -> RecipeCall:\n"
            '    return RecipeCall("train_job", ["env=mettagrid/arena/basic_easy_shaped", "env.game.max_steps=500"])\n'
        ),
    }),
    rows=[
        Row(49, "./tools/run.py <tool> <recipe> [key=value ...]", syntax=True, quick=True),
        Row(50, "./tools/run.py train arena run=my_experiment", budget=TRAIN),
        Row(548, "uv run python devops/tools/ensure_recipe_packages.py"),
        Row(801, "./tools/run.py <tool> <recipe> [args...]", syntax=True),
        Row(802, "./tools/run.py train arena run=my_run trainer.total_timesteps=1000000", budget=TRAIN),
        Row(803, "./tools/run.py evaluate arena policy_uris=file://./train_dir/my_run/checkpoints", budget=EVAL),
        Row(804, "./tools/run.py play arena", budget=VIEWER, serves=True),
        Row(805, "./tools/run.py analyze arena"),
        Row(877, "export TEST_ID=$(date +%Y%m%d_%H%M%S)", quick=True),
        Row(878, "./tools/run.py train arena run=test_$TEST_ID trainer.total_timesteps=1000000", budget=TRAIN, quick=True),
        Row(881, "./tools/run.py train arena_basic_easy_shaped run=prod_run_1 trainer.total_timesteps=100000000",
            budget=TRAIN),
        Row(884, "./tools/run.py train arena run=my_exp trainer.total_timesteps=50000000 trainer.batch_size=512 "
                 "policy_architecture=latent_attn_small trainer.learning_rate=0.001", budget=TRAIN_STEPS),
        Row(896, "./tools/run.py evaluate arena policy_uris=file://./train_dir/test_$TEST_ID/checkpoints",
            budget=EVAL),
        Row(900, "./tools/run.py evaluate arena policy_uris=file://./train_dir/my_run/checkpoints/my_run:v42.mpt",
            budget=EVAL),
        Row(904, "./tools/run.py evaluate arena policy_uris='[\n"
                 '    "file://./train_dir/run1/checkpoints/run1:v10.mpt",\n'
                 '    "file://./train_dir/run2/checkpoints/run2:v20.mpt"\n'
                 "  ]'", budget=EVAL),
        Row(911, "./tools/run.py evaluate arena "
                 "policy_uris=s3://my-bucket/policies/run_name/checkpoints/run_name:v10.mpt", budget=EVAL),
        Row(919, "./tools/run.py play arena policy_uri=file://./train_dir/my_run/checkpoints",
            budget=VIEWER, serves=True),
        Row(922, "./tools/run.py replay arena policy_uri=file://./train_dir/my_run/checkpoints",
            budget=VIEWER, serves=True),
        Row(939, "./tools/run.py train my_recipe run=test", budget=TRAIN),
        Row(940, "./tools/run.py --list  # Discover available recipes", expect="my_recipe", quick=True),
        Row(947, "metta ci --stage recipe-tests", timeout=600),
        Row(950, "uv run python devops/tools/ensure_recipe_packages.py  # Setup __init__.py files first"),
        # 32 agent steps cannot hold one bptt segment of the arena's 24 agents.
        Row(953, "./tools/run.py recipes.prod.arena_basic_easy_shaped.train run=ci_test "
                 "trainer.total_timesteps=10000 trainer.batch_size=32", budget="trainer.total_timesteps=1024",
            refused="give trainer.batch_size=384 or more", quick=True),
        # The pytest stage, as `metta pytest` below: one test file (pytest reads PYTEST_ADDOPTS).
        Row(963, "metta ci", timeout=600, env={"PYTEST_ADDOPTS": "tests/test_layers.py"}),
        Row(966, "metta pytest", budget="tests/test_layers.py"),
        Row(969, "metta lint --fix metta/"),
        Row(972, "metta lint --staged --fix"),
        Row(1145, "metta install              # Reinstall all components", hosted=INSTALLS, quick=True),
        Row(1146, "metta install core         # Core dependencies only", hosted=INSTALLS),
        Row(1151, "metta clean                # Clean build artifacts"),
        Row(1152, "metta configure            # Reconfigure for your system"),
        Row(1158, "uv run python devops/tools/ensure_recipe_packages.py"),
        Row(1164, "ls ./train_dir/my_run/checkpoints/", quick=True),
    ],
)

COGSGUARD_GUIDE = Doc(
    "cogsguard-training-guide.md",
    placeholders={"PORT": "8765"},
    given=Given(checkpoints={
        "train_dir/my_run/checkpoints/my_run:v5.pt": "cogsguard/arena/basic",
        "train_dir/my-run/checkpoints/my-run:v1.pt": "cogsguard/arena/basic",
    }, files={
        "extra_data/notes.txt": "what the policy was trained on\n",  # the extra files one upload line adds
    }, services=[
        # The local tournament server at the address `cogames login` uses by default; its
        # matches short, so the leaderboard fills while the walk goes on.
        ("./devops/tournament_server.sh --season-settings '{\"max_steps\": 100, \"episodes_per_match\": 1}'",
         "http://127.0.0.1:8765/"),
    ]),
    rows=[
        Row(21, "uv run cogames play -m cogsguard_arena.basic -p role", budget="-s 100", quick=True),
        Row(24, "uv run cogames play -m cogsguard_arena.basic -p role -r unicode", budget="-s 100"),
        Row(27, "uv run cogames play -m cogsguard_arena.basic -p role -r log -s 500"),
        Row(41, "uv run cogames scrimmage -m cogsguard_arena.basic -p role", budget="-e 2 -s 200", quick=True),
        Row(44, "uv run cogames scrimmage -m cogsguard_arena.basic -p role -e 50 -s 2000 --format json",
            budget="-e 2 -s 200"),
        Row(47, "uv run cogames scrimmage -m cogsguard_arena.basic -p ./train_dir/my_run:v5", budget="-e 1 -s 100"),
        Row(56, "uv run cogames run -m cogsguard_arena.basic -p role -p random", budget="-e 1 -s 100"),
        Row(59, "uv run cogames run -m cogsguard_arena.basic -p ./train_dir/my_run:v5,proportion=3 "
                "-p class=random,proportion=5", budget="-e 1 -s 100"),
        Row(64, "uv run cogames run -S integrated_evals -p ./train_dir/my_run:v5", budget="-e 1 -s 100"),
        Row(72, "uv run python tools/run.py recipes.experiment.cogsguard.play policy_uri=metta://policy/role "
                "render=gui max_steps=1000", budget="max_steps=100"),
        Row(75, "uv run python tools/run.py recipes.experiment.cogsguard.evaluate", budget=EVAL),
        Row(103, "uv run cogames train -m cogsguard_arena.basic --steps 5000000000 --batch-size 2097152 -p lstm",
            budget="--steps 2048 --batch-size 2048"),
        Row(109, "uv run cogames train -m cogsguard_arena.basic --steps 1000000 --batch-size 4096 --device cpu",
            budget="--steps 4096"),
        Row(119, "uv run python tools/run.py recipes.experiment.cogsguard.train run=my-cogsguard-bc-001 "
                 "'teacher={mode: sliced_cloner, policy_uri: \"metta://policy/cogsguard?gear=10\", "
                 "teacher_led_proportion: 0.5, student_led_proportion: 0.5}' trainer.total_timesteps=5_000_000_000 "
                 "trainer.batch_size=2097152", budget=TRAIN),
        Row(126, "uv run python tools/run.py recipes.experiment.cogsguard.train run=my-cogsguard-ppo-001 "
                 "trainer.total_timesteps=10_000_000_000", budget=TRAIN),
        Row(131, "uv run python tools/run.py recipes.experiment.cogsguard.train run=my-cogsguard-miner-001 "
                 "'teacher={mode: sliced_cloner, policy_uri: \"metta://policy/miner\", teacher_led_proportion: 0.7}' "
                 "trainer.total_timesteps=2_000_000_000", budget=TRAIN),
        Row(194, "ssh metta@metta0   # or metta1, metta2", hosted="the team's GPU boxes over ssh", quick=True),
        Row(200, "cd /home/metta/metta/devops/mettabox && bash docker.sh test",
            hosted="a directory and docker setup on the team's GPU boxes"),
        Row(207, "python tools/run.py recipes.experiment.cogsguard.train run=my_experiment_name "
                 "'teacher={mode: sliced_cloner, policy_uri: \"metta://policy/cogsguard?gear=10\", "
                 "teacher_led_proportion: 0.5, student_led_proportion: 0.5}' trainer.total_timesteps=5_000_000_000 "
                 "trainer.batch_size=2097152", budget=TRAIN),
        Row(228, "watch -n 1 nvidia-smi", hosted="an NVIDIA GPU (and runs until interrupted)"),
        Row(231, "ssh metta@metta0 nvidia-smi", hosted="the team's GPU boxes over ssh"),
        Row(232, "ssh metta@metta1 nvidia-smi", hosted="the team's GPU boxes over ssh"),
        Row(233, "ssh metta@metta2 nvidia-smi", hosted="the team's GPU boxes over ssh"),
        Row(249, "uv run python devops/mettabox/cli.py exec metta1 -- /usr/local/bin/aws sso login "
                 "--profile softmax --no-browser", hosted="the team's GPU boxes and their AWS SSO account"),
        Row(253, "ssh -L <PORT>:127.0.0.1:<PORT> metta@metta1", hosted="the team's GPU boxes over ssh"),
        Row(269, "uv run python scripts/run_cogsguard_rollout.py --steps 200 --agents 10 "
                 "--policy-uri \"metta://policy/role?miner=4&scout=2&aligner=2&scrambler=2\"", quick=True),
        Row(275, "uv run python scripts/run_cogsguard_rollout.py --steps 500 --trace-roles --trace-prereqs "
                 "--trace-resources"),
        Row(298, "uv run python scripts/run_cogsguard_parity.py --policy-a \"metta://policy/role\" "
                 "--policy-b \"metta://policy/role_py\" --steps 500 --agents 10"),
        Row(313, "uv run python scripts/run_cogsguard_instrumented_audit.py --steps 1000 --agents 2 "
                 "--policy-uri \"metta://policy/role_py?miner=1&scout=1\" --trace-every 200"),
        Row(337, "uv run python scripts/run_cogsguard_rollout.py --steps 500 --agents 10 --trace-roles"),
        Row(340, "uv run python scripts/run_cogsguard_instrumented_audit.py --steps 1000 --agents 10 --trace-every 50"),
        Row(343, "uv run python scripts/run_cogsguard_parity.py --policy-a role --policy-b role_py --steps 500"),
        Row(367, "uv run cogames login", quick=True),
        Row(376, "uv run cogames upload -p ./train_dir/my_run -n my-policy"),
        # A Python class is code the server would have to run: refused, naming what to upload instead.
        Row(379, "uv run cogames upload -p my_module.MyPolicy -n my-policy", refused="upload a trained checkpoint", quick=True),
        Row(382, "uv run cogames upload -p ./train_dir/my_run -n my-policy -f ./extra_data/"),
        Row(385, "uv run cogames upload -p ./train_dir/my_run -n my-policy --dry-run", quick=True),
        Row(394, "uv run cogames submit my-policy --season beta-cogsguard"),
        # The lines above upload two versions; the reader has uploaded a third.
        Row(397, "uv run cogames submit my-policy:v3 --season beta-cogsguard",
            before=("uv run cogames upload -p ./train_dir/my_run -n my-policy",)),
        Row(404, "uv run cogames submissions"),
        Row(407, "uv run cogames seasons"),
        Row(410, "uv run cogames leaderboard --season beta-cogsguard"),
        Row(413, "uv run cogames leaderboard --season beta-cogsguard --json"),
        Row(423, "ssh metta@metta0", hosted="the team's GPU boxes over ssh"),
        Row(424, "python tools/run.py recipes.experiment.cogsguard.train run=cogsguard-bc-smartgear-v1 "
                 "'teacher={mode: sliced_cloner, policy_uri: \"metta://policy/cogsguard?gear=10\", "
                 "teacher_led_proportion: 0.5, student_led_proportion: 0.5}' trainer.total_timesteps=5_000_000_000 "
                 "trainer.batch_size=2097152", budget=TRAIN),
        Row(437, "python tools/run.py recipes.experiment.cogsguard.train run=cogsguard-curriculum-miner "
                 "'teacher={mode: sliced_cloner, policy_uri: \"metta://policy/miner\", teacher_led_proportion: 0.7}' "
                 "trainer.total_timesteps=2_000_000_000", budget=TRAIN),
        Row(443, "python tools/run.py recipes.experiment.cogsguard.train run=cogsguard-curriculum-full "
                 "'teacher={mode: sliced_cloner, policy_uri: \"metta://policy/cogsguard?gear=10\", "
                 "teacher_led_proportion: 0.3, student_led_proportion: 0.7}' trainer.total_timesteps=5_000_000_000",
            budget=TRAIN),
        Row(452, "python tools/run.py recipes.experiment.cogsguard.train run=cogsguard-ppo-baseline "
                 "trainer.total_timesteps=10_000_000_000", budget=TRAIN),
        Row(460, "uv run cogames train -m cogsguard_arena.basic --steps 100000 --batch-size 4096 --device cpu",
            budget="--steps 4096"),
        Row(477, "uv run cogames play -m cogsguard_arena.basic -p role -r log"),
        Row(478, "uv run cogames scrimmage -m cogsguard_arena.basic -p role -e 20", budget="-e 2 -s 200"),
        Row(481, "ssh metta@metta0", hosted="the team's GPU boxes over ssh"),
        Row(482, "python tools/run.py recipes.experiment.cogsguard.train run=my-run "
                 "'teacher={mode: sliced_cloner, policy_uri: \"metta://policy/cogsguard?gear=10\", "
                 "teacher_led_proportion: 0.5, student_led_proportion: 0.5}' trainer.total_timesteps=5_000_000_000 "
                 "trainer.batch_size=2097152", budget=TRAIN),
        Row(492, "uv run cogames scrimmage -m cogsguard_arena.basic -p ./train_dir/my-run -e 50", budget="-e 1 -s 100"),
        Row(493, "uv run cogames run -S integrated_evals -p ./train_dir/my-run", budget="-e 1 -s 100"),
        Row(496, "uv run cogames upload -p ./train_dir/my-run -n my-policy"),
        Row(497, "uv run cogames submit my-policy --season beta-cogsguard"),
        Row(500, "uv run cogames leaderboard --season beta-cogsguard"),
    ],
)

# SkyPilot (`sky`) and a cloud account are not part of the project: without `sky` the launcher
# exits 1 with one line naming the local command that runs the same sweep.
SKY = "to run here instead: ./devops/sweep.sh run=my_sweep"


# The sweep dashboard serves until interrupted: on any free port, so a busy 8050 does not matter.
SWEEP_DASHBOARD = "--port 0"


def sweep_budget(max_runs: int) -> str:
    """A sweep worker runs until the sweep has `sweep.max_runs` runs: the walk's lines each add
    one (the record is shared), with one small batch of training and one episode per simulation."""
    return (f"sweep.max_runs={max_runs} sweep_job_overrides.trainer.total_timesteps=1024 "
            "sweep_job_overrides.trainer.batch_size=1024 sweep_job_overrides.trainer.minibatch_size=512 "
            "num_episodes=1")


SWEEP_SYSTEM = Doc(
    "sweep-system.md",
    placeholders={"entity": "metta-research", "project": "metta", "sweep_name": "my_sweep",
                  "run_name": "my_sweep.r.0"},
    rows=[
        Row(271, "./tools/sweep_execute.py sweep_name=my_sweep", budget=sweep_budget(1)),
        Row(274, "./tools/sweep_execute.py sweep_name=my_sweep sweep=quick", budget=sweep_budget(2)),
        Row(277, "./tools/sweep_execute.py sweep_name=my_sweep sweep.protein.num_random_samples=10 "
                 "sweep_job_overrides.trainer.total_timesteps=10000000", budget=sweep_budget(3)),
        Row(282, "./devops/sweep.sh run=my_sweep", budget=sweep_budget(4)),
        Row(289, "./devops/skypilot/launch.py sweep run=my_sweep", refused=SKY, refused_code=1, quick=True),
        # Nodes share the sweep through its record (wandb, originally): several need an s3:// one.
        Row(292, "./devops/skypilot/launch.py sweep run=my_sweep --gpus 8 --nodes 4", refused="sweep_dir=s3://", quick=True),
        Row(297, "./devops/skypilot/launch.py sweep run=my_sweep --no-spot", refused=SKY, refused_code=1),
        Row(330, "./devops/train.sh run=sweep_name.r.0 wandb.entity=<entity> wandb.project=<project> "
                 "wandb.group=<sweep_name> wandb.name=sweep_name.r.0 ++trainer.batch_size=1024 "
                 "++trainer.optimizer.learning_rate=0.0003 ++trainer.total_timesteps=1000000000 sim=arena",
            budget="++trainer.total_timesteps=1024"),
        Row(402, "python experiments/dashboards/sweep_dashboard.py --sweep-name my_sweep", budget=SWEEP_DASHBOARD, serves=True),
        Row(405, "python experiments/dashboards/sweep_dashboard.py --sweep-name my_sweep --entity metta-research "
                 "--project metta", budget=SWEEP_DASHBOARD, serves=True,
            # A run logged to that entity (the original's default entity; here none is assumed).
            before=(f"./tools/sweep_execute.py sweep_name=my_sweep wandb_entity=metta-research {sweep_budget(5)}",)),
        Row(411, "python experiments/dashboards/sweep_dashboard.py --sweep-name my_sweep --max-observations 500 "
                 "--hourly-cost 5.0", budget=SWEEP_DASHBOARD, serves=True),
        Row(468, "pip install dash dash-bootstrap-components plotly",
            hosted="installs packages from the network into the venv; the dashboard here needs none of them", quick=True),
        Row(475, "./tools/get_best_params_from_sweep.py sweep_name=my_sweep"),
        Row(478, "./tools/get_best_params_from_sweep.py sweep_name=my_sweep --top-n 5"),
        Row(481, "./tools/get_best_params_from_sweep.py sweep_name=my_sweep --output-dir configs/trainer/patch"),
        Row(489, "./tools/train.py run=production +trainer/patch=my_sweep_best", budget=TRAIN),
        Row(582, "HYDRA_FULL_ERROR=1 ./tools/sweep_execute.py sweep_name=debug", budget=sweep_budget(1)),
        Row(585, "ls train_dir/<sweep_name>/<run_name>/"),
    ],
)


TOOLS_HYDRA_ERA = Doc(
    "tools-hydra-era.md",
    placeholders={"run_id": "lr_search.r.0", "sweep_name": "lr_search"},
    given=Given(checkpoints={
        # wandb://run/<run> names a run trained on this machine when train_dir holds it: the
        # local stand-in for the wandb runs these lines evaluate, render and replay.
        "train_dir/experiment_001/checkpoints/experiment_001:v1.pt": NAVIGATION,
        "train_dir/exp/checkpoints/exp:v1.pt": NAVIGATION,
        "train_dir/experiment/checkpoints/experiment:v1.pt": ARENA,
        "train_dir/abc123/checkpoints/abc123:v1.pt": ARENA,
    }, files={
        "map.txt": "#####\n#.@.#\n# m #\n#####\n",
        **USER_FILES,
    }, buckets={UPLOAD_MAP_IMGS_BUCKET}),
    rows=[
        Row(35, "./tools/train.py  # Direct execution", budget=TRAIN),
        Row(37, "uv run tools/train.py  # Explicit uv execution", budget=TRAIN),
        Row(71, "./tools/train.py", budget=TRAIN),
        Row(74, "./tools/train.py env=mettagrid/navigation", budget=TRAIN),
        Row(77, "./tools/train.py trainer.num_workers=8 trainer.batch_size=4096", budget=TRAIN_STEPS),
        Row(80, "./tools/train.py env=mettagrid/ants agent=latent_attn_small trainer.learning_rate=0.0003",
            budget=TRAIN),
        Row(125, "./tools/sweep_init.py sweep_name=lr_search sweep_params=configs/sweep/fast.yaml", quick=True),
        Row(128, "./tools/sweep_init.py sweep_name=full_search sweep_params=configs/sweep/cogeval_sweep.yaml"),
        Row(131, "NODE_INDEX=0 ./tools/sweep_init.py sweep_name=distributed_exp"),
        Row(134, "NODE_INDEX=1 ./tools/sweep_init.py sweep_name=distributed_exp"),
        Row(155, "./tools/sweep_eval.py run=<run_id> sweep_name=<sweep_name>"),
        Row(158, "./tools/sweep_eval.py run=<run_id> metric=navigation_score"),
        Row(201, "./tools/sim.py sim_job.policy_uris='[\"wandb://run/experiment_001\"]'", budget=EVAL),
        Row(204, "./tools/sim.py sim_job.policy_uris='[\"wandb://team/project/model:v0\", \"wandb://run/exp_002\"]'",
            hosted=WANDB_ARTIFACT, quick=True),
        Row(207, "./tools/sim.py sim_job.policy_uris='[\"wandb://run/exp\"]' sim_job.stats_db_uri=s3://bucket/eval.db",
            budget=EVAL),
        Row(210, "./tools/sim.py sim_job.simulation_suite=navigation selector_type=top", budget=EVAL),
        Row(260, "./tools/analyze.py analysis.policy_uri=\"wandb://run/experiment_001\""),
        Row(263, "./tools/analyze.py analysis.policy_uri=\"wandb://run/exp\" "
                 "analysis.policy_selector.metric=navigation_score"),
        Row(266, "./tools/analyze.py analysis.policy_uri=\"wandb://run/exp\" analysis.output_path=s3://bucket/analysis/"),
        Row(304, "./tools/renderer.py renderer_job.policy_type=random", budget="renderer_job.num_steps=20", quick=True),
        Row(307, "./tools/renderer.py renderer_job.policy_type=trained policy_uri=\"wandb://run/experiment\"",
            budget="renderer_job.num_steps=20"),
        Row(310, "./tools/renderer.py env=mettagrid/multiagent renderer_job.num_agents=4",
            budget="renderer_job.num_steps=20"),
        Row(313, "./tools/renderer.py renderer_job.sleep_time=0.5", budget="renderer_job.num_steps=4"),
        Row(316, "./tools/renderer.py renderer_job.renderer_type=miniscope", budget="renderer_job.num_steps=20"),
        Row(326, "./tools/replay.py replay_job.policy_uri=\"wandb://run/abc123\"", budget=VIEWER, serves=True),
        Row(329, "./tools/replay.py replay_job.sim.env=mettagrid/memory", budget=VIEWER, serves=True, quick=True),
        Row(332, "./tools/replay.py replay_job.open_browser_on_start=false", budget=VIEWER, serves=True),
        Row(348, "./tools/play.py", budget=VIEWER, serves=True),
        Row(351, "./tools/play.py replay_job.open_browser_on_start=false", budget=VIEWER, serves=True),
        Row(383, "./tools/dashboard.py dashboard.output_path=s3://my-bucket/dashboards/experiment.json"),
        Row(386, "./tools/dashboard.py dashboard.output_path=./local_dashboard.json"),
        Row(389, "./tools/dashboard.py dashboard.policies=[\"run1\", \"run2\"] dashboard.metrics=[\"reward\", \"success_rate\"]",
            before=RUN1_RUN2),
        Row(427, "./tools/map/gen.py configs/env/mettagrid/maps/maze_9x9.yaml", quick=True),
        Row(430, "./tools/map/gen.py configs/env/mettagrid/maps/wfc_dungeon.yaml --output-uri=./dungeon.yaml"),
        Row(433, "./tools/map/gen.py configs/env/mettagrid/maps/random.yaml --output-uri=s3://bucket/maps/ --count=100",
            budget="--count=3"),
        Row(436, "./tools/map/gen.py configs/env/mettagrid/maps/base.yaml --overrides \"width=50 height=50 density=0.7\""),
        Row(439, "./tools/map/gen.py map_config.yaml --show-mode=ascii  # Terminal display"),
        Row(440, "./tools/map/gen.py map_config.yaml --show-mode=PIL    # Image popup"),
        Row(450, "./tools/map/gen_scene.py scenes/wfc/blob.yaml 32 32", quick=True),
        Row(453, "./tools/map/gen_scene.py scenes/convchain/maze.yaml 64 64 --overrides \"seed=42\""),
        Row(456, "./tools/map/gen_scene.py scenes/test/grid.yaml 16 16 --show-mode=ascii"),
        Row(471, "./tools/map/view.py ./my_map.yaml",
            before=MY_MAP_YAML),
        Row(474, "./tools/map/view.py s3://bucket/maps/"),
        Row(477, "./tools/map/view.py ./map.yaml --show-mode=ascii",
            before=MAP_YAML, quick=True),
        Row(492, "./tools/map/normalize_ascii_map.py map.txt", quick=True),
        Row(495, "./tools/map/normalize_ascii_map.py map.txt --in-place"),
        Row(510, "./tools/map/normalize_scene_patterns.py scene.yaml", quick=True),
        Row(513, "./tools/map/normalize_scene_patterns.py scene.yaml --in-place"),
        Row(543, "./tools/validate_config.py configs/env/mettagrid/navigation.yaml", quick=True),
        Row(546, "./tools/validate_config.py trainer/trainer.yaml"),
        Row(549, "./tools/validate_config.py configs/train_job.yaml"),
        Row(552, "./tools/validate_config.py configs/sweep/fast.yaml"),
        Row(587, "./tools/stats_duckdb_cli.py +eval_db_uri=wandb://stats/navigation_eval_v2", hosted=WANDB_ARTIFACT),
        Row(590, "./tools/stats_duckdb_cli.py +eval_db_uri=s3://my-bucket/evaluations/experiment_001.db",
            before=S3_STATS_DB),
        Row(620, "./tools/upload_map_imgs.py --dry-run", quick=True),
        Row(623, "./tools/upload_map_imgs.py"),
        Row(639, "./tools/dump_src.py . --extensions .py"),
        Row(642, "./tools/dump_src.py metta/agent metta/rl --extensions .py .yaml"),
        Row(645, "./tools/dump_src.py configs/env/"),
        Row(662, "./tools/autotune.py"),
        Row(677, "./tools/train.py env=mettagrid/navigation run_name=nav_experiment_001", budget=TRAIN),
        Row(680, "./tools/sim.py sim_job.policy_uris='[\"wandb://run/nav_experiment_001\"]' "
                 "sim_job.stats_db_uri=s3://my-bucket/evals/nav_001.db", budget=EVAL),
        Row(684, "./tools/analyze.py analysis.policy_uri=\"wandb://run/nav_experiment_001\""),
        Row(687, "./tools/dashboard.py dashboard.output_path=s3://my-bucket/dashboards/nav_001.json"),
        Row(694, "./tools/sweep_init.py sweep_name=hyperparam_search_001 "
                 "sweep_params=configs/sweep/navigation_sweep.yaml"),
        # Step 2 of this workflow is prose: the run sweep_init made gets trained in between.
        Row(700, "./tools/sweep_eval.py run=<run_id> sweep_name=hyperparam_search_001",
            placeholders={"run_id": "hyperparam_search_001.r.0"},
            before=(f"./tools/train.py run=hyperparam_search_001.r.0 {TRAIN}",)),
        Row(703, "./tools/renderer.py renderer_job.policy_type=trained "
                 "policy_uri=\"wandb://sweep/hyperparam_search_001:best\"", budget="renderer_job.num_steps=20"),
        Row(711, "./tools/map/gen.py configs/env/mettagrid/maps/template.yaml --output-uri=./my_map.yaml "
                 "--overrides \"seed=42\""),
        Row(715, "./tools/map/view.py ./my_map.yaml"),
        Row(718, "./tools/map/normalize_ascii_map.py ./my_map.yaml --in-place"),
        Row(721, "./tools/renderer.py env.game.map=@file://./my_map.yaml", budget="renderer_job.num_steps=20"),
        Row(740, "./tools/train.py trainer.batch_size=1024", budget=TRAIN_STEPS),
        Row(743, "./tools/train.py device=cpu", budget=TRAIN),
        Row(749, "./tools/validate_config.py configs/my_config.yaml"),
        Row(752, "./tools/train.py hydra/help=default"),
        Row(758, "./tools/train.py wandb=off stats_client=null", budget=TRAIN),
    ],
)

TOOLS_RECIPE_ERA = Doc(
    "tools-recipe-era.md",
    placeholders={"run_id": "lr_search.r.0", "sweep_name": "lr_search"},
    given=Given(checkpoints={
        "s3://my-bucket/checkpoints/my_experiment/my_experiment:v20.pt": ARENA,
        "s3://bucket/run:v10.pt": ARENA,
        "s3://my-bucket/checkpoints/experiment_001/experiment_001:v12.pt": ARENA,
        "train_dir/my_run/checkpoints/my_run:v12.pt": ARENA,
        "s3://team-checkpoints/project/my_run/checkpoints/my_run:v0.pt": NAVIGATION,
        "s3://my-bucket/checkpoints/experiment/experiment:v20.pt": ARENA,
        "s3://my-bucket/checkpoints/abc123/abc123:v5.pt": ARENA,
        "train_dir/nav_experiment/checkpoints/nav_experiment:v8.pt": NAVIGATION,
        "s3://my-bucket/checkpoints/nav_experiment_001/nav_experiment_001:v8.pt": NAVIGATION,
        "s3://my-bucket/checkpoints/sweeps/hyperparam_search_001/hyperparam_search_001:v42.pt": ARENA,
    }, files={
        "map.txt": "#####\n#.@.#\n# m #\n#####\n",
        **USER_FILES,
    }, buckets={UPLOAD_MAP_IMGS_BUCKET}),
    rows=[
        Row(35, "./tools/run.py train arena run=my_experiment # Training", budget=TRAIN),
        Row(36, "./tools/run.py eval arena policy_uri=s3://my-bucket/checkpoints/my_experiment/my_experiment:v20.pt "
                "# Evaluation", budget=EVAL, quick=True),
        Row(37, "./tools/run.py play arena policy_uri=s3://my-bucket/checkpoints/my_experiment/my_experiment:v20.pt "
                "# Interactive play", budget=VIEWER, serves=True),
        Row(58, "./tools/run.py eval arena policy_uris=mock://policy", budget=EVAL),
        Row(61, "./tools/run.py eval_remote arena policy_uri=s3://bucket/run:v10.pt", budget=EVAL),
        Row(100, "./tools/run.py train arena run=my_experiment", budget=TRAIN),
        # The run line 100 trained on the arena: its checkpoint cannot resume on another env.
        Row(103, "./tools/run.py train navigation run=my_experiment", budget=TRAIN,
            refused="start a new run (run=<new name>)"),
        Row(106, "./tools/run.py train arena run=my_experiment trainer.total_timesteps=1000000", budget=TRAIN),
        Row(109, "./tools/run.py train arena run=my_experiment system.device=cpu wandb.enabled=false", budget=TRAIN),
        Row(161, "./tools/sweep_init.py sweep_name=lr_search sweep_params=configs/sweep/fast.yaml"),
        Row(164, "./tools/sweep_init.py sweep_name=full_search sweep_params=configs/sweep/cogeval_sweep.yaml"),
        Row(167, "NODE_INDEX=0 ./tools/sweep_init.py sweep_name=distributed_exp"),
        Row(170, "NODE_INDEX=1 ./tools/sweep_init.py sweep_name=distributed_exp"),
        Row(194, "./tools/sweep_eval.py run=<run_id> sweep_name=<sweep_name>"),
        Row(197, "./tools/sweep_eval.py run=<run_id> metric=navigation_score"),
        Row(242, "./tools/run.py eval navigation "
                 "policy_uri=s3://my-bucket/checkpoints/experiment_001/experiment_001:v12.pt", budget=EVAL),
        Row(245, "./tools/run.py eval arena policy_uri=s3://my-bucket/checkpoints/experiment_001/experiment_001:v12.pt",
            budget=EVAL),
        Row(248, "./tools/run.py eval arena policy_uri=file://./train_dir/my_run/checkpoints/my_run:v12.pt",
            budget=EVAL),
        Row(251, "./tools/run.py eval navigation policy_uri=s3://team-checkpoints/project/my_run/checkpoints/my_run:v0.pt",
            budget=EVAL),
        Row(311, "./tools/run.py analyze arena eval_db_uri=./train_dir/eval_experiment/stats.db",
            before=((f"./tools/run.py eval arena policy_uri=s3://my-bucket/checkpoints/experiment/experiment:v20.pt "
                     f"{EVAL}"),)),
        Row(314, "./tools/run.py analyze navigation eval_db_uri=./train_dir/eval_experiment/stats.db",
            before=((f"./tools/run.py eval navigation policy_uri=s3://my-bucket/checkpoints/experiment/experiment:v20.pt "
                     f"{EVAL}"),)),
        Row(317, "./tools/run.py analyze arena eval_db_uri=wandb://artifacts/navigation_db", hosted=WANDB_ARTIFACT),
        Row(360, "./tools/renderer.py renderer_job.policy_type=random", budget="renderer_job.num_steps=20"),
        Row(363, "./tools/renderer.py renderer_job.policy_type=trained "
                 "policy_uri=\"s3://my-bucket/checkpoints/experiment/experiment:v20.pt\"",
            budget="renderer_job.num_steps=20"),
        Row(366, "./tools/renderer.py env=mettagrid/multiagent renderer_job.num_agents=4",
            budget="renderer_job.num_steps=20"),
        Row(369, "./tools/renderer.py renderer_job.sleep_time=0.5", budget="renderer_job.num_steps=4"),
        Row(372, "./tools/renderer.py renderer_job.renderer_type=miniscope", budget="renderer_job.num_steps=20"),
        Row(383, "./tools/run.py replay arena policy_uri=s3://my-bucket/checkpoints/abc123/abc123:v5.pt", budget=VIEWER, serves=True),
        Row(386, "./tools/run.py replay navigation policy_uri=s3://my-bucket/checkpoints/abc123/abc123:v5.pt", budget=VIEWER, serves=True),
        Row(389, "./tools/run.py replay arena policy_uri=file://./train_dir/my_run/checkpoints/my_run:v12.pt", budget=VIEWER, serves=True),
        Row(407, "./tools/run.py play arena", budget=VIEWER, serves=True, quick=True),
        Row(410, "./tools/run.py play arena policy_uri=s3://my-bucket/checkpoints/my_experiment/my_experiment:v20.pt", budget=VIEWER, serves=True),
        Row(413, "./tools/run.py play navigation "
                 "policy_uri=file://./train_dir/nav_experiment/checkpoints/nav_experiment:v8.pt", budget=VIEWER, serves=True),
        Row(449, "./tools/dashboard.py dashboard.output_path=s3://my-bucket/dashboards/experiment.json"),
        Row(452, "./tools/dashboard.py dashboard.output_path=./local_dashboard.json"),
        Row(455, "./tools/dashboard.py dashboard.policies=[\"run1\", \"run2\"] dashboard.metrics=[\"reward\", \"success_rate\"]",
            before=RUN1_RUN2),
        Row(498, "./packages/mettagrid/python/src/mettagrid/mapgen/tools/gen.py configs/env/mettagrid/maps/maze_9x9.yaml"),
        Row(501, "./packages/mettagrid/python/src/mettagrid/mapgen/tools/gen.py "
                 "configs/env/mettagrid/maps/wfc_dungeon.yaml --output-uri=./dungeon.yaml"),
        Row(504, "./packages/mettagrid/python/src/mettagrid/mapgen/tools/gen.py configs/env/mettagrid/maps/random.yaml "
                 "--output-uri=s3://bucket/maps/ --count=100", budget="--count=3"),
        Row(507, "./packages/mettagrid/python/src/mettagrid/mapgen/tools/gen.py configs/env/mettagrid/maps/base.yaml "
                 "\"width=50 height=50 density=0.7\""),
        Row(510, "./packages/mettagrid/python/src/mettagrid/mapgen/tools/gen.py map_config.yaml --show-mode=ascii "
                 "# Terminal display"),
        Row(511, "./packages/mettagrid/python/src/mettagrid/mapgen/tools/gen.py map_config.yaml --show-mode=PIL  "
                 "# Image popup"),
        Row(522, "./packages/mettagrid/python/src/mettagrid/mapgen/tools/gen_scene.py scenes/wfc/blob.yaml 32 32"),
        Row(525, "./packages/mettagrid/python/src/mettagrid/mapgen/tools/gen_scene.py scenes/convchain/maze.yaml 64 64 "
                 "\"seed=42\""),
        Row(528, "./packages/mettagrid/python/src/mettagrid/mapgen/tools/gen_scene.py scenes/test/grid.yaml 16 16 "
                 "--show-mode=ascii"),
        Row(545, "./packages/mettagrid/python/src/mettagrid/mapgen/tools/view.py ./my_map.yaml",
            before=MY_MAP_YAML),
        Row(548, "./packages/mettagrid/python/src/mettagrid/mapgen/tools/view.py s3://bucket/maps/"),
        Row(551, "./tools/map/view.py ./map.yaml --show-mode=ascii",
            before=MAP_YAML),
        Row(568, "./tools/map/normalize_ascii_map.py map.txt"),
        Row(571, "./tools/map/normalize_ascii_map.py map.txt --in-place"),
        Row(588, "./tools/map/normalize_scene_patterns.py scene.yaml"),
        Row(591, "./tools/map/normalize_scene_patterns.py scene.yaml --in-place"),
        Row(624, "./tools/validate_config.py configs/env/mettagrid/navigation.yaml"),
        Row(627, "./tools/validate_config.py trainer/trainer.yaml"),
        Row(630, "./tools/validate_config.py configs/train_job.yaml"),
        Row(633, "./tools/validate_config.py configs/sweep/fast.yaml"),
        Row(673, "./tools/stats_duckdb_cli.py +eval_db_uri=wandb://stats/navigation_eval_v2", hosted=WANDB_ARTIFACT),
        Row(676, "./tools/stats_duckdb_cli.py +eval_db_uri=s3://my-bucket/evaluations/experiment_001.db",
            before=S3_STATS_DB),
        Row(708, "./tools/upload_map_imgs.py --dry-run"),
        Row(711, "./tools/upload_map_imgs.py"),
        Row(729, "./tools/dump_src.py . --extensions .py"),
        Row(732, "./tools/dump_src.py metta/agent metta/rl --extensions .py .yaml"),
        Row(735, "./tools/dump_src.py configs/env/"),
        Row(754, "./tools/autotune.py"),
        Row(770, "./tools/run.py train navigation run=nav_experiment_001", budget=TRAIN),
        Row(773, "./tools/run.py eval navigation "
                 "policy_uri=s3://my-bucket/checkpoints/nav_experiment_001/nav_experiment_001:v8.pt", budget=EVAL),
        Row(776, "./tools/run.py analyze navigation eval_db_uri=./train_dir/eval_nav_experiment_001/stats.db"),
        Row(779, "./tools/run.py play navigation "
                 "policy_uri=s3://my-bucket/checkpoints/nav_experiment_001/nav_experiment_001:v8.pt", budget=VIEWER, serves=True),
        Row(786, "./tools/sweep_init.py sweep_name=hyperparam_search_001 "
                 "sweep_params=configs/sweep/navigation_sweep.yaml"),
        Row(792, "./tools/sweep_eval.py run=<run_id> sweep_name=hyperparam_search_001",
            placeholders={"run_id": "hyperparam_search_001.r.0"},  # step 2 (prose): the run is trained
            before=(f"./tools/run.py train navigation run=hyperparam_search_001.r.0 {TRAIN}",)),
        Row(795, "./tools/run.py play arena "
                 "policy_uri=\"s3://my-bucket/checkpoints/sweeps/hyperparam_search_001/hyperparam_search_001:v42.pt\"", budget=VIEWER, serves=True),
        Row(803, "./packages/mettagrid/python/src/mettagrid/mapgen/tools/gen.py configs/env/mettagrid/maps/template.yaml "
                 "--output-uri=./my_map.yaml \"seed=42\""),
        Row(807, "./tools/map/view.py ./my_map.yaml"),
        Row(810, "./tools/map/normalize_ascii_map.py ./my_map.yaml --in-place"),
        Row(813, "./tools/renderer.py env.game.map=@file://./my_map.yaml", budget="renderer_job.num_steps=20"),
        Row(833, "./tools/run.py train arena run=cpu_test system.device=cpu", budget=TRAIN),
        Row(836, "./tools/run.py train arena run=quick_test trainer.total_timesteps=10000", budget=TRAIN),
        Row(843, "./tools/run.py train arena run=local_test wandb.enabled=false system.device=cpu", budget=TRAIN),
    ],
)

DOCS = [TOOLS_HYDRA_ERA, TOOLS_RECIPE_ERA, ARCHITECTURE_MAP, SWEEP_SYSTEM, COGSGUARD_GUIDE]

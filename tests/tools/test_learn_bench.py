"""devops/bench/learn.py's arena pieces that need no training: the arena tasks and their envs,
and the docs table it fills (rows replaced in place, a doc without the section refused)."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("learn_bench", ROOT / "devops" / "bench" / "learn.py")
learn = importlib.util.module_from_spec(spec)
spec.loader.exec_module(learn)


def test_arena_tasks_train_on_the_arena_envs():
    assert learn.ARENA_ENVS == {"arena": "mettagrid/arena/basic_easy_shaped", "arena_basic": "mettagrid/arena/basic",
                                "arena_combat": "mettagrid/arena/combat",
                                "arena_advanced": "mettagrid/arena/advanced",
                                "arena_basic_curriculum": "mettagrid/arena/basic",
                                "arena_basic_mostly_easy": "mettagrid/arena/basic"}


@pytest.mark.parametrize("task", ["arena_basic_curriculum", "arena_basic_mostly_easy"])
def test_a_curriculum_task_trains_on_a_shipped_curriculum_that_includes_its_scoring_env(task):
    from metta.rl.curriculum import load_curriculum

    (override,) = learn.TASKS[task]
    curriculum = load_curriculum(override.split("=", 1)[1], seed=0)
    bases = {curriculum.space.describe(t)[1] for t in range(len(curriculum))}
    assert bases == {"mettagrid/arena/basic", learn.ARENA_ENVS["arena"]}
    assert learn.ARENA_ENVS[task] in bases


@pytest.mark.parametrize("task, easy_share", [("arena_basic_curriculum", 0.5), ("arena_basic_mostly_easy", 0.75)])
def test_a_curriculum_task_draws_the_easy_arena_at_its_stated_share(task, easy_share):
    from metta.rl.curriculum import load_curriculum

    curriculum = load_curriculum(learn.TASKS[task][0].split("=", 1)[1], seed=0)
    draws = [curriculum.space.describe(curriculum.next_task())[1] for _ in range(4000)]
    assert abs(draws.count(learn.ARENA_ENVS["arena"]) / len(draws) - easy_share) < 0.03


def test_a_task_row_replaces_its_old_row_and_the_rest_of_the_doc_is_kept(tmp_path):
    """Tasks measured in separate runs (arena, then arena_basic) each keep their row."""
    doc = tmp_path / "performance.md"
    doc.write_text("# P\n\n## Arena learning\n\ntext\n\n| task | budget |\n|---|---|\n| arena | 1 |\n| old2 | 2 |\n\n"
                   "after\n")
    learn.write_table(doc, ["| arena | 5 min |", "| arena_basic | 30 min |"])
    assert doc.read_text() == ("# P\n\n## Arena learning\n\ntext\n\n| task | budget |\n|---|---|\n| arena | 5 min |\n"
                               "| old2 | 2 |\n| arena_basic | 30 min |\n\nafter\n")


def test_a_doc_without_the_table_is_refused_in_one_line(tmp_path):
    doc = tmp_path / "other.md"
    doc.write_text("# nothing here\n")
    with pytest.raises(SystemExit, match="no '## Arena learning' section"):
        learn.write_table(doc, ["| arena |"])
    assert doc.read_text() == "# nothing here\n"


def test_curves_are_written_as_svg_without_matplotlib(tmp_path):
    """Arena curves: reward and heart.gained per task, each a polyline scaled into the chart."""
    import xml.etree.ElementTree as ET

    rows = [{"minutes": m, "reward": r, "hearts": h, "agent_steps": 0, "sps": 0}
            for m, r, h in [(0.0, None, None), (1.0, 0.5, 0.0), (2.0, 2.0, 0.75)]]
    learn.plot_svg({"arena": rows, "navigation": rows}, tmp_path / "curves.svg")
    svg = ET.parse(tmp_path / "curves.svg").getroot()
    ns = "{http://www.w3.org/2000/svg}"
    lines = svg.findall(f"{ns}polyline")
    assert [t.text for t in svg.findall(f"{ns}text") if t.text.endswith(("reward", "gained"))] == \
        ["arena reward", "arena heart.gained", "navigation reward"]
    assert len(lines) == 3 and all(len(line.get("points").split()) == 2 for line in lines)
    xs = [float(p.split(",")[0]) for p in lines[0].get("points").split()]
    ys = [float(p.split(",")[1]) for p in lines[0].get("points").split()]
    assert xs[0] < xs[1] and ys[0] > ys[1]  # later and higher: right of and above the first point

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
                                "arena_advanced": "mettagrid/arena/advanced"}


def test_table_rows_are_replaced_and_the_rest_of_the_doc_kept(tmp_path):
    doc = tmp_path / "performance.md"
    doc.write_text("# P\n\n## Arena learning\n\ntext\n\n| task | budget |\n|---|---|\n| old | 1 |\n| old2 | 2 |\n\n"
                   "after\n")
    learn.write_table(doc, ["| arena | 5 min |"])
    assert doc.read_text() == ("# P\n\n## Arena learning\n\ntext\n\n| task | budget |\n|---|---|\n| arena | 5 min |\n\n"
                               "after\n")


def test_a_doc_without_the_table_is_refused_in_one_line(tmp_path):
    doc = tmp_path / "other.md"
    doc.write_text("# nothing here\n")
    with pytest.raises(SystemExit, match="no '## Arena learning' section"):
        learn.write_table(doc, ["| arena |"])
    assert doc.read_text() == "# nothing here\n"

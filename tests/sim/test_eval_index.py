"""The default evaluation location and the record of evaluations (metta.sim.eval_index)."""

import json

from metta.sim.eval_index import (
    default_db_path,
    eval_dir_name,
    read_index,
    record_db_uri,
    record_evaluation,
    recorded_evaluations,
)


def test_default_location_is_named_after_the_runs(tmp_path):
    assert default_db_path(tmp_path, ["experiment", "experiment"]) == tmp_path / "eval_experiment" / "stats.db"
    assert eval_dir_name(["run1", "random"]) == "eval_run1+random"
    assert eval_dir_name(["role?miner=4", "a/b"]) == "eval_role_miner_4+a_b"  # no odd characters in the name
    assert eval_dir_name(["a", "b", "c", "d", "e"]) == "eval_a+b+c+2_more"


def test_records_newest_first_replacing_a_file_written_again(tmp_path):
    first = default_db_path(tmp_path, ["run1"])
    second = default_db_path(tmp_path, ["run2"])
    for path in (first, second):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"db")
    record_evaluation(tmp_path, first, str(first), "navigation", [("run1", "v1"), ("run1", "v1")])
    record_evaluation(tmp_path, second, "s3://bucket/evals/run2.db", "arena", [("run2", "v3")])
    record_evaluation(tmp_path, first, str(first), "arena", [("run1", "v2")])  # run1 evaluated again
    records = recorded_evaluations(tmp_path)
    assert [(r["suite"], r["policies"]) for r in records] == [("arena", [["run1", "v2"]]),
                                                               ("arena", [["run2", "v3"]])]
    assert [json.loads(line)["suite"] for line in (tmp_path / "evaluations.jsonl").read_text().splitlines()] == [
        "arena", "arena"]
    # a local copy that is gone: read the remote one; gone with no remote copy: skipped
    second.unlink()
    assert record_db_uri(records[1]) == "s3://bucket/evals/run2.db"
    first.unlink()
    assert [r["stats_db"] for r in recorded_evaluations(tmp_path)] == ["s3://bucket/evals/run2.db"]


def test_a_damaged_line_is_skipped(tmp_path):
    path = tmp_path / "db"
    path.write_bytes(b"db")
    record_evaluation(tmp_path, path, str(path), "navigation", [("run1", "v1")])
    with open(tmp_path / "evaluations.jsonl", "a") as index:
        index.write('{"local": "cut sho')
    assert len(read_index(tmp_path)) == 1
    record_evaluation(tmp_path, path, str(path), "arena", [("run1", "v1")])
    assert [r["suite"] for r in read_index(tmp_path)] == ["arena"]

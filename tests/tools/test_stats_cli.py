"""tools/stats_duckdb_cli.py as a user types it: -c for scripts, piped and terminal sessions,
remote DBs, and one-line errors."""

import os
import pty
import select
import subprocess
import time
from pathlib import Path

from tests.sim.test_stats_db import write_shard

ROOT = Path(__file__).resolve().parents[2]
CLI = str(ROOT / "tools" / "stats_duckdb_cli.py")
AVG_REWARD = "SELECT policy_name, AVG(value) as avg_reward FROM agent_metrics WHERE metric = 'reward' GROUP BY policy_name;"


def run_cli(*args, stdin=None, env=None):
    return subprocess.run(check=False, args=[CLI, *args], input=stdin, capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env=env)


def test_sql_flag_prints_an_aligned_table(tmp_path):
    write_shard(tmp_path / "s.duckdb")
    result = run_cli(f"+eval_db_uri={tmp_path}/s.duckdb", "-c", AVG_REWARD)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "policy_name | avg_reward",
        "------------+-----------",
        "run:v3      |          1",  # rewards 1, 0, 3, 0: the view counts the zeros
        "(1 row)",
    ]
    # --sql= and eval_db_uri= without the plus work too
    other = run_cli(f"eval_db_uri=file://{tmp_path}/s.duckdb", "--sql=SELECT COUNT(*) AS n FROM episodes")
    assert other.returncode == 0, other.stderr
    assert other.stdout.splitlines()[2].strip() == "2"


def test_sql_error_is_one_line_and_exit_1(tmp_path):
    write_shard(tmp_path / "s.duckdb")
    result = run_cli(f"+eval_db_uri={tmp_path}/s.duckdb", "-c", "SELECT nope FROM episodes")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and result.stderr.startswith("Error:")


def test_piped_session_runs_dot_commands_and_multiline_sql(tmp_path):
    write_shard(tmp_path / "s.duckdb")
    session = (".tables\n"
               "SELECT policy_name, episode, COUNT(*) as steps\n"
               "FROM agent_metrics\n"
               "GROUP BY policy_name, episode;\n"
               ".schema agent_groups\n"
               ".quit\n"
               "SELECT 'not reached';\n")
    result = run_cli(f"+eval_db_uri={tmp_path}/s.duckdb", stdin=session)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["agent_groups", "agent_metric_values", "agent_metrics", "agent_policies",
                                "episode_attributes", "episodes", "simulations"]
    assert lines[1].split(" | ") == ["policy_name", "episode                             ", "steps"]
    assert "(2 rows)" in lines
    assert "CREATE TABLE agent_groups(episode_id VARCHAR, group_id INTEGER, agent_id INTEGER);" in lines
    assert "not reached" not in result.stdout


def test_terminal_session_with_prompts_and_history(tmp_path):
    write_shard(tmp_path / "s.duckdb")
    master, slave = pty.openpty()
    env = {**os.environ, "METTA_CACHE_DIR": str(tmp_path / "cache"), "TERM": "dumb"}
    process = subprocess.Popen([CLI, f"+eval_db_uri={tmp_path}/s.duckdb"], stdin=slave, stdout=slave,
                               stderr=slave, cwd=ROOT, env=env, close_fds=True)
    os.close(slave)
    output = b""

    def read_until(marker: bytes, timeout: float = 60) -> None:
        nonlocal output
        deadline = time.monotonic() + timeout
        while marker not in output:
            assert time.monotonic() < deadline, output.decode(errors="replace")
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    output += os.read(master, 4096)
                except OSError:
                    break

    try:
        read_until(b"stats> ")
        os.write(master, b"SELECT COUNT(*) AS episodes\n")
        read_until(b"...> ")
        os.write(master, b"FROM episodes;\n")
        read_until(b"(1 row)")
        os.write(master, b".quit\n")
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    text = output.decode(errors="replace")
    assert "episodes" in text and "(1 row)" in text
    history = (tmp_path / "cache" / "stats_cli_history").read_text()
    assert "FROM episodes;" in history


def test_missing_and_corrupt_dbs_are_one_line_errors(tmp_path):
    for uri, words in [(f"{tmp_path}/none.duckdb", "no such stats DB"),
                       ("s3://", "needs a bucket name")]:
        result = run_cli(f"+eval_db_uri={uri}", "-c", "SELECT 1")
        assert result.returncode == 2 and words in result.stderr
        assert result.stderr.strip().count("\n") == 0
    (tmp_path / "bad.duckdb").write_bytes(b"\x00garbage" * 64)
    result = run_cli(f"+eval_db_uri={tmp_path}/bad.duckdb")
    assert result.returncode == 2 and "corrupt" in result.stderr and result.stderr.strip().count("\n") == 0
    result = run_cli()
    assert result.returncode == 2 and "eval_db_uri" in result.stderr


def test_db_on_s3_is_downloaded_to_the_cache(tmp_path, s3_endpoint):
    import boto3

    from metta.sim.stats_db import export_stats_db

    boto3.client("s3").create_bucket(Bucket="stats-cli")
    write_shard(tmp_path / "s.duckdb")
    export_stats_db(tmp_path / "s.duckdb", "s3://stats-cli/evals/nav.duckdb")
    result = run_cli("+eval_db_uri=s3://stats-cli/evals/nav.duckdb", f"cache_dir={tmp_path}/cache", "-c",
                     AVG_REWARD)
    assert result.returncode == 0, result.stderr
    assert "run:v3" in result.stdout
    assert (tmp_path / "cache" / "s3" / "stats-cli" / "evals" / "nav.duckdb").is_file()

"""Every command line of the reference documents runs, as typed, in a fresh checkout.

One test per line (tests/reference/commands.py has the table). The lines of one document
share a sandbox and run in document order, as a reader following it would run them: a line
that reads `./my_map.yaml` finds what an earlier line wrote. Long work is shrunk by the
row's stated budget; hosted-only lines are skipped with their reason; a refused line must
fail in one line that says what to type instead.

By default only the quick rows run; METTA_REFERENCE_WALK=1 walks them all. Every command
line of every document having a row is checked by default.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.reference.commands import DOCS, Doc, Row
from tests.reference.givens import make_buckets
from tests.reference.runner import (
    REPO,
    Sandbox,
    make_sandbox,
    prepare,
    run_line,
    run_server_line,
    shell_value,
)

REFERENCE_DIR = Path(os.environ.get("METTA_REFERENCE_DOCS", REPO.parent / "shared" / "reference"))
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "reference test", "GIT_AUTHOR_EMAIL": "test@localhost",
                "GIT_COMMITTER_NAME": "reference test", "GIT_COMMITTER_EMAIL": "test@localhost"}


# The full walk: every row. Without it only the rows marked `quick` run (see commands.py).
WALK = os.environ.get("METTA_REFERENCE_WALK") == "1"


def _cases() -> list:
    return [pytest.param(doc, row, id=f"{doc.name}:{row.line}") for doc in DOCS for row in doc.rows
            if WALK or row.quick]


@pytest.fixture(scope="session")
def sandboxes(tmp_path_factory, _moto_server):
    """One sandbox per document, made when its first line runs."""
    made: dict[str, Sandbox] = {}
    failed: dict[str, str] = {}

    def get(doc: Doc) -> Sandbox:
        if doc.name in failed:  # made once: the document's other lines fail with the same reason
            pytest.fail(f"{doc.name}: the sandbox could not be made: {failed[doc.name]}")
        if doc.name not in made:
            try:
                made[doc.name] = _make_doc_sandbox(tmp_path_factory.mktemp("reference") / "checkout", doc,
                                                   _moto_server)
            except Exception as error:
                failed[doc.name] = str(error)
                raise
        return made[doc.name]

    yield get
    for sandbox in made.values():
        sandbox.close()


def _make_doc_sandbox(root: Path, doc: Doc, s3_endpoint: str) -> Sandbox:
    sandbox = make_sandbox(root, {
        "AWS_ENDPOINT_URL": s3_endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true", **GIT_IDENTITY,
    })
    try:
        _fill_doc_sandbox(sandbox, doc)
    except BaseException:
        sandbox.close()
        raise
    return sandbox


def _fill_doc_sandbox(sandbox: Sandbox, doc: Doc) -> None:
    root = sandbox.root
    # A checkout is a git repository (`metta lint --staged` asks git what is staged).
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "checkout"]):
        subprocess.run(["git", *args], cwd=root, env=sandbox.env, check=True, capture_output=True)
    make_buckets(sandbox, {bucket for row in doc.rows for bucket in re.findall(r"s3://([a-z0-9.-]+)", row.command)}
                 | {bucket for path in doc.given.checkpoints for bucket in re.findall(r"^s3://([a-z0-9.-]+)", path)}
                 | doc.given.buckets)
    doc.given.make(sandbox)


# The full walk (METTA_REFERENCE_WALK=1) takes 15 to 35 minutes on a 2-core machine, depending
# on what else runs there (December 2026, per document: tools-recipe-era 3 to 13,
# architecture-map 1.5 to 8 (its `metta ci` lines most of it), tools-hydra-era 5 to 6,
# sweep-system 4, cogsguard-training-guide 4), so by default only the quick rows run
# (30 rows; 1 to 2 minutes).
@pytest.mark.parametrize(("doc", "row"), _cases())
def test_reference_line(doc: Doc, row: Row, sandboxes, request) -> None:
    if row.red:  # strict: once the project is fixed the row passes, and the mark must go
        request.applymarker(pytest.mark.xfail(reason=row.red, strict=True))
    if row.hosted:
        pytest.skip(f"needs a hosted service: {row.hosted}")
    if row.syntax:
        pytest.skip("a usage pattern, not a command")
    sandbox = sandboxes(doc)
    export = re.fullmatch(r"export (\w+)=(.+)", row.command)
    if export:
        sandbox.env[export[1]] = shell_value(sandbox, export[2])
        assert sandbox.env[export[1]], row.command
        return
    if row.env:
        sandbox = dataclasses.replace(sandbox, env={**sandbox.env, **row.env})
    for step in row.before:
        done = run_line(sandbox, step, row.timeout)
        assert done.returncode == 0, f"{doc.name}:{row.line} before the line: {step}\n{done.tail()}"
    command = prepare(row.command, {**doc.placeholders, **row.placeholders}, row.budget)
    if row.refused:
        outcome = run_line(sandbox, command, row.timeout, split=True)
        report = f"{doc.name}:{row.line} exit {outcome.returncode}\n$ {command}\n{outcome.errors}{outcome.tail()}"
        errors = outcome.errors.strip().splitlines()
        assert outcome.returncode == row.refused_code, report
        assert len(errors) == 1, f"expected one line on stderr\n{report}"
        assert row.refused in errors[0], f"expected {row.refused!r} in the error\n{report}"
        return
    outcome = (run_server_line if row.serves else run_line)(sandbox, command, row.timeout)
    report = f"{doc.name}:{row.line} exit {outcome.returncode}\n$ {command}\n{outcome.tail()}"
    assert outcome.returncode == 0, report
    assert row.expect in outcome.output, f"expected {row.expect!r} in the output\n{report}"


def documented_command_lines(text: str) -> list[tuple[int, str]]:
    """(line number, first line) of every command in the document's shell code blocks. A
    command goes on while its line ends in a backslash (before any annotation comment) or a
    single quote is still open."""
    found, fence, pending = [], None, ""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("```"):
            fence, pending = (None if fence is not None else stripped[3:]), ""
            continue
        if fence not in ("bash", "sh", "shell") or not stripped or (stripped.startswith("#") and not pending):
            continue
        if not pending:
            found.append((number, stripped))
        pending += stripped + "\n"
        code = re.sub(r"\s+#.*$", "", stripped)
        if not (code.endswith("\\") or pending.count("'") % 2):
            pending = ""
    return found


@pytest.mark.skipif(not REFERENCE_DIR.is_dir(), reason=f"reference documents not found at {REFERENCE_DIR}")
@pytest.mark.parametrize("doc", DOCS, ids=[doc.name for doc in DOCS])
def test_every_documented_line_has_a_row(doc: Doc) -> None:
    documented = documented_command_lines((REFERENCE_DIR / doc.name).read_text())
    rows = {row.line for row in doc.rows}
    missing = [f"{number}: {text}" for number, text in documented if number not in rows]
    assert not missing, f"{doc.name}: command lines without a row:\n" + "\n".join(missing)


def test_a_prepared_line_keeps_shell_variables_live_and_literals_quoted() -> None:
    line = prepare("./tools/run.py train arena run=test_$TEST_ID 'x=[\"$HOME\"]'  # note", {}, "trainer.total_timesteps=8")
    done = subprocess.run(["bash", "-c", line.replace("./tools/run.py", "printf '%s\\n'")], capture_output=True,
                          text=True, env={"TEST_ID": "42", "HOME": "/nowhere"}, check=True)
    assert done.stdout.split("\n")[:4] == ["train", "arena", "run=test_42", 'x=["$HOME"]']

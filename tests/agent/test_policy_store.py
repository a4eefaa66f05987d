"""PolicyStore: URIs (paths, file://, s3:// against a local moto server, wandb://) and selectors."""

from __future__ import annotations

import os
import shutil
import uuid

import pytest

from metta.agent.policy_file import sidecar_path
from metta.agent.policy_store import (
    PolicyStore,
    PolicyStoreError,
    load_policy_from_uri,
    parse_wandb_uri,
)
from metta.common.uri import parse_s3_uri
from metta.rl.checkpoint import CheckpointManager

# make_test_policy is a fixture, shared with the checkpoint tests
from tests.rl.test_checkpoint import assert_one_line_naming, assert_same_outputs, make_test_policy  # noqa: F401

RUN = "exp"
# epoch -> (score, eval_scores); epoch 3 has no score, epoch 4 no "nav"
SCORES = {1: (0.2, {"nav": 1.0}), 2: (0.9, {"nav": 2.0}), 3: (None, {"nav": 3.0}), 4: (0.5, {})}


@pytest.fixture
def run_dir(tmp_path, make_test_policy):  # noqa: F811
    """train_dir/exp with checkpoints v1..v4 (+ trainer state); returns (run_dir, {epoch: policy})."""
    manager = CheckpointManager(RUN, tmp_path / "train_dir" / RUN)
    policies = {}
    for epoch, (score, evals) in SCORES.items():
        policies[epoch] = make_test_policy(seed=epoch)
        manager.save(
            policies[epoch],
            epoch,
            agent_steps=epoch * 64,
            extra_metadata={"score": score, "eval_scores": evals},
        )
    manager.save_trainer_state({"epoch": 4, "agent_steps": 256})
    (manager.checkpoint_dir / "notes.pt").write_bytes(b"not a policy")  # ignored: not <run>:v<n>.pt
    return manager.run_dir, policies


@pytest.fixture
def store(tmp_path):
    # train_dir elsewhere: wandb://run/exp must not find run_dir's local run in these tests
    return PolicyStore(cache_dir=tmp_path / "cache", train_dir=tmp_path / "no_runs_here")


def epochs(records):
    return [r.epoch for r in records]


# ---------------------------------------------------------------------------------------------
# local URIs


def test_latest_from_every_local_form(run_dir, store, monkeypatch):
    root, _ = run_dir
    ckpt_dir = root / "checkpoints"
    monkeypatch.chdir(root.parent)
    for uri in (
        str(ckpt_dir),
        str(root),  # a run dir: its checkpoints/ subdirectory
        f"file://{ckpt_dir}",
        f"file://{root}/",
        f"file://./{RUN}",
        f"./{RUN}/checkpoints",
        f"{RUN}",
    ):
        [record] = store.records(uri)
        assert (record.name, record.run, record.epoch) == (f"{RUN}:v4", RUN, 4), uri
        assert record.uri == f"file://{ckpt_dir / 'exp:v4.pt'}"
        assert record.metadata["agent_steps"] == 256


def test_single_file_uris(run_dir, store):
    root, policies = run_dir
    path = root / "checkpoints" / "exp:v2.pt"
    for uri in (str(path), f"file://{path}"):
        [record] = store.records(uri, selector="latest")
        assert record.epoch == 2 and record.local_path() == path
    # a file named outside the convention: run and epoch come from its metadata
    exported = root / "exported.pt"
    shutil.copy(path, exported)
    [record] = store.records(str(exported))
    assert (record.name, record.run, record.epoch) == ("exp:v2", "exp", 2)
    assert_same_outputs(policies[2], record.load())


def test_selectors(run_dir, store):
    root, _ = run_dir
    assert epochs(store.records(str(root), "top")) == [2]
    assert epochs(store.records(str(root), "top", n=2)) == [2, 4]  # epoch 3 has no score: skipped
    assert epochs(store.records(str(root), "top", metric="nav", n=5)) == [3, 2, 1]  # from eval_scores
    assert epochs(store.records(str(root), "all")) == [1, 2, 3, 4]
    assert epochs(store.records(str(root), "all", n=2)) == [3, 4]
    assert epochs(store.records(str(root), "latest", n=3)) == [4]
    top = store.records(str(root), "top")[0]
    assert top.metadata["score"] == 0.9 and top.name == "exp:v2"


def test_selection_without_sidecars_reads_the_files(run_dir, store):
    root, policies = run_dir
    for sidecar in (root / "checkpoints").glob("*.json"):
        sidecar.unlink()
    assert epochs(store.records(str(root), "top", n=2)) == [2, 4]
    [record] = store.records(str(root), "all", n=1)
    assert record.metadata["score"] == 0.5
    assert_same_outputs(policies[4], record.load())


def test_load_matches_saved_policy(run_dir, store):
    root, policies = run_dir
    record = store.records(str(root), "top")[0]
    loaded = record.load("cpu")
    assert_same_outputs(policies[2], loaded)
    assert loaded.checkpoint_metadata["epoch"] == 2
    assert_same_outputs(policies[4], load_policy_from_uri(f"file://{root}"))
    assert_same_outputs(policies[2], load_policy_from_uri(str(root), selector="top", metric="score"))


@pytest.mark.parametrize(
    "uri, kwargs, message",
    [
        ("{root}", {"selector": "best"}, "unknown selector"),
        ("{root}", {"selector": "top", "n": 0}, "n must be at least 1"),
        ("{root}", {"selector": "top", "metric": "win_rate"}, "no checkpoint has metric 'win_rate'"),
        ("{root}/missing", {}, "no checkpoints found"),
        ("{root}/checkpoints/exp:v9.pt", {}, "no checkpoints found"),
        ("ftp://host/exp:v1.pt", {}, "unknown URI scheme 'ftp'"),
    ],
)
def test_errors_are_one_line_naming_the_uri(run_dir, store, uri, kwargs, message):
    root, _ = run_dir
    uri = uri.format(root=root)
    with pytest.raises(PolicyStoreError, match=message) as info:
        store.records(uri, **kwargs)
    assert_one_line_naming(info.value, uri)


def test_empty_directory_has_no_checkpoints(tmp_path, store):
    (tmp_path / "empty" / "checkpoints").mkdir(parents=True)
    with pytest.raises(PolicyStoreError, match="no checkpoints found"):
        store.records(str(tmp_path / "empty"))


def test_cache_dir_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("METTA_CACHE_DIR", str(tmp_path / "c"))
    assert PolicyStore().cache_dir == tmp_path / "c"
    monkeypatch.delenv("METTA_CACHE_DIR")
    assert PolicyStore().cache_dir.parts[-3:] == (".cache", "metta", "policies")
    assert PolicyStore(tmp_path / "x").cache_dir == tmp_path / "x"


# ---------------------------------------------------------------------------------------------
# S3, against a real local server (tests/conftest.py)


def test_parse_s3_uri():
    assert parse_s3_uri("s3://bucket/a/b/exp:v3.pt") == ("bucket", "a/b/exp:v3.pt")
    assert parse_s3_uri("s3://bucket") == ("bucket", "")
    assert parse_s3_uri("s3://bucket/prefix/") == ("bucket", "prefix/")
    for bad in ("s3://", "s3:///key", "file:///x"):
        with pytest.raises(ValueError):
            parse_s3_uri(bad)


@pytest.fixture
def bucket(s3_endpoint):
    import boto3

    name = f"metta-test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_run(run_dir, store, bucket):
    """The run's checkpoints mirrored to s3://bucket/runs/exp/checkpoints/ with `upload`."""
    root, policies = run_dir
    for path in sorted((root / "checkpoints").glob("exp:v*.pt")):
        uri = store.upload(path, f"s3://{bucket}/runs/{RUN}/checkpoints/")
        assert uri == f"s3://{bucket}/runs/{RUN}/checkpoints/{path.name}"
    return f"s3://{bucket}/runs/{RUN}", policies


def test_s3_selectors_and_load(s3_run, store, tmp_path):
    prefix, policies = s3_run
    for uri in (f"{prefix}/checkpoints/", f"{prefix}/checkpoints", prefix, prefix + "/"):
        [record] = store.records(uri)
        assert (record.name, record.epoch) == ("exp:v4", 4), uri
        assert record.uri == f"{prefix}/checkpoints/exp:v4.pt"
    assert epochs(store.records(prefix, "top", n=2)) == [2, 4]
    assert epochs(store.records(prefix, "all")) == [1, 2, 3, 4]
    # ranking used the sidecars only: nothing downloaded yet
    assert not (tmp_path / "cache").exists()

    record = store.records(prefix, "top")[0]
    loaded = record.load()
    assert_same_outputs(policies[2], loaded)
    cached = record.local_path()
    assert cached.is_relative_to(tmp_path / "cache") and cached.name == "exp:v2.pt"
    mtime = cached.stat().st_mtime_ns
    record.load()  # second load reuses the cached file
    assert cached.stat().st_mtime_ns == mtime

    [single] = store.records(f"{prefix}/checkpoints/exp:v3.pt")
    assert single.epoch == 3 and single.metadata["eval_scores"] == {"nav": 3.0}
    assert_same_outputs(policies[3], single.load())


def test_s3_object_without_sidecar(run_dir, store, bucket):
    import boto3

    root, policies = run_dir
    boto3.client("s3").upload_file(str(root / "checkpoints" / "exp:v2.pt"), bucket, "bare/exp:v2.pt")
    boto3.client("s3").upload_file(str(root / "checkpoints" / "exp:v1.pt"), bucket, "bare/exp:v1.pt")
    top = store.records(f"s3://{bucket}/bare/", "top")[0]  # metadata read from the downloaded files
    assert top.epoch == 2 and top.metadata["score"] == 0.9
    [single] = store.records(f"s3://{bucket}/bare/exp:v1.pt")
    assert single.metadata["score"] == 0.2
    assert_same_outputs(policies[1], single.load())


def test_s3_load_policy_from_uri(s3_run, monkeypatch, tmp_path):
    prefix, policies = s3_run
    monkeypatch.setenv("METTA_CACHE_DIR", str(tmp_path / "env-cache"))
    assert_same_outputs(policies[4], load_policy_from_uri(prefix))
    assert list((tmp_path / "env-cache").rglob("exp:v4.pt"))


def test_s3_errors(store, bucket, tmp_path, run_dir, monkeypatch):
    missing = f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/runs/"
    with pytest.raises(PolicyStoreError, match="bucket does not exist") as info:
        store.records(missing)
    assert_one_line_naming(info.value, missing)

    for uri in (f"s3://{bucket}/nothing/here/", f"s3://{bucket}/nothing/exp:v1.pt"):
        with pytest.raises(PolicyStoreError, match="no checkpoints found") as info:
            store.records(uri)
        assert_one_line_naming(info.value, uri)

    root, _ = run_dir
    with pytest.raises(PolicyStoreError, match="bucket does not exist") as info:
        store.upload(root / "checkpoints" / "exp:v1.pt", missing)
    assert_one_line_naming(info.value, missing)

    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    uri = f"s3://{bucket}/runs/"
    with pytest.raises(PolicyStoreError, match="no AWS credentials") as info:
        store.records(uri)
    assert_one_line_naming(info.value, uri)


# ---------------------------------------------------------------------------------------------
# wandb (never contacts the network)


def test_parse_wandb_uri(monkeypatch):
    ref = parse_wandb_uri("wandb://team/proj/exp:v7")
    assert (ref.entity, ref.project, ref.artifact, ref.version, ref.run) == (
        "team",
        "proj",
        "exp",
        "v7",
        None,
    )
    assert parse_wandb_uri("wandb://team/proj/exp").version == "latest"

    monkeypatch.setenv("WANDB_ENTITY", "team")
    monkeypatch.setenv("WANDB_PROJECT", "proj")
    ref = parse_wandb_uri("wandb://run/exp")
    assert (ref.entity, ref.project, ref.run, ref.artifact) == ("team", "proj", "exp", None)

    monkeypatch.delenv("WANDB_PROJECT")
    with pytest.raises(PolicyStoreError, match="WANDB_PROJECT"):
        parse_wandb_uri("wandb://run/exp")
    for bad in ("wandb://", "wandb://team/proj", "wandb://a/b/c/d", "wandb://team/proj/:v1", "wandb://run/"):
        with pytest.raises(PolicyStoreError, match="malformed wandb URI") as info:
            parse_wandb_uri(bad)
        assert_one_line_naming(info.value, bad)


@pytest.mark.parametrize("uri", ["wandb://team/proj/exp:v3", "wandb://run/exp"])
def test_wandb_offline_is_one_line_error(store, monkeypatch, uri):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_ENTITY", "team")
    monkeypatch.setenv("WANDB_PROJECT", "proj")
    with pytest.raises(PolicyStoreError, match="need network access and credentials") as info:
        store.records(uri)
    assert_one_line_naming(info.value, uri)


def test_wandb_run_trained_here_is_read_from_train_dir(run_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("WANDB_ENTITY", raising=False)
    root, _ = run_dir
    store = PolicyStore(cache_dir=tmp_path / "cache", train_dir=root.parent)
    assert store.local_run_dir("wandb://run/exp") == root
    [record] = store.records("wandb://run/exp")  # wandb is not asked: offline, no entity set
    assert (record.name, record.uri) == ("exp:v4", f"file://{(root / 'checkpoints' / 'exp:v4.pt').absolute()}")
    assert epochs(store.records("wandb://run/exp", selector="top", metric="score")) == [2]
    # a run that is not here: the wandb error, plus where it looked locally
    with pytest.raises(PolicyStoreError, match="no local run at .*other") as info:
        store.records("wandb://run/other")
    assert_one_line_naming(info.value, "wandb://run/other")
    with pytest.raises(PolicyStoreError, match="file://PATH") as info:
        store.records("wandb://team/project/model:v0")
    assert_one_line_naming(info.value, "wandb://team/project/model:v0")


def test_mpt_name_of_the_original_finds_our_pt_checkpoint(run_dir, store):
    root, _ = run_dir
    [record] = store.records(f"file://{root}/checkpoints/exp:v2.mpt")
    assert record.name == "exp:v2"


class _FakeArtifact:
    def __init__(self, name, version, files, type_="model"):
        self.name, self.version, self.type, self._files = f"{name}:{version}", version, type_, files

    def download(self, root):
        os.makedirs(root, exist_ok=True)
        for file in self._files:
            shutil.copy(file, os.path.join(root, file.name))
        return root


def _fake_api(artifacts, calls):
    class FakeApi:
        def artifact(self, path):
            calls.append(("artifact", path))
            return artifacts[-1]

        def run(self, path):
            calls.append(("run", path))
            return type("Run", (), {"logged_artifacts": lambda _self: artifacts})()

    return FakeApi


def test_wandb_artifacts_through_a_fake_api(run_dir, store, monkeypatch, tmp_path):
    wandb = pytest.importorskip("wandb")
    root, policies = run_dir
    ckpts = root / "checkpoints"
    artifacts = [
        _FakeArtifact(RUN, "v0", [ckpts / "exp:v1.pt", sidecar_path(ckpts / "exp:v1.pt")]),
        _FakeArtifact(RUN, "v1", [ckpts / "exp:v3.pt"]),
        _FakeArtifact("replays", "v5", [], type_="dataset"),
    ]
    calls = []
    monkeypatch.setattr(wandb, "Api", _fake_api(artifacts, calls))
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("WANDB_ENTITY", "team")
    monkeypatch.setenv("WANDB_PROJECT", "proj")

    [record] = store.records("wandb://run/exp")  # newest *model* artifact: v1
    assert calls == [("run", "team/proj/exp")]
    assert (record.uri, record.name, record.epoch) == ("wandb://team/proj/exp:v1", "exp:v3", 3)
    assert record.local_path().is_relative_to(tmp_path / "cache" / "wandb")
    assert_same_outputs(policies[3], record.load())

    artifacts.reverse()  # artifact() returns artifacts[-1]: the v0 one now
    [record] = store.records("wandb://team/proj/exp:v0")
    assert calls[-1] == ("artifact", "team/proj/exp:v0")
    assert (record.uri, record.epoch, record.metadata["score"]) == ("wandb://team/proj/exp:v0", 1, 0.2)


def test_wandb_unreachable_is_one_line_error(store, monkeypatch):
    wandb = pytest.importorskip("wandb")

    class UnreachableApi:
        def __init__(self, *args, **kwargs):
            raise ConnectionError("Max retries exceeded with url: /graphql\nmore detail")

    monkeypatch.setattr(wandb, "Api", UnreachableApi)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    uri = "wandb://team/proj/exp:v3"
    with pytest.raises(PolicyStoreError, match="need network access and credentials") as info:
        store.records(uri)
    assert_one_line_naming(info.value, uri)


def test_s3_unreachable_endpoint(store, s3_endpoint, monkeypatch):
    # Port 1 on loopback refuses at once; AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL.
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    uri = "s3://bucket/runs/"
    with pytest.raises(PolicyStoreError, match="S3 request failed") as info:
        store.records(uri)
    assert_one_line_naming(info.value, uri)


def test_top_of_a_run_never_evaluated_is_the_newest(tmp_path, store, make_test_policy, capfd):  # noqa: F811
    manager = CheckpointManager("plain", tmp_path / "plain")
    for epoch in (1, 2):
        manager.save(make_test_policy(seed=epoch), epoch, agent_steps=epoch * 64,
                     extra_metadata={"score": None, "eval_scores": {}})
    assert epochs(store.records(str(manager.run_dir), "top")) == [2]
    assert "no checkpoint was evaluated" in capfd.readouterr().err


def test_mpt_names_resolve_to_the_pt_checkpoint(s3_run, run_dir, store):
    prefix, policies = s3_run
    [record] = store.records(f"{prefix}/checkpoints/exp:v3.mpt")
    assert record.uri == f"{prefix}/checkpoints/exp:v3.pt"
    assert_same_outputs(policies[3], record.load())
    root, _ = run_dir
    [local] = store.records(f"file://{root}/checkpoints/exp:v2.mpt")
    assert local.epoch == 2
    with pytest.raises(PolicyStoreError, match="no checkpoints found"):
        store.records(f"file://{root}/checkpoints/exp:v9.mpt")


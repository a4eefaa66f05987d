"""Policy bundles: made from a built-in or a checkpoint, checked without torch, unpacked safely,
loaded and stepped once; broken ones refused in one line."""

import json
import tarfile
import zipfile

import pytest

from metta.tournament.bundle import (
    BundleError,
    bundle_policy,
    extract_bundle,
    read_manifest,
    validate_bundle,
)


def one_line_error(call, *args, match):
    with pytest.raises(BundleError, match=match) as error:
        call(*args)
    assert "\n" not in str(error.value)
    return str(error.value)


def write_zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_a_builtin_bundle_is_a_manifest_naming_it(tmp_path):
    bundle = bundle_policy("metta://policy/scripted", out_path=tmp_path / "b.zip")
    manifest = read_manifest(bundle)
    assert (manifest.kind, manifest.source, manifest.archive_format) == ("builtin", "metta://policy/scripted", "zip")
    assert validate_bundle(bundle, env_overrides=["game.max_steps=10"]) == manifest


def test_a_checkpoint_bundle_carries_weights_sidecar_and_extra_files(tmp_path, arena_run_dir):
    notes = tmp_path / "notes.md"
    notes.write_text("hello")
    data_dir = tmp_path / "data"
    (data_dir / "sub").mkdir(parents=True)
    (data_dir / "sub" / "x.txt").write_text("x")
    bundle = bundle_policy(arena_run_dir, extra_files=[notes, data_dir])
    manifest = validate_bundle(bundle)
    assert manifest.kind == "checkpoint" and manifest.source == "checkpoint.pt"
    assert manifest.files == ("checkpoint.json", "checkpoint.pt", "files/data/sub/x.txt", "files/notes.md",
                              "policy.json")
    with zipfile.ZipFile(bundle) as archive:
        written = json.loads(archive.read("policy.json"))
        sidecar = json.loads(archive.read("checkpoint.json"))
    assert (written["run"], written["epoch"]) == ("tiny", 1)
    assert sidecar["format"] == "metta.policy/1" and sidecar["architecture"]["name"] == "fast"
    extracted = extract_bundle(bundle, tmp_path / "out")
    assert extracted == manifest and (tmp_path / "out" / "files" / "notes.md").read_text() == "hello"


def test_a_tar_gz_with_just_a_checkpoint_is_accepted(tmp_path, arena_run_dir):
    bundle = tmp_path / "plain.tar.gz"
    with tarfile.open(bundle, "w:gz") as archive:
        archive.add(arena_run_dir / "checkpoints" / "tiny:v1.pt", arcname="model/tiny:v1.pt")
    manifest = validate_bundle(bundle)
    assert (manifest.kind, manifest.source, manifest.archive_format) == ("checkpoint", "model/tiny:v1.pt", "tar.gz")


def test_broken_bundles_are_refused_in_one_line(tmp_path):
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"not an archive")
    one_line_error(read_manifest, garbage, match="not a .zip or .tar.gz archive")
    empty = write_zip(tmp_path / "empty.zip", {"readme.txt": "hi"})
    one_line_error(read_manifest, empty, match="no policy.json and 0 .pt files")
    unknown = write_zip(tmp_path / "unknown.zip", {"policy.json": json.dumps({"uri": "metta://policy/clever"})})
    one_line_error(read_manifest, unknown, match="not a built-in policy")
    both = write_zip(tmp_path / "both.zip", {"policy.json": json.dumps({"uri": "metta://policy/random",
                                                                          "checkpoint": "x.pt"})})
    one_line_error(read_manifest, both, match="either a built-in 'uri' or a 'checkpoint'")
    missing = write_zip(tmp_path / "missing.zip", {"policy.json": json.dumps({"checkpoint": "x.pt"})})
    one_line_error(read_manifest, missing, match="names x.pt, which the bundle lacks")
    not_torch = write_zip(tmp_path / "nt.zip", {"policy.json": json.dumps({"checkpoint": "x.pt"}), "x.pt": "text"})
    one_line_error(read_manifest, not_torch, match="not a torch checkpoint")
    escape = write_zip(tmp_path / "escape.zip", {"../evil.pt": "PK\x03\x04"})
    one_line_error(read_manifest, escape, match="unsafe member name")
    one_line_error(bundle_policy, "metta://policy/clever", match="not a built-in policy")
    one_line_error(bundle_policy, str(tmp_path / "nowhere"), match="nowhere")


def test_links_inside_a_tar_are_refused(tmp_path):
    bundle = tmp_path / "link.tar.gz"
    with tarfile.open(bundle, "w:gz") as archive:
        info = tarfile.TarInfo("x.pt")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(info)
    one_line_error(read_manifest, bundle, match="link or device")


def test_validate_bundle_loads_the_weights_and_checks_the_env(tmp_path, navigation_checkpoint):
    # Right zip magic, wrong content: only loading the checkpoint finds out.
    corrupt = write_zip(tmp_path / "corrupt.zip", {"policy.json": json.dumps({"checkpoint": "c.pt"}),
                                                  "c.pt": b"PK\x03\x04 truncated"})
    read_manifest(corrupt)  # the cheap check passes
    one_line_error(validate_bundle, corrupt, match="not a readable checkpoint")
    # A navigation policy cannot take the arena's actions.
    nav = bundle_policy(navigation_checkpoint, out_path=tmp_path / "nav.zip")
    one_line_error(validate_bundle, nav, match="unknown to the policy")
    assert validate_bundle(nav, env="mettagrid/navigation").kind == "checkpoint"


def test_extract_refuses_an_existing_destination(tmp_path):
    bundle = bundle_policy("metta://policy/random", out_path=tmp_path / "r.zip")
    (tmp_path / "dest").mkdir()
    with pytest.raises(FileExistsError):
        extract_bundle(bundle, tmp_path / "dest")

"""Bundle limits below the server: what `extract_bundle` and `check_upload` hold an archive to
(the server's bad-input table, tests/hardening/test_bad_server.py, covers them through HTTP)."""

from __future__ import annotations

import io
import tarfile

import pytest

from metta.tournament.bundle import BundleError, BundleLimits, BundleTooLarge, check_upload, extract_bundle
from tests.hardening.test_bad_server import MANIFEST, builtin_bundle, lying_zip


def test_a_member_is_never_written_past_its_declared_size(tmp_path):
    bundle = tmp_path / "liar.zip"
    bundle.write_bytes(lying_zip())
    with pytest.raises(BundleError, match="cannot read files/pad"):
        extract_bundle(bundle, tmp_path / "out")
    written = tmp_path / "out" / "files" / "pad"
    assert not written.exists() or written.stat().st_size <= 10


def test_a_tar_gz_bomb_is_refused_from_its_headers(tmp_path):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", compresslevel=9) as archive:
        for name, data in (MANIFEST, ("files/zeros", bytes(64 << 20))):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    bundle = tmp_path / "bomb.tar.gz"
    bundle.write_bytes(out.getvalue())
    assert bundle.stat().st_size < 200_000
    with pytest.raises(BundleTooLarge, match="unpacks to more than 32 MiB"):
        check_upload(bundle)
    with pytest.raises(BundleTooLarge):
        extract_bundle(bundle, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_the_limits_are_the_callers(tmp_path):
    bundle = tmp_path / "b.zip"
    bundle.write_bytes(builtin_bundle(*[(f"files/{i}", b"x") for i in range(5)]))
    assert check_upload(bundle).kind == "builtin"
    with pytest.raises(BundleTooLarge, match="more than 3 entries"):
        check_upload(bundle, BundleLimits(max_members=3))
    with pytest.raises(BundleTooLarge, match="unpacks to more than"):
        check_upload(bundle, BundleLimits(max_unpacked_bytes=50, expansion_floor_bytes=10))

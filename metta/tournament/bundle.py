"""Policy bundles: the archive a user uploads to the tournament.

A bundle is a `.zip` or `.tar.gz` whose root holds `policy.json`, the manifest:

    {"format": "metta.policy_bundle/1", "uri": "metta://policy/scripted"}       a built-in
    {"format": "metta.policy_bundle/1", "checkpoint": "checkpoint.pt", ...}      a checkpoint

A checkpoint bundle carries the `.pt` (metta/agent/policy_file.py: weights and metadata, never
pickled code) and its `.json` sidecar. An archive without `policy.json` is accepted when it
holds exactly one `.pt`. Anything under `files/` is extra data the author shipped along; no
code from a bundle is ever run.

`bundle_policy` makes one, `read_manifest` checks one without unpacking it or loading torch,
`check_upload` also reads every member through (the server runs it on upload),
`extract_bundle` unpacks one safely (no absolute paths, no `..`, no links, no name both a
file and a directory, sizes bounded by `BundleLimits` from the headers and again on the
bytes), `load_bundle_spec` turns an unpacked bundle into a `PolicySpec`, and
`validate_bundle` loads the policy and plays one env step with it. Every refusal is a
one-line `BundleError` (`BundleTooLarge` for a limit).
"""

from __future__ import annotations

import contextlib
import json
import stat
import struct
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import IO, Any

from metta.agent.builtin_names import BUILTIN_PREFIX, BuiltinNameError, parse_builtin
from metta.common.uri import first_line

BUNDLE_FORMAT = "metta.policy_bundle/1"
MANIFEST = "policy.json"
CHECKPOINT_MEMBER = "checkpoint.pt"
EXTRA_DIR = "files"
DEFAULT_ENV = "mettagrid/arena/basic"

MAX_MEMBERS = 10_000
MAX_UNPACKED_BYTES = 4 << 30
# A zip bomb unpacks to far more than it weighs: past the floor, a bundle may unpack to at most
# this many times its archive's size. Real bundles stay far below (a checkpoint is stored, not
# deflated), and even a megabyte of zeros deflates only about 1000:1.
MAX_EXPANSION = 100
EXPANSION_FLOOR_BYTES = 32 << 20
_ZIP_MAGIC = b"PK\x03\x04"  # also the start of every torch.save file
_GZIP_MAGIC = b"\x1f\x8b"


class BundleError(ValueError):
    """A bundle that cannot be used; the message is one line."""


class BundleTooLarge(BundleError):
    """A bundle over a size or count limit (the server answers 413)."""


@dataclass(frozen=True)
class BundleLimits:
    """How much a bundle may hold, checked from its headers before anything is unpacked, and
    again on the bytes while it is read."""

    max_members: int = MAX_MEMBERS  # entries of any kind, directories included
    max_unpacked_bytes: int = MAX_UNPACKED_BYTES
    max_expansion: float = MAX_EXPANSION  # unpacked / archive bytes, past `expansion_floor_bytes`
    expansion_floor_bytes: int = EXPANSION_FLOOR_BYTES

    def unpacked_limit(self, archive_bytes: int) -> int:
        return min(self.max_unpacked_bytes, max(self.expansion_floor_bytes, int(archive_bytes * self.max_expansion)))


DEFAULT_LIMITS = BundleLimits()


@dataclass(frozen=True)
class BundleManifest:
    kind: str  # "builtin" or "checkpoint"
    source: str  # the built-in's URI, or the checkpoint's path inside the bundle
    archive_format: str  # "zip", "tar.gz" or "dir" (unpacked)
    files: tuple[str, ...]  # every regular file, sorted

    @property
    def builtin_name(self) -> str:
        assert self.kind == "builtin"
        return self.source[len(BUILTIN_PREFIX):]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "files": list(self.files)}


# ---------------------------------------------------------------------------------------------
# reading archives


class _Archive:
    """A zip, tar.gz or unpacked directory seen as {safe member name: size} plus `open`.

    Opening one reads only headers, and refuses before the sum of the declared sizes passes
    `limits`: links and devices, unsafe or clashing names (`x` beside `x/y`, twice the same
    name) and too many entries. `read_bounded` then holds the bytes to those declared sizes."""

    def __init__(self, path: Path, limits: BundleLimits = DEFAULT_LIMITS):
        self.path = path
        self.limits = limits
        self._zip: zipfile.ZipFile | None = None
        self._tar: tarfile.TarFile | None = None
        self.members: dict[str, int] = {}
        self._dirs: set[str] = set()
        self._entries = 0
        self.unpacked_bytes = 0  # declared by the headers
        self._tar_members: dict[str, tarfile.TarInfo] = {}
        if path.is_dir():
            self.format = "dir"
            self.unpacked_limit = limits.max_unpacked_bytes
            for file in sorted(path.rglob("*")):
                if file.is_symlink() or not (file.is_file() or file.is_dir()):
                    raise BundleError(f"{path}: {file.relative_to(path)} is not a regular file")
                if file.is_file():
                    self._add(file.relative_to(path).as_posix(), file.stat().st_size)
            return
        self.unpacked_limit = limits.unpacked_limit(path.stat().st_size)
        with open(path, "rb") as file:
            magic = file.read(4)
        if magic.startswith(_ZIP_MAGIC):
            self.format = "zip"
            self._check_zip_directory()
            try:
                self._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError, ValueError) as error:
                raise BundleError(f"{path}: unreadable zip archive ({error})") from None
            for info in self._zip.infolist():
                kind = stat.S_IFMT(info.external_attr >> 16)
                if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                    what = "a symbolic link" if kind == stat.S_IFLNK else "not a regular file"
                    raise BundleError(f"{path}: {info.filename} is {what}; bundles hold regular files only")
                if info.is_dir():
                    self._add_dir(info.filename)
                else:
                    self._add(info.filename, info.file_size)
        elif magic.startswith(_GZIP_MAGIC):
            self.format = "tar.gz"
            try:
                self._tar = tarfile.open(path, "r:gz")  # noqa: SIM115  (closed by close())
                # One header at a time: each step decompresses the member before it, so the
                # limits are checked before a bomb's next member is inflated, not after all.
                while (info := self._tar.next()) is not None:
                    if info.isdir():
                        self._add_dir(info.name)
                        continue
                    if not info.isfile():
                        raise BundleError(f"{path}: {info.name} is a link or device; bundles hold regular files only")
                    self._tar_members[self._add(info.name, info.size)] = info
            except (tarfile.TarError, OSError, EOFError) as error:
                raise BundleError(f"{path}: unreadable tar.gz archive ({error})") from None
        else:
            raise BundleError(f"{path}: not a .zip or .tar.gz archive")
        clash = sorted(set(self.members) & self._dirs)
        if clash:
            raise BundleError(f"{path}: {clash[0]} is both a file and a directory")

    def _check_zip_directory(self) -> None:
        """Refuse a zip whose end record announces too many entries, before zipfile builds an
        object for each (a few bytes of directory per entry can cost gigabytes of memory)."""
        size = self.path.stat().st_size
        with open(self.path, "rb") as file:
            file.seek(max(0, size - (1 << 16) - 22))
            tail = file.read()
        end = tail.rfind(b"PK\x05\x06")
        if end < 0 or len(tail) < end + 22:
            return  # zipfile says what is wrong with it
        entries = struct.unpack("<H", tail[end + 10:end + 12])[0]
        zip64 = tail.rfind(b"PK\x06\x06", 0, end)
        if entries == 0xFFFF and zip64 >= 0 and len(tail) >= zip64 + 40:
            entries = struct.unpack("<Q", tail[zip64 + 32:zip64 + 40])[0]
        if entries > self.limits.max_members:
            raise BundleTooLarge(f"{self.path}: more than {self.limits.max_members} entries")

    def _count_entry(self) -> None:
        self._entries += 1
        if self._entries > self.limits.max_members:
            raise BundleTooLarge(f"{self.path}: more than {self.limits.max_members} entries")

    def _add_dir(self, raw_name: str) -> None:
        self._count_entry()
        name = raw_name.rstrip("/")
        if name not in ("", "."):  # `tar czf b.tar.gz .` starts with the root itself
            self._dirs.add(_safe_name(self.path, name))

    def _add(self, raw_name: str, size: int) -> str:
        self._count_entry()
        name = _safe_name(self.path, raw_name)
        if name in self.members:
            raise BundleError(f"{self.path}: {name} appears twice")
        self.members[name] = size
        self._dirs.update(parent.as_posix() for parent in PurePosixPath(name).parents if parent.parts)
        self.unpacked_bytes += size
        if self.unpacked_bytes > self.unpacked_limit:
            raise BundleTooLarge(f"{self.path}: unpacks to more than {_mib(self.unpacked_limit)} "
                                 f"(at most {self.limits.max_expansion:g} times the archive's size, and "
                                 f"{_mib(self.limits.max_unpacked_bytes)} in all)")
        return name

    def open(self, name: str) -> IO[bytes]:
        if self._zip is not None:
            return self._zip.open(name)
        if self._tar is not None:
            file = self._tar.extractfile(self._tar_members[name])
            assert file is not None
            return file
        return open(self.path / name, "rb")

    def read(self, name: str, limit: int = -1) -> bytes:
        try:
            with self.open(name) as file:
                return file.read(limit)
        except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError, ValueError) as error:
            raise BundleError(f"{self.path}: cannot read {name} ({error})") from None

    def copy_bounded(self, name: str, out: IO[bytes] | None) -> None:
        """Copy a member to `out` (None: read and drop, to check it), refusing more bytes than
        its header declared, in case the headers lie about what the data inflates to."""
        declared, seen = self.members[name], 0
        try:
            with self.open(name) as source:
                while chunk := source.read(min(1 << 20, declared - seen + 1)):
                    seen += len(chunk)
                    if seen > declared:
                        raise BundleTooLarge(f"{self.path}: {name} unpacks to more than the {declared} bytes "
                                             "its header declares")
                    if out is not None:
                        out.write(chunk)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, ValueError) as error:
            raise BundleError(f"{self.path}: cannot read {name} ({error})") from None
        if seen != declared:
            raise BundleError(f"{self.path}: {name} holds {seen} bytes, not the {declared} its header declares")

    def close(self) -> None:
        for handle in (self._zip, self._tar):
            if handle is not None:
                handle.close()


def _mib(size: int) -> str:
    return f"{size / (1 << 20):g} MiB"


@contextlib.contextmanager
def _open_archive(path: str | Path, limits: BundleLimits = DEFAULT_LIMITS) -> Iterator[_Archive]:
    path = Path(path)
    if not path.exists():
        raise BundleError(f"{path}: no such file")
    archive = _Archive(path, limits)
    try:
        yield archive
    finally:
        archive.close()


def _safe_name(archive: Path, raw: str) -> str:
    """A member name that stays inside the bundle: relative, no `..`, forward slashes."""
    name = raw.removeprefix("./")
    parts = PurePosixPath(name).parts
    if not name or "\\" in name or name.startswith("/") or ":" in parts[0] or ".." in parts:
        raise BundleError(f"{archive}: unsafe member name {raw!r}")
    return PurePosixPath(*parts).as_posix()


# ---------------------------------------------------------------------------------------------
# the manifest


def read_manifest(path: str | Path, limits: BundleLimits = DEFAULT_LIMITS) -> BundleManifest:
    """What a bundle (archive or unpacked directory) holds, checked without running anything."""
    with _open_archive(path, limits) as archive:
        return _manifest(archive)


def check_upload(path: str | Path, limits: BundleLimits = DEFAULT_LIMITS) -> BundleManifest:
    """`read_manifest`, then every member read through (and dropped) to prove that the bytes
    match the headers: what the server runs on an upload before it keeps it."""
    with _open_archive(path, limits) as archive:
        manifest = _manifest(archive)
        if archive.format != "dir":
            for name in archive.members:
                archive.copy_bounded(name, None)
        return manifest


def _manifest(archive: _Archive) -> BundleManifest:
    where = archive.path
    names = archive.members
    uri = checkpoint = None
    if MANIFEST in names:
        try:
            data = json.loads(archive.read(MANIFEST, limit=1 << 20))
        except ValueError:
            raise BundleError(f"{where}: {MANIFEST} is not valid JSON") from None
        except RecursionError:  # thousands of nested brackets: the parser gives up, so do we
            raise BundleError(f"{where}: {MANIFEST} is nested too deeply") from None
        if not isinstance(data, dict):
            raise BundleError(f"{where}: {MANIFEST} must be a JSON object")
        if data.get("format", BUNDLE_FORMAT) != BUNDLE_FORMAT:
            raise BundleError(f"{where}: {MANIFEST} format {data.get('format')!r} is not {BUNDLE_FORMAT!r}")
        uri, checkpoint = data.get("uri"), data.get("checkpoint")
        if (uri is None) == (checkpoint is None) or not isinstance(uri or checkpoint, str):
            raise BundleError(f"{where}: {MANIFEST} must name either a built-in 'uri' or a 'checkpoint' file")
    else:
        found = sorted(name for name in names if name.endswith(".pt"))
        if len(found) != 1:
            raise BundleError(f"{where}: no {MANIFEST} and {len(found)} .pt files (a bundle needs exactly one policy)")
        checkpoint = found[0]
    files = tuple(sorted(names))
    if uri is not None:
        _check_builtin(where, uri)
        return BundleManifest("builtin", uri, archive.format, files)
    assert checkpoint is not None
    checkpoint = _safe_name(where, checkpoint)
    if checkpoint not in names:
        raise BundleError(f"{where}: {MANIFEST} names {checkpoint}, which the bundle lacks")
    if not archive.read(checkpoint, limit=4).startswith(_ZIP_MAGIC):
        raise BundleError(f"{where}: {checkpoint} is not a torch checkpoint file")
    return BundleManifest("checkpoint", checkpoint, archive.format, files)


def _check_builtin(where: Path, uri: str) -> None:
    """A built-in URI the policy store can make (`metta://policy/role?miner=4`), or BundleError."""
    if not uri.startswith(BUILTIN_PREFIX):
        raise BundleError(f"{where}: {uri!r} is not a built-in policy (they start with {BUILTIN_PREFIX})")
    try:
        parse_builtin(uri[len(BUILTIN_PREFIX):])
    except BuiltinNameError as error:
        raise BundleError(f"{where}: {uri!r} is not a built-in policy ({first_line(error)})") from None


# ---------------------------------------------------------------------------------------------
# making, unpacking and loading bundles


def bundle_policy(path_or_uri: str | Path, extra_files: Iterable[str | Path] = (),
                  out_path: str | Path | None = None) -> Path:
    """Pack a policy into an upload archive (a .zip); returns its path.

    `path_or_uri` is a built-in (`metta://policy/<name>`) or anything the policy store
    resolves to checkpoints (a `.pt`, a run directory, file://, s3://, wandb://), of which
    the newest is taken. `extra_files` (files or directories) go under `files/`. Without
    `out_path` the archive is written to a new temporary directory.
    """
    source = str(path_or_uri)
    manifest: dict[str, Any] = {"format": BUNDLE_FORMAT,
                                "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    entries: list[tuple[str, Path | bytes]] = []
    if source.lower().startswith("metta://"):
        _check_builtin(Path(source), source)
        manifest["uri"] = source
    else:
        checkpoint, metadata = _resolve_checkpoint(source)
        manifest.update(checkpoint=CHECKPOINT_MEMBER, source=source, run=metadata.get("run"),
                        epoch=metadata.get("epoch"))
        entries.append((CHECKPOINT_MEMBER, checkpoint))
        entries.append((Path(CHECKPOINT_MEMBER).with_suffix(".json").name,
                        json.dumps(metadata, indent=2, sort_keys=True).encode()))
    entries.insert(0, (MANIFEST, json.dumps(manifest, indent=2).encode()))
    entries += _extra_entries(extra_files)
    out = Path(out_path) if out_path else Path(tempfile.mkdtemp(prefix="policy-bundle-")) / "bundle.zip"
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in entries:
            # A torch checkpoint is a zip already: store it, do not deflate it again.
            compress = zipfile.ZIP_STORED if name.endswith(".pt") else zipfile.ZIP_DEFLATED
            if isinstance(content, Path):
                archive.write(content, name, compress_type=compress)
            else:
                archive.writestr(name, content, compress_type=compress)
    return out


def _resolve_checkpoint(source: str) -> tuple[Path, dict[str, Any]]:
    from metta.agent.policy_file import CheckpointError, read_metadata
    from metta.agent.policy_store import PolicyStoreError
    from metta.agent.policy_uri import resolve_policies

    try:
        [spec] = resolve_policies(source, selector="latest")
        checkpoint = spec.local_checkpoint()
        return checkpoint, read_metadata(checkpoint)
    except (PolicyStoreError, CheckpointError) as error:
        raise BundleError(first_line(error)) from None


def _extra_entries(paths: Iterable[str | Path]) -> list[tuple[str, Path | bytes]]:
    entries: list[tuple[str, Path | bytes]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                entries.append((f"{EXTRA_DIR}/{path.name}/{file.relative_to(path).as_posix()}", file))
        elif path.is_file():
            entries.append((f"{EXTRA_DIR}/{path.name}", path))
        else:
            raise BundleError(f"{path}: no such file or directory (extra file for the bundle)")
    return entries


def extract_bundle(path: str | Path, dest: str | Path, limits: BundleLimits = DEFAULT_LIMITS) -> BundleManifest:
    """Unpack a bundle into `dest` (created; must not exist) after checking it; no member is
    written past the size its header declares."""
    dest = Path(dest)
    with _open_archive(path, limits) as archive:
        manifest = _manifest(archive)
        dest.mkdir(parents=True)
        for name in archive.members:
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as out:
                archive.copy_bounded(name, out)
    return manifest


def load_bundle_spec(bundle_dir: str | Path, label: str | None = None):
    """The `PolicySpec` (metta/agent/policy_uri.py) of an unpacked bundle; `label` names
    it in stats and messages."""
    from metta.agent.policy_uri import PolicySpec, builtin_spec

    bundle_dir = Path(bundle_dir).resolve()  # a file URI needs an absolute path
    manifest = read_manifest(bundle_dir)
    if manifest.kind == "builtin":
        return builtin_spec(manifest.builtin_name)
    checkpoint = bundle_dir / manifest.source
    label = label or bundle_dir.name
    return PolicySpec(uri=checkpoint.as_uri(), name=label, policy_key=label, policy_version="bundle",
                      checkpoint=checkpoint)


def validate_bundle(path: str | Path, env: str = DEFAULT_ENV, env_overrides: Iterable[str] = ()) -> BundleManifest:
    """Check that a bundle loads and that its policy acts for one step of `env`; returns its
    manifest. This is what `cogames upload --dry-run` runs."""
    from metta.agent.compat import PolicyEnvMismatch
    from metta.agent.policy_file import CheckpointError
    from mettagrid.cogsguard.missions import env_config_by_name
    from mettagrid.vec_env import MettaGridVecEnv

    path = Path(path)
    config = env_config_by_name(env, list(env_overrides))
    with tempfile.TemporaryDirectory(prefix="bundle-check-") as tmp:
        manifest = extract_bundle(path, Path(tmp) / "bundle")
        vec_env = MettaGridVecEnv(config, num_envs=1, seed=0)
        try:
            spec = load_bundle_spec(Path(tmp) / "bundle", label=path.stem)
            try:
                actor = spec.make_actor(vec_env, "cpu", seed=0)
            except (CheckpointError, PolicyEnvMismatch) as error:
                raise BundleError(f"{path}: {first_line(error)}") from None
            observations = vec_env.reset()
            try:
                actions = actor.act(observations)
                vec_env.step(actions)
            except Exception as error:  # noqa: BLE001  (any failure of foreign weights is the bundle's)
                raise BundleError(f"{path}: the policy failed to act in {env} ({first_line(error)})") from None
        finally:
            vec_env.close()
    return manifest


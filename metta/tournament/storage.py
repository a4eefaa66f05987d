"""Where uploaded bundles live on disk, under the server's `--storage` directory:

    bundles/<sha[:2]>/<sha256>.<zip|tar.gz>   the archive as uploaded, named by its content hash
                                              (the same bytes uploaded twice are kept once)
    unpacked/<sha256>/                        the archive unpacked, made on a match's first need
    incoming/                                 uploads being received (renamed into bundles/)

Every file appears by rename, so a reader never sees half of one.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

from metta.tournament.bundle import extract_bundle


class BundleStore:
    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()  # unpacked paths go to workers and into file URIs
        for sub in ("bundles", "unpacked", "incoming"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def incoming_path(self) -> Path:
        """A fresh path to receive an upload into."""
        return self.root / "incoming" / f"{secrets.token_hex(8)}.part"

    def put(self, received: Path, sha256: str, archive_format: str) -> str:
        """Move a received upload into place; returns its path relative to the root."""
        relative = f"bundles/{sha256[:2]}/{sha256}.{archive_format}"
        target = self.root / relative
        if target.exists():
            received.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            received.replace(target)
        return relative

    def path(self, relative: str) -> Path:
        return self.root / relative

    def unpacked(self, sha256: str, relative: str) -> Path:
        """The bundle unpacked (once; later calls reuse the directory)."""
        target = self.root / "unpacked" / sha256
        if not target.is_dir():
            staging = target.with_name(f".{sha256}.{secrets.token_hex(4)}")
            try:
                extract_bundle(self.path(relative), staging)
                staging.rename(target)
            except OSError:
                if not target.is_dir():  # lost a race with another unpacker: theirs is as good
                    raise
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return target

    def remove(self, sha256: str, relative: str) -> None:
        """Drop a bundle no live version uses any more."""
        self.path(relative).unlink(missing_ok=True)
        shutil.rmtree(self.root / "unpacked" / sha256, ignore_errors=True)

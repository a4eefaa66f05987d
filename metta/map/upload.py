"""tools/upload_map_imgs.py: PNG images of maps, uploaded to an S3 prefix with the right content type.

Inputs are image files (PNG, JPEG, GIF, WebP: uploaded as they are, with their own content
type) and stored maps (`.yaml`, `.map`, `.txt`, drawn with the viewer's sprite rules first);
directories are searched for both. With no arguments the images of the current directory go
to `$METTA_MAP_IMAGES_URI`, or to the original's destination when that is unset.
`--dry-run` lists what would go where without rendering or uploading.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import yaml

from metta.common.cli_parser import CliParser
from metta.map.storage import MAP_SUFFIXES
from mettagrid.errors import ConfigError

PREFIX_ENV = "METTA_MAP_IMAGES_URI"
DEFAULT_PREFIX = "s3://softmax-public/policydash/evals/img"  # where the original's tool uploaded
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".webp": "image/webp"}


def find_inputs(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            # In a directory, a .yaml/.txt that is not a stored map (a config, notes) is not an input.
            found += sorted(p for p in path.iterdir() if p.is_file() and _wanted(p) and (_is_image(p) or _is_map(p)))
        elif path.is_file():
            if not _wanted(path):
                raise ConfigError(f"{name}: not an image or a stored map ({', '.join((*IMAGE_TYPES, *MAP_SUFFIXES))})")
            if not _is_image(path):
                _check_map(path)
            found.append(path)
        else:
            raise ConfigError(f"{name}: no such file or directory")
    return found


def _check_map(path: Path) -> None:
    """A map named on the command line that cannot be rendered is refused up front, with the
    reason (e.g. `map.yaml:2:6: front matter is not valid YAML: ...`)."""
    from mettagrid.map_builder.ascii import parse_stored_map

    try:
        parse_stored_map(path.read_text(encoding="utf-8"), str(path))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (not UTF-8)") from None
    except ValueError as error:
        raise ConfigError(str(error).splitlines()[0]) from None


def _is_map(path: Path) -> bool:
    from mettagrid.map_builder.ascii import parse_stored_map

    try:
        parse_stored_map(path.read_text(encoding="utf-8"), str(path))
    except (ValueError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return True


def _wanted(path: Path) -> bool:
    return _is_image(path) or path.name.endswith(MAP_SUFFIXES)


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_TYPES


def png_bytes(path: Path, cell_size: int) -> bytes:
    if _is_image(path):
        return path.read_bytes()
    from mettagrid.map_builder.ascii import parse_stored_map
    from mettagrid.renderer.image import render_map_image

    try:
        grid, _ = parse_stored_map(path.read_text(encoding="utf-8"), str(path))
    except ValueError as error:
        raise ConfigError(str(error)) from None
    buffer = io.BytesIO()
    render_map_image(grid, cell_size=cell_size).save(buffer, format="PNG")
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = CliParser(prog="tools/upload_map_imgs.py", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=["."], help="PNG files, stored maps or directories (default: .)")
    parser.add_argument("--s3-prefix", default=os.environ.get(PREFIX_ENV) or DEFAULT_PREFIX,
                        help=f"s3://bucket/prefix to upload to (default: ${PREFIX_ENV}, else {DEFAULT_PREFIX})")
    parser.add_argument("--cell-size", type=int, default=16, help="Pixels per cell for maps drawn here")
    parser.add_argument("--dry-run", action="store_true", help="List what would be uploaded; upload nothing")
    args = parser.parse_args(argv)
    try:
        return upload(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def upload(args) -> int:
    from metta.common.uri import make_s3_client, parse_s3_uri, s3_error_message

    prefix = args.s3_prefix
    if not prefix.startswith("s3://"):
        raise ConfigError(f"--s3-prefix: {prefix}: must be an s3://bucket/prefix URI")
    try:
        parse_s3_uri(prefix)
    except ValueError as error:  # s3:// without a bucket: refused before anything is rendered
        raise ConfigError(f"--s3-prefix: {error}") from None
    inputs = find_inputs(args.paths)
    if not inputs:
        print("upload_map_imgs: nothing to upload (no images or stored maps found)", file=sys.stderr)
        return 0
    shown_prefix = prefix.rstrip("/")
    client = None if args.dry_run else make_s3_client()
    for path in inputs:
        name = path.name if _is_image(path) else f"{path.name.split('.')[0]}.png"
        content_type = IMAGE_TYPES.get(path.suffix.lower(), "image/png")
        destination = f"{shown_prefix}/{name}"
        if args.dry_run:
            action = "upload" if _is_image(path) else "render and upload"
            print(f"would {action} {path} -> {destination} ({content_type})")
            continue
        data = png_bytes(path, args.cell_size)
        bucket, key = parse_s3_uri(destination)
        try:
            client.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
        except Exception as error:
            message = s3_error_message(error)
            if message is None:
                raise
            raise ConfigError(f"--s3-prefix: {destination}: {message}") from None
        print(f"uploaded {path} -> {destination} ({len(data)} bytes, {content_type})")
    return 0

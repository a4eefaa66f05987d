"""The one place that reads and writes by URI: local paths, `file://` and `s3://`.

- Names: `uri_scheme`, `local_path`, `parse_s3_uri`, `check_destination`, `join_destination`.
- Local writes are atomic (`atomic_path`, `atomic_write`, from mettagrid/atomic_files.py):
  a temporary file beside the target, fsynced, then renamed over it. What a killed writer
  leaves (`.metta-tmp.*`) is removed by `remove_stale_temp_files` when a tool next starts
  in that directory.
- `write_output` takes any supported URI and turns every failure into a one-line
  `ConfigError` naming the config key and the URI; `s3_errors` does the same for any boto
  call, with the caller's error type; `download_file` fetches an object atomically.
- S3: `make_s3_client` (honours `AWS_ENDPOINT_URL[_S3]`) and `s3_error_message`, which words
  boto errors in one line. boto3 is imported lazily so paths that never touch S3 work
  without it.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mettagrid.atomic_files import (  # noqa: F401  (re-exported: the library imports them from here)
    STALE_TEMP_AGE_S,
    TEMP_PREFIX,
    atomic_path,
    atomic_write,
    atomic_write_bytes,
    pid_alive,
    remove_stale_temp_files,
    temp_path_for,
)
from mettagrid.errors import ConfigError

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


# ---------------------------------------------------------------------------------------------
# names


def uri_scheme(uri: str) -> str:
    """`s3://b/k` -> "s3"; a plain path or `file://...` -> "file"."""
    match = _SCHEME_RE.match(uri)
    return match[1].lower() if match else "file"


def local_path(uri: str) -> Path:
    """The path of a plain path or `file://` URI (`file://./x` is relative, `~` expands)."""
    path = uri[len("file://") :] if uri.lower().startswith("file://") else uri
    return Path(path).expanduser()


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/some/key.pt` -> ("bucket", "some/key.pt"); the key may be "" or end in "/"."""
    if not uri.startswith("s3://"):
        raise ValueError(f"{uri}: not an s3:// URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"{uri}: an s3:// URI needs a bucket name (s3://bucket/key)")
    return bucket, key


def check_destination(uri: str) -> str:
    """`uri` when it can be written to: a local path, `file://` or `s3://bucket/...`; else a
    one-line ValueError saying what to write instead. For pydantic validators of output keys
    (checked when the config is read, not after the work that fills them)."""
    scheme = uri_scheme(uri)
    if scheme == "s3":
        parse_s3_uri(uri)
    elif scheme != "file":
        raise ValueError(f"{uri}: unknown URI scheme {scheme!r} (use a local path, file:// or s3://bucket/...)")
    return uri


def join_destination(prefix: str, name: str) -> str:
    """`prefix` (a directory or an s3:// prefix) joined with a file name."""
    if prefix.startswith("s3://"):
        return prefix.rstrip("/") + "/" + name
    return str(Path(prefix.removeprefix("file://")) / name)


# ---------------------------------------------------------------------------------------------
# reading and writing by URI


def write_output(destination: str, data: bytes, key: str, content_type: str = "application/octet-stream") -> str:
    """Write `data` to a local path or an s3:// URI; returns where it went.

    Local files are written atomically, so a reader (a browser, the dashboard server) never
    sees half a report. A single S3 PUT is already all-or-nothing.
    """
    scheme = uri_scheme(destination)
    if scheme == "s3":
        bucket, object_key = _s3_object(destination, key)
        with s3_errors(destination, key):
            make_s3_client().put_object(Bucket=bucket, Key=object_key, Body=data, ContentType=content_type)
        return destination
    if scheme != "file":
        raise ConfigError(f"{key}: {destination}: unsupported destination (use a local path or s3://bucket/key)")
    path = local_path(destination)
    try:
        atomic_write_bytes(path, data)
    except OSError as error:
        raise ConfigError(f"{key}: {destination}: cannot write ({error.strerror or first_line(error)})") from None
    return str(path)


def download_file(bucket: str, object_key: str, dest: Path, client: Any | None = None) -> Path:
    """Fetch one S3 object to `dest` atomically (a reader never sees a partial download)."""
    with atomic_path(dest) as tmp:
        (client or make_s3_client()).download_file(bucket, object_key, str(tmp))
    return dest


def _s3_object(uri: str, key: str) -> tuple[str, str]:
    try:
        bucket, object_key = parse_s3_uri(uri)
    except ValueError as error:
        raise ConfigError(f"{key}: {error}") from None
    if not object_key or object_key.endswith("/"):
        raise ConfigError(f"{key}: {uri}: needs an object key after the bucket")
    return bucket, object_key


# ---------------------------------------------------------------------------------------------
# S3 client and errors


class S3SetupError(RuntimeError):
    """S3 cannot be used at all here (boto3 missing)."""


def make_s3_client() -> Any:
    """A boto3 S3 client; `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` point it at another server.

    Recent botocore reads these variables itself; passing them explicitly keeps older
    versions (and anything that builds its own session) pointed at the same server.
    """
    try:
        import boto3
    except ImportError:
        raise S3SetupError("s3:// URIs need boto3 (pip install boto3)") from None
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
    # A fresh session (not boto3's process-wide default, which caches the credentials it
    # found first) so that the current environment is what counts.
    return boto3.session.Session().client("s3", endpoint_url=endpoint)


@contextlib.contextmanager
def s3_errors(uri: str, key: str | None = None, error_type: type[Exception] = ConfigError) -> Iterator[None]:
    """Turn a boto error raised inside the block into one `error_type` line naming the URI
    (and the config key when given); other exceptions pass through."""
    try:
        yield
    except error_type:
        raise
    except Exception as error:
        message = s3_error_message(error)
        if message is None:
            raise
        raise error_type(f"{key}: {uri}: {message}" if key else f"{uri}: {message}") from None


def s3_error_message(error: BaseException) -> str | None:
    """One line describing a boto error, or None when `error` is not one (so callers re-raise it)."""
    if isinstance(error, S3SetupError):
        return str(error)
    try:
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
    except ImportError:
        return None
    if isinstance(error, S3UploadFailedError) and isinstance(error.__context__, ClientError):
        error = error.__context__  # boto3 wraps the informative ClientError when uploading
    if isinstance(error, NoCredentialsError):
        return "no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)"
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        code = str(info.get("Code", "?"))
        if code in ("404", "NoSuchKey"):
            return "S3 object not found"
        if code == "NoSuchBucket":
            return "S3 bucket does not exist"
        if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return f"S3 access denied ({code}); check AWS credentials and bucket permissions"
        return f"S3 request failed ({code}: {info.get('Message', '')})"
    if isinstance(error, (BotoCoreError, S3UploadFailedError)):
        return f"S3 request failed: {first_line(error)}"
    return None


def first_line(error: BaseException, limit: int = 200) -> str:
    text = str(error).strip().splitlines()
    line = text[0] if text else type(error).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."

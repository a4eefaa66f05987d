"""The one place that parses `s3://` URIs, makes the boto3 client and words S3 errors.

boto3 is imported lazily so that code paths that never touch S3 (local checkpoints, tests
without the extra) work without it installed.
"""

from __future__ import annotations

import os
from typing import Any


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/some/key.pt` -> ("bucket", "some/key.pt"); the key may be "" or end in "/"."""
    if not uri.startswith("s3://"):
        raise ValueError(f"{uri}: not an s3:// URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"{uri}: an s3:// URI needs a bucket name (s3://bucket/key)")
    return bucket, key


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

"""What keeps one user or one address from taking the tournament server over, and what keeps
server internals out of the messages users see.

- `RateLimiter`: a token bucket per key (a client address, a user id). Each bucket holds up to
  `burst` requests and refills at `rate` per second; a request finding it empty is refused
  with the seconds until the next token (the server answers 429 with `Retry-After`).
- `scrub_paths`: a message with the server's own paths replaced by what they mean to a user
  (`<storage>/...`, `bundle/checkpoint.pt`) and any other absolute path cut to its last part.
  The server logs the full message and stores or shows only the scrubbed one.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """Token buckets per key; `rate <= 0` turns the limit off."""

    # Past this many keys, buckets that have refilled completely are dropped (they hold no
    # state a fresh bucket would not), so a stream of new addresses cannot grow memory forever.
    PRUNE_AT = 10_000

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self.clock = float(rate), max(float(burst), 1.0), clock
        self._buckets: dict[object, _Bucket] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def acquire(self, key: object) -> float | None:
        """Take one token for `key`: None when granted, else the seconds until one is free."""
        if not self.enabled:
            return None
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self.PRUNE_AT:
                    self._prune(now)
                bucket = self._buckets[key] = _Bucket(self.burst, now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return (1.0 - bucket.tokens) / self.rate

    def _prune(self, now: float) -> None:
        full = [key for key, b in self._buckets.items() if b.tokens + (now - b.stamp) * self.rate >= self.burst]
        for key in full:
            del self._buckets[key]


# An absolute POSIX path as it appears inside a message: a slash, then anything up to a quote,
# space, comma, parenthesis or colon.
# `metta://policy/x`, `s3://b/k` and `<storage>/x` hold no server path: a slash after `:`, `/`
# or `>` does not start one.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~:/>-])/[^\s'\",():;]+")


def scrub_paths(text: str, named: Mapping[str | Path, str] = ()) -> str:
    """`text` without the server's paths: each root in `named` (longest first) becomes its label,
    every other absolute path becomes `.../<its last part>`."""
    for root, label in sorted(((str(k), v) for k, v in dict(named).items()), key=lambda kv: -len(kv[0])):
        if root and root != "/":
            text = text.replace(root, label)
    return _ABSOLUTE_PATH.sub(lambda m: ".../" + m.group(0).rstrip("/").rsplit("/", 1)[-1], text)

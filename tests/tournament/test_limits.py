"""The token bucket and the path scrubber the server relies on, on a fake clock."""

from __future__ import annotations

from metta.tournament.limits import RateLimiter, scrub_paths


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_lets_a_burst_through_then_the_rate():
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.acquire("a") for _ in range(3)] == [None, None, None]
    wait = limiter.acquire("a")
    assert wait is not None and abs(wait - 0.5) < 1e-9  # one token every half second
    assert limiter.acquire("b") is None  # another key has its own bucket
    clock.now += 0.5
    assert limiter.acquire("a") is None and limiter.acquire("a") is not None
    clock.now += 60  # refills up to the burst, not beyond
    assert [limiter.acquire("a") for _ in range(4)][-1] is not None
    assert RateLimiter(rate=0, burst=1).acquire("a") is None  # 0: no limit


def test_full_buckets_are_dropped_when_there_are_too_many_keys():
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=2, clock=clock)
    limiter.PRUNE_AT = 10
    for key in range(10):
        limiter.acquire(key)
    limiter.acquire(0)
    limiter.acquire(0)  # key 0 is now empty
    clock.now += 1.0  # the others are full again, key 0 holds one token
    limiter.acquire("new")
    assert set(limiter._buckets) == {0, "new"}
    assert limiter.acquire(0) is None and limiter.acquire(0) is not None  # key 0 kept its state


def test_server_paths_are_named_or_cut():
    named = {"/srv/tournament/storage": "<storage>"}
    text = ("FileNotFoundError: '/srv/tournament/storage/unpacked/ab12/checkpoint.pt' and /usr/lib/python3/x.py, "
            "metta://policy/random, s3://bucket/key, GET /api/x")
    assert scrub_paths(text, named) == ("FileNotFoundError: '<storage>/unpacked/ab12/checkpoint.pt' and .../x.py, "
                                        "metta://policy/random, s3://bucket/key, GET .../x")

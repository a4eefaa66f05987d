#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active (as tools/ do).
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
from __future__ import annotations

__doc__ = """A bounded load test of the tournament server (metta/tournament/server.py).

Starts the server on 127.0.0.1 (port 0, a temporary database and storage, no match workers)
unless `--url` names a running one, then lets `--users` simulated users loop for `--duration`
seconds, each at once: upload a new version of its policy (a small built-in bundle with its own
bytes), submit that version, read the season's leaderboard, list its policies and submissions.
Afterwards every user's versions are checked against what the server acknowledged: no upload
lost, no version number given twice, every submission present.

    devops/bench/tournament_load.py --users 20 --duration 30
    devops/bench/tournament_load.py --users 20 --duration 60 --json

prints requests, errors (5xx, 429, other), throughput and p50/p99 latency, overall and per
request kind. The server it starts runs without rate limits (all users share one address
here) unless `--keep-rate-limits`. Exit status 1 when anything was lost, duplicated or
answered with a 5xx.
"""

import argparse
import asyncio
import io
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEASON = "beta-cogsguard"


def bundle_bytes(user: int, number: int) -> bytes:
    """A built-in bundle whose bytes differ per user and upload (so each is stored anew)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("policy.json", json.dumps({"format": "metta.policy_bundle/1", "uri": "metta://policy/random"}))
        archive.writestr("files/note.txt", f"user {user} upload {number}\n" * 64)
    return out.getvalue()


def start_server(tmp: Path, keep_rate_limits: bool) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    limits = [] if keep_rate_limits else ["--rate-per-user", "0", "--rate-per-address", "0"]
    command = [sys.executable, "-m", "metta.tournament.server", "--db", str(tmp / "t.db"), "--storage",
               str(tmp / "storage"), "--host", "127.0.0.1", "--port", "0", "--match-workers", "0", *limits]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=open(tmp / "server.log", "w"),
                               text=True)
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    if not selector.select(60) or process.poll() is not None:
        process.kill()
        raise SystemExit(f"the server did not start: {(tmp / 'server.log').read_text()}")
    return process, process.stdout.readline().split()[-1]


class Stats:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[int, int] = defaultdict(int)
        self.failures: list[str] = []  # transport errors and unexpected statuses, one line each

    def summary(self, seconds: float) -> dict:
        everything = sorted(x for values in self.latencies.values() for x in values)
        kinds = {kind: _percentiles(sorted(values)) | {"requests": len(values)}
                 for kind, values in sorted(self.latencies.items())}
        errors_5xx = sum(n for status, n in self.statuses.items() if status >= 500)
        return {"requests": len(everything), "seconds": round(seconds, 1),
                "requests_per_s": round(len(everything) / seconds, 1), **_percentiles(everything),
                "errors": len(self.failures), "errors_5xx": errors_5xx, "rate_limited_429": self.statuses.get(429, 0),
                "statuses": dict(sorted(self.statuses.items())), "kinds": kinds, "first_errors": self.failures[:5]}


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}

    def at(q: float) -> float:
        return round(1000 * values[min(len(values) - 1, int(q * len(values)))], 1)

    return {"p50_ms": at(0.50), "p99_ms": at(0.99), "max_ms": round(1000 * values[-1], 1)}


async def run_load(url: str, users: int, duration: float) -> dict:
    import aiohttp

    stats = Stats()
    acknowledged: dict[str, list[int]] = defaultdict(list)  # policy -> versions the server answered with
    submitted: dict[str, int] = defaultdict(int)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=users * 2)) as http:

        async def request(kind: str, method: str, path: str, token: str | None = None, expect=(200,), **kwargs):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            start = time.perf_counter()
            try:
                async with http.request(method, url + path, headers=headers, **kwargs) as response:
                    body = await response.read()
                    status = response.status
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                stats.failures.append(f"{kind}: {type(error).__name__}: {error}")
                return None
            finally:
                stats.latencies[kind].append(time.perf_counter() - start)
            stats.statuses[status] += 1
            if status not in expect:
                stats.failures.append(f"{kind}: HTTP {status}: {body[:200].decode('utf-8', 'replace')}")
                return None
            return json.loads(body)

        tokens = []
        for index in range(users):
            made = await request("signup", "POST", "/api/users", json={"name": f"load-{index}-{os.getpid()}"},
                                 expect=(201,))
            if made is None:
                raise SystemExit(f"could not sign up: {stats.failures}")
            tokens.append(made["token"])
        deadline = time.monotonic() + duration

        async def user_loop(index: int, token: str) -> None:
            policy = f"load-{index}-{os.getpid()}-p"
            number = 0
            while time.monotonic() < deadline:
                number += 1
                form = aiohttp.FormData()
                form.add_field("bundle", bundle_bytes(index, number), filename="bundle.zip",
                               content_type="application/zip")
                version = await request("upload", "POST", f"/api/policies/{policy}/versions", token, expect=(201,),
                                        data=form)
                if version is not None:
                    acknowledged[policy].append(version["version"])
                    entry = await request("submit", "POST", f"/api/seasons/{SEASON}/submissions", token,
                                          expect=(201,), json={"policy": policy, "version": version["version"]})
                    if entry is not None:
                        submitted[policy] += 1
                await request("leaderboard", "GET", f"/api/seasons/{SEASON}/leaderboard")
                await request("policies", "GET", "/api/policies", token)
                await request("submissions", "GET", "/api/submissions", token)

        start = time.monotonic()
        await asyncio.gather(*(user_loop(i, t) for i, t in enumerate(tokens)))
        seconds = time.monotonic() - start

        # What the server kept, against what it acknowledged.
        lost, duplicated, missing_submissions = [], [], []
        for index, token in enumerate(tokens):
            policy = f"load-{index}-{os.getpid()}-p"
            async with http.get(f"{url}/api/policies/{policy}") as response:
                stored = [v["version"] for v in (await response.json())["versions"]] if response.status == 200 else []
            answered = acknowledged[policy]
            if len(answered) != len(set(answered)) or len(stored) != len(set(stored)):
                duplicated.append(policy)
            if sorted(answered) != sorted(stored):
                lost.append(f"{policy}: acknowledged {len(answered)}, stored {len(stored)}")
            async with http.get(f"{url}/api/submissions", headers={"Authorization": f"Bearer {token}"}) as response:
                rows = (await response.json())["submissions"]
            if len(rows) != submitted[policy]:
                missing_submissions.append(f"{policy}: {submitted[policy]} submitted, {len(rows)} listed")
    result = stats.summary(seconds)
    result.update(users=users, uploads=sum(len(v) for v in acknowledged.values()),
                  submissions=sum(submitted.values()), lost_uploads=lost, duplicate_versions=duplicated,
                  missing_submissions=missing_submissions)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", type=float, default=30.0, help="Seconds of load")
    parser.add_argument("--url", help="A running server (default: start one on 127.0.0.1)")
    parser.add_argument("--keep-rate-limits", action="store_true", help="Start the server with its default rate limits")
    parser.add_argument("--json", action="store_true", help="Print the result as one JSON object")
    args = parser.parse_args(argv)
    process = None
    with tempfile.TemporaryDirectory(prefix="tournament-load-") as tmp:
        url = args.url
        if url is None:
            process, url = start_server(Path(tmp), args.keep_rate_limits)
        try:
            result = asyncio.run(run_load(url.rstrip("/"), args.users, args.duration))
        finally:
            if process is not None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['users']} users, {result['seconds']}s: {result['requests']} requests "
              f"({result['requests_per_s']}/s), {result['uploads']} uploads, {result['submissions']} submissions")
        print(f"errors {result['errors']} (5xx {result['errors_5xx']}, 429 {result['rate_limited_429']}); "
              f"latency p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms")
        for kind, row in result["kinds"].items():
            print(f"  {kind:12s} {row['requests']:6d} requests  p50 {row['p50_ms']} ms  p99 {row['p99_ms']} ms")
        for line in result["first_errors"] + result["lost_uploads"] + result["duplicate_versions"] + \
                result["missing_submissions"]:
            print(f"  ! {line}")
    bad = result["errors_5xx"] or result["lost_uploads"] or result["duplicate_versions"] or result["missing_submissions"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

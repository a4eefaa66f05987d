#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active (as tools/ do).
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
from __future__ import annotations

__doc__ = """Bounded fuzz run of the MettaGrid core: random configs, maps, buffers and actions, valid and
invalid, thrown at `mettagrid._core` for a time budget (docs/reliability.md).

  devops/fuzz/run.py                      # 60 s, seed 0
  devops/fuzz/run.py --seconds 36000 --seed 7
  devops/fuzz/run.py --sanitize --seconds 600   # the core built with ASan + UBSan
  devops/fuzz/run.py --replay build/fuzz/failure-0-123.json

The cases run in a worker process (devops/fuzz/cases.py); this parent watches it. A case that
fails (wrong exception, accepted bad input, broken invariant) is written as a reproducer and
the worker goes on; a crash (the worker dies) or a hang (no progress for --hang-seconds) is
written the same way and a new worker resumes at the next case. Prints one summary line:
  fuzz: seed=0 seconds=60.0 sanitize=off cases=... configs=... steps=... refusals=... failures=0
and exits 1 when failures > 0.
"""

import argparse
import json
import os
import subprocess
import sys
import sysconfig
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "build" / "fuzz"
SANITIZE_DIR = REPO / "build" / "fuzz-sanitize"
CORE_ENV = "METTAGRID_FUZZ_CORE"  # path of a _core build the worker loads instead of the default

# Imported by path so that the worker needs no package install.
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))


# ---------------------------------------------------------------------------------------------
# The sanitizer build


def sanitized_core() -> Path:
    """Build mettagrid/cpp into build/fuzz-sanitize/ with -fsanitize=address,undefined and return
    the library's path. Incremental: a source is compiled again when it (or any header) is newer
    than its object file."""
    import pybind11

    cxx = os.environ.get("CXX", "g++")
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    target = SANITIZE_DIR / f"_core{suffix}"
    sources = sorted((REPO / "mettagrid" / "cpp" / "src").glob("*.cpp"))
    headers = max(p.stat().st_mtime for p in (REPO / "mettagrid" / "cpp" / "include").glob("*.hpp"))
    SANITIZE_DIR.mkdir(parents=True, exist_ok=True)
    # No -fwrapv (Python's own flags carry it): signed overflow must stay undefined so that
    # UBSan reports it. -O1 keeps the run usable; every UBSan finding aborts the worker.
    # float-cast-overflow is not part of gcc's "undefined" group; the action copy converts floats.
    flags = ["-std=c++17", "-O1", "-g", "-fno-omit-frame-pointer", "-fPIC",
             "-fsanitize=address,undefined,float-cast-overflow", "-fno-sanitize-recover=undefined,float-cast-overflow"]
    includes = [f"-I{REPO / 'mettagrid' / 'cpp' / 'include'}", f"-I{pybind11.get_include()}",
                f"-I{sysconfig.get_paths()['include']}"]
    # Objects built with other flags (or another compiler) are stale whatever their dates.
    stamp = SANITIZE_DIR / "flags.txt"
    recipe = " ".join([cxx, *flags, *includes])
    stale = not stamp.exists() or stamp.read_text() != recipe
    objects, pending = [], []
    for source in sources:
        obj = SANITIZE_DIR / (source.stem + ".o")
        objects.append(obj)
        if stale or not obj.exists() or obj.stat().st_mtime < max(source.stat().st_mtime, headers):
            pending.append([cxx, *flags, *includes, "-c", str(source), "-o", str(obj)])
    jobs = max(1, int(os.environ.get("FUZZ_BUILD_JOBS", "2")))
    for start in range(0, len(pending), jobs):
        batch = pending[start : start + jobs]
        print("fuzz: compiling (ASan + UBSan):", ", ".join(Path(c[-3]).name for c in batch), flush=True)
        procs = [subprocess.Popen(c) for c in batch]
        if any(p.wait() != 0 for p in procs):
            raise SystemExit("fuzz: the sanitized build failed")
    stamp.write_text(recipe)
    if pending or not target.exists():
        subprocess.run([cxx, "-shared", "-fsanitize=address,undefined,float-cast-overflow", *map(str, objects), "-o", str(target)],
                       check=True)
    return target


def sanitizer_env(core: Path) -> dict[str, str]:
    """Python itself is not instrumented, so ASan's runtime has to be loaded first, and with it
    libstdc++: Python does not link it, and ASan's interceptor of `__cxa_throw` (every C++
    exception the core throws) must find the real one at start-up."""
    cxx = os.environ.get("CXX", "g++")

    def lib(name: str) -> str:
        return subprocess.run([cxx, f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()

    return {
        CORE_ENV: str(core),
        "LD_PRELOAD": f"{lib('libasan.so')} {lib('libstdc++.so')}",
        # Python's allocator "leaks" by design; a report and abort on the first error.
        "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1:allocator_may_return_null=1",
        "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
    }


def load_core_override() -> None:
    """In the worker: import the build named by METTAGRID_FUZZ_CORE as mettagrid._core."""
    path = os.environ.get(CORE_ENV)
    if not path:
        return
    import importlib.util

    import mettagrid

    spec = importlib.util.spec_from_file_location("mettagrid._core", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["mettagrid._core"] = module
    mettagrid._core = module


# ---------------------------------------------------------------------------------------------
# The worker: runs cases from --start until the deadline, reporting progress in a state file


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def reproducer(out: Path, seed: int, index: int, kind: str, error: str, detail: str = "") -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"failure-{seed}-{index}.json"
    write_json(path, {
        "seed": seed, "case": index, "kind": kind, "error": error, "detail": detail[-8000:],
        "replay": f"devops/fuzz/run.py --replay {path}",
    })
    return path


def worker(seed: int, start: int, deadline: float, state: Path, out: Path) -> None:
    load_core_override()
    from cases import Counts, Failure, case_kind, run_case

    counts = Counts()
    index = start
    while time.time() < deadline:
        write_json(state, {"case": index, "kind": case_kind(seed, index), "counts": counts.as_dict(), "t": time.time()})
        try:
            run_case(seed, index, counts)
        except Failure as error:
            counts.failures += 1
            path = reproducer(out, seed, index, case_kind(seed, index), f"failure: {error}")
            print(f"fuzz: FAIL case {index}: {error} -> {path}", flush=True)
        except Exception as error:  # unexpected exceptions are failures too, with the traceback
            counts.failures += 1
            path = reproducer(out, seed, index, case_kind(seed, index), f"{type(error).__name__}: {error}",
                              traceback.format_exc())
            print(f"fuzz: FAIL case {index}: {type(error).__name__}: {error} -> {path}", flush=True)
        index += 1
    write_json(state, {"case": index, "done": True, "counts": counts.as_dict(), "t": time.time()})


# ---------------------------------------------------------------------------------------------
# The parent: one worker at a time, restarted after a crash or a hang


def run(seconds: float, seed: int, sanitize: bool = False, out: Path = DEFAULT_OUT, hang_seconds: float = 120.0,
        verbose: bool = True) -> dict:
    """Fuzz for `seconds`; returns the totals (see Counts) with `crashes` and `hangs`."""
    from cases import Counts

    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    if sanitize:
        env.update(sanitizer_env(sanitized_core()))
    out.mkdir(parents=True, exist_ok=True)
    state = out / f"state-{seed}-{os.getpid()}.json"
    totals = Counts()
    crashes = hangs = 0
    start_time = time.time()
    deadline = start_time + seconds
    index = 0
    while time.time() < deadline:
        if state.exists():
            state.unlink()
        log = out / f"worker-{seed}-{os.getpid()}.log"
        with open(log, "w") as log_file:
            proc = subprocess.Popen(
                [sys.executable, __file__, "--worker", "--seed", str(seed), "--start", str(index),
                 "--deadline", str(deadline), "--state", str(state), "--out", str(out)],
                env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=REPO)
            hung = False
            spawned = time.time()
            while proc.poll() is None:
                time.sleep(0.2)
                last = json.loads(state.read_text()) if state.exists() else None
                progress = last["t"] if last else spawned
                if time.time() - progress > hang_seconds:
                    proc.kill()
                    proc.wait()
                    hung = True
        output = log.read_text(errors="replace")
        if verbose:
            for line in output.splitlines():
                if line.startswith("fuzz: FAIL"):
                    print(line, flush=True)
        last = json.loads(state.read_text()) if state.exists() else {"case": index, "counts": {}}
        totals.add(Counts.from_dict(last["counts"]))
        if last.get("done"):
            break
        # The worker died (or hung) in case last["case"]: that case is a failure.
        index = last["case"]
        what = "hang" if hung else f"crash (exit {proc.returncode})"
        hangs += hung
        crashes += not hung
        totals.failures += 1
        path = reproducer(out, seed, index, last.get("kind", "?"), what, output)
        print(f"fuzz: FAIL case {index}: {what} -> {path}", flush=True)
        index += 1
    elapsed = time.time() - start_time
    result = {**totals.as_dict(), "crashes": crashes, "hangs": hangs, "seconds": round(elapsed, 1), "seed": seed,
              "sanitize": sanitize}
    if state.exists():
        state.unlink()
    return result


def replay(path: Path, sanitize: bool) -> int:
    """Run the case of a reproducer again, in a fresh process (sanitized if asked)."""
    case = json.loads(Path(path).read_text())
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if sanitize:
        env.update(sanitizer_env(sanitized_core()))
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import run; run.load_core_override(); "
            f"from cases import Counts, run_case; c = Counts(); "
            f"print('case', {case['case']}, run_case({case['seed']}, {case['case']}, c), 'passed', c.as_dict())")
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO).returncode


def summary(result: dict) -> str:
    kinds = " ".join(f"{k}={v}" for k, v in sorted(result["by_kind"].items()))
    return (f"fuzz: seed={result['seed']} seconds={result['seconds']} sanitize={'on' if result['sanitize'] else 'off'} "
            f"cases={result['cases']} configs={result['configs']} steps={result['steps']} "
            f"refusals={result['refusals']} crashes={result['crashes']} hangs={result['hangs']} "
            f"failures={result['failures']} ({kinds})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget (default 60)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sanitize", action="store_true", help="use the core built with ASan + UBSan")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="reproducers and worker logs")
    parser.add_argument("--hang-seconds", type=float, default=120.0, help="no progress for this long is a hang")
    parser.add_argument("--replay", type=Path, help="run the case of a reproducer file again")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--state", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.seed, args.start, args.deadline, args.state, args.out)
        return
    if args.replay:
        sys.exit(replay(args.replay, args.sanitize))
    result = run(args.seconds, args.seed, args.sanitize, args.out, args.hang_seconds)
    print(summary(result), flush=True)
    sys.exit(1 if result["failures"] else 0)


if __name__ == "__main__":
    main()

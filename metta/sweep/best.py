"""tools/get_best_params_from_sweep.py: the best runs of a sweep, and a config patch of the best.

  ./tools/get_best_params_from_sweep.py sweep_name=my_sweep
  ./tools/get_best_params_from_sweep.py sweep_name=my_sweep --top-n 5
  ./tools/get_best_params_from_sweep.py sweep_name=my_sweep --output-dir configs/trainer/patch
  ./tools/train.py run=production +trainer/patch=my_sweep_best

The patch is a Hydra config with `# @package _global_`, so its keys (`trainer.learning_rate`,
...) land where the sweep's dotted parameter paths say, whatever group it is added from.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from metta.agent.sweep_record import best_first, successful_runs
from metta.common.cli_parser import CliParser
from metta.sweep.lifecycle import nested
from metta.sweep.store import SweepStore
from mettagrid.errors import ConfigError


def ranked_runs(store: SweepStore, goal: str) -> list[dict[str, Any]]:
    """Successful runs, best first (the order `wandb://sweep/<name>:best` picks from)."""
    observations = {r.run_id: {**r.observation, "params": r.params} for r in store.runs() if r.observation}
    return best_first(successful_runs(observations), goal)


def write_patch(output_dir: str, name: str, best: dict[str, Any]) -> Path:
    import yaml

    from metta.common.uri import write_output

    path = Path(output_dir) / f"{name}.yaml"
    header = (f"# @package _global_\n# Best run of sweep: {best['run']} (score {best['score']:.6g}, "
              f"cost {best['cost'] or 0:.0f} s). Use: ./tools/train.py +trainer/patch={name}\n")
    write_output(str(path), (header + yaml.safe_dump(nested(best["params"]), sort_keys=False)).encode(), "--output-dir")
    return path


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = CliParser(prog="tools/get_best_params_from_sweep.py", description=__doc__.splitlines()[0])
    parser.add_argument("settings", nargs="*", help="sweep_name=NAME [sweep_dir=DIR|s3://...]")
    parser.add_argument("--top-n", type=int, default=1, help="How many of the best runs to show")
    parser.add_argument("--output-dir", help="Write <dir>/<sweep_name>_best.yaml, a patch for tools/train.py")
    parser.add_argument("--json", action="store_true", help="Print the runs as JSON")
    args = parser.parse_args(argv)
    try:
        settings = dict(item.split("=", 1) for item in args.settings if "=" in item)
        bad = [item for item in args.settings if "=" not in item] + \
            [key for key in settings if key not in ("sweep_name", "sweep_dir")]
        if bad:
            raise ConfigError(f"{bad[0]}: expected sweep_name=NAME or sweep_dir=DIR")
        if "sweep_name" not in settings:
            raise ConfigError("sweep_name: which sweep? (sweep_name=NAME)")
        store = SweepStore(settings.get("sweep_dir", "train_dir/sweeps"), settings["sweep_name"])
        config = store.sweep_config()
        if config is None:
            raise ConfigError(f"sweep_name: no sweep {settings['sweep_name']!r} at {store.location}")
        runs = ranked_runs(store, config.get("goal", "maximize"))
        if not runs:
            raise ConfigError(f"sweep_name: {settings['sweep_name']} has no successful runs yet")
        top = runs[: max(1, args.top_n)]
        if args.json:
            print(json.dumps(top, indent=2))
        else:
            for rank, run in enumerate(top, start=1):
                print(f"#{rank} {run['run']}: {config.get('metric', 'score')} {run['score']:.6g}, cost {run['cost'] or 0:.0f} s")
                for key, value in run["params"].items():
                    print(f"    {key}: {value}")
        if args.output_dir:
            path = write_patch(args.output_dir, f"{settings['sweep_name']}_best", top[0])
            print(f"patch written to {path} (use: ./tools/train.py +trainer/patch={path.stem})", file=sys.stderr)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0

"""The map tools' command lines: tools/map/{gen,gen_scene,view,normalize_ascii_map,normalize_scene_patterns}.py.

Each `*_main(argv)` returns an exit code: 0, or 2 with one `error: ...` line on stderr for
bad input (a missing file, an unknown key, a generator that cannot satisfy its config).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np

from metta.common.cli_parser import CliParser
from metta.common.uri import remove_stale_temp_files
from metta.map.show import SHOW_MODES, show_map
from metta.map.storage import is_directory_uri, load_map, save_map
from mettagrid.errors import ConfigError

# ---------------------------------------------------------------------------------------------
# shared


def _run(body, *args) -> int:
    try:
        return body(*args) or 0
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `gen.py ... | head`: the reader has what it wanted
        sys.stderr.close()
        return 0


def parse_overrides(items: list[str], key: str = "overrides") -> dict[str, Any]:
    """`a.b=1 c=[1,2]` (values read as YAML) as a dotted mapping."""
    import shlex

    import yaml

    out: dict[str, Any] = {}
    for item in items:
        for part in shlex.split(item):
            name, sep, value = part.partition("=")
            if not sep or not name:
                raise ConfigError(f"{key}: {part!r}: expected key=value")
            try:
                out[name] = yaml.safe_load(value)
            except yaml.YAMLError:
                out[name] = value
    return out


def take_seed(overrides: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """`seed=N` among the overrides (the original's spelling) is the map seed, like --seed."""
    if "seed" not in overrides:
        return overrides
    overrides = dict(overrides)
    seed = overrides.pop("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"overrides: seed={seed!r}: expected an integer")
    if args.seed is not None and args.seed != seed:
        raise ConfigError(f"overrides: seed={seed} contradicts --seed={args.seed}")
    args.seed = seed
    return overrides


def apply_dotted(data: dict[str, Any], overrides: dict[str, Any], source: str) -> dict[str, Any]:
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    config = OmegaConf.create(data)
    try:
        for key, value in overrides.items():
            OmegaConf.update(config, key, value, force_add=True)
    except OmegaConfBaseException as error:
        raise ConfigError(f"{source}: {str(error).splitlines()[0]}") from None
    return OmegaConf.to_container(config, resolve=True)


def validate_builder(data: dict[str, Any], source: str):
    from pydantic import ValidationError

    from mettagrid.errors import describe_validation_error
    from mettagrid.map_builder import parse_map_builder_config

    try:
        return parse_map_builder_config(data)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, source=source)) from None


def build(config, seed: int, source: str) -> np.ndarray:
    from mettagrid.map_builder import build_map

    try:
        return build_map(config, seed)
    except ValueError as error:
        raise ConfigError(f"{source}: {str(error).splitlines()[0]}") from None


def check_map(grid: np.ndarray, source: str, expect_agents: int | None, connected: bool) -> None:
    from mettagrid.map_builder import count_agents, is_connected

    agents = count_agents(grid)
    if expect_agents is not None and agents != expect_agents:
        raise ConfigError(f"{source}: the map has {agents} agents, --expect-agents asked for {expect_agents}")
    if connected and not is_connected(grid):
        raise ConfigError(f"{source}: the map is not connected (some open cells cannot reach others)")


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output-uri", help="Save to a file, a directory (one file per map) or an s3:// prefix")
    parser.add_argument("--show-mode", choices=SHOW_MODES, default=None,
                        help="ascii (default for one unsaved map), PIL (PNG), mettascope (browser viewer), none")
    parser.add_argument("--seed", type=int, default=None, help="First seed (default: random, recorded in the file)")
    parser.add_argument("--overrides", action="append", default=[], help='"key=value key=value" for the config')
    parser.add_argument("--expect-agents", type=int, default=None, help="Refuse maps with another agent count")
    parser.add_argument("--connected", action="store_true", help="Refuse maps whose open cells are not all connected")
    parser.add_argument("--port", type=int, default=0, help="Viewer port for --show-mode=mettascope (0 = any)")


def emit_maps(configs_and_meta, args, stem: str) -> None:
    """Build, check, save and show every (config, metadata) for each seed asked for."""
    count = getattr(args, "count", 1)
    if count > 1 and args.output_uri and not is_directory_uri(args.output_uri):
        raise ConfigError(f"--output-uri: {args.output_uri}: --count={count} needs a directory or s3:// prefix "
                          f"(end it with '/')")
    if args.output_uri and not args.output_uri.startswith("s3://"):
        # What an interrupted earlier run left half-written where this one writes.
        local = Path(args.output_uri.removeprefix("file://")).expanduser()
        remove_stale_temp_files(local if is_directory_uri(args.output_uri) else local.parent)
    first_seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    show_mode = args.show_mode or ("ascii" if count == 1 and not args.output_uri else "none")
    config, metadata, source = configs_and_meta
    for index in range(count):
        seed = first_seed + index
        grid = build(config, seed, source)
        check_map(grid, source, args.expect_agents, args.connected)
        from mettagrid.map_builder import count_agents

        summary = f"map {index + 1}/{count}: {grid.shape[1]}x{grid.shape[0]}, {count_agents(grid)} agents, seed {seed}"
        if args.output_uri:
            meta = {**metadata, "seed": seed, "config": config.model_dump(mode="json")}
            where = save_map(args.output_uri, grid, meta, f"{stem}_{seed}.yaml")
            summary += f" -> {where}"
        print(summary, file=sys.stderr)
        show_map(grid, show_mode, title=f"{stem}_{seed}", port=args.port)


# ---------------------------------------------------------------------------------------------
# gen.py


def load_builder_yaml(path: str) -> tuple[dict[str, Any], str]:
    """A map builder mapping from a YAML file holding a builder (`type: ...`) or a whole env
    config (`game.map_builder`)."""
    from mettagrid.errors import read_yaml

    if not Path(path).is_file():
        raise ConfigError(f"CONFIG: {path}: no such file")
    data = read_yaml(path)
    if isinstance(data, dict) and "type" in data:
        return data, "map builder"
    builder = (data or {}).get("game", {}).get("map_builder") if isinstance(data, dict) else None
    if isinstance(builder, dict):
        return builder, "env"
    raise ConfigError(f"CONFIG: {path}: neither a map builder (a mapping with 'type') nor an env config "
                      f"(with game.map_builder)")


def gen_main(argv: list[str] | None = None) -> int:
    parser = CliParser(prog="tools/map/gen.py", description="Generate maps from a map builder or env config.")
    parser.add_argument("config", help="YAML file: a map builder (type: ...) or an env config (game.map_builder)")
    parser.add_argument("extra", nargs="*", help="key=value overrides of the builder config")
    parser.add_argument("--count", type=int, default=1, help="How many maps (seeds seed..seed+count-1)")
    add_output_arguments(parser)
    args = parser.parse_intermixed_args(argv)  # key=value may follow the options

    def body() -> None:
        if args.count < 1:
            raise ConfigError(f"--count: {args.count}: must be at least 1")
        data, _ = load_builder_yaml(args.config)
        data = apply_dotted(data, take_seed(parse_overrides(args.overrides + args.extra), args), args.config)
        config = validate_builder(data, args.config)
        emit_maps((config, {"source": args.config}, args.config), args, Path(args.config).stem)

    return _run(body)


# ---------------------------------------------------------------------------------------------
# gen_scene.py


def gen_scene_main(argv: list[str] | None = None) -> int:
    parser = CliParser(prog="tools/map/gen_scene.py", description="Generate a map from a scene at a size.")
    parser.add_argument("scene", help="Scene name under configs/scenes (wfc/blob) or a YAML path")
    parser.add_argument("width", type=int)
    parser.add_argument("height", type=int)
    parser.add_argument("extra", nargs="*", help="key=value overrides of the scene (dotted, e.g. generator.rooms=4)")
    parser.add_argument("--count", type=int, default=1, help="How many maps")
    add_output_arguments(parser)
    args = parser.parse_intermixed_args(argv)

    def body() -> None:
        from pydantic import ValidationError

        from mettagrid.errors import describe_validation_error
        from mettagrid.map_builder import load_scene

        overrides = take_seed(parse_overrides(args.overrides + args.extra), args)
        try:
            config = load_scene(args.scene, args.width, args.height, overrides or None)
        except ValidationError as error:
            raise ConfigError(describe_validation_error(error, source=args.scene)) from None
        except ConfigError:
            raise  # already names its file (`scene.yaml:3:1: not valid YAML: ...`)
        except (ValueError, FileNotFoundError) as error:
            raise ConfigError(f"SCENE: {str(error).splitlines()[0]}") from None
        stem = scene_stem(args.scene)
        emit_maps((config, {"scene": args.scene}, args.scene), args, stem)

    return _run(body)


def scene_stem(scene: str) -> str:
    """`wfc/blob` and `scenes/wfc/blob.yaml` both name their maps `wfc_blob_<seed>.yaml`."""
    name = scene.removesuffix(".yaml").removesuffix(".yml")
    for head in ("./", "configs/", "scenes/"):
        name = name.removeprefix(head)
    return name.replace("/", "_")


# ---------------------------------------------------------------------------------------------
# view.py


def view_main(argv: list[str] | None = None) -> int:
    parser = CliParser(prog="tools/map/view.py", description="Show a stored map.")
    parser.add_argument("uri", help="A map file, a directory or an s3:// prefix (a random map of it)")
    parser.add_argument("--show-mode", choices=SHOW_MODES, default="ascii")
    parser.add_argument("--seed", type=int, default=None, help="Seed of the random pick from a directory")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)

    def body() -> None:
        from mettagrid.map_builder import count_agents

        grid, metadata, where = load_map(args.uri, args.seed)
        seed = f", seed {metadata['seed']}" if "seed" in metadata else ""
        print(f"{where}: {grid.shape[1]}x{grid.shape[0]}, {count_agents(grid)} agents{seed}", file=sys.stderr)
        show_map(grid, args.show_mode, title=Path(where).stem, port=args.port)

    return _run(body)


# ---------------------------------------------------------------------------------------------
# normalize_ascii_map.py / normalize_scene_patterns.py


def _normalize_main(argv, prog: str, description: str, normalize) -> int:
    parser = CliParser(prog=prog, description=description)
    parser.add_argument("paths", nargs="+", help="Files to normalize")
    parser.add_argument("--in-place", action="store_true", help="Rewrite the files (atomically) instead of printing")
    args = parser.parse_args(argv)

    def body() -> None:
        for name in args.paths:
            path = Path(name)
            if not path.is_file():
                raise ConfigError(f"{name}: no such file")
            text = path.read_text(encoding="utf-8")
            try:
                result, notes = normalize(text, name)
            except ValueError as error:
                raise ConfigError(str(error)) from None
            if not args.in_place:
                sys.stdout.write(result if result.endswith("\n") else result + "\n")
            elif result != text:
                from metta.common.uri import write_output

                write_output(str(path), result.encode(), name, "text/plain")
            for note in notes:
                print(f"{name}: {note}", file=sys.stderr)
            if args.in_place:
                print(f"{name}: {'normalized' if result != text else 'already canonical'}", file=sys.stderr)

    return _run(body)


def normalize_ascii_main(argv: list[str] | None = None) -> int:
    from metta.map.normalize import normalize_map_text

    return _normalize_main(argv, "tools/map/normalize_ascii_map.py",
                           "Rewrite ASCII maps with canonical characters (old letters, renderer output, spaces).",
                           normalize_map_text)


def normalize_scene_main(argv: list[str] | None = None) -> int:
    from metta.map.normalize import normalize_scene_text

    return _normalize_main(argv, "tools/map/normalize_scene_patterns.py",
                           "Rewrite the WFC/ConvChain example patterns of scene files with canonical characters.",
                           normalize_scene_text)

"""Map images drawn with Pillow from the browser viewer's sprite rules.

The rules live in one file, ``metta/viewer/static/sprites.json``, which MettaScope's
``palette.js``/``render.js`` read too: colour tables, hashed colours for unknown names, and
every tile (wall, block, building body, building icons, agent) as a list of primitives in a
unit square (the file's ``about`` entry describes them). This module interprets the same
primitives, so an image of a map has the viewer's colours and shapes.

Drawing follows the viewer: the floor with 1-pixel grid lines, walls with light and dark edges
on the sides that face open floor, blocks and buildings inset by ``thing_inset`` of a cell,
agents on top. Each distinct tile is drawn once at ``supersample`` times the cell size and
shrunk with a box filter (area averaging, like the canvas's anti-aliasing), so a pixel well
inside a shape has that shape's exact colour. Walls are drawn at the cell size with their edges
on whole pixels, as the viewer's background layer does.

Agent colours come from their group id, and so do the borders and tints of buildings a team
owns (a replay's ``team`` field). A map grid names groups, not ids: by default the
group names found in the grid are numbered in sorted order; pass ``groups`` (name -> id, e.g.
``{name: g.id for name, g in game.groups.items()}``) for the env's ids.

    from mettagrid.renderer.image import render_map_image
    render_map_image(build_map(cfg.game.map_builder, seed=0), cell_size=16).save("map.png")
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mettagrid.replay import frame_at

SPRITES_PATH = Path(__file__).resolve().parents[2] / "metta" / "viewer" / "static" / "sprites.json"
ORIENTATION_NAMES = ("up", "down", "left", "right")  # orientation ids 0..3
SIDE_BITS = {"up": 1, "down": 2, "left": 4, "right": 8}
ALL_OPEN = 15
SHAPE_KEYS = ("rect", "polygon", "circle", "line", "text")
AGENT_PREFIX = "agent."
EMPTY = "empty"


# ---------------------------------------------------------------------------------------------
# the rules and their colours (the same arithmetic as palette.js)


@functools.lru_cache(maxsize=4)
def load_sprite_rules(path: str | Path | None = None) -> dict[str, Any]:
    """The parsed sprites.json (cached; treat it as read-only)."""
    path = Path(path) if path is not None else SPRITES_PATH
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(
            f"the viewer's sprite rules are not at {path} (map images need metta/viewer/static/sprites.json "
            "next to the mettagrid package)"
        ) from None


def hash_string(text: str) -> int:
    """FNV-1a over the UTF-16 code units of ``text`` (what JavaScript's charCodeAt gives)."""
    h = 2166136261
    data = text.encode("utf-16-le", "surrogatepass")
    for i in range(0, len(data), 2):
        h ^= data[i] | (data[i + 1] << 8)
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)  # JavaScript's Math.round


def hsl_to_hex(h: float, s: float, lightness: float) -> str:
    s /= 100
    lightness /= 100
    a = s * min(lightness, 1 - lightness)

    def channel(n: int) -> str:
        k = math.fmod(n + h / 30, 12)
        value = lightness - a * max(-1, min(k - 3, min(9 - k, 1)))
        return f"{_round_half_up(value * 255):02x}"

    return f"#{channel(0)}{channel(8)}{channel(4)}"


def hashed_color(name: str, saturation: float | None = None, lightness: float | None = None,
                 rules: dict[str, Any] | None = None) -> str:
    """A stable colour for any name: hue from its FNV-1a hash (palette.js `hashedColor`)."""
    default = (rules or load_sprite_rules())["hashed"]["default"]
    saturation = default[0] if saturation is None else saturation
    lightness = default[1] if lightness is None else lightness
    return hsl_to_hex(hash_string(str(name)) % 360, saturation, lightness)


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    value = int(color[1:], 16)
    return (value >> 16) & 255, (value >> 8) & 255, value & 255


def shade(color: str, factor: float) -> str:
    return "#" + "".join(f"{max(0, min(255, _round_half_up(c * factor))):02x}" for c in hex_to_rgb(color))


def group_color(group: int, rules: dict[str, Any] | None = None) -> str:
    colors = (rules or load_sprite_rules())["group_colors"]
    return colors[group % len(colors)]


def agent_ring_color(value: int, rules: dict[str, Any] | None = None) -> str:
    saturation, lightness = (rules or load_sprite_rules())["hashed"]["agent_ring"]
    return hsl_to_hex(((value & 255) / 256) * 360, saturation, lightness)


def building_style(name: str, rules: dict[str, Any] | None = None) -> dict[str, str]:
    """Body and accent colours, icon and letter of a building (palette.js `buildingStyle`): the
    family is the name up to the first "_", the tint the part after it."""
    rules = rules or load_sprite_rules()
    hashed = rules["hashed"]
    parts = name.split("_")
    family, tint = parts[0], parts[1] if len(parts) > 1 else None
    base = rules["buildings"].get(family)
    glyph = rules.get("glyphs", {}).get(name, {})  # the shared glyph table wins where it has a row
    if base is not None:
        accent = (glyph.get("color") or rules["tints"].get(tint) or base.get("accent")
                  or hashed_color(name, *hashed["building_accent"]))
        return {"body": base["body"], "accent": accent, "icon": base["icon"], "letter": glyph.get("char", name[:1].upper())}
    letter = glyph.get("char") or next((ch for ch in name if ch.isascii() and ch.isalnum()), "?").upper()
    return {"body": hashed_color(name, *hashed["unknown_body"]),
            "accent": glyph.get("color") or hashed_color(name, *hashed["unknown_accent"]), "icon": "letter", "letter": letter}


def resolve_color(ref: str, named: Mapping[str, str], rules: dict[str, Any]) -> str:
    """A colour reference of sprites.json as "#rrggbb" (palette.js `resolveColor`)."""
    if ref.startswith("#"):
        return ref
    name, _, factor = ref.partition("*")
    color = named.get(name) or rules["colors"].get(name)
    if color is None:
        raise ValueError(f"sprites.json: unknown colour {ref!r}")
    return shade(color, float(factor)) if factor else color


# ---------------------------------------------------------------------------------------------
# primitives


@dataclass(frozen=True)
class Primitive:
    """One primitive of sprites.json with its colours resolved."""

    shape: str
    coords: tuple[float, ...]
    text: str = ""
    size: float = 0.0
    radius: float = 0.0
    fill: str | None = None
    stroke: str | None = None
    width: float = 0.0
    min_width: float = 0.0
    alpha: float = 1.0
    min_cell: float = 0.0
    open_bit: int = 0


def compile_shape(primitives: list[dict[str, Any]], named: Mapping[str, str] | None = None,
                  rules: dict[str, Any] | None = None) -> list[Primitive]:
    rules = rules or load_sprite_rules()
    named = named or {}
    out = []
    for p in primitives:
        shape = next((key for key in SHAPE_KEYS if key in p), None)
        if shape is None:
            raise ValueError(f"sprites.json: a primitive without a shape: {p}")
        out.append(Primitive(
            shape=shape,
            coords=tuple(p["at"] if shape == "text" else p[shape]),
            text=str(named.get(p["text"], p["text"])) if shape == "text" else "",
            size=p.get("size", 0.0),
            radius=p.get("radius", 0.0),
            fill=resolve_color(p["fill"], named, rules) if "fill" in p and shape != "line" else None,
            stroke=resolve_color(p["stroke"], named, rules) if "stroke" in p else None,
            width=p.get("width", 0.0),
            min_width=p.get("min_width", 0.0),
            alpha=p.get("alpha", 1.0),
            min_cell=p.get("min_cell", 0.0),
            open_bit=SIDE_BITS[p["open"]] if "open" in p else 0,
        ))
    return out


def _rgba(color: str, alpha: float) -> tuple[int, int, int, int]:
    return (*hex_to_rgb(color), _round_half_up(alpha * 255))


@functools.lru_cache(maxsize=16)
def _font(px: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=px)
    except TypeError:  # Pillow built without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _stroke_path(draw: ImageDraw.ImageDraw, points: list[tuple[float, float]], closed: bool, width: float,
                 color: Any) -> None:
    """A polyline of `width` with round joins and caps (the canvas sprites' lineJoin/lineCap)."""
    w = max(1, _round_half_up(width))
    segments = list(zip(points, points[1:] + points[:1] if closed else points[1:]))
    for a, b in segments:
        draw.line([a, b], fill=color, width=w)
    r = width / 2
    if r >= 1:
        for x, y in points:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=color)


def _draw_primitive(draw: ImageDraw.ImageDraw, p: Primitive, x: float, y: float, s: float, scale: float,
                    snap: bool, fill: Any, stroke: Any) -> None:
    """Draw `p` into the `s`-pixel square at (x, y). Coordinates are continuous (pixel i covers
    [i, i + 1)); `scale` is pixels per output pixel (for min_width); `fill`/`stroke` are the
    colours to use or None."""
    c = p.coords
    width = max(p.min_width * scale, p.width * s)
    if p.shape == "rect":
        x0, y0, x1, y1 = x + c[0] * s, y + c[1] * s, x + (c[0] + c[2]) * s, y + (c[1] + c[3]) * s
        if snap:
            x0, x1 = _snap(x0, x1, x + s)
            y0, y1 = _snap(y0, y1, y + s)
        if p.radius > 0:
            r = p.radius * s
            if fill is not None:
                draw.rounded_rectangle(_box(x0, y0, x1, y1), radius=r, fill=fill)
            if stroke is not None:
                h = width / 2
                draw.rounded_rectangle(_box(x0 - h, y0 - h, x1 + h, y1 + h), radius=r + h, outline=stroke,
                                       width=max(1, _round_half_up(width)))
        else:
            i0, i1 = math.ceil(x0 - 0.5), math.ceil(x1 - 0.5) - 1
            j0, j1 = math.ceil(y0 - 0.5), math.ceil(y1 - 0.5) - 1
            if fill is not None and i1 >= i0 and j1 >= j0:
                draw.rectangle((i0, j0, i1, j1), fill=fill)
            if stroke is not None:
                corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
                _stroke_path(draw, [(u - 0.5, v - 0.5) for u, v in corners], True, width, stroke)
    elif p.shape in ("polygon", "line"):
        points = [(x + c[k] * s - 0.5, y + c[k + 1] * s - 0.5) for k in range(0, len(c), 2)]
        if fill is not None and p.shape == "polygon":
            draw.polygon(points, fill=fill)
        if stroke is not None:
            _stroke_path(draw, points, p.shape == "polygon", width, stroke)
    elif p.shape == "circle":
        cx, cy, r = x + c[0] * s, y + c[1] * s, c[2] * s
        if fill is not None:
            draw.ellipse(_box(cx - r, cy - r, cx + r, cy + r), fill=fill)
        if stroke is not None:
            R = r + width / 2
            draw.ellipse(_box(cx - R, cy - R, cx + R, cy + R), outline=stroke, width=max(1, _round_half_up(width)))
    elif p.shape == "text" and fill is not None:
        px = max(1, _round_half_up(p.size * s))
        draw.text((x + c[0] * s, y + c[1] * s), p.text, fill=fill, font=_font(px), anchor="mm",
                  stroke_width=max(0, _round_half_up(px * 0.04)), stroke_fill=fill)


def _box(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
    """Pillow's inclusive bounding box of the continuous box [x0, x1) x [y0, y1) (never inverted)."""
    return x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)


def _snap(a: float, b: float, end: float) -> tuple[int, int]:
    """Rectangle edges on whole pixels, at least one pixel apart (render.js `snappedRect`)."""
    a, b = _round_half_up(a), _round_half_up(b)
    if b - a < 1:
        if a >= _round_half_up(end):
            a = b - 1
        else:
            b = a + 1
    return a, b


def draw_shape(image: Image.Image, shape: list[Primitive], x: float, y: float, s: float, scale: float = 1.0,
               open_sides: int = ALL_OPEN, snap: bool = False) -> None:
    """Draw compiled primitives into the `s`-pixel square at (x, y) of an RGB or RGBA image (in
    place). `scale` is image pixels per output pixel; `open_sides` has a bit per side (up 1,
    down 2, left 4, right 8) whose neighbour is not the same tile."""
    draw = ImageDraw.Draw(image)
    cell_px = s / scale
    for p in shape:
        if cell_px < p.min_cell or (p.open_bit and not open_sides & p.open_bit):
            continue
        if p.alpha >= 1:
            _draw_primitive(draw, p, x, y, s, scale, snap, p.fill, p.stroke)
            continue
        layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
        _draw_primitive(ImageDraw.Draw(layer), p, x, y, s, scale, snap,
                        _rgba(p.fill, p.alpha) if p.fill else None, _rgba(p.stroke, p.alpha) if p.stroke else None)
        image.alpha_composite(layer)


# ---------------------------------------------------------------------------------------------
# tiles


class _Tiles:
    """The tiles of one image, each drawn once: wall tiles (opaque, cell-sized, by open sides)
    and RGBA tiles with a margin for everything else (so rings may reach past their cell)."""

    def __init__(self, cell: int, supersample: int, rules: dict[str, Any]):
        self.cell, self.ss, self.rules = cell, max(1, supersample), rules
        self.margin = max(1, math.ceil(cell * 0.1))
        self._cache: dict[tuple, Image.Image] = {}
        self._wall = compile_shape(rules["wall"], rules=rules)
        self._block = compile_shape(rules["block"], rules=rules)
        agent = rules["agent"]
        self._facing = [compile_shape(agent["facing"][name], rules=rules) for name in ORIENTATION_NAMES]
        self._frozen = compile_shape(agent["frozen"], rules=rules)
        self._cooling = compile_shape(rules["converter"]["cooling"], rules=rules)
        self._converting = compile_shape(rules["converter"]["converting"], rules=rules)

    def wall(self, open_sides: int) -> Image.Image:
        key = ("wall", open_sides)
        if key not in self._cache:
            tile = Image.new("RGB", (self.cell, self.cell), self.rules["colors"]["floor"])
            draw_shape(tile, self._wall, 0, 0, self.cell, 1.0, open_sides, snap=True)
            self._cache[key] = tile
        return self._cache[key]

    def _layered(self, key: tuple, layers: list[tuple[list[Primitive], float]]) -> Image.Image:
        """An RGBA tile of (cell + 2 margin) pixels: each (shape, inset) drawn in the cell's
        square shrunk by `inset` of a cell on every side."""
        if key not in self._cache:
            ss, cell, m = self.ss, self.cell, self.margin
            big = Image.new("RGBA", ((cell + 2 * m) * ss,) * 2, (0, 0, 0, 0))
            for shape, inset in layers:
                s = cell * ss
                draw_shape(big, shape, (m + inset * cell) * ss, (m + inset * cell) * ss, s * (1 - 2 * inset), ss)
            size = cell + 2 * m
            self._cache[key] = big if ss == 1 else big.resize((size, size), Image.Resampling.BOX)
        return self._cache[key]

    def thing(self, type_name: str, kind: str, cooling: bool = False, converting: bool = False,
              team: int = 0) -> Image.Image:
        """A block or building tile; `team` > 0 (a building's owner group id) adds the team overlay
        in that group's colour between the body and the icon (render.js `spriteShape`)."""
        inset = self.rules["thing_inset"]
        team = team if kind != "block" and team > 0 else 0
        if kind == "block":
            sprite = self._block
        else:
            style = building_style(type_name, self.rules)
            icon = self.rules["icons"].get(style["icon"], self.rules["icons"]["letter"])
            if team:
                named = {**style, "team": group_color(team, self.rules)}
                sprite = compile_shape(self.rules["building"] + self.rules["team"] + icon, named, self.rules)
            else:
                sprite = compile_shape(self.rules["building"] + icon, style, self.rules)
        layers = [(sprite, inset)]
        if cooling:
            layers.append((self._cooling, 0.0))
        if converting:
            layers.append((self._converting, 0.0))
        return self._layered(("thing", kind, type_name, cooling, converting, team), layers)

    def agent(self, group: int, orientation: int, color: int = 0, frozen: bool = False) -> Image.Image:
        def make() -> list[tuple[list[Primitive], float]]:
            agent = self.rules["agent"]
            layers = [(compile_shape(agent["body"], {"group": group_color(group, self.rules)}, self.rules), 0.0)]
            if color & 255:
                ring = agent_ring_color(color, self.rules)
                layers.append((compile_shape(agent["ring"], {"ring": ring}, self.rules), 0.0))
            layers.append((self._facing[orientation & 3], 0.0))
            if frozen:
                layers.append((self._frozen, 0.0))
            return layers

        key = ("agent", group, orientation & 3, color & 255, frozen)
        return self._cache[key] if key in self._cache else self._layered(key, make())


# ---------------------------------------------------------------------------------------------
# images


def _draw_objects(objects: list[dict[str, Any]], width: int, height: int, cell_size: int, grid_lines: bool,
                  supersample: int, rules: dict[str, Any]) -> Image.Image:
    """objects: dicts with kind ("agent", "wall", "block", anything else is a building), row,
    col, and type_name (buildings), group/orientation/color/frozen (agents),
    cooling_down/converting/team (buildings; team = owner group id, 0 = neutral)."""
    if cell_size < 1:
        raise ValueError(f"cell_size must be at least 1 (got {cell_size})")
    colors = rules["colors"]
    tiles = _Tiles(cell_size, supersample, rules)
    m = tiles.margin
    image = Image.new("RGBA", (width * cell_size + 2 * m, height * cell_size + 2 * m), colors["floor"])
    draw = ImageDraw.Draw(image)
    if grid_lines and cell_size >= 6:  # as the viewer's background layer
        for c in range(width):
            draw.line([(m + c * cell_size, m), (m + c * cell_size, m + height * cell_size - 1)], fill=colors["grid"])
        for r in range(height):
            draw.line([(m, m + r * cell_size), (m + width * cell_size - 1, m + r * cell_size)], fill=colors["grid"])

    walls = {(o["row"], o["col"]) for o in objects if o["kind"] == "wall"}
    for r, c in sorted(walls):
        open_sides = ((r - 1, c) not in walls) | ((r + 1, c) not in walls) << 1 | \
                     ((r, c - 1) not in walls) << 2 | ((r, c + 1) not in walls) << 3
        image.paste(tiles.wall(open_sides), (m + c * cell_size, m + r * cell_size))

    def place(tile: Image.Image, row: int, col: int) -> None:
        image.alpha_composite(tile, (col * cell_size, row * cell_size))

    for o in objects:
        if o["kind"] not in ("agent", "wall"):
            place(tiles.thing(o["type_name"], o["kind"], bool(o.get("cooling_down")), bool(o.get("converting")),
                              int(o.get("team") or 0)), o["row"], o["col"])
    for o in objects:
        if o["kind"] == "agent":
            place(tiles.agent(int(o.get("group", 0)), int(o.get("orientation", 0)), int(o.get("color", 0)),
                              bool(o.get("frozen"))), o["row"], o["col"])
    return image.crop((m, m, m + width * cell_size, m + height * cell_size)).convert("RGB")


def render_replay_frame_image(replay: dict[str, Any], step: int, cell_size: int = 16, *, grid_lines: bool = True,
                              supersample: int = 4) -> Image.Image:
    """One frame of a replay document (mettagrid.replay format) as the viewer draws it, less
    the inventory pips, labels and selection. Every wall gets the background layer's edges."""
    rules = load_sprite_rules()
    types, kinds = replay.get("object_types") or ["agent"], replay.get("object_kinds") or ["agent"]
    width, height = replay["map_size"]
    objects = []
    for obj in frame_at(replay, step):
        t = int(obj.get("type", 0))
        kind = kinds[t] if t < len(kinds) and kinds[t] else ("agent" if t == 0 else "unknown")
        name = types[t] if t < len(types) and types[t] else ("agent" if t == 0 else f"type_{t}")
        objects.append({**obj, "kind": kind, "type_name": name})
    return _draw_objects(objects, int(width), int(height), cell_size, grid_lines, supersample, rules)


def render_map_image(grid: np.ndarray, cell_size: int = 16, *, groups: Mapping[str, int] | None = None,
                     grid_lines: bool = True, supersample: int = 4) -> Image.Image:
    """A (height * cell_size, width * cell_size) RGB image of a grid of cell names ("empty",
    "wall", "block", "agent.<group>", building names) as the viewer would show it at step 0:
    agents face up and are coloured by group id (see the module docstring for `groups`)."""
    return render_replay_frame_image(grid_to_replay(grid, groups), 0, cell_size, grid_lines=grid_lines,
                                     supersample=supersample)


def grid_to_replay(grid: np.ndarray, groups: Mapping[str, int] | None = None) -> dict[str, Any]:
    """A one-frame replay document (format version 1, max_steps 0) of a grid of cell names, for
    the browser viewer or `render_replay_frame_image`. Agents come first with ids in row-major
    order (as the env numbers them), facing up; then the other objects in row-major order.
    Object types are "agent" then the other names sorted; wall and block keep their kinds and
    every other name is a converter."""
    grid = np.asarray(grid)
    if grid.ndim != 2 or grid.size == 0:
        raise ValueError(f"a map must be a non-empty 2-D grid of cell names (got shape {grid.shape})")
    names = sorted({str(name) for name in np.unique(grid)})
    agent_groups = [name[len(AGENT_PREFIX):] for name in names if name.startswith(AGENT_PREFIX)]
    if groups is None:
        groups = {name: i for i, name in enumerate(agent_groups)}
    missing = [name for name in agent_groups if name not in groups]
    if missing:
        raise ValueError(f"agent group {missing[0]!r} of the map is not in groups ({', '.join(groups) or 'none'})")
    object_names = [name for name in names if name != EMPTY and not name.startswith(AGENT_PREFIX)]
    types = ["agent", *object_names]
    kinds = ["agent", *(name if name in ("wall", "block") else "converter" for name in object_names)]
    type_of = {name: i + 1 for i, name in enumerate(object_names)}

    agents, others = [], []
    for (r, c), cell in np.ndenumerate(grid):
        cell = str(cell)
        if cell.startswith(AGENT_PREFIX):
            agents.append({"type": 0, "group": int(groups[cell[len(AGENT_PREFIX):]]), "row": r, "col": c,
                           "orientation": 0})
        elif cell != EMPTY:
            others.append({"type": type_of[cell], "row": r, "col": c})
    objects = []
    for i, agent in enumerate(agents):
        objects.append({"id": i, "agent_id": i, **agent})
    for i, obj in enumerate(others, start=len(agents)):
        objects.append({"id": i, **obj})
    height, width = grid.shape
    return {
        "version": 1, "action_names": [], "item_names": [], "object_types": types, "object_kinds": kinds,
        "groups": [{"id": int(gid), "name": name} for name, gid in groups.items()],
        "map_size": [int(width), int(height)], "num_agents": len(agents), "step_limit": 0, "max_steps": 0,
        "metadata": {"source": "map grid"}, "grid_objects": objects,
    }

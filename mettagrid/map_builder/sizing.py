"""Fitting a child builder's config to the area a parent gives it (a room, half a map).

Builders with ``width``/``height`` take the area's size minus their own border; wrappers
(``make_connected``) pass it on to their child; fixed-size builders (ASCII maps, instances)
keep their size, and the parent checks the shape it gets back with ``check_shape``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ValidationError

if TYPE_CHECKING:
    from mettagrid.map_builder import MapBuilderConfig


def with_area_size(data: Mapping[str, Any], height: int, width: int, owner: str) -> dict[str, Any]:
    """The config mapping ``data`` with the size fields set so its map is ``height x width``."""
    from mettagrid.map_builder import config_class  # the type table lives with the union

    fields = config_class(data.get("type"), owner).model_fields
    data = dict(data)
    if "width" in fields and "height" in fields:
        border = data.get("border_width", 0)
        data["width"], data["height"] = width - 2 * border, height - 2 * border
        if min(data["width"], data["height"]) < 1:
            raise ValueError(f"{owner}: a {width}x{height} area leaves no room inside border_width={border}")
    elif "child" in fields and isinstance(data.get("child"), Mapping):
        data["child"] = with_area_size(data["child"], height, width, owner)
    return data


def config_for_area(data: Mapping[str, Any], height: int, width: int, owner: str) -> MapBuilderConfig:
    """Validate a builder config mapping (size fields optional) for a ``height x width`` area."""
    from mettagrid.map_builder import parse_map_builder_config

    try:
        return parse_map_builder_config(with_area_size(data, height, width, owner))
    except ValidationError as error:
        first = error.errors()[0]
        # loc starts with the union's tag (the type, already in owner); the rest is the field.
        where = ".".join(str(part) for part in first["loc"][1:])
        message = first["msg"].removeprefix("Value error, ")
        raise ValueError(f"{owner}: {where}: {message}" if where else f"{owner}: {message}") from None


def fit_to_area(config: BaseModel, height: int, width: int, owner: str) -> MapBuilderConfig:
    return config_for_area(config.model_dump(), height, width, owner)


def check_shape(grid: np.ndarray, height: int, width: int, owner: str) -> None:
    if grid.shape != (height, width):
        raise ValueError(
            f"{owner}: child map is {grid.shape[1]}x{grid.shape[0]} but its area is {width}x{height} "
            "(fixed-size builders must match the area)"
        )

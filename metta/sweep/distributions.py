"""The search space: hyperparameters and the [-1, 1] coordinates the optimizer works in.

Every parameter maps its value to a coordinate in [-1, 1] through a *warp* that makes its
distribution uniform: identity for `uniform` and `int_uniform`, log2 for `uniform_pow2`, log for
`log_normal`, logit for `logit_normal`. `min` maps to -1 and `max` to +1, so a learning rate from
1e-5 to 1e-2 and a batch size from 2^18 to 2^21 are the same distance apart for the Gaussian
processes. `mean` is the search center and `scale` the standard deviation of a search step, both
read in these coordinates (`auto` = 0.5, a quarter of the range; `time` is accepted as an alias of
`auto` so that older sweep files still load).

Going back from a coordinate rounds where the parameter is discrete: `int_uniform` to the nearest
integer, `uniform_pow2` to the nearest power of two (nearest in log2, i.e. in the coordinate).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mettagrid.errors import ConfigError, describe_validation_error

AUTO_SCALE = 0.5  # what `scale: auto` means: one step is a quarter of the [-1, 1] range
SPEC_KEYS = ("min", "max", "mean", "scale")


def _g(value: float) -> str:
    return f"{value:g}"


class _Parameter(BaseModel):
    """Fields shared by every distribution; subclasses supply the warp and the rounding."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min: float = Field(description="Smallest value the sweep may suggest")
    max: float = Field(description="Largest value the sweep may suggest")
    mean: float = Field(description="Search center: the first suggestion and where random samples start")
    scale: float | Literal["auto", "time"] = Field(
        "auto", description="Step size in [-1, 1] coordinates; auto (and its alias time) = 0.5"
    )

    @model_validator(mode="after")
    def _check_bounds(self) -> _Parameter:
        if not self.min < self.max:
            raise ValueError(f"min {_g(self.min)} must be below max {_g(self.max)}")
        if not self.min <= self.mean <= self.max:
            raise ValueError(f"mean {_g(self.mean)} is outside [{_g(self.min)}, {_g(self.max)}]")
        if isinstance(self.scale, float) and not self.scale > 0:
            raise ValueError(f"scale {_g(self.scale)} must be positive (or auto)")
        self._check_domain()
        return self

    def _check_domain(self) -> None:
        """Extra conditions a distribution puts on its bounds (positive for logs, ...)."""

    # The warp: value -> a space where the distribution is uniform; and back.
    def _warp(self, value: float) -> float:
        return value

    def _unwarp(self, warped: float) -> float:
        return warped

    def _snap(self, value: float) -> int | float:
        """The nearest value the parameter can take (integers, powers of two), as a Python number."""
        # 12 significant digits: the search center comes back as exactly `mean` (not 3.0000000000000001e-4)
        # and a value prints the same on every command line; far finer than any sweep can resolve.
        return float(f"{min(max(value, self.min), self.max):.12g}")

    @property
    def search_scale(self) -> float:
        return AUTO_SCALE if isinstance(self.scale, str) else self.scale

    def normalize(self, value: float) -> float:
        """The value's coordinate in [-1, 1]; values outside [min, max] are clipped to the edge."""
        low, high = self._warp(self.min), self._warp(self.max)
        clipped = min(max(float(value), self.min), self.max)
        return float(np.clip(2.0 * (self._warp(clipped) - low) / (high - low) - 1.0, -1.0, 1.0))

    def denormalize(self, x: float) -> int | float:
        low, high = self._warp(self.min), self._warp(self.max)
        t = (float(np.clip(x, -1.0, 1.0)) + 1.0) / 2.0
        return self._snap(self._unwarp(low + t * (high - low)))


class UniformParameter(_Parameter):
    """Any real number in [min, max], all equally likely."""

    distribution: Literal["uniform"] = "uniform"


class IntUniformParameter(_Parameter):
    """Integers in [min, max] (layer counts, total timesteps)."""

    distribution: Literal["int_uniform"] = "int_uniform"

    def _check_domain(self) -> None:
        if self.min != int(self.min) or self.max != int(self.max):
            raise ValueError(f"min {_g(self.min)} and max {_g(self.max)} must be whole numbers")

    def _snap(self, value: float) -> int:
        return int(min(max(round(value), int(self.min)), int(self.max)))


class Pow2Parameter(_Parameter):
    """Powers of two in [min, max] (batch sizes); uniform in log2."""

    distribution: Literal["uniform_pow2"] = "uniform_pow2"

    def _check_domain(self) -> None:
        if self.min <= 0:
            raise ValueError(f"min {_g(self.min)} must be positive for uniform_pow2")
        if math.ceil(math.log2(self.min)) > math.floor(math.log2(self.max)):
            raise ValueError(f"no power of two lies in [{_g(self.min)}, {_g(self.max)}]")

    def _warp(self, value: float) -> float:
        return math.log2(value)

    def _unwarp(self, warped: float) -> float:
        return 2.0**warped

    def _snap(self, value: float) -> int:
        exponent = round(math.log2(max(value, 1e-300)))
        exponent = min(max(exponent, math.ceil(math.log2(self.min))), math.floor(math.log2(self.max)))
        return int(2**exponent)


class LogNormalParameter(_Parameter):
    """Positive reals spread over orders of magnitude (learning rates); uniform in log."""

    distribution: Literal["log_normal"] = "log_normal"

    def _check_domain(self) -> None:
        if self.min <= 0:
            raise ValueError(f"min {_g(self.min)} must be positive for log_normal")

    def _warp(self, value: float) -> float:
        return math.log(value)

    def _unwarp(self, warped: float) -> float:
        return math.exp(warped)


class LogitNormalParameter(_Parameter):
    """Probabilities and coefficients in (0, 1) (gamma, dropout); uniform in logit."""

    distribution: Literal["logit_normal"] = "logit_normal"

    def _check_domain(self) -> None:
        if not 0 < self.min < self.max < 1:
            raise ValueError(f"bounds [{_g(self.min)}, {_g(self.max)}] must lie strictly inside (0, 1)")

    def _warp(self, value: float) -> float:
        return math.log(value / (1.0 - value))

    def _unwarp(self, warped: float) -> float:
        return 1.0 / (1.0 + math.exp(-warped))


Parameter = UniformParameter | IntUniformParameter | Pow2Parameter | LogNormalParameter | LogitNormalParameter

# The one table of distributions: the `distribution:` name in a sweep file -> its spec class.
DISTRIBUTIONS: dict[str, type[_Parameter]] = {
    "uniform": UniformParameter,
    "int_uniform": IntUniformParameter,
    "uniform_pow2": Pow2Parameter,
    "log_normal": LogNormalParameter,
    "logit_normal": LogitNormalParameter,
}


def parse_parameter(path: str, spec: Mapping[str, Any]) -> _Parameter:
    """Validate one parameter spec; any problem is a one-line ConfigError naming `path`."""
    name = spec.get("distribution")
    if name not in DISTRIBUTIONS:
        choices = ", ".join(DISTRIBUTIONS)
        raise ConfigError(f"{path}.distribution: unknown distribution {name!r} (choose from {choices})")
    try:
        return DISTRIBUTIONS[name].model_validate(dict(spec))
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, prefix=path, data=dict(spec))) from None


def _flatten(tree: Mapping[str, Any], prefix: str) -> dict[str, _Parameter]:
    """Walk the nested `parameters:` block; a mapping with a `distribution` key is a parameter."""
    found: dict[str, _Parameter] = {}
    for key, node in tree.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if not isinstance(node, Mapping):
            raise ConfigError(f"{path}: expected a parameter spec (distribution, min, max, mean) "
                              f"or a group of them, got {node!r}")
        if "distribution" in node:
            found[path] = parse_parameter(path, node)
        elif any(k in node for k in SPEC_KEYS):
            raise ConfigError(f"{path}: missing 'distribution' (one of {', '.join(DISTRIBUTIONS)})")
        else:
            found.update(_flatten(node, path))
    return found


@dataclass(frozen=True)
class SearchSpace:
    """The parameters of a sweep, keyed by dotted path (`trainer.optimizer.learning_rate`).

    Coordinates are numpy arrays with one column per parameter, in the order of `names`
    (the order of the sweep file).
    """

    parameters: dict[str, _Parameter]

    @classmethod
    def from_dict(cls, tree: Mapping[str, Any], prefix: str = "") -> SearchSpace:
        """Build from the sweep file's `parameters:` block (nested keys become dotted paths).

        `prefix` is only used in error messages, e.g. `sweep.parameters`.
        """
        parameters = _flatten(tree, prefix)
        if not parameters:
            raise ConfigError(f"{prefix or 'parameters'}: no parameters to search")
        if prefix:
            parameters = {path[len(prefix) + 1:]: spec for path, spec in parameters.items()}
        return cls(parameters)

    @property
    def names(self) -> list[str]:
        return list(self.parameters)

    @property
    def dim(self) -> int:
        return len(self.parameters)

    def center(self) -> np.ndarray:
        """The search center (every parameter's `mean`) in coordinates."""
        return np.array([spec.normalize(spec.mean) for spec in self.parameters.values()])

    def scales(self) -> np.ndarray:
        """Every parameter's step size in coordinates."""
        return np.array([spec.search_scale for spec in self.parameters.values()])

    def normalize(self, values: Mapping[str, Any]) -> np.ndarray:
        self._check_complete(values)
        return np.array([spec.normalize(values[name]) for name, spec in self.parameters.items()])

    def denormalize(self, x: np.ndarray) -> dict[str, int | float]:
        """Coordinates -> values (rounded where discrete), as plain Python numbers."""
        x = np.asarray(x, dtype=float).reshape(-1)
        if x.shape[0] != self.dim:
            raise ValueError(f"expected {self.dim} coordinates, got {x.shape[0]}")
        return {name: spec.denormalize(v) for (name, spec), v in zip(self.parameters.items(), x)}

    def snap(self, x: np.ndarray) -> np.ndarray:
        """The coordinates of the values `x` actually stands for (after integer/pow2 rounding).

        The optimizer models what was run, so a suggestion's coordinates are snapped before use.
        """
        return self.normalize(self.denormalize(x))

    def sample_around(self, center: np.ndarray, scale: float | np.ndarray, rng: np.random.Generator,
                      n: int = 1) -> np.ndarray:
        """`n` Gaussian steps from `center`, each parameter's std = its own scale x `scale`.

        `scale` is a multiplier (a number, or one per sample as an `(n, 1)` array). Steps that
        leave [-1, 1] are clipped to the edge, so a bound can itself be suggested.
        """
        noise = rng.standard_normal((n, self.dim)) * self.scales() * scale
        return np.clip(np.asarray(center, dtype=float) + noise, -1.0, 1.0)

    def sample_uniform(self, rng: np.random.Generator, n: int = 1) -> np.ndarray:
        """`n` points uniform over the whole box (uniform in each parameter's warped space)."""
        return rng.uniform(-1.0, 1.0, size=(n, self.dim))

    def to_overrides(self, values: Mapping[str, Any]) -> dict[str, int | float]:
        """Dotted key -> value ready for a command line (`++trainer.batch_size=524288`).

        Values are clipped into bounds and rounded like suggestions are; numpy scalars become
        Python numbers so that they print and serialize plainly.
        """
        self._check_complete(values)
        return {name: spec.denormalize(spec.normalize(values[name]))
                for name, spec in self.parameters.items()}

    def _check_complete(self, values: Mapping[str, Any]) -> None:
        missing = [name for name in self.parameters if name not in values]
        if missing:
            raise ConfigError(f"{missing[0]}: no value given for this sweep parameter")

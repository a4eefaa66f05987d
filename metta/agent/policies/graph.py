"""`graph`: a policy written as a graph of named components in the agent config (the original's
mid-2025 `components:` form; docs/policies.md, "Component graphs").

    components:
      cnn1: {_target_: conv2d, sources: [{name: obs_normalizer}], nn_params: {out_channels: 64, kernel_size: 5, stride: 3}}

Each component names a `_target_` (a short name of `COMPONENTS` below, or the original's class
name for it, e.g. `metta.agent.lib.nn_layer_library.Conv2d`), its `sources` (other components,
or `_obs_` for the observation tokens; each optionally cut with `slice: [start, end]` along
`dim`, default the last) and `nn_params` for the layer (the value `hidden_size` stands for the
architecture's `hidden_size`). Exactly one component is the memory
`core` (the policy's core, `core:` of the config); the components it depends on form the
encoder, the rest read its output and must end in one `actor_head` and one `value_head`. Shapes
are inferred by running an empty observation through the graph while it is built.

Faults (an unknown `_target_`, a source nobody defines, a cycle, a missing head) are refused
when the config is read, in one line naming the component.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from metta.agent.env_info import PolicyEnvInfo
from metta.agent.policies.fast import token_slot_table
from metta.agent.policies.latent_attn import LatentAttentionEncoder, LatentAttnArchitecture
from metta.agent.policy import ArchitectureBase, FeatureScale, Policy, init_layer, trim_padding

OBS = "_obs_"


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Component whose output this reads (`_obs_`: the observation tokens)")
    slice: tuple[int, int] | None = Field(None, description="[start, end) cut of that output along `dim`")
    dim: int = Field(-1, description="Dimension the slice cuts")


class Component(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    target: str = Field(alias="_target_", description="Layer kind: a COMPONENTS name or the original's class path")
    sources: tuple[Source, ...] = Field((), description="Inputs, in order")
    nn_params: dict[str, Any] = Field(default_factory=dict, description="Settings of the layer")


# -- the layers ------------------------------------------------------------------------------------


class ObsBox(nn.Module):
    """Tokens -> `(B, F, H, W)` box of values divided by the running per-feature max."""

    reads_obs = True

    def __init__(self, env_info: PolicyEnvInfo):
        super().__init__()
        self.num_features, self.height, self.width = env_info.num_features, env_info.obs_height, env_info.obs_width
        self.scale = FeatureScale(self.num_features)
        self.register_buffer("token_slot", token_slot_table(self.num_features, self.height, self.width),
                             persistent=False)

    def forward(self, obs: torch.Tensor, observe: bool = False) -> torch.Tensor:
        obs = trim_padding(obs)
        feature, value = obs[..., 1], obs[..., 2]
        if observe:
            self.scale.observe(feature, value)
        slots = self.token_slot[(obs[..., 0].int() << 8) | feature.int()]
        values = self.scale.scaled(feature, value.float())
        size = self.num_features * self.height * self.width
        box = values.new_zeros(obs.shape[0], size + 1).scatter_add_(1, slots, values)
        return box[:, :size].view(-1, self.num_features, self.height, self.width)


class TokenAttention(nn.Module):
    """The latent-attention encoder (`latent_attn_small`'s) as one component: tokens -> `(B, out_features)`."""

    reads_obs = True

    def __init__(self, env_info: PolicyEnvInfo, out_features: int, **settings: Any):
        super().__init__()
        self.encoder = LatentAttentionEncoder(env_info, LatentAttnArchitecture(hidden_size=out_features, **settings))

    def forward(self, obs: torch.Tensor, observe: bool = False) -> torch.Tensor:
        return self.encoder(obs, observe)


class Activated(nn.Module):
    def __init__(self, layer: nn.Module, nonlinearity: str | None):
        super().__init__()
        self.layer = layer
        self.act = {"relu": F.relu, "tanh": torch.tanh, "gelu": F.gelu, None: lambda x: x}[nonlinearity]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.layer(x))


class Concat(nn.Module):
    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.cat(inputs, dim=-1)


def _conv2d(shapes, env_info, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
            nonlinearity: str | None = "relu") -> nn.Module:
    return Activated(init_layer(nn.Conv2d(shapes[0][1], out_channels, kernel_size, stride, padding)), nonlinearity)


def _linear(shapes, env_info, out_features: int, nonlinearity: str | None = "relu") -> nn.Module:
    return Activated(init_layer(nn.Linear(shapes[0][-1], out_features)), nonlinearity)


def _actor_head(shapes, env_info) -> nn.Module:
    from metta.agent.action_pairs import ActionPairs

    # A small gain keeps the first policy near uniform, as the built-in heads do.
    return init_layer(nn.Linear(shapes[0][-1], ActionPairs.from_env_info(env_info).num_pairs), gain=0.01)


Factory = Callable[..., nn.Module]
# Short name -> factory(input shapes, env_info, **nn_params). `core` has no layer of its own.
COMPONENTS: dict[str, Factory | None] = {
    "obs_box": lambda shapes, env_info: ObsBox(env_info),
    "obs_normalizer": lambda shapes, env_info: nn.Identity(),  # the box already divides by the running max
    "token_attention": lambda shapes, env_info, **p: TokenAttention(env_info, **p),
    "conv2d": _conv2d,
    "flatten": lambda shapes, env_info: nn.Flatten(),
    "linear": _linear,
    "layer_norm": lambda shapes, env_info: nn.LayerNorm(shapes[0][-1]),
    "concat": lambda shapes, env_info: Concat(),
    "core": None,
    "actor_head": _actor_head,
    "value_head": lambda shapes, env_info: init_layer(nn.Linear(shapes[0][-1], 1), gain=1.0),
}
# The original's class paths for the same layers (its configs name them so).
ALIASES = {
    "metta.agent.lib.obs_token_to_box_shaper.ObsTokenToBoxShaper": "obs_box",
    "metta.agent.lib.observation_normalizer.ObservationNormalizer": "obs_normalizer",
    "metta.agent.lib.nn_layer_library.Conv2d": "conv2d",
    "metta.agent.lib.nn_layer_library.Flatten": "flatten",
    "metta.agent.lib.nn_layer_library.Linear": "linear",
    "metta.agent.lib.nn_layer_library.LayerNorm": "layer_norm",
    "metta.agent.lib.lstm.LSTM": "core",
}


def kind_of(target: str) -> str | None:
    target = ALIASES.get(target, target)
    return target if target in COMPONENTS else None


def topological_order(components: dict[str, Component]) -> list[str]:
    """Components in dependency order; ValueError naming the component for unknown sources or cycles."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "open":
            raise ValueError(f"components.{name}: cycle {' -> '.join((*path[path.index(name):], name))}")
        state[name] = "open"
        for source in components[name].sources:
            if source.name == OBS:
                continue
            if source.name not in components:
                raise ValueError(f"components.{name}: unknown source {source.name!r}")
            visit(source.name, (*path, name))
        state[name] = "done"
        order.append(name)

    for name in components:
        visit(name, ())
    return order


def _fast_graph() -> dict[str, Component]:
    """The default graph: `fast`'s shape."""
    def c(target, *sources, **params):
        return Component(target=target, sources=tuple(Source(name=s) for s in sources), nn_params=params)

    return {
        "obs_shim": c("obs_box", OBS),
        "obs_normalizer": c("obs_normalizer", "obs_shim"),
        "cnn1": c("conv2d", "obs_normalizer", out_channels=64, kernel_size=5, stride=3),
        "cnn2": c("conv2d", "cnn1", out_channels=64, kernel_size=3, stride=1),
        "obs_flattener": c("flatten", "cnn2"),
        "fc1": c("linear", "obs_flattener", out_features="hidden_size"),
        "encoded_obs": c("linear", "fc1", out_features="hidden_size"),
        "core": c("core", "encoded_obs"),
        "critic_1": c("linear", "core", out_features=256, nonlinearity="tanh"),
        "value_head": c("value_head", "critic_1"),
        "actor_1": c("linear", "core", out_features=256),
        "actor_head": c("actor_head", "actor_1"),
    }


class GraphArchitecture(ArchitectureBase):
    """A DAG of named components (module docstring)."""

    name: Literal["graph"] = Field("graph", description="Architecture name")
    components: dict[str, Component] = Field(default_factory=_fast_graph, description="The components, by name")

    @model_validator(mode="after")
    def _a_valid_graph(self) -> GraphArchitecture:
        for name, component in self.components.items():
            if kind_of(component.target) is None:
                raise ValueError(f"components.{name}: unknown _target_ {component.target!r}; "
                                 f"known: {', '.join(COMPONENTS)}")
        topological_order(self.components)
        kinds = [kind_of(c.target) for c in self.components.values()]
        for needed in ("core", "actor_head", "value_head"):
            if kinds.count(needed) != 1:
                raise ValueError(f"components: needs exactly one {needed} component (found {kinds.count(needed)})")
        return self


class GraphRunner(nn.Module):
    """Runs a set of components in order from given starting values; returns the named outputs."""

    def __init__(self, components: dict[str, Component], order: list[str], modules: dict[str, nn.Module]):
        super().__init__()
        self.order = order
        self.sources = {name: components[name].sources for name in order}
        self.layers = nn.ModuleDict({name: modules[name] for name in order})

    def run(self, values: dict[str, torch.Tensor], observe: bool = False) -> dict[str, torch.Tensor]:
        for name in self.order:
            layer = self.layers[name]
            if getattr(layer, "reads_obs", False):
                values[name] = layer(values[OBS], observe=observe)
            else:
                values[name] = layer(*(_read(values, source) for source in self.sources[name]))
        return values


def _read(values: dict[str, torch.Tensor], source: Source) -> torch.Tensor:
    value = values[source.name]
    if source.slice is not None:
        value = value.narrow(source.dim, source.slice[0], source.slice[1] - source.slice[0])
    return value


class GraphEncoder(nn.Module):
    def __init__(self, runner: GraphRunner, output: Source):
        super().__init__()
        self.runner, self.output = runner, output

    def forward(self, obs: torch.Tensor, observe: bool = False) -> torch.Tensor:
        return _read(self.runner.run({OBS: obs}, observe), self.output)


class GraphPolicy(Policy):
    """A policy built from a component graph (`graph`)."""

    def __init__(self, architecture: GraphArchitecture, env_info: PolicyEnvInfo):
        components = architecture.components
        order = topological_order(components)
        [core_name] = [n for n in order if kind_of(components[n].target) == "core"]
        upstream = _ancestors(components, core_name)
        encoder_order = [n for n in order if n in upstream]
        head_order = [n for n in order if n not in upstream and n != core_name]
        hidden = architecture.hidden_size
        modules: dict[str, nn.Module] = {}
        values: dict[str, torch.Tensor] = {OBS: torch.full((1, env_info.num_observation_tokens, 3), 0xFF,
                                                           dtype=torch.uint8)}
        values[OBS][0, 0] = torch.tensor([0, 0, 0], dtype=torch.uint8)  # one real token, so nothing is empty
        with torch.no_grad():
            for name in encoder_order + [core_name] + head_order:
                if name == core_name:
                    [source] = components[name].sources
                    width = _read(values, source).shape[-1]
                    if width != hidden:
                        raise ValueError(f"components.{name}: its input has width {width}, the core's hidden_size "
                                         f"is {hidden}")
                    values[name] = torch.zeros(1, hidden)
                    continue
                spec = components[name]
                inputs = [_read(values, s) for s in spec.sources]
                factory = COMPONENTS[kind_of(spec.target)]
                # The value "hidden_size" stands for the architecture's hidden_size (the default graph
                # uses it so that `agent.hidden_size=...` resizes it).
                params = {k: hidden if v == "hidden_size" else v for k, v in spec.nn_params.items()}
                try:
                    layer = factory([tuple(x.shape) for x in inputs], env_info, **params)
                except TypeError as error:
                    raise ValueError(f"components.{name}.nn_params: {error}") from None
                modules[name] = layer
                values[name] = layer(values[OBS]) if getattr(layer, "reads_obs", False) else layer(*inputs)
        encoder = GraphEncoder(GraphRunner(components, encoder_order, modules), components[core_name].sources[0])
        super().__init__(architecture, env_info, encoder)
        # The graph's own heads replace the built-in ones.
        del self.action_head, self.value_head
        self.core_name = core_name
        self.heads = GraphRunner(components, head_order, modules)
        self.actor_name = next(n for n in head_order if kind_of(components[n].target) == "actor_head")
        self.value_name = next(n for n in head_order if kind_of(components[n].target) == "value_head")

    def _heads(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = hidden.shape[:-1]
        values = self.heads.run({self.core_name: hidden.reshape(-1, hidden.shape[-1])})
        logits = values[self.actor_name]
        return logits.view(*shape, logits.shape[-1]), values[self.value_name].view(shape)


def _ancestors(components: dict[str, Component], name: str) -> set[str]:
    found: set[str] = set()
    stack = [s.name for s in components[name].sources]
    while stack:
        current = stack.pop()
        if current == OBS or current in found:
            continue
        found.add(current)
        stack.extend(s.name for s in components[current].sources)
    return found

"""Built-in policy names and their `?key=value` parameters, checked without loading torch
(the tournament server checks uploaded bundles with this; metta/agent/policy_uri.py
builds the policies)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from mettagrid.cogsguard.policies import COGSGUARD_POLICIES
from mettagrid.scripted_policies import SCRIPTED_POLICIES

BUILTIN_PREFIX = "metta://policy/"
BUILTIN_NAMES = tuple(SCRIPTED_POLICIES)  # play any MettaGrid game
COGSGUARD_NAMES = tuple(COGSGUARD_POLICIES)  # play CoGsGuard games only


class BuiltinNameError(ValueError):
    """Not a built-in policy, or a parameter it does not take; one line naming the URI."""


def parse_builtin(text: str) -> tuple[str, dict[str, int]]:
    """What follows metta://policy/ (`role?miner=4&scout=2`) -> (name, integer parameters)."""
    uri = f"{BUILTIN_PREFIX}{text}"
    name, _, query = text.partition("?")
    name = name.strip("/")
    if name in SCRIPTED_POLICIES:
        accepted: tuple[str, ...] = ()
    elif name in COGSGUARD_POLICIES:
        accepted = COGSGUARD_POLICIES[name][1]
    else:
        raise BuiltinNameError(
            f"{uri}: unknown built-in policy (known: {', '.join(BUILTIN_NAMES)}) "
            f"or, for CoGsGuard games, one of {', '.join(COGSGUARD_NAMES)}"
        )
    params: dict[str, int] = {}
    for key, value in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        if key not in accepted:
            known = f"known: {', '.join(accepted)}" if accepted else "it takes none"
            raise BuiltinNameError(f"{uri}: unknown parameter {key!r} for policy {name} ({known})")
        try:
            params[key] = int(value)
        except ValueError:
            raise BuiltinNameError(f"{uri}: parameter {key} must be an integer (got {value!r})") from None
    return name, params

"""Sets of small integers as Python ints, with byte tables for fast unions and entropies.

WFC keeps, per output position, the set of patterns still possible there. A Python int is a
bitset of any width whose ``&``, ``|`` and ``bit_count`` run in C, so a set of 200 patterns
costs a few machine words and a handful of nanoseconds per operation. Folding per-pattern
values over a whole set is the hot spot; one table per byte of the set turns the fold into
one lookup per 8 patterns instead of one step per pattern, and iterating the set's bytes
(``int.to_bytes``) lets the loop skip the zero bytes of the sparse sets a solve is full of.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

Value = TypeVar("Value", int, float)


def bitset_from_mask(mask: np.ndarray) -> int:
    """A boolean vector as a bitset: bit ``i`` is set when ``mask[i]`` is true."""
    return int.from_bytes(np.packbits(mask.astype(bool), bitorder="little").tobytes(), "little")


def members(bits: int) -> list[int]:
    """The members of a bitset, smallest first."""
    found = []
    while bits:
        low = bits & -bits
        found.append(low.bit_length() - 1)
        bits ^= low
    return found


def byte_tables(
    values: Sequence[Value], zero: Value, combine: Callable[[Value, Value], Value]
) -> list[list[Value]]:
    """``tables[k][byte]`` = ``combine`` of ``values[8k + j]`` over the set bits ``j`` of ``byte``."""
    tables = []
    for start in range(0, len(values), 8):
        chunk = list(values[start : start + 8])
        chunk += [zero] * (8 - len(chunk))
        table = [zero] * 256
        for byte in range(1, 256):  # each entry = the entry without its lowest bit, plus that bit
            low = byte & -byte
            table[byte] = combine(table[byte ^ low], chunk[low.bit_length() - 1])
        tables.append(table)
    return tables


class UnionTable:
    """``union(bits)`` = OR of ``values[i]`` over the members ``i`` of ``bits``."""

    def __init__(self, values: Sequence[int]):
        self.tables = byte_tables(values, 0, operator.or_)

    def union(self, bits: int) -> int:
        result = 0
        for table, byte in zip(self.tables, bits.to_bytes(len(self.tables), "little")):
            if byte:
                result |= table[byte]
        return result


class EntropyTable:
    """``entropy(bits)``: Shannon entropy of choosing a member ``i`` with weight ``weights[i]``."""

    def __init__(self, weights: Sequence[float]):
        self.weight_tables = byte_tables(weights, 0.0, operator.add)
        self.weight_log_tables = byte_tables([w * math.log(w) for w in weights], 0.0, operator.add)

    def entropy(self, bits: int) -> float:
        total = total_log = 0.0
        raw = bits.to_bytes(len(self.weight_tables), "little")
        for weight_table, log_table, byte in zip(self.weight_tables, self.weight_log_tables, raw):
            if byte:
                total += weight_table[byte]
                total_log += log_table[byte]
        # H = -sum p log p with p = w / total, rearranged to need only the two sums.
        return math.log(total) - total_log / total

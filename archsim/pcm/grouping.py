"""Bit groupings of the WOM codes: which two data bits share a 3-cell group.

A grouping is an ordered list of :class:`Group` (important bit, unimportant
bit, approximate?), with bits numbered by position in the word (0 = least
significant). Group k owns cells 3k..3k+2 of the word. Named groupings:

- ``"fig5"`` (float32 only, AppWOM's default, paper Fig. 5): (S,E1), (E2,E3),
  (E4,E5), (E6,E7), (E8,M1) exact; then (M2,M13), (M3,M14), ..., (M12,M23)
  approximate, the important half of the mantissa paired first-with-first
  with the unimportant half.
- ``"adjacent"``: adjacent pairs from the most significant bit down, the left
  bit important; every pair approximate for AppWOM (the worked example),
  every pair exact for WOM-SET.
- an explicit list of ``(important_bit, unimportant_bit, approximate)`` triples
  (or pairs, approximate by default), covering every bit of the word once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from archsim.errors import ConfigError, is_integer


@dataclass(frozen=True)
class Group:
    """Two data bits stored in one 3-cell WOM group (bit positions, 0 = LSB)."""

    important: int
    unimportant: int
    approximate: bool


def float32_bit_name(bit: int) -> str:
    """The paper's name of a float32 bit: S (31), E1..E8 (30..23), M1..M23 (22..0)."""
    if bit == 31:
        return "S"
    if bit >= 23:
        return f"E{31 - bit}"
    return f"M{23 - bit}"


def fig5_grouping() -> list[Group]:
    """The AppWOM paper's Fig. 5 grouping of a float32 word."""
    groups = [Group(31 - 2 * k, 30 - 2 * k, False) for k in range(5)]  # S,E1 .. E8,M1
    groups += [Group(21 - j, 10 - j, True) for j in range(11)]  # (M2,M13) .. (M12,M23)
    return groups


def adjacent_grouping(word_bits: int, approximate: bool) -> list[Group]:
    """Adjacent pairs from the MSB down, left bit important."""
    return [Group(word_bits - 1 - 2 * k, word_bits - 2 - 2 * k, approximate) for k in range(word_bits // 2)]


def resolve_grouping(spec: Any, word_bits: int, *, approximate_default: bool, key: str) -> list[Group]:
    """Turn a grouping parameter into a validated list of groups; errors name ``key``."""
    if word_bits % 2:
        raise ConfigError(f"{key}: a word of {word_bits} bits is not a multiple of the group size (2 bits)")
    if isinstance(spec, str):
        if spec == "fig5":
            if word_bits != 32:
                raise ConfigError(
                    f"{key}: 'fig5' is defined for 32-bit (float32) words only; "
                    f"use 'adjacent' or an explicit list for {word_bits}-bit words"
                )
            return fig5_grouping()
        if spec == "adjacent":
            return adjacent_grouping(word_bits, approximate_default)
        raise ConfigError(f"{key}: unknown grouping {spec!r}; use 'fig5', 'adjacent' or a list of bit pairs")
    if not isinstance(spec, Sequence) or not spec:
        raise ConfigError(f"{key}: a grouping is 'fig5', 'adjacent' or a non-empty list of bit pairs")
    groups = []
    for i, item in enumerate(spec):
        if isinstance(item, Group):
            groups.append(item)
            continue
        if not isinstance(item, Sequence) or isinstance(item, str) or len(item) not in (2, 3):
            raise ConfigError(f"{key}[{i}]: expected (important_bit, unimportant_bit[, approximate]), not {item!r}")
        hi, lo = item[0], item[1]
        approx = approximate_default if len(item) == 2 else item[2]
        if not (is_integer(hi) and is_integer(lo)):
            raise ConfigError(f"{key}[{i}]: bit positions must be integers, not {item!r}")
        if not isinstance(approx, (bool, np.bool_)):
            raise ConfigError(f"{key}[{i}]: the third entry (approximate) must be true or false")
        groups.append(Group(int(hi), int(lo), bool(approx)))
    bits = [b for g in groups for b in (g.important, g.unimportant)]
    bad = [b for b in bits if not 0 <= b < word_bits]
    if bad:
        raise ConfigError(f"{key}: bit {bad[0]} is outside a {word_bits}-bit word")
    if sorted(bits) != list(range(word_bits)):
        seen, dup = set(), None
        for b in bits:
            if b in seen:
                dup = b
                break
            seen.add(b)
        what = f"bit {dup} appears twice" if dup is not None else "some bits are in no group"
        raise ConfigError(f"{key}: the groups must cover every bit of the {word_bits}-bit word once ({what})")
    return groups


def group_label(group: Group, word_bits: int) -> str:
    """A readable label of a group: "E2+E3" for float32, "b7+b6" otherwise."""
    if word_bits == 32:
        return f"{float32_bit_name(group.important)}+{float32_bit_name(group.unimportant)}"
    return f"b{group.important}+b{group.unimportant}"

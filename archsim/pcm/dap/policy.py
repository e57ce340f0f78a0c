"""DAP's SET policies: which bits of which data a write programs with a lossy SET.

- **Bit-aware Dual-SET** (weights and biases): the sign, exponent and high mantissa
  bits use full SET; the lowest ``lossy_mantissa_bits`` mantissa bits use lossy SET.
- **Layer-aware SET** (intermediate data): every bit uses lossy SET when the data's
  lifetime (forward write to backward read) is shorter than the retention time,
  otherwise full SET.
- **PS** (the DAP paper's failing baseline): lossy SET on every bit of every write.

A policy is a 32-bit mask per memory line (bit b set = SETs of bit b are lossy),
applied by the kernel.
"""
from __future__ import annotations

ALL_BITS = 0xFFFFFFFF


def dual_set_mask(lossy_mantissa_bits: int) -> int:
    """Lossy bits of a float32 weight or bias: the lowest ``lossy_mantissa_bits`` mantissa bits."""
    if not 0 <= lossy_mantissa_bits <= 23:
        raise ValueError(f"lossy_mantissa_bits must be in 0..23, not {lossy_mantissa_bits}")
    return (1 << lossy_mantissa_bits) - 1


def layer_aware_mask(lifetime_s: float, retention_s: float) -> int:
    """Lossy bits of intermediate data living ``lifetime_s`` seconds: all if it dies before the
    retention time runs out (``lifetime_s < retention_s``), none otherwise."""
    return ALL_BITS if lifetime_s < retention_s else 0


def tensor_mask(scheme: str, kind: str, *, lossy_mantissa_bits: int, retention_s: float,
                lifetime_s: float | None = None) -> int:
    """The lossy mask of a tensor of ``kind`` ("weight", "bias", "intermediate") under ``scheme``."""
    if scheme == "ps":
        return ALL_BITS
    if kind in ("weight", "bias"):
        return dual_set_mask(lossy_mantissa_bits)
    if kind == "intermediate":
        if lifetime_s is None:
            raise ValueError("intermediate data needs its lifetime (s) for the layer-aware policy")
        return layer_aware_mask(lifetime_s, retention_s)
    raise ValueError(f"unknown tensor kind {kind!r}")

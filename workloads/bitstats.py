"""Per-bit statistics of the float32 words of a trace (the AppWOM paper's Fig. 3).

For every bit position of the IEEE-754 float32 words of the weights and biases:

- ``ones_fraction``: the fraction of recorded words whose bit is 1;
- ``change_rate``: the fraction of word transitions (the same word in two
  consecutive recorded iterations) in which the bit changed.

Bits are named as in the paper: ``S`` (bit 31), ``E1``..``E8`` (bits 30..23),
``M1``..``M23`` (bits 22..0); rows come in that order. One streaming pass, in
bounded memory, over any trace source.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from archsim.errors import ConfigError
from workloads.source import TraceSource

BIT_NAMES = ["S"] + [f"E{i}" for i in range(1, 9)] + [f"M{i}" for i in range(1, 24)]
"""Paper names, most significant first (index 0 is bit 31)."""
BIT_POSITIONS = list(range(31, -1, -1))
_BLOCK_WORDS = 1 << 22
_BITS16 = ((np.arange(65536)[:, None] >> np.arange(16)) & 1).astype(np.int64)


def _count_bits(words: np.ndarray) -> np.ndarray:
    """Ones per bit position (index = bit position 0..31) over the uint32 ``words``.

    Histograms of the low and high 16-bit halves (``np.bincount``) times a
    65536 x 16 bit table: about 5x faster than unpacking the bits.
    """
    flat = np.ascontiguousarray(words, dtype="<u4").reshape(-1)
    out = np.zeros(32, np.int64)
    for i in range(0, flat.size, _BLOCK_WORDS):
        halves = flat[i:i + _BLOCK_WORDS].view("<u2")
        out[:16] += np.bincount(halves[0::2], minlength=65536) @ _BITS16
        out[16:] += np.bincount(halves[1::2], minlength=65536) @ _BITS16
    return out


def _groups(source: TraceSource, by: str | None) -> dict[str, list[tuple[int, int]]]:
    if by is None:
        return {"all": [(0, source.n_params)]}
    if by not in ("layer", "kind", "tensor"):
        raise ValueError(f"by must be None, 'layer', 'kind' or 'tensor', not {by!r}")
    groups: dict[str, list[tuple[int, int]]] = {}
    for t in source.meta.params:
        key = {"layer": t.layer, "kind": t.kind, "tensor": t.name}[by]
        groups.setdefault(key, []).append((t.offset, t.offset + t.size))
    return groups


def bit_statistics(source: TraceSource, *, max_iterations: int | None = None,
                   chunk_iterations: int | None = None, by: str | None = None,
                   finite: bool = True) -> pd.DataFrame:
    """Fraction of ones and change rate per bit position, over the first ``max_iterations``.

    ``by`` = ``"layer"``, ``"kind"`` or ``"tensor"`` gives one table per group
    (a ``group`` column); otherwise the whole row is one group. Columns:
    ``group``, ``bit`` (position 31..0), ``name`` (S, E1.., M1..), ``ones_fraction``,
    ``change_rate``, ``ones``, ``changes``, ``words`` (word samples counted for
    ones) and ``transitions`` (word transitions counted for changes).
    """
    if not (hasattr(source, "iter_chunks") and hasattr(source, "n_iterations")):
        raise TypeError(f"bit statistics need a trace source (workloads.make_source or open_trace), not "
                        f"{type(source).__name__}" + (": open it with workloads.open_trace(path)"
                                                      if isinstance(source, (str, os.PathLike)) else ""))
    if max_iterations is not None and max_iterations < 1:
        raise ConfigError(f"bit statistics: max_iterations must be at least 1, not {max_iterations}")
    n_it = source.n_iterations if max_iterations is None else min(max_iterations, source.n_iterations)
    if chunk_iterations is None:
        chunk_iterations = max(1, (4 << 20) // max(1, source.n_params))
    groups = _groups(source, by)
    ones = {g: np.zeros(32, np.int64) for g in groups}
    changes = {g: np.zeros(32, np.int64) for g in groups}
    width = {g: sum(b - a for a, b in spans) for g, spans in groups.items()}
    prev = None
    seen = 0
    for block in source.iter_chunks(chunk_iterations):
        block = block[: n_it - seen]
        if len(block) == 0:
            break
        if finite:  # training data holds no NaN or infinity (TraceMeta.check_finite); False: any bit patterns
            source.meta.check_finite(block, seen, f"trace {source.path}" if hasattr(source, "path") else
                                    f"workload {source.meta.workload or source.meta.model}")
        u = block.view(np.uint32)
        for g, spans in groups.items():
            for a, b in spans:
                ones[g] += _count_bits(u[:, a:b])
                if len(u) > 1:
                    changes[g] += _count_bits(u[1:, a:b] ^ u[:-1, a:b])
                if prev is not None:
                    changes[g] += _count_bits(u[0, a:b] ^ prev[a:b])
        prev = u[-1].copy()
        seen += len(block)
        if seen >= n_it:
            break
    frames = []
    for g in groups:
        words = seen * width[g]
        transitions = max(seen - 1, 0) * width[g]
        o, c = ones[g][BIT_POSITIONS], changes[g][BIT_POSITIONS]
        frames.append(pd.DataFrame({
            "group": g, "bit": BIT_POSITIONS, "name": BIT_NAMES,
            "ones_fraction": o / words if words else np.nan,
            "change_rate": c / transitions if transitions else np.nan,
            "ones": o, "changes": c, "words": words, "transitions": transitions,
        }))
    return pd.concat(frames, ignore_index=True)

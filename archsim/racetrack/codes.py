"""The m-of-n code of racetrack.md as a Python API (the kernels use the same code).

``mofn_encode(values, w)`` maps w-bit values to N-position codewords with exactly M ones, (w -> N,
M) from :data:`~archsim.racetrack.schemes.MOFN_TABLE`; ``mofn_decode`` inverts it. Codewords come
as two uint64 arrays: positions 0..63 and 64..N-1. The code is the combinatorial number system
(value x = the sum of C(i, m) over the codeword's ones at positions i, m counting down from M), a
bijection between [0, C(N, M)) and the M-subsets of N positions, and C(N, M) >= 2^w.
"""
from __future__ import annotations

import numpy as np

from archsim import _racetrack_kernels as K
from archsim.errors import ConfigError
from archsim.racetrack.schemes import MOFN_TABLE


def _code(w: int) -> tuple[int, int]:
    try:
        return MOFN_TABLE[w]
    except KeyError:
        raise ConfigError(f"m-of-n has no code for {w}-bit segments; widths: "
                          f"{', '.join(map(str, MOFN_TABLE))}") from None


def mofn_encode(values, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Codewords (lo, hi) of w-bit ``values``."""
    N, M = _code(w)
    v = np.ascontiguousarray(values, dtype=np.uint64).ravel()
    if w < 64 and v.size and int(v.max()) >> w:
        raise ConfigError(f"a value does not fit in {w} bits")
    lo = np.empty_like(v)
    hi = np.empty_like(v)
    K.mofn_encode_array(v, N, M, lo, hi)
    return lo, hi


def mofn_decode(lo, hi, w: int) -> np.ndarray:
    """Values of codewords (lo, hi) (the inverse of :func:`mofn_encode`)."""
    N, M = _code(w)
    lo = np.ascontiguousarray(lo, dtype=np.uint64).ravel()
    hi = np.ascontiguousarray(hi, dtype=np.uint64).ravel()
    out = np.empty_like(lo)
    K.mofn_decode_array(lo, hi, N, M, out)
    return out

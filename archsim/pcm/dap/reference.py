"""Plain numpy reference of the DAP kernels (for tests): one write at a time, cells as bit arrays.

Same semantics as :mod:`archsim._dap_kernels` (see :mod:`archsim.pcm.dap.schemes`), written for
clarity: state is ``bits[line, word, cell]`` (cell i = bit 31 - i), ``lossy`` and
``deadline`` of the same shape.
"""
from __future__ import annotations

import numpy as np

from archsim.pcm.dap.config import DapConfig
from archsim.pcm.dap.decay import DecayModel

SHIFTS = np.arange(31, -1, -1, dtype=np.uint32)  # cell i holds bit 31 - i


def to_bits(words: np.ndarray) -> np.ndarray:
    return ((np.asarray(words, np.uint32)[..., None] >> SHIFTS) & 1).astype(bool)


def from_bits(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint64) << SHIFTS.astype(np.uint64)).sum(axis=-1).astype(np.uint32)


class ReferenceDap:
    """``lines`` x ``words`` cells under lossy-bit ``masks`` (per line) and a :class:`DapConfig`."""

    def __init__(self, lines: int, words: int, masks, config: DapConfig, line_offset: int = 0) -> None:
        self.model = DecayModel(config)
        self.bits = np.zeros((lines, words, 32), bool)
        self.lossy = np.zeros_like(self.bits)
        self.deadline = np.full(self.bits.shape, np.inf)
        self.mask_bits = to_bits(np.broadcast_to(np.asarray(masks, np.uint32), (lines,)))[:, None, :]
        self.wear = np.zeros(self.bits.shape, np.uint64)
        self.line_offset = line_offset
        self.writes = 0
        self.decayed = 0

    def _decay(self, now: np.ndarray) -> np.ndarray:
        """Decay to times ``now`` (lines,); returns decayed cells per line."""
        gone = self.bits & self.lossy & (self.deadline <= now[:, None, None])
        self.bits &= ~gone
        self.lossy &= ~gone
        return gone.sum(axis=(1, 2))

    def write(self, data: np.ndarray, now) -> dict[str, np.ndarray]:
        """One write of every line (``data`` (lines, words) uint32) at times ``now``; per-line counts."""
        L, W, _ = self.bits.shape
        now = np.broadcast_to(np.asarray(now, np.float64), (L,))
        decayed = self._decay(now)
        new = to_bits(data)
        s = new & ~self.bits
        r = self.bits & ~new
        ls = s & self.mask_bits
        self.wear += (s | r).astype(np.uint64)
        line = np.arange(L)[:, None, None] + self.line_offset
        word = np.arange(W)[None, :, None]
        cell = np.arange(32)[None, None, :]
        dl = self.model.deadlines(now[:, None, None], line, word, cell, self.writes)
        self.deadline = np.where(ls, dl, self.deadline)
        self.lossy = (self.lossy & new & ~s) | ls
        self.bits = new
        self.writes += 1
        self.decayed += int(decayed.sum())
        return {"set": s.sum(axis=(1, 2)), "reset": r.sum(axis=(1, 2)), "lossy": ls.sum(axis=(1, 2)),
                "decayed": decayed}

    def read(self, now) -> np.ndarray:
        L = self.bits.shape[0]
        self.decayed += int(self._decay(np.broadcast_to(np.asarray(now, np.float64), (L,))).sum())
        return from_bits(self.bits)

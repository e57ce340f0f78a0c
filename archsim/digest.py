"""What a run's tables need of a per-cell array, without the cells: :class:`WearDigest`.

A sharded run (:mod:`archsim.shard`) sends each line range's result from its worker to the client;
the per-cell wear arrays (lines x words x cells, uint32 or uint64) are by far the largest part, and the tables
use only a few of their reductions: the largest value, the mean, and per cell position of a word the
sum and the largest value (the summary's ``max_cell_flips`` / ``mean_cell_flips``, the per-bit flips
table, the lifetime columns). A :class:`WearDigest` holds those reductions of an array and answers
the same numpy calls (``max()``, ``max(axis=(0, 1))``, ``sum(axis=(0, 1), dtype=...)``,
``mean()``, ``size``, ``reshape``) with the same values, bit for bit; digests of consecutive line
ranges join (:meth:`WearDigest.concat`) into the digest of the whole array. Any other use of the
cells is an error, not a wrong number.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from archsim.errors import ArchsimError

#: numpy's float64 mean of an unsigned array equals its exact integer total / size while every
#: partial sum is an integer a float64 holds exactly (below 2**53).
EXACT_TOTAL = 1 << 53


class WearDigest:
    """The reductions of an array of shape ``shape`` (see the module docstring): ``total`` (exact
    integer sum; None for a float array), ``top`` (largest value), and per position of the last axis
    ``col_sum`` / ``col_max`` (None after a :meth:`reshape` that changes the last axis)."""

    __slots__ = ("shape", "dtype", "total", "top", "col_sum", "col_max")

    def __init__(self, shape, dtype, total, top, col_sum, col_max) -> None:
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self.total, self.top, self.col_sum, self.col_max = total, top, col_sum, col_max

    @classmethod
    def of(cls, a) -> "WearDigest":
        if isinstance(a, WearDigest):
            return a
        a = np.asarray(a)
        if a.ndim < 1:
            raise ArchsimError("a wear digest needs an array with at least one axis")
        lead = tuple(range(a.ndim - 1))   # reductions, not a reshape: a broadcast view stays a view
        integer = a.dtype.kind in "ui"
        col_sum = a.sum(axis=lead, dtype=np.uint64) if integer else None
        col_max = a.max(axis=lead) if a.size else np.zeros(a.shape[-1], a.dtype)
        return cls(a.shape, a.dtype, int(col_sum.sum(dtype=np.uint64)) if integer else None,
                   col_max.max() if a.size else None, col_sum, col_max)

    # -- the numpy calls the tables make ---------------------------------------------------
    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def _columns(self, axis) -> bool:
        """Whether ``axis`` reduces every axis but the last."""
        want = tuple(range(self.ndim - 1))
        got = (axis,) if isinstance(axis, int) else tuple(axis)
        return tuple(sorted(a % self.ndim for a in got)) == want

    def max(self, axis=None):
        if axis is None:
            if not self.size:
                raise ValueError("zero-size array to reduction operation maximum which has no identity")
            return self.top
        if self.col_max is not None and self._columns(axis):
            return self.col_max.copy()
        raise ArchsimError(f"a wear digest does not hold the maximum over axis {axis!r}")

    def sum(self, axis=None, dtype=None):
        if axis is None and self.total is not None:
            return np.asarray(self.total, dtype=dtype or np.uint64)[()]
        if axis is not None and self.col_sum is not None and self._columns(axis):
            return self.col_sum.astype(dtype or self.col_sum.dtype)
        raise ArchsimError(f"a wear digest does not hold the sum over axis {axis!r}")

    def mean(self) -> float:
        if self.total is None:
            raise ArchsimError("a wear digest of a float array does not hold its mean")
        if self.total >= EXACT_TOTAL:
            raise ArchsimError("a wear total of 2**53 flips or more: its float mean depends on the summation "
                               "order (run unsharded)")
        return np.float64(self.total) / np.float64(self.size)

    def reshape(self, *shape) -> "WearDigest":
        shape = tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else shape
        if -1 in shape:
            known = int(np.prod([n for n in shape if n != -1], dtype=np.int64))
            shape = tuple(self.size // known if n == -1 else n for n in shape)
        if int(np.prod(shape, dtype=np.int64)) != self.size:
            raise ValueError(f"cannot reshape a digest of shape {self.shape} into {shape}")
        same_cols = shape[-1:] == self.shape[-1:]
        return WearDigest(shape, self.dtype, self.total, self.top, self.col_sum if same_cols else None,
                          self.col_max if same_cols else None)

    # -- joining -----------------------------------------------------------------------
    @staticmethod
    def concat(parts: Sequence["WearDigest"]) -> "WearDigest":
        """The digest of the parts' arrays concatenated along the first axis."""
        first = parts[0]
        if any(p.shape[1:] != first.shape[1:] for p in parts):
            raise ArchsimError("wear digests of different shapes cannot be joined")
        full = [p for p in parts if p.size]
        shape = (sum(p.shape[0] for p in parts),) + first.shape[1:]
        dtype = np.result_type(*[p.dtype for p in parts])
        total = None if any(p.total is None for p in parts) else sum(p.total for p in parts)
        top = max((p.top for p in full), default=None)
        col_sum = None if any(p.col_sum is None for p in parts) else \
            np.sum([p.col_sum for p in parts], axis=0, dtype=np.uint64)
        col_max = None if any(p.col_max is None for p in parts) or not full else \
            np.max([p.col_max.astype(dtype) for p in full], axis=0)
        return WearDigest(shape, dtype, total, top, col_sum, col_max)

    def __getstate__(self):
        return tuple(getattr(self, k) for k in self.__slots__)

    def __setstate__(self, state) -> None:
        for k, v in zip(self.__slots__, state):
            setattr(self, k, v)

    def __repr__(self) -> str:
        return f"WearDigest(shape={self.shape}, total={self.total}, max={self.top})"


def concat_wear(parts: Sequence) -> "np.ndarray | WearDigest":
    """Per-line arrays (or their digests) of consecutive line ranges joined along the first axis."""
    if any(isinstance(p, WearDigest) for p in parts):
        return WearDigest.concat([WearDigest.of(p) for p in parts])
    return np.concatenate(parts)


__all__ = ["WearDigest", "concat_wear"]

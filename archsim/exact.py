"""An exact running sum of floats, whose parts can be summed apart and joined: :class:`ExactSum`.

A float total accumulated with ``+=`` depends on the order of the additions, so the same figures
added in another grouping (a run split into line ranges, :mod:`archsim.shard`) round differently.
:class:`ExactSum` keeps the running total exactly, as a short list of non-overlapping partials
(Shewchuk's algorithm, the one behind :func:`math.fsum`); :attr:`ExactSum.value` is the exact
total rounded once. Sums of disjoint parts of the values, joined (:meth:`ExactSum.join`), give the
same value bit for bit, in any grouping and order.
"""
from __future__ import annotations

import math
from typing import Iterable


class ExactSum:
    """The exact sum of the floats added so far (non-finite values follow :func:`math.fsum`)."""

    __slots__ = ("partials", "special")

    def __init__(self, values: Iterable[float] = ()) -> None:
        self.partials: list[float] = []   # non-overlapping, increasing magnitude: their sum is exact
        self.special: list[float] = []    # inf / nan, kept apart (math.fsum's rules at the end)
        for v in values:
            self.add(v)

    def add(self, x: float) -> None:
        x = float(x)
        if not math.isfinite(x):
            self.special.append(x)
            return
        partials, i = self.partials, 0
        for y in partials:
            if abs(x) < abs(y):
                x, y = y, x
            hi = x + y
            lo = y - (hi - x)
            if lo:
                partials[i] = lo
                i += 1
            x = hi
        partials[i:] = [x]

    def join(self, other: "ExactSum") -> "ExactSum":
        """Add everything ``other`` holds (exactly: its partials sum to its exact total)."""
        for p in other.partials:
            self.add(p)
        self.special.extend(other.special)
        return self

    @property
    def value(self) -> float:
        """The exact sum, rounded to the nearest float once."""
        return math.fsum(self.partials + self.special)

    def __getstate__(self):
        return self.partials, self.special

    def __setstate__(self, state) -> None:
        self.partials, self.special = list(state[0]), list(state[1])

    def __repr__(self) -> str:
        return f"ExactSum({self.value!r})"


__all__ = ["ExactSum"]

"""The wear-aware ping-pong polarity policy of AppWOM (functional part).

Every line (or word, with ``refresh_unit = "word"``) has a polarity: 10
(PreSET cells, served by AppWOM10: writes RESET) or 01 (PreRESET cells,
AppWOM01: writes SET). When a unit is exhausted, ping-pong flips the cells
still at their erased value (PreRESET of a 10 unit, PreSET of a 01 unit) so
that every cell has flipped once, and the unit switches polarity.

This object decides the initial polarity of every line and whether exhaustion
switches polarity; the kernels apply it, and the timing model's region manager
wraps the same object, so there is one source of truth. Subclass it to
change the region allocation.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archsim.config import check_count
from archsim.errors import ConfigError

POLARITY_10 = 0
"""Cells erased to 1 (PreSET region), writes RESET."""
POLARITY_01 = 1
"""Cells erased to 0 (PreRESET region), writes SET."""

INITIAL_POLARITIES = ("interleaved", "10", "01")


@dataclass(frozen=True)
class PingPongPolicy:
    """Initial polarity of lines and the switch on exhaustion.

    ``initial_polarity``: "interleaved" (the paper's interleaving region
    allocation: line i belongs to region i // ``region_lines`` and starts as 10
    if the region is even, 01 if odd), "10" or "01". ``ping_pong``: whether
    an exhausted unit is turned over and switches polarity (True, the paper's
    policy) or is refreshed back to its erased value (False: the ablation
    "AppWOM without ping-pong").
    """

    initial_polarity: str = "interleaved"
    region_lines: int = 1
    ping_pong: bool = True

    def __post_init__(self) -> None:
        if self.initial_polarity not in INITIAL_POLARITIES:
            raise ConfigError(
                f"initial_polarity must be one of {', '.join(INITIAL_POLARITIES)}, not {self.initial_polarity!r}"
            )
        check_count(self.region_lines, "region_lines")

    def region_of(self, line_index: np.ndarray | int):
        """Region of global line index(es)."""
        return np.asarray(line_index) // self.region_lines

    def initial(self, lines: int, line_offset: int = 0) -> np.ndarray:
        """Initial polarity (:data:`POLARITY_10` or :data:`POLARITY_01`) of ``lines`` lines
        starting at global index ``line_offset``; uint8 array."""
        if self.initial_polarity == "10":
            return np.zeros(lines, dtype=np.uint8)
        if self.initial_polarity == "01":
            return np.ones(lines, dtype=np.uint8)
        idx = np.arange(line_offset, line_offset + lines, dtype=np.int64)
        return (self.region_of(idx) % 2).astype(np.uint8)

    @staticmethod
    def after_exhaustion(polarity: int, ping_pong: bool) -> int:
        """Polarity of a unit after its exhaustion refresh."""
        return polarity ^ 1 if ping_pong else polarity

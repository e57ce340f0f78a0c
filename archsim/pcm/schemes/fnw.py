"""Flip-N-Write: each partition stored as the data or its inverse, whichever programs fewer cells."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from archsim import _pcm_kernels as K
from archsim.pcm.encoder import PCM_SCHEMES, Encoder, SchemeParams
from archsim.pcm.lanes import fnw_cellmap, fnw_flag_cells, lane_word_cells, LaneLayout, PendingWear
from archsim.pcm.schemes.raw import _bit_labels, _check_initial_state, _flat_wear
from archsim.errors import ConfigError

@dataclass(frozen=True)
class FnwParams(SchemeParams):
    partition_bits: int = 0
    """Bits per partition N (each with one flag cell); 0 means min(32, word bits)."""
    initial_state: str = "zeros"

    def check(self, where: str, word_bits: int) -> None:
        _check_initial_state(self.initial_state, where)
        if self.partition_bits < 0:
            raise ConfigError(f"{where}.partition_bits must be 0 (the word, up to 32 bits) or positive, "
                              f"not {self.partition_bits}")
        n = self.partition_bits or min(32, word_bits)
        if word_bits % n:
            raise ConfigError(
                f"{where}.partition_bits: a {word_bits}-bit word is not a multiple of the partition size {n}"
            )

    def resolved_partition_bits(self, word_bits: int) -> int:
        return self.partition_bits or min(32, word_bits)


@dataclass
class FnwState:
    """Data cells and flag cells (bit p = lane partition p), per 64-bit lane."""

    layout: LaneLayout
    cells: np.ndarray
    flags: np.ndarray
    pending: PendingWear | None = None
    """The kernel's wear counters not yet in the wear array."""


@PCM_SCHEMES.register("fnw")
class FlipNWrite(Encoder):
    """Flip-N-Write (Cho & Lee, MICRO 2009): per partition of N bits, store the data
    or its inverse, whichever programs fewer cells, with a flag cell saying which.
    At most ceil((N+1)/2) cells of a partition are programmed per write."""

    Params = FnwParams
    cell_flips_per_write = 1  # a data or flag cell is programmed at most once per write, no refresh

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._cellmap = fnw_cellmap(self.word_bits, self.partition_bits)

    @property
    def partition_bits(self) -> int:
        return self.params.resolved_partition_bits(self.word_bits)

    @property
    def partitions(self) -> int:
        return self.word_bits // self.partition_bits

    @property
    def cells_per_word(self) -> int:
        return self.word_bits + self.partitions

    def cell_labels(self) -> list[str]:
        return _bit_labels(self.word_bits) + [f"flag{p}" for p in range(self.partitions)]

    def new_state(self, lines: int, words: int, line_offset: int = 0) -> FnwState:
        layout = LaneLayout(words, self.word_bits)
        ones = self.params.initial_state == "ones"
        cells = np.full((lines, layout.lanes), np.uint64(2**64 - 1 if ones else 0), dtype=np.uint64)
        flags = np.zeros((lines, layout.lanes), dtype=np.uint64)
        if ones:  # every flag of a real partition starts at 1
            N = self.partition_bits
            valid = layout.valid_bits()
            for j in range(layout.lanes):
                flags[:, j] = sum(1 << p for p in range(64 // N)
                                  if int(valid[j]) >> (64 - (p + 1) * N) & ((1 << N) - 1))
        B, N = self.word_bits, self.partition_bits
        pending = PendingWear(lines, layout.lanes, 2, layout.per * (B + B // N), (8, (64 // N + 7) // 8),
                              self._cellmap)
        return FnwState(layout, cells, flags, pending)

    def flush_wear(self, state: FnwState, wear: np.ndarray, lines=None) -> None:
        state.pending.drain(wear, lines)

    fills_outcome = True  # fnw_chunk writes every outcome row

    def encode(self, state, writes, outcome, wear, stored) -> None:
        lay = state.layout
        want = stored is not None
        out = lay.lane_buffer(*writes.shape[:2]) if want else np.empty((1, 1, 1), dtype=np.uint64)
        K.fnw_chunk(lay.to_lanes(writes), state.cells, state.flags, _flat_wear(wear), outcome, out,
                    self._cellmap, lay.valid_bits(), self.word_bits, self.partition_bits, want,
                    state.pending.slots, state.pending.clock)
        if want:
            stored[...] = lay.from_lanes(out, writes.dtype)

    def cell_states(self, state: FnwState, lines: np.ndarray) -> np.ndarray:
        """Data cells as stored (inverted partitions inverted), then the flag cells, per word."""
        data = lane_word_cells(state.cells[lines], state.layout)
        flags = fnw_flag_cells(state.flags[lines], state.layout, self.partition_bits)
        return np.concatenate([data, flags], axis=2).reshape(data.shape[0], -1)

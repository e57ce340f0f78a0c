"""Raw-data schemes: PreSET, PreRESET and data-comparison write (one cell per data bit)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from archsim import _pcm_kernels as K
from archsim.pcm.encoder import PCM_SCHEMES, Encoder, SchemeParams
from archsim.pcm.lanes import LaneLayout, PendingWear, lane_word_cells, raw_cellmap
from archsim.errors import ConfigError

INITIAL_STATES = ("ones", "zeros")


def _check_initial_state(value: str, where: str) -> None:
    if value not in INITIAL_STATES:
        raise ConfigError(f"{where}.initial_state must be 'ones' or 'zeros', not {value!r}")


def _bit_labels(word_bits: int) -> list[str]:
    from archsim.pcm.grouping import float32_bit_name

    if word_bits == 32:
        return [float32_bit_name(31 - i) for i in range(32)]
    return [f"b{word_bits - 1 - i}" for i in range(word_bits)]


@dataclass
class RawState:
    """Physical cells, packed in 64-bit lanes: ``cells[line, lane]`` (see :mod:`archsim.pcm.lanes`)."""

    layout: LaneLayout
    cells: np.ndarray
    pending: PendingWear | None = None
    """The kernel's wear counters not yet in the wear array."""


def _flat_wear(wear: np.ndarray) -> np.ndarray:
    """The (lines, words, cells) wear array as (lines, words*cells), without a copy."""
    return wear.reshape(wear.shape[0], -1)


# --------------------------------------------------------------------------- raw schemes


@dataclass(frozen=True)
class RawParams(SchemeParams):
    initial_state: str = "ones"
    """Cells before the first write: "ones" (PreSET) or "zeros" (PreRESET)."""

    def check(self, where: str, word_bits: int) -> None:
        _check_initial_state(self.initial_state, where)


@dataclass(frozen=True)
class ZeroStartParams(RawParams):
    initial_state: str = "zeros"


class _RawEncoder(Encoder):
    """Compare-and-write of the raw data bits, then an optional refresh of every cell."""

    mode: int = 0

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._cellmap = raw_cellmap(self.word_bits)

    @property
    def cells_per_word(self) -> int:
        return self.word_bits

    def cell_labels(self) -> list[str]:
        return _bit_labels(self.word_bits)

    def new_state(self, lines: int, words: int, line_offset: int = 0) -> RawState:
        layout = LaneLayout(words, self.word_bits)
        fill = np.uint64(2**64 - 1) if self.params.initial_state == "ones" else np.uint64(0)
        return RawState(layout, np.full((lines, layout.lanes), fill, dtype=np.uint64),
                        PendingWear(lines, layout.lanes, 1, layout.per * self.word_bits, (8,), self._cellmap))

    def flush_wear(self, state: RawState, wear: np.ndarray, lines=None) -> None:
        state.pending.drain(wear, lines)

    fills_outcome = True  # raw_chunk writes every outcome row

    def encode(self, state, writes, outcome, wear, stored) -> None:
        lay = state.layout
        K.raw_chunk(lay.to_lanes(writes), state.cells, _flat_wear(wear), outcome, self._cellmap,
                    lay.valid_bits(), self.mode, self.refresh_unit == "word", self.word_bits,
                    state.pending.slots, state.pending.clock)
        if stored is not None:
            # the write programs exactly the data bits: a read returns them
            stored[...] = writes

    def cell_states(self, state: RawState, lines: np.ndarray) -> np.ndarray:
        cells = lane_word_cells(state.cells[lines], state.layout)
        return cells.reshape(cells.shape[0], -1)


@PCM_SCHEMES.register("preset")
class Preset(_RawEncoder):
    """PreSET (Qureshi et al., ISCA 2012): every line is PreSET after each write, so a
    write only RESETs the 0 bits of the data. Flips per write: 2 x zeros."""

    Params = RawParams
    needs_read = False
    mode = 1
    cell_flips_per_write = 2  # the write and the PreSET after it


@PCM_SCHEMES.register("prereset")
class Prereset(_RawEncoder):
    """PreRESET: every line is PreRESET after each write, so a write only SETs the 1 bits.
    Flips per write: 2 x ones."""

    Params = ZeroStartParams
    needs_read = False
    mode = 2
    cell_flips_per_write = 2  # the write and the PreRESET after it


@PCM_SCHEMES.register("dcw")
class Dcw(_RawEncoder):
    """Data-comparison write (Yang et al., ISCAS 2007): SET the bits going 0->1,
    RESET those going 1->0; no pre-operation."""

    Params = ZeroStartParams
    mode = 0
    cell_flips_per_write = 1  # no pre-operation


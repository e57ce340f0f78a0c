"""The built-in PCM write schemes (``pcm.md``), each a registered :class:`Encoder`.

=============  ======================================================  ===========
name           what a write does                                       cells/word
=============  ======================================================  ===========
``preset``     RESET the 0 bits of the data, then PreSET the line        w
``prereset``   SET the 1 bits of the data, then PreRESET the line        w
``dcw``        SET 0->1 bits, RESET 1->0 bits (data-comparison write)    w
``fnw``        Flip-N-Write: data or its inverse, plus a flag cell       w + w/N
``wom-set``    Rivest-Shamir WOM code on PreSET cells, PreSET when full  3w/2
``appwom``     approximate WOM code with the wear-aware ping-pong        3w/2
=============  ======================================================  ===========

The per-line work is in the Cython kernels of :mod:`archsim._pcm_kernels`;
:mod:`archsim.encoding.reference` holds plain numpy versions of the same
schemes, used by the tests.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from archsim import _pcm_kernels as K
from archsim.encoding.base import PCM_SCHEMES, Encoder
from archsim.encoding.grouping import Group, build_tables, group_label, resolve_grouping
from archsim.encoding.polarity import PingPongPolicy
from archsim.errors import ConfigError

INITIAL_STATES = ("ones", "zeros")


def _check_initial_state(value: str, where: str) -> None:
    if value not in INITIAL_STATES:
        raise ConfigError(f"{where}.initial_state must be 'ones' or 'zeros', not {value!r}")


def _raw_cellmap(word_bits: int, extra_lanes: int = 0) -> np.ndarray:
    """Lane 0 bit i -> cell word_bits-1-i (MSB first); flag lane bit p -> cell word_bits+p."""
    cm = np.zeros((1 + extra_lanes, 64), dtype=np.int32)
    cm[0, :word_bits] = word_bits - 1 - np.arange(word_bits)
    if extra_lanes:
        cm[1, :] = word_bits + np.arange(64)
    return cm


def _bit_labels(word_bits: int) -> list[str]:
    from archsim.encoding.grouping import float32_bit_name

    if word_bits == 32:
        return [float32_bit_name(31 - i) for i in range(32)]
    return [f"b{word_bits - 1 - i}" for i in range(word_bits)]


@dataclass
class RawState:
    """Physical cells of every word: ``cells[line, word]`` (bit i = cell word_bits-1-i)."""

    cells: np.ndarray


# --------------------------------------------------------------------------- raw schemes


@dataclass(frozen=True)
class RawParams:
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
        self._cellmap = _raw_cellmap(self.word_bits)

    @property
    def cells_per_word(self) -> int:
        return self.word_bits

    def cell_labels(self) -> list[str]:
        return _bit_labels(self.word_bits)

    def new_state(self, lines: int, words: int, line_offset: int = 0) -> RawState:
        fill = np.iinfo(self.word_dtype).max if self.params.initial_state == "ones" else 0
        return RawState(np.full((lines, words), fill, dtype=self.word_dtype))

    def encode(self, state, writes, outcome, wear, stored) -> None:
        K.raw_chunk(writes, state.cells, wear, outcome, self._cellmap, self.mode,
                    self.refresh_unit == "word", self.word_bits)
        if stored is not None:
            # the write programs exactly the data bits: a read returns them
            stored[...] = writes


@PCM_SCHEMES.register("preset")
class Preset(_RawEncoder):
    """PreSET (Qureshi et al., ISCA 2012): every line is PreSET after each write, so a
    write only RESETs the 0 bits of the data. Flips per write: 2 x zeros."""

    Params = RawParams
    needs_read = False
    mode = 1


@PCM_SCHEMES.register("prereset")
class Prereset(_RawEncoder):
    """PreRESET: every line is PreRESET after each write, so a write only SETs the 1 bits.
    Flips per write: 2 x ones."""

    Params = ZeroStartParams
    needs_read = False
    mode = 2


@PCM_SCHEMES.register("dcw")
class Dcw(_RawEncoder):
    """Data-comparison write (Yang et al., ISCAS 2007): SET the bits going 0->1,
    RESET those going 1->0; no pre-operation."""

    Params = ZeroStartParams
    mode = 0


# --------------------------------------------------------------------------- Flip-N-Write


@dataclass(frozen=True)
class FnwParams:
    partition_bits: int = 0
    """Bits per partition N (each with one flag cell); 0 means min(32, word bits)."""
    initial_state: str = "zeros"

    def check(self, where: str, word_bits: int) -> None:
        _check_initial_state(self.initial_state, where)
        n = self.partition_bits or min(32, word_bits)
        if n <= 0 or word_bits % n:
            raise ConfigError(
                f"{where}.partition_bits: a {word_bits}-bit word is not a multiple of the partition size {n}"
            )

    def resolved_partition_bits(self, word_bits: int) -> int:
        return self.partition_bits or min(32, word_bits)


@dataclass
class FnwState:
    cells: np.ndarray
    flags: np.ndarray


@PCM_SCHEMES.register("fnw")
class FlipNWrite(Encoder):
    """Flip-N-Write (Cho & Lee, MICRO 2009): per partition of N bits, store the data
    or its inverse, whichever programs fewer cells, with a flag cell saying which.
    At most ceil((N+1)/2) cells of a partition are programmed per write."""

    Params = FnwParams

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._cellmap = _raw_cellmap(self.word_bits, 1)

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
        ones = self.params.initial_state == "ones"
        fill = np.iinfo(self.word_dtype).max if ones else 0
        flags = (1 << self.partitions) - 1 if ones else 0
        return FnwState(np.full((lines, words), fill, dtype=self.word_dtype),
                        np.full((lines, words), flags, dtype=np.uint64))

    def encode(self, state, writes, outcome, wear, stored) -> None:
        want = stored is not None
        out = stored if want else np.empty((1, 1, 1), dtype=writes.dtype)
        K.fnw_chunk(writes, state.cells, state.flags, wear, outcome, out,
                    self._cellmap, self.word_bits, self.partition_bits, want)


# --------------------------------------------------------------------------- WOM codes


@dataclass
class WomState:
    """``cells[line, word, lane]``: lane masks A, B, C (internal PreSET form, bit k = group k);
    ``polarity[line, word]``: 0 = 10 (PreSET cells), 1 = 01 (PreRESET cells)."""

    cells: np.ndarray
    polarity: np.ndarray


class _WomEncoder(Encoder):
    """The Rivest-Shamir WOM code over a grouping, with optional AppWOM approximation
    and ping-pong. Subclasses fix the defaults."""

    approximate_default = False

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.groups: list[Group] = resolve_grouping(
            self.params.grouping, self.word_bits, approximate_default=self.approximate_default,
            key=f"scheme {self.name}: grouping",
        )
        self.tables = build_tables(self.groups, self.word_bits)
        self.policy = self._policy()
        g = len(self.groups)
        cm = np.zeros((3, 64), dtype=np.int32)
        for lane in range(3):
            cm[lane, :g] = 3 * np.arange(g) + lane
        self._cellmap = cm

    def _policy(self) -> PingPongPolicy:
        return PingPongPolicy("10", 1, False)

    @property
    def cells_per_word(self) -> int:
        return 3 * len(self.groups)

    def cell_labels(self) -> list[str]:
        return [f"{group_label(g, self.word_bits)}:{j}" for g in self.groups for j in range(3)]

    def group_labels(self) -> list[str]:
        """A label per group ("S+E1", ...), in cell order."""
        return [group_label(g, self.word_bits) for g in self.groups]

    def new_state(self, lines: int, words: int, line_offset: int = 0) -> WomState:
        erased = (1 << len(self.groups)) - 1
        cells = np.full((lines, words, 3), erased, dtype=np.uint32)
        pol = np.repeat(self.policy.initial(lines, line_offset)[:, None], words, axis=1)
        return WomState(cells, np.ascontiguousarray(pol))

    def encode(self, state, writes, outcome, wear, stored) -> None:
        want = stored is not None
        out = stored if want else np.empty((1, 1, 1), dtype=writes.dtype)
        t = self.tables
        K.wom_chunk(writes, state.cells, state.polarity, wear, outcome, out, self._cellmap,
                    t.gather, t.scatter_hi, t.scatter_lo, t.approx_mask, t.groups,
                    self.policy.ping_pong, self.refresh_unit == "word", want)

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        if not isinstance(d.get("grouping"), str):
            d["grouping"] = [[g.important, g.unimportant, g.approximate] for g in self.groups]
        return d


@dataclass(frozen=True)
class WomSetParams:
    grouping: Any = "adjacent"
    """"adjacent" (the scheme's definition) or an explicit list of bit pairs (all exact)."""

    def check(self, where: str, word_bits: int) -> None:
        resolve_grouping(self.grouping, word_bits, approximate_default=False, key=f"{where}.grouping")


@PCM_SCHEMES.register("wom-set")
class WomSet(_WomEncoder):
    """WOM-SET (Zhang et al., ISLPED 2013): the 2-bit/3-cell WOM code on PreSET cells,
    adjacent pairs, exact; an exhausted unit is PreSET back to all 1s."""

    Params = WomSetParams


@dataclass(frozen=True)
class AppWomParams:
    grouping: Any = "fig5"
    """"fig5" (float32, the default), "adjacent" (every pair approximate) or a list of
    (important bit, unimportant bit, approximate) triples."""
    initial_polarity: str = "interleaved"
    """"interleaved" (by region of ``region_lines`` lines), "10" or "01"."""
    region_lines: int = 1
    """Lines per region of the interleaved allocation."""
    ping_pong: bool = True
    """Turn exhausted units over and switch polarity (the paper); false: PreSET/PreRESET back."""

    def check(self, where: str, word_bits: int) -> None:
        resolve_grouping(self.grouping, word_bits, approximate_default=True, key=f"{where}.grouping")
        try:
            PingPongPolicy(self.initial_polarity, self.region_lines, self.ping_pong)
        except ConfigError as exc:
            raise ConfigError(f"{where}.{exc}") from None


@PCM_SCHEMES.register("appwom")
class AppWom(_WomEncoder):
    """AppWOM (Ho et al.): the approximate WOM code (an update of only the unimportant
    bit of an approximate pair is ignored) with the wear-aware ping-pong policy:
    AppWOM10 on PreSET cells, AppWOM01 on PreRESET cells, lines interleaved."""

    Params = AppWomParams
    approximate_default = True
    exact = False

    def _policy(self) -> PingPongPolicy:
        p = self.params
        return PingPongPolicy(p.initial_polarity, p.region_lines, p.ping_pong)


__all__ = ["Preset", "Prereset", "Dcw", "FlipNWrite", "WomSet", "AppWom", "RawState", "FnwState", "WomState"]

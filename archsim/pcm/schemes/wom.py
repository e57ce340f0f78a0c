"""WOM codes: WOM-SET and the approximate AppWOM with its wear-aware ping-pong policy."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from archsim import _pcm_kernels as K
from archsim.pcm.encoder import PCM_SCHEMES, Encoder, SchemeParams
from archsim.pcm.grouping import Group, group_label, resolve_grouping
from archsim.pcm.lanes import LaneLayout, PendingWear, wom_cellmap, wom_physical_cells, wom_tables
from archsim.pcm.polarity import PingPongPolicy
from archsim.pcm.schemes.raw import _flat_wear
from archsim.errors import ConfigError

@dataclass
class WomState:
    """Per 64-bit lane (32 groups): ``cells[line, lane, 0..2]`` the group masks A, B, C of
    the codeword cells (internal PreSET form); ``polarity[line, lane]`` the groups in 01
    polarity (PreRESET cells), the others being 10."""

    layout: LaneLayout
    cells: np.ndarray
    polarity: np.ndarray
    cycles: np.ndarray
    """(lines, padded words) refresh cycles completed by each word (counted with ping-pong)."""
    pending: PendingWear | None = None
    """The kernel's wear counters not yet in the wear array."""

    def line_polarity(self) -> np.ndarray:
        """(lines,) polarity of each line's first word: 0 = 10, 1 = 01."""
        return (self.polarity[:, 0] & 1).astype(np.uint8)


class _WomEncoder(Encoder):
    """The Rivest-Shamir WOM code over a grouping, with optional AppWOM approximation
    and ping-pong. Subclasses fix the defaults."""

    approximate_default = False
    #: A cell is programmed at most once per refresh cycle and a cycle takes at least one write. Without
    #: ping-pong a refresh adds 2 per programmed cell (its programming and the PreSET/PreRESET back) and the
    #: read-out 1 per cell programmed in the current cycle: at most 2 per write. With ping-pong every cell
    #: flips once per cycle (completed cycles, counted in ``cycles``, plus the current one): at most 1.
    cell_flips_per_write = 2

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.groups: list[Group] = resolve_grouping(
            self.params.grouping, self.word_bits, approximate_default=self.approximate_default,
            key=f"scheme {self.name}: grouping",
        )
        self.tables = wom_tables(self.groups, self.word_bits)
        self.policy = self._policy()
        self._cellmap = wom_cellmap(len(self.groups))

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
        layout = LaneLayout(words, self.word_bits)
        valid = layout.valid_groups(len(self.groups)).astype(np.uint32)
        cells = np.repeat(np.repeat(valid[None, :, None], lines, axis=0), 3, axis=2)  # erased: 111
        line_pol = self.policy.initial(lines, line_offset)
        polarity = np.where(line_pol[:, None] == 1, valid[None, :], np.uint32(0)).astype(np.uint32)
        cycles = np.zeros((lines, layout.padded_words), dtype=np.uint64)
        G = len(self.groups)
        pending = PendingWear(lines, layout.lanes, 3, (32 // G) * 3 * G, (4, 4, 4), self._cellmap)
        return WomState(layout, np.ascontiguousarray(cells), np.ascontiguousarray(polarity), cycles, pending)

    def flush_wear(self, state: WomState, wear: np.ndarray, lines=None) -> None:
        state.pending.drain(wear, lines)

    fills_outcome = True  # wom_chunk writes every outcome row

    def encode(self, state, writes, outcome, wear, stored) -> None:
        lay = state.layout
        want = stored is not None
        direct = want and lay.words == lay.padded_words and stored.flags.c_contiguous
        if direct:    # the kernel decodes straight into ``stored`` (its lanes are whole words)
            out = stored.view(np.uint64)
        else:
            out = lay.lane_buffer(*writes.shape[:2]) if want else np.empty((1, 1, 1), dtype=np.uint64)
        t = self.tables
        K.wom_chunk(lay.to_lanes(writes), state.cells, state.polarity, state.cycles, _flat_wear(wear), outcome, out,
                    self._cellmap, lay.valid_groups(len(self.groups)), t.gather, t.scatter_hi,
                    t.scatter_lo, t.approx_mask, len(self.groups), self.policy.ping_pong,
                    self.refresh_unit == "word", want, state.pending.slots, state.pending.clock)
        if want and not direct:
            stored[...] = lay.from_lanes(out, writes.dtype)

    def total_wear(self, state: WomState, wear: np.ndarray) -> np.ndarray:
        """Flips per cell so far: what the kernel counted at refreshes, plus the completed
        ping-pong cycles of each word (one flip per cell each), plus the cells programmed in
        the current cycle (one flip each, not yet counted). One pass in memory order
        (:func:`archsim._pcm_kernels.wom_total_wear`); :func:`wom_total_wear_numpy` is the plain form."""
        out = np.empty(wear.shape, dtype=wear.dtype)   # the same width: the stream's bound covers the total
        if wear.size:
            K.wom_total_wear(_flat_wear(np.ascontiguousarray(wear)), np.ascontiguousarray(state.cells),
                             np.ascontiguousarray(state.cycles), out.reshape(out.shape[0], -1), len(self.groups),
                             self.policy.ping_pong)
        return out

    def lines_wear(self, state: WomState, wear: np.ndarray, lines: np.ndarray) -> np.ndarray:
        sub = WomState(state.layout, state.cells[lines], state.polarity[lines], state.cycles[lines])
        return self.total_wear(sub, wear[lines])

    def cell_states(self, state: WomState, lines: np.ndarray) -> np.ndarray:
        """Physical cells: the internal PreSET-form codewords, inverted in groups of 01 polarity (AppWOM01)."""
        cells = wom_physical_cells(state.cells[lines], state.polarity[lines], state.layout, len(self.groups))
        return cells.reshape(cells.shape[0], -1)

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        if not isinstance(d.get("grouping"), str):
            d["grouping"] = [[g.important, g.unimportant, g.approximate] for g in self.groups]
        return d


def wom_total_wear_numpy(state: WomState, wear: np.ndarray, word_groups: int, ping_pong: bool) -> np.ndarray:
    """The plain numpy form of :meth:`_WomEncoder.total_wear` (the reference its kernel is tested against)."""
    lay = state.layout
    out = wear.copy()
    if ping_pong:
        out += state.cycles[:, : lay.words, None]
    no_polarity = np.zeros(state.cells.shape[:2], np.uint32)
    internal = wom_physical_cells(state.cells, no_polarity, lay, word_groups)
    out.reshape(out.shape[0], lay.words, 3 * word_groups)[...] += (internal == 0)
    return out


@dataclass(frozen=True)
class WomSetParams(SchemeParams):
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
class AppWomParams(SchemeParams):
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

"""The ``dap`` and ``ps`` PCM schemes: data-comparison writes whose SETs may be lossy.

Built on ``dcw`` (cells start at 0, no pre-operation, no refresh): a write
SETs the bits going 0 -> 1 and RESETs those going 1 -> 0, comparing against
the cells *as they are now* (a decayed lossy cell reads 0, so a write that
wants a 1 there SETs it again: that is the only re-programming of decayed
cells). SETs of bits in the line's lossy mask are lossy SETs (own latency and
energy, the cell decays later, :mod:`archsim.pcm.dap.decay`); the other SETs are
full SETs. ``dap`` uses the bit-aware Dual-SET mask on every line (weights and
biases; the closed loop can set the layer-aware mask of intermediate lines
with :meth:`DapEncoder.set_line_masks`); ``ps`` uses lossy SET on every bit.

Counting: ``write_set`` counts every SET (full and lossy; each is one flip and
one unit of wear), ``write_reset`` the RESETs. The result
(:class:`DapReplayResult`) adds ``lossy_set_flips`` and ``decayed_cells`` and
charges lossy SETs their own energy; a line write's latency is the longest
pulse it applies: SET latency if it full-SETs any cell, else the longer of the
lossy-SET latency (if it lossy-SETs) and the RESET latency (if it RESETs).
With a write-power budget of B cells, full SETs take ceil(f / B) rounds and the
lossy SETs and RESETs fill the room left, then take rounds of that longer pulse.

Time: write k of a line (k = 0, 1, ... over the stream) happens at
``(k + 1) * iteration_time_s`` unless the caller gives times
(:meth:`DapEncoder.set_write_times`: the closed loop does, and ``archsim run --timing`` replays
these schemes again on the timing model's clock; docs/dap.md, "The clock rule").
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from archsim import _dap_kernels as K
from archsim.pcm.config import PcmConfig
from archsim.pcm.costs import write_latency_ns
from archsim.pcm.dap.config import DapParams
from archsim.pcm.dap.decay import LAW_IDS
from archsim.pcm.dap.policy import ALL_BITS, dual_set_mask
from archsim.pcm.encoder import PCM_SCHEMES, WR, WS, Encoder
from archsim.pcm.stream import ReplayResult
from archsim.errors import ConfigError


@dataclass
class DapState:
    """Cells, lossy flags and decay times of the lines (see :mod:`archsim._dap_kernels`), plus
    the stream's lossy-SET tallies."""

    cells: np.ndarray          # (lines, words) uint32
    lossy: np.ndarray          # (lines, words) uint32: 1-cells holding a lossy SET
    deadline: np.ndarray       # (lines, words, 32) float64: decay time of each lossy cell, s
    earliest: np.ndarray       # (lines, words) float64: lower bound of a word's lossy-cell decay times, s
    masks: np.ndarray          # (lines,) uint32: lossy bits of each line
    line_offset: int
    writes_done: int = 0
    next_times: np.ndarray | None = None
    lossy_set_flips: int = 0
    decayed_cells: int = 0
    last_lossy: np.ndarray | None = None    # (T, lines) of the last chunk
    last_decayed: np.ndarray | None = None  # (T, lines) of the last chunk
    #: line writes by class ``full SETs << 40 | lossy SETs << 20 | RESETs`` (for the latency at result
    #: time): the classes in order of first appearance (each chunk's new classes in ascending order)
    #: with their counts, and the classes sorted with their positions (for the merge)
    class_keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    class_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    sorted_keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    sorted_pos: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def write_classes(self) -> dict[tuple[int, int, int], int]:
        """Line writes by (full SETs, lossy SETs, RESETs) -> count, in order of first appearance."""
        return {(k >> 40, (k >> 20) & 0xFFFFF, k & 0xFFFFF): c
                for k, c in zip(self.class_keys.tolist(), self.class_counts.tolist())}

    def add_classes(self, keys: np.ndarray, counts: np.ndarray) -> None:
        """Merge one chunk's classes (``keys`` ascending, unique) and counts."""
        pos = np.searchsorted(self.sorted_keys, keys)
        hit = pos < self.sorted_keys.size
        hit[hit] = self.sorted_keys[pos[hit]] == keys[hit]
        self.class_counts[self.sorted_pos[pos[hit]]] += counts[hit]
        new = ~hit
        if new.any():
            n0 = self.class_keys.size
            fresh = keys[new]
            self.class_keys = np.concatenate([self.class_keys, fresh])
            self.class_counts = np.concatenate([self.class_counts, counts[new]])
            self.sorted_keys = np.insert(self.sorted_keys, pos[new], fresh)
            self.sorted_pos = np.insert(self.sorted_pos, pos[new], np.arange(n0, n0 + fresh.size))


class DapEncoder(Encoder):
    """DCW with lossy SETs on the bits of a per-line mask. Parameters: :class:`DapParams`."""

    Params = DapParams
    needs_read = True
    exact = False
    cell_flips_per_write = 1  # a data-comparison write; a decay programs nothing
    time_dependent = True

    @classmethod
    def config_defaults(cls, config) -> dict[str, Any]:
        """The ``[dap]`` section of the configuration and ``run.iteration_time_s`` as parameters
        (``[encoding.schemes.dap]`` / ``[encoding.schemes.ps]`` override single fields)."""
        return {**dataclasses.asdict(config.dap), "iteration_time_s": config.run.iteration_time_s}

    def default_mask(self) -> int:
        return dual_set_mask(self.params.lossy_mantissa_bits)

    @property
    def cells_per_word(self) -> int:
        return 32

    def cell_labels(self) -> list[str]:
        from archsim.pcm.grouping import float32_bit_name

        return [float32_bit_name(31 - i) for i in range(32)]

    def new_state(self, lines: int, words: int, line_offset: int = 0) -> DapState:
        return DapState(
            cells=np.zeros((lines, words), np.uint32),
            lossy=np.zeros((lines, words), np.uint32),
            deadline=np.full((lines, words, 32), np.inf),
            earliest=np.full((lines, words), np.inf),
            masks=np.full(lines, self.default_mask(), np.uint32),
            line_offset=int(line_offset),
        )

    # -- hooks for the closed loop and timing models ---------------------------------
    @staticmethod
    def set_line_masks(state: DapState, masks) -> None:
        """Set the lossy-bit mask of every line (e.g. the layer-aware mask of intermediate lines)."""
        state.masks[...] = np.asarray(masks, np.uint32)

    def set_data_lifetimes(self, state: DapState, lifetimes_s) -> None:
        """Layer-aware SET policy: lines whose data dies before the retention time runs out
        take lossy SET on every bit, the others full SET (``ps``: lossy SET everywhere)."""
        life = np.asarray(lifetimes_s, np.float64)
        if self.default_mask() == ALL_BITS:
            masks = np.full(life.shape, ALL_BITS, np.uint32)
        else:
            masks = np.where(life < self.params.retention_s, np.uint32(ALL_BITS), np.uint32(0))
        self.set_line_masks(state, masks)

    @staticmethod
    def set_write_times(state: DapState, times) -> None:
        """Simulated times (s) of the next chunk's writes: shape (T,) or (T, lines)."""
        state.next_times = np.asarray(times, np.float64)

    @staticmethod
    def read_back(state: DapState, times) -> np.ndarray:
        """What reading every line at ``times`` (s; scalar or (lines,)) returns: the cells after decay.
        Decayed cells stay 0 (the state is updated). Returns (lines, words) uint32."""
        t = np.ascontiguousarray(np.broadcast_to(np.asarray(times, np.float64), state.masks.shape))
        out = np.empty_like(state.cells)
        state.decayed_cells += int(K.dap_read(state.cells, state.lossy, state.deadline, state.earliest, t, out))
        return out

    # -- the Encoder contract ------------------------------------------------------------
    def encode(self, state: DapState, writes, outcome, wear, stored) -> None:
        T, L, W = writes.shape
        p = self.params
        if state.next_times is not None:
            times = np.ascontiguousarray(np.broadcast_to(
                state.next_times.reshape(state.next_times.shape + (1,) * (2 - state.next_times.ndim)), (T, L)))
            state.next_times = None
        else:
            k = np.arange(state.writes_done + 1, state.writes_done + T + 1, dtype=np.float64)
            times = np.ascontiguousarray(np.broadcast_to((k * p.iteration_time_s)[:, None], (T, L)))
        if np.any(np.diff(times, axis=0) < 0):
            raise ConfigError(f"scheme {self.name}: write times must not decrease")
        want = stored is not None
        st = stored if want else np.empty((1, 1, 1), np.uint32)
        nlossy = np.empty((T, L), np.uint32)
        decayed = np.empty((T, L), np.uint32)
        K.dap_chunk(writes, state.cells, state.lossy, state.deadline, state.earliest, wear.reshape(L, -1),
                    outcome, st, want,
                    state.masks, times, state.writes_done, state.line_offset, p.seed, LAW_IDS[p.decay_law],
                    p.retention_s, p.weibull_scale_s, 1.0 / p.weibull_shape, nlossy, decayed)
        state.writes_done += T
        state.lossy_set_flips += int(nlossy.sum(dtype=np.uint64))
        state.decayed_cells += int(decayed.sum(dtype=np.uint64))
        state.last_lossy, state.last_decayed = nlossy, decayed
        keys = np.empty(T * L, np.int64)
        counts = np.empty(T * L, np.int64)
        n = K.write_classes(outcome, nlossy, keys, counts)
        order = np.argsort(keys[:n], kind="stable")
        state.add_classes(keys[:n][order], counts[:n][order])

    def cell_states(self, state: DapState, lines) -> np.ndarray:
        """The cells as last programmed or read (a lossy cell that has decayed since reads 1 here
        until the next write or read of its line observes the decay)."""
        from archsim.pcm.lanes import word_cells

        cells = word_cells(state.cells[lines], 32)
        return cells.reshape(cells.shape[0], -1)

    def chunk_extras(self, state: DapState, outcome, pcm: PcmConfig) -> dict:
        """Each line write's latency and SET energy, with lossy SETs at their own latency and
        energy (for the timing model)."""
        lossy = state.last_lossy.astype(np.int64)
        full = outcome[..., WS].astype(np.int64) - lossy
        reset = outcome[..., WR].astype(np.int64)
        return {"write_ns": write_latency_ns(full, reset, pcm, lossy, self.params.lossy_set_latency_ns),
                "write_set_energy_pj": full * pcm.set_energy_pj + lossy * self.params.lossy_set_energy_pj}

    def adjust_result(self, state: DapState, result: ReplayResult) -> "DapReplayResult":
        p = self.params
        fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(ReplayResult)}
        out = DapReplayResult(**fields, lossy_set_flips=state.lossy_set_flips, decayed_cells=state.decayed_cells,
                              lossy_set_energy_pj=p.lossy_set_energy_pj,
                              lossy_set_latency_ns=p.lossy_set_latency_ns,
                              class_keys=state.class_keys.copy(), class_counts=state.class_counts.copy())
        out.price_classes()
        return out


@dataclass
class DapReplayResult(ReplayResult):
    """A :class:`ReplayResult` with lossy SETs: ``write_set_flips`` counts full and lossy SETs (flips,
    wear), ``lossy_set_flips`` the lossy ones (charged ``lossy_set_energy_pj`` each instead of the SET
    energy); ``decayed_cells`` lossy cells that fell back to 0 before being rewritten;
    ``set_writes`` line writes with a full SET (SET latency), ``reset_writes`` the other
    programming writes (lossy-SET or RESET latency). ``class_keys`` / ``class_counts``: the line
    writes by class (``full SETs << 40 | lossy SETs << 20 | RESETs``) they are priced from."""

    lossy_set_flips: int = 0
    decayed_cells: int = 0
    lossy_set_energy_pj: float = 0.0
    lossy_set_latency_ns: float = 0.0
    class_keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    class_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def price_classes(self) -> None:
        """``write_latency_ns_total``, ``set_writes`` and ``reset_writes`` from the write classes: each
        class's latency times its count, added exactly (:func:`math.fsum`: independent of the classes'
        order, so a sharded run's joined classes price the same)."""
        pcm = self.pcm
        if self.class_keys.size:
            k = self.class_keys
            cls = np.stack([k >> 40, (k >> 20) & 0xFFFFF, k & 0xFFFFF], axis=1)
            n = self.class_counts.astype(np.float64)
            lat = write_latency_ns(cls[:, 0], cls[:, 2], pcm, cls[:, 1], self.lossy_set_latency_ns)
            total = math.fsum((lat * n).tolist())
            if pcm.read_before_write and self.needs_read:
                total += float(n.sum()) * pcm.read_latency_ns
            full_writes = int(self.class_counts[cls[:, 0] > 0].sum())
        else:
            total, full_writes = 0.0, 0
        self.write_latency_ns_total = total
        programmed = self.line_writes - self.silent_writes
        self.set_writes = full_writes
        self.reset_writes = programmed - full_writes

    def join(self, others) -> "DapReplayResult":
        """:meth:`ReplayResult.join`, the lossy-SET counts summed and the write classes merged, then priced."""
        if not others:
            return self
        out = super().join(others)
        parts = [self, *others]
        keys, inverse = np.unique(np.concatenate([p.class_keys for p in parts]), return_inverse=True)
        counts = np.zeros(keys.size, np.int64)
        np.add.at(counts, inverse, np.concatenate([p.class_counts for p in parts]))
        out.class_keys, out.class_counts = keys, counts
        out.lossy_set_flips = sum(p.lossy_set_flips for p in parts)
        out.decayed_cells = sum(p.decayed_cells for p in parts)
        out.price_classes()
        return out

    def energy_by_kind(self) -> dict[str, float]:
        e = self.pcm
        out = super().energy_by_kind()
        out["write_set"] = (self.write_set_flips - self.lossy_set_flips) * e.set_energy_pj
        out["write_lossy_set"] = self.lossy_set_flips * self.lossy_set_energy_pj
        return out

    @property
    def energy_pj(self) -> float:
        return float(sum(self.energy_by_kind().values()))

    def summary(self) -> dict[str, Any]:
        d = super().summary()
        d.update(lossy_set_flips=self.lossy_set_flips, full_set_flips=self.set_flips - self.lossy_set_flips,
                 decayed_cells=self.decayed_cells)
        return d


@PCM_SCHEMES.register("dap")
class Dap(DapEncoder):
    """DAP (Wang et al., CODES+ISSS 2019 / TECS): bit-aware Dual-SET on weights and biases
    (lowest ``lossy_mantissa_bits`` mantissa bits lossy SET, the rest full SET) on a data-comparison
    write; intermediate lines take the layer-aware mask."""


@PCM_SCHEMES.register("ps")
class Ps(DapEncoder):
    """PS, the DAP seed's failing baseline: every SET is a lossy SET."""

    def default_mask(self) -> int:
        return ALL_BITS

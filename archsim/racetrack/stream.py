"""Streaming replay of NN-trace writes on racetrack memory, and its result.

Trace words map onto data items (``racetrack.item_bits``): ``item_bits / word_bits`` consecutive
words of a line form one item, the first word in the low bits (two float32 per 64-bit item by
default; ``item_bits = 32`` stores one float32 per item). A line whose word count is not a
multiple pads its last item with zero words that are never changed. Items fill tracks in address
order: global item ``g = (line_offset + line) * items_per_line + k`` sits at track ``g // D``,
index ``g % D``; ``tracks_per_cluster`` consecutive tracks shift together.

The memory starts *formatted*: every item holds the scheme's encoding of data value 0 (all
positions empty, except m-of-n codewords of 0 and fixed-ones' K-ones pattern of 0.0). The
insertions that formatting takes are reported as ``format_insertions``, not in the totals.
"""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from archsim import _racetrack_kernels as K
from archsim.contracts import ChunkOutcome, StreamResult, TechnologyStream
from archsim.errors import ArchsimError, ConfigError
from archsim.pcm.stream import as_words
from archsim.racetrack.config import RacetrackConfig
from archsim.racetrack.ports import PortModel
from archsim.racetrack.schemes import RacetrackScheme

#: Fields of the per-write outcome array of a racetrack stream, in order (from the kernels'
#: ``_outcome.pxd``). ``shifts`` are cluster shift steps; the ``path_`` fields are the port
#: operations on the write's critical path (all of them in the serial layout; the slowest
#: segment's in the spread layout).
OUTCOME_FIELDS: tuple[str, ...] = K.OUTCOME_FIELDS
INS, REM, DET, SHIFT, PINS, PREM, PDET = (OUTCOME_FIELDS.index(f) for f in (
    "insertions", "removals", "detects", "shifts", "path_insertions", "path_removals", "path_detects"))
NFIELDS = len(OUTCOME_FIELDS)

_UINT = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}


def service_ns(counts: np.ndarray, config: RacetrackConfig) -> np.ndarray:
    """Bank service time (ns) of accesses from their outcome counts (..., 7): shifts x shift
    latency + the critical-path port operations (detect, remove, insert) x their latencies."""
    c = counts
    return (c[..., SHIFT] * config.shift_latency_ns + c[..., PDET] * config.read_latency_ns
            + c[..., PREM] * config.remove_latency_ns + c[..., PINS] * config.insert_latency_ns)


@dataclass
class RacetrackResult(StreamResult):
    """Operation counts, latency and energy of a replay. Latencies ns, energies pJ.

    ``latency_ns`` is the sum of the unqueued service times of all accesses (a bank serving
    them back to back); ``avg_write_latency_ns`` its mean per line write (per request for request
    files).
    """

    scheme: str
    config: RacetrackConfig
    iterations: int
    line_writes: int
    insertions: int
    removals: int
    detects: int
    shifts: int
    path_insertions: int
    path_removals: int
    path_detects: int
    tracks_moved_per_shift: int
    format_insertions: int = 0
    reads: int = 0
    stored: np.ndarray | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def latency_ns(self) -> float:
        """The service times of all accesses, back to back (:func:`service_ns` of the totals)."""
        counts = np.zeros(NFIELDS, np.int64)
        for name in OUTCOME_FIELDS:
            counts[OUTCOME_FIELDS.index(name)] = getattr(self, name)
        return float(service_ns(counts, self.config))

    def energy_by_op(self) -> dict[str, float]:
        """Energy (pJ) by operation; a shift step costs ``shift_energy_pj`` per track moved."""
        c = self.config
        return {
            "insert": self.insertions * c.insert_energy_pj,
            "remove": self.removals * c.remove_energy_pj,
            "detect": self.detects * c.read_energy_pj,
            "shift": self.shifts * self.tracks_moved_per_shift * c.shift_energy_pj,
        }

    @property
    def energy_pj(self) -> float:
        return float(sum(self.energy_by_op().values()))

    @property
    def energy_per_iteration_pj(self) -> float:
        return self.energy_pj / self.iterations if self.iterations else 0.0

    @property
    def avg_write_latency_ns(self) -> float:
        n = self.line_writes + self.reads
        return self.latency_ns / n if n else 0.0

    def join(self, others) -> "RacetrackResult":
        """The operation counts summed (latency and energy follow from them), stored values concatenated
        by line (:meth:`StreamResult.join`; the line ranges start on cluster boundaries,
        :meth:`archsim.racetrack.Racetrack.shard_lines`)."""
        if not others:
            return self
        parts = [self, *others]
        for p in others:
            if (p.scheme, p.iterations, p.tracks_moved_per_shift, p.params, p.figures) != \
                    (self.scheme, self.iterations, self.tracks_moved_per_shift, self.params, self.figures):
                raise ArchsimError(f"racetrack scheme {self.scheme}: results of different replays cannot be joined")
        summed = {name: sum(getattr(p, name) for p in parts) for name in (
            "line_writes", "insertions", "removals", "detects", "shifts", "path_insertions", "path_removals",
            "path_detects", "format_insertions", "reads")}
        stored = None if any(p.stored is None for p in parts) else np.concatenate([p.stored for p in parts], axis=1)
        return dataclasses.replace(self, **summed, stored=stored)

    def summary(self) -> dict[str, Any]:
        """One flat row of the figures (for a DataFrame)."""
        row: dict[str, Any] = {
            "scheme": self.scheme,
            "iterations": self.iterations,
            "line_writes": self.line_writes,
            "insertions": self.insertions,
            "removals": self.removals,
            "shifts": self.shifts,
            "detects": self.detects,
            "latency_ns": self.latency_ns,
            "energy_pj": self.energy_pj,
            "energy_per_iteration_pj": self.energy_per_iteration_pj,
            "avg_write_latency_ns": self.avg_write_latency_ns,
            "format_insertions": self.format_insertions,
        }
        row.update({f"energy_{k}_pj": v for k, v in self.energy_by_op().items()})
        row.update(self.figures)
        return row


class RacetrackStream(TechnologyStream):
    """Replay one racetrack scheme over ``lines`` x ``words`` trace words, one chunk at a time.

    :meth:`feed` takes writes of shape (T, lines, words) (uint of ``word_bits`` or float32) and
    returns a chunk outcome whose ``outcome`` is (T, lines, 7) uint32 (:data:`OUTCOME_FIELDS`);
    :meth:`result` summarises. A racetrack has no per-cell wear (its wear proxy, insertions +
    removals, is counted per line by the technology's :meth:`~archsim.racetrack.Racetrack.line_totals`).
    """

    def __init__(self, scheme: RacetrackScheme, lines: int, words: int, *, word_bits: int = 32,
                 line_offset: int = 0, keep_stored: bool = False) -> None:
        config = scheme.config
        if lines <= 0 or words <= 0:
            raise ConfigError(f"a replay needs at least one line and one word, not {lines} x {words}")
        if word_bits not in _UINT or word_bits > config.item_bits:
            raise ConfigError(f"racetrack.item_bits ({config.item_bits}) must be a multiple of the trace's "
                              f"word size ({word_bits} bits)")
        if sys.byteorder != "little":
            raise ConfigError("the racetrack replay packs words into items little-endian; big-endian hosts "
                              "are not supported")
        self.scheme = scheme
        self.config = config
        self.lines, self.words, self.word_bits = lines, words, word_bits
        self.line_offset = line_offset
        self.keep_stored = keep_stored
        self.per_item = config.item_bits // word_bits
        self.n_items = -(-words // self.per_item)
        self.item_dtype = np.dtype(np.uint64 if config.item_bits == 64 else np.uint32)
        self.ports = PortModel.from_config(config, scheme.positions())
        self._geo = self.ports.kernel_params()
        self._sch = scheme.kernel_params()
        spw = self._sch["spw"]
        self.state = np.zeros((lines * self.n_items, config.segments_per_item * spw), dtype=np.uint64)
        D, tpc = config.data_per_track, config.tracks_per_cluster
        g0 = line_offset * self.n_items
        g1 = (line_offset + lines) * self.n_items - 1
        self.cluster0 = (g0 // D) // tpc
        self.offsets = np.zeros((g1 // D) // tpc - self.cluster0 + 1, dtype=np.int64)
        self._totals = np.zeros(NFIELDS, dtype=np.int64)
        self._iterations = 0
        self._stored: list[np.ndarray] = []
        self.format_insertions = 0
        self._formatted = False

    # ---------------------------------------------------------------- packing

    def _words(self, writes: Any) -> np.ndarray:
        w = as_words(writes, self.word_bits)
        if w.ndim == 2:
            w = w[None]
        if w.ndim != 3 or w.shape[1:] != (self.lines, self.words):
            raise ConfigError(f"writes of shape {np.shape(writes)} do not fit a stream of {self.lines} lines "
                              f"x {self.words} words")
        return w

    def _pack(self, w: np.ndarray) -> np.ndarray:
        """(T, lines, words) words -> (T, lines, n_items) items of the kernel's dtype."""
        T = w.shape[0]
        if self.words % self.per_item:
            padded = np.zeros((T, self.lines, self.n_items * self.per_item), dtype=w.dtype)
            padded[:, :, : self.words] = w
            w = padded
        items = np.ascontiguousarray(w).view(_UINT[self.config.item_bits])
        if items.dtype != self.item_dtype:
            items = items.astype(self.item_dtype)
        return np.ascontiguousarray(items)

    def _unpack(self, items: np.ndarray) -> np.ndarray:
        words = items.astype(_UINT[self.config.item_bits], copy=False).view(_UINT[self.word_bits])
        return np.ascontiguousarray(words[:, :, : self.words])

    def _format(self) -> None:
        """Store the scheme's encoding of 0 in every item (done before the first write, once the
        scheme's parameters are known); the insertions it takes become ``format_insertions``."""
        zeros = np.zeros((1, self.lines, self.words), dtype=_UINT[self.word_bits])
        if self.scheme.transforms_words:
            zeros = self.scheme.format_words(zeros)
        items = self._pack(zeros)
        outcome = np.zeros((1, self.lines, NFIELDS), dtype=np.uint32)
        fmt = np.zeros(NFIELDS, dtype=np.int64)
        K.trace_chunk(items, self.state, self.offsets.copy(), outcome, items, False,
                      self.line_offset, self.cluster0, self._geo, self._sch, fmt)
        self.format_insertions = int(fmt[INS])
        self._format_row = self.state[: self.n_items].copy()  # every line formats alike
        self._formatted = True

    # ---------------------------------------------------------------- protocol

    def feed(self, writes: Any, *, want_stored: bool = False) -> ChunkOutcome:
        """Replay a chunk (T, lines, words); returns its :class:`~archsim.pcm.ChunkOutcome`."""
        w = self._words(writes)
        fused = self.scheme.kernel_transform(w, self.word_bits)    # the kernel transforms, or:
        if fused is None:
            w = self.scheme.transform(w, self.word_bits)
        if not self._formatted:
            self._format()
        items = self._pack(w)
        T = items.shape[0]
        outcome = np.empty((T, self.lines, NFIELDS), dtype=np.uint32)    # the kernel fills every field
        need = want_stored or self.keep_stored
        stored = np.empty_like(items) if need else items[:1, :1, :1].copy()
        K.trace_chunk(items, self.state, self.offsets, outcome, stored, need,
                      self.line_offset, self.cluster0, self._geo, self._sch, self._totals,
                      n_words=self.words, **(fused or {}))
        self._iterations += T
        out_stored = self._unpack(stored) if need else None
        if self.keep_stored and out_stored is not None:
            self._stored.append(out_stored)
        return ChunkOutcome(outcome, out_stored, {}, OUTCOME_FIELDS)

    # ---------------------------------------------------------------- wear levelling

    #: Racetrack wears per line (insertions + removals, the ``flips`` of the technology's
    #: ``line_totals``), not per cell: a wear leveller folds one figure per line.
    wear_per_line = True

    @property
    def positions_per_line(self) -> int:
        """Track positions of one line: items x segments x positions per segment."""
        return self.n_items * self.config.segments_per_item * self.scheme.positions()

    def _positions(self, state: np.ndarray) -> np.ndarray:
        """(n, n_items, S * spw) state words -> (n, positions per line) uint8, item after item,
        segment after segment, position 0 first (word 0 holds positions 0..63, word 1 the rest)."""
        n = state.shape[0]
        S, spw, N = self.config.segments_per_item, self._sch["spw"], self.scheme.positions()
        words = np.ascontiguousarray(state, dtype=np.uint64).reshape(n, self.n_items, S, spw)
        bits = np.unpackbits(words.view(np.uint8), axis=-1, bitorder="little")  # (n, items, S, 64 spw)
        return np.ascontiguousarray(bits[..., :N]).reshape(n, -1)

    def cell_states(self, lines) -> np.ndarray:
        """The track positions of ``lines`` now (a skyrmion = 1), (n, :attr:`positions_per_line`)
        uint8, read from the kernel's state words. Before the first write the memory is not yet
        formatted (all positions empty)."""
        return self._positions(self.state.reshape(self.lines, self.n_items, -1)[lines])

    def initial_states(self, lines) -> np.ndarray | None:
        """The formatted positions of ``lines`` (every line formats alike: the encoding of 0), or
        None before the first write (``fixed-ones`` chooses K, and so its format, from it)."""
        if not self._formatted:
            return None
        n = len(np.arange(self.lines)[lines])
        return np.repeat(self._positions(self._format_row[None]), n, axis=0)

    def copy_rows(self, before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Wear levelling's line copies as the scheme's write of the moved positions ``after`` over
        the destination's ``before``, segment by segment (racetrack.md's counts, on positions):

        * ``naive``: every position removed, the ones inserted (removals N, insertions pc(after));
        * ``dcw``, ``fnw``: the differing positions (0 -> 1 inserted, 1 -> 0 removed), detects N;
        * ``pw``, ``pw+fnw``, ``m-of-n``, ``fixed-ones``: only the difference in skyrmion count
          (an m-of-n copy inserts and removes nothing), detects N.

        Path counts as for a write (serial: all; spread: the slowest segment of each item). Shifts:
        the line's positions pass the port one after another from an aligned start, ``items x walk
        - 1`` steps, as a line read is timed (:func:`~archsim.racetrack.technology.line_read_ns`);
        the copies leave the alignment the scheme's writes see as it was. Wear per copy: insertions
        + removals."""
        n = before.shape[0]
        S, N = self.config.segments_per_item, self.scheme.positions()
        b = np.asarray(before, np.uint8).reshape(n, self.n_items, S, N)
        a = np.asarray(after, np.uint8).reshape(n, self.n_items, S, N)
        kernel = self.scheme.kernel
        pa = a.sum(axis=-1, dtype=np.int64)
        if kernel == "naive":
            ins, rem = pa, np.full_like(pa, N)
        elif kernel in ("dcw", "fnw"):
            ins = (a & (1 - b)).sum(axis=-1, dtype=np.int64)
            rem = (b & (1 - a)).sum(axis=-1, dtype=np.int64)
        else:
            d = pa - b.sum(axis=-1, dtype=np.int64)
            ins, rem = np.maximum(d, 0), np.maximum(-d, 0)
        det = 0 if kernel == "naive" else N
        rows = np.zeros((n, NFIELDS), np.int64)
        rows[:, INS], rows[:, REM] = ins.sum(axis=(1, 2)), rem.sum(axis=(1, 2))
        rows[:, DET] = self.n_items * S * det
        rows[:, SHIFT] = self.n_items * self.ports.walk - 1
        if self.ports.spread:  # the slowest segment of each item (the first of equal ones), as the kernel
            c = self.config
            t = det * c.read_latency_ns + rem * c.remove_latency_ns + ins * c.insert_latency_ns
            worst = np.argmax(t, axis=-1)[..., None]
            rows[:, PINS] = np.take_along_axis(ins, worst, -1).sum(axis=(1, 2))
            rows[:, PREM] = np.take_along_axis(rem, worst, -1).sum(axis=(1, 2))
            rows[:, PDET] = self.n_items * det
        else:
            rows[:, PINS], rows[:, PREM], rows[:, PDET] = rows[:, INS], rows[:, REM], rows[:, DET]
        return rows.astype(np.uint32), (rows[:, INS] + rows[:, REM]).astype(np.uint64)

    @property
    def cells_per_word(self) -> int:
        """Storage positions are not cells with wear here: one per trace bit."""
        return self.word_bits

    def result(self) -> RacetrackResult:
        t = [int(x) for x in self._totals]
        return RacetrackResult(
            scheme=self.scheme.name, config=self.config, iterations=self._iterations,
            line_writes=self._iterations * self.lines,
            insertions=t[INS], removals=t[REM], detects=t[DET], shifts=t[SHIFT],
            path_insertions=t[PINS], path_removals=t[PREM], path_detects=t[PDET],
            tracks_moved_per_shift=self.ports.tracks_moved_per_shift,
            format_insertions=self.format_insertions,
            stored=np.concatenate(self._stored) if self._stored else None,
            figures=self.scheme.figures(),
            params=self.describe(),
        )

    def describe(self) -> dict[str, Any]:
        lo, hi = self.ports.extent()
        return {
            "item_bits": self.config.item_bits, "segment_bits": self.config.segment_bits,
            "positions_per_segment": self.scheme.positions(), "items_per_line": self.n_items,
            "layout": self.config.layout, "walk": self.ports.walk,
            "overhead_domains": hi - lo,
        }

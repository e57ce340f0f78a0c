"""The streaming replay of a PCM scheme and its result: :class:`EncoderStream`, :class:`ReplayResult`,
:func:`replay`.

The stream runs an :class:`~archsim.pcm.encoder.Encoder` over a fixed set of
lines, keeps the cells' state, the per-cell wear and running totals between
chunks, and prices everything with the cost rules of :mod:`archsim.pcm.costs`.
"""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

import numpy as np

from archsim import _pcm_kernels as _kernels
from archsim.config import MAX_MAGNITUDE, build_dataclass
from archsim.contracts import ChunkOutcome, StreamResult, TechnologyStream
from archsim.digest import WearDigest, concat_wear
from archsim.errors import ArchsimError, ConfigError, is_integer
from archsim.pcm.config import PcmConfig
from archsim.pcm.costs import flip_energy_pj, read_cells_energy_pj, total_write_latency_ns, write_latency_ns
from archsim.pcm.encoder import OUTCOME_FIELDS, WORD_DTYPES, WR, WS, Encoder, make_encoder

# --------------------------------------------------------------------------- results


@dataclass
class ReplayResult(StreamResult):
    """What replaying writes under one scheme did to the memory.

    Counts are cells (flips); energies pJ; latencies ns. A *line write* is
    one write of one line (one element of the writes' first two axes);
    ``iterations`` is the number of writes each line received.
    """

    scheme: str
    word_bits: int
    cells_per_word: int
    lines: int
    words: int
    iterations: int
    line_writes: int
    write_set_flips: int
    write_reset_flips: int
    refresh_set_flips: int
    refresh_reset_flips: int
    refreshes: int
    silent_writes: int
    set_writes: int
    reset_writes: int
    write_latency_ns_total: float
    read_energy_pj: float
    wear: np.ndarray
    pcm: PcmConfig
    stored: np.ndarray | None = None
    params: dict[str, Any] = field(default_factory=dict)
    needs_read: bool = True
    """Whether the scheme reads a line before writing it (charged with ``pcm.read_before_write``)."""

    @property
    def set_flips(self) -> int:
        return self.write_set_flips + self.refresh_set_flips

    @property
    def reset_flips(self) -> int:
        return self.write_reset_flips + self.refresh_reset_flips

    @property
    def bit_flips(self) -> int:
        """Cells programmed in total (writes and refreshes)."""
        return self.set_flips + self.reset_flips

    def energy_by_kind(self) -> dict[str, float]:
        """Energy (pJ) by kind: write SET/RESET, refresh SET/RESET, reads."""
        e = self.pcm
        return {
            "write_set": self.write_set_flips * e.set_energy_pj,
            "write_reset": self.write_reset_flips * e.reset_energy_pj,
            "refresh_set": self.refresh_set_flips * e.set_energy_pj,
            "refresh_reset": self.refresh_reset_flips * e.reset_energy_pj,
            "read": self.read_energy_pj,
        }

    @property
    def energy_pj(self) -> float:
        """Total energy, pJ: SET flips x SET energy + RESET flips x RESET energy (+ reads)."""
        return float(flip_energy_pj(self.set_flips, self.reset_flips, self.pcm) + self.read_energy_pj)

    @property
    def energy_per_iteration_pj(self) -> float:
        return self.energy_pj / self.iterations if self.iterations else 0.0

    @property
    def avg_write_latency_ns(self) -> float:
        """Mean latency of the line writes that program at least one cell, ns (refresh assumed done)."""
        n = self.line_writes - self.silent_writes
        return self.write_latency_ns_total / n if n else 0.0

    @property
    def max_cell_flips(self) -> int:
        return int(self.wear.max()) if self.wear.size else 0

    @property
    def mean_cell_flips(self) -> float:
        return float(self.wear.mean()) if self.wear.size else 0.0

    def lifetime_iterations(self, endurance: float | None = None) -> float:
        """Iterations until the first cell reaches the endurance limit (paper's definition):
        endurance / max over cells of (cell flips / replayed iterations). ``inf`` if no cell flipped."""
        endurance = self.pcm.endurance if endurance is None else endurance
        m = self.max_cell_flips
        return endurance * self.iterations / m if m else float("inf")

    def cell_wear(self) -> np.ndarray:
        return self.wear

    def digested(self) -> "ReplayResult":
        """The wear as its digest (:class:`archsim.digest.WearDigest`); stored values dropped."""
        return dataclasses.replace(self, wear=WearDigest.of(self.wear), stored=None)

    def join(self, others) -> "ReplayResult":
        """The counts summed, the wear (and stored values) concatenated by line, the latency and
        read energy computed again from the joined counts (:meth:`StreamResult.join`)."""
        parts = [self, *others]
        if not others:
            return self
        for p in others:
            if (p.scheme, p.iterations, p.words, p.cells_per_word, p.word_bits, p.params, p.pcm) != \
                    (self.scheme, self.iterations, self.words, self.cells_per_word, self.word_bits, self.params,
                     self.pcm):
                raise ArchsimError(f"scheme {self.scheme}: results of different replays (scheme, iterations, words, "
                                   "parameters or [pcm] costs) cannot be joined")
        if self.pcm.write_power_budget > 0:
            raise ConfigError("pcm.write_power_budget: the latency of every write depends on its own counts, summed "
                              "in chunk order; a sharded run cannot reproduce that sum (run it unsharded)")
        summed = {name: sum(getattr(p, name) for p in parts) for name in (
            "lines", "line_writes", "write_set_flips", "write_reset_flips", "refresh_set_flips",
            "refresh_reset_flips", "refreshes", "silent_writes", "set_writes", "reset_writes")}
        stored = None if any(p.stored is None for p in parts) else np.concatenate([p.stored for p in parts], axis=1)
        out = dataclasses.replace(self, **summed, wear=concat_wear([p.wear for p in parts]), stored=stored)
        out.write_latency_ns_total = latency_total_ns(out.set_writes, out.reset_writes, self.pcm, self.needs_read)
        out.read_energy_pj = read_energy_pj(out.line_writes, self.words, self.cells_per_word, self.pcm,
                                            self.needs_read)
        return out

    def summary(self) -> dict[str, Any]:
        """One flat row of the figures (for a DataFrame)."""
        return {
            "scheme": self.scheme,
            "iterations": self.iterations,
            "line_writes": self.line_writes,
            "bit_flips": self.bit_flips,
            "set_flips": self.set_flips,
            "reset_flips": self.reset_flips,
            "write_set_flips": self.write_set_flips,
            "write_reset_flips": self.write_reset_flips,
            "refresh_set_flips": self.refresh_set_flips,
            "refresh_reset_flips": self.refresh_reset_flips,
            "energy_pj": self.energy_pj,
            "energy_per_iteration_pj": self.energy_per_iteration_pj,
            "max_cell_flips": self.max_cell_flips,
            "mean_cell_flips": self.mean_cell_flips,
            "lifetime_iterations": self.lifetime_iterations(),
            "avg_write_latency_ns": self.avg_write_latency_ns,
            "refreshes": self.refreshes,
            "silent_writes": self.silent_writes,
            "set_writes": self.set_writes,
            "reset_writes": self.reset_writes,
        }


# --------------------------------------------------------------------------- streaming


class EncoderStream(TechnologyStream):
    """Replay a scheme over a fixed set of lines, fed one chunk of writes at a time.

    The lines' cell state, wear and running totals persist between
    :meth:`feed` calls, so a trace can be streamed one iteration, or a batch
    of iterations, at a time; :meth:`result` summarises everything fed so far.

    The per-cell wear is exact and held in uint32 when the scheme bounds what a cell gains per write
    (:attr:`Encoder.cell_flips_per_write`): before a chunk whose writes could take a cell past
    :attr:`WEAR32_LIMIT` (writes fed x the bound), the array is widened to uint64 once and stays so.
    A scheme without a bound, or ``wear_dtype="uint64"``, keeps uint64 from the start;
    ``wear_dtype="uint32"`` insists on the narrow start (a scheme with a bound only).
    """

    #: The largest flips a uint32 wear array is trusted to reach (2**32 - 1); a class attribute so
    #: that a test can lower it and watch the widening.
    WEAR32_LIMIT: ClassVar[int] = 2**32 - 1

    def __init__(self, encoder: Encoder, lines: int, words: int, *, pcm: PcmConfig | None = None,
                 line_offset: int = 0, keep_stored: bool = False, wear_dtype: str | None = None) -> None:
        for name, v in (("lines", lines), ("words", words), ("line_offset", line_offset)):
            if not is_integer(v):
                raise TypeError(f"{name} must be an integer, not {v!r}")
        if lines <= 0 or words <= 0:
            raise ConfigError(f"a replay needs at least one line and one word, not {lines} x {words}")
        if not 0 <= line_offset <= MAX_MAGNITUDE:  # the global index of the first line (AppWOM's polarities)
            raise ConfigError(f"line_offset must be in 0..{MAX_MAGNITUDE:g}, not {line_offset}")
        if wear_dtype not in (None, "uint32", "uint64"):
            raise ConfigError(f"wear_dtype must be 'uint32', 'uint64' or None (by the scheme), not {wear_dtype!r}")
        if wear_dtype == "uint32" and encoder.cell_flips_per_write is None:
            raise ConfigError(f"wear_dtype = 'uint32': scheme {encoder.name} does not bound the flips a cell "
                              "takes per write (Encoder.cell_flips_per_write), so its wear is kept in uint64")
        self.encoder = encoder
        self.lines = lines
        self.words = words
        self.pcm = PcmConfig() if pcm is None else pcm
        if not isinstance(self.pcm, PcmConfig):
            raise TypeError(f"pcm must be a PcmConfig (the [pcm] section: config.pcm), not {type(pcm).__name__}")
        self.pcm.validate("pcm")  # a PcmConfig built by hand has not been through load_config
        self.keep_stored = keep_stored
        self.state = encoder.new_state(lines, words, line_offset)
        narrow = wear_dtype == "uint32" or (wear_dtype is None and encoder.cell_flips_per_write is not None)
        self._wear = np.zeros((lines, words, encoder.cells_per_word), dtype=np.uint32 if narrow else np.uint64)
        self._wear_lent = False  # ``wear`` handed out the array itself: the next feed counts into a copy
        # the outcome fields summed, then silent, SET and RESET-only line writes (_kernels.SUMMARY_FIELDS)
        self._totals = np.zeros(len(_kernels.SUMMARY_FIELDS), dtype=np.uint64)
        self._iterations = 0
        self._budget_latency_ns = 0.0  # with a write-power budget: the exact sum of the write latencies
        self._stored: list[np.ndarray] = []
        self._buffers: dict[str, np.ndarray] = {}  # the last chunk's outcome and stored arrays, for reuse

    def feed(self, writes: np.ndarray, *, want_stored: bool = False) -> "ChunkOutcome":
        """Replay ``writes`` of shape (T, lines, words) (or (lines, words) for one write).

        Returns the chunk's per-write outcomes and, if ``want_stored`` (or the
        stream keeps stored values), the stored values of the chunk.
        """
        w = as_words(writes, self.encoder.word_bits)
        if w.ndim == 2:
            w = w[None]
        if w.ndim != 3 or w.shape[1:] != (self.lines, self.words):
            raise ConfigError(
                f"writes of shape {np.shape(writes)} do not fit a stream of {self.lines} lines x {self.words} words"
            )
        T = w.shape[0]
        if self._wear_lent:  # what ``wear`` (or a result) returned stays as it was
            self._wear = self._wear.copy()
            self._wear_lent = False
        outcome = self._chunk_buffer("outcome", (T, self.lines, 5), np.uint32)
        if not self.encoder.fills_outcome:
            outcome.fill(0)
        need_stored = want_stored or self.keep_stored
        stored = self._chunk_buffer("stored", w.shape, w.dtype) if need_stored else None
        self._fit_wear(T)
        self.encoder.encode(self.state, w, outcome, self._wear, stored)
        self._account(outcome)
        if self.keep_stored and stored is not None:
            self._stored.append(stored)
        return ChunkOutcome(outcome, stored, self.encoder.chunk_extras(self.state, outcome, self.pcm), OUTCOME_FIELDS)

    def _fit_wear(self, writes: int) -> None:
        """Widen a uint32 wear array to uint64 (once; the kernels then run their uint64 form) before
        ``writes`` more writes could take a cell past :attr:`WEAR32_LIMIT`: a cell holds at most the
        writes fed x :attr:`Encoder.cell_flips_per_write` (the pending counters' share included, and the
        read-out of :meth:`Encoder.total_wear`), so a uint32 counter never wraps."""
        if self._wear.dtype != np.uint32:
            return
        if (self._iterations + writes) * self.encoder.cell_flips_per_write > self.WEAR32_LIMIT:
            self._wear = self._wear.astype(np.uint64)

    def _chunk_buffer(self, key: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        """An array for a chunk's outcomes or stored values: the previous chunk's when its shape fits and
        nothing else holds it any more (the caller dropped that chunk's :class:`ChunkOutcome` and every
        view of it), else a new one. A chunk's arrays are tens to hundreds of MB at paper scale: a new
        mapping each time costs its page faults (clearing the pages), as much as AppWOM's kernel work at 64
        LeNet iterations per chunk. A kept array (``keep_stored``, an observer holding an outcome) is
        never reused, so nothing handed out changes afterwards."""
        buf = self._buffers.get(key)
        # any holder or view adds a reference to those of the dict, ``buf`` and the call (_UNHELD_REFS)
        if buf is not None and buf.shape == shape and buf.dtype == dtype and sys.getrefcount(buf) <= _UNHELD_REFS:
            return buf
        buf = np.empty(shape, dtype=dtype)
        self._buffers[key] = buf
        return buf

    @property
    def wear(self) -> np.ndarray:
        """Flips per cell so far, shape (lines, words, cells), uint32 or uint64 (the stream's wear width): a
        snapshot, which later feeds leave as it is (a scheme that counts as it goes hands out its own array,
        and the next feed then counts into a copy)."""
        self.encoder.flush_wear(self.state, self._wear)
        out = self.encoder.total_wear(self.state, self._wear)
        if np.may_share_memory(out, self._wear):
            self._wear_lent = True
        return out

    @property
    def cells_per_word(self) -> int:
        return self.encoder.cells_per_word

    def cell_labels(self) -> list[str]:
        return self.encoder.cell_labels()

    def group_labels(self) -> list[str] | None:
        return self.encoder.group_labels()

    def polarity_policy(self):
        """The encoder's ping-pong policy when it switches whole lines (``refresh_unit = "line"``); with
        ``"word"`` each word switches on its own, so there is no per-line polarity: None."""
        return self.encoder.policy if self.encoder.refresh_unit == "line" else None

    def cell_states(self, lines) -> np.ndarray:
        return self.encoder.cell_states(self.state, _rows(lines))

    def lines_wear(self, lines) -> np.ndarray:
        rows = _rows(lines)
        self.encoder.flush_wear(self.state, self._wear, rows)
        return self.encoder.lines_wear(self.state, self._wear, rows)

    def set_data_lifetimes(self, lifetimes_s: np.ndarray) -> None:
        self.encoder.set_data_lifetimes(self.state, lifetimes_s)

    def set_write_times(self, times_s) -> None:
        self.encoder.set_write_times(self.state, times_s)

    def read_back(self, times_s) -> np.ndarray | None:
        return self.encoder.read_back(self.state, times_s)

    def _account(self, outcome: np.ndarray) -> None:
        _kernels.outcome_summary(outcome, self._totals)
        self._iterations += outcome.shape[0]
        if self.pcm.write_power_budget > 0:  # rounds depend on each write's counts
            self._budget_latency_ns += float(write_latency_ns(outcome[..., WS], outcome[..., WR], self.pcm).sum())

    def _counts(self) -> dict[str, int]:
        return dict(zip(_kernels.SUMMARY_FIELDS, (int(x) for x in self._totals)))

    def _latency_total(self) -> float:
        """Sum of the unqueued latencies of all line writes so far, ns."""
        t = self._counts()
        return latency_total_ns(t["set_writes"], t["reset_writes"], self.pcm, self.encoder.needs_read,
                                self._budget_latency_ns if self.pcm.write_power_budget > 0 else None)

    def result(self) -> ReplayResult:
        """Totals, wear and (if kept) stored values of everything fed so far."""
        t = self._counts()
        line_writes = self._iterations * self.lines
        read_energy = read_energy_pj(line_writes, self.words, self.encoder.cells_per_word, self.pcm,
                                     self.encoder.needs_read)
        stored = (self._stored[0] if len(self._stored) == 1 else np.concatenate(self._stored)) if self._stored else None
        return self.encoder.adjust_result(self.state, ReplayResult(
            scheme=self.encoder.name,
            word_bits=self.encoder.word_bits,
            cells_per_word=self.encoder.cells_per_word,
            lines=self.lines,
            words=self.words,
            iterations=self._iterations,
            line_writes=line_writes,
            write_set_flips=t["write_set"],
            write_reset_flips=t["write_reset"],
            refresh_set_flips=t["refresh_set"],
            refresh_reset_flips=t["refresh_reset"],
            refreshes=t["refreshes"],
            silent_writes=t["silent_writes"],
            set_writes=t["set_writes"],
            reset_writes=t["reset_writes"],
            write_latency_ns_total=self._latency_total(),
            read_energy_pj=read_energy,
            wear=self.wear,
            pcm=self.pcm,
            stored=stored,
            params=self.encoder.describe(),
            needs_read=self.encoder.needs_read,
        ))


def latency_total_ns(set_writes: int, reset_writes: int, pcm: PcmConfig, needs_read: bool,
                     budget_latency_ns: float | None = None) -> float:
    """The unqueued latencies of all line writes, ns, from the counts of SET and RESET-only line writes
    (or, with a write-power budget, ``budget_latency_ns``: the exact sum of the writes' own latencies),
    plus the read before each programming write when ``pcm.read_before_write`` and the scheme reads."""
    if budget_latency_ns is not None:
        total = budget_latency_ns
    else:
        total = total_write_latency_ns(set_writes, reset_writes, pcm)
    if pcm.read_before_write and needs_read:
        total += (set_writes + reset_writes) * pcm.read_latency_ns
    return total


def read_energy_pj(line_writes: int, words: int, cells_per_word: int, pcm: PcmConfig, needs_read: bool) -> float:
    """Energy of the reads before the line writes, pJ (0 without ``pcm.read_before_write`` or a reading scheme)."""
    if pcm.read_before_write and needs_read:
        return read_cells_energy_pj(line_writes * words * cells_per_word, pcm)
    return 0.0


def _unheld_refs() -> int:
    """What ``sys.getrefcount`` reports for an array held only as :meth:`EncoderStream._chunk_buffer` holds
    its buffers (a dict's value, read into a local): measured, not assumed, because interpreters differ in the
    references they count for locals and call arguments."""
    buffers = {"probe": np.empty(0)}
    buf = buffers.get("probe")
    return sys.getrefcount(buf)


_UNHELD_REFS = _unheld_refs()


def _rows(lines):
    """Line selection: a slice as is (views), anything else as an index array of integers (``[1.7]`` is
    refused, not taken as line 1)."""
    if isinstance(lines, slice):
        return lines
    rows = np.asarray(lines)
    if rows.size and rows.dtype.kind not in "iu":
        raise TypeError(f"lines must be a slice or integer line indexes, not {rows.dtype}")
    return rows.astype(np.intp)


def as_words(writes: Any, word_bits: int) -> np.ndarray:
    """``writes`` as a C-contiguous array of unsigned ``word_bits``-bit words.

    Float arrays of the same width are reinterpreted bit for bit (float32 ->
    uint32); wider unsigned arrays are accepted if every value fits.
    """
    if word_bits not in WORD_DTYPES:
        raise ConfigError(f"word_bits must be 8, 16, 32 or 64, not {word_bits!r}")
    a = np.asarray(writes)
    if a.dtype.byteorder not in ("=", "|"):  # big-endian input (">f4"): its values, not its bytes
        a = a.astype(a.dtype.newbyteorder("="))
    dtype = np.dtype(WORD_DTYPES[word_bits])
    if a.dtype == dtype:
        return np.ascontiguousarray(a)
    if a.dtype.kind == "f" and a.dtype.itemsize * 8 == word_bits:
        return np.ascontiguousarray(a).view(dtype)
    if a.dtype.kind == "u" or (a.dtype.kind == "i" and (a.size == 0 or a.min() >= 0)):
        if a.size and int(a.max()) >> word_bits:
            raise ConfigError(f"a written value does not fit in {word_bits} bits")
        return np.ascontiguousarray(a.astype(dtype))
    raise ConfigError(f"writes must be unsigned integers of {word_bits} bits (or float{word_bits}), not {a.dtype}")


def split_params(params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split keyword parameters into PCM cost parameters and scheme parameters."""
    pcm_keys = {f.name for f in dataclasses.fields(PcmConfig)}
    costs = {k: v for k, v in params.items() if k in pcm_keys}
    scheme = {k: v for k, v in params.items() if k not in pcm_keys}
    return costs, scheme


def pcm_from_params(costs: Mapping[str, Any]) -> PcmConfig:
    pcm = build_dataclass(PcmConfig, dict(costs), "pcm")
    pcm.validate("pcm")
    return pcm


def replay(scheme: str, writes: Any, *, word_bits: int = 32, stored: bool = True, line_offset: int = 0,
           **params: Any) -> ReplayResult:
    """Replay writes of one or many lines under a PCM write scheme.

    ``writes``: unsigned integers (or floats of the same width), shape
    (writes, words) for one line or (writes, lines, words). ``params``: the
    cell costs (any :class:`~archsim.config.PcmConfig` field, e.g.
    ``set_energy_pj``, ``reset_energy_pj``), ``refresh_unit`` ("line" or
    "word") and the scheme's own parameters (e.g. ``grouping``,
    ``initial_polarity``, ``region_lines``). Returns a :class:`ReplayResult`
    whose ``stored`` has the shape of ``writes`` (what a read returns right
    after each write), or is None with ``stored=False``.

    Stored values cost next to nothing for an exact scheme (``Encoder.exact``: a
    read returns the written value, so ``stored`` is a copy of the writes, one
    memory pass); an inexact scheme (AppWOM, DAP) decodes them from its cells in
    the kernel. Pass ``stored=False`` when only the counts and the wear matter.
    """
    a = as_words(writes, word_bits)
    if a.ndim not in (2, 3):
        raise ConfigError(f"writes must have shape (writes, words) or (writes, lines, words), not {a.shape}")
    single = a.ndim == 2
    if single:
        a = a[:, None, :]
    costs, scheme_params = split_params(params)
    pcm = pcm_from_params(costs)
    refresh_unit = scheme_params.pop("refresh_unit", "line")
    encoder = make_encoder(scheme, word_bits=word_bits, refresh_unit=refresh_unit, **scheme_params)
    decode = stored and not encoder.exact     # an exact scheme stores the writes themselves
    stream = EncoderStream(encoder, a.shape[1], a.shape[2], pcm=pcm, line_offset=line_offset,
                           keep_stored=decode)
    if a.shape[0]:
        stream.feed(a)
    result = stream.result()
    if stored and not decode:
        result.stored = a.copy()
    elif result.stored is None and stored:
        result.stored = np.empty_like(a)
    if result.stored is not None and single:
        result.stored = result.stored[:, 0, :]
    return result

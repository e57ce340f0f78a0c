"""The written contracts between a memory technology and the rest of archsim.

A **memory technology** (PCM, racetrack, a plugin's ReRAM, ...) is one package
that subclasses :class:`MemoryTechnology`, registers an instance in
:data:`TECHNOLOGIES` and its configuration section in
:data:`archsim.config.CONFIG_SECTIONS`. Everything the run pipeline, the
closed loop and the SimPy timing model need from it goes through the methods
below; optional hooks are methods with defaults here, never probed for.

Data flow of one scheme::

    stream = technology.open_stream(scheme, lines=L, words=W, config=cfg)   # a TechnologyStream
    chunk = stream.feed(writes)          # writes (T, L, W) words -> ChunkOutcome
    technology.service_times(chunk, cfg) # -> ServiceTimes (ns per line write, for the timing model)
    technology.refreshes(chunk)          # -> (T, L) refresh units each write triggered
    technology.line_totals(chunk, cfg)   # -> energy (pJ, or counts of priced events) per kind and wear per line
    result = stream.result()             # -> StreamResult: summary() is one row of the run's table

Units: latencies ns, energies pJ, times s unless a name says otherwise.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

import numpy as np

from archsim.errors import ArchsimError
from archsim.registry import Registry

# --------------------------------------------------------------------------- chunk outcomes


@dataclass
class ChunkOutcome:
    """What one fed chunk of writes did: per write (t, line) a row of named counters.

    ``outcome[t, line, k]`` (uint32, shape (T, lines, len(fields))) holds the
    counter ``fields[k]``; the names are the technology's
    (:attr:`MemoryTechnology.outcome_fields`) and come from its kernels (the
    kernels and Python share them through one ``.pxd`` per technology).
    ``stored``: what a read right after each write returns, (T, lines, words),
    or None when not asked for. ``extras``: scheme-specific per-write figures,
    (T, lines) arrays by name (for PCM: :meth:`archsim.pcm.Encoder.chunk_extras`).
    """

    outcome: np.ndarray
    stored: np.ndarray | None
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    fields: tuple[str, ...] = ()
    copies: tuple["LineCopies", ...] = ()
    """Line copies a wear leveller (:mod:`archsim.wear`) made during the chunk, in order; the
    timing model issues them as requests. Empty without levelling."""

    def field(self, name: str) -> np.ndarray:
        """The (T, lines) counter ``name``."""
        return self.outcome[..., self.fields.index(name)]

    @property
    def writes(self) -> int:
        """Iterations (writes per line) in the chunk."""
        return int(self.outcome.shape[0])

    @classmethod
    def concat(cls, parts: "list[ChunkOutcome]") -> "ChunkOutcome":
        """Consecutive chunks of the same lines as one (their writes one after the other; stored values
        only if every part has them; no copies)."""
        if len(parts) == 1:
            return parts[0]
        stored = None if any(p.stored is None for p in parts) else np.concatenate([p.stored for p in parts])
        return cls(np.concatenate([p.outcome for p in parts]), stored,
                   {k: np.concatenate([p.extras[k] for p in parts]) for k in parts[0].extras}, parts[0].fields)


@dataclass
class LineCopies:
    """One batch of wear levelling's line copies (a rotation's rewrite of the lines, a batch of
    Start-Gap moves), made at the end of iteration ``after`` of a chunk (0-based within it).

    ``lines``: (n,) int64, the line of each copy as the timing model addresses it (distinct within
    a batch); ``outcome``: (n, len(fields)) uint32 rows from
    :meth:`MemoryTechnology.copy_outcome`, priced like any write."""

    after: int
    lines: np.ndarray
    outcome: np.ndarray


@dataclass
class ServiceTimes:
    """What each line write of a chunk costs a bank, ns (arrays of shape (T, lines)).

    ``write_ns``: the write itself (0 for a write that programs nothing);
    ``refresh_ns``: the refresh (PreSET / PreRESET / ...) the write triggered, 0 if none;
    ``read_ns``: one line read (a scalar). The timing model runs refreshes in idle time
    and charges a write that finds its line's refresh unfinished both latencies.
    """

    write_ns: np.ndarray
    refresh_ns: np.ndarray
    read_ns: float


def to_ps(ns) -> np.ndarray:
    """ns (float) -> integer ps, rounded to nearest (an int64 array; a 0-d one for a scalar): the timing
    model's unit of time."""
    ps = np.multiply(np.asarray(ns), 1000.0, dtype=np.float64)
    if ps.ndim == 0:
        return np.rint(ps).astype(np.int64)
    return np.rint(ps, out=ps).astype(np.int64)


@dataclass
class PricedWrites:
    """A chunk's writes as the timing model takes them (:meth:`MemoryTechnology.price_writes`): the
    service times of each write and of its refresh in integer ps ((T, lines) int64 each, ``to_ps`` of
    :class:`ServiceTimes`) and the chunk's :meth:`~MemoryTechnology.line_totals` (empty if not asked for)."""

    write_ps: np.ndarray
    refresh_ps: np.ndarray
    totals: dict[str, np.ndarray]


# --------------------------------------------------------------------------- streams and results


class StreamResult(ABC):
    """What replaying writes under one scheme did, summarised (a stream's :meth:`~TechnologyStream.result`)."""

    scheme: str
    #: The wear leveller the replay ran under (:mod:`archsim.wear`; its result sets it).
    leveller: str = "none"

    @abstractmethod
    def summary(self) -> dict[str, Any]:
        """One flat row of figures (a row of the run's ``summary`` table)."""

    def cell_wear(self) -> np.ndarray | None:
        """Flips per cell, (lines, words, cells), or None for a technology without per-cell wear."""
        return None

    def wear_by_cell(self) -> np.ndarray | None:
        """Total flips per cell position of a word, (cells,), or None (no per-bit flips table)."""
        wear = self.cell_wear()
        return None if wear is None else wear.sum(axis=(0, 1), dtype=np.uint64)

    def physical_wear(self) -> np.ndarray | None:
        """Flips per *physical* cell, (physical lines, cells per line), wear-levelling migrations
        included (:mod:`archsim.wear`); default (no levelling): the logical wear, line by line."""
        wear = self.cell_wear()
        return None if wear is None else wear.reshape(wear.shape[0], -1)

    def steady_wear(self) -> np.ndarray | None:
        """Flips per physical cell in the leveller's steady state (:meth:`archsim.wear.LevelledStream.steady_wear`);
        default (no levelling): :meth:`physical_wear`."""
        return self.physical_wear()

    def line_wear(self) -> np.ndarray | None:
        """Logical wear per line (lines,) of a levelled technology whose wear unit is the line
        (:attr:`TechnologyStream.wear_per_line`); default None."""
        return None

    def levelling_costs(self) -> dict[str, float]:
        """What wear levelling's line copies cost (``levelling_line_writes``, ``levelling_flips``,
        ``levelling_energy_pj``, ...); default: nothing (no levelling)."""
        return {}

    def digested(self) -> "StreamResult":
        """Hook: this result with its per-cell arrays replaced by their digests
        (:class:`archsim.digest.WearDigest`: the reductions the tables use), to be sent from a worker
        of a sharded run and joined (:meth:`join`) there; default: the result itself (no cells)."""
        return self

    def join(self, others: Sequence["StreamResult"]) -> "StreamResult":
        """Hook: this result, of the first line range of a sharded run (:mod:`archsim.shard`), joined
        with the results of the following ranges, in line order (the same scheme, iterations and
        parameters; each range's stream opened with its ``line_offset``): exactly the result one
        stream over all the lines gives (integer counts summed, per-line arrays concatenated, floats
        recomputed from the joined counts or summed exactly). Default: this result type cannot be
        joined (an error; :meth:`MemoryTechnology.shard_lines` refuses the run before it starts)."""
        from archsim.errors import ConfigError

        raise ConfigError(f"{type(self).__name__} ({self.scheme}) cannot be joined from line ranges: "
                          "run it unsharded (without --workers / --scheduler)")


class TechnologyStream(ABC):
    """A streaming replay of one scheme over ``lines`` x ``words`` data words; state persists
    between :meth:`feed` calls."""

    lines: int
    words: int

    @abstractmethod
    def feed(self, writes: np.ndarray, *, want_stored: bool = False) -> ChunkOutcome:
        """Replay ``writes`` (T, lines, words) (unsigned words, or floats of the word width)."""

    @abstractmethod
    def result(self) -> StreamResult:
        """Everything fed so far, summarised."""

    @property
    @abstractmethod
    def cells_per_word(self) -> int:
        """Cells (storage positions) one data word occupies."""

    @property
    def wear(self) -> np.ndarray | None:
        """Flips per cell so far, (lines, words, cells); None without per-cell wear."""
        return None

    def cell_labels(self) -> list[str]:
        """A name for each cell position of a word (rows of the per-bit flips table)."""
        return [f"c{i}" for i in range(self.cells_per_word)]

    def group_labels(self) -> list[str] | None:
        """Names of groups of cells counted together in the per-bit table (WOM codes), or None."""
        return None

    def polarity_policy(self):
        """The ping-pong policy (:class:`archsim.pcm.PingPongPolicy`) the scheme applies to whole lines,
        which the timing model's region manager follows; None for a scheme without per-line polarity."""
        return None

    def set_data_lifetimes(self, lifetimes_s: np.ndarray) -> None:
        """Hook: expected lifetime (s, forward write to last read) of the data on each line,
        (lines,); ``inf`` for data that lives on. DAP's layer-aware policy uses it."""

    def set_write_times(self, times_s) -> None:
        """Hook: simulated time (s) of each write of the next chunk (the closed loop's clock)."""

    def read_back(self, times_s) -> np.ndarray | None:
        """Hook: what reading every line at ``times_s`` returns, (lines, words), when it can differ
        from the stored values (lossy cells decay); None: a read returns what was stored."""
        return None

    def cell_states(self, lines) -> np.ndarray:
        """The values (0/1) of the cells of ``lines`` (an index array or a slice) as they are now,
        (n, :attr:`positions_per_line`) uint8: with per-cell wear, ``words * cells_per_word`` cells
        in wear order (word after word, a word's cells as in :attr:`wear`); a racetrack line's track
        positions otherwise. Wear levelling (:mod:`archsim.wear`) needs them to price the copy of a
        line to its new place; a scheme that does not expose them cannot be levelled."""
        from archsim.errors import ConfigError

        raise ConfigError(f"stream {type(self).__name__} does not expose its cells; "
                          "wear levelling needs them (wear_leveling = \"none\")")

    #: Whether the technology's wear unit is the line (one figure per line: racetrack's insertions +
    #: removals, the ``flips`` of :meth:`MemoryTechnology.line_totals`) rather than the cell of
    #: :attr:`wear`. A wear leveller then folds one figure per line and prices its copies with
    #: :meth:`copy_rows`; with cells, it compares the cells and prices the differing ones
    #: (:meth:`MemoryTechnology.copy_outcome`).
    wear_per_line: ClassVar[bool] = False

    @property
    def positions_per_line(self) -> int:
        """Width of a row of :meth:`cell_states` (default ``words * cells_per_word``)."""
        return self.words * self.cells_per_word

    def initial_states(self, lines) -> np.ndarray | None:
        """The cells of ``lines`` as the memory was formatted, before any write (what a wear
        leveller's spare line holds at the start), or None when that is not known until the first
        write (a leveller then asks again after it). Default: :meth:`cell_states` (a stream whose
        cells at construction are its formatted state; asked before the first feed)."""
        return self.cell_states(lines)

    def copy_rows(self, before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Price ``n`` line copies of a wear leveller that write the positions ``after`` over the
        positions ``before`` (both (n, :attr:`positions_per_line`) 0/1, as :meth:`cell_states` gives
        them): ``(outcome rows (n, fields) uint32, wear per copy (n,) uint64)``, the scheme's own write
        of the moved positions over the destination's. Needed only with :attr:`wear_per_line`; a
        stream with per-cell wear is priced by its differing cells instead."""
        from archsim.errors import ConfigError

        raise ConfigError(f"stream {type(self).__name__} does not price a wear-levelling line copy "
                          "(wear_leveling = \"none\")")

    def lines_wear(self, lines) -> np.ndarray | None:
        """Flips per cell so far of ``lines`` (an index array or a slice) only, (n, words, cells); default: rows of
        :attr:`wear` (a scheme whose total wear is costly to build may compute only these lines)."""
        wear = self.wear
        return None if wear is None else wear[lines if isinstance(lines, slice) else np.asarray(lines)]


# --------------------------------------------------------------------------- the technology


class MemoryTechnology(ABC):
    """One kind of memory, with its write schemes and its cost model.

    Subclass, then ``TECHNOLOGIES.register("name", instance)`` and register the
    configuration section(s) it reads (``CONFIG_SECTIONS.register("name", SectionDataclass)``).
    """

    name: ClassVar[str] = "?"
    #: The configuration sections the technology contributes, by name (its own parameters; a
    #: technology is chosen by ``run.memory`` and configured by its sections).
    sections: ClassVar[tuple[str, ...]] = ()
    #: Names of the per-write counters of its :class:`ChunkOutcome`.
    outcome_fields: ClassVar[tuple[str, ...]] = ()
    #: Energy kinds its :meth:`line_totals` reports (timing tables: ``energy_<kind>_pj``); "read"
    #: is priced by :meth:`read_energy_pj`. Empty: the timing tables have no energy and wear columns.
    energy_kinds: ClassVar[tuple[str, ...]] = ()
    #: Schemes replayed when the user names none.
    default_schemes: ClassVar[tuple[str, ...]] = ()

    @property
    @abstractmethod
    def schemes(self) -> Registry:
        """The technology's write schemes, by name (its own registry: PCM ``dcw`` and racetrack
        ``dcw`` coexist)."""

    @abstractmethod
    def open_stream(self, scheme: str, *, lines: int, words: int, config: Any, line_offset: int = 0,
                    keep_stored: bool = False) -> TechnologyStream:
        """A streaming replay of ``scheme`` over ``lines`` x ``words`` data words, parameters from
        ``config`` (an :class:`archsim.config.Config`); ``line_offset`` is the global index of the
        first line (region policies depend on it)."""

    @abstractmethod
    def service_times(self, chunk: ChunkOutcome, config: Any) -> ServiceTimes:
        """Bank service times of the line writes of one chunk. A function of ``chunk`` and ``config`` only: the
        timing model also calls it from worker threads (the intermediate data's chunks, encoded ahead)."""

    @abstractmethod
    def read_ns(self, config: Any) -> float:
        """Unqueued latency of reading one line, ns."""

    def outcome_of(self, chunk: ChunkOutcome) -> np.ndarray:
        """``chunk.outcome``, checked to be this technology's: (T, lines, len(:attr:`outcome_fields`))
        counters, named as :attr:`outcome_fields` where the chunk names its fields. Another technology's
        chunk (or a bare array) is one clear error, not prices read from the wrong counters."""
        from archsim.errors import ConfigError

        if not isinstance(chunk, ChunkOutcome):
            raise TypeError(f"memory {self.name!r}: a ChunkOutcome (what a stream's feed returns), "
                            f"not {type(chunk).__name__}")
        o, fields = chunk.outcome, tuple(self.outcome_fields)
        if chunk.fields and tuple(chunk.fields) != fields:
            raise ConfigError(f"memory {self.name!r} was given the outcome of fields {', '.join(chunk.fields)} "
                              f"(another technology's stream?); its fields: {', '.join(fields)}")
        if np.ndim(o) != 3 or np.shape(o)[2] != len(fields):
            raise ConfigError(f"memory {self.name!r} was given outcomes of shape {np.shape(o)}; its outcomes are "
                              f"(T, lines, {len(fields)}) counters: {', '.join(fields)}")
        return o

    # -- optional, with defaults ------------------------------------------------------------
    def refreshes(self, chunk: ChunkOutcome) -> np.ndarray:
        """Refresh units each write of the chunk triggered, (T, lines) (the region manager follows
        them); default: none."""
        return np.zeros(chunk.outcome.shape[:2], np.uint32)

    def line_totals(self, chunk: ChunkOutcome, config: Any) -> dict[str, np.ndarray]:
        """Per line, summed over the chunk's writes: ``flips`` (the wear proxy) and the energy of each
        kind of :attr:`energy_kinds` except ``read``, either in pJ (a float array) or as an integer count
        of events that :meth:`energy_pj_per_count` prices (see there). Default: nothing (no cost columns).
        A function of ``chunk`` and ``config`` only, as :meth:`service_times` (called from worker threads too)."""
        return {}

    def price_writes(self, chunk: ChunkOutcome, config: Any, *, totals: bool = True) -> PricedWrites:
        """:meth:`service_times` in integer ps and, with ``totals``, :meth:`line_totals`, for the timing
        model. Default: exactly those; a technology may compute them in one pass (PCM does), with the same
        numbers. A function of ``chunk`` and ``config`` only (called from worker threads too)."""
        st = self.service_times(chunk, config)
        return PricedWrites(to_ps(st.write_ns), to_ps(st.refresh_ns),
                            self.line_totals(chunk, config) if totals else {})

    def energy_pj_per_count(self, config: Any) -> dict[str, float]:
        """The energy (pJ) of one event of each kind that :meth:`line_totals` gives as a count (an integer
        array) rather than in pJ. The timing model sums counts exactly over a run's chunks and prices them
        once, at the read-out, so its energy columns do not depend on how the run is chunked; energies
        given in pJ are summed chunk by chunk in float64, whose last bits then do. Default: none."""
        return {}

    def line_energy_pj(self, kind: str, values: np.ndarray, config: Any) -> np.ndarray:
        """``values`` of energy kind ``kind`` from :meth:`line_totals` (or their sum over chunks) in pJ,
        float64: a count priced by :meth:`energy_pj_per_count`, an energy as it is."""
        values = np.asarray(values)
        if values.dtype.kind not in "ui":
            return values.astype(np.float64, copy=False)
        per_count = self.energy_pj_per_count(config)
        if kind not in per_count:
            raise ArchsimError(f"memory {self.name!r}: line_totals gives {kind!r} as an integer count, but "
                               f"energy_pj_per_count does not price it (give its energy per count, or the "
                               f"energy in pJ as floats)")
        return values * float(per_count[kind])

    def read_energy_pj(self, config: Any, cells_per_line: int) -> float:
        """Energy of one line read, pJ."""
        return 0.0

    def endurance(self, config: Any) -> float | None:
        """Flips a cell survives; None: no lifetime is reported."""
        return None

    def port_clusters(self, config: Any, lines: int) -> tuple[int, np.ndarray] | None:
        """The access-port model of a bank for the timing model: ``(groups, cluster)``, the port groups
        of a bank and the cluster (int64, any numbering) of each of the ``lines`` global lines. Lines of
        one cluster share their tracks' alignment; the timing model deals the clusters of each bank
        round-robin over its port groups, which serve in parallel, one request each at a time, and
        reports how long requests waited for their port (``port_wait_ns``). Default None: a bank serves
        one request at a time and the tables have no port columns."""
        return None

    def copy_outcome(self, set_cells: np.ndarray, reset_cells: np.ndarray) -> np.ndarray:
        """Outcome rows (n, len(outcome_fields)) uint32 of ``n`` line writes that SET ``set_cells``
        and RESET ``reset_cells`` cells (0 -> 1, 1 -> 0): how wear levelling's line copies are
        priced (:meth:`line_totals`, :meth:`service_times`). Default: the technology cannot be levelled."""
        from archsim.errors import ConfigError

        raise ConfigError(f"memory {self.name!r} cannot price a wear-levelling line copy "
                          "(wear_leveling = \"none\")")

    def shard_lines(self, scheme: str, config: Any, words: int) -> int:
        """Lines a line range of a sharded run (:mod:`archsim.shard`) must start on a multiple of, for
        ``scheme`` on lines of ``words`` words: streams opened over such ranges (with their
        ``line_offset``) replay exactly what one stream over all lines does, and their results join
        (:meth:`StreamResult.join`) into its result. A scheme whose figures cannot be split by lines
        raises a ConfigError naming the setting. Default: the technology does not say (an error)."""
        from archsim.errors import ConfigError

        raise ConfigError(f"memory {self.name!r} does not say how its lines may be split "
                          "(MemoryTechnology.shard_lines): run it unsharded (without --workers / --scheduler)")

    def is_exact(self, scheme: str) -> bool:
        """Whether a read right after a write returns exactly what was written."""
        return bool(self.schemes.get(scheme).exact)

    def is_time_dependent(self, scheme: str) -> bool:
        """Whether the scheme's cells change with simulated time between writes (e.g. lossy-SET decay),
        so that its stream's write times (``TechnologyStream.set_write_times``) change its outcomes;
        ``archsim run --timing`` then replays it again on the timing model's clock. Default: no."""
        return False

    def explicit_config(self, config: Any, schemes: tuple[str, ...]) -> dict[str, Any]:
        """Changes (``{"section.key": value}``) that write the resolved parameters of ``schemes``
        into the configuration, so that a run's ``config.toml`` states every one; default none."""
        return {}


#: Registered memory technologies (instances), by name.
TECHNOLOGIES: Registry[MemoryTechnology] = Registry("memory technology")

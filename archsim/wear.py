"""Wear levelling: the extension point ``wear_leveling`` and the lifetime figures of a run.

A **wear leveller** (registry :data:`WEAR_LEVELLERS`, kind "wear leveller") changes where a line's
logical cells sit physically as the memory is written. It wraps a technology's stream
(:meth:`WearLeveller.wrap`) and leaves the stream itself, and its kernels, untouched: the kernels go
on counting wear per *logical* cell; the wrapper splits every fed chunk at the iterations where the
mapping changes (an *epoch* boundary), and at each boundary

1. folds the wear the logical cells took since the last boundary into the *physical* cells they
   occupied during that epoch (the mapping is constant within an epoch, so this is exact), and
2. migrates: copies the moved cells to their new place with a data-comparison write. The copy
   programs exactly the destination cells whose value changes (SET 0 -> 1, RESET 1 -> 0); those are
   counted as flips, wear at the physical destination cells, energy (the technology's own prices,
   :meth:`~archsim.contracts.MemoryTechnology.copy_outcome` and ``line_totals``) and extra line
   writes. The data and the logical state (e.g. AppWOM's polarity) are unchanged by a copy, so the
   scheme's own figures (``bit_flips``, ``energy_pj``, ...) do not change; the levelling costs are
   reported beside them. The copies also go to the timing model with the chunk's outcome
   (:attr:`~archsim.contracts.ChunkOutcome.copies`), which issues them as requests.

Every line of a replay is written once per iteration, so epochs are counted in iterations. Within an
iteration the functional replay has no order between lines: a remapping that falls due during an
iteration is done at its end (after the refresh the last write triggered).

Built-ins:

* ``none`` (the default): no levelling; the stream is used as is.
* ``rotate`` (intra-line rotation, the row shifting of Zhou et al., ISCA 2009): every ``period``
  writes of a line its logical-to-physical cell mapping shifts by ``shift`` cells (cyclic over the
  line's ``words x cells_per_word`` cells); the migration rewrites every line at its new rotation.
* ``start-gap`` (Qureshi et al., MICRO 2009): each region of ``region_lines`` lines has one spare
  (gap) line; every ``psi`` writes to the region the line before the gap is copied into it and the
  gap moves back by one (from slot 0 it wraps: the last slot's line moves to slot 0, the start
  register advances). ``randomise`` adds the static randomisation of the address space (a seeded
  random permutation of the lines before they are split into regions).

* ``rotate-start-gap``: both at once (Start-Gap across lines, the rotation inside them), which levels
  the lines and the cell positions.

A leveller needs the scheme's cell values
(:meth:`~archsim.contracts.TechnologyStream.cell_states`); every PCM scheme exposes them. Racetrack
wears per *line* (insertions and removals; :attr:`~archsim.contracts.TechnologyStream.wear_per_line`):
the wrapper then folds one figure per line (from the chunks' ``line_totals``), reads the lines' track
positions from the kernel's state words, and prices each copy as the scheme's write of the moved
positions over the destination's (:meth:`~archsim.contracts.TechnologyStream.copy_rows`). A rotation
inside a line moves no wear there and only costs its copies; Start-Gap levels the lines. Racetrack has
no endurance: its summary gains the levelling costs and the line-wear spread
(:func:`levelling_columns`), no lifetime.

Adding a leveller is one file: subclass :class:`LevelledStream` (``next_boundary`` and ``remap``),
declare a ``Params`` dataclass, register a :class:`WearLeveller` subclass (see
``docs/examples/wear_plugin.py``).
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from archsim import _wear_kernels
from archsim.config import check_seed, non_negative
from archsim.contracts import ChunkOutcome, LineCopies, StreamResult, TechnologyStream
from archsim.errors import ArchsimError, ConfigError
from archsim.digest import WearDigest, concat_wear
from archsim.exact import ExactSum
from archsim.registry import NoParams, Registry

SECONDS_PER_YEAR = 365.25 * 24 * 3600
#: Lines handled at once when a remapping walks the whole memory (bounds the temporaries).
BLOCK_LINES = 4096
#: Lines per block of ``rotate``'s in-place remapping (its scratch arrays: a few MiB).
REMAP_LINES = 1024


class WearLeveller(ABC):
    """A wear-levelling policy; ``cls(params)``. Register with ``@WEAR_LEVELLERS.register("name")``."""

    Params: ClassVar[type] = NoParams
    #: The :class:`LevelledStream` subclass the leveller wraps streams in.
    stream_class: ClassVar[type | None] = None

    def __init__(self, params: Any = None) -> None:
        self.params = self.Params() if params is None else params

    def wrap(self, stream: TechnologyStream, technology: Any, config: Any) -> TechnologyStream:
        """``stream`` with this levelling applied (``technology`` prices the migrations)."""
        return self.stream_class(stream, technology, config, self.params)

    def shard_lines(self, lines: int) -> int:
        """Lines a line range of a sharded run (:mod:`archsim.shard`) of ``lines`` lines in all must start
        on a multiple of, so that the levellers over the ranges do what one over all lines does (and
        price their copies in the same batches); a ConfigError naming the setting if the levelling
        cannot be split. Default: this leveller does not say (an error)."""
        raise ConfigError(f"wear leveller {type(self).__name__} does not say how its lines may be split "
                          "(WearLeveller.shard_lines): run it unsharded")


#: The wear levellers, by name (``wear_leveling``).
WEAR_LEVELLERS: Registry[type[WearLeveller]] = Registry("wear leveller", WearLeveller)


@WEAR_LEVELLERS.register("none")
class NoLevelling(WearLeveller):
    """No wear levelling: logical cells are physical cells (the stream is not wrapped)."""

    def wrap(self, stream, technology, config):
        return stream

    def shard_lines(self, lines: int) -> int:
        return 1


# --------------------------------------------------------------------------- the wrapper


class LevelledStream(TechnologyStream):
    """A technology stream under a wear leveller (see the module docstring).

    Subclasses give :meth:`next_boundary` (the iteration count at which the mapping next changes)
    and :meth:`remap` (fold the epoch's wear, migrate; called when the stream has been fed exactly
    that many iterations), and :meth:`physical_wear`. They price every line copy with :meth:`copied`.
    """

    name: ClassVar[str] = "?"

    def __init__(self, inner: TechnologyStream, technology: Any, config: Any, params: Any) -> None:
        self.inner = inner
        self.lines = inner.lines
        self.words = inner.words
        self.technology = technology
        self.config = config
        self.params = params
        #: Width of the lines' cell (position) rows that a remapping moves (:meth:`cell_states`).
        self.cells_per_line = inner.positions_per_line
        #: Whether the wear unit is the line (racetrack): then the wear folded is one figure per line
        #: (:attr:`units` = 1, accumulated here from the chunks' ``line_totals``) and copies are priced
        #: by the stream (:meth:`~archsim.contracts.TechnologyStream.copy_rows`).
        self.per_line = bool(inner.wear_per_line)
        self.units = 1 if self.per_line else self.cells_per_line
        self._line_wear = np.zeros((self.lines, 1), np.uint64) if self.per_line else None
        #: The copies' outcome counters summed (per field of the technology's outcome).
        self.copy_fields = np.zeros(len(technology.outcome_fields), np.int64)
        self.iterations = 0
        self.copies = 0
        self.copies_programmed = 0
        self.copy_set_flips = 0
        self.copy_reset_flips = 0
        self.copy_energy = ExactSum()      # the copies' energy, pJ, summed exactly (batch by batch)
        self.copy_line_flips = 0           # the copies' wear, with the line as the wear unit
        self._times = None
        self._log: list[LineCopies] = []  # the copies of the chunk being fed (ChunkOutcome.copies)
        self._at = 0                      # the iteration of that chunk a remapping falls at
        # fail at once, with one clear error, if the scheme or technology cannot be levelled
        probe = inner.cell_states(np.zeros(1, np.intp))
        if self.per_line:
            inner.copy_rows(probe, probe)
        else:
            technology.copy_outcome(np.zeros(1, np.int64), np.zeros(1, np.int64))

    # -- subclass contract ------------------------------------------------------------------
    @abstractmethod
    def next_boundary(self) -> int:
        """The iteration count (> ``self.iterations``) at which the mapping next changes."""

    @abstractmethod
    def remap(self) -> None:
        """Fold the finished epoch's wear into physical cells and migrate to the next mapping."""

    @abstractmethod
    def physical_wear(self, logical: np.ndarray | None = None) -> np.ndarray:
        """Flips per physical cell so far, (physical lines, cells per line) unsigned integers (uint64;
        ``rotate``: uint32, exact below 2**32 flips a cell), migrations included; ``logical``: the inner
        stream's wear now, if the caller has it."""

    @abstractmethod
    def steady_wear(self, physical: np.ndarray) -> np.ndarray:
        """Flips per physical cell (the shape of ``physical``) in the leveller's steady state: each
        cell gets the mean of ``physical`` over the set of physical cells that the mapping's cycle
        makes every logical cell visit equally often (what each physical cell takes per replay
        length of the device's life once the mapping has gone round many times)."""

    def resume(self) -> None:
        """Hook: called before every feed; a leveller whose :meth:`physical_wear` reused its own
        state in place rebuilds that state here (default: nothing to do)."""

    # -- pricing ---------------------------------------------------------------------------
    def copied(self, set_cells: np.ndarray, reset_cells: np.ndarray, lines) -> None:
        """Account line copies that SET ``set_cells`` and RESET ``reset_cells`` cells (one entry each)
        onto ``lines`` (the line each copy writes, as the timing model addresses it: an index array
        or a slice; distinct within one call). The copies also go to the timing model
        (:attr:`ChunkOutcome.copies`: one batch per call, at the current iteration's end)."""
        s = np.asarray(set_cells, np.int64)
        r = np.asarray(reset_cells, np.int64)
        if not s.size:
            return
        self.copy_set_flips += int(s.sum())
        self.copy_reset_flips += int(r.sum())
        self.copied_rows(self.technology.copy_outcome(s, r), s + r, lines)

    def copied_rows(self, rows: np.ndarray, flips: np.ndarray, lines) -> None:
        """Account line copies given as outcome rows (n, fields) with their wear ``flips`` (n,) onto
        ``lines`` (as :meth:`copied`, which prices SET/RESET cells into rows and calls this)."""
        s = np.asarray(flips, np.int64)
        if not s.size:
            return
        self.copies += int(s.size)
        self.copies_programmed += int(np.count_nonzero(s))
        self.copy_fields += np.asarray(rows, np.int64).sum(axis=0)
        tech = self.technology
        totals = tech.line_totals(ChunkOutcome(rows[None], None, {}, tuple(tech.outcome_fields)), self.config)
        self.copy_energy.add(float(sum(float(np.sum(tech.line_energy_pj(k, v, self.config)))
                                       for k, v in totals.items() if k != "flips")))
        if self.per_line:
            self.copy_line_flips += int(s.sum())
        idx = np.arange(self.lines, dtype=np.int64)[lines] if isinstance(lines, slice) else np.asarray(lines, np.int64)
        if idx.shape != s.shape:
            raise ArchsimError(f"wear leveller {self.name}: {s.size} copies priced onto {idx.size} lines")
        if self._log and self._log[-1].after == self._at and not np.isin(idx, self._log[-1].lines).any():
            last = self._log[-1]  # the same batch (a remapping priced block by block)
            self._log[-1] = LineCopies(self._at, np.concatenate([last.lines, idx]), np.concatenate([last.outcome, rows]))
        else:
            self._log.append(LineCopies(self._at, idx, rows))

    def price(self, before: np.ndarray, after: np.ndarray, lines, offset: int = 0) -> np.ndarray:
        """Price and account the copies of ``lines`` that write the cells ``after`` over ``before``
        ((n, :attr:`cells_per_line`) each, as they lie physically); returns the wear they add, (n,
        :attr:`units`). Cells: the differing cells are programmed (SET 0 -> 1, RESET 1 -> 0). Per-line
        wear: the stream's own pricing (:meth:`~archsim.contracts.TechnologyStream.copy_rows`) over
        the scheme's segments where they lie after the copy: ``offset``, the rotation the copy
        leaves the line at, is undone first (a rotation by a non-multiple of a segment regroups
        positions into segments, so even an m-of-n copy can then insert and remove)."""
        if self.per_line:
            if offset:
                before, after = np.roll(before, -offset, axis=1), np.roll(after, -offset, axis=1)
            rows, wear = self.inner.copy_rows(before, after)
            self.copied_rows(rows, wear, lines)
            return np.asarray(wear, np.uint64)[:, None]
        sets, resets = before < after, before > after
        self.copied(sets.sum(axis=1), resets.sum(axis=1), lines)
        return sets | resets

    def _wear_rows(self, lines) -> np.ndarray:
        """(n, :attr:`units`) uint64 logical wear of ``lines`` so far."""
        if self.per_line:
            return self._line_wear[lines]
        return np.ascontiguousarray(self.inner.lines_wear(lines), dtype=np.uint64).reshape(
            len(np.arange(self.lines)[lines]), -1)

    # -- TechnologyStream ------------------------------------------------------------------
    def feed(self, writes: np.ndarray, *, want_stored: bool = False) -> ChunkOutcome:
        if np.ndim(writes) == 2:
            writes = np.asarray(writes)[None]
        T = int(np.shape(writes)[0])
        times, self._times = self._times, None
        self.resume()
        pieces, done = [], 0
        self._log = []
        while done < T or not pieces:
            boundary = self.next_boundary()
            n = min(T - done, boundary - self.iterations)
            if times is not None:
                self.inner.set_write_times(times[done:done + n])
            pieces.append(self.inner.feed(writes[done:done + n], want_stored=want_stored))
            if self.per_line and n:
                self._line_wear[:, 0] += np.asarray(
                    self.technology.line_totals(pieces[-1], self.config)["flips"], np.uint64)
            done += n
            self.iterations += n
            if self.iterations == boundary:
                self._at = done - 1
                self.remap()
            if T == 0:
                break
        out = ChunkOutcome.concat(pieces)
        out.copies, self._log = tuple(self._log), []
        return out

    @property
    def copy_energy_pj(self) -> float:
        """Energy of the line copies so far, pJ (the exact sum of the batches' energies, rounded once)."""
        return self.copy_energy.value

    def result(self) -> "LevelledResult":
        return LevelledResult(self.inner.result(), self)

    @property
    def cells_per_word(self) -> int:
        return self.inner.cells_per_word

    @property
    def wear(self):
        return self.inner.wear

    def cell_labels(self):
        return self.inner.cell_labels()

    def group_labels(self):
        return self.inner.group_labels()

    def polarity_policy(self):
        return self.inner.polarity_policy()

    def set_data_lifetimes(self, lifetimes_s) -> None:
        self.inner.set_data_lifetimes(lifetimes_s)

    def set_write_times(self, times_s) -> None:
        self._times = np.asarray(times_s, np.float64)

    def read_back(self, times_s):
        return self.inner.read_back(times_s)

    def cell_states(self, lines) -> np.ndarray:
        return self.inner.cell_states(lines)

    def lines_wear(self, lines):
        return self.inner.lines_wear(lines)

    def _logical_wear(self) -> np.ndarray:
        """(lines, cells per line) uint64 logical wear so far ((lines, 1) with per-line wear)."""
        if self.per_line:
            return self._line_wear
        return np.ascontiguousarray(self.inner.wear, dtype=np.uint64).reshape(self.lines, -1)


class LevelledResult(StreamResult):
    """The inner stream's result (every figure of the scheme itself, unchanged), plus the physical
    wear and the costs of the levelling."""

    def __init__(self, inner: StreamResult, stream: LevelledStream) -> None:
        self.inner = inner
        self.scheme = inner.scheme
        self.leveller = stream.name
        self._physical = stream.physical_wear(inner.cell_wear())
        self._steady = stream.steady_wear(self._physical)
        self._energy = ExactSum().join(stream.copy_energy)
        self.per_line = stream.per_line
        self._logical_lines = stream._line_wear[:, 0].copy() if stream.per_line else None
        if stream.per_line:  # the wear unit is the line: the copies' counters by the outcome's names
            self._costs = {
                "levelling_line_writes": stream.copies,
                "levelling_programmed_writes": stream.copies_programmed,
                "levelling_flips": stream.copy_line_flips,
                **{f"levelling_{f}": int(v) for f, v in zip(stream.technology.outcome_fields, stream.copy_fields)
                   if not f.startswith("path_")},
                "levelling_energy_pj": stream.copy_energy_pj,
            }
            return
        self._costs = {
            "levelling_line_writes": stream.copies,
            "levelling_programmed_writes": stream.copies_programmed,
            "levelling_flips": stream.copy_set_flips + stream.copy_reset_flips,
            "levelling_set_flips": stream.copy_set_flips,
            "levelling_reset_flips": stream.copy_reset_flips,
            "levelling_energy_pj": stream.copy_energy_pj,
        }

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def summary(self) -> dict[str, Any]:
        return self.inner.summary()

    def cell_wear(self):
        return self.inner.cell_wear()

    def wear_by_cell(self):
        return self.inner.wear_by_cell()

    def physical_wear(self):
        return self._physical

    def steady_wear(self):
        return self._steady

    def levelling_costs(self) -> dict[str, float]:
        return dict(self._costs)

    def line_wear(self) -> np.ndarray | None:
        """The logical wear per line (lines,) of a technology whose wear unit is the line, else None."""
        return self._logical_lines if self.per_line else None

    def digested(self) -> "LevelledResult":
        """The inner result digested, the physical and steady-state wear as digests."""
        out = object.__new__(LevelledResult)
        out.__dict__.update(self.__dict__)
        out.inner = self.inner.digested()
        out._physical, out._steady = WearDigest.of(self._physical), WearDigest.of(self._steady)
        return out

    def join(self, others) -> "LevelledResult":
        """The inner results joined, the physical and steady-state wear concatenated by slot, the copy
        counts summed and their energies added exactly (:meth:`StreamResult.join`)."""
        if not others:
            return self
        parts = [self, *others]
        if any(p.leveller != self.leveller for p in others):
            raise ArchsimError("results of different wear levellers cannot be joined")
        out = object.__new__(LevelledResult)
        out.inner = self.inner.join([p.inner for p in others])
        out.scheme, out.leveller, out.per_line = self.scheme, self.leveller, self.per_line
        out._logical_lines = np.concatenate([p._logical_lines for p in parts]) if self.per_line else None
        out._physical = concat_wear([p._physical for p in parts])
        out._steady = concat_wear([p._steady for p in parts])
        out._energy = ExactSum()
        for p in parts:
            out._energy.join(p._energy)
        out._costs = {k: sum(p._costs[k] for p in parts) for k in self._costs if k != "levelling_energy_pj"}
        out._costs["levelling_energy_pj"] = out._energy.value
        return out


# --------------------------------------------------------------------------- rotate


@dataclass(frozen=True)
class RotateParams(NoParams):
    period: int = 256
    """Writes of a line between two shifts of its cell mapping (the rotation's overhead is one line
    copy per ``period`` writes; its steady state does not depend on it otherwise)."""
    shift: int = 1
    """Cells the mapping shifts by each time (cyclic over the line's cells)."""

    def validate(self, where: str, owner: Any = None) -> None:
        for name in ("period", "shift"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{where}.{name} must be at least 1, not {getattr(self, name)!r}")


class RotateStream(LevelledStream):
    """Intra-line rotation: logical cell ``j`` of a line sits at physical cell ``(j + offset) % C``;
    every ``period`` iterations the offset moves on (:meth:`next_offset`: by ``shift``) and every
    line is rewritten at the new rotation.

    Kept, in the logical frame: ``_x[l, j]`` = wear of the physical cell holding logical cell ``j``
    now - the logical wear of ``j``, so that folding an epoch is one roll of ``_x`` and needs no copy
    of the wear at the epoch's start. Its values are small differences of wear (a few flips per
    iteration), so ``_x`` starts in the smallest of :attr:`X_DTYPES` and is widened, exactly, when a
    value would not fit: fresh memory is what the remapping costs (docs/performance.md)."""

    name = "rotate"
    #: The signed types ``_x`` is held in, smallest first (widened on demand).
    X_DTYPES: ClassVar[tuple[type, ...]] = (np.int16, np.int32, np.int64)

    def __init__(self, inner, technology, config, params) -> None:
        super().__init__(inner, technology, config, params)
        self.offset = 0
        # per-line wear: a rotation moves no wear between lines; _x is the copies' wear per line
        self._x = np.zeros((self.lines, self.units), np.int64 if self.per_line else self.X_DTYPES[0])
        self._scratch: tuple[np.ndarray, ...] | None = None
        self._physical: np.ndarray | None = None  # the physical wear (physical_wear), maybe in place of _x

    def _buffers(self) -> tuple[np.ndarray, ...]:
        """Scratch arrays, allocated once: the kernel's (2 C int64), the copies' sets and resets (a
        block of lines each)."""
        if self._scratch is None:
            B = min(REMAP_LINES, self.lines)
            self._scratch = (np.empty(2 * self.cells_per_line, np.int64), np.empty(B, np.int64),
                             np.empty(B, np.int64))
        return self._scratch

    def _widen(self) -> None:
        """``_x`` in the next larger type of :attr:`X_DTYPES` (the values are kept)."""
        types = [np.dtype(t) for t in self.X_DTYPES]
        i = types.index(self._x.dtype)
        if i + 1 == len(types):
            raise ArchsimError("rotate: a cell's wear difference does not fit in 64 bits")
        self._x = self._x.astype(types[i + 1])

    def next_boundary(self) -> int:
        p = self.params.period
        return (self.iterations // p + 1) * p

    def next_offset(self) -> int:
        """The rotation of the next epoch (a subclass may choose it otherwise)."""
        return (self.offset + self.params.shift) % self.cells_per_line

    def orbit(self) -> int:
        """g such that, in the steady state, every cell visits equally often the positions of its
        class modulo g (gcd(shift, cells per line))."""
        return math.gcd(self.params.shift, self.cells_per_line)

    def remap(self) -> None:
        C, L = self.cells_per_line, self.lines
        new = self.next_offset()
        d = (new - self.offset) % C
        if d == 0:  # the mapping does not change: nothing moves
            return
        if self.per_line:  # every line rewritten at its new rotation, priced by the scheme
            for l0 in range(0, L, REMAP_LINES):
                rows = slice(l0, min(L, l0 + REMAP_LINES))
                cells = self.inner.cell_states(rows)
                self._x[rows] += self.price(np.roll(cells, self.offset, axis=1), np.roll(cells, new, axis=1),
                                            rows, new).astype(np.int64)
            self.offset = new
            return
        scratch, sets, resets = self._buffers()
        for l0 in range(0, L, REMAP_LINES):  # blocks of lines, in place (one pass of a small kernel)
            rows = slice(l0, min(L, l0 + REMAP_LINES))
            n = rows.stop - l0
            cur = np.ascontiguousarray(self.inner.lines_wear(rows), dtype=np.uint64).reshape(n, C)
            cells = np.ascontiguousarray(self.inner.cell_states(rows), dtype=np.uint8)
            # logical cell j moves to the physical cell that held logical cell j + d:
            # x'[j] = x[j + d] + cur[j + d] - cur[j] (+ 1 where the copy programs that cell)
            done = 0
            while done < n:  # a line whose values do not fit: widen _x, go on from that line
                info = np.iinfo(self._x.dtype)
                done += _wear_kernels.rotate_fold(self._x[rows][done:], cur[done:], cells[done:], d, scratch,
                                                  sets[done:n], resets[done:n], int(info.min), int(info.max))
                if done < n:
                    self._widen()
            self.copied(sets[:n], resets[:n], rows)
        self.offset = new

    def physical_wear(self, logical: np.ndarray | None = None) -> np.ndarray:
        """The physical wear (unsigned, of ``_x``'s width when it fits: then built in place of ``_x``,
        as a fresh array of the wear's size costs page faults and a run asks for it once; otherwise
        uint64). Fed again, the stream rebuilds ``_x`` in a new array (:meth:`resume`), so an earlier
        result stays as it was."""
        if self._physical is not None:  # not fed since
            return self._physical
        if self.per_line:  # each line keeps its place: its wear plus its copies'
            return (self._x + self._logical_wear().astype(np.int64)).astype(np.uint64)
        cur = self._logical_wear() if logical is None else logical.reshape(self.lines, -1)
        C, o, L = self.cells_per_line, self.offset, self.lines
        x = self._x
        top = max((int((x[r].astype(np.int64) + cur[r].astype(np.int64)).max(initial=0))
                   for r in (slice(l0, l0 + REMAP_LINES) for l0 in range(0, L, REMAP_LINES))), default=0)
        in_place = top <= np.iinfo(x.dtype).max
        out = x if in_place else np.empty((L, C), np.uint64)
        for l0 in range(0, L, REMAP_LINES):  # physical cell (j + o) % C
            rows = slice(l0, min(L, l0 + REMAP_LINES))
            b = x[rows].astype(np.int64) + cur[rows].astype(np.int64)
            out[rows, o:], out[rows, :o] = b[:, : C - o], b[:, C - o:]
        if in_place:  # the values are >= 0 and fit: the same bits read as unsigned
            self._x, out = None, out.view(np.dtype(f"u{out.dtype.itemsize}"))
        self._physical = out
        return out

    def resume(self) -> None:
        if self._physical is None:
            return
        if self._x is None:  # rebuilt from the physical wear (the result keeps its own array)
            cur = self._logical_wear()
            C, o, L = self.cells_per_line, self.offset, self.lines
            x = np.empty((L, C), np.int64)
            for l0 in range(0, L, REMAP_LINES):  # the logical frame: x[j] = physical[(j + o) % C] - cur[j]
                rows = slice(l0, min(L, l0 + REMAP_LINES))
                p = self._physical[rows].astype(np.int64)
                x[rows, : C - o], x[rows, C - o:] = p[:, o:], p[:, :o]
                x[rows] -= cur[rows].astype(np.int64)
            self._x = x
        self._physical = None

    def steady_wear(self, physical: np.ndarray) -> np.ndarray:
        """A rotation by ``shift`` cells makes every cell of a line visit the positions of its class
        modulo gcd(shift, cells per line): the mean over each class, per line. With per-line wear
        the rotation moves no wear: the physical wear itself."""
        if self.per_line:
            return physical
        g = self.orbit()
        classes = physical.reshape(physical.shape[0], -1, g)
        # a read-only broadcast (a view for shift = 1: no array of the wear's size is built)
        return np.broadcast_to(classes.mean(axis=1, keepdims=True), classes.shape).reshape(physical.shape)


@WEAR_LEVELLERS.register("rotate")
class Rotate(WearLeveller):
    """Intra-line rotation (row shifting, Zhou et al. ISCA 2009): every ``period`` writes of a line
    its cells shift by ``shift`` positions; the rewrite is counted as a write."""

    Params = RotateParams
    stream_class = RotateStream

    def shard_lines(self, lines: int) -> int:
        """Every line rotates on the same schedule; the rewrite is priced in blocks of ``REMAP_LINES``."""
        return REMAP_LINES


# --------------------------------------------------------------------------- start-gap


@dataclass(frozen=True)
class StartGapParams(NoParams):
    region_lines: int = 0
    """Lines per region, each with one gap line; 0: the whole memory is one region."""
    psi: int = 100
    """Writes to a region between two gap moves (Qureshi et al.: 100)."""
    randomise: bool = False
    """Static randomisation: a seeded random permutation of the lines before they form regions."""
    seed: int = 0
    """Seed of the randomisation."""

    def validate(self, where: str, owner: Any = None) -> None:
        non_negative(self, "region_lines", where)
        if self.psi < 1:
            raise ConfigError(f"{where}.psi must be at least 1, not {self.psi!r}")
        check_seed(self.seed, f"{where}.seed")


class StartGapStream(LevelledStream):
    """Start-Gap over regions of lines. Physical slots: region ``r`` of ``n_r`` lines owns slots
    ``base_r + r .. base_r + r + n_r`` (one more than its lines). ``_excess[slot]`` = the slot's
    physical wear - the logical wear of the line it holds (none for a gap), uint64 modular.
    A move copies its line's cells into the gap slot, whose content is the stale copy the previous
    move left there (at the start, the spare slot is formatted like the last line of its region)."""

    name = "start-gap"
    #: The cell rotation inside the lines (``rotate-start-gap``; 0 here).
    offset = 0

    def __init__(self, inner, technology, config, params: StartGapParams) -> None:
        super().__init__(inner, technology, config, params)
        L = self.lines
        N = params.region_lines or L
        order = np.arange(L)
        if params.randomise:
            order = np.random.default_rng([params.seed, L]).permutation(L)  # order[a] = logical line
        self.region_sizes = [min(N, L - b) for b in range(0, L, N)]
        R = len(self.region_sizes)
        self.slot_of_line = np.empty(L, np.int64)
        self.line_of_slot = np.full(L + R, -1, np.int64)
        self.slot_base, self.gap, self.start, self.moves_done = [], [], [], []
        gap_fill = []
        for r, n in enumerate(self.region_sizes):
            base = r * N + r
            lines = order[r * N: r * N + n]
            self.slot_of_line[lines] = base + np.arange(n)
            self.line_of_slot[base: base + n] = lines
            self.slot_base.append(base)
            self.gap.append(n)
            self.start.append(0)
            self.moves_done.append(0)
            gap_fill.append(lines[-1])
        self._gap_lines = np.asarray(gap_fill, np.intp)
        self._gap_cells = inner.initial_states(self._gap_lines)  # (R, C); None: known after the first write
        self._excess = np.zeros((L + R, self.units), np.uint64)

    def next_boundary(self) -> int:
        psi = self.params.psi
        return min(math.ceil((done + 1) * psi / n) for done, n in zip(self.moves_done, self.region_sizes))

    def _moves(self) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """The gap moves due now, per region in order: (region, source slots, destination slots);
        the registers are updated."""
        out = []
        for r, n in enumerate(self.region_sizes):
            due = self.iterations * n // self.params.psi - self.moves_done[r]
            if not due:
                continue
            base = self.slot_base[r]
            src, dst = np.empty(due, np.int64), np.empty(due, np.int64)
            g, start = self.gap[r], self.start[r]
            for k in range(due):
                if g == 0:  # wrap: the last slot's line moves to slot 0; the start register advances
                    src[k], dst[k], g, start = n, 0, n, (start + 1) % n
                else:
                    src[k], dst[k], g = g - 1, g, g - 1
            self.gap[r], self.start[r] = g, start
            self.moves_done[r] += due
            out.append((r, base + src, base + dst))
        return out

    def remap(self) -> None:
        if self._gap_cells is None:  # the format is known now (after the first write)
            self._gap_cells = self.inner.initial_states(self._gap_lines)
        for r, src, dst in self._moves():
            # A batch is one iteration's moves of the region, at most n_r of them (psi >= 1): the
            # gap walks down through distinct slots, so every source holds the line it held before
            # the batch, sources and destinations are distinct, and move k lands on the slot move
            # k - 1 left (the stale copy of move k - 1's line).
            carried = self.line_of_slot[src].copy()
            if (carried < 0).any() or len(src) > self.region_sizes[r]:
                raise ArchsimError("start-gap: internal error: a batch of gap moves longer than its region")
            unique, pos = np.unique(carried, return_inverse=True)
            cur = self._wear_rows(unique)
            cells = self.inner.cell_states(unique)
            w, c = self._frame(cur[pos]), self._frame(cells[pos])  # as the lines lie physically
            # a move copies its line onto the stale copy the previous move left in the gap slot
            stale = np.concatenate([self._gap_cells[r][None], c[:-1]])
            programmed = self.price(stale, c, carried, self.offset)
            ex = self._excess
            ex[src] += w                           # the lines leave: those slots' wear is complete
            ex[dst] += programmed                  # sources and destinations are distinct in a batch
            ex[dst] -= w                           # the lines now live at their destinations
            self._gap_cells[r] = c[-1]
            self.line_of_slot[src] = -1
            self.line_of_slot[dst] = carried
            self.slot_of_line[carried] = dst

    def _frame(self, rows: np.ndarray) -> np.ndarray:
        """Rows of logical cells as they lie in their physical line (Start-Gap keeps the cell order)."""
        return rows

    def physical_wear(self, logical: np.ndarray | None = None) -> np.ndarray:
        out = self._excess.copy()
        cur = self._logical_wear() if logical is None else logical.reshape(self.lines, -1)
        for l0 in range(0, self.lines, REMAP_LINES):  # line blocks: small temporaries
            rows = slice(l0, min(self.lines, l0 + REMAP_LINES))
            out[self.slot_of_line[rows]] += self._frame(cur[rows])
        return out

    def steady_wear(self, physical: np.ndarray) -> np.ndarray:
        """The start register goes round every region, so every line visits every slot of its region:
        the mean over a region's slots, per cell position of a line (one region: a read-only
        broadcast of that mean, no array of the wear's size)."""
        if len(self.region_sizes) == 1:
            return np.broadcast_to(physical.mean(axis=0), physical.shape)
        out = np.empty(physical.shape, np.float64)
        for b, n in zip(self.slot_base, self.region_sizes):
            out[b: b + n + 1] = physical[b: b + n + 1].mean(axis=0)
        return out


@WEAR_LEVELLERS.register("start-gap")
class StartGap(WearLeveller):
    """Start-Gap (Qureshi et al., MICRO 2009): one gap line per region moves every ``psi`` writes;
    optional static randomisation of the address space. The moves are counted as writes."""

    Params = StartGapParams
    stream_class = StartGapStream

    def shard_lines(self, lines: int) -> int:
        """Whole regions (each region's gap moves on its own); refused with the static randomisation
        (a permutation of all lines) or one region over all the memory (``region_lines = 0``)."""
        p = self.params
        if p.randomise:
            raise ConfigError("wear_leveling.randomise permutes all the lines at once: a run sharded by lines "
                              "cannot reproduce it (run it unsharded)")
        if not p.region_lines:
            raise ConfigError("wear_leveling.region_lines = 0 makes all the lines one region, which a run sharded "
                              "by lines cannot split: set wear_leveling.region_lines (e.g. 4096) or run unsharded")
        return p.region_lines


# --------------------------------------------------------------------------- both


@dataclass(frozen=True)
class RotateStartGapParams(RotateParams, StartGapParams):
    """Start-Gap's parameters, then ``rotate``'s (``period``, ``shift``)."""

    def validate(self, where: str, owner: Any = None) -> None:
        StartGapParams.validate(self, where, owner)
        RotateParams.validate(self, where, owner)


class RotateStartGapStream(StartGapStream):
    """Start-Gap over lines and, inside every line, ``rotate``'s cell rotation (the same offset for
    every line): logical cell ``j`` of line ``l`` sits at cell ``(j + offset) % C`` of slot
    ``slot_of_line[l]``. At an iteration where both fall due, the rotation goes first, then the gap
    moves. ``_excess[slot]`` = the slot's physical wear - its resident's logical wear as it lies
    physically (rotated by the current offset)."""

    name = "rotate-start-gap"

    def __init__(self, inner, technology, config, params: RotateStartGapParams) -> None:
        super().__init__(inner, technology, config, params)
        self.offset = 0

    def _frame(self, rows: np.ndarray) -> np.ndarray:
        return np.roll(rows, self.offset, axis=1) if self.offset and rows.shape[1] > 1 else rows

    def next_boundary(self) -> int:
        p = self.params.period
        return min(super().next_boundary(), (self.iterations // p + 1) * p)

    def remap(self) -> None:
        if self.iterations % self.params.period == 0:
            self._rotate()
        super().remap()

    def _rotate(self) -> None:
        C = self.cells_per_line
        old, new = self.offset, (self.offset + self.params.shift) % C
        if old == new:
            return
        for l0 in range(0, self.lines, BLOCK_LINES):
            rows = slice(l0, min(self.lines, l0 + BLOCK_LINES))
            slots = self.slot_of_line[rows]
            cur = self._wear_rows(rows)
            cells = self.inner.cell_states(rows)
            before, after = np.roll(cells, old, axis=1), np.roll(cells, new, axis=1)
            programmed = self.price(before, after, rows, new)
            if self.per_line:  # the rotation moves no wear between lines: only the copies add
                self._excess[slots] += programmed
            else:
                self._excess[slots] += np.roll(cur, old, axis=1) - np.roll(cur, new, axis=1) + programmed
        self.offset = new

    def steady_wear(self, physical: np.ndarray) -> np.ndarray:
        """Every line visits every slot of its region, and every cell every position of its rotation
        class modulo gcd(shift, C): the mean over a region's slots and a class's cells."""
        g = 1 if self.per_line else math.gcd(self.params.shift, self.cells_per_line)
        out = np.empty(physical.shape, np.float64)
        for b, n in zip(self.slot_base, self.region_sizes):
            part = physical[b: b + n + 1].reshape(n + 1, -1, g)
            out[b: b + n + 1] = np.broadcast_to(part.mean(axis=(0, 1)), part.shape).reshape(n + 1, -1)
        return out


@WEAR_LEVELLERS.register("rotate-start-gap")
class RotateStartGap(WearLeveller):
    """Start-Gap across lines and rotation inside them, together: levels both the lines and the cell
    positions (the paper's "general wear leveling")."""

    Params = RotateStartGapParams
    stream_class = RotateStartGapStream

    def shard_lines(self, lines: int) -> int:
        """Whole regions, and whole blocks of the rotation's rewrite (``BLOCK_LINES``)."""
        return math.lcm(StartGap.shard_lines(self, lines), BLOCK_LINES)


# --------------------------------------------------------------------------- lifetime


def lifetime_columns(result: StreamResult, *, iterations: int, endurance: float | None,
                     iteration_time_s: float, time_source: str) -> dict[str, Any]:
    """The lifetime definitions side by side and the levelling overhead (summary columns).

    ``lifetime_iterations`` (first cell, already in the row) is endurance / max cell flips per
    iteration; ``lifetime_mean_iterations`` = endurance / mean cell flips per iteration (the bound of
    ideal levelling, migrations not counted); ``lifetime_levelled_iterations`` = the first *physical*
    cell under the run's leveller when the replayed wear pattern goes on for the device's life: the
    leveller's steady state (:meth:`LevelledStream.steady_wear`), migrations included;
    ``lifetime_replay_levelled_iterations`` = the same from the physical wear the replay itself
    accumulated (the transient: pessimistic when the replay is shorter than the leveller's cycle);
    both equal ``lifetime_iterations`` without levelling. ``levelled_max_cell_flips``: the most-worn
    physical cell of the replay. ``lifetime_seconds`` / ``lifetime_years`` = the levelled lifetime
    times the time of one iteration (``iteration_time_s``, from ``time_source``). Empty for a technology without per-cell wear
    or endurance."""
    wear = result.cell_wear()
    if wear is None or endurance is None:
        return levelling_columns(result)
    physical = result.physical_wear()
    steady = result.steady_wear()
    mean = float(wear.mean()) if wear.size else 0.0
    pmax = int(physical.max()) if physical.size else 0
    smax = float(steady.max()) if steady.size else 0.0
    inf = float("inf")
    levelled = endurance * iterations / smax if smax else inf
    costs = result.levelling_costs()
    summary = result.summary()
    energy = float(summary.get("energy_pj", 0.0))
    writes = int(summary.get("line_writes", 0))
    lw, le = int(costs.get("levelling_line_writes", 0)), float(costs.get("levelling_energy_pj", 0.0))
    return {
        "wear_leveling": result.leveller,
        "lifetime_mean_iterations": endurance * iterations / mean if mean else inf,
        "lifetime_levelled_iterations": levelled,
        "lifetime_replay_levelled_iterations": endurance * iterations / pmax if pmax else inf,
        "levelled_max_cell_flips": pmax,
        "iteration_time_s": iteration_time_s,
        "iteration_time_source": time_source,
        "lifetime_seconds": levelled * iteration_time_s,
        "lifetime_years": levelled * iteration_time_s / SECONDS_PER_YEAR,
        "levelling_line_writes": lw,
        "levelling_flips": int(costs.get("levelling_flips", 0)),
        "levelling_energy_pj": le,
        "levelling_write_share": lw / (writes + lw) if writes + lw else 0.0,
        "levelling_energy_share": le / (energy + le) if energy + le else 0.0,
    }


def levelling_columns(result: StreamResult) -> dict[str, Any]:
    """The levelling columns of a run without per-cell lifetime (a technology whose wear unit is the
    line, or without endurance: racetrack), under a leveller; empty without one. No lifetime is
    invented: the overhead (``levelling_line_writes``, ``levelling_flips`` = the copies' wear,
    the copies' outcome counters ``levelling_<field>``, ``levelling_energy_pj``, the write and
    energy shares) and, for per-line wear, how it is spread over the lines: ``line_wear_max`` and
    ``line_wear_mean`` (the scheme's logical lines, no levelling), ``levelled_line_wear_max`` (the
    most-worn physical line of the replay, copies included), ``levelled_steady_line_wear_max`` (in
    the leveller's steady state, :meth:`LevelledStream.steady_wear`) and ``levelled_line_wear_mean``
    (over the physical lines, spare slots included)."""
    costs = result.levelling_costs()
    if not costs:
        return {}
    summary = result.summary()
    energy = float(summary.get("energy_pj", 0.0))
    writes = int(summary.get("line_writes", 0))
    lw, le = int(costs.get("levelling_line_writes", 0)), float(costs.get("levelling_energy_pj", 0.0))
    out: dict[str, Any] = {"wear_leveling": result.leveller}
    lines = result.line_wear()
    if lines is not None:
        physical, steady = result.physical_wear(), result.steady_wear()
        out.update({
            "line_wear_max": int(lines.max()) if lines.size else 0,
            "line_wear_mean": float(lines.mean()) if lines.size else 0.0,
            "levelled_line_wear_max": int(physical.max()) if physical.size else 0,
            "levelled_steady_line_wear_max": float(steady.max()) if steady.size else 0.0,
            "levelled_line_wear_mean": float(physical.mean()) if physical.size else 0.0,
        })
    out.update({k: v for k, v in costs.items() if k not in ("levelling_energy_pj",)})
    out.update({
        "levelling_energy_pj": le,
        "levelling_write_share": lw / (writes + lw) if writes + lw else 0.0,
        "levelling_energy_share": le / (energy + le) if energy + le else 0.0,
    })
    return out


def wear_histogram(wear_per_iteration: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """Cells per bin of flips per iteration (``bins``: edges), for the wear-distribution figure."""
    counts, _ = np.histogram(np.asarray(wear_per_iteration, np.float64).ravel(), bins=bins)
    return counts


__all__ = ["wear_histogram", "RotateStartGap", "RotateStartGapParams", "RotateStartGapStream", "WEAR_LEVELLERS", "WearLeveller", "LevelledStream", "LevelledResult", "NoLevelling", "Rotate",
           "RotateParams", "RotateStream", "StartGap", "StartGapParams", "StartGapStream", "levelling_columns", "lifetime_columns"]

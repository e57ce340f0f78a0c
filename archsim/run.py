"""The experiment pipeline of ``archsim run``: replay a trace under every scheme of a memory technology.

One call, usable from Python::

    from archsim.config import load_config
    from archsim.run import run_experiment
    out = run_experiment(load_config(None, ["run.iterations=50"]))
    out.summary            # one row per scheme (pandas)
    out.write("results/")  # summary.csv/.parquet, bit_flips.csv/.parquet, figures, config.toml

Data flow: the trace source (recorded trace, or the workload recorded and
cached, or a synthetic generator streaming without a file) yields float32
chunks of ``run.chunk_iterations`` iterations; a background thread gathers
each into memory lines (:class:`archsim.layout.AddressLayout`) while the
previous chunk is being replayed; every scheme's stream (opened through
:data:`archsim.contracts.TECHNOLOGIES`) is fed the chunk in a thread pool (the
kernels release the GIL, so the schemes use all cores). Each stream touches
only its own state, so the figures do not depend on thread scheduling.
Memory is bounded: two line buffers of at most :data:`CHUNK_BYTES` bytes (or 8 iterations), the
streams' state and per-cell wear; nothing grows with the number of iterations.
That loop is :class:`RunLoop`; ``archsim timing run`` and the gap sweep use it too.

Observers (:class:`archsim.observers.RunObserver`, registry :data:`~archsim.observers.OBSERVERS`) see every
chunk's per-write outcome of every scheme, on the main thread, in a fixed
order (chunk after chunk; within a chunk, scheme after scheme in the order of
``run.schemes``); the SimPy timing model plugs in here as the "timing"
observer. Their extra summary columns, tables and figures join the run's.

The objects of a run (technology, timing parts, observers) are built once from the
configuration by the composition root (:func:`archsim.compose.build`); a caller that
built them already passes its :class:`~archsim.compose.System` instead of a configuration.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from archsim.compose import System, build, scheme_names
from archsim.config import Config, replace
from archsim.contracts import TECHNOLOGIES
from archsim.errors import ArchsimError, ConfigError
from archsim.exact import ExactSum
from archsim.layout import AddressLayout
from archsim.observers import OBSERVERS, ObserverReport, RunContext, RunObserver

# --------------------------------------------------------------------------- approximation error


class ApproximationError:
    """Relative error of the stored values of an inexact scheme, accumulated over a run.

    For every (iteration, weight) pair whose written value ``w`` is nonzero, the
    relative error is ``|s - w| / |w|`` with ``s`` the stored value (what a read
    returns right after the write, before any refresh), computed in float64 from
    the float32 values. ``max`` and ``mean`` are over those pairs; ``inexact`` is
    the fraction of all (iteration, weight) pairs whose stored word differs from
    the written one in any bit. Padding words are not weights and are excluded.

    The figures depend neither on how the iterations are chunked nor on how the lines are split
    into ranges (:mod:`archsim.shard`): each iteration's errors are summed per *block* of
    :meth:`block_lines` lines, a partition fixed in global line numbers, by numpy's pairwise sum,
    and the block sums are added exactly (:class:`archsim.exact.ExactSum`, rounded once at the
    end). The errors of line ranges that start on a block boundary, accumulated apart, join
    (:meth:`join`) into exactly the figures of the whole.
    """

    BLOCK = 1 << 16  # words per block (whole lines), each summed on its own (add_numpy's temporaries: 0.5 MiB)

    def __init__(self, n_params: int, words_per_line: int = 1) -> None:
        self.n_params = n_params
        self.words_per_line = int(words_per_line)
        self.max = 0.0
        self.total = ExactSum()
        self.count = 0
        self.inexact = 0
        self.pairs = 0

    @classmethod
    def block_lines(cls, words_per_line: int) -> int:
        """Lines per block of the partition (a line range must start on a multiple to be joined)."""
        return max(1, cls.BLOCK // words_per_line)

    def _block_words(self) -> int:
        return max(1, self.BLOCK // self.words_per_line) * self.words_per_line

    def add(self, written: np.ndarray, stored: np.ndarray) -> None:
        """``written`` and ``stored``: uint32 arrays of shape (T, ...), the same (padding words are 0 in both).

        One fused pass per block (:func:`archsim._pcm_kernels.approx_rel_stats`: the inexact and nonzero
        counts, the relative errors' maximum and their sum in numpy's pairwise order, the errors never
        stored), so the sums are numpy's own pairwise sums, bit for bit as :meth:`add_numpy` (the plain
        form) computes them.
        """
        from archsim import _pcm_kernels

        self.pairs += written.shape[0] * self.n_params
        block = self._block_words()
        for wt, st in zip(written, stored):  # one iteration at a time: chunk-independent sums
            w_all = np.ascontiguousarray(wt, dtype=np.uint32).reshape(-1)
            s_all = np.ascontiguousarray(st, dtype=np.uint32).reshape(-1)
            for i in range(0, w_all.size, block):
                wu = w_all[i:i + block]
                su = s_all[i:i + block]
                inexact, n, block_max, block_sum = _pcm_kernels.approx_rel_stats(wu, su, wu.view(np.float32),
                                                                                 su.view(np.float32))
                self.inexact += inexact
                if not n:
                    continue
                self.max = max(self.max, block_max)
                self.total.add(block_sum)
                self.count += n

    def add_numpy(self, written: np.ndarray, stored: np.ndarray) -> None:
        """The plain numpy form of :meth:`add` (about fourteen array passes per block; the reference the
        fused pass is tested against)."""
        self.pairs += written.shape[0] * self.n_params
        block = self._block_words()
        for wt, st in zip(written, stored):
            w_all, s_all = wt.reshape(-1), st.reshape(-1)
            for i in range(0, w_all.size, block):
                wu = w_all[i:i + block]
                su = s_all[i:i + block]
                self.inexact += int(np.count_nonzero(wu != su))
                w = wu.view(np.float32).astype(np.float64)
                nz = w != 0
                n = int(np.count_nonzero(nz))
                if not n:
                    continue
                rel = np.abs(su.view(np.float32).astype(np.float64) - w)
                np.divide(rel, np.abs(w), out=rel, where=nz)
                rel[~nz] = 0.0
                self.max = max(self.max, float(rel.max()))
                self.total.add(float(rel.sum()))
                self.count += n

    def join(self, other: "ApproximationError") -> "ApproximationError":
        """Add the errors ``other`` accumulated over other lines of the same iterations (its ``n_params``:
        the weights on those lines)."""
        if other.n_params and self.n_params and other.pairs * self.n_params != self.pairs * other.n_params:
            raise ArchsimError("approximation error: parts of different iterations joined")
        self.max = max(self.max, other.max)
        self.total.join(other.total)
        self.count += other.count
        self.inexact += other.inexact
        self.pairs += other.pairs
        self.n_params += other.n_params
        return self

    def columns(self) -> dict[str, float]:
        return {
            "approx_max_rel_error": self.max,
            "approx_mean_rel_error": self.total.value / self.count if self.count else 0.0,
            "approx_inexact_fraction": self.inexact / self.pairs if self.pairs else 0.0,
        }


EXACT_ERROR = {"approx_max_rel_error": 0.0, "approx_mean_rel_error": 0.0, "approx_inexact_fraction": 0.0}


# --------------------------------------------------------------------------- the run


@dataclass
class RunOutput:
    """Everything a run produced: tables (pandas), observer reports, the resolved config."""

    config: Config
    summary: pd.DataFrame
    flips: pd.DataFrame
    layout: AddressLayout
    meta: Any
    reports: list[ObserverReport]
    seconds: float
    source_label: str
    line_ranges: tuple[tuple[int, int], ...] = ()
    """The (first, end) lines of each range of a sharded run (:mod:`archsim.shard`); empty: not sharded."""
    chunk_iterations: int = 0
    """Iterations per chunk of the replay (:func:`run_chunk_iterations`); 0: a sharded run, whose ranges
    each have their own."""

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table of the run by file name (observers' tables included)."""
        out = {"summary": self.summary, "bit_flips": self.flips}
        for rep in self.reports:
            out.update(rep.tables)
        return out

    def write(self, out_dir, *, figures: bool = True, overwrite: bool = False) -> list[Path]:
        """Write tables, figures and ``config.toml`` to ``out_dir`` (a path, or an
        :class:`~archsim.outputs.OutputFolder` claimed already; see :mod:`archsim.outputs` for the folder
        rules: ``overwrite`` replaces a complete earlier result); returns the files written."""
        from archsim.outputs import OutputFolder
        from archsim.results import write_run

        folder = out_dir if isinstance(out_dir, OutputFolder) else OutputFolder(out_dir, "run", overwrite=overwrite)
        return write_run(self, folder, figures=figures)


def open_source(config: Config, *, cache_dir: str | os.PathLike | None = None, progress: bool = False):
    """The trace source of a run: ``run.trace`` if set (an archsim trace, or an NVMain trace with
    ``run.trace_format = "nvmain"``), else the workload (recorded and cached under ``cache_dir``, or streamed)."""
    r = config.run
    if r.trace and r.trace_format == "nvmain":
        from workloads.nvmain import open_nvmain

        return open_nvmain(r.trace, line_bytes=config.layout.line_bytes)
    if r.trace:
        from workloads import open_trace

        return open_trace(r.trace)
    from workloads import make_source

    return make_source(r.workload.name, iterations=r.iterations, seed=r.seed, cache_dir=cache_dir,
                       progress=progress, **r.knobs)


def resolve_config(config: Config) -> Config:
    """The configuration with everything implicit made explicit (schemes, absolute trace path)."""
    schemes = config.run.resolved_schemes()
    changes: dict[str, Any] = {"run.schemes": list(schemes),
                               **TECHNOLOGIES.get(config.run.memory).explicit_config(config, schemes)}
    if config.run.trace:
        changes["run.trace"] = str(Path(config.run.trace).expanduser().resolve())
    return replace(config, changes)


def run_experiment(config: Config | System, *, observers: Sequence[RunObserver] = (), source=None,
                   out_dir: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None,
                   progress: bool = True, workers: int | None = None, shards: int | None = None,
                   scheduler: Any = None, dask_workers: int | None = None,
                   plugins: Sequence[str] = (), parts_dir: str | os.PathLike | None = None) -> RunOutput:
    """Replay the configured trace under every scheme; returns the tables (writes nothing).

    ``config``: the configuration, or the :class:`~archsim.compose.System` built from it.
    ``observers``: observer objects to run besides those ``run.observers`` names (which the
    composition root builds, before them, so that a run's ``config.toml`` repeats it with its observers).
    ``source``: a trace source to use instead of the configured one (its metadata
    must match). ``out_dir`` is only passed on to observers. ``workers``: threads
    feeding the schemes (default: one per core, at most one per scheme).

    Sharded by memory lines (:mod:`archsim.shard`; the same tables, byte for byte): ``shards``
    line ranges replayed one after the other in this process, or, with ``scheduler`` (an
    address, a dask ``Client`` or cluster, :mod:`archsim.cluster`) or ``dask_workers`` (a
    ``LocalCluster`` of that many single-threaded processes), on Dask (``shards`` default: one
    per worker thread; ``plugins``: plugin modules the workers load). With observers only on Dask and only
    if every one splits by scheme (the timing model): then a scheme a task (:func:`archsim.shard.run_by_scheme`).
    ``parts_dir``: a split run keeps each finished part (line range, or scheme) there and takes it from there
    when run again (:class:`archsim.shard.SavedParts`): an interrupted run resumes.
    """
    t0 = time.perf_counter()
    if shards is not None and shards < 1:
        raise ConfigError(f"shards must be at least 1, not {shards}")
    if workers is not None and workers < 1:
        raise ConfigError(f"workers must be at least 1, not {workers}")
    for o in observers:
        if not isinstance(o, RunObserver):
            raise TypeError(f"observers are RunObserver objects, not {o!r}"
                            + (f" (a registered observer by name: run.observers = [{o!r}] in the configuration, "
                               f"or --observe {o})" if isinstance(o, str) else ""))
    loop = RunLoop(config)
    config = loop.config
    if source is not None:
        _check_source(config, source)
    _note_unread(config, loop.technology, observers_given=bool(observers))
    observers = [*loop.system.observers, *observers]
    sharded = (shards is not None and shards > 1) or scheduler is not None or dask_workers is not None
    if sharded and observers:
        names = [o.name for o in config.run.observers]
        given = [type(o).__name__ for o in observers[len(loop.system.observers):]]   # given as objects
        on_dask = scheduler is not None or dask_workers is not None
        if on_dask and shards is None and not given and all(o.splits_by_scheme for o in observers):
            from archsim.shard import run_by_scheme

            return run_by_scheme(loop, source=source, cache_dir=cache_dir, progress=progress, scheduler=scheduler,
                                 dask_workers=dask_workers, plugins=plugins, started=t0, parts_dir=parts_dir)
        unsplit = [n for n, o in zip(names, observers) if not o.splits_by_scheme] + given
        raise ConfigError(f"run observer(s) {', '.join(names + given)} see every line of every chunk: a run with "
                          "them (--timing, --observe, run.observers) is not split into line ranges (--shards); on "
                          "Dask (--workers / --scheduler, no --shards) it runs a scheme a task when every observer "
                          "splits by scheme (the timing model does"
                          + (f"; {', '.join(unsplit)} does not" if unsplit else "")
                          + "); otherwise drop --workers / --scheduler / --shards")
    if sharded:
        from archsim.shard import replay_sharded

        source, layout, joined, ranges = replay_sharded(loop, source=source, cache_dir=cache_dir, progress=progress,
                                                        workers=workers, shards=shards, scheduler=scheduler,
                                                        dask_workers=dask_workers, plugins=plugins,
                                                        parts_dir=parts_dir)
        schemes = loop.schemes
    else:
        loop.replay(observers, source=source, out_dir=out_dir, cache_dir=cache_dir, progress=progress,
                    workers=workers)
        source, layout, schemes = loop.source, loop.layout, loop.schemes
    tables = scheme_tables(loop, observers, joined if sharded else loop.results(), source=source, layout=layout,
                           cache_dir=cache_dir, progress=progress, workers=workers)
    reports = [obs.finish() for obs in observers]
    return assemble_output(config, schemes, tables, reports, layout, source, time.perf_counter() - t0,
                           tuple(ranges) if sharded else (), 0 if sharded else loop.chunk_iterations)


@dataclass
class SchemeTables:
    """What a run reports of each scheme before its observers' columns, by scheme: the summary row
    (:func:`archsim.results.summary_row`), the lifetime columns and the bit-flips table."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    lifetimes: dict[str, dict[str, Any]] = field(default_factory=dict)
    flips: dict[str, pd.DataFrame] = field(default_factory=dict)

    def update(self, other: "SchemeTables") -> None:
        self.rows.update(other.rows)
        self.lifetimes.update(other.lifetimes)
        self.flips.update(other.flips)


def scheme_tables(loop: "RunLoop", observers: Sequence[RunObserver], results, *, source, layout, cache_dir=None,
                  progress: bool = False, workers: int | None = None) -> SchemeTables:
    """The :class:`SchemeTables` of ``results`` (:meth:`RunLoop.results`, or a sharded run's joined ones),
    after the replay; the schemes whose cells change with time are replayed again on the simulated time of
    an observer that keeps a clock (the clock rule), and their tables are those of that second replay."""
    from archsim.results import flips_table, summary_row
    from archsim.wear import lifetime_columns

    config = loop.config
    out = SchemeTables()
    context = {"memory": loop.technology.name, "workload": _source_label(config, source), "n_params": layout.n_params,
               "lines": layout.lines, "words_per_line": layout.words_per_line}
    endurance = loop.technology.endurance(config)

    def collect(results) -> None:
        for s, stream, result, error in results:
            row = out.rows[s] = summary_row(result, error, context)
            out.lifetimes[s] = lifetime_columns(result, iterations=int(row["iterations"]), endurance=endurance,
                                                iteration_time_s=config.run.iteration_time_s,
                                                time_source="run.iteration_time_s")
            out.flips[s] = flips_table(s, result, stream, config.run.iterations)

    collect(results)
    clocks = {}
    for s in loop.schemes:  # the clock rule: time-dependent schemes on the simulated time of an observer
        if loop.technology.is_time_dependent(s):
            for obs in observers:
                clock = obs.write_clock(s)
                if clock is not None:
                    clocks[s] = clock
                    break
    if clocks:
        again = RunLoop(loop.system)
        again.replay(schemes=list(clocks), source=source, cache_dir=cache_dir, progress=progress, workers=workers,
                     clocks=clocks)
        collect(again.results())
    return out


def assemble_output(config: Config, schemes: Sequence[str], tables: SchemeTables, reports: Sequence[ObserverReport],
                    layout, source, seconds: float, ranges: tuple = (), chunk: int = 0) -> RunOutput:
    """The run's :class:`RunOutput`: the schemes' rows in ``schemes`` order, each report's columns added
    after them (report order, then scheme and key order), the lifetime columns last."""
    summary = pd.DataFrame([tables.rows[s] for s in schemes])
    flips = [tables.flips[s] for s in schemes]
    for rep in reports:
        for scheme, cols in rep.columns.items():
            for key, value in cols.items():
                if key not in summary.columns:
                    summary[key] = np.nan if not isinstance(value, str) else None
                summary.loc[summary["scheme"] == scheme, key] = value
    _add_lifetime_columns(summary, tables.lifetimes)
    flips_df = pd.concat(flips, ignore_index=True) if flips else pd.DataFrame()
    return RunOutput(config, summary, flips_df, layout, source.meta, list(reports), seconds,
                     _source_label(config, source), ranges, chunk)


def _add_lifetime_columns(summary: pd.DataFrame, lifetimes: dict[str, dict[str, Any]]) -> None:
    """The lifetime definitions and the levelling overhead (:func:`archsim.wear.lifetime_columns`) as
    the last columns; the time of an iteration is the timing model's (``simulated_time_ns`` /
    iterations) where it ran, else ``run.iteration_time_s``."""
    from archsim.wear import SECONDS_PER_YEAR

    for i, scheme in enumerate(summary["scheme"]):
        cols = dict(lifetimes.get(scheme, {}))
        if not cols:
            continue
        if "simulated_time_ns" in summary.columns:
            sim = float(summary["simulated_time_ns"].iloc[i])
            its = int(summary["iterations"].iloc[i])
            if np.isfinite(sim) and sim > 0 and its and "lifetime_levelled_iterations" in cols:
                t = sim * 1e-9 / its
                cols.update(iteration_time_s=t, iteration_time_source="timing",
                            lifetime_seconds=cols["lifetime_levelled_iterations"] * t,
                            lifetime_years=cols["lifetime_levelled_iterations"] * t / SECONDS_PER_YEAR)
        for key, value in cols.items():
            if key not in summary.columns:
                summary[key] = None if isinstance(value, str) else np.nan
            summary.loc[summary.index[i], key] = value


class RunLoop:
    """The run loop of ``archsim run``, ``archsim timing run`` and the gap sweep.

    ::

        loop = RunLoop(config)           # the config resolved (run.schemes, trace path): loop.config
        loop.replay(observers)           # every chunk to every scheme, each outcome to the observers
        for scheme, stream, result, error in loop.results():
            ...                          # each scheme's result; its wear then goes to the observers

    :meth:`replay` opens the trace source (unless given one), checks that it holds
    ``run.iterations`` iterations, lays it out in memory lines, opens one stream per
    scheme through the memory technology, gathers the chunks in a background thread
    and feeds each to every scheme in a thread pool; the observers see every outcome
    on the main thread (see :class:`RunObserver`). Afterwards ``source``, ``layout``,
    ``schemes`` and ``streams`` (scheme -> stream, until :meth:`results` takes them)
    are attributes. The caller calls the observers' :meth:`~RunObserver.finish`.
    """

    def __init__(self, config: Config | System) -> None:
        system = config if isinstance(config, System) else build(config)
        self.config = resolve_config(system.config)
        self.system = system
        self.technology = system.technology
        self.schemes: tuple[str, ...] = system.schemes
        self.observers: list[RunObserver] = []
        self.chunk_iterations = 0  # of the last replay (:func:`run_chunk_iterations`)
        self.streams: dict[str, Any] = {}
        self.errors: dict[str, ApproximationError] = {}

    def replay(self, observers: Sequence[RunObserver] = (), *, schemes: Sequence[str] | None = None, source=None,
               out_dir: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None,
               progress: bool = True, workers: int | None = None, approximation: bool = True,
               clocks: Mapping[str, Any] | None = None, line_range: tuple[int, int] | None = None,
               on_chunk: Any = None) -> None:
        """Replay ``run.iterations`` iterations under ``schemes`` (default: ``run.schemes``).

        ``source``, ``out_dir``, ``cache_dir``, ``progress``, ``workers``: as for
        :func:`run_experiment`. ``approximation``: measure the approximation error of the
        inexact schemes (:meth:`results` gives it). ``clocks``: scheme -> function
        ``(first_iteration, T) -> (T, lines)`` seconds, the times of each chunk's writes, handed
        to the scheme's stream before the chunk (``TechnologyStream.set_write_times``; an
        observer's :meth:`~RunObserver.write_clock`). ``line_range = (first, end)``: only the
        global lines ``first .. end - 1`` (one shard of a sharded run, :mod:`archsim.shard`; the
        streams are opened with ``line_offset = first``; no observers). ``on_chunk``: a function called
        with the iterations of every chunk once it is replayed (progress reported elsewhere).
        """
        clocks = dict(clocks or {})
        config, tech = self.config, self.technology
        schemes = scheme_names(schemes) if schemes is not None else self.schemes
        if source is None:
            source = open_source(config, cache_dir=cache_dir, progress=progress)
        iterations = config.run.iterations
        if iterations > source.n_iterations:
            what = f"trace {config.run.trace}" if config.run.trace else f"workload {config.run.workload.name!r}"
            raise ConfigError(f"run.iterations = {iterations}, but the {what} holds only "
                              f"{source.n_iterations} iterations")
        layout = AddressLayout.from_meta(source.meta, config.layout)
        first_line, end_line = (0, layout.lines) if line_range is None else (int(line_range[0]), int(line_range[1]))
        if line_range is not None and (observers or clocks):
            raise ArchsimError("a line range is replayed without observers or clocks (they see every line)")
        self.source, self.layout, self.schemes, self.observers = source, layout, schemes, list(observers)
        self.line_range = (first_line, end_line)
        observers = self.observers
        leveller = self.system.wear_leveller
        streams = self.streams = {
            s: leveller.wrap(tech.open_stream(s, lines=end_line - first_line, words=layout.words_per_line,
                                              config=config, line_offset=first_line, keep_stored=False), tech, config)
            for s in schemes}
        n_params = layout.n_params if line_range is None else layout.params_in_lines(first_line, end_line)
        errors = self.errors = {s: ApproximationError(n_params, layout.words_per_line) for s in schemes
                                if approximation and not tech.is_exact(s)}
        ctx = RunContext(config, tech, schemes, self.system, source.meta, layout, iterations,
                         Path(out_dir) if out_dir is not None else None)
        ctx.chunk_iterations = self.chunk_iterations = run_chunk_iterations(ctx, observers, end_line - first_line)
        for obs in observers:
            obs.start(ctx)

        def feed(scheme: str, first: int, lines: np.ndarray):
            want = scheme in errors
            if scheme in clocks:
                streams[scheme].set_write_times(clocks[scheme](first, lines.shape[0]))
            outcome = streams[scheme].feed(lines, want_stored=want)
            if want:
                if outcome.stored is None:
                    raise ArchsimError(f"memory {tech.name!r}: scheme {scheme!r} is inexact but its stream "
                                       "returns no stored values")
                errors[scheme].add(lines, outcome.stored)
                outcome.stored = None
            return outcome if observers else None

        n_workers = workers or min(len(schemes), usable_cpus())
        # longest-running schemes first, so that the pool's threads finish together
        order = sorted(schemes, key=lambda s: tech.is_exact(s))
        label = f"trace {config.run.trace}" if config.run.trace else f"workload {config.run.workload.name!r}"
        chunks = _line_chunks(source, layout, self.chunk_iterations, iterations, label,
                              lines=None if line_range is None else (first_line, end_line))
        with ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="archsim-scheme") as pool, \
                tqdm(total=iterations, disable=not progress, desc="replay", unit="it") as bar:
            try:
                for first, lines, release in chunks:
                    futures = {s: pool.submit(feed, s, first, lines) for s in order}
                    outcomes = {s: futures[s].result() for s in order}
                    release()
                    for s in schemes:           # observers: main thread, scheme order
                        for obs in observers:
                            obs.chunk(s, first, outcomes[s])
                    del outcomes
                    bar.update(lines.shape[0])
                    if on_chunk is not None:
                        on_chunk(int(lines.shape[0]))
            except BaseException:
                for obs in observers:  # the run stops here: observers release their threads and memory
                    obs.abort()
                raise
            finally:
                chunks.close()

    def results(self):
        """Each scheme's (scheme, stream, result, approximation-error columns), after :meth:`replay`
        (the columns are None for an inexact scheme replayed without ``approximation``); the
        result's wear (if any) goes to the observers' :meth:`~RunObserver.wear` once the caller
        is done with the scheme. One scheme at a time, fewest cells first: each frees its wear
        before the WOM codes build their (larger) totals, so the peak memory stays low."""
        streams, errors, tech = self.streams, self.errors, self.technology
        by_size = sorted(streams, key=lambda s: streams[s].cells_per_word)
        for s in by_size:
            stream = streams.pop(s)
            result = stream.result()
            yield s, stream, result, errors[s].columns() if s in errors else EXACT_ERROR if tech.is_exact(s) else None
            wear = result.cell_wear()
            if wear is not None:
                for obs in self.observers:
                    obs.wear(s, wear)
            del wear
            del stream, result


def unread_settings(config: Config, technology=None) -> dict[str, str]:
    """What ``archsim run`` with this configuration (its own observers only) does not read: key prefixes
    (a section, or ``run.workload``) -> why. A sweep refuses to vary them (its points would be the same
    numbers under different labels) and a run notes those set away from their defaults."""
    from archsim.contracts import TECHNOLOGIES

    technology = TECHNOLOGIES.get(config.run.memory) if technology is None else technology
    out = {}
    for name in TECHNOLOGIES.names():
        other = TECHNOLOGIES.get(name)
        if other is technology:
            continue
        for section in other.sections:
            if section not in technology.sections and section in config.sections:
                out[section] = f"it configures the {name} memory and this run's is {technology.name} (run.memory)"
    if not any("timing" in OBSERVERS.get(o.name).reads_sections for o in config.run.observers):
        out["timing"] = ("no run observer reads it (the timing model: run.observers = [\"timing\"], or --timing "
                         "on the command line)")
    if config.run.trace:
        out["run.workload"] = "the run replays run.trace, which was recorded with a workload and knobs of its own"
    return out


def setting_label(prefix: str) -> str:
    """How a setting of :func:`unread_settings` is named to the user: [section], or the key."""
    return prefix if "." in prefix else f"[{prefix}]"


def _note_unread(config: Config, technology, *, observers_given: bool) -> None:
    """A one-line note for each setting this run does not read (:func:`unread_settings`) that is set away
    from its default: a value that changes nothing should not pass unnoticed."""
    defaults = Config()
    for prefix, why in unread_settings(config, technology).items():
        if prefix == "timing" and observers_given:
            continue  # an observer object given to the run may read it
        if prefix == "run.workload":
            changed = config.run.workload != defaults.run.workload
        else:
            changed = config.section(prefix) != defaults.section(prefix)
        if changed:
            logging.getLogger("archsim.run").warning("note: %s is set, but %s: not used", setting_label(prefix),
                                                     why)


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity; ``os.cpu_count()`` counts the machine's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # platforms without affinity
        return os.cpu_count() or 1


#: Bytes a line buffer (one chunk of uint32 line words) holds at most, unless that is fewer than
#: :data:`CHUNK_MIN_ITERATIONS` iterations: the effective chunk is ``run.chunk_iterations`` iterations or
#: fewer. A chunk in flight costs about five line buffers (two line buffers, the source's block, the
#: schemes' per-write outcomes, an inexact scheme's stored values): ~160 MiB up to models of 1.05 M words
#: (LeNet: 19 iterations a chunk, DenseNet-BC: 10).
CHUNK_BYTES = 32 << 20
#: Iterations a chunk holds at least (``run.chunk_iterations`` permitting), however large the model. The
#: kernels replay a chunk one block of lines at a time, every iteration of the chunk while the block's
#: state is in cache; with one iteration per call they stream all the state from memory for every
#: iteration (GoogLeNet's 6 M words under the 32 MiB bound: WOM-SET at 70 M word-writes per CPU-second
#: instead of 150 M at 8, preset 285 M instead of 447 M; docs/performance.md). Eight iterations cost
#: about 170 bytes per word in flight, a quarter of the per-cell wear of the four paper schemes
#: (640 bytes per word in uint32) that such a run holds anyway.
CHUNK_MIN_ITERATIONS = 8


def chunk_iterations(config: Config, layout: AddressLayout, lines: int | None = None) -> int:
    """Iterations per chunk: ``run.chunk_iterations``, capped so that a line buffer of ``lines`` lines (a
    shard's range, whose chunks are longer in iterations; default all) holds at most :data:`CHUNK_BYTES`,
    but not below :data:`CHUNK_MIN_ITERATIONS`."""
    words = layout.words if lines is None else lines * layout.words_per_line
    fit = CHUNK_BYTES // (4 * max(words, 1))
    return max(1, min(config.run.chunk_iterations, max(CHUNK_MIN_ITERATIONS, fit)))


def run_chunk_iterations(ctx: RunContext, observers: Sequence[RunObserver], lines: int | None = None) -> int:
    """Iterations per chunk of a run with ``observers``: :func:`chunk_iterations` over the ``lines``
    replayed (default all) plus the lines the observers hold chunk buffers of
    (:meth:`~archsim.observers.RunObserver.chunk_lines`: the training pattern's intermediate data, whose
    chunks would otherwise be several times the weights')."""
    replayed = ctx.layout.lines if lines is None else int(lines)
    return chunk_iterations(ctx.config, ctx.layout, replayed + sum(int(o.chunk_lines(ctx)) for o in observers))


def _check_source(config: Config, source) -> None:
    """A source given to a run is of the configured workload (the tables are labelled with it, and the run's
    config.toml repeats it): one of another workload is one error naming both."""
    named = getattr(getattr(source, "meta", None), "workload", None)
    if not config.run.trace and named and named != config.run.workload.name:
        raise ConfigError(f"the source given is of workload {named!r}, the configuration's run.workload.name is "
                          f"{config.run.workload.name!r} (the tables would carry that name, and its config.toml "
                          f"replay that workload): set run.workload.name = {named!r}")


def _source_label(config: Config, source) -> str:
    if config.run.trace:
        return Path(config.run.trace).name
    return config.run.workload.name


class _line_chunks:
    """Iterator of (first iteration, (T, lines, words) uint32, release) gathered in a background
    thread from the source, ``iterations`` in all. Two line buffers rotate: the next chunk is
    gathered while the current one is replayed; ``release()`` hands a buffer back."""

    def __init__(self, source, layout: AddressLayout, chunk_iterations: int, iterations: int,
                 label: str = "the trace", lines: tuple[int, int] | None = None) -> None:
        self._label = label
        self._layout = layout
        self._lines = lines   # (first, end): gather only these global lines
        self._T = min(chunk_iterations, iterations)
        self._iterations = iterations
        self._source = source
        self._free: queue.Queue = queue.Queue()
        n = layout.lines if lines is None else lines[1] - lines[0]
        for _ in range(2):
            self._free.put(np.zeros((self._T, n, layout.words_per_line), dtype=np.uint32))
        self._ready: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="archsim-gather", daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        try:
            first = 0
            for block in self._source.iter_chunks(self._T):
                if first >= self._iterations:
                    break
                block = block[: self._iterations - first]
                self._source.meta.check_finite(block, first, self._label)
                buf = self._take_free()
                if buf is None:
                    return
                if block.shape[0] != buf.shape[0]:
                    buf = np.zeros((block.shape[0],) + buf.shape[1:], dtype=np.uint32)
                self._layout.to_lines(block, out=buf, lines=self._lines)
                self._ready.put((first, buf))
                first += block.shape[0]
            if first < self._iterations:
                raise ArchsimError(f"the trace source ended after {first} of {self._iterations} iterations")
            self._ready.put(None)
        except BaseException as exc:  # handed to the consumer, raised there
            self._ready.put(exc)

    def _take_free(self):
        while not self._stop.is_set():
            try:
                return self._free.get(timeout=0.1)
            except queue.Empty:
                continue
        return None

    def __iter__(self):
        while True:
            item = self._ready.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            first, buf = item
            yield first, buf, (lambda b=buf: self._free.put(b) if b.shape[0] == self._T else None)

    def close(self) -> None:
        """Stop the gathering thread and drop the line buffers."""
        self._stop.set()
        self._thread.join(timeout=5)
        for q in (self._free, self._ready):
            while not q.empty():
                q.get_nowait()


__all__ = ["RunContext", "ObserverReport", "RunObserver", "OBSERVERS", "RunOutput", "ApproximationError", "EXACT_ERROR",
           "run_experiment", "RunLoop", "chunk_iterations", "run_chunk_iterations", "open_source", "resolve_config"]

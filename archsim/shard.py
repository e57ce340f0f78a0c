"""One run split by memory lines: each shard replays a contiguous line range for all iterations.

``run_experiment(config, shards=K)`` replays K line ranges one after the other in this process;
``run_experiment(config, scheduler=..., dask_workers=N)`` (``archsim run --workers N`` /
``--scheduler ADDRESS``) replays them on Dask workers, in parallel. The tables are byte-identical
to the unsharded run's. How:

* **Ranges.** The lines are cut into ranges whose starts are multiples of an *alignment*
  (:func:`alignment`): the least common multiple of what each part of the run's state needs,
  :meth:`~archsim.contracts.MemoryTechnology.shard_lines` of every scheme (PCM: any line, its region
  policies follow the global line index; racetrack: whole track clusters, which shift together),
  the wear leveller's :meth:`~archsim.wear.WearLeveller.shard_lines` (start-gap: whole regions;
  rotate: whole rewrite blocks) and, with an inexact scheme, the blocks of the approximation error
  (:meth:`archsim.run.ApproximationError.block_lines`). A run that cannot be split says so in one
  error naming the setting, before any work.
* **Shards.** A shard opens the trace source itself, gathers only its lines of every chunk
  (:meth:`archsim.layout.AddressLayout.to_lines` with ``lines``), opens each scheme's stream with
  ``line_offset`` = its first line, and returns a :class:`ShardResult`: each scheme's
  :class:`~archsim.contracts.StreamResult` and approximation error over its lines.
* **Join.** The client joins the shards' results in line order
  (:meth:`~archsim.contracts.StreamResult.join`): integer counters summed, per-line and per-cell
  arrays concatenated, floats computed again from the joined counts or summed exactly
  (:class:`archsim.exact.ExactSum`, whose parts join in any grouping); then the summary row and the
  per-bit flips table are built exactly as for one stream.

Observers that need every line of every chunk (the timing model, ``--timing``) are not split into
line ranges: the timing model's banks and queues serve every line, and its channels, which share the
front end's bursts (a burst is done when every channel has accepted its part), would have to wait for
each other at every burst. A run whose observers all split *by scheme* (the timing model: one model per
scheme) runs on Dask a scheme a task instead (:func:`run_by_scheme`): each worker replays its scheme
over every line with its own observers and returns the scheme's tables and the observers' partial
results; the tables are again byte-identical to the single-process run's.
"""
from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Sequence

from tqdm.auto import tqdm

from archsim.errors import ArchsimError, ConfigError


@dataclass(frozen=True)
class StreamLabels:
    """What the per-bit flips table needs of a stream besides its result (``lines``, ``words``, the
    cell and group labels), for a joined result whose streams lived on workers."""

    lines: int
    words: int
    cells: tuple[str, ...]
    groups: tuple[str, ...] | None

    @classmethod
    def of(cls, stream) -> "StreamLabels":
        groups = stream.group_labels()
        return cls(int(stream.lines), int(stream.words), tuple(stream.cell_labels()),
                   None if groups is None else tuple(groups))

    def cell_labels(self) -> list[str]:
        return list(self.cells)

    def group_labels(self) -> list[str] | None:
        return None if self.groups is None else list(self.groups)


@dataclass
class ShardResult:
    """One line range's replay: per scheme (in ``run.schemes`` order) the stream result, the
    approximation error (an :class:`archsim.run.ApproximationError`, or None for an exact scheme)
    and the stream's labels; ``seconds`` of wall time on the worker."""

    first: int
    end: int
    results: dict[str, tuple[Any, Any, StreamLabels]] = field(default_factory=dict)
    seconds: float = 0.0


def alignment(system, layout, schemes: Sequence[str]) -> int:
    """Lines a range must start on a multiple of (see the module docstring); a ConfigError naming the
    setting when the run cannot be split."""
    from archsim.run import ApproximationError

    tech, config = system.technology, system.config
    words = layout.words_per_line
    a = 1
    for s in schemes:
        a = math.lcm(a, int(tech.shard_lines(s, config, words)))
    a = math.lcm(a, int(system.wear_leveller.shard_lines(layout.lines)))
    if any(not tech.is_exact(s) for s in schemes):
        a = math.lcm(a, ApproximationError.block_lines(words))
    return a


def _note_fewer(ranges, shards: int, align: int, lines: int) -> None:
    if len(ranges) < shards:
        logging.getLogger("archsim.shard").warning(
            "note: %d line range(s), not %d: a range must start on a multiple of %d lines (together, what the "
            "schemes' state, the wear leveller and the approximation error's blocks need) and the run has %d",
            len(ranges), shards, align, lines)


def line_ranges(lines: int, shards: int, align: int) -> list[tuple[int, int]]:
    """``lines`` cut into at most ``shards`` ranges of whole ``align``-line units, as even as the units allow."""
    units = -(-lines // align)
    k = max(1, min(shards, units))
    cuts = [min(lines, (i * units // k) * align) for i in range(k)] + [lines]
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def _worker_config(config, plugins: Sequence[str], changes: dict | None = None):
    """A task's configuration on its worker: the ``--plugin`` modules it may name loaded first, then the
    :class:`~archsim.config.Config` (given as one, or as its plain tables) with ``changes``."""
    from archsim.config import Config, config_with

    if plugins:
        from archsim.cluster import load_plugins

        load_plugins(plugins)
    if isinstance(config, Config) and not changes:
        return config
    return config_with(config.to_dict() if isinstance(config, Config) else config, changes or {})


def replay_lines(config, first: int, end: int, *, source=None, cache_dir=None, threads: int | None = None,
                 plugins: Sequence[str] = (), progress_queue: str | None = None) -> ShardResult:
    """Replay the global lines ``first .. end - 1`` of the run ``config`` (a :class:`~archsim.config.Config`,
    or its plain tables ``Config.to_dict()``, as a Dask worker receives it) for all iterations; runs on a
    worker. ``threads``: threads feeding the schemes (default: one per usable core). ``progress_queue``:
    the name of a ``distributed.Queue`` that gets ``(first, iterations)`` after every chunk (on a worker)."""
    from archsim.run import RunLoop

    t0 = time.perf_counter()
    config = _worker_config(config, plugins)
    tick = None
    if progress_queue is not None:
        from functools import partial

        from distributed import Queue

        tick = partial(_report, Queue(progress_queue), first)
    loop = RunLoop(config)
    loop.replay(source=source, cache_dir=cache_dir, progress=False, workers=threads, line_range=(first, end),
                on_chunk=tick)
    out = ShardResult(first, end)
    got = {}
    for s, stream, result, _ in loop.results():   # one scheme's cells at a time, reduced at once
        got[s] = (result.digested(), loop.errors.get(s), StreamLabels.of(stream))
    out.results = {s: got[s] for s in loop.schemes}
    out.seconds = time.perf_counter() - t0
    return out


def _report(queue, first: int, iterations: int) -> None:
    """A worker's progress: ``iterations`` more of the range starting at line ``first`` replayed."""
    queue.put((first, iterations))


def join_shards(parts: Sequence[ShardResult], technology, schemes: Sequence[str]):
    """(scheme, labels, joined result, approximation-error columns) per scheme, from the shards'
    results (any order; joined in line order)."""
    from archsim.run import EXACT_ERROR

    parts = sorted(parts, key=lambda p: p.first)
    for a, b in zip(parts, parts[1:]):
        if a.end != b.first:
            raise ArchsimError(f"sharded run: line ranges {a.first}..{a.end} and {b.first}..{b.end} do not meet")
    for s in schemes:
        results = [p.results[s][0] for p in parts]
        result = results[0].join(results[1:])
        errors = [p.results[s][1] for p in parts]
        if errors[0] is not None:
            joined = errors[0]
            for e in errors[1:]:
                joined.join(e)
            cols = joined.columns()
        else:
            cols = EXACT_ERROR if technology.is_exact(s) else None
        first = parts[0].results[s][2]
        labels = StreamLabels(sum(p.results[s][2].lines for p in parts), first.words, first.cells, first.groups)
        yield s, labels, result, cols


class _ShardProgress:
    """The progress bar of a sharded run on Dask, in the run's iterations: each range's chunks count by the
    share of the lines it holds (the workers report them through a ``distributed.Queue``, drained here by a
    background thread); ``done(first)`` completes a range."""

    def __init__(self, client, name: str | None, ranges, lines: int, iterations: int) -> None:
        self._share = {a: (b - a) / lines for a, b in ranges}
        self._left = {a: float(iterations) for a, _ in ranges}
        self._bar = tqdm(total=iterations, desc="replay (sharded)", unit="it", disable=name is None,
                         bar_format="{l_bar}{bar}| {n:.0f}/{total_fmt} [{elapsed}<{remaining}]")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        if name is not None:
            from distributed import Queue

            self._queue = Queue(name, client=client)
            self._thread = threading.Thread(target=self._drain, name="archsim-shard-progress", daemon=True)
            self._thread.start()

    def _add(self, first: int, n: float) -> None:
        with self._lock:
            n = min(n, self._left[first])
            self._left[first] -= n
            self._bar.update(n * self._share[first])

    def _drain(self) -> None:
        while not self._stop.is_set():
            try:
                items = self._queue.get(timeout=0.5, batch=True)
            except Exception:  # a timeout, or the client going away: nothing to report
                items = []
            for first, n in items:
                self._add(first, n)
            if not items:
                self._stop.wait(0.5)

    def done(self, first: int) -> None:
        self._add(first, self._left[first])

    def __enter__(self) -> "_ShardProgress":
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._bar.close()


#: The folder (inside a run's output folder) that keeps each finished part of a split run, for resuming.
PARTS = "parts"


class SavedParts:
    """The finished parts of a split run (line ranges, or schemes), kept as files in ``folder`` so that a
    run interrupted and started again into the same output folder replays only the parts it had not
    finished (the tables come out the same: a part's result is what its worker returned). A part is
    named by the run's identity (:meth:`~archsim.config.Config.identity`, as sweeps name their points) and
    archsim's version (a changed setting or release replays everything) and by the part itself; files are
    written atomically. ``folder`` None: nothing kept."""

    def __init__(self, folder, config) -> None:
        from archsim import __version__
        from archsim.config import digest

        self.folder = None if folder is None else Path(folder)
        self.run_id = digest({"config": config.identity(), "archsim": __version__})[:16]

    def _path(self, part: str) -> Path:
        return self.folder / f"{self.run_id}-{part}.pkl"

    def load(self, part: str):
        """The saved result of ``part``, or None (not finished, or nothing kept)."""
        import pickle

        if self.folder is None or not self._path(part).is_file():
            return None
        try:
            return pickle.loads(self._path(part).read_bytes())
        except Exception:  # unreadable (a different Python, a damaged file): replayed again
            logging.getLogger("archsim.shard").warning("note: %s is unreadable; that part is replayed again",
                                                       self._path(part))
            return None

    def save(self, part: str, result) -> None:
        import pickle

        from archsim.outputs import atomic_write

        if self.folder is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArchsimError(f"{self.folder}: cannot create the folder: {exc.strerror or exc}") from None
        data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        atomic_write(self._path(part), lambda tmp: tmp.write_bytes(data))


def _client_source(config, source, cache_dir, progress: bool, distributed: bool, dask_workers: int | None):
    """The client's side of a split run before any work: the trace source (opened here too, for the metadata,
    the iteration check and a recorded workload cached for the workers) and the address layout."""
    from archsim.layout import AddressLayout
    from archsim.run import open_source

    if dask_workers is not None and dask_workers < 1:
        raise ConfigError("--workers must be at least 1")
    if distributed and source is not None:
        raise ConfigError("a run on Dask opens its trace on the workers: give the trace in the configuration "
                          "(run.trace), not as a source object")
    if source is None:
        source = open_source(config, cache_dir=cache_dir, progress=progress)
    if config.run.iterations > source.n_iterations:
        what = f"trace {config.run.trace}" if config.run.trace else f"workload {config.run.workload.name!r}"
        raise ConfigError(f"run.iterations = {config.run.iterations}, but the {what} holds only "
                          f"{source.n_iterations} iterations")
    return source, AddressLayout.from_meta(source.meta, config.layout)


def _worker_cache(cache_dir) -> str:
    """The client's trace cache by its absolute path: a worker elsewhere on a shared filesystem finds the same."""
    from workloads.cache import DEFAULT_CACHE_DIR

    return str(Path(cache_dir if cache_dir is not None else DEFAULT_CACHE_DIR).resolve())


@contextmanager
def _checked_client(config, cache: str, scheduler, dask_workers: int | None, default_workers: int):
    """A Dask client (:func:`archsim.cluster.dask_client`) whose cluster has workers that all see the trace
    and the trace cache (asked before any work; one error naming the worker and the path otherwise)."""
    from archsim.cluster import check_worker, dask_client

    with dask_client(scheduler, dask_workers, default_workers=default_workers) as client:
        if not client.nthreads():
            raise ArchsimError(f"--scheduler {scheduler}: the cluster has no workers")
        traces = [config.run.trace] if config.run.trace else []
        for problem in client.run(check_worker, cache, traces).values():
            if problem:
                raise ArchsimError(problem)
        yield client


def replay_sharded(loop, *, source=None, cache_dir=None, progress: bool = True, workers: int | None = None,
                   shards: int | None = None, scheduler: Any = None, dask_workers: int | None = None,
                   plugins: Sequence[str] = (), parts_dir=None):
    """Replay the run of ``loop`` (a fresh :class:`archsim.run.RunLoop`) in line ranges: in this
    process one after the other (no ``scheduler`` nor ``dask_workers``; ``shards`` ranges), or on Dask
    (``shards`` ranges, default one per worker thread). Returns (source, layout, joined results as
    :func:`join_shards` yields them, the line ranges). ``workers``: threads per in-process shard.
    ``parts_dir``: where finished ranges are kept and found again (:class:`SavedParts`; None: not kept)."""
    config = loop.config
    distributed = scheduler is not None or dask_workers is not None
    source, layout = _client_source(config, source, cache_dir, progress, distributed, dask_workers)
    align = alignment(loop.system, layout, loop.schemes)
    saved = SavedParts(parts_dir, config)
    if not distributed:
        ranges = line_ranges(layout.lines, shards or 1, align)
        _note_fewer(ranges, shards or 1, align, layout.lines)
        parts = []
        for first, end in tqdm(ranges, disable=not progress or len(ranges) < 2, desc="shards", unit="shard"):
            part = saved.load(f"lines-{first}-{end}")
            if part is None:
                part = replay_lines(config, first, end, source=source, cache_dir=cache_dir, threads=workers)
                saved.save(f"lines-{first}-{end}", part)
            parts.append(part)
        return source, layout, list(join_shards(parts, loop.technology, loop.schemes)), ranges

    from archsim.cluster import completed
    from archsim.run import usable_cpus

    cache = _worker_cache(cache_dir)
    data = config.to_dict()  # resolved: the trace by its absolute path, every scheme's parameters explicit
    with _checked_client(config, cache, scheduler, dask_workers, usable_cpus()) as client:
        nthreads = client.nthreads()
        want = shards or sum(nthreads.values())
        ranges = line_ranges(layout.lines, want, align)
        _note_fewer(ranges, want, align, layout.lines)
        threads = min(nthreads.values())
        run_id = uuid.uuid4().hex  # keys of their own: another run's tasks on a shared scheduler are not these
        name = f"archsim-shard-progress-{run_id}" if progress else None
        parts = [p for p in (saved.load(f"lines-{a}-{b}") for a, b in ranges) if p is not None]
        have = {p.first for p in parts}
        futures = [client.submit(replay_lines, data, first, end, cache_dir=cache, threads=threads,
                                 plugins=tuple(plugins), progress_queue=name,
                                 key=f"archsim-shard-{run_id}-{first}-{end}", pure=False)
                   for first, end in ranges if first not in have]
        with _ShardProgress(client, name, ranges, layout.lines, config.run.iterations) as bar:
            for first in have:
                bar.done(first)
            for _, part in completed(futures, "shard", f"archsim-shard-{run_id}-"):
                saved.save(f"lines-{part.first}-{part.end}", part)
                parts.append(part)
                bar.done(part.first)
        parts.sort(key=lambda p: p.first)
    return source, layout, list(join_shards(parts, loop.technology, loop.schemes)), ranges


@dataclass
class SchemeTask:
    """What a worker returns of one scheme of a run split by scheme (:func:`run_scheme`)."""

    scheme: str
    tables: Any          # archsim.run.SchemeTables of the scheme
    partials: list       # each observer's partial (RunObserver.partial), in the run's observer order


def run_scheme(config, scheme: str, *, cache_dir=None, plugins: Sequence[str] = ()) -> SchemeTask:
    """Replay scheme ``scheme`` of the run ``config`` (its plain tables, ``Config.to_dict()``) over every
    line with the run's observers (``run.observers``), the clock rule included; runs on a Dask worker."""
    from archsim.run import RunLoop, scheme_tables

    loop = RunLoop(_worker_config(config, plugins, {"run.schemes": [scheme]}))
    observers = list(loop.system.observers)
    loop.replay(observers, cache_dir=cache_dir, progress=False)
    tables = scheme_tables(loop, observers, loop.results(), source=loop.source, layout=loop.layout,
                           cache_dir=cache_dir)
    return SchemeTask(scheme, tables, [obs.partial() for obs in observers])


def run_by_scheme(loop, *, source=None, cache_dir=None, progress: bool = True, scheduler: Any = None,
                  dask_workers: int | None = None, plugins: Sequence[str] = (), started: float | None = None,
                  parts_dir=None):
    """The run of ``loop`` (a fresh :class:`archsim.run.RunLoop` whose observers all split by scheme) on
    Dask, a scheme a task (:func:`run_scheme`); the client joins the tasks' tables and observers'
    partials and builds the run's output as the single-process run does. Returns its
    :class:`~archsim.run.RunOutput`. ``parts_dir``: where finished schemes are kept and found again
    (:class:`SavedParts`)."""
    from archsim.cluster import completed
    from archsim.observers import RunContext
    from archsim.run import SchemeTables, assemble_output, run_chunk_iterations, usable_cpus

    t0 = time.perf_counter() if started is None else started
    config = loop.config
    source, layout = _client_source(config, source, cache_dir, progress, True, dask_workers)
    schemes = loop.schemes
    cache = _worker_cache(cache_dir)
    data = config.to_dict()
    saved = SavedParts(parts_dir, config)
    tasks: dict[str, SchemeTask] = {s: t for s in schemes if (t := saved.load(f"scheme-{s}")) is not None}
    run_id = uuid.uuid4().hex  # keys of their own: another run's tasks on a shared scheduler are not these
    todo = [s for s in schemes if s not in tasks]
    if todo:  # every scheme saved: no cluster to start
        with _checked_client(config, cache, scheduler, dask_workers, min(len(todo), usable_cpus())) as client:
            futures = [client.submit(run_scheme, data, s, cache_dir=cache, plugins=tuple(plugins),
                                     key=f"archsim-scheme-{run_id}-{s}", pure=False) for s in todo]
            with tqdm(total=len(schemes), initial=len(tasks), disable=not progress, desc="schemes",
                      unit="scheme") as bar:
                for _, task in completed(futures, "scheme", f"archsim-scheme-{run_id}-"):
                    saved.save(f"scheme-{task.scheme}", task)
                    tasks[task.scheme] = task
                    bar.update(1)
    tables = SchemeTables()
    for s in schemes:
        tables.update(tasks[s].tables)
    observers = list(loop.system.observers)
    ctx = RunContext(config, loop.technology, schemes, loop.system, source.meta, layout, config.run.iterations, None)
    ctx.chunk_iterations = chunk = run_chunk_iterations(ctx, observers)  # as each worker's replay computed it
    for i, obs in enumerate(observers):
        obs.join([tasks[s].partials[i] for s in schemes], ctx)
    reports = [obs.finish() for obs in observers]
    return assemble_output(config, schemes, tables, reports, layout, source, time.perf_counter() - t0, chunk=chunk)


__all__ = ["PARTS", "SavedParts", "SchemeTask", "ShardResult", "StreamLabels", "alignment", "line_ranges", "replay_lines", "join_shards",
           "replay_sharded", "run_by_scheme", "run_scheme"]

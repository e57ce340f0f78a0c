"""Run observers: the extension point that sees every chunk of every scheme of ``archsim run``.

The SimPy timing model plugs in here as the ``timing`` observer
(:mod:`archsim.timing.observer`); a plugin registers its own with
``@OBSERVERS.register("name")``. Their extra summary columns, tables and figures join the run's.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np
import pandas as pd

from archsim.config import Config
from archsim.contracts import MemoryTechnology
from archsim.layout import AddressLayout
from archsim.registry import NoParams, Registry



@dataclass
class RunContext:
    """What an observer is told before the first chunk."""

    config: Config
    technology: MemoryTechnology
    schemes: tuple[str, ...]
    system: Any
    """The run's :class:`archsim.compose.System` (its technology, timing parts, ...)."""
    meta: Any
    """The trace source's ``TraceMeta``."""
    layout: AddressLayout
    iterations: int
    """Iterations that will be replayed."""
    out_dir: Path | None
    chunk_iterations: int = 0
    """Iterations of each chunk the run hands over (the last one shorter; :func:`archsim.run.run_chunk_iterations`);
    0 where no chunks are replayed (the client of a run split by scheme)."""


@dataclass
class ObserverReport:
    """What an observer adds to a run's results."""

    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    """scheme -> extra summary columns (e.g. ``queued_avg_write_latency_ns``)."""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    """Written as ``<name>.csv`` and ``<name>.parquet`` into the output folder."""
    figures: dict[str, Any] = field(default_factory=dict)
    """matplotlib Figures, saved as ``<name>.png`` and ``<name>.pdf``; a value may instead be a function of
    no arguments that makes the figure, called only when the run's figures are written (so ``--no-figures``
    does not pay for building it)."""

    def figure(self, name: str):
        """The figure ``name`` (made now if it is given as a function)."""
        fig = self.figures[name]
        return fig() if callable(fig) else fig


class RunObserver(ABC):
    """Sees every chunk of every scheme of a run. Constructed as ``cls(config, params)``.

    Register with ``@OBSERVERS.register("name")``; ``archsim run --observe name``
    adds it, or ``run.observers = ["name"]`` (a table ``{name = "name", ...}`` sets
    its own ``Params``). Calls come from the main thread: :meth:`start` once,
    :meth:`chunk` for each chunk and scheme (chunk order; scheme order within a
    chunk), :meth:`wear` once per scheme with per-cell wear, :meth:`finish` once
    at the end.
    """

    #: The observer's own parameters (a frozen dataclass).
    Params: ClassVar[type] = NoParams
    #: Whether what it does for one scheme needs nothing of the others (the timing model: a model per
    #: scheme). A run whose observers all split by scheme runs on Dask a scheme a task
    #: (:func:`archsim.shard.run_by_scheme`): each worker's observer runs :meth:`start` .. :meth:`partial`
    #: over its scheme, and the client's observer :meth:`join` s the partials before :meth:`finish`.
    splits_by_scheme: ClassVar[bool] = False
    #: The configuration sections it reads beyond the replay's (the timing model: ``("timing",)``). A run
    #: whose observers read no ``[timing]`` notes a ``[timing]`` set away from its defaults, and a sweep refuses
    #: to vary it (:func:`archsim.run.unread_settings`).
    reads_sections: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: Config, params: Any = None) -> None:
        self.config = config
        self.params = self.Params() if params is None else params

    def chunk_lines(self, ctx: RunContext) -> int:
        """Lines beyond the replayed ones of which the observer holds a chunk's per-iteration buffers (the
        timing model's intermediate data): the run's chunk is capped counting them too
        (:func:`archsim.run.run_chunk_iterations`), so that its chunks stay bounded in memory. Called before
        :meth:`start`, ``ctx.chunk_iterations`` not yet set; a function of ``ctx`` only. Default 0."""
        return 0

    @abstractmethod
    def start(self, ctx: RunContext) -> None:
        """Called once before the first chunk."""

    @abstractmethod
    def chunk(self, scheme: str, first_iteration: int, outcome) -> None:
        """``outcome``: the scheme's ``ChunkOutcome`` of iterations ``first_iteration ..
        first_iteration + T - 1``; ``outcome.outcome`` is (T, lines, fields) uint32 with the
        technology's ``outcome_fields``. It is the observer's to read, never to write; drop it as soon
        as it is done (the stream reuses a chunk's buffers only once nothing holds them, so each one
        kept costs a fresh buffer)."""

    def wear(self, scheme: str, wear: np.ndarray) -> None:
        """Optional: the scheme's final per-cell wear (lines, words, cells), after the last chunk
        and before :meth:`finish` (schemes with per-cell wear only). Reduce it at once; do not keep it."""

    @abstractmethod
    def finish(self) -> ObserverReport:
        """Called once after the last chunk; returns the observer's results."""

    def abort(self) -> None:
        """Optional: the run failed after :meth:`start`; stop any work in flight and release what is held
        (called once, instead of :meth:`finish`)."""

    def partial(self) -> Any:
        """(:attr:`splits_by_scheme` observers) After the replay of a worker's schemes (and their clock
        rule's second replay): what :meth:`finish` needs of them, picklable."""
        raise NotImplementedError(f"{type(self).__name__} does not split by scheme")

    def join(self, partials: Sequence[Any], ctx: RunContext) -> None:
        """(:attr:`splits_by_scheme` observers) On the client, instead of :meth:`start` and the chunks:
        the :meth:`partial` of every worker (in the run's scheme order) and the run's context; then
        :meth:`finish` reports as if this observer had seen every scheme."""
        raise NotImplementedError(f"{type(self).__name__} does not split by scheme")

    def write_clock(self, scheme: str):
        """Optional: after the replay, the simulated time of every write of ``scheme`` as the
        observer modelled it, a function ``(first_iteration, T) -> (T, lines)`` seconds; schemes
        whose cells change with time (``MemoryTechnology.is_time_dependent``) are then replayed
        again with these write times. Default None (the observer keeps no clock)."""
        return None


#: Observers of ``archsim run``, by name ("timing": the SimPy timing model).
OBSERVERS: Registry[type[RunObserver]] = Registry("run observer", RunObserver)

"""``archsim run --timing``: the SimPy timing model as a run observer.

For every scheme of the run, a :class:`~archsim.timing.model.TimingModel` is fed
each chunk's per-write outcomes as the functional replay produces them, so the
trace is read once. The report adds to the run's summary, per scheme,
``queued_avg_write_latency_ns``, ``queued_p99_write_latency_ns`` and
``refresh_misses`` (plus the device-level write latency, idle-time refreshes,
cancellations, bank utilisation and simulated time) beside the functional,
unqueued ``avg_write_latency_ns``; the tables ``timing_banks`` (one row per
scheme and bank), ``timing_overall`` (one row per scheme) and
``timing_lifetimes`` (intermediate data); and the figure ``timing_banks``
(per-bank write latency, utilisation and wear).

Each scheme's model simulates on a thread of its own, fed its chunks in order (at most
:attr:`TimingObserver.AHEAD` waiting), so the models of the run's schemes run in parallel with each
other and with the functional replay of the next chunk: the compiled channel kernel releases the GIL
(with a compiled scheduling policy and no logs), and a model's numbers do not depend on the threads.

Registered as "timing" in :data:`archsim.observers.OBSERVERS` (a built-in of
:mod:`archsim.compose`). Its parameter ``engine`` ("fast" or "reference"; "" =
``timing.model``): ``run.observers = [{name = "timing", engine = "reference"}]``.
``archsim timing run`` (:func:`archsim.timing.runner.simulate`) is the same run
loop with this observer.
"""
from __future__ import annotations

import functools
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from archsim.errors import ConfigError
from archsim.observers import OBSERVERS, ObserverReport, RunContext, RunObserver
from archsim.registry import NoParams
from archsim.timing.frontend import intermediate_lines
from archsim.timing.model import ENGINES, TimingModel, TimingResult


@dataclass(frozen=True)
class TimingObserverParams(NoParams):
    engine: str = ""
    """Simulation engine of every model: "fast", "reference", or "" (``timing.model``)."""

    def validate(self, where: str, owner: Any = None) -> None:
        if self.engine not in ("", *ENGINES):
            raise ConfigError(f"{where}.engine must be one of {', '.join(ENGINES)} (or empty), not {self.engine!r}")


class TimingObserver(RunObserver):
    """Runs the timing model of every scheme alongside the functional replay.

    Its models are built from the run's timing parts (``ctx.system.timing``).
    :meth:`results` gives each scheme's :class:`~archsim.timing.model.TimingResult`
    (``archsim timing run``); :meth:`finish` builds the run's report from them.
    """

    Params = TimingObserverParams
    splits_by_scheme = True
    reads_sections = ("timing",)
    #: Chunks a model may have waiting beside the one it simulates before :meth:`chunk` waits for it.
    AHEAD = 1

    def __init__(self, config, params=None) -> None:
        super().__init__(config, params)
        self.models: dict[str, TimingModel] = {}
        self._lanes: dict[str, ThreadPoolExecutor] = {}   # one thread per model
        self._jobs: dict[str, deque[Future]] = {}         # each model's chunks handed over, not yet waited for
        self._pool: ThreadPoolExecutor | None = None      # the intermediate data's encoders
        self._results: dict[str, TimingResult] | None = None   # once every model has finished, or joined

    def chunk_lines(self, ctx: RunContext) -> int:
        """The intermediate data's lines (training access pattern): each model holds their content,
        outcomes and service times a chunk at a time, as it holds the weights'."""
        if ctx.config.timing.access_pattern != "training" or ctx.meta is None:
            return 0
        inter = intermediate_lines(ctx.meta, ctx.config.layout.line_bytes, ctx.layout.lines)
        return sum(n for _first, n in inter.values())

    def start(self, ctx: RunContext) -> None:
        from archsim.run import run_chunk_iterations, usable_cpus

        self.ctx = ctx
        self._results = None
        chunk = ctx.chunk_iterations or run_chunk_iterations(ctx, [self])
        chunk = min(chunk, max(1, ctx.iterations))  # no chunk is longer than the run
        self.models = {}
        for s in ctx.schemes:  # each model's memory estimate is checked with those of the schemes before it
            self.models[s] = TimingModel(ctx.config, technology=ctx.technology, scheme=s, layout=ctx.layout,
                                         meta=ctx.meta, parts=ctx.system.timing, engine=self.params.engine or None,
                                         chunk_iterations=chunk,
                                         reserved={k: m.memory_bytes for k, m in self.models.items()})
        # the intermediate data (training pattern) is encoded a chunk ahead on a thread pool, its content
        # drawn once for all schemes (archsim.timing.intermediate)
        self._pool = None
        content = next((c for c in (m.shared_content() for m in self.models.values()) if c is not None), None)
        if content is not None:
            self._pool = ThreadPoolExecutor(max_workers=usable_cpus(), thread_name_prefix="archsim-intermediate")
            for m in self.models.values():
                m.run_ahead(self._pool, iterations=ctx.iterations, chunk=chunk, content=content)
        # one thread per model: its chunks are simulated in order, the models in parallel
        self._lanes = {s: ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"archsim-timing-{s}")
                       for s in self.models}
        self._jobs = {s: deque() for s in self.models}
        self._fed = dict.fromkeys(self.models, 0)

    def chunk(self, scheme: str, first_iteration: int, outcome) -> None:
        """Hand the chunk to the scheme's model thread (it raises here the error of an earlier chunk
        of that model, if one failed)."""
        if first_iteration != self._fed[scheme]:
            raise RuntimeError(f"timing observer: scheme {scheme} got iteration {first_iteration}, "
                               f"expected {self._fed[scheme]}")
        jobs = self._jobs[scheme]
        while len(jobs) > self.AHEAD:  # a failure raised here stops the run loop, which aborts the observers
            jobs.popleft().result()
        jobs.append(self._lanes[scheme].submit(self.models[scheme].feed, outcome))
        self._fed[scheme] += int(np.shape(getattr(outcome, "outcome", outcome))[0])

    def _settle(self, scheme: str) -> None:
        """Wait until the scheme's model has simulated every chunk handed to it."""
        jobs = self._jobs[scheme]
        while jobs:
            jobs.popleft().result()

    def abort(self) -> None:
        """Stop the models' threads (chunks not yet simulated are dropped) and the intermediate data's pool."""
        for lane in self._lanes.values():
            lane.shutdown(wait=True, cancel_futures=True)
        for jobs in self._jobs.values():
            jobs.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def model(self, scheme: str) -> TimingModel:
        """The scheme's model, once it has simulated every chunk handed to it so far."""
        self._settle(scheme)
        return self.models[scheme]

    def wear(self, scheme: str, wear) -> None:
        """Optional hook: the scheme's final per-cell wear (lines, words, cells) adds the
        per-bank maximum cell flips and lifetime to the tables."""
        self.models[scheme].set_wear(wear)

    def write_clock(self, scheme: str):
        """The simulated time of every weight and bias line write: the time the controllers accepted
        the last write of the burst that holds the line (its layer's update burst; the one burst of the
        minimal pattern), per iteration, from the front end's recorded phase times."""
        from archsim.timing.system import WRITE

        model = self.model(scheme)
        front = model.frontend
        line_phase = np.full(model.param_lines, -1, np.int64)
        for k, ph in enumerate(front.phases):
            if ph.kind == WRITE:
                lines = ph.lines[ph.lines < model.param_lines]
                line_phase[lines] = k
        if (line_phase < 0).any() or not front.phase_times:
            raise ConfigError(f"timing observer: scheme {scheme}: the access pattern does not write every line "
                              "of the weights; no write clock")
        accepted = np.stack(front.phase_times)[:, :, 1].astype(np.float64) * 1e-12  # (iterations, phases)

        def clock(first: int, T: int) -> np.ndarray:
            if first + T > accepted.shape[0]:
                raise ConfigError(f"timing observer: scheme {scheme}: no simulated time for iterations "
                                  f"{accepted.shape[0]}..{first + T - 1}")
            return np.ascontiguousarray(accepted[first:first + T][:, line_phase])

        return clock

    def partial(self) -> dict[str, TimingResult]:
        """This worker's schemes' timing results (a run split by scheme)."""
        return self.results()

    def join(self, partials, ctx: RunContext) -> None:
        """The timing results of every scheme, from the workers' :meth:`partial` (a run split by scheme)."""
        joined = {s: r for p in partials for s, r in p.items()}
        missing = [s for s in ctx.schemes if s not in joined]
        if missing:
            raise RuntimeError(f"timing observer: no timing result of scheme(s) {', '.join(missing)} from the workers")
        self.ctx = ctx
        self._results = {s: joined[s] for s in ctx.schemes}

    def results(self) -> dict[str, TimingResult]:
        """Each scheme's timing result, after the last chunk (and the wear)."""
        if self._results is not None:
            return self._results
        # each model finishes on its own thread (draining its requests, reading its wear: kernels and
        # numpy that release the GIL), the models in parallel; a model's result depends on it alone
        try:
            for s in self.models:
                self._settle(s)
            finishing = {s: self._lanes[s].submit(m.finish) for s, m in self.models.items()}
            results = {s: f.result() for s, f in finishing.items()}
        except BaseException:
            self.abort()
            raise
        for lane in self._lanes.values():
            lane.shutdown()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        self._results = results
        return results

    def finish(self) -> ObserverReport:
        from archsim.timing.figures import bank_figure

        results = self.results()
        banks = pd.concat([r.per_bank.assign(scheme=s) for s, r in results.items()], ignore_index=True)
        banks = banks[["scheme"] + [c for c in banks.columns if c != "scheme"]]
        overall = pd.DataFrame([{"scheme": s, **r.overall} for s, r in results.items()])
        lifetimes = pd.concat([r.lifetimes.assign(scheme=s) for s, r in results.items()], ignore_index=True)
        return ObserverReport(
            columns={s: {k: float(v) for k, v in r.summary.items()} for s, r in results.items()},
            tables={"timing_banks": banks, "timing_overall": overall, "timing_lifetimes": lifetimes},
            figures={"timing_banks": functools.partial(bank_figure, results, title=f"{self.ctx.config.run.memory}, "
                                                                                f"{self.ctx.iterations:,} iterations")},
        )


OBSERVERS.register("timing", TimingObserver)

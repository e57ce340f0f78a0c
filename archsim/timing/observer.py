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

Registered as "timing" in :data:`archsim.run.OBSERVERS` when this module is
imported (``archsim/run.py`` imports it). ``archsim timing run``
(:func:`archsim.timing.runner.simulate`) is the same run loop with this observer.
"""
from __future__ import annotations

import pandas as pd

from archsim.run import OBSERVERS, ObserverReport, RunContext, RunObserver
from archsim.timing.model import TimingModel, TimingResult


class TimingObserver(RunObserver):
    """Runs the timing model of every scheme alongside the functional replay.

    ``engine``: "fast" or "reference" for every model (default ``timing.model``).
    :meth:`results` gives each scheme's :class:`~archsim.timing.model.TimingResult`
    (``archsim timing run``); :meth:`finish` builds the run's report from them.
    """

    def __init__(self, config, engine: str | None = None) -> None:
        super().__init__(config)
        self.engine = engine

    def start(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.models = {
            s: TimingModel(ctx.config, technology=ctx.technology, scheme=s, layout=ctx.layout, meta=ctx.meta,
                           engine=self.engine)
            for s in ctx.schemes
        }

    def chunk(self, scheme: str, first_iteration: int, outcome) -> None:
        model = self.models[scheme]
        if first_iteration != model.iterations:
            raise RuntimeError(f"timing observer: scheme {scheme} got iteration {first_iteration}, "
                               f"expected {model.iterations}")
        model.feed(outcome)

    def wear(self, scheme: str, wear) -> None:
        """Optional hook: the scheme's final per-cell wear (lines, words, cells) adds the
        per-bank maximum cell flips and lifetime to the tables."""
        self.models[scheme].set_wear(wear)

    def results(self) -> dict[str, TimingResult]:
        """Each scheme's timing result, after the last chunk (and the wear)."""
        return {s: m.finish() for s, m in self.models.items()}

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
            figures={"timing_banks": bank_figure(results)},
        )


OBSERVERS.register("timing", TimingObserver)

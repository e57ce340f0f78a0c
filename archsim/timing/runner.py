"""Standalone timing runs and the idle-gap sweep (``archsim timing run`` / ``sweep-gap``).

:func:`simulate` is the run loop of ``archsim run`` (:class:`archsim.run.RunLoop`)
with the timing observer of ``archsim run --timing``, which also gets the per-cell
wear for the per-bank lifetime, and returns its timing results.
:func:`sweep_gap` measures how the average write latency depends on the idle
time between iterations in the minimal access pattern (only the update writes,
``gap_ns`` between iterations): the same loop collects the functional outcomes of
each scheme once, and they are replayed through one timing model per gap.
Finished points are appended to ``sweep_gap.csv`` and skipped when the sweep is
run again.
"""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from archsim.config import Config, replace
from archsim.errors import ConfigError
from archsim.observers import ObserverReport, RunContext, RunObserver
from archsim.run import RunLoop
from archsim.timing.model import TimingModel, TimingResult
from archsim.timing.observer import TimingObserver, TimingObserverParams


def simulate(config: Config, *, schemes: tuple[str, ...] | None = None, source=None, engine: str | None = None,
             progress: bool = False) -> dict[str, TimingResult]:
    """Timing results of each scheme (default ``run.schemes``) over ``run.iterations`` iterations:
    the run loop with the timing observer (``engine``: "fast" or "reference", default
    ``timing.model``), which also gets each scheme's wear (the per-bank lifetime)."""
    loop = RunLoop(config)
    timing = TimingObserver(loop.config, TimingObserverParams(engine or ""))
    loop.replay([timing], schemes=schemes or None, source=source, progress=progress, approximation=False)
    for _scheme in loop.results():  # hands each scheme's wear to the observer
        pass
    return timing.results()


class _KeepOutcomes(RunObserver):
    """Keeps every chunk outcome of every scheme, to replay them through several timing models.
    The streams allocate new outcome arrays for every chunk, but observers must not keep the
    loop's arrays, so it keeps copies (of the outcome fields and the per-write extras)."""

    def start(self, ctx: RunContext) -> None:
        self.outcomes: dict[str, list] = {s: [] for s in ctx.schemes}

    def chunk(self, scheme: str, first_iteration: int, outcome) -> None:
        kept = copy.copy(outcome)
        kept.outcome = np.array(outcome.outcome)
        kept.stored = None
        kept.extras = {k: np.array(v) for k, v in outcome.extras.items()}
        self.outcomes[scheme].append(kept)

    def finish(self) -> ObserverReport:
        return ObserverReport()


def default_gaps_ns() -> list[float]:
    """1 us to 1 ms, four points per decade."""
    return [float(x) for x in np.round(np.logspace(3, 6, 13), 1)]


def sweep_gap(config: Config, gaps_ns, *, schemes: tuple[str, ...] | None = None, out_dir: str | Path | None = None,
              source=None, progress: bool = False) -> pd.DataFrame:
    """Average write latency per scheme against the idle gap per iteration (minimal access pattern).

    One row per (scheme, gap): the device (service) and queued average write
    latency, p99, refresh misses, idle-time refreshes, cancellations, utilisation.
    With ``out_dir`` the rows are appended to ``sweep_gap.csv`` as they finish and
    points already there are not recomputed; ``sweep_gap.config.toml`` records the
    configuration, and a folder swept with a different one is an error.
    """
    loop = RunLoop(config)
    config = loop.config
    schemes = tuple(schemes or config.run.schemes)
    path = Path(out_dir) / "sweep_gap.csv" if out_dir is not None else None
    if path is not None:  # rows on disk are reused only for the configuration that made them
        stamp = path.with_name("sweep_gap.config.toml")
        text = replace(config, {"run.schemes": []}).to_toml()  # schemes may be added on a rerun
        if stamp.is_file() and stamp.read_text(encoding="utf-8") != text:
            raise ConfigError(f"{path.parent}: holds a gap sweep of a different configuration "
                              f"(see {stamp.name}); choose a new --out folder")
        if path.exists() and not stamp.is_file():
            raise ConfigError(f"{path.parent}: sweep_gap.csv has no {stamp.name} (cannot tell which "
                              "configuration made it); choose a new --out folder")
    done = pd.read_csv(path) if path is not None and path.exists() else pd.DataFrame()
    have = set(zip(done["scheme"], done["gap_ns"])) if len(done) else set()
    todo = {s: [g for g in gaps_ns if (s, float(g)) not in have] for s in schemes}
    keep = _KeepOutcomes(config)  # the functional outcomes of each scheme, once
    if any(todo.values()):
        loop.replay([keep], schemes=[s for s in schemes if todo[s]], source=source, progress=progress,
                    approximation=False)
    if path is not None:  # after the replay: a configuration the source cannot replay leaves no stamp
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(text, encoding="utf-8")
    rows = []
    with tqdm(total=sum(len(v) for v in todo.values()), disable=not progress, desc="gap sweep") as bar:
        for s in schemes:
            for g in todo[s]:
                cfg = replace(config, {"timing.access_pattern": "minimal", "timing.gap_ns": float(g)})
                model = TimingModel(cfg, technology=loop.technology, scheme=s, layout=loop.layout,
                                    meta=loop.source.meta, parts=loop.system.timing)
                for o in keep.outcomes[s]:
                    model.feed(o)
                r = model.finish()
                row = {"scheme": s, "gap_ns": float(g), **{k: float(v) for k, v in r.summary.items()},
                       "write_p50_latency_ns": r.overall["write_p50_latency_ns"], "iterations": r.iterations}
                rows.append(row)
                if path is not None:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    pd.DataFrame([row]).to_csv(path, mode="a", header=not path.exists(), index=False)
                bar.update(1)
    table = pd.concat([done, pd.DataFrame(rows)], ignore_index=True) if len(done) else pd.DataFrame(rows)
    if len(table):
        table = table[table["scheme"].isin(schemes) & table["gap_ns"].isin([float(g) for g in gaps_ns])]
        order = {s: i for i, s in enumerate(schemes)}
        table = table.sort_values(["scheme", "gap_ns"], key=lambda c: c.map(order) if c.name == "scheme" else c)
    return table.reset_index(drop=True)

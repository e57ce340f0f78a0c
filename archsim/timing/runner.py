"""Standalone timing runs and the idle-gap sweep (``archsim timing run`` / ``sweep-gap``).

:func:`simulate` replays the configured workload through the functional path
and the timing model of each scheme, chunk by chunk (the same data flow as
``archsim run --timing``, plus the per-cell wear for the per-bank lifetime).
:func:`sweep_gap` measures how the average write latency depends on the idle
time between iterations in the minimal access pattern (only the update writes,
``gap_ns`` between iterations): the functional outcomes are computed once per
scheme and replayed through one timing model per gap. Finished points are
appended to ``sweep_gap.csv`` and skipped when the sweep is run again.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from archsim.config import Config, replace
from archsim.timing.model import TimingModel, TimingResult


def _prepare(config: Config, source=None, progress: bool = False):
    from archsim.layout import AddressLayout
    from archsim.run import open_source, resolve_config
    from archsim.technology import TECHNOLOGIES

    config = resolve_config(config)
    if source is None:
        source = open_source(config, progress=progress)
    if config.run.iterations > source.n_iterations:
        from archsim.errors import ConfigError

        what = f"trace {config.run.trace}" if config.run.trace else f"workload {config.run.workload!r}"
        raise ConfigError(f"run.iterations = {config.run.iterations}, but the {what} holds only "
                          f"{source.n_iterations} iterations")
    layout = AddressLayout.from_meta(source.meta, config.layout)
    return config, TECHNOLOGIES.get(config.run.memory), source, layout


def _chunks(source, layout, config: Config, iterations: int):
    T = max(1, min(config.run.chunk_iterations, iterations))
    done = 0
    for chunk in source.iter_chunks(T):
        chunk = chunk[: iterations - done]
        if not len(chunk):
            break
        yield layout.to_lines(chunk)
        done += len(chunk)
        if done >= iterations:
            break


def simulate(config: Config, *, schemes: tuple[str, ...] | None = None, source=None, engine: str | None = None,
             progress: bool = False) -> dict[str, TimingResult]:
    """Timing results of each scheme (default ``run.schemes``) over ``run.iterations`` iterations."""
    config, tech, source, layout = _prepare(config, source, progress)
    schemes = tuple(schemes or config.run.schemes)
    iterations = config.run.iterations
    streams = {s: tech.open_stream(s, lines=layout.lines, words=layout.words_per_line, config=config)
               for s in schemes}
    models = {s: TimingModel(config, technology=tech, scheme=s, layout=layout, meta=source.meta,
                             policy=getattr(getattr(streams[s], "encoder", None), "policy", None), engine=engine)
              for s in schemes}
    with tqdm(total=iterations * len(schemes), disable=not progress, desc="timing", unit="it") as bar:
        for lines in _chunks(source, layout, config, iterations):
            for s in schemes:
                models[s].feed(streams[s].feed(lines))
                bar.update(lines.shape[0])
    out = {}
    for s in schemes:
        wear = getattr(streams[s], "wear", None)
        if wear is not None:
            models[s].set_wear(wear)
        out[s] = models[s].finish()
    return out


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
    config, tech, source, layout = _prepare(config, source, progress)
    schemes = tuple(schemes or config.run.schemes)
    iterations = config.run.iterations
    path = Path(out_dir) / "sweep_gap.csv" if out_dir is not None else None
    if path is not None:  # rows on disk are reused only for the configuration that made them
        stamp = path.with_name("sweep_gap.config.toml")
        text = replace(config, {"run.schemes": []}).to_toml()  # schemes may be added on a rerun
        if stamp.is_file() and stamp.read_text(encoding="utf-8") != text:
            from archsim.errors import ConfigError

            raise ConfigError(f"{path.parent}: holds a gap sweep of a different configuration "
                              f"(see {stamp.name}); choose a new --out folder")
        if path.exists() and not stamp.is_file():
            from archsim.errors import ConfigError

            raise ConfigError(f"{path.parent}: sweep_gap.csv has no {stamp.name} (cannot tell which "
                              "configuration made it); choose a new --out folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(text, encoding="utf-8")
    done = pd.read_csv(path) if path is not None and path.exists() else pd.DataFrame()
    have = set(zip(done["scheme"], done["gap_ns"])) if len(done) else set()
    todo = {s: [g for g in gaps_ns if (s, float(g)) not in have] for s in schemes}
    outcomes: dict[str, list] = {}  # scheme -> chunk outcomes
    streams = {s: tech.open_stream(s, lines=layout.lines, words=layout.words_per_line, config=config)
               for s in schemes if todo[s]}
    for lines in _chunks(source, layout, config, iterations) if streams else ():
        for s, st in streams.items():
            outcomes.setdefault(s, []).append(st.feed(lines))
    rows = []
    with tqdm(total=sum(len(v) for v in todo.values()), disable=not progress, desc="gap sweep") as bar:
        for s in schemes:
            for g in todo[s]:
                cfg = replace(config, {"timing.access_pattern": "minimal", "timing.gap_ns": float(g)})
                model = TimingModel(cfg, technology=tech, scheme=s, layout=layout, meta=source.meta,
                                    policy=getattr(getattr(streams[s], "encoder", None), "policy", None))
                for o in outcomes[s]:
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

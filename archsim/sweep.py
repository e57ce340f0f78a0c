"""Parameter sweeps: many runs over a grid or a list of configuration changes, on Dask.

A sweep file (TOML) has a base configuration and a ``[sweep]`` table::

    base = "my-run.toml"            # or an inline [base] table in the run-config format
    [sweep]
    grid = {"encoding.refresh_unit" = ["line", "word"], "layout.line_bytes" = [32, 64]}
    points = [{"run.workload.lr" = 0.01}, {"run.workload.lr" = 0.001}]

``grid`` is a Cartesian product over any configuration keys; ``points`` is an
explicit list of changes; with both, every point is crossed with the grid.
Each resulting point (a dict of overrides) gets a stable id, a hash of its
changes and of the base configuration, and its results go to
``OUT/points/<id>.parquet`` (one row per scheme, the swept keys as columns;
written atomically, so a file exists only for a finished point) and
``OUT/points/<id>.flips.parquet``. A rerun into the same folder skips the
points whose file exists: interrupt a sweep at any moment and run it again to
finish it. :func:`load_results` returns the combined tidy table.

Points run on a Dask ``distributed`` cluster: a ``LocalCluster`` of worker
processes by default, or an existing cluster given its scheduler address.
"""
from __future__ import annotations

import itertools
import json
import logging
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd
from tqdm.auto import tqdm

from archsim.cluster import load_plugins
from archsim.config import (Config, config_from_mapping, config_with, current_key, digest, read_config_data,
                            read_text)
from archsim.errors import ArchsimError, ConfigError
from archsim.run import setting_label, unread_settings, usable_cpus
from archsim.registry import Registry

MANIFEST = "sweep.json"
_log = logging.getLogger("archsim.sweep")

#: What one point of a sweep runs: name -> ``f(config, cache_dir) -> (summary, second table)``; the
#: summary is one or more rows of the sweep's table, the second table goes to ``<id>.flips.parquet``.
#: ``run`` (the default) is ``archsim run``; a package adds its own (``analog``: ``archsim analog``).
#: A sweep file chooses one with ``[sweep] experiment = "name"``. An experiment may say which keys it
#: reads (``f.reads``: key prefixes, e.g. ``("analog.", "run.seed")``) or which it ignores (``f.ignores``):
#: a sweep over another key would give identical points under different labels, and is refused.
SWEEP_EXPERIMENTS: Registry = Registry("sweep experiment")


def _run_experiment_tables(cfg: Config, cache_dir: str | None = None):
    from archsim.run import run_experiment

    result = run_experiment(cfg, progress=False, cache_dir=cache_dir)
    return result.summary.copy(), result.flips.copy()


_run_experiment_tables.ignores = ("analog.",)  # archsim analog's section
SWEEP_EXPERIMENTS.register("run", _run_experiment_tables)


@dataclass(frozen=True)
class SweepPoint:
    """One configuration of a sweep: its id and its changes to the base (``{"section.key": value}``)."""

    id: str
    overrides: dict[str, Any]


@dataclass
class SweepSpec:
    """A parsed sweep file: the base configuration and the points."""

    base: Config
    points: list[SweepPoint]
    keys: list[str]
    """The swept keys, in order of first appearance (the table's extra columns)."""
    experiment: str = "run"
    """What each point runs (:data:`SWEEP_EXPERIMENTS`)."""
    base_data: dict[str, Any] | None = None
    """The base as written (raw tables): each point's changes apply to it before it is resolved, so a
    changed choice (e.g. ``run.workload``) keeps the parameters the base gave for it."""

    def point_config(self, point: SweepPoint) -> Config:
        """The resolved configuration of ``point``."""
        return config_with(self.base_data if self.base_data is not None else self.base.to_dict(), point.overrides)


def load_sweep(path: str | os.PathLike) -> SweepSpec:
    """Parse and validate a sweep file; every point's configuration is validated here."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: sweep file not found")
    text = read_text(p)  # its own error names the line of a byte that is not UTF-8
    try:
        data = tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or an integer of more digits than Python converts
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    unknown = set(data) - {"base", "sweep"}
    if unknown:
        raise ConfigError(f"{p}: unknown top-level key(s) {', '.join(sorted(unknown))}; a sweep file has "
                          "'base' and '[sweep]'")
    base_data = data.get("base", {})
    if isinstance(base_data, str):
        bpath = p.parent / base_data if not Path(base_data).is_absolute() else Path(base_data)
        try:
            base_data = read_config_data(bpath)
        except ConfigError as exc:
            raise ConfigError(f"{p}: base = {base_data!r}: {exc}") from None
        base = config_from_mapping(base_data, source=str(bpath))
    elif isinstance(base_data, Mapping):
        base = config_from_mapping(base_data, source=f"{p} [base]")
    else:
        raise ConfigError(f"{p}: base must be a table or the path of a config file")
    return make_spec(base, data.get("sweep"), source=str(p), base_data=dict(base_data))


def make_spec(base: Config, sweep: Any, *, source: str = "sweep",
              base_data: Mapping[str, Any] | None = None) -> SweepSpec:
    """Build the points of a ``[sweep]`` table (``grid`` and/or ``points``) over ``base`` (and its raw
    tables ``base_data``, when known: see :attr:`SweepSpec.base_data`)."""
    if not isinstance(sweep, Mapping):
        raise ConfigError(f"{source}: needs a [sweep] table with 'grid' and/or 'points'")
    unknown = set(sweep) - {"grid", "points", "experiment"}
    if unknown:
        raise ConfigError(f"{source}: [sweep] has unknown key(s) {', '.join(sorted(unknown))}; "
                          "use grid, points, experiment")
    experiment = sweep.get("experiment", "run")
    if not isinstance(experiment, str):
        raise ConfigError(f"{source}: sweep.experiment must be a name, not {experiment!r}")
    try:
        runner = SWEEP_EXPERIMENTS.get(experiment)
    except ArchsimError as exc:
        raise ConfigError(f"{source}: sweep.experiment: {exc}") from None
    if "grid" not in sweep and "points" not in sweep:
        raise ConfigError(f"{source}: [sweep] gives neither 'grid' nor 'points': nothing to sweep")
    grid = sweep.get("grid", {})
    explicit = sweep.get("points", [{}])
    if not isinstance(grid, Mapping):
        raise ConfigError(f"{source}: sweep.grid must be a table of key = [values]")
    if "grid" in sweep and not grid:
        raise ConfigError(f"{source}: sweep.grid is empty: give at least one key = [values] (or leave it out and "
                          "give points)")
    for key, values in grid.items():
        if isinstance(values, Mapping):  # TOML read an unquoted dotted key as a table
            parts, inner = [str(key)], values
            while isinstance(inner, Mapping) and inner:
                k = next(iter(inner))
                parts.append(str(k))
                inner = inner[k]
            dotted = ".".join(parts)
            raise ConfigError(f"{source}: sweep.grid.{key} is a table, not a list of values: quote a dotted key, "
                              f'"{dotted}" = [...] (unquoted, TOML reads {dotted} as nested tables)')
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{source}: sweep.grid.{key} must be a non-empty list of values")
    if not isinstance(explicit, list) or not explicit or not all(isinstance(x, Mapping) for x in explicit):
        raise ConfigError(f"{source}: sweep.points must be a non-empty list of tables of changes")
    _check_spellings([*grid, *(k for x in explicit for k in x)], source)
    reads, ignores = getattr(runner, "reads", None), getattr(runner, "ignores", ())
    for key in dict.fromkeys(current_key(str(k)) for k in [*grid, *(k for x in explicit for k in x)]):
        if (reads is not None and not _matches(key, reads)) or _matches(key, ignores):
            raise ConfigError(f"{source}: sweep experiment {experiment!r} does not read {key!r}: its points would "
                              "be the same numbers under different labels"
                              + (f" (it reads {', '.join(reads)})" if reads is not None else ""))
    grid_keys = {str(k): vals for k, vals in grid.items()}
    _check_overlaps(source, "sweep.grid", grid_keys, grid_keys)
    for extra in explicit:
        keyed = {str(k): [v] for k, v in extra.items()}
        _check_overlaps(source, f"point {dict(extra)}", keyed, keyed)
        _check_overlaps(source, f"point {dict(extra)}", keyed, grid_keys, "sweep.grid")
    combos = [dict(zip(grid, vals)) for vals in itertools.product(*grid.values())] if grid else [{}]
    base_hash = digest(base.identity())
    points, seen = [], set()
    same: dict[str, dict] = {}  # the resolved configuration of each point -> its overrides
    unread: list[dict[str, str]] = []  # per point, what archsim run does not read (the "run" experiment)
    keys: list[str] = []
    for extra in explicit:
        for combo in combos:
            overrides = {**{str(k): v for k, v in extra.items()}, **combo}
            for k in overrides:
                if k not in keys:
                    keys.append(k)
            try:
                # validated now, not on a worker an hour later
                cfg = SweepSpec(base, [], [], experiment, base_data).point_config(SweepPoint("", overrides))
                if cfg.run.trace:
                    _check_trace(cfg)
            except ArchsimError as exc:
                raise ConfigError(f"{source}: point {overrides}: {exc}") from None
            ident = {"base": base_hash, "overrides": overrides}
            if experiment != "run":                # ids of existing "run" sweeps stay as they were
                ident["experiment"] = experiment
            pid = digest(ident)[:12]
            if pid in seen:
                raise ConfigError(f"{source}: the point {overrides} appears twice")
            seen.add(pid)
            resolved = digest(cfg.identity())
            if resolved in same:
                raise ConfigError(f"{source}: the points {same[resolved]} and {overrides} are the same configuration "
                                  "(values equal once read, such as 5 and 5.0, or a key set to its default): they "
                                  "would be the same numbers under different labels")
            same[resolved] = overrides
            if experiment == "run":
                unread.append(unread_settings(cfg))
            points.append(SweepPoint(pid, overrides))
    for key in keys if unread else ():
        k = current_key(key)
        hits = [next((p for p in u if k == p or k.startswith(p + ".")), None) for u in unread]
        if all(hits):
            raise ConfigError(f"{source}: the sweep sets {key!r}, but no point reads {setting_label(hits[0])}: "
                              f"{unread[0][hits[0]]}; its points would be the same numbers under different labels")
    return SweepSpec(base, points, keys, experiment, dict(base_data) if base_data is not None else None)


def _matches(key: str, prefixes: Sequence[str]) -> bool:
    """``key`` is one of ``prefixes`` or lies under one (``"analog."`` covers ``analog.rows``)."""
    return any(key == p.rstrip(".") or key.startswith(p if p.endswith(".") else p + ".") for p in prefixes)


def _check_overlaps(source: str, where: str, these: Mapping[str, list], those: Mapping[str, list],
                    other: str | None = None) -> None:
    """One error where two keys of a sweep set the same value: the same key (once in ``these``, once in
    ``those``: a point's key the grid sweeps too, whose value the grid's would silently replace), or a table
    (``layout = {line_bytes = 32}``) and a key inside it (``layout.line_bytes``), which one of them would
    override without the point's label saying so. A choice given by name (``run.workload = "mlp-digits"``)
    and one of its parameters (``run.workload.lr``) do not overlap."""
    for a, a_vals in these.items():
        for b, b_vals in those.items():
            if other is None and a == b:  # a key against itself
                continue
            na, nb = current_key(a), current_key(b)
            table_a = any(isinstance(v, Mapping) for v in a_vals)
            table_b = any(isinstance(v, Mapping) for v in b_vals)
            # the same key, as written or in its current spelling (values, not tables: a moved table of
            # parameters, run.knobs -> run.workload's, is not the choice's name, run.workload = "mlp-digits")
            same = a == b or (na == nb and not table_a and not table_b)
            if same or (table_a and nb.startswith(na + ".")) or (table_b and na.startswith(nb + ".")):
                also = f"{other} sets {b!r}" if other else f"it also sets {b!r}"
                raise ConfigError(f"{source}: {where} sets {a!r} and {also}: the same value set twice, one of "
                                  "them silently lost; set each key once (in the grid or in the points)")


def _check_spellings(keys: Sequence[str], source: str) -> None:
    """Two spellings of one key (an old and its new name) in one sweep are an error. (A whole table
    moved, ``run.knobs`` -> the parameters of ``run.workload``, is not the same key as the choice's name.)"""
    seen: dict[str, str] = {}
    for key in dict.fromkeys(str(k) for k in keys):
        new = current_key(key)
        if new != key and new.count(".") == key.count("."):
            continue
        if new in seen and seen[new] != key:
            raise ConfigError(f"{source}: {seen[new]!r} and {key!r} are the same key (old and new spelling); "
                              f"use {new!r} only")
        seen[new] = key


def _check_trace(cfg: Config) -> None:
    """The point's ``run.trace`` opens and holds ``run.iterations`` (reads the metadata only; an NVMain
    trace, ``run.trace_format = "nvmain"``, is parsed whole: its writes count the iterations)."""
    from workloads import open_trace

    if cfg.run.trace_format == "nvmain":
        from workloads.nvmain import open_nvmain

        n = open_nvmain(cfg.run.trace, line_bytes=cfg.layout.line_bytes).n_iterations
    else:
        n = open_trace(cfg.run.trace).n_iterations
    if cfg.run.iterations > n:
        raise ConfigError(f"run.iterations = {cfg.run.iterations}, but the trace {cfg.run.trace} holds only "
                          f"{n} iterations")


def point_path(out_dir: Path, point_id: str, flips: bool = False) -> Path:
    return out_dir / "points" / (f"{point_id}.flips.parquet" if flips else f"{point_id}.parquet")


class _Collect(logging.Handler):
    """Keeps the messages a point logs on a worker, to be logged again by the client."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append((record.levelno, record.getMessage()))


def run_point(base: Config | Mapping[str, Any], point: SweepPoint, keys: Sequence[str], out_dir: str,
              plugins: Sequence[str] = (), cache_dir: str | None = None,
              experiment: str = "run") -> tuple[str, list[tuple[int, str]]]:
    """Run one point and write its tables atomically; returns the point id and the messages the point
    logged (warnings and errors of the ``archsim.*`` and ``workloads.*`` loggers), which the client logs again:
    a worker's own log goes to the worker's terminal, often on another machine. Runs on a Dask worker.

    ``base`` travels as plain data (the sweep's raw base tables) and the point's configuration is built
    here after the plugins are loaded: a configuration holding a plugin's objects cannot be unpickled
    before that. A point whose table exists already (a worker died after writing it) is not run again."""
    collect = _Collect()
    loggers = [logging.getLogger(name) for name in ("archsim", "workloads")]
    for lg in loggers:
        lg.addHandler(collect)
    try:
        _run_point(base, point, keys, Path(out_dir), plugins, cache_dir, experiment)
    finally:
        for lg in loggers:
            lg.removeHandler(collect)
    return point.id, collect.messages


def _run_point(base, point: SweepPoint, keys: Sequence[str], out: Path, plugins: Sequence[str],
               cache_dir: str | None, experiment: str) -> None:
    if point_path(out, point.id).is_file():
        return
    load_plugins(plugins)
    cfg = config_with(base.to_dict() if isinstance(base, Config) else base, point.overrides)
    summary, second = SWEEP_EXPERIMENTS.get(experiment)(cfg, cache_dir)
    tables = {True: second, False: summary}
    for df in tables.values():
        df.insert(0, "point", point.id)
        for i, key in enumerate(keys):
            value = point.overrides.get(key, _config_value(cfg, current_key(key)))
            df.insert(1 + i, key, _cell(value))
    # flips first, summary last: the summary file marks the point finished
    for is_flips in (True, False):
        final = point_path(out, point.id, is_flips)
        tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        tables[is_flips].to_parquet(tmp, index=False)
        os.replace(tmp, final)


def _cell(value: Any) -> Any:
    """A swept value as a table cell (lists and tables as JSON text)."""
    return json.dumps(value, sort_keys=True) if isinstance(value, (list, tuple, dict)) else value


def _config_value(cfg: Config, key: str) -> Any:
    node: Any = cfg.to_dict()
    for part in key.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    if isinstance(node, Mapping) and isinstance(node.get("name"), str):  # a choice: its name
        return node["name"]
    return node


def run_sweep(spec: SweepSpec, out_dir: str | os.PathLike, *, scheduler: Any = None,
              workers: int | None = None, plugins: Sequence[str] = (), progress: bool = True,
              cache_dir: str | os.PathLike | None = None) -> dict[str, int]:
    """Run the points of ``spec`` not finished yet in ``out_dir``; returns counts
    (``points``, ``skipped``, ``ran``).

    ``scheduler`` says where the points run: the address of a running Dask scheduler
    (``"tcp://host:8786"``), a ``dask.distributed.Client`` (used as it is, left open), or a
    dask cluster (``distributed.deploy.Cluster``: a ``LocalCluster``, a dask-jobqueue
    ``SLURMCluster``/``PBSCluster``, ...; left running). Without it, a ``LocalCluster`` of
    ``workers`` processes (default: one per usable CPU, at most one per point to run), its
    dashboard on the loopback interface. Messages the points log on the workers are logged again
    here (logger ``archsim.sweep``), naming the point."""
    out = Path(out_dir).resolve()
    (out / "points").mkdir(parents=True, exist_ok=True)
    manifest = {"keys": spec.keys, "points": [{"id": p.id, "overrides": p.overrides} for p in spec.points],
                "base": spec.base.to_dict()}
    tmp = out / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, out / MANIFEST)
    (out / "base.toml").write_text(spec.base.to_toml(), encoding="utf-8")
    todo = [p for p in spec.points if not point_path(out, p.id).is_file()]
    counts = {"points": len(spec.points), "skipped": len(spec.points) - len(todo), "ran": 0}
    if not todo:
        return counts
    from workloads.cache import DEFAULT_CACHE_DIR

    cache = str(Path(cache_dir if cache_dir is not None else DEFAULT_CACHE_DIR).resolve())
    from archsim.cluster import check_worker, completed, dask_client

    with dask_client(scheduler, workers, default_workers=min(len(todo), usable_cpus())) as client:
        traces = sorted({str(Path(spec.point_config(p).run.trace).resolve()) for p in todo
                         if spec.point_config(p).run.trace})
        for problem in client.run(check_worker, cache, traces, str(out / "points")).values():  # before any work
            if problem:
                raise ArchsimError(problem)
        base = spec.base_data if spec.base_data is not None else spec.base.to_dict()
        futures = [client.submit(run_point, base, p, spec.keys, str(out), tuple(plugins), cache,
                                 spec.experiment, key=f"archsim-point-{p.id}", pure=False, priority=-i)
                   for i, p in enumerate(todo)]
        with tqdm(total=len(spec.points), initial=counts["skipped"], desc="sweep", unit="point",
                  disable=not progress) as bar:
            for _, (point_id, messages) in completed(futures, "sweep point", "archsim-point-"):
                for level, message in messages:
                    _log.log(level, "sweep point %s: %s", point_id, message)
                counts["ran"] += 1
                bar.update()
    return counts


def load_results(out_dir: str | os.PathLike, *, table: str = "summary", complete: bool = False) -> pd.DataFrame:
    """The combined tidy table of a sweep folder: one row per point x scheme (``table="summary"``)
    or per point x scheme x bit group (``table="flips"``), the swept keys as columns, in the
    order of the sweep's points. Points not finished are left out (``complete=True``: an error)."""
    if table not in ("summary", "flips"):
        raise ArchsimError(f"load_results: table must be 'summary' or 'flips', not {table!r}")
    out = Path(out_dir)
    mpath = out / MANIFEST
    if not out.is_dir():
        raise ArchsimError(f"{out}: no such sweep folder")
    if not mpath.is_file():
        raise ArchsimError(f"{out}: no {MANIFEST} (not a sweep folder?)")
    manifest = json.loads(mpath.read_text(encoding="utf-8"))
    frames, missing = [], []
    for p in manifest["points"]:
        path = point_path(out, p["id"], table == "flips")
        if point_path(out, p["id"]).is_file() and path.is_file():
            frames.append(pd.read_parquet(path))
        else:
            missing.append(p["id"])
    if missing and complete:
        raise ArchsimError(f"{out}: {len(missing)} of {len(manifest['points'])} points are not finished")
    if not frames:
        return pd.DataFrame(columns=["point", *manifest["keys"]])
    return pd.concat(frames, ignore_index=True)


__all__ = ["SweepPoint", "SweepSpec", "load_sweep", "make_spec", "run_sweep", "run_point", "load_results"]

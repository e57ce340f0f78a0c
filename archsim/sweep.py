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

import hashlib
import itertools
import json
import logging
import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd
from tqdm.auto import tqdm

from archsim.config import Config, config_from_mapping, current_key, replace
from archsim.errors import ArchsimError, ConfigError

MANIFEST = "sweep.json"


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


def load_sweep(path: str | os.PathLike) -> SweepSpec:
    """Parse and validate a sweep file; every point's configuration is validated here."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: sweep file not found")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    unknown = set(data) - {"base", "sweep"}
    if unknown:
        raise ConfigError(f"{p}: unknown top-level key(s) {', '.join(sorted(unknown))}; a sweep file has "
                          "'base' and '[sweep]'")
    base_data = data.get("base", {})
    if isinstance(base_data, str):
        from archsim.config import load_config

        base = load_config(p.parent / base_data if not Path(base_data).is_absolute() else base_data)
    elif isinstance(base_data, Mapping):
        base = config_from_mapping(base_data, source=f"{p} [base]")
    else:
        raise ConfigError(f"{p}: base must be a table or the path of a config file")
    return make_spec(base, data.get("sweep"), source=str(p))


def make_spec(base: Config, sweep: Any, *, source: str = "sweep") -> SweepSpec:
    """Build the points of a ``[sweep]`` table (``grid`` and/or ``points``) over ``base``."""
    if not isinstance(sweep, Mapping):
        raise ConfigError(f"{source}: needs a [sweep] table with 'grid' and/or 'points'")
    unknown = set(sweep) - {"grid", "points"}
    if unknown:
        raise ConfigError(f"{source}: [sweep] has unknown key(s) {', '.join(sorted(unknown))}; use grid, points")
    grid = sweep.get("grid", {})
    explicit = sweep.get("points", [{}])
    if not isinstance(grid, Mapping):
        raise ConfigError(f"{source}: sweep.grid must be a table of key = [values]")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{source}: sweep.grid.{key} must be a non-empty list of values")
    if not isinstance(explicit, list) or not explicit or not all(isinstance(x, Mapping) for x in explicit):
        raise ConfigError(f"{source}: sweep.points must be a non-empty list of tables of changes")
    grid = {_current(k, source): v for k, v in grid.items()}
    explicit = [{_current(str(k), source): v for k, v in x.items()} for x in explicit]
    combos = [dict(zip(grid, vals)) for vals in itertools.product(*grid.values())] if grid else [{}]
    base_hash = _hash(_id_view(base.to_dict()))
    points, seen = [], set()
    keys: list[str] = []
    for extra in explicit:
        for combo in combos:
            overrides = {**{str(k): v for k, v in extra.items()}, **combo}
            for k in overrides:
                if k not in keys:
                    keys.append(k)
            try:
                cfg = replace(base, overrides)     # validate now, not on a worker an hour later
                if cfg.run.trace:
                    _check_trace(cfg)
            except ArchsimError as exc:
                raise ConfigError(f"{source}: point {overrides}: {exc}") from None
            pid = _hash({"base": base_hash, "overrides": overrides})[:12]
            if pid in seen:
                raise ConfigError(f"{source}: the point {overrides} appears twice")
            seen.add(pid)
            points.append(SweepPoint(pid, overrides))
    return SweepSpec(base, points, keys)


def _current(key: str, source: str) -> str:
    new = current_key(key)
    if new != key:
        logging.getLogger("archsim.config").warning("note: %s: %s is now %s (read as such)", source, key, new)
    return new


def _check_trace(cfg: Config) -> None:
    """The point's ``run.trace`` opens and holds ``run.iterations`` (reads the metadata only)."""
    from workloads import open_trace

    n = open_trace(cfg.run.trace).n_iterations
    if cfg.run.iterations > n:
        raise ConfigError(f"run.iterations = {cfg.run.iterations}, but the trace {cfg.run.trace} holds only "
                          f"{n} iterations")


#: Keys added to the configuration after point ids were introduced, with their defaults: left out of
#: the id while they hold the default, so that the points of existing sweep folders keep their ids
#: (and a rerun still skips them).
LATER_KEYS: dict[tuple[str, str], Any] = {("run", "wear_leveling"): {"name": "none"}, ("run", "iteration_time_s"): 0.01}


def _id_view(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    for (section, key), default in LATER_KEYS.items():
        if out.get(section, {}).get(key, None) == default:
            del out[section][key]
    return out


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def point_path(out_dir: Path, point_id: str, flips: bool = False) -> Path:
    return out_dir / "points" / (f"{point_id}.flips.parquet" if flips else f"{point_id}.parquet")


def run_point(base: Config, point: SweepPoint, keys: Sequence[str], out_dir: str, plugins: Sequence[str] = (),
              cache_dir: str | None = None) -> str:
    """Run one point and write its tables atomically; returns the point id. Runs on a Dask worker."""
    _load_plugins(plugins)
    from archsim.run import run_experiment

    out = Path(out_dir)
    cfg = replace(base, point.overrides)
    result = run_experiment(cfg, progress=False, cache_dir=cache_dir)
    tables = {True: result.flips.copy(), False: result.summary.copy()}
    for df in tables.values():
        df.insert(0, "point", point.id)
        for i, key in enumerate(keys):
            value = point.overrides.get(key, _config_value(cfg, key))
            df.insert(1 + i, key, _cell(value))
    # flips first, summary last: the summary file marks the point finished
    for is_flips in (True, False):
        final = point_path(out, point.id, is_flips)
        tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        tables[is_flips].to_parquet(tmp, index=False)
        os.replace(tmp, final)
    return point.id


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


def _load_plugins(plugins: Sequence[str]) -> None:
    from archsim.registry import load_plugin

    for spec in plugins:
        mod = f"archsim_plugin_{Path(spec).stem}" if spec.endswith(".py") else spec
        if mod not in sys.modules:
            load_plugin(spec)


def run_sweep(spec: SweepSpec, out_dir: str | os.PathLike, *, scheduler: str | None = None,
              workers: int | None = None, plugins: Sequence[str] = (), progress: bool = True,
              cache_dir: str | os.PathLike | None = None) -> dict[str, int]:
    """Run the points of ``spec`` not finished yet in ``out_dir``; returns counts
    (``points``, ``skipped``, ``ran``). ``scheduler``: address of an existing Dask
    scheduler; otherwise a ``LocalCluster`` of ``workers`` processes (default: one per
    core, at most one per point to run)."""
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
    cache = str(Path(cache_dir).resolve()) if cache_dir is not None else \
        str((Path.cwd() / ".archsim-cache" / "traces").resolve())
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except Exception as exc:
            raise ArchsimError(f"--scheduler {scheduler}: cannot connect: {exc}") from None
    else:
        n = workers or min(len(todo), os.cpu_count() or 1)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(cluster)
    try:
        futures = [client.submit(run_point, spec.base, p, spec.keys, str(out), tuple(plugins), cache,
                                 key=f"archsim-point-{p.id}", pure=False, priority=-i)
                   for i, p in enumerate(todo)]
        with tqdm(total=len(spec.points), initial=counts["skipped"], desc="sweep", unit="point",
                  disable=not progress) as bar:
            for fut in as_completed(futures):
                try:
                    fut.result()
                except ArchsimError:
                    raise
                except Exception as exc:
                    raise ArchsimError(f"sweep point failed: {type(exc).__name__}: {exc}") from exc
                counts["ran"] += 1
                bar.update()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return counts


def load_results(out_dir: str | os.PathLike, *, table: str = "summary", complete: bool = False) -> pd.DataFrame:
    """The combined tidy table of a sweep folder: one row per point x scheme (``table="summary"``)
    or per point x scheme x bit group (``table="flips"``), the swept keys as columns, in the
    order of the sweep's points. Points not finished are left out (``complete=True``: an error)."""
    out = Path(out_dir)
    mpath = out / MANIFEST
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

"""The ``archsim analog`` experiment: a grid of in-situ training runs with their software baselines.

A grid point is a configuration (``[analog]`` changes such as the preset, the optimiser, the ADC
bits, any ``--vary`` key) and a seed. Every point trains the network in situ; every distinct
baseline (the same network, optimiser, data and seed on float weights) is trained once and joined
to its points. Points run in worker processes (``jobs``) and each finished one is saved in
``DIR/.checkpoints`` (JSON keyed by its whole configuration), so an interrupted experiment resumes
with what it had not finished; the tables are bit-identical for the same configuration and seeds.

Tables (accuracies in %): ``analog`` (one row per point) and ``analog_curves`` (accuracy per epoch
of every point and baseline, ``kind`` = "in-situ" or "baseline").
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd
from tqdm.auto import tqdm

from archsim.config import Config, check_seed, digest, replace
from archsim.errors import ArchsimError, ConfigError

#: Keys of every row (the issue's columns first; the varied keys are added after ``seed``).
TABLE_COLUMNS = ("preset", "optimizer", "adc_bits", "seed", "test_accuracy", "baseline_accuracy",
                 "accuracy_vs_baseline", "train_accuracy", "ltp_pulses", "ltd_pulses", "max_device_pulses",
                 "mean_device_pulses", "devices", "updates", "programming_energy_pj", "programming_time_ns",
                 "adc_conversions", "adc_energy_pj", "macs", "read_energy_pj", "lifetime_updates", "model",
                 "mapping", "network", "levels", "ltp_label", "ltd_label", "on_off", "sigma_c2c", "sigma_d2d",
                 "dac_bits", "rounding", "epochs")
CURVE_COLUMNS = ("kind", "preset", "optimizer", "adc_bits", "seed", "epoch", "test_accuracy", "train_accuracy",
                 "loss")


@dataclass(frozen=True)
class Point:
    """One grid point: its changes to the base configuration and its seed."""

    changes: tuple[tuple[str, Any], ...]
    seed: int

    def config(self, base: Config) -> Config:
        return replace(base, dict(self.changes)) if self.changes else base


def grid(base: Config, axes: Mapping[str, Sequence[Any]], seeds: Sequence[int]) -> list[Point]:
    """The Cartesian product of ``axes`` ({"analog.key": [values]}) and ``seeds``, each validated."""
    import itertools

    if not seeds:
        raise ConfigError("no seeds given")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds must be distinct: {list(seeds)}")
    for s in seeds:  # the range of run.seed
        check_seed(s, "seeds")
    keys = list(axes)
    for k, vals in axes.items():
        if not vals:
            raise ConfigError(f"{k}: give at least one value")
        if len(set(map(str, vals))) != len(vals):
            raise ConfigError(f"{k}: a value is named twice: {', '.join(map(str, vals))}")
    points = []
    for combo in itertools.product(*(axes[k] for k in keys)):
        changes = tuple(zip(keys, combo))
        try:
            Point(changes, 0).config(base)
        except ArchsimError as exc:
            raise ConfigError(f"{', '.join(f'{k}={v}' for k, v in changes)}: {exc}") from None
        points += [Point(changes, s) for s in seeds]
    return points


def _key(obj: Any) -> str:
    return digest(obj)[:20]


def _baseline_config(cfg: Config) -> dict[str, Any]:
    """What a baseline depends on: the network, optimiser, epochs and batch (not the device)."""
    a = cfg.to_dict()["analog"]
    return {k: a[k] for k in ("network", "optimizer", "epochs", "batch_size")}


def run_task(kind: str, analog_toml: str, seed: int) -> dict[str, Any]:
    """Train one point (``kind`` "in-situ") or baseline; runs in a worker process."""
    import tomllib

    from archsim.analog.train import train
    from archsim.config import config_from_mapping

    cfg = config_from_mapping(tomllib.loads(analog_toml))
    r = train(cfg.analog, seed=seed, analog=kind == "in-situ")
    return {"test_accuracy": r.test_accuracy, "train_accuracy": r.train_accuracy, "curve": r.curve,
            "summary": r.summary, "seconds": r.seconds}


def row_of(cfg: Config, seed: int, res: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """One row of the ``analog`` table from a point's and its baseline's results."""
    a = cfg.analog
    dev = a.device()
    row = {"preset": a.preset, "optimizer": a.optimizer.name, "adc_bits": a.adc_bits, "seed": seed,
           "test_accuracy": 100 * res["test_accuracy"], "baseline_accuracy": 100 * base["test_accuracy"],
           "accuracy_vs_baseline": 100 * (res["test_accuracy"] - base["test_accuracy"]),
           "train_accuracy": 100 * res["train_accuracy"], **res["summary"],
           "model": a.model.name, "mapping": a.mapping, "network": a.network, "levels": dev.levels,
           "ltp_label": dev.ltp_label, "ltd_label": dev.ltd_label, "on_off": dev.on_off,
           "sigma_c2c": dev.sigma_c2c, "sigma_d2d": a.sigma_d2d, "dac_bits": a.dac_bits,
           "rounding": a.rounding.name, "epochs": a.epochs}
    return row


def curve_rows(kind: str, cfg: Config, seed: int, res: Mapping[str, Any]) -> list[dict[str, Any]]:
    a = cfg.analog
    return [{"kind": kind, "preset": a.preset if kind == "in-situ" else "software", "optimizer": a.optimizer.name,
             "adc_bits": a.adc_bits if kind == "in-situ" else 0, "seed": seed, "epoch": c["epoch"],
             "test_accuracy": 100 * c["test_accuracy"], "train_accuracy": 100 * c["train_accuracy"],
             "loss": c["loss"]} for c in res["curve"]]


@dataclass
class AnalogOutput:
    table: pd.DataFrame
    curves: pd.DataFrame
    config: Config
    varied: list[str]
    seconds: list[float]
    """Wall-clock seconds of each row's in-situ training (machine-dependent: ``run.json``, not the table)."""

    def write(self, out_dir, *, figures: bool = True, overwrite: bool = False) -> list[Path]:
        """Tables, ``config.toml``, ``run.json`` and figures into ``out_dir`` (a path or a claimed
        :class:`~archsim.outputs.OutputFolder`), then the manifest."""
        import json

        from archsim.outputs import OutputFolder

        folder = out_dir if isinstance(out_dir, OutputFolder) else OutputFolder(
            out_dir, "analog", overwrite=overwrite, resumable=True, state=(".checkpoints",))
        files = folder.table(self.table, "analog") + folder.table(self.curves, "analog_curves")
        files.append(folder.text("config.toml", self.config.to_toml()))
        files.append(folder.text("run.json", json.dumps({"seconds": self.seconds}) + "\n"))
        if figures:
            files += write_figures(self.table, self.curves, folder, self.varied)
        folder.complete()
        return files


def write_figures(table: pd.DataFrame, curves: pd.DataFrame, out, varied: Sequence[str] = ()) -> list[Path]:
    """Every figure the table supports (a figure needs its axis to vary), into the
    :class:`~archsim.outputs.OutputFolder` ``out``."""
    from plots.analog import (accuracy_curves_figure, accuracy_per_preset_figure, accuracy_vs_adc_bits_figure,
                              accuracy_vs_key_figure)

    files: list[Path] = []
    fig = accuracy_curves_figure(curves)
    files += out.figure(fig, "analog_curves")
    if table["preset"].nunique() > 1:
        files += out.figure(accuracy_per_preset_figure(table), "analog_presets")
    if table["adc_bits"].nunique() > 1:
        files += out.figure(accuracy_vs_adc_bits_figure(table), "analog_adc_bits")
    for col in ("ltp_label", "ltd_label", "sigma_c2c", "levels", "sigma_d2d", "on_off"):
        if table[col].nunique() > 1 and table["preset"].nunique() == 1:
            files += out.figure(accuracy_vs_key_figure(table, col), f"analog_vs_{col}")
    return files


def run_analog(base: Config, points: Sequence[Point], *, jobs: int = 1, checkpoint_dir=None,
               progress: bool = True, varied: Sequence[str] = ()) -> AnalogOutput:
    """Train every point and its baseline (each baseline once); resumable through ``checkpoint_dir``."""
    if jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, not {jobs}")
    tasks: dict[str, tuple[str, Config, int]] = {}
    point_keys, base_keys = [], []
    for p in points:
        cfg = p.config(base)
        kp = _key({"kind": "in-situ", "analog": cfg.to_dict()["analog"], "seed": p.seed})
        kb = _key({"kind": "baseline", "analog": _baseline_config(cfg), "seed": p.seed})
        tasks.setdefault(kp, ("in-situ", cfg, p.seed))
        tasks.setdefault(kb, ("baseline", cfg, p.seed))
        point_keys.append(kp)
        base_keys.append(kb)
    results: dict[str, dict] = {}
    ck = Path(checkpoint_dir) if checkpoint_dir is not None else None
    todo = []
    for k, t in tasks.items():
        got = _load(ck, k)
        if got is None:
            todo.append(k)
        else:
            results[k] = got
    with tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc="analog", unit="run",
              disable=not progress) as bar:
        if jobs == 1 or len(todo) <= 1:
            for k in todo:
                kind, cfg, seed = tasks[k]
                results[k] = run_task(kind, cfg.to_toml(), seed)
                _save(ck, k, results[k])
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=min(jobs, len(todo))) as pool:
                futs = {pool.submit(run_task, tasks[k][0], tasks[k][1].to_toml(), tasks[k][2]): k for k in todo}
                for f in as_completed(futs):
                    k = futs[f]
                    try:
                        results[k] = f.result()
                    except ArchsimError:
                        raise
                    except Exception as exc:
                        raise ArchsimError(f"analog run failed: {type(exc).__name__}: {exc}") from exc
                    _save(ck, k, results[k])
                    bar.update()
    rows, curves, seen_base, seconds = [], [], set(), []
    for p, kp, kb in zip(points, point_keys, base_keys):
        cfg = p.config(base)
        row = row_of(cfg, p.seed, results[kp], results[kb])
        seconds.append(round(results[kp]["seconds"], 3))
        for key, value in p.changes:
            row.setdefault(key, value)
        rows.append(row)
        curves += curve_rows("in-situ", cfg, p.seed, results[kp])
        if kb not in seen_base:
            seen_base.add(kb)
            curves += curve_rows("baseline", cfg, p.seed, results[kb])
    extra = [k for k in varied if k not in TABLE_COLUMNS]
    table = pd.DataFrame(rows)
    cols = [c for c in TABLE_COLUMNS if c in table.columns] + [c for c in table.columns
                                                             if c not in TABLE_COLUMNS]
    table = table[cols]
    return AnalogOutput(table, pd.DataFrame(curves, columns=list(CURVE_COLUMNS)), base, list(varied) or extra,
                        seconds)


def _path(ck: Path, key: str) -> Path:
    return ck / f"{key}.json"


def _load(ck: Path | None, key: str):
    if ck is None or not _path(ck, key).is_file():
        return None
    try:
        return json.loads(_path(ck, key).read_text(encoding="utf-8"))
    except ValueError:
        return None  # torn by an interruption: recompute


def _save(ck: Path | None, key: str, res: dict) -> None:
    if ck is None:
        return
    ck.mkdir(parents=True, exist_ok=True)
    tmp = ck / f".{key}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(res, default=float), encoding="utf-8")
    os.replace(tmp, _path(ck, key))


def sweep_tables(cfg: Config, cache_dir: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``analog`` sweep experiment: one point of ``archsim sweep`` (``[sweep] experiment =
    "analog"``) is one in-situ run and its baseline at ``run.seed``; returns (summary, curves)."""
    seed = cfg.run.seed
    res = run_task("in-situ", cfg.to_toml(), seed)
    base = run_task("baseline", cfg.to_toml(), seed)
    summary = pd.DataFrame([row_of(cfg, seed, res, base)])
    curves = pd.DataFrame(curve_rows("in-situ", cfg, seed, res) + curve_rows("baseline", cfg, seed, base))
    return summary, curves

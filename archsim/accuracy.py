"""The accuracy experiment: train a workload under several write schemes in the closed loop.

Every scheme trains the same workload from the same seed (same initialisation,
same batch order); the only difference is what the memory returns
(:mod:`archsim.closed_loop`). ``baseline`` is exact storage with the full-SET
data-comparison write (``dcw``, the scheme DAP is built on), so its accuracy is
that of the open loop, bit for bit; other names are write schemes of the
configured memory technology (``ps``, ``dap``, ``appwom``, ...), or
``technology:scheme`` for another technology (e.g. ``racetrack:fixed-ones``).

The trainer's intermediate data (the input batch and every layer's output, kept
from the forward to the backward pass) goes through the same scheme: written at
the forward pass, read back where the loss and the backward pass need it, at the
clock's times (DAP's layer-aware policy lossy-SETs it when its lifetime is below
the retention time).

For each scheme the table holds the final train and test accuracy (%), and the
energy, average write latency and lifetime of the same run's weight and bias
writes (the initial store included); ``decayed_cells`` counts the decayed lossy
cells of both kinds of data, ``decayed_weight_cells`` and
``decayed_intermediate_cells`` each kind, ``intermediate_lossy_set_flips`` and
``intermediate_energy_pj`` the lossy SETs and energy of the intermediate
writes. The curves hold the accuracy every ``eval_every`` iterations.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from archsim.closed_loop import IterationClock, SchemeMemory
from archsim.config import Config, digest, dump_toml
from archsim.errors import ConfigError

BASELINE = "baseline"
BASELINE_SCHEME = "dcw"

TABLE_COLUMNS = ("scheme", "train_accuracy", "test_accuracy", "final_loss", "energy_pj",
                 "energy_per_iteration_pj", "avg_write_latency_ns", "lifetime_iterations", "bit_flips",
                 "max_cell_flips", "decayed_cells", "lossy_set_flips", "iterations", "decayed_weight_cells",
                 "decayed_intermediate_cells", "intermediate_lossy_set_flips", "intermediate_energy_pj")


@dataclass
class AccuracyOutput:
    table: pd.DataFrame
    """One row per scheme (accuracies in %)."""
    curves: pd.DataFrame
    """scheme, iteration, train_accuracy, test_accuracy (%), loss."""
    config: Config
    workload: str

    seconds: dict[str, float]
    """Wall-clock seconds per scheme (machine-dependent: in ``run.json``, not in the tables)."""

    def write(self, out_dir, *, figures: bool = True, overwrite: bool = False) -> list:
        """Write the tables, ``config.toml``, ``run.json`` and the curves figure into ``out_dir`` (a path or
        a claimed :class:`~archsim.outputs.OutputFolder`), then the manifest."""
        import json

        from archsim.outputs import OutputFolder

        folder = out_dir if isinstance(out_dir, OutputFolder) else OutputFolder(
            out_dir, "accuracy", overwrite=overwrite, resumable=True, state=(CHECKPOINTS,))
        written = []
        for name, df in (("accuracy", self.table), ("accuracy_curves", self.curves)):
            written += folder.table(df, name)
        written.append(folder.text("config.toml", self.config.to_toml()))
        written.append(folder.text("run.json", json.dumps({"workload": self.workload, "seconds": self.seconds},
                                                          indent=2) + "\n"))
        if figures:
            written += folder.figure(plot_curves(self.curves, title=self.workload), "accuracy_curves")
        folder.complete()
        return written


#: The folder (inside the output folder) that keeps each finished scheme, for resuming.
CHECKPOINTS = ".checkpoints"


def split_scheme(spec: str, default_memory: str) -> tuple[str, str]:
    """``"scheme"`` or ``"technology:scheme"`` -> (technology, scheme)."""
    if spec == BASELINE:
        return default_memory, BASELINE_SCHEME
    if ":" in spec:
        tech, scheme = spec.split(":", 1)
        if not tech.strip() or not scheme.strip():
            raise ConfigError(f"scheme {spec!r}: give SCHEME or MEMORY:SCHEME")
        return tech, scheme
    return default_memory, spec


def check_schemes(config: Config, schemes: Sequence[str]) -> None:
    """The schemes of an accuracy experiment, checked before any training: each ``baseline``, ``SCHEME`` or
    ``MEMORY:SCHEME`` registered, none twice (``dcw`` and ``pcm:dcw`` are one scheme)."""
    from archsim.contracts import TECHNOLOGIES

    if not schemes:
        raise ConfigError("no schemes given")
    resolved = [s if s == BASELINE else split_scheme(s, config.run.memory) for s in schemes]
    if len(set(resolved)) != len(resolved):
        raise ConfigError(f"a scheme is named twice: {', '.join(schemes)}")
    for r in resolved:
        if r != BASELINE:
            TECHNOLOGIES.get(r[0]).schemes.get(r[1])   # an unknown memory or scheme: one error with the choices


def _model_description(wl, seed: int, knobs: dict[str, Any]):
    from workloads.builtin import NumpyWorkload

    if not isinstance(wl, NumpyWorkload):
        raise ConfigError(f"workload {wl.name!r} has no built-in trainer: the closed loop needs one "
                          f"(lenet-digits, mlp-digits, lenet-mnist, mlp-mnist)")
    k = wl.resolve_knobs(knobs)
    model = type(wl).build_model(np.random.default_rng([seed, 0]))
    tensors, schedule = model.describe(momentum=float(k["momentum"]) > 0)
    batch = int(k["batch_size"])
    if batch < 1:  # before the memory is sized for it (the trainer checks the upper bound)
        raise ConfigError(f"workload {wl.name!r}: knob batch_size must be at least 1, not {batch}")
    return tensors, schedule, batch


def run_scheme(config: Config, workload: str, spec: str, *, iterations: int, seed: int, eval_every: int,
               knobs: dict[str, Any] | None = None, progress: bool = False,
               timing: bool = False) -> tuple[dict, list[dict]]:
    """Train ``workload`` with memory scheme ``spec``; returns (table row, curve rows, wall-clock seconds).

    The clock: the configured iteration time and FLOP schedule (:class:`IterationClock`), or with
    ``timing`` the timing model's simulated times of the same workload, scheme and seed
    (:func:`archsim.timing.clock.timing_clock`)."""
    from workloads import WORKLOADS

    knobs = dict(knobs or {})
    wl = WORKLOADS.get(workload)()
    tensors, schedule, batch = _model_description(wl, seed, knobs)
    params = [t for t in tensors if t.kind in ("weight", "bias")]
    inter = [t for t in tensors if t.kind == "intermediate"]
    tech, scheme = split_scheme(spec, config.run.memory)
    t0 = time.perf_counter()
    if timing:
        from archsim.timing.clock import timing_clock

        clock = timing_clock(config, workload=workload, scheme=scheme, memory=tech, iterations=iterations, seed=seed,
                             knobs=wl.resolve_knobs(knobs), tensors=tensors)
    else:
        clock = IterationClock(config.run.iteration_time_s, tensors, schedule, batch)
    memory = SchemeMemory(scheme, config, params, clock=clock, memory=tech, intermediates=inter, batch_size=batch)
    tr = wl.trainer(seed=seed, memory=memory, intermediate=memory, **knobs)
    curve = []
    loss = float("nan")

    def evaluate(i: int) -> None:
        curve.append({"scheme": spec, "iteration": i, "train_accuracy": 100 * tr.accuracy("train"),
                      "test_accuracy": 100 * tr.accuracy("test"), "loss": loss})

    evaluate(0)
    with tqdm(total=iterations, disable=not progress, desc=f"{workload} / {spec}", unit="it") as bar:
        for i in range(1, iterations + 1):
            loss = float(tr.step())
            if i % eval_every == 0 or i == iterations:
                evaluate(i)
            bar.update()
    result = memory.result()
    s = result.summary()
    si = memory.intermediate_result().summary()
    row = {"scheme": spec, "train_accuracy": curve[-1]["train_accuracy"], "test_accuracy": curve[-1]["test_accuracy"],
           "final_loss": loss, "energy_pj": s.get("energy_pj"), "energy_per_iteration_pj": s.get("energy_per_iteration_pj"),
           "avg_write_latency_ns": s.get("avg_write_latency_ns"), "lifetime_iterations": s.get("lifetime_iterations"),
           "bit_flips": s.get("bit_flips"), "max_cell_flips": s.get("max_cell_flips"),
           "decayed_cells": s.get("decayed_cells", 0) + si.get("decayed_cells", 0),
           "lossy_set_flips": s.get("lossy_set_flips", 0), "iterations": iterations,
           "decayed_weight_cells": s.get("decayed_cells", 0), "decayed_intermediate_cells": si.get("decayed_cells", 0),
           "intermediate_lossy_set_flips": si.get("lossy_set_flips", 0), "intermediate_energy_pj": si.get("energy_pj")}
    return row, curve, time.perf_counter() - t0


def run_accuracy(config: Config, *, workload: str, schemes: Sequence[str], iterations: int, seed: int,
                 eval_every: int = 10, knobs: dict[str, Any] | None = None, progress: bool = True,
                 checkpoint_dir=None, timing: bool = False) -> AccuracyOutput:
    """Train under every scheme (same seed) and collect the table and curves (``timing``: decay on the
    timing model's clock, see :func:`run_scheme`).

    With ``checkpoint_dir``, each finished scheme is saved there (JSON, keyed by the
    configuration and arguments) and reused by a later call with the same key: an
    interrupted experiment resumes with the schemes it had not finished."""
    if iterations < 1:
        raise ConfigError(f"iterations must be >= 1, not {iterations}")
    if config.wear_leveling.name != "none":
        raise ConfigError(f"wear_leveling = {config.wear_leveling.name!r}: the closed loop (archsim accuracy) does "
                          "not level wear; its lifetimes are without levelling. Use archsim run for levelled "
                          "lifetimes, or wear_leveling = \"none\" here")
    if eval_every < 1:
        raise ConfigError(f"eval_every must be >= 1, not {eval_every}")
    if seed < 0:
        raise ConfigError(f"seed must not be negative, not {seed}")
    check_schemes(config, schemes)
    rows, curves, seconds = [], [], {}
    key = _run_key(config, workload, iterations, seed, eval_every, knobs, timing)
    for spec in schemes:
        done = _load_checkpoint(checkpoint_dir, spec, key)
        if done is None:
            row, curve, secs = run_scheme(config, workload, spec, iterations=iterations, seed=seed,
                                          eval_every=eval_every, knobs=knobs, progress=progress, timing=timing)
            _save_checkpoint(checkpoint_dir, spec, key, row, curve, secs)
        else:
            row, curve, secs = done
        rows.append(row)
        curves += curve
        seconds[spec] = round(secs, 3)
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    base = table[table["scheme"] == BASELINE]
    if len(base):
        b = base.iloc[0]
        table["test_accuracy_vs_baseline"] = table["test_accuracy"] - b["test_accuracy"]
        table["latency_speedup_vs_baseline"] = b["avg_write_latency_ns"] / table["avg_write_latency_ns"]
        table["lifetime_vs_baseline"] = table["lifetime_iterations"] / b["lifetime_iterations"]
        table["energy_vs_baseline"] = table["energy_pj"] / b["energy_pj"]
    return AccuracyOutput(table, pd.DataFrame(curves), config, workload, seconds)


def plot_curves(curves: pd.DataFrame, *, title: str = ""):
    """Test and train accuracy per scheme against iterations (a matplotlib Figure)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.8), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for scheme, df in curves.groupby("scheme", sort=False):
        for ax, col in zip(axes, ("test_accuracy", "train_accuracy")):
            ax.plot(df["iteration"], df[col], label=scheme, lw=1.4)
    for ax, name in zip(axes, ("test", "train")):
        ax.set_title(f"{title} {name} accuracy".strip())
        ax.grid(alpha=0.3)
        ax.set_ylim(0, 100)
        ax.set_xlabel("training iteration")
    axes[0].set_ylabel("accuracy (%)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(handles), 6), frameon=False)
    return fig


def _run_key(config: Config, workload, iterations, seed, eval_every, knobs, timing: bool = False) -> str:
    key = {"config": dump_toml(config.identity()), "workload": workload, "iterations": iterations, "seed": seed,
           "eval_every": eval_every, "knobs": {k: str(v) for k, v in sorted((knobs or {}).items())}}
    if timing:  # keys of runs on the configured clock stay as they were
        key["timing"] = True
    return digest(key)


def _checkpoint_path(checkpoint_dir, spec: str):
    from pathlib import Path

    return Path(checkpoint_dir) / (spec.replace(":", "__").replace("/", "_") + ".json")


def _load_checkpoint(checkpoint_dir, spec: str, key: str):
    import json

    if checkpoint_dir is None:
        return None
    p = _checkpoint_path(checkpoint_dir, spec)
    if not p.is_file():
        return None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except ValueError:
        return None  # a torn file from an interrupted write: recompute
    if data.get("key") != key or "seconds" not in data:
        return None
    return data["row"], data["curve"], data["seconds"]


def _save_checkpoint(checkpoint_dir, spec: str, key: str, row: dict, curve: list, seconds: float) -> None:
    import json
    import os

    if checkpoint_dir is None:
        return
    p = _checkpoint_path(checkpoint_dir, spec)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".tmp")
    tmp.write_text(json.dumps({"key": key, "row": row, "curve": curve, "seconds": seconds}), encoding="utf-8")
    os.replace(tmp, p)

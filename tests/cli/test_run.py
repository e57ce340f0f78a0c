"""The run pipeline (archsim.run): streamed chunks equal a one-shot replay, determinism across
thread counts, approximation error, per-bit-group flips, observers, config round trip."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from archsim.config import Config, load_config, replace
from archsim.pcm import replay
from archsim.errors import ConfigError, RegistryError
from archsim.layout import AddressLayout
from archsim.results import SUMMARY_COLUMNS
from archsim.run import OBSERVERS, ObserverReport, RunObserver, run_experiment
from workloads.meta import TensorSpec, TraceMeta, layout_params
from workloads.trace_writer import TraceWriter

ALL = ["preset", "prereset", "dcw", "fnw", "wom-set", "appwom"]


def tiny_meta() -> TraceMeta:
    tensors = layout_params([
        TensorSpec("conv.weight", "conv", "weight", (3, 2, 2, 2)),
        TensorSpec("conv.bias", "conv", "bias", (3,)),
        TensorSpec("fc.weight", "fc", "weight", (5, 12)),
        TensorSpec("fc.bias", "fc", "bias", (5,)),
    ])
    return TraceMeta(model="tiny", dataset="none", optimizer="sgd", learning_rate=0.01, batch_size=4,
                     seed=0, recorder="test", recorder_version="1", tensors=tensors)


def training_values(iterations: int, n: int, seed: int = 0, step: float = 0.01) -> np.ndarray:
    """A random walk of weights (small SGD-like steps), with a few weights stuck at 0."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 0.3, n)
    out = np.empty((iterations, n), np.float32)
    for t in range(iterations):
        w = w - step * rng.standard_normal(n) * np.abs(w)
        w[:3] = 0.0
        out[t] = w
    return out


def write_tiny_trace(path: Path, iterations: int = 40, seed: int = 0) -> tuple[Path, np.ndarray]:
    meta = tiny_meta()
    values = training_values(iterations, meta.n_params, seed)
    with TraceWriter(path, meta, rows_per_chunk=8, fsync=False) as w:
        for i, row in enumerate(values):
            w.append(row, iteration=i, loss=0.0)
    return path, values


def tiny_config(trace: Path, **changes) -> Config:
    cfg = load_config(None, [f"run.trace={trace}", "run.iterations=40", "run.chunk_iterations=7"])
    return replace(cfg, changes) if changes else cfg


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    return write_tiny_trace(tmp_path_factory.mktemp("run") / "tiny.trace")


def test_streamed_run_equals_one_shot_replay(trace):
    path, values = trace
    out = run_experiment(tiny_config(path), progress=False)
    assert list(out.summary["scheme"]) == ALL
    assert list(out.summary.columns[: len(SUMMARY_COLUMNS)]) == list(SUMMARY_COLUMNS)
    lay = AddressLayout.from_meta(out.meta, out.config.layout)
    lines = lay.to_lines(values)
    assert lay.lines == 2 + 1 + 4 + 1                       # 24, 3, 60, 5 values in 16-word lines
    for scheme in ALL:
        ref = replay(scheme, lines).summary()                # one chunk, no layout code
        row = out.summary.set_index("scheme").loc[scheme]
        for key in ("bit_flips", "set_flips", "reset_flips", "energy_pj", "max_cell_flips", "refreshes",
                    "silent_writes", "avg_write_latency_ns", "lifetime_iterations", "mean_cell_flips"):
            assert row[key] == ref[key], (scheme, key)
    # flips by bit group add up to every programmed cell
    flips = out.flips.groupby("scheme", sort=False)["flips"].sum()
    assert (flips.loc[ALL].to_numpy() == out.summary["bit_flips"].to_numpy()).all()


def test_bit_group_labels(trace):
    out = run_experiment(tiny_config(trace[0], **{"run.schemes": ["preset", "fnw", "appwom", "wom-set"]}),
                         progress=False)
    f = out.flips
    assert list(f[f.scheme == "preset"]["group"]) == ["S"] + [f"E{i}" for i in range(1, 9)] + \
        [f"M{i}" for i in range(1, 24)]
    assert list(f[f.scheme == "fnw"]["group"])[-1] == "flag0"
    app = list(f[f.scheme == "appwom"]["group"])
    assert app[:2] == ["S+E1", "E2+E3"] and app[5] == "M2+M13" and app[-1] == "M12+M23"
    assert list(f[f.scheme == "wom-set"]["group"])[-1] == "M22+M23"
    assert (f[f.scheme == "appwom"]["cells"] == 3).all() and (f[f.scheme == "preset"]["cells"] == 1).all()


def test_deterministic_across_threads_and_chunks(trace):
    a = run_experiment(tiny_config(trace[0]), progress=False, workers=1)
    b = run_experiment(tiny_config(trace[0], **{"run.chunk_iterations": 40}), progress=False, workers=4)
    cols = [c for c in a.summary.columns]
    pd.testing.assert_frame_equal(a.summary[cols], b.summary[cols])
    pd.testing.assert_frame_equal(a.flips, b.flips)


def test_approximation_error(trace):
    path, values = trace
    out = run_experiment(tiny_config(path, **{"run.schemes": ["appwom", "preset"]}), progress=False)
    lay = AddressLayout.from_meta(out.meta, out.config.layout)
    stored = lay.from_lines(replay("appwom", lay.to_lines(values)).stored).astype(np.float64)
    w = values.astype(np.float64)
    nz = w != 0
    rel = np.abs(stored - w)[nz] / np.abs(w[nz])
    row = out.summary.set_index("scheme")
    assert rel.max() > 0                                    # the trace does exercise the approximation
    assert row.loc["appwom", "approx_max_rel_error"] == pytest.approx(rel.max(), rel=1e-12)
    assert row.loc["appwom", "approx_mean_rel_error"] == pytest.approx(rel.mean(), rel=1e-9)
    assert row.loc["appwom", "approx_inexact_fraction"] == pytest.approx(
        np.mean(stored.astype(np.float32).view(np.uint32) != values.view(np.uint32)))
    assert rel.max() < 2.0 ** -10                           # only M13..M23 are approximate
    assert row.loc["preset", "approx_max_rel_error"] == 0.0


def test_observers_see_every_chunk_in_order(trace, tmp_path):
    calls = []

    class Counter(RunObserver):
        def start(self, ctx):
            self.ctx = ctx
            self.sets = {}

        def chunk(self, scheme, first_iteration, outcome):
            calls.append((first_iteration, scheme, outcome.outcome.shape))
            o = outcome.outcome.astype(np.int64)
            self.sets[scheme] = self.sets.get(scheme, 0) + int(o[..., 0].sum() + o[..., 2].sum())

        def finish(self):
            import matplotlib.figure

            fig = matplotlib.figure.Figure()
            fig.subplots().plot([1, 2])
            return ObserverReport(columns={s: {"observed_set_flips": v} for s, v in self.sets.items()},
                                  tables={"observed": pd.DataFrame({"scheme": list(self.sets)})},
                                  figures={"observed": fig})

    cfg = tiny_config(trace[0], **{"run.schemes": ["wom-set", "preset"]})
    obs = Counter(cfg)
    out = run_experiment(cfg, observers=[obs], progress=False, workers=2)
    firsts = list(range(0, 40, 7))
    assert [c[:2] for c in calls] == [(f, s) for f in firsts for s in ("wom-set", "preset")]
    assert calls[-1][2] == (40 - 35, out.layout.lines, 5)
    assert obs.ctx.iterations == 40 and obs.ctx.schemes == ("wom-set", "preset") and obs.ctx.layout.lines == 8
    s = out.summary.set_index("scheme")
    assert (s["observed_set_flips"] == s["set_flips"]).all()
    files = out.write(tmp_path / "r")
    names = {p.name for p in files}
    assert {"observed.csv", "observed.parquet", "observed.png", "observed.pdf"} <= names
    assert "observed_set_flips" in pd.read_csv(tmp_path / "r" / "summary.csv").columns


def test_registered_observer_by_name():
    with pytest.raises(RegistryError, match="unknown run observer 'nope'"):
        OBSERVERS.get("nope")


def test_config_round_trip_and_identical_rerun(trace, tmp_path):
    out = run_experiment(tiny_config(trace[0]), progress=False)
    out.write(tmp_path / "a", figures=False)
    again = load_config(tmp_path / "a" / "config.toml")
    assert again == out.config
    assert again.run.schemes == tuple(ALL) and Path(again.run.trace).is_absolute()
    out2 = run_experiment(again, progress=False)
    out2.write(tmp_path / "b", figures=False)
    for name in ("summary.csv", "bit_flips.csv", "ratios.csv", "config.toml"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_line_layout_changes_line_level_effects(tmp_path):
    """Line size and refresh unit change WOM figures, so the layout is real: when few words of a
    line change per iteration, a longer line is exhausted (and refreshed whole) more often."""
    meta = tiny_meta()
    rng = np.random.default_rng(1)
    values = np.repeat(rng.normal(0, 0.3, meta.n_params)[None], 40, axis=0).astype(np.float32)
    for t in range(1, 40):             # weight i changes only every 9th iteration
        values[t:, (np.arange(meta.n_params) % 9) == t % 9] *= np.float32(1.001)
    with TraceWriter(tmp_path / "sparse.trace", meta, rows_per_chunk=8, fsync=False) as w:
        for i, row in enumerate(values):
            w.append(row, iteration=i, loss=0.0)
    base = tiny_config(tmp_path / "sparse.trace", **{"run.schemes": ["wom-set"]})
    small = run_experiment(replace(base, {"layout.line_bytes": 16}), progress=False).summary.iloc[0]
    big = run_experiment(replace(base, {"layout.line_bytes": 128}), progress=False).summary.iloc[0]
    word = run_experiment(replace(base, {"encoding.refresh_unit": "word"}), progress=False).summary.iloc[0]
    assert big["bit_flips"] > small["bit_flips"] > word["bit_flips"]


def test_bad_inputs(trace):
    with pytest.raises(ConfigError, match="holds only 40 iterations"):
        run_experiment(tiny_config(trace[0], **{"run.iterations": 41}), progress=False)
    with pytest.raises(ConfigError, match="unknown PCM write scheme"):
        tiny_config(trace[0], **{"run.schemes": ["preset", "bogus"]})


def test_results_do_not_depend_on_the_chunk_size():
    from archsim.config import load_config
    from archsim.run import run_experiment

    tables = []
    for chunk in (64, 7, 1):
        cfg = load_config(None, ["run.workload=mlp-digits", "run.iterations=12", "run.schemes=appwom,dap,preset",
                                 f"run.chunk_iterations={chunk}"])
        out = run_experiment(cfg, progress=False)
        tables.append((out.summary.to_csv(index=False), out.flips.to_csv(index=False)))
    assert tables[0] == tables[1] == tables[2]  # bit for bit, approximation error included


def test_chunk_bound_is_in_bytes_with_a_floor_in_iterations():
    """The effective chunk is run.chunk_iterations, or fewer so that a line buffer holds at most CHUNK_BYTES,
    but never fewer than CHUNK_MIN_ITERATIONS (the kernels' cache reuse across a chunk's iterations)."""
    from archsim.config import load_config
    from archsim.layout import AddressLayout
    from archsim.run import CHUNK_BYTES, CHUNK_MIN_ITERATIONS, chunk_iterations

    cfg = load_config(None, ["run.chunk_iterations=64"])
    small = AddressLayout([("w", 1000)], words_per_line=16)
    assert chunk_iterations(cfg, small) == 64
    lenet = AddressLayout([("w", 431_080)], words_per_line=16)       # 1.7 MB an iteration: the byte bound
    assert chunk_iterations(cfg, lenet) == CHUNK_BYTES // (4 * lenet.words) == 19
    googlenet = AddressLayout([("w", 5_977_530)], words_per_line=16)  # 24 MB an iteration: the floor
    assert CHUNK_BYTES // (4 * googlenet.words) == 1
    assert chunk_iterations(cfg, googlenet) == CHUNK_MIN_ITERATIONS == 8
    assert chunk_iterations(load_config(None, ["run.chunk_iterations=3"]), googlenet) == 3   # the user's word


def test_the_training_pattern_chunk_counts_the_intermediate_lines():
    """A timed run of the training pattern holds each chunk's intermediate data (content, outcomes,
    service times) beside the weights': synthetic-lenet's 161,552 intermediate lines make its chunk the
    floor of 8 iterations instead of the weights' 19 (4.3 -> 3.5 GB at 250 iterations, as fast)."""
    import workloads
    from archsim.config import load_config
    from archsim.layout import AddressLayout
    from archsim.observers import RunContext
    from archsim.run import CHUNK_MIN_ITERATIONS, run_chunk_iterations
    from archsim.timing.observer import TimingObserver

    meta = workloads.make_source("synthetic-lenet", iterations=2, seed=0).meta
    for pattern, lines, chunk in (("training", 161_552, CHUNK_MIN_ITERATIONS), ("minimal", 0, 19)):
        cfg = load_config(None, [f"timing.access_pattern={pattern}"])
        layout = AddressLayout.from_meta(meta, cfg.layout)
        ctx = RunContext(cfg, None, ("preset",), None, meta, layout, 2, None)
        obs = TimingObserver(cfg)
        assert obs.chunk_lines(ctx) == lines
        assert run_chunk_iterations(ctx, [obs]) == chunk
        assert run_chunk_iterations(ctx, []) == 19


def test_a_timed_training_run_replays_in_the_chunks_that_count_the_intermediate_lines(tmp_path, monkeypatch):
    """The replay itself takes the bound that counts the observer's lines: with a chunk bound of 16
    iterations of mlp-digits' weights, the training pattern's intermediate lines make the chunks shorter;
    the run's output and run.json say so, and the tables are those of the longer chunks."""
    import json

    import archsim.run
    from archsim.config import load_config
    from archsim.run import chunk_iterations, run_experiment

    base = ["run.workload=mlp-digits", "run.iterations=12", "run.chunk_iterations=64", "run.schemes=['preset']",
            "run.observers=['timing']", "timing.access_pattern=training"]
    plain = run_experiment(load_config(None, base), progress=False)
    assert plain.chunk_iterations == 64   # nothing bounds it
    monkeypatch.setattr(archsim.run, "CHUNK_MIN_ITERATIONS", 1)
    monkeypatch.setattr(archsim.run, "CHUNK_BYTES", 16 * 4 * plain.layout.words)  # 16 iterations of the weights
    chunks = []
    real = archsim.run._line_chunks
    monkeypatch.setattr(archsim.run, "_line_chunks", lambda *a, **k: chunks.append(a[2]) or real(*a, **k))
    out = run_experiment(load_config(None, base), progress=False)
    assert chunk_iterations(out.config, out.layout) == 16
    assert chunks == [out.chunk_iterations] and 1 <= out.chunk_iterations < 12
    out.write(tmp_path / "r", figures=False)
    assert json.loads((tmp_path / "r" / "run.json").read_text())["chunk_iterations_effective"] == out.chunk_iterations
    for name in ("timing_banks", "timing_overall", "timing_lifetimes"):
        pd.testing.assert_frame_equal(out.tables[name], plain.tables[name], check_exact=True, obj=name)

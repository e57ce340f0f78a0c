"""The figures: importing plots keeps the user's matplotlib backend, every plot function returns a Figure
with labelled axes (units), one y scale per figure, no bars on a log axis, legends outside the axes,
engineering units chosen from the data."""
from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

import plots
import plots.analog
from plots._style import eng_unit, wants_log

ROOT = Path(__file__).resolve().parents[2]
SCHEMES = ["preset", "prereset", "dcw", "fnw", "wom-set", "appwom"]


def test_importing_plots_and_drawing_keeps_the_backend_and_loads_no_pyplot():
    code = ("import matplotlib, sys; before = matplotlib.get_backend(); "
            "import plots, plots.analog, archsim.timing.figures, archsim.accuracy, archsim.results, archsim.cli.report; "
            "import pandas as pd; "
            "plots.energy_figure(pd.DataFrame({'scheme': ['a'], 'energy_per_iteration_pj': [1.0]})).savefig('/dev/null', format='png'); "
            "print(before, matplotlib.get_backend(), 'matplotlib.pyplot' in sys.modules)")
    env = {**os.environ, "MPLBACKEND": "svg"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT, env=env)
    assert out.stdout.split() == ["svg", "svg", "False"], out.stdout + out.stderr


def test_no_module_switches_the_backend():
    offenders = [str(p.relative_to(ROOT)) for pkg in ("plots", "archsim", "workloads") for p in (ROOT / pkg).rglob("*.py")
                 if "matplotlib.use(" in p.read_text(encoding="utf-8") or "import matplotlib.pyplot" in
                 p.read_text(encoding="utf-8").replace("                import matplotlib.pyplot", "")]
    assert offenders == [], offenders


def _summary(memory="pcm", schemes=SCHEMES, scale=1.0):
    n = len(schemes)
    return pd.DataFrame({
        "scheme": schemes, "memory": memory, "workload": "tiny", "iterations": 40, "n_params": 80,
        "energy_per_iteration_pj": np.linspace(2.0e5, 1.1e6, n) * scale,
        "lifetime_iterations": np.linspace(5e7, 2e8, n), "avg_write_latency_ns": np.linspace(125, 1000, n),
        "energy_pj": np.linspace(2.0e5, 1.1e6, n) * 40 * scale, "bit_flips": np.arange(1, n + 1) * 1000,
    })


def _flips():
    rows = []
    for s in ("preset", "appwom"):
        for i in range(32 if s == "preset" else 16):
            rows.append({"scheme": s, "position": i, "group": "S" if i == 0 else ("E%d" % i if i < 9 else "M%d" % i),
                         "flips": 0 if i == 1 else 10 ** (1 + i % 5), "flips_per_word_iteration": 0.01 * i})
    return pd.DataFrame(rows)


def _bitstats():
    names = ["S"] + [f"E{i}" for i in range(1, 9)] + [f"M{i}" for i in range(1, 24)]
    return pd.DataFrame({"name": names, "ones_fraction": np.linspace(0, 1, 32), "change_rate": np.linspace(0, .5, 32)})


def _sweep_table():
    rows = []
    for p, lb in enumerate((32, 64, 128)):
        for mem, schemes in (("pcm", ["preset", "dcw", "appwom"]), ("racetrack", ["naive", "dcw"])):
            for k, s in enumerate(schemes):
                rows.append({"point": f"p{p}{mem}", "layout.line_bytes": lb, "run.memory": mem, "memory": mem,
                             "scheme": s, "energy_pj": 100.0 * (k + 1) * (p + 1) * (2 if mem == "pcm" else 1),
                             "avg_write_latency_ns": 125.0 * (k + 1),
                             "lifetime_iterations": 1e8 * (k + 1) if mem == "pcm" else np.nan,
                             "bit_flips": 1000 * (k + 1)})
    return pd.DataFrame(rows)


def _banks():
    return pd.DataFrame([{"scheme": s, "bank": f"c0.r0.b{b}", "write_avg_latency_ns": 250.0 + 1000 * i,
                          "utilisation": 0.3 + 0.01 * b, "mean_cell_flips": 5.0 + i}
                         for i, s in enumerate(("preset", "appwom")) for b in range(4)])


def _analog():
    rows, curves = [], []
    for preset in ("agsi", "pcmo"):
        for opt in ("sgd", "momentum"):
            for seed in (0, 1):
                rows.append({"preset": preset, "optimizer": opt, "seed": seed, "adc_bits": 4 + 2 * seed,
                             "ltd_label": 1.0 + seed, "test_accuracy": 80.0 + seed, "baseline_accuracy": 95.0})
                for e in range(3):
                    curves.append({"kind": "in-situ", "preset": preset, "optimizer": opt, "adc_bits": 4, "epoch": e,
                                   "seed": seed, "test_accuracy": 50.0 + 10 * e})
    curves += [{"kind": "baseline", "preset": "", "optimizer": "sgd", "adc_bits": 0, "epoch": e, "seed": 0,
                "test_accuracy": 90.0} for e in range(3)]
    return pd.DataFrame(rows), pd.DataFrame(curves)


def _cases():
    s = _summary()
    a, c = _analog()
    sweep = _sweep_table()
    ratios = plots.sweep_ratio_table(sweep, ["layout.line_bytes", "run.memory"])
    return {
        "energy_figure": lambda: plots.energy_figure({"pcm": s, "racetrack": _summary("racetrack", ["naive", "dcw"])}),
        "lifetime_figure": lambda: plots.lifetime_figure(s),
        "write_latency_figure": lambda: plots.write_latency_figure(s),
        "bit_flips_figure": lambda: plots.bit_flips_figure(_flips()),
        "bit_statistics_figure": lambda: plots.bit_statistics_figure(_bitstats()),
        "bit_statistics_comparison_figure": lambda: plots.bit_statistics_comparison_figure({"a": _bitstats(),
                                                                                             "b": _bitstats()}),
        "scheme_ratio_figure": lambda: plots.scheme_ratio_figure(sweep[sweep.memory == "pcm"], numerator="appwom",
                                                                 denominator="preset", x="layout.line_bytes"),
        "sweep_key_figure": lambda: plots.sweep_key_figure(ratios, "layout.line_bytes",
                                                           ["layout.line_bytes", "run.memory"]),
        "read_latency_by_policy_figure": lambda: plots.read_latency_by_policy_figure(pd.DataFrame(
            {"scheme": ["preset", "appwom"] * 2, "policy": ["fcfs"] * 2 + ["cancel"] * 2,
             "queued_avg_read_latency_ns": [250.0, 300, 240, 260]})),
        "appwom_prereset_figure": lambda: plots.appwom_prereset_figure(pd.DataFrame(
            {"pattern": "steps", "policy": "fcfs", "gap_ns": [1e3, 1e4, 1e5], "ratio": [1.2, 0.9, 0.6]})),
        "wear_distribution_figure": lambda: plots.wear_distribution_figure(pd.DataFrame(
            {"scheme": "dcw", "leveller": ["none"] * 3 + ["start-gap"] * 3, "bin_lo": [0, 1, 2] * 2,
             "bin_hi": [1, 2, 3] * 2, "cells": [10, 100, 1000, 30, 300, 0]})),
        "lifetime_levellers_figure": lambda: plots.lifetime_levellers_figure(pd.DataFrame(
            {"scheme": ["dcw", "dcw", "appwom", "appwom"], "wear_leveling": ["none", "start-gap"] * 2,
             "lifetime_levelled_iterations": [1e6, 1e8, 2e6, 3e8], "lifetime_mean_iterations": [2e8, 2e8, 4e8, 4e8]})),
        "racetrack_counts_figure": lambda: plots.racetrack_counts_figure(pd.DataFrame(
            {"scheme": ["naive", "dcw"], "insertions": [6.7e6, 1.4e6], "removals": [1.2e7, 1.1e6],
             "shifts": [2.5e7, 2.5e7], "detects": [0, 1.2e7], "latency_ns": [2.9e7, 1.6e7]})),
        "timing_banks_figure": lambda: plots.timing_banks_figure(_banks(), title="pcm"),
        "gap_knee_figure": lambda: plots.gap_knee_figure(pd.DataFrame(
            {"scheme": ["preset"] * 3 + ["appwom"] * 3, "gap_ns": [1e3, 1e4, 1e5] * 2,
             "device_avg_write_latency_ns": [125.0, 125, 125, 900, 600, 300],
             "queued_avg_write_latency_ns": [300.0, 200, 150, 2000, 900, 350]}), set_ns=125, reset_ns=1000),
        "accuracy_curves_figure": lambda: plots.analog.accuracy_curves_figure(c),
        "accuracy_vs_key_figure": lambda: plots.analog.accuracy_vs_key_figure(a, "ltd_label"),
        "accuracy_vs_adc_bits_figure": lambda: plots.analog.accuracy_vs_adc_bits_figure(a),
        "accuracy_per_preset_figure": lambda: plots.analog.accuracy_per_preset_figure(a),
    }


def _public_figure_functions() -> set[str]:
    names = {n for n in plots.__all__ if n.endswith("_figure")}
    names |= {n for n, f in inspect.getmembers(plots.analog, inspect.isfunction)
              if n.endswith("_figure") and f.__module__ == "plots.analog"}
    return names


def test_every_public_plot_function_has_a_case():
    assert _public_figure_functions() == set(_cases())


@pytest.mark.parametrize("name", sorted(_cases()))
def test_figure_rules(name):
    fig = _cases()[name]()
    assert type(fig) is Figure and isinstance(fig.canvas, FigureCanvasBase)
    assert fig.canvas.manager is None                       # not a pyplot figure
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert axes
    assert len({ax.get_yscale() for ax in axes}) == 1, "one y scale per figure"
    for ax in axes:
        ylabels = [a.get_ylabel() for a in ax.get_shared_y_axes().get_siblings(ax)]
        assert any(ylabels), f"{name}: an axes without a y label"
        ylabel = next(y for y in ylabels if y)
        assert "(" in ylabel or "ratio" in ylabel, f"{name}: no unit in {ylabel!r}"
        xlabels = [a.get_xlabel() for a in ax.get_shared_x_axes().get_siblings(ax)]
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        assert any(xlabels) or any(fig_ax.get_xlabel() for fig_ax in axes) or any(ticks), f"{name}: no x label"
        if ax.get_yscale() == "log":
            assert not [c for c in ax.containers if isinstance(c, BarContainer)], f"{name}: bars on a log axis"
    fig.draw_without_rendering()
    renderer = fig._get_renderer()
    legends = [ax.get_legend() for ax in axes if ax.get_legend() is not None] + list(fig.legends)
    for leg in legends:      # legends outside the axes, never over the data or a title
        lb = leg.get_window_extent(renderer)
        for ax in axes:
            ab = ax.get_window_extent(renderer)
            assert lb.y0 >= ab.y1 - 1 or lb.y1 <= ab.y0 + 1 or lb.x0 >= ab.x1 - 1 or lb.x1 <= ab.x0 + 1, \
                f"{name}: a legend lies over the axes"
            for text in (ax.title, fig._suptitle):
                if text is not None and text.get_text():
                    assert not lb.overlaps(text.get_window_extent(renderer)), f"{name}: a legend hides a title"


def test_bit_flips_panels_share_one_axis_and_draw_points_on_log():
    fig = plots.bit_flips_figure(_flips())
    a, b = fig.axes[:2]
    assert a.get_yscale() == b.get_yscale() == "log" and a.get_ylim() == b.get_ylim()
    lin = plots.bit_flips_figure(_flips().assign(flips=lambda d: 100 + d["position"]))
    assert {ax.get_yscale() for ax in lin.axes} == {"linear"} and lin.axes[0].get_ylim()[0] == 0
    assert all(ax.containers for ax in lin.axes)             # bars from 0 on a linear axis


def test_engineering_units_from_the_data():
    assert eng_unit([2.12e5, 5e4], "pJ") == (1e3, "nJ")
    assert eng_unit([9.64e6], "pJ", ascii=True) == (1e6, "uJ")
    assert eng_unit([9.64e6], "pJ") == (1e6, "µJ")
    assert eng_unit([3e9], "pJ") == (1e9, "mJ")
    assert eng_unit([999.0], "ns") == (1.0, "ns") and eng_unit([2.5e4], "ns") == (1e3, "µs")
    assert eng_unit([5e7, 2e8], "") == (1e6, "million")
    assert eng_unit([0, np.nan], "pJ") == (1.0, "pJ")
    assert wants_log([1, 21]) and not wants_log([1, 20]) and not wants_log([0, 0])
    fig = plots.energy_figure(_summary())
    (ax,) = fig.axes
    assert ax.get_ylabel() == "energy per iteration (µJ)" and ax.get_yscale() == "linear"
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx(list(_summary()["energy_per_iteration_pj"] / 1e6))
    assert "pcm, tiny, 40 iterations, 80 values" in fig._suptitle.get_text()


def test_schemes_are_keyed_by_memory():
    fig = plots.energy_figure({"a": _summary(), "b": _summary("racetrack", ["naive", "dcw"])})
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert "dcw\n(pcm)" in ticks and "dcw\n(racetrack)" in ticks and len(ticks) == 8
    with pytest.raises(ValueError, match="several memories"):
        plots.scheme_ratio_table(_sweep_table(), numerator="dcw", denominator="preset", metric="energy_pj",
                                 keys=["layout.line_bytes"])
    with pytest.raises(ValueError, match=r"denominator 'AppWOM' is not a scheme of the table \(.*dcw"):
        plots.scheme_ratio_table(_sweep_table(), numerator="dcw", denominator="AppWOM", metric="energy_pj",
                                 keys=["layout.line_bytes"], memory="pcm")   # all-NaN ratios, a blank figure
    r = plots.sweep_ratio_table(_sweep_table(), ["layout.line_bytes"])
    dcw = r[r.scheme == "dcw"].set_index(["memory", "layout.line_bytes"])["energy_ratio"]
    assert dcw[("pcm", 32)] == pytest.approx(2.0) and dcw[("racetrack", 32)] == pytest.approx(2.0)
    assert set(r[r.memory == "racetrack"]["baseline"]) == {"naive"}
    assert r[r.memory == "racetrack"]["lifetime_ratio"].isna().all()
    r2 = plots.sweep_ratio_table(_sweep_table(), ["layout.line_bytes"], baselines={"pcm": "appwom"})
    assert set(r2[r2.memory == "pcm"]["baseline"]) == {"appwom"} and set(r2[r2.memory == "racetrack"]["baseline"]) == {"naive"}


def _other_threads_rerun(request) -> bool:
    """The forked drawing processes are used only where no other thread is alive (a fork copies one
    thread). In a test process that another test left a thread in (Dask's offload thread, in the full
    suite), run this test again in a fresh interpreter instead; True when it passed there."""
    import threading

    from tqdm import TMonitor

    others = [t.name for t in threading.enumerate() if t is not threading.current_thread() and not isinstance(t, TMonitor)]
    if not others:
        return False
    if os.environ.get("ARCHSIM_TEST_FRESH_PROCESS"):
        pytest.skip(f"other threads are alive even in a fresh process: {', '.join(others)}")
    env = dict(os.environ, ARCHSIM_TEST_FRESH_PROCESS="1")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", request.node.nodeid],
                          cwd=request.config.rootpath, env=env, capture_output=True, text=True)
    assert proc.returncode == 0 and " passed" in proc.stdout, proc.stdout[-4000:] + proc.stderr[-2000:]
    return True


def test_run_figures_drawn_in_a_child_are_the_serial_files(tmp_path, monkeypatch, request):
    """The bit-flips figure drawn by a forked child while this process draws the rest: the same files as the
    figures drawn in the process itself, byte for byte (the PDFs carry no time stamp), in the same order."""
    import archsim.results
    import archsim.run
    from archsim.config import load_config
    from archsim.outputs import OutputFolder
    from archsim.results import draw_run_figures
    from archsim.run import run_experiment

    if _other_threads_rerun(request):
        return
    forked = []
    real = archsim.results._figure_in_child
    monkeypatch.setattr(archsim.results, "_figure_in_child", lambda fig: forked.append(real(fig)) or forked[-1])

    out = run_experiment(load_config(None, ["run.workload=mlp-digits", "run.iterations=3",
                                            "run.schemes=['preset','appwom']"]), progress=False)
    files = {}
    for run, cpus in enumerate((2, 1, 2)):
        monkeypatch.setattr(archsim.run, "usable_cpus", lambda cpus=cpus: cpus)
        folder = OutputFolder(tmp_path / f"run{run}", "run")
        written = draw_run_figures(out.summary, out.flips, folder, title="t")
        files[run] = {p.name: p.read_bytes() for p in written}
        assert [p.name for p in written][:2] == ["bit_flips.png", "bit_flips.pdf"]
    assert list(files[0]) == list(files[1]) == list(files[2]) and "bit_flips.pdf" in files[1]
    for name in files[1]:
        assert files[0][name] == files[1][name] == files[2][name], name
    assert forked[0] is not None and forked[1] is None  # two CPUs: a child drew it; one CPU: no child


def test_a_run_without_figures_does_not_import_matplotlib(tmp_path):
    """``archsim run --no-figures`` (and its summary text, whose units come from ``plots._style``) never
    imports matplotlib: ``plots`` imports a figure's module on first use."""
    script = (
        "import sys\n"
        "from archsim.cli import main\n"
        f"main(['run', '--workload', 'mlp-digits', '--iterations', '3', '--schemes', 'preset,appwom', '--no-figures',"
        f" '--out', {str(tmp_path / 'out')!r}, '--cache-dir', {str(tmp_path / 'cache')!r}])\n"
        "import plots\n"
        "assert callable(plots.MissingColumns) and 'matplotlib' not in sys.modules, sorted("
        "m for m in sys.modules if m.startswith('matplotlib'))[:5]\n"
        "plots.bit_flips_figure\n"
        "assert 'matplotlib.figure' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_figure_that_fails_in_a_drawing_process_is_one_error(tmp_path, monkeypatch, request):
    """The bit-flips PDF drawn by the process the child forks fails: the run reports that error, once,
    naming the figure; no drawing process is left behind."""
    import multiprocessing

    import archsim.results
    import archsim.run
    from archsim.config import load_config
    from archsim.errors import ArchsimError
    from archsim.outputs import OutputFolder
    from archsim.results import draw_run_figures
    from archsim.run import run_experiment

    if _other_threads_rerun(request):
        return
    out = run_experiment(load_config(None, ["run.workload=mlp-digits", "run.iterations=3",
                                            "run.schemes=['preset','appwom']"]), progress=False)
    real = archsim.results.save_figure

    def save(fig, target, fmt, dpi):
        if fmt == "pdf" and fig.get_suptitle().startswith("Bit flips"):
            raise OSError("no room for the PDF")
        real(fig, target, fmt, dpi)

    monkeypatch.setattr(archsim.results, "save_figure", save)
    monkeypatch.setattr(archsim.run, "usable_cpus", lambda: 2)
    with pytest.raises(ArchsimError, match=r"^drawing the bit-flips figure failed: OSError: no room for the PDF$"):
        draw_run_figures(out.summary, out.flips, OutputFolder(tmp_path / "run", "run"), title="t")
    assert not multiprocessing.active_children()


def test_a_run_that_stops_while_the_figures_are_drawn_leaves_no_drawing_process(tmp_path, monkeypatch, request):
    """The run's own figure fails while the process the child forked is still drawing the bit-flips PDF:
    the run's error comes out, and that grandchild is killed with the child (one process group)."""
    import time

    import archsim.results
    import archsim.run
    from archsim.config import load_config
    from archsim.outputs import OutputFolder
    from archsim.results import draw_run_figures
    from archsim.run import run_experiment

    if _other_threads_rerun(request):
        return
    out = run_experiment(load_config(None, ["run.workload=mlp-digits", "run.iterations=3",
                                            "run.schemes=['preset','appwom']"]), progress=False)
    import archsim.outputs
    from archsim.errors import ArchsimError

    real = archsim.results.save_figure
    pid_file = tmp_path / "grandchild.pid"

    def save(fig, target, fmt, dpi):
        if fig.get_suptitle().startswith("Bit flips"):
            if fmt == "pdf":  # the grandchild: says who it is, then draws for a long time
                part = pid_file.with_suffix(".part")  # written whole, then renamed: the run reads all or nothing
                part.write_text(str(os.getpid()))
                os.replace(part, pid_file)
                time.sleep(120)
        else:  # the run itself: fails once the grandchild is drawing
            deadline = time.monotonic() + 30
            while not pid_file.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            raise OSError(28, "No space left on device")
        real(fig, target, fmt, dpi)

    monkeypatch.setattr(archsim.results, "save_figure", save)   # the child's and the grandchild's
    monkeypatch.setattr(archsim.outputs, "save_figure", save)   # the run's own (OutputFolder.figure)
    monkeypatch.setattr(archsim.run, "usable_cpus", lambda: 2)
    with pytest.raises(ArchsimError, match="energy.png: cannot write: No space left on device"):
        draw_run_figures(out.summary, out.flips, OutputFolder(tmp_path / "run", "run"), title="t")
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except FileNotFoundError:
            break
        if state == "Z":  # killed, not yet reaped by its new parent
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        pytest.fail(f"the drawing process {pid} outlived the run")

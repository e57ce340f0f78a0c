"""`archsim report` and the plot functions: figures redrawn from saved tables only."""
from __future__ import annotations

import matplotlib.figure
import pandas as pd
import pytest

import plots
from archsim.cli import main
from archsim.config import replace
from archsim.run import run_experiment
from test_run import tiny_config, write_tiny_trace


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    trace = write_tiny_trace(root / "tiny.trace")[0]
    cfg = tiny_config(trace)
    run_experiment(cfg, progress=False).write(root / "line", figures=False)
    run_experiment(replace(cfg, {"encoding.refresh_unit": "word"}), progress=False).write(root / "word",
                                                                                            figures=False)
    return root


def test_report_two_runs_side_by_side(runs, tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["report", str(runs / "line"), str(runs / "word"), "--out", str(out)]) == 0
    for stem in ("energy", "lifetime", "write_latency", "bit_flips_line", "bit_flips_word"):
        assert (out / f"{stem}.png").stat().st_size > 5000 and (out / f"{stem}.pdf").is_file()
    combined = pd.read_csv(out / "summary_all.csv")
    assert set(combined["run"]) == {"line", "word"} and len(combined) == 12
    line = combined[combined.run == "line"].set_index("scheme")
    word = combined[combined.run == "word"].set_index("scheme")
    assert line.loc["preset", "bit_flips"] == word.loc["preset", "bit_flips"]   # raw: refresh unit moot
    assert line.loc["wom-set", "bit_flips"] != word.loc["wom-set", "bit_flips"]


def test_report_one_run_and_labels(runs, tmp_path, capsys):
    out = tmp_path / "one"
    assert main(["report", str(runs / "line"), "--out", str(out), "--label", "digits"]) == 0
    assert (out / "bit_flips.png").is_file() and (out / "energy.png").is_file()
    assert main(["report", str(runs / "line"), "--out", str(out), "--label", "a", "--label", "b"]) == 2
    assert main(["report", str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert "no such results folder" in capsys.readouterr().err
    # two labels whose file prefixes would be the same: one run's figures would overwrite the other's
    two = [str(runs / "line"), str(runs / "line")]
    assert main(["report", *two, "--out", str(tmp_path / "p"), "--label", "a b", "--label", "a_b"]) == 2
    assert "make the file prefixes 'a_b', 'a_b'" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_plot_functions_read_tables(runs):
    summary = pd.read_parquet(runs / "line" / "summary.parquet")
    flips = pd.read_parquet(runs / "line" / "bit_flips.parquet")
    fig = plots.energy_figure(summary)
    assert isinstance(fig, matplotlib.figure.Figure)
    (ax,) = fig.axes
    heights = [p.get_height() for p in ax.patches]
    factor = {"pJ": 1, "nJ": 1e3, "µJ": 1e6, "mJ": 1e9}[ax.get_ylabel().split("(")[1].rstrip(")")]
    assert heights == pytest.approx(list(summary["energy_per_iteration_pj"] / factor))
    fig = plots.lifetime_figure({"a": summary, "b": summary})
    ax = fig.axes[0]
    drawn = len(ax.patches) if ax.get_yscale() == "linear" else sum(len(l.get_xdata()) for l in ax.lines)
    assert drawn == 12
    fig = plots.bit_flips_figure(flips)
    assert len([a for a in fig.axes if a.get_visible()]) == 6
    with pytest.raises(plots.MissingColumns):
        plots.write_latency_figure(summary.drop(columns=["avg_write_latency_ns"]))
    with pytest.raises(TypeError, match="one DataFrame or a {run label: DataFrame} mapping, not list"):
        plots.energy_figure([summary, summary])
    with pytest.raises(TypeError, match="the table of run 'b' is a str, not a DataFrame"):
        plots.energy_figure({"a": summary, "b": "summary.csv"})


# --------------------------------------------------------------------------- sweeps, timing, console


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory):
    """A tiny sweep over two memories and two line sizes (4 points, one Dask worker)."""
    root = tmp_path_factory.mktemp("sweep")
    trace = write_tiny_trace(root / "tiny.trace", iterations=8)[0]
    (root / "s.toml").write_text(f"""
[base.run]
trace = "{trace}"
iterations = 8
[sweep]
grid = {{"run.memory" = ["pcm", "racetrack"], "layout.line_bytes" = [32, 64]}}
""")
    assert main(["sweep", "--config", str(root / "s.toml"), "--out", str(root / "out"), "--workers", "1",
                 "--no-progress"]) == 0
    return root / "out"


def test_report_on_a_sweep_folder_keeps_technologies_apart(sweep_folder, tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["report", str(sweep_folder), "--out", str(tmp_path / "b2"), "--baseline", "pcm:dcw",
                 "--baseline", "pcm:preset"]) == 2
    assert "--baseline: two baselines for memory pcm: dcw and preset" in capsys.readouterr().err
    assert main(["report", str(sweep_folder), "--out", str(out)]) == 0
    ratios = pd.read_csv(out / "sweep_ratios.csv")
    results = pd.read_csv(sweep_folder / "results.csv")
    assert set(ratios["memory"]) == {"pcm", "racetrack"} and len(ratios) == len(results)
    assert set(ratios.loc[ratios.memory == "pcm", "baseline"]) == {"preset"}
    assert set(ratios.loc[ratios.memory == "racetrack", "baseline"]) == {"naive"}
    assert (ratios.loc[ratios.scheme == ratios.baseline, "energy_ratio"] == 1.0).all()
    # dcw of each memory over that memory's baseline at the same point, by hand
    for mem, base in (("pcm", "preset"), ("racetrack", "naive")):
        r = results[results.memory == mem]
        for point, d in r.groupby("point"):
            e = d.set_index("scheme")["energy_pj"]
            got = ratios[(ratios.point == point) & (ratios.scheme == "dcw")]
            assert len(got) == 1 and got["energy_ratio"].iloc[0] == pytest.approx(e["dcw"] / e[base])
    assert ratios.loc[ratios.memory == "racetrack", "lifetime_ratio"].isna().all()
    assert (out / "sweep_layout.line_bytes.png").stat().st_size > 5000
    assert (out / "sweep_layout.line_bytes.pdf").is_file()
    assert not (out / "sweep_run.memory.png").exists()     # the memory itself: no figure of its own
    out2 = tmp_path / "rep2"
    assert main(["report", str(sweep_folder), "--out", str(out2), "--baseline", "pcm:appwom"]) == 0
    r2 = pd.read_csv(out2 / "sweep_ratios.csv")
    assert set(r2.loc[r2.memory == "pcm", "baseline"]) == {"appwom"}
    assert main(["report", str(sweep_folder), "--out", str(tmp_path / "rep3"), "--baseline", "pcm:nope"]) == 2
    assert "baseline scheme 'nope'" in capsys.readouterr().err


@pytest.fixture(scope="module")
def timing_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("timing")
    trace = write_tiny_trace(root / "tiny.trace", iterations=8)[0]
    return root, trace


def _width(text: str) -> int:
    return max(len(line) for line in text.splitlines())


def test_report_redraws_the_timing_figures_and_the_console_fits_120_columns(timing_runs, tmp_path, capsys):
    root, trace = timing_runs
    capsys.readouterr()
    assert main(["run", "--trace", str(trace), "--timing", "--schemes", "preset,appwom", "--out",
                 str(root / "run"), "--no-progress", "--no-figures"]) == 0
    text = capsys.readouterr().out
    assert _width(text) <= 120, text
    assert "added by the 'timing' observer" in text and "queued avg" in text
    assert "lower is better for energy and write latency" in text and "higher for lifetime" in text
    cfg = root / "t.toml"
    cfg.write_text(f'[run]\ntrace = "{trace}"\niterations = 8\nschemes = ["preset", "appwom"]\n')
    assert main(["timing", "run", "--config", str(cfg), "--out", str(root / "tr"), "--no-progress",
                 "--no-figures"]) == 0
    text = capsys.readouterr().out
    assert _width(text) <= 120, text
    out = tmp_path / "rep"
    assert main(["report", str(root / "run"), str(root / "tr"), "--out", str(out), "--label", "run",
                 "--label", "tr"]) == 0
    for stem in ("energy", "write_latency", "bit_flips", "run_timing_banks", "tr_timing_banks"):
        assert (out / f"{stem}.png").stat().st_size > 5000, stem
    assert main(["run", "--trace", str(trace), "--memory", "racetrack", "--iterations", "8", "--out",
                 str(root / "rt2"), "--no-progress", "--no-figures"]) == 0
    mixed = tmp_path / "mixed"
    assert main(["report", str(root / "run"), str(root / "rt2"), "--out", str(mixed)]) == 0
    assert (mixed / "operations_rt2.png").is_file() and not (mixed / "operations_run.png").exists()
    ticks = pd.read_csv(mixed / "summary_all.csv").groupby("run")["memory"].first().to_dict()
    assert ticks == {"run": "pcm", "rt2": "racetrack"}
    one = tmp_path / "one"
    assert main(["report", str(root / "tr"), "--out", str(one)]) == 0
    assert (one / "timing_banks.png").is_file() and not (one / "energy.png").exists()


def test_console_summary_widths_and_racetrack_operations(timing_runs, capsys):
    from archsim.results import format_summary

    root, trace = timing_runs
    pcm = run_experiment(tiny_config(trace, **{"run.iterations": 8}), progress=False).summary
    text = format_summary(pcm)
    assert _width(text) <= 120
    lines = text.splitlines()
    assert lines[2].split()[:3] == ["count", "uJ", "count"] or "J" in lines[2]   # a unit row, once
    assert sum("iterations" in line for line in lines[:3]) == 1
    capsys.readouterr()
    assert main(["run", "--trace", str(trace), "--memory", "racetrack", "--iterations", "8",
                 "--out", str(root / "rt"), "--no-progress", "--no-figures"]) == 0
    text = capsys.readouterr().out
    assert _width(text) <= 120, text
    for word in ("insertions", "removals", "shifts"):
        assert word in text
    rt = pd.read_csv(root / "rt" / "summary.csv")
    naive = rt.set_index("scheme").loc["naive"]
    assert f"{int(naive['shifts']):,}" in text and f"{int(naive['insertions']):,}" in text
    wide = pcm.assign(**{f"extra_{i}_ns": 1234.5 for i in range(20)})
    text = format_summary(wide, observed={"many": [f"extra_{i}_ns" for i in range(20)]}, width=120)
    assert _width(text) <= 120 and text.count("extra 19") == 1 and text.count("  scheme") >= 3


def test_report_redraws_the_idle_gap_sweep(timing_runs, tmp_path):
    root, trace = timing_runs
    cfg = root / "gap.toml"
    cfg.write_text(f'[run]\ntrace = "{trace}"\niterations = 3\nschemes = ["preset", "appwom"]\n')
    assert main(["timing", "sweep-gap", "--config", str(cfg), "--gaps-ns", "1000,100000", "--out",
                 str(root / "gap"), "--no-progress", "--no-figures"]) == 0
    out = tmp_path / "rep"
    assert main(["report", str(root / "gap"), "--out", str(out)]) == 0
    assert (out / "sweep_gap.png").stat().st_size > 5000 and (out / "sweep_gap.pdf").is_file()

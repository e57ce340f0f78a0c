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


def test_plot_functions_read_tables(runs):
    summary = pd.read_parquet(runs / "line" / "summary.parquet")
    flips = pd.read_parquet(runs / "line" / "bit_flips.parquet")
    fig = plots.energy_figure(summary)
    assert isinstance(fig, matplotlib.figure.Figure)
    (ax,) = fig.axes
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx(list(summary["energy_per_iteration_pj"] / 1e3))
    fig = plots.lifetime_figure({"a": summary, "b": summary})
    assert len(fig.axes[0].patches) == 12
    fig = plots.bit_flips_figure(flips)
    assert len([a for a in fig.axes if a.get_visible()]) == 6
    with pytest.raises(plots.MissingColumns):
        plots.write_latency_figure(summary.drop(columns=["avg_write_latency_ns"]))

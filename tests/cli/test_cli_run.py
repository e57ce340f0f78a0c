"""`archsim run` end to end: files, columns, printed table, reruns from config.toml, bad input."""
from __future__ import annotations

import pandas as pd
import pytest

from archsim.cli import main
from archsim.config import load_config
from archsim.results import SUMMARY_COLUMNS
from test_run import write_tiny_trace

ALL = ["preset", "prereset", "dcw", "fnw", "wom-set", "appwom"]


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    return write_tiny_trace(tmp_path_factory.mktemp("cli") / "tiny.trace")[0]


def test_run_end_to_end(trace, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", "--trace", str(trace), "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "40 iterations of 92 values in 8 lines x 16 words" in text
    for s in ALL:
        assert s in text
    assert "appwom / baseline" in text and "\n  wom-set " in text and "lifetime" in text   # the ratios to WOM-SET
    assert max(len(line) for line in text.splitlines()) <= 120
    for name in ("summary", "bit_flips", "ratios"):
        assert (out / f"{name}.csv").is_file() and (out / f"{name}.parquet").is_file()
    for fig in ("bit_flips", "energy", "lifetime", "write_latency"):
        assert (out / f"{fig}.png").stat().st_size > 5000 and (out / f"{fig}.pdf").is_file()
    summary = pd.read_parquet(out / "summary.parquet")
    assert list(summary.columns[: len(SUMMARY_COLUMNS)]) == list(SUMMARY_COLUMNS)
    assert list(summary["scheme"]) == ALL and (summary["iterations"] == 40).all()
    assert summary.equals(pd.read_csv(out / "summary.csv")[summary.columns].astype(summary.dtypes))
    flips = pd.read_csv(out / "bit_flips.csv")
    assert set(flips["scheme"]) == set(ALL)
    assert {"scheme", "position", "group", "cells", "flips", "share", "max_cell_flips"} <= set(flips.columns)
    ratios = pd.read_csv(out / "ratios.csv")
    assert list(ratios["baseline"]) == ["preset", "prereset", "wom-set"]

    # the written config reruns to bit-identical tables
    out2 = tmp_path / "r2"
    assert main(["run", "--config", str(out / "config.toml"), "--out", str(out2), "--no-progress",
                 "--no-figures"]) == 0
    for name in ("summary.csv", "bit_flips.csv", "config.toml"):
        assert (out / name).read_bytes() == (out2 / name).read_bytes()
    assert not (out2 / "energy.png").exists()


def test_overrides_and_options(trace, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["run", "--trace", str(trace), "--schemes", "appwom,wom-set", "--iterations", "10",
                 "--set", "encoding.refresh_unit=word", "--set", "pcm.set_energy_pj=10",
                 "--set", "encoding.schemes.appwom.initial_polarity=\"10\"",
                 "--out", str(out), "--no-progress", "--no-figures"]) == 0
    s = pd.read_csv(out / "summary.csv").set_index("scheme")
    assert list(s.index) == ["appwom", "wom-set"] and (s["iterations"] == 10).all()
    cfg = (out / "config.toml").read_text()
    assert 'refresh_unit = "word"' in cfg and "set_energy_pj = 10.0" in cfg and 'initial_polarity = "10"' in cfg
    assert s.loc["wom-set", "energy_pj"] == pytest.approx(
        s.loc["wom-set", "set_flips"] * 10 + s.loc["wom-set", "reset_flips"] * 19.2)


def test_config_toml_of_a_trace_run_says_the_workload_was_not_read_and_loads_back(trace, tmp_path, capsys):
    out = tmp_path / "t"
    assert main(["run", "--trace", str(trace), "--schemes", "preset", "--iterations", "3",
                 "--set", "run.workload.name=mlp-digits", "--set", "run.workload.lr=0.5",
                 "--out", str(out), "--no-progress", "--no-figures"]) == 0
    cfg = (out / "config.toml").read_text()
    assert "\n# not read by this run, which replayed run.trace (the trace's own workload)\n[run.workload]\n" in cfg
    again = load_config(out / "config.toml")   # the same configuration, workload and all (identities, resumption)
    assert again.run.trace == str(trace.resolve())
    assert (again.run.workload.name, again.run.workload.params.lr) == ("mlp-digits", 0.5)
    assert main(["run", "--config", str(out / "config.toml"), "--out", str(tmp_path / "t2"), "--no-progress",
                 "--no-figures"]) == 0
    assert (tmp_path / "t2" / "config.toml").read_bytes() == (out / "config.toml").read_bytes()
    assert (tmp_path / "t2" / "summary.csv").read_bytes() == (out / "summary.csv").read_bytes()


def test_synthetic_workload_streams_without_a_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--workload", "synthetic-lenet", "--iterations", "2", "--schemes", "preset",
                 "--no-progress", "--no-figures"]) == 0
    assert "431,080 values in 26,947 lines" in capsys.readouterr().out
    assert not (tmp_path / ".archsim-cache").exists()          # nothing recorded
    (folder,) = list((tmp_path / "archsim-results").iterdir())  # the default, timestamped folder
    assert folder.name.endswith("synthetic-lenet") and (folder / "summary.csv").is_file()


def test_plugin_observer(trace, tmp_path, capsys):
    plugin = tmp_path / "count_plugin.py"
    plugin.write_text(
        "from archsim.run import OBSERVERS, ObserverReport, RunObserver\n"
        "@OBSERVERS.register('count-writes')\n"
        "class Count(RunObserver):\n"
        "    def start(self, ctx): self.n = {s: 0 for s in ctx.schemes}\n"
        "    def chunk(self, scheme, first, outcome): self.n[scheme] += outcome.outcome.shape[0]\n"
        "    def finish(self): return ObserverReport(columns={s: {'observed_iterations': n}\n"
        "                                                     for s, n in self.n.items()})\n")
    out = tmp_path / "p"
    assert main(["--plugin", str(plugin), "run", "--trace", str(trace), "--schemes", "dcw", "--out", str(out),
                 "--observe", "count-writes", "--no-progress", "--no-figures"]) == 0
    assert pd.read_csv(out / "summary.csv")["observed_iterations"].tolist() == [40]


@pytest.mark.parametrize("argv, message", [
    (["--schemes", "preset,bogus"], "unknown PCM write scheme 'bogus'"),
    (["--set", "pcm.bogus=1"], "unknown key 'pcm.bogus'"),
    (["--set", "pcm.set_latency_ns=-5"], "pcm.set_latency_ns must be positive"),
    (["--iterations", "41"], "holds only 40 iterations"),
    (["--memory", "dram"], "unknown memory technology 'dram'"),
    (["--observe", "nope"], "unknown run observer 'nope'"),
])
def test_bad_input_is_one_line(trace, tmp_path, capsys, argv, message):
    assert main(["run", "--trace", str(trace), "--out", str(tmp_path / "x"), "--no-progress", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and err.startswith("archsim: error:")


def test_bad_trace_and_timing_flag(tmp_path, capsys, trace, monkeypatch):
    bad = tmp_path / "bad.trace"
    bad.mkdir()
    assert main(["run", "--trace", str(bad), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and len(err.strip().splitlines()) == 1
    from archsim.run import OBSERVERS

    monkeypatch.delitem(OBSERVERS._items, "timing", raising=False)   # a build without the timing model
    assert main(["run", "--trace", str(trace), "--timing", "--out", str(tmp_path / "y")]) == 2
    assert "--timing needs the 'timing' run observer" in capsys.readouterr().err
    assert main(["run", "--workload", "nope", "--out", str(tmp_path / "z")]) == 2
    assert "unknown workload 'nope'" in capsys.readouterr().err


def test_other_memory_technology(trace, tmp_path, capsys):
    """--memory selects any registered technology; its streams follow the same protocol."""
    from archsim.contracts import TECHNOLOGIES

    tech = TECHNOLOGIES.get("racetrack")
    out = tmp_path / "rt"
    assert main(["run", "--trace", str(trace), "--memory", "racetrack", "--out", str(out), "--no-progress",
                 "--no-figures"]) == 0
    s = pd.read_parquet(out / "summary.parquet")
    assert list(s["scheme"]) == list(tech.default_schemes) and (s["memory"] == "racetrack").all()
    exact = s["scheme"].map(tech.is_exact)
    assert (s.loc[exact, "approx_max_rel_error"] == 0).all()
    assert 'memory = "racetrack"' in (out / "config.toml").read_text()


def test_config_toml_records_observers_and_repeats_a_timing_run(trace, tmp_path, capsys):
    out = tmp_path / "t"
    assert main(["run", "--trace", str(trace), "--schemes", "preset,appwom", "--iterations", "6", "--timing",
                 "--out", str(out), "--no-progress", "--no-figures"]) == 0
    cfg = (out / "config.toml").read_text()
    assert 'observers = [{name = "timing", engine = ""}]' in cfg
    first = pd.read_csv(out / "summary.csv")
    assert {"queued_avg_write_latency_ns", "refresh_misses", "bank_utilisation"} <= set(first.columns)
    assert first["queued_avg_write_latency_ns"].notna().all()
    # the file alone repeats the run, timing included, byte for byte
    again = tmp_path / "t2"
    assert main(["run", "--config", str(out / "config.toml"), "--out", str(again), "--no-progress",
                 "--no-figures"]) == 0
    for name in ("summary.csv", "timing_banks.csv", "timing_overall.csv", "config.toml"):
        assert (out / name).read_bytes() == (again / name).read_bytes(), name
    # --timing on top of a file that already has it adds nothing twice
    third = tmp_path / "t3"
    assert main(["run", "--config", str(out / "config.toml"), "--timing", "--out", str(third), "--no-progress",
                 "--no-figures"]) == 0
    assert (out / "config.toml").read_bytes() == (third / "config.toml").read_bytes()
    # a run without observers records none
    plain = tmp_path / "p"
    assert main(["run", "--trace", str(trace), "--schemes", "dcw", "--iterations", "2", "--out", str(plain),
                 "--no-progress", "--no-figures"]) == 0
    assert "observers = []" in (plain / "config.toml").read_text()
    assert "queued_avg_write_latency_ns" not in pd.read_csv(plain / "summary.csv").columns


def test_run_observers_are_validated(tmp_path):
    from archsim.config import load_config
    from archsim.errors import ConfigError

    assert [o.name for o in load_config(None, ["run.observers=timing"]).run.observers] == ["timing"]
    with pytest.raises(ConfigError, match=r"run.observers\[0\]: unknown run observer 'nope'"):
        load_config(None, ["run.observers=nope"])
    with pytest.raises(ConfigError, match=r"run.observers names an observer twice"):
        load_config(None, ["run.observers=timing,timing"])

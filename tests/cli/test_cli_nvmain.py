"""NVMain traces through the CLI: `archsim trace export --format nvmain` and `archsim run --trace-format
nvmain`. The round trip: a recorded trace exported and replayed back gives the original's tables."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from archsim.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    d = tmp_path_factory.mktemp("nvmain")
    trace = d / "mlp.trace"
    assert main(["record", "--workload", "mlp-digits", "--iterations", "5", "--seed", "1", "--out", str(trace),
                 "--no-progress"]) == 0
    return d, trace


def tables(folder: Path) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_csv(p) for p in sorted(folder.glob("*.csv"))}


def same_tables(a: Path, b: Path, *, ignore=("workload",)) -> list[str]:
    ta, tb = tables(a), tables(b)
    assert set(ta) == set(tb)
    for name in ta:
        x, y = ta[name].drop(columns=[c for c in ignore if c in ta[name]]), tb[name].drop(
            columns=[c for c in ignore if c in tb[name]])
        pd.testing.assert_frame_equal(x, y, check_exact=True, obj=name)
    return sorted(ta)


def test_round_trip_gives_the_same_tables(recorded, capsys):
    d, trace = recorded
    nvt = d / "mlp.nvt"
    assert main(["trace", "export", "--format", "nvmain", str(trace), "--out", str(nvt), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "NVMV1, 5,385 writes (5 iterations x 1,077 lines of 64 bytes), cycles 0..5,384" in out
    assert nvt.read_text().startswith("NVMV1\n0 W 0x0 ")

    common = ["--schemes", "preset,dcw,appwom", "--no-figures", "--no-progress", "--timing"]
    assert main(["run", "--trace", str(trace), "--out", str(d / "original"), *common]) == 0
    assert main(["run", "--trace-format", "nvmain", str(nvt), "--out", str(d / "replayed"), *common]) == 0
    text = capsys.readouterr().out
    assert "mlp.nvt: 5 iterations of 17,226 values in 1,077 lines x 16 words" in text
    assert "NVMV1 trace: 5,385 requests (5,385 writes, 0 reads) on 1,077 written lines; reads and CYCLE not used" in text
    assert "note: OLDDATA" not in text  # the export's OLDDATA is the replay's previous content
    names = same_tables(d / "original", d / "replayed")
    assert {"summary", "bit_flips", "timing_banks", "timing_overall", "timing_lifetimes"} <= set(names)
    summary = pd.read_csv(d / "replayed" / "summary.csv")
    assert summary["workload"].tolist() == ["mlp.nvt"] * 3 and summary["iterations"].tolist() == [5] * 3
    cfg = (d / "replayed" / "config.toml").read_text()
    assert 'trace_format = "nvmain"' in cfg and "mlp.nvt" in cfg

    # without the side file: one tensor of whole lines; only what depends on the tensor boundaries moves
    plain = d / "plain.nvt"
    plain.write_bytes(nvt.read_bytes())
    assert main(["run", "--trace-format", "nvmain", str(plain), "--out", str(d / "plain"), "--iterations", "5",
                 "--schemes", "preset,dcw,appwom", "--no-figures", "--no-progress"]) == 0
    a = pd.read_csv(d / "original" / "summary.csv")
    b = pd.read_csv(d / "plain" / "summary.csv")
    assert b["n_params"].tolist() == [1077 * 16] * 3
    for col in ("bit_flips", "energy_pj", "max_cell_flips", "avg_write_latency_ns", "refreshes"):
        assert a[col].tolist() == b[col].tolist(), col
    capsys.readouterr()


def test_export_options_and_errors(recorded, capsys, tmp_path):
    _d, trace = recorded
    nvt = tmp_path / "e.nvt"
    assert main(["trace", "export", str(trace), "--out", str(nvt), "--iterations", "2", "--period-cycles", "5000",
                 "--first-cycle", "7", "--no-meta", "--no-progress"]) == 0
    rows = nvt.read_text().splitlines()
    assert len(rows) == 1 + 2 * 1077 and rows[1].startswith("7 W 0x0 ") and rows[1078].startswith("5007 W 0x0 ")
    assert not (tmp_path / "e.nvt.meta.json").exists()
    capsys.readouterr()
    assert main(["trace", "export", str(trace), "--out", str(nvt)]) == 2
    assert "exists (--overwrite replaces it)" in capsys.readouterr().err
    assert main(["trace", "export", str(trace), "--out", str(nvt), "--overwrite", "--period-cycles", "3"]) == 2
    assert "shorter than an iteration's 1077 writes" in capsys.readouterr().err
    big = tmp_path / "big.nvt"  # cycles archsim's own reader would refuse: not written
    assert main(["trace", "export", str(trace), "--out", str(big), "--first-cycle", str(10**19)]) == 2
    assert "more than the 9,999,999,999,999,999,999 (19 digits)" in capsys.readouterr().err and not big.exists()


def test_bad_line_is_one_line_on_stderr_exit_2(tmp_path):
    bad = tmp_path / "bad.nvt"
    bad.write_text("NVMV1\n0 W 0x0 " + "00" * 64 + " " + "00" * 64 + " 0\n1 Q 0x40 " + "00" * 64 + " "
                   + "00" * 64 + " 0\n")
    r = subprocess.run([sys.executable, "-m", "archsim", "run", "--trace-format", "nvmain", str(bad),
                        "--out", str(tmp_path / "o"), "--no-progress"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [f"archsim: error: {bad}:3: unknown OP 'Q'; NVMain traces have R (read) "
                                             "and W (write)"]
    r = subprocess.run([sys.executable, "-m", "archsim", "run", "--trace-format", "ramulator", str(bad)],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and "the formats are archsim, nvmain" in r.stderr


def test_config_keys_and_sweep_check(recorded, tmp_path):
    from archsim.config import load_config
    from archsim.errors import ConfigError
    from archsim.sweep import _check_trace

    _d, trace = recorded
    nvt = tmp_path / "s.nvt"
    assert main(["trace", "export", str(trace), "--out", str(nvt), "--iterations", "3", "--no-progress"]) == 0
    cfg = load_config(None, [], {"run.trace": str(nvt), "run.trace_format": "nvmain", "run.iterations": 3})
    _check_trace(cfg)  # a sweep point over an NVMain trace: its writes count the iterations
    with pytest.raises(ConfigError, match="run.iterations = 4, but the trace .* holds only 3 iterations"):
        _check_trace(load_config(None, [], {"run.trace": str(nvt), "run.trace_format": "nvmain",
                                            "run.iterations": 4}))
    with pytest.raises(ConfigError, match="run.trace_format must be one of archsim, nvmain, not 'dramsim'"):
        load_config(None, ["run.trace_format=dramsim", f"run.trace={nvt}"], {})
    with pytest.raises(ConfigError, match="run.trace_format = 'nvmain' needs run.trace"):
        load_config(None, ["run.trace_format=nvmain"], {})


def test_trace_format_archsim_is_trace_and_a_shorter_replay(recorded, tmp_path, capsys):
    _d, trace = recorded
    common = ["--schemes", "dcw", "--no-figures", "--no-progress"]
    assert main(["run", "--trace", str(trace), "--out", str(tmp_path / "a"), *common]) == 0
    assert main(["run", "--trace-format", "archsim", str(trace), "--out", str(tmp_path / "b"), *common]) == 0
    same_tables(tmp_path / "a", tmp_path / "b", ignore=())
    nvt = tmp_path / "s.nvt"
    assert main(["trace", "export", str(trace), "--out", str(nvt), "--no-progress"]) == 0
    # 3 of the 5 iterations, timed by the trace's cycles: the requests stop at the first write of iteration 3
    assert main(["run", "--trace-format", "nvmain", str(nvt), "--iterations", "3", "--timing", "--set",
                 "timing.access_pattern=trace", "--out", str(tmp_path / "c"), *common]) == 0
    assert "reads and CYCLE timed" in capsys.readouterr().out
    overall = pd.read_csv(tmp_path / "c" / "timing_overall.csv").iloc[0]
    assert overall["writes"] == 3 * 1077 and overall["reads"] == 0
    assert overall["elapsed_ns"] >= 3 * 1077 - 1   # the last issued write arrives at cycle 3 x 1077 - 1 (1 ns each)
    assert main(["trace", "export", str(trace), "--out", str(tmp_path / "x.nvt"), "--iterations", "9"]) == 2
    assert "9 iterations asked, the source holds 5" in capsys.readouterr().err


@pytest.mark.parametrize("key", ["lines", "iterations"])
def test_a_side_file_of_another_trace_is_one_error(recorded, capsys, tmp_path, key):
    import json

    _d, trace = recorded
    nvt = tmp_path / "s.nvt"
    assert main(["trace", "export", str(trace), "--out", str(nvt), "--iterations", "2", "--no-progress"]) == 0
    side = tmp_path / "s.nvt.meta.json"
    doc = json.loads(side.read_text())
    doc[key] += 1
    side.write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["run", "--trace-format", "nvmain", str(nvt), "--schemes", "preset", "--no-figures", "--no-progress",
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"says {key} = " in err

"""The accuracy experiment and the ``archsim accuracy`` command, end to end."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from archsim.accuracy import run_accuracy
from archsim.cli import main
from archsim.config import load_config
from archsim.errors import ConfigError


def test_cli_end_to_end(tmp_path, capsys):
    out = tmp_path / "acc"
    args = ["accuracy", "--workload", "mlp-digits", "--schemes", "baseline,ps,dap,appwom", "--iterations", "30",
            "--eval-every", "10", "--out", str(out), "--no-progress", "--set", "dap.retention_s=0.02",
            "--set", "dap.weibull_scale_s=0.02"]
    assert main(args) == 0
    df = pd.read_csv(out / "accuracy.csv")
    assert list(df["scheme"]) == ["baseline", "ps", "dap", "appwom"]
    for col in ("train_accuracy", "test_accuracy", "energy_pj", "avg_write_latency_ns", "lifetime_iterations"):
        assert df[col].notna().all()
    assert ((df["test_accuracy"] >= 0) & (df["test_accuracy"] <= 100)).all()
    assert df["test_accuracy"].max() > 1  # in %, not a fraction
    row = df.set_index("scheme")
    assert row.loc["ps", "avg_write_latency_ns"] == 125.0  # every SET lossy: RESET-fast writes
    assert row.loc["baseline", "decayed_cells"] == 0 and row.loc["ps", "decayed_cells"] > 0
    assert row.loc["ps", "energy_pj"] < row.loc["baseline", "energy_pj"]
    curves = pd.read_csv(out / "accuracy_curves.csv")
    assert set(curves["iteration"]) == {0, 10, 20, 30}
    for f in ("accuracy_curves.png", "accuracy_curves.pdf", "config.toml"):
        assert (out / f).stat().st_size > 0
    assert "retention_s = 0.02" in (out / "config.toml").read_text()
    # a rerun reuses the finished schemes (same key) and writes the same table
    before = (out / "accuracy.csv").read_text()
    checkpoints = {p: p.stat().st_mtime_ns for p in (out / ".checkpoints").glob("*.json")}
    assert len(checkpoints) == 4
    assert main(args + ["--no-figures"]) == 0
    assert (out / "accuracy.csv").read_text() == before  # no wall-clock column: byte-identical
    # taken from the checkpoints, not trained again; the earlier figures went with --no-figures
    assert {p: p.stat().st_mtime_ns for p in (out / ".checkpoints").glob("*.json")} == checkpoints
    assert not (out / "accuracy_curves.png").exists()
    assert "seconds" not in df.columns and set(json.loads((out / "run.json").read_text())["seconds"]) == \
        {"baseline", "ps", "dap", "appwom"}


def test_same_seed_same_table():
    cfg = load_config(None, ["dap.retention_s=0.02"])
    a = run_accuracy(cfg, workload="mlp-digits", schemes=["ps", "dap"], iterations=15, seed=1, progress=False)
    b = run_accuracy(cfg, workload="mlp-digits", schemes=["ps", "dap"], iterations=15, seed=1, progress=False)
    assert a.table.equals(b.table)
    assert a.curves.equals(b.curves)


def test_baseline_equals_open_loop():
    from workloads import WORKLOADS

    cfg = load_config(None)
    out = run_accuracy(cfg, workload="mlp-digits", schemes=["baseline"], iterations=20, seed=2, progress=False)
    r = WORKLOADS.get("mlp-digits")().train(iterations=20, seed=2)
    assert out.table["test_accuracy"][0] == pytest.approx(100 * r.test_accuracy, abs=0)
    assert out.table["final_loss"][0] == r.final_loss


def test_errors(capsys, tmp_path):
    assert main(["accuracy", "--schemes", "baseline,nope", "--iterations", "2", "--out", str(tmp_path),
                 "--no-progress"]) == 2
    assert "unknown PCM write scheme 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "manifest.json").exists()   # refused before the folder is claimed
    assert main(["accuracy", "--workload", "synthetic-lenet", "--iterations", "2", "--out", str(tmp_path),
                 "--no-progress"]) == 2
    assert "built-in trainer" in capsys.readouterr().err
    with pytest.raises(ConfigError):
        run_accuracy(load_config(None), workload="mlp-digits", schemes=["dap", "dap"], iterations=2, seed=0)
    with pytest.raises(ConfigError, match="a scheme is named twice: dcw, pcm:dcw"):
        run_accuracy(load_config(None), workload="mlp-digits", schemes=["dcw", "pcm:dcw"], iterations=2, seed=0)
    with pytest.raises(ConfigError, match="scheme ':dcw': give SCHEME or MEMORY:SCHEME"):
        run_accuracy(load_config(None), workload="mlp-digits", schemes=[":dcw"], iterations=2, seed=0)

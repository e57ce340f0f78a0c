"""``archsim analog`` end to end (small), resuming, bad input, and the analog sweep experiment."""
from __future__ import annotations

import pandas as pd
import pytest

from archsim.cli import main

ISSUE_COLUMNS = ["preset", "optimizer", "adc_bits", "test_accuracy", "baseline_accuracy", "ltp_pulses",
                 "ltd_pulses", "max_device_pulses", "programming_energy_pj", "programming_time_ns",
                 "adc_conversions", "lifetime_updates"]


def test_cli_end_to_end_and_resume(tmp_path, capsys):
    out = tmp_path / "an"
    args = ["analog", "--presets", "ideal,pcmo", "--optimizers", "sgd,momentum", "--adc-bits", "8",
            "--epochs", "1", "--set", "analog.batch_size=64", "--out", str(out), "--no-progress", "--jobs", "2"]
    assert main(args) == 0
    t = pd.read_csv(out / "analog.csv")
    assert list(t.columns[:6]) == ISSUE_COLUMNS[:3] + ["seed"] + ISSUE_COLUMNS[3:5]
    assert set(ISSUE_COLUMNS) <= set(t.columns)
    assert len(t) == 4 and set(t["preset"]) == {"ideal", "pcmo"}
    assert (t["ltp_pulses"] > 0).all() and (t["adc_conversions"] > 0).all()
    # one baseline per optimiser, shared by both presets
    assert t.groupby("optimizer")["baseline_accuracy"].nunique().eq(1).all()
    curves = pd.read_csv(out / "analog_curves.csv")
    assert set(curves["kind"]) == {"in-situ", "baseline"} and set(curves["epoch"]) == {0, 1}
    for name in ("analog_curves.png", "analog_presets.pdf", "config.toml", "analog.parquet"):
        assert (out / name).is_file()
    # a rerun reuses every finished run: identical table
    ck = {p: p.stat().st_mtime_ns for p in (out / ".checkpoints").glob("*.json")}
    assert len(ck) == 6
    assert main(args[:-3] + ["--no-progress", "--no-figures"]) == 0
    again = pd.read_csv(out / "analog.csv")
    pd.testing.assert_frame_equal(t, again)  # no wall-clock column: identical
    assert {p: p.stat().st_mtime_ns for p in (out / ".checkpoints").glob("*.json")} == ck  # reused, not rerun
    assert not (out / "analog_curves.png").exists()   # the earlier figures went with --no-figures


@pytest.mark.parametrize("args, message", [
    (["--presets", "nope"], "unknown analog device preset 'nope'"),
    (["--optimizers", "adamw"], "unknown analog optimiser 'adamw'"),
    (["--adc-bits", "eight"], "--adc-bits: 'eight' is not an integer"),
    (["--set", "analog.adc_bits=99"], "analog.adc_bits must be in 0..24"),
    (["--set", "analog.levels=1"], "analog.levels must be in 2..1048576, not 1"),
    (["--set", "analog.ltd_label=11"], "analog.ltd_label must be below 10"),
    (["--set", "analog.mapping=triple"], "analog.mapping must be one of reference, differential"),
    (["--vary", "analog.sigma_c2c=0.01,0.01"], "a value is named twice"),
])
def test_bad_input_is_one_clear_error(tmp_path, capsys, args, message):
    assert main(["analog", *args, "--epochs", "1", "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("archsim: error:") and message in err, err


def test_analog_sweep_point(tmp_path):
    from archsim.config import load_config
    from archsim.sweep import load_results, make_spec, run_point

    base = load_config(None, ["analog.epochs=1", "analog.batch_size=64", "analog.preset=epiram"])
    spec = make_spec(base, {"experiment": "analog", "grid": {"analog.adc_bits": [4, 0]}})
    assert spec.experiment == "analog"
    (tmp_path / "points").mkdir()
    import json

    (tmp_path / "sweep.json").write_text(json.dumps({"keys": spec.keys, "points": [
        {"id": p.id, "overrides": p.overrides} for p in spec.points]}))
    for p in spec.points:
        run_point(spec.base, p, spec.keys, str(tmp_path), experiment=spec.experiment)
    t = load_results(tmp_path, complete=True)
    assert list(t["analog.adc_bits"]) == [4, 0] and (t["preset"] == "epiram").all()
    with pytest.raises(Exception, match="unknown sweep experiment"):
        make_spec(base, {"experiment": "nope", "grid": {"analog.adc_bits": [4]}})


def test_docs_plugin_example_runs(tmp_path):
    """docs/analog.md's extension example is docs/examples/analog_plugin.py, and it runs through the CLI."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    plugin = root / "docs" / "examples" / "analog_plugin.py"
    body = plugin.read_text().split('"""\n', 1)[1].lstrip("\n")
    assert body in (root / "docs" / "analog.md").read_text()
    out = tmp_path / "p"
    r = subprocess.run([sys.executable, "-m", "archsim", "--plugin", str(plugin), "analog", "--presets", "my-rram",
                        "--set", "analog.model=exp-step", "--set", "analog.model.rate=0.5", "--epochs", "1",
                        "--set", "analog.batch_size=64", "--no-figures", "--no-progress", "--out", str(out)],
                       capture_output=True, text=True, cwd=root)
    assert r.returncode == 0, r.stderr
    t = pd.read_csv(out / "analog.csv")
    assert list(t["preset"]) == ["my-rram"] and list(t["model"]) == ["exp-step"] and t["ltp_pulses"][0] > 0


def test_report_refuses_an_analog_sweep_before_writing(tmp_path, capsys):
    """An analog sweep has no scheme column: report says so, exit 2, and claims no output folder."""
    from archsim.cli import main

    sweep = tmp_path / "a.toml"
    sweep.write_text('[base.analog]\nepochs = 1\nbatch_size = 64\npreset = "epiram"\n'
                     '[sweep]\nexperiment = "analog"\ngrid = {"analog.adc_bits" = [4]}\n')
    assert main(["sweep", "--config", str(sweep), "--out", str(tmp_path / "s"), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["report", str(tmp_path / "s"), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "a sweep without a scheme column" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "r").exists()

"""`archsim record` and `archsim trace info|verify|stats`, in process and as a real command."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from archsim.cli import main
from archsim.errors import ConfigError
from workloads import open_trace

ROOT = Path(__file__).resolve().parents[2]


def test_record_info_verify_stats(tmp_path, capsys):
    out = tmp_path / "run.trace"
    assert main(["record", "--workload", "mlp-digits", "--iterations", "12", "--every", "3",
                 "--seed", "4", "--lr", "0.05", "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "recorded 4 of 12 iterations of mlp-digits" in text and "test accuracy" in text
    r = open_trace(out)
    assert r.meta.every == 3 and r.meta.seed == 4 and r.meta.learning_rate == 0.05

    assert main(["trace", "info", str(out), "--tensors"]) == 0
    text = capsys.readouterr().out
    assert "complete" in text and "17,226 float32 per iteration" in text and "fc1.weight" in text
    assert main(["trace", "info", str(out), "--json"]) == 0
    assert '"n_iterations": 4' in capsys.readouterr().out
    assert main(["trace", "verify", str(out)]) == 0
    assert "OK" in capsys.readouterr().out

    stats = tmp_path / "stats"
    assert main(["trace", "stats", str(out), "--out", str(stats), "--by", "layer"]) == 0
    df = pd.read_csv(stats / "bit_statistics.csv")
    assert len(df) == 32 and df["name"].iloc[0] == "S"
    assert (stats / "bit_statistics.png").stat().st_size > 10_000
    assert set(pd.read_csv(stats / "bit_statistics_by_layer.csv")["group"]) == {"fc1", "fc2", "fc3"}


def test_stats_of_a_streaming_workload(tmp_path, capsys):
    assert main(["trace", "stats", "--workload", "synthetic-densenet", "--iterations", "5",
                 "--out", str(tmp_path)]) == 0
    assert len(pd.read_csv(tmp_path / "bit_statistics.csv")) == 32


def test_knobs_and_choices(tmp_path, capsys):
    out = tmp_path / "s.trace"
    assert main(["record", "--workload", "synthetic-lenet", "--iterations", "3", "--out", str(out),
                 "--knob", "grad-scale=0.5", "--no-progress"]) == 0
    assert open_trace(out).meta.knobs["grad_scale"] == 0.5
    capsys.readouterr()
    assert main(["record", "--workload", "mlp-digits", "--iterations", "3", "--out",
                 str(tmp_path / "k.trace"), "--knob", "dropout=0.5"]) == 2
    assert "unknown knob(s) dropout" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["record", "--workload", "resnet", "--iterations", "3", "--out", str(tmp_path / "r")])


@pytest.mark.parametrize("make, problem", [
    (lambda p: p, "no such file or directory"),
    (lambda p: (p.write_text("hello"), p)[1], "not an archsim trace"),
])
def test_bad_trace_is_one_line_and_exit_2(tmp_path, capsys, make, problem):
    path = make(tmp_path / "bad.trace")
    assert main(["trace", "info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and problem in err and str(path) in err and "Traceback" not in err


def test_corrupt_trace_via_the_installed_command(tmp_path):
    out = tmp_path / "c.trace"
    assert main(["record", "--workload", "mlp-digits", "--iterations", "4", "--out", str(out),
                 "--no-progress"]) == 0
    f = out / "params-000000.npy"
    data = bytearray(f.read_bytes())
    data[-1] ^= 0xFF
    f.write_bytes(bytes(data))
    exe = Path(sys.executable).with_name("archsim")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    for cmd in (["trace", "verify", str(out)], ["trace", "stats", str(out), "--out", str(tmp_path / "s")]):
        proc = subprocess.run([str(exe), *cmd], capture_output=True, text=True, env=env)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip() == (f"archsim: error: trace {out}: params-000000.npy is corrupt "
                                       f"(CRC-32 mismatch)")
        assert "Traceback" not in proc.stderr
    proc = subprocess.run([str(exe), "record", "--workload", "lenet-mnist", "--iterations", "2",
                           "--out", str(tmp_path / "m.trace"), "--data-dir", str(tmp_path / "nowhere")],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 2 and "MNIST directory" in proc.stderr and "not found" in proc.stderr


def test_verify_an_unfinished_trace_and_a_non_finite_one(tmp_path, capsys):
    from workloads import TraceWriter

    from test_run import tiny_meta, training_values

    meta = tiny_meta()
    values = training_values(9, meta.n_params, 0)
    w = TraceWriter(tmp_path / "u.trace", meta, rows_per_chunk=4, fsync=False)
    for i, row in enumerate(values):
        w.append(row, iteration=i, loss=0.0)  # never closed: the recording stopped
    assert main(["trace", "verify", str(tmp_path / "u.trace")]) == 1
    assert "UNFINISHED: the recording stopped" in capsys.readouterr().out
    values[3, 5] = np.nan
    with TraceWriter(tmp_path / "n.trace", meta, rows_per_chunk=4, fsync=False, finite=False) as w:
        for i, row in enumerate(values):
            w.append(row, iteration=i, loss=0.0)
    assert main(["trace", "verify", str(tmp_path / "n.trace")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"archsim: error: trace {tmp_path / 'n.trace'}: iteration 3: tensor ") and "nan" in err


def test_a_reader_that_closes_the_pipe_stops_the_command_quietly(tmp_path):
    """`archsim trace info T | head -1`: no error, the status of a command SIGPIPE stopped."""
    out = tmp_path / "t.trace"
    assert main(["record", "--workload", "mlp-digits", "--iterations", "2", "--out", str(out),
                 "--no-progress"]) == 0
    exe = Path(sys.executable).with_name("archsim")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([str(exe), "trace", "info", str(out), "--tensors"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    proc.stdout.close()  # long before the interpreter has started
    err = proc.stderr.read().decode()
    assert proc.wait() == 141 and err == ""


def test_out_naming_a_file_is_one_error_line(tmp_path, capsys):
    f = tmp_path / "a-file"
    f.write_text("x")
    assert main(["trace", "stats", "--workload", "synthetic-lenet", "--iterations", "2", "--out", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("archsim: error: ") and str(f) in err and "Traceback" not in err


@pytest.mark.parametrize("n", ["0", "-1"])
def test_stats_rejects_non_positive_max_iterations(tmp_path, capsys, n):
    out = tmp_path / "s"
    assert main(["trace", "stats", "--workload", "synthetic-lenet", "--iterations", "2",
                 "--max-iterations", n, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"archsim: error: trace stats: --max-iterations must be at least 1, not {n}"
    assert not out.exists()  # refused before anything is written
    from workloads import bit_statistics, make_source

    with pytest.raises(ConfigError, match="max_iterations must be at least 1"):
        bit_statistics(make_source("synthetic-lenet", iterations=2, seed=0), max_iterations=int(n))


@pytest.mark.parametrize("argv", [
    ["record", "--workload", "synthetic-lenet", "--iterations", "3"],
    ["record", "--workload", "lenet-digits", "--iterations", "3"],
    ["trace", "stats", "--workload", "synthetic-lenet", "--iterations", "3"],
])
def test_a_negative_seed_is_one_error_and_writes_nothing(tmp_path, capsys, argv):
    out = tmp_path / "o"
    assert main([*argv, "--seed", "-1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.strip().endswith("seed must not be negative, got -1") and len(err.splitlines()) == 1
    assert not out.exists()


def test_record_into_an_existing_empty_folder(tmp_path, capsys):
    out = tmp_path / "empty"
    out.mkdir()
    assert main(["record", "--workload", "synthetic-lenet", "--iterations", "3", "--out", str(out),
                 "--no-progress"]) == 0
    assert open_trace(out).n_iterations == 3
    capsys.readouterr()
    # now it holds a trace: refused without --overwrite, replaced with it
    assert main(["record", "--workload", "synthetic-lenet", "--iterations", "2", "--out", str(out),
                 "--no-progress"]) == 2
    assert "already exists and is not empty" in capsys.readouterr().err
    assert open_trace(out).n_iterations == 3
    assert main(["record", "--workload", "synthetic-lenet", "--iterations", "2", "--out", str(out),
                 "--no-progress", "--overwrite"]) == 0
    assert open_trace(out).n_iterations == 2
    # a non-empty folder that is not a trace is never replaced
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert main(["record", "--workload", "synthetic-lenet", "--iterations", "2", "--out", str(other),
                 "--no-progress"]) == 2
    assert "already exists and is not empty" in capsys.readouterr().err
    assert main(["record", "--workload", "synthetic-lenet", "--iterations", "2", "--out", str(other),
                 "--no-progress", "--overwrite"]) == 2
    assert "not a trace" in capsys.readouterr().err
    assert (other / "notes.txt").read_text() == "mine"

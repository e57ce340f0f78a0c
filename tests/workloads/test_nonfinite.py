"""Non-finite data is never replayed, counted or drawn: one error naming the tensor and iteration."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from archsim.cli import main
from archsim.errors import TraceError

from _trace_fixtures import small_meta, trace_values, write_trace


def test_recording_a_diverging_training_stops_naming_tensor_and_iteration(tmp_path, capsys):
    with warnings.catch_warnings():  # the overflows of the diverging training print no numpy warnings
        warnings.simplefilter("error")
        assert main(["record", "--workload", "mlp-digits", "--iterations", "20", "--lr", "1e30",
                     "--out", str(tmp_path / "x.trace"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("archsim: error: trace") and "tensor fc1." in err and "iteration" in err and "nan" in err
    # run records into the trace cache: the error names the workload, not the cache's temporary folder
    assert main(["run", "--workload", "mlp-digits", "--iterations", "20", "--set", "run.workload.lr=1e30",
                 "--out", str(tmp_path / "r"), "--no-progress", "--cache-dir", str(tmp_path / "cache")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("archsim: error: workload 'mlp-digits' (recording its trace): iteration ") and ".tmp" not in err


def test_the_writer_refuses_a_nan_and_readers_check_every_block(tmp_path):
    from workloads import TraceWriter

    meta = small_meta()
    bad = trace_values(12, meta.n_params)
    bad[7, meta.params[1].offset + 2] = np.inf
    with pytest.raises(TraceError, match=rf"iteration 7: tensor {meta.params[1].name} holds inf"):
        with TraceWriter(tmp_path / "bad.trace", meta, fsync=False) as w:
            for i, row in enumerate(bad):
                w.append(row, iteration=i)
    with pytest.raises(TraceError, match=rf"iteration 3: tensor {meta.params[0].name} holds nan"):
        block = trace_values(5, meta.n_params)
        block[3, 0] = np.nan
        meta.check_finite(block, 0, "trace")
    path, _ = write_trace(tmp_path / "good.trace", n_iterations=12)
    assert main(["run", "--trace", str(path), "--schemes", "dcw", "--out", str(tmp_path / "r"),
                 "--no-figures", "--no-progress"]) == 0  # a finite trace replays


def test_the_closed_loop_refuses_non_finite_weights():
    from archsim.closed_loop import SchemeMemory
    from archsim.config import load_config

    meta = small_meta()
    mem = SchemeMemory("dcw", load_config(None), meta.params)
    t = meta.params[0]
    mem.store(t.name, np.zeros(t.size, np.float32))
    with pytest.raises(TraceError, match=f"tensor {t.name} holds a non-finite value"):
        mem.store(t.name, np.full(t.size, np.nan, np.float32))

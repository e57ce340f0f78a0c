"""The synthetic generator: paper sizes, determinism, chunk independence, realistic bit statistics."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim._workload_kernels import synthetic_step
from archsim.errors import ConfigError
from workloads import WORKLOADS, bit_statistics, make_source, open_trace
from workloads.synthetic import step_numpy


def _all(src, chunk, start=0):
    return np.concatenate(list(src.iter_chunks(chunk, start)))


def test_paper_sizes_and_settings():
    lenet = make_source("synthetic-lenet", iterations=2, seed=0)
    assert lenet.n_params == 431_080 and lenet.meta.learning_rate == 0.01 and lenet.meta.batch_size == 128
    dense = make_source("synthetic-densenet", iterations=2, seed=0)
    assert dense.n_params == 769_162 and dense.meta.learning_rate == 1e-4
    goog = WORKLOADS.get("synthetic-googlenet")()
    assert goog.knobs["lr"] == 0.001 and goog.paper_iterations == 58_000
    m = lenet.meta
    assert m.recorder == "archsim-synthetic" and m.complete and m.intermediates


def test_deterministic_and_independent_of_chunking():
    a = make_source("synthetic-lenet", iterations=25, seed=3)
    b = make_source("synthetic-lenet", iterations=25, seed=3)
    c = make_source("synthetic-lenet", iterations=25, seed=4)
    x = _all(a, 25)
    assert x.shape == (25, 431_080) and x.dtype == np.float32
    assert x.tobytes() == _all(b, 4).tobytes()
    np.testing.assert_array_equal(_all(a, 6, start=11), x[11:])
    assert not np.array_equal(_all(c, 25), x)
    blocks = list(a.iter_chunks(10))
    assert [len(bl) for bl in blocks] == [10, 10, 5]


def test_every_and_first_iteration():
    full = make_source("synthetic-densenet", iterations=20, seed=1)
    part = make_source("synthetic-densenet", iterations=20, seed=1, every=5, first_iteration=2)
    assert part.n_iterations == 4
    np.testing.assert_array_equal(_all(part, 3), _all(full, 20)[2::5])
    recs = np.concatenate(list(part.iter_records(3)))
    assert recs["iteration"].tolist() == [2, 7, 12, 17] and (recs["batch_size"] == 256).all()


def test_recording_a_synthetic_workload_writes_the_streamed_values(tmp_path):
    wl = WORKLOADS.get("synthetic-lenet")()
    path = wl.record(tmp_path / "s.trace", iterations=12, seed=5, progress=False, fsync=False,
                     rows_per_chunk=5)
    r = open_trace(path)
    stream = wl.source(iterations=12, seed=5)
    assert r.meta.tensors == stream.meta.tensors and r.meta.complete
    assert r.read().tobytes() == _all(stream, 12).tobytes()
    assert r.records()["iteration"].tolist() == list(range(12))


def test_bit_statistics_follow_training():
    """Small steps: sign and exponent rarely change, low mantissa bits often (paper Fig. 3)."""
    df = bit_statistics(make_source("synthetic-lenet", iterations=60, seed=0)).set_index("name")
    rate = df["change_rate"]
    assert rate["S"] < 0.005 and rate[["E1", "E2", "E3", "E4"]].max() < 0.005
    assert rate["M23"] > 0.3 and rate["M20"] > 0.3
    assert (np.diff(rate.loc["E5":"M12"].to_numpy()) > 0).all()   # rises bit by bit
    assert df.loc["E2", "ones_fraction"] > 0.99                     # |w| in [2^-63, 2): E2..E4 set
    assert abs(df.loc["S", "ones_fraction"] - 0.5) < 0.02


def test_learning_rate_knob_scales_the_change_rate():
    slow = bit_statistics(make_source("synthetic-lenet", iterations=30, seed=0, lr=1e-4)).set_index("name")
    fast = bit_statistics(make_source("synthetic-lenet", iterations=30, seed=0, lr=1e-2)).set_index("name")
    assert fast.loc["M5", "change_rate"] > 10 * slow.loc["M5", "change_rate"]
    assert fast.loc["M23", "change_rate"] == pytest.approx(slow.loc["M23", "change_rate"], abs=0.05)


def test_bad_synthetic_knobs():
    with pytest.raises(ConfigError, match=r"^workload 'synthetic-lenet': knob momentum must be in \[0, 1\), not 1.5$"):
        make_source("synthetic-lenet", iterations=3, seed=0, momentum=1.5)
    with pytest.raises(ConfigError, match=r"^workload 'lenet-digits': knob lr must be positive, not nan$"):
        make_source("lenet-digits", iterations=3, seed=0, lr=float("nan"))


@settings(deadline=None, max_examples=100)
@given(st.integers(0, 2**32 - 1), st.integers(1, 3000), st.sampled_from([0.0, 0.5, 0.9, 0.99]),
       st.sampled_from([1e-30, 1e-4, 0.01, 3.0, 1e30]))
def test_fused_step_equals_numpy(seed, n, momentum, lr):
    """The generator's one-pass step is numpy's six passes, bit for bit (overflow, subnormals included)."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(-2**15, 2**15, size=n + 3, dtype=np.int16)
    scale = (rng.standard_normal(n) * 10.0 ** rng.integers(-40, 30, n)).astype(np.float32)
    scale[rng.random(n) < 0.2] = 0
    v0 = (rng.standard_normal(n) * 10.0 ** rng.integers(-40, 30, n)).astype(np.float32)
    w0 = (rng.standard_normal(n) * 10.0 ** rng.integers(-40, 30, n)).astype(np.float32)
    v1, w1, v2, w2 = v0.copy(), w0.copy(), v0.copy(), w0.copy()
    mu, lr32 = np.float32(momentum), np.float32(lr)
    for _ in range(3):
        synthetic_step(noise, scale, v1, w1, mu, lr32)
        with np.errstate(over="ignore", invalid="ignore"):
            step_numpy(noise, scale, v2, w2, mu, lr32)
    assert v1.tobytes() == v2.tobytes() and w1.tobytes() == w2.tobytes()

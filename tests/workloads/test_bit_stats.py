"""Per-bit statistics against a brute-force reference, and their figures."""
from __future__ import annotations

import numpy as np
import pytest
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from plots import bit_statistics_comparison_figure, bit_statistics_figure
from workloads import BIT_NAMES, bit_statistics, open_trace
from workloads.meta import TensorSpec, TraceMeta, layout_params


class ArraySource:
    """A minimal trace source over an in-memory array (tests the protocol, not the container)."""

    def __init__(self, values: np.ndarray, split: int = 1):
        n = values.shape[1]
        cut = max(1, n // 2) if split > 1 and n > 1 else n
        specs = [TensorSpec("a.weight", "a", "weight", (cut,))]
        if cut < n:
            specs.append(TensorSpec("b.bias", "b", "bias", (n - cut,)))
        self.meta = TraceMeta(model="m", dataset="d", optimizer="sgd", learning_rate=0.1, batch_size=1,
                              seed=0, recorder="t", recorder_version="1", tensors=layout_params(specs))
        self.values = values
        self.n_iterations, self.n_params = values.shape

    def iter_chunks(self, chunk_iterations, start=0):
        for i in range(start, self.n_iterations, chunk_iterations):
            yield self.values[i:i + chunk_iterations]


def _reference(words: np.ndarray):
    bits = (words[..., None] >> np.arange(32, dtype=np.uint32)) & 1       # (T, n, 32)
    ones = bits.reshape(-1, 32).sum(0)
    changes = (bits[1:] != bits[:-1]).reshape(-1, 32).sum(0)
    return ones[::-1], changes[::-1]                                         # bit 31 first


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 9), st.integers(1, 13), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_matches_brute_force(t, n, chunk, seed):
    words = np.random.default_rng(seed).integers(0, 2**32, (t, n), dtype=np.uint32)
    df = bit_statistics(ArraySource(words.view(np.float32)), chunk_iterations=chunk, finite=False)
    ones, changes = _reference(words)
    assert df["name"].tolist() == BIT_NAMES and df["bit"].tolist() == list(range(31, -1, -1))
    np.testing.assert_array_equal(df["ones"], ones)
    np.testing.assert_array_equal(df["changes"], changes)
    np.testing.assert_allclose(df["ones_fraction"], ones / (t * n))
    if t > 1:
        np.testing.assert_allclose(df["change_rate"], changes / ((t - 1) * n))
    else:
        assert df["change_rate"].isna().all()


def test_known_words():
    words = np.array([[0x00000000, 0xFFFFFFFF], [0x80000001, 0xFFFFFFFF], [0x80000000, 0x7FFFFFFF]],
                     np.uint32)
    df = bit_statistics(ArraySource(words.view(np.float32)), finite=False).set_index("name")
    assert df.loc["S", "ones"] == 1 + 1 + 2 + 0 and df.loc["S", "changes"] == 2
    assert df.loc["M23", "changes"] == 2 and df.loc["M23", "ones"] == 4
    assert df.loc["E1", "changes"] == 0 and df.loc["E1", "ones_fraction"] == 0.5


def test_max_iterations_and_groups():
    words = np.random.default_rng(1).integers(0, 2**32, (10, 8), dtype=np.uint32)
    src = ArraySource(words.view(np.float32), split=2)
    head = bit_statistics(src, max_iterations=4, chunk_iterations=3, finite=False)
    ones, changes = _reference(words[:4])
    np.testing.assert_array_equal(head["ones"], ones)
    np.testing.assert_array_equal(head["changes"], changes)
    by = bit_statistics(src, by="layer", finite=False)
    assert set(by["group"]) == {"a", "b"}
    total = bit_statistics(src, finite=False)
    summed = by.groupby("bit", sort=False)[["ones", "changes"]].sum().loc[total["bit"]]
    np.testing.assert_array_equal(summed["ones"].to_numpy(), total["ones"].to_numpy())
    np.testing.assert_array_equal(summed["changes"].to_numpy(), total["changes"].to_numpy())


def test_on_a_recorded_trace(tmp_path):
    from workloads import WORKLOADS

    path = WORKLOADS.get("mlp-digits")().record(tmp_path / "t.trace", iterations=20, seed=0,
                                                progress=False, fsync=False)
    r = open_trace(path)
    df = bit_statistics(r).set_index("name")
    words = r.read().view(np.uint32)
    ones, changes = _reference(words)
    np.testing.assert_array_equal(df["ones"].to_numpy(), ones)
    np.testing.assert_array_equal(df["changes"].to_numpy(), changes)
    assert df.loc["M23", "change_rate"] > 10 * df.loc["E5", "change_rate"]


def test_figures(tmp_path):
    words = np.random.default_rng(2).integers(0, 2**32, (5, 6), dtype=np.uint32)
    df = bit_statistics(ArraySource(words.view(np.float32)), finite=False)
    fig = bit_statistics_figure(df, title="t")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert [t.get_text() for t in fig.axes[1].get_xticklabels()] == BIT_NAMES
    fig.savefig(tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 10_000
    cmp = bit_statistics_comparison_figure({"a": df, "b": df})
    assert len(cmp.axes[0].lines) == 2
    import pytest

    with pytest.raises(ValueError, match="columns"):
        bit_statistics_figure(pd.DataFrame({"name": BIT_NAMES}))


def test_training_statistics_refuse_non_finite_words():
    from archsim.errors import TraceError

    words = np.array([[0x3F800000, 0x7FC00000]], np.uint32)  # 1.0 and a NaN
    with pytest.raises(TraceError, match="iteration 0: tensor .* holds nan"):
        bit_statistics(ArraySource(words.view(np.float32)))
    assert len(bit_statistics(ArraySource(words.view(np.float32)), finite=False))  # bit patterns on request

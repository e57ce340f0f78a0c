"""The address layout: tensors -> memory lines, gathers both ways, hand-computed sizes."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from archsim.config import LayoutConfig
from archsim.errors import ConfigError
from archsim.layout import AddressLayout


def test_aligned_layout_by_hand():
    lay = AddressLayout([("a", 5), ("b", 20), ("c", 3)], words_per_line=4)
    # a: words 0..4 -> lines 0-1; b starts at word 8 -> lines 2..6; c starts at word 28 -> line 7
    assert lay.tensors == ("a", "b", "c")
    assert lay.tensor_lines("a") == (0, 2)
    assert lay.tensor_lines("b") == (2, 5)
    assert lay.tensor_lines("c") == (7, 1)
    assert lay.lines == 8 and lay.padding_words == 32 - 28
    chunk = np.arange(1, 2 * 28 + 1, dtype=np.float32).reshape(2, 28)
    lines = lay.to_lines(chunk)
    assert lines.shape == (2, 8, 4) and lines.dtype == np.uint32
    flat = lines.reshape(2, -1).view(np.float32)
    np.testing.assert_array_equal(flat[:, 0:5], chunk[:, 0:5])
    np.testing.assert_array_equal(flat[:, 5:8], 0)           # padding after a
    np.testing.assert_array_equal(flat[:, 8:28], chunk[:, 5:25])
    np.testing.assert_array_equal(flat[:, 28:31], chunk[:, 25:28])
    assert flat[0, 31] == 0
    np.testing.assert_array_equal(lay.from_lines(lines), chunk)
    assert lay.word_mask().sum() == 28 and not lay.word_mask()[1, 1]


def test_packed_layout_is_a_view_without_padding():
    lay = AddressLayout([("a", 5), ("b", 11)], words_per_line=4, align_tensors=False)
    assert lay.lines == 4 and lay.padding_words == 0 and lay.tensor_lines("b") == (1, 3)
    chunk = np.random.default_rng(0).standard_normal((3, 16)).astype(np.float32)
    lines = lay.to_lines(chunk)
    assert np.shares_memory(lines, chunk)                     # zero copies
    np.testing.assert_array_equal(lines.reshape(3, 16), chunk.view(np.uint32))
    out = np.zeros((3, 4, 4), np.uint32)
    assert lay.to_lines(chunk, out=out) is out


def test_lenet_layout_from_meta():
    from workloads import make_source

    meta = make_source("synthetic-lenet", iterations=1, seed=0).meta
    lay = AddressLayout.from_meta(meta, LayoutConfig())
    # per tensor: ceil(size / 16) lines; padding 12+12+8+14+0+12+8+6
    assert lay.n_params == 431_080 and lay.lines == 26_947 and lay.padding_words == 72
    assert lay.tensor_lines("ip1.weight") == (32 + 2 + 1563 + 4, 25_000)
    packed = AddressLayout.from_meta(meta, LayoutConfig(align_tensors=False))
    assert packed.lines == -(-431_080 // 16) and packed.padding_words == 431_088 - 431_080
    wide = AddressLayout.from_meta(meta, LayoutConfig(line_bytes=256))
    assert wide.words_per_line == 64


@given(sizes=st.lists(st.integers(1, 40), min_size=1, max_size=6), wpl=st.sampled_from([1, 2, 4, 8, 16]),
       align=st.booleans(), T=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_round_trip_and_placement(sizes, wpl, align, T, seed):
    lay = AddressLayout([(f"t{i}", s) for i, s in enumerate(sizes)], words_per_line=wpl, align_tensors=align)
    n = sum(sizes)
    chunk = np.random.default_rng(seed).standard_normal((T, n)).astype(np.float32) + 3.0
    lines = lay.to_lines(chunk)
    np.testing.assert_array_equal(lay.from_lines(lines), chunk)
    # every nonzero word is a trace value; padding is zero; tensors start on a line when aligned
    assert np.count_nonzero(lines) == T * n
    assert np.array_equal(lay.word_mask(), lines[0] != 0)
    if align:
        for p in lay.placements:
            assert p.first_word % wpl == 0
        assert lay.lines == sum(-(-s // wpl) for s in sizes)
    else:
        assert lay.lines == -(-n // wpl)


def test_errors():
    lay = AddressLayout([("a", 5)], words_per_line=4)
    with pytest.raises(ConfigError, match="does not match"):
        lay.to_lines(np.zeros((2, 6), np.float32))
    with pytest.raises(ConfigError, match="float32"):
        lay.to_lines(np.zeros((2, 5), np.float64))
    with pytest.raises(ConfigError, match="no tensor 'z'"):
        lay.tensor_lines("z")
    with pytest.raises(ConfigError, match="32-bit"):
        AddressLayout([("a", 5)], words_per_line=4, word_bits=16)
    with pytest.raises(ConfigError):
        lay.from_lines(np.zeros((1, 3, 4), np.uint32))

"""A run sharded by memory lines (archsim.shard) gives byte-identical tables to the unsharded run."""
from __future__ import annotations

import numpy as np
import pytest

import archsim.wear as wear
from archsim.config import load_config
from archsim.errors import ConfigError
from archsim.exact import ExactSum
from archsim.layout import AddressLayout
from archsim.run import ApproximationError, RunLoop, run_experiment
from archsim.shard import alignment, line_ranges

PCM_ALL = ["preset", "prereset", "dcw", "fnw", "wom-set", "appwom", "dap", "ps"]
RACETRACK = ["naive", "dcw", "fnw", "pw", "pw+fnw", "m-of-n"]


def _config(*overrides: str):
    return load_config(None, ["run.workload=mlp-digits", "run.iterations=9", "run.chunk_iterations=4", *overrides])


def _tables(out):
    return out.summary.to_csv(index=False), out.flips.to_csv(index=False)


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks small enough that the 1,077-line model splits into several ranges under every policy."""
    monkeypatch.setattr(ApproximationError, "BLOCK", 64)     # 4 lines of 16 words
    monkeypatch.setattr(wear, "REMAP_LINES", 32)             # rotate's rewrite blocks
    monkeypatch.setattr(wear, "BLOCK_LINES", 64)             # rotate-start-gap's rotation blocks


CASES = {
    "pcm": [f"run.schemes={PCM_ALL!r}".replace("'", '"')],
    "pcm-rotate": [f"run.schemes={PCM_ALL!r}".replace("'", '"'), "wear_leveling.name=rotate",
                   "wear_leveling.period=2"],
    "pcm-start-gap": ['run.schemes=["preset", "appwom", "dap", "fnw"]', "wear_leveling.name=start-gap",
                      "wear_leveling.region_lines=100", "wear_leveling.psi=3"],
    "pcm-rotate-start-gap": ['run.schemes=["dcw", "appwom", "wom-set"]', "wear_leveling.name=rotate-start-gap",
                             "wear_leveling.region_lines=64", "wear_leveling.psi=2", "wear_leveling.period=3"],
    "racetrack": ["run.memory=racetrack", f"run.schemes={RACETRACK!r}".replace("'", '"')],
    "racetrack-start-gap": ["run.memory=racetrack", 'run.schemes=["dcw", "pw", "m-of-n"]',
                            "wear_leveling.name=start-gap", "wear_leveling.region_lines=128", "wear_leveling.psi=3"],
    "racetrack-rotate": ["run.memory=racetrack", 'run.schemes=["naive", "fnw"]', "wear_leveling.name=rotate",
                         "wear_leveling.period=2"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_shards_give_the_tables_of_one_run(case, small_blocks):
    cfg = _config(*CASES[case])
    one = run_experiment(cfg, progress=False)
    loop = RunLoop(cfg)
    align = alignment(loop.system, one.layout, loop.schemes)
    ranges = line_ranges(one.layout.lines, 3, align)
    assert len(ranges) == 3, ranges            # the case really is split
    three = run_experiment(cfg, progress=False, shards=3)
    assert _tables(three) == _tables(one)
    assert three.summary.shape == one.summary.shape and not one.flips.empty or case.startswith("racetrack")


def test_misaligned_ranges_change_the_figures(monkeypatch):
    """The alignment matters (so the test above can fail): racetrack ranges that cut through a track
    cluster (8 lines here) no longer reproduce the run's shifts."""
    from archsim.racetrack.technology import Racetrack

    cfg = _config("run.memory=racetrack", 'run.schemes=["naive", "pw"]')
    one = run_experiment(cfg, progress=False)
    monkeypatch.setattr(Racetrack, "shard_lines", lambda self, scheme, config, words: 1)
    assert line_ranges(one.layout.lines, 3, 1)[1][0] % 8          # a cut inside a cluster
    assert _tables(run_experiment(cfg, progress=False, shards=3)) != _tables(one)


def test_unsplittable_runs_are_refused_with_one_error():
    with pytest.raises(ConfigError, match="fixed-ones"):
        run_experiment(_config("run.memory=racetrack", 'run.schemes=["fixed-ones"]'), progress=False, shards=2)
    with pytest.raises(ConfigError, match="randomise"):
        run_experiment(_config('run.schemes=["dcw"]', "wear_leveling.name=start-gap", "wear_leveling.randomise=true",
                               "wear_leveling.region_lines=64"), progress=False, shards=2)
    with pytest.raises(ConfigError, match="region_lines"):  # one region over all the lines
        run_experiment(_config('run.schemes=["dcw"]', "wear_leveling.name=start-gap"), progress=False, shards=2)
    with pytest.raises(ConfigError, match="shards must be at least 1"):
        run_experiment(_config('run.schemes=["dcw"]'), progress=False, shards=0)
    with pytest.raises(ConfigError, match="write_power_budget"):
        run_experiment(_config('run.schemes=["dcw"]', "pcm.write_power_budget=64"), progress=False, shards=2)
    with pytest.raises(ConfigError, match="--timing"):
        run_experiment(_config('run.schemes=["dcw"]', 'run.observers=["timing"]'), progress=False, shards=2)


def test_line_ranges_are_aligned_and_cover_the_lines():
    for lines, k, a in [(1077, 3, 4), (10, 4, 3), (7, 9, 1), (100, 2, 64), (5, 3, 8)]:
        r = line_ranges(lines, k, a)
        assert r[0][0] == 0 and r[-1][1] == lines and len(r) <= k
        assert all(x[1] == y[0] for x, y in zip(r, r[1:]))
        assert all(first % a == 0 for first, _ in r)
    assert line_ranges(100, 2, 64) == [(0, 64), (64, 100)]


def test_layout_gathers_a_line_range_alone():
    layout = AddressLayout([("a", 37), ("b", 5), ("c", 70)], words_per_line=8)
    chunk = np.random.default_rng(1).normal(size=(3, layout.n_params)).astype(np.float32)
    whole = layout.to_lines(chunk)
    for first, end in [(0, 1), (2, 9), (5, layout.lines), (0, layout.lines)]:
        np.testing.assert_array_equal(layout.to_lines(chunk, lines=(first, end)), whole[:, first:end])
        assert layout.params_in_lines(first, end) == int(layout.word_mask()[first:end].sum())


def test_exact_sum_joins_in_any_grouping():
    rng = np.random.default_rng(7)
    values = (rng.normal(size=500) * 10.0 ** rng.integers(-20, 20, size=500)).tolist()
    whole = ExactSum(values)
    assert whole.value == pytest.approx(sum(values), rel=1e-12)
    for cut in (1, 77, 250, 499):
        a, b = ExactSum(values[:cut]), ExactSum(values[cut:])
        assert b.join(a).value == whole.value
    import math
    assert whole.value == math.fsum(values)


def test_shards_take_longer_chunks_and_still_match(small_blocks, monkeypatch):
    """A shard's chunks are capped by its own lines (longer in iterations than the whole run's):
    the figures do not depend on the chunking."""
    import archsim.run as run

    monkeypatch.setattr(run, "CHUNK_BYTES", 1077 * 16 * 2 * 4)  # the whole run: 2 iterations per chunk
    monkeypatch.setattr(run, "CHUNK_MIN_ITERATIONS", 1)
    cfg = load_config(None, ["run.workload=mlp-digits", "run.iterations=9", "run.chunk_iterations=64",
                             f"run.schemes={PCM_ALL!r}".replace("'", '"')])
    one = run_experiment(cfg, progress=False)
    layout = one.layout
    assert run.chunk_iterations(cfg, layout) == 2 and run.chunk_iterations(cfg, layout, 360) == 5
    assert _tables(run_experiment(cfg, progress=False, shards=3)) == _tables(one)


from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.digest import WearDigest, concat_wear


@settings(deadline=None, max_examples=80)
@given(st.integers(1, 40), st.integers(1, 5), st.integers(1, 7), st.lists(st.integers(0, 40), max_size=4),
       st.sampled_from([np.uint32, np.uint64]), st.integers(0, 2**32 - 1))
def test_joined_digests_answer_as_numpy_on_the_whole(lines, words, cells, cuts, dtype, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 1000, size=(lines, words, cells)).astype(dtype)
    edges = sorted({0, lines, *(c for c in cuts if c <= lines)})
    d = concat_wear([WearDigest.of(a[x:y]) for x, y in zip(edges, edges[1:])])
    assert d.shape == a.shape and d.size == a.size
    assert d.max() == a.max() and d.mean() == a.mean()
    np.testing.assert_array_equal(d.max(axis=(0, 1)), a.max(axis=(0, 1)))
    np.testing.assert_array_equal(d.sum(axis=(0, 1), dtype=np.uint64), a.sum(axis=(0, 1), dtype=np.uint64))
    flat = d.reshape(lines, -1)                       # as StreamResult.physical_wear does
    assert flat.shape == (lines, words * cells) and flat.max() == a.max() and flat.size == a.size
    f = a.astype(np.float64) / 3                       # a float array (steady-state wear): its maximum
    fd = concat_wear([WearDigest.of(f[x:y]) for x, y in zip(edges, edges[1:])])
    assert fd.max() == f.max()


@settings(deadline=None, max_examples=80)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e300, max_value=1e300),
                max_size=60), st.integers(0, 60))
def test_exact_sums_of_parts_are_fsum_of_all(values, cut):
    import math

    a, b = ExactSum(values[:cut]), ExactSum(values[cut:])
    assert a.join(b).value == math.fsum(values)

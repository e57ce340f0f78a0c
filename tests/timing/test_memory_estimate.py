"""The timing model checks its memory before it allocates: one error naming what to change."""
from __future__ import annotations

import tracemalloc

import pytest

from archsim.compose import build
from archsim.config import load_config
from archsim.errors import ConfigError
from archsim.timing.model import (BYTES_PER_LINE, CHUNK_BYTES_PER_INTERMEDIATE_LINE, CHUNK_BYTES_PER_LINE,
                                   HELD_BYTES_PER_LINE, check_memory)


def _pcm():
    cfg = load_config(None, [])
    return cfg, build(cfg).technology


def test_the_estimate_is_the_intermediate_stream_measured():
    cfg, tech = _pcm()
    need = check_memory(cfg, tech, "appwom", 5000, 4000, 16, 1000, available=1 << 50)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        stream = tech.open_stream("appwom", lines=4000, words=16, config=cfg, line_offset=1000)
        real = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    del stream
    assert need == pytest.approx(5000 * BYTES_PER_LINE + real, rel=0.1)


def test_too_little_memory_is_one_error_before_the_run():
    cfg, tech = _pcm()
    with pytest.raises(ConfigError, match=r"needs about .* GiB for scheme preset .* timing.access_pattern=minimal"):
        check_memory(cfg, tech, "preset", 10_000_000, 9_000_000, 16, 1_000_000, available=1 << 30)
    need = check_memory(cfg, tech, "preset", 1000, 0, 16, 1000, available=1 << 50)
    with pytest.raises(ConfigError, match=r"1\.0 GiB are available \(the models may take 90% of it, 0\.9 GiB\)"):
        check_memory(cfg, tech, "preset", 1000, 0, 16, 1000, available=1 << 30, reserved=(1 << 30) - need)
    assert check_memory(cfg, tech, "preset", 1000, 0, 16, 1000, available=1 << 30) == 1000 * BYTES_PER_LINE


def test_the_estimate_counts_a_chunks_temporaries():
    cfg, tech = _pcm()
    base = check_memory(cfg, tech, "preset", 5000, 4000, 16, 1000, available=1 << 50)
    more = check_memory(cfg, tech, "preset", 5000, 4000, 16, 1000, available=1 << 50, chunk_iterations=10)
    assert more - base == 10 * (5000 * CHUNK_BYTES_PER_LINE + 1000 * HELD_BYTES_PER_LINE  # the held weights' outcomes
                                + 4000 * (2 * 16 * 4 + CHUNK_BYTES_PER_INTERMEDIATE_LINE))
    with pytest.raises(ConfigError, match=r"of it the temporaries of chunks of 400 iterations.*run.chunk_iterations"):
        check_memory(cfg, tech, "preset", 5000, 4000, 16, 1000, available=int(base * 3), chunk_iterations=400)


def test_the_schemes_before_count_too():
    cfg, tech = _pcm()
    need = check_memory(cfg, tech, "preset", 5000, 4000, 16, 1000, available=1 << 50)
    assert check_memory(cfg, tech, "preset", 5000, 4000, 16, 1000, available=int(need * 2),
                        reserved=int(need * 0.7), reserved_for=("appwom",)) == need
    with pytest.raises(ConfigError, match=r"GiB for scheme preset .*\(plus .* GiB for the models of appwom, dcw\)"):
        check_memory(cfg, tech, "preset", 5000, 4000, 16, 1000, available=int(need * 2), reserved=need,
                     reserved_for=("appwom", "dcw"))


def test_the_run_checks_the_sum_over_its_schemes(monkeypatch, tmp_path):
    """``archsim run --timing`` checks each scheme's model with the estimates of the schemes before it."""
    import archsim.timing.model as tm
    from archsim.cli import main

    seen, chunks = [], []
    real = tm.check_memory

    def spy(*a, **k):
        n = real(*a, **k)
        seen.append((a[2], n, k.get("reserved", 0), k.get("reserved_for", ())))
        chunks.append(k.get("chunk_iterations"))
        return n

    monkeypatch.setattr(tm, "check_memory", spy)
    code = main(["run", "--workload", "mlp-digits", "--iterations", "2", "--schemes", "preset,appwom", "--timing",
                 "--no-figures", "--no-progress", "--out", str(tmp_path / "r")])
    assert code in (0, None)
    assert [s for s, *_ in seen] == ["preset", "appwom"]
    assert seen[0][2:] == (0, ()) and seen[1][2:] == (seen[0][1], ("preset",))
    assert chunks == [2, 2]  # the temporaries of the run's 2 iterations, not of a full chunk

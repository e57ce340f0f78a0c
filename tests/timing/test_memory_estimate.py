"""The timing model checks its memory before it allocates: one error naming what to change."""
from __future__ import annotations

import tracemalloc

import pytest

from archsim.compose import build
from archsim.config import load_config
from archsim.errors import ConfigError
from archsim.timing.model import BYTES_PER_LINE, check_memory


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
    assert check_memory(cfg, tech, "preset", 1000, 0, 16, 1000, available=1 << 30) == 1000 * BYTES_PER_LINE

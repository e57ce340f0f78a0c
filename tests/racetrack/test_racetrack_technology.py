"""Racetrack as a memory technology: registry, config, streams through TECHNOLOGIES, service
times, and the seed's matrix layouts."""
from __future__ import annotations

import numpy as np
import pytest

from archsim.config import Config, config_from_mapping, load_config
from archsim.pcm import PCM_SCHEMES
from archsim.errors import ConfigError
from archsim.racetrack import RacetrackConfig, line_read_ns
from archsim.racetrack.matrix import layout_report, multiply_ops, multiply_requests, transpose_ops
from archsim.contracts import TECHNOLOGIES


def test_registered_beside_pcm():
    tech = TECHNOLOGIES.get("racetrack")
    assert "dcw" in tech.schemes and "dcw" in PCM_SCHEMES and tech.schemes is not PCM_SCHEMES
    assert set(tech.default_schemes) == {"naive", "dcw", "fnw", "pw", "pw+fnw", "m-of-n", "fixed-ones"}
    assert not tech.is_exact("fixed-ones") and tech.is_exact("m-of-n")
    cfg = load_config(None, ["run.memory=racetrack", "run.schemes=pw,m-of-n"])
    assert cfg.run.resolved_schemes() == ("pw", "m-of-n")


@pytest.mark.parametrize("key, value, message", [
    ("segment_bits", 12, "racetrack.segment_bits must be 8, 16, 32 or 64"),
    ("segment_bits", 64, "must not exceed racetrack.item_bits"),
    ("shift_latency_ns", -1.0, "racetrack.shift_latency_ns must be positive"),
    ("port_choice", "random", "racetrack.port_choice must be one of"),
    ("tracks", 0, "racetrack.tracks must be positive"),
])
def test_config_validation(key, value, message):
    data = {"racetrack": {key: value}}
    if key == "segment_bits" and value == 64:
        data["racetrack"]["item_bits"] = 32
    with pytest.raises(ConfigError, match=message):
        config_from_mapping(data)


def test_config_round_trips_through_toml(tmp_path):
    cfg = load_config(None, ["racetrack.layout=spread", "racetrack.fixed_ones_k=14"])
    p = tmp_path / "c.toml"
    p.write_text(cfg.to_toml())
    assert load_config(p).racetrack == cfg.racetrack


def test_a_technology_refuses_another_technologys_outcomes():
    # a PCM chunk priced as racetrack (or the reverse, or a bare array) is one error naming both field lists
    cfg = load_config(None, ["run.memory=racetrack"])
    race, pcm = TECHNOLOGIES.get("racetrack"), TECHNOLOGIES.get("pcm")
    x = np.zeros((2, 3, 16), np.float32)
    rchunk = race.open_stream("dcw", lines=3, words=16, config=cfg).feed(x)
    pchunk = pcm.open_stream("preset", lines=3, words=16, config=cfg).feed(x)
    for tech, chunk, theirs in ((race, pchunk, "write_set"), (pcm, rchunk, "insert")):
        for price in (lambda c: tech.service_times(c, cfg), lambda c: tech.line_totals(c, cfg),
                      lambda c: tech.price_writes(c, cfg)):
            with pytest.raises(ConfigError, match=rf"memory '{tech.name}' was given the outcome of fields "
                                                  rf"{theirs}.*\(another technology's stream\?\)"):
                price(chunk)
    with pytest.raises(TypeError, match="memory 'pcm': a ChunkOutcome .*, not ndarray"):
        pcm.service_times(pchunk.outcome, cfg)
    from archsim.contracts import ChunkOutcome
    cut = ChunkOutcome(pchunk.outcome[..., :4], None, {}, ())   # unnamed, one counter short
    with pytest.raises(ConfigError, match=r"memory 'pcm' was given outcomes of shape \(2, 3, 4\); its outcomes are "
                                          r"\(T, lines, 5\) counters: write_set"):
        pcm.line_totals(cut, cfg)
    assert race.service_times(rchunk, cfg).write_ns.shape == pcm.service_times(pchunk, cfg).write_ns.shape == (2, 3)


def test_open_stream_and_service_times():
    cfg = load_config(None, ["run.memory=racetrack", "racetrack.segment_bits=16"])
    tech = TECHNOLOGIES.get("racetrack")
    x = np.random.default_rng(0).normal(0, 0.05, (4, 3, 16)).astype(np.float32)
    for scheme in tech.default_schemes:
        stream = tech.open_stream(scheme, lines=3, words=16, config=cfg, keep_stored=True)
        chunk = stream.feed(x, want_stored=True)
        assert chunk.outcome.shape == (4, 3, 7) and chunk.stored.shape == (4, 3, 16)
        result = stream.result()
        row = result.summary()
        for key in ("scheme", "iterations", "insertions", "removals", "shifts", "detects", "latency_ns",
                    "energy_pj", "energy_per_iteration_pj", "avg_write_latency_ns"):
            assert key in row
        times = tech.service_times(chunk, cfg)
        assert times.write_ns.shape == (4, 3) and (times.refresh_ns == 0).all()
        # the bank serves the writes back to back: their service times add up to the result's latency
        assert times.write_ns.sum() == pytest.approx(result.latency_ns)
        rt = cfg.racetrack
        o = chunk.outcome.astype(float)
        assert times.write_ns == pytest.approx(o[..., 3] * rt.shift_latency_ns + o[..., 6] * rt.read_latency_ns
                                               + o[..., 5] * rt.remove_latency_ns + o[..., 4] * rt.insert_latency_ns)
        if tech.is_exact(scheme):
            assert (result.stored.view(np.float32) == x).all()
    # 16 float32 = 8 items of 64 positions, walked in one pass: 511 shifts, 512 detects
    assert times.read_ns == pytest.approx(511 * 0.5 + 512 * 0.1)
    assert line_read_ns(RacetrackConfig(), 16) == times.read_ns


def test_spread_layout_runs_segments_in_parallel():
    x = np.random.default_rng(1).integers(0, 2**32, (3, 2, 4), dtype=np.uint64).astype(np.uint32)
    serial = load_config(None, ["racetrack.segment_bits=8"])
    spread = load_config(None, ["racetrack.segment_bits=8", "racetrack.layout=spread"])
    tech = TECHNOLOGIES.get("racetrack")
    ca = tech.open_stream("dcw", lines=2, words=4, config=serial).feed(x)
    cb = tech.open_stream("dcw", lines=2, words=4, config=spread).feed(x)
    a, b = ca.outcome, cb.outcome
    assert (a[..., :3] == b[..., :3]).all()                   # same port operations in total
    assert (cb.field("shifts") < ca.field("shifts")).all()    # far fewer shift steps (walk 8 vs 64)
    assert (cb.field("path_detects") == 2 * 8).all()          # path: one segment per item, 2 items
    assert (tech.service_times(cb, spread).write_ns < tech.service_times(ca, serial).write_ns).all()


def test_multiply_requests_order():
    r = multiply_requests(2, 3, 2)
    assert len(r) == 2 * 2 * 2 * 3
    # C[0, 0]: A[0, 0], B[0, 0], A[0, 1], B[1, 0], ...
    assert list(zip(r.track[:4].tolist(), r.index[:4].tolist())) == [(0, 0), (2, 0), (0, 1), (3, 0)]


def test_multiply_golden_1x1x2():
    """A (1x1) on track 0, B (1x2) on track 1, 32-position items, one port at the head.
    Reads: A[0,0], B[0,0], A[0,0], B[0,1]. Eager (no buffer): 31 + 31 back for each of the first three,
    B[0,1]: 32 + 31 + 63 back. Lazy (buffer): A 31, B 31, A again from 31: 31 (walk back), B[0,1] from 31:
    1 + 31."""
    no = multiply_ops(1, 1, 2, buffer_track=False).summary()
    yes = multiply_ops(1, 1, 2, buffer_track=True).summary()
    assert no["shifts"] == 3 * 62 + 126 and yes["shifts"] == 31 + 31 + 31 + 32
    assert no["detects"] == yes["detects"] == 4 * 32


def test_buffer_track_and_transpose_skip_save_operations():
    rows = layout_report(8, 8, 8)
    by = {(r["pattern"].split()[0], r["variant"]): r for r in rows}
    assert by[("multiply", "buffer track")]["saving"] > 0.4
    assert by[("transpose", "skip (remap)")]["insertions"] == 0
    assert by[("transpose", "skip (remap)")]["operations"] < by[("transpose", "copy")]["operations"]
    copy = transpose_ops(3, 2, skip=False)
    assert copy["detects"] == (6 + 6 + 6) * 32          # read A, write the copy (dcw detects), read the copy

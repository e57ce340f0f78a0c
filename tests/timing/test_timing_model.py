"""The timing model on the digits trace: the paper's latency ordering, the idle-gap knee,
the region manager, the observer of ``archsim run --timing`` and the ``archsim timing`` CLI."""
import numpy as np
import pandas as pd
import pytest

from archsim.config import Config, replace
from archsim.errors import ConfigError
from archsim.contracts import TECHNOLOGIES, ChunkOutcome
from archsim.timing.model import TimingModel

from _timing_helpers import digits  # noqa: F401  (pytest fixture)

PCM = TECHNOLOGIES.get("pcm")


def _minimal(gap_ns, **extra):
    return replace(Config(), {"timing.access_pattern": "minimal", "timing.gap_ns": gap_ns, **extra})


def _run(cfg, scheme, digits, iterations=24, engine=None):
    source, layout, outs = digits(scheme, iterations)
    m = TimingModel(cfg, technology=PCM, scheme=scheme, layout=layout, meta=source.meta, engine=engine)
    for o in outs:
        m.feed(o)
    return m.finish()


def test_paper_ordering_and_the_knee(digits):
    """PreRESET pays the SET latency, PreSET the RESET latency when idle time suffices and
    more as the gap shrinks; AppWOM lies in between."""
    set_ns, reset_ns = 1000.0, 125.0
    long, short = _minimal(1e6), _minimal(2000.0)
    r = {(s, g): _run(cfg, s, digits).summary for s in ("preset", "prereset", "appwom")
         for g, cfg in (("long", long), ("short", short))}
    dev = {k: v["device_avg_write_latency_ns"] for k, v in r.items()}
    assert dev[("prereset", "long")] == pytest.approx(set_ns)            # every write SETs
    assert dev[("preset", "long")] == pytest.approx(reset_ns)            # every PreSET done in idle time
    assert r[("preset", "long")]["refresh_misses"] == 0
    assert reset_ns * 2 < dev[("appwom", "long")] < set_ns * 0.8         # half the lines are AppWOM01
    assert dev[("preset", "short")] > 3 * reset_ns                       # PreSETs missed: the knee
    assert r[("preset", "short")]["refresh_misses"] > 0
    q = {k: v["queued_avg_write_latency_ns"] for k, v in r.items()}
    assert q[("preset", "long")] < q[("appwom", "long")] < q[("prereset", "long")]
    assert q[("preset", "short")] > q[("preset", "long")]


def test_training_pattern_tables(digits):
    res = _run(Config(), "appwom", digits, iterations=4)
    pb = res.per_bank
    assert len(pb) == 16 and pb["lines"].sum() > digits.layout.lines  # weights + intermediate data
    assert {"reads", "writes", "write_p99_latency_ns", "utilisation", "refresh_misses", "energy_read_pj",
            "energy_refresh_reset_pj", "mean_cell_flips"} <= set(pb.columns)
    assert (pb["reads"] > 0).all() and (pb["utilisation"] > 0).all() and (pb["utilisation"] <= 1).all()
    o = res.overall
    assert o["reads"] == pb["reads"].sum() and o["writes"] == pb["writes"].sum()
    assert o["read_p50_latency_ns"] <= o["read_p95_latency_ns"] <= o["read_p99_latency_ns"] <= o["read_max_latency_ns"]
    # every intermediate tensor has a lifetime, the input's is the longest
    lt = res.lifetimes.set_index("tensor")["avg_lifetime_ns"]
    assert (lt > 0).all() and lt.idxmax() == "input"


def test_chunking_does_not_change_the_result(digits):
    cfg = Config()
    source, layout, outs2 = digits("preset", 6, chunk=2)
    _, _, outs3 = digits("preset", 6, chunk=3)
    results = []
    for outs in (outs2, outs3, [np.concatenate(outs2)]):
        m = TimingModel(cfg, technology=PCM, scheme="preset", layout=layout, meta=source.meta)
        for o in outs:
            m.feed(o)
        results.append(m.finish())
    assert results[0].stats.equal(results[1].stats) and results[0].stats.equal(results[2].stats)
    assert results[0].per_bank.equals(results[2].per_bank)


@pytest.mark.parametrize("scheme", ["preset", "prereset"])
def test_energy_columns_do_not_depend_on_the_chunking(digits, scheme):
    """Energies whose per-flip costs are not exact binary fractions: the flips are counted per line over the
    chunks and priced once (``energy_pj_per_count``), so chunks of 1, 5 and 12 iterations give the same
    bits (a per-chunk sum in pJ does not)."""
    cfg = replace(Config(), {"pcm.set_energy_pj": 0.1, "pcm.reset_energy_pj": 0.7})
    source, layout, outs1 = digits(scheme, 12, chunk=1)
    _, _, outs2 = digits(scheme, 12, chunk=5)
    results = []
    for outs in (outs1, outs2, [np.concatenate(outs1)]):
        m = TimingModel(cfg, technology=PCM, scheme=scheme, layout=layout, meta=source.meta)
        for o in outs:
            m.feed(o)
        results.append(m.finish())
    energy = [c for c in results[0].per_bank.columns if c.startswith("energy_")]
    assert len(energy) == 6 and results[0].overall["energy_pj"] > results[0].overall["energy_read_pj"]
    for other in results[1:]:
        for c in energy:
            assert other.per_bank[c].equals(results[0].per_bank[c]), c
            assert other.overall[c] == results[0].overall[c], c


def test_counted_and_priced_energies_of_one_kind_add_up(digits):
    """A kind given as counts by some chunks and in pJ by others (DAP: its writes' lossy SETs in pJ, a
    levelling copy's SETs counted) is kept in pJ from the first energy on, the counts priced as they come."""
    source, layout, _ = digits("preset", 1)
    m = TimingModel(Config(), technology=PCM, scheme="preset", layout=layout, meta=source.meta)
    n, e = layout.lines, Config().pcm.set_energy_pj
    counts = np.arange(n, dtype=np.uint64)
    energies = np.linspace(0.0, 3.0, n)
    chunk = ChunkOutcome(np.zeros((1, n, 5), np.uint32), None, {}, tuple(PCM.outcome_fields))
    m._account(0, chunk, {"write_set": counts})
    assert m._totals["write_set"].dtype == np.uint64
    m._account(0, chunk, {"write_set": energies})
    m._account(0, chunk, {"write_set": counts})
    np.testing.assert_allclose(m._line_energy_pj("write_set")[:n], 2 * counts * e + energies)


def test_a_count_without_a_price_is_refused_at_the_first_chunk(digits):
    from archsim.errors import ArchsimError
    from archsim.pcm.technology import Pcm

    class Unpriced(Pcm):
        def energy_pj_per_count(self, config):
            return {k: v for k, v in super().energy_pj_per_count(config).items() if k != "refresh_reset"}

    source, layout, outs = digits("preset", 2)
    m = TimingModel(Config(), technology=Unpriced(), scheme="preset", layout=layout, meta=source.meta)
    with pytest.raises(ArchsimError, match=r"'refresh_reset' as an integer count.*energy_pj_per_count"):
        m.feed(outs[0])


def test_region_manager_follows_the_encoder(digits):
    """One source of truth: the manager wraps the stream's own policy object and predicts
    the code (polarity) of every line as the encoder's state has it."""
    source, layout, outs = digits("appwom", 12)
    stream = digits.stream("appwom", 12)
    m = TimingModel(_minimal(5e4), technology=PCM, scheme="appwom", layout=layout, meta=source.meta,
                    policy=stream.encoder.policy)
    assert m.manager.policy is stream.encoder.policy
    initial = m.manager.polarity.copy()
    for o in outs:
        m.feed(o)
    assert np.array_equal(m.manager.polarity, stream.state.line_polarity())
    assert not np.array_equal(initial, m.manager.polarity)  # lines did switch
    assert set(m.manager.code()) == {"AppWOM10", "AppWOM01"}
    assert set(m.manager.region_polarity()) <= {0, 1}


def test_region_exhausted_changes_latency_not_flips(digits):
    # training pattern: a region's refreshes wait for its last line, some lines are written again first
    eager = _run(Config(), "preset", digits, iterations=4)
    lazy = _run(replace(Config(), {"timing.region_manager": "region-exhausted", "timing.region_lines": 64}),
                "preset", digits, iterations=4)
    assert eager.overall["refresh_misses"] == 0 < lazy.overall["refresh_misses"]
    assert lazy.overall["energy_pj"] == pytest.approx(eager.overall["energy_pj"])
    assert np.array_equal(lazy.per_bank["cell_flips"], eager.per_bank["cell_flips"])
    assert lazy.summary["device_avg_write_latency_ns"] > eager.summary["device_avg_write_latency_ns"]


def test_config_errors():
    with pytest.raises(ConfigError, match="timing.scheduling.*unknown scheduling policy 'fifo'.*fcfs"):
        replace(Config(), {"timing.scheduling": "fifo"})
    with pytest.raises(ConfigError, match="watermarks"):
        replace(Config(), {"timing.write_high_watermark": 40})
    with pytest.raises(ConfigError, match="timing.refresh_policy"):
        replace(Config(), {"timing.refresh_policy": "pause"})
    with pytest.raises(ConfigError, match="timing.line_bytes"):  # the line size is layout.line_bytes
        replace(Config(), {"timing.line_bytes": 128})


def test_observer_with_a_minimal_context(digits):
    from archsim.compose import build
    from archsim.contracts import ChunkOutcome
    from archsim.observers import OBSERVERS, RunContext
    from archsim.timing.observer import TimingObserver

    assert OBSERVERS.get("timing") is TimingObserver
    source, layout, outs = digits("preset", 4)
    _, _, outs_a = digits("appwom", 4)
    cfg = Config()
    obs = TimingObserver(cfg)
    obs.start(RunContext(cfg, PCM, ("preset", "appwom"), build(cfg), source.meta, layout, 4, None))
    first = 0
    for o, oa in zip(outs, outs_a):
        obs.chunk("preset", first, ChunkOutcome(o, None, {}, PCM.outcome_fields))
        obs.chunk("appwom", first, ChunkOutcome(oa, None, {}, PCM.outcome_fields))
        first += o.shape[0]
    rep = obs.finish()
    for s in ("preset", "appwom"):
        cols = rep.columns[s]
        assert {"queued_avg_write_latency_ns", "queued_p99_write_latency_ns", "refresh_misses"} <= set(cols)
    assert rep.columns["preset"]["queued_avg_write_latency_ns"] < rep.columns["appwom"]["queued_avg_write_latency_ns"]
    assert set(rep.tables) == {"timing_banks", "timing_overall", "timing_lifetimes"}
    assert len(rep.tables["timing_banks"]) == 32
    fig = rep.figure("timing_banks")  # made when asked for (the run asks only when it writes figures)
    assert len(fig.axes) == 3


def test_archsim_run_with_timing(tmp_path):
    import archsim.timing.observer  # noqa: F401  (registers "timing", as archsim.run does)
    from archsim.cli import main

    out = tmp_path / "run"
    rc = main(["run", "--timing", "--set", "run.iterations=3", "--set", "run.schemes=[\"preset\", \"prereset\"]",
               "--out", str(out), "--no-progress"])
    assert rc == 0
    summary = pd.read_csv(out / "summary.csv")
    assert {"queued_avg_write_latency_ns", "queued_p99_write_latency_ns", "refresh_misses",
            "avg_write_latency_ns"} <= set(summary.columns)
    banks = pd.read_csv(out / "timing_banks.csv")
    assert set(banks["scheme"]) == {"preset", "prereset"}
    assert (out / "timing_banks.png").exists()


def test_archsim_run_with_timing_and_no_figures_makes_no_figure(tmp_path, monkeypatch):
    import plots.timing
    from archsim.cli import main

    def refuse(*a, **k):
        raise AssertionError("a figure was made for a run that writes none")

    monkeypatch.setattr(plots.timing, "timing_banks_figure", refuse)
    out = tmp_path / "run"
    assert main(["run", "--timing", "--set", "run.iterations=2", "--set", "run.schemes=[\"preset\"]",
                 "--out", str(out), "--no-progress", "--no-figures"]) == 0
    assert (out / "timing_banks.csv").exists() and not (out / "timing_banks.png").exists()


def test_cli_timing_run_and_sweep(tmp_path, capsys):
    from archsim.cli import main

    out = tmp_path / "t"
    assert main(["timing", "run", "--iterations", "3", "--scheme", "preset", "--scheme", "appwom",
                 "--set", "timing.scheduling=fcfs", "--out", str(out), "--no-progress"]) == 0
    s = pd.read_csv(out / "timing_summary.csv")
    assert list(s["scheme"]) == ["preset", "appwom"]
    banks = pd.read_csv(out / "timing_banks.csv")
    assert {"max_cell_flips", "lifetime_iterations"} <= set(banks.columns)  # exact wear per bank
    assert (out / "timing_banks.png").exists()
    sw = tmp_path / "sweep"
    args = ["timing", "sweep-gap", "--iterations", "6", "--scheme", "preset", "--gaps-ns", "2000,200000",
            "--out", str(sw), "--no-progress"]
    assert main(args) == 0
    t1 = pd.read_csv(sw / "sweep_gap.csv")
    assert len(t1) == 2 and (sw / "sweep_gap.png").exists()
    assert t1.set_index("gap_ns").loc[200000.0, "device_avg_write_latency_ns"] == pytest.approx(125.0)
    assert main(args) == 0  # resumed: nothing recomputed, nothing appended
    assert len(pd.read_csv(sw / "sweep_gap.csv")) == 2
    assert main(args + ["--set", "pcm.set_latency_ns=500"]) == 2  # another config: no stale rows reused
    assert "different configuration" in capsys.readouterr().err
    assert main(["timing", "sweep-gap", "--gaps-ns", "x", "--out", str(sw)]) == 2
    assert "--gaps-ns" in capsys.readouterr().err


def test_tutorial_plugin_end_to_end(tmp_path):
    from pathlib import Path

    from archsim.cli import main

    plugin = Path(__file__).resolve().parents[2] / "docs" / "examples" / "timing_plugin.py"
    from archsim.timing.scheduling import SCHEDULING_POLICIES

    args = [] if "write-batch" in SCHEDULING_POLICIES else ["--plugin", str(plugin)]
    out = tmp_path / "p"
    assert main(args + ["timing", "run", "--iterations", "2", "--scheme", "preset", "--set",
                        "timing.scheduling=write-batch", "--set", "timing.region_manager=bank-exhausted",
                        "--out", str(out), "--no-progress"]) == 0
    assert pd.read_csv(out / "timing_summary.csv")["refresh_misses"].iloc[0] > 0


def test_a_line_beyond_the_capacity_names_it_and_the_key():
    from archsim.timing.organisation import ADDRESS_MAPPINGS, Organisation

    org = Organisation(1, 1, 2, 4, rows=8)  # 64 lines
    mapping = ADDRESS_MAPPINGS.get("RoCoBaRaCh")(org)
    assert mapping.decompose(np.arange(64))["row"].max() == 7
    with pytest.raises(ConfigError, match=r"line 64 lies beyond the memory's capacity of 64 lines "
                                          r"\(raise timing.capacity_bytes\)"):
        mapping.decompose(np.array([3, 64]))


def test_a_simulated_time_beyond_the_clock_is_one_error(tmp_path, capsys):
    """Gaps whose sum passes the clock limit (2^63 - 2^56 ps) would wrap the int64 clock: one error naming timing.gap_ns."""
    from archsim.cli import main

    assert main(["timing", "run", "--iterations", "3", "--set", "run.workload=mlp-digits", "--schemes", "preset",
                 "--set", "timing.compute_model=fixed", "--set", "timing.gap_ns=1e15", "--no-progress",
                 "--out", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("archsim: error: iteration ") and "clock range" in err and "timing.gap_ns" in err
    assert len(err.splitlines()) == 1


def test_an_outcome_or_wear_of_another_kind_is_refused(digits):
    """A racetrack chunk, float counts or another scheme's wear were priced as PCM's (wrong energies)."""
    cfg = _minimal(1e5)
    source, layout, outs = digits("dcw", 2)
    m = TimingModel(cfg, technology=PCM, scheme="dcw", layout=layout, meta=source.meta)
    o = np.asarray(outs[0])
    racetrack_fields = tuple(TECHNOLOGIES.get("racetrack").outcome_fields)
    with pytest.raises(ConfigError, match="fields"):
        m.feed(ChunkOutcome(np.zeros(o.shape[:2] + (len(racetrack_fields),), np.uint32), None, {},
                            racetrack_fields))
    with pytest.raises(ConfigError, match="outcome of float64"):
        m.feed(o.astype(np.float64))
    with pytest.raises(ConfigError, match="another scheme's stream"):
        m.set_wear(np.zeros((layout.lines, layout.words_per_line, 3 * 16), np.uint32))  # WOM's 48 cells a word
    m.feed(o)
    assert m.finish().stats.req[:, :, 0].sum() > 0

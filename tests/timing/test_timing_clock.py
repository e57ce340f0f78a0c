"""The closed loop on the timing model's clock (archsim.timing.clock): the phase times the front end
records, mapped to every tensor's write and read, and the closed loop run on them."""
from __future__ import annotations

import numpy as np
import pytest

from archsim.accuracy import _model_description, run_accuracy
from archsim.closed_loop import IterationClock, SchemeMemory
from archsim.config import load_config
from archsim.errors import ConfigError
from archsim.timing.clock import TimingClock, timing_clock
from archsim.timing.frontend import intermediate_lines, training_phases
from archsim.layout import AddressLayout
from workloads import WORKLOADS

WL = "mlp-digits"


def _describe(seed=0):
    wl = WORKLOADS.get(WL)()
    tensors, schedule, batch = _model_description(wl, seed, {})
    return wl, tensors, schedule, batch


def _phases(tensors, schedule, batch, cfg):
    """The front end's bursts of one iteration of the workload's training access pattern."""
    from workloads.meta import TraceMeta

    params = [t for t in tensors if t.kind != "intermediate"]
    layout = AddressLayout([(t.name, t.size) for t in params], words_per_line=cfg.layout.words_per_line,
                           align_tensors=True, word_bits=32)
    meta = TraceMeta(model=WL, dataset="digits", optimizer="sgd", learning_rate=0.02, batch_size=batch, seed=0,
                     recorder="test", recorder_version="0", tensors=tuple(tensors), schedule=tuple(schedule))
    inter = intermediate_lines(meta, cfg.layout.line_bytes, layout.lines)
    return training_phases(meta, layout, inter, cfg.timing)


def _configured_phase_times(phases, schedule, batch, T, iterations):
    """Phase times (ps) a timing model would record if its gaps were exactly the configured clock's:
    every burst issued at the start of its step's share of the iteration and done at its end
    (reads) or at the end of the step's compute (writes)."""
    flops = np.array([s.flops(batch) for s in schedule], np.float64)
    start = np.concatenate([[0.0], np.cumsum(flops)[:-1]]) / flops.sum()
    end = np.cumsum(flops) / flops.sum()
    step = {f"{s.phase}:{s.layer}": k for k, s in enumerate(schedule)}
    out = []
    for i in range(iterations):
        times = np.empty((len(phases), 2), np.int64)
        for k, ph in enumerate(phases):
            s = step[ph.name.rsplit(":", 1)[0]]
            times[k] = (round((i + start[s]) * T * 1e12), round((i + end[s]) * T * 1e12))
        out.append(times)
    return out


def _train(clock, cfg, scheme, seed=0, iterations=15):
    wl, tensors, schedule, batch = _describe(seed)
    params = [t for t in tensors if t.kind != "intermediate"]
    inter = [t for t in tensors if t.kind == "intermediate"]
    mem = SchemeMemory(scheme, cfg, params, clock=clock, intermediates=inter, batch_size=batch)
    tr = wl.trainer(seed=seed, memory=mem, intermediate=mem)
    losses = tr.train(iterations)
    return losses, tr.param_row(), mem


@pytest.mark.parametrize("scheme", ["dap", "ps"])
def test_timing_clock_path_equals_configured_path_when_gaps_equal_configured_times(scheme):
    """A timing clock whose recorded phase times are the configured clock's (to the picosecond) gives
    the same closed loop: same losses, weights, and decayed cells of both kinds (with a retention short
    enough that both decay)."""
    cfg = load_config(None, ["dap.retention_s=0.02", "dap.weibull_scale_s=0.02"])
    wl, tensors, schedule, batch = _describe()
    T, n = 0.01, 15
    configured = IterationClock(T, tensors, schedule, batch)
    phases = _phases(tensors, schedule, batch, cfg)
    timed = TimingClock(phases, _configured_phase_times(phases, schedule, batch, T, n + 1), tensors)
    for t in tensors:  # the mapping itself: every tensor's times agree to a picosecond
        for i in (-1, 0, n - 1) if t.kind != "intermediate" else (0, n - 1):
            assert timed.write_time(t.name, i) == pytest.approx(configured.write_time(t.name, i), abs=1e-12)
            assert timed.read_time(t.name, i) == pytest.approx(configured.read_time(t.name, i), abs=1e-12)
    loss_c, row_c, mem_c = _train(configured, cfg, scheme, iterations=n)
    loss_t, row_t, mem_t = _train(timed, cfg, scheme, iterations=n)
    assert loss_c == loss_t and row_c.tobytes() == row_t.tobytes()
    for a, b in ((mem_c.result(), mem_t.result()), (mem_c.intermediate_result(), mem_t.intermediate_result())):
        assert a.decayed_cells == b.decayed_cells and a.lossy_set_flips == b.lossy_set_flips
    assert mem_c.result().decayed_cells > 0 and mem_c.intermediate_result().decayed_cells > 0


def test_timing_clock_of_a_real_timing_run():
    """The clock of a timing-model run: times increase along the iteration as the access pattern
    orders them, and each intermediate tensor's clock lifetime (write accepted -> read issued) is the
    timing table's lifetime (write issued -> read issued) minus its write burst's acceptance time."""
    from archsim.run import RunLoop
    from archsim.timing.observer import TimingObserver, TimingObserverParams

    cfg = load_config(None, [f"run.workload={WL}", "run.iterations=4", "run.schemes=[\"dap\"]"])
    wl, tensors, schedule, batch = _describe()
    loop = RunLoop(cfg)
    obs = TimingObserver(loop.config, TimingObserverParams())
    loop.replay([obs], schemes=["dap"], progress=False, approximation=False)
    for _ in loop.results():
        pass
    front = obs.model("dap").frontend
    lifetimes = obs.results()["dap"].lifetimes.set_index("tensor")["avg_lifetime_ns"]
    clock = TimingClock(front.phases, front.phase_times, tensors)
    assert clock.iterations == 4
    pt = np.stack(front.phase_times)
    assert np.all(np.diff(pt.reshape(-1, 2)[:, 0]) >= 0) and np.all(pt[..., 1] >= pt[..., 0])
    for t in tensors:
        if t.kind != "intermediate":
            assert clock.write_time(t.name, -1) == 0.0
            assert 0 < clock.write_time(t.name, 0) < clock.read_time(t.name, 0) < clock.write_time(t.name, 1)
            continue
        lives = [clock.read_time(t.name, i) - clock.write_time(t.name, i) for i in range(4)]
        assert all(v >= 0 for v in lives)
        if t.name in lifetimes.index:
            k = clock._write[t.name]
            accept = (pt[:, k, 1] - pt[:, k, 0]).mean() * 1e-12
            assert np.mean(lives) == pytest.approx(lifetimes[t.name] * 1e-9 - accept, rel=1e-9, abs=1e-15)
    with pytest.raises(ConfigError, match="simulated iterations 0..3"):
        clock.read_time("fc1.weight", 3)  # read in iteration 4, which the run did not simulate


def test_timing_clock_builds_from_the_run_loop_and_rejects_the_minimal_pattern():
    wl, tensors, _schedule, _batch = _describe()
    cfg = load_config(None)
    c = timing_clock(cfg, workload=WL, scheme="dcw", memory="pcm", iterations=2, seed=0,
                     knobs=wl.resolve_knobs({}), tensors=tensors)
    assert c.iterations == 3
    with pytest.raises(ConfigError, match="access_pattern"):
        timing_clock(load_config(None, ["timing.access_pattern=minimal"]), workload=WL, scheme="dcw", memory="pcm",
                     iterations=2, seed=0, knobs=wl.resolve_knobs({}), tensors=tensors)


def test_accuracy_on_the_timing_clock_decays_with_a_short_retention():
    """archsim accuracy --timing: a simulated iteration of mlp-digits takes ~0.43 ms, so with a 0.1 s
    retention nothing decays in 10 iterations, and with a 0.5 ms retention (scale 0.1 ms) ps loses weight and
    intermediate cells alike; dap only weight cells' low mantissa bits and the intermediate cells that are not
    reprogrammed."""
    quiet = run_accuracy(load_config(None), workload=WL, schemes=["ps"], iterations=10, seed=0, eval_every=10,
                         progress=False, timing=True).table.iloc[0]
    assert quiet["decayed_cells"] == 0
    cfg = load_config(None, ["dap.retention_s=0.0005", "dap.weibull_scale_s=0.0001"])
    t = run_accuracy(cfg, workload=WL, schemes=["ps", "dap"], iterations=10, seed=0, eval_every=10, progress=False,
                     timing=True).table.set_index("scheme")
    assert t.loc["ps", "decayed_weight_cells"] > 0 and t.loc["ps", "decayed_intermediate_cells"] > 0
    assert t.loc["dap", "decayed_weight_cells"] > 0


def _dap_rows(cfg, observers=()):
    from archsim.run import run_experiment

    out = run_experiment(cfg, observers=list(observers), progress=False)
    return out.summary.set_index("scheme")


def test_replay_on_a_clock_equal_to_the_configured_times_is_the_configured_replay():
    """The functional path: write k of every line at (k + 1) * iteration_time_s handed in as a clock gives
    the replay without one (decays included)."""
    from archsim.run import RunLoop

    cfg = load_config(None, [f"run.workload={WL}", "run.iterations=12", "run.schemes=[\"dap\", \"ps\"]",
                             "dap.retention_s=0.02", "dap.weibull_scale_s=0.01"])
    T = cfg.run.iteration_time_s

    def results(clocks):
        loop = RunLoop(cfg)
        loop.replay(progress=False, clocks=clocks)
        return {s: r.summary() for s, _st, r, _e in loop.results()}

    lines = AddressLayout.from_meta(loop_meta(cfg), cfg.layout).lines

    def configured(first, n):
        return np.broadcast_to(((np.arange(first, first + n) + 1.0) * T)[:, None], (n, lines)).copy()

    base = results(None)
    timed = results({"dap": configured, "ps": configured})
    assert base == timed and base["ps"]["decayed_cells"] > 0 and base["dap"]["decayed_cells"] > 0


def loop_meta(cfg):
    from archsim.run import open_source

    return open_source(cfg).meta


def test_run_timing_replays_time_dependent_schemes_on_the_simulated_clock():
    """archsim run --timing: dap's and ps's functional tables come from a replay whose write times are the
    timing model's (write k of a line: its update burst accepted in iteration k), here ~0.4 ms per
    iteration, so with a 20 ms retention nothing decays in 30 iterations where the configured 10 ms clock
    decays hundreds of thousands of cells; the numbers equal a replay handed the observer's clock; the
    exact dcw beside them is unchanged by the rule."""
    from archsim.run import RunLoop
    from archsim.timing.observer import TimingObserver, TimingObserverParams

    sets = [f"run.workload={WL}", "run.iterations=30", "run.schemes=[\"dcw\", \"dap\", \"ps\"]",
            "dap.retention_s=0.02", "dap.weibull_scale_s=0.01"]
    cfg = load_config(None, sets)
    plain = _dap_rows(cfg)
    timed = _dap_rows(load_config(None, sets + ["run.observers=[\"timing\"]"]))
    assert plain.loc["dap", "decayed_cells"] > 0 and plain.loc["ps", "decayed_cells"] > 0
    assert timed.loc["dap", "decayed_cells"] == 0 and timed.loc["ps", "decayed_cells"] == 0
    assert timed.loc["dcw", "bit_flips"] == plain.loc["dcw", "bit_flips"]
    # the same numbers as a replay handed the observer's clock, with a retention short enough to decay
    short = sets + ["dap.retention_s=0.002", "dap.weibull_scale_s=0.001"]
    timed = _dap_rows(load_config(None, short + ["run.observers=[\"timing\"]"]))
    loop = RunLoop(load_config(None, short))
    obs = TimingObserver(loop.config, TimingObserverParams())
    loop.replay([obs], schemes=["dap", "ps"], progress=False, approximation=False)
    clocks = {s: obs.write_clock(s) for s in ("dap", "ps")}
    again = RunLoop(load_config(None, short))
    again.replay(schemes=["dap", "ps"], progress=False, clocks=clocks)
    got = {s: r.summary() for s, _st, r, _e in again.results()}
    for s in ("dap", "ps"):
        assert got[s]["decayed_cells"] == timed.loc[s, "decayed_cells"] > 0
        assert got[s]["bit_flips"] == timed.loc[s, "bit_flips"]
        assert timed.loc[s, "decayed_cells"] != _dap_rows(load_config(None, short)).loc[s, "decayed_cells"]

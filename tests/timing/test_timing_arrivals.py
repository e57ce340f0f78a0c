"""The "trace" access pattern (archsim/timing/arrivals.py): a trace's requests issued at their arrival
times, in file order, posted; hand-computed timelines on one bank, both engines; and end to end on an
NVMain trace."""
from __future__ import annotations

import numpy as np
import pytest

from _timing_helpers import NS, build, log_ns, timing
from archsim.config import load_config
from archsim.errors import ConfigError
from archsim.run import run_experiment
from archsim.timing.arrivals import ArrivalFrontEnd
from archsim.timing.stats import READ, WRITE
from workloads.nvmain import RequestStream


def _one_bank(engine: str):
    """Lines 0 and 1 written twice (iterations 0 and 1), line 2 only read; CYCLE x 2 ns; one bank, reads 50 ns."""
    stream = RequestStream(cycle=np.array([100, 100, 150, 5000, 5000], np.uint64),
                           is_write=np.array([1, 1, 0, 1, 1], bool), line=np.array([0, 1, 2, 0, 1]),
                           iteration=np.array([0, 0, -1, 1, 1]), lines=2, read_only_lines=1)
    env, system, _stats = build(engine, timing(), 3, read_ns=50.0)
    return env, system, ArrivalFrontEnd(env, system, stream, cycle_ns=2.0)


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_requests_at_their_arrivals_on_one_bank(engine):
    # lines 0 and 1 are written twice, line 2 only read; CYCLE x 2 ns
    env, system, front = _one_bank(engine)
    for row in ([500, 300, 0], [100, 700, 0]):  # the functional service of iteration 0, then 1 (ns)
        w = np.array([row], np.int64) * NS
        env.run(until=env.process(front.run(w, np.zeros_like(w))))
        assert front.issued == (3 if row[0] == 500 else 5)  # iteration 1's writes wait for their chunk
    system.flush()
    env.run()
    # one bank, FCFS: (kind, bank, line, enqueue, start, finish, miss)
    assert log_ns(system) == [
        (WRITE, 0, 0, 200.0, 200.0, 700.0, 0),
        (WRITE, 0, 1, 200.0, 700.0, 1000.0, 0),
        (READ, 0, 2, 300.0, 1000.0, 1050.0, 0),     # arrived while the bank was busy: queued, not delayed
        (WRITE, 0, 0, 10000.0, 10000.0, 10100.0, 0),
        (WRITE, 0, 1, 10000.0, 10100.0, 10800.0, 0),
    ]
    assert front.iterations == 2


def _line(word: str) -> str:
    return word + "00000000" * 15


def test_an_nvmain_trace_timed_by_its_cycles(tmp_path):
    a, b, z = _line("0000803f"), _line("00000040"), "00" * 64
    p = tmp_path / "t.nvt"
    p.write_text(f"NVMV1\n0 W 0x0 {a} {z} 0\n10 W 0x40 {a} {z} 0\n20 R 0x1000 {z} {z} 0\n"
                 f"3000 W 0x0 {b} {a} 0\n3000 W 0x40 {b} {a} 0\n3500 R 0x40 {b} {b} 0\n")
    common = [f"run.trace={p}", "run.trace_format=nvmain", "run.iterations=2", 'run.schemes=["dcw"]',
              'run.observers=["timing"]']
    out = run_experiment(load_config(None, [*common, "timing.access_pattern=trace", "timing.trace_cycle_ns=2"]),
                         progress=False)
    overall = out.tables["timing_overall"].iloc[0]
    assert overall["reads"] == 2 and overall["writes"] == 4
    assert overall["elapsed_ns"] >= 7000 + 50       # the last read arrives at 3500 cycles x 2 ns
    banks = out.tables["timing_banks"]
    assert banks["lines"].sum() == 3                 # two written lines and the line only read (0x1000)
    minimal = run_experiment(load_config(None, common), progress=False).tables["timing_overall"].iloc[0]
    assert minimal["reads"] == 0 and minimal["writes"] == 4  # the default: the minimal pattern, no reads

    with pytest.raises(ConfigError, match='access_pattern = "trace" needs a trace that holds its requests'):
        run_experiment(load_config(None, ['run.observers=["timing"]', "run.iterations=2",
                                          "timing.access_pattern=trace"]), progress=False)
    with pytest.raises(ConfigError, match="trace_cycle_ns must be positive"):
        load_config(None, ["timing.trace_cycle_ns=0"])


def test_arrivals_beyond_the_clock_are_one_error():
    """CYCLE x trace_cycle_ns past the clock limit (2^63 - 2^56 ps) would wrap the int64 clock: refused, not simulated."""
    stream = RequestStream(cycle=np.array([0, 3_000_000_000], np.uint64), is_write=np.array([1, 1], bool),
                           line=np.array([0, 0]), iteration=np.array([0, 1]), lines=1, read_only_lines=0)
    env, system, _stats = build("fast", timing(), 1)
    assert ArrivalFrontEnd(env, system, stream, cycle_ns=3e6).requests == 2  # 9e15 ns = 9e6 s (104 days): fits
    with pytest.raises(ConfigError, match=r"arrives at 3e\+07 s .* lower timing.trace_cycle_ns"):
        ArrivalFrontEnd(env, system, stream, cycle_ns=1e7)


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_wear_levelling_copies_follow_the_last_write_of_their_iteration(engine):
    from archsim.timing.system import ACCEPTED, COMPLETED, Phase

    # as above; a leveller copied lines 0 and 1 after iteration 0: a read burst (waited for), then a
    # write burst (the copies' service 40 and 60 ns), right after iteration 0's last write (line 1's)
    env, system, front = _one_bank(engine)
    lines = np.array([0, 1], np.int64)
    cw = np.array([40, 60, 0], np.int64) * NS
    copies = [(0, Phase("levelling:read", READ, lines, 0, COMPLETED), cw, np.zeros_like(cw)),
              (0, Phase("levelling:write", WRITE, lines, 0, ACCEPTED), cw, np.zeros_like(cw))]
    for row, extra in (([500, 300, 0], copies), ([100, 700, 0], [])):
        w = np.array([row], np.int64) * NS
        env.run(until=env.process(front.run(w, np.zeros_like(w), extra)))
    system.flush()
    env.run()
    # the copies' reads are queued at 200 behind the writes (FCFS) and complete at 1100; the front end
    # waits for them, so the copies' writes, and the trace's read of line 2 (due at 300), follow at 1100
    assert log_ns(system) == [
        (WRITE, 0, 0, 200.0, 200.0, 700.0, 0),
        (WRITE, 0, 1, 200.0, 700.0, 1000.0, 0),
        (READ, 0, 0, 200.0, 1000.0, 1050.0, 0),
        (READ, 0, 1, 200.0, 1050.0, 1100.0, 0),
        (WRITE, 0, 0, 1100.0, 1100.0, 1140.0, 0),
        (WRITE, 0, 1, 1100.0, 1140.0, 1200.0, 0),
        (READ, 0, 2, 1100.0, 1200.0, 1250.0, 0),
        (WRITE, 0, 0, 10000.0, 10000.0, 10100.0, 0),
        (WRITE, 0, 1, 10000.0, 10100.0, 10800.0, 0),
    ]


def test_an_nvmain_trace_with_wear_levelling(tmp_path):
    from archsim.timing.arrivals import iteration_order_violation

    a, b, z = _line("0000803f"), _line("00000040"), "00" * 64
    p = tmp_path / "t.nvt"
    p.write_text(f"NVMV1\n0 W 0x0 {a} {z} 0\n10 W 0x40 {a} {z} 0\n20 R 0x1000 {z} {z} 0\n"
                 f"3000 W 0x0 {b} {a} 0\n3000 W 0x40 {b} {a} 0\n3500 R 0x40 {b} {b} 0\n")
    common = [f"run.trace={p}", "run.trace_format=nvmain", "run.iterations=2", 'run.schemes=["dcw"]',
              'run.observers=["timing"]', "timing.access_pattern=trace", "timing.trace_cycle_ns=2"]
    out = run_experiment(load_config(None, [*common, "wear_leveling=rotate", "wear_leveling.period=1"]),
                         progress=False)
    o = out.tables["timing_overall"].iloc[0]
    # rotate, period 1: both lines copied after each of the 2 iterations (a read and a write each)
    assert o["levelling_writes"] == 4 and o["writes"] == 4 + 4 and o["reads"] == 2 + 4
    assert out.summary["levelling_line_writes"].iloc[0] == 4
    # writes that interleave iterations: no place for the copies, one error
    p2 = tmp_path / "i.nvt"
    p2.write_text(f"NVMV1\n0 W 0x0 {a} {z} 0\n10 W 0x0 {b} {a} 0\n20 W 0x40 {a} {z} 0\n30 W 0x40 {b} {a} 0\n")
    common[0] = f"run.trace={p2}"
    with pytest.raises(ConfigError, match="interleave iterations .request 1,"):
        run_experiment(load_config(None, [*common, "wear_leveling=start-gap"]), progress=False)
    run_experiment(load_config(None, common), progress=False)  # without a leveller it is timed as before
    ordered = RequestStream(cycle=np.arange(4, dtype=np.uint64), is_write=np.ones(4, bool), line=np.array([0, 1, 0, 1]),
                            iteration=np.array([0, 0, 1, 1]), lines=2, read_only_lines=0)
    assert iteration_order_violation(ordered) is None

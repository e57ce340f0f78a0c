"""Hand-computed timelines of the controller policies (write-cancel, write-pause, FR-FCFS, row
buffers) and the request-level contract, checked on both engines.

Times in ns; one bank; reads cost 50 ns (the array read); the writes trigger no refresh.
"""
import numpy as np
import pytest

from archsim.errors import ArchsimError
from archsim.timing.scheduling import READ as SREAD, SCHEDULING_POLICIES, SchedulingPolicy
from archsim.timing.stats import (B_BUSY_PS, B_ROW_HITS, B_WRITE_CANCELLATIONS, B_WRITE_CANCELLED_PS,
                                  B_WRITE_PAUSES, R_COUNT, R_SERVICE_PS)

from _timing_helpers import (ACCEPTED, COMPLETED, NS, READ, WRITE, build, drive, log_ns, preemption_log_ns,
                             timing)

ENGINES = ["fast", "reference"]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_write_cancelled_by_a_read(engine):
    # W line 0 (1000 ns) at 0; R line 1 at 200: only 20 % of the write is done (< 75 %): cancelled,
    # the read runs 200-250, the write starts over 250-1250. R line 2 at 1100: the write is 85 %
    # done (>= 75 %): not cancelled, the read waits for it and runs 1250-1300.
    t = timing(scheduling={"name": "write-cancel", "cancel_below": 0.75})
    env, system, stats = build(engine, t, 3)
    drive(env, system, [(0, WRITE, [(0, 1000, 0)], ACCEPTED), (200, READ, [(1, 0, 0)], COMPLETED),
                        (850, READ, [(2, 0, 0)], COMPLETED)], 3)
    assert log_ns(system) == [
        (READ, 0, 1, 200, 200, 250, 0),
        (WRITE, 0, 0, 0, 250, 1250, 0),    # enqueued at 0, served in full from 250
        (READ, 0, 2, 1100, 1250, 1300, 0),
    ]
    assert preemption_log_ns(system) == [(0, 0, 200, "cancelled")]
    b = stats.bank[0]
    assert b[B_WRITE_CANCELLATIONS] == 1 and b[B_WRITE_CANCELLED_PS] == 200 * NS
    assert b[B_BUSY_PS] == (200 + 50 + 1000 + 50) * NS   # the lost 200 ns count as busy time
    assert stats.line_cancelled[0] == pytest.approx(0.2)  # 20 % of the write's cells were programmed
    assert stats.req[0, WRITE, R_SERVICE_PS] == 1000 * NS


@pytest.mark.parametrize("engine", ENGINES)
def test_a_paused_write_resumes(engine):
    # W line 0 (1000 ns, iterations of 250 ns: boundaries 250, 500, 750) at 0. R line 1 at 300: the write
    # pauses at 500, the read runs 500-550, the write resumes 550 with 500 ns left: done at 1050.
    # R line 2 at 1000: the write is in its last iteration (no boundary left): the read waits, 1050-1100.
    t = timing(scheduling={"name": "write-pause", "iteration_ns": 250})
    env, system, stats = build(engine, t, 3)
    drive(env, system, [(0, WRITE, [(0, 1000, 0)], ACCEPTED), (300, READ, [(1, 0, 0)], COMPLETED),
                        (450, READ, [(2, 0, 0)], COMPLETED)], 3)
    assert log_ns(system) == [
        (READ, 0, 1, 300, 500, 550, 0),
        (WRITE, 0, 0, 0, 0, 1050, 0),
        (READ, 0, 2, 1000, 1050, 1100, 0),
    ]
    assert preemption_log_ns(system) == [(0, 0, 500, "paused")]
    b = stats.bank[0]
    assert b[B_WRITE_PAUSES] == 1 and b[B_WRITE_CANCELLATIONS] == 0
    assert b[B_BUSY_PS] == (500 + 50 + 500 + 50) * NS    # no work lost
    assert stats.req[0, WRITE, R_SERVICE_PS] == 1050 * NS  # start to finish, the pause included


@pytest.mark.parametrize("engine", ENGINES)
def test_read_first_does_not_preempt(engine):
    # the same traffic under read-first: the read waits for the write (0-1000), 1000-1050
    env, system, stats = build(engine, timing(scheduling="read-first"), 2)
    drive(env, system, [(0, WRITE, [(0, 1000, 0)], ACCEPTED), (300, READ, [(1, 0, 0)], COMPLETED)], 2)
    assert log_ns(system) == [(WRITE, 0, 0, 0, 0, 1000, 0), (READ, 0, 1, 300, 1000, 1050, 0)]
    assert system.preemption_log() == []


def _reads(engine, scheduling, page="open"):
    # one bank, 2 lines per row: line l is in row l // 2. R0 (row 0) at 0 opens row 0 (a miss,
    # 0-50); at 10 arrive, in this order, R4 (row 2), R1 (row 0), R0 again (row 0).
    t = timing(scheduling=scheduling, row_lines=2, page_policy=page)
    env, system, stats = build(engine, t, 6)
    drive(env, system, [(0, READ, [(0, 0, 0)], ACCEPTED), (10, READ, [(4, 0, 0), (1, 0, 0), (0, 0, 0)], COMPLETED)],
          6)
    return [(line, start, fin) for _k, _b, line, _e, start, fin, _m in log_ns(system)], stats


@pytest.mark.parametrize("engine", ENGINES)
def test_fr_fcfs_serves_a_row_hit_before_an_older_miss(engine):
    order, stats = _reads(engine, "fr-fcfs")
    # at 50 row 0 is open: R1 and R0 hit (12.5 ns each) ahead of the older R4, a miss (50 ns)
    assert order == [(0, 0, 50), (1, 50, 62.5), (0, 62.5, 75), (4, 75, 125)]
    assert stats.bank[0, B_ROW_HITS] == 2
    fcfs, fstats = _reads(engine, "fcfs")
    # FCFS: R4 first (opens row 2), then R1 and R0 miss
    assert fcfs == [(0, 0, 50), (4, 50, 100), (1, 100, 150), (0, 150, 162.5)]
    assert fstats.bank[0, B_ROW_HITS] == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_fr_fcfs_cap_on_consecutive_hits(engine):
    order, stats = _reads(engine, {"name": "fr-fcfs", "hit_cap": 1})
    # after one hit (R1) the bank's hits lose their priority: the oldest, R4, goes; R0 then misses
    assert order == [(0, 0, 50), (1, 50, 62.5), (4, 62.5, 112.5), (0, 112.5, 162.5)]
    assert stats.bank[0, B_ROW_HITS] == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_page_policies(engine):
    # none: no row buffer, every read 50 ns; closed: every read an array read
    for page in ("none", "closed"):
        order, stats = _reads(engine, "fr-fcfs", page)
        assert order == [(0, 0, 50), (4, 50, 100), (1, 100, 150), (0, 150, 200)]
        assert stats.bank[0, B_ROW_HITS] == 0
    order, _ = _reads(engine, "fcfs", {"name": "open", "row_hit_ns": 5, "array_read_ns": 80})
    assert order == [(0, 0, 80), (4, 80, 160), (1, 160, 240), (0, 240, 245)]


@pytest.mark.parametrize("engine", ENGINES)
def test_request_level_policy_sees_the_views(engine):
    seen = []

    class Newest(SchedulingPolicy):
        """Newest available read first: a policy only the request-level contract can express."""

        def select(self, view):
            seen.append((view.now_ps, len(view.reads), tuple(view.reads.line), tuple(view.reads.row_hit),
                         tuple(view.reads.service_ps), tuple(view.banks.open_row), tuple(view.banks.busy_until_ps)))
            with pytest.raises(ValueError):
                view.reads.line[0] = 9  # read-only
            idx = np.flatnonzero(view.reads.available)
            return (SREAD, int(idx[-1])) if idx.size else None

    t = timing(row_lines=2, page_policy="open")
    env, system, _ = _build_with(engine, t, 6, Newest())
    drive(env, system, [(0, READ, [(0, 0, 0)], ACCEPTED), (10, READ, [(4, 0, 0), (1, 0, 0)], COMPLETED)], 6)
    order = [(line, start, fin) for _k, _b, line, _e, start, fin, _m in log_ns(system)]
    assert order == [(0, 0, 50), (1, 50, 62.5), (4, 62.5, 112.5)]
    # at 10 the bank is busy until 50 with row 0 open: R1 would hit (12.5 ns), R4 miss (50 ns)
    assert (10 * NS, 2, (4, 1), (False, True), (50 * NS, 12500), (0,), (50 * NS,)) in seen


def _build_with(engine, t, lines, policy):
    from archsim.timing.parts import TimingParts

    real = TimingParts.schedulers
    TimingParts.schedulers = lambda self, channels: [policy for _ in range(channels)]
    try:
        return build(engine, t, lines)
    finally:
        TimingParts.schedulers = real


@pytest.mark.parametrize("engine", ENGINES)
def test_a_policy_returning_a_busy_request_is_one_clear_error(engine):
    class Bad(SchedulingPolicy):
        def select(self, view):
            return (SREAD, 0) if len(view.reads) else None  # even when its bank is busy

    env, system, _ = _build_with(engine, timing(), 3, Bad())
    with pytest.raises(ArchsimError, match="not an available request"):
        drive(env, system, [(0, READ, [(0, 0, 0), (1, 0, 0)], COMPLETED)], 3)


def test_the_new_policies_are_registered_with_their_parameters():
    for name, param in (("fr-fcfs", "hit_cap"), ("write-cancel", "cancel_below"), ("write-pause", "iteration_ns")):
        assert param in SCHEDULING_POLICIES.params_type(name).__dataclass_fields__
    assert SCHEDULING_POLICIES.get("fr-fcfs").request_level
    assert not SCHEDULING_POLICIES.get("read-first").request_level


@pytest.mark.parametrize("engine", ENGINES)
def test_controller_statistics_of_the_fr_fcfs_timeline(engine):
    # the timeline of test_fr_fcfs_serves_a_row_hit_before_an_older_miss: queued requests 0 on [0, 10),
    # 3 on [10, 50), 2 on [50, 62.5), 1 on [62.5, 75), 0 to the end at 125
    order, stats = _reads(engine, "fr-fcfs")
    elapsed = 125 * NS
    ctl = stats.per_controller(elapsed).iloc[0]
    assert ctl["queue_occupancy_mean"] == pytest.approx((3 * 40 + 2 * 12.5 + 1 * 12.5) / 125)
    assert ctl["queue_occupancy_p99"] == 3 and ctl["queue_occupancy_max"] == 3
    col = stats.controller_columns(elapsed).iloc[0]
    assert col["row_hits"] == 2 and col["row_hit_rate"] == 0.5
    assert col["read_bandwidth_gbs"] == pytest.approx(4 * 64 / 125)  # 4 lines of 64 B in 125 ns
    assert col["write_bandwidth_gbs"] == 0


def test_least_worn_spends_the_write_budget_on_the_least_worn_bank():
    from pathlib import Path

    if "least-worn" not in SCHEDULING_POLICIES:
        from archsim.registry import load_plugin
        load_plugin(str(Path(__file__).resolve().parents[2] / "docs" / "examples" / "least_worn_policy.py"))
    for engine in ENGINES:
        # two banks (line l on bank l % 2); bank 0 worn (100 flips), bank 1 fresh; one write at a time.
        # W0 (bank 0) and W1 (bank 1) arrive together at 0: W1 goes first (0-100) though W0 is older,
        # then W0 (100-200); a read arriving at 50 is not limited by the budget: bank 0 is idle, 50-100
        t = timing(banks=2, scheduling={"name": "least-worn", "max_active_writes": 1})
        env, system, _ = build(engine, t, 4)
        system.spec.bank_wear[:] = [100.0, 0.0]
        drive(env, system, [(0, WRITE, [(0, 100, 0), (1, 100, 0)], ACCEPTED), (50, READ, [(2, 0, 0)], COMPLETED)],
              4)
        assert [(k, line, start, fin) for k, _b, line, _e, start, fin, _m in log_ns(system)] == [
            (READ, 2, 50, 100), (WRITE, 1, 0, 100), (WRITE, 0, 100, 200)]
        # FCFS under no budget: both at 0
        env, system, _ = build(engine, timing(banks=2), 4)
        drive(env, system, [(0, WRITE, [(0, 100, 0), (1, 100, 0)], ACCEPTED)], 4)
        assert [(line, start) for _k, _b, line, _e, start, _f, _m in log_ns(system)] == [(0, 0), (1, 0)]

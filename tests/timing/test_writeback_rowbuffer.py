"""Write-back row buffers (``[timing.page_policy] writes = "back"``): hand-computed timelines on both
engines, and the configuration's one error.

Times in ns; one bank; ``row_lines`` = 2 (lines 0, 1 are row 0; 2, 3 row 1); an array read (a row
miss) costs 50 ns, a row-buffer access 12.5 ns (the default ``row_hit_ns``).
"""
import pytest

from archsim.errors import ConfigError
from archsim.timing.stats import (B_BUSY_PS, B_REFRESH_IDLE_PS, B_REFRESH_MISSES, B_REFRESHES_IDLE, B_ROW_HITS,
                                  B_WRITEBACK_LINES, B_WRITEBACK_PS, B_WRITEBACKS, R_COUNT, R_LATENCY_PS)

from _timing_helpers import ACCEPTED, COMPLETED, NS, READ, WRITE, build, drive, log_ns, timing

ENGINES = ["fast", "reference"]


def _wb(page="open", **kw):
    return timing(row_lines=2, page_policy={"name": page, "writes": "back"}, **kw)


@pytest.mark.parametrize("engine", ENGINES)
def test_two_buffered_writes_are_written_back_by_a_read_to_another_row(engine):
    # W0 (125 ns array write) at 0 misses (row 0 opened: 50 ns, 0-50), W1 (1000 ns) hits (50-62.5):
    # both buffered, their queued latency the buffer's. R2 (row 1) at 500: the dirty row is written back
    # first (125 + 1000 ns), then row 1 opened (50 ns): 500-1675, latency 1175. W3 (250 ns, triggers a
    # 1000-ns refresh) right after hits row 1 (1675-1687.5). End of the run: the memory drained at
    # 1687.5, the bank writes back W3 (1687.5-1937.5), then W3's refresh runs in idle time
    # (1937.5-2937.5): it waited for the write-back.
    env, system, stats = build(engine, _wb(), 4)
    drive(env, system, [(0, WRITE, [(0, 125, 0), (1, 1000, 0)], ACCEPTED), (500, READ, [(2, 0, 0)], COMPLETED),
                        (0, WRITE, [(3, 250, 1000)], ACCEPTED)], 4)
    assert log_ns(system) == [
        (WRITE, 0, 0, 0, 0, 50, 0),
        (WRITE, 0, 1, 0, 50, 62.5, 0),
        (READ, 0, 2, 500, 500, 1675, 0),
        (WRITE, 0, 3, 1675, 1675, 1687.5, 0),
    ]
    assert [(b, line, s / NS, e / NS, what) for b, line, s, e, what in system.refresh_log()] == [
        (0, 3, 1937.5, 2937.5, "done")]
    assert env.now == 2937.5 * NS
    bank = stats.bank[0]
    assert bank[B_WRITEBACKS] == 2 and bank[B_WRITEBACK_LINES] == 3 and bank[B_WRITEBACK_PS] == 1375 * NS
    assert bank[B_ROW_HITS] == 0  # row hits count reads; the write hits are in the timeline
    assert bank[B_REFRESHES_IDLE] == 1 and bank[B_REFRESH_IDLE_PS] == 1000 * NS
    assert bank[B_BUSY_PS] == (50 + 12.5 + 1175 + 12.5 + 250 + 1000) * NS
    assert stats.req[0, READ, R_LATENCY_PS] == 1175 * NS  # the read's latency includes the write-back
    assert stats.req[0, WRITE, R_COUNT] == 3 and stats.req[0, WRITE, R_LATENCY_PS] == (50 + 62.5 + 12.5) * NS  # W1 queued 0-50


@pytest.mark.parametrize("engine", ENGINES)
def test_write_through_is_the_default_on_the_same_traffic(engine):
    # the same requests written through: W0 0-125, W1 125-1125 (their array service), R2 at 500
    # waits for W1 and misses (1125-1175), W3 1175-1425, its refresh 1425-2425; nothing written back
    env, system, stats = build(engine, timing(row_lines=2, page_policy="open"), 4)
    drive(env, system, [(0, WRITE, [(0, 125, 0), (1, 1000, 0)], ACCEPTED), (500, READ, [(2, 0, 0)], COMPLETED),
                        (0, WRITE, [(3, 250, 1000)], ACCEPTED)], 4)
    assert [(k, line, s, f) for k, _b, line, _e, s, f, _m in log_ns(system)] == [
        (WRITE, 0, 0, 125), (WRITE, 1, 125, 1125), (READ, 2, 1125, 1175), (WRITE, 3, 1175, 1425)]
    assert env.now == 2425 * NS
    assert not stats.bank[0, [B_WRITEBACKS, B_WRITEBACK_LINES, B_WRITEBACK_PS]].any()


@pytest.mark.parametrize("engine", ENGINES)
def test_closed_page_writes_back_after_each_write_and_a_rewrite_is_a_refresh_miss(engine):
    # closed: W0 (125 ns, refresh 1000 ns) opens row 0 (0-50), the row closes: written back 50-175
    # (W0's refresh handed then). R1 at 100 waits for the write-back: 175-225 (a miss: every access
    # of a closed page), latency 125. W0's refresh runs 225-1225 in idle time.
    env, system, stats = build(engine, _wb("closed"), 4)
    drive(env, system, [(0, WRITE, [(0, 125, 1000)], ACCEPTED), (100, READ, [(1, 0, 0)], COMPLETED)], 4)
    assert log_ns(system) == [(WRITE, 0, 0, 0, 0, 50, 0), (READ, 0, 1, 100, 175, 225, 0)]
    assert [(s / NS, e / NS) for _b, _l, s, e, _w in system.refresh_log()] == [(225, 1225)]
    assert stats.bank[0, B_WRITEBACKS] == 1 and stats.bank[0, B_WRITEBACK_PS] == 125 * NS

    # open: a line written twice while buffered: the second write finds the first one's refresh
    # waiting for the write-back (a refresh miss, paid inline in the burst: 125 + 1000 + 125 ns)
    env, system, stats = build(engine, _wb(), 4)
    drive(env, system, [(0, WRITE, [(0, 125, 1000), (0, 125, 1000)], ACCEPTED), (0, READ, [(2, 0, 0)], COMPLETED)],
          4)
    assert [(k, line, s, f, m) for k, _b, line, _e, s, f, m in log_ns(system)] == [
        (WRITE, 0, 0, 50, 0), (WRITE, 0, 50, 62.5, 1), (READ, 2, 62.5, 62.5 + 1250 + 50, 0)]
    assert stats.bank[0, B_REFRESH_MISSES] == 1 and stats.bank[0, B_WRITEBACK_PS] == 1250 * NS
    assert [(s / NS, e / NS) for _b, _l, s, e, _w in system.refresh_log()] == [(1362.5, 2362.5)]


def test_bad_writes_mode_is_one_error():
    with pytest.raises(ConfigError, match=r"timing\.page_policy\.writes must be one of 'through', 'back'"):
        timing(page_policy={"name": "open", "writes": "backwards"})
    with pytest.raises(ConfigError, match="writes"):
        timing(page_policy={"name": "none", "writes": "back"})  # no row buffer: no parameters


@pytest.mark.parametrize("engine", ENGINES)
def test_a_request_level_policy_sees_the_write_back_in_a_miss_service(engine):
    # the first timeline under a request-level policy (oldest available first, as fcfs): at 500 the
    # read of row 1 would cost the dirty row's write-back (1125 ns) + the array read (50 ns); a write
    # to the open row would cost the buffer's 12.5 ns; the bank stays busy until 1675
    from archsim.timing.parts import TimingParts
    from archsim.timing.scheduling import READ as SREAD, WRITE as SWRITE, SchedulingPolicy

    seen = []

    class Oldest(SchedulingPolicy):
        def select(self, view):
            seen.append((view.now_ps, tuple(view.reads.service_ps), tuple(view.writes.service_ps),
                         tuple(view.banks.busy_until_ps)))
            best = None
            for kind, q in ((SREAD, view.reads), (SWRITE, view.writes)):
                for i in range(len(q)):
                    if q.available[i] and (best is None or q.seq[i] < best[0]):
                        best = (int(q.seq[i]), kind, i)
            return None if best is None else (best[1], best[2])

    real = TimingParts.schedulers
    TimingParts.schedulers = lambda self, channels: [Oldest() for _ in range(channels)]
    try:
        env, system, stats = build(engine, _wb(), 4)
    finally:
        TimingParts.schedulers = real
    drive(env, system, [(0, WRITE, [(0, 125, 0), (1, 1000, 0)], ACCEPTED), (500, READ, [(2, 0, 0)], COMPLETED),
                        (0, WRITE, [(1, 250, 0)], ACCEPTED)], 4)
    assert (0, (), (50 * NS, 50 * NS), (0,)) in seen  # nothing open yet: both writes would open row 0
    assert (500 * NS, (1175 * NS,), (), (500 * NS,)) in seen
    assert (1675 * NS, (), (50 * NS,), (1675 * NS,)) in seen  # row 1 open and clean: W1 opens row 0
    assert [(line, s, f) for _k, _b, line, _e, s, f, _m in log_ns(system)] == [
        (0, 0, 50), (1, 50, 62.5), (2, 500, 1675), (1, 1675, 1725)]
    assert env.now == 1975 * NS and stats.bank[0, B_WRITEBACKS] == 2

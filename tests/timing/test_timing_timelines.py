"""Hand-computed timelines of the timing model, checked on both engines.

Times in ns. One bank unless said otherwise; a PreSET-like write takes 125 ns and
triggers a 1000 ns refresh.
"""
import pytest

from _timing_helpers import ACCEPTED, COMPLETED, READ, WRITE, build, drive, log_ns, refresh_log_ns, timing

ENGINES = ["fast", "reference"]


@pytest.mark.parametrize("engine", ENGINES)
def test_three_writes_with_known_gaps(engine):
    # W1 line 0 at t=0; W2 line 1 after 2000 ns; W3 line 1 again after 300 ns (cancel policy)
    env, system, stats = build(engine, timing(refresh_policy="cancel"), 2)
    times = drive(env, system, [
        (0, WRITE, [(0, 125, 1000)], ACCEPTED),
        (2000, WRITE, [(1, 125, 1000)], ACCEPTED),
        (300, WRITE, [(1, 125, 1000)], ACCEPTED),
    ], 2)
    assert [t for t, _ in times] == [0, 2000, 2300]
    # W1: 0-125, its PreSET 125-1125 in idle time. W2: 2000-2125, PreSET from 2125.
    # W3 at 2300 cancels that PreSET (175 ns wasted), finds its line unrefreshed: a refresh
    # miss, pays 1000 + 125 = 1125 ns (2300-3425); its own PreSET then runs 3425-4425.
    assert log_ns(system) == [
        (WRITE, 0, 0, 0, 0, 125, 0),
        (WRITE, 0, 1, 2000, 2000, 2125, 0),
        (WRITE, 0, 1, 2300, 2300, 3425, 1),
    ]
    assert refresh_log_ns(system) == [
        (0, 125, 1125, "done"),
        (1, 2125, 2300, "cancelled"),
        (1, 3425, 4425, "done"),
    ]
    bank = stats.bank[0]
    assert bank[1] == 2 and bank[2] == 2000 * 1000          # refreshes done in idle time, their ps
    assert bank[3] == 1 and bank[4] == 1000 * 1000          # one refresh miss, its inline ps
    assert bank[5] == 1 and bank[6] == 175 * 1000           # one cancellation, 175 ns wasted
    assert bank[0] == (125 + 125 + 1125 + 1000 + 1000 + 175) * 1000  # busy time
    assert env.now == 4425 * 1000
    assert system.pending_refreshes() == 0


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("policy", ["wait", "cancel"])
def test_write_arriving_during_a_refresh(engine, policy):
    # W1 line 0 at 0 (PreSET 125-1125); W2 to line 1 arrives at 500, during that PreSET
    env, system, stats = build(engine, timing(refresh_policy=policy), 2)
    drive(env, system, [(0, WRITE, [(0, 125, 1000)], ACCEPTED), (500, WRITE, [(1, 125, 1000)], ACCEPTED)], 2)
    if policy == "wait":
        # W2 waits for the PreSET to finish at 1125, runs 1125-1250; its PreSET 1250-2250
        assert log_ns(system)[1] == (WRITE, 0, 1, 500, 1125, 1250, 0)
        assert refresh_log_ns(system) == [(0, 125, 1125, "done"), (1, 1250, 2250, "done")]
        assert stats.bank[0, 5] == 0
    else:
        # W2 cancels it at 500 and runs 500-625; line 0's PreSET starts over (head of the
        # queue) 625-1625, then line 1's 1625-2625
        assert log_ns(system)[1] == (WRITE, 0, 1, 500, 500, 625, 0)
        assert refresh_log_ns(system) == [(0, 125, 500, "cancelled"), (0, 625, 1625, "done"),
                                          (1, 1625, 2625, "done")]
        assert stats.bank[0, 5] == 1 and stats.bank[0, 6] == 375 * 1000


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("policy", ["wait", "cancel"])
def test_write_to_the_line_being_refreshed(engine, policy):
    env, system, stats = build(engine, timing(refresh_policy=policy), 1)
    drive(env, system, [(0, WRITE, [(0, 125, 1000)], ACCEPTED), (500, WRITE, [(0, 125, 1000)], ACCEPTED)], 1)
    if policy == "wait":  # waits for its own line's PreSET: no miss
        assert log_ns(system)[1] == (WRITE, 0, 0, 500, 1125, 1250, 0)
        assert stats.bank[0, 3] == 0
    else:  # cancels it, then must do it inline: a miss, 1125 ns of service
        assert log_ns(system)[1] == (WRITE, 0, 0, 500, 500, 1625, 1)
        assert stats.bank[0, 3] == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_read_first_with_drain_watermarks(engine):
    # 6 writes (100 ns) then 3 reads (50 ns) at t=0; write queue 8, drain between 4 and 2
    t = timing(scheduling="read-first", write_queue=8, write_high_watermark=4, write_low_watermark=2)
    env, system, _ = build(engine, t, 9)
    drive(env, system, [
        (0, WRITE, [(i, 100, 0) for i in range(6)], ACCEPTED),
        (0, READ, [(6, 0, 0), (7, 0, 0), (8, 0, 0)], COMPLETED),
    ], 9)
    order = [(kind, line, start, fin) for kind, _b, line, _e, start, fin, _m in log_ns(system)]
    # 6 queued writes >= high: drain; W0 goes at once, the reads arrive; the drain goes on
    # (W1..W3) until 2 writes are left, then the reads go first, then the remaining writes
    assert order == [
        (WRITE, 0, 0, 100), (WRITE, 1, 100, 200), (WRITE, 2, 200, 300), (WRITE, 3, 300, 400),
        (READ, 6, 400, 450), (READ, 7, 450, 500), (READ, 8, 500, 550),
        (WRITE, 4, 550, 650), (WRITE, 5, 650, 750),
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_read_first_holds_writes_below_the_watermark(engine):
    # 2 writes (< high watermark) and then 2 reads: the reads overtake the queued write
    t = timing(scheduling="read-first", write_queue=8, write_high_watermark=4, write_low_watermark=2)
    env, system, _ = build(engine, t, 4)
    drive(env, system, [(0, WRITE, [(0, 100, 0), (1, 100, 0)], ACCEPTED),
                        (0, READ, [(2, 0, 0), (3, 0, 0)], COMPLETED)], 4)
    order = [(line, start) for _k, _b, line, _e, start, _f, _m in log_ns(system)]
    # no read queued at t=0 when W0 is issued; then the reads overtake W1
    assert order == [(0, 0), (2, 100), (3, 150), (1, 200)]


@pytest.mark.parametrize("engine", ENGINES)
def test_fcfs_serves_in_arrival_order(engine):
    t = timing(scheduling="fcfs", write_queue=8, write_high_watermark=4, write_low_watermark=2)
    env, system, _ = build(engine, t, 9)
    drive(env, system, [(0, WRITE, [(i, 100, 0) for i in range(6)], ACCEPTED),
                        (0, READ, [(6, 0, 0), (7, 0, 0), (8, 0, 0)], COMPLETED)], 9)
    assert [line for _k, _b, line, *_ in log_ns(system)] == [0, 1, 2, 3, 4, 5, 6, 7, 8]


@pytest.mark.parametrize("engine", ENGINES)
def test_back_pressure_when_the_write_queue_is_full(engine):
    # write queue of 2: of 5 writes (100 ns) only 2 enter at t=0; each completion frees a slot
    env, system, stats = build(engine, timing(write_queue=2, write_high_watermark=2, write_low_watermark=0,
                                              requests_in_flight=8), 5)
    times = drive(env, system, [(0, WRITE, [(i, 100, 0) for i in range(5)], ACCEPTED)], 5)
    log = log_ns(system)
    assert [(line, enq, start, fin) for _k, _b, line, enq, start, fin, _m in log] == [
        (0, 0, 0, 100), (1, 0, 100, 200), (2, 100, 200, 300), (3, 200, 300, 400), (4, 300, 400, 500)]
    assert times == [(0, 300)]  # the front end was held until the last write entered the queue
    assert stats.chan[0, 0] == 3 and stats.chan[0, 1] == (100 + 200 + 300) * 1000  # stalled requests, ps


@pytest.mark.parametrize("engine", ENGINES)
def test_in_flight_limit(engine):
    # at most 2 requests outstanding: the third enters when the first completes
    env, system, stats = build(engine, timing(requests_in_flight=2, banks=2, ranks=1), 3)
    drive(env, system, [(0, WRITE, [(0, 100, 0), (1, 300, 0), (2, 100, 0)], ACCEPTED)], 3)
    # RoCoBaRaCh with 2 banks: lines 0, 2 on bank 0, line 1 on bank 1
    assert [(line, enq, start, fin) for _k, _b, line, enq, start, fin, _m in log_ns(system)] == [
        (0, 0, 0, 100), (2, 100, 100, 200), (1, 0, 0, 300)]
    assert stats.chan[0, 0] == 1

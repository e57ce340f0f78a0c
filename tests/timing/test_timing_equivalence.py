"""The fast engine gives exactly the statistics of the event-per-request reference,
under every registered scheduling policy, refresh policy and region manager."""
from pathlib import Path

import numpy as np
import pytest

from archsim.registry import load_plugin
from archsim.timing.refresh import REFRESH_POLICIES
from archsim.timing.region import REGION_MANAGERS
from archsim.timing.scheduling import SCHEDULING_POLICIES
from archsim.timing.stats import (B_ROW_HITS, B_WRITE_CANCELLATIONS, B_WRITE_PAUSES, B_WRITEBACK_LINES,
                                  B_WRITEBACKS, R_PORT_WAIT_PS, R_PORT_WAITS)

from _timing_helpers import ACCEPTED, COMPLETED, READ, WRITE, build, digits, drive, timing  # noqa: F401

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
if "write-batch" not in SCHEDULING_POLICIES:  # the plugins: third-party policies are tested too
    load_plugin(str(EXAMPLES / "timing_plugin.py"))
if "least-worn" not in SCHEDULING_POLICIES:  # the tutorial's request-level policy
    load_plugin(str(EXAMPLES / "least_worn_policy.py"))


def _scenario(seed: int, lines: int):
    rng = np.random.default_rng(seed)
    bursts = []
    for _ in range(40):
        kind = READ if rng.random() < 0.35 else WRITE
        n = int(rng.integers(1, 12))
        chosen = rng.choice(lines, size=n, replace=False)
        gap = float(rng.choice([0, 0, 0, 50, 333.333, 1000, 2500, 8000]))
        reqs = [(int(x), float(rng.choice([0, 125, 125, 1000, 1250])), float(rng.choice([0, 125, 1000, 1000])))
                for x in chosen]
        bursts.append((gap, kind, reqs, COMPLETED if kind == READ else ACCEPTED))
    return bursts


def _run(engine, t, bursts, lines, wear=None):
    from archsim.timing.organisation import Organisation
    from archsim.timing.parts import TimingParts

    org = Organisation.from_config(t, 64)
    parts = TimingParts.from_config(t)
    line_bank = parts.mapping(org).global_bank(np.arange(lines))
    groups = parts.manager(None, line_bank=line_bank).refresh_groups()
    env, system, stats = build(engine, t, lines, groups=groups)
    if wear is not None:
        system.spec.bank_wear[:] = wear[:system.spec.bank_wear.shape[0]]
    times = drive(env, system, bursts, lines)
    return (stats, times, sorted(system.request_log()), sorted(system.refresh_log()), env.now,
            sorted(system.preemption_log()))


@pytest.mark.parametrize("banks", [32, 33])      # 64 banks a channel: the kernel's bank masks; 66: its scans
@pytest.mark.parametrize("scheduling", SCHEDULING_POLICIES.names())
@pytest.mark.parametrize("seed", [0, 1])
def test_fast_equals_reference_at_the_bank_mask_limit(scheduling, banks, seed):
    """The fast kernel keeps its banks' states as 64-bit masks up to 64 banks a channel and scans above:
    both sides of the limit give the reference's requests, refreshes and statistics."""
    params = {"write_high_watermark": 3, "write_low_watermark": 1, "batch": 3, "region_lines": 3, "hit_cap": 2,
              "cancel_below": 0.9, "iteration_ns": 100.0, "max_active_writes": 2}
    known = SCHEDULING_POLICIES.params_type(scheduling).__dataclass_fields__
    t = timing(channels=1 + seed, ranks=2, banks=banks,
               scheduling={"name": scheduling, **{k: v for k, v in params.items() if k in known}},
               read_queue=3, write_queue=4, requests_in_flight=6, address_mapping=["RoCoBaRaCh", "RoBaRaCoCh"][seed],
               row_lines=2, page_policy=["none", "open"][seed])
    lines = 400
    bursts = _scenario(seed, lines)
    wear = np.random.default_rng(seed + 100).integers(0, 50, 4 * banks * 2).astype(float)
    fast = _run("fast", t, bursts, lines, wear)
    ref = _run("reference", t, bursts, lines, wear)
    assert fast[0].equal(ref[0]) and fast[1:] == ref[1:]
    assert fast[0].bank[:, 1].sum() > 0 and fast[0].req[:, :, 0].sum() > 200  # refreshes and requests ran


@pytest.mark.parametrize("manager", REGION_MANAGERS.names())
@pytest.mark.parametrize("refresh", REFRESH_POLICIES.names())
@pytest.mark.parametrize("scheduling", SCHEDULING_POLICIES.names())
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_fast_equals_reference(scheduling, refresh, manager, seed):
    channels = 1 + seed % 2
    # every parameter the policies take, set small enough for the scenario to reach them
    params = {"write_high_watermark": 3, "write_low_watermark": 1, "batch": 3, "region_lines": 3, "hit_cap": 2,
              "cancel_below": 0.9, "iteration_ns": 100.0, "max_active_writes": 2}

    def choice(registry, name):
        known = [f for f in registry.params_type(name).__dataclass_fields__]
        return {"name": name, **{k: v for k, v in params.items() if k in known}}

    t = timing(channels=channels, ranks=2, banks=2, scheduling=choice(SCHEDULING_POLICIES, scheduling),
               refresh_policy=refresh, region_manager=choice(REGION_MANAGERS, manager), read_queue=3, write_queue=4,
               requests_in_flight=6, address_mapping=["RoCoBaRaCh", "RoBaRaCoCh"][seed % 2], row_lines=2,
               page_policy=["none", "open", "closed"][seed % 3])
    lines = 30
    bursts = _scenario(seed, lines)
    wear = np.random.default_rng(seed + 100).integers(0, 50, 8).astype(float)
    fast = _run("fast", t, bursts, lines, wear)
    ref = _run("reference", t, bursts, lines, wear)
    assert fast[0].equal(ref[0])
    assert fast[1] == ref[1]  # the front end saw the same acceptance / completion times
    assert fast[2] == ref[2]  # every request: enqueue, start, finish, miss
    assert fast[3] == ref[3]  # every refresh run, done or cancelled
    assert fast[4] == ref[4]
    assert fast[5] == ref[5]  # every write cancelled or paused
    # the scenario exercises what it should
    s = fast[0]
    assert s.req[:, :, 0].sum() > 100
    assert s.chan[:, 0].sum() > 0  # back-pressure happened
    assert s.bank[:, 1].sum() > 0  # refreshes in idle time
    assert s.bank[:, 3].sum() > 0  # refresh misses
    if t.page_policy.name == "open":
        assert s.bank[:, B_ROW_HITS].sum() > 0
    if scheduling == "write-cancel":
        assert s.bank[:, B_WRITE_CANCELLATIONS].sum() > 0 and s.line_cancelled.sum() > 0
    if scheduling == "write-pause":
        assert s.bank[:, B_WRITE_PAUSES].sum() > 0
    assert s.occ.sum() > 0
    assert s.req[:, :, R_PORT_WAITS].sum() > 0 and s.req[:, :, R_PORT_WAIT_PS].sum() > 0  # waits for a busy bank


@pytest.mark.parametrize("manager", REGION_MANAGERS.names())
@pytest.mark.parametrize("refresh", REFRESH_POLICIES.names())
@pytest.mark.parametrize("scheduling", ["fcfs", "fr-fcfs"])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_fast_equals_reference_with_write_back_row_buffers(scheduling, refresh, manager, seed):
    channels = 1 + seed % 2
    sched = {"name": scheduling, **({"hit_cap": 2} if scheduling == "fr-fcfs" else {})}
    fields = REGION_MANAGERS.params_type(manager).__dataclass_fields__
    mgr = {"name": manager, **({"region_lines": 3} if "region_lines" in fields else {})}
    t = timing(channels=channels, ranks=2, banks=2, scheduling=sched, refresh_policy=refresh, region_manager=mgr,
               read_queue=3, write_queue=4, requests_in_flight=6, address_mapping=["RoCoBaRaCh", "RoBaRaCoCh"][seed % 2],
               row_lines=2, page_policy={"name": ["open", "closed"][seed // 2], "writes": "back"})
    lines = 30
    bursts = _scenario(seed + 10, lines)
    fast = _run("fast", t, bursts, lines)
    ref = _run("reference", t, bursts, lines)
    assert fast[0].equal(ref[0])
    assert fast[1] == ref[1]
    assert fast[2] == ref[2]
    assert fast[3] == ref[3]
    assert fast[4] == ref[4]
    s = fast[0]
    assert s.bank[:, B_WRITEBACKS].sum() > 10 and s.bank[:, B_WRITEBACK_LINES].sum() > s.bank[:, B_WRITEBACKS].sum() * (
        seed < 2)  # open: bursts of several writes
    assert s.bank[:, 1].sum() > 0 and s.bank[:, 3].sum() > 0  # refreshes in idle time, refresh misses
    if t.page_policy.name == "open":
        assert s.bank[:, B_ROW_HITS].sum() > 0


def test_model_engines_agree_on_the_digits_trace(digits):
    """The whole model (training access pattern, intermediate data) on a real trace."""
    from archsim.config import Config
    from archsim.contracts import TECHNOLOGIES
    from archsim.timing.model import TimingModel

    cfg = Config()
    tech = TECHNOLOGIES.get("pcm")
    source, layout, outcomes = digits("appwom", 3)
    res = {}
    for engine in ("fast", "reference"):
        m = TimingModel(cfg, technology=tech, scheme="appwom", layout=layout, meta=source.meta, engine=engine)
        for o in outcomes:
            m.feed(o)
        res[engine] = m.finish()
    assert res["fast"].stats.equal(res["reference"].stats)
    assert res["fast"].elapsed_ps == res["reference"].elapsed_ps
    assert res["fast"].per_bank.equals(res["reference"].per_bank)


def test_model_engines_agree_on_the_digits_trace_with_write_back_row_buffers(digits):
    """The whole model under write-back row buffers (the training pattern: reads and writes): the same
    tables from both engines, the write-back columns present, energy and wear those of write-through."""
    from archsim.config import load_config
    from archsim.contracts import TECHNOLOGIES
    from archsim.timing.model import TimingModel

    tech = TECHNOLOGIES.get("pcm")
    source, layout, outcomes = digits("appwom", 3)
    res = {}
    for writes in ("through", "back"):
        cfg = load_config(None, ['timing.page_policy.name="open"', f'timing.page_policy.writes="{writes}"',
                                 'timing.scheduling="fr-fcfs"'])
        for engine in ("fast", "reference"):
            m = TimingModel(cfg, technology=tech, scheme="appwom", layout=layout, meta=source.meta, engine=engine)
            for o in outcomes:
                m.feed(o)
            res[writes, engine] = m.finish()
    fast, ref = res["back", "fast"], res["back", "reference"]
    assert fast.stats.equal(ref.stats) and fast.elapsed_ps == ref.elapsed_ps
    assert fast.per_bank.equals(ref.per_bank)
    through = res["through", "fast"]
    assert "writebacks" not in through.per_bank and "writebacks" not in through.summary
    s = fast.summary
    assert s["writebacks"] > 0 and s["writeback_lines"] == fast.overall["writes"]  # every write written back
    assert fast.overall["writeback_ns"] > 0 and fast.per_bank["writebacks"].sum() == s["writebacks"]
    for col in ("energy_pj", "mean_cell_flips"):  # the array programs the same cells
        assert fast.overall[col] == through.overall[col]
    assert (fast.per_bank["cell_flips"] == through.per_bank["cell_flips"]).all()
    # the queued write latency is the buffer's (write-through pays the array's)
    assert s["queued_avg_write_latency_ns"] < through.summary["queued_avg_write_latency_ns"]

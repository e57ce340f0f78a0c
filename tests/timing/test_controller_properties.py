"""Property-based equivalence of the two engines under the controller policies (Hypothesis), and the
energy and wear charged for cancelled writes in the whole model."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from _timing_helpers import ACCEPTED, COMPLETED, READ, WRITE, build, digits, drive, timing  # noqa: F401

POLICIES = [{"name": "fr-fcfs", "hit_cap": 2}, {"name": "write-cancel", "cancel_below": 0.6},
            {"name": "write-pause", "iteration_ns": 125.0}, "fcfs", "read-first"]

burst = st.tuples(st.sampled_from([0, 0, 30, 200, 700]), st.sampled_from([READ, WRITE]),
                  st.lists(st.tuples(st.integers(0, 15), st.sampled_from([0, 125, 1000]),
                                     st.sampled_from([0, 0, 125, 1000])), min_size=1, max_size=6,
                           unique_by=lambda r: r[0]))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=st.sampled_from(POLICIES), page=st.sampled_from(["none", "open", "closed"]),
       refresh=st.sampled_from(["wait", "cancel"]), bursts=st.lists(burst, min_size=1, max_size=14))
def test_engines_agree_on_random_traffic(policy, page, refresh, bursts):
    t = timing(ranks=1, banks=2, scheduling=policy, page_policy=page, refresh_policy=refresh, row_lines=2,
               read_queue=3, write_queue=4, requests_in_flight=5, write_high_watermark=3, write_low_watermark=1)
    plan = [(gap, kind, reqs, COMPLETED if kind == READ else ACCEPTED) for gap, kind, reqs in bursts]
    out = []
    for engine in ("fast", "reference"):
        env, system, stats = build(engine, t, 16)
        times = drive(env, system, plan, 16)
        out.append((stats, times, sorted(system.request_log()), sorted(system.refresh_log()),
                    sorted(system.preemption_log()), env.now))
    (a, *ra), (b, *rb) = out
    assert a.equal(b)
    assert ra == rb


def test_cancelled_writes_are_charged_in_energy_and_wear(digits):
    """write-cancel on the digits trace: the cells a cancelled write programmed count (fraction done x the
    line's mean write energy and flips), on top of what read-first charges for the same writes."""
    from archsim.config import Config, replace
    from archsim.contracts import TECHNOLOGIES
    from archsim.timing.model import TimingModel

    tech = TECHNOLOGIES.get("pcm")
    source, layout, outcomes = digits("prereset", 3)
    res = {}
    for policy in ("read-first", "write-cancel"):
        cfg = replace(Config(), {"timing.scheduling": policy})
        m = TimingModel(cfg, technology=tech, scheme="prereset", layout=layout, meta=source.meta)
        for o in outcomes:
            m.feed(o)
        res[policy] = (m, m.finish())
    m, wc = res["write-cancel"]
    _, rf = res["read-first"]
    frac = wc.stats.line_cancelled
    assert wc.overall["write_cancellations"] > 0 and frac.sum() > 0
    flips = float((frac * m._totals["flips"] / m.iterations).sum())
    assert wc.overall["cancelled_cell_flips"] == pytest.approx(flips)
    assert flips > 0
    # functional totals are the same under both policies; write-cancel adds exactly the cancelled part
    extra = sum(float((frac * m._line_energy_pj(k) / m.iterations).sum()) for k in tech.energy_kinds
                if k != "read" and k in m._totals)
    e_rf = rf.overall["energy_pj"] - rf.overall["energy_read_pj"]
    e_wc = wc.overall["energy_pj"] - wc.overall["energy_read_pj"]
    assert e_wc == pytest.approx(e_rf + extra)
    assert wc.per_bank["cell_flips"].sum() == pytest.approx(rf.per_bank["cell_flips"].sum() + flips)

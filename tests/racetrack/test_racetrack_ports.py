"""Racetrack access ports in the timing model: a bank's clusters dealt over port groups that serve in
parallel, one request each at a time; how long requests waited for their port; both engines alike."""
from __future__ import annotations

import numpy as np
import pytest
import simpy
from hypothesis import given, strategies as st

from _timing_helpers import ACCEPTED, COMPLETED, ENGINES, NS, READ, WRITE, digits, drive, log_ns, timing  # noqa: F401
from archsim.config import load_config
from archsim.contracts import TECHNOLOGIES
from archsim.errors import ConfigError
from archsim.timing.organisation import Organisation, port_units
from archsim.timing.parts import TimingParts
from archsim.timing.stats import R_PORT_WAIT_PS, R_PORT_WAITS, TimingStats
from archsim.timing.system import SystemSpec


def test_port_units_deal_each_banks_clusters_round_robin():
    # bank 0 holds clusters 5, 7, 9, 12 (in that order of cluster number), bank 1 clusters 7 and 3
    line_bank = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    cluster = np.array([7, 5, 7, 9, 12, 7, 3, 3])
    used, unit = port_units(line_bank, cluster, 3)
    assert used == 3
    # bank 0: 5 -> g0, 7 -> g1, 9 -> g2, 12 -> g0; bank 1: 3 -> g0, 7 -> g1 (server = bank x 3 + group)
    np.testing.assert_array_equal(unit, [1, 0, 1, 2, 0, 3 + 1, 3 + 0, 3 + 0])
    # more groups than any bank's clusters: only the groups holding lines are kept
    used, unit = port_units(line_bank, cluster, 16)
    assert used == 4
    np.testing.assert_array_equal(unit, [1, 0, 1, 2, 3, 4 + 1, 4 + 0, 4 + 0])
    used, unit = port_units(line_bank, cluster, 1)
    assert used == 1 and np.array_equal(unit, line_bank)


def _two_group_bank(engine):
    """One bank with two port groups; lines 0, 1 in cluster 0 (group 0), lines 2, 3 in cluster 1 (group 1)."""
    t = timing(banks=1, scheduling="fcfs")
    used, unit = port_units(np.zeros(4, np.int64), np.array([0, 0, 1, 1]), 2)
    assert used == 2
    org = Organisation(1, 1, 2, t.row_lines)
    parts = TimingParts.from_config(t)
    spec = SystemSpec(t, org, unit, np.full(4, -1, np.int64), 50 * NS, parts.schedulers(1), parts.refresh(),
                      logging=True, page=parts.page())
    env = simpy.Environment()
    stats = TimingStats.for_system(spec)
    return env, ENGINES[engine](env, spec, stats), stats


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_two_clusters_of_one_bank_overlap_two_of_one_cluster_serialise(engine):
    env, system, stats = _two_group_bank(engine)
    # t=0: writes of 100 ns to line 0 (cluster 0) and line 2 (cluster 1): both ports start at once.
    # t=1000: writes of 100 ns to lines 0 and 1 (both cluster 0), then a 50 ns read of line 3 (cluster 1):
    #   line 0 runs 1000-1100, line 1 waits for its port and runs 1100-1200 (port wait 100 ns),
    #   the read of line 3 is not held behind them: 1000-1050 on the other port.
    bursts = [(0, WRITE, [(0, 100, 0), (2, 100, 0)], ACCEPTED),
              (1000, WRITE, [(0, 100, 0), (1, 100, 0)], ACCEPTED),
              (0, READ, [(3, 0, 0)], COMPLETED)]
    drive(env, system, bursts, 4)
    # (kind, server, line, enqueue, start, finish, miss)
    assert log_ns(system) == [
        (WRITE, 0, 0, 0.0, 0.0, 100.0, 0),
        (WRITE, 1, 2, 0.0, 0.0, 100.0, 0),
        (READ, 1, 3, 1000.0, 1000.0, 1050.0, 0),
        (WRITE, 0, 0, 1000.0, 1000.0, 1100.0, 0),
        (WRITE, 0, 1, 1000.0, 1100.0, 1200.0, 0),
    ]
    assert env.now == 1200 * NS
    pw = stats.req[:, :, R_PORT_WAIT_PS].sum(), stats.req[:, :, R_PORT_WAITS].sum()
    assert pw == (100 * NS, 1)  # one request waited, 100 ns
    assert stats.req[0, WRITE, R_PORT_WAITS] == 1 and stats.req[1, :, R_PORT_WAITS].sum() == 0


def test_a_single_port_group_serialises_the_same_requests():
    """The same traffic on one port group (the default): everything waits its turn."""
    for engine in ("fast", "reference"):
        t = timing(banks=1, scheduling="fcfs")
        org = Organisation(1, 1, 1, t.row_lines)
        parts = TimingParts.from_config(t)
        spec = SystemSpec(t, org, np.zeros(4, np.int32), np.full(4, -1, np.int64), 50 * NS, parts.schedulers(1),
                          parts.refresh(), logging=True, page=parts.page())
        env = simpy.Environment()
        stats = TimingStats.for_system(spec)
        system = ENGINES[engine](env, spec, stats)
        drive(env, system, [(0, WRITE, [(0, 100, 0), (2, 100, 0)], ACCEPTED)], 4)
        assert [(r[4], r[5]) for r in log_ns(system)] == [(0.0, 100.0), (100.0, 200.0)]
        assert stats.req[0, WRITE, R_PORT_WAIT_PS] == 100 * NS and stats.req[0, WRITE, R_PORT_WAITS] == 1


# ---------------------------------------------------------------------------- the whole model


def _racetrack_model(engine, groups, scheduling="read-first", iterations=2):
    import workloads
    from archsim.layout import AddressLayout
    from archsim.timing.model import TimingModel

    cfg = load_config(None, ["run.memory=racetrack", f"racetrack_ports.groups={groups}",
                             f"timing.scheduling={scheduling}"])
    tech = TECHNOLOGIES.get("racetrack")
    source = workloads.make_source("mlp-digits", iterations=iterations, seed=0)
    layout = AddressLayout.from_meta(source.meta, cfg.layout)
    stream = tech.open_stream("dcw", lines=layout.lines, words=layout.words_per_line, config=cfg)
    model = TimingModel(cfg, technology=tech, scheme="dcw", layout=layout, meta=source.meta, engine=engine,
                        logging=True)
    done = 0
    for chunk in source.iter_chunks(2):
        chunk = chunk[: iterations - done]
        model.feed(stream.feed(layout.to_lines(chunk)))
        done += len(chunk)
        if done >= iterations:
            break
    return model, model.finish()


@pytest.fixture(scope="module")
def four_groups():
    return {e: _racetrack_model(e, 4) for e in ("fast", "reference")}


def test_port_groups_both_engines_identical(four_groups):
    (mf, fast), (_mr, ref) = four_groups["fast"], four_groups["reference"]
    assert mf.port_groups == 4
    assert fast.stats.equal(ref.stats)
    assert fast.elapsed_ps == ref.elapsed_ps
    assert sorted(fast.request_log) == sorted(ref.request_log)
    assert fast.per_bank.equals(ref.per_bank)
    assert fast.summary == ref.summary


def test_port_groups_overlap_within_a_bank_never_within_a_cluster(four_groups):
    model, res = four_groups["fast"]
    clusters = TECHNOLOGIES.get("racetrack").port_clusters(model.config, len(model.line_bank))[1]
    by_bank: dict = {}
    for (_b, _i, _k, unit, line, _rel, _enq, start, fin, _m) in res.request_log:
        assert unit // model.port_groups == model.line_bank[line]  # a server belongs to the line's bank
        by_bank.setdefault(int(model.line_bank[line]), []).append((start, fin, int(clusters[line]), unit))
    overlaps = 0
    for reqs in by_bank.values():
        reqs.sort()
        for i, (s1, f1, c1, u1) in enumerate(reqs):
            for s2, f2, c2, u2 in reqs[i + 1:]:
                if s2 >= f1:
                    break
                assert c1 != c2 and u1 != u2  # one cluster, one port group: one access at a time
                overlaps += 1
    assert overlaps > 100
    assert res.overall["port_waits"] > 0 and res.overall["port_wait_ns"] > 0
    assert res.summary["port_waits"] == res.overall["port_waits"]
    assert int(res.per_bank["port_waits"].sum()) == res.overall["port_waits"]
    assert res.per_bank["port_wait_total_ns"].sum() == pytest.approx(res.overall["port_wait_total_ns"])
    assert (res.per_bank["port_groups"] == 4).all()
    assert res.per_bank["utilisation"].max() <= 1.0


def test_more_port_groups_less_waiting_same_work(four_groups):
    _m1, one = _racetrack_model("fast", 1)
    _m4, four = four_groups["fast"]
    for col in ("reads", "writes", "busy_ns", "energy_pj", "cell_flips", "lines"):
        np.testing.assert_allclose(one.per_bank[col], four.per_bank[col])  # same requests and work per bank
    assert four.overall["port_wait_total_ns"] < one.overall["port_wait_total_ns"]
    assert four.overall["write_avg_latency_ns"] < one.overall["write_avg_latency_ns"]
    # utilisation: busy time over the port groups' time (elapsed x banks x groups)
    busy = four.per_bank["busy_ns"].sum()
    assert four.overall["utilisation"] == pytest.approx(busy / (four.overall["elapsed_ns"] * len(four.per_bank) * 4))
    assert one.overall["utilisation"] == pytest.approx(busy / (one.overall["elapsed_ns"] * len(one.per_bank)))


def test_pcm_has_no_port_columns(digits):
    from archsim.config import Config
    from archsim.timing.model import TimingModel

    source, layout, outcomes = digits("dcw", 2)
    m = TimingModel(Config(), technology=TECHNOLOGIES.get("pcm"), scheme="dcw", layout=layout, meta=source.meta)
    for o in outcomes:
        m.feed(o)
    res = m.finish()
    assert "port_wait_ns" not in res.per_bank.columns and "port_wait_ns" not in res.summary


@pytest.mark.parametrize("value, message", [("-1", "racetrack_ports.groups must be 0"),
                                            ("513", "exceeds the clusters of a bank")])
def test_bad_port_groups_one_error(value, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, ["run.memory=racetrack", f"racetrack_ports.groups={value}"])


def test_port_groups_with_open_rows_and_fr_fcfs_both_engines_identical():
    """Each port group keeps its own open row; FR-FCFS sees port groups as banks: both engines agree."""
    import workloads
    from archsim.layout import AddressLayout
    from archsim.timing.model import TimingModel

    cfg = load_config(None, ["run.memory=racetrack", "racetrack_ports.groups=2", "timing.scheduling=fr-fcfs",
                             "timing.page_policy=open"])
    tech = TECHNOLOGIES.get("racetrack")
    source = workloads.make_source("mlp-digits", iterations=1, seed=0)
    layout = AddressLayout.from_meta(source.meta, cfg.layout)
    stream = tech.open_stream("pw", lines=layout.lines, words=layout.words_per_line, config=cfg)
    chunk = stream.feed(layout.to_lines(next(iter(source.iter_chunks(1)))))
    res = {}
    for engine in ("fast", "reference"):
        m = TimingModel(cfg, technology=tech, scheme="pw", layout=layout, meta=source.meta, engine=engine)
        m.feed(chunk)
        res[engine] = m.finish()
    assert res["fast"].stats.equal(res["reference"].stats)
    assert res["fast"].per_bank.equals(res["reference"].per_bank)
    assert res["fast"].overall["row_hits"] > 0 and res["fast"].overall["port_waits"] > 0


def test_cli_summary_has_the_port_columns(tmp_path):
    import pandas as pd

    from archsim.cli import main

    out = tmp_path / "rt"
    assert main(["run", "--memory", "racetrack", "--workload", "mlp-digits", "--iterations", "2", "--timing",
                 "--schemes", "dcw", "--set", "racetrack_ports.groups=4", "--out", str(out), "--no-progress",
                 "--no-figures"]) == 0
    summary = pd.read_csv(out / "summary.csv").set_index("scheme")
    overall = pd.read_csv(out / "timing_overall.csv").set_index("scheme")
    assert summary.loc["dcw", "port_waits"] == overall.loc["dcw", "port_waits"] > 0
    assert summary.loc["dcw", "port_wait_ns"] == pytest.approx(overall.loc["dcw", "port_wait_ns"])
    assert overall.loc["dcw", "port_groups"] == 4
    assert "racetrack_ports" in (out / "config.toml").read_text()


def _port_units_plain(line_bank, cluster, groups):
    """The rule of port_units written out: per bank, its clusters in increasing order, dealt round-robin."""
    per_bank: dict = {}
    for b, c in zip(line_bank, cluster):
        per_bank.setdefault(int(b), set()).add(int(c))
    rank = {b: {c: i for i, c in enumerate(sorted(cs))} for b, cs in per_bank.items()}
    used = min(groups, max(len(cs) for cs in per_bank.values()))
    return used, [int(b) * used + rank[int(b)][int(c)] % used for b, c in zip(line_bank, cluster)]



@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 40)), min_size=1, max_size=200), st.integers(1, 9))
def test_port_units_match_the_plain_rule(pairs, groups):
    line_bank = np.array([b for b, _ in pairs])
    cluster = np.array([c for _, c in pairs])
    used, unit = port_units(line_bank, cluster, groups)
    ref_used, ref_unit = _port_units_plain(line_bank, cluster, groups)
    assert used == ref_used
    assert unit.tolist() == ref_unit
    # one cluster of one bank: one port group
    for b, c in set(pairs):
        assert len(set(unit[(line_bank == b) & (cluster == c)].tolist())) == 1

"""The statistics layout is kept once (cython_kernels/_timing_layout.pxd): the compiled kernel,
archsim.timing.stats and both engines must agree with it, field by field."""
import ast
from pathlib import Path

import numpy as np
import pytest
import simpy

from _timing_helpers import ACCEPTED, COMPLETED, ENGINES, READ, WRITE, build, drive, log_ns, timing
from archsim import _timing_kernel as _k
from archsim.timing import stats, system
from archsim.timing.fast import BurstMemorySystem
from archsim.timing.organisation import Organisation
from archsim.timing.parts import TimingParts

ROOT = Path(__file__).resolve().parents[2]
PXD = ROOT / "cython_kernels" / "_timing_layout.pxd"
TABLES = [  # (names in index order, prefix of their constants, the constant that counts them)
    (stats.KINDS, "", "NKINDS"),
    (stats.REQ_FIELDS, "R_", "R_NFIELDS"),
    (stats.BANK_FIELDS, "B_", "B_NFIELDS"),
    (stats.CHAN_FIELDS, "C_", "C_NFIELDS"),
]
ENGINES = ["fast", "reference"]


def pxd_enums() -> list[dict[str, int]]:
    """The ``cdef enum`` blocks of the layout header, each as {name: value} (C numbering)."""
    blocks: list[dict[str, int]] = []
    known: dict[str, int] = {}
    block = None
    for raw in PXD.read_text().splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line:
            continue
        if line.startswith("cdef enum"):
            block, nxt = {}, 0
            blocks.append(block)
            continue
        assert block is not None and raw[0].isspace(), f"unexpected line in {PXD.name}: {raw!r}"
        name, _, expr = (s.strip() for s in line.partition("="))
        value = eval(expr, {"__builtins__": {}}, dict(known)) if expr else nxt
        block[name] = known[name] = value
        nxt = value + 1
    return blocks


def test_the_header_is_read():
    blocks = pxd_enums()
    assert len(blocks) == 5
    assert sum(len(b) for b in blocks) == sum(len(f) + 1 for f, _, _ in TABLES) + 4


@pytest.mark.parametrize("fields, prefix, count", TABLES, ids=[c for _, _, c in TABLES])
def test_field_names_match_the_header(fields, prefix, count):
    """Each table of the header numbers exactly the Python names, in their order."""
    block = next(b for b in pxd_enums() if count in b)
    expected = {prefix + name.upper(): i for i, name in enumerate(fields)}
    expected[count] = len(fields)
    assert block == expected
    for i, name in enumerate(fields):
        assert fields.index(name) == getattr(_k, prefix + name.upper()) == getattr(stats, prefix + name.upper()) == i


def test_every_header_constant_is_exported_with_its_value():
    """The compiled module gives every constant of the header its C value (else: rebuild the
    kernels, ``pip install -e .`` or ``setup.py build_ext --inplace``)."""
    for block in pxd_enums():
        for name, value in block.items():
            assert getattr(_k, name) == value, name
            if hasattr(stats, name):
                assert getattr(stats, name) == value, name


def test_the_layout_comes_from_the_kernel():
    for attr in ("KINDS", "REQ_FIELDS", "BANK_FIELDS", "CHAN_FIELDS"):
        assert getattr(stats, attr) is getattr(_k, attr)
    assert (system.READ, system.WRITE) == (stats.READ, stats.WRITE) == (_k.READ, _k.WRITE) == (0, 1)
    assert stats.NBINS == _k.NBINS == _k.LIN_NS + _k.PER_OCTAVE * _k.OCTAVES


def test_arrays_have_the_layout():
    st = stats.TimingStats.zeros(3, 2)
    assert st.req.shape == (3, _k.NKINDS, _k.R_NFIELDS)
    assert st.hist.shape == (3, _k.NKINDS, _k.NBINS)
    assert st.bank.shape == (3, _k.B_NFIELDS)
    assert st.chan.shape == (2, _k.C_NFIELDS)


def test_histogram_shape():
    lin, per = stats.LIN_NS, stats.PER_OCTAVE
    assert _k.latency_bin(lin * 1000 - 1) == lin - 1
    assert _k.latency_bin(lin * 1000) == lin
    assert _k.latency_bin(2 * lin * 1000) == lin + per
    assert _k.latency_bin(2**62) == stats.NBINS - 1
    assert stats.bin_lower_ns(lin + per) == 2 * lin
    assert stats.bin_lower_ns(lin - 1) == lin - 1


def test_the_kernel_refuses_arrays_of_another_layout():
    t = timing()
    org = Organisation.from_config(t, 64)
    parts = TimingParts.from_config(t)
    spec = system.SystemSpec(t, org, parts.mapping(org).global_bank(np.arange(2)), np.full(2, -1, np.int64),
                             50_000, parts.schedulers(org.channels), parts.refresh())
    st = stats.TimingStats.zeros(org.total_banks, org.channels)
    st.bank = np.zeros((org.total_banks, _k.B_NFIELDS - 1), np.int64)
    with pytest.raises(ValueError, match="layout"):
        BurstMemorySystem(simpy.Environment(), spec, st)


def named(fields, row) -> dict[str, int]:
    return {name: int(row[i]) for i, name in enumerate(fields)}


@pytest.mark.parametrize("engine", ENGINES)
def test_each_engine_counts_in_the_named_fields(engine):
    # the three writes of test_timing_timelines: a PreSET done in idle time, one cancelled
    # after 175 ns, a refresh miss paid inline (1000 ns)
    env, sys_, st = build(engine, timing(refresh_policy="cancel"), 2)
    drive(env, sys_, [(0, WRITE, [(0, 125, 1000)], ACCEPTED), (2000, WRITE, [(1, 125, 1000)], ACCEPTED),
                      (300, WRITE, [(1, 125, 1000)], ACCEPTED)], 2)
    ns = 1000
    assert named(stats.BANK_FIELDS, st.bank[0]) == {
        "busy_ps": (125 + 125 + 1125 + 1000 + 1000 + 175) * ns, "refreshes_idle": 2, "refresh_idle_ps": 2000 * ns,
        "refresh_misses": 1, "refresh_miss_ps": 1000 * ns, "refresh_cancellations": 1,
        "refresh_cancelled_ps": 175 * ns, "silent_writes": 0, "row_hits": 0, "write_cancellations": 0,
        "write_cancelled_ps": 0, "write_pauses": 0, "writebacks": 0, "writeback_lines": 0, "writeback_ps": 0}
    assert named(stats.REQ_FIELDS, st.req[0, stats.WRITE]) == {
        "count": 3, "latency_ps": (125 + 125 + 1125) * ns, "queue_ps": 0, "service_ps": (125 + 125 + 1125) * ns,
        "max_ps": 1125 * ns, "port_wait_ps": 0, "port_waits": 0}  # each write found its bank idle or refreshing
    assert not st.req[0, stats.READ].any()
    assert named(stats.CHAN_FIELDS, st.chan[0]) == {"stalled_requests": 0, "stall_ps": 0, "accepted": 3}


@pytest.mark.parametrize("engine", ENGINES)
def test_back_pressure_reads_and_silent_writes_in_the_named_fields(engine):
    # write queue of 2: of 5 writes (100 ns, 0-500) three wait at the port (100, 200, 300 ns);
    # a read then arrives at 300 behind W4 (fcfs): queued 300-500, served 500-550 (50 ns);
    # then a write that programs nothing (silent) at 550
    t = timing(write_queue=2, write_high_watermark=2, write_low_watermark=0, requests_in_flight=8)
    env, sys_, st = build(engine, t, 7, read_ns=50.0)
    drive(env, sys_, [(0, WRITE, [(i, 100, 0) for i in range(5)], ACCEPTED), (0, READ, [(5, 0, 0)], COMPLETED),
                      (0, WRITE, [(6, 0, 0)], ACCEPTED)], 7)
    ns = 1000
    assert named(stats.CHAN_FIELDS, st.chan[0]) == {"stalled_requests": 3, "stall_ps": 600 * ns, "accepted": 7}
    assert named(stats.REQ_FIELDS, st.req[0, stats.READ]) == {
        "count": 1, "latency_ps": 250 * ns, "queue_ps": 200 * ns, "service_ps": 50 * ns, "max_ps": 250 * ns,
        "port_wait_ps": 200 * ns, "port_waits": 1}  # queued 300-500 while the bank served W3 and W4
    assert st.req[0, stats.WRITE, stats.R_COUNT] == 6
    # W1..W4 each queued 100 ns while the bank served the write before; W0 and the silent write found it idle
    assert st.req[0, stats.WRITE, stats.R_PORT_WAITS] == 4 and st.req[0, stats.WRITE, stats.R_PORT_WAIT_PS] == 400 * ns
    assert st.bank[0, stats.B_SILENT_WRITES] == 1
    assert st.bank[0, stats.B_BUSY_PS] == (500 + 50) * ns
    assert st.hist[0, stats.READ].sum() == 1 and st.hist[0, stats.READ, 250] == 1


ARRAYS = {"req", "hist", "bank", "chan", "row"}


def bare_indices(path: Path) -> list[str]:
    """Subscripts of the statistics arrays (by name or attribute) with an integer literal index."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Subscript):
            continue
        v = node.value
        name = v.attr if isinstance(v, ast.Attribute) else v.id if isinstance(v, ast.Name) else None
        idx = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if name in ARRAYS and any(isinstance(e, ast.Constant) and type(e.value) is int for e in idx):
            out.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    return out


def test_no_bare_indices_in_the_timing_model():
    found = [hit for p in sorted((ROOT / "archsim" / "timing").glob("*.py")) for hit in bare_indices(p)]
    assert found == []


def test_a_burst_of_consecutive_lines_takes_views_of_the_service_times():
    # one channel, 6 lines: a phase of lines 1..4 takes slices (no gather), one of 0, 2, 5 takes its lines;
    # a read phase gets its constant arrays once
    _env, sys_, _st = build("fast", timing(), 6)
    spec = sys_.spec
    seen = []
    sys_._submit = lambda c, burst, kinds, lines, banks, wps, rps, *rest: seen.append((lines, wps, rps))
    w, r = np.arange(6, dtype=np.int64) * 1000, np.arange(6, dtype=np.int64)
    run = system.Phase("run", WRITE, np.arange(1, 5, dtype=np.int64))
    scattered = system.Phase("scattered", WRITE, np.array([0, 2, 5], np.int64))
    reads = system.Phase("reads", READ, np.array([3, 4], np.int64), wait=COMPLETED)
    for ph in (run, scattered, reads, reads):
        sys_.submit(ph, w, r)
    assert spec.split(run)[0][1] == slice(1, 5) and isinstance(spec.split(scattered)[0][1], np.ndarray)
    (l1, w1, r1), (l2, w2, r2), (_, w3, r3), (_, w4, _) = seen
    assert np.shares_memory(w1, w) and np.shares_memory(r1, r)
    assert w1.tolist() == [1000, 2000, 3000, 4000] and r1.tolist() == [1, 2, 3, 4]
    assert w2.tolist() == [0, 2000, 5000] and r2.tolist() == [0, 2, 5] and not np.shares_memory(w2, w)
    assert w3.tolist() == [50_000, 50_000] and r3.tolist() == [0, 0] and np.shares_memory(w4, w3)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("policy", [dict(scheduling="fcfs"), dict(scheduling="read-first"),
                                    dict(scheduling="fr-fcfs", page_policy="open"),
                                    dict(scheduling="write-cancel", page_policy="closed"),
                                    dict(scheduling="write-pause", refresh_policy="wait")])
def test_the_engines_are_done_with_a_bursts_service_times_when_its_event_fires(engine, policy):
    # bursts of consecutive lines (so the engines get views of the caller's arrays), their arrays overwritten
    # with garbage as soon as each burst's event has fired: the same timelines as when they are left alone
    rng = np.random.default_rng(7)
    lines = 48
    bursts = []
    for _ in range(40):
        kind = WRITE if rng.random() < 0.6 else READ
        a = int(rng.integers(0, lines - 8))
        reqs = [(line, float(rng.integers(50, 400)), float(rng.integers(0, 2) * rng.integers(100, 900)))
                for line in range(a, a + int(rng.integers(1, 8)))]
        bursts.append((float(rng.choice([0, 0, 30, 300])), kind, reqs, ACCEPTED if kind == WRITE else COMPLETED))
    marks = {"write_high_watermark": 3, "write_low_watermark": 1}
    if policy["scheduling"] in ("read-first", "write-cancel", "write-pause"):
        policy = {**policy, "scheduling": {"name": policy["scheduling"], **marks}}
    t = timing(channels=2, banks=4, write_queue=4, read_queue=4, **policy)
    runs = []
    for scribble in (False, True):
        env, sys_, st = build(engine, t, lines)
        times = drive(env, sys_, bursts, lines, scribble=scribble)
        runs.append((times, log_ns(sys_), st.req.tolist(), st.bank.tolist()))
    assert runs[0] == runs[1]
    assert runs[0][1], "the requests were logged"

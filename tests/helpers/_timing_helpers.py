"""Helpers of the timing tests: a memory system driven burst by burst, and a fake address layout."""
from __future__ import annotations


import numpy as np
import simpy

from archsim.config import build_dataclass, validate_section
from archsim.timing.config import TimingConfig
from archsim.timing.fast import BurstMemorySystem
from archsim.timing.organisation import Organisation
from archsim.timing.parts import TimingParts
from archsim.timing.reference import RequestMemorySystem
from archsim.timing.stats import TimingStats
from archsim.timing.system import ACCEPTED, COMPLETED, READ, WRITE, Phase, SystemSpec

ENGINES = {"fast": BurstMemorySystem, "reference": RequestMemorySystem}
NS = 1000  # ps per ns


class FakeLayout:
    """An address layout of named tensors of given line counts, back to back."""

    def __init__(self, tensors, words_per_line=16):
        self.words_per_line = words_per_line
        self._ranges = {}
        line = 0
        for name, n in tensors:
            self._ranges[name] = (line, n)
            line += n
        self.lines = line
        self.tensors = tuple(self._ranges)

    def tensor_lines(self, name):
        return self._ranges[name]


def timing(**kw) -> TimingConfig:
    base = dict(channels=1, ranks=1, banks=1, scheduling="fcfs", refresh_policy="cancel")
    base.update(kw)
    t = build_dataclass(TimingConfig, base, "timing")
    validate_section(t, "timing")
    return t


def build(engine: str, t: TimingConfig, lines: int, *, read_ns: float = 50.0, groups=None):
    org = Organisation.from_config(t, 64)
    parts = TimingParts.from_config(t)
    mapping = parts.mapping(org)
    line_bank = mapping.global_bank(np.arange(lines))
    groups = np.full(lines, -1, np.int64) if groups is None else groups
    spec = SystemSpec(t, org, line_bank, groups, int(read_ns * NS), parts.schedulers(org.channels), parts.refresh(),
                      logging=True, line_row=mapping.decompose(np.arange(lines))["row"], page=parts.page())
    env = simpy.Environment()
    stats = TimingStats.for_system(spec)
    return env, ENGINES[engine](env, spec, stats), stats


def drive(env, system, bursts, lines: int, *, scribble: bool = False):
    """Run ``bursts``: (gap_ns, kind, [(line, write_ns, refresh_ns), ...], wait) issued one
    after the other (each after the previous one's wait condition and its own gap).
    Returns the submit and wait-condition times (ns) of every burst. ``scribble``: overwrite each
    burst's service-time arrays with garbage once its event has fired (``MemorySystem.submit`` allows it)."""
    times = []

    def front():
        after = 0  # late round after which the previous burst's condition held (see MemorySystem.submit)
        for gap, kind, reqs, wait in bursts:
            if gap:
                yield env.timeout(int(gap * NS))
                after = 0
            w = np.zeros(lines, np.int64)
            r = np.zeros(lines, np.int64)
            ls = []
            for line, wns, rns in reqs:
                w[line] = int(wns * NS)
                r[line] = int(rns * NS)
                ls.append(line)
            t0 = env.now
            after = yield system.submit(Phase("b", kind, np.array(ls, np.int64), 0, wait), w, r, after)
            times.append((t0 / NS, env.now / NS))
            if scribble:
                w[:] = 987_654_321
                r[:] = 123_456_789

    proc = env.process(front())
    env.run(until=proc)
    system.drain()
    return times


def log_ns(system):
    """Request log in ns, sorted by finish then bank: (kind, bank, line, enqueue, start, finish, miss)."""
    out = [(k, b, line, enq / NS, start / NS, fin / NS, miss)
           for (_burst, _i, k, b, line, _rel, enq, start, fin, miss) in system.request_log()]
    return sorted(out, key=lambda x: (x[5], x[1], x[4]))


def preemption_log_ns(system):
    """(line, start, end, "cancelled" | "paused") in ns, sorted."""
    return sorted((line, start / NS, end / NS, what) for (_b, line, start, end, what) in system.preemption_log())


def refresh_log_ns(system):
    return sorted((line, start / NS, end / NS, what) for (_b, line, start, end, what) in system.refresh_log())


__all__ = ["FakeLayout", "timing", "build", "drive", "log_ns", "refresh_log_ns", "preemption_log_ns", "READ", "WRITE", "ACCEPTED",
           "COMPLETED", "ENGINES", "NS"]


import pytest  # noqa: E402

_DIGITS_CACHE: dict = {}


@pytest.fixture(scope="session")
def digits():
    """The lenet-digits trace (seed 0) with its address layout: a function
    (scheme, iterations, chunk=2) -> (source, layout, [outcome arrays of the weights' writes]);
    ``digits.stream(scheme, iterations, chunk)`` gives the functional stream itself."""
    import workloads
    from archsim.config import Config
    from archsim.layout import AddressLayout
    from archsim.contracts import TECHNOLOGIES

    source = workloads.make_source("lenet-digits", iterations=40, seed=0)
    cfg = Config()
    layout = AddressLayout.from_meta(source.meta, cfg.layout)
    tech = TECHNOLOGIES.get("pcm")

    def _build(scheme, iterations, chunk):
        key = (scheme, iterations, chunk)
        if key not in _DIGITS_CACHE:
            stream = tech.open_stream(scheme, lines=layout.lines, words=layout.words_per_line, config=cfg)
            outs, done = [], 0
            for c in source.iter_chunks(chunk):
                c = c[: iterations - done]
                outs.append(stream.feed(layout.to_lines(c)).outcome)
                done += len(c)
                if done >= iterations:
                    break
            _DIGITS_CACHE[key] = (outs, stream)
        return _DIGITS_CACHE[key]

    def get(scheme, iterations, chunk=2):
        return source, layout, _build(scheme, iterations, chunk)[0]

    get.stream = lambda scheme, iterations, chunk=2: _build(scheme, iterations, chunk)[1]
    get.source = source
    get.layout = layout
    return get

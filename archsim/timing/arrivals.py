"""The "trace" access pattern: a trace's own requests, issued at their arrival times.

A trace that carries its memory requests (an NVMain trace, :class:`workloads.nvmain.RequestStream`)
is timed request by request, as NVMain's trace simulator (``traceSim/traceMain.cpp``) issues it:
in file order; a request is issued at its arrival time, ``CYCLE x timing.trace_cycle_ns``, or at
once if that time has passed (the memory fell behind); it waits until a controller accepts it
(reads and writes alike are posted: the front end does not wait for a read's data). A write's
service time is that of its functional outcome: the ``k``-th write of a line is iteration ``k`` of
the replay, so its service and the refresh it triggers are row ``k`` of the chunk outcomes; a read
costs the read latency. Lines that are only read sit after the written ones in the address space.

The functional replay feeds the model chunk by chunk; :meth:`ArrivalFrontEnd.run` issues the requests
whose data the chunks fed so far hold and stops at the first write of a later iteration (the next
chunk resumes there). Replaying fewer iterations than the trace holds (``run.iterations``) cuts the
request stream at the first write of an iteration not replayed.

Wear levelling. A leveller remaps at the end of an iteration of the functional replay, when every
line has been written that many times and none more (:mod:`archsim.wear`). In a request stream whose
writes come iteration by iteration (no write of iteration k + 1 before the last write of iteration
k: :func:`iteration_order_violation`; every NVMain trace archsim writes is so), that point is the
last write of the iteration: its copies (a read burst, waited for, then a write burst, as the other
patterns issue them) go out right after that write is accepted, before the next request. A stream
whose iterations interleave has no such point, and the model refuses a leveller with it (one error).
"""
from __future__ import annotations

import bisect

import numpy as np

from archsim.errors import ConfigError
from archsim.timing.system import ACCEPTED, CLOCK_LIMIT_PS, READ, WRITE, Phase


def iteration_order_violation(stream) -> int | None:
    """The index of the first write that comes before the last write of an earlier iteration (a write of
    iteration k + 1 ahead of one of iteration k), or None when the writes come iteration by iteration."""
    w = np.flatnonzero(np.asarray(stream.is_write, bool))
    it = np.asarray(stream.iteration, np.int64)[w]
    bad = np.flatnonzero(it[1:] < np.maximum.accumulate(it)[:-1])
    if not bad.size:
        return None
    # the first write of a later iteration ahead of this one
    j = int(bad[0]) + 1
    return int(w[int(np.argmax(it[:j] > it[j]))])


class ArrivalFrontEnd:
    """Issues a :class:`~workloads.nvmain.RequestStream` through a memory system, one request per burst.

    The same interface as :class:`archsim.timing.frontend.FrontEnd` (``run``, ``iterations``,
    ``lifetime_pairs``, ``lifetime_ps``: there is no intermediate data). ``cycle_ns``: the duration of
    one CYCLE. The service times of every chunk fed are kept (8 bytes per write and per refresh).
    """

    def __init__(self, env, system, stream, cycle_ns: float) -> None:
        self.env = env
        self.system = system
        arrival = np.rint(np.asarray(stream.cycle, np.float64) * (cycle_ns * 1000.0))
        if arrival.size and not arrival.max() < CLOCK_LIMIT_PS:
            raise ConfigError(f"the trace's last request arrives at {arrival.max() / 1e12:.4g} s (its CYCLE x "
                              f"timing.trace_cycle_ns = {cycle_ns:g}), beyond the {CLOCK_LIMIT_PS / 1e12:.3g} s "
                              "the timing model's clock (int64 picoseconds) leaves for arrivals; lower "
                              "timing.trace_cycle_ns or start the trace's cycles nearer 0")
        self.arrival_ps = arrival.astype(np.int64)
        self.is_write = np.asarray(stream.is_write, bool)
        self.line = np.asarray(stream.line, np.int64)
        self.iteration = np.asarray(stream.iteration, np.int64)
        self.requests = int(self.arrival_ps.shape[0])
        self.issued = 0
        self.iterations = 0
        self.lifetime_pairs: dict = {}
        self.lifetime_ps: dict = {}
        self._round = 0
        self._starts: list[int] = []
        self._write: list[np.ndarray] = []
        self._refresh: list[np.ndarray] = []
        # wear levelling: the copies due after each iteration (by iteration), issued after its last write
        self._copies: dict[int, list] = {}
        w = np.flatnonzero(self.is_write)
        self._last_write = np.zeros(self.requests, bool)
        if w.size:
            it = self.iteration[w]
            self._last_write[w[np.r_[it[1:] != it[:-1], True]]] = True

    def _rows(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        c = bisect.bisect_right(self._starts, k) - 1
        return self._write[c][k - self._starts[c]], self._refresh[c][k - self._starts[c]]

    def run(self, write_ps: np.ndarray, refresh_ps: np.ndarray, extra=()):
        """SimPy process: the requests whose data the chunks fed so far hold; ``write_ps`` /
        ``refresh_ps`` (T, lines) in ps, the next T iterations. ``extra``: (iteration of the chunk,
        phase, write ps, refresh ps) bursts of wear levelling's copies, issued in order right after
        the last write of that iteration (the writes come iteration by iteration: the model checks)."""
        env = self.env
        for item in extra:
            self._copies.setdefault(self.iterations + int(item[0]), []).append(item[1:])
        self._starts.append(self.iterations)
        self._write.append(write_ps)
        self._refresh.append(refresh_ps)
        self.iterations += int(write_ps.shape[0])
        arrival, is_write, line, iteration = self.arrival_ps, self.is_write, self.line, self.iteration
        any_row = (write_ps[0], refresh_ps[0])
        while self.issued < self.requests:
            j = self.issued
            k = int(iteration[j])
            if k >= self.iterations:
                break  # a write of an iteration still to come
            a = int(arrival[j])
            if a > env.now:
                yield env.timeout(a - int(env.now))
                self._round = 0
            if is_write[j]:
                phase = Phase("trace:write", WRITE, line[j:j + 1], 0, ACCEPTED)
                w, r = self._rows(k)
            else:
                phase = Phase("trace:read", READ, line[j:j + 1], 0, ACCEPTED)
                w, r = any_row
            self._round = yield self.system.submit(phase, w, r, self._round)
            self.issued += 1
            if self._last_write[j]:  # the iteration's last write: its wear-levelling copies follow
                for ph, w_extra, r_extra in self._copies.pop(k, ()):
                    self._round = yield self.system.submit(ph, w_extra, r_extra, self._round)

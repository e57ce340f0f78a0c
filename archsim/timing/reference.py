"""The reference engine: one SimPy process per request, decisions in plain Python.

Written for clarity, not speed (about 0.1 M requests per second): the
specification the fast engine is tested against. Per channel:

* ``submit`` puts the burst's requests in the issue port and starts one process per
  request, which waits to be granted a bank, holds it for its service time, and completes;
* every state change (an arrival, a completion, a refresh ending) marks its channel
  and schedules one **late round** for its instant, an event with a priority below every
  ordinary SimPy event (``LATE``), so it runs after all the instant's state changes; the
  round runs the late phase of every marked channel, in channel order. A late phase
  accepts requests from the port into the queues (in order, while the in-flight
  limit and the queue sizes allow: back-pressure), lets the scheduling policy issue
  requests to available banks, and starts queued refreshes on idle banks that have
  no demand request queued;
* a refresh is one timeout; cancelling it bumps the bank's generation so that the
  stale timeout is ignored.
"""
from __future__ import annotations

from collections import deque

import simpy
from simpy.events import Event

from archsim import _timing_kernel as _k
from archsim.timing.scheduling import Arbitration
from archsim.timing.stats import (B_BUSY_PS, B_REFRESH_CANCELLATIONS, B_REFRESH_CANCELLED_PS, B_REFRESH_IDLE_PS,
                                  B_REFRESH_MISS_PS, B_REFRESH_MISSES, B_REFRESHES_IDLE, B_SILENT_WRITES, C_ACCEPTED,
                                  C_STALL_PS, C_STALLED_REQUESTS, R_COUNT, R_LATENCY_PS, R_MAX_PS, R_QUEUE_PS,
                                  R_SERVICE_PS)
from archsim.timing.system import ACCEPTED, COMPLETED, READ, WRITE, MemorySystem

LATE = 2
"""Priority of the late phase: after SimPy's URGENT (0) and NORMAL (1) events of the same instant."""

IDLE, DEMAND, REFRESH = 0, 1, 2


class _LatePhase(Event):
    """An event processed after every ordinary event of the current instant."""

    def __init__(self, env: simpy.Environment, callback) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        self.callbacks.append(callback)
        env.schedule(self, LATE)


class _Request:
    __slots__ = ("burst", "index", "kind", "line", "bank", "wps", "rps", "release", "enq", "start", "seq",
                 "miss", "granted", "service")


class _Channel:
    def __init__(self, system: "RequestMemorySystem", c: int) -> None:
        spec = system.spec
        t = spec.timing
        self.sys = system
        self.env = system.env
        self.c = c
        self.nb = spec.org.banks_per_channel
        self.base = c * self.nb
        self.policy = spec.schedulers[c]
        self.refresh = spec.refresh
        self.qr_cap, self.qw_cap, self.max_inflight = t.read_queue, t.write_queue, t.requests_in_flight
        self.port: deque = deque()
        self.rq: list = []
        self.wq: list = []
        self.inflight = 0
        self.seq = 0
        self.state = [IDLE] * self.nb
        self.req = [None] * self.nb
        self.ref = [None] * self.nb  # (line, start, ns)
        self.gen = [0] * self.nb
        self.refq = [deque() for _ in range(self.nb)]
        self.queued = [0] * self.nb
        self.late = False
        self.burst = -1
        self.burst_len = 0
        self.burst_done = 0
        self.accepted = 0
        self.wait = 0
        self.signal = None

    # -- state changes -------------------------------------------------------------------
    def touch(self) -> None:
        self.late = True
        self.sys.schedule_round()

    def submit(self, burst, kinds, lines, banks, wps, rps, wait, signal) -> None:
        self.burst, self.burst_len, self.burst_done, self.accepted = burst, len(lines), 0, 0
        self.wait, self.signal = wait, signal
        now = int(self.env.now)
        for i in range(len(lines)):
            r = _Request()
            r.burst, r.index, r.kind, r.line, r.bank = burst, i, int(kinds[i]), int(lines[i]), int(banks[i])
            r.wps, r.rps, r.release, r.miss = int(wps[i]), int(rps[i]), now, 0
            r.granted = self.env.event()
            self.port.append(r)
            self.env.process(self._request(r))
        self.touch()

    def _request(self, r: _Request):
        yield r.granted
        yield self.env.timeout(r.service)
        self._complete(r)

    def _complete(self, r: _Request) -> None:
        st = self.sys.stats
        now = int(self.env.now)
        gb = self.base + r.bank
        lat = now - r.enq
        row = st.req[gb, r.kind]
        row[R_COUNT] += 1
        row[R_LATENCY_PS] += lat
        row[R_QUEUE_PS] += r.start - r.enq
        row[R_SERVICE_PS] += now - r.start
        row[R_MAX_PS] = max(row[R_MAX_PS], lat)
        st.hist[gb, r.kind, _k.latency_bin(lat)] += 1
        st.bank[gb, B_BUSY_PS] += now - r.start
        if self.sys.spec.logging:
            self.sys.req_log.append((r.burst, r.index, r.kind, gb, r.line, r.release, r.enq, r.start, now, r.miss))
        if r.kind == WRITE and r.rps > 0:
            self.sys.hand_refresh(self, r.bank, r.line, r.rps)
        if r.burst == self.burst:
            self.burst_done += 1
            if self.wait == COMPLETED and self.burst_done == self.burst_len:
                self.signal(now, 0)
        self.inflight -= 1
        self.state[r.bank] = IDLE
        self.req[r.bank] = None
        self.touch()

    def _refresh_done(self, bank: int, gen: int) -> None:
        if gen != self.gen[bank]:
            return  # cancelled
        line, start, ns = self.ref[bank]
        gb = self.base + bank
        self.sys.pend.pop(line)
        st = self.sys.stats
        st.bank[gb, B_REFRESHES_IDLE] += 1
        st.bank[gb, B_REFRESH_IDLE_PS] += ns
        st.bank[gb, B_BUSY_PS] += ns
        if self.sys.spec.logging:
            self.sys.ref_log.append((gb, line, start, int(self.env.now), "done"))
        self.state[bank] = IDLE
        self.ref[bank] = None
        self.touch()

    # -- the late phase ------------------------------------------------------------------
    def late_phase(self) -> None:
        self.late = False
        self._accept()
        self._decide()
        self._start_refreshes()

    def _accept(self) -> None:
        st = self.sys.stats
        now = int(self.env.now)
        while self.port and self.inflight < self.max_inflight:
            r = self.port[0]
            if r.kind == READ and len(self.rq) >= self.qr_cap:
                break
            if r.kind == WRITE and len(self.wq) >= self.qw_cap:
                break
            self.port.popleft()
            r.enq, r.seq = now, self.seq
            self.seq += 1
            if now > r.release:
                st.chan[self.c, C_STALLED_REQUESTS] += 1
                st.chan[self.c, C_STALL_PS] += now - r.release
            st.chan[self.c, C_ACCEPTED] += 1
            (self.rq if r.kind == READ else self.wq).append(r)
            self.queued[r.bank] += 1
            self.inflight += 1
            if r.burst == self.burst:
                self.accepted += 1
                if self.wait == ACCEPTED and self.accepted == self.burst_len:
                    self.signal(now, 0)

    def _available(self, bank: int, is_write: bool) -> bool:
        if self.state[bank] == IDLE:
            return True
        if self.state[bank] == REFRESH:
            return self.refresh.preempts(is_write)
        return False

    def _first(self, queue: list, is_write: bool) -> int:
        for i, r in enumerate(queue):
            if self._available(r.bank, is_write):
                return i
        return -1

    def _decide(self) -> None:
        while self.rq or self.wq:
            mode = self.policy.arbitrate(len(self.rq), len(self.wq))
            ir = iw = -1
            if mode == Arbitration.OLDEST:
                ir, iw = self._first(self.rq, False), self._first(self.wq, True)
                if ir >= 0 and iw >= 0:
                    if self.rq[ir].seq < self.wq[iw].seq:
                        iw = -1
                    else:
                        ir = -1
            elif mode == Arbitration.READS_FIRST:
                ir = self._first(self.rq, False)
                if ir < 0:
                    iw = self._first(self.wq, True)
            elif mode == Arbitration.WRITES_FIRST:
                iw = self._first(self.wq, True)
                if iw < 0:
                    ir = self._first(self.rq, False)
            elif mode == Arbitration.READS_ONLY:
                ir = self._first(self.rq, False)
            elif mode == Arbitration.WRITES_ONLY:
                iw = self._first(self.wq, True)
            if ir >= 0:
                self._issue(self.rq.pop(ir))
            elif iw >= 0:
                self._issue(self.wq.pop(iw))
            else:
                break

    def _issue(self, r: _Request) -> None:
        st = self.sys.stats
        now = int(self.env.now)
        b = r.bank
        gb = self.base + b
        self.queued[b] -= 1
        if self.state[b] == REFRESH:  # cancel: back to the head of the bank's refresh queue
            line, start, _ns = self.ref[b]
            st.bank[gb, B_REFRESH_CANCELLATIONS] += 1
            st.bank[gb, B_REFRESH_CANCELLED_PS] += now - start
            st.bank[gb, B_BUSY_PS] += now - start
            if self.sys.spec.logging:
                self.sys.ref_log.append((gb, line, start, now, "cancelled"))
            self.gen[b] += 1
            self.sys.pend[line][0] = "queued"
            self.refq[b].appendleft(line)
            self.ref[b] = None
            self.state[b] = IDLE
        service = r.wps
        if r.kind == WRITE:
            p = self.sys.pend.get(r.line)
            if p is not None and p[0] in ("queued", "held"):
                if p[0] == "queued":
                    self.refq[b].remove(r.line)
                else:
                    self.sys.group_pending[self.sys.spec.groups[r.line]] -= 1
                del self.sys.pend[r.line]
                st.bank[gb, B_REFRESH_MISSES] += 1
                st.bank[gb, B_REFRESH_MISS_PS] += p[1]
                service += p[1]
                r.miss = 1
            elif service == 0:
                st.bank[gb, B_SILENT_WRITES] += 1
        r.start = now
        r.service = service
        self.state[b] = DEMAND
        self.req[b] = r
        r.granted.succeed()

    def _start_refreshes(self) -> None:
        now = int(self.env.now)
        for b in range(self.nb):
            if self.state[b] != IDLE or self.queued[b] or not self.refq[b]:
                continue
            line = self.refq[b].popleft()
            p = self.sys.pend[line]
            p[0] = "running"
            self.state[b] = REFRESH
            self.ref[b] = (line, now, p[1])
            self.gen[b] += 1
            gen = self.gen[b]
            ev = self.env.timeout(p[1])
            ev.callbacks.append(lambda _e, b=b, gen=gen: self._refresh_done(b, gen))


class RequestMemorySystem(MemorySystem):
    """Every request its own SimPy process; the specification of the fast engine."""

    def __init__(self, env, spec, stats) -> None:
        super().__init__(env, spec, stats)
        self.pend: dict[int, list] = {}  # line -> [state, ps]
        self.group_pending = [0] * int(spec.group_size.shape[0])
        self.req_log: list = []
        self.ref_log: list = []
        self.channels = [_Channel(self, c) for c in range(spec.org.channels)]
        self._round_scheduled = False

    def schedule_round(self) -> None:
        if not self._round_scheduled:
            self._round_scheduled = True
            _LatePhase(self.env, self._round)

    def _round(self, _event) -> None:
        self._round_scheduled = False
        for ch in self.channels:
            if ch.late:
                ch.late_phase()

    def hand_refresh(self, ch: _Channel, bank: int, line: int, ps: int) -> None:
        spec = self.spec
        g = int(spec.groups[line])
        if g < 0:
            self.pend[line] = ["queued", ps]
            ch.refq[bank].append(line)
            return
        self.pend[line] = ["held", ps]
        self.group_pending[g] += 1
        if self.group_pending[g] == spec.group_size[g]:
            for m in spec.gmembers[spec.gstart[g]:spec.gstart[g + 1]]:
                m = int(m)
                self.pend[m][0] = "queued"
                ch.refq[int(spec.line_bank[m]) - ch.base].append(m)
            self.group_pending[g] = 0

    def _submit(self, channel, burst, kinds, lines, banks, wps, rps, wait, signal, after_round) -> None:
        self.channels[channel].submit(burst, kinds, lines, banks, wps, rps, wait, signal)

    def flush(self) -> None:
        """Nothing to do: the processes run on their own; ``env.run()`` finishes them."""

    def request_log(self) -> list[tuple]:
        return list(self.req_log)

    def refresh_log(self) -> list[tuple]:
        return list(self.ref_log)

    def pending_refreshes(self) -> int:
        return len(self.pend)

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
  stale timeout is ignored; a demand service is one timeout too (a write cancelled or
  paused by a read bumps the bank's demand generation the same way);
* after the policy's choices, writes in service at banks a read waits for are
  cancelled or paused (the policy's :meth:`~archsim.timing.scheduling.SchedulingPolicy.preemption`),
  paused writes resume on banks no read waits for, then refreshes start.
"""
from __future__ import annotations

from collections import deque

import simpy
from simpy.events import Event

import numpy as np

from archsim import _timing_kernel as _k
from archsim.timing.rowbuffer import PAGE_CLOSED, PAGE_NONE, PAGE_OPEN
from archsim.timing.scheduling import Arbitration, BankView, ControllerView, Preemption, QueueView, checked_mode, checked_pick
from archsim.timing.stats import (B_BUSY_PS, B_REFRESH_CANCELLATIONS, B_REFRESH_CANCELLED_PS, B_REFRESH_IDLE_PS,
                                  B_REFRESH_MISS_PS, B_REFRESH_MISSES, B_REFRESHES_IDLE, B_ROW_HITS, B_SILENT_WRITES,
                                  B_WRITE_CANCELLATIONS, B_WRITE_CANCELLED_PS, B_WRITE_PAUSES, B_WRITEBACK_LINES,
                                  B_WRITEBACK_PS, B_WRITEBACKS, C_ACCEPTED, C_STALL_PS,
                                  C_STALLED_REQUESTS, R_COUNT, R_LATENCY_PS, R_MAX_PS, R_PORT_WAIT_PS, R_PORT_WAITS,
                                  R_QUEUE_PS, R_SERVICE_PS)
from archsim.timing.system import ACCEPTED, COMPLETED, READ, WRITE, MemorySystem

LATE = 2
"""Priority of the late phase: after SimPy's URGENT (0) and NORMAL (1) events of the same instant."""

IDLE, DEMAND, REFRESH, WRITEBACK = 0, 1, 2, 3


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
                 "miss", "granted", "done", "service", "ptotal", "pdone", "bw", "pw")


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
        self.queued_reads = [0] * self.nb
        self.until = [0] * self.nb         # end of the bank's current service
        self.dgen = [0] * self.nb          # demand generation (a cancelled / paused service's timeout is stale)
        self.open_row = [-1] * self.nb
        self.streak = [0] * self.nb
        self.paused: list = [None] * self.nb
        self.pausing = [False] * self.nb
        self.seg = [0] * self.nb           # start of the current service segment
        self.wdone = [0] * self.nb         # service done before it (a paused write)
        self.wtotal = [0] * self.nb        # full service of the request in service
        self.pre_mode, self.cancel_below, self.iteration_ps = self.policy.preemption()
        self.page = spec.page.code
        self.hit_ps, self.miss_ps = spec.hit_ps, spec.miss_ps
        self.wb = spec.page.writes_back    # write-back row buffers
        self.dirty_n = [0] * self.nb       # buffered writes of the bank's open row
        self.dirty_ps = [0] * self.nb      # ... their summed array service (the write-back burst)
        self.buffered = [[] for _ in range(self.nb)]  # lines whose refresh waits for the write-back, in order
        self.occ_t = 0
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
            r.done = self.env.event()
            self.port.append(r)
            self.env.process(self._request(r))
        self.touch()

    def _request(self, r: _Request):
        yield r.granted
        yield r.done

    def _serve(self, b: int, ps: int, what) -> None:
        """Run the bank's current service segment for ``ps``; ``what(b)`` at its end (unless stale)."""
        self.dgen[b] += 1
        gen = self.dgen[b]
        self.until[b] = int(self.env.now) + ps
        ev = self.env.timeout(ps)
        ev.callbacks.append(lambda _e: what(b) if gen == self.dgen[b] else None)

    def _served(self, b: int) -> None:
        r = self.req[b]
        if self.pausing[b]:  # the write pauses at an iteration boundary
            now = int(self.env.now)
            gb = self.base + b
            self.sys.stats.bank[gb, B_WRITE_PAUSES] += 1
            self.sys.stats.bank[gb, B_BUSY_PS] += now - self.seg[b]
            if self.sys.spec.logging:
                self.sys.pre_log.append((gb, r.line, self.seg[b], now, "paused"))
            r.pdone, r.ptotal = self.wdone[b] + now - self.seg[b], self.wtotal[b]
            self.paused[b] = r
            self.pausing[b] = False
            self.state[b] = IDLE
            self.req[b] = None
            self.touch()
            return
        self._complete(r)
        r.done.succeed()

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
        if r.pw > 0:
            row[R_PORT_WAIT_PS] += r.pw
            row[R_PORT_WAITS] += 1
        st.bank[gb, B_BUSY_PS] += now - self.seg[r.bank]
        if self.sys.spec.logging:
            self.sys.req_log.append((r.burst, r.index, r.kind, gb, r.line, r.release, r.enq, r.start, now, r.miss))
        if r.kind == WRITE and r.rps > 0 and not self.wb:
            self.sys.hand_refresh(self, r.bank, r.line, r.rps)
        if r.burst == self.burst:
            self.burst_done += 1
            if self.wait == COMPLETED and self.burst_done == self.burst_len:
                self.signal(now, 0)
        self.inflight -= 1
        self.state[r.bank] = IDLE
        self.req[r.bank] = None
        if self.wb and self.page == PAGE_CLOSED:  # the row closes: its write is written back
            self._start_write_back(r.bank)
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

    def busy_so_far(self, b: int) -> int:
        """Bank (port group) ``b``'s busy time up to now, the service in progress included (ps): a
        request's port wait is the growth of this while it is queued."""
        now = int(self.env.now)
        busy = int(self.sys.stats.bank[self.base + b, B_BUSY_PS])
        if self.state[b] == DEMAND:
            busy += now - self.seg[b]
        elif self.state[b] == REFRESH:
            busy += now - self.ref[b][1]
        elif self.state[b] == WRITEBACK:
            busy += now - self.seg[b]
        return busy

    def _write_back(self, b: int) -> int:
        """Write back bank ``b``'s dirty row (if any): count it, hand the buffered lines' refreshes to the
        idle-period scheduler, and return the burst's service (ps)."""
        n, ps = self.dirty_n[b], self.dirty_ps[b]
        if n == 0:
            return 0
        gb = self.base + b
        st = self.sys.stats
        st.bank[gb, B_WRITEBACKS] += 1
        st.bank[gb, B_WRITEBACK_LINES] += n
        st.bank[gb, B_WRITEBACK_PS] += ps
        for line in self.buffered[b]:
            self.sys.hand_refresh(self, b, line, self.sys.pend.pop(line)[1])
        self.buffered[b].clear()
        self.dirty_n[b] = self.dirty_ps[b] = 0
        return ps

    def _start_write_back(self, b: int) -> bool:
        """The bank (idle) writes back its dirty row as a burst of its own; True if it had one."""
        if self.dirty_n[b] == 0:
            return False
        ps = self._write_back(b)
        if ps > 0:
            self.state[b] = WRITEBACK
            self.seg[b] = int(self.env.now)
            self._serve(b, ps, self._written_back)
        return True

    def _written_back(self, b: int) -> None:
        self.sys.stats.bank[self.base + b, B_BUSY_PS] += int(self.env.now) - self.seg[b]
        self.state[b] = IDLE
        self.touch()

    def write_back_rows(self) -> None:
        if any([self._start_write_back(b) for b in range(self.nb)]):
            self.touch()

    # -- the late phase ------------------------------------------------------------------
    def late_phase(self) -> None:
        self.late = False
        self._accept()
        self._decide()
        if self._preempt():
            self._decide()
        self._resume()
        self._start_refreshes()

    def _occ(self) -> None:
        now = int(self.env.now)
        self.sys.stats.occ[self.c, len(self.rq) + len(self.wq)] += now - self.occ_t
        self.occ_t = now

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
            r.bw, r.pw = self.busy_so_far(r.bank), 0
            self.seq += 1
            if now > r.release:
                st.chan[self.c, C_STALLED_REQUESTS] += 1
                st.chan[self.c, C_STALL_PS] += now - r.release
            st.chan[self.c, C_ACCEPTED] += 1
            self._occ()
            (self.rq if r.kind == READ else self.wq).append(r)
            self.queued[r.bank] += 1
            if r.kind == READ:
                self.queued_reads[r.bank] += 1
            self.inflight += 1
            if r.burst == self.burst:
                self.accepted += 1
                if self.wait == ACCEPTED and self.accepted == self.burst_len:
                    self.signal(now, 0)

    def _available(self, bank: int, is_write: bool) -> bool:
        if is_write and self.paused[bank] is not None:
            return False
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

    def _hit(self, r: _Request) -> bool:
        return self.page != PAGE_NONE and int(self.sys.spec.line_row[r.line]) == self.open_row[r.bank]

    def _expected(self, r: _Request) -> int:
        if self.wb:
            return self.hit_ps if self._hit(r) else self.dirty_ps[r.bank] + self.miss_ps
        if r.kind == WRITE or self.page == PAGE_NONE:
            return r.wps
        return self.hit_ps if self._hit(r) else self.miss_ps

    def _view(self) -> ControllerView:
        now = int(self.env.now)
        rows = self.sys.spec.line_row
        queues = []
        for kind, q in ((READ, self.rq), (WRITE, self.wq)):
            ints = np.array([[kind] * len(q), [r.line for r in q], [r.bank for r in q], [int(rows[r.line]) for r in q],
                             [r.enq for r in q], [r.seq for r in q], [self._expected(r) for r in q]],
                            np.int64).reshape(7, len(q))
            flags = np.array([[self._hit(r) for r in q], [self._available(r.bank, kind == WRITE) for r in q]],
                             np.bool_).reshape(2, len(q))
            queues.append(QueueView(ints, flags))
        bints = np.array([[self.until[b] if self.state[b] != IDLE else now for b in range(self.nb)], self.open_row,
                          [len(q) for q in self.refq]], np.int64)
        banks = BankView(bints, np.array([s == REFRESH for s in self.state], np.bool_),
                         np.array(self.sys.spec.bank_wear[self.base:self.base + self.nb], np.float64))
        return ControllerView(now, self.c, queues[0], queues[1], banks)

    def _select(self):
        """A request-level policy's choice, checked: (queue, index) or None."""
        view = self._view()
        pick = self.policy.select(view)
        if pick is None:
            return None
        kind, i = checked_pick(self.policy, pick, view)
        return (self.wq if kind == WRITE else self.rq), i

    def _decide(self) -> None:
        while self.rq or self.wq:
            if self.policy.request_level:
                pick = self._select()
                if pick is None:
                    break
                q, i = pick
                self._issue(q.pop(i), q is self.wq)
                continue
            mode = checked_mode(self.policy, self.policy.arbitrate(len(self.rq), len(self.wq)))
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
                self._issue(self.rq.pop(ir), False)
            elif iw >= 0:
                self._issue(self.wq.pop(iw), True)
            else:
                break

    def _issue(self, r: _Request, is_write: bool) -> None:
        st = self.sys.stats
        now = int(self.env.now)
        # the queue lost r just now: account the occupancy it had (r counted once more)
        self.sys.stats.occ[self.c, len(self.rq) + len(self.wq) + 1] += now - self.occ_t
        self.occ_t = now
        b = r.bank
        gb = self.base + b
        r.pw += self.busy_so_far(b) - r.bw
        self.queued[b] -= 1
        if not is_write:
            self.queued_reads[b] -= 1
        self.streak[b] = self.streak[b] + 1 if self._hit(r) else 0
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
        if self.wb:
            service = self._buffered_issue(r)
        elif r.kind == WRITE:
            missed = self._refresh_miss(r, b, gb, ("queued", "held"))
            service += missed or 0
            if missed is None and service == 0:
                st.bank[gb, B_SILENT_WRITES] += 1
        elif self.page != PAGE_NONE:  # a read: the row buffer
            row = int(self.sys.spec.line_row[r.line])
            if row == self.open_row[b]:
                service = self.hit_ps
                st.bank[gb, B_ROW_HITS] += 1
            else:
                service = self.miss_ps
            self.open_row[b] = row if self.page == PAGE_OPEN else -1
        r.start = now
        r.service = service
        self.seg[b], self.wdone[b], self.wtotal[b] = now, 0, service
        self.state[b] = DEMAND
        self.req[b] = r
        if not r.granted.triggered:
            r.granted.succeed()
        self._serve(b, service, self._served)

    def _refresh_miss(self, r: _Request, b: int, gb: int, states: tuple[str, ...]) -> int | None:
        """A write to a line whose refresh is still pending in one of ``states`` (its refresh queue,
        held for its group, or buffered for a write-back): the refresh is taken back and done inline,
        counted as a refresh miss. Returns its time (ps), or None when no refresh was pending."""
        p = self.sys.pend.get(r.line)
        if p is None or p[0] not in states:
            return None
        if p[0] == "queued":
            self.refq[b].remove(r.line)
        elif p[0] == "held":
            self.sys.group_pending[self.sys.spec.groups[r.line]] -= 1
        else:
            self.buffered[b].remove(r.line)
        del self.sys.pend[r.line]
        st = self.sys.stats
        st.bank[gb, B_REFRESH_MISSES] += 1
        st.bank[gb, B_REFRESH_MISS_PS] += p[1]
        r.miss = 1
        return p[1]

    def _buffered_issue(self, r: _Request) -> int:
        """Issue ``r`` to its bank's write-back row buffer; its service (ps): the open row's latency on a
        hit; on a miss the dirty row's write-back, then the array read opening the row. A write is
        buffered: its array service (and an inline refresh on a refresh miss) joins the row's burst."""
        st = self.sys.stats
        b = r.bank
        gb = self.base + b
        row = int(self.sys.spec.line_row[r.line])
        if row == self.open_row[b]:
            service = self.hit_ps
            if r.kind == READ:
                st.bank[gb, B_ROW_HITS] += 1
        else:
            service = self._write_back(b) + self.miss_ps
        self.open_row[b] = row if self.page == PAGE_OPEN else -1
        if r.kind == WRITE:
            array = r.wps
            missed = self._refresh_miss(r, b, gb, ("queued", "held", "buffered"))
            array += missed or 0
            if missed is None and array == 0:
                st.bank[gb, B_SILENT_WRITES] += 1
            self.dirty_n[b] += 1
            self.dirty_ps[b] += array
            if r.rps > 0:
                self.sys.pend[r.line] = ["buffered", r.rps]
                self.buffered[b].append(r.line)
        return service

    def _preempt(self) -> bool:
        """Cancel or pause writes in service at banks a read waits for; True if a bank became free."""
        if self.pre_mode == Preemption.NONE or self.wb or not self.rq or self.policy.draining:
            return False
        st = self.sys.stats
        now = int(self.env.now)
        freed = False
        for b in range(self.nb):
            if self.state[b] != DEMAND or not self.queued_reads[b] or self.pausing[b]:
                continue
            r = self.req[b]
            if r.kind != WRITE:
                continue
            gb = self.base + b
            total = self.wtotal[b]
            done = self.wdone[b] + now - self.seg[b]
            if self.pre_mode == Preemption.CANCEL:
                if not done < self.cancel_below * total:
                    continue
                st.bank[gb, B_WRITE_CANCELLATIONS] += 1
                st.bank[gb, B_WRITE_CANCELLED_PS] += done
                st.bank[gb, B_BUSY_PS] += done
                st.line_cancelled[r.line] += done / total
                if self.sys.spec.logging:
                    self.sys.pre_log.append((gb, r.line, self.seg[b], now, "cancelled"))
                r.wps = total  # served again in full
                self._occ()
                j = len(self.wq)
                while j > 0 and self.wq[j - 1].seq > r.seq:
                    j -= 1
                self.wq.insert(j, r)
                self.queued[b] += 1
                self.dgen[b] += 1  # its timeout is stale
                self.req[b] = None
                self.state[b] = IDLE
                r.bw = self.busy_so_far(b)
                freed = True
            else:
                if self.iteration_ps <= 0:
                    continue
                bound = (done // self.iteration_ps + 1) * self.iteration_ps  # the next iteration boundary
                if bound >= total:
                    continue  # in its last iteration
                self.pausing[b] = True
                self._serve(b, self.seg[b] + bound - self.wdone[b] - now, self._served)
        return freed

    def _resume(self) -> None:
        now = int(self.env.now)
        for b in range(self.nb):
            r = self.paused[b]
            if r is None or self.state[b] != IDLE or self.queued_reads[b]:
                continue
            self.paused[b] = None
            self.state[b] = DEMAND
            self.req[b] = r
            self.seg[b], self.wtotal[b], self.wdone[b] = now, r.ptotal, r.pdone
            self._serve(b, self.wtotal[b] - self.wdone[b], self._served)

    def _start_refreshes(self) -> None:
        now = int(self.env.now)
        for b in range(self.nb):
            if self.state[b] != IDLE or self.queued[b] or not self.refq[b] or self.paused[b] is not None:
                continue
            line = self.refq[b].popleft()
            p = self.sys.pend[line]
            p[0] = "running"
            self.state[b] = REFRESH
            self.ref[b] = (line, now, p[1])
            self.until[b] = now + p[1]
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
        self.pre_log: list = []
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

    def write_back_rows(self) -> None:
        for ch in self.channels:
            ch.write_back_rows()

    def request_log(self) -> list[tuple]:
        return list(self.req_log)

    def refresh_log(self) -> list[tuple]:
        return list(self.ref_log)

    def preemption_log(self) -> list[tuple]:
        return list(self.pre_log)

    def pending_refreshes(self) -> int:
        return len(self.pend)

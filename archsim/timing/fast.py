"""The fast engine: one long-lived SimPy process per channel controller, one event per burst.

Each controller process owns a compiled :class:`ChannelKernel` (``archsim._timing_kernel``)
that simulates its channel request by request (issue port, queues and
scheduling, banks, idle-period refreshes) in integer picoseconds. SimPy stays in
charge of time: a controller process wakes when the front end hands it a burst
(one ``Store.get`` event), lets the kernel catch up to ``env.now``, submits the
burst, asks the kernel when the burst is accepted (posted writes) or completed
(reads), and sleeps until then with one timeout. Nothing after that moment is
decided before the next burst arrives, so the result is exactly that of the
event-per-request reference (:mod:`archsim.timing.reference`), which the tests check
under every registered policy.
"""
from __future__ import annotations

import numpy as np
import simpy

from archsim import _timing_kernel as _k
from archsim.timing.system import INF_PS, MemorySystem

_FLUSH = object()
_WRITE_BACK = object()


class BurstMemorySystem(MemorySystem):
    """Channels as compiled kernels driven by one SimPy process each."""

    def __init__(self, env, spec, stats) -> None:
        super().__init__(env, spec, stats)
        t = spec.timing
        org = spec.org
        n = spec.lines
        self._pend_ns = np.zeros(n, np.int64)
        self._pend_state = np.zeros(n, np.int8)
        self._rq_next = np.full(n, -1, np.int64)
        self._rq_prev = np.full(n, -1, np.int64)
        self._group_pending = np.zeros(spec.group_size.shape[0], np.int64)
        refresh = spec.refresh
        self.kernels = []
        self.inboxes = []
        for c in range(org.channels):
            policy = spec.schedulers[c]
            high, low = policy.kernel_params()
            pre_mode, cancel_below, iteration_ps = policy.preemption()
            k = _k.ChannelKernel(
                c, org.banks_per_channel, c * org.banks_per_channel, t.read_queue, t.write_queue,
                t.requests_in_flight, policy, int(policy.kernel_code), int(high), int(low),
                bool(refresh.preempt_reads), bool(refresh.preempt_writes), spec.line_bank, self._pend_ns,
                self._pend_state, self._rq_next, self._rq_prev, spec.groups, self._group_pending,
                spec.group_size, spec.gstart, spec.gmembers, stats.req, stats.hist, stats.bank, stats.chan,
                spec.line_row, int(spec.page.code), int(spec.hit_ps), int(spec.miss_ps), int(pre_mode),
                float(cancel_below), int(iteration_ps), spec.bank_wear, stats.line_cancelled, stats.occ, spec.logging,
                bool(spec.page.writes_back))
            self.kernels.append(k)
            inbox = simpy.Store(env)
            self.inboxes.append(inbox)
            env.process(self._controller(k, inbox))

    def _controller(self, k, inbox):
        env = self.env
        while True:
            item = yield inbox.get()
            now = int(env.now)
            if item is _FLUSH:
                k.run(INF_PS, 0)
            elif item is _WRITE_BACK:  # the memory has drained: from now, the dirty rows are written back
                k.write_back_rows(now)
                k.run(INF_PS, 0)
            else:
                burst, kinds, lines, banks, wps, rps, wait, signal, after_round = item
                # catch up: every instant before now, now's completions and its first late rounds
                k.run(now, 0, after_round)
                if k.rounds < after_round:  # the arrival comes after that global round
                    k.rounds = after_round
                k.submit(kinds, lines, banks, wps, rps, burst)
                k.run(INF_PS, wait)
            if k.now > now:
                yield env.timeout(k.now - now)
            if item is not _FLUSH and item is not _WRITE_BACK:
                signal(k.now, k.rounds)

    def _submit(self, channel, burst, kinds, lines, banks, wps, rps, wait, signal, after_round) -> None:
        self.inboxes[channel].put((burst, kinds, lines, banks, wps, rps, wait, signal, after_round))

    def flush(self) -> None:
        for inbox in self.inboxes:
            inbox.put(_FLUSH)

    def write_back_rows(self) -> None:
        for inbox in self.inboxes:
            inbox.put(_WRITE_BACK)

    def request_log(self) -> list[tuple]:
        return [r for k in self.kernels for r in k.req_log]

    def refresh_log(self) -> list[tuple]:
        return [r for k in self.kernels for r in k.ref_log]

    def preemption_log(self) -> list[tuple]:
        return [r for k in self.kernels for r in k.pre_log]

    def pending_refreshes(self) -> int:
        return int(np.count_nonzero(self._pend_state))

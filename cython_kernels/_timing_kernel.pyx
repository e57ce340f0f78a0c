# Compiled channel kernel of the fast timing model (``archsim.timing.fast``).
#
# One ChannelKernel simulates one memory channel: its front-end issue port (a burst
# of requests, in order, at most ``max_inflight`` outstanding), the controller's read
# and write queues with the scheduling policy, the banks, and each bank's
# idle-period refresh queue. Time is integer picoseconds. The semantics are those
# of the event-per-request reference (``archsim.timing.reference``), instant by
# instant: at an instant, all state changes (completions, arrivals) come first; then
# one "late phase" (accept from the port, schedule, start refreshes); zero-time
# services completing at the same instant are applied and followed by another late
# phase. ``run`` advances to a time limit (an arrival comes before the late phase of
# its instant) or until the current burst is accepted / completed.
cimport cython
from libc.stdint cimport int64_t, int32_t, int8_t, uint64_t
from libc.math cimport log2, floor

# the statistics layout (request kinds, the fields of req / bank / chan, the histogram's shape)
from _timing_layout cimport *
from _bits cimport ctz64

import numpy as np

cdef int64_t INF = 0x7FFFFFFFFFFFFFFF

DEF IDLE = 0
DEF DEMAND = 1
DEF REFRESH = 2
DEF WRITEBACK = 3

DEF P_NONE = 0
DEF P_QUEUED = 1
DEF P_HELD = 2
DEF P_RUNNING = 3
DEF P_BUFFERED = 4   # the refresh of a write buffered in a write-back row buffer (handed at the write-back)

DEF A_OLDEST = 0
DEF A_READS_FIRST = 1
DEF A_WRITES_FIRST = 2
DEF A_READS_ONLY = 3
DEF A_WRITES_ONLY = 4
DEF A_NONE = 5

DEF K_PYTHON = -1
DEF K_FCFS = 0
DEF K_READ_FIRST = 1
DEF K_FR_FCFS = 2

DEF PRE_NONE = 0
DEF PRE_CANCEL = 1
DEF PRE_PAUSE = 2

DEF PAGE_NONE = 0
DEF PAGE_OPEN = 1
DEF PAGE_CLOSED = 2

_views = None  # archsim.timing.scheduling's view classes, imported on first use (no import cycle)


cdef object _checked_mode(object policy, object mode):
    from archsim.timing.scheduling import checked_mode
    return checked_mode(policy, mode)


cdef object _view_classes():
    global _views
    if _views is None:
        from archsim.timing.scheduling import BankView, ControllerView, QueueView
        _views = (QueueView, BankView, ControllerView)
    return _views

# ---- the statistics layout, exported to Python (archsim.timing.stats takes it from here)
cdef dict _constants(dict values):
    """Put each constant in the module under its name (a C constant cannot be assigned to a
    Python name of its own spelling in Cython)."""
    globals().update(values)
    return values


cdef tuple _fields(str prefix, dict index, int n):
    """The names of a table ordered by their constants, which must number them 0..n-1;
    each constant also becomes a module attribute, prefix + NAME (``B_REFRESH_MISSES``)."""
    names = tuple(sorted(index, key=index.__getitem__))
    if [index[f] for f in names] != list(range(n)):
        raise ImportError(f"_timing_layout.pxd: the constants of {', '.join(index)} do not number them 0..{n - 1}")
    _constants({prefix + f.upper(): index[f] for f in names})
    return names


KINDS = _fields("", {"read": READ, "write": WRITE}, NKINDS)
REQ_FIELDS = _fields("R_", {"count": R_COUNT, "latency_ps": R_LATENCY_PS, "queue_ps": R_QUEUE_PS,
                            "service_ps": R_SERVICE_PS, "max_ps": R_MAX_PS,
                            "port_wait_ps": R_PORT_WAIT_PS, "port_waits": R_PORT_WAITS}, R_NFIELDS)
BANK_FIELDS = _fields("B_", {"busy_ps": B_BUSY_PS, "refreshes_idle": B_REFRESHES_IDLE,
                             "refresh_idle_ps": B_REFRESH_IDLE_PS, "refresh_misses": B_REFRESH_MISSES,
                             "refresh_miss_ps": B_REFRESH_MISS_PS,
                             "refresh_cancellations": B_REFRESH_CANCELLATIONS,
                             "refresh_cancelled_ps": B_REFRESH_CANCELLED_PS,
                             "silent_writes": B_SILENT_WRITES, "row_hits": B_ROW_HITS,
                             "write_cancellations": B_WRITE_CANCELLATIONS,
                             "write_cancelled_ps": B_WRITE_CANCELLED_PS, "write_pauses": B_WRITE_PAUSES,
                             "writebacks": B_WRITEBACKS, "writeback_lines": B_WRITEBACK_LINES,
                             "writeback_ps": B_WRITEBACK_PS},
                   B_NFIELDS)
CHAN_FIELDS = _fields("C_", {"stalled_requests": C_STALLED_REQUESTS, "stall_ps": C_STALL_PS,
                             "accepted": C_ACCEPTED}, C_NFIELDS)
_constants({"NKINDS": NKINDS, "R_NFIELDS": R_NFIELDS, "B_NFIELDS": B_NFIELDS, "C_NFIELDS": C_NFIELDS,
            "LIN_NS": LIN_NS, "PER_OCTAVE": PER_OCTAVE, "OCTAVES": OCTAVES, "NBINS": NBINS})

DEF S_REACHED = 0
DEF S_CONDITION = 1
DEF S_IDLE = 2
STOP_REACHED = S_REACHED
STOP_CONDITION = S_CONDITION
STOP_IDLE = S_IDLE


cpdef int64_t latency_bin(int64_t ps) noexcept nogil:
    """Histogram bin of a latency (ps): 1-ns bins below LIN_NS (4096) ns, then PER_OCTAVE (256) per octave."""
    cdef int64_t ns = ps // 1000
    cdef int64_t b
    if ns < LIN_NS:
        return ns
    b = LIN_NS + <int64_t>floor(log2(<double>ns / LIN_NS) * PER_OCTAVE)
    if b >= NBINS:
        b = NBINS - 1
    return b


# the kernel's arrays, as raw pointers (see ChannelKernel._keep)
ctypedef int64_t* i64p
ctypedef int32_t* i32p
ctypedef int8_t* i8p
ctypedef double* f64p


ctypedef fused element:
    int64_t
    int32_t
    int8_t
    double


cdef element* _data(list keep, element[::1] a):
    """The data of ``a`` (kept alive in ``keep``)."""
    keep.append(a)
    return &a[0]


cdef inline void _link(int64_t* nxt, int64_t* prv, int64_t* head, int64_t* tail, int64_t s,
                       int64_t p) noexcept nogil:
    """Insert ``s`` after ``p`` (``p < 0``: first) in the doubly linked list ``nxt``/``prv``/``head``/``tail``."""
    cdef int64_t n = nxt[p] if p >= 0 else head[0]
    prv[s] = p
    nxt[s] = n
    if p >= 0:
        nxt[p] = s
    else:
        head[0] = s
    if n >= 0:
        prv[n] = s
    else:
        tail[0] = s


cdef inline void _append(int64_t* nxt, int64_t* prv, int64_t* head, int64_t* tail, int64_t s) noexcept nogil:
    """Append ``s`` to the doubly linked list ``nxt``/``prv``/``head``/``tail``."""
    cdef int64_t t = tail[0]
    prv[s] = t
    nxt[s] = -1
    if t >= 0:
        nxt[t] = s
    else:
        head[0] = s
    tail[0] = s


cdef inline void _unlink_slot(int64_t* nxt, int64_t* prv, int64_t* head, int64_t* tail, int64_t s) noexcept nogil:
    """Take ``s`` out of the doubly linked list ``nxt``/``prv``/``head``/``tail``."""
    cdef int64_t p = prv[s], n = nxt[s]
    if p >= 0:
        nxt[p] = n
    else:
        head[0] = n
    if n >= 0:
        prv[n] = p
    else:
        tail[0] = p


@cython.final  # (no subclass: its methods are called directly, not through a table, and can be inlined)
cdef class ChannelKernel:
    # -- configuration
    cdef public int channel
    cdef int nbl, bank_base, qr_cap, qw_cap, max_inflight
    cdef int policy_code, high, low
    cdef public bint draining
    cdef object policy
    cdef bint request_level
    cdef int pre_mode, page
    cdef int64_t iteration_ps
    cdef double cancel_below
    cdef int64_t hit_ps, miss_ps
    cdef bint wb                      # write-back row buffers
    cdef i64p b_dirty_n, b_dirty_ps, wb_head, wb_tail   # buffered writes, their array service; the
                                      # lines whose refresh waits for the write-back (linked by rq_next)
    cdef public list pre_log
    cdef bint pre_r, pre_w
    cdef public bint logging
    cdef public list req_log, ref_log
    # -- time
    cdef public int64_t now
    cdef public int64_t rounds
    cdef public bint pending_late
    # -- banks (local index)
    cdef i8p b_state
    cdef i64p b_until, b_slot, b_rline, b_rstart, b_rns, head, tail
    cdef i32p queued_for_bank, queued_reads, refq_len
    cdef i64p b_open, b_streak, b_paused, b_seg, b_wdone, b_wtotal
    cdef i8p b_pausing
    cdef int64_t n_paused, n_refq   # paused writes and queued refreshes of the channel (skip empty scans)
    # Bank sets as bit masks (bit b: local bank b), kept only with at most 64 banks a channel (``masks``):
    # idle, refreshing, holding a paused write, with queued writes / reads / refreshes. They let a
    # scan that would find nothing be skipped; every decision is still the scan's.
    cdef bint masks
    cdef uint64_t m_idle, m_refresh, m_paused, m_qw, m_qr, m_refq
    cdef i32p queued_writes
    cdef bint zero_due              # a service of zero length started at ``now`` (it completes at ``now``)
    cdef i64p line_row
    cdef f64p bank_wear, line_cancel
    cdef i64p st_occ
    cdef int64_t occ_t
    # -- lines (global arrays shared by the channels of a model; each touches its own lines)
    cdef i64p pend_ns, rq_next, rq_prev, group_of, group_pending, group_size, gstart, gmembers
    cdef i8p pend_state
    cdef i32p line_bank
    # -- request slots
    cdef i8p s_kind, s_miss
    cdef i64p s_line, s_wps, s_rps, s_enq, s_start, s_seq, s_burst, s_index, s_release, s_ptotal, s_pdone
    cdef i64p s_bw, s_pw     # the bank's busy time when the request (re)joined its queue; its port wait
    cdef i32p s_bank
    cdef i64p free_slots
    cdef int n_free
    cdef int64_t seq
    cdef public int inflight
    # -- queues: the queued slots of a kind in arrival (``seq``) order, a doubly linked list through
    # ``s_qnext``/``s_qprev`` from ``q_head[kind]``; and each bank's share of them, the same order, through
    # ``s_bnext``/``s_bprev`` from ``bq_head[kind * nbl + bank]``. A request leaves from anywhere in O(1),
    # and the oldest queued request of the banks that can serve one is the oldest of their heads.
    cdef int64_t q_head[2]
    cdef int64_t q_tail[2]
    cdef i64p s_qnext, s_qprev, s_bnext, s_bprev, bq_head, bq_tail
    cdef public int nr, nw
    # -- port
    cdef i8p p_kind
    cdef i64p p_line, p_wps, p_rps
    cdef i32p p_bank
    cdef public int64_t p_len, p_pos, p_release, p_burst, burst_done
    # -- statistics (req[bank, kind, field], bank[bank, field]: C order; chan and occ: this channel's row)
    cdef i64p st_req
    cdef i64p st_hist         # any strides: TimingStats.zeros keeps a bin of every bank together
    cdef int64_t h_bank, h_kind, h_bin   # ... its strides (elements)
    cdef i64p st_bank
    cdef i64p st_chan
    # The arrays are held as raw pointers: a typed memoryview field is about 200 bytes, and the
    # kernel's sixty of them spread its hot state over 14 KB (a cache line per field read). ``_keep``
    # holds the buffers they point into (a memoryview of each, so no array can be resized under them);
    # ``_burst`` those of the burst at the port; ``_bank_wear`` the banks' wear, for the policy views.
    cdef list _keep
    cdef tuple _burst
    cdef object _bank_wear

    def __init__(self, int channel, int banks, int bank_base, int read_queue, int write_queue, int max_inflight,
                 policy, int policy_code, int high, int low, bint preempt_reads, bint preempt_writes,
                 int32_t[::1] line_bank, int64_t[::1] pend_ns, int8_t[::1] pend_state, int64_t[::1] rq_next,
                 int64_t[::1] rq_prev, int64_t[::1] group_of, int64_t[::1] group_pending,
                 int64_t[::1] group_size, int64_t[::1] gstart, int64_t[::1] gmembers,
                 int64_t[:, :, ::1] st_req, int64_t[:, :, :] st_hist, int64_t[:, ::1] st_bank,
                 int64_t[:, ::1] st_chan, int64_t[::1] line_row, int page, int64_t hit_ps, int64_t miss_ps,
                 int pre_mode, double cancel_below, int64_t iteration_ps, double[::1] bank_wear,
                 double[::1] line_cancel, int64_t[:, ::1] st_occ, bint logging=False, bint writes_back=False):
        cdef int i
        if (st_req.shape[1] != NKINDS or st_req.shape[2] != R_NFIELDS or st_hist.shape[1] != NKINDS
                or st_hist.shape[2] != NBINS or st_bank.shape[1] != B_NFIELDS or st_chan.shape[1] != C_NFIELDS):
            raise ValueError("statistics arrays not of the layout of _timing_layout.pxd")
        if (min(st_req.shape[0], st_hist.shape[0], st_bank.shape[0]) < bank_base + banks
                or min(st_chan.shape[0], st_occ.shape[0]) <= channel or bank_base < 0 or channel < 0):
            raise ValueError("statistics arrays without this channel's banks")
        cdef list keep = []
        self._keep = keep
        self.channel = channel
        self.nbl = banks
        self.bank_base = bank_base
        self.qr_cap = read_queue
        self.qw_cap = write_queue
        self.max_inflight = max_inflight
        self.policy = policy
        self.policy_code = policy_code
        self.request_level = bool(policy.request_level) and policy_code == K_PYTHON
        self.pre_mode = pre_mode
        self.cancel_below = cancel_below
        self.iteration_ps = iteration_ps
        self.page = page
        self.hit_ps = hit_ps
        self.miss_ps = miss_ps
        self.wb = writes_back
        self.b_dirty_n = _data[int64_t](keep, np.zeros(banks, dtype=np.int64))
        self.b_dirty_ps = _data[int64_t](keep, np.zeros(banks, dtype=np.int64))
        self.wb_head = _data[int64_t](keep, np.full(banks, -1, dtype=np.int64))
        self.wb_tail = _data[int64_t](keep, np.full(banks, -1, dtype=np.int64))
        self.line_row = _data[int64_t](keep, line_row)
        self.bank_wear = _data[double](keep, bank_wear)
        self._bank_wear = bank_wear
        self.line_cancel = _data[double](keep, line_cancel)
        if st_occ.shape[1] < read_queue + write_queue + banks + 1:
            raise ValueError("queue-occupancy array too small")
        self.st_occ = _data[int64_t](keep, st_occ[channel])
        self.occ_t = 0
        self.pre_log = []
        self.queued_reads = _data[int32_t](keep, np.zeros(banks, dtype=np.int32))
        self.refq_len = _data[int32_t](keep, np.zeros(banks, dtype=np.int32))
        self.b_open = _data[int64_t](keep, np.full(banks, -1, dtype=np.int64))
        self.b_streak = _data[int64_t](keep, np.zeros(banks, dtype=np.int64))
        self.b_paused = _data[int64_t](keep, np.full(banks, -1, dtype=np.int64))
        self.b_seg = _data[int64_t](keep, np.zeros(banks, dtype=np.int64))
        self.b_wdone = _data[int64_t](keep, np.zeros(banks, dtype=np.int64))
        self.b_wtotal = _data[int64_t](keep, np.zeros(banks, dtype=np.int64))
        self.b_pausing = _data[int8_t](keep, np.zeros(banks, dtype=np.int8))
        self.n_paused = 0
        self.n_refq = 0
        self.masks = banks <= 64
        self.m_idle = ((<uint64_t>1) << banks) - 1 if banks < 64 else ~(<uint64_t>0)
        self.m_refresh = 0
        self.m_paused = 0
        self.m_qw = 0
        self.m_qr = 0
        self.m_refq = 0
        self.queued_writes = _data[int32_t](keep, np.zeros(banks, dtype=np.int32))
        self.zero_due = False
        self.high = high
        self.low = low
        self.draining = False
        self.pre_r = preempt_reads
        self.pre_w = preempt_writes
        self.logging = logging
        self.req_log = []
        self.ref_log = []
        self.now = 0
        self.rounds = 0
        self.pending_late = False
        self.b_state = _data[int8_t](keep, np.zeros(banks, dtype=np.int8))
        self.b_until = _data[int64_t](keep, np.zeros(banks, dtype=np.int64))
        self.b_slot = _data[int64_t](keep, np.full(banks, -1, dtype=np.int64))
        self.b_rline = _data[int64_t](keep, np.full(banks, -1, dtype=np.int64))
        self.b_rstart = _data[int64_t](keep, np.zeros(banks, dtype=np.int64))
        self.b_rns = _data[int64_t](keep, np.zeros(banks, dtype=np.int64))
        self.head = _data[int64_t](keep, np.full(banks, -1, dtype=np.int64))
        self.tail = _data[int64_t](keep, np.full(banks, -1, dtype=np.int64))
        self.queued_for_bank = _data[int32_t](keep, np.zeros(banks, dtype=np.int32))
        self.line_bank = _data[int32_t](keep, line_bank)
        self.pend_ns = _data[int64_t](keep, pend_ns)
        self.pend_state = _data[int8_t](keep, pend_state)
        self.rq_next = _data[int64_t](keep, rq_next)
        self.rq_prev = _data[int64_t](keep, rq_prev)
        self.group_of = _data[int64_t](keep, group_of)
        self.group_pending = _data[int64_t](keep, group_pending)
        self.group_size = _data[int64_t](keep, group_size)
        self.gstart = _data[int64_t](keep, gstart)
        self.gmembers = _data[int64_t](keep, gmembers)
        self.s_kind = _data[int8_t](keep, np.zeros(max_inflight, dtype=np.int8))
        self.s_miss = _data[int8_t](keep, np.zeros(max_inflight, dtype=np.int8))
        self.s_line = _data[int64_t](keep, np.zeros(max_inflight, dtype=np.int64))
        self.s_wps = _data[int64_t](keep, np.zeros(max_inflight, dtype=np.int64))
        self.s_rps = _data[int64_t](keep, np.zeros(max_inflight, dtype=np.int64))
        self.s_enq = _data[int64_t](keep, np.zeros(max_inflight, dtype=np.int64))
        self.s_start = _data[int64_t](keep, np.zeros(max_inflight, dtype=np.int64))
        self.s_seq = _data[int64_t](keep, np.zeros(max_inflight, dtype=np.int64))
        self.s_burst = _data[int64_t](keep, np.zeros(max_inflight, dtype=np.int64))
        self.s_index = _data[int64_t](keep, np.zeros(max_inflight, dtype=np.int64))
        self.s_release = _data[int64_t](keep, np.zeros(max_inflight, dtype=np.int64))
        self.s_ptotal = _data[int64_t](keep, np.zeros(max_inflight, dtype=np.int64))
        self.s_pdone = _data[int64_t](keep, np.zeros(max_inflight, dtype=np.int64))
        self.s_bw = _data[int64_t](keep, np.zeros(max_inflight, dtype=np.int64))
        self.s_pw = _data[int64_t](keep, np.zeros(max_inflight, dtype=np.int64))
        self.s_bank = _data[int32_t](keep, np.zeros(max_inflight, dtype=np.int32))
        self.free_slots = _data[int64_t](keep, np.arange(max_inflight - 1, -1, -1, dtype=np.int64))
        self.n_free = max_inflight
        self.seq = 0
        self.inflight = 0
        for i in range(2):
            self.q_head[i] = -1
            self.q_tail[i] = -1
        self.s_qnext = _data[int64_t](keep, np.full(max_inflight, -1, dtype=np.int64))
        self.s_qprev = _data[int64_t](keep, np.full(max_inflight, -1, dtype=np.int64))
        self.s_bnext = _data[int64_t](keep, np.full(max_inflight, -1, dtype=np.int64))
        self.s_bprev = _data[int64_t](keep, np.full(max_inflight, -1, dtype=np.int64))
        self.bq_head = _data[int64_t](keep, np.full(2 * banks, -1, dtype=np.int64))
        self.bq_tail = _data[int64_t](keep, np.full(2 * banks, -1, dtype=np.int64))
        self.nr = 0
        self.nw = 0
        self.p_kind = _data[int8_t](keep, np.zeros(0, dtype=np.int8))
        self.p_line = _data[int64_t](keep, np.zeros(0, dtype=np.int64))
        self.p_wps = _data[int64_t](keep, np.zeros(0, dtype=np.int64))
        self.p_rps = _data[int64_t](keep, np.zeros(0, dtype=np.int64))
        self.p_bank = _data[int32_t](keep, np.zeros(0, dtype=np.int32))
        self.p_len = 0
        self.p_pos = 0
        self.p_release = 0
        self.p_burst = -1
        self.burst_done = 0
        keep.append(st_req)
        self.st_req = &st_req[0, 0, 0]
        keep.append(st_hist)
        self.st_hist = &st_hist[0, 0, 0]
        self.h_bank = st_hist.strides[0] // sizeof(int64_t)
        self.h_kind = st_hist.strides[1] // sizeof(int64_t)
        self.h_bin = st_hist.strides[2] // sizeof(int64_t)
        keep.append(st_bank)
        self.st_bank = &st_bank[0, 0]
        self.st_chan = _data[int64_t](keep, st_chan[channel])

    # ------------------------------------------------------------------ the port
    def submit(self, int8_t[::1] kind, int64_t[::1] line, int32_t[::1] bank, int64_t[::1] wps,
               int64_t[::1] rps, int64_t burst):
        """Hand a burst to the issue port at ``now`` (the previous burst must be accepted).
        ``bank`` is the bank within the channel; ``wps`` the service of each request (ps;
        a write's own latency, or the read latency); ``rps`` the refresh a write triggers."""
        if self.p_pos != self.p_len:
            raise RuntimeError("a burst was submitted before the previous one was accepted")
        self._burst = (kind, line, bank, wps, rps)
        self.p_kind = &kind[0]
        self.p_line = &line[0]
        self.p_bank = &bank[0]
        self.p_wps = &wps[0]
        self.p_rps = &rps[0]
        self.p_len = kind.shape[0]
        self.p_pos = 0
        self.p_release = self.now
        self.p_burst = burst
        self.burst_done = 0
        self.pending_late = True

    # ------------------------------------------------------------------ bank sets
    cdef inline void _set_state(self, int64_t b, int8_t st) noexcept nogil:
        """Bank ``b`` enters state ``st`` (its masks follow)."""
        cdef uint64_t bit = (<uint64_t>1) << (b & 63)
        self.b_state[b] = st
        if st == IDLE:
            self.m_idle |= bit
        else:
            self.m_idle &= ~bit
        if st == REFRESH:
            self.m_refresh |= bit
        else:
            self.m_refresh &= ~bit

    cdef inline void _set_until(self, int64_t b, int64_t until) noexcept nogil:
        """Bank ``b``'s service ends at ``until`` (ps); one that ends now is completed after the late phase."""
        self.b_until[b] = until
        if until == self.now:
            self.zero_due = True

    cdef inline void _queued(self, int64_t b, bint is_write, int delta) noexcept nogil:
        """``delta`` requests of a kind join (+) or leave (-) bank ``b``'s share of the queues."""
        cdef uint64_t bit = (<uint64_t>1) << (b & 63)
        self.queued_for_bank[b] += delta
        if is_write:
            self.queued_writes[b] += delta
            if self.queued_writes[b] > 0:
                self.m_qw |= bit
            else:
                self.m_qw &= ~bit
        else:
            self.queued_reads[b] += delta
            if self.queued_reads[b] > 0:
                self.m_qr |= bit
            else:
                self.m_qr &= ~bit

    # ------------------------------------------------------------------ request queues
    cdef inline void _enqueue(self, int64_t s, int k, int64_t b) noexcept nogil:
        """Slot ``s`` (kind ``k``, bank ``b``) joins its queue as the newest request."""
        cdef int64_t j = k * self.nbl + b
        _append(self.s_qnext, self.s_qprev, &self.q_head[k], &self.q_tail[k], s)
        _append(self.s_bnext, self.s_bprev, &self.bq_head[j], &self.bq_tail[j], s)

    cdef void _requeue(self, int64_t s, int k, int64_t b) noexcept nogil:
        """Slot ``s`` rejoins its queue in the place of its ``seq`` (a cancelled write)."""
        cdef int64_t seq = self.s_seq[s], j = k * self.nbl + b, p
        p = self.q_tail[k]
        while p >= 0 and self.s_seq[p] > seq:
            p = self.s_qprev[p]
        _link(self.s_qnext, self.s_qprev, &self.q_head[k], &self.q_tail[k], s, p)
        p = self.bq_tail[j]
        while p >= 0 and self.s_seq[p] > seq:
            p = self.s_bprev[p]
        _link(self.s_bnext, self.s_bprev, &self.bq_head[j], &self.bq_tail[j], s, p)

    cdef inline void _dequeue(self, int64_t s, int k, int64_t b) noexcept nogil:
        """Slot ``s`` (kind ``k``, bank ``b``) leaves its queue."""
        cdef int64_t j = k * self.nbl + b
        _unlink_slot(self.s_qnext, self.s_qprev, &self.q_head[k], &self.q_tail[k], s)
        _unlink_slot(self.s_bnext, self.s_bprev, &self.bq_head[j], &self.bq_tail[j], s)

    cdef int64_t _queue_at(self, bint writes, int i) noexcept nogil:
        """The ``i``-th oldest queued request of a kind (its slot)."""
        cdef int64_t s = self.q_head[WRITE if writes else READ]
        while i > 0:
            s = self.s_qnext[s]
            i -= 1
        return s

    # ------------------------------------------------------------------ refresh queues
    cdef inline void _push_tail(self, int64_t b, int64_t line) noexcept nogil:
        self.refq_len[b] += 1
        self.m_refq |= (<uint64_t>1) << (b & 63)
        self.n_refq += 1
        _append(self.rq_next, self.rq_prev, &self.head[b], &self.tail[b], line)

    cdef inline void _push_head(self, int64_t b, int64_t line) noexcept nogil:
        self.refq_len[b] += 1
        self.m_refq |= (<uint64_t>1) << (b & 63)
        self.n_refq += 1
        _link(self.rq_next, self.rq_prev, &self.head[b], &self.tail[b], line, -1)

    cdef inline void _unlink(self, int64_t b, int64_t line) noexcept nogil:
        self.refq_len[b] -= 1
        if self.refq_len[b] == 0:
            self.m_refq &= ~((<uint64_t>1) << (b & 63))
        self.n_refq -= 1
        _unlink_slot(self.rq_next, self.rq_prev, &self.head[b], &self.tail[b], line)
        self.rq_next[line] = -1
        self.rq_prev[line] = -1

    cdef inline void _wb_push(self, int64_t b, int64_t line) noexcept nogil:
        """Append ``line`` to bank ``b``'s lines whose refresh waits for the write-back."""
        _append(self.rq_next, self.rq_prev, &self.wb_head[b], &self.wb_tail[b], line)

    cdef inline void _wb_unlink(self, int64_t b, int64_t line) noexcept nogil:
        _unlink_slot(self.rq_next, self.rq_prev, &self.wb_head[b], &self.wb_tail[b], line)
        self.rq_next[line] = -1
        self.rq_prev[line] = -1

    cdef int64_t _write_back(self, int64_t b) noexcept nogil:
        """Write back bank ``b``'s dirty row (if any): count it, hand the buffered lines' refreshes to
        the idle-period scheduler; the burst's service (ps)."""
        cdef int64_t n = self.b_dirty_n[b], ps = self.b_dirty_ps[b], gb = self.bank_base + b, line, nxt
        if n == 0:
            return 0
        self.st_bank[gb * B_NFIELDS + B_WRITEBACKS] += 1
        self.st_bank[gb * B_NFIELDS + B_WRITEBACK_LINES] += n
        self.st_bank[gb * B_NFIELDS + B_WRITEBACK_PS] += ps
        line = self.wb_head[b]
        self.wb_head[b] = -1
        self.wb_tail[b] = -1
        while line >= 0:
            nxt = self.rq_next[line]
            self.rq_next[line] = -1
            self.rq_prev[line] = -1
            self._hand_refresh(b, line, self.pend_ns[line])
            line = nxt
        self.b_dirty_n[b] = 0
        self.b_dirty_ps[b] = 0
        return ps

    cdef bint _start_write_back(self, int64_t b) noexcept nogil:
        """The bank (idle) writes back its dirty row as a burst of its own; True if it had one."""
        cdef int64_t ps
        if self.b_dirty_n[b] == 0:
            return False
        ps = self._write_back(b)
        if ps > 0:
            self._set_state(b, WRITEBACK)
            self.b_seg[b] = self.now
            self._set_until(b, self.now + ps)
        return True

    cpdef write_back_rows(self, int64_t t):
        """The end of the run (the channel drained): from ``t``, every bank writes back its dirty row."""
        cdef int b
        cdef bint any = False
        if t > self.now:
            self.now = t
            self.rounds = 0
        for b in range(self.nbl):
            if self._start_write_back(b):
                any = True
        if any:
            self.pending_late = True

    cdef void _hand_refresh(self, int64_t b, int64_t line, int64_t rps) noexcept nogil:
        cdef int64_t g = self.group_of[line], i, m
        self.pend_ns[line] = rps
        if g < 0:
            self.pend_state[line] = P_QUEUED
            self._push_tail(b, line)
            return
        self.pend_state[line] = P_HELD
        self.group_pending[g] += 1
        if self.group_pending[g] == self.group_size[g]:
            for i in range(self.gstart[g], self.gstart[g + 1]):
                m = self.gmembers[i]
                self.pend_state[m] = P_QUEUED
                self._push_tail(self.line_bank[m] - self.bank_base, m)
            self.group_pending[g] = 0

    # ------------------------------------------------------------------ instants
    cdef inline int64_t _busy_so_far(self, int64_t b) noexcept nogil:
        """The bank's (port group's) busy time up to now, the service in progress included (ps)."""
        cdef int64_t v = self.st_bank[(self.bank_base + b) * B_NFIELDS + B_BUSY_PS]
        if self.b_state[b] == DEMAND:
            v += self.now - self.b_seg[b]
        elif self.b_state[b] == REFRESH:
            v += self.now - self.b_rstart[b]
        elif self.b_state[b] == WRITEBACK:
            v += self.now - self.b_seg[b]
        return v

    cdef int _complete_at(self) except -1 nogil:
        """Complete the services of every bank that end now, in bank order; True if any did."""
        cdef int b
        cdef bint any = False
        self.zero_due = False
        for b in range(self.nbl):
            if self.b_state[b] == IDLE or self.b_until[b] != self.now:
                continue
            any = True
            self._complete_bank(b)
        return any

    cdef inline int _complete_bank(self, int b) except -1 nogil:
        """Complete the service of bank ``b``, which ends now."""
        cdef int64_t s, lat, gb, line, k, now, enq, start, pw
        cdef int64_t* req
        cdef int8_t state
        gb = self.bank_base + b
        state = self.b_state[b]
        self._set_state(b, IDLE)
        if state == DEMAND and self.b_pausing[b]:  # the write pauses at an iteration boundary
            s = self.b_slot[b]
            self.st_bank[gb * B_NFIELDS + B_WRITE_PAUSES] += 1
            self.st_bank[gb * B_NFIELDS + B_BUSY_PS] += self.now - self.b_seg[b]
            if self.logging:
                with gil:
                    self.pre_log.append((gb, self.s_line[s], self.b_seg[b], self.now, "paused"))
            self.s_pdone[s] = self.b_wdone[b] + self.now - self.b_seg[b]
            self.s_ptotal[s] = self.b_wtotal[b]
            self.b_paused[b] = s
            self.m_paused |= (<uint64_t>1) << (b & 63)
            self.n_paused += 1
            self.b_pausing[b] = 0
            self.b_slot[b] = -1
        elif state == DEMAND:
            s = self.b_slot[b]
            k = self.s_kind[s]
            now = self.now
            enq = self.s_enq[s]
            start = self.s_start[s]
            pw = self.s_pw[s]
            lat = now - enq
            req = self.st_req + (gb * NKINDS + k) * R_NFIELDS
            req[R_COUNT] += 1
            req[R_LATENCY_PS] += lat
            req[R_QUEUE_PS] += start - enq
            req[R_SERVICE_PS] += now - start
            if lat > req[R_MAX_PS]:
                req[R_MAX_PS] = lat
            if pw > 0:
                req[R_PORT_WAIT_PS] += pw
                req[R_PORT_WAITS] += 1
            self.st_hist[gb * self.h_bank + k * self.h_kind + latency_bin(lat) * self.h_bin] += 1
            self.st_bank[gb * B_NFIELDS + B_BUSY_PS] += now - self.b_seg[b]
            if self.logging:
                with gil:
                    self.req_log.append((self.s_burst[s], self.s_index[s], k, gb, self.s_line[s],
                                         self.s_release[s], self.s_enq[s], self.s_start[s], self.now,
                                         self.s_miss[s]))
            if k == WRITE and self.s_rps[s] > 0 and not self.wb:
                self._hand_refresh(b, self.s_line[s], self.s_rps[s])
            if self.s_burst[s] == self.p_burst:
                self.burst_done += 1
            self.inflight -= 1
            self.free_slots[self.n_free] = s
            self.n_free += 1
            self.b_slot[b] = -1
            if self.wb and self.page == PAGE_CLOSED:  # the row closes: its write is written back
                self._start_write_back(b)
        elif state == WRITEBACK:
            self.st_bank[gb * B_NFIELDS + B_BUSY_PS] += self.now - self.b_seg[b]
        else:
            line = self.b_rline[b]
            self.pend_state[line] = P_NONE
            self.pend_ns[line] = 0
            self.st_bank[gb * B_NFIELDS + B_REFRESHES_IDLE] += 1
            self.st_bank[gb * B_NFIELDS + B_REFRESH_IDLE_PS] += self.b_rns[b]
            self.st_bank[gb * B_NFIELDS + B_BUSY_PS] += self.b_rns[b]
            if self.logging:
                with gil:
                    self.ref_log.append((gb, line, self.b_rstart[b], self.now, "done"))
            self.b_rline[b] = -1
        return 0

    cdef inline void _occ(self) noexcept nogil:
        """Account the time since the last change of the number of queued requests."""
        self.st_occ[self.nr + self.nw] += self.now - self.occ_t
        self.occ_t = self.now

    cdef void _accept(self) noexcept nogil:
        """Move requests from the port into the queues, in order, while a slot and a queue entry are free.

        The port, queue and slot counters are kept in locals over the loop and stored back at its end
        (nothing the loop calls reads them), the port's statistics counted once after it (the requests
        accepted now share ``now`` and their release); the queue occupancy is accounted once, before the loop:
        the time since its last change is owed to the count the queues had then, and a request
        accepted now adds no time to any count."""
        cdef int64_t s, k, b, n, pos = self.p_pos, n_free = self.n_free, seq = self.seq
        cdef int64_t now = self.now, release = self.p_release, burst = self.p_burst
        cdef int nr = self.nr, nw = self.nw, inflight = self.inflight
        if pos >= self.p_len or inflight >= self.max_inflight:
            return
        self._occ()
        while pos < self.p_len and inflight < self.max_inflight:
            k = self.p_kind[pos]
            if k == READ and nr >= self.qr_cap:
                break
            if k == WRITE and nw >= self.qw_cap:
                break
            n_free -= 1
            s = self.free_slots[n_free]
            b = self.p_bank[pos]
            self.s_kind[s] = <int8_t>k
            self.s_line[s] = self.p_line[pos]
            self.s_bank[s] = <int32_t>b
            self.s_wps[s] = self.p_wps[pos]
            self.s_rps[s] = self.p_rps[pos]
            self.s_enq[s] = now
            self.s_seq[s] = seq
            self.s_burst[s] = burst
            self.s_index[s] = pos
            self.s_release[s] = release
            self.s_miss[s] = 0
            self.s_bw[s] = self._busy_so_far(b)
            self.s_pw[s] = 0
            seq += 1
            if k == READ:
                nr += 1
            else:
                nw += 1
            self._enqueue(s, <int>k, b)
            self._queued(b, k == WRITE, 1)
            inflight += 1
            pos += 1
        n = pos - self.p_pos  # accepted now, each ``now - release`` after its release
        self.st_chan[C_ACCEPTED] += n
        if now > release:
            self.st_chan[C_STALLED_REQUESTS] += n
            self.st_chan[C_STALL_PS] += n * (now - release)
        self.p_pos = pos
        self.n_free = <int>n_free
        self.seq = seq
        self.nr = nr
        self.nw = nw
        self.inflight = inflight

    cdef inline bint _available(self, int64_t b, bint is_write) noexcept nogil:
        cdef int8_t st = self.b_state[b]
        if is_write and self.b_paused[b] >= 0:
            return False
        if st == IDLE:
            return True
        if st == REFRESH:
            return self.pre_w if is_write else self.pre_r
        return False

    cdef inline int64_t _first_available(self, bint writes) noexcept nogil:
        """The oldest queued request of a kind whose bank can serve it now (its slot), -1 if none."""
        cdef int k = WRITE if writes else READ, b
        cdef int64_t s, q, best = -1, best_seq = INF
        cdef int64_t* heads
        cdef uint64_t avail
        if self.masks:  # the oldest of the heads of the banks that can serve one now
            avail = self.m_idle
            if self.pre_w if writes else self.pre_r:
                avail |= self.m_refresh
            if writes:
                avail &= ~self.m_paused
            avail &= self.m_qw if writes else self.m_qr
            s = self.q_head[k]
            if s < 0 or (avail >> self.s_bank[s]) & 1:  # the oldest of all (most banks free: the usual answer)
                return s
            heads = self.bq_head + k * self.nbl
            while avail:
                b = ctz64(avail)
                avail &= avail - 1
                s = heads[b]
                q = self.s_seq[s]
                best = s if q < best_seq else best  # (conditional moves: the order is data)
                best_seq = q if q < best_seq else best_seq
            return best
        s = self.q_head[k]
        while s >= 0:
            if self._available(self.s_bank[s], writes):
                return s
            s = self.s_qnext[s]
        return -1

    cdef inline int _arbitrate(self) except -1 nogil:
        if self.policy_code == K_FCFS:
            return A_OLDEST
        if self.policy_code == K_READ_FIRST:
            if self.draining:
                if self.nw <= self.low:
                    self.draining = False
            elif self.nw >= self.high:
                self.draining = True
            if self.draining:
                return A_WRITES_FIRST
            return A_READS_ONLY if self.nr > 0 else A_WRITES_ONLY
        with gil:
            return <int>_checked_mode(self.policy, self.policy.arbitrate(self.nr, self.nw))

    cdef inline bint _hit(self, int64_t s) noexcept nogil:
        return self.page != PAGE_NONE and self.line_row[self.s_line[s]] == self.b_open[self.s_bank[s]]

    cdef inline int64_t _expected(self, int64_t s) noexcept nogil:
        if self.wb:
            return self.hit_ps if self._hit(s) else self.b_dirty_ps[self.s_bank[s]] + self.miss_ps
        if self.s_kind[s] == WRITE or self.page == PAGE_NONE:
            return self.s_wps[s]
        return self.hit_ps if self._hit(s) else self.miss_ps

    cdef int64_t _fr_fcfs(self) noexcept nogil:
        """The FR-FCFS choice (its slot), -1 if none available."""
        cdef int64_t s, seq, best = -1, best_seq = INF
        cdef bint hit, best_hit = False, w
        for w in (False, True):
            s = self.q_head[WRITE if w else READ]
            while s >= 0:
                if self._available(self.s_bank[s], w):
                    hit = self._hit(s) and self.b_streak[self.s_bank[s]] < self.high
                    seq = self.s_seq[s]
                    if best < 0 or (hit and not best_hit) or (hit == best_hit and seq < best_seq):
                        best, best_hit, best_seq = s, hit, seq
                s = self.s_qnext[s]
        return best

    cdef object _view(self):
        """The read-only views a request-level Python policy decides on."""
        QueueView, BankView, ControllerView = _view_classes()
        queues = []
        cdef int i, n, b
        cdef int64_t s
        cdef bint w
        cdef int64_t[:, ::1] m
        cdef int8_t[:, ::1] f
        cdef int64_t[:, ::1] bm
        cdef int8_t[::1] rf
        for w in (False, True):
            n = self.nw if w else self.nr
            ints = np.empty((7, n), np.int64)
            flags = np.empty((2, n), np.bool_)
            m = ints
            f = flags.view(np.int8)
            s = self.q_head[WRITE if w else READ]
            for i in range(n):
                m[0, i] = WRITE if w else READ
                m[1, i] = self.s_line[s]
                m[2, i] = self.s_bank[s]
                m[3, i] = self.line_row[self.s_line[s]]
                m[4, i] = self.s_enq[s]
                m[5, i] = self.s_seq[s]
                m[6, i] = self._expected(s)
                f[0, i] = self._hit(s)
                f[1, i] = self._available(self.s_bank[s], w)
                s = self.s_qnext[s]
            queues.append(QueueView(ints, flags))
        bints = np.empty((3, self.nbl), np.int64)
        refreshing = np.empty(self.nbl, np.bool_)
        bm = bints
        rf = refreshing.view(np.int8)
        for b in range(self.nbl):
            bm[0, b] = self.b_until[b] if self.b_state[b] != IDLE else self.now
            bm[1, b] = self.b_open[b]
            bm[2, b] = self.refq_len[b]
            rf[b] = self.b_state[b] == REFRESH
        banks = BankView(bints, refreshing, np.array(self._bank_wear[self.bank_base:self.bank_base + self.nbl]))
        return ControllerView(self.now, self.channel, queues[0], queues[1], banks)

    cdef int64_t _python_select(self):
        """Ask a request-level Python policy; its choice (a slot), -1 for none."""
        view = self._view()
        pick = self.policy.select(view)
        if pick is None:
            return -1
        from archsim.timing.scheduling import checked_pick
        kind, i = checked_pick(self.policy, pick, view)
        return self._queue_at(kind == WRITE, i)

    cdef inline int _issue(self, bint writes, int64_t s) except -1 nogil:
        """Issue the queued request in slot ``s`` to its bank."""
        cdef int64_t b, line, r, svc, gb
        cdef int8_t st
        self._occ()
        b = self.s_bank[s]
        self._dequeue(s, WRITE if writes else READ, b)
        if writes:
            self.nw -= 1
        else:
            self.nr -= 1
        gb = self.bank_base + b
        self.s_pw[s] += self._busy_so_far(b) - self.s_bw[s]
        self._queued(b, writes, -1)
        if self._hit(s):
            self.b_streak[b] += 1
        else:
            self.b_streak[b] = 0
        if self.b_state[b] == REFRESH:  # cancel the refresh: back to the head of the queue
            r = self.b_rline[b]
            self.st_bank[gb * B_NFIELDS + B_REFRESH_CANCELLATIONS] += 1
            self.st_bank[gb * B_NFIELDS + B_REFRESH_CANCELLED_PS] += self.now - self.b_rstart[b]
            self.st_bank[gb * B_NFIELDS + B_BUSY_PS] += self.now - self.b_rstart[b]
            if self.logging:
                with gil:
                    self.ref_log.append((gb, r, self.b_rstart[b], self.now, "cancelled"))
            self.pend_state[r] = P_QUEUED
            self._push_head(b, r)
            self.b_rline[b] = -1
            self._set_state(b, IDLE)
        svc = self.s_wps[s]
        if self.wb:
            svc = self._buffered_issue(s, b, writes)
        elif writes:
            line = self.s_line[s]
            st = self.pend_state[line]
            if st == P_QUEUED or st == P_HELD:
                if st == P_QUEUED:
                    self._unlink(b, line)
                else:
                    self.group_pending[self.group_of[line]] -= 1
                self.st_bank[gb * B_NFIELDS + B_REFRESH_MISSES] += 1
                self.st_bank[gb * B_NFIELDS + B_REFRESH_MISS_PS] += self.pend_ns[line]
                svc += self.pend_ns[line]
                self.pend_state[line] = P_NONE
                self.pend_ns[line] = 0
                self.s_miss[s] = 1
            elif svc == 0:
                self.st_bank[gb * B_NFIELDS + B_SILENT_WRITES] += 1
        elif self.page != PAGE_NONE:  # a read: the row buffer
            if self.line_row[self.s_line[s]] == self.b_open[b]:
                svc = self.hit_ps
                self.st_bank[gb * B_NFIELDS + B_ROW_HITS] += 1
            else:
                svc = self.miss_ps
            self.b_open[b] = self.line_row[self.s_line[s]] if self.page == PAGE_OPEN else -1
        self.s_start[s] = self.now
        self.b_seg[b] = self.now
        self.b_wdone[b] = 0
        self.b_wtotal[b] = svc
        self._set_state(b, DEMAND)
        self._set_until(b, self.now + svc)
        self.b_slot[b] = s
        return 0

    cdef int64_t _buffered_issue(self, int64_t s, int64_t b, bint writes) noexcept nogil:
        """Issue slot ``s`` to bank ``b``'s write-back row buffer; its service (ps): the open row's
        latency on a hit, on a miss the dirty row's write-back then the array read opening the row. A
        write is buffered: its array service (and an inline refresh on a refresh miss) joins the burst."""
        cdef int64_t gb = self.bank_base + b, line = self.s_line[s], row = self.line_row[line], svc, arr
        cdef int8_t st
        if row == self.b_open[b]:
            svc = self.hit_ps
            if not writes:
                self.st_bank[gb * B_NFIELDS + B_ROW_HITS] += 1
        else:
            svc = self._write_back(b) + self.miss_ps
        self.b_open[b] = row if self.page == PAGE_OPEN else -1
        if writes:
            arr = self.s_wps[s]
            st = self.pend_state[line]
            if st == P_QUEUED or st == P_HELD or st == P_BUFFERED:
                if st == P_QUEUED:
                    self._unlink(b, line)
                elif st == P_HELD:
                    self.group_pending[self.group_of[line]] -= 1
                else:
                    self._wb_unlink(b, line)
                self.st_bank[gb * B_NFIELDS + B_REFRESH_MISSES] += 1
                self.st_bank[gb * B_NFIELDS + B_REFRESH_MISS_PS] += self.pend_ns[line]
                arr += self.pend_ns[line]
                self.pend_state[line] = P_NONE
                self.pend_ns[line] = 0
                self.s_miss[s] = 1
            elif arr == 0:
                self.st_bank[gb * B_NFIELDS + B_SILENT_WRITES] += 1
            self.b_dirty_n[b] += 1
            self.b_dirty_ps[b] += arr
            if self.s_rps[s] > 0:
                self.pend_state[line] = P_BUFFERED
                self.pend_ns[line] = self.s_rps[s]
                self._wb_push(b, line)
        return svc

    cdef int _decide(self) except -1 nogil:
        cdef int mode
        cdef int64_t ir, iw, pick
        while self.nr + self.nw > 0:
            if self.policy_code == K_FR_FCFS or self.request_level:
                if self.policy_code == K_FR_FCFS:
                    pick = self._fr_fcfs()
                else:
                    with gil:
                        pick = self._python_select()
                if pick < 0:
                    break
                self._issue(self.s_kind[pick] == WRITE, pick)
                continue
            mode = self._arbitrate()
            ir = -1
            iw = -1
            if mode == A_OLDEST:
                ir = self._first_available(False)
                iw = self._first_available(True)
                if ir >= 0 and iw >= 0:
                    if self.s_seq[ir] < self.s_seq[iw]:
                        iw = -1
                    else:
                        ir = -1
            elif mode == A_READS_FIRST:
                ir = self._first_available(False)
                if ir < 0:
                    iw = self._first_available(True)
            elif mode == A_WRITES_FIRST:
                iw = self._first_available(True)
                if iw < 0:
                    ir = self._first_available(False)
            elif mode == A_READS_ONLY:
                ir = self._first_available(False)
            elif mode == A_WRITES_ONLY:
                iw = self._first_available(True)
            if ir >= 0:
                self._issue(False, ir)
            elif iw >= 0:
                self._issue(True, iw)
            else:
                break
        return 0

    cdef int _preempt(self) except -1 nogil:
        """Cancel or pause the writes in service at banks a read is queued for (write-cancel,
        write-pause); True if a bank became free now."""
        cdef int b
        cdef int64_t s, done, total, bound, gb
        cdef bint freed = False, draining
        if self.pre_mode == PRE_NONE or self.wb or self.nr == 0:
            return False
        if self.policy_code != K_PYTHON:
            draining = self.draining
        else:
            with gil:
                draining = bool(self.policy.draining)
        if draining:
            return False
        for b in range(self.nbl):
            if self.b_state[b] != DEMAND or self.queued_reads[b] == 0 or self.b_pausing[b]:
                continue
            s = self.b_slot[b]
            if self.s_kind[s] != WRITE:
                continue
            gb = self.bank_base + b
            total = self.b_wtotal[b]
            done = self.b_wdone[b] + self.now - self.b_seg[b]
            if self.pre_mode == PRE_CANCEL:
                if not done < self.cancel_below * total:
                    continue
                self.st_bank[gb * B_NFIELDS + B_WRITE_CANCELLATIONS] += 1
                self.st_bank[gb * B_NFIELDS + B_WRITE_CANCELLED_PS] += done
                self.st_bank[gb * B_NFIELDS + B_BUSY_PS] += done
                self.line_cancel[self.s_line[s]] += <double>done / <double>total
                if self.logging:
                    with gil:
                        self.pre_log.append((gb, self.s_line[s], self.b_seg[b], self.now, "cancelled"))
                self.s_wps[s] = total  # served again in full (an inline refresh it paid included)
                self._occ()
                self._requeue(s, WRITE, b)
                self.nw += 1
                self._queued(b, True, 1)
                self.b_slot[b] = -1
                self._set_state(b, IDLE)
                self.s_bw[s] = self._busy_so_far(b)
                freed = True
            else:
                if self.iteration_ps <= 0:
                    continue
                bound = (done // self.iteration_ps + 1) * self.iteration_ps  # the next iteration boundary
                if bound >= total:
                    continue  # in its last iteration
                self._set_until(b, self.b_seg[b] + bound - self.b_wdone[b])
                self.b_pausing[b] = 1
        return freed

    cdef void _resume(self) noexcept nogil:
        """A paused write resumes once its bank is idle and no read is queued for it."""
        cdef int b
        cdef int64_t s
        if self.n_paused == 0:
            return
        for b in range(self.nbl):
            if self.b_paused[b] < 0 or self.b_state[b] != IDLE or self.queued_reads[b] != 0:
                continue
            s = self.b_paused[b]
            self.b_paused[b] = -1
            self.m_paused &= ~((<uint64_t>1) << (b & 63))
            self.n_paused -= 1
            self._set_state(b, DEMAND)
            self.b_slot[b] = s
            self.b_seg[b] = self.now
            self.b_wtotal[b] = self.s_ptotal[s]
            self.b_wdone[b] = self.s_pdone[s]
            self._set_until(b, self.now + self.b_wtotal[b] - self.b_wdone[b])

    cdef void _start_refreshes(self) noexcept nogil:
        """Every idle bank with a refresh queued, no request queued and no paused write starts the
        refresh at the head of its queue, in bank order."""
        cdef int b
        cdef uint64_t m
        if self.n_refq == 0:
            return
        if self.masks:  # those banks are a mask: visit its bits (starting one changes only that bank)
            m = self.m_idle & self.m_refq & ~(self.m_paused | self.m_qw | self.m_qr)
            while m:
                b = ctz64(m)
                m &= m - 1
                self._start_refresh(b)
            return
        for b in range(self.nbl):
            if (self.b_state[b] != IDLE or self.queued_for_bank[b] != 0 or self.head[b] < 0
                    or self.b_paused[b] >= 0):
                continue
            self._start_refresh(b)

    cdef inline void _start_refresh(self, int b) noexcept nogil:
        cdef int64_t line = self.head[b]
        self._unlink(b, line)
        self.pend_state[line] = P_RUNNING
        self._set_state(b, REFRESH)
        self.b_rline[b] = line
        self.b_rstart[b] = self.now
        self.b_rns[b] = self.pend_ns[line]
        self._set_until(b, self.now + self.pend_ns[line])

    cdef int _late(self) except -1 nogil:
        self._accept()
        self._decide()
        if self._preempt():
            self._decide()
        self._resume()
        self._start_refreshes()
        return 0

    # ------------------------------------------------------------------ driving
    cpdef int run(self, int64_t t_limit, int cond, int64_t k_limit=0):
        """Advance. ``(t_limit, k_limit)``: process every instant before ``t_limit`` and, at
        ``t_limit``, its completions and its first ``k_limit`` late rounds; stop there (an
        arrival comes next). ``cond``: 1 stop once the current burst is accepted, 2 once it
        is completed (0: neither); ``rounds`` then tells after which late round of ``now``
        it happened. Returns STOP_REACHED, STOP_CONDITION or STOP_IDLE (nothing left).

        With a compiled policy and no logging the kernel touches no Python object, and runs
        without the GIL: the models of a run's schemes simulate in parallel threads
        (:class:`archsim.timing.observer.TimingObserver`). A Python policy or the logs keep it."""
        cdef int r
        if self.policy_code != K_PYTHON and not self.logging:
            with nogil:
                r = self._run(t_limit, cond, k_limit)
        else:
            r = self._run(t_limit, cond, k_limit)
        return r

    cdef int _run(self, int64_t t_limit, int cond, int64_t k_limit) except -1 nogil:
        cdef int b, first = 0, n_at
        cdef int64_t t, u
        cdef uint64_t ending, bit
        while True:
            if self.pending_late:
                if self.now >= t_limit and self.rounds >= k_limit:
                    return S_REACHED
                self._late()
                self.rounds += 1
                self.pending_late = False
                if self.zero_due and self._complete_at():  # services of zero length started now
                    self.pending_late = True
                if cond == 1 and self.p_pos == self.p_len:
                    return S_CONDITION
                if cond == 2 and self.burst_done == self.p_len:
                    return S_CONDITION
                continue
            t = INF
            n_at = 0
            ending = 0
            if self.masks:  # the next instant and the set of banks whose service ends then, in one pass
                for b in range(self.nbl):
                    u = self.b_until[b] if self.b_state[b] != IDLE else INF
                    bit = (<uint64_t>1) << b
                    ending = bit if u < t else ending | (bit if u == t else 0)
                    t = u if u < t else t
            else:
                for b in range(self.nbl):
                    if self.b_state[b] != IDLE and self.b_until[b] <= t:
                        if self.b_until[b] < t:
                            t = self.b_until[b]
                            first = b
                            n_at = 1
                        else:
                            n_at += 1
            if t == INF:
                if t_limit != INF and t_limit > self.now:
                    self.now = t_limit
                    self.rounds = 0
                    return S_REACHED
                return S_IDLE
            if t >= t_limit:
                if t_limit > self.now:
                    self.now = t_limit
                    self.rounds = 0
                    if t == t_limit and self._complete_at():
                        self.pending_late = True
                        if self.rounds < k_limit:
                            continue
                return S_REACHED
            self.now = t
            self.rounds = 0
            if self.masks:  # those banks, in bank order (completing one changes no other bank's service)
                while ending:
                    self._complete_bank(ctz64(ending))
                    ending &= ending - 1
                self.pending_late = True
            elif n_at == 1:  # one bank's service ends now (the usual case): no scan
                self._complete_bank(first)
                self.pending_late = True
            elif self._complete_at():
                self.pending_late = True
            if cond == 2 and self.burst_done == self.p_len:
                return S_CONDITION

    def pending_refreshes(self):
        """Lines of each bank's refresh queue, in order (for tests and reports)."""
        out = []
        cdef int b
        cdef int64_t line
        for b in range(self.nbl):
            q = []
            line = self.head[b]
            while line >= 0:
                q.append(line)
                line = self.rq_next[line]
            out.append(q)
        return out


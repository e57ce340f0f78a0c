# cython: language_level=3
"""Lossy-SET (DAP) write and read kernels (private; use :mod:`archsim.pcm.dap`).

State of a line of W float32 words (raw cells, as ``dcw``: no pre-operation):
``cells[line, word]`` the cell values (bit b of the word = cell ``31 - b``),
``lossy[line, word]`` which 1-cells hold a lossy SET,
``deadline[line, word, cell]`` the simulated time (s) at which a cell's last
lossy SET decays, and ``earliest[line, word]`` a lower bound of the deadlines
of the word's lossy 1-cells (``inf`` when it has none), so that a word with
nothing due is never looked at cell by cell.

Per write (t, line), at time ``times[t, line]``:

1. decay: every lossy cell whose deadline is <= the time reads 0 from now on
   (``decayed[t, line]`` counts them; no programming, no wear);
2. data-comparison write against the (decayed) cells: SET the bits going
   0 -> 1, RESET those going 1 -> 0; a SET of a bit in the line's lossy mask
   ``mask[line]`` is a lossy SET (its cell draws a new deadline), any other SET
   is a full SET (the cell stops being lossy). Unchanged 1-cells keep their
   lossy flag and deadline.

``outcome[t, line]`` gets write_set (full + lossy SETs), write_reset; the
refresh fields stay 0 (DAP has no pre-operation or refresh: a decayed cell is
re-programmed by the next write that needs it). ``nlossy[t, line]`` counts the
lossy SETs. Every programmed cell adds one to ``wear[line, word * 32 + cell]``.

Decay times: ``time + retention + scale * (-log1p(-u)) ** inv_shape``
(``law`` 1, Weibull) or ``time + retention`` (``law`` 0), ``u`` from a
SplitMix64 hash of (seed, global line, word, cell, write index), as
:func:`archsim.pcm.dap.decay.uniforms`.

How it is fast (same results as the cell-by-cell definition above, bit for bit):

- Words are handled in 64-bit *lanes* of two words (word 2k in the low half):
  SET/RESET/lossy masks, counts (popcount) and the new state are a few word
  operations per lane.
- Wear: bit-sliced counters as in ``_pcm_kernels`` (6 bit-planes per lane, a
  branchless ripple-carry add of the flip mask per write), moved into byte-lane
  accumulators every ``PERIOD`` writes and drained into ``wear`` every
  ``BYTE_FLUSHES`` periods and at the end of each block of lines.
- Decay times are drawn lazily. A lossy SET only records its lane mask for the
  write (a *generation* of the period) and marks the cells *pending*. A cell's
  draw (hash, logarithm, root) is made once per period, for its last lossy SET
  (the newest generation holding it), at the period's end, or earlier if the
  cell may have decayed. Decay times of cells that are no longer lossy are
  materialised too, so ``deadline`` holds exactly what the cell-by-cell
  definition leaves.
- Decay checks. Every decay time is at least ``time of the SET + retention``
  (rounding is monotone), and write times do not decrease, so at each write the
  pending lossy SETs that may have decayed are those of the generations up to
  ``upto`` (the last write with ``time + retention <= now``). A lossy 1-cell has
  not been programmed since its last lossy SET, so it is pending-due unless a
  later generation (``upto + 1`` .. now) holds it: the OR of that sliding window
  of generations comes from a two-stack queue (suffix ORs plus a running OR; a
  few word operations per lane and write, amortised). Cells drawn earlier in the
  period or in earlier chunks are checked cell by cell only when the time has
  reached their word's ``earliest``.
- Lines are processed in blocks whose scratch stays in cache, each block time
  step by time step; rows are reached through raw pointers.
"""
from libc.stdint cimport uint32_t, uint64_t, int64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy
from libc.math cimport log1p, pow, sqrt, INFINITY

from _bits cimport PLANES, add1, ctz64, planes_to_bytes, popcount64, wear_t
from _outcome cimport O_WR, O_WS

cdef enum:
    PERIOD = 63            # writes between flushes: at most 63 flips per cell
    BYTE_FLUSHES = 4       # plane flushes between drains: 4 x 63 <= 255
    PEND = 14              # offset of the pending mask
    BACK = 15              # offset of the running OR of the generations since the queue's middle
    SLOT = 16              # uint64 per lane
    BLOCK_LANES = 128      # lanes of lines processed together (their scratch stays in cache)

cdef uint64_t GOLDEN = 0x9E3779B97F4A7C15ULL
cdef uint64_t LOW32 = 0xFFFFFFFFULL

cdef inline uint64_t mix(uint64_t z) noexcept nogil:
    z ^= z >> 30
    z *= 0xBF58476D1CE4E5B9ULL
    z ^= z >> 27
    z *= 0x94D049BB133111EBULL
    z ^= z >> 31
    return z


cdef struct Draw:
    # what a line's decay-time draws need
    uint64_t hline         # the hash state after (seed, global line)
    int64_t first_write    # stream index of the chunk's first write
    int law
    double retention, scale, inv_shape


cdef inline void draw_init(Draw* dr, uint64_t seed, int64_t line, int64_t first_write, int law,
                           double retention, double scale, double inv_shape) noexcept nogil:
    dr.hline = mix(mix(seed * GOLDEN + 1) ^ (<uint64_t>line * GOLDEN))
    dr.first_write = first_write
    dr.law = law
    dr.retention = retention
    dr.scale = scale
    dr.inv_shape = inv_shape


cdef double decay_time(const Draw* dr, double now, uint64_t word, uint64_t cell,
                       int64_t t) noexcept nogil:
    """Absolute decay time (s) of ``cell`` of ``word`` lossy-SET by chunk write ``t`` at ``now``."""
    cdef uint64_t h
    cdef double u, d = dr.retention
    if dr.law == 1:
        h = mix(dr.hline ^ (word * GOLDEN + cell))
        h = mix(h ^ (<uint64_t>(dr.first_write + t) * GOLDEN))
        u = <double>(h >> 11) * (1.0 / 9007199254740992.0)
        if dr.inv_shape == 0.5:      # shape 2 (the default): sqrt, exact and fast
            d = dr.retention + dr.scale * sqrt(-log1p(-u))
        elif dr.inv_shape == 1.0:
            d = dr.retention + dr.scale * (-log1p(-u))
        else:
            d = dr.retention + dr.scale * pow(-log1p(-u), dr.inv_shape)
    return now + d


cdef inline uint64_t due_decays(uint64_t bits, const double* dl, double now, double* ep) noexcept nogil:
    """Of the drawn lossy 1-cells ``bits`` of one word (bit b = cell ``31 - b``, decay times
    ``dl``), those decayed at ``now``; sets ``ep[0]`` to the earliest decay time of the rest."""
    cdef uint64_t gone = 0
    cdef int b
    cdef double e = INFINITY, dd
    while bits:
        b = ctz64(bits)
        bits &= bits - 1
        dd = dl[31 - b]
        if dd <= now:
            gone |= (<uint64_t>1) << b
        elif dd < e:
            e = dd
    ep[0] = e
    return gone


cdef inline void drain(uint64_t* slot, wear_t* wear_lane) noexcept nogil:
    """Add one lane's byte-lane accumulators into per-cell wear (lane bit B = cell
    ``32 * (B >> 5) + 31 - (B & 31)`` from the lane's first cell) and clear them."""
    cdef int j, b, bit
    cdef uint64_t a
    for j in range(8):
        a = slot[PLANES + j]
        if a:
            for b in range(8):
                bit = 8 * j + b
                wear_lane[32 * (bit >> 5) + 31 - (bit & 31)] += (a >> (8 * b)) & 0xFF
            slot[PLANES + j] = 0


cdef void materialise(uint64_t* slot, const uint64_t* gen, Py_ssize_t NL, Py_ssize_t last,
                      double* dl_lane, double* e_lane, uint64_t live, Py_ssize_t word0, const Draw* dr,
                      const double* tcol, Py_ssize_t tstride, Py_ssize_t p0) noexcept nogil:
    """Draw the decay time of every pending cell of a lane for its last lossy SET of the period
    (the newest generation ``gen[s * NL]``, s <= ``last``, holding it); those of ``live`` cells
    (lossy 1-cells) lower their word's ``earliest`` (``e_lane[0..1]``)."""
    cdef uint64_t rem = slot[PEND], m
    cdef Py_ssize_t s = last
    cdef int b, hi, cell
    cdef double dd, tset
    while rem and s >= 0:
        m = gen[s * NL] & rem
        if m:
            rem &= ~m
            tset = tcol[(p0 + s) * tstride]
            while m:
                b = ctz64(m)
                m &= m - 1
                hi = b >> 5
                cell = 31 - (b & 31)
                dd = decay_time(dr, tset, <uint64_t>(word0 + hi), <uint64_t>cell, p0 + s)
                dl_lane[32 * hi + cell] = dd
                if (live >> b) & 1 and dd < e_lane[hi]:
                    e_lane[hi] = dd
        s -= 1
    slot[PEND] = 0


cdef uint64_t draw_due(uint64_t x, uint64_t* slot, const uint64_t* gen, Py_ssize_t NL, Py_ssize_t upto,
                       double* dl_lane, double* e_lane, Py_ssize_t word0, const Draw* dr, const double* tcol,
                       Py_ssize_t tstride, Py_ssize_t p0, double now) noexcept nogil:
    """Draw the pending lossy 1-cells ``x`` of a lane whose last lossy SET (generation <= ``upto``)
    may have decayed by ``now``; returns those that have, lowers ``earliest`` for the others."""
    cdef uint64_t gone = 0, bit
    cdef Py_ssize_t s
    cdef int b, hi, cell
    cdef double dd
    while x:
        b = ctz64(x)
        x &= x - 1
        bit = (<uint64_t>1) << b
        s = upto
        while not (gen[s * NL] & bit):
            s -= 1
        hi = b >> 5
        cell = 31 - (b & 31)
        dd = decay_time(dr, tcol[(p0 + s) * tstride], <uint64_t>(word0 + hi), <uint64_t>cell, p0 + s)
        dl_lane[32 * hi + cell] = dd
        slot[PEND] &= ~bit
        if dd <= now:
            gone |= bit
        elif dd < e_lane[hi]:
            e_lane[hi] = dd
    return gone


cdef struct Counts:
    uint32_t ns, nr, nls, nd      # SETs, RESETs, lossy SETs, decays of a line write


cdef inline void lane_step(uint64_t* cp, uint64_t* zp, uint64_t new, uint64_t m64, uint64_t* lane,
                           uint64_t* gen, const uint64_t* front, Py_ssize_t a, Py_ssize_t tt, Py_ssize_t NL,
                           double* erow, double* dl, Py_ssize_t word0, bint two, double now, const Draw* dr,
                           const double* tcol, Py_ssize_t tstride, Py_ssize_t p0, Counts* cnt) noexcept nogil:
    """One write of one lane (cells ``cp``, lossy flags ``zp``, data ``new``; ``two``: both
    halves hold a word): decay, then the data-comparison write. ``gen[s * NL]``: the lane's
    generations; ``front``: the queue's suffix OR from generation ``a`` (NULL if empty)."""
    cdef uint64_t c = cp[0], lz = zp[0], gone = 0, x, sm, r, ls, pend = lane[PEND]
    # 1. decay: drawn lossy cells (bounded by earliest) ...
    if now >= erow[0]:
        gone = due_decays(c & lz & ~pend & LOW32, dl, now, erow)
    if two and now >= erow[1]:
        gone |= due_decays((c & lz & ~pend) >> 32, dl + 32, now, erow + 1) << 32
    # ... and pending lossy 1-cells not lossy-SET again after generation a - 1
    x = c & lz & pend
    if x and a > 0:
        if front != NULL:
            x &= ~(front[0] | lane[BACK])
        else:
            x &= ~lane[BACK]
        if x:
            gone |= draw_due(x, lane, gen, NL, a - 1, dl, erow, word0, dr, tcol, tstride, p0, now)
            pend = lane[PEND]
    if gone:
        c &= ~gone
        lz &= ~gone
        cnt.nd += popcount64(gone)
    # 2. the data-comparison write
    sm = new & ~c
    r = c & ~new
    ls = sm & m64
    cnt.ns += popcount64(sm)
    cnt.nr += popcount64(r)
    cnt.nls += popcount64(ls)
    cp[0] = new
    zp[0] = (lz & new & ~sm) | ls
    add1(lane, sm | r)
    gen[tt * NL] = ls
    lane[BACK] |= ls
    lane[PEND] = pend | ls


def dap_chunk(const uint32_t[:, :, ::1] writes, uint32_t[:, ::1] cells, uint32_t[:, ::1] lossy,
              double[:, :, ::1] deadline, double[:, ::1] earliest, wear_t[:, ::1] wear,
              uint32_t[:, :, ::1] outcome, uint32_t[:, :, ::1] stored, bint want_stored,
              const uint32_t[::1] mask, const double[:, ::1] times, int64_t first_write,
              int64_t line_offset, uint64_t seed, int law, double retention, double scale,
              double inv_shape, uint32_t[:, ::1] nlossy, uint32_t[:, ::1] decayed):
    """Replay ``writes`` (T, lines, words) against the state; see the module docstring.
    ``times`` (T, lines) must not decrease along T."""
    cdef Py_ssize_t T = writes.shape[0], L = writes.shape[1], W = writes.shape[2]
    cdef Py_ssize_t NL = (W + 1) // 2, FULL = W // 2
    cdef Py_ssize_t LB = max(1, BLOCK_LANES // max(1, NL))
    cdef Py_ssize_t t, l, k, l0, nl, p0, i, tt, s, a
    cdef int since, flushes
    cdef uint64_t m64, c, lz, new, acc
    cdef Counts cnt
    cdef const uint64_t* front
    cdef double now
    cdef const uint32_t* wrow
    cdef uint32_t* crow
    cdef uint32_t* zrow
    cdef double* erow
    cdef double* drow
    cdef const double* tcol
    cdef uint64_t* lane
    cdef uint64_t* lslots
    cdef uint64_t* lgen
    cdef uint64_t* lsuf
    cdef uint64_t* slots
    cdef uint64_t* gen
    cdef uint64_t* suf
    cdef Draw* draws
    cdef Py_ssize_t* upto
    cdef Py_ssize_t* mid
    if T == 0 or L == 0 or W == 0:
        return
    # per line of the block: lane slots; generations gen[s][lane] (lossy-SET masks of write s of
    # the period); suffix ORs suf[s][lane] of the queue's front; upto and the queue's middle
    slots = <uint64_t*> calloc(LB * NL * SLOT, sizeof(uint64_t))
    gen = <uint64_t*> calloc(LB * PERIOD * NL, sizeof(uint64_t))
    suf = <uint64_t*> calloc(LB * PERIOD * NL, sizeof(uint64_t))
    draws = <Draw*> calloc(LB, sizeof(Draw))
    upto = <Py_ssize_t*> calloc(LB, sizeof(Py_ssize_t))
    mid = <Py_ssize_t*> calloc(LB, sizeof(Py_ssize_t))
    try:
        if slots == NULL or gen == NULL or suf == NULL or draws == NULL or upto == NULL or mid == NULL:
            raise MemoryError()
        with nogil:
            l0 = 0
            while l0 < L:
                nl = min(LB, L - l0)
                for i in range(nl):
                    draw_init(&draws[i], seed, line_offset + l0 + i, first_write, law, retention, scale,
                              inv_shape)
                    upto[i] = -1
                    mid[i] = 0
                p0 = 0
                since = 0
                flushes = 0
                for t in range(T):
                    tt = t - p0
                    for l in range(l0, l0 + nl):
                        i = l - l0
                        now = times[t, l]
                        tcol = &times[0, l]
                        lslots = slots + i * NL * SLOT
                        lgen = gen + i * PERIOD * NL
                        lsuf = suf + i * PERIOD * NL
                        # generations <= upto: lossy SETs that may have decayed by now (times ascend)
                        while upto[i] + 1 < tt and tcol[(p0 + upto[i] + 1) * L] + retention <= now:
                            upto[i] += 1
                        a = upto[i] + 1
                        if a >= mid[i]:
                            # the queue's front [a, mid) is empty: rebuild it from [a, tt)
                            for k in range(NL):
                                acc = 0
                                for s in range(tt - 1, a - 1, -1):
                                    acc |= lgen[s * NL + k]
                                    lsuf[s * NL + k] = acc
                                lslots[k * SLOT + BACK] = 0
                            mid[i] = tt
                        m64 = <uint64_t>mask[l] | (<uint64_t>mask[l] << 32)
                        wrow = &writes[t, l, 0]
                        crow = &cells[l, 0]
                        zrow = &lossy[l, 0]
                        erow = &earliest[l, 0]
                        drow = &deadline[l, 0, 0]
                        cnt.ns = 0; cnt.nr = 0; cnt.nls = 0; cnt.nd = 0
                        if a > 0 and a < mid[i]:
                            front = lsuf + a * NL
                        else:
                            front = NULL
                        for k in range(FULL):
                            memcpy(&c, &crow[2 * k], 8)
                            memcpy(&lz, &zrow[2 * k], 8)
                            memcpy(&new, &wrow[2 * k], 8)
                            lane_step(&c, &lz, new, m64, lslots + k * SLOT, lgen + k, front + k if front else NULL,
                                      a, tt, NL, erow + 2 * k, drow + 64 * k, 2 * k, True, now, &draws[i], tcol,
                                      L, p0, &cnt)
                            memcpy(&crow[2 * k], &c, 8)
                            memcpy(&zrow[2 * k], &lz, 8)
                        if FULL < NL:   # odd words: the last lane holds one word
                            k = FULL
                            c = crow[2 * k]
                            lz = zrow[2 * k]
                            new = wrow[2 * k]
                            lane_step(&c, &lz, new, m64, lslots + k * SLOT, lgen + k, front + k if front else NULL,
                                      a, tt, NL, erow + 2 * k, drow + 64 * k, 2 * k, False, now, &draws[i], tcol,
                                      L, p0, &cnt)
                            crow[2 * k] = <uint32_t>c
                            zrow[2 * k] = <uint32_t>lz
                        if want_stored:
                            memcpy(&stored[t, l, 0], wrow, W * sizeof(uint32_t))
                        outcome[t, l, O_WS] = cnt.ns
                        outcome[t, l, O_WR] = cnt.nr
                        nlossy[t, l] = cnt.nls
                        decayed[t, l] = cnt.nd
                    since += 1
                    if since == PERIOD or t == T - 1:
                        # end of a period: draw the pending decay times, fold the wear planes
                        flushes += 1
                        for l in range(l0, l0 + nl):
                            i = l - l0
                            crow = &cells[l, 0]
                            zrow = &lossy[l, 0]
                            lslots = slots + i * NL * SLOT
                            lgen = gen + i * PERIOD * NL
                            for k in range(NL):
                                lane = lslots + k * SLOT
                                if lane[PEND]:
                                    if k < FULL:
                                        memcpy(&c, &crow[2 * k], 8)
                                        memcpy(&lz, &zrow[2 * k], 8)
                                    else:
                                        c = crow[2 * k]
                                        lz = zrow[2 * k]
                                    materialise(lane, lgen + k, NL, tt, &deadline[l, 2 * k, 0], &earliest[l, 2 * k],
                                                c & lz, 2 * k, &draws[i], &times[0, l], L, p0)
                                lane[BACK] = 0
                                planes_to_bytes(lane, 8)
                                if flushes == BYTE_FLUSHES or t == T - 1:
                                    drain(lane, &wear[l, 64 * k])
                            upto[i] = -1
                            mid[i] = 0
                        if flushes == BYTE_FLUSHES:
                            flushes = 0
                        since = 0
                        p0 = t + 1
                l0 += nl
    finally:
        free(slots)
        free(gen)
        free(suf)
        free(draws)
        free(upto)
        free(mid)


def dap_read(uint32_t[:, ::1] cells, uint32_t[:, ::1] lossy, double[:, :, ::1] deadline,
             double[:, ::1] earliest, const double[::1] times, uint32_t[:, ::1] out):
    """Decay every line to ``times[line]`` and copy its cells to ``out``; returns the cells decayed."""
    cdef Py_ssize_t L = cells.shape[0], W = cells.shape[1]
    cdef Py_ssize_t l, w
    cdef uint64_t total = 0, gone
    cdef uint32_t c, lz
    with nogil:
        for l in range(L):
            for w in range(W):
                c = cells[l, w]
                if times[l] >= earliest[l, w]:
                    lz = lossy[l, w]
                    gone = due_decays(c & lz, &deadline[l, w, 0], times[l], &earliest[l, w])
                    c &= ~<uint32_t>gone
                    cells[l, w] = c
                    lossy[l, w] = lz & ~<uint32_t>gone
                    total += popcount64(gone)
                out[l, w] = c
    return total


def write_classes(const uint32_t[:, :, ::1] outcome, const uint32_t[:, ::1] nlossy, int64_t[::1] keys,
                  int64_t[::1] counts):
    """Count the chunk's programming line writes by class ``full << 40 | lossy << 20 | reset``
    (full SETs = write_set - lossy SETs): fills ``keys`` / ``counts`` (room for T * lines) in
    order of first appearance and returns how many classes there are. Silent writes (class 0)
    are left out. A hash table, so the cost is linear in the writes."""
    cdef Py_ssize_t T = outcome.shape[0], L = outcome.shape[1], t, l
    cdef Py_ssize_t size = 16, n = 0
    cdef uint64_t hmask, h
    cdef int64_t key, lo
    cdef int64_t* tkeys
    cdef Py_ssize_t* tidx
    while size < 2 * T * L:
        size *= 2
    hmask = <uint64_t>(size - 1)
    tkeys = <int64_t*> calloc(size, sizeof(int64_t))
    tidx = <Py_ssize_t*> calloc(size, sizeof(Py_ssize_t))
    try:
        if tkeys == NULL or tidx == NULL:
            raise MemoryError()
        with nogil:
            for t in range(T):
                for l in range(L):
                    lo = nlossy[t, l]
                    key = ((<int64_t>outcome[t, l, O_WS] - lo) << 40) | (lo << 20) | <int64_t>outcome[t, l, O_WR]
                    if key == 0:
                        continue
                    h = mix(<uint64_t>key) & hmask
                    while tkeys[h] != 0 and tkeys[h] != key:
                        h = (h + 1) & hmask
                    if tkeys[h] == 0:
                        tkeys[h] = key
                        tidx[h] = n
                        keys[n] = key
                        counts[n] = 0
                        n += 1
                    counts[tidx[h]] += 1
    finally:
        free(tkeys)
        free(tidx)
    return n

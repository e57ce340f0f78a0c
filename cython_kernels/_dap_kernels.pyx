# cython: language_level=3
"""Lossy-SET (DAP) write and read kernels (private; use :mod:`archsim.dap`).

State of a line of W float32 words (raw cells, as ``dcw``: no pre-operation):
``cells[line, word]`` the cell values (bit b of the word = cell ``31 - b``),
``lossy[line, word]`` which 1-cells hold a lossy SET, and
``deadline[line, word, cell]`` the simulated time (s) at which a lossy cell decays.

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
:func:`archsim.dap.decay.uniforms`.
"""
from libc.stdint cimport uint32_t, uint64_t, int64_t
from libc.math cimport log1p, pow, sqrt

cdef extern from *:
    """
    static inline int dap_popcount32(unsigned int x) { return __builtin_popcount(x); }
    static inline int dap_ctz32(unsigned int x) { return __builtin_ctz(x); }
    """
    int popcount32 "dap_popcount32"(unsigned int x) nogil
    int ctz32 "dap_ctz32"(unsigned int x) nogil

cdef uint64_t GOLDEN = 0x9E3779B97F4A7C15ULL


cdef inline uint64_t mix(uint64_t z) noexcept nogil:
    z ^= z >> 30
    z *= 0xBF58476D1CE4E5B9ULL
    z ^= z >> 27
    z *= 0x94D049BB133111EBULL
    z ^= z >> 31
    return z


cdef inline double uniform(uint64_t hseed, uint64_t line, uint64_t word, uint64_t cell,
                           uint64_t write) noexcept nogil:
    cdef uint64_t h = mix(hseed ^ (line * GOLDEN))
    h = mix(h ^ (word * GOLDEN + cell))
    h = mix(h ^ (write * GOLDEN))
    return <double>(h >> 11) * (1.0 / 9007199254740992.0)


cdef inline uint32_t decay_word(uint32_t *c, uint32_t *lz, double *dl, double now) noexcept nogil:
    """Clear the lossy cells of one word whose deadline has passed; returns how many."""
    cdef uint32_t pending = c[0] & lz[0]
    cdef uint32_t gone = 0
    cdef int b
    while pending:
        b = ctz32(pending)
        pending &= pending - 1
        if dl[31 - b] <= now:
            gone |= (<uint32_t>1) << b
    c[0] &= ~gone
    lz[0] &= ~gone
    return <uint32_t>popcount32(gone)


def dap_chunk(const uint32_t[:, :, ::1] writes, uint32_t[:, ::1] cells, uint32_t[:, ::1] lossy,
              double[:, :, ::1] deadline, uint64_t[:, ::1] wear, uint32_t[:, :, ::1] outcome,
              uint32_t[:, :, ::1] stored, bint want_stored, const uint32_t[::1] mask,
              const double[:, ::1] times, int64_t first_write, int64_t line_offset, uint64_t seed,
              int law, double retention, double scale, double inv_shape,
              uint32_t[:, ::1] nlossy, uint32_t[:, ::1] decayed):
    cdef Py_ssize_t T = writes.shape[0], L = writes.shape[1], W = writes.shape[2]
    cdef Py_ssize_t t, l, w
    cdef uint32_t c, lz, new, s, r, ls, m, bits
    cdef uint32_t ns, nr, nl, nd
    cdef int b, cell
    cdef double now, u, d
    cdef uint64_t hseed = mix(seed * GOLDEN + 1)
    with nogil:
        for l in range(L):
            m = mask[l]
            for t in range(T):
                now = times[t, l]
                ns = 0
                nr = 0
                nl = 0
                nd = 0
                for w in range(W):
                    c = cells[l, w]
                    lz = lossy[l, w]
                    if c & lz:
                        nd += decay_word(&c, &lz, &deadline[l, w, 0], now)
                    new = writes[t, l, w]
                    s = new & ~c
                    r = c & ~new
                    if s | r:
                        ls = s & m
                        bits = s | r
                        while bits:
                            b = ctz32(bits)
                            bits &= bits - 1
                            wear[l, w * 32 + 31 - b] += 1
                        bits = ls
                        while bits:
                            b = ctz32(bits)
                            bits &= bits - 1
                            cell = 31 - b
                            d = retention
                            if law == 1:
                                u = uniform(hseed, <uint64_t>(line_offset + l), <uint64_t>w, <uint64_t>cell,
                                            <uint64_t>(first_write + t))
                                if inv_shape == 0.5:      # shape 2 (the default): sqrt, exact and fast
                                    d = retention + scale * sqrt(-log1p(-u))
                                elif inv_shape == 1.0:
                                    d = retention + scale * (-log1p(-u))
                                else:
                                    d = retention + scale * pow(-log1p(-u), inv_shape)
                            deadline[l, w, cell] = now + d
                        ns += popcount32(s)
                        nr += popcount32(r)
                        nl += popcount32(ls)
                        lz = (lz & new & ~s) | ls
                        c = new
                    cells[l, w] = c
                    lossy[l, w] = lz
                    if want_stored:
                        stored[t, l, w] = new
                outcome[t, l, 0] = ns
                outcome[t, l, 1] = nr
                nlossy[t, l] = nl
                decayed[t, l] = nd


def dap_read(uint32_t[:, ::1] cells, uint32_t[:, ::1] lossy, double[:, :, ::1] deadline,
             const double[::1] times, uint32_t[:, ::1] out):
    """Decay every line to ``times[line]`` and copy its cells to ``out``; returns the cells decayed."""
    cdef Py_ssize_t L = cells.shape[0], W = cells.shape[1]
    cdef Py_ssize_t l, w
    cdef uint32_t c, lz
    cdef uint64_t total = 0
    with nogil:
        for l in range(L):
            for w in range(W):
                c = cells[l, w]
                lz = lossy[l, w]
                if c & lz:
                    total += decay_word(&c, &lz, &deadline[l, w, 0], times[l])
                    cells[l, w] = c
                    lossy[l, w] = lz
                out[l, w] = c
    return total

# cython: language_level=3
"""Skyrmion racetrack kernels (private; use :mod:`archsim.racetrack`).

Two replays share one port model and one set of segment write schemes:

* :func:`trace_chunk` replays T writes of L lines of ``n_items`` data items (a chunk of an NN
  trace); item k of line l is the global item ``(line_offset + l) * n_items + k``, which sits at
  track ``g // D``, index ``g % D``.
* :func:`request_replay` replays a request file (arrays of op, track, index, value).

Port model (racetrack.md; see docs/racetrack.md). An item access *walks* ``walk`` consecutive
positions past one port (serial layout: all segments, ``S * N`` positions; spread layout: the S
segments lie on S parallel tracks that shift together, so the walk is one segment, ``N``
positions). ``off[cluster]`` is the cluster's alignment: data position ``x`` sits under port r when
``off == x - q_r``, with ``q_r = (r * region + home) * walk`` the port's home position. An access
picks the port (static: the item's region; dynamic: the cheapest) and the walk direction (start
from the end of the item nearer to the current alignment); shifts = distance to that end +
``walk - 1``; the eager policy then shifts home (``|off|`` more). Every shift step is one cluster
shift.

Segment schemes (new segment ``n`` over stored positions ``o``; counts per segment):

    mode  name     positions   detects  insertions / removals
    0     naive    w           0        popcount(n) / w
    1     dcw      w           w        n & ~o / o & ~n
    2     fnw      w + 1       w + 1    as dcw on (n or ~n, flag), fewer differing positions
    3     pw       w           w        max(0, pc(n) - pc(o)) / max(0, pc(o) - pc(n))
    4     pw+fnw   w + 1       w + 1    as pw on the polarity whose popcount is nearer pc(o)
    5     m-of-n   N           N        as pw on the N-bit codeword with M ones (0 after formatting)

State per item: ``S * spw`` uint64 (``spw`` = 2 when a segment needs more than 64 positions: the
fnw flag of a 64-bit segment, or the 68-position m-of-n codeword); word 0 holds positions 0..63,
word 1 positions 64.. . Outcome per access: insertions, removals, detects, shifts and the *path*
counts (the operations on the critical path: in the serial layout everything; in the spread layout
the shifts and the slowest segment's port operations, segments working in parallel).
"""
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcpy
from libc.math cimport fabs

cdef extern from *:
    """
    static inline int archsim_rt_popcount64(unsigned long long x) { return __builtin_popcountll(x); }
    """
    int pc64 "archsim_rt_popcount64"(unsigned long long x) nogil

ctypedef fused item_t:
    uint32_t
    uint64_t

cdef enum:
    NAIVE = 0
    DCW = 1
    FNW = 2
    PW = 3
    PWFNW = 4
    MOFN = 5

cdef enum:                 # outcome fields
    F_INS = 0
    F_REM = 1
    F_DET = 2
    F_SHIFT = 3
    F_PINS = 4
    F_PREM = 5
    F_PDET = 6
    NFIELDS = 7

cdef enum:
    MAXN = 70

cdef uint64_t ALL_ONES = ~(<uint64_t>0)
cdef uint32_t SIGN_EXP = 0xFF800000u

cdef struct Geo:
    int64_t D            # items per track
    int64_t tpc          # tracks per cluster
    int64_t walk         # positions walked per access
    int64_t nports
    int64_t region       # items per port region
    int64_t home         # the port's item within its region at the home alignment
    int eager
    int dynamic
    int spread

cdef struct Scheme:
    int mode
    int w                # segment bits
    int S                # segments per item
    int spw              # state words per segment
    int N                # positions per segment
    int M                # ones per codeword (m-of-n)
    uint64_t mask        # low w bits
    double t_read, t_rem, t_ins

cdef struct Counts:
    int64_t ins, rem, det


cdef inline int64_t iabs(int64_t x) noexcept nogil:
    return x if x >= 0 else -x


cdef inline int64_t port_access(const Geo* g, int64_t* off, int64_t index, int64_t region_port) noexcept nogil:
    """Shift steps of one access of item ``index`` (in port region ``region_port``) from alignment
    ``off[0]``; updates ``off[0]``."""
    cdef int64_t a = index * g.walk
    cdef int64_t b = a + g.walk - 1
    cdef int64_t cur = off[0]
    cdef int64_t r, r0, r1, q, d1, d2, cost, best = -1, fin = 0, f
    if g.dynamic:
        r0 = 0
        r1 = g.nports
    else:
        r0 = region_port
        r1 = r0 + 1
    for r in range(r0, r1):
        q = (r * g.region + g.home) * g.walk
        d1 = iabs(a - q - cur)
        d2 = iabs(b - q - cur)
        if d1 <= d2:
            cost = d1
            f = b - q
        else:
            cost = d2
            f = a - q
        if best < 0 or cost < best:
            best = cost
            fin = f
    best += g.walk - 1
    if g.eager:
        best += iabs(fin)
        fin = 0
    off[0] = fin
    return best


# --------------------------------------------------------------------------- m-of-n code

cdef uint64_t BINOM[MAXN][MAXN]       # BINOM[n][k] = C(n, k); every entry used fits in 64 bits
cdef uint64_t BINOMP[MAXN][MAXN + 1]  # BINOMP[n][k + 1] = C(n, k), BINOMP[n][0] = 0
cdef int _n, _k
for _n in range(MAXN):
    for _k in range(MAXN):
        BINOM[_n][_k] = 0
    BINOM[_n][0] = 1
    for _k in range(1, _n + 1):
        BINOM[_n][_k] = BINOM[_n - 1][_k - 1] + (BINOM[_n - 1][_k] if _k < _n else 0)
for _n in range(MAXN):
    BINOMP[_n][0] = 0
    for _k in range(MAXN):
        BINOMP[_n][_k + 1] = BINOM[_n][_k]


cdef inline void mofn_encode(uint64_t x, int N, int M, uint64_t* lo, uint64_t* hi) noexcept nogil:
    """Codeword of ``x`` (< C(N, M)): the combinatorial number system, positions N-1 down to 0.

    Position i holds a one when x >= C(i, m) (m = ones still to place); then x -= C(i, m). The
    invariant x < C(i + 1, m) makes exactly M positions one (C(i, m) = 0 for m > i forces the last
    ones; C(i, 0) = 1 > x = 0 stops after M), and distinct x give distinct codewords. Branchless:
    the comparison is data-dependent and would mispredict half the time.
    """
    # the next position's C(i-1, m) and C(i-1, m-1) are loaded before this position's decision is
    # known and selected after it by masking, so the table load leaves the chain of dependent
    # operations (BINOMP[i][m + 1] = C(i, m), column 0 = C(i, -1) = 0)
    cdef uint64_t l = 0, h = 0, c, a, b, take, sel
    cdef int i, m = M
    c = BINOMP[N - 1][M + 1]
    for i in range(N - 1, 63, -1):
        a = BINOMP[i - 1][m + 1]
        b = BINOMP[i - 1][m]
        take = <uint64_t>(x >= c)
        sel = 0 - take
        x -= c & sel
        m -= <int>take
        c = a ^ ((a ^ b) & sel)
        h |= take << (i - 64)
    for i in range(min(N - 1, 63), 0, -1):
        a = BINOMP[i - 1][m + 1]
        b = BINOMP[i - 1][m]
        take = <uint64_t>(x >= c)
        sel = 0 - take
        x -= c & sel
        m -= <int>take
        c = a ^ ((a ^ b) & sel)
        l |= take << i
    l |= <uint64_t>(x >= c)        # position 0
    lo[0] = l
    hi[0] = h


cdef inline uint64_t mofn_decode(uint64_t lo, uint64_t hi, int N, int M) noexcept nogil:
    """Value of a codeword: sum of C(i, m) over its ones, m counting down from M."""
    cdef uint64_t x = 0
    cdef int i, m = M
    for i in range(N - 1, -1, -1):
        if i >= 64:
            if (hi >> (i - 64)) & 1:
                x += BINOM[i][m]
                m -= 1
        elif (lo >> i) & 1:
            x += BINOM[i][m]
            m -= 1
    return x


def mofn_encode_array(const uint64_t[::1] values, int N, int M, uint64_t[::1] lo, uint64_t[::1] hi):
    """Codewords of ``values`` (each < C(N, M)): positions 0..63 in ``lo``, 64.. in ``hi``."""
    cdef Py_ssize_t i
    if N >= MAXN or M > N:
        raise ValueError("unsupported m-of-n code")
    with nogil:
        for i in range(values.shape[0]):
            mofn_encode(values[i], N, M, &lo[i], &hi[i])


def mofn_decode_array(const uint64_t[::1] lo, const uint64_t[::1] hi, int N, int M, uint64_t[::1] out):
    """Values of codewords (inverse of :func:`mofn_encode_array`)."""
    cdef Py_ssize_t i
    if N >= MAXN or M > N:
        raise ValueError("unsupported m-of-n code")
    with nogil:
        for i in range(lo.shape[0]):
            out[i] = mofn_decode(lo[i], hi[i], N, M)


# --------------------------------------------------------------------------- segment writes

cdef inline void write_segment(const Scheme* s, uint64_t n, uint64_t* st, Counts* c) noexcept nogil:
    """Write segment value ``n`` over the stored positions ``st[0..spw)``; add the counts to ``c``."""
    cdef uint64_t o, o1, d, lo, hi, flag, oflag
    cdef int pn, po, dA, dB
    cdef int w = s.w
    if s.mode == NAIVE:
        c.ins += pc64(n)
        c.rem += w
        st[0] = n
    elif s.mode == DCW:
        o = st[0]
        c.ins += pc64(n & ~o)
        c.rem += pc64(o & ~n)
        c.det += w
        st[0] = n
    elif s.mode == PW:
        pn = pc64(n) - pc64(st[0])
        c.ins += pn if pn > 0 else 0
        c.rem += -pn if pn < 0 else 0
        c.det += w
        st[0] = n
    elif s.mode == FNW or s.mode == PWFNW:
        if w == 64:
            o = st[0]
            oflag = st[1] & 1
        else:
            o = st[0] & s.mask
            oflag = (st[0] >> w) & 1
        if s.mode == FNW:
            dA = pc64(n ^ o) + <int>oflag
            dB = w + 1 - dA                     # ~n differs exactly where n does not
            flag = <uint64_t>(dA > dB)
        else:
            po = pc64(o) + <int>oflag
            dA = pc64(n) - po
            dB = w - pc64(n) + 1 - po
            flag = <uint64_t>((dA if dA >= 0 else -dA) > (dB if dB >= 0 else -dB))
        d = (n ^ (s.mask & (0 - flag)))
        if s.mode == FNW:
            c.ins += pc64(d & ~o) + <int>(flag & ~oflag & 1)
            c.rem += pc64(o & ~d) + <int>(oflag & ~flag & 1)
        else:
            pn = pc64(d) + <int>flag - pc64(o) - <int>oflag
            c.ins += pn if pn > 0 else 0
            c.rem += -pn if pn < 0 else 0
        c.det += w + 1
        if w == 64:
            st[0] = d
            st[1] = flag
        else:
            st[0] = d | (flag << w)
    else:  # MOFN
        mofn_encode(n, s.N, s.M, &lo, &hi)
        po = pc64(st[0])
        if s.spw == 2:
            po += pc64(st[1])
        pn = s.M - po
        c.ins += pn if pn > 0 else 0
        c.rem += -pn if pn < 0 else 0
        c.det += s.N
        st[0] = lo
        if s.spw == 2:
            st[1] = hi


cdef inline uint64_t read_segment(const Scheme* s, const uint64_t* st) noexcept nogil:
    """The data value a read of the segment returns."""
    cdef uint64_t flag
    if s.mode == FNW or s.mode == PWFNW:
        if s.w == 64:
            flag = st[1] & 1
            return (~st[0]) if flag else st[0]
        flag = (st[0] >> s.w) & 1
        return ((~st[0]) & s.mask) if flag else (st[0] & s.mask)
    if s.mode == MOFN:
        return mofn_decode(st[0], st[1] if s.spw == 2 else 0, s.N, s.M)
    return st[0]


cdef inline double port_time(const Scheme* s, const Counts* c) noexcept nogil:
    return c.det * s.t_read + c.rem * s.t_rem + c.ins * s.t_ins


cdef inline void write_item(const Scheme* s, int spread, uint64_t v, uint64_t* st, int64_t* acc) noexcept nogil:
    """Write all segments of one item; add totals and path counts to ``acc[F_INS..F_PDET]``."""
    cdef Counts tot, seg, worst
    cdef int k
    cdef double t, tw = -1.0
    tot.ins = 0; tot.rem = 0; tot.det = 0
    worst.ins = 0; worst.rem = 0; worst.det = 0
    for k in range(s.S):
        seg.ins = 0; seg.rem = 0; seg.det = 0
        write_segment(s, (v >> (k * s.w)) & s.mask, st + k * s.spw, &seg)
        tot.ins += seg.ins; tot.rem += seg.rem; tot.det += seg.det
        if spread:
            t = port_time(s, &seg)
            if t > tw:
                tw = t
                worst = seg
    acc[F_INS] += tot.ins
    acc[F_REM] += tot.rem
    acc[F_DET] += tot.det
    if spread:
        acc[F_PINS] += worst.ins
        acc[F_PREM] += worst.rem
        acc[F_PDET] += worst.det
    else:
        acc[F_PINS] += tot.ins
        acc[F_PREM] += tot.rem
        acc[F_PDET] += tot.det


cdef inline uint64_t read_item(const Scheme* s, const uint64_t* st) noexcept nogil:
    cdef uint64_t v = 0
    cdef int k
    for k in range(s.S):
        v |= read_segment(s, st + k * s.spw) << (k * s.w)
    return v


cdef int make_structs(Geo* g, Scheme* s, dict geo, dict scheme) except -1:
    g.D = geo["data_per_track"]
    g.tpc = geo["tracks_per_cluster"]
    g.walk = geo["walk"]
    g.nports = geo["ports"]
    g.region = geo["region"]
    g.home = geo["home"]
    g.eager = geo["eager"]
    g.dynamic = geo["dynamic"]
    g.spread = geo["spread"]
    s.mode = scheme["mode"]
    s.w = scheme["w"]
    s.S = scheme["S"]
    s.spw = scheme["spw"]
    s.N = scheme["N"]
    s.M = scheme["M"]
    s.mask = ALL_ONES if s.w == 64 else (((<uint64_t>1) << s.w) - 1)
    s.t_read = scheme["t_read"]
    s.t_rem = scheme["t_rem"]
    s.t_ins = scheme["t_ins"]
    if s.mode < 0 or s.mode > MOFN or s.N >= MAXN or g.walk <= 0 or g.region <= 0 or g.D <= 0 or g.tpc <= 0:
        raise ValueError("bad racetrack kernel parameters")
    return 0


def trace_chunk(const item_t[:, :, ::1] items, uint64_t[:, ::1] state, int64_t[::1] offsets,
                uint32_t[:, :, ::1] outcome, item_t[:, :, ::1] stored, bint want_stored,
                int64_t line_offset, int64_t cluster0, dict geo, dict scheme, int64_t[::1] totals):
    """Replay a chunk ``items[t, line, k]`` (T, L, n_items); fill ``outcome[t, line, 0:7]`` and add
    the chunk's sums of the seven fields to ``totals``.

    ``state``: (L * n_items, S * spw); ``offsets``: alignment of clusters ``cluster0 ..``.
    """
    cdef Geo g
    cdef Scheme s
    cdef Py_ssize_t T = items.shape[0], L = items.shape[1], K = items.shape[2]
    cdef Py_ssize_t t, l, k
    cdef int64_t track, index
    cdef int64_t acc[NFIELDS]
    cdef int f
    cdef uint64_t* st
    make_structs(&g, &s, geo, scheme)
    if state.shape[0] != L * K or state.shape[1] != s.S * s.spw:
        raise ValueError("state does not match the chunk")
    if outcome.shape[0] != T or outcome.shape[1] != L or outcome.shape[2] < NFIELDS:
        raise ValueError("outcome does not match the chunk")
    cdef int64_t g0 = line_offset * K
    cdef int64_t tot[NFIELDS]
    if totals.shape[0] < NFIELDS:
        raise ValueError("totals needs 7 fields")
    for f in range(NFIELDS):
        tot[f] = 0
    cdef int64_t track0 = g0 // g.D, index0 = g0 - (g0 // g.D) * g.D
    cdef int64_t region_port, in_region, cluster, in_cluster
    with nogil:
        for t in range(T):
            # the items of the chunk are consecutive: walk (track, index, port region, cluster) along
            track = track0
            index = index0
            region_port = index // g.region
            in_region = index - region_port * g.region
            cluster = track // g.tpc - cluster0
            in_cluster = track - (track // g.tpc) * g.tpc
            for l in range(L):
                for f in range(NFIELDS):
                    acc[f] = 0
                for k in range(K):
                    acc[F_SHIFT] += port_access(&g, &offsets[cluster], index, region_port)
                    st = &state[l * K + k, 0]
                    write_item(&s, g.spread, <uint64_t>items[t, l, k], st, acc)
                    if want_stored:
                        stored[t, l, k] = <item_t>read_item(&s, st)
                    index += 1
                    in_region += 1
                    if in_region == g.region:
                        in_region = 0
                        region_port += 1
                    if index == g.D:
                        index = 0
                        region_port = 0
                        in_region = 0
                        in_cluster += 1
                        if in_cluster == g.tpc:
                            in_cluster = 0
                            cluster += 1
                for f in range(NFIELDS):
                    outcome[t, l, f] = <uint32_t>acc[f]
                    tot[f] += acc[f]
    for f in range(NFIELDS):
        totals[f] += tot[f]


def request_replay(const uint8_t[::1] op, const int64_t[::1] track, const int64_t[::1] index,
                   const uint64_t[::1] value, uint64_t[:, ::1] state, int64_t[::1] offsets,
                   int64_t[::1] totals, uint64_t[::1] read_values, dict geo, dict scheme):
    """Replay requests (op 0 = write ``value``, 1 = read) over ``state`` (tracks * D, S * spw).

    ``totals`` gets: insertions, removals, detects, shifts, path insertions, path removals, path
    detects, writes, reads. ``read_values[i]`` = what read i returned (0 for writes).
    """
    cdef Geo g
    cdef Scheme s
    cdef Py_ssize_t i, n = op.shape[0]
    cdef int64_t item
    cdef int64_t acc[NFIELDS]
    cdef int f, k
    cdef uint64_t* st
    make_structs(&g, &s, geo, scheme)
    for f in range(NFIELDS):
        acc[f] = 0
    cdef int64_t writes = 0, reads = 0, det
    with nogil:
        for i in range(n):
            item = track[i] * g.D + index[i]
            acc[F_SHIFT] += port_access(&g, &offsets[track[i] // g.tpc], index[i], index[i] // g.region)
            st = &state[item, 0]
            if op[i] == 0:
                write_item(&s, g.spread, value[i], st, acc)
                read_values[i] = 0
                writes += 1
            else:
                det = s.N * s.S
                acc[F_DET] += det
                acc[F_PDET] += s.N if g.spread else det
                read_values[i] = read_item(&s, st)
                reads += 1
    for f in range(NFIELDS):
        totals[f] += acc[f]
    totals[NFIELDS] += writes
    totals[NFIELDS + 1] += reads


# --------------------------------------------------------------------------- fixed-ones float

def fixed_ones(const uint32_t[::1] src, uint32_t[::1] dst, int K, double[::1] err, int64_t[::1] counts):
    """Adjust float32 bit patterns to exactly K ones by changing only the lowest mantissa bits.

    Too many ones: clear the lowest set mantissa bits; too few: set the lowest clear ones. Sign
    and exponent are never touched; a word that cannot reach K within the mantissa, and every
    Inf/NaN, is stored exactly. ``counts`` += [words changed, words not reachable];
    ``err`` accumulates [sum |x' - x|, max |x' - x|, sum |x' - x| / |x|, max of that, words in the
    relative sums (finite, non-zero x)].
    """
    cdef Py_ssize_t i, n = src.shape[0]
    cdef uint32_t u, mant, v
    cdef int pc, pm, d, j
    cdef float fx, fy
    cdef double e, r
    cdef int64_t changed = 0, unreachable = 0, nrel = 0
    cdef double sabs = 0.0, mabs = err[1], srel = 0.0, mrel = err[3]
    with nogil:
        for i in range(n):
            u = src[i]
            pc = pc64(u)
            v = u
            if pc != K:
                mant = u & 0x7FFFFF
                pm = pc64(mant)
                if (u & 0x7F800000) == 0x7F800000:
                    unreachable += 1
                elif pc > K:
                    d = pc - K
                    if d > pm:
                        unreachable += 1
                    else:
                        for j in range(d):
                            mant &= mant - 1
                        v = (u & SIGN_EXP) | mant
                else:
                    d = K - pc
                    if d > 23 - pm:
                        unreachable += 1
                    else:
                        for j in range(d):
                            mant |= mant + 1
                        v = (u & SIGN_EXP) | mant
            dst[i] = v
            if (u & 0x7F800000) != 0x7F800000 and (u & 0x7FFFFFFF) != 0:
                nrel += 1                  # finite, non-zero: in the relative-error mean
            if v != u:
                changed += 1
                memcpy(&fx, &u, 4)
                memcpy(&fy, &v, 4)
                e = fabs(<double>fy - <double>fx)
                sabs += e
                if e > mabs:
                    mabs = e
                if fx != 0:                # a changed word is finite (Inf/NaN are never changed)
                    r = e / fabs(<double>fx)
                    srel += r
                    if r > mrel:
                        mrel = r
    err[0] += sabs
    err[1] = mabs
    err[2] += srel
    err[3] = mrel
    err[4] += nrel
    counts[0] += changed
    counts[1] += unreachable


def popcount_histogram(const uint32_t[::1] words, int64_t[::1] hist):
    """hist[p] += number of words with popcount p (hist has 33 bins)."""
    cdef Py_ssize_t i
    with nogil:
        for i in range(words.shape[0]):
            hist[pc64(words[i])] += 1

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

How the trace kernel is made fast (results are those of the per-segment definitions above):

* the scheme, the item shape and the item type are compile-time parameters (fused "tag" types),
  so the inner loop has no mode dispatch; the default shape (two 32-bit segments per 64-bit item)
  is written out: naive, dcw and pw count a whole item with two to four popcounts, fnw and pw+fnw
  keep the flag at position w of the segment's state word so one popcount covers it;
* the walk along tracks is incremental (no divisions) and a static port's distance is kept as
  ``a - q`` (the item's first position relative to its port), updated by ``walk`` per item; the
  cluster alignment stays in a register while the walk is on one cluster;
* detects are the same for every write of a scheme (``S * N``) and are added per line;
* m-of-n encodes a line's segments before writing it, four codewords at a time: each position's
  decision is a subtraction and a conditional move (no branch), and the four independent chains
  of dependent operations overlap;
* fixed-ones adjusts each float32 in the kernel, a line ahead of writing it (branch-free: the
  d-th lowest one/zero of the mantissa from the popcounts of its low bytes and a table of the
  n-th one of a byte), and accumulates its error figures in the same pass.
"""
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcpy
from libc.stdlib cimport malloc, free
from libc.math cimport fabs

from _bits cimport popcount64 as pc64
from _outcome cimport F_DET, F_INS, F_PDET, F_PINS, F_PREM, F_REM, F_SHIFT, NFIELDS, racetrack_outcome_names


#: Names of the per-write outcome fields, in their index order (``_outcome.pxd``).
OUTCOME_FIELDS = racetrack_outcome_names()

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

cdef enum:
    MAXN = 70

cdef uint64_t ALL_ONES = ~(<uint64_t>0)

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
    int det              # positions detected per segment write (0 for naive, else N)
    uint64_t mask        # low w bits
    double t_read, t_rem, t_ins

cdef struct Counts:
    int64_t ins, rem, det

cdef struct FixedOnes:   # fixed-ones adjustment of float32 words and its error figures
    int k                # ones per float32 (-1: no adjustment)
    int64_t changed, unreachable, nrel
    double sabs, mabs, srel, mrel

# compile-time parameters of the trace kernel (only the type matters)
cdef struct NaiveTag:
    char _
cdef struct DcwTag:
    char _
cdef struct FnwTag:
    char _
cdef struct PwTag:
    char _
cdef struct PwFnwTag:
    char _
cdef struct MofnTag:
    char _

ctypedef fused mode_t:
    NaiveTag
    DcwTag
    FnwTag
    PwTag
    PwFnwTag
    MofnTag

cdef struct Shape2x32:   # two 32-bit segments per 64-bit item, one state word each (the default)
    char _
cdef struct ShapeAny:
    char _

ctypedef fused shape_t:
    Shape2x32
    ShapeAny


cdef inline int64_t iabs(int64_t x) noexcept nogil:
    cdef int64_t sign = x >> 63         # branch-free: x's sign spread over all bits
    return (x ^ sign) - sign


cdef inline void add_difference(Counts* c, int64_t d) noexcept nogil:
    """Count a popcount difference d (new - stored) as d insertions (d > 0) or -d removals."""
    cdef int64_t a = iabs(d)
    c.ins += (a + d) >> 1
    c.rem += (a - d) >> 1


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


cdef inline void mofn_step(uint64_t* x, uint64_t* c, Py_ssize_t* m, uint64_t* acc,
                           const uint64_t* row) noexcept nogil:
    """Decide one position i of an m-of-n codeword: ``c`` = C(i, m), ``row`` = BINOMP[i - 1].

    Position i holds a one when x >= C(i, m) (m = ones still to place); then x -= C(i, m), and
    the next position compares with C(i - 1, m), m counted after this position. Branch-free (the
    decision is data-dependent and would mispredict half the time): with d = x - c (unsigned),
    the position takes a one exactly when d <= x, and the new x is min(x, d), a conditional move.
    The decision is shifted into ``acc`` (positions come high to low, so bit i of the final word
    is position i).
    """
    cdef uint64_t xv = x[0]
    cdef uint64_t d = xv - c[0]
    cdef uint64_t take = d <= xv
    x[0] = d if d < xv else xv
    m[0] -= <Py_ssize_t>take
    c[0] = row[m[0] + 1]
    acc[0] = (acc[0] << 1) | take


cdef inline void mofn_encode(uint64_t x, const int N, const int M, uint64_t* lo, uint64_t* hi) noexcept nogil:
    """Codeword of ``x`` (< C(N, M)): the combinatorial number system, positions N-1 down to 0.

    The invariant x < C(i + 1, m) makes exactly M positions one (C(i, m) = 0 for m > i forces the
    last ones; C(i, 0) = 1 > x = 0 stops after M), and distinct x give distinct codewords.
    """
    cdef uint64_t c = BINOMP[N - 1][M + 1], l = 0, h = 0
    cdef Py_ssize_t m = M
    cdef int i
    for i in range(N - 1, 63, -1):
        mofn_step(&x, &c, &m, &h, &BINOMP[i - 1][0])
    for i in range(min(N - 1, 63), 0, -1):
        mofn_step(&x, &c, &m, &l, &BINOMP[i - 1][0])
    lo[0] = (l << 1) | <uint64_t>(x >= c)      # position 0 (C(0, m) = 1 if m == 0 else 0)
    hi[0] = h


cdef inline void mofn_encode4(uint64_t x0, uint64_t x1, uint64_t x2, uint64_t x3, const int N, const int M,
                              uint64_t* cw) noexcept nogil:
    """:func:`mofn_encode` of four values at once, codeword j in ``cw[2j]`` (lo), ``cw[2j + 1]``
    (hi). Each position's decision waits for the previous one's table load; the four chains of
    dependent operations are independent, so the processor overlaps them."""
    cdef uint64_t c0 = BINOMP[N - 1][M + 1], c1 = c0, c2 = c0, c3 = c0
    cdef uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0
    cdef Py_ssize_t m0 = M, m1 = M, m2 = M, m3 = M
    cdef const uint64_t* row
    cdef int i
    for i in range(N - 1, 63, -1):          # positions 64.. (N = 68)
        row = &BINOMP[i - 1][0]
        mofn_step(&x0, &c0, &m0, &a0, row)
        mofn_step(&x1, &c1, &m1, &a1, row)
        mofn_step(&x2, &c2, &m2, &a2, row)
        mofn_step(&x3, &c3, &m3, &a3, row)
    cw[1] = a0
    cw[3] = a1
    cw[5] = a2
    cw[7] = a3
    a0 = 0; a1 = 0; a2 = 0; a3 = 0
    for i in range(min(N - 1, 63), 0, -1):
        row = &BINOMP[i - 1][0]
        mofn_step(&x0, &c0, &m0, &a0, row)
        mofn_step(&x1, &c1, &m1, &a1, row)
        mofn_step(&x2, &c2, &m2, &a2, row)
        mofn_step(&x3, &c3, &m3, &a3, row)
    cw[0] = (a0 << 1) | <uint64_t>(x0 >= c0)
    cw[2] = (a1 << 1) | <uint64_t>(x1 >= c1)
    cw[4] = (a2 << 1) | <uint64_t>(x2 >= c2)
    cw[6] = (a3 << 1) | <uint64_t>(x3 >= c3)


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


cdef inline void mofn_segments(const item_t* items, Py_ssize_t n_items, const int S, const int w,
                               const int N, const int M, uint64_t* cw) noexcept nogil:
    """Codewords of all segments of ``n_items`` items, four at a time: segment j (item j // S,
    bits from (j % S) * w) -> ``cw[2j]`` (lo), ``cw[2j + 1]`` (hi)."""
    cdef uint64_t mask = ALL_ONES if w == 64 else (((<uint64_t>1) << w) - 1)
    cdef Py_ssize_t j = 0, n = n_items * S
    while j + 3 < n:
        mofn_encode4((<uint64_t>items[j // S] >> ((j % S) * w)) & mask,
                     (<uint64_t>items[(j + 1) // S] >> (((j + 1) % S) * w)) & mask,
                     (<uint64_t>items[(j + 2) // S] >> (((j + 2) % S) * w)) & mask,
                     (<uint64_t>items[(j + 3) // S] >> (((j + 3) % S) * w)) & mask,
                     N, M, cw + 2 * j)
        j += 4
    while j < n:
        mofn_encode((<uint64_t>items[j // S] >> ((j % S) * w)) & mask, N, M, cw + 2 * j, cw + 2 * j + 1)
        j += 1


cdef void mofn_line(const Scheme* s, const item_t* items, Py_ssize_t n_items, uint64_t* cw) noexcept nogil:
    """:func:`mofn_segments` with the codes of racetrack.md's 32- and 64-bit segments written out."""
    if s.S == 2 and s.w == 32 and s.N == 35 and s.M == 17:
        mofn_segments(items, n_items, 2, 32, 35, 17, cw)
    elif s.S == 1 and s.w == 64 and s.N == 68 and s.M == 31:
        mofn_segments(items, n_items, 1, 64, 68, 31, cw)
    else:
        mofn_segments(items, n_items, s.S, s.w, s.N, s.M, cw)


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


# --------------------------------------------------------------------------- fixed-ones float

cdef uint8_t NTH_ONE[256 * 8]     # NTH_ONE[b * 8 + j] = position of the (j+1)-th lowest one of byte b (0 if none)
cdef int _b, _j, _seen
for _b in range(256):
    for _j in range(8):
        NTH_ONE[_b * 8 + _j] = 0
    _seen = 0
    for _j in range(8):
        if (_b >> _j) & 1:
            NTH_ONE[_b * 8 + _seen] = _j
            _seen += 1


cdef inline uint32_t fixed_word(uint32_t u, FixedOnes* f) noexcept nogil:
    """The fixed-ones encoding of float32 bit pattern ``u`` (see :func:`fixed_ones`); adds the
    word to the counts and error figures of ``f`` (pass a local copy: its fields stay in registers;
    ``f.unreachable`` counts here the words with popcount != K, see :func:`fixed_line`).

    Branch-free (training words have popcounts on both sides of K; branches on them would
    mispredict): the bits to change are the lowest ``d = |pc - K|`` ones of ``cand`` (the
    mantissa's ones if there are too many ones, its zeros if too few), i.e. ``cand``'s bits at
    positions 0..p, p the position of the d-th lowest one of ``cand``; flipping them is
    ``u ^ (cand & low)`` in both cases.
    """
    cdef int pc = pc64(u)
    cdef int d = pc - f.k
    cdef uint32_t cand = (u ^ <uint32_t>(0 - <uint32_t>(d <= 0))) & 0x7FFFFF   # ones if over, else zeros
    d = d if d >= 0 else -d
    cdef uint32_t finite = (u & 0x7F800000) != 0x7F800000
    cdef uint32_t changed = finite & <uint32_t>(<unsigned>(d - 1) < <unsigned>pc64(cand))   # 1 <= d <= ones
    cdef uint32_t nonzero = (u & 0x7FFFFFFF) != 0
    # p = position of the d-th lowest one of cand (23 bits): its byte from the popcounts of the
    # first one and two bytes, its place in the byte from a table (any p when unchanged: masked)
    cdef int c1 = pc64(cand & 0xFF), c2 = pc64(cand & 0xFFFF)
    cdef int byte = (d > c1) + (d > c2)
    cdef int before = pc64(cand & ((1u << (8 * byte)) - 1))          # ones in the bytes below
    cdef uint32_t p = 8 * byte + NTH_ONE[((cand >> (8 * byte)) & 0xFF) * 8 + ((d - before - 1) & 7)]
    cdef uint32_t keep = 0 - changed
    cdef uint32_t low = <uint32_t>(((<uint64_t>2) << p) - 1) & keep     # positions 0..p (none if unchanged)
    cdef uint32_t v = u ^ (cand & low)
    f.changed += changed
    f.unreachable += d != 0
    f.nrel += finite & nonzero                         # finite, non-zero: in the relative-error mean
    # the error of a changed word, 0 for the others (adding +0.0 leaves the sums as they are);
    # relative to |x| for a non-zero x (a changed word is finite)
    cdef uint32_t ub = u & keep
    cdef uint32_t vb = v & keep
    cdef uint32_t relm = 0 - (changed & nonzero)
    cdef uint32_t db = ((u & 0x7FFFFFFF) & relm) | (0x3F800000u & ~relm)    # |x|, or 1.0
    cdef float fx, fy, fd
    memcpy(&fx, &ub, 4)
    memcpy(&fy, &vb, 4)
    memcpy(&fd, &db, 4)
    cdef double e = fabs(<double>fy - <double>fx)
    f.sabs += e
    f.mabs = e if e > f.mabs else f.mabs
    cdef double r = (e * <double>(relm & 1)) / <double>fd      # e * 1.0 is e exactly
    f.srel += r
    f.mrel = r if r > f.mrel else f.mrel
    return v


cdef void fixed_line(const item_t* src, item_t* dst, Py_ssize_t n_items, Py_ssize_t n_words,
                     FixedOnes* fp) noexcept nogil:
    """Adjust the float32 words of a line of items (two words per 64-bit item, the first in the
    low bits; words from ``n_words`` on are padding, left as they are)."""
    cdef Py_ssize_t k
    cdef uint64_t v
    cdef FixedOnes f = fp[0]
    f.unreachable = 0                 # words with popcount != K (changed or not reachable)
    for k in range(n_items):
        if item_t is uint32_t:
            dst[k] = fixed_word(src[k], &f)
        else:
            v = fixed_word(<uint32_t>src[k], &f)
            if 2 * k + 1 < n_words:
                v |= (<uint64_t>fixed_word(<uint32_t>(src[k] >> 32), &f)) << 32
            else:
                v |= (<uint64_t>src[k] >> 32) << 32
            dst[k] = v
    f.unreachable = fp.unreachable + (f.unreachable - (f.changed - fp.changed))
    fp[0] = f


def fixed_ones(const uint32_t[::1] src, uint32_t[::1] dst, int K, double[::1] err, int64_t[::1] counts):
    """Adjust float32 bit patterns to exactly K ones by changing only the lowest mantissa bits.

    Too many ones: clear the lowest set mantissa bits; too few: set the lowest clear ones. Sign
    and exponent are never touched; a word that cannot reach K within the mantissa, and every
    Inf/NaN, is stored exactly. ``counts`` += [words changed, words not reachable];
    ``err`` accumulates [sum |x' - x|, max |x' - x|, sum |x' - x| / |x|, max of that, words in the
    relative sums (finite, non-zero x)].
    """
    cdef FixedOnes f
    if dst.shape[0] < src.shape[0] or err.shape[0] < 5 or counts.shape[0] < 2:
        raise ValueError("fixed_ones: dst, err (5) or counts (2) too short")
    fixed_start(&f, K, err)
    with nogil:
        fixed_line(&src[0] if src.shape[0] else NULL, &dst[0] if dst.shape[0] else NULL,
                   src.shape[0], src.shape[0], &f)
    fixed_finish(&f, err, counts)


cdef void fixed_start(FixedOnes* f, int K, double[::1] err) noexcept:
    """Start a call's figures: sums from 0 (added to ``err`` at the end), maxima from ``err``."""
    f.k = K
    f.changed = 0
    f.unreachable = 0
    f.nrel = 0
    f.sabs = 0.0
    f.mabs = err[1]
    f.srel = 0.0
    f.mrel = err[3]


cdef void fixed_finish(const FixedOnes* f, double[::1] err, int64_t[::1] counts) noexcept:
    """Add a call's figures to ``err`` and ``counts`` (layouts of :func:`fixed_ones`)."""
    err[0] += f.sabs
    err[1] = f.mabs
    err[2] += f.srel
    err[3] = f.mrel
    err[4] += f.nrel
    counts[0] += f.changed
    counts[1] += f.unreachable


def popcount_histogram(const uint32_t[::1] words, int64_t[::1] hist):
    """hist[p] += number of words with popcount p (hist has 33 bins)."""
    cdef Py_ssize_t i
    with nogil:
        for i in range(words.shape[0]):
            hist[pc64(words[i])] += 1


# --------------------------------------------------------------------------- segment writes

cdef inline void write_segment(const mode_t* tag, const int w, const int spw, const int N, const int M,
                               uint64_t n, uint64_t* st, const uint64_t* cw, Counts* c) noexcept nogil:
    """Write segment value ``n`` over the stored positions ``st[0..spw)``; add insertions and
    removals to ``c``. m-of-n: ``cw`` is the codeword of ``n`` (lo, hi), or NULL to encode it here.

    A segment of fewer than 64 bits keeps the fnw flag at position w of its state word.
    """
    cdef uint64_t o, d, flag, oflag, nw, lo, hi
    cdef uint64_t mask = ALL_ONES if w == 64 else (((<uint64_t>1) << w) - 1)
    cdef int pn, po, dA, dB
    if mode_t is NaiveTag:
        c.ins += pc64(n)
        c.rem += w
        st[0] = n
    elif mode_t is DcwTag:
        o = st[0]
        c.ins += pc64(n & ~o)
        c.rem += pc64(o & ~n)
        st[0] = n
    elif mode_t is PwTag:
        pn = pc64(n) - pc64(st[0])
        add_difference(c, pn)
        st[0] = n
    elif mode_t is FnwTag:
        if w == 64:
            o = st[0]
            oflag = st[1] & 1
            dA = pc64(n ^ o) + <int>oflag
            flag = <uint64_t>(dA > w + 1 - dA)              # ~n differs exactly where n does not
            d = n ^ (0 - flag)
            c.ins += pc64(d & ~o) + <int>(flag & ~oflag & 1)
            c.rem += pc64(o & ~d) + <int>(oflag & ~flag & 1)
            st[0] = d
            st[1] = flag
        else:
            o = st[0]                                        # positions 0..w-1, flag at w
            dA = pc64(n ^ o)                                 # differing positions, flag included
            flag = <uint64_t>(dA > w + 1 - dA)
            nw = n ^ ((((<uint64_t>2) << w) - 1) & (0 - flag))   # ~n with the flag set
            c.ins += pc64(nw & ~o)
            c.rem += pc64(o & ~nw)
            st[0] = nw
    elif mode_t is PwFnwTag:
        if w == 64:
            po = pc64(st[0]) + <int>(st[1] & 1)
        else:
            po = pc64(st[0])                                 # flag included
        pn = pc64(n)
        dA = pn - po                                         # as it is, flag 0
        dB = w + 1 - pn - po                                 # inverted, flag 1
        flag = <uint64_t>(iabs(dA) > iabs(dB))
        add_difference(c, dA ^ ((dA ^ dB) & -<int>flag))       # the difference of the polarity taken
        if w == 64:
            st[0] = n ^ (0 - flag)
            st[1] = flag
        else:
            st[0] = n ^ ((((<uint64_t>2) << w) - 1) & (0 - flag))
    else:  # m-of-n
        if cw == NULL:
            mofn_encode(n, N, M, &lo, &hi)
        else:
            lo = cw[0]
            hi = cw[1]
        po = pc64(st[0])
        if spw == 2:
            po += pc64(st[1])
        pn = M - po
        add_difference(c, pn)
        st[0] = lo
        if spw == 2:
            st[1] = hi


cdef inline void write_segments(const mode_t* tag, const Scheme* s, const int S, const int w, const int spw,
                                uint64_t v, uint64_t* st, const uint64_t* cw, Counts* c) noexcept nogil:
    """Write the S segments of one item one by one; add their insertions and removals to ``c``."""
    cdef int j
    cdef uint64_t mask = ALL_ONES if w == 64 else (((<uint64_t>1) << w) - 1)
    for j in range(S):
        write_segment(tag, w, spw, s.N, s.M, (v >> (j * w)) & mask, st + j * spw,
                      cw + 2 * j if cw != NULL else NULL, c)


cdef inline void write_item(const mode_t* tag, const shape_t* shape, const Scheme* s, uint64_t v,
                            uint64_t* st, const uint64_t* cw, Counts* c) noexcept nogil:
    """Write all segments of one item (serial layout); add the item's insertions and removals to
    ``c``. ``cw``: the segments' m-of-n codewords (or NULL)."""
    cdef uint64_t o
    cdef uint64_t lo32 = 0xFFFFFFFFu
    if shape_t is Shape2x32:
        # whole-item forms of the per-segment counts (two 32-bit segments, one state word each)
        if mode_t is NaiveTag:
            c.ins += pc64(v)
            c.rem += 64
            st[0] = v & lo32
            st[1] = v >> 32
        elif mode_t is DcwTag:
            o = st[0] | (st[1] << 32)
            c.ins += pc64(v & ~o)
            c.rem += pc64(o & ~v)
            st[0] = v & lo32
            st[1] = v >> 32
        elif mode_t is PwTag:
            add_difference(c, pc64(v & lo32) - pc64(st[0]))
            add_difference(c, pc64(v >> 32) - pc64(st[1]))
            st[0] = v & lo32
            st[1] = v >> 32
        else:
            write_segments(tag, s, 2, 32, 1, v, st, cw, c)
    else:
        write_segments(tag, s, s.S, s.w, s.spw, v, st, cw, c)


cdef inline double port_time(const Scheme* s, const Counts* c) noexcept nogil:
    return c.det * s.t_read + c.rem * s.t_rem + c.ins * s.t_ins


cdef inline void write_item_spread(const mode_t* tag, const Scheme* s, uint64_t v, uint64_t* st,
                                   const uint64_t* cw, Counts* c, Counts* path) noexcept nogil:
    """Write all segments of one item (spread layout): ``c`` += the item's insertions and
    removals, ``path`` += the slowest segment's (the first of equal ones)."""
    cdef Counts seg, worst
    cdef int j
    cdef double t, tw = -1.0
    cdef uint64_t mask = s.mask
    worst.ins = 0; worst.rem = 0; worst.det = 0
    for j in range(s.S):
        seg.ins = 0; seg.rem = 0; seg.det = s.det
        write_segment(tag, s.w, s.spw, s.N, s.M, (v >> (j * s.w)) & mask, st + j * s.spw,
                      cw + 2 * j if cw != NULL else NULL, &seg)
        c.ins += seg.ins
        c.rem += seg.rem
        t = port_time(s, &seg)
        if t > tw:
            tw = t
            worst = seg
    path.ins += worst.ins
    path.rem += worst.rem


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
    s.det = 0 if s.mode == NAIVE else s.N
    s.mask = ALL_ONES if s.w == 64 else (((<uint64_t>1) << s.w) - 1)
    s.t_read = scheme["t_read"]
    s.t_rem = scheme["t_rem"]
    s.t_ins = scheme["t_ins"]
    if (s.mode < 0 or s.mode > MOFN or s.N >= MAXN or s.M > s.N or g.walk <= 0 or g.region <= 0
            or g.D <= 0 or g.tpc <= 0 or s.w not in (8, 16, 32, 64) or s.S <= 0 or s.S * s.w > 64
            or s.spw not in (1, 2)):
        raise ValueError("bad racetrack kernel parameters")
    return 0


# --------------------------------------------------------------------------- trace replay

cdef void run_chunk(const mode_t* tag, const shape_t* shape, const Geo* g, const Scheme* s,
                    const item_t[:, :, ::1] items, uint64_t* state, int64_t* offsets, Py_ssize_t n_clusters,
                    uint32_t[:, :, ::1] outcome, item_t[:, :, ::1] stored, bint want_stored,
                    int64_t g0, int64_t cluster0, FixedOnes* fx, Py_ssize_t n_words,
                    item_t* linebuf, uint64_t* cw, int64_t* tot) noexcept nogil:
    """:func:`trace_chunk` for one scheme (``tag``) and item shape; ``state`` rows are contiguous."""
    cdef Py_ssize_t T = items.shape[0], L = items.shape[1], K = items.shape[2]
    cdef Py_ssize_t t, l, k, k0, run
    # the geometry in locals (the state stores could otherwise alias it)
    cdef int64_t D = g.D, tpc = g.tpc, region = g.region, walk = g.walk, walk1 = g.walk - 1
    cdef int64_t aq_home = -g.home * g.walk
    cdef bint dynamic = g.dynamic, spread = g.spread, eager = g.eager
    cdef bint plain = not (dynamic or spread or eager or want_stored)
    cdef int S = 2 if shape_t is Shape2x32 else s.S
    cdef int SW = 2 if shape_t is Shape2x32 else s.S * s.spw       # state words per item
    cdef int64_t track0 = g0 // D, index0 = g0 - (g0 // D) * D
    cdef int64_t det_line = K * S * s.det
    cdef int64_t pdet_line = K * s.det if spread else det_line
    cdef int64_t index, in_region, aq, in_cluster, cluster, cur, shifts, d1, d2, fin
    cdef Counts c, path
    cdef int64_t acc[NFIELDS]
    cdef int f
    cdef const item_t* row
    cdef uint64_t* st
    cdef uint32_t* out
    for t in range(T):
        # the items of the chunk are consecutive: walk (track, index, port region, cluster) along;
        # aq = the item's first position relative to its static port (a - q)
        index = index0
        in_region = index0 - (index0 // region) * region
        aq = (in_region - g.home) * walk
        in_cluster = track0 - (track0 // tpc) * tpc
        cluster = track0 // tpc - cluster0
        cur = offsets[cluster]
        for l in range(L):
            row = &items[t, l, 0]
            if fx.k >= 0:
                fixed_line(row, linebuf, K, n_words, fx)
                row = linebuf
            if mode_t is MofnTag:
                mofn_line(s, row, K, cw)
            c.ins = 0
            c.rem = 0
            path.ins = 0
            path.rem = 0
            shifts = 0
            st = state + l * K * SW
            k0 = 0
            while k0 < K:
                # a run of items in one port region of one track
                run = K - k0
                if run > region - in_region:
                    run = region - in_region
                if run > D - index:
                    run = D - index
                if plain:
                    # the default: static port, lazy return, serial layout, no stored values
                    for k in range(k0, k0 + run):
                        # static port: start at the end of the item nearer to the alignment
                        d1 = iabs(aq - cur)
                        d2 = iabs(aq + walk1 - cur)
                        shifts += d1 if d1 <= d2 else d2
                        cur = aq + walk1 if d1 <= d2 else aq
                        aq += walk
                        write_item(tag, shape, s, <uint64_t>row[k], st, cw + 2 * S * k if cw != NULL else NULL,
                                   &c)
                        st += SW
                else:
                    for k in range(k0, k0 + run):
                        if dynamic:
                            shifts += port_access(g, &cur, index + (k - k0), 0)
                        else:
                            d1 = iabs(aq - cur)
                            d2 = iabs(aq + walk1 - cur)
                            fin = aq + walk1 if d1 <= d2 else aq
                            shifts += d1 if d1 <= d2 else d2
                            if eager:
                                shifts += iabs(fin)
                                fin = 0
                            cur = fin
                            aq += walk
                        if spread:
                            write_item_spread(tag, s, <uint64_t>row[k], st,
                                              cw + 2 * S * k if cw != NULL else NULL, &c, &path)
                        else:
                            write_item(tag, shape, s, <uint64_t>row[k], st,
                                       cw + 2 * S * k if cw != NULL else NULL, &c)
                        if want_stored:
                            stored[t, l, k] = <item_t>read_item(s, st)
                        st += SW
                if not dynamic:
                    shifts += run * walk1          # every access walks the item past the port
                k0 += run
                index += run
                in_region += run
                if in_region == region:
                    in_region = 0
                    aq = aq_home
                if index == D:
                    index = 0
                    in_region = 0
                    aq = aq_home
                    in_cluster += 1
                    if in_cluster == tpc:
                        in_cluster = 0
                        offsets[cluster] = cur
                        cluster += 1
                        if cluster < n_clusters:
                            cur = offsets[cluster]
            acc[F_INS] = c.ins
            acc[F_REM] = c.rem
            acc[F_DET] = det_line
            acc[F_SHIFT] = shifts
            if spread:
                acc[F_PINS] = path.ins
                acc[F_PREM] = path.rem
            else:
                acc[F_PINS] = c.ins
                acc[F_PREM] = c.rem
            acc[F_PDET] = pdet_line
            out = &outcome[t, l, 0]
            for f in range(NFIELDS):
                out[f] = <uint32_t>acc[f]
                tot[f] += acc[f]
        if cluster < n_clusters:
            offsets[cluster] = cur


cdef void run_mode(const mode_t* tag, const Geo* g, const Scheme* s,
                   const item_t[:, :, ::1] items, uint64_t* state, int64_t* offsets, Py_ssize_t n_clusters,
                   uint32_t[:, :, ::1] outcome, item_t[:, :, ::1] stored, bint want_stored,
                   int64_t g0, int64_t cluster0, FixedOnes* fx, Py_ssize_t n_words,
                   item_t* linebuf, uint64_t* cw, int64_t* tot) noexcept nogil:
    """:func:`run_chunk` with the item shape chosen (the default two 32-bit segments written out)."""
    if item_t is uint64_t:
        if s.S == 2 and s.w == 32 and s.spw == 1:
            run_chunk(tag, <Shape2x32*>NULL, g, s, items, state, offsets, n_clusters, outcome, stored,
                      want_stored, g0, cluster0, fx, n_words, linebuf, cw, tot)
            return
    run_chunk(tag, <ShapeAny*>NULL, g, s, items, state, offsets, n_clusters, outcome, stored,
              want_stored, g0, cluster0, fx, n_words, linebuf, cw, tot)


def trace_chunk(const item_t[:, :, ::1] items, uint64_t[:, ::1] state, int64_t[::1] offsets,
                uint32_t[:, :, ::1] outcome, item_t[:, :, ::1] stored, bint want_stored,
                int64_t line_offset, int64_t cluster0, dict geo, dict scheme, int64_t[::1] totals,
                int fixed_k=-1, double[::1] fixed_err=None, int64_t[::1] fixed_counts=None,
                Py_ssize_t n_words=-1):
    """Replay a chunk ``items[t, line, k]`` (T, L, n_items); fill ``outcome[t, line, 0:7]`` and add
    the chunk's sums of the seven fields to ``totals``.

    ``state``: (L * n_items, S * spw), C-contiguous; ``offsets``: alignment of clusters
    ``cluster0 ..``. ``fixed_k`` >= 0: first adjust every float32 word of the items to ``fixed_k``
    ones as :func:`fixed_ones` does (the words of a line from ``n_words`` on are padding, left
    as they are), adding its figures to ``fixed_err`` and ``fixed_counts``.
    """
    cdef Geo g
    cdef Scheme s
    cdef Py_ssize_t T = items.shape[0], L = items.shape[1], K = items.shape[2]
    cdef FixedOnes fx
    cdef item_t* linebuf = NULL
    cdef uint64_t* cw = NULL
    cdef int64_t tot[NFIELDS]
    cdef int f
    make_structs(&g, &s, geo, scheme)
    if state.shape[0] != L * K or state.shape[1] != s.S * s.spw:
        raise ValueError("state does not match the chunk")
    if L * K > 1 and state.strides[0] != state.shape[1] * <Py_ssize_t>sizeof(uint64_t):
        raise ValueError("state must be C-contiguous")
    if outcome.shape[0] != T or outcome.shape[1] != L or outcome.shape[2] < NFIELDS:
        raise ValueError("outcome does not match the chunk")
    if want_stored and (stored.shape[0] != T or stored.shape[1] != L or stored.shape[2] != K):
        raise ValueError("stored does not match the chunk")
    if totals.shape[0] < NFIELDS:
        raise ValueError("totals needs 7 fields")
    cdef int64_t g0 = line_offset * K
    cdef Py_ssize_t n_clusters = offsets.shape[0]
    if T and L and K and ((g0 // g.D) // g.tpc - cluster0 < 0
                          or (((line_offset + L) * K - 1) // g.D) // g.tpc - cluster0 >= n_clusters):
        raise ValueError("offsets do not cover the chunk's clusters")
    if fixed_k >= 0:
        if fixed_k > 32 or fixed_err is None or fixed_counts is None:
            raise ValueError("fixed_k needs 0..32 and the fixed_err and fixed_counts arrays")
        if fixed_err.shape[0] < 5 or fixed_counts.shape[0] < 2:
            raise ValueError("fixed_err needs 5 fields and fixed_counts 2")
        fixed_start(&fx, fixed_k, fixed_err)
    else:
        fx.k = -1
    if n_words < 0:
        n_words = K * <Py_ssize_t>(sizeof(item_t) // 4)
    for f in range(NFIELDS):
        tot[f] = 0
    if T == 0 or L == 0 or K == 0:
        return
    try:
        if fixed_k >= 0:
            linebuf = <item_t*>malloc(K * sizeof(item_t))
            if linebuf == NULL:
                raise MemoryError()
        if s.mode == MOFN:
            cw = <uint64_t*>malloc(2 * K * s.S * sizeof(uint64_t))
            if cw == NULL:
                raise MemoryError()
        with nogil:
            if s.mode == NAIVE:
                run_mode(<NaiveTag*>NULL, &g, &s, items, &state[0, 0], &offsets[0], n_clusters, outcome, stored,
                         want_stored, g0, cluster0, &fx, n_words, linebuf, cw, tot)
            elif s.mode == DCW:
                run_mode(<DcwTag*>NULL, &g, &s, items, &state[0, 0], &offsets[0], n_clusters, outcome, stored,
                         want_stored, g0, cluster0, &fx, n_words, linebuf, cw, tot)
            elif s.mode == FNW:
                run_mode(<FnwTag*>NULL, &g, &s, items, &state[0, 0], &offsets[0], n_clusters, outcome, stored,
                         want_stored, g0, cluster0, &fx, n_words, linebuf, cw, tot)
            elif s.mode == PW:
                run_mode(<PwTag*>NULL, &g, &s, items, &state[0, 0], &offsets[0], n_clusters, outcome, stored,
                         want_stored, g0, cluster0, &fx, n_words, linebuf, cw, tot)
            elif s.mode == PWFNW:
                run_mode(<PwFnwTag*>NULL, &g, &s, items, &state[0, 0], &offsets[0], n_clusters, outcome, stored,
                         want_stored, g0, cluster0, &fx, n_words, linebuf, cw, tot)
            else:
                run_mode(<MofnTag*>NULL, &g, &s, items, &state[0, 0], &offsets[0], n_clusters, outcome, stored,
                         want_stored, g0, cluster0, &fx, n_words, linebuf, cw, tot)
    finally:
        free(linebuf)
        free(cw)
    for f in range(NFIELDS):
        totals[f] += tot[f]
    if fixed_k >= 0:
        fixed_finish(&fx, fixed_err, fixed_counts)


# --------------------------------------------------------------------------- request replay

cdef void run_requests(const mode_t* tag, const Geo* g, const Scheme* s, const uint8_t[::1] op,
                       const int64_t[::1] track, const int64_t[::1] index, const uint64_t[::1] value,
                       uint64_t[:, ::1] state, int64_t[::1] offsets, uint64_t[::1] read_values,
                       int64_t* acc, int64_t* counts) noexcept nogil:
    """:func:`request_replay` for one scheme (``tag``); ``counts`` += [writes, reads]."""
    cdef Py_ssize_t i
    cdef int64_t item
    cdef Counts c, path
    cdef uint64_t* st
    for i in range(op.shape[0]):
        item = track[i] * g.D + index[i]
        acc[F_SHIFT] += port_access(g, &offsets[track[i] // g.tpc], index[i], index[i] // g.region)
        st = &state[item, 0]
        if op[i] == 0:
            c.ins = 0; c.rem = 0
            path.ins = 0; path.rem = 0
            if g.spread:
                write_item_spread(tag, s, value[i], st, NULL, &c, &path)
            else:
                write_item(tag, <ShapeAny*>NULL, s, value[i], st, NULL, &c)
                path = c
            acc[F_INS] += c.ins
            acc[F_REM] += c.rem
            acc[F_PINS] += path.ins
            acc[F_PREM] += path.rem
            acc[F_DET] += s.S * s.det
            acc[F_PDET] += s.det if g.spread else s.S * s.det
            read_values[i] = 0
            counts[0] += 1
        else:
            acc[F_DET] += s.N * s.S
            acc[F_PDET] += s.N if g.spread else s.N * s.S
            read_values[i] = read_item(s, st)
            counts[1] += 1


def request_replay(const uint8_t[::1] op, const int64_t[::1] track, const int64_t[::1] index,
                   const uint64_t[::1] value, uint64_t[:, ::1] state, int64_t[::1] offsets,
                   int64_t[::1] totals, uint64_t[::1] read_values, dict geo, dict scheme):
    """Replay requests (op 0 = write ``value``, 1 = read) over ``state`` (tracks * D, S * spw).

    ``totals`` gets: insertions, removals, detects, shifts, path insertions, path removals, path
    detects, writes, reads. ``read_values[i]`` = what read i returned (0 for writes).
    """
    cdef Geo g
    cdef Scheme s
    cdef int64_t acc[NFIELDS]
    cdef int64_t counts[2]
    cdef int f
    make_structs(&g, &s, geo, scheme)
    if state.shape[1] != s.S * s.spw:
        raise ValueError("state does not match the scheme")
    for f in range(NFIELDS):
        acc[f] = 0
    counts[0] = 0
    counts[1] = 0
    with nogil:
        if s.mode == NAIVE:
            run_requests(<NaiveTag*>NULL, &g, &s, op, track, index, value, state, offsets, read_values, acc, counts)
        elif s.mode == DCW:
            run_requests(<DcwTag*>NULL, &g, &s, op, track, index, value, state, offsets, read_values, acc, counts)
        elif s.mode == FNW:
            run_requests(<FnwTag*>NULL, &g, &s, op, track, index, value, state, offsets, read_values, acc, counts)
        elif s.mode == PW:
            run_requests(<PwTag*>NULL, &g, &s, op, track, index, value, state, offsets, read_values, acc, counts)
        elif s.mode == PWFNW:
            run_requests(<PwFnwTag*>NULL, &g, &s, op, track, index, value, state, offsets, read_values, acc,
                         counts)
        else:
            run_requests(<MofnTag*>NULL, &g, &s, op, track, index, value, state, offsets, read_values, acc,
                         counts)
    for f in range(NFIELDS):
        totals[f] += acc[f]
    totals[NFIELDS] += counts[0]
    totals[NFIELDS + 1] += counts[1]

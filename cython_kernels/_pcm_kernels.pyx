# cython: language_level=3
"""Per-line PCM write kernels (private; use :mod:`archsim.encoding`).

Every kernel replays a chunk of writes ``writes[t, line, word]`` (T writes to
each of L lines of W words) against persistent per-line cell state, in the
order: line by line, and for each line its T writes in time order. Per write
(t, line) it fills ``outcome[t, line, :]`` with

    0 write_set      cells SET by the write itself
    1 write_reset    cells RESET by the write itself
    2 refresh_set    cells SET by the refresh the write triggered (PreSET)
    3 refresh_reset  cells RESET by the refresh the write triggered (PreRESET)
    4 refreshes      refresh units (line or words) refreshed after the write

and adds every programmed cell to ``wear[line, word, cell]`` (flips per cell,
cell order as in ``pcm.md``).

Wear is counted with bit-sliced counters: per word and per lane of up to 64
cells, ``K`` bit-planes hold a K-bit counter for every cell, and a flip mask is
added with a ripple carry (a few word operations, not one per cell). The
planes are flushed into ``wear`` before they can overflow and at the end of
each line's chunk. A cell gains at most 2 per write (the write and its
refresh), so ``K = 8`` allows 127 writes between flushes.

WOM codes are computed bit-parallel: a word's G groups of three cells are
three lane masks (A, B, C: the codeword's left, middle, right cell; bit k of
each mask is group k). Cells are held in *internal* PreSET form (erased =
111, writes only clear bits); an AppWOM01 word holds the bitwise complement
physically, so only which kind (SET or RESET) a flip is charged as depends on
the polarity.
"""
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t
from libc.stdlib cimport calloc, free

cdef extern from *:
    """
    static inline int archsim_popcount64(unsigned long long x) { return __builtin_popcountll(x); }
    """
    int popcount64 "archsim_popcount64"(unsigned long long x) nogil

ctypedef fused word_t:
    uint8_t
    uint16_t
    uint32_t
    uint64_t

cdef enum:
    PLANES = 4             # bit-planes of the branchless counters (0..15)
    SLOT = 12              # uint64 per (word, lane): 4 planes + 8 byte-lane accumulators
    PLANE_WRITES = 7       # writes between plane flushes: 7 writes x 2 flips <= 15
    BYTE_FLUSHES = 18      # plane flushes between drains: 18 x 14 <= 255
    BLOCK_WORDS = 1024     # words of lines processed together (their state stays in cache)

cdef enum:                 # outcome fields
    O_WS = 0
    O_WR = 1
    O_RS = 2
    O_RR = 3
    O_NREF = 4

cdef enum:                 # raw modes
    MODE_DCW = 0
    MODE_PRESET = 1
    MODE_PRERESET = 2

cdef uint64_t LOW32 = 0xFFFFFFFFu

# SPREAD[v]: byte j = bit j of v (moves a plane's bits into byte lanes)
cdef uint64_t SPREAD[256]
cdef int _v, _j
for _v in range(256):
    SPREAD[_v] = 0
    for _j in range(8):
        if (_v >> _j) & 1:
            SPREAD[_v] |= (<uint64_t>1) << (8 * _j)


cdef inline void add1(uint64_t* p, uint64_t m) noexcept nogil:
    """Add 1 to the 4-bit counter of every cell set in ``m`` (branchless ripple carry)."""
    cdef uint64_t c
    c = p[0] & m; p[0] ^= m; m = c
    c = p[1] & m; p[1] ^= m; m = c
    c = p[2] & m; p[2] ^= m; m = c
    p[3] ^= m


cdef inline void add2(uint64_t* p, uint64_t m) noexcept nogil:
    """Add 2 to the counter of every cell set in ``m``."""
    cdef uint64_t c
    c = p[1] & m; p[1] ^= m; m = c
    c = p[2] & m; p[2] ^= m; m = c
    p[3] ^= m


cdef inline void add_pair(uint64_t* p, uint64_t m1, uint64_t m2) noexcept nogil:
    """Add the flips of a write (m1) and of its refresh (m2)."""
    if m1 == m2:
        add2(p, m1)
    else:
        add1(p, m1)
        add1(p, m2)


cdef inline void planes_to_bytes(uint64_t* slot, int nbytes) noexcept nogil:
    """Move the 4-bit plane counters of one lane into its byte-lane accumulators."""
    cdef int j
    cdef uint64_t p0 = slot[0], p1 = slot[1], p2 = slot[2], p3 = slot[3]
    for j in range(nbytes):
        slot[PLANES + j] += (SPREAD[(p0 >> (8 * j)) & 0xFF]
                             + (SPREAD[(p1 >> (8 * j)) & 0xFF] << 1)
                             + (SPREAD[(p2 >> (8 * j)) & 0xFF] << 2)
                             + (SPREAD[(p3 >> (8 * j)) & 0xFF] << 3))
    slot[0] = 0; slot[1] = 0; slot[2] = 0; slot[3] = 0


cdef inline void drain(uint64_t* slot, int nbytes, uint64_t* wear_word,
                       const int32_t* lane_cells) noexcept nogil:
    """Add one lane's byte-lane accumulators into the word's per-cell wear and clear them."""
    cdef int j, b
    cdef uint64_t a
    for j in range(nbytes):
        a = slot[PLANES + j]
        if a:
            for b in range(8):
                wear_word[lane_cells[8 * j + b]] += (a >> (8 * b)) & 0xFF
            slot[PLANES + j] = 0


cdef struct Acc:
    uint64_t* slots        # (block lines, words, lanes, SLOT)
    Py_ssize_t words
    int lanes
    int nbytes[3]          # byte accumulators in use per lane
    int since              # writes since the last plane flush
    int flushes            # plane flushes since the last drain


cdef int acc_init(Acc* acc, Py_ssize_t block_lines, Py_ssize_t words, int lanes,
                  int nb0, int nb1, int nb2) noexcept nogil:
    acc.slots = <uint64_t*> calloc(max(1, block_lines * words * lanes * SLOT), sizeof(uint64_t))
    acc.words = words
    acc.lanes = lanes
    acc.nbytes[0] = nb0
    acc.nbytes[1] = nb1
    acc.nbytes[2] = nb2
    acc.since = 0
    acc.flushes = 0
    return acc.slots != NULL


cdef inline uint64_t* acc_slot(Acc* acc, Py_ssize_t line_in_block, Py_ssize_t w) noexcept nogil:
    return acc.slots + (line_in_block * acc.words + w) * acc.lanes * SLOT


cdef void acc_flush(Acc* acc, Py_ssize_t nlines, bint force_drain, uint64_t[:, :, ::1] wear,
                    Py_ssize_t first_line, const int32_t[:, ::1] cellmap) noexcept nogil:
    """Flush the planes of a block of lines; drain into ``wear`` when due or forced."""
    cdef Py_ssize_t i, w
    cdef int lane
    cdef uint64_t* slot
    cdef bint do_drain
    acc.flushes += 1
    do_drain = force_drain or acc.flushes == BYTE_FLUSHES
    for i in range(nlines):
        for w in range(acc.words):
            slot = acc_slot(acc, i, w)
            for lane in range(acc.lanes):
                planes_to_bytes(slot + lane * SLOT, acc.nbytes[lane])
                if do_drain:
                    drain(slot + lane * SLOT, acc.nbytes[lane], &wear[first_line + i, w, 0], &cellmap[lane, 0])
    acc.since = 0
    if do_drain:
        acc.flushes = 0


cdef inline void acc_tick(Acc* acc, Py_ssize_t nlines, uint64_t[:, :, ::1] wear,
                          Py_ssize_t first_line, const int32_t[:, ::1] cellmap) noexcept nogil:
    """Count one write of every line of the block; flush the planes before they can overflow."""
    acc.since += 1
    if acc.since == PLANE_WRITES:
        acc_flush(acc, nlines, False, wear, first_line, cellmap)


cdef inline Py_ssize_t block_lines(Py_ssize_t words) noexcept nogil:
    return max(1, BLOCK_WORDS // max(1, words))


def raw_chunk(const word_t[:, :, ::1] writes, word_t[:, ::1] cells,
              uint64_t[:, :, ::1] wear, uint32_t[:, :, ::1] outcome,
              const int32_t[:, ::1] cellmap, int mode, bint word_unit, int word_bits):
    """PreSET / PreRESET / DCW: compare-and-write each word, then (PreSET/PreRESET) refresh it.

    ``cells[line, word]`` holds the physical cells (bit i = cell ``word_bits-1-i``).
    ``mode``: 0 DCW (no refresh), 1 PreSET (SET every 0 cell after the write),
    2 PreRESET (RESET every 1 cell after the write).
    """
    cdef Py_ssize_t T = writes.shape[0], L = writes.shape[1], W = writes.shape[2]
    cdef Py_ssize_t t, l, w, l0, nl, LB = block_lines(W)
    cdef uint64_t mask = (~<uint64_t>0) >> (64 - word_bits)
    cdef uint64_t new, old, setm, resetm, rm, after
    cdef uint32_t ws, wr, rs, rr, nref, nrw
    cdef Acc acc
    if not acc_init(&acc, LB, W, 1, word_bits // 8, 0, 0):
        raise MemoryError()
    try:
        with nogil:
            l0 = 0
            while l0 < L:
                nl = min(LB, L - l0)
                for t in range(T):
                    for l in range(l0, l0 + nl):
                        ws = 0; wr = 0; rs = 0; rr = 0; nrw = 0
                        for w in range(W):
                            new = writes[t, l, w]
                            old = cells[l, w]
                            setm = ~old & new
                            resetm = old & ~new
                            ws += popcount64(setm)
                            wr += popcount64(resetm)
                            if mode == MODE_PRESET:
                                rm = ~new & mask
                                rs += popcount64(rm)
                                after = mask
                            elif mode == MODE_PRERESET:
                                rm = new
                                rr += popcount64(rm)
                                after = 0
                            else:
                                rm = 0
                                after = new
                            nrw += rm != 0
                            cells[l, w] = <word_t> after
                            add_pair(acc_slot(&acc, l - l0, w), setm | resetm, rm)
                        if word_unit:
                            nref = nrw
                        else:
                            nref = nrw != 0
                        outcome[t, l, O_WS] = ws
                        outcome[t, l, O_WR] = wr
                        outcome[t, l, O_RS] = rs
                        outcome[t, l, O_RR] = rr
                        outcome[t, l, O_NREF] = nref
                    acc_tick(&acc, nl, wear, l0, cellmap)
                acc_flush(&acc, nl, True, wear, l0, cellmap)
                l0 += nl
    finally:
        free(acc.slots)


def fnw_chunk(const word_t[:, :, ::1] writes, word_t[:, ::1] cells, uint64_t[:, ::1] flags,
              uint64_t[:, :, ::1] wear, uint32_t[:, :, ::1] outcome, word_t[:, :, ::1] stored,
              const int32_t[:, ::1] cellmap, int word_bits, int partition_bits, bint want_stored):
    """Flip-N-Write: per partition of ``partition_bits`` bits, store the data or its
    inverse, whichever programs fewer cells (the partition's flag cell included;
    ties store the data as is).

    Partition p covers data bits ``[word_bits-(p+1)N, word_bits-pN)`` (p = 0 is
    the most significant); its flag is bit p of ``flags[line, word]``. ``stored[t, line, word]`` gets the
    value decoded from the cells and flags right after the write.
    """
    cdef Py_ssize_t T = writes.shape[0], L = writes.shape[1], W = writes.shape[2]
    cdef Py_ssize_t t, l, w, l0, nl, LB = block_lines(W)
    cdef int P = word_bits // partition_bits, p, shift, d_keep, d_flip
    cdef uint64_t mask = (~<uint64_t>0) >> (64 - word_bits)
    cdef uint64_t pmask_base = (~<uint64_t>0) >> (64 - partition_bits)
    cdef uint64_t pm, new, old, cellv, oldf, newf, fb, setm, resetm, fset, freset, sv
    cdef uint32_t ws, wr
    cdef uint64_t* slot
    cdef Acc acc
    if not acc_init(&acc, LB, W, 2, word_bits // 8, (P + 7) // 8, 0):
        raise MemoryError()
    try:
        with nogil:
            l0 = 0
            while l0 < L:
                nl = min(LB, L - l0)
                for t in range(T):
                    for l in range(l0, l0 + nl):
                        ws = 0; wr = 0
                        for w in range(W):
                            new = writes[t, l, w]
                            old = cells[l, w]
                            oldf = flags[l, w]
                            cellv = 0
                            newf = 0
                            for p in range(P):
                                shift = word_bits - (p + 1) * partition_bits
                                pm = pmask_base << shift
                                fb = (oldf >> p) & 1
                                d_keep = popcount64((new ^ old) & pm) + <int>fb
                                d_flip = popcount64((~new ^ old) & pm) + <int>(1 - fb)
                                if d_flip < d_keep:
                                    cellv |= ~new & pm
                                    newf |= (<uint64_t>1) << p
                                else:
                                    cellv |= new & pm
                            setm = ~old & cellv & mask
                            resetm = old & ~cellv & mask
                            fset = ~oldf & newf
                            freset = oldf & ~newf
                            ws += popcount64(setm) + popcount64(fset)
                            wr += popcount64(resetm) + popcount64(freset)
                            cells[l, w] = <word_t> cellv
                            flags[l, w] = newf
                            slot = acc_slot(&acc, l - l0, w)
                            add1(slot, setm | resetm)
                            add1(slot + SLOT, fset | freset)
                            if want_stored:
                                sv = cellv
                                for p in range(P):
                                    if (newf >> p) & 1:
                                        sv ^= pmask_base << (word_bits - (p + 1) * partition_bits)
                                stored[t, l, w] = <word_t> sv
                        outcome[t, l, O_WS] = ws
                        outcome[t, l, O_WR] = wr
                        outcome[t, l, O_RS] = 0
                        outcome[t, l, O_RR] = 0
                        outcome[t, l, O_NREF] = 0
                    acc_tick(&acc, nl, wear, l0, cellmap)
                acc_flush(&acc, nl, True, wear, l0, cellmap)
                l0 += nl
    finally:
        free(acc.slots)


cdef inline uint64_t gather(uint64_t v, const uint64_t[:, ::1] table, int nbytes) noexcept nogil:
    """(important mask) | (unimportant mask) << 32 of a word, by byte lookups."""
    cdef uint64_t r = 0
    cdef int j
    for j in range(nbytes):
        r |= table[j, (v >> (8 * j)) & 0xFF]
    return r


cdef inline uint32_t refresh_word(uint32_t[:, :, ::1] cells, uint8_t[:, ::1] polarity,
                                  Py_ssize_t l, Py_ssize_t w, uint64_t gm, bint ping_pong,
                                  uint64_t* slot) noexcept nogil:
    """Refresh one word; returns the cells it programs.

    Ping-pong flips the cells still at their erased value (internal 1s) and
    switches polarity; otherwise the programmed cells (internal 0s) return to
    the erased value. Either way the word ends erased (internal all 1s).
    """
    cdef uint64_t ra, rb, rc
    if ping_pong:
        ra = cells[l, w, 0]
        rb = cells[l, w, 1]
        rc = cells[l, w, 2]
        polarity[l, w] ^= 1
    else:
        ra = ~(<uint64_t>cells[l, w, 0]) & gm
        rb = ~(<uint64_t>cells[l, w, 1]) & gm
        rc = ~(<uint64_t>cells[l, w, 2]) & gm
    cells[l, w, 0] = <uint32_t> gm
    cells[l, w, 1] = <uint32_t> gm
    cells[l, w, 2] = <uint32_t> gm
    add1(slot, ra)
    add1(slot + SLOT, rb)
    add1(slot + 2 * SLOT, rc)
    return popcount64(ra) + popcount64(rb) + popcount64(rc)


def wom_chunk(const word_t[:, :, ::1] writes, uint32_t[:, :, ::1] cells, uint8_t[:, ::1] polarity,
              uint64_t[:, :, ::1] wear, uint32_t[:, :, ::1] outcome, word_t[:, :, ::1] stored,
              const int32_t[:, ::1] cellmap, const uint64_t[:, ::1] gather_table,
              const uint64_t[:, ::1] scatter_hi, const uint64_t[:, ::1] scatter_lo,
              uint64_t approx_mask, int groups,
              bint ping_pong, bint word_unit, bint want_stored):
    """WOM-SET and AppWOM (Rivest-Shamir 2-bit/3-cell code, optionally approximate).

    ``cells[line, word, 0..2]``: lane masks A, B, C in internal PreSET form
    (every group holds a codeword of generation <= 1 between writes, thanks to
    eager refresh). ``polarity[line, word]``: 0 = cells as stored (PreSET
    cells, AppWOM10 / WOM-SET: writes RESET), 1 = complemented (PreRESET
    cells, AppWOM01: writes SET). ``approx_mask``: groups served by the AppWOM
    rule (a write that changes only the unimportant bit is ignored).

    On exhaustion (any group reaching its second generation) the unit (line,
    or word when ``word_unit``) is refreshed at once: with ``ping_pong`` every
    cell still in its erased value is flipped (PreRESET of a 10 unit, PreSET
    of a 01 unit) and the polarity switches; without it the unit is returned
    to its erased value (PreSET of a 10 unit). ``stored[t, line, word]``
    receives the value decoded from the cells right after the write (before
    its refresh): a group with two or three internal 1s is in its first
    generation, one with fewer in its second, whose codeword is the
    complement of the first-generation codeword of the same value.
    """
    cdef Py_ssize_t T = writes.shape[0], L = writes.shape[1], W = writes.shape[2]
    cdef Py_ssize_t t, l, w, l0, nl, LB = block_lines(W)
    cdef uint64_t gm = ((<uint64_t>1) << groups) - 1
    cdef uint64_t ap = approx_mask & gm
    cdef int nbytes = gather_table.shape[0], gbytes = (groups + 7) // 8, j
    cdef uint64_t v, hl, NH, NL, a, b, c, CH, CL, er, ign, TH, TL, ch, FA, FB, FC, s1, s2
    cdef uint64_t na, nb, nc, da, db, dc, g2, sH, sL, sv
    cdef uint32_t ws, wr, rs, rr, nref, nflip, rflip
    cdef bint line_ex, ex
    cdef uint8_t pol
    cdef uint64_t* slot
    cdef Acc acc
    if not acc_init(&acc, LB, W, 3, gbytes, gbytes, gbytes):
        raise MemoryError()
    try:
        with nogil:
            l0 = 0
            while l0 < L:
                nl = min(LB, L - l0)
                for t in range(T):
                    for l in range(l0, l0 + nl):
                        ws = 0; wr = 0; rs = 0; rr = 0; nref = 0
                        line_ex = False
                        for w in range(W):
                            v = writes[t, l, w]
                            hl = gather(v, gather_table, nbytes)
                            NH = hl & LOW32
                            NL = hl >> 32
                            a = cells[l, w, 0]
                            b = cells[l, w, 1]
                            c = cells[l, w, 2]
                            CH = ~(a & b) & gm
                            CL = ~(a & c) & gm
                            er = a & b & c
                            # AppWOM: an update of the unimportant bit alone is ignored
                            ign = ap & ~(NH ^ CH)
                            TH = NH
                            TL = (NL & ~ign) | (CL & ign)
                            ch = ((TH ^ CH) | (TL ^ CL)) & gm
                            # first-generation codeword of the target value; the second is its complement
                            FA = ~(TH & TL)
                            FB = ~(TH & ~TL)
                            FC = ~(~TH & TL)
                            s1 = ch & er
                            s2 = ch & ~er
                            na = ((a & ~ch) | (FA & s1) | (~FA & s2)) & gm
                            nb = ((b & ~ch) | (FB & s1) | (~FB & s2)) & gm
                            nc = ((c & ~ch) | (FC & s1) | (~FC & s2)) & gm
                            da = a & ~na
                            db = b & ~nb
                            dc = c & ~nc
                            nflip = popcount64(da) + popcount64(db) + popcount64(dc)
                            pol = polarity[l, w]
                            if pol:
                                ws += nflip
                            else:
                                wr += nflip
                            slot = acc_slot(&acc, l - l0, w)
                            add1(slot, da)
                            add1(slot + SLOT, db)
                            add1(slot + 2 * SLOT, dc)
                            cells[l, w, 0] = <uint32_t> na
                            cells[l, w, 1] = <uint32_t> nb
                            cells[l, w, 2] = <uint32_t> nc
                            if want_stored:
                                g2 = ~((na & nb) | (na & nc) | (nb & nc)) & gm
                                sH = ~((na ^ g2) & (nb ^ g2)) & gm
                                sL = ~((na ^ g2) & (nc ^ g2)) & gm
                                sv = 0
                                for j in range(gbytes):
                                    sv |= scatter_hi[j, (sH >> (8 * j)) & 0xFF]
                                    sv |= scatter_lo[j, (sL >> (8 * j)) & 0xFF]
                                stored[t, l, w] = <word_t> sv
                            ex = s2 != 0
                            if ex and word_unit:
                                nref += 1
                                rflip = refresh_word(cells, polarity, l, w, gm, ping_pong, slot)
                                if (pol != 0) == ping_pong:
                                    rs += rflip
                                else:
                                    rr += rflip
                            line_ex = line_ex or ex
                        if line_ex and not word_unit:
                            nref = 1
                            for w in range(W):
                                pol = polarity[l, w]
                                rflip = refresh_word(cells, polarity, l, w, gm, ping_pong,
                                                     acc_slot(&acc, l - l0, w))
                                if (pol != 0) == ping_pong:
                                    rs += rflip
                                else:
                                    rr += rflip
                        outcome[t, l, O_WS] = ws
                        outcome[t, l, O_WR] = wr
                        outcome[t, l, O_RS] = rs
                        outcome[t, l, O_RR] = rr
                        outcome[t, l, O_NREF] = nref
                    acc_tick(&acc, nl, wear, l0, cellmap)
                acc_flush(&acc, nl, True, wear, l0, cellmap)
                l0 += nl
    finally:
        free(acc.slots)

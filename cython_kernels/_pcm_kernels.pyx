# cython: language_level=3
"""Per-line PCM write kernels (private; use :mod:`archsim.pcm`).

Every kernel replays a chunk of writes ``lanes[t, line, j]`` (T writes to each
of L lines) against persistent per-line cell state. A *lane* is 64 bits of a
line: ``64 / word_bits`` consecutive data words (little-endian: word k of the
lane in bits ``[k*word_bits, (k+1)*word_bits)``), so one pass of word
operations serves several words. A line's last lane may be padded; ``valid``
masks say which bits (or groups) hold data. Lines are processed in blocks
small enough for their state to stay in cache, each block time step by time
step. Per write (t, line) a kernel fills ``outcome[t, line, :]`` with

    0 write_set      cells SET by the write itself
    1 write_reset    cells RESET by the write itself
    2 refresh_set    cells SET by the refresh the write triggered (PreSET)
    3 refresh_reset  cells RESET by the refresh the write triggered (PreRESET)
    4 refreshes      refresh units (line or words) refreshed after the write

and adds every programmed cell to ``wear[line, cell]`` (the line's
``(words, cells)`` wear flattened; ``cellmap[kind, bit]`` gives the offset of
a lane bit's cell from the lane's first cell).

Wear is counted with bit-sliced counters: for each lane of up to 64 cells, 6
bit-planes hold a 6-bit counter per cell and a flip mask is added with a
branchless ripple carry (a few word operations, not one per cell). Every 31
writes the planes move into byte-lane accumulators (8 cells per uint64, by a
table lookup per byte), which are drained into ``wear`` every 124 writes and
when the wear is read (:func:`acc_drain`). The counters persist between calls
(``acc_slots``, ``clock``: :class:`archsim.pcm.lanes.PendingWear`), so a call
costs nothing per line beyond its writes, however few they are. A cell gains at most 2 per write (the write and its
refresh), so nothing overflows. The WOM kernels count wear per refresh cycle
instead (see :func:`refresh_groups`).

The wear array is uint32 or uint64 (``wear_t``; both compiled): a cell of it gains at most
``Encoder.cell_flips_per_write`` per write (2 with a refresh, 1 without, the WOM codes' total read-out
included), and the stream widens a uint32 array to uint64 before the writes it has fed could take a
cell past 2**32 - 1 (:class:`archsim.pcm.stream.EncoderStream`), so the narrow width never wraps.

WOM codes are computed bit-parallel: the 32 groups of three cells of a lane
(G per word) are three masks (A, B, C: the codeword's left, middle, right
cell; bit g of each mask is group g). Cells are held in *internal* PreSET form (erased =
111, writes only clear bits); an AppWOM01 word holds the bitwise complement
physically, so only which kind (SET or RESET) a flip is charged as depends on
the polarity.
"""
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int32_t, int64_t
from libc.stdlib cimport calloc, free
from libc.math cimport fabs
from libc.string cimport memcpy

from _bits cimport PLANES, SPREAD, add1, add2, planes_to_bytes, popcount64, wear_t
from _outcome cimport O_NREF, O_RR, O_RS, O_WR, O_WS, PCM_FIELDS, pcm_outcome_names


#: Names of the per-write outcome fields, in their index order (``_outcome.pxd``).
OUTCOME_FIELDS = pcm_outcome_names()
#: Extra totals of :func:`outcome_summary` after the summed fields.
SUMMARY_FIELDS = OUTCOME_FIELDS + ("silent_writes", "set_writes", "reset_writes")

cdef enum:
    SLOT = 14              # uint64 per (lane, kind): 6 planes + 8 byte-lane accumulators
    PLANE_WRITES = 31      # writes between plane flushes: 31 writes x 2 flips <= 63
    BYTE_FLUSHES = 4       # plane flushes between drains: 4 x 62 <= 255
    BLOCK_LANES = 512      # lanes of lines processed together (their state stays in cache)

cdef enum:                 # raw modes
    MODE_DCW = 0
    MODE_PRESET = 1
    MODE_PRERESET = 2

cdef uint64_t LOW32 = 0xFFFFFFFFu

#: uint64 per (lane, kind) of the kernels' wear counters (:class:`archsim.pcm.lanes.PendingWear`).
ACC_SLOT = SLOT

cdef inline void add_pair(uint64_t* p, uint64_t m1, uint64_t m2) noexcept nogil:
    """Add the flips of a write (m1) and of its refresh (m2)."""
    if m2 == 0:           # DCW: no refresh
        add1(p, m1)
    elif m1 == m2:        # PreSET / PreRESET in steady state: the same cells twice
        add2(p, m1)
    else:
        add1(p, m1)
        add1(p, m2)


cdef inline void drain(uint64_t* slot, int nbytes, wear_t* wear_lane,
                       const int32_t* lane_cells) noexcept nogil:
    """Add one lane's byte-lane accumulators into per-cell wear and clear them."""
    cdef int j, b
    cdef uint64_t a
    for j in range(nbytes):
        a = slot[PLANES + j]
        if a:
            for b in range(8):
                wear_lane[lane_cells[8 * j + b]] += (a >> (8 * b)) & 0xFF
            slot[PLANES + j] = 0


cdef struct Acc:
    uint64_t* slots        # (block lines, lanes of a line, kinds, SLOT)
    Py_ssize_t words       # lanes of a line
    Py_ssize_t stride      # cells of wear per lane
    int lanes              # kinds of cells per lane (data; flags; WOM cells A, B, C)
    int nbytes[3]          # byte accumulators in use per lane
    int since              # writes since the last plane flush
    int flushes            # plane flushes since the last drain


cdef void acc_attach(Acc* acc, uint64_t[::1] slots, const int64_t[::1] clock, Py_ssize_t lines,
                     Py_ssize_t words, Py_ssize_t stride, int lanes, int nb0, int nb1, int nb2) except *:
    """Set up the counters of a kernel call over the stream's persistent ones: ``slots`` (lines x lanes of a
    line x kinds x SLOT uint64, from :class:`archsim.pcm.lanes.PendingWear`) and ``clock`` (writes since the
    last plane flush, plane flushes since the last drain; the same for every line, which all get every write)."""
    if slots.shape[0] != lines * words * lanes * SLOT or clock.shape[0] != 2:
        raise ValueError("the pending-wear counters do not fit the lines")
    acc.slots = &slots[0] if slots.shape[0] else NULL
    acc.words = words
    acc.stride = stride
    acc.lanes = lanes
    acc.nbytes[0] = nb0
    acc.nbytes[1] = nb1
    acc.nbytes[2] = nb2
    acc.since = <int> clock[0]
    acc.flushes = <int> clock[1]


cdef inline uint64_t* acc_block(Acc* acc, uint64_t* base, Py_ssize_t first_line, const int64_t[::1] clock) noexcept nogil:
    """Resume the counters at a block of lines starting at ``first_line``: every block starts from the clock
    the call started with (and ends at the same clock, as every block gets the same writes)."""
    acc.since = <int> clock[0]
    acc.flushes = <int> clock[1]
    acc.slots = base + first_line * acc.words * acc.lanes * SLOT
    return base


cdef inline uint64_t* acc_slot(Acc* acc, Py_ssize_t line_in_block, Py_ssize_t w) noexcept nogil:
    return acc.slots + (line_in_block * acc.words + w) * acc.lanes * SLOT


cdef void acc_flush(Acc* acc, Py_ssize_t nlines, bint force_drain, wear_t[:, ::1] wear,
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
                    drain(slot + lane * SLOT, acc.nbytes[lane], &wear[first_line + i, w * acc.stride],
                          &cellmap[lane, 0])
    acc.since = 0
    if do_drain:
        acc.flushes = 0


cdef inline void acc_tick(Acc* acc, Py_ssize_t nlines, wear_t[:, ::1] wear,
                          Py_ssize_t first_line, const int32_t[:, ::1] cellmap) noexcept nogil:
    """Count one write of every line of the block; flush the planes before they can overflow."""
    acc.since += 1
    if acc.since == PLANE_WRITES:
        acc_flush(acc, nlines, False, wear, first_line, cellmap)


def acc_drain(uint64_t[::1] slots, wear_t[:, ::1] wear, const int32_t[:, ::1] cellmap,
              const Py_ssize_t[::1] rows, Py_ssize_t words, Py_ssize_t stride, int lanes, int nb0, int nb1, int nb2):
    """Add the wear the counters of ``rows`` hold into ``wear`` (lines, cells) and clear them.

    ``slots``: the persistent counters (lines x ``words`` lanes x ``lanes`` kinds x SLOT); the kernels
    drain them themselves every 124 writes, so this moves at most 124 writes' worth per cell. Draining
    any subset of lines at any time leaves the figures unchanged (a drained line's counters are empty,
    which the shared clock only over-estimates)."""
    cdef Py_ssize_t r, i, w, L = wear.shape[0]
    cdef int lane
    cdef int nb[3]
    cdef uint64_t* slot
    nb[0] = nb0
    nb[1] = nb1
    nb[2] = nb2
    if slots.shape[0] != L * words * lanes * SLOT or lanes > 3 or cellmap.shape[0] < lanes:
        raise ValueError("acc_drain: the counters do not fit the wear array")
    for i in range(rows.shape[0]):
        if rows[i] < 0 or rows[i] >= L:
            raise IndexError("acc_drain: line index out of range")
    with nogil:
        for i in range(rows.shape[0]):
            r = rows[i]
            for w in range(words):
                slot = &slots[(r * words + w) * lanes * SLOT]
                for lane in range(lanes):
                    planes_to_bytes(slot + lane * SLOT, nb[lane])
                    drain(slot + lane * SLOT, nb[lane], &wear[r, w * stride], &cellmap[lane, 0])


cdef inline void put_outcome(uint32_t* o, uint32_t ws, uint32_t wr, uint32_t rs, uint32_t rr,
                             uint32_t nref) noexcept nogil:
    """Fill one write's outcome fields (``o`` points at ``outcome[t, line, 0]``)."""
    o[O_WS] = ws
    o[O_WR] = wr
    o[O_RS] = rs
    o[O_RR] = rr
    o[O_NREF] = nref


cdef inline Py_ssize_t block_lines(Py_ssize_t lanes) noexcept nogil:
    return max(1, BLOCK_LANES // max(1, lanes))


def raw_chunk(const uint64_t[:, :, ::1] writes, uint64_t[:, ::1] cells,
              wear_t[:, ::1] wear, uint32_t[:, :, ::1] outcome,
              const int32_t[:, ::1] cellmap, const uint64_t[::1] valid,
              int mode, bint word_unit, int word_bits, uint64_t[::1] acc_slots, int64_t[::1] clock):
    """PreSET / PreRESET / DCW: compare-and-write each lane, then (PreSET/PreRESET) refresh it.

    ``cells[line, lane]``: the physical cells. ``mode``: 0 DCW (no refresh),
    1 PreSET (SET every 0 cell after the write), 2 PreRESET (RESET every 1
    cell after the write). With ``word_unit`` every word the refresh programs
    counts as one refresh, otherwise every line.
    """
    cdef Py_ssize_t T = writes.shape[0], L = writes.shape[1], J = writes.shape[2]
    cdef Py_ssize_t t, l, j, l0, nl, LB = block_lines(J)
    cdef int per = 64 // word_bits, k
    cdef uint64_t wmask = (~<uint64_t>0) >> (64 - word_bits)
    cdef uint64_t new, old, vm, setm, resetm, rm, after
    cdef uint32_t ws, wr, rs, rr, nrw
    cdef const uint64_t* wrow
    cdef uint64_t* crow
    cdef uint64_t* slot
    cdef Acc acc
    cdef uint64_t* base
    acc_attach(&acc, acc_slots, clock, L, J, per * word_bits, 1, 8, 0, 0)
    base = acc.slots
    with nogil:
        l0 = 0
        while l0 < L:
            nl = min(LB, L - l0)
            acc_block(&acc, base, l0, clock)
            for t in range(T):
                for l in range(l0, l0 + nl):
                    ws = 0; wr = 0; rs = 0; rr = 0; nrw = 0
                    wrow = &writes[t, l, 0]
                    crow = &cells[l, 0]
                    slot = acc_slot(&acc, l - l0, 0)
                    for j in range(J):
                        vm = valid[j]
                        new = wrow[j]
                        old = crow[j]
                        setm = ~old & new & vm
                        resetm = old & ~new & vm
                        ws += popcount64(setm)
                        wr += popcount64(resetm)
                        if mode == MODE_PRESET:
                            rm = ~new & vm
                            rs += popcount64(rm)
                            after = ~(<uint64_t>0)
                        elif mode == MODE_PRERESET:
                            rm = new & vm
                            rr += popcount64(rm)
                            after = 0
                        else:
                            rm = 0
                            after = new
                        if word_unit:
                            for k in range(per):
                                nrw += ((rm >> (k * word_bits)) & wmask) != 0
                        else:
                            nrw |= rm != 0
                        crow[j] = after
                        add_pair(slot + j * SLOT, setm | resetm, rm)
                    put_outcome(&outcome[t, l, 0], ws, wr, rs, rr, nrw)
                acc_tick(&acc, nl, wear, l0, cellmap)
            l0 += nl
        clock[0] = acc.since
        clock[1] = acc.flushes


def fnw_chunk(const uint64_t[:, :, ::1] writes, uint64_t[:, ::1] cells, uint64_t[:, ::1] flags,
              wear_t[:, ::1] wear, uint32_t[:, :, ::1] outcome, uint64_t[:, :, ::1] stored,
              const int32_t[:, ::1] cellmap, const uint64_t[::1] valid,
              int word_bits, int partition_bits, bint want_stored, uint64_t[::1] acc_slots, int64_t[::1] clock):
    """Flip-N-Write: per partition of ``partition_bits`` bits, store the data or its
    inverse, whichever programs fewer cells (the partition's flag cell included;
    ties store the data as is).

    Lane partition p covers bits ``[64-(p+1)N, 64-pN)``; its flag is bit p of
    ``flags[line, lane]``. Partitions never straddle words (N divides the word
    width). ``stored[t, line, lane]`` gets the value decoded from the cells
    and flags right after the write.
    """
    cdef Py_ssize_t T = writes.shape[0], L = writes.shape[1], J = writes.shape[2]
    cdef Py_ssize_t t, l, j, l0, nl, LB = block_lines(J)
    cdef int P = 64 // partition_bits, p, d_keep, d_flip
    cdef int per = 64 // word_bits
    cdef uint64_t pmask_base = (~<uint64_t>0) >> (64 - partition_bits)
    cdef uint64_t pm, vm, new, old, cellv, oldf, newf, fb, setm, resetm, fset, freset, sv, diff, inv, inv2
    cdef int dh, dl
    cdef uint32_t ws, wr
    cdef const uint64_t* wrow
    cdef uint64_t* crow
    cdef uint64_t* frow
    cdef uint64_t* slot
    cdef uint64_t* slot0
    cdef Acc acc
    cdef uint64_t* base
    acc_attach(&acc, acc_slots, clock, L, J, per * (word_bits + word_bits // partition_bits), 2, 8, (P + 7) // 8, 0)
    base = acc.slots
    with nogil:
        l0 = 0
        while l0 < L:
            nl = min(LB, L - l0)
            acc_block(&acc, base, l0, clock)
            for t in range(T):
                for l in range(l0, l0 + nl):
                    ws = 0; wr = 0
                    wrow = &writes[t, l, 0]
                    crow = &cells[l, 0]
                    frow = &flags[l, 0]
                    slot0 = acc_slot(&acc, l - l0, 0)
                    for j in range(J):
                        vm = valid[j]
                        new = wrow[j]
                        old = crow[j]
                        oldf = frow[j]
                        diff = new ^ old
                        cellv = new
                        newf = 0
                        if P == 2:
                            # the default (32-bit partitions), unrolled: p = 0 is the high half
                            dh = popcount64(diff >> 32)
                            dl = popcount64(diff & LOW32)
                            fb = oldf & 1
                            inv = <uint64_t>((32 - dh + <int>(1 - fb)) < (dh + <int>fb)) & ((vm >> 32) != 0)
                            fb = (oldf >> 1) & 1
                            inv2 = <uint64_t>((32 - dl + <int>(1 - fb)) < (dl + <int>fb)) & ((vm & LOW32) != 0)
                            cellv ^= (~LOW32 & (<uint64_t>0 - inv)) | (LOW32 & (<uint64_t>0 - inv2))
                            newf = inv | (inv2 << 1)
                        else:
                            for p in range(P):
                                pm = pmask_base << (64 - (p + 1) * partition_bits)
                                fb = (oldf >> p) & 1
                                d_keep = popcount64(diff & pm) + <int>fb
                                d_flip = partition_bits - popcount64(diff & pm) + <int>(1 - fb)
                                # branchless: invert the partition when that programs fewer cells
                                inv = <uint64_t>(d_flip < d_keep) & ((pm & vm) != 0)
                                cellv ^= pm & (<uint64_t>0 - inv)
                                newf |= inv << p
                        setm = ~old & cellv & vm
                        resetm = old & ~cellv & vm
                        fset = ~oldf & newf
                        freset = oldf & ~newf
                        ws += popcount64(setm) + popcount64(fset)
                        wr += popcount64(resetm) + popcount64(freset)
                        crow[j] = cellv
                        frow[j] = newf
                        slot = slot0 + j * 2 * SLOT
                        add1(slot, setm | resetm)
                        if fset | freset:   # flag cells flip rarely
                            add1(slot + SLOT, fset | freset)
                        if want_stored:
                            sv = cellv
                            for p in range(P):
                                if (newf >> p) & 1:
                                    sv ^= pmask_base << (64 - (p + 1) * partition_bits)
                            stored[t, l, j] = sv
                    put_outcome(&outcome[t, l, 0], ws, wr, 0, 0, 0)
                acc_tick(&acc, nl, wear, l0, cellmap)
            l0 += nl
        clock[0] = acc.since
        clock[1] = acc.flushes


cdef inline uint64_t gather(uint64_t v, const uint64_t* g) noexcept nogil:
    """(important mask) | (unimportant mask) << 32 of a lane, by 8 byte lookups
    (``g``: the (8, 256) gather table, C-contiguous)."""
    return (g[v & 0xFF] | g[256 + ((v >> 8) & 0xFF)] | g[512 + ((v >> 16) & 0xFF)]
            | g[768 + ((v >> 24) & 0xFF)] | g[1024 + ((v >> 32) & 0xFF)] | g[1280 + ((v >> 40) & 0xFF)]
            | g[1536 + ((v >> 48) & 0xFF)] | g[1792 + (v >> 56)])


cdef inline void refresh_groups(uint32_t* cell3, uint32_t* pol_lane, uint64_t* cyc_lane, uint64_t wg,
                                int word_groups, bint ping_pong, uint64_t* slot,
                                uint32_t* rs, uint32_t* rr) noexcept nogil:
    """Refresh the groups ``wg`` of one lane (an exhausted word, or the whole lane).

    ``cell3``: the lane's three cell masks; ``pol_lane``: its polarity mask;
    ``cyc_lane``: the refresh-cycle counters of its words.

    Ping-pong flips the cells still at their erased value (internal 1s): a
    PreRESET of 10 groups, a PreSET of 01 groups, which then switch
    polarity. Without ping-pong the programmed cells (internal 0s) return to
    the erased value: a PreSET of 10 groups, a PreRESET of 01 groups. Either
    way the groups end erased (internal 111).

    Wear is counted per refresh cycle rather than per write: with ping-pong
    every cell of the unit flips exactly once per cycle (by a write or by the
    refresh), so the cycle is counted once per word in ``cycles``; without it
    every programmed cell flips twice (the write and the refresh back) and
    nothing else flips, so the programmed cells gain 2 here. The cells
    programmed in the current, unfinished cycle are added when wear is read.
    """
    cdef uint64_t ra, rb, rc, a, b, c, pol = pol_lane[0], setsel
    cdef int k, per = 32 // word_groups
    cdef uint64_t wgm = ((<uint64_t>1) << word_groups) - 1
    a = cell3[0]
    b = cell3[1]
    c = cell3[2]
    if ping_pong:
        ra = a & wg
        rb = b & wg
        rc = c & wg
        setsel = pol
        pol_lane[0] = <uint32_t> (pol ^ wg)
        for k in range(per):
            if wg & (wgm << (k * word_groups)):
                cyc_lane[k] += 1
    else:
        ra = ~a & wg
        rb = ~b & wg
        rc = ~c & wg
        setsel = ~pol
        add2(slot, ra)
        add2(slot + SLOT, rb)
        add2(slot + 2 * SLOT, rc)
    cell3[0] = <uint32_t> (a | wg)
    cell3[1] = <uint32_t> (b | wg)
    cell3[2] = <uint32_t> (c | wg)
    rs[0] += popcount64(ra & setsel) + popcount64(rb & setsel) + popcount64(rc & setsel)
    rr[0] += popcount64(ra & ~setsel) + popcount64(rb & ~setsel) + popcount64(rc & ~setsel)


def wom_chunk(const uint64_t[:, :, ::1] writes, uint32_t[:, :, ::1] cells, uint32_t[:, ::1] polarity,
              uint64_t[:, ::1] cycles, wear_t[:, ::1] wear, uint32_t[:, :, ::1] outcome, uint64_t[:, :, ::1] stored,
              const int32_t[:, ::1] cellmap, const uint64_t[::1] valid_groups,
              const uint64_t[:, ::1] gather_table,
              const uint64_t[:, ::1] scatter_hi, const uint64_t[:, ::1] scatter_lo,
              uint64_t approx_mask, int word_groups,
              bint ping_pong, bint word_unit, bint want_stored, uint64_t[::1] acc_slots, int64_t[::1] clock):
    """WOM-SET and AppWOM (Rivest-Shamir 2-bit/3-cell code, optionally approximate).

    A lane holds 32 groups (``word_groups`` per word). ``cells[line, lane,
    0..2]``: group masks A, B, C of the codewords' left, middle and right
    cells, in internal PreSET form (erased = 111; between writes every group
    is in generation <= 1, thanks to eager refresh). ``polarity[line, lane]``:
    groups whose cells are physically complemented (01: PreRESET cells,
    AppWOM01, writes SET); the others are 10 (PreSET cells: AppWOM10 or
    WOM-SET, writes RESET). ``approx_mask``: groups served by the AppWOM rule
    (a write changing only the unimportant bit is ignored).

    On exhaustion (a group reaching its second generation) the unit (line, or
    word when ``word_unit``) is refreshed at once (:func:`refresh_groups`,
    which also counts the wear of the completed cycle: ``cycles[line, word]``
    with ping-pong, ``wear`` without). With ping-pong nothing is ever added to the pending-wear counters
    (``acc_slots`` stay zero, ``clock`` stays put), so the kernel skips their periodic flushes, a pass
    over 336 bytes of counters per lane every 31 writes.
    ``stored[t, line, lane]`` receives the value decoded from the cells right
    after the write (before its refresh): a group with two or three internal
    1s is in its first generation, one with fewer in its second, whose
    codeword is the complement of the first-generation codeword of its value.
    """
    cdef Py_ssize_t T = writes.shape[0], L = writes.shape[1], J = writes.shape[2]
    cdef Py_ssize_t t, l, j, l0, nl, LB = block_lines(J)
    cdef int per = 32 // word_groups, k
    cdef uint64_t wgm = ((<uint64_t>1) << word_groups) - 1
    cdef uint64_t gm, ap, pol, v, hl, NH, NL, a, b, c, CH, CL, er, ign, TH, TL, ch, FA, FB, FC, s1, s2
    cdef uint64_t na, nb, nc, da, db, dc, g2, sH, sL, sv, wg
    cdef uint32_t ws, wr, rs, rr, nref, nflip, nset
    cdef bint line_ex
    cdef const uint64_t* wrow
    cdef uint32_t* crow
    cdef uint32_t* prow
    cdef const uint64_t* gtab = &gather_table[0, 0]
    cdef uint64_t* slot
    cdef uint64_t* cyc
    cdef Acc acc
    cdef uint64_t* base
    acc_attach(&acc, acc_slots, clock, L, J, per * 3 * word_groups, 3, 4, 4, 4)
    base = acc.slots
    with nogil:
        l0 = 0
        while l0 < L:
            nl = min(LB, L - l0)
            acc_block(&acc, base, l0, clock)
            for t in range(T):
                for l in range(l0, l0 + nl):
                    ws = 0; wr = 0; rs = 0; rr = 0; nref = 0
                    line_ex = False
                    wrow = &writes[t, l, 0]
                    crow = &cells[l, 0, 0]
                    prow = &polarity[l, 0]
                    for j in range(J):
                        gm = valid_groups[j]
                        ap = approx_mask & gm
                        v = wrow[j]
                        hl = gather(v, gtab)
                        NH = hl & LOW32
                        NL = hl >> 32
                        a = crow[3 * j]
                        b = crow[3 * j + 1]
                        c = crow[3 * j + 2]
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
                        na = (a & ~ch) | (FA & s1) | (~FA & s2)
                        nb = (b & ~ch) | (FB & s1) | (~FB & s2)
                        nc = (c & ~ch) | (FC & s1) | (~FC & s2)
                        da = a & ~na
                        db = b & ~nb
                        dc = c & ~nc
                        nflip = popcount64(da) + popcount64(db) + popcount64(dc)
                        pol = prow[j]
                        if pol == 0:
                            wr += nflip
                        elif pol == gm:
                            ws += nflip
                        else:
                            nset = popcount64(da & pol) + popcount64(db & pol) + popcount64(dc & pol)
                            ws += nset
                            wr += nflip - nset
                        crow[3 * j] = <uint32_t> na
                        crow[3 * j + 1] = <uint32_t> nb
                        crow[3 * j + 2] = <uint32_t> nc
                        if want_stored:
                            g2 = ~((na & nb) | (na & nc) | (nb & nc)) & gm
                            sH = ~((na ^ g2) & (nb ^ g2)) & gm
                            sL = ~((na ^ g2) & (nc ^ g2)) & gm
                            sv = 0
                            for k in range(4):
                                sv |= scatter_hi[k, (sH >> (8 * k)) & 0xFF]
                                sv |= scatter_lo[k, (sL >> (8 * k)) & 0xFF]
                            stored[t, l, j] = sv
                        if s2:
                            if word_unit:
                                for k in range(per):
                                    wg = wgm << (k * word_groups)
                                    if s2 & wg:
                                        nref += 1
                                        refresh_groups(crow + 3 * j, prow + j, &cycles[l, j * per], wg,
                                                       word_groups, ping_pong, acc_slot(&acc, l - l0, j),
                                                       &rs, &rr)
                            else:
                                line_ex = True
                    if line_ex:
                        nref = 1
                        slot = acc_slot(&acc, l - l0, 0)
                        cyc = &cycles[l, 0]
                        for j in range(J):
                            refresh_groups(crow + 3 * j, prow + j, cyc + j * per, valid_groups[j],
                                           word_groups, ping_pong, slot + j * 3 * SLOT, &rs, &rr)
                    put_outcome(&outcome[t, l, 0], ws, wr, rs, rr, nref)
                if not ping_pong:   # with ping-pong nothing is added to the counters (cycles count the wear)
                    acc_tick(&acc, nl, wear, l0, cellmap)
            l0 += nl
        clock[0] = acc.since
        clock[1] = acc.flushes


def outcome_summary(const uint32_t[:, :, ::1] outcome, uint64_t[::1] totals):
    """Add one chunk's outcomes into ``totals``: the five outcome fields summed, then the
    line writes that program nothing (silent), that SET any cell, and that only RESET."""
    cdef Py_ssize_t T = outcome.shape[0], L = outcome.shape[1], t, l
    cdef uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, silent = 0, setw = 0, resetw = 0
    cdef uint32_t ws, wr
    with nogil:
        for t in range(T):
            for l in range(L):
                ws = outcome[t, l, O_WS]
                wr = outcome[t, l, O_WR]
                s0 += ws
                s1 += wr
                s2 += outcome[t, l, O_RS]
                s3 += outcome[t, l, O_RR]
                s4 += outcome[t, l, O_NREF]
                silent += (ws == 0) & (wr == 0)
                setw += ws != 0
                resetw += (ws == 0) & (wr != 0)
        totals[O_WS] += s0; totals[O_WR] += s1; totals[O_RS] += s2; totals[O_RR] += s3; totals[O_NREF] += s4
        totals[PCM_FIELDS] += silent; totals[PCM_FIELDS + 1] += setw; totals[PCM_FIELDS + 2] += resetw


def price_chunk(const uint32_t[:, :, ::1] outcome, int64_t set_ps, int64_t reset_ps, int64_t set_read_ps,
                int64_t reset_read_ps, int64_t[:, ::1] write_ps, int64_t[:, ::1] refresh_ps, uint64_t[:, ::1] sums):
    """One pass over a chunk's outcomes (T, lines, fields) for the timing model, without a write-power
    budget: each write's service time ``write_ps[t, l]`` (``set_read_ps`` if it SETs a cell, else
    ``reset_read_ps`` if it RESETs one, else 0: the write's pulse, with the line read first where the
    caller folded it in), its refresh's ``refresh_ps[t, l]`` (``set_ps`` / ``reset_ps`` / 0 by the same
    rule over the refresh's cells), and per line the cells SET and RESET by the writes and by the
    refreshes, summed over the chunk into ``sums[l, 0..3]`` (overwritten)."""
    cdef Py_ssize_t T = outcome.shape[0], L = outcome.shape[1], t, l
    cdef uint32_t ws, wr, rs, rr
    cdef const uint32_t* o
    if outcome.shape[2] < PCM_FIELDS or write_ps.shape[0] != T or write_ps.shape[1] != L \
            or refresh_ps.shape[0] != T or refresh_ps.shape[1] != L or sums.shape[0] != L or sums.shape[1] != 4:
        raise ValueError("price_chunk: the arrays do not fit the outcome")
    with nogil:
        for l in range(L):
            sums[l, 0] = 0
            sums[l, 1] = 0
            sums[l, 2] = 0
            sums[l, 3] = 0
        for t in range(T):
            for l in range(L):
                o = &outcome[t, l, 0]
                ws = o[O_WS]
                wr = o[O_WR]
                rs = o[O_RS]
                rr = o[O_RR]
                write_ps[t, l] = set_read_ps if ws else (reset_read_ps if wr else 0)
                refresh_ps[t, l] = set_ps if rs else (reset_ps if rr else 0)
                sums[l, 0] += ws
                sums[l, 1] += wr
                sums[l, 2] += rs
                sums[l, 3] += rr


def wom_total_wear(const wear_t[:, ::1] wear, const uint32_t[:, :, ::1] cells, const uint64_t[:, ::1] cycles,
                   wear_t[:, ::1] out, int word_groups, bint ping_pong):
    """The WOM codes' per-cell wear read-out, one pass in memory order.

    ``wear``: (lines, words * 3G) the flips the kernel counted at refreshes; ``cells``: (lines, lanes, 3)
    the group masks in internal PreSET form; ``cycles``: (lines, padded words) completed ping-pong cycles.
    ``out[l, 3G w + 3q + kind] = wear[...] + cycles[l, w] (with ping-pong) + 1 if that cell is programmed
    in the current cycle (an internal 0: group q of word w, codeword cell ``kind``)``.
    """
    cdef Py_ssize_t L = wear.shape[0], C = wear.shape[1], G = word_groups
    cdef Py_ssize_t W = C // (3 * G), per = 32 // G, l, w, q, g, base
    cdef uint64_t cyc
    cdef uint32_t m0, m1, m2
    if out.shape[0] != L or out.shape[1] != C or cells.shape[0] != L or cycles.shape[0] != L \
            or cycles.shape[1] < W or cells.shape[1] * per < W:
        raise ValueError("wom_total_wear: shapes do not match")
    with nogil:
        for l in range(L):
            for w in range(W):
                cyc = cycles[l, w] if ping_pong else 0
                base = 3 * G * w
                g = (w % per) * G
                m0 = ~cells[l, w // per, 0] >> g
                m1 = ~cells[l, w // per, 1] >> g
                m2 = ~cells[l, w // per, 2] >> g
                for q in range(G):       # cells in memory order: group q, then codeword cell 0, 1, 2
                    out[l, base] = wear[l, base] + cyc + ((m0 >> q) & 1)
                    out[l, base + 1] = wear[l, base + 1] + cyc + ((m1 >> q) & 1)
                    out[l, base + 2] = wear[l, base + 2] + cyc + ((m2 >> q) & 1)
                    base += 3


cdef struct RelStats:
    Py_ssize_t inexact     # words whose bits differ
    Py_ssize_t nonzero     # nonzero written values
    double mx              # the largest relative error (NaNs aside)
    bint nan               # a relative error is NaN


cdef inline double rel_one(uint32_t wb, uint32_t sb, float wf, float sf, RelStats* st) noexcept nogil:
    """One word's relative error ``|s - w| / |w|`` in float64 from the float32 values (0 where ``w == 0``),
    counted into ``st``: the same IEEE operations as the numpy expression of ``ApproximationError.add_numpy``
    (branch-free selects, so the compiler can vectorise the leaf loop)."""
    cdef double w = wf, s = sf, d = fabs(w), r
    cdef bint nz = w != 0.0
    st.inexact += wb != sb
    st.nonzero += nz
    r = fabs(s - w) / (d if nz else 1.0)
    r = r if nz else 0.0
    st.nan |= r != r
    if r > st.mx:
        st.mx = r
    return r


cdef double rel_pairwise(const uint32_t* wb, const uint32_t* sb, const float* wf, const float* sf,
                         Py_ssize_t n, RelStats* st) noexcept nogil:
    """numpy's pairwise sum (``np.add.reduce`` of a contiguous float64 array, in its order: blocks of at
    most 128 summed by 8 accumulators, halves split at a multiple of 8) of the relative errors of ``n``
    words, computed on the fly, so the errors are never stored."""
    cdef Py_ssize_t i, n2
    cdef double r0, r1, r2, r3, r4, r5, r6, r7, res
    cdef double buf[128]
    if n < 8:
        res = -0.0
        for i in range(n):
            res += rel_one(wb[i], sb[i], wf[i], sf[i], st)
        return res
    elif n <= 128:
        for i in range(n):
            buf[i] = rel_one(wb[i], sb[i], wf[i], sf[i], st)
        r0 = buf[0]; r1 = buf[1]; r2 = buf[2]; r3 = buf[3]
        r4 = buf[4]; r5 = buf[5]; r6 = buf[6]; r7 = buf[7]
        i = 8
        while i < n - (n % 8):
            r0 += buf[i]; r1 += buf[i + 1]; r2 += buf[i + 2]; r3 += buf[i + 3]
            r4 += buf[i + 4]; r5 += buf[i + 5]; r6 += buf[i + 6]; r7 += buf[i + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += buf[i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return (rel_pairwise(wb, sb, wf, sf, n2, st)
            + rel_pairwise(wb + n2, sb + n2, wf + n2, sf + n2, n - n2, st))


def approx_rel_stats(const uint32_t[::1] written, const uint32_t[::1] stored, const float[::1] written_f,
                     const float[::1] stored_f):
    """The approximation statistics of one block of float32 words in one pass, the errors not stored.

    ``written_f`` and ``stored_f`` are ``written`` and ``stored`` viewed as float32 (the same memory). The
    relative error of a word is ``|s - w| / |w|`` in float64 (0 where ``w == 0``); their sum is the one numpy
    computes over the array of them (``rel.sum()``: 0 + numpy's pairwise sum, bit for bit). Returns (words
    whose bits differ, nonzero written values, the maximum relative error with numpy's NaN propagation, the
    sum)."""
    cdef Py_ssize_t n = written.shape[0]
    cdef RelStats st
    cdef double total = 0.0
    if stored.shape[0] != n or written_f.shape[0] != n or stored_f.shape[0] != n:
        raise ValueError("approx_rel_stats: shapes do not match")
    st.inexact = 0
    st.nonzero = 0
    st.mx = 0.0
    st.nan = False
    if n:
        with nogil:
            total = 0.0 + rel_pairwise(&written[0], &stored[0], &written_f[0], &stored_f[0], n, &st)
    return st.inexact, st.nonzero, (float("nan") if st.nan else st.mx), total

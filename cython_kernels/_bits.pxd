# Bit primitives shared by the kernels: popcount / count-trailing-zeros, and the
# bit-sliced per-cell counters (PLANES bit-planes per lane of up to 64 cells, then
# byte-lane accumulators at slot[PLANES:PLANES + 8]) that count wear without a loop
# over cells.
from libc.stdint cimport uint32_t, uint64_t

# The per-cell wear array a kernel drains its counters into: uint32 (a stream's default, widened to
# uint64 before any counter could overflow: archsim.pcm.stream.EncoderStream) or uint64; every kernel
# taking one is compiled for both.
ctypedef fused wear_t:
    uint32_t
    uint64_t

cdef extern from "archsim_bits.h":
    int popcount64 "archsim_popcount64"(uint64_t x) nogil
    int ctz64 "archsim_ctz64"(uint64_t x) nogil
    const uint64_t SPREAD "ARCHSIM_SPREAD"[256]

cdef enum:
    PLANES = 6             # bit-planes of a counter: 0..63


cdef inline void add1(uint64_t* p, uint64_t m) noexcept nogil:
    """Add 1 to the 6-bit counter of every cell set in ``m`` (branchless ripple carry)."""
    cdef uint64_t c
    c = p[0] & m; p[0] ^= m; m = c
    c = p[1] & m; p[1] ^= m; m = c
    c = p[2] & m; p[2] ^= m; m = c
    c = p[3] & m; p[3] ^= m; m = c
    c = p[4] & m; p[4] ^= m; m = c
    p[5] ^= m


cdef inline void add2(uint64_t* p, uint64_t m) noexcept nogil:
    """Add 2 to the counter of every cell set in ``m``."""
    cdef uint64_t c
    c = p[1] & m; p[1] ^= m; m = c
    c = p[2] & m; p[2] ^= m; m = c
    c = p[3] & m; p[3] ^= m; m = c
    c = p[4] & m; p[4] ^= m; m = c
    p[5] ^= m


cdef inline void planes_to_bytes(uint64_t* slot, int nbytes) noexcept nogil:
    """Move the plane counters of one lane into its byte-lane accumulators (8 cells per
    uint64 at ``slot[PLANES + j]``) and clear the planes."""
    cdef int j
    cdef uint64_t p0 = slot[0], p1 = slot[1], p2 = slot[2], p3 = slot[3], p4 = slot[4], p5 = slot[5]
    if (p0 | p1 | p2 | p3 | p4 | p5) == 0:
        return
    for j in range(nbytes):
        slot[PLANES + j] += (SPREAD[p0 & 0xFF] + (SPREAD[p1 & 0xFF] << 1) + (SPREAD[p2 & 0xFF] << 2)
                             + (SPREAD[p3 & 0xFF] << 3) + (SPREAD[p4 & 0xFF] << 4)
                             + (SPREAD[p5 & 0xFF] << 5))
        p0 >>= 8; p1 >>= 8; p2 >>= 8; p3 >>= 8; p4 >>= 8; p5 >>= 8
    slot[0] = 0; slot[1] = 0; slot[2] = 0; slot[3] = 0; slot[4] = 0; slot[5] = 0

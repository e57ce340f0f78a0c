/* Bit primitives shared by archsim's Cython kernels (declared in _bits.pxd). */
#ifndef ARCHSIM_BITS_H
#define ARCHSIM_BITS_H
#include <stdint.h>

static inline int archsim_popcount64(uint64_t x) { return __builtin_popcountll(x); }
static inline int archsim_ctz64(uint64_t x) { return __builtin_ctzll(x); }

/* ARCHSIM_SPREAD[v]: byte j holds bit j of v (moves a bit-plane's bits into byte lanes). */
#define ARCHSIM_S1(v) ((uint64_t)((v) & 1) | ((uint64_t)(((v) >> 1) & 1) << 8) \
    | ((uint64_t)(((v) >> 2) & 1) << 16) | ((uint64_t)(((v) >> 3) & 1) << 24) \
    | ((uint64_t)(((v) >> 4) & 1) << 32) | ((uint64_t)(((v) >> 5) & 1) << 40) \
    | ((uint64_t)(((v) >> 6) & 1) << 48) | ((uint64_t)(((v) >> 7) & 1) << 56))
#define ARCHSIM_S4(v) ARCHSIM_S1(v), ARCHSIM_S1((v) + 1), ARCHSIM_S1((v) + 2), ARCHSIM_S1((v) + 3)
#define ARCHSIM_S16(v) ARCHSIM_S4(v), ARCHSIM_S4((v) + 4), ARCHSIM_S4((v) + 8), ARCHSIM_S4((v) + 12)
#define ARCHSIM_S64(v) ARCHSIM_S16(v), ARCHSIM_S16((v) + 16), ARCHSIM_S16((v) + 32), ARCHSIM_S16((v) + 48)
static const uint64_t ARCHSIM_SPREAD[256] = {
    ARCHSIM_S64(0), ARCHSIM_S64(64), ARCHSIM_S64(128), ARCHSIM_S64(192)
};

#endif

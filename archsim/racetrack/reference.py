"""Plain Python reference of the racetrack model (the tests' oracle).

Written straight from racetrack.md and docs/racetrack.md, independent of the kernels: positions
are lists of 0/1, shifts are counted by stepping the alignment one position at a time, the m-of-n
code is the colex unranking of M-subsets with Python integers (``math.comb``), and fixed-ones edits
the float32 bits one by one. Slow, and meant to be obviously right.
"""
from __future__ import annotations

import math
import struct

import numpy as np

from archsim.racetrack.config import RacetrackConfig
from archsim.racetrack.ports import PortModel
from archsim.racetrack.schemes import MOFN_TABLE


def bits(value: int, n: int) -> list[int]:
    """Positions 0..n-1 of ``value`` (position i = bit i)."""
    return [(value >> i) & 1 for i in range(n)]


def unbits(cells: list[int]) -> int:
    return sum(b << i for i, b in enumerate(cells))


# --------------------------------------------------------------------------- m-of-n

def mofn_encode(x: int, w: int) -> list[int]:
    """The M-subset of N positions of rank x (colex): x = sum over j of C(c_j, j), c_M > ... > c_1."""
    N, M = MOFN_TABLE[w]
    assert 0 <= x < 2**w <= math.comb(N, M)
    cells = [0] * N
    for j in range(M, 0, -1):
        c = j - 1
        while c + 1 < N and math.comb(c + 1, j) <= x:
            c += 1
        cells[c] = 1
        x -= math.comb(c, j)
    assert x == 0
    return cells


def mofn_decode(cells: list[int], w: int) -> int:
    N, M = MOFN_TABLE[w]
    ones = [i for i, b in enumerate(cells) if b]
    assert len(ones) == M
    return sum(math.comb(c, j) for j, c in enumerate(ones, 1))


# --------------------------------------------------------------------------- fixed-ones

def fixed_ones_word(u: int, k: int) -> tuple[int, bool]:
    """(stored word, reachable) of float32 bit pattern ``u`` under fixed-ones with K = k."""
    b = bits(u, 32)
    if all(b[23:31]):                       # Inf / NaN: stored exactly
        return u, sum(b) == k
    while sum(b) > k:
        low = [i for i in range(23) if b[i]]
        if not low:
            return u, False
        b[low[0]] = 0
    while sum(b) < k:
        low = [i for i in range(23) if not b[i]]
        if not low:
            return u, False
        b[low[0]] = 1
    return unbits(b), True


def float_of(u: int) -> float:
    return struct.unpack("<f", struct.pack("<I", u))[0]


# --------------------------------------------------------------------------- schemes

def write_segment(kernel: str, w: int, n: int, cells: list[int]) -> tuple[int, int, int, list[int]]:
    """(insertions, removals, detects, new cells) of writing w-bit ``n`` over ``cells``."""
    nb = bits(n, w)
    if kernel == "naive":
        return sum(nb), w, 0, nb
    if kernel == "dcw":
        return (sum(1 for o, x in zip(cells, nb) if o == 0 and x == 1),
                sum(1 for o, x in zip(cells, nb) if o == 1 and x == 0), w, nb)
    if kernel == "pw":
        d = sum(nb) - sum(cells)
        return max(0, d), max(0, -d), w, nb
    if kernel in ("fnw", "pw+fnw"):
        a = nb + [0]
        b = [1 - x for x in nb] + [1]
        if kernel == "fnw":
            da = sum(x != y for x, y in zip(a, cells))
            db = sum(x != y for x, y in zip(b, cells))
            new = a if da <= db else b
            return (sum(1 for o, x in zip(cells, new) if o == 0 and x == 1),
                    sum(1 for o, x in zip(cells, new) if o == 1 and x == 0), w + 1, new)
        have = sum(cells)
        new = a if abs(sum(a) - have) <= abs(sum(b) - have) else b
        d = sum(new) - have
        return max(0, d), max(0, -d), w + 1, new
    if kernel == "m-of-n":
        new = mofn_encode(n, w)
        d = sum(new) - sum(cells)
        return max(0, d), max(0, -d), len(new), new
    raise ValueError(kernel)


def read_segment(kernel: str, w: int, cells: list[int]) -> int:
    if kernel in ("fnw", "pw+fnw"):
        v = unbits(cells[:w])
        return v ^ ((1 << w) - 1) if cells[w] else v
    if kernel == "m-of-n":
        return mofn_decode(cells, w)
    return unbits(cells)


def segment_time(counts: tuple[int, int, int], c: RacetrackConfig) -> float:
    ins, rem, det = counts
    return det * c.read_latency_ns + rem * c.remove_latency_ns + ins * c.insert_latency_ns


# --------------------------------------------------------------------------- port model

def port_shifts(pm: PortModel, off: int, index: int) -> tuple[int, int]:
    """(shift steps, new alignment) of accessing item ``index`` from alignment ``off``, stepping."""
    first, last = index * pm.walk, (index + 1) * pm.walk - 1
    ports = range(pm.ports) if pm.dynamic else [index // pm.region]
    best = None
    for r in ports:
        q = pm.port_position(r)
        for start, end in ((first, last), (last, first)):
            dist = abs((start - q) - off)
            if best is None or dist < best[0]:
                best = (dist, start - q, end - q)
    _, start, end = best
    steps, cur = 0, off
    while cur != start:                       # move to the start of the walk
        cur += 1 if start > cur else -1
        steps += 1
    while cur != end:                         # the walk: one position past the port per step
        cur += 1 if end > cur else -1
        steps += 1
    if pm.eager:
        while cur != 0:
            cur += 1 if cur < 0 else -1
            steps += 1
    return steps, cur


class ReferenceMemory:
    """A racetrack memory of explicit cells; ``write``/``read`` return counts like the kernels."""

    def __init__(self, config: RacetrackConfig, kernel: str, positions: int, n_items: int, item_of):
        self.c = config
        self.kernel = kernel
        self.N = positions
        self.S = config.segments_per_item
        self.w = config.segment_bits
        self.pm = PortModel.from_config(config, positions)
        self.cells = [[[0] * positions for _ in range(self.S)] for _ in range(n_items)]
        self.offsets: dict[int, int] = {}
        self.item_of = item_of              # global item number -> (track, index)

    def _shift(self, g: int) -> int:
        track, index = self.item_of(g)
        cluster = track // self.c.tracks_per_cluster
        steps, self.offsets[cluster] = port_shifts(self.pm, self.offsets.get(cluster, 0), index)
        return steps

    def write(self, slot: int, g: int, value: int, *, move: bool = True) -> list[int]:
        """[ins, rem, det, shifts, path ins, path rem, path det] of writing ``value`` to item ``g``."""
        shifts = self._shift(g) if move else 0
        tot = [0, 0, 0]
        worst, worst_t = (0, 0, 0), -1.0
        for k in range(self.S):
            seg = (value >> (k * self.w)) & ((1 << self.w) - 1)
            ins, rem, det, new = write_segment(self.kernel, self.w, seg, self.cells[slot][k])
            self.cells[slot][k] = new
            tot = [tot[0] + ins, tot[1] + rem, tot[2] + det]
            t = segment_time((ins, rem, det), self.c)
            if t > worst_t:
                worst, worst_t = (ins, rem, det), t
        path = list(worst) if self.pm.spread else tot
        return tot + [shifts] + path

    def value(self, slot: int) -> int:
        return sum(read_segment(self.kernel, self.w, self.cells[slot][k]) << (k * self.w) for k in range(self.S))

    def read(self, slot: int, g: int) -> tuple[list[int], int]:
        shifts = self._shift(g)
        det = self.N * self.S
        return [0, 0, det, shifts, 0, 0, self.N if self.pm.spread else det], self.value(slot)


def line_positions(mem: ReferenceMemory, L: int, n_items: int) -> np.ndarray:
    """(L, n_items x S x N) uint8: every line's positions, item after item, segment after segment."""
    return np.array([[b for k in range(n_items) for seg in mem.cells[l * n_items + k] for b in seg]
                     for l in range(L)], dtype=np.uint8).reshape(L, -1)


def reference_trace(config: RacetrackConfig, scheme: str, writes: np.ndarray, word_bits: int = 32,
                    line_offset: int = 0, observe=None):
    """Replay (T, L, W) words; returns (outcome (T, L, 7), stored (T, L, W), figures).

    ``observe(t, positions)``, if given, is called with every line's positions
    (:func:`line_positions`) after formatting (t = -1) and after every iteration t (for the wear
    levelling tests, which move the positions physically)."""
    from archsim.racetrack.schemes import RACETRACK_SCHEMES

    cls = RACETRACK_SCHEMES.get(scheme)
    kernel = cls.kernel
    positions = cls(config).positions()
    T, L, W = writes.shape
    per = config.item_bits // word_bits
    n_items = -(-W // per)
    D = config.data_per_track
    mem = ReferenceMemory(config, kernel, positions, L * n_items,
                          lambda g: (g // D, g % D))
    k_ones = config.fixed_ones_k
    approx = scheme == "fixed-ones"
    if approx and k_ones == 0:
        counts = np.bincount([bin(int(u)).count("1") for u in writes[0].ravel()], minlength=33)
        k_ones = int(np.argmax(counts))

    def stored_word(u: int) -> int:
        return fixed_ones_word(u, k_ones)[0] if approx else u

    def item_value(words: list[int]) -> int:
        words = words + [0] * (per - len(words))
        return sum(x << (j * word_bits) for j, x in enumerate(words))

    for l in range(L):                       # formatting: the encoding of 0, not counted
        for k in range(n_items):
            real = min(per, W - k * per)
            mem.write(l * n_items + k, 0, item_value([stored_word(0)] * real), move=False)
    if observe is not None:
        observe(-1, line_positions(mem, L, n_items))
    outcome = np.zeros((T, L, 7), dtype=np.int64)
    stored = np.zeros((T, L, W), dtype=np.uint64)
    for t in range(T):
        for l in range(L):
            for k in range(n_items):
                words = [stored_word(int(u)) for u in writes[t, l, k * per:(k + 1) * per]]
                g = (line_offset + l) * n_items + k
                outcome[t, l] += mem.write(l * n_items + k, g, item_value(words))
                v = mem.value(l * n_items + k)
                for j in range(len(words)):
                    stored[t, l, k * per + j] = (v >> (j * word_bits)) & ((1 << word_bits) - 1)
        if observe is not None:
            observe(t, line_positions(mem, L, n_items))
    return outcome, stored, k_ones


def reference_requests(config: RacetrackConfig, scheme: str, requests) -> tuple[list[int], list[int]]:
    """Replay parsed requests; returns (totals [ins, rem, det, shifts, path ins/rem/det, writes, reads],
    values read)."""
    from archsim.racetrack.schemes import RACETRACK_SCHEMES

    cls = RACETRACK_SCHEMES.get(scheme)
    if cls.transforms_words:
        raise ValueError("the request reference covers the exact schemes")
    positions = cls(config).positions()
    D = config.data_per_track
    mem = ReferenceMemory(config, cls.kernel, positions, config.tracks * D, lambda g: (g // D, g % D))
    for g in range(config.tracks * D):
        mem.write(g, g, 0, move=False)
    totals = [0] * 9
    reads = []
    for op, track, index, value in zip(requests.op, requests.track, requests.index, requests.value):
        g = int(track) * D + int(index)
        if op == 0:
            counts = mem.write(g, g, int(value))
            totals[7] += 1
            reads.append(0)
        else:
            counts, v = mem.read(g, g)
            totals[8] += 1
            reads.append(v)
        totals[:7] = [a + b for a, b in zip(totals[:7], counts)]
    return totals, reads

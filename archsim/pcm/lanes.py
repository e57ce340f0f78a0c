"""Packing data words into 64-bit lanes for the kernels.

A line of W words of B bits is handled by the kernels as ``ceil(W*B/64)``
lanes of 64 bits: lane j holds words ``j*per .. j*per+per-1`` (``per = 64/B``),
word k of the lane in bits ``[k*B, (k+1)*B)`` (the little-endian view of the
words). When W*B is not a multiple of 64 the last lane is padded with zero
words, and the kernels ignore its missing words through ``valid`` masks.

The cell maps here tell the kernels where a lane bit's cell lies in the line's
wear array ``(words, cells)`` flattened: the offset from the lane's first cell.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from archsim.pcm.grouping import Group


@dataclass(frozen=True)
class LaneLayout:
    """How ``words`` words of ``word_bits`` bits fill 64-bit lanes."""

    words: int
    word_bits: int

    @property
    def per(self) -> int:
        """Words per lane."""
        return 64 // self.word_bits

    @property
    def lanes(self) -> int:
        return -(-self.words // self.per)

    @property
    def padded_words(self) -> int:
        return self.lanes * self.per

    def word_present(self) -> np.ndarray:
        """(lanes, per) bool: which lane slots hold a real word."""
        return (np.arange(self.padded_words) < self.words).reshape(self.lanes, self.per)

    def valid_bits(self) -> np.ndarray:
        """(lanes,) uint64, read-only: the data bits of each lane that belong to real words."""
        return _valid_masks(self.words, self.word_bits, self.word_bits)

    def valid_groups(self, word_groups: int) -> np.ndarray:
        """(lanes,) uint64, read-only: the WOM groups of each lane that belong to real words."""
        return _valid_masks(self.words, self.word_bits, word_groups)

    def to_lanes(self, writes: np.ndarray) -> np.ndarray:
        """(T, L, words) words -> (T, L, lanes) uint64: a view when no padding is needed."""
        if self.words != self.padded_words:
            padded = np.zeros(writes.shape[:2] + (self.padded_words,), dtype=writes.dtype)
            padded[..., : self.words] = writes
            writes = padded
        return np.ascontiguousarray(writes).view(np.uint64)

    def lane_buffer(self, T: int, L: int) -> np.ndarray:
        """A (T, L, lanes) uint64 output buffer."""
        return np.empty((T, L, self.lanes), dtype=np.uint64)

    def from_lanes(self, lanes: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """(T, L, lanes) uint64 -> (T, L, words) words (dropping padding)."""
        return lanes.view(dtype)[..., : self.words]


def word_cells(words: np.ndarray, word_bits: int) -> np.ndarray:
    """(..., W) unsigned words -> (..., W, word_bits) uint8 cells, most significant bit first
    (the wear order of a raw word)."""
    w = np.asarray(words)
    big = np.ascontiguousarray(w, dtype=np.dtype(f">u{word_bits // 8}"))  # bytes most significant first
    return np.unpackbits(big.view(np.uint8).reshape(w.shape + (word_bits // 8,)), axis=-1)


def lane_word_cells(lanes: np.ndarray, layout: "LaneLayout") -> np.ndarray:
    """(n, lanes) uint64 lanes of raw data cells -> (n, words, word_bits) uint8, MSB first."""
    dtype = np.dtype({8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}[layout.word_bits])
    words = np.ascontiguousarray(lanes).view(dtype)[:, : layout.words]
    return word_cells(words, layout.word_bits)


def fnw_flag_cells(flags: np.ndarray, layout: "LaneLayout", partition_bits: int) -> np.ndarray:
    """(n, lanes) uint64 flag masks (bit p = lane partition p) -> (n, words, partitions) uint8
    (partition 0 = the word's most significant), as :func:`fnw_cellmap` places them."""
    B, N = layout.word_bits, partition_bits
    out = np.zeros((flags.shape[0], layout.padded_words, B // N), dtype=np.uint8)
    for p in range(64 // N):
        lo = 64 - (p + 1) * N
        k, q = lo // B, (B - N - lo % B) // N
        out[:, k::layout.per, q] = ((flags >> np.uint64(p)) & np.uint64(1)).astype(np.uint8)
    return out[:, : layout.words]


def wom_physical_cells(cells: np.ndarray, polarity: np.ndarray, layout: "LaneLayout",
                       word_groups: int) -> np.ndarray:
    """WOM state -> physical cells (n, words, 3 * groups) uint8 in wear order: ``cells`` (n, lanes, 3)
    the group masks in internal PreSET form, ``polarity`` (n, lanes) the groups in 01 polarity
    (their physical cells are the inverse)."""
    G = word_groups
    n = cells.shape[0]
    masks = np.ascontiguousarray(cells ^ polarity[:, :, None], dtype="<u4")     # (n, lanes, 3) physical
    bits = np.unpackbits(masks.view(np.uint8).reshape(n, layout.lanes, 3, 4), axis=-1, bitorder="little")
    phys = bits.reshape(n, layout.lanes, 3, 32)[..., : layout.per * G]         # bit g = lane group g
    # lane group g -> word g // G of the lane, group g % G; cells 3q + kind
    phys = phys.reshape(n, layout.lanes, 3, layout.per, G).transpose(0, 1, 3, 4, 2)
    return phys.reshape(n, layout.padded_words, 3 * G)[:, : layout.words]


@lru_cache(maxsize=64)
def _valid_masks(words: int, word_bits: int, unit_bits: int) -> np.ndarray:
    """Per lane, ``unit_bits`` bits (data bits or groups) for every real word of the lane."""
    layout = LaneLayout(words, word_bits)
    umask = (1 << unit_bits) - 1
    out = np.zeros(layout.lanes, dtype=np.uint64)
    for j, present in enumerate(layout.word_present()):
        out[j] = sum(umask << (k * unit_bits) for k in range(layout.per) if present[k])
    out.flags.writeable = False
    return out


def raw_cellmap(word_bits: int) -> np.ndarray:
    """Lane bit i -> cell offset: word i // B of the lane, data bits MSB first."""
    cm = np.zeros((1, 64), dtype=np.int32)
    i = np.arange(64)
    cm[0] = (i // word_bits) * word_bits + (word_bits - 1 - i % word_bits)
    return cm


def fnw_cellmap(word_bits: int, partition_bits: int) -> np.ndarray:
    """Kind 0: data bit i; kind 1: flag of lane partition p (p = 0 the most significant)."""
    B, N = word_bits, partition_bits
    C = B + B // N
    cm = np.zeros((2, 64), dtype=np.int32)
    i = np.arange(64)
    cm[0] = (i // B) * C + (B - 1 - i % B)
    for p in range(64 // N):
        lo = 64 - (p + 1) * N
        k, q = lo // B, (B - N - lo % B) // N  # word of the lane, partition within the word
        cm[1, p] = k * C + B + q
    return cm


def wom_cellmap(word_groups: int) -> np.ndarray:
    """Kind 0/1/2 (codeword cell left/middle/right), lane group g -> cell 3q + kind of word g // G."""
    G = word_groups
    C = 3 * G
    cm = np.zeros((3, 64), dtype=np.int32)
    g = np.arange(32)
    for kind in range(3):
        cm[kind, :32] = (g // G) * C + 3 * (g % G) + kind
    return cm


class PendingWear:
    """The kernels' per-cell wear counters of a stream, kept between kernel calls.

    A kernel counts flips in bit-sliced counters (6 bit-planes, then byte-lane accumulators,
    ``ACC_SLOT`` uint64 per lane and kind of cell) and moves them into the per-cell wear array
    every 124 writes; the rest waits here until :meth:`drain` (called before the wear is read).
    ``clock``: writes since the last plane flush and plane flushes since the last drain, shared by
    all lines (every line gets every write). Memory: ``ACC_SLOT`` x 8 bytes per lane and kind,
    about half (raw data) to seven eighths (WOM codes) of a uint32 wear array.
    """

    def __init__(self, lines: int, lanes: int, kinds: int, stride: int, nbytes: tuple[int, ...],
                 cellmap: np.ndarray) -> None:
        from archsim import _pcm_kernels

        self.lines, self.lanes, self.kinds, self.stride = lines, lanes, kinds, stride
        self.nbytes = tuple(nbytes) + (0,) * (3 - len(nbytes))
        self.cellmap = np.ascontiguousarray(cellmap, dtype=np.int32)
        self.slots = np.zeros(lines * lanes * kinds * _pcm_kernels.ACC_SLOT, dtype=np.uint64)
        self.clock = np.zeros(2, dtype=np.int64)

    def drain(self, wear: np.ndarray, rows=None) -> None:
        """Add the counted wear of ``rows`` (all lines, a slice or an index array) into ``wear``
        ((lines, words, cells) or flattened per line; uint32 or uint64) and clear those counters."""
        from archsim import _pcm_kernels

        idx = np.arange(self.lines, dtype=np.intp)
        if rows is not None:
            idx = np.ascontiguousarray(idx[rows], dtype=np.intp).reshape(-1)
        _pcm_kernels.acc_drain(self.slots, wear.reshape(wear.shape[0], -1), self.cellmap, idx, self.lanes,
                               self.stride, self.kinds, *self.nbytes)


@dataclass(frozen=True)
class LaneTables:
    """Byte lookup tables moving bits between a 64-bit lane and its 32 group masks.

    ``gather[j, v]``: for byte j of a lane with value v, the important bits as
    group mask in the low 32 bits and the unimportant bits in the high 32.
    ``scatter_hi[j, m]`` / ``scatter_lo[j, m]``: for byte j of a group mask
    (groups 8j..8j+7) the lane bits of those groups' important / unimportant bit.
    """

    gather: np.ndarray
    scatter_hi: np.ndarray
    scatter_lo: np.ndarray
    approx_mask: int


def wom_tables(groups: list[Group], word_bits: int) -> LaneTables:
    G = len(groups)
    per = 64 // word_bits
    hi_of = {g.important: q for q, g in enumerate(groups)}
    lo_of = {g.unimportant: q for q, g in enumerate(groups)}
    values = np.arange(256, dtype=np.uint64)
    gather = np.zeros((8, 256), dtype=np.uint64)
    for j in range(8):
        for b in range(8):
            pos = 8 * j + b
            k, wb = divmod(pos, word_bits)
            bit = (values >> np.uint64(b)) & np.uint64(1)
            if wb in hi_of:
                gather[j] |= bit << np.uint64(k * G + hi_of[wb])
            else:
                gather[j] |= bit << np.uint64(32 + k * G + lo_of[wb])
    scatter_hi = np.zeros((4, 256), dtype=np.uint64)
    scatter_lo = np.zeros((4, 256), dtype=np.uint64)
    for j in range(4):
        for b in range(8):
            k, q = divmod(8 * j + b, G)
            bit = (values >> np.uint64(b)) & np.uint64(1)
            scatter_hi[j] |= bit << np.uint64(k * word_bits + groups[q].important)
            scatter_lo[j] |= bit << np.uint64(k * word_bits + groups[q].unimportant)
    approx = sum(1 << (k * G + q) for k in range(per) for q, g in enumerate(groups) if g.approximate)
    return LaneTables(gather, scatter_hi, scatter_lo, approx)

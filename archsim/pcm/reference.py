"""Plain numpy reference implementations of the PCM schemes (the tests' oracle).

Written straight from ``pcm.md`` and independent of the kernels' bit tricks:
cells are explicit 0/1 arrays ``(lines, words, cells)`` in wear order, the WOM
code is the spec's codeword table, AppWOM01 cells are physically the inverse
of AppWOM10's, and flips are counted by comparing cell arrays before and
after. Vectorised over lines and words; a Python loop over writes. Slow, and
meant to be obviously right.
"""
from __future__ import annotations

import numpy as np

from archsim.pcm.encoder import Encoder
from archsim.pcm.schemes import AppWom, Dcw, FlipNWrite, Prereset, Preset, WomSet

# PreSET-form WOM codewords (cells left to right) of each 2-bit value (important bit first).
FIRST = np.array([[1, 1, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]], dtype=np.uint8)
SECOND = 1 - FIRST


def _decode_table() -> tuple[np.ndarray, np.ndarray]:
    """value and generation of every 3-cell PreSET-form state (index 4a + 2b + c)."""
    value = np.zeros(8, dtype=np.uint8)
    gen = np.zeros(8, dtype=np.uint8)
    for v in range(4):
        i1 = int(FIRST[v] @ [4, 2, 1])
        i2 = int(SECOND[v] @ [4, 2, 1])
        value[i1], gen[i1] = v, 1
        value[i2], gen[i2] = v, 2
    gen[7] = 0  # 111: erased, value 00
    return value, gen


DECODE_VALUE, DECODE_GEN = _decode_table()


def to_bits(words: np.ndarray, word_bits: int) -> np.ndarray:
    """(..., W) words -> (..., W, word_bits) bits, most significant first."""
    w = words.astype(np.uint64)[..., None]
    shifts = np.arange(word_bits - 1, -1, -1, dtype=np.uint64)
    return ((w >> shifts) & np.uint64(1)).astype(np.uint8)


def from_bits(bits: np.ndarray, dtype) -> np.ndarray:
    word_bits = bits.shape[-1]
    weights = np.uint64(1) << np.arange(word_bits - 1, -1, -1, dtype=np.uint64)
    return (bits.astype(np.uint64) * weights).sum(axis=-1, dtype=np.uint64).astype(dtype)


def _flips(before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SET (0->1) and RESET (1->0) masks."""
    return ((before == 0) & (after == 1)), ((before == 1) & (after == 0))


def reference_replay(encoder: Encoder, writes: np.ndarray, line_offset: int = 0, observe=None):
    """Replay (T, L, W) writes; returns (outcome (T,L,5) int64, wear (L,W,C) int64, stored (T,L,W)).

    ``observe(t, cells)``, if given, is called with the physical cells (L, W*C) uint8 (wear order)
    after every programming step: after write ``t``, and again after its refresh if it refreshed
    (the wear-levelling reference moves these cells physically)."""
    observe = observe or (lambda t, cells: None)
    if isinstance(encoder, (Preset, Prereset, Dcw)):
        return _raw(encoder, writes, observe)
    if isinstance(encoder, FlipNWrite):
        return _fnw(encoder, writes, observe)
    if isinstance(encoder, (WomSet, AppWom)):
        return _wom(encoder, writes, line_offset, observe)
    raise TypeError(f"no reference implementation for {type(encoder).__name__}")


def _raw(enc: Encoder, writes: np.ndarray, observe):
    T, L, W = writes.shape
    B = enc.word_bits
    cells = np.full((L, W, B), 1 if enc.params.initial_state == "ones" else 0, dtype=np.uint8)
    wear = np.zeros((L, W, B), dtype=np.int64)
    outcome = np.zeros((T, L, 5), dtype=np.int64)
    refresh_to = {Preset: 1, Prereset: 0}.get(type(enc))
    for t in range(T):
        new = to_bits(writes[t], B)
        s, r = _flips(cells, new)
        outcome[t, :, 0] = s.sum(axis=(1, 2))
        outcome[t, :, 1] = r.sum(axis=(1, 2))
        wear += s | r
        cells = new
        observe(t, cells.reshape(L, -1))
        if refresh_to is not None:
            after = np.full_like(cells, refresh_to)
            s, r = _flips(cells, after)
            outcome[t, :, 2] = s.sum(axis=(1, 2))
            outcome[t, :, 3] = r.sum(axis=(1, 2))
            wear += s | r
            refreshed = (s | r).any(axis=2)  # (L, W): words the refresh programs
            outcome[t, :, 4] = refreshed.sum(axis=1) if enc.refresh_unit == "word" else refreshed.any(axis=1)
            cells = after
            if refreshed.any():
                observe(t, cells.reshape(L, -1))
    return outcome, wear, writes.copy()


def _fnw(enc: FlipNWrite, writes: np.ndarray, observe):
    T, L, W = writes.shape
    B, N, P = enc.word_bits, enc.partition_bits, enc.partitions
    start = 1 if enc.params.initial_state == "ones" else 0
    data = np.full((L, W, B), start, dtype=np.uint8)
    flags = np.full((L, W, P), start, dtype=np.uint8)
    wear = np.zeros((L, W, B + P), dtype=np.int64)
    outcome = np.zeros((T, L, 5), dtype=np.int64)
    stored = np.empty_like(writes)
    for t in range(T):
        new = to_bits(writes[t], B).reshape(L, W, P, N)
        old = data.reshape(L, W, P, N)
        d_keep = (new != old).sum(axis=3) + (flags != 0)
        d_flip = ((1 - new) != old).sum(axis=3) + (flags != 1)
        invert = d_flip < d_keep  # ties store as is
        cells_new = np.where(invert[..., None], 1 - new, new).reshape(L, W, B)
        flags_new = invert.astype(np.uint8)
        before = np.concatenate([data, flags], axis=2)
        after = np.concatenate([cells_new, flags_new], axis=2)
        s, r = _flips(before, after)
        outcome[t, :, 0] = s.sum(axis=(1, 2))
        outcome[t, :, 1] = r.sum(axis=(1, 2))
        wear += s | r
        data, flags = cells_new, flags_new
        observe(t, after.reshape(L, -1))
        decoded = np.where(flags[..., None] == 1, 1 - data.reshape(L, W, P, N), data.reshape(L, W, P, N))
        stored[t] = from_bits(decoded.reshape(L, W, B), writes.dtype)
    return outcome, wear, stored


def _wom(enc, writes: np.ndarray, line_offset: int, observe):
    T, L, W = writes.shape
    B = enc.word_bits
    groups = enc.groups
    G = len(groups)
    hi_idx = np.array([B - 1 - g.important for g in groups])  # positions in the MSB-first bit array
    lo_idx = np.array([B - 1 - g.unimportant for g in groups])
    approx = np.array([g.approximate for g in groups])
    policy = enc.policy
    word_unit = enc.refresh_unit == "word"
    # polarity 0 = 10 (physical = PreSET form), 1 = 01 (physical = inverse)
    pol = np.repeat(policy.initial(L, line_offset)[:, None], W, axis=1)
    physical = np.where(pol[..., None, None] == 0, 1, 0).astype(np.uint8) * np.ones((L, W, G, 3), np.uint8)
    wear = np.zeros((L, W, G * 3), dtype=np.int64)
    outcome = np.zeros((T, L, 5), dtype=np.int64)
    stored = np.empty_like(writes)
    weights = np.array([4, 2, 1])

    def form(phys, polarity):  # PreSET-form view of physical cells
        return np.where(polarity[..., None, None] == 0, phys, 1 - phys)

    for t in range(T):
        bits = to_bits(writes[t], B)
        new_val = bits[..., hi_idx] * 2 + bits[..., lo_idx]  # (L, W, G)
        cur_form = form(physical, pol)
        code = cur_form @ weights
        cur_val = DECODE_VALUE[code]
        gen = DECODE_GEN[code]
        assert (gen <= 1).all(), "a group entered a write in its second generation"
        ignore = approx & ((new_val >> 1) == (cur_val >> 1))
        target = np.where(ignore, cur_val, new_val)
        change = target != cur_val
        erased = gen == 0
        nxt_form = np.where((change & erased)[..., None], FIRST[target],
                            np.where((change & ~erased)[..., None], SECOND[target], cur_form))
        assert not ((cur_form == 0) & (nxt_form == 1)).any(), "a WOM write needed a program in both directions"
        nxt_phys = np.where(pol[..., None, None] == 0, nxt_form, 1 - nxt_form).astype(np.uint8)
        s, r = _flips(physical, nxt_phys)
        outcome[t, :, 0] = s.sum(axis=(1, 2, 3))
        outcome[t, :, 1] = r.sum(axis=(1, 2, 3))
        wear += (s | r).reshape(L, W, G * 3)
        physical = nxt_phys
        observe(t, physical.reshape(L, -1))
        nval = DECODE_VALUE[nxt_form @ weights]
        sbits = bits.copy()
        sbits[..., hi_idx] = nval >> 1
        sbits[..., lo_idx] = nval & 1
        stored[t] = from_bits(sbits, writes.dtype)
        # exhaustion: any group in its second generation
        exhausted_word = (DECODE_GEN[nxt_form @ weights] == 2).any(axis=2)  # (L, W)
        if word_unit:
            unit = exhausted_word
        else:
            unit = np.repeat(exhausted_word.any(axis=1)[:, None], W, axis=1)
        if unit.any():
            if policy.ping_pong:
                # 10 unit: PreRESET (all physical 0), becomes 01; 01 unit: PreSET, becomes 10
                target_phys = np.where(pol == 0, 0, 1)
                new_pol = np.where(unit, pol ^ 1, pol)
            else:
                target_phys = np.where(pol == 0, 1, 0)  # back to the erased value
                new_pol = pol
            after = np.where(unit[..., None, None], target_phys[..., None, None], physical).astype(np.uint8)
            s, r = _flips(physical, after)
            outcome[t, :, 2] = s.sum(axis=(1, 2, 3))
            outcome[t, :, 3] = r.sum(axis=(1, 2, 3))
            wear += (s | r).reshape(L, W, G * 3)
            if word_unit:
                counted = unit if policy.ping_pong else unit & (s | r).any(axis=(2, 3))
                outcome[t, :, 4] = counted.sum(axis=1)
            else:
                outcome[t, :, 4] = unit.any(axis=1)
            physical = after
            pol = new_pol
            observe(t, physical.reshape(L, -1))
    return outcome, wear, stored

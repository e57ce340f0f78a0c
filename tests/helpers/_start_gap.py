"""Start-Gap's registers (Qureshi et al., MICRO 2009) stepped as the plain references of the wear-levelling
tests do it: region ``r`` of ``sizes[r]`` lines moves its gap once every ``psi`` writes to the region."""
from __future__ import annotations


def gap_moves(k: int, sizes, psi: int, done: list, gap: list, start: list):
    """Advance every region to ``k`` iterations (``done``, ``gap``, ``start``: its registers, updated in
    place); yields ``(region, src, dst)`` for each move, the slots within the region (0 .. sizes[r])."""
    for r, n in enumerate(sizes):
        due = k * n // psi - done[r]
        done[r] += due
        for _ in range(due):
            if gap[r] == 0:
                src, dst = n, 0
                gap[r], start[r] = n, (start[r] + 1) % n
            else:
                src, dst = gap[r] - 1, gap[r]
                gap[r] -= 1
            yield r, src, dst

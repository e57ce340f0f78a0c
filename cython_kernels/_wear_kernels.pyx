"""Wear levelling's kernels (:mod:`archsim.wear`): ``rotate``'s remapping of a block of lines in one
pass (the fold of the finished epoch's wear, and the copy's programmed cells), instead of a dozen
numpy passes and their temporaries over the block.

Exact: integer arithmetic in int64, stored in the smallest signed type that holds it (the caller
widens its array when a row does not fit; the property tests compare the result with a reference that
physically moves the data).
"""
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint64_t

ctypedef fused xint:
    int8_t
    int16_t
    int32_t
    int64_t


def rotate_fold(xint[:, ::1] x, const uint64_t[:, ::1] cur, const uint8_t[:, ::1] cells, Py_ssize_t d,
                int64_t[::1] scratch, int64_t[::1] sets, int64_t[::1] resets, int64_t lo, int64_t hi):
    """Remap ``n`` lines of ``C`` cells by ``d`` cells (0 < d < C), in place; returns the number of
    lines done: ``n``, or the first line whose new values do not fit in [``lo``, ``hi``] (the range of
    ``x``'s type; that line and the following ones are left as they were).

    ``x[l, j]``: wear of the physical cell holding logical cell ``j`` - the logical wear ``cur[l, j]``;
    logical cell ``j`` moves to the physical cell that held ``j + d``:
    ``x'[j] = x[j + d] + cur[j + d] - cur[j] + (cells[j + d] != cells[j])`` (indices mod C), the last
    term being the copy programming that cell. ``sets[l]`` / ``resets[l]``: the cells the copy of
    line ``l`` programs to 1 / to 0. ``scratch``: 2 C int64."""
    cdef Py_ssize_t n = x.shape[0], C = x.shape[1], l, j, k
    cdef uint8_t a, b
    cdef int64_t s, r, v
    cdef bint fits
    cdef Py_ssize_t done = n
    if cur.shape[0] != n or cur.shape[1] != C or cells.shape[0] != n or cells.shape[1] != C:
        raise ValueError("rotate_fold: x, cur and cells must have the same shape")
    if not 0 < d < C or scratch.shape[0] < 2 * C or sets.shape[0] < n or resets.shape[0] < n:
        raise ValueError("rotate_fold: bad shift or buffers")
    with nogil:
        for l in range(n):
            for j in range(C):
                scratch[j] = <int64_t>x[l, j] + <int64_t>cur[l, j]
            s = 0
            r = 0
            k = d
            fits = True
            for j in range(C):
                a = cells[l, k]
                b = cells[l, j]
                v = scratch[k] - <int64_t>cur[l, j] + <int64_t>(a != b)
                fits = fits and lo <= v <= hi
                scratch[C + j] = v
                if a != b:
                    if b:
                        s += 1
                    else:
                        r += 1
                k += 1
                if k == C:
                    k = 0
            if not fits:
                done = l
                break
            for j in range(C):
                x[l, j] = <xint>scratch[C + j]
            sets[l] = s
            resets[l] = r
    return done

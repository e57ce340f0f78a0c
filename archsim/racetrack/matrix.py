"""Access patterns of the ``002`` seed: matrix multiply with and without a buffer track, and
transposes with and without index-remapping skip, as request generators with operation counts.

Layout (Fig. 4 of the SK-RM study, Liao and Chen; row-wise): a matrix of R x C float32 elements is stored row by row,
row i on its own track, element j at data index j; each element is one 32-bit data item
(``item_bits = segment_bits = 32``), read through one access port at the head of the track
(``ports_per_track = 1``, ``port_placement = "start"``, static).

Buffer track. Reading a position shifts the data past the port. Without a buffer track there is
no room for the data to stay there, so every read shifts it back home afterwards (the port model's
*eager* return). With a buffer track, the data shifted past the port lands on the buffer track and
stays (*lazy* return): the next read continues from where the last one stopped. The seed reports
close to 50% fewer operations; :func:`multiply_ops` gives our figure for any sizes.

Transpose. Without skipping, the transposed matrix is materialised: every element is read and
written to a new row-wise layout (C tracks of R elements), then the consumer reads the new rows.
With the study's index remapping, the transpose swaps the (track, index) roles instead: nothing is
copied and the consumer reads row j of the transpose as column j of the original. Both include
the consumer's one row-order read of the transpose; the initial writes of the matrix are common to
both and excluded.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from archsim.racetrack.config import RacetrackConfig
from archsim.racetrack.requests import Requests, replay_requests
from archsim.racetrack.stream import RacetrackResult

READ, WRITE = 1, 0


def matrix_config(base: RacetrackConfig | None, tracks: int, data_per_track: int, *, buffer_track: bool) -> RacetrackConfig:
    """The racetrack geometry of the SK-RM study's matrix layout (latencies and energies from ``base``)."""
    base = base or RacetrackConfig()
    return dataclasses.replace(
        base, tracks=tracks, data_per_track=data_per_track, item_bits=32, segment_bits=32,
        tracks_per_cluster=1, ports_per_track=1, port_placement="start", port_choice="static",
        layout="serial", return_policy="lazy" if buffer_track else "eager")


def multiply_requests(m: int, k: int, n: int) -> Requests:
    """Reads of C = A B in multiply order (i, j, l): A[i, l] then B[l, j].

    A (m x k) lies on tracks 0..m-1, B (k x n) on tracks m..m+k-1.
    """
    _positive(m=m, k=k, n=n)
    i, j, l = np.meshgrid(np.arange(m), np.arange(n), np.arange(k), indexing="ij")
    i, j, l = i.ravel(), j.ravel(), l.ravel()
    track = np.empty(2 * i.size, dtype=np.int64)
    index = np.empty_like(track)
    track[0::2], index[0::2] = i, l          # A[i, l]
    track[1::2], index[1::2] = m + l, j      # B[l, j]
    return Requests.from_arrays(np.full(track.size, READ, dtype=np.uint8), track, index,
                                source=f"<multiply {m}x{k} by {k}x{n}>")


def multiply_ops(m: int, k: int, n: int, *, buffer_track: bool, base: RacetrackConfig | None = None,
                 scheme: str = "dcw") -> RacetrackResult:
    """Operation counts of reading the operands of an m x k by k x n multiply."""
    cfg = matrix_config(base, m + k, max(k, n), buffer_track=buffer_track)
    return replay_requests(multiply_requests(m, k, n), scheme, cfg)


def transpose_requests(rows: int, cols: int, *, skip: bool, values: np.ndarray | None = None) -> tuple[Requests, Requests]:
    """(setup, setup + transpose + consumer read) requests for an R x C matrix on tracks 0..R-1.

    Without ``skip`` the transpose is copied to tracks R..R+C-1 (element [i, j] -> track R + j,
    index i) and read from there; with ``skip`` the consumer reads the original column-wise.
    """
    _positive(rows=rows, cols=cols)
    if values is None:
        values = np.random.default_rng(0).normal(0, 0.05, (rows, cols)).astype(np.float32)
    v = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    setup = (np.full(rows * cols, WRITE), r.ravel(), c.ravel(), v.ravel())
    ops, tracks, idx, vals = [setup[0]], [setup[1]], [setup[2]], [setup[3]]
    if not skip:
        n = rows * cols
        op = np.empty(2 * n, dtype=np.uint8)
        tr = np.empty(2 * n, dtype=np.int64)
        ix = np.empty(2 * n, dtype=np.int64)
        va = np.zeros(2 * n, dtype=np.uint64)
        op[0::2], tr[0::2], ix[0::2] = READ, r.ravel(), c.ravel()
        op[1::2], tr[1::2], ix[1::2], va[1::2] = WRITE, rows + c.ravel(), r.ravel(), v.ravel()
        ops += [op]; tracks += [tr]; idx += [ix]; vals += [va]
        cons_track, cons_index = rows + c.T.ravel(), r.T.ravel()     # row j of the copy
    else:
        cons_track, cons_index = r.T.ravel(), c.T.ravel()             # column j of the original
    ops.append(np.full(rows * cols, READ)); tracks.append(cons_track); idx.append(cons_index)
    vals.append(np.zeros(rows * cols, dtype=np.uint64))
    full = Requests.from_arrays(np.concatenate(ops), np.concatenate(tracks), np.concatenate(idx),
                                np.concatenate(vals), source=f"<transpose {rows}x{cols}>")
    return Requests.from_arrays(*setup, source=f"<matrix {rows}x{cols}>"), full


def transpose_ops(rows: int, cols: int, *, skip: bool, base: RacetrackConfig | None = None, scheme: str = "dcw",
                  buffer_track: bool = True) -> dict[str, Any]:
    """Operation counts of a transpose plus the consumer's read (the matrix's own writes excluded)."""
    cfg = matrix_config(base, rows + cols, max(rows, cols), buffer_track=buffer_track)
    setup, full = transpose_requests(rows, cols, skip=skip)
    a = replay_requests(setup, scheme, cfg).summary()
    b = replay_requests(full, scheme, cfg).summary()
    keys = ("insertions", "removals", "shifts", "detects", "latency_ns", "energy_pj")
    return {key: b[key] - a[key] for key in keys}


def operations(row: dict[str, Any]) -> int:
    """Racetrack operations of a result row: insertions + removals + detects + shifts."""
    return int(row["insertions"] + row["removals"] + row["detects"] + row["shifts"])


def layout_report(m: int, k: int, n: int, *, base: RacetrackConfig | None = None) -> list[dict[str, Any]]:
    """Rows comparing the layouts: multiply without / with the buffer track, transpose copied /
    skipped (of the m x k operand); each with its operation count and the saving."""
    rows: list[dict[str, Any]] = []
    keys = ("insertions", "removals", "shifts", "detects", "latency_ns", "energy_pj")
    pair = []
    for buffer in (False, True):
        s = multiply_ops(m, k, n, buffer_track=buffer, base=base).summary()
        pair.append({"pattern": f"multiply {m}x{k}x{n}", "variant": "buffer track" if buffer else "no buffer",
                     **{key: s[key] for key in keys}})
    rows += _with_saving(pair)
    pair = []
    for skip in (False, True):
        s = transpose_ops(m, k, skip=skip, base=base)
        pair.append({"pattern": f"transpose {m}x{k} + read", "variant": "skip (remap)" if skip else "copy",
                     **s})
    rows += _with_saving(pair)
    return rows


def _with_saving(pair: list[dict[str, Any]]) -> list[dict[str, Any]]:
    base_ops = operations(pair[0])
    for row in pair:
        row["operations"] = operations(row)
        row["saving"] = 1.0 - row["operations"] / base_ops if base_ops else 0.0
    return pair


#: Most operand accesses (m x k x n for a multiply, rows x cols for a transpose) a layout count builds.
MAX_ELEMENTS = 1 << 24


def _positive(**sizes: int) -> None:
    from archsim.errors import ConfigError

    for name, v in sizes.items():
        if not isinstance(v, (int, np.integer)) or v <= 0:
            raise ConfigError(f"matrix size {name} must be a positive integer, not {v!r}")
    product = int(np.prod([int(v) for v in sizes.values()], dtype=object))
    if product > MAX_ELEMENTS:
        raise ConfigError(f"matrix sizes {' x '.join(f'{k}={v}' for k, v in sizes.items())}: {product:,} accesses; "
                          f"at most {MAX_ELEMENTS:,} (2^24) are counted")

"""Reading (and writing) the IDX files of MNIST, from the user's disk (never downloaded).

The IDX format (LeCun et al.): two zero bytes, a type code (0x08 unsigned byte,
0x09 signed byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), the
number of dimensions, each dimension as a big-endian uint32, then the data in
big-endian C order. Files may be gzip-compressed (``.gz``).
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from archsim.errors import ArchsimError

_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CODES = {np.dtype(v).str.lstrip("<>|"): k for k, v in _TYPES.items()}


class DatasetError(ArchsimError, ValueError):
    """A data set file is missing or malformed; the message names it."""


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The array stored in IDX file ``path`` (native byte order)."""
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DatasetError(f"IDX file {path}: not found") from None
    except (OSError, EOFError) as exc:
        raise DatasetError(f"IDX file {path}: cannot be read ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _TYPES:
        raise DatasetError(f"IDX file {path}: not an IDX file (bad magic number)")
    ndim = raw[3]
    head = 4 + 4 * ndim
    if ndim == 0 or len(raw) < head:
        raise DatasetError(f"IDX file {path}: header cut short")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_TYPES[raw[2]])
    expect = head + dtype.itemsize * int(np.prod(shape))
    if len(raw) != expect:
        raise DatasetError(f"IDX file {path}: {len(raw)} bytes, the header {shape} needs {expect}")
    return np.frombuffer(raw, dtype, offset=head).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed if ``path`` ends in ``.gz``)."""
    path = Path(path)
    arr = np.asarray(array)
    code = _CODES.get(arr.dtype.str.lstrip("<>|"))
    if code is None:
        raise ValueError(f"IDX cannot store {arr.dtype}")
    data = bytes([0, 0, code, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    data += arr.astype(np.dtype(_TYPES[code])).tobytes()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(data)
    return path

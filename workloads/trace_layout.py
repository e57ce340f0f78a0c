"""The on-disk layout of a trace (format version 1), shared by writer and reader.

A trace is a directory (conventionally named ``*.trace``)::

    meta.json             TraceMeta header: format name, version, model, tensors, schedule, ...
    journal.jsonl         one checksummed line per committed chunk, in order
    params-000000.npy     float32 (rows, n_params): weights and biases after each update
    records-000000.npy    per-iteration records (training step, batch size, loss)
    params-000001.npy     ...

Every journal line is ``CRC32HEX JSON\\n``: the CRC-32 of the JSON text guards the
line itself. The first line names the CRC-32 of ``meta.json``; each chunk line
names its two files with their byte sizes and CRC-32s; a final ``end`` line marks
a finished recording and carries its results (accuracy, ...). A chunk exists only
once its line is in the journal: the writer writes and fsyncs both files under a
temporary name, renames them, fsyncs the directory, and only then appends and
fsyncs the journal line. A crash at any point therefore leaves the chunks already
journalled intact and readable; a torn last journal line and stray ``*.tmp`` or
unjournalled files are ignored.
"""
from __future__ import annotations

import ast
import json
import zlib
from typing import Any

import numpy as np

META_FILE = "meta.json"
JOURNAL_FILE = "journal.jsonl"
PARAMS_DTYPE = np.dtype("<f4")
RECORD_DTYPE = np.dtype([("iteration", "<i8"), ("batch_size", "<i4"), ("loss", "<f4")])
"""Per-iteration record: training step (0-based), samples in the batch, mean loss (nan if unknown)."""

TARGET_CHUNK_BYTES = 8 << 20
"""Default chunk size: large enough for streaming at disk speed, small enough
that a crash loses at most a few seconds of recording."""

NPY_HEADER_PROBE = 4096


def params_file(chunk: int) -> str:
    return f"params-{chunk:06d}.npy"


def records_file(chunk: int) -> str:
    return f"records-{chunk:06d}.npy"


def crc32(data) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def encode_line(entry: dict[str, Any]) -> bytes:
    text = json.dumps(entry, sort_keys=True, separators=(",", ":"))
    return f"{crc32(text.encode()):08x} {text}\n".encode()


def decode_line(line: bytes) -> dict[str, Any] | None:
    """The entry of a journal line, or None if the line is torn or corrupt."""
    try:
        text = line.decode()
        crc_hex, body = text.rstrip("\n").split(" ", 1)
        if int(crc_hex, 16) != crc32(body.encode()):
            return None
        entry = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None
    return entry if isinstance(entry, dict) else None


def npy_bytes(array: np.ndarray) -> bytes:
    """The complete ``.npy`` file image of ``array`` (format 1.0 header)."""
    header = {"descr": np.lib.format.dtype_to_descr(array.dtype), "fortran_order": False,
              "shape": tuple(array.shape)}
    head = repr(header).encode("latin1")
    # pad so the data starts on a 64-byte boundary, as numpy does
    total = 10 + len(head) + 1
    pad = (-total) % 64
    head = head + b" " * pad + b"\n"
    prefix = b"\x93NUMPY\x01\x00" + len(head).to_bytes(2, "little")
    return prefix + head + np.ascontiguousarray(array).tobytes()


def parse_npy_header(buf: bytes) -> tuple[np.dtype, tuple[int, ...], int]:
    """(dtype, shape, data offset) of a ``.npy`` image; ``ValueError`` if it is not one."""
    if len(buf) < 10 or buf[:6] != b"\x93NUMPY":
        raise ValueError("not a .npy file")
    major = buf[6]
    if major == 1:
        hlen = int.from_bytes(buf[8:10], "little")
        start = 10
    elif major in (2, 3):
        hlen = int.from_bytes(buf[8:12], "little")
        start = 12
    else:
        raise ValueError(f".npy format version {major} is unknown")
    if len(buf) < start + hlen:
        raise ValueError(".npy header is cut short")
    try:
        header = ast.literal_eval(buf[start:start + hlen].decode("latin1"))
        dtype = np.lib.format.descr_to_dtype(header["descr"])
        shape = tuple(int(s) for s in header["shape"])
        fortran = bool(header["fortran_order"])
    except Exception as exc:  # any malformed header
        raise ValueError(f"bad .npy header ({exc})") from None
    if fortran:
        raise ValueError(".npy array is in Fortran order")
    return dtype, shape, start + hlen

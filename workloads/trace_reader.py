"""Open, validate and stream a trace (see :mod:`workloads.trace_layout`).

:func:`open_trace` checks everything that can be checked cheaply before any
value is read: the directory and ``meta.json`` exist and parse, the format name
and version, the metadata's own consistency and its CRC-32, the journal's order,
every journalled file's presence, size and ``.npy`` header (dtype and shape
against the metadata). The values are checked while streaming: every chunk's
CRC-32 is verified before a single value of it is yielded, so a corrupt trace
raises :class:`~archsim.errors.TraceError` instead of yielding wrong numbers.
:meth:`TraceReader.verify` checks every chunk up front.
"""
from __future__ import annotations

import bisect
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from archsim.errors import TraceError
from workloads.meta import FORMAT_NAME, FORMAT_VERSION, TraceMeta
from workloads.source import check_range
from workloads.trace_layout import (
    JOURNAL_FILE, META_FILE, NPY_HEADER_PROBE, PARAMS_DTYPE, RECORD_DTYPE, crc32,
    decode_line, parse_npy_header,
)


@dataclass(frozen=True)
class _Part:
    file: str
    nbytes: int
    crc: int


@dataclass(frozen=True)
class _Chunk:
    index: int
    start: int
    rows: int
    params: _Part
    records: _Part


class TraceReader:
    """A validated trace on disk; a trace source (see :mod:`workloads.source`).

    ``meta.n_iterations`` counts the iterations committed to the journal; an
    unfinished recording (a crash) has ``meta.complete == False`` and is read up to
    its last committed chunk.
    """

    def __init__(self, path: str | os.PathLike, *, prefetch: bool = True) -> None:
        self.path = Path(path)
        self.prefetch = prefetch
        self.meta, self._chunks = _load(self.path)
        self._starts = [c.start for c in self._chunks]

    # -- the trace source protocol ------------------------------------------------------
    @property
    def n_iterations(self) -> int:
        return self.meta.n_iterations

    @property
    def n_params(self) -> int:
        return self.meta.n_params

    @property
    def nbytes(self) -> int:
        """Bytes on disk of all committed chunks (values and records)."""
        return sum(c.params.nbytes + c.records.nbytes for c in self._chunks)

    def iter_chunks(self, chunk_iterations: int, start: int = 0) -> Iterator[np.ndarray]:
        """Yield float32 ``(T, n_params)`` blocks of consecutive iterations from ``start``.

        ``T == chunk_iterations`` except for the last block. Memory is bounded by
        two stored chunks plus one block, whatever the trace length. A yielded
        block may be a read-only view of a stored chunk; copy it to modify it.
        """
        return self._iter(chunk_iterations, start, "params")

    def iter_records(self, chunk_iterations: int, start: int = 0) -> Iterator[np.ndarray]:
        """Like :meth:`iter_chunks` for the per-iteration records (``RECORD_DTYPE``)."""
        return self._iter(chunk_iterations, start, "records")

    # -- conveniences -------------------------------------------------------------------
    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Iterations ``start:stop`` as one array (for small traces and tests)."""
        stop = self.n_iterations if stop is None else min(stop, self.n_iterations)
        if stop <= start:
            return np.empty((0, self.n_params), PARAMS_DTYPE)
        return np.concatenate(list(self.iter_chunks(stop - start, start)))[: stop - start]

    def records(self) -> pd.DataFrame:
        """All per-iteration records as a DataFrame (iteration, batch_size, loss)."""
        parts = list(self.iter_records(1 << 16))
        arr = np.concatenate(parts) if parts else np.empty(0, RECORD_DTYPE)
        return pd.DataFrame({k: arr[k] for k in RECORD_DTYPE.names})

    def intermediate_table(self) -> pd.DataFrame:
        """Size (bytes) and lifetime of every intermediate tensor in every recorded iteration.

        Columns: ``iteration``, ``tensor``, ``layer``, ``bytes``, ``written_at`` and
        ``read_at`` (schedule step indices) and ``lifetime_flops`` (FLOPs executed
        between the write and the last read; divide by a FLOP/s rate for seconds).
        """
        rec = self.records()
        rows = []
        for t in self.meta.intermediates:
            for b in np.unique(rec["batch_size"]):
                sel = rec[rec["batch_size"] == b]
                rows.append(pd.DataFrame({
                    "iteration": sel["iteration"].to_numpy(), "tensor": t.name, "layer": t.layer,
                    "bytes": int(t.bytes_per_sample) * int(b), "written_at": t.written_at,
                    "read_at": t.read_at, "lifetime_flops": self.meta.lifetime_flops(t.name, int(b)),
                }))
        if not rows:
            return pd.DataFrame(columns=["iteration", "tensor", "layer", "bytes", "written_at",
                                         "read_at", "lifetime_flops"])
        return pd.concat(rows).sort_values(["iteration", "written_at"], kind="stable").reset_index(drop=True)

    def verify(self, *, finite: bool = False) -> None:
        """Check the CRC-32 of every committed file; raise :class:`TraceError` on the first bad one.
        ``finite``: also refuse the first NaN or infinity among the values (the check of
        :meth:`TraceMeta.check_finite`, which every replay makes), in the same pass."""
        for c in self._chunks:
            block = self._read_part(c, "params")
            if finite:
                self.meta.check_finite(block, c.start, f"trace {self.path}")
            self._read_part(c, "records")

    def __repr__(self) -> str:
        m = self.meta
        return (f"TraceReader({str(self.path)!r}, model={m.model!r}, iterations={m.n_iterations}, "
                f"params={m.n_params}, complete={m.complete})")

    # -- internals ----------------------------------------------------------------------
    def _iter(self, chunk_iterations: int, start: int, part: str) -> Iterator[np.ndarray]:
        chunk_iterations, start = check_range(chunk_iterations, start, self.n_iterations)
        if start == self.n_iterations:
            return
        first = bisect.bisect_right(self._starts, start) - 1
        chunks = self._chunks[first:]
        width = self.n_params if part == "params" else None
        dtype = PARAMS_DTYPE if part == "params" else RECORD_DTYPE

        def load(c: _Chunk) -> np.ndarray:
            return self._read_part(c, part)

        pool = ThreadPoolExecutor(max_workers=1) if self.prefetch and len(chunks) > 1 else None
        try:
            pending = pool.submit(load, chunks[0]) if pool else None
            pos = start          # next iteration to yield
            out = None           # block being assembled when it spans chunks
            filled = 0
            for k, c in enumerate(chunks):
                data = pending.result() if pool else load(c)
                if pool and k + 1 < len(chunks):
                    pending = pool.submit(load, chunks[k + 1])
                lo = pos - c.start
                while lo < c.rows:
                    want = min(chunk_iterations, self.n_iterations - pos)
                    if out is None and c.rows - lo >= want:
                        yield data[lo:lo + want]        # zero-copy view
                        lo += want
                        pos += want
                        continue
                    if out is None:
                        shape = (want, width) if width is not None else (want,)
                        out = np.empty(shape, dtype)
                        filled = 0
                    n = min(out.shape[0] - filled, c.rows - lo)
                    out[filled:filled + n] = data[lo:lo + n]
                    filled += n
                    lo += n
                    pos += n
                    if filled == out.shape[0]:
                        yield out
                        out = None
                del data
            if out is not None and filled:
                yield out[:filled]
        finally:
            if pool:
                pool.shutdown(wait=True, cancel_futures=True)

    def _read_part(self, c: _Chunk, part: str) -> np.ndarray:
        p: _Part = getattr(c, part)
        fpath = self.path / p.file
        buf = np.empty(p.nbytes, np.uint8)
        try:
            with open(fpath, "rb", buffering=0) as f:
                got = f.readinto(memoryview(buf))
                extra = f.read(1)
        except OSError as exc:
            raise TraceError(f"trace {self.path}: cannot read {p.file}: {exc.strerror}") from None
        if got != p.nbytes or extra:
            raise TraceError(f"trace {self.path}: {p.file} changed size since the trace was opened "
                             f"({got}{'+' if extra else ''} of {p.nbytes} bytes)")
        if crc32(buf) != p.crc:
            raise TraceError(f"trace {self.path}: {p.file} is corrupt (CRC-32 mismatch)")
        dtype, shape, offset = parse_npy_header(buf[: min(p.nbytes, NPY_HEADER_PROBE)].tobytes())
        arr = buf[offset:].view(dtype).reshape(shape)
        arr.flags.writeable = False
        return arr


def open_trace(path: str | os.PathLike, *, prefetch: bool = True) -> TraceReader:
    """Open and validate the trace at ``path``; :class:`TraceError` names the file and the fault."""
    return TraceReader(path, prefetch=prefetch)


def _load(path: Path) -> tuple[TraceMeta, list[_Chunk]]:
    where = f"trace {path}"
    if not path.exists():
        raise TraceError(f"{where}: no such file or directory")
    if not path.is_dir():
        raise TraceError(f"{where}: not an archsim trace (a trace is a directory holding "
                         f"{META_FILE}; this is a file)")
    meta_path = path / META_FILE
    if not meta_path.is_file():
        raise TraceError(f"{where}: not an archsim trace (no {META_FILE})")
    meta_bytes = meta_path.read_bytes()
    try:
        header = json.loads(meta_bytes)
    except (UnicodeDecodeError, ValueError) as exc:
        raise TraceError(f"{where}: {META_FILE} is not valid JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise TraceError(f"{where}: not an archsim trace ({META_FILE} does not say format "
                         f"{FORMAT_NAME!r})")
    version = header.get("version")
    if version != FORMAT_VERSION:
        raise TraceError(f"{where}: format version {version!r}; this archsim reads version "
                         f"{FORMAT_VERSION}")

    journal_path = path / JOURNAL_FILE
    if not journal_path.is_file():
        raise TraceError(f"{where}: {JOURNAL_FILE} is missing")
    lines = journal_path.read_bytes().split(b"\n")
    torn = lines.pop()  # text after the last newline: empty, or a line cut by a crash
    entries = []
    for no, line in enumerate(lines, 1):
        entry = decode_line(line + b"\n")
        if entry is None:
            raise TraceError(f"{where}: {JOURNAL_FILE} line {no} is corrupt")
        entries.append(entry)
    del torn
    if not entries or "meta_crc32" not in entries[0]:
        raise TraceError(f"{where}: {JOURNAL_FILE} lacks its header line")
    if entries[0]["meta_crc32"] != crc32(meta_bytes) or entries[0].get("meta_bytes") != len(meta_bytes):
        raise TraceError(f"{where}: {META_FILE} is corrupt (CRC-32 mismatch)")
    try:
        meta = TraceMeta.from_header_json(header)
        meta.validate()
    except (TypeError, ValueError, KeyError) as exc:
        raise TraceError(f"{where}: {META_FILE} is inconsistent: {exc}") from None

    chunks: list[_Chunk] = []
    end = None
    rows = 0
    for no, e in enumerate(entries[1:], 2):
        if end is not None:
            raise TraceError(f"{where}: {JOURNAL_FILE} line {no} follows the end record")
        if e.get("end"):
            end = e
            continue
        try:
            c = _Chunk(int(e["chunk"]), int(e["start"]), int(e["rows"]),
                       _Part(e["params"]["file"], int(e["params"]["bytes"]), int(e["params"]["crc32"])),
                       _Part(e["records"]["file"], int(e["records"]["bytes"]), int(e["records"]["crc32"])))
        except (KeyError, TypeError, ValueError):
            raise TraceError(f"{where}: {JOURNAL_FILE} line {no} is not a chunk record") from None
        if c.index != len(chunks) or c.start != rows or c.rows < 1:
            raise TraceError(f"{where}: {JOURNAL_FILE} line {no}: chunk {c.index} out of order")
        _check_part(path, c.params, PARAMS_DTYPE, (c.rows, meta.n_params))
        _check_part(path, c.records, RECORD_DTYPE, (c.rows,))
        chunks.append(c)
        rows += c.rows
    if end is not None and end.get("n_iterations") != rows:
        raise TraceError(f"{where}: the end record says {end.get('n_iterations')} iterations, "
                         f"the chunks hold {rows}")
    meta = meta.replace(n_iterations=rows, complete=end is not None,
                        results=dict(end.get("results", {})) if end else {})
    return meta, chunks


def _check_part(path: Path, p: _Part, dtype: np.dtype, shape: tuple[int, ...]) -> None:
    where = f"trace {path}"
    fpath = path / p.file
    if os.sep in p.file or p.file.startswith(".."):
        raise TraceError(f"{where}: journal names a file outside the trace: {p.file}")
    try:
        size = fpath.stat().st_size
    except FileNotFoundError:
        raise TraceError(f"{where}: {p.file} is missing (truncated trace)") from None
    if size < p.nbytes:
        raise TraceError(f"{where}: {p.file} is truncated ({size} of {p.nbytes} bytes)")
    if size > p.nbytes:
        raise TraceError(f"{where}: {p.file} is longer than journalled ({size} of {p.nbytes} bytes)")
    with open(fpath, "rb") as f:
        head = f.read(NPY_HEADER_PROBE)
    try:
        got_dtype, got_shape, offset = parse_npy_header(head)
    except ValueError as exc:
        raise TraceError(f"{where}: {p.file}: {exc}") from None
    if got_dtype != dtype:
        raise TraceError(f"{where}: {p.file} holds {got_dtype}, the format says {dtype}")
    if got_shape != shape:
        raise TraceError(f"{where}: {p.file} has shape {got_shape}, the metadata says {shape}")
    if offset + got_dtype.itemsize * int(np.prod(shape)) != p.nbytes:
        raise TraceError(f"{where}: {p.file}: size does not match its header")

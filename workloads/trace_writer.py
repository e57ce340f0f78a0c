"""Append-only, crash-safe trace recording (see :mod:`workloads.trace_layout`)."""
from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from archsim.errors import TraceError
from workloads.meta import TraceMeta
from workloads.trace_layout import (
    JOURNAL_FILE, META_FILE, PARAMS_DTYPE, RECORD_DTYPE, TARGET_CHUNK_BYTES, crc32,
    encode_line, npy_bytes, params_file, records_file,
)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class TraceWriter:
    """Record a trace iteration by iteration.

    Rows are buffered and committed as one chunk of ``rows_per_chunk`` iterations
    (default: about 8 MiB of float32 values). Use it as a context manager: a
    normal exit finishes the trace (:meth:`close`); an exception commits the
    buffered rows and leaves the trace readable but unfinished (``complete`` is
    false). A crash (power loss, SIGKILL) loses at most the buffered rows.

    ``fsync`` (default true) makes every commit durable before the journal names
    it; turn it off only for scratch traces.
    """

    def __init__(self, path: str | os.PathLike, meta: TraceMeta, *,
                 rows_per_chunk: int | None = None, fsync: bool = True,
                 overwrite: bool = False, finite: bool = True) -> None:
        # finite: refuse NaN and infinity (TraceMeta.check_finite), as a recorder of training must;
        # False keeps any float32 bit for bit (the format is a bit-exact container)
        self.finite = finite
        self.path = Path(path)
        if not isinstance(meta, TraceMeta):
            raise TypeError(f"trace {self.path}: meta must be a workloads.TraceMeta (a source's .meta, or one built "
                            f"with TraceMeta(...)), not {type(meta).__name__}")
        try:
            meta.validate()
        except ValueError as exc:
            raise TraceError(f"trace {self.path}: bad metadata: {exc}") from None
        self.meta = meta
        self.n_params = meta.n_params
        row_bytes = 4 * self.n_params
        if rows_per_chunk is None:
            rows_per_chunk = max(1, TARGET_CHUNK_BYTES // row_bytes)
        if rows_per_chunk < 1:
            raise ValueError("rows_per_chunk must be >= 1")
        self.rows_per_chunk = int(rows_per_chunk)
        self._fsync = fsync
        empty_dir = self.path.is_dir() and not any(self.path.iterdir())  # used as it is
        if self.path.exists() and not empty_dir:
            if not overwrite:
                raise TraceError(f"trace {self.path}: already exists and is not empty "
                                 "(choose another path or overwrite)")
            if self.path.is_dir() and (self.path / META_FILE).exists():
                shutil.rmtree(self.path)
            else:
                raise TraceError(f"trace {self.path}: exists and is not a trace; not overwriting it")
        self.path.mkdir(parents=True, exist_ok=empty_dir)
        self._buf = np.empty((self.rows_per_chunk, self.n_params), PARAMS_DTYPE)
        self._rec = np.zeros(self.rows_per_chunk, RECORD_DTYPE)
        self._fill = 0
        self._chunk = 0
        self._rows = 0
        self._closed = False

        meta_bytes = (_json_dump(meta.header_json()) + "\n").encode()
        self._write_file(META_FILE, meta_bytes)
        self._journal = open(self.path / JOURNAL_FILE, "ab")
        self._append_journal({"meta_crc32": crc32(meta_bytes), "meta_bytes": len(meta_bytes)})

    # -- recording -------------------------------------------------------------------
    @property
    def n_iterations(self) -> int:
        """Iterations appended so far (committed or buffered)."""
        return self._rows + self._fill

    def append(self, params: np.ndarray, *, iteration: int, batch_size: int | None = None,
               loss: float = math.nan) -> None:
        """Append one iteration: ``params`` holds the ``n_params`` float32 values in row order."""
        self._check_open()
        row = np.asarray(params)
        if row.dtype != PARAMS_DTYPE or row.size != self.n_params:
            raise ValueError(f"trace {self.path}: a row must be {self.n_params} float32 values, "
                             f"got {row.size} {row.dtype}")
        if self.finite:
            self.meta.check_finite(row.reshape(1, -1), self.n_iterations, f"trace {self.path}")
        self._buf[self._fill] = row.reshape(-1)
        self._rec[self._fill] = (iteration, self.meta.batch_size if batch_size is None else batch_size,
                                 loss)
        self._fill += 1
        if self._fill == self.rows_per_chunk:
            self.flush()

    def append_block(self, block: np.ndarray, iterations, batch_sizes=None, losses=None) -> None:
        """Append several iterations at once: ``block`` is float32 ``(T, n_params)``."""
        block = np.asarray(block)
        if block.ndim != 2 or block.shape[1] != self.n_params or block.dtype != PARAMS_DTYPE:
            raise ValueError(f"trace {self.path}: block must be float32 (T, {self.n_params})")
        if self.finite:
            self.meta.check_finite(block, self.n_iterations, f"trace {self.path}")
        t = block.shape[0]
        def per_row(name, value, dtype):
            try:
                return np.broadcast_to(np.asarray(value, dtype), (t,))
            except (TypeError, ValueError):
                raise ValueError(f"trace {self.path}: {name} must be one number or one per row of the block "
                                 f"({t}), not {np.shape(value) or value!r}") from None

        its = per_row("iterations", iterations, np.int64)
        bs = per_row("batch_sizes", self.meta.batch_size if batch_sizes is None else batch_sizes, np.int32)
        ls = per_row("losses", math.nan if losses is None else losses, np.float32)
        done = 0
        while done < t:
            self._check_open()
            n = min(t - done, self.rows_per_chunk - self._fill)
            sl = slice(self._fill, self._fill + n)
            self._buf[sl] = block[done:done + n]
            self._rec["iteration"][sl] = its[done:done + n]
            self._rec["batch_size"][sl] = bs[done:done + n]
            self._rec["loss"][sl] = ls[done:done + n]
            self._fill += n
            done += n
            if self._fill == self.rows_per_chunk:
                self.flush()

    def flush(self) -> None:
        """Commit the buffered iterations as one chunk (durable once this returns)."""
        self._check_open()
        if self._fill == 0:
            return
        n = self._fill
        p_name, r_name = params_file(self._chunk), records_file(self._chunk)
        p_img = npy_bytes(self._buf[:n])
        r_img = npy_bytes(self._rec[:n])
        self._write_file(p_name, p_img)
        self._write_file(r_name, r_img)
        if self._fsync:
            _fsync_dir(self.path)
        self._append_journal({
            "chunk": self._chunk, "start": self._rows, "rows": n,
            "params": {"file": p_name, "bytes": len(p_img), "crc32": crc32(p_img)},
            "records": {"file": r_name, "bytes": len(r_img), "crc32": crc32(r_img)},
        })
        self._rows += n
        self._chunk += 1
        self._fill = 0

    def close(self, results: dict[str, Any] | None = None) -> Path:
        """Commit what is buffered and mark the trace finished; returns its path."""
        if self._closed:
            return self.path
        self.flush()
        self._append_journal({"end": True, "n_iterations": self._rows, "results": results or {}})
        self._journal.close()
        self._closed = True
        return self.path

    def abort(self) -> Path:
        """Commit what is buffered but leave the trace unfinished (a readable prefix)."""
        if not self._closed:
            try:
                self.flush()
            finally:
                self._journal.close()
                self._closed = True
        return self.path

    def __enter__(self) -> "TraceWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # -- internals ---------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"trace {self.path}: writer is closed")

    def _write_file(self, name: str, data: bytes) -> None:
        tmp = self.path / (name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            if self._fsync:
                os.fsync(f.fileno())
        os.replace(tmp, self.path / name)

    def _append_journal(self, entry: dict[str, Any]) -> None:
        self._journal.write(encode_line(entry))
        self._journal.flush()
        if self._fsync:
            os.fsync(self._journal.fileno())


def _json_dump(obj: Any) -> str:
    return json.dumps(obj, indent=1, sort_keys=True, default=_json_default)


def _json_default(obj: Any):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (tuple, set)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in trace metadata")

"""NVMain traces (``.nvt``) in and out: read one as a trace source, write a trace's write stream as one.

The format is NVMain 2.0's (``traceReader/NVMainTrace/NVMainTraceReader.cpp`` and
``traceWriter/NVMainTrace/NVMainTraceWriter.cpp``; see ``docs/traces.md``, "NVMain traces")::

    NVMV1                                            header: "NVMV" and the version, 0 or 1
    CYCLE OP ADDRESS DATA OLDDATA THREAD             version 1 (version 0: no OLDDATA)
    12 W 0x1c0 0011...ff 0000...00 0

``CYCLE`` decimal, ``OP`` ``R`` or ``W``, ``ADDRESS`` hex (``0x`` optional), ``DATA`` and ``OLDDATA``
the whole line as hex, two digits per byte, byte 0 (the lowest address) first; ``THREAD`` decimal.
Fields are separated by spaces or tabs.

**Reading** (:func:`open_nvmain`, ``archsim run --trace-format nvmain FILE``). archsim replays write
streams in which every line is written once per iteration; an NVMain trace maps onto that model so:
the line of a request is ``ADDRESS // line_bytes`` (addresses must be line-aligned); the written lines,
in address order, are the layout's lines ``0, 1, ...`` (gaps between them are dropped); the ``k``-th
write of each line is iteration ``k``, its ``DATA`` the line's new content (little-endian 32-bit
words, float32 values), so every written line must be written equally often. The functional schemes
see only the writes. Reads and ``CYCLE`` go to the timing model with ``timing.access_pattern =
"trace"`` (:meth:`TraceMeta.request_stream`, :mod:`archsim.timing.arrivals`); ``THREAD`` is checked and
kept; ``OLDDATA`` is checked against the replay (:meth:`NVMainSource.old_data_check`). A file written by
:func:`write_nvmain` has a side file ``FILE.meta.json`` with the original trace's metadata; with it the
replay has the original tensors, layout and schedule, and gives the original's tables.

Every bad line is one :class:`~archsim.errors.TraceError` ``FILE:LINE: what is wrong``.

**Writing** (:func:`write_nvmain`, ``archsim trace export --format nvmain``): version 1, one ``W`` per
line per iteration in iteration order, lines in index order; ``ADDRESS`` = line index x line bytes;
``OLDDATA`` the line's previous content (zeros before its first write: archsim's memory starts
erased); ``THREAD`` 0; ``CYCLE`` = ``first_cycle + t * period + i`` for line ``i`` of iteration ``t``
(``period`` default: the number of lines, so the writes follow each other one cycle apart).
"""
from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from archsim.errors import TraceError, is_integer
from workloads.meta import TensorSpec, TraceMeta
from workloads.source import check_range
from workloads.trace_layout import RECORD_DTYPE

#: Versions of the NVMain trace format this module reads.
VERSIONS = (0, 1)
#: What the side file of an exported trace says it is.
SIDECAR_FORMAT = "archsim-nvmain-meta"
SIDECAR_VERSION = 1
#: NVMain reads CYCLE with atoi into an unsigned int: larger cycles do not survive a replay there.
NVMAIN_MAX_CYCLE = 2**31 - 1
#: Largest CYCLE archsim reads (and writes): 19 decimal digits, within uint64.
MAX_TRACE_CYCLE = 10**19 - 1
RECORDER = "nvmain-trace"


def sidecar_path(path: str | os.PathLike) -> Path:
    """The side file of an exported trace: ``FILE.meta.json`` beside ``FILE``."""
    p = Path(path)
    return p.with_name(p.name + ".meta.json")


@dataclass
class NVMainTrace:
    """Every request of an NVMain trace, parsed and checked (arrays in file order).

    ``cycle`` (n,) uint64; ``is_write`` (n,) bool; ``address`` (n,) uint64 (bytes); ``thread`` (n,)
    int64; ``data`` (n, line_bytes) uint8, the line as the request carries it; ``old_data`` the same
    for version 1, None for version 0; ``line_numbers`` (n,) the 1-based file line of each request.
    """

    path: Path
    version: int
    line_bytes: int
    cycle: np.ndarray
    is_write: np.ndarray
    address: np.ndarray
    thread: np.ndarray
    data: np.ndarray
    old_data: np.ndarray | None
    line_numbers: np.ndarray

    @property
    def requests(self) -> int:
        return int(self.cycle.shape[0])

    @property
    def writes(self) -> int:
        return int(np.count_nonzero(self.is_write))

    @property
    def reads(self) -> int:
        return self.requests - self.writes


@dataclass(frozen=True)
class RequestStream:
    """The requests of a trace in file order, on the layout's lines, for the timing model's "trace" access
    pattern (:mod:`archsim.timing.arrivals`).

    ``cycle`` (n,) uint64 arrival CYCLE; ``is_write`` (n,) bool; ``line`` (n,) int64: a written line's
    index in the layout (``0 .. lines-1``), or ``lines + j`` for the ``j``-th line (in address order) that
    is only read; ``iteration`` (n,) int64: which write of its line a write is (its iteration), -1 for a
    read. ``lines``: written lines; ``read_only_lines``: lines only read.
    """

    cycle: np.ndarray
    is_write: np.ndarray
    line: np.ndarray
    iteration: np.ndarray
    lines: int
    read_only_lines: int

    @property
    def requests(self) -> int:
        return int(self.cycle.shape[0])


class NVMainMeta(TraceMeta):
    """The metadata of an NVMain trace: a :class:`TraceMeta` whose :meth:`request_stream` is the trace's
    requests (set by :func:`open_nvmain`; a copy made with ``replace`` has none)."""

    _requests: RequestStream | None = None

    def request_stream(self) -> RequestStream | None:
        return self._requests


# --------------------------------------------------------------------------- parsing


def _fail(path: Path, line: int, what: str) -> TraceError:
    return TraceError(f"{path}:{line}: {what}")


def _hex_block(tokens: list[bytes], width: int, path: Path, numbers: np.ndarray, field: str) -> np.ndarray:
    """Hex tokens of ``width`` bytes each -> (n, width) uint8 (byte 0 first), or the error of the first bad one."""
    lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    bad = np.flatnonzero(lengths != 2 * width)
    if bad.size:
        i = int(bad[0])
        raise _fail(path, int(numbers[i]), f"{field} has {lengths[i]} hex digits; a line of {width} bytes needs "
                                           f"{2 * width} (layout.line_bytes = {width})")
    joined = b"".join(tokens)
    try:
        raw = bytes.fromhex(joined.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        for i, t in enumerate(tokens):  # the error path only: find the first bad token
            try:
                bytes.fromhex(t.decode("ascii"))
            except (ValueError, UnicodeDecodeError):
                raise _fail(path, int(numbers[i]), f"{field} is not hexadecimal: {t[:40].decode('ascii', 'replace')!r}")
        raise  # unreachable: the joined string failed, so one token does
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(tokens), width)


def _decimal(tokens: list[bytes], path: Path, numbers: np.ndarray, field: str) -> np.ndarray:
    arr = np.array(tokens, dtype=object).astype(bytes)
    ok = np.char.isdigit(arr) & (np.char.str_len(arr) <= len(str(MAX_TRACE_CYCLE)))
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise _fail(path, int(numbers[i]), f"{field} must be a non-negative decimal integer of at most 19 "
                                           f"digits, not {tokens[i][:40].decode('ascii', 'replace')!r}")
    return arr.astype(np.uint64)


def _addresses(tokens: list[bytes], path: Path, numbers: np.ndarray) -> np.ndarray:
    """Hex addresses (``0x`` optional, as NVMain's ``std::hex`` extraction takes them) -> (n,) uint64."""
    joined = b" ".join(tokens)
    try:
        if b"+" in joined or b"-" in joined or b"_" in joined:  # int() takes these; NVMain's reader does not
            raise ValueError
        return np.array([int(t, 16) for t in tokens], dtype=np.uint64)
    except (ValueError, OverflowError):
        pass
    for i, t in enumerate(tokens):  # the error path only: find the first bad token
        try:
            v = int(t, 16)
        except ValueError:
            v = -1
        if not 0 <= v < 2**64 or t[:1] in (b"+", b"-") or b"_" in t:
            raise _fail(path, int(numbers[i]), f"ADDRESS is not a hexadecimal address: "
                                               f"{t[:40].decode('ascii', 'replace')!r}")
    raise AssertionError("unreachable: some address failed in bulk")


def read_nvmain(path: str | os.PathLike, *, line_bytes: int = 64) -> NVMainTrace:
    """Parse and check an NVMain trace (versions 0 and 1); see the module docstring for the format.

    ``line_bytes``: the memory line (``layout.line_bytes``); DATA and OLDDATA must hold exactly one line
    (NVMain itself reads only 64-byte lines). Raises :class:`~archsim.errors.TraceError`
    ``FILE:LINE: what is wrong`` for the first bad line.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TraceError(f"{path}: no such NVMain trace") from None
    except IsADirectoryError:
        raise TraceError(f"{path}: is a directory, not an NVMain trace file (an archsim trace? use --trace)") from None
    except OSError as exc:
        raise TraceError(f"{path}: cannot read ({exc.strerror})") from None
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the final newline
    if not lines:
        raise TraceError(f"{path}: empty file; an NVMain trace starts with a header line NVMV0 or NVMV1")
    head = lines[0].strip()
    if not head.startswith(b"NVMV"):
        raise _fail(path, 1, f"no NVMain header: the first line must be NVMV0 or NVMV1, not "
                             f"{head[:40].decode('ascii', 'replace')!r} (NVMain 2.0 reads the first line as the "
                             "header and would skip this request)")
    try:
        version = int(head[4:])
    except ValueError:
        version = None
    if version not in VERSIONS:
        raise _fail(path, 1, f"NVMain trace format {head.decode('ascii', 'replace')!r}; archsim reads versions "
                             f"{', '.join(f'NVMV{v}' for v in VERSIONS)}")
    body = lines[1:]
    n_fields = 5 if version == 0 else 6
    fields = "CYCLE OP ADDRESS DATA THREAD" if version == 0 else "CYCLE OP ADDRESS DATA OLDDATA THREAD"
    # trailing blank lines are harmless; a blank line among the requests is not
    while body and not body[-1].strip():
        body.pop()
    n = len(body)
    # each line split once (bytes.split, in C, mapped over the lines: faster than a numpy pass over the text's
    # bytes, measured); the fields of all lines in one flat list
    parts = list(map(bytes.split, body))
    counts = np.fromiter(map(len, parts), dtype=np.int64, count=n)
    bad = np.flatnonzero(counts != n_fields)
    if bad.size:
        i = int(bad[0])
        what = "an empty line" if counts[i] == 0 else f"{counts[i]} fields"
        raise _fail(path, i + 2, f"{what}; NVMV{version} has {n_fields}: {fields}")
    numbers = np.arange(2, n + 2, dtype=np.int64)
    tokens = list(itertools.chain.from_iterable(parts))
    del parts
    cols = [tokens[k::n_fields] for k in range(n_fields)]
    cycle = _decimal(cols[0], path, numbers, "CYCLE")
    ops = np.array(cols[1], dtype="S2") if n else np.zeros(0, "S2")
    is_write = ops == b"W"
    bad = np.flatnonzero(~is_write & (ops != b"R"))
    if bad.size:
        i = int(bad[0])
        raise _fail(path, int(numbers[i]), f"unknown OP {cols[1][i][:20].decode('ascii', 'replace')!r}; "
                                           "NVMain traces have R (read) and W (write)")
    address = _addresses(cols[2], path, numbers)
    data = _hex_block(cols[3], line_bytes, path, numbers, "DATA")
    old = _hex_block(cols[4], line_bytes, path, numbers, "OLDDATA") if version == 1 else None
    thread = _decimal(cols[-1], path, numbers, "THREAD").astype(np.int64)
    return NVMainTrace(path, version, line_bytes, cycle, is_write, address, thread, data, old, numbers)


# --------------------------------------------------------------------------- the trace source


class NVMainSource:
    """An NVMain trace as a trace source (:mod:`workloads.source`): its write stream, iteration by iteration.

    Built by :func:`open_nvmain`. ``trace``: the parsed requests; ``line_addresses`` (lines,) the byte
    address of each layout line; ``n_iterations``: writes per line. The whole write stream is held in
    memory (it is smaller than the text it came from).
    """

    def __init__(self, trace: NVMainTrace, meta: TraceMeta, words: np.ndarray, line_addresses: np.ndarray,
                 write_order: np.ndarray, layout=None) -> None:
        self.trace = trace
        self.meta = meta
        self.path = trace.path
        self._words = words  # (K, lines, words_per_line) uint32
        self.line_addresses = line_addresses
        self._layout = layout  # sidecar: the original layout, to rebuild trace rows from lines
        self._write_order = write_order  # (lines, K): positions among the writes, by line then file order

    @property
    def n_iterations(self) -> int:
        return int(self._words.shape[0])

    @property
    def n_params(self) -> int:
        return self.meta.n_params

    @property
    def lines(self) -> np.ndarray:
        """(iterations, lines, words_per_line) uint32: the content of every write."""
        return self._words

    def old_data_check(self) -> dict[str, int]:
        """How the OLDDATA of version 1 compares with the replay's view (zeros for version 0):
        ``seeded_lines``, lines whose first write's OLDDATA is not all zeros (archsim's memory starts
        erased, so their first write is priced against zeros, not that content); ``mismatched_writes``,
        later writes whose OLDDATA is not the DATA of the line's previous write."""
        t = self.trace
        if t.old_data is None:
            return {"seeded_lines": 0, "mismatched_writes": 0}
        w = np.flatnonzero(t.is_write)
        order = self._write_order  # (lines, K) request positions among the writes, by line then file order
        old = t.old_data[w][order]             # (lines, K, line_bytes)
        new = t.data[w][order]
        seeded = int(np.count_nonzero(old[:, 0].any(axis=1)))
        mismatched = int(np.count_nonzero((old[:, 1:] != new[:, :-1]).any(axis=2)))
        return {"seeded_lines": seeded, "mismatched_writes": mismatched}

    def iter_chunks(self, chunk_iterations: int, start: int = 0) -> Iterator[np.ndarray]:
        chunk_iterations, start = check_range(chunk_iterations, start, self.n_iterations)
        for a in range(start, self.n_iterations, chunk_iterations):
            block = self._words[a:a + chunk_iterations]
            if self._layout is not None:
                yield self._layout.from_lines(block)
            else:
                yield block.reshape(block.shape[0], -1).view(np.float32)

    def iter_records(self, chunk_iterations: int, start: int = 0) -> Iterator[np.ndarray]:
        chunk_iterations, start = check_range(chunk_iterations, start, self.n_iterations)
        for a in range(start, self.n_iterations, chunk_iterations):
            b = min(self.n_iterations, a + chunk_iterations)
            rec = np.zeros(b - a, dtype=RECORD_DTYPE)
            rec["iteration"] = np.arange(a, b)
            rec["batch_size"] = self.meta.batch_size
            rec["loss"] = np.nan
            yield rec


def _plain_meta(trace: NVMainTrace, lines: int, iterations: int) -> TraceMeta:
    words = trace.line_bytes // 4
    tensor = TensorSpec("nvmain.lines", "nvmain", "weight", (lines, words), offset=0)
    meta = NVMainMeta(model="nvmain-trace", dataset=trace.path.name, optimizer="none", learning_rate=0.0,
                     batch_size=1, seed=0, recorder=RECORDER, recorder_version=f"NVMV{trace.version}",
                     tensors=(tensor,), n_iterations=iterations, complete=True,
                     knobs={"requests": trace.requests, "reads": trace.reads, "writes": trace.writes})
    meta.validate()
    return meta


def _sidecar_meta(path: Path, trace: NVMainTrace, lines: int, iterations: int):
    """The original metadata and layout from an exported trace's side file, or (None, None) without one."""
    side = sidecar_path(path)
    if not side.is_file():
        return None, None
    from archsim.layout import AddressLayout

    try:
        doc = json.loads(side.read_text())
        if not isinstance(doc, dict):
            raise ValueError(f"a JSON {type(doc).__name__}, not an object")
        if doc.get("format") != SIDECAR_FORMAT or doc.get("version") != SIDECAR_VERSION:
            raise ValueError(f"format {doc.get('format')!r} version {doc.get('version')!r}, expected "
                             f"{SIDECAR_FORMAT!r} version {SIDECAR_VERSION}")
        meta = NVMainMeta.from_header_json(doc["meta"], n_iterations=iterations, complete=True,
                                          results=doc.get("results", {}))
        meta.validate()
        layout = AddressLayout.from_meta(meta, _LayoutSpec(doc["line_bytes"], doc["align_tensors"]))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise TraceError(f"{side}: not a valid side file of an exported NVMain trace ({exc}); delete it to "
                         "replay the .nvt as a plain NVMain trace") from None
    if doc["line_bytes"] != trace.line_bytes or layout.lines != lines:
        raise TraceError(f"{side}: describes {layout.lines} lines of {doc['line_bytes']} bytes, the trace has "
                         f"{lines} lines of {trace.line_bytes} bytes (set layout.line_bytes = {doc['line_bytes']}, "
                         "or delete the side file to replay the .nvt as a plain NVMain trace)")
    for key, held in (("lines", lines), ("iterations", iterations)):
        if doc.get(key) != held:
            raise TraceError(f"{side}: says {key} = {doc.get(key)!r}, the trace holds {held}: not the side file of "
                             "this trace (delete it to replay the .nvt as a plain NVMain trace)")
    return meta, layout


@dataclass(frozen=True)
class _LayoutSpec:
    """The layout keys :meth:`archsim.layout.AddressLayout.from_meta` reads."""

    line_bytes: int
    align_tensors: bool
    word_bits: int = 32

    @property
    def words_per_line(self) -> int:
        return self.line_bytes * 8 // self.word_bits


def open_nvmain(path: str | os.PathLike, *, line_bytes: int = 64, sidecar: bool = True) -> NVMainSource:
    """An NVMain trace as a trace source (see the module docstring for the mapping).

    ``line_bytes``: the memory line (``layout.line_bytes``). ``sidecar``: use ``FILE.meta.json`` (written
    by :func:`write_nvmain`) when it is there. Raises :class:`~archsim.errors.TraceError`.
    """
    path = Path(path)
    if line_bytes % 4:
        raise TraceError(f"{path}: a line of {line_bytes} bytes is not a whole number of 32-bit words")
    trace = read_nvmain(path, line_bytes=line_bytes)
    w = np.flatnonzero(trace.is_write)
    if not w.size:
        raise TraceError(f"{path}: no writes ({trace.reads} reads); archsim replays a trace's writes")
    addr = trace.address[w]
    misaligned = np.flatnonzero(addr % np.uint64(line_bytes))
    if misaligned.size:
        i = w[misaligned[0]]
        raise _fail(path, int(trace.line_numbers[i]), f"ADDRESS {int(trace.address[i]):#x} is not a multiple of the "
                                                      f"line size ({line_bytes} bytes); DATA is a whole line")
    line_addr, line_of, counts = np.unique(addr, return_inverse=True, return_counts=True)
    if counts.min() != counts.max():
        lo, hi = int(np.argmin(counts)), int(np.argmax(counts))
        raise TraceError(
            f"{path}: line {int(line_addr[lo]):#x} is written {counts[lo]} times, line {int(line_addr[hi]):#x} "
            f"{counts[hi]} times; archsim replays a write stream in which every written line is written equally "
            "often (iteration k is the k-th write of each line)")
    lines, K = int(line_addr.shape[0]), int(counts[0])
    order = np.argsort(line_of, kind="stable")  # by line, then file order: (lines, K)
    data = trace.data[w][order].reshape(lines, K, line_bytes)
    words = np.ascontiguousarray(data.transpose(1, 0, 2)).view("<u4").astype(np.uint32, copy=False)
    vals = words.view(np.float32)
    finite = np.isfinite(vals)
    if not finite.all():
        k, ln, word = (int(x[0]) for x in np.nonzero(~finite))
        req = w[order.reshape(lines, K)[ln, k]]
        raise _fail(path, int(trace.line_numbers[req]),
                    f"word {word} of DATA is {int(words[k, ln, word]):#010x}, a float32 "
                    f"{vals[k, ln, word]}; archsim replays float32 values and never a non-finite one")
    meta, layout = _sidecar_meta(path, trace, lines, K) if sidecar else (None, None)
    if meta is not None and np.any(line_addr != np.arange(lines, dtype=np.uint64) * np.uint64(line_bytes)):
        raise TraceError(f"{sidecar_path(path)}: the trace's line addresses are not 0, {line_bytes}, ... as "
                         "an exported trace's are; delete the side file to replay it as a plain NVMain trace")
    if meta is None:
        meta = _plain_meta(trace, lines, K)
    object.__setattr__(meta, "_requests", _request_stream(trace, w, order, line_of, line_addr, K))
    return NVMainSource(trace, meta, words, line_addr, order.reshape(lines, K), layout)


def _request_stream(trace: NVMainTrace, w: np.ndarray, order: np.ndarray, line_of: np.ndarray,
                    line_addr: np.ndarray, K: int) -> RequestStream:
    lines = int(line_addr.shape[0])
    n = trace.requests
    line = np.empty(n, np.int64)
    iteration = np.full(n, -1, np.int64)
    line[w] = line_of
    k = np.empty(w.size, np.int64)
    k[order] = np.tile(np.arange(K, dtype=np.int64), lines)  # rank of each write within its line
    iteration[w] = k
    r = np.flatnonzero(~trace.is_write)
    if r.size:
        lb = np.uint64(trace.line_bytes)
        addr = trace.address[r] // lb * lb  # a read of part of a line reads the line
        pos = np.minimum(np.searchsorted(line_addr, addr), lines - 1)
        hit = line_addr[pos] == addr
        line[r[hit]] = pos[hit]
        extra, inv = np.unique(addr[~hit], return_inverse=True)
        line[r[~hit]] = lines + inv
        read_only = int(extra.shape[0])
    else:
        read_only = 0
    return RequestStream(trace.cycle.copy(), trace.is_write.copy(), line, iteration, lines, read_only)


# --------------------------------------------------------------------------- writing


def _write_requests(f, source, layout, n: int, period: int, first_cycle: int, chunk_iterations: int, lb: int,
                    progress) -> int:
    """The trace's lines (header, then every write of ``n`` iterations) into ``f``; the writes written."""
    L, W = layout.lines, layout.words_per_line
    addr = [f"0x{i * lb:x}" for i in range(L)]
    prev = np.zeros((L, W), dtype=np.uint32)
    written = 0
    f.write("NVMV1\n")
    t = 0
    for block in source.iter_chunks(chunk_iterations):
        block = block[: n - t]
        if not block.shape[0]:
            break
        source.meta.check_finite(block, t, "export")  # an exported trace would be refused where it is read
        lines = layout.to_lines(block)
        T = lines.shape[0]
        new_hex = lines.astype("<u4").tobytes().hex()
        old = np.concatenate([prev[None], lines[:-1]], axis=0)
        old_hex = old.astype("<u4").tobytes().hex()
        width = 2 * lb
        out = []
        for k in range(T):
            base = first_cycle + (t + k) * period
            for i in range(L):
                j = (k * L + i) * width
                out.append(f"{base + i} W {addr[i]} {new_hex[j:j + width]} {old_hex[j:j + width]} 0\n")
        f.write("".join(out))
        prev = lines[-1].copy()
        t += T
        written += T * L
        if progress is not None:
            progress(T)
        if t >= n:
            break
    return written


def write_nvmain(source, layout, path: str | os.PathLike, *, iterations: int | None = None,
                 period_cycles: int | None = None, first_cycle: int = 0, chunk_iterations: int = 64,
                 line_bytes: int | None = None, sidecar: bool = True, progress=None) -> dict:
    """Write the write stream of ``source`` (a trace source) laid out by ``layout`` (an
    :class:`archsim.layout.AddressLayout`) as an NVMain v1 trace (see the module docstring for the rules).

    ``iterations``: the first N (default all); ``period_cycles``: cycles from one iteration's first write
    to the next's (default ``layout.lines``; at least ``layout.lines``); ``sidecar``: also write
    ``FILE.meta.json`` (the source's metadata and the layout), so that a replay of the file has the
    original tensors. Written to ``FILE.tmp`` and renamed. Returns a summary (requests, cycles, bytes).
    """
    path = Path(path)
    L, W = layout.lines, layout.words_per_line
    lb = line_bytes or W * 4
    if lb != W * 4:
        raise TraceError(f"line_bytes {lb} does not match the layout's {W} words per line")
    n = source.n_iterations if iterations is None else int(iterations)
    if not 1 <= n <= source.n_iterations:
        raise TraceError(f"export: {n} iterations asked, the source holds {source.n_iterations}")
    if not is_integer(first_cycle) or first_cycle < 0:
        raise TraceError(f"export: the first cycle must be a non-negative integer, not {first_cycle!r}")
    if path.is_dir():
        raise TraceError(f"{path}: is a folder; give the trace file's path")
    period = L if period_cycles is None else int(period_cycles)
    if period < L:
        raise TraceError(f"export: a period of {period} cycles is shorter than an iteration's {L} writes "
                         "(one cycle each)")
    last_cycle = first_cycle + (n - 1) * period + L - 1
    if last_cycle > MAX_TRACE_CYCLE:  # archsim's own reader would refuse the file
        raise TraceError(f"export: the last CYCLE would be {last_cycle:,} (first cycle + iterations x period + "
                         f"lines), more than the {MAX_TRACE_CYCLE:,} (19 digits) an NVMain trace's reader takes; "
                         "lower the first cycle (--first-cycle) or the period (--period-cycles)")
    tmp = path.with_name(path.name + ".tmp")
    try:
        f = open(tmp, "w", encoding="ascii", newline="\n")
    except OSError as exc:
        raise TraceError(f"{path}: cannot write the trace here ({exc.strerror or exc}; is its folder missing or "
                         "read-only?)") from None
    try:
        with f:
            written = _write_requests(f, source, layout, n, period, first_cycle, chunk_iterations, lb, progress)
    except BaseException:
        tmp.unlink(missing_ok=True)  # an interrupted or failed export leaves no partial file behind
        raise
    os.replace(tmp, path)
    if sidecar:
        doc = {"format": SIDECAR_FORMAT, "version": SIDECAR_VERSION, "line_bytes": lb,
               "align_tensors": bool(layout.align_tensors), "lines": L, "iterations": n,
               "cycle_rule": {"first_cycle": first_cycle, "period_cycles": period},
               "meta": source.meta.header_json(), "results": dict(source.meta.results)}
        side = sidecar_path(path)
        side.write_text(json.dumps(doc, indent=1, default=str))
    return {"requests": written, "iterations": n, "lines": L, "line_bytes": lb, "last_cycle": last_cycle,
            "bytes": path.stat().st_size, "nvmain_cycle_ok": last_cycle <= NVMAIN_MAX_CYCLE}


__all__ = ["NVMainTrace", "NVMainSource", "NVMainMeta", "RequestStream", "read_nvmain", "open_nvmain", "write_nvmain", "sidecar_path",
           "VERSIONS", "NVMAIN_MAX_CYCLE", "MAX_TRACE_CYCLE"]

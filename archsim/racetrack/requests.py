"""Request files (the format of existing SK-RM simulators) and their replay.

One request a line: ``W <track> <index> <value>`` or ``R <track> <index> [<value>]``; values are
unsigned decimal integers below 2^item_bits (2^64 by default), ignored on reads. A line whose
first word is not ``W`` or ``R`` is a comment, except a line that looks like a request written
wrong (a lower-case ``w``/``r``, ``W12`` without a space, or ``W,0,1,5`` / ``W, 0 1 5`` with a
separator before the numbers): that is an error, not a silently skipped request; so is a file with no
request at all. A UTF-8 byte-order mark is ignored. Every bad request line is an error naming the file
and line number; so is a track index >= ``tracks``, a data index >= ``data_per_track`` and a value
too wide for a data item. The memory starts formatted with value 0 everywhere.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from archsim import _racetrack_kernels as K
from archsim.config import Config
from archsim.errors import ArchsimError, is_integer
from archsim.racetrack.config import RacetrackConfig
from archsim.racetrack.ports import PortModel
from archsim.racetrack.schemes import RacetrackScheme, make_scheme
from archsim.racetrack.stream import RacetrackResult

_UINT = re.compile(r"[0-9]+\Z")
#: A line that is a request written wrong, not a comment: w / r as its first word, W12, or W / R then a
#: separator and a number (W,0,1,5 / R;0;1 / W, 0 1 5); words after W or R (R: reads follow) stay a comment.
_LOOKS_LIKE_REQUEST = re.compile(r"^\s*(?:[wr](?:\s|$)|[WRwr]\d|[WRwr]\s*[,;:]\s*\d)")


class RequestFileError(ArchsimError):
    """A request file is missing or has a bad line."""


@dataclass
class Requests:
    """Parsed requests: op (0 write, 1 read), track, index, value, and each request's file line."""

    op: np.ndarray
    track: np.ndarray
    index: np.ndarray
    value: np.ndarray
    line: np.ndarray
    source: str = "<requests>"

    def __len__(self) -> int:
        return int(self.op.size)

    @classmethod
    def from_arrays(cls, op, track, index, value=None, source: str = "<generated>") -> "Requests":
        """Requests from arrays of one length: ``op`` 0 (write) or 1 (read), ``track``, ``index`` and
        ``value`` (writes' data; default 0) non-negative integers."""
        given = {"op": op, "track": track, "index": index}
        if value is not None:
            given["value"] = value
        arrays = {}
        for name, a in given.items():
            a = _integers(a)
            if a.ndim != 1 or not (a.dtype.kind in "ub" or a.dtype.kind == "i" and not (a < 0).any()):
                raise RequestFileError(f"{source}: {name} must be a 1-D array of non-negative integers, not "
                                       f"{a.dtype} of shape {a.shape}" + (" (with negative values)" if a.ndim == 1
                                                                          and a.dtype.kind == "i" else ""))
            arrays[name] = a
        sizes = {name: a.size for name, a in arrays.items()}
        if len(set(sizes.values())) > 1:
            raise RequestFileError(f"{source}: {', '.join(sizes)} must have one length, not "
                                   f"{', '.join(map(str, sizes.values()))}")
        n = arrays["op"].size
        if (arrays["op"] > 1).any():
            raise RequestFileError(f"{source}: op must be 0 (write) or 1 (read), not {arrays['op'].max()}")
        value = np.zeros(n, dtype=np.uint64) if value is None else arrays["value"].astype(np.uint64)
        return cls(np.ascontiguousarray(arrays["op"], dtype=np.uint8),
                   np.ascontiguousarray(arrays["track"], dtype=np.int64),
                   np.ascontiguousarray(arrays["index"], dtype=np.int64),
                   np.ascontiguousarray(value), np.arange(1, n + 1, dtype=np.int64), source)

    def check(self, config: RacetrackConfig) -> None:
        """Errors naming the first request outside the memory of ``config`` (and arrays of unequal lengths)."""
        sizes = [self.op.size, self.track.size, self.index.size, self.value.size, self.line.size]
        if len(set(sizes)) > 1:
            raise RequestFileError(f"{self.source}: op, track, index, value and line must have one length, not "
                                   f"{', '.join(map(str, sizes))}")
        for name, arr, bound, key in (("track", self.track, config.tracks, "--tracks"),
                                      ("data index", self.index, config.data_per_track, "--data-per-track")):
            bad = np.flatnonzero((arr < 0) | (arr >= bound))
            if bad.size:
                i = bad[0]
                raise RequestFileError(f"{self.source}:{self.line[i]}: {name} {arr[i]} is out of range "
                                       f"(0..{bound - 1}, {key} {bound})")
        if config.item_bits < 64:
            bad = np.flatnonzero((self.op == 0) & (self.value >> np.uint64(config.item_bits) != 0))
            if bad.size:
                i = bad[0]
                raise RequestFileError(f"{self.source}:{self.line[i]}: value {self.value[i]} is too wide for a data "
                                       f"item of {config.item_bits} bits")


def _integers(a) -> np.ndarray:
    """``a`` as an array; a sequence of Python integers numpy would widen to float64 or object (values past
    int64) exactly as uint64 (any value that fits), so that values of 64-bit items survive."""
    arr = np.asarray(a)
    if arr.dtype.kind in "fO" and not isinstance(a, np.ndarray) and arr.ndim == 1 \
            and all(is_integer(x) for x in a):
        try:
            return np.array([int(x) for x in a], dtype=np.uint64)
        except OverflowError:  # a negative value or one past 64 bits: refused as it is
            return arr
    return arr


def racetrack_section(config) -> RacetrackConfig:
    """The ``[racetrack]`` parameters: ``config`` itself, or the section of a whole configuration
    (``archsim.config.load_config``); anything else is one TypeError naming what was given."""
    if isinstance(config, RacetrackConfig):
        return config
    if isinstance(config, Config):
        return config.racetrack
    raise TypeError(f"the racetrack needs its [racetrack] parameters (a RacetrackConfig, or a configuration of "
                    f"load_config), not {type(config).__name__}")


def parse_requests(path: str | Path, config) -> Requests:
    """Read a request file, checking every line against the memory size of ``config`` (a
    :class:`RacetrackConfig` or a whole configuration)."""
    config = racetrack_section(config)
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")  # a byte-order mark is not part of the first request
    except FileNotFoundError:
        raise RequestFileError(f"{p}: request file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RequestFileError(f"{p}: cannot read the request file: {exc}") from None
    ops, tracks, indexes, values, lines = [], [], [], [], []
    limit = 1 << config.item_bits
    T, D = config.tracks, config.data_per_track
    for lineno, raw in enumerate(text.splitlines(), 1):
        parts = raw.split()
        if not parts:
            continue
        if parts[0] not in ("W", "R"):
            if _LOOKS_LIKE_REQUEST.match(raw):
                raise RequestFileError(f"{p}:{lineno}: {raw.strip()!r} looks like a request but is not one: a request "
                                       "starts with the word W or R (upper case), then its numbers, separated by "
                                       "spaces")
            continue
        kind = parts[0]
        if kind == "W" and len(parts) != 4:
            raise RequestFileError(f"{p}:{lineno}: a write is 'W <track> <index> <value>', got {raw.strip()!r}")
        if kind == "R" and len(parts) not in (3, 4):
            raise RequestFileError(f"{p}:{lineno}: a read is 'R <track> <index> [<value>]', got {raw.strip()!r}")
        nums = []
        for what, tok in zip(("track", "index", "value"), parts[1:]):
            if not _UINT.match(tok):
                raise RequestFileError(f"{p}:{lineno}: {what} {tok!r} is not an unsigned decimal integer")
            nums.append(int(tok))
        track, index = nums[0], nums[1]
        value = nums[2] if len(nums) > 2 else 0
        if track >= T:
            raise RequestFileError(f"{p}:{lineno}: track {track} is out of range (0..{T - 1}, --tracks {T})")
        if index >= D:
            raise RequestFileError(f"{p}:{lineno}: data index {index} is out of range (0..{D - 1}, "
                                   f"--data-per-track {D})")
        if value >= limit:
            if value >> 64:
                raise RequestFileError(f"{p}:{lineno}: value {value} does not fit in 64 bits")
            raise RequestFileError(f"{p}:{lineno}: value {value} is too wide for a data item of "
                                   f"{config.item_bits} bits")
        ops.append(0 if kind == "W" else 1)
        tracks.append(track)
        indexes.append(index)
        values.append(value if kind == "W" else 0)
        lines.append(lineno)
    if not ops:
        raise RequestFileError(f"{p}: no requests (a request is a line 'W <track> <index> <value>' or "
                               "'R <track> <index>'; every other line is a comment)")
    return Requests(np.array(ops, dtype=np.uint8), np.array(tracks, dtype=np.int64),
                    np.array(indexes, dtype=np.int64), np.array(values, dtype=np.uint64),
                    np.array(lines, dtype=np.int64), str(p))


def replay_requests(requests: Requests, scheme: str | RacetrackScheme, config,
                    *, want_reads: bool = False) -> RacetrackResult:
    """Replay requests on a formatted memory of ``config.tracks`` x ``config.data_per_track`` items
    (``config``: a :class:`RacetrackConfig` or a whole configuration).

    Returns the counts, latency (the sum of the requests' service times) and energy; with
    ``want_reads`` the result's ``stored`` holds what every request read (0 for writes).
    """
    config = racetrack_section(config)
    config.validate("racetrack")
    requests.check(config)
    sch = make_scheme(scheme, config) if isinstance(scheme, str) else scheme
    ports = PortModel.from_config(config, sch.positions())
    geo, kp = ports.kernel_params(), sch.kernel_params()
    n_items = config.tracks * config.data_per_track
    state = np.zeros((n_items, config.segments_per_item * kp["spw"]), dtype=np.uint64)
    offsets = np.zeros(-(-config.tracks // config.tracks_per_cluster), dtype=np.int64)

    values = requests.value
    writes = requests.op == 0
    if sch.transforms_words:
        if config.item_bits < 32:
            raise RequestFileError(f"scheme {sch.name} stores float32 words: the data items must be 32 or 64 bits")
        # the scheme stores transformed float32 words: transform the written halves of each item
        halves = config.item_bits // 32
        words = values.view(np.uint32).reshape(-1, 2)[:, :halves]
        new = words.copy()
        new[writes] = sch.transform(np.ascontiguousarray(words[writes]), 32)
        full = np.zeros((values.size, 2), dtype=np.uint32)
        full[:, :halves] = new
        values = full.view(np.uint64).ravel()
        zero = np.zeros((1, 2), dtype=np.uint32)
        zero[:, :halves] = sch.format_words(np.zeros((1, halves), dtype=np.uint32))
        fmt_value = int(zero.view(np.uint64)[0, 0])
    else:
        fmt_value = 0

    # formatting: every item written once with the encoding of 0, uncounted
    fmt_totals = np.zeros(9, dtype=np.int64)
    all_items = np.arange(n_items, dtype=np.int64)
    K.request_replay(np.zeros(n_items, dtype=np.uint8), all_items // config.data_per_track,
                     all_items % config.data_per_track, np.full(n_items, fmt_value, dtype=np.uint64),
                     state, offsets.copy(), fmt_totals, np.zeros(n_items, dtype=np.uint64), geo, kp)

    totals = np.zeros(9, dtype=np.int64)
    read_values = np.zeros(len(requests), dtype=np.uint64)
    K.request_replay(requests.op, requests.track, requests.index, values, state, offsets, totals,
                     read_values, geo, kp)
    t = [int(x) for x in totals]
    return RacetrackResult(
        scheme=sch.name, config=config, iterations=t[7], line_writes=t[7], reads=t[8],
        insertions=t[0], removals=t[1], detects=t[2], shifts=t[3],
        path_insertions=t[4], path_removals=t[5], path_detects=t[6],
        tracks_moved_per_shift=ports.tracks_moved_per_shift, format_insertions=int(fmt_totals[0]),
        stored=read_values if want_reads else None, figures=sch.figures(),
        params={"tracks": config.tracks, "data_per_track": config.data_per_track,
                "segment_bits": config.segment_bits, "item_bits": config.item_bits, "requests": len(requests),
                "writes": t[7], "reads": t[8], **{k: v for k, v in dataclasses.asdict(config).items()
                                                   if k in ("layout", "port_choice", "return_policy",
                                                            "ports_per_track")}},
    )

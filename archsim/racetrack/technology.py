"""Skyrmion racetrack memory as an archsim memory technology (``--memory racetrack``)."""
from __future__ import annotations

from typing import Any

import numpy as np

from archsim.racetrack.config import RacetrackConfig
from archsim.racetrack.ports import PortModel
from archsim.racetrack.schemes import RACETRACK_SCHEMES, make_scheme
from archsim.racetrack.stream import RacetrackStream, service_ns
from archsim.registry import Registry
from archsim.technology import TECHNOLOGIES, MemoryTechnology, ServiceTimes


class Racetrack(MemoryTechnology):
    """Skyrmion racetrack memory (racetrack.md): tracks, ports, shifts and the SK-RM write schemes.

    Parameters come from ``config.racetrack`` (:class:`RacetrackConfig`), the trace word width
    from ``config.layout.word_bits``.
    """

    name = "racetrack"
    default_schemes = ("naive", "dcw", "fnw", "pw", "pw+fnw", "m-of-n", "fixed-ones")

    @property
    def schemes(self) -> Registry:  # type: ignore[override]
        return RACETRACK_SCHEMES

    def open_stream(self, scheme: str, *, lines: int, words: int, config: Any, line_offset: int = 0,
                    keep_stored: bool = False) -> RacetrackStream:
        rt = _racetrack_config(config)
        return RacetrackStream(make_scheme(scheme, rt), lines, words, word_bits=config.layout.word_bits,
                               line_offset=line_offset, keep_stored=keep_stored)

    def service_times(self, outcome: Any, config: Any) -> ServiceTimes:
        """A line write: its shift steps x shift latency + its critical-path port operations
        (detects, removals, insertions) x their latencies; no refresh. ``read_ns``: reading one
        line whose items lie next to each other on a track, starting aligned: every position of the
        line's items detected, one shift step between consecutive positions (raw w-bit segments)."""
        rt = _racetrack_config(config)
        write = service_ns(np.asarray(getattr(outcome, "outcome", outcome)), rt)
        return ServiceTimes(write, np.zeros_like(write), self.read_ns(config))

    def read_ns(self, config: Any) -> float:
        return line_read_ns(_racetrack_config(config), config.layout.words_per_line, config.layout.word_bits)


def line_read_ns(rt: RacetrackConfig, words_per_line: int, word_bits: int = 32) -> float:
    """Unqueued latency of reading one line (see :meth:`Racetrack.service_times`), ns."""
    items = -(-words_per_line // max(1, rt.item_bits // word_bits))
    ports = PortModel.from_config(rt, rt.segment_bits)
    walk = items * ports.walk
    detects = walk
    return (walk - 1) * rt.shift_latency_ns + detects * rt.read_latency_ns


def _racetrack_config(config: Any) -> RacetrackConfig:
    rt = getattr(config, "racetrack", None)
    return rt if rt is not None else RacetrackConfig()


TECHNOLOGIES.register("racetrack", Racetrack())

"""Memory technologies (PCM, racetrack, ...) registered by name.

A technology bundles what the replay needs to know about a kind of memory:
its own registry of write schemes (so that PCM ``dcw`` and racetrack ``dcw``
coexist), its default schemes, and how to open a streaming replay of one
scheme over a set of lines. ``archsim run --memory NAME`` selects one.

The stream a technology opens follows the protocol of
:class:`archsim.encoding.EncoderStream`: ``feed(writes, want_stored=False)``
with ``writes`` of shape (T, lines, words) returns a chunk outcome (with
``.outcome`` per write and line, and ``.stored`` or None), and ``result()``
returns an object with ``summary() -> dict`` (one flat row of figures),
``scheme`` and ``stored``.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from archsim.registry import Registry


@dataclass
class ServiceTimes:
    """What each line write of a chunk costs a bank, in ns (arrays of shape (T, lines)).

    ``write_ns``: the write itself (0 for a write that programs nothing);
    ``refresh_ns``: the refresh (PreSET / PreRESET / ...) the write triggered, 0 if none;
    ``read_ns``: one line read (a scalar). The timing model runs refreshes in idle time
    and charges a write that finds its line's refresh unfinished both latencies.
    """

    write_ns: np.ndarray
    refresh_ns: np.ndarray
    read_ns: float


class MemoryTechnology(ABC):
    """One kind of memory. Subclass, then ``TECHNOLOGIES.register("name", instance)``."""

    name: str = "?"
    #: The technology's write schemes, by name.
    schemes: Registry
    #: Schemes replayed when the user names none.
    default_schemes: tuple[str, ...] = ()

    @abstractmethod
    def open_stream(self, scheme: str, *, lines: int, words: int, config: Any, line_offset: int = 0,
                    keep_stored: bool = False):
        """A streaming replay of ``scheme`` over ``lines`` x ``words`` data words, with the
        cell parameters and scheme parameters taken from ``config`` (an
        :class:`archsim.config.Config`)."""

    @abstractmethod
    def service_times(self, outcome: Any, config: Any) -> ServiceTimes:
        """Bank service times of the line writes of one chunk, from what the technology's
        stream returned for it: its chunk outcome (with ``.outcome`` and ``.extras``) or the
        bare per-write ``outcome`` array."""

    @abstractmethod
    def read_ns(self, config: Any) -> float:
        """Unqueued latency of reading one line, ns."""

    def is_exact(self, scheme: str) -> bool:
        """Whether a read right after a write returns exactly what was written."""
        return bool(getattr(self.schemes.get(scheme), "exact", True))


#: Registered memory technologies.
TECHNOLOGIES: Registry[MemoryTechnology] = Registry("memory technology")


class Pcm(MemoryTechnology):
    """Phase-change memory: the schemes of ``pcm.md`` (:data:`archsim.encoding.PCM_SCHEMES`)."""

    name = "pcm"
    default_schemes = ("preset", "prereset", "dcw", "fnw", "wom-set", "appwom")

    @property
    def schemes(self) -> Registry:  # type: ignore[override]
        from archsim.encoding import PCM_SCHEMES

        return PCM_SCHEMES

    def open_stream(self, scheme: str, *, lines: int, words: int, config: Any, line_offset: int = 0,
                    keep_stored: bool = False):
        from archsim.encoding import EncoderStream, make_encoder

        defaults = getattr(self.schemes.get(scheme), "config_defaults", None)  # e.g. dap/ps: the [dap] section
        params = {**(defaults(config) if defaults else {}), **config.encoding.schemes.get(scheme, {})}
        encoder = make_encoder(scheme, word_bits=config.layout.word_bits,
                               refresh_unit=config.encoding.refresh_unit, **params)
        return EncoderStream(encoder, lines, words, pcm=config.pcm, line_offset=line_offset,
                             keep_stored=keep_stored)

    def service_times(self, outcome: Any, config: Any) -> ServiceTimes:
        """Write: SET latency if it SETs any cell, else RESET latency (write-power rounds
        with a budget), unless the scheme gave each write's latency (``extras["write_ns"]``:
        DAP's lossy SETs); refresh: the same rule over the refresh's cells."""
        from archsim.encoding.base import RR, RS, WR, WS
        from archsim.encoding.costs import write_latency_ns

        pcm = config.pcm
        extras = getattr(outcome, "extras", {})
        outcome = np.asarray(getattr(outcome, "outcome", outcome))
        write = extras.get("write_ns")
        if write is None:
            write = write_latency_ns(outcome[..., WS], outcome[..., WR], pcm)
        refresh = write_latency_ns(outcome[..., RS], outcome[..., RR], pcm)
        if pcm.read_before_write:
            write = np.where(write > 0, write + pcm.read_latency_ns, 0.0)
        return ServiceTimes(write, refresh, pcm.read_latency_ns)

    def read_ns(self, config: Any) -> float:
        return config.pcm.read_latency_ns


TECHNOLOGIES.register("pcm", Pcm())

import archsim.racetrack  # noqa: E402,F401  (registers "racetrack")

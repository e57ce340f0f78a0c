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
from typing import Any

from archsim.registry import Registry


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

        params = dict(config.encoding.schemes.get(scheme, {}))
        encoder = make_encoder(scheme, word_bits=config.layout.word_bits,
                               refresh_unit=config.encoding.refresh_unit, **params)
        return EncoderStream(encoder, lines, words, pcm=config.pcm, line_offset=line_offset,
                             keep_stored=keep_stored)


TECHNOLOGIES.register("pcm", Pcm())

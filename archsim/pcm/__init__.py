"""Phase-change memory: its configuration, cost rules, write schemes (encoders), streams and DAP.

Layout of the package (one concept per module):

- :mod:`~archsim.pcm.config`: the ``[pcm]`` and ``[encoding]`` sections (``[dap]``: :mod:`~archsim.pcm.dap.config`);
- :mod:`~archsim.pcm.costs`: the cost rules, in one place (line-write latency, flip and read energy);
- :mod:`~archsim.pcm.encoder`: the :class:`Encoder` interface and the :data:`PCM_SCHEMES` registry;
- :mod:`~archsim.pcm.stream`: :class:`EncoderStream`, :class:`ReplayResult`, :func:`replay`;
- :mod:`~archsim.pcm.schemes`: the built-in schemes by family (``raw``: preset, prereset, dcw;
  ``fnw``; ``wom``: wom-set, appwom), and :mod:`~archsim.pcm.dap`: dap, ps and the lossy-SET model;
- :mod:`~archsim.pcm.technology`: :class:`Pcm`, the memory technology with its cost model.

Quick use::

    import numpy as np
    from archsim.pcm import replay, SCHEMES
    r = replay("appwom", np.random.default_rng(0).random((100, 16), dtype=np.float32))
    r.bit_flips, r.energy_pj, r.wear.shape, r.lifetime_iterations()

Streaming (state kept between calls)::

    stream = open_stream("appwom", lines=1000, words=16)
    for chunk in chunks:            # (T, 1000, 16) uint32 or float32
        stream.feed(chunk)
    result = stream.result()

A new scheme is one class and one registration line (see ``docs/encoders.md``).
"""
from __future__ import annotations

from typing import Any

from archsim.contracts import ChunkOutcome
from archsim.pcm import schemes as _schemes  # noqa: F401  (registers the built-ins)
from archsim.pcm.config import EncodingConfig, PcmConfig
from archsim.pcm.dap import schemes as _dap_schemes  # noqa: F401  (registers dap and ps)
from archsim.pcm.dap.config import DapConfig
from archsim.pcm.encoder import OUTCOME_FIELDS, PCM_SCHEMES, Encoder, SchemeParams, make_encoder
from archsim.pcm.grouping import Group, adjacent_grouping, fig5_grouping
from archsim.pcm.polarity import POLARITY_01, POLARITY_10, PingPongPolicy
from archsim.pcm.stream import EncoderStream, ReplayResult, as_words, pcm_from_params, replay, split_params
from archsim.pcm.technology import Pcm


class _SchemeNames:
    """Live, read-only view of the registered PCM scheme names (``list(SCHEMES)``)."""

    def __iter__(self):
        return iter(PCM_SCHEMES.names())

    def __contains__(self, name: object) -> bool:
        return name in PCM_SCHEMES

    def __len__(self) -> int:
        return len(PCM_SCHEMES)

    def __repr__(self) -> str:
        return repr(PCM_SCHEMES.names())


#: The registered PCM scheme names (a live view: plugins' schemes appear once registered).
SCHEMES = _SchemeNames()

#: Decorator registering a PCM encoder class by name: ``@register("my-scheme")``.
register = PCM_SCHEMES.register


def open_stream(scheme: str, *, lines: int, words: int, word_bits: int = 32, line_offset: int = 0,
                keep_stored: bool = False, pcm: PcmConfig | None = None, **params: Any) -> EncoderStream:
    """A streaming replay of ``lines`` x ``words`` under ``scheme``: feed chunks, then ``result()``.

    ``params`` as for :func:`replay` (cell costs, ``refresh_unit``, scheme parameters).
    """
    costs, scheme_params = split_params(params)
    if costs and pcm is not None:
        raise TypeError("give either pcm= or individual cost parameters, not both")
    pcm = pcm_from_params(costs) if pcm is None else pcm
    refresh_unit = scheme_params.pop("refresh_unit", "line")
    encoder = make_encoder(scheme, word_bits=word_bits, refresh_unit=refresh_unit, **scheme_params)
    return EncoderStream(encoder, lines, words, pcm=pcm, line_offset=line_offset, keep_stored=keep_stored)


__all__ = [
    "SCHEMES", "PCM_SCHEMES", "register", "Encoder", "SchemeParams", "EncoderStream", "ReplayResult",
    "ChunkOutcome", "OUTCOME_FIELDS", "replay", "open_stream", "make_encoder", "as_words", "Group",
    "fig5_grouping", "adjacent_grouping", "PingPongPolicy", "POLARITY_10", "POLARITY_01", "PcmConfig",
    "EncodingConfig", "DapConfig", "Pcm",
]

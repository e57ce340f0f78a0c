"""Configuration of the lossy-SET cell model and the DAP policies.

:class:`DapConfig` is the ``[dap]`` section of the configuration; :class:`DapParams`
(its fields plus the iteration time of a plain replay, from ``run.iteration_time_s``)
the parameter set of the ``dap`` and ``ps`` PCM schemes: a scheme's table
``[encoding.schemes.dap]`` overrides single fields of ``[dap]`` for that scheme.
The time of one training iteration has one home, ``run.iteration_time_s``
(``dap.iteration_time_s`` of older configurations is read as that, with a note).

Units are in the field names (``_s`` seconds, ``_ns`` nanoseconds, ``_pj`` picojoules).
Defaults and their sources are explained in ``docs/dap.md``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from archsim.config import Section, check_seed, latency, non_negative, positive
from archsim.errors import ConfigError
from archsim.pcm.encoder import SchemeParams

DECAY_LAWS = ("weibull", "deadline")


@dataclass(frozen=True)
class DapConfig(SchemeParams, Section):
    """Lossy SET and DAP policy.

    Lossy SET: a short SET pulse (``lossy_set_latency_ns``, ``lossy_set_energy_pj``
    per cell) whose cell reads 0 again once it has *decayed*. Each lossy-SET cell
    draws its decay time at programming from a seeded counter-based generator:

    - ``"deadline"``: exactly ``retention_s`` after its last lossy SET;
    - ``"weibull"``: ``retention_s + weibull_scale_s * W`` with ``W`` Weibull of shape
      ``weibull_shape`` (a three-parameter Weibull whose location is the guaranteed
      retention): P(decayed after elapsed ``dt``) = 0 for ``dt <= retention_s``, else
      ``1 - exp(-((dt - retention_s) / weibull_scale_s) ** weibull_shape)``.
    """

    retention_s: float = 0.1
    """Guaranteed retention of a lossy-SET cell, s: data younger than this is never lost."""
    decay_law: str = "weibull"
    """"weibull" (per-cell random decay time after the guaranteed retention) or "deadline"."""
    weibull_scale_s: float = 0.1
    """Scale of the random part of a cell's decay time, s (``weibull`` law only)."""
    weibull_shape: float = 2.0
    """Shape of the random part (``weibull`` law only; 1 = memoryless exponential)."""
    lossy_set_latency_ns: float = 125.0
    """Latency of a lossy-SET pulse, ns (default: a RESET's, as Partial-SET's pulse)."""
    lossy_set_energy_pj: float = 1.6875
    """Energy of one lossy-SET cell, pJ (default: the 13.5 pJ SET scaled to a 125 ns pulse)."""
    lossy_mantissa_bits: int = 11
    """Bit-aware Dual-SET split: the lowest mantissa bits (M13..M23 by default) use lossy SET."""
    seed: int = 0
    """Seed of the decay-time generator."""

    moved: ClassVar[dict[str, str]] = {"iteration_time_s": "/run.iteration_time_s"}

    def validate(self, where: str, owner=None) -> None:
        if self.decay_law not in DECAY_LAWS:
            raise ConfigError(f"{where}.decay_law must be one of {', '.join(DECAY_LAWS)}, not {self.decay_law!r}")
        for name in ("weibull_scale_s", "weibull_shape"):
            positive(self, name, where)
        latency(self, "lossy_set_latency_ns", where)
        for name in ("retention_s", "lossy_set_energy_pj"):
            non_negative(self, name, where)
        if self.decay_law == "deadline" and not self.retention_s > 0:
            raise ConfigError(f"{where}.retention_s must be positive with the deadline law, not {self.retention_s!r}")
        if not 0 <= self.lossy_mantissa_bits <= 23:
            raise ConfigError(f"{where}.lossy_mantissa_bits must be in 0..23, not {self.lossy_mantissa_bits!r}")
        check_seed(self.seed, f"{where}.seed")

    # the Encoder parameter hook (``Params.check``)
    def check(self, where: str, word_bits: int) -> None:
        if word_bits != 32:
            raise ConfigError(f"{where}: dap/ps are defined on float32 words (word_bits = 32), not {word_bits}")
        self.validate(where)


@dataclass(frozen=True)
class DapParams(DapConfig):
    """The parameters of the ``dap`` and ``ps`` schemes: ``[dap]`` and the iteration time."""

    iteration_time_s: float = 0.01
    """Simulated seconds per training iteration when no caller gives write times (a plain replay:
    write k of a line at ``(k + 1) * iteration_time_s``); from ``run.iteration_time_s``."""

    def validate(self, where: str, owner=None) -> None:
        super().validate(where, owner)
        positive(self, "iteration_time_s", where)

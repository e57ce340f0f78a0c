"""The configuration sections of PCM: ``[pcm]`` (cell parameters) and ``[encoding]`` (options shared
by every PCM write scheme, and each scheme's own parameter table). ``[dap]`` (lossy SET and the DAP
policies) is :class:`archsim.pcm.dap.config.DapConfig`. The PCM technology registers all three
(:mod:`archsim.pcm.technology`).

Units are in the field names: ``_ns`` nanoseconds, ``_pj`` picojoules, ``_bytes`` bytes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

from archsim.config import Section, latency, non_negative, positive
from archsim.errors import ConfigError
from archsim.pcm.encoder import PCM_SCHEMES


@dataclass(frozen=True)
class PcmConfig(Section):
    """PCM cell parameters; defaults are Table II of the AppWOM paper (after Lee et al., ISCA 2009)."""

    removed: ClassVar[dict[str, str]] = {
        "capacity_bytes": "the memory's capacity is timing.capacity_bytes, which sets the rows of the timing model"}

    read_latency_ns: float = 125.0
    """Latency of one line read, ns."""
    set_latency_ns: float = 1000.0
    """Latency of a SET (0 -> 1) pulse, ns; a line write with any SET takes this long."""
    reset_latency_ns: float = 125.0
    """Latency of a RESET (1 -> 0) pulse, ns."""
    read_energy_pj_per_bit: float = 2.0
    """Energy of reading one cell, pJ."""
    set_energy_pj: float = 13.5
    """Energy of SETting one cell, pJ."""
    reset_energy_pj: float = 19.2
    """Energy of RESETting one cell, pJ."""
    endurance: float = 1e8
    """Flips a cell survives."""
    read_before_write: bool = False
    """Charge one line read (latency and energy) before every write of a scheme that needs the old contents."""
    write_power_budget: int = 0
    """Cells a bank may program at once; a larger line write takes several rounds. 0 = unlimited."""

    def validate(self, where: str) -> None:
        for name in ("read_latency_ns", "set_latency_ns", "reset_latency_ns"):
            latency(self, name, where)
        for name in ("read_energy_pj_per_bit", "set_energy_pj", "reset_energy_pj"):
            non_negative(self, name, where)
        positive(self, "endurance", where)
        non_negative(self, "write_power_budget", where)


@dataclass(frozen=True)
class EncodingConfig(Section):
    """Options shared by every PCM write scheme, and per-scheme parameter tables.

    ``schemes`` maps a scheme name to its own parameters (for example
    ``{"appwom": {"grouping": "fig5"}}``); each scheme validates its table
    against its ``Params`` dataclass.
    """

    refresh_unit: str = "line"
    """What is exhausted and refreshed as a whole: "line" or "word"."""
    schemes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def validate(self, where: str) -> None:
        if self.refresh_unit not in ("line", "word"):
            raise ConfigError(f"{where}.refresh_unit must be 'line' or 'word', not {self.refresh_unit!r}")
        for name in self.schemes:
            try:
                PCM_SCHEMES.get(name)
            except Exception as exc:
                raise ConfigError(f"{where}.schemes: {exc}") from None

    def validate_with(self, config: Any, where: str) -> None:
        """Each scheme's parameters, for the configured word width (``layout.word_bits``)."""
        for name, params in self.schemes.items():
            PCM_SCHEMES.get(name).check_params(dict(params), where=f"{where}.schemes.{name}",
                                               word_bits=config.layout.word_bits)

"""Phase-change memory as an archsim memory technology (``run.memory = "pcm"``, the default).

:class:`Pcm` owns PCM's cost model: the bank service time of every line write
and of the refresh it triggered (the SET/RESET rule of :mod:`archsim.pcm.costs`,
DAP's lossy SETs at their own latency), and the energy and wear per line that
the timing tables report. It registers itself and its configuration sections
(``[pcm]``, ``[encoding]``, ``[dap]``) when :mod:`archsim.pcm` is imported.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from archsim.config import CONFIG_SECTIONS
from archsim.contracts import TECHNOLOGIES, ChunkOutcome, MemoryTechnology, PricedWrites, ServiceTimes, to_ps
from archsim.pcm.config import EncodingConfig, PcmConfig
from archsim.pcm.costs import read_cells_energy_pj, write_latency_ns
from archsim.pcm.dap.config import DapConfig
from archsim.pcm.encoder import NREF, OUTCOME_FIELDS, PCM_SCHEMES, RR, RS, WR, WS, make_encoder
from archsim.pcm.stream import EncoderStream
from archsim.registry import Registry


class Pcm(MemoryTechnology):
    """Phase-change memory: the schemes of ``pcm.md`` (:data:`archsim.pcm.PCM_SCHEMES`)."""

    name = "pcm"
    sections = ("pcm", "encoding", "dap")
    outcome_fields = OUTCOME_FIELDS
    energy_kinds = ("write_set", "write_reset", "refresh_set", "refresh_reset", "read")
    default_schemes = ("preset", "prereset", "dcw", "fnw", "wom-set", "appwom")

    @property
    def schemes(self) -> Registry:
        return PCM_SCHEMES

    def is_time_dependent(self, scheme: str) -> bool:
        return bool(self.schemes.get(scheme).time_dependent)

    def scheme_params(self, scheme: str, config: Any) -> Mapping[str, Any]:
        """Defaults from the configuration (``[dap]`` for dap/ps), then ``[encoding.schemes.<scheme>]``."""
        return {**self.schemes.get(scheme).config_defaults(config), **config.encoding.schemes.get(scheme, {})}

    def explicit_config(self, config: Any, schemes: tuple[str, ...]) -> dict[str, Any]:
        """Every parameter of every scheme in ``[encoding.schemes.<name>]``, except those a scheme
        takes from another section (dap/ps: ``[dap]``, which the dump states already)."""
        out = {}
        for s in schemes:
            cls = self.schemes.get(s)
            if cls.config_defaults(config):
                continue
            params = cls.check_params(config.encoding.schemes.get(s, {}), where=f"encoding.schemes.{s}",
                                      word_bits=config.layout.word_bits)
            out[f"encoding.schemes.{s}"] = params.as_dict()
        return out

    def open_stream(self, scheme: str, *, lines: int, words: int, config: Any, line_offset: int = 0,
                    keep_stored: bool = False) -> EncoderStream:
        encoder = make_encoder(scheme, word_bits=config.layout.word_bits, refresh_unit=config.encoding.refresh_unit,
                               **self.scheme_params(scheme, config))
        return EncoderStream(encoder, lines, words, pcm=config.pcm, line_offset=line_offset,
                             keep_stored=keep_stored)

    def shard_lines(self, scheme: str, config: Any, words: int) -> int:
        """Any line: every PCM scheme's state is per word or per line, and its region policies (ping-pong
        regions, DAP's per-line seeds) follow the global line index (``line_offset``). Refused with a
        write-power budget, whose latency total sums each write's own latency in chunk order."""
        self.schemes.get(scheme)
        if config.pcm.write_power_budget > 0:
            from archsim.errors import ConfigError

            raise ConfigError("pcm.write_power_budget: the latency total sums every write's own latency in chunk "
                              "order, which a sharded run cannot reproduce: run it unsharded")
        return 1

    def service_times(self, chunk: ChunkOutcome, config: Any) -> ServiceTimes:
        """Write: SET latency if it SETs any cell, else RESET latency (write-power rounds with a budget),
        unless the scheme gave each write's latency (``extras["write_ns"]``: DAP's lossy SETs); plus a
        line read first with ``pcm.read_before_write``. Refresh: the same rule over the refresh's cells."""
        pcm = config.pcm
        outcome = self.outcome_of(chunk)
        write = chunk.extras.get("write_ns")
        if write is None:
            write = write_latency_ns(outcome[..., WS], outcome[..., WR], pcm)
        refresh = write_latency_ns(outcome[..., RS], outcome[..., RR], pcm)
        if pcm.read_before_write:
            write = np.where(write > 0, write + pcm.read_latency_ns, 0.0)
        return ServiceTimes(write, refresh, pcm.read_latency_ns)

    def price_writes(self, chunk: ChunkOutcome, config: Any, *, totals: bool = True) -> PricedWrites:
        """:meth:`service_times` in ps and :meth:`line_totals` in one pass over the outcomes
        (``_pcm_kernels.price_chunk``), the same numbers: each write costs one of three latencies, which
        are converted to ps once. The general path where a write's latency or SET energy is its own (a
        write-power budget, DAP's lossy SETs) and for a subclass with rules of its own."""
        pcm, o = config.pcm, self.outcome_of(chunk)
        own = type(self).service_times is Pcm.service_times and type(self).line_totals is Pcm.line_totals
        if (not own or pcm.write_power_budget > 0 or "write_ns" in chunk.extras
                or "write_set_energy_pj" in chunk.extras
                or o.dtype != np.uint32):
            return super().price_writes(chunk, config, totals=totals)  # a subclass's own rules are its own
        from archsim import _pcm_kernels

        # the rules of service_times and line_totals, written again for one pass: tests/pcm/test_price_writes.py
        # holds the two to the same numbers
        def ps(ns: float, read_first: bool) -> int:  # as service_times then to_ps: the read only before a pulse
            return int(to_ps(np.float64(ns) + pcm.read_latency_ns if read_first and ns > 0 else ns))

        T, L = o.shape[:2]
        write, refresh = np.empty((T, L), np.int64), np.empty((T, L), np.int64)
        s = np.empty((L, 4), np.uint64)
        rbw = bool(pcm.read_before_write)
        _pcm_kernels.price_chunk(np.ascontiguousarray(o), ps(pcm.set_latency_ns, False),
                                 ps(pcm.reset_latency_ns, False), ps(pcm.set_latency_ns, rbw),
                                 ps(pcm.reset_latency_ns, rbw), write, refresh, s)
        return PricedWrites(write, refresh, self._totals(s) if totals else {})

    def copy_outcome(self, set_cells: np.ndarray, reset_cells: np.ndarray) -> np.ndarray:
        """A line copy programs its SET and RESET cells as a write (no refresh follows it)."""
        rows = np.zeros((len(set_cells), len(OUTCOME_FIELDS)), np.uint32)
        rows[:, WS] = set_cells
        rows[:, WR] = reset_cells
        return rows

    def read_ns(self, config: Any) -> float:
        return config.pcm.read_latency_ns

    def refreshes(self, chunk: ChunkOutcome) -> np.ndarray:
        return self.outcome_of(chunk)[..., NREF]

    def line_totals(self, chunk: ChunkOutcome, config: Any) -> dict[str, np.ndarray]:
        """SET and RESET flips of the writes and of their refreshes, per line, as counts
        (:meth:`energy_pj_per_count` prices them); the writes' SETs in pJ where the scheme gave each
        write's own SET energy (``extras["write_set_energy_pj"]``: DAP's lossy SETs)."""
        s = self.outcome_of(chunk)[..., [WS, WR, RS, RR]].sum(axis=0, dtype=np.uint64)  # (lines, 4)
        set_energy = chunk.extras.get("write_set_energy_pj")
        return self._totals(s, None if set_energy is None else np.asarray(set_energy, np.float64).sum(axis=0))

    @staticmethod
    def _totals(s: np.ndarray, write_set_pj: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The line totals from ``s`` (lines, 4): cells SET and RESET by the writes and by the refreshes."""
        return {"flips": s.sum(axis=1, dtype=np.uint64), "write_set": s[:, 0] if write_set_pj is None else write_set_pj,
                "write_reset": s[:, 1], "refresh_set": s[:, 2], "refresh_reset": s[:, 3]}

    def energy_pj_per_count(self, config: Any) -> dict[str, float]:
        """A SET flip costs ``pcm.set_energy_pj``, a RESET flip ``pcm.reset_energy_pj``."""
        pcm = config.pcm
        return {"write_set": pcm.set_energy_pj, "write_reset": pcm.reset_energy_pj,
                "refresh_set": pcm.set_energy_pj, "refresh_reset": pcm.reset_energy_pj}

    def read_energy_pj(self, config: Any, cells_per_line: int) -> float:
        return read_cells_energy_pj(cells_per_line, config.pcm)

    def endurance(self, config: Any) -> float:
        return float(config.pcm.endurance)


for _name, _section in (("pcm", PcmConfig), ("encoding", EncodingConfig), ("dap", DapConfig)):
    CONFIG_SECTIONS.register(_name, _section)
TECHNOLOGIES.register("pcm", Pcm())

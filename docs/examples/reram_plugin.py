"""A memory technology as a plugin: a toy bipolar ReRAM (``docs/adding-a-technology.md``).

One file, no edit under ``archsim/``::

    archsim --plugin docs/examples/reram_plugin.py run --memory reram
    archsim --plugin docs/examples/reram_plugin.py run --memory reram --timing --set reram.set_latency_ns=20

What it shows: a technology with its own configuration section (``[reram]``), its own registry of
write schemes (``naive`` rewrites every cell, ``dcw`` only the cells that change), its own
per-write outcome fields, and its own cost model, which the run pipeline and the SimPy timing
model use through the contracts of :mod:`archsim.contracts` alone.

The cell model (illustrative figures, not a published device): a cell is SET (to 1, low
resistance) or RESET (to 0) by pulses of opposite polarity, so a line write that needs both runs
the SET pulses and then the RESET pulses (latencies add, unlike PCM's parallel SET/RESET); a
write-verify loop repeats a pulse ``verify_rounds`` times. Wear: every programmed cell.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from archsim.config import CONFIG_SECTIONS, Section, non_negative, positive
from archsim.contracts import (TECHNOLOGIES, ChunkOutcome, MemoryTechnology, ServiceTimes, StreamResult,
                               TechnologyStream)
from archsim.errors import ConfigError
from archsim.registry import Registry

FIELDS = ("sets", "resets")
SETS, RESETS = 0, 1


@dataclass(frozen=True)
class ReramConfig(Section):
    """The ``[reram]`` section: cell latencies (ns), energies (pJ), endurance (programmings per cell)."""

    read_latency_ns: float = 20.0
    set_latency_ns: float = 50.0
    reset_latency_ns: float = 80.0
    verify_rounds: int = 1
    """Program-and-verify rounds of each pulse."""
    read_energy_pj_per_bit: float = 0.5
    set_energy_pj: float = 2.0
    reset_energy_pj: float = 3.0
    endurance: float = 1e7

    def validate(self, where: str) -> None:
        for name in ("read_latency_ns", "set_latency_ns", "reset_latency_ns", "endurance", "verify_rounds"):
            positive(self, name, where)
        for name in ("read_energy_pj_per_bit", "set_energy_pj", "reset_energy_pj"):
            non_negative(self, name, where)


class ReramScheme:
    """A write scheme: which cells a write programs, given the old cells and the new data."""

    name: ClassVar[str] = "?"
    exact: ClassVar[bool] = True

    def program(self, old: np.ndarray, new: np.ndarray) -> np.ndarray:
        """The mask of cells the write programs."""
        raise NotImplementedError


RERAM_SCHEMES: Registry[type[ReramScheme]] = Registry("ReRAM write scheme")


@RERAM_SCHEMES.register("naive")
class Naive(ReramScheme):
    """Every cell of the line is programmed to its new value (a SET or a RESET pulse each)."""

    def program(self, old, new):
        return np.full_like(new, np.iinfo(new.dtype).max)


@RERAM_SCHEMES.register("dcw")
class Dcw(ReramScheme):
    """Data-comparison write: only the cells whose value changes."""

    def program(self, old, new):
        return old ^ new


@dataclass
class ReramResult(StreamResult):
    scheme: str
    iterations: int
    line_writes: int
    programming_writes: int
    """Line writes that program at least one cell (the others are silent: they cost nothing)."""
    sets: int
    resets: int
    latency_ns: float
    wear: np.ndarray
    config: ReramConfig

    def cell_wear(self) -> np.ndarray:
        return self.wear

    def summary(self) -> dict[str, Any]:
        c = self.config
        energy = self.sets * c.set_energy_pj + self.resets * c.reset_energy_pj
        worst = int(self.wear.max()) if self.wear.size else 0
        return {
            "scheme": self.scheme, "iterations": self.iterations, "line_writes": self.line_writes,
            "bit_flips": self.sets + self.resets, "set_flips": self.sets, "reset_flips": self.resets,
            "energy_pj": energy, "energy_per_iteration_pj": energy / max(self.iterations, 1),
            "max_cell_flips": worst, "mean_cell_flips": float(self.wear.mean()) if self.wear.size else 0.0,
            "lifetime_iterations": c.endurance * self.iterations / worst if worst else float("inf"),
            "avg_write_latency_ns": self.latency_ns / max(self.programming_writes, 1),
            "silent_writes": self.line_writes - self.programming_writes,
        }


def write_latency_ns(sets: np.ndarray, resets: np.ndarray, c: ReramConfig) -> np.ndarray:
    """The cost rule of a line write, in one place: SET pulses, then RESET pulses, each verified."""
    return c.verify_rounds * (np.where(sets > 0, c.set_latency_ns, 0.0) + np.where(resets > 0, c.reset_latency_ns, 0.0))


class ReramStream(TechnologyStream):
    """Replays one scheme over ``lines`` x ``words`` 32-bit words (numpy; a plugin needs no kernel)."""

    def __init__(self, scheme: ReramScheme, lines: int, words: int, config: ReramConfig) -> None:
        self.scheme, self.lines, self.words, self.config = scheme, lines, words, config
        self.cells = np.zeros((lines, words), np.uint32)         # the memory starts RESET
        self._wear = np.zeros((lines, words, 32), np.uint64)
        self._totals = np.zeros(2, np.int64)
        self._latency = 0.0
        self._iterations = 0
        self._programming = 0

    @property
    def cells_per_word(self) -> int:
        return 32

    @property
    def wear(self) -> np.ndarray:
        return self._wear

    def feed(self, writes: np.ndarray, *, want_stored: bool = False) -> ChunkOutcome:
        w = np.ascontiguousarray(writes).view(np.uint32)
        if w.ndim != 3 or w.shape[1:] != (self.lines, self.words):
            raise ConfigError(f"reram: writes of shape {w.shape} do not fit {self.lines} x {self.words}")
        outcome = np.zeros((w.shape[0], self.lines, len(FIELDS)), np.uint32)
        shifts = np.arange(31, -1, -1, dtype=np.uint32)            # cell 0 holds the most significant bit
        for t in range(w.shape[0]):
            prog = self.scheme.program(self.cells, w[t])
            outcome[t, :, SETS] = np.bitwise_count(prog & w[t]).sum(axis=1)
            outcome[t, :, RESETS] = np.bitwise_count(prog & ~w[t]).sum(axis=1)
            self._wear += ((prog[..., None] >> shifts) & 1).astype(np.uint64)
            self.cells = w[t].copy()
        self._totals += outcome.sum(axis=(0, 1), dtype=np.int64)
        self._programming += int(np.count_nonzero(outcome.sum(axis=2)))
        self._latency += float(write_latency_ns(outcome[..., SETS], outcome[..., RESETS], self.config).sum())
        self._iterations += w.shape[0]
        return ChunkOutcome(outcome, w.copy() if want_stored else None, {}, FIELDS)

    def result(self) -> ReramResult:
        return ReramResult(self.scheme.name, self._iterations, self._iterations * self.lines, self._programming,
                           int(self._totals[SETS]), int(self._totals[RESETS]), self._latency, self._wear, self.config)


class Reram(MemoryTechnology):
    """Toy bipolar ReRAM: the ``[reram]`` section, its schemes, its cost model."""

    name = "reram"
    sections = ("reram",)
    outcome_fields = FIELDS
    energy_kinds = ("set", "reset", "read")
    default_schemes = ("naive", "dcw")

    @property
    def schemes(self) -> Registry:
        return RERAM_SCHEMES

    def open_stream(self, scheme, *, lines, words, config, line_offset=0, keep_stored=False) -> ReramStream:
        if config.layout.word_bits != 32:
            raise ConfigError("reram: the toy model stores 32-bit words (layout.word_bits = 32)")
        return ReramStream(RERAM_SCHEMES.get(scheme)(), lines, words, config.reram)

    def service_times(self, chunk: ChunkOutcome, config) -> ServiceTimes:
        o = self.outcome_of(chunk)  # (T, lines, 2), checked to be this technology's
        write = write_latency_ns(o[..., SETS], o[..., RESETS], config.reram)
        return ServiceTimes(write, np.zeros_like(write), self.read_ns(config))

    def read_ns(self, config) -> float:
        return config.reram.read_latency_ns

    def line_totals(self, chunk: ChunkOutcome, config) -> dict[str, np.ndarray]:
        s = self.outcome_of(chunk).sum(axis=0, dtype=np.uint64)
        return {"flips": s[:, SETS] + s[:, RESETS], "set": s[:, SETS], "reset": s[:, RESETS]}  # counts

    def energy_pj_per_count(self, config) -> dict[str, float]:
        return {"set": config.reram.set_energy_pj, "reset": config.reram.reset_energy_pj}

    def read_energy_pj(self, config, cells_per_line: int) -> float:
        return cells_per_line * config.reram.read_energy_pj_per_bit

    def endurance(self, config) -> float:
        return config.reram.endurance


CONFIG_SECTIONS.register("reram", ReramConfig)
TECHNOLOGIES.register("reram", Reram())

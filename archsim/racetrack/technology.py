"""Skyrmion racetrack memory as an archsim memory technology (``run.memory = "racetrack"``).

:class:`Racetrack` owns the racetrack cost model (for ``archsim run --memory racetrack --timing``
and ``archsim timing run``): the bank service time of a line write, and the energy and wear per
line that the timing tables report, summed from what the functional stream counted for every
write (the outcome fields ``insertions``, ``removals``, ``detects``, ``shifts`` of
:data:`archsim.racetrack.OUTCOME_FIELDS`) and priced with the operation energies of
:class:`RacetrackConfig`, exactly as :meth:`archsim.racetrack.RacetrackResult.energy_by_op` prices
the totals:

* ``energy_insert_pj`` = insertions x ``insert_energy_pj``;
* ``energy_remove_pj`` = removals x ``remove_energy_pj``;
* ``energy_detect_pj`` = detects x ``read_energy_pj``;
* ``energy_shift_pj`` = shift steps x tracks moved per step x ``shift_energy_pj``;
* ``energy_read_pj`` = the access pattern's line reads x :func:`line_read_energy_pj`.

Wear. A racetrack wears where skyrmions are created and annihilated (the insert and remove
currents at the ports), not where they are shifted or sensed; the wear proxy of a line is its
**insertions + removals** (reported as ``cell_flips``; ``mean_cell_flips`` divides it by the data
bits of the bank's lines). The racetrack parameters have no endurance, so there is no per-bank
lifetime (``max_cell_flips`` / ``lifetime_iterations`` stay out of racetrack tables).

Registers itself and its ``[racetrack]`` section when :mod:`archsim.racetrack` is imported.
Latencies ns, energies pJ.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from archsim.config import CONFIG_SECTIONS
from archsim.contracts import TECHNOLOGIES, ChunkOutcome, MemoryTechnology, ServiceTimes
from archsim.racetrack.config import RacetrackConfig, RacetrackPortsConfig
from archsim.racetrack.ports import PortModel
from archsim.racetrack.schemes import RACETRACK_SCHEMES, make_scheme
from archsim.racetrack.stream import DET, INS, OUTCOME_FIELDS, REM, SHIFT, RacetrackStream, service_ns
from archsim.registry import Registry


class Racetrack(MemoryTechnology):
    """Skyrmion racetrack memory (racetrack.md): tracks, ports, shifts and the SK-RM write schemes.

    Parameters come from ``config.racetrack`` (:class:`RacetrackConfig`), the trace word width
    from ``config.layout.word_bits``.
    """

    name = "racetrack"
    sections = ("racetrack", "racetrack_ports")
    outcome_fields = OUTCOME_FIELDS
    energy_kinds = ("insert", "remove", "detect", "shift", "read")
    default_schemes = ("naive", "dcw", "fnw", "pw", "pw+fnw", "m-of-n", "fixed-ones")

    @property
    def schemes(self) -> Registry:
        return RACETRACK_SCHEMES

    def open_stream(self, scheme: str, *, lines: int, words: int, config: Any, line_offset: int = 0,
                    keep_stored: bool = False) -> RacetrackStream:
        return RacetrackStream(make_scheme(scheme, config.racetrack), lines, words,
                               word_bits=config.layout.word_bits, line_offset=line_offset, keep_stored=keep_stored)

    def shard_lines(self, scheme: str, config: Any, words: int) -> int:
        """The lines of whole clusters: a cluster's tracks shift together (one alignment per cluster),
        so a line range starts where a cluster does (``data_per_track x tracks_per_cluster`` items).
        ``fixed-ones`` is refused: its K comes from the first write of the whole memory and its error
        sums run over every word in order."""
        from archsim.errors import ConfigError

        if scheme == "fixed-ones":
            raise ConfigError("racetrack scheme fixed-ones cannot be sharded by lines (its K is chosen from the "
                              "whole first write, its error sums run over every word in order; it is one of racetrack's "
                              "default schemes): name the schemes without it (--schemes) or run unsharded")
        rt = config.racetrack
        items = -(-words // max(1, rt.item_bits // config.layout.word_bits))
        cluster = rt.data_per_track * rt.tracks_per_cluster
        return cluster // math.gcd(cluster, items)

    def service_times(self, chunk: ChunkOutcome, config: Any) -> ServiceTimes:
        """A line write: its shift steps x shift latency + its critical-path port operations
        (detects, removals, insertions) x their latencies; no refresh. ``read_ns``: reading one
        line whose items lie next to each other on a track, starting aligned: every position of the
        line's items detected, one shift step between consecutive positions (raw w-bit segments)."""
        write = service_ns(self.outcome_of(chunk), config.racetrack)
        return ServiceTimes(write, np.zeros_like(write), self.read_ns(config))

    def read_ns(self, config: Any) -> float:
        return line_read_ns(config.racetrack, config.layout.words_per_line, config.layout.word_bits)

    def line_totals(self, chunk: ChunkOutcome, config: Any) -> dict[str, np.ndarray]:
        """Per line: ``flips`` (insertions + removals) and the count of each operation
        (:meth:`energy_pj_per_count` prices them)."""
        s = self.outcome_of(chunk)[..., [INS, REM, DET, SHIFT]].sum(axis=0, dtype=np.uint64)  # (lines, 4)
        return {"flips": s[:, 0] + s[:, 1], "insert": s[:, 0], "remove": s[:, 1], "detect": s[:, 2],
                "shift": s[:, 3]}

    def energy_pj_per_count(self, config: Any) -> dict[str, float]:
        """An insertion, a removal, a detection (a read of a domain) and a shift (of every track it moves), pJ."""
        rt = config.racetrack
        return {"insert": rt.insert_energy_pj, "remove": rt.remove_energy_pj, "detect": rt.read_energy_pj,
                "shift": tracks_moved_per_shift(rt) * rt.shift_energy_pj}

    def port_clusters(self, config: Any, lines: int) -> tuple[int, np.ndarray]:
        """``[racetrack_ports] groups`` port groups per bank, and each line's cluster: the cluster of the
        track holding the line's first item (global item ``line x items_per_line``, track ``item //
        data_per_track``, cluster ``track // tracks_per_cluster``; the placement of the functional stream,
        whose per-cluster alignment gave each write its shifts)."""
        rt = config.racetrack
        per_item = max(1, rt.item_bits // config.layout.word_bits)
        items_per_line = -(-config.layout.words_per_line // per_item)
        first = np.arange(lines, dtype=np.int64) * items_per_line
        return config.racetrack_ports.per_bank(rt), (first // rt.data_per_track) // rt.tracks_per_cluster

    def read_energy_pj(self, config: Any, cells_per_line: int) -> float:
        """One line read (:func:`line_read_energy_pj`); the geometry, not ``cells_per_line``, sets it."""
        return line_read_energy_pj(config.racetrack, config.layout.words_per_line, config.layout.word_bits)


def tracks_moved_per_shift(rt: RacetrackConfig) -> int:
    """Tracks one shift step moves (the cluster; times the segments in the spread layout)."""
    return PortModel.from_config(rt, rt.segment_bits).tracks_moved_per_shift


def _line_walk(rt: RacetrackConfig, words_per_line: int, word_bits: int) -> int:
    """Positions detected to read one line: every position of its items, one after another."""
    items = -(-words_per_line // max(1, rt.item_bits // word_bits))
    return items * PortModel.from_config(rt, rt.segment_bits).walk


def line_read_ns(rt: RacetrackConfig, words_per_line: int, word_bits: int = 32) -> float:
    """Unqueued latency of reading one line (see :meth:`Racetrack.service_times`), ns."""
    walk = _line_walk(rt, words_per_line, word_bits)
    return (walk - 1) * rt.shift_latency_ns + walk * rt.read_latency_ns


def line_read_energy_pj(rt: RacetrackConfig, words_per_line: int, word_bits: int = 32) -> float:
    """Energy of reading one line, pJ, in the model of :func:`line_read_ns`: every position of the
    line's items detected, one shift step between consecutive positions."""
    walk = _line_walk(rt, words_per_line, word_bits)
    return walk * rt.read_energy_pj + (walk - 1) * tracks_moved_per_shift(rt) * rt.shift_energy_pj


CONFIG_SECTIONS.register("racetrack", RacetrackConfig)
CONFIG_SECTIONS.register("racetrack_ports", RacetrackPortsConfig)
TECHNOLOGIES.register("racetrack", Racetrack())

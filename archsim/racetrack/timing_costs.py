"""Energy and wear of a racetrack timing run: the "racetrack" :class:`~archsim.timing.energy.CostModel`.

The timing model (``archsim run --memory racetrack --timing``, ``archsim timing run``) sums, per
line and bank, what the functional stream counted for every write (the outcome fields
``insertions``, ``removals``, ``detects``, ``shifts`` of :data:`archsim.racetrack.OUTCOME_FIELDS`)
and prices it with the operation energies of :class:`RacetrackConfig`, exactly as
:meth:`archsim.racetrack.RacetrackResult.energy_by_op` prices the totals:

* ``energy_insert_pj`` = insertions x ``insert_energy_pj``;
* ``energy_remove_pj`` = removals x ``remove_energy_pj``;
* ``energy_detect_pj`` = detects x ``read_energy_pj``;
* ``energy_shift_pj`` = shift steps x tracks moved per step x ``shift_energy_pj``;
* ``energy_read_pj`` = the access pattern's line reads x :func:`line_read_energy_pj`.

Wear. A racetrack wears where skyrmions are created and annihilated (the insert and remove
currents at the ports), not where they are shifted or sensed; the wear proxy of a line is its
**insertions + removals** (reported as ``cell_flips``; ``mean_cell_flips`` divides it by the data
bits of the bank's lines). The racetrack parameters have no endurance, so there is no per-bank
lifetime (``max_cell_flips`` / ``lifetime_iterations`` stay out of racetrack tables; racetrack
streams have no per-cell wear to give them).

Registered under the technology's name in :data:`archsim.timing.energy.COST_MODELS` when
:mod:`archsim.racetrack` is imported. Energies pJ.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from archsim.errors import ConfigError
from archsim.racetrack.config import RacetrackConfig
from archsim.racetrack.ports import PortModel
from archsim.racetrack.stream import DET, INS, REM, SHIFT
from archsim.timing.energy import COST_MODELS, CostModel


def _racetrack(config: Any) -> RacetrackConfig:
    rt = getattr(config, "racetrack", None)
    return rt if rt is not None else RacetrackConfig()


def tracks_moved_per_shift(rt: RacetrackConfig) -> int:
    """Tracks one shift step moves (the cluster; times the segments in the spread layout)."""
    return PortModel.from_config(rt, rt.segment_bits).tracks_moved_per_shift


def line_read_energy_pj(rt: RacetrackConfig, words_per_line: int, word_bits: int = 32) -> float:
    """Energy of reading one line, pJ, in the model of :func:`archsim.racetrack.line_read_ns`:
    every position of the line's items detected, one shift step between consecutive positions."""
    items = -(-words_per_line // max(1, rt.item_bits // word_bits))
    walk = items * PortModel.from_config(rt, rt.segment_bits).walk
    return walk * rt.read_energy_pj + (walk - 1) * tracks_moved_per_shift(rt) * rt.shift_energy_pj


class RacetrackCosts(CostModel):
    """Racetrack: port operations and shifts x their energies; wear = insertions + removals."""

    kinds = ("insert", "remove", "detect", "shift", "read")

    def line_totals(self, outcome: np.ndarray, config: Any, extras: Mapping[str, np.ndarray] | None = None
                    ) -> dict[str, np.ndarray]:
        """Per line: ``flips`` (insertions + removals) and the energy of each operation, pJ
        (racetrack streams have no per-write extras)."""
        rt = _racetrack(config)
        s = outcome[..., :4].sum(axis=0, dtype=np.uint64)  # (lines, 4): INS, REM, DET, SHIFT
        return {
            "flips": s[:, INS] + s[:, REM],
            "insert": s[:, INS] * rt.insert_energy_pj,
            "remove": s[:, REM] * rt.remove_energy_pj,
            "detect": s[:, DET] * rt.read_energy_pj,
            "shift": s[:, SHIFT] * (tracks_moved_per_shift(rt) * rt.shift_energy_pj),
        }

    def read_energy_pj(self, config: Any, cells_per_line: int) -> float:
        """One line read (:func:`line_read_energy_pj`); the geometry, not ``cells_per_line``, sets it."""
        return line_read_energy_pj(_racetrack(config), config.layout.words_per_line, config.layout.word_bits)

    def endurance(self, config: Any) -> float:
        raise ConfigError("racetrack memory has no endurance parameter: the timing tables report its wear "
                          "(insertions + removals per bank) but no lifetime")


COST_MODELS.register("racetrack", RacetrackCosts())

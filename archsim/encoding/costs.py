"""Latency and energy of PCM line writes, from the cells they program (``pcm.md``).

These are pure functions of flip counts and the :class:`~archsim.config.PcmConfig`;
the functional replay and the timing model both use them, so a write costs the
same everywhere.
"""
from __future__ import annotations

import numpy as np

from archsim.config import PcmConfig


def write_latency_ns(set_cells: np.ndarray, reset_cells: np.ndarray, pcm: PcmConfig) -> np.ndarray:
    """Latency (ns) of line writes that SET ``set_cells`` and RESET ``reset_cells`` cells.

    With no write-power budget, SET and RESET pulses run at once: SET latency
    if any cell is SET, else RESET latency if any is RESET, else 0. With a
    budget of B cells at once, the SETs go first in ceil(sets / B) rounds of
    SET latency; RESETs fill the room left in the last SET round and then take
    ceil(rest / B) rounds of RESET latency.
    """
    s = np.asarray(set_cells, dtype=np.int64)
    r = np.asarray(reset_cells, dtype=np.int64)
    budget = pcm.write_power_budget
    if budget <= 0:
        return np.where(s > 0, pcm.set_latency_ns, np.where(r > 0, pcm.reset_latency_ns, 0.0))
    set_rounds = -(-s // budget)
    room = set_rounds * budget - s
    reset_rounds = -(-np.maximum(r - room, 0) // budget)
    return set_rounds * pcm.set_latency_ns + reset_rounds * pcm.reset_latency_ns


def flip_energy_pj(set_cells, reset_cells, pcm: PcmConfig):
    """Energy (pJ) of programming cells: SET flips x SET energy + RESET flips x RESET energy."""
    return set_cells * pcm.set_energy_pj + reset_cells * pcm.reset_energy_pj

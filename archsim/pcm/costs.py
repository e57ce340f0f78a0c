"""The cost rules of PCM, in one place: latency and energy of line writes and reads (``pcm.md``).

Pure functions of cell counts and the :class:`~archsim.pcm.config.PcmConfig`; the
functional replay (:mod:`archsim.pcm.stream`), DAP's lossy SETs
(:mod:`archsim.pcm.dap`) and the timing model (through
:class:`archsim.pcm.technology.Pcm`) all use them, so a write costs the same
everywhere. Latencies ns, energies pJ.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from archsim.pcm.config import PcmConfig


def write_latency_ns(set_cells, reset_cells, pcm: "PcmConfig", lossy_cells=0,
                     lossy_set_latency_ns: float = 0.0) -> np.ndarray:
    """Latency (ns) of line writes that (full-)SET ``set_cells``, RESET ``reset_cells`` and lossy-SET
    ``lossy_cells`` cells (DAP's short SET pulse of ``lossy_set_latency_ns``); the counts are integers.

    With no write-power budget, all pulses run at once: the SET latency if any cell is fully SET,
    else the longest of the lossy-SET and RESET pulses it uses, else 0. With a budget of B cells at
    once, the full SETs go first in ceil(sets / B) rounds of SET latency; the other cells fill the
    room left in the last SET round and then take ceil(rest / B) rounds of the longest other pulse.
    """
    budget = pcm.write_power_budget
    if budget <= 0 and np.ndim(lossy_cells) == 0 and lossy_cells == 0:  # the common case, without int64 copies
        rest = np.where(np.asarray(reset_cells) > 0, pcm.reset_latency_ns, 0.0)
        return np.where(np.asarray(set_cells) > 0, pcm.set_latency_ns, rest)
    f = np.asarray(set_cells, dtype=np.int64)
    r = np.asarray(reset_cells, dtype=np.int64)
    lo = np.asarray(lossy_cells, dtype=np.int64)
    rest_latency = np.maximum(np.where(lo > 0, lossy_set_latency_ns, 0.0), np.where(r > 0, pcm.reset_latency_ns, 0.0))
    if budget <= 0:
        return np.where(f > 0, pcm.set_latency_ns, rest_latency)
    set_rounds = -(-f // budget)
    room = set_rounds * budget - f
    rest_rounds = -(-np.maximum(lo + r - room, 0) // budget)
    return set_rounds * pcm.set_latency_ns + rest_rounds * rest_latency


def total_write_latency_ns(set_writes: int, reset_writes: int, pcm: "PcmConfig") -> float:
    """Sum of :func:`write_latency_ns` over line writes without a power budget, from counts: ``set_writes``
    line writes that SET a cell, ``reset_writes`` that only RESET (silent writes cost nothing)."""
    return set_writes * pcm.set_latency_ns + reset_writes * pcm.reset_latency_ns


def flip_energy_pj(set_cells, reset_cells, pcm: "PcmConfig"):
    """Energy (pJ) of programming cells: SET flips x SET energy + RESET flips x RESET energy."""
    return set_cells * pcm.set_energy_pj + reset_cells * pcm.reset_energy_pj


def read_cells_energy_pj(cells, pcm: "PcmConfig"):
    """Energy (pJ) of reading ``cells`` cells."""
    return cells * pcm.read_energy_pj_per_bit

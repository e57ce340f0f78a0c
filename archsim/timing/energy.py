"""Energy and wear of the requests a timing run issues, per memory technology.

The functional path counts the cells every write and refresh programs; the
timing model adds what only it knows (the reads of the access pattern, and which
bank each line lives in) and reports energy by kind and wear per bank. A
technology registers a :class:`CostModel` here under its own name (PCM is
built in); without one, the timing tables have no energy and wear columns.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from archsim.registry import Registry


class CostModel:
    """Turns a technology's per-write outcomes into energies (pJ) and cell flips per line."""

    #: Energy kinds reported, in order (columns ``energy_<kind>_pj``).
    kinds: tuple[str, ...] = ()

    def line_totals(self, outcome: np.ndarray, config: Any, extras: Mapping[str, np.ndarray] | None = None
                    ) -> dict[str, np.ndarray]:
        """Per line, summed over the chunk's writes: ``flips`` and one energy (pJ) per kind
        of :attr:`kinds` except ``read``. ``extras``: the scheme's per-write extras
        (:meth:`archsim.encoding.Encoder.chunk_extras`), if any."""
        raise NotImplementedError

    def read_energy_pj(self, config: Any, cells_per_line: int) -> float:
        """Energy of one line read, pJ."""
        raise NotImplementedError

    def endurance(self, config: Any) -> float:
        """Flips a cell survives."""
        raise NotImplementedError


class PcmCosts(CostModel):
    """PCM: SET flips x SET energy, RESET flips x RESET energy, reads per cell (``pcm.md``)."""

    kinds = ("write_set", "write_reset", "refresh_set", "refresh_reset", "read")

    def line_totals(self, outcome: np.ndarray, config: Any, extras: Mapping[str, np.ndarray] | None = None
                    ) -> dict[str, np.ndarray]:
        """SETs at the SET energy, unless the scheme gave each write's SET energy
        (``extras["write_set_energy_pj"]``: DAP's lossy SETs are cheaper)."""
        s = outcome[..., :4].sum(axis=0, dtype=np.uint64)  # (lines, 4)
        pcm = config.pcm
        set_energy = (extras or {}).get("write_set_energy_pj")
        return {
            "flips": s.sum(axis=1, dtype=np.uint64),
            "write_set": (s[:, 0] * pcm.set_energy_pj if set_energy is None
                          else np.asarray(set_energy, np.float64).sum(axis=0)),
            "write_reset": s[:, 1] * pcm.reset_energy_pj,
            "refresh_set": s[:, 2] * pcm.set_energy_pj,
            "refresh_reset": s[:, 3] * pcm.reset_energy_pj,
        }

    def read_energy_pj(self, config: Any, cells_per_line: int) -> float:
        return cells_per_line * config.pcm.read_energy_pj_per_bit

    def endurance(self, config: Any) -> float:
        return float(config.pcm.endurance)


#: Cost models, by memory technology name.
COST_MODELS: Registry[CostModel] = Registry("timing cost model")
COST_MODELS.register("pcm", PcmCosts())

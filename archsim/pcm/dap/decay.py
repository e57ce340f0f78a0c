"""The lossy-SET decay model: when a lossy-SET cell falls back to 0.

A cell programmed with a lossy SET at simulated time ``t`` (seconds) reads 1
until its *decay time* ``t + d`` and 0 from then on (``elapsed >= d``); a full
SET, a RESET or a later lossy SET replaces ``d``. A cell that is not
reprogrammed keeps decaying from its last lossy SET. ``d`` is drawn once, at
programming, from the decay law (:class:`DecayModel`): with the ``deadline``
law ``d = retention_s``; with the ``weibull`` law ``d = retention_s +
scale * (-ln(1 - u)) ** (1 / shape)``, so the per-cell probability of having
decayed after ``elapsed`` seconds is :meth:`DecayModel.probability`.

The uniform ``u`` comes from a counter-based generator (SplitMix64 finaliser)
keyed by (seed, global line, word, cell, write index of the line): the same
seed gives the same decays whatever the chunking, thread or line range of a
replay. :func:`uniforms` is the numpy version; the Cython kernel computes the
same bits.
"""
from __future__ import annotations

import numpy as np

from archsim.pcm.dap.config import DapConfig

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
LAW_IDS = {"deadline": 0, "weibull": 1}


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    z = z.astype(np.uint64, copy=True)
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def uniforms(seed: int, line, word, cell, write) -> np.ndarray:
    """Uniform numbers in [0, 1) (53 bits) for the given (line, word, cell, write) counters."""
    with np.errstate(over="ignore"):
        g = np.uint64(GOLDEN)
        h = _mix(np.asarray(seed, np.uint64) * g + np.uint64(1))
        h = _mix(h ^ (np.asarray(line, np.uint64) * g))
        h = _mix(h ^ (np.asarray(word, np.uint64) * g + np.asarray(cell, np.uint64)))
        h = _mix(h ^ (np.asarray(write, np.uint64) * g))
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


class DecayModel:
    """Decay time of lossy-SET cells (seconds after programming) under a :class:`DapConfig`."""

    def __init__(self, config: DapConfig) -> None:
        config.validate("dap")
        self.config = config
        self.law = LAW_IDS[config.decay_law]

    def decay_after(self, u: np.ndarray) -> np.ndarray:
        """Seconds from the lossy SET to the decay, for uniforms ``u`` in [0, 1)."""
        c = self.config
        u = np.asarray(u, np.float64)
        if self.law == 0:
            return np.full(u.shape, c.retention_s)
        return c.retention_s + c.weibull_scale_s * (-np.log1p(-u)) ** (1.0 / c.weibull_shape)

    def probability(self, elapsed_s) -> np.ndarray:
        """Probability that a lossy-SET cell has decayed ``elapsed_s`` seconds after programming."""
        c = self.config
        e = np.asarray(elapsed_s, np.float64)
        if self.law == 0:
            return (e >= c.retention_s).astype(np.float64)
        x = np.maximum(e - c.retention_s, 0.0) / c.weibull_scale_s
        return -np.expm1(-(x ** c.weibull_shape))

    def deadlines(self, t_write, line, word, cell, write) -> np.ndarray:
        """Absolute decay times (s) of cells lossy-SET at ``t_write`` (the kernel's formula)."""
        u = uniforms(self.config.seed, line, word, cell, write)
        return np.asarray(t_write, np.float64) + self.decay_after(u)

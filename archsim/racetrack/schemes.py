"""The racetrack write schemes (racetrack.md), each a registered :class:`RacetrackScheme`.

==============  ===============================================================  =================
name            a segment write (new value n over stored o), w-bit segment        positions
==============  ===============================================================  =================
``naive``       remove every position, insert the ones of n                      w
``dcw``         detect all; insert 0 -> 1, remove 1 -> 0                         w
``fnw``         n or ~n plus a flag, whichever differs in fewer positions; dcw   w + 1
``pw``          permutation write: create/destroy only the popcount difference   w
``pw+fnw``      the polarity whose popcount is nearer the stored one, then pw    w + 1
``m-of-n``      N-position codeword with exactly M ones (a bijection), then pw   N
``fixed-ones``  float32 adjusted to K ones in its lowest mantissa bits, then pw   w
==============  ===============================================================  =================

The per-segment work is a kernel mode of :mod:`archsim._racetrack_kernels`; a scheme class names
its mode, its positions per segment, and may transform the written values first (``fixed-ones``
does; a third-party approximate scheme can subclass :class:`RacetrackScheme` the same way and
register itself in :data:`RACETRACK_SCHEMES`). :mod:`archsim.racetrack.reference` holds plain
Python versions of every scheme, used by the tests.
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from archsim import _racetrack_kernels as K
from archsim.errors import ConfigError
from archsim.racetrack.config import RacetrackConfig
from archsim.registry import Registry

#: Kernel modes (the ``mode`` numbers of :mod:`archsim._racetrack_kernels`).
KERNEL_MODES = {"naive": 0, "dcw": 1, "fnw": 2, "pw": 3, "pw+fnw": 4, "m-of-n": 5}

#: The m-of-n code of each segment width w: (N positions, M ones), racetrack.md.
MOFN_TABLE = {4: (6, 3), 8: (11, 4), 16: (19, 8), 32: (35, 17), 64: (68, 31)}


class RacetrackScheme:
    """A racetrack write scheme over w-bit segments.

    Contract: ``kernel`` names the kernel mode that writes a segment; :meth:`positions` is the
    number of track positions a segment occupies; :meth:`transform` may change the written words
    before they are stored (identity for exact schemes); :meth:`figures` adds the scheme's own
    figures to a result row. One instance serves one replay (it may keep statistics).
    """

    name: ClassVar[str] = "?"
    kernel: ClassVar[str] = "dcw"
    #: Whether a read right after a write returns exactly the written value.
    exact: ClassVar[bool] = True
    #: Whether :meth:`transform` changes words (float32 words only).
    transforms_words: ClassVar[bool] = False

    def __init__(self, config: RacetrackConfig) -> None:
        self.config = config
        self.w = config.segment_bits
        self.check(config)

    def check(self, config: RacetrackConfig) -> None:
        """Reject configurations the scheme cannot run (ConfigError naming the key)."""

    def positions(self) -> int:
        """Track positions one segment occupies."""
        return self.w

    def ones(self) -> int:
        """Ones per codeword (m-of-n only; 0 otherwise)."""
        return 0

    def transform(self, words: np.ndarray, word_bits: int) -> np.ndarray:
        """The words actually stored for ``words`` (C-contiguous uint array); identity here."""
        return words

    def format_words(self, words: np.ndarray) -> np.ndarray:
        """What formatting stores for zero ``words`` (like :meth:`transform`, without statistics)."""
        return words

    def kernel_transform(self, words: np.ndarray, word_bits: int) -> dict[str, Any] | None:
        """Let the trace kernel apply :meth:`transform` to ``words`` while it writes them (one pass
        instead of two): the kernel's transform parameters, with the statistics this call adds
        to, or None (the default: the stream calls :meth:`transform` first)."""
        return None

    def figures(self) -> dict[str, Any]:
        """Extra summary figures of the scheme (approximation error, ...)."""
        return {}

    def kernel_params(self) -> dict[str, Any]:
        """The scheme part of the kernels' parameters."""
        c = self.config
        n = self.positions()
        return {
            "mode": KERNEL_MODES[self.kernel], "w": self.w, "S": c.segments_per_item,
            "spw": 2 if n > 64 else 1, "N": n, "M": self.ones(),
            "t_read": c.read_latency_ns, "t_rem": c.remove_latency_ns, "t_ins": c.insert_latency_ns,
        }


#: The racetrack write schemes, by name (separate from the PCM registry: ``dcw`` exists in both).
RACETRACK_SCHEMES: Registry[type[RacetrackScheme]] = Registry("racetrack write scheme", RacetrackScheme)


def make_scheme(name: str, config: RacetrackConfig) -> RacetrackScheme:
    """Build a registered racetrack scheme by name for ``config``."""
    return RACETRACK_SCHEMES.get(name)(config)


@RACETRACK_SCHEMES.register("naive")
class Naive(RacetrackScheme):
    """Remove every position of the segment, then insert the ones: removals = w, insertions = pc(n)."""

    kernel = "naive"


@RACETRACK_SCHEMES.register("dcw")
class Dcw(RacetrackScheme):
    """Data-comparison write: detect, insert where 0 -> 1, remove where 1 -> 0."""

    kernel = "dcw"


@RACETRACK_SCHEMES.register("fnw")
class Fnw(RacetrackScheme):
    """Flip-N-Write: a flag position per segment; n or ~n, fewer differing positions (ties: n)."""

    kernel = "fnw"

    def positions(self) -> int:
        return self.w + 1


@RACETRACK_SCHEMES.register("pw")
class PermutationWrite(RacetrackScheme):
    """Permutation write (Yang et al., DAC 2020): keep the skyrmions, create/destroy the difference."""

    kernel = "pw"


@RACETRACK_SCHEMES.register("pw+fnw")
class PermutationFnw(RacetrackScheme):
    """The polarity (n, flag 0 or ~n, flag 1) whose popcount is nearer the stored one (ties: n), then pw."""

    kernel = "pw+fnw"

    def positions(self) -> int:
        return self.w + 1


@RACETRACK_SCHEMES.register("m-of-n")
class MOfN(RacetrackScheme):
    """Each w-bit segment as an N-position codeword with exactly M ones (racetrack.md's table).

    The code is the combinatorial number system: value x is the x-th M-subset of N positions, so
    it is a bijection from w-bit values onto C(N, M) >= 2^w codewords. All codewords have M ones,
    so after the memory is formatted every write is a pure permutation.
    """

    kernel = "m-of-n"

    def positions(self) -> int:
        return MOFN_TABLE[self.w][0]

    def ones(self) -> int:
        return MOFN_TABLE[self.w][1]


@RACETRACK_SCHEMES.register("fixed-ones")
class FixedOnes(RacetrackScheme):
    """The ``002`` seed's approximate float encoding: every float32 with exactly K ones, then pw.

    Only the lowest mantissa bits change (clear the lowest ones or set the lowest zeros); sign and
    exponent never. A word that cannot reach K within the mantissa (and every Inf/NaN) is stored
    exactly and counted. K = ``racetrack.fixed_ones_k``, or (0) the most common popcount of the
    first written chunk's first write. The approximation error is reported.
    """

    kernel = "pw"
    exact = False
    transforms_words = True

    def __init__(self, config: RacetrackConfig) -> None:
        super().__init__(config)
        self.k: int | None = config.fixed_ones_k or None    # None: chosen from the first write
        self._err = np.zeros(5, dtype=np.float64)      # sum abs, max abs, sum rel, max rel, n rel
        self._counts = np.zeros(2, dtype=np.int64)     # changed, unreachable
        self._words = 0

    def check(self, config: RacetrackConfig) -> None:
        if config.item_bits < 32:
            raise ConfigError("scheme fixed-ones encodes float32 words: racetrack.item_bits must be 32 or 64, "
                              f"not {config.item_bits}")

    def choose_k(self, words: np.ndarray) -> int:
        """The most common popcount of ``words`` (uint32; ties: the smaller), used when K is automatic."""
        hist = np.zeros(33, dtype=np.int64)
        K.popcount_histogram(np.ascontiguousarray(words, dtype=np.uint32).ravel(), hist)
        return int(np.argmax(hist))

    def _prepare(self, words: np.ndarray, word_bits: int) -> None:
        if word_bits != 32:
            raise ConfigError(f"scheme fixed-ones encodes float32 words, not {word_bits}-bit words")
        if self.k is None:  # automatic: from the first write (of a 3-D chunk) or all the words given
            first = words[0] if words.ndim == 3 else words
            self.k = self.choose_k(first) if first.size else 16

    def transform(self, words: np.ndarray, word_bits: int) -> np.ndarray:
        self._prepare(words, word_bits)
        flat = np.ascontiguousarray(words, dtype=np.uint32).reshape(-1)
        out = np.empty_like(flat)
        K.fixed_ones(flat, out, self.k, self._err, self._counts)
        self._words += flat.size
        return out.reshape(words.shape)

    def kernel_transform(self, words: np.ndarray, word_bits: int) -> dict[str, Any] | None:
        """The trace kernel adjusts the words itself (the same :func:`fixed_ones` per float32, in
        the same order), adding to this scheme's statistics."""
        self._prepare(words, word_bits)
        self._words += words.size
        return {"fixed_k": self.k, "fixed_err": self._err, "fixed_counts": self._counts}

    def format_words(self, words: np.ndarray) -> np.ndarray:
        """``transform`` without statistics (formatting the memory)."""
        if self.k is None:
            raise RuntimeError("fixed-ones: K is chosen by the first transform, before formatting")
        flat = np.ascontiguousarray(words, dtype=np.uint32).reshape(-1)
        out = np.empty_like(flat)
        K.fixed_ones(flat, out, self.k, np.zeros(5), np.zeros(2, dtype=np.int64))
        return out.reshape(words.shape)

    def figures(self) -> dict[str, Any]:
        n = self._words
        nrel = self._err[4]
        return {
            "fixed_ones_k": self.k,
            "approx_words": int(self._counts[0]),
            "approx_unreachable_words": int(self._counts[1]),
            "approx_changed_fraction": float(self._counts[0] / n) if n else 0.0,
            "approx_mean_abs_error": float(self._err[0] / n) if n else 0.0,
            "approx_max_abs_error": float(self._err[1]),
            "approx_mean_rel_error": float(self._err[2] / nrel) if nrel else 0.0,
            "approx_max_rel_error": float(self._err[3]),
        }

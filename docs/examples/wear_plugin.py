"""A wear leveller as a plugin, in one file: ``random-rotate``.

Like ``rotate``, but every ``period`` writes each line's cells rotate to an offset drawn at random
(seeded), instead of one ``shift`` further: a randomised intra-line rotation. It reuses the
rotation's exact accounting (:class:`archsim.wear.RotateStream`: the epoch's wear folded at the
old rotation, every line copied to the new one with a data-comparison write) and only says which
offset comes next and what its steady state is (every position of the line, equally often).

Use it::

    archsim --plugin docs/examples/wear_plugin.py run --set wear_leveling=random-rotate \
        --set wear_leveling.period=32
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archsim.errors import ConfigError
from archsim.registry import NoParams
from archsim.wear import WEAR_LEVELLERS, RotateStream, WearLeveller


@dataclass(frozen=True)
class RandomRotateParams(NoParams):
    period: int = 64
    """Writes of a line between two rotations."""
    seed: int = 0
    """Seed of the offsets."""

    def validate(self, where, owner=None):
        if self.period < 1:
            raise ConfigError(f"{where}.period must be at least 1, not {self.period!r}")


class RandomRotateStream(RotateStream):
    name = "random-rotate"

    def __init__(self, inner, technology, config, params):
        super().__init__(inner, technology, config, params)
        self.rng = np.random.default_rng(params.seed)

    def next_offset(self) -> int:
        return int(self.rng.integers(self.cells_per_line))

    def orbit(self) -> int:
        return 1  # random offsets visit every position of the line


@WEAR_LEVELLERS.register("random-rotate")
class RandomRotate(WearLeveller):
    """Intra-line rotation to a random offset every ``period`` writes."""

    Params = RandomRotateParams
    stream_class = RandomRotateStream

"""A PCM write scheme with its own parameter, as a plugin (the example of ``docs/encoders.md``).

    archsim --plugin docs/examples/pcm_scheme_plugin.py run --schemes dcw,dcw-skip-low
    archsim --plugin docs/examples/pcm_scheme_plugin.py run --schemes dcw-skip-low \
        --set encoding.schemes.dcw-skip-low.mask_bits=8

or in a config file::

    [encoding.schemes.dcw-skip-low]
    mask_bits = 8
"""
from dataclasses import dataclass
import numpy as np
from archsim.errors import ConfigError
from archsim.pcm import Encoder, SchemeParams, register

@dataclass(frozen=True)
class Params(SchemeParams):
    mask_bits: int = 4          # parameters are a dataclass: unknown keys and bad types are rejected

    def check(self, where, word_bits):   # and the values, for the word width
        if not 0 <= self.mask_bits < word_bits:
            raise ConfigError(f"{where}.mask_bits must be in 0..{word_bits - 1}, not {self.mask_bits}")

@register("dcw-skip-low")
class DcwSkipLow(Encoder):
    """DCW that never programs the lowest ``mask_bits`` bits (approximate)."""
    Params = Params
    exact = False

    @property
    def cells_per_word(self):
        return self.word_bits

    def new_state(self, lines, words, line_offset=0):
        return np.zeros((lines, words), dtype=self.word_dtype)

    def encode(self, state, writes, outcome, wear, stored):
        keep = ~np.array((1 << self.params.mask_bits) - 1, dtype=self.word_dtype)
        bits = np.arange(self.word_bits - 1, -1, -1, dtype=self.word_dtype)
        for t in range(writes.shape[0]):
            new = (writes[t] & keep) | (state & ~keep)
            s, r = ~state & new, state & ~new
            wear += (((s | r)[..., None] >> bits) & 1).astype(np.uint64)   # cells MSB first
            outcome[t, :, 0] = np.bitwise_count(s).sum(axis=1)            # write_set
            outcome[t, :, 1] = np.bitwise_count(r).sum(axis=1)            # write_reset
            state[...] = new
            if stored is not None:
                stored[t] = new

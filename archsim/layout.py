"""The address layout: where each weight and bias of a trace lives in memory lines.

A trace row holds the float32 values of every weight and bias, tensor after
tensor in layer order (:attr:`workloads.TraceMeta.params`). The layout packs
them into memory lines of ``words_per_line`` words (``LayoutConfig.line_bytes
* 8 / word_bits``): with ``align_tensors`` every tensor starts on a new line
(its last line is padded with zero words), otherwise tensors are packed back
to back and only the very last line is padded. Line indices are global: line
0 is the first line of the first tensor, and a line's index decides, for
example, its initial AppWOM polarity (interleaved regions).

Padding words hold 0 and are written with their line (a memory line is
programmed whole); a scheme that compares before it writes programs no cell
for them unless its pre-operation changed the cells (``preset`` RESETs their
32 cells on every write). :attr:`AddressLayout.padding_words` says how many
there are.

Only 32-bit words hold float32 trace values bit for bit; other word widths
are for hand-made writes (the encoders' own API), not trace replay.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from archsim.errors import ConfigError


@dataclass(frozen=True)
class TensorPlacement:
    """Where one tensor lives: row columns ``[offset, offset+size)`` of a trace row,
    memory words ``[first_word, first_word+size)`` counted over all lines (line =
    word // words_per_line)."""

    name: str
    offset: int
    size: int
    first_word: int


class AddressLayout:
    """Tensors of a trace packed into memory lines.

    Built from the trace metadata (:meth:`from_meta`) or from (name, size)
    pairs in row order. ``lines`` x ``words_per_line`` words in total.
    """

    def __init__(self, tensors: Sequence[tuple[str, int]], *, words_per_line: int, align_tensors: bool = True,
                 word_bits: int = 32) -> None:
        if words_per_line < 1:
            raise ConfigError(f"a memory line must hold at least one word, not {words_per_line}")
        if word_bits != 32:
            raise ConfigError(f"trace replay needs 32-bit words (float32 values), not layout.word_bits = {word_bits}")
        if not tensors:
            raise ConfigError("the trace has no weights or biases to lay out")
        self.words_per_line = int(words_per_line)
        self.align_tensors = bool(align_tensors)
        self.word_bits = word_bits
        placements = []
        offset = word = 0
        for name, size in tensors:
            size = int(size)
            if size <= 0:
                raise ConfigError(f"tensor {name!r} has no values")
            if align_tensors and word % self.words_per_line:
                word += self.words_per_line - word % self.words_per_line
            placements.append(TensorPlacement(str(name), offset, size, word))
            offset += size
            word += size
        self._placements = tuple(placements)
        self._by_name = {p.name: p for p in placements}
        if len(self._by_name) != len(placements):
            raise ConfigError("the trace names a tensor twice")
        self.n_params = offset
        self.lines = -(-word // self.words_per_line)
        self.padding_words = self.lines * self.words_per_line - self.n_params
        # runs of consecutive columns that map to consecutive words: one slice copy each
        runs: list[tuple[int, int, int]] = []
        for p in placements:
            if runs and runs[-1][0] + runs[-1][2] == p.offset and runs[-1][1] + runs[-1][2] == p.first_word:
                src, dst, n = runs[-1]
                runs[-1] = (src, dst, n + p.size)
            else:
                runs.append((p.offset, p.first_word, p.size))
        self._runs = tuple(runs)

    @classmethod
    def from_meta(cls, meta, layout_config) -> "AddressLayout":
        """The layout of a trace's weights and biases (``meta``: a ``TraceMeta``) under a
        :class:`archsim.config.LayoutConfig`."""
        return cls([(t.name, t.size) for t in meta.params], words_per_line=layout_config.words_per_line,
                   align_tensors=layout_config.align_tensors, word_bits=layout_config.word_bits)

    # -- queries ---------------------------------------------------------------------
    @property
    def tensors(self) -> tuple[str, ...]:
        """Tensor names in row (layer) order."""
        return tuple(p.name for p in self._placements)

    @property
    def placements(self) -> tuple[TensorPlacement, ...]:
        return self._placements

    @property
    def words(self) -> int:
        """Words in all lines, padding included."""
        return self.lines * self.words_per_line

    def tensor_lines(self, name: str) -> tuple[int, int]:
        """(first global line, number of lines) a tensor touches."""
        try:
            p = self._by_name[name]
        except KeyError:
            raise ConfigError(f"no tensor {name!r} in the layout; tensors: {', '.join(self.tensors)}") from None
        first = p.first_word // self.words_per_line
        last = (p.first_word + p.size - 1) // self.words_per_line
        return first, last - first + 1

    def word_mask(self) -> np.ndarray:
        """(lines, words_per_line) bool: True where a word holds a trace value (not padding)."""
        mask = np.zeros(self.words, dtype=bool)
        for _, dst, n in self._runs:
            mask[dst:dst + n] = True
        return mask.reshape(self.lines, self.words_per_line)

    # -- gathers ---------------------------------------------------------------------
    def to_lines(self, chunk: np.ndarray, out: np.ndarray | None = None,
                 lines: tuple[int, int] | None = None) -> np.ndarray:
        """A (T, n_params) float32 chunk as (T, lines, words_per_line) uint32 words.

        Padding words are 0. At most one copy: a view when the layout has no
        padding (packed tensors filling whole lines) and ``out`` is not given,
        otherwise one slice copy per run of consecutive tensors into ``out``
        (allocated if None; shape (T, lines, words_per_line) uint32, C order;
        its padding words must already be 0, as they are after a previous call).
        ``lines = (first, end)``: only the global lines ``first .. end - 1``, (T, end - first,
        words_per_line) (a line range of a sharded run, :mod:`archsim.shard`): only the values
        on those lines are copied.
        """
        a = np.asarray(chunk)
        if a.ndim != 2 or a.shape[1] != self.n_params:
            raise ConfigError(f"a chunk of shape {a.shape} does not match the layout's {self.n_params} values per row")
        if a.dtype == np.float32:
            words = a.view(np.uint32) if a.flags.c_contiguous else a.copy().view(np.uint32)
        elif a.dtype == np.uint32:
            words = a
        else:
            raise ConfigError(f"trace chunks must be float32 (or uint32 words), not {a.dtype}")
        T = a.shape[0]
        first, end = (0, self.lines) if lines is None else (int(lines[0]), int(lines[1]))
        if not 0 <= first < end <= self.lines:
            raise ValueError(f"line range {first}..{end} is not within the layout's {self.lines} lines")
        n = end - first
        if out is None and lines is None and self.padding_words == 0 and words.flags.c_contiguous:
            return words.reshape(T, self.lines, self.words_per_line)
        if out is None:
            out = np.zeros((T, n, self.words_per_line), dtype=np.uint32)
        elif out.shape != (T, n, self.words_per_line) or out.dtype != np.uint32 or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous uint32 array of shape {(T, n, self.words_per_line)}")
        flat = out.reshape(T, n * self.words_per_line)
        lo, hi = first * self.words_per_line, end * self.words_per_line
        for src, dst, k in self._runs:
            a0, a1 = max(dst, lo), min(dst + k, hi)   # the run's words within the range
            if a0 < a1:
                flat[:, a0 - lo:a1 - lo] = words[:, src + a0 - dst:src + a1 - dst]
        return out

    def params_in_lines(self, first: int, end: int) -> int:
        """Trace values (not padding) on the global lines ``first .. end - 1``."""
        lo, hi = first * self.words_per_line, end * self.words_per_line
        return sum(max(0, min(dst + k, hi) - max(dst, lo)) for _, dst, k in self._runs)

    def from_lines(self, lines_array: np.ndarray) -> np.ndarray:
        """The reverse of :meth:`to_lines`: (T, lines, words_per_line) words (e.g. stored
        values) back to (T, n_params) float32 trace rows; padding words dropped."""
        a = np.asarray(lines_array)
        if a.ndim == 2:
            a = a[None]
        if a.ndim != 3 or a.shape[1:] != (self.lines, self.words_per_line):
            raise ConfigError(f"an array of shape {np.shape(lines_array)} does not match the layout's "
                              f"{self.lines} lines x {self.words_per_line} words")
        if a.dtype == np.float32:
            a = a.view(np.uint32)
        elif a.dtype != np.uint32:
            raise ConfigError(f"line words must be uint32 (or float32), not {a.dtype}")
        T = a.shape[0]
        flat = np.ascontiguousarray(a).reshape(T, self.words)
        out = np.empty((T, self.n_params), dtype=np.uint32)
        for src, dst, n in self._runs:
            out[:, src:src + n] = flat[:, dst:dst + n]
        return out.view(np.float32)

    def describe(self) -> dict:
        return {"lines": self.lines, "words_per_line": self.words_per_line, "n_params": self.n_params,
                "padding_words": self.padding_words, "align_tensors": self.align_tensors}

    def __repr__(self) -> str:
        return (f"AddressLayout({len(self._placements)} tensors, {self.n_params:,} values in {self.lines:,} lines "
                f"x {self.words_per_line} words, {self.padding_words:,} padding words)")

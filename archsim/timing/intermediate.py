"""The intermediate data of the training access pattern: its content and its writes, run ahead.

The timing model writes the intermediate data itself (:mod:`archsim.timing.model`): every
iteration, seeded random content over the intermediate lines, through a stream of the same
scheme (``technology.open_stream``). Two pieces serve it:

* :class:`IntermediateContent` draws the content of a range of iterations, one generator per
  iteration (``default_rng([seed, iteration])``), so the content does not depend on how the
  iterations are chunked; the models of a run's schemes share one, and each chunk's content is
  drawn once for all of them (it is the same words for every scheme);
* :class:`IntermediateWrites` encodes a chunk of that content through the model's stream and
  prices it (service times in ps, line totals). :meth:`~IntermediateWrites.run_ahead` moves this
  onto a thread pool: while the main thread simulates chunk k, the pool encodes chunk k + 1 (the
  encoder kernels release the GIL), in parallel with the functional replay of the weights.

Each stream is fed its iterations in order, one job at a time (the next job is submitted only
when the previous one's result has been taken), and the content and the prices are functions
of the iterations only: the outcomes and every number built from them are the same bit for bit
as encoding on the main thread, whatever the thread scheduling. The region manager and the
totals are still updated on the main thread, in the model's order (weights, then intermediate
data).
"""
from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from concurrent.futures import Executor, Future
from dataclasses import dataclass

import numpy as np

from archsim import _workload_kernels
from archsim.contracts import ChunkOutcome


def random_words(rng: np.random.Generator, shape: tuple[int, ...], word_bits: int, ones: float,
                 out: np.ndarray | None = None) -> np.ndarray:
    """Words of ``word_bits`` bits whose bits are 1 with probability ``ones`` (uniform words at 0.5), into
    ``out`` if given (C-contiguous, of that shape and dtype).

    Uniform words are ``rng.integers(0, 2**word_bits - 1, endpoint=True)``; from a fresh PCG64 generator
    (``default_rng``) on a little-endian machine they are its raw outputs' bytes, which
    :func:`archsim._workload_kernels.generator_bytes` writes straight into the array: the same words at under
    half the cost (numpy draws each 32-bit word by a call of its own)."""
    dtype = np.dtype(f"u{word_bits // 8}")
    if ones == 0.5:
        if (out is not None and out.flags.c_contiguous and type(rng.bit_generator) is np.random.PCG64
                and sys.byteorder == "little"
                and not rng.bit_generator.state["has_uint32"]):
            _workload_kernels.generator_bytes(rng.bit_generator, out.reshape(-1).view(np.uint8))
            return out
        words = rng.integers(0, 2**word_bits - 1, size=shape, dtype=dtype, endpoint=True)
    else:
        bits = rng.random(shape + (word_bits,), dtype=np.float32) < ones
        packed = np.packbits(bits, axis=-1, bitorder="big")  # (..., word_bits // 8) bytes, MSB first
        words = packed.view(dtype.newbyteorder(">")).reshape(shape).astype(dtype)
    if out is None:
        return words
    out[...] = words
    return out


class IntermediateContent:
    """The seeded random content of ``lines`` x ``words`` intermediate words, per iteration.

    :meth:`chunk` gives iterations ``first .. first + T - 1`` as one (T, lines, words) array.
    Shared by ``consumers`` models (:meth:`attach`), a chunk is drawn once: it is kept until each
    of them has taken it, and at most ``2 x consumers`` chunks are kept (an evicted chunk is
    drawn again if asked for: the same words). Thread-safe; a chunk being drawn by one thread is
    waited for by the others.
    """

    def __init__(self, *, seed: int, lines: int, words: int, word_bits: int, ones: float) -> None:
        self.seed, self.lines, self.words, self.word_bits, self.ones = seed, lines, words, word_bits, ones
        self.consumers = 0
        self._lock = threading.Lock()
        self._chunks: OrderedDict[tuple[int, int], _Entry] = OrderedDict()

    @property
    def key(self) -> tuple:
        """What the content depends on: models whose keys are equal may share it."""
        return (self.seed, self.lines, self.words, self.word_bits, self.ones)

    def attach(self) -> None:
        """One more model takes every chunk of this content."""
        with self._lock:
            self.consumers += 1

    def draw(self, first: int, T: int) -> np.ndarray:
        """Iterations ``first .. first + T - 1``, drawn now (not kept)."""
        shape = (self.lines, self.words)
        data = np.empty((T,) + shape, dtype=np.dtype(f"u{self.word_bits // 8}"))
        for i in range(T):  # one generator per iteration: chunking does not change the content
            rng = np.random.default_rng([self.seed, first + i])
            random_words(rng, shape, self.word_bits, self.ones, out=data[i])
        return data

    def chunk(self, first: int, T: int) -> np.ndarray:
        """Iterations ``first .. first + T - 1``, (T, lines, words); do not write into it (shared)."""
        if self.consumers <= 1:
            return self.draw(first, T)
        key = (first, T)
        with self._lock:
            entry = self._chunks.get(key)
            mine = entry is None
            if mine:
                entry = self._chunks[key] = _Entry(threading.Event(), None, self.consumers)
                while len(self._chunks) > 2 * self.consumers:
                    self._chunks.popitem(last=False)
        if mine:
            try:
                entry.data = self.draw(first, T)
            finally:
                entry.ready.set()
        else:
            entry.ready.wait()
        data = entry.data
        if data is None:  # the drawing thread failed; draw here (and raise its error, if it recurs)
            data = self.draw(first, T)
        with self._lock:
            entry.left -= 1
            if entry.left <= 0 and self._chunks.get(key) is entry:
                del self._chunks[key]
        return data


@dataclass
class _Entry:
    ready: threading.Event
    data: np.ndarray | None
    left: int


@dataclass
class PricedChunk:
    """One chunk of intermediate writes: the stream's outcome, its service times (ps, (T, lines)
    each) and its line totals (``technology.line_totals``)."""

    first: int
    chunk: ChunkOutcome
    write_ps: np.ndarray
    refresh_ps: np.ndarray
    totals: dict[str, np.ndarray]

    @property
    def iterations(self) -> int:
        return int(self.chunk.outcome.shape[0])


class IntermediateWrites:
    """The writes of the intermediate data through ``stream`` (one scheme's), chunk by chunk.

    :meth:`take` gives the :class:`PricedChunk` of iterations ``first .. first + T - 1`` (each
    iteration once, in order); by default it encodes them then. After :meth:`run_ahead`, each
    :meth:`take` submits the next chunk's encoding to the executor, and takes a chunk encoded
    ahead when it is the one asked for. A chunk encoded ahead with another length than asked
    for (a caller that changes its chunking) is split or completed: the stream's outcomes do not
    depend on the chunking, and the prices are computed again over exactly the chunk taken.
    """

    def __init__(self, stream, content: IntermediateContent, technology, config, *, has_costs: bool) -> None:
        self.stream = stream
        self.content = content
        self.technology = technology
        self.config = config
        self.has_costs = has_costs
        self.position = 0  # the first iteration not yet encoded
        self._ready: list[ChunkOutcome] = []  # encoded ahead and not taken, in order (from ``_ready_first``)
        self._ready_first = 0
        self._pending: Future | None = None
        self._executor: Executor | None = None
        self._iterations = 0
        self._chunk = 0

    # -- the work of one chunk (main thread, or a pool's thread) --------------------------------
    def _encode(self, first: int, T: int) -> ChunkOutcome:
        return self.stream.feed(self.content.chunk(first, T))

    def _price(self, first: int, chunk: ChunkOutcome) -> PricedChunk:
        p = self.technology.price_writes(chunk, self.config, totals=self.has_costs)
        return PricedChunk(first, chunk, p.write_ps, p.refresh_ps, p.totals)

    def _job(self, first: int, T: int) -> PricedChunk:
        return self._price(first, self._encode(first, T))

    # -- running ahead -----------------------------------------------------------------------------
    def run_ahead(self, executor: Executor, *, iterations: int, chunk: int) -> None:
        """Encode each next chunk on ``executor`` while the caller simulates the current one: the
        caller takes chunks of ``chunk`` iterations (the last one shorter), ``iterations`` in all."""
        self._executor, self._iterations, self._chunk = executor, int(iterations), max(1, int(chunk))
        self._submit()

    def _submit(self) -> None:
        if self._executor is None or self._pending is not None:
            return
        T = min(self._chunk, self._iterations - self.position)
        if T <= 0:
            return
        first = self.position
        self.position += T
        self._pending = self._executor.submit(self._job, first, T)

    def settle(self) -> None:
        """Wait for the chunk being encoded ahead, if any (before the stream is read)."""
        if self._pending is not None:
            priced = self._pending.result()
            self._pending = None
            self._ready.append(priced)

    # -- taking ------------------------------------------------------------------------------------
    def take(self, first: int, T: int) -> PricedChunk:
        """The priced writes of iterations ``first .. first + T - 1``."""
        self.settle()
        ready = self._ready
        have_first = ready[0].first if ready else self.position
        if first != have_first:
            raise RuntimeError(f"intermediate data: iterations from {first} asked for, the stream is at {have_first}")
        if ready and ready[0].iterations == T and ready[0].write_ps is not None:  # encoded ahead, as asked for
            priced = ready.pop(0)
        else:
            parts, n = [], 0
            while ready and n < T:
                c = ready.pop(0).chunk
                parts.append(c)
                n += c.outcome.shape[0]
            if n < T:
                parts.append(self._encode(self.position, T - n))
                self.position += T - n
                n = T
            whole = ChunkOutcome.concat(parts)
            if n > T:  # keep the rest for the next take
                ready.insert(0, PricedChunk(first + T, _rows(whole, T, n), None, None, {}))  # priced when taken
                whole = _rows(whole, 0, T)
            priced = self._price(first, whole)
        self._submit()
        return priced


def _rows(chunk: ChunkOutcome, a: int, b: int) -> ChunkOutcome:
    return ChunkOutcome(chunk.outcome[a:b], None if chunk.stored is None else chunk.stored[a:b],
                        {k: v[a:b] for k, v in chunk.extras.items()}, chunk.fields)



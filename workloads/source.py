"""The trace-source protocol: what the replay consumes.

Both a trace on disk (:class:`~workloads.trace_reader.TraceReader`) and a
synthetic generator streaming without a file
(:class:`~workloads.synthetic.SyntheticSource`) implement it::

    source.meta                 # TraceMeta: model, optimiser, tensors, schedule, ...
    source.n_iterations         # recorded iterations
    source.n_params             # float32 values per iteration (weights + biases, row order)
    for block in source.iter_chunks(chunk_iterations, start=0):
        ...                     # float32 (T, n_params), T <= chunk_iterations, consecutive
    for rec in source.iter_records(chunk_iterations, start=0):
        ...                     # RECORD_DTYPE (T,): training step, batch size, loss

Blocks come in bounded memory whatever the trace length; ``block.view(np.uint32)``
gives the raw IEEE-754 words.
"""
from __future__ import annotations

from typing import Iterator, Protocol, runtime_checkable

import numpy as np

from archsim.errors import is_integer
from workloads.meta import TraceMeta


@runtime_checkable
class TraceSource(Protocol):
    meta: TraceMeta

    @property
    def n_iterations(self) -> int: ...

    @property
    def n_params(self) -> int: ...

    def iter_chunks(self, chunk_iterations: int, start: int = 0) -> Iterator[np.ndarray]: ...

    def iter_records(self, chunk_iterations: int, start: int = 0) -> Iterator[np.ndarray]: ...


def check_range(chunk_iterations: int, start: int, n_iterations: int) -> tuple[int, int]:
    """``(chunk_iterations, start)`` of an ``iter_chunks``/``iter_records`` call as ints, checked: a
    chunk of at least one iteration, a start in ``0..n_iterations`` (TypeError or ValueError naming it)."""
    for name, value in (("chunk_iterations", chunk_iterations), ("start", start)):
        if not is_integer(value):
            raise TypeError(f"{name} must be an integer, not {value!r}")
    chunk_iterations, start = int(chunk_iterations), int(start)
    if chunk_iterations < 1:
        raise ValueError(f"chunk_iterations must be >= 1, not {chunk_iterations}")
    if not 0 <= start <= n_iterations:
        raise ValueError(f"start {start} outside 0..{n_iterations}")
    return chunk_iterations, start

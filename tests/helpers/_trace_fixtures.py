"""Helpers shared by the trace tests: a small metadata and a deterministic trace writer."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from workloads.meta import TensorSpec, TraceMeta, layout_params
from workloads.trace_writer import TraceWriter


def small_meta(n_out: int = 7, n_in: int = 5) -> TraceMeta:
    tensors = layout_params([
        TensorSpec("fc.weight", "fc", "weight", (n_out, n_in)),
        TensorSpec("fc.bias", "fc", "bias", (n_out,)),
    ])
    return TraceMeta(model="tiny", dataset="none", optimizer="sgd", learning_rate=0.1, batch_size=4,
                     seed=0, recorder="test", recorder_version="1", tensors=tensors)


def trace_values(n_iterations: int, n_params: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_iterations, n_params)).astype(np.float32)


def write_trace(path: Path, n_iterations: int = 23, rows_per_chunk: int = 5, seed: int = 0,
                meta: TraceMeta | None = None) -> tuple[Path, np.ndarray]:
    meta = meta or small_meta()
    values = trace_values(n_iterations, meta.n_params, seed)
    with TraceWriter(path, meta, rows_per_chunk=rows_per_chunk, fsync=False) as w:
        for i, row in enumerate(values):
            w.append(row, iteration=i, loss=float(i))
    return path, values

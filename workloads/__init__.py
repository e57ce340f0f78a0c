"""NN training traces: recorders, the built-in trainer, synthetic generators and the trace format.

The replay consumes a *trace source* (:mod:`workloads.source`): a trace on disk
(:func:`open_trace`) or a synthetic generator. :func:`make_source` gives one for
a workload name, recording and caching it if needed. Workloads are registered
by name in :data:`WORKLOADS`:

- ``lenet-digits`` (default), ``mlp-digits``: numpy trainer on scikit-learn's digits;
- ``lenet-mnist``, ``mlp-mnist``: numpy trainer on MNIST IDX files from ``--data-dir``;
- ``synthetic-lenet``, ``synthetic-googlenet``, ``synthetic-densenet``: paper-size
  synthetic traces, streamed without a file.

PyTorch training loops are recorded with :class:`workloads.torch_recorder.TorchRecorder`
(imported lazily: PyTorch is optional).
"""
from workloads import builtin as _builtin  # noqa: F401  (registers the built-in workloads)
from workloads import synthetic_workloads as _synthetic_workloads  # noqa: F401
from workloads.bitstats import BIT_NAMES, bit_statistics
from workloads.builtin import TrainResult
from workloads.cache import make_source
from workloads.memory import IdentityMemory, Memory, TruncatingMemory
from workloads.meta import FORMAT_VERSION, Step, TensorSpec, TraceMeta
from workloads.source import TraceSource
from workloads.synthetic import SyntheticSource
from workloads.trace_layout import RECORD_DTYPE
from workloads.trace_reader import TraceReader, open_trace
from workloads.trace_writer import TraceWriter
from workloads.workload import WORKLOADS, Workload

__all__ = [
    "WORKLOADS", "Workload", "make_source", "open_trace", "TraceReader", "TraceWriter", "TraceSource",
    "TraceMeta", "TensorSpec", "Step", "FORMAT_VERSION", "RECORD_DTYPE", "SyntheticSource",
    "bit_statistics", "BIT_NAMES", "Memory", "IdentityMemory", "TruncatingMemory", "TrainResult",
    "TorchRecorder",
]


def __getattr__(name):
    if name == "TorchRecorder":
        from workloads.torch_recorder import TorchRecorder

        return TorchRecorder
    raise AttributeError(f"module 'workloads' has no attribute {name!r}")

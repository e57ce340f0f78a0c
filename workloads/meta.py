"""Trace metadata: what a trace holds, enough to rebuild the address layout and
the access pattern of an iteration without the model.

A trace of ``n_iterations`` recorded iterations holds, per iteration, the values
of every weight and bias *after* the optimiser's update (float32), concatenated
in the order of :attr:`TraceMeta.tensors` restricted to weights and biases
(``n_params`` values, ``4 * n_params`` bytes), plus a small per-iteration record
(training step, batch size, loss).

Intermediate data (a layer's output activations) is described, not stored: its
size per sample (bytes) and its lifetime as two positions in the iteration's
:attr:`TraceMeta.schedule` (the step that writes it in the forward pass and the
last step that reads it in the backward pass). Every step carries its FLOPs, so a
compute model (FLOPs / rate in FLOP/s) turns a lifetime into seconds; see
:meth:`TraceMeta.lifetime_flops`.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from archsim.errors import TraceError

FORMAT_NAME = "archsim-trace"
FORMAT_VERSION = 1
"""Version of the on-disk layout; a reader refuses any other (no silent guessing)."""

KINDS = ("weight", "bias", "intermediate")
PHASES = ("load", "forward", "loss", "backward", "update")


@dataclass(frozen=True)
class TensorSpec:
    """One tensor of the model.

    ``kind`` is ``"weight"``, ``"bias"`` (both recorded every iteration, float32) or
    ``"intermediate"`` (described only). ``shape`` is the tensor's shape; for
    intermediate data it is the shape *per sample* (the batch dimension left out).

    Weights and biases: ``offset`` is the column of the tensor's first value in a
    trace row (``row[offset : offset + size]`` reshaped to ``shape``).

    Intermediate data: ``bytes_per_sample`` is its size for one sample (bytes; an
    iteration holds ``bytes_per_sample * batch_size`` bytes), ``written_at`` the
    index in :attr:`TraceMeta.schedule` of the forward step that writes it and
    ``read_at`` the index of the last backward step that reads it.
    """

    name: str
    layer: str
    kind: str
    shape: tuple[int, ...]
    dtype: str = "float32"
    offset: int | None = None
    bytes_per_sample: int | None = None
    written_at: int | None = None
    read_at: int | None = None

    @property
    def size(self) -> int:
        """Number of elements (per sample for intermediate data)."""
        return int(math.prod(self.shape))

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
        out["shape"] = list(self.shape)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "TensorSpec":
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - fields
        if unknown:
            raise ValueError(f"tensor has unknown fields {sorted(unknown)}")
        kw = dict(data)
        kw["shape"] = tuple(int(s) for s in kw["shape"])
        return cls(**kw)


@dataclass(frozen=True)
class Step:
    """One step of a training iteration, in execution order.

    ``phase`` is one of ``load`` (the input batch is written), ``forward``,
    ``loss``, ``backward``, ``update`` (the optimiser writes the layer's weights and
    biases). ``flops_per_sample`` is the step's floating-point operations for one
    sample (multiply and add count as two); ``flops_fixed`` is the part that does
    not scale with the batch (the optimiser's update). FLOPs of the step in an
    iteration of batch size ``B``: ``flops_per_sample * B + flops_fixed``.
    """

    phase: str
    layer: str
    flops_per_sample: int = 0
    flops_fixed: int = 0

    def flops(self, batch_size: int) -> int:
        """FLOPs of this step in an iteration of ``batch_size`` samples."""
        return int(self.flops_per_sample) * int(batch_size) + int(self.flops_fixed)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Step":
        return cls(**dict(data))


@dataclass(frozen=True)
class TraceMeta:
    """Everything a trace says about itself (``meta.json`` plus the chunk journal).

    Units: ``learning_rate`` is the optimiser's step size (dimensionless),
    ``batch_size`` samples per iteration, ``every`` the recording period in
    training iterations (iteration ``i`` is recorded when
    ``i >= first_iteration`` and ``(i - first_iteration) % every == 0``),
    ``train_iterations`` the training iterations the run was asked for and
    ``n_iterations`` how many iterations the trace holds.
    """

    model: str
    dataset: str
    optimizer: str
    learning_rate: float
    batch_size: int
    seed: int
    recorder: str
    recorder_version: str
    tensors: tuple[TensorSpec, ...]
    schedule: tuple[Step, ...] = ()
    every: int = 1
    first_iteration: int = 0
    train_iterations: int | None = None
    n_iterations: int = 0
    optimizer_params: dict[str, Any] = field(default_factory=dict)
    workload: str | None = None
    knobs: dict[str, Any] = field(default_factory=dict)
    complete: bool = False
    results: dict[str, Any] = field(default_factory=dict)

    # -- derived -------------------------------------------------------------------
    @property
    def params(self) -> tuple[TensorSpec, ...]:
        """Weights and biases, in row order."""
        return tuple(t for t in self.tensors if t.kind in ("weight", "bias"))

    def check_finite(self, block: np.ndarray, first_iteration: int, where: str) -> None:
        """Raise :class:`~archsim.errors.TraceError` naming the iteration and tensor of the first NaN or
        infinity in ``block`` (float32 ``(T, n_params)`` rows of iterations ``first_iteration ...``).

        archsim's policy for non-finite data: it is never replayed, counted or drawn (a NaN weight would
        make every error statistic meaningless); a trace that holds one is rejected where it is written
        or read, with the place named.
        """
        rows = np.asarray(block).reshape(len(block), -1)
        if np.isfinite(rows).all():
            return
        t, col = (int(x[0]) for x in np.nonzero(~np.isfinite(rows)))
        name = next((s.name for s in self.params if s.offset <= col < s.offset + s.size), f"value {col}")
        raise TraceError(f"{where}: iteration {first_iteration + t}: tensor {name} holds {rows[t, col]} (a non-finite "
                         "value: the training diverged; lower the learning rate or check the model)")

    @property
    def intermediates(self) -> tuple[TensorSpec, ...]:
        return tuple(t for t in self.tensors if t.kind == "intermediate")

    @property
    def n_params(self) -> int:
        """float32 values per recorded iteration (weights and biases)."""
        return sum(t.size for t in self.params)

    @property
    def layers(self) -> tuple[str, ...]:
        """Layer names in model order (first appearance among the tensors)."""
        seen: dict[str, None] = {}
        for t in self.tensors:
            seen.setdefault(t.layer, None)
        return tuple(seen)

    def tensor(self, name: str) -> TensorSpec:
        for t in self.tensors:
            if t.name == name:
                return t
        raise KeyError(f"no tensor {name!r} in the trace")

    def lifetime_flops(self, name: str, batch_size: int | None = None) -> int:
        """FLOPs executed between the write of intermediate ``name`` and its last read.

        Counts the steps strictly after ``written_at`` up to and including
        ``read_at``; divide by a compute rate (FLOP/s) to get seconds.
        """
        t = self.tensor(name)
        if t.kind != "intermediate":
            raise ValueError(f"{name!r} is a {t.kind}, not intermediate data")
        b = self.batch_size if batch_size is None else batch_size
        return sum(s.flops(b) for s in self.schedule[t.written_at + 1 : t.read_at + 1])

    def iteration_flops(self, batch_size: int | None = None) -> int:
        """FLOPs of one whole training iteration."""
        b = self.batch_size if batch_size is None else batch_size
        return sum(s.flops(b) for s in self.schedule)

    # -- validation and (de)serialisation -------------------------------------------
    def validate(self) -> None:
        """Raise ``ValueError`` describing the first inconsistency."""
        if not self.tensors:
            raise ValueError("no tensors")
        names = [t.name for t in self.tensors]
        if len(set(names)) != len(names):
            raise ValueError("duplicate tensor names")
        offset = 0
        for t in self.tensors:
            if t.kind not in KINDS:
                raise ValueError(f"tensor {t.name!r}: kind {t.kind!r} not in {KINDS}")
            if any(s <= 0 for s in t.shape):
                raise ValueError(f"tensor {t.name!r}: bad shape {t.shape}")
            if t.kind == "intermediate":
                if t.bytes_per_sample is None or t.written_at is None or t.read_at is None:
                    raise ValueError(f"intermediate {t.name!r} lacks size or lifetime")
                if not 0 <= t.written_at < t.read_at < len(self.schedule):
                    raise ValueError(f"intermediate {t.name!r}: bad lifetime "
                                     f"{t.written_at}..{t.read_at}")
            else:
                if t.dtype != "float32":
                    raise ValueError(f"tensor {t.name!r}: dtype {t.dtype}, only float32 is recorded")
                if t.offset != offset:
                    raise ValueError(f"tensor {t.name!r}: offset {t.offset}, expected {offset}")
                offset += t.size
        if offset == 0:
            raise ValueError("no weights or biases")
        for s in self.schedule:
            if s.phase not in PHASES:
                raise ValueError(f"schedule step {s}: phase not in {PHASES}")
        if self.every < 1 or self.batch_size < 1:
            raise ValueError("every and batch_size must be >= 1")

    def header_json(self) -> dict[str, Any]:
        """What ``meta.json`` holds (the journal supplies n_iterations, complete, results)."""
        out = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
        }
        for f in dataclasses.fields(self):
            if f.name in ("n_iterations", "complete", "results"):
                continue
            value = getattr(self, f.name)
            if f.name == "tensors":
                value = [t.to_json() for t in value]
            elif f.name == "schedule":
                value = [s.to_json() for s in value]
            out[f.name] = value
        return out

    @classmethod
    def from_header_json(cls, data: Mapping[str, Any], **extra: Any) -> "TraceMeta":
        kw = {k: v for k, v in data.items() if k not in ("format", "version")}
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(kw) - fields
        if unknown:
            raise ValueError(f"unknown metadata fields {sorted(unknown)}")
        kw["tensors"] = tuple(TensorSpec.from_json(t) for t in kw.get("tensors", ()))
        kw["schedule"] = tuple(Step.from_json(s) for s in kw.get("schedule", ()))
        kw.update(extra)
        return cls(**kw)

    def replace(self, **changes: Any) -> "TraceMeta":
        return dataclasses.replace(self, **changes)

    def request_stream(self):
        """Hook: the trace's own memory requests in file order (a :class:`workloads.nvmain.RequestStream`:
        arrival cycles, reads and writes, lines), which the timing model issues with
        ``timing.access_pattern = "trace"``; None (default): the trace holds iteration snapshots only."""
        return None


def layout_params(specs: Sequence[TensorSpec]) -> tuple[TensorSpec, ...]:
    """Assign row offsets to the weights and biases of ``specs`` (in order)."""
    out = []
    offset = 0
    for t in specs:
        if t.kind in ("weight", "bias"):
            out.append(dataclasses.replace(t, offset=offset))
            offset += t.size
        else:
            out.append(t)
    return tuple(out)

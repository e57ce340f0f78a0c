"""From a list of layers to a trace's tensors and iteration schedule.

A network is described layer by layer (:class:`LayerSpec`): its weight and bias
shapes, its output shape per sample, its forward FLOPs per sample and which
layers it reads. :func:`describe_network` turns that into the
:class:`~workloads.meta.TensorSpec` list (weights and biases in row order, one
intermediate tensor per layer output plus the input batch) and the
:class:`~workloads.meta.Step` schedule of one iteration::

    load input, forward L1..Ln, loss, backward Ln..L1, update (each layer with parameters)

A layer's output is written by its forward step and last read by the backward
step of its earliest consumer (backward runs in reverse order, so that is the
latest read); the last layer's output is read by the loss step. Backward FLOPs
are twice the forward FLOPs for layers with parameters (gradient of the input and
of the weights) and equal to them otherwise. The SGD update costs 2 FLOPs per
parameter (4 with momentum).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from workloads.meta import Step, TensorSpec, layout_params

FLOAT32_BYTES = 4


@dataclass(frozen=True)
class LayerSpec:
    """One layer of a network, as far as memory traffic is concerned.

    ``out_shape`` is per sample; ``flops_forward`` per sample; ``inputs`` names the
    producing layers (``()`` means the previous layer, ``("input",)`` the batch).
    """

    name: str
    op: str
    out_shape: tuple[int, ...]
    flops_forward: int
    weight_shape: tuple[int, ...] | None = None
    bias_shape: tuple[int, ...] | None = None
    inputs: tuple[str, ...] = field(default=())

    @property
    def n_params(self) -> int:
        n = 0
        for s in (self.weight_shape, self.bias_shape):
            if s is not None:
                n += math.prod(s)
        return n


def describe_network(
    layers: list[LayerSpec],
    input_shape: tuple[int, ...],
    *,
    n_classes: int,
    momentum: bool = False,
) -> tuple[tuple[TensorSpec, ...], tuple[Step, ...]]:
    """The tensors (weights, biases, intermediate data) and the iteration schedule."""
    names = [layer.name for layer in layers]
    if len(set(names)) != len(names) or "input" in names:
        raise ValueError("layer names must be unique and not 'input'")
    n = len(layers)
    # schedule indices: 0 load, 1..n forward, n+1 loss, n+2.. backward (reverse)
    fwd = {layer.name: 1 + i for i, layer in enumerate(layers)}
    loss_step = n + 1
    bwd = {layer.name: n + 2 + (n - 1 - i) for i, layer in enumerate(layers)}

    steps: list[Step] = [Step("load", "input")]
    steps += [Step("forward", layer.name, int(layer.flops_forward)) for layer in layers]
    steps.append(Step("loss", layers[-1].name, 5 * int(n_classes)))
    for layer in reversed(layers):
        factor = 2 if layer.n_params else 1
        steps.append(Step("backward", layer.name, factor * int(layer.flops_forward)))
    per_param = 4 if momentum else 2
    for layer in layers:
        if layer.n_params:
            steps.append(Step("update", layer.name, 0, per_param * layer.n_params))

    # who reads each output
    readers: dict[str, list[str]] = {"input": []}
    for i, layer in enumerate(layers):
        readers.setdefault(layer.name, [])
        srcs = layer.inputs or (("input",) if i == 0 else (layers[i - 1].name,))
        for src in srcs:
            if src not in readers:
                raise ValueError(f"layer {layer.name!r} reads unknown layer {src!r}")
            readers[src].append(layer.name)

    tensors: list[TensorSpec] = []
    for layer in layers:
        if layer.weight_shape is not None:
            tensors.append(TensorSpec(f"{layer.name}.weight", layer.name, "weight",
                                      tuple(layer.weight_shape)))
        if layer.bias_shape is not None:
            tensors.append(TensorSpec(f"{layer.name}.bias", layer.name, "bias",
                                      tuple(layer.bias_shape)))

    def last_read(src: str) -> int:
        if not readers[src]:
            return loss_step
        return max(bwd[r] for r in readers[src])

    tensors.append(TensorSpec("input", "input", "intermediate", tuple(input_shape),
                              bytes_per_sample=FLOAT32_BYTES * math.prod(input_shape),
                              written_at=0, read_at=last_read("input")))
    for layer in layers:
        tensors.append(TensorSpec(
            f"{layer.name}.out", layer.name, "intermediate", tuple(layer.out_shape),
            bytes_per_sample=FLOAT32_BYTES * math.prod(layer.out_shape),
            written_at=fwd[layer.name], read_at=last_read(layer.name)))
    return layout_params(tensors), tuple(steps)


# -- FLOP formulas (per sample; a multiply-add is two FLOPs) ---------------------------
def conv_flops(c_in: int, c_out: int, k: int, h_out: int, w_out: int, bias: bool = True) -> int:
    return 2 * c_in * k * k * c_out * h_out * w_out + (c_out * h_out * w_out if bias else 0)


def dense_flops(n_in: int, n_out: int, bias: bool = True) -> int:
    return 2 * n_in * n_out + (n_out if bias else 0)

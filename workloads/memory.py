"""The closed loop: the trainer writes every weight and bias update through a memory.

A memory is any object with ``store(name, values) -> values_read_back``: ``name``
is the tensor (``"conv1.weight"``), ``values`` the float32 array the optimiser
wants stored, and the return value what a read right after the write gives
back, same shape and dtype. The trainer computes the next iteration with what
the memory returned, so an approximate or lossy write scheme shows up in the
accuracy. The trainer also stores the initial values once before training.

A memory may keep state between calls (it is called once per tensor per
iteration, in row order): a lossy PCM scheme keeps the cell contents; an analog
device model (asymmetric, nonlinear conductance updates, ADC quantisation) keeps
each tensor's conductances, derives the requested update as ``values`` minus
what it returned last time, applies the device's response to it and returns the
conductances read through its ADC.

Intermediate data (the activations kept from the forward to the backward pass)
goes through an :class:`IntermediateMemory`, given to the trainer separately
(``Trainer(..., intermediate=...)``; none = exact, kept on chip): the trainer
calls ``write_intermediate(name, values)`` when the forward pass produces a
tensor (``"input"``, the batch; ``"<layer>.out"``, each layer's output) and
``read_intermediate(name)`` when a later step reads it (the backward pass of the
consumer; the loss step for the last layer's output), and computes that step with
what the read returns. The forward pass itself goes on with the exact values.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Memory(Protocol):
    def store(self, name: str, values: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class IntermediateMemory(Protocol):
    def write_intermediate(self, name: str, values: np.ndarray) -> None: ...
    def read_intermediate(self, name: str) -> np.ndarray: ...


class IdentityMemory:
    """Exact storage: returns what it was given (the default)."""

    def store(self, name: str, values: np.ndarray) -> np.ndarray:
        return values


class TruncatingMemory:
    """Approximate storage that keeps only the top ``mantissa_bits`` of the 23 mantissa bits.

    The low mantissa bits of every float32 word read back as 0: the simplest lossy
    memory, used to show that the closed loop matters (and as a template).
    """

    def __init__(self, mantissa_bits: int) -> None:
        if not 0 <= mantissa_bits <= 23:
            raise ValueError("mantissa_bits must be in 0..23")
        self.mask = np.uint32((0xFFFFFFFF << (23 - mantissa_bits)) & 0xFFFFFFFF)

    def store(self, name: str, values: np.ndarray) -> np.ndarray:
        words = np.ascontiguousarray(values, np.float32).view(np.uint32) & self.mask
        return words.view(np.float32)

"""The numpy trainer: mini-batch SGD (momentum and weight decay optional) with a closed loop.

One iteration: draw a batch, forward, softmax cross-entropy, backward, update
every weight and bias, then route each updated tensor through the memory
(:mod:`workloads.memory`) and continue with what it returns. With an
``intermediate`` memory, the input batch and every layer's output are written
to it during the forward pass and read back where the loss and the backward
pass need them (a layer's backward pass then works on its input as the memory
returned it). Deterministic for a
seed on a given machine and BLAS thread count: the seed fixes the
initialisation and the batch order.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from archsim.errors import TraceError
from workloads.datasets import Dataset
from workloads.layers import softmax_cross_entropy
from workloads.memory import IdentityMemory, IntermediateMemory, Memory
from workloads.models import Sequential
from workloads.workload import check_knob_rules


@dataclass(frozen=True)
class SGD:
    """``v = momentum * v + g + weight_decay * w;  w -= lr * v`` (PyTorch's SGD convention)."""

    lr: float
    momentum: float = 0.0
    weight_decay: float = 0.0

    def __post_init__(self):
        check_knob_rules(self, (("lr", self.lr > 0, "must be positive"),
                                ("momentum", 0 <= self.momentum < 1, "must be in [0, 1)"),
                                ("weight_decay", self.weight_decay >= 0, "must not be negative")))


class Trainer:
    """Trains ``model`` on ``data`` with ``optimizer``; ``memory`` closes the loop."""

    def __init__(self, model: Sequential, data: Dataset, optimizer: SGD, *, batch_size: int,
                 seed: int, memory: Memory | None = None,
                 intermediate: IntermediateMemory | None = None) -> None:
        if not 1 <= batch_size <= len(data.x_train):
            raise ValueError(f"knob batch_size must be in 1..{len(data.x_train)} (the training samples), "
                             f"not {batch_size}")
        self.model, self.data, self.opt = model, data, optimizer
        self.batch_size = batch_size
        self.memory = memory if memory is not None else IdentityMemory()
        self.intermediate = intermediate
        self._rng = np.random.default_rng([seed, 1])  # batch order, independent of the init stream
        self._order = np.empty(0, np.int64)
        self._pos = 0
        self.iteration = 0
        self._params = model.named_params()
        self._velocity = {name: np.zeros_like(a) for name, _, _, a in self._params}
        for name, _, _, arr in self._params:
            self._write(name, arr)

    def _write(self, name: str, arr: np.ndarray) -> None:
        back = self.memory.store(name, arr)
        if back is not arr:
            back = np.asarray(back)
            if back.shape != arr.shape or back.dtype != arr.dtype:
                raise ValueError(f"memory returned {back.dtype}{back.shape} for {name}, "
                                 f"expected {arr.dtype}{arr.shape}")
            if not np.isfinite(back).all():  # the policy of TraceMeta.check_finite: never trained on
                raise TraceError(f"memory returned a non-finite value for {name} at iteration {self.iteration + 1} "
                                 "(its store() must give back what the memory holds)")
            arr[...] = back

    def _batch(self) -> tuple[np.ndarray, np.ndarray]:
        if self._pos + self.batch_size > len(self._order):  # new epoch; the last partial batch is dropped
            self._order = self._rng.permutation(len(self.data.x_train))
            self._pos = 0
        idx = self._order[self._pos:self._pos + self.batch_size]
        self._pos += self.batch_size
        return self.data.x_train[idx], self.data.y_train[idx]

    def step(self, row: np.ndarray | None = None) -> float:
        """One iteration; returns its mean loss (nats).

        If ``row`` is given, the updated weights and biases (as written to the
        memory) are copied into it in row order before the memory's read-back is used.
        """
        x, y = self._batch()
        # A diverging training overflows to inf and NaN: numpy's warnings are not printed; the first
        # non-finite weight is one error where it is written (TraceMeta.check_finite, the closed loop).
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._step(x, y, row)

    def _step(self, x: np.ndarray, y: np.ndarray, row: np.ndarray | None) -> float:
        if self.intermediate is None:
            logits = self.model.forward(x, train=True)
            loss, grad = softmax_cross_entropy(logits, y)
            self.model.backward(grad)
        else:
            loss = self._forward_backward_through_memory(x, y)
        lr, mu, wd = np.float32(self.opt.lr), np.float32(self.opt.momentum), np.float32(self.opt.weight_decay)
        grads = {f"{layer.name}.{k}": g for layer in self.model.layers for k, g in layer.grads.items()}
        for name, _, _, w in self._params:
            g = grads[name]
            if wd:
                g = g + wd * w
            if mu:
                v = self._velocity[name]
                v *= mu
                v += g
                g = v
            w -= lr * g
        offset = 0
        if row is not None:
            for _, _, _, w in self._params:
                row[offset:offset + w.size] = w.reshape(-1)
                offset += w.size
        for name, _, _, w in self._params:
            self._write(name, w)
        self.iteration += 1
        return loss

    def _forward_backward_through_memory(self, x: np.ndarray, y: np.ndarray) -> float:
        """Forward, loss and backward with the intermediate data written to and read back from
        ``self.intermediate`` (see the module docstring)."""
        mem = self.intermediate
        layers = self.model.layers
        names = ["input"] + [f"{layer.name}.out" for layer in layers]
        kept = {"input": x}
        mem.write_intermediate("input", x)
        h = x
        for layer, name in zip(layers, names[1:]):
            h = layer.forward(h, train=True)
            kept[name] = h
            mem.write_intermediate(name, h)
        logits = self._read(names[-1], kept[names[-1]])
        loss, grad = softmax_cross_entropy(logits, y)
        for i in range(len(layers) - 1, -1, -1):
            back = self._read(names[i], kept[names[i]])
            if back is not kept[names[i]]:
                layers[i].recache(back)
            grad = layers[i].backward(grad)
        return loss

    def _read(self, name: str, kept: np.ndarray) -> np.ndarray:
        """Intermediate tensor ``name`` as the memory returns it; ``kept`` itself if that is bit for
        bit what was written (so exact memories leave the computation untouched)."""
        back = np.asarray(self.intermediate.read_intermediate(name))
        if back.shape != kept.shape or back.dtype != kept.dtype:
            raise ValueError(f"intermediate memory returned {back.dtype}{back.shape} for {name}, "
                             f"expected {kept.dtype}{kept.shape}")
        if np.array_equal(np.ascontiguousarray(back).view(np.uint8), np.ascontiguousarray(kept).view(np.uint8)):
            return kept
        return back

    def train(self, iterations: int, on_step: Callable[[int, float], None] | None = None) -> list[float]:
        """Run ``iterations`` steps; ``on_step(iteration, loss)`` after each. Returns the losses."""
        losses = []
        for _ in range(iterations):
            losses.append(self.step())
            if on_step:
                on_step(self.iteration - 1, losses[-1])
        return losses

    def accuracy(self, split: str = "test") -> float:
        """Fraction of correctly classified samples of ``split`` ("train" or "test")."""
        x, y = (self.data.x_test, self.data.y_test) if split == "test" else (self.data.x_train, self.data.y_train)
        if len(x) == 0:
            return float("nan")
        return float((self.model.predict(x) == y).mean())

    def param_row(self) -> np.ndarray:
        """All weights and biases as one float32 row (trace order)."""
        return np.concatenate([w.reshape(-1) for *_, w in self._params])

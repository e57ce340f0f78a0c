"""Synthetic training traces of paper size, streamed without a file.

The generator reproduces what matters to a write scheme: float32 weights of
realistic magnitude that move by small, temporally correlated steps, so that
the sign and exponent bits rarely change and the low mantissa bits change
often. Model of one tensor (He-initialised weights ``w0 ~ N(0, s)`` with
``s = sqrt(2 / fan_in)``, biases ``N(0, bias_scale * s)``, batch-norm scales 1
and shifts 0 with ``s = 0.1``), per training iteration ``t``::

    v_t = momentum * v_{t-1} + sqrt(1 - momentum^2) * u_t      # u_t: unit-variance noise
    w_t = w_{t-1} - lr_t * grad_scale * s * v_t                 # float32 arithmetic
    lr_t = lr * (1 + lr_decay * t) ** -lr_power                 # Caffe's "inv" policy

so one step moves a weight by about ``lr_t * grad_scale * s * g``, where ``g`` is a
per-parameter factor ``exp(grad_spread * N(0, 1) - grad_spread^2 / 2)`` (mean 1) (gradients differ by orders of
magnitude across the parameters of a layer), and 0 for a fraction
``idle_fraction`` of the parameters (dead units that receive no gradient).
``grad_scale`` (0.2) and ``idle_fraction`` (0.2) are measured on the recorded
digits traces (step size relative to the weights, parameters that never
change); ``grad_spread`` is fitted to their per-bit change rates (docs/traces.md). ``u_t`` is uniform 16-bit noise
(4x cheaper than Gaussian draws); the momentum filter sums about ten of them,
so steps are close to Gaussian. The sequence depends only on the seed, not on
how it is chunked; starting at a later iteration replays the earlier steps.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np

import archsim
from archsim._workload_kernels import synthetic_step
from workloads.architectures import ARCHITECTURES
from workloads.meta import TraceMeta
from workloads.network import describe_network
from workloads.source import check_range
from workloads.trace_layout import PARAMS_DTYPE, RECORD_DTYPE
from workloads.workload import check_knob_rules

RECORDER = "archsim-synthetic"
_U16_STD = 65536.0 / math.sqrt(12.0)


@dataclass(frozen=True)
class SyntheticKnobs:
    """Tunables of the generator (see the module docstring for the model)."""

    lr: float = 0.01
    momentum: float = 0.9
    grad_scale: float = 0.2
    bias_scale: float = 0.2
    grad_spread: float = 1.0
    idle_fraction: float = 0.2
    lr_decay: float = 1e-4
    lr_power: float = 0.75
    batch_size: int = 128

    def __post_init__(self):
        check_knob_rules(self, (
            ("lr", self.lr > 0, "must be positive"),
            ("momentum", 0 <= self.momentum < 1, "must be in [0, 1)"),
            ("grad_scale", self.grad_scale >= 0, "must not be negative"),
            ("bias_scale", self.bias_scale >= 0, "must not be negative"),
            ("grad_spread", self.grad_spread >= 0, "must not be negative"),
            ("idle_fraction", 0 <= self.idle_fraction < 1, "must be in [0, 1)"),
            ("lr_decay", self.lr_decay >= 0, "must not be negative"),
            ("batch_size", self.batch_size >= 1, "must be at least 1")))


def step_numpy(noise: np.ndarray, scale: np.ndarray, v: np.ndarray, w: np.ndarray, mu: np.float32,
               lr: np.float32) -> None:
    """One iteration of the generator in numpy, in place (the plain form of
    :func:`archsim._workload_kernels.synthetic_step`, which does it in one pass): ``noise`` int16, at least
    as long as ``w``; ``scale`` holds ``sqrt(1 - mu^2) * grad_scale * s / std(noise)``."""
    u = noise[: w.shape[0]].astype(np.float32)
    u *= scale                      # u now holds sqrt(1-mu^2) * grad_scale * s * noise
    v *= mu
    v += u
    np.multiply(v, lr, out=u)
    w -= u


class SyntheticSource:
    """A trace source (see :mod:`workloads.source`) computed on the fly.

    ``iterations`` training iterations; iteration ``i`` is yielded when
    ``i >= first_iteration`` and ``(i - first_iteration) % every == 0``.
    Memory: a few vectors of ``n_params`` float32 plus the yielded block.
    """

    def __init__(self, architecture: str, *, iterations: int, seed: int, every: int = 1,
                 first_iteration: int = 0, knobs: SyntheticKnobs | None = None,
                 workload: str | None = None, **arch_args) -> None:
        if iterations < 1 or every < 1 or not 0 <= first_iteration < iterations:
            raise ValueError("need iterations >= 1, every >= 1, 0 <= first_iteration < iterations")
        self.knobs = knobs or SyntheticKnobs()
        self.seed = int(seed)
        layers, input_shape, n_classes = ARCHITECTURES[architecture](**arch_args)
        tensors, schedule = describe_network(layers, input_shape, n_classes=n_classes,
                                             momentum=self.knobs.momentum > 0)
        self._train_iterations = iterations
        k = self.knobs
        self.meta = TraceMeta(
            model=architecture, dataset="synthetic", optimizer="sgd", learning_rate=k.lr,
            batch_size=k.batch_size, seed=self.seed, recorder=RECORDER,
            recorder_version=archsim.__version__, tensors=tensors, schedule=schedule, every=every,
            first_iteration=first_iteration, train_iterations=iterations,
            n_iterations=len(range(first_iteration, iterations, every)),
            optimizer_params={"momentum": k.momentum, "lr_policy": "inv", "lr_decay": k.lr_decay,
                              "lr_power": k.lr_power},
            workload=workload, knobs={**k.__dict__, **arch_args}, complete=True,
        )
        self.meta.validate()

    @property
    def n_iterations(self) -> int:
        return self.meta.n_iterations

    @property
    def n_params(self) -> int:
        return self.meta.n_params

    def _init(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Initial values and per-value step scale ``s`` (float32, row order)."""
        w = np.empty(self.n_params, np.float32)
        scale = np.empty(self.n_params, np.float32)
        fan_scale: dict[str, float] = {}
        for t in self.meta.params:
            sl = slice(t.offset, t.offset + t.size)
            is_bn = len(t.shape) == 1 and f"{t.layer}.weight" == t.name
            if is_bn:                       # batch-norm scale: starts at 1
                s, mean, std = 0.1, 1.0, 0.0
            elif t.kind == "weight":
                s = math.sqrt(2.0 / math.prod(t.shape[1:]))
                fan_scale[t.layer] = s
                mean, std = 0.0, s
            else:                           # bias or batch-norm shift
                s = fan_scale.get(t.layer, 0.1)
                mean, std = 0.0, self.knobs.bias_scale * s
            w[sl] = mean + std * rng.standard_normal(t.size, dtype=np.float32)
            scale[sl] = s
        k = self.knobs
        # parameters differ in gradient size (log-normal around the tensor's scale), and some get
        # none at all (dead units)
        z = rng.standard_normal(self.n_params, dtype=np.float32)
        scale *= np.exp(k.grad_spread * z - k.grad_spread ** 2 / 2)  # mean 1
        scale[rng.random(self.n_params, dtype=np.float32) < k.idle_fraction] = 0
        return w, scale

    def _steps(self) -> Iterator[tuple[int, np.ndarray]]:
        """(training iteration, values after its update) for every iteration; the array is reused."""
        k = self.knobs
        rng = np.random.default_rng([self.seed, 2])
        w, scale = self._init(rng)
        scale *= np.float32(k.grad_scale * math.sqrt(1.0 - k.momentum ** 2) / _U16_STD)
        n = self.n_params
        v = np.zeros(n, np.float32)
        mu = np.float32(k.momentum)
        for t in range(self._train_iterations):
            noise = rng.bit_generator.random_raw((n + 3) // 4).view(np.int16)
            lr_t = k.lr * (1.0 + k.lr_decay * t) ** (-k.lr_power)
            synthetic_step(noise, scale, v, w, mu, np.float32(lr_t))   # one pass; step_numpy is the plain form
            yield t, w

    def _recorded(self, start: int) -> Iterator[tuple[int, np.ndarray]]:
        first, every = self.meta.first_iteration, self.meta.every
        for t, w in self._steps():
            if t >= first and (t - first) % every == 0 and (t - first) // every >= start:
                yield t, w

    def iter_chunks(self, chunk_iterations: int, start: int = 0) -> Iterator[np.ndarray]:
        """float32 ``(T, n_params)`` blocks from recorded iteration ``start`` (each a new array)."""
        yield from (block for block, _ in self._blocks(chunk_iterations, start))

    def iter_records(self, chunk_iterations: int, start: int = 0) -> Iterator[np.ndarray]:
        """Per-iteration records (``RECORD_DTYPE``); loss is nan (the generator has none)."""
        chunk_iterations, start = check_range(chunk_iterations, start, self.n_iterations)
        idx = np.arange(self.meta.first_iteration, self._train_iterations, self.meta.every)[start:]
        for i in range(0, len(idx), chunk_iterations):
            rec = np.empty(len(idx[i:i + chunk_iterations]), RECORD_DTYPE)
            rec["iteration"] = idx[i:i + chunk_iterations]
            rec["batch_size"] = self.meta.batch_size
            rec["loss"] = np.nan
            yield rec

    def _blocks(self, chunk_iterations: int, start: int):
        chunk_iterations, start = check_range(chunk_iterations, start, self.n_iterations)
        remaining = self.n_iterations - start
        if remaining == 0:
            return
        block = np.empty((min(chunk_iterations, remaining), self.n_params), PARAMS_DTYPE)
        its = np.empty(block.shape[0], np.int64)
        fill = 0
        for t, w in self._recorded(start):
            block[fill] = w
            its[fill] = t
            fill += 1
            remaining -= 1
            if fill == block.shape[0]:
                yield block, its
                if remaining == 0:
                    return
                block = np.empty((min(chunk_iterations, remaining), self.n_params), PARAMS_DTYPE)
                its = np.empty(block.shape[0], np.int64)
                fill = 0

    def __repr__(self) -> str:
        return (f"SyntheticSource({self.meta.model!r}, iterations={self.n_iterations}, "
                f"params={self.n_params}, seed={self.seed})")

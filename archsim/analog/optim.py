"""The update rule: optimisers (what step a gradient asks for) and rounding rules (step -> pulses).

An optimiser keeps its own state per tensor and turns a gradient into the desired weight change
``dW = -lr * step`` (:meth:`Optimiser.delta`). Registry :data:`OPTIMISERS` (``analog.optimizer``):

``sgd``
    ``step = g``.
``momentum`` (NeuroSim's form)
    ``v = gamma v + (1 - gamma) g``; ``step = v``.
``adaptive-momentum`` (the ``003`` seed's adaptive momentum, documented variant)
    ``m = beta1 m + (1 - beta1) g``, ``s = beta2 s + (1 - beta2) g^2``, ``step = m / (sqrt(s) + eps)``:
    momentum whose step is normalised per weight by the running RMS of its gradient, so every weight
    asks for steps of a similar number of pulses (Adam without bias correction).

The pulses of a desired change are ``dW / dW_step``, converted to integers by a rounding rule
(:data:`ROUNDING`, ``analog.rounding``): ``truncate`` (toward zero, NeuroSim's MLP), ``round``
(nearest), ``stochastic`` (up with probability equal to the fraction).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from archsim import _analog_kernels as K
from archsim.errors import ConfigError
from archsim.registry import NoParams, Registry


@dataclass(frozen=True)
class SgdParams(NoParams):
    lr: float = 0.2
    """Learning rate (weights in their software units)."""

    def validate(self, where, owner=None):
        if not self.lr > 0:
            raise ConfigError(f"{where}.lr must be positive, not {self.lr!r}")


class Optimiser:
    """Turns gradients into desired weight changes; state per tensor name."""

    name: ClassVar[str] = "?"
    Params: ClassVar[type] = SgdParams

    def __init__(self, params: NoParams | None = None) -> None:
        self.params = params if params is not None else self.Params()
        self.state: dict[str, tuple[np.ndarray, ...]] = {}

    def delta(self, name: str, g: np.ndarray) -> np.ndarray:
        """The desired change of tensor ``name`` for gradient ``g`` (``-lr * step``). An overflow gives a
        non-finite change, which the array refuses with one error naming it (no numpy warning first)."""
        with np.errstate(over="ignore", invalid="ignore"):
            return -np.float32(self.params.lr) * self.step(name, g)

    def step(self, name: str, g: np.ndarray) -> np.ndarray:
        raise NotImplementedError


OPTIMISERS: Registry[type[Optimiser]] = Registry("analog optimiser", Optimiser)


@OPTIMISERS.register("sgd")
class Sgd(Optimiser):
    """Plain stochastic gradient descent."""

    def step(self, name, g):
        return g


@dataclass(frozen=True)
class MomentumParams(SgdParams):
    lr: float = 1.0
    """Learning rate; NeuroSim's form averages the gradient (no 1 / (1 - gamma) gain), so its
    default is larger than plain SGD's (both chosen on the software baseline, docs/analog.md)."""
    gamma: float = 0.9
    """Momentum coefficient in [0, 1)."""

    def validate(self, where, owner=None):
        super().validate(where, owner)
        if not 0 <= self.gamma < 1:
            raise ConfigError(f"{where}.gamma must be in [0, 1), not {self.gamma!r}")


@OPTIMISERS.register("momentum")
class Momentum(Optimiser):
    """NeuroSim's momentum: ``v = gamma v + (1 - gamma) g``."""

    Params = MomentumParams

    def step(self, name, g):
        gamma = np.float32(self.params.gamma)
        (v,) = self.state.setdefault(name, (np.zeros_like(g),))
        v *= gamma
        v += (1 - gamma) * g
        return v


@dataclass(frozen=True)
class AdaptiveParams(SgdParams):
    lr: float = 0.002
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def validate(self, where, owner=None):
        super().validate(where, owner)
        for k in ("beta1", "beta2"):
            if not 0 <= getattr(self, k) < 1:
                raise ConfigError(f"{where}.{k} must be in [0, 1), not {getattr(self, k)!r}")
        if not self.eps > 0:
            raise ConfigError(f"{where}.eps must be positive, not {self.eps!r}")


@OPTIMISERS.register("adaptive-momentum")
class AdaptiveMomentum(Optimiser):
    """Momentum normalised by the running RMS of the gradient (the adaptive momentum of Huang et al., DATE 2020)."""

    Params = AdaptiveParams

    def step(self, name, g):
        p = self.params
        m, s = self.state.setdefault(name, (np.zeros_like(g), np.zeros_like(g)))
        m *= np.float32(p.beta1)
        m += np.float32(1 - p.beta1) * g
        s *= np.float32(p.beta2)
        s += np.float32(1 - p.beta2) * g * g
        return m / (np.sqrt(s) + np.float32(p.eps))


class Rounding:
    """A rounding rule: real pulse counts -> integer pulse counts (float array)."""

    name: ClassVar[str] = "?"
    Params: ClassVar[type] = NoParams

    def __init__(self, params: NoParams | None = None) -> None:
        self.params = params if params is not None else self.Params()

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def kernel_mode(self) -> int:
        """The rule's compiled form in :mod:`archsim._analog_kernels`; the default, ``ROUND_GIVEN``,
        calls the rule (numpy) and hands its pulses to the compiled update: a new rule needs
        nothing else."""
        return K.ROUND_GIVEN

    def _own_mode(self, cls: type, mode: int) -> int:
        # a subclass that redefines __call__ is no longer described by cls's compiled form
        return mode if type(self).__call__ is cls.__call__ else K.ROUND_GIVEN


ROUNDING: Registry[type[Rounding]] = Registry("analog rounding rule", Rounding)


@ROUNDING.register("truncate")
class Truncate(Rounding):
    """Toward zero (NeuroSim's MLP): a change smaller than one step is dropped."""

    def __call__(self, x, rng):
        return np.trunc(x)

    def kernel_mode(self):
        return self._own_mode(Truncate, K.ROUND_TRUNCATE)


@ROUNDING.register("round")
class Nearest(Rounding):
    """To the nearest integer (half to even)."""

    def __call__(self, x, rng):
        return np.rint(x)

    def kernel_mode(self):
        return self._own_mode(Nearest, K.ROUND_NEAREST)


@ROUNDING.register("stochastic")
class Stochastic(Rounding):
    """Down or up at random, up with probability equal to the fraction (unbiased)."""

    def __call__(self, x, rng):
        return np.floor(x + rng.random(x.shape))

    def kernel_mode(self):     # the kernel gets the same draws, rng.random(x.size), before it runs
        return self._own_mode(Stochastic, K.ROUND_STOCHASTIC)

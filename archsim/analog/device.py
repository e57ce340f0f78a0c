"""Device update models of one analog synapse, vectorised over arrays of devices.

State is the *normalised* conductance ``g = (G - Gmin) / (Gmax - Gmin)`` in [0, 1] (float64). An
update is a signed number of programming pulses per device (``n > 0`` potentiation / LTP, ``n < 0``
depression / LTD); every model maps ``(g, n) -> g'`` for all devices at once (numpy, no Python loop
over devices), then the caller adds cycle-to-cycle noise and clips (:func:`apply_pulses`).

Models (registry :data:`DEVICE_MODELS`, chosen by ``analog.model``):

``nonlinear`` (NeuroSim, the default)
    In the pulse coordinate ``x = p / P_max`` in [0, 1] and ``a = A / P_max``:
    LTP ``g(x) = (1 - exp(-x/a)) / (1 - exp(-1/a))``;
    LTD ``g(x) = 1 - (1 - exp((x - 1)/a)) / (1 - exp(-1/a))``.
    An update inverts ``g`` on the curve of its direction, moves ``|n| / P_max``, clips ``x`` to
    [0, 1] and reads the curve. ``a -> inf`` (label 0) is linear.
``constant-step`` (aihwkit ``ConstantStepDevice``)
    ``g' = g +/- |n| s (1 +/- up_down)``, ``s = 1 / P_max``, clipped.
``linear-step`` (aihwkit ``LinearStepDevice``)
    Per pulse ``dg_up = s (1 - gamma_up g)``, ``dg_down = s (1 - gamma_down (1 - g))``; ``n`` pulses in
    closed form (a geometric series towards the fixed point ``1 / gamma``).
``soft-bounds`` (aihwkit ``SoftBoundsDevice``)
    Per pulse ``dg_up = s (1 - g)``, ``dg_down = s g``; ``n`` pulses in closed form.

A model reads its shape parameters from :class:`DeviceArrays` (levels, per-device ``a_ltp`` and
``a_ltd``) and its own ``Params`` (``analog.model.<param>``). A new model is one class registered
here (``@DEVICE_MODELS.register("my-model")``) with ``apply(g, n, dev) -> g'``.

The arrays' compiled update (:mod:`archsim._analog_kernels`) has the built-in models' arithmetic in
Cython (:meth:`DeviceModel.kernel` names it) and runs any other model's ``apply`` on the pulsed
devices; the numpy ``apply`` here is the reference the compiled forms are tested against.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from archsim import _analog_kernels as K
from archsim.errors import ConfigError
from archsim.registry import NoParams, Registry

#: Deviation from the straight line per unit of nonlinearity label. The spec writes 0.099; 0.09899
#: reproduces all three entries of NeuroSim's table to 4 decimals (L = 1 -> 1.2517, 2.4 -> 0.4992,
#: 4.88 -> 0.2003), 0.099 gives 1.2516 for L = 1 (see docs/analog.md, "Nonlinearity label").
DEVIATION_PER_LABEL = 0.09899
#: Largest label accepted: the deviation of a curve from the line is below 1.
MAX_LABEL = 10.0
#: ``a`` used for label 0 (linear to double precision over [0, 1]).
LINEAR_A = 1e9


def _deviation(a: np.ndarray) -> np.ndarray:
    """Largest ``g(x) - x`` of the normalised LTP curve with shape ``a`` (closed form)."""
    d = -np.expm1(-1.0 / a)
    x = -a * np.log(a * d)                     # where g'(x) = 1
    return -np.expm1(-x / a) / d - x


def label_to_a(label) -> np.ndarray | float:
    """The normalised shape ``a = A / P_max`` of a nonlinearity label (magnitude; sign ignored).

    Solves ``max_x g(x) - x = DEVIATION_PER_LABEL * |L|`` by bisection on ``log a`` (vectorised:
    ``label`` may be an array, e.g. the per-device labels of device-to-device variation).
    Label 0 gives :data:`LINEAR_A` (linear).
    """
    lab = np.abs(np.asarray(label, np.float64))
    if np.any(lab >= MAX_LABEL) or not np.all(np.isfinite(lab)):
        raise ConfigError(f"nonlinearity label must be below {MAX_LABEL:g} in magnitude, not {np.max(lab)!r}")
    target = DEVIATION_PER_LABEL * lab
    lo = np.full(lab.shape, math.log(1e-3))
    hi = np.full(lab.shape, math.log(1e6))
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        too_curved = _deviation(np.exp(mid)) > target
        lo = np.where(too_curved, mid, lo)
        hi = np.where(too_curved, hi, mid)
    a = np.exp(0.5 * (lo + hi))
    a = np.where(lab < 1e-6, LINEAR_A, a)
    return float(a) if a.ndim == 0 else a


@dataclass
class DeviceArrays:
    """The per-device shape of one array of devices (broadcastable to the state ``g``)."""

    levels: int
    """P_max: pulses from Gmin to Gmax."""
    a_ltp: np.ndarray | float
    a_ltd: np.ndarray | float


class DeviceModel:
    """An update model: ``apply(g, n, dev)`` -> new ``g`` for pulses ``n`` (float arrays, same shape)."""

    name: ClassVar[str] = "?"
    Params: ClassVar[type] = NoParams

    def __init__(self, params: NoParams | None = None) -> None:
        self.params = params if params is not None else self.Params()

    def apply(self, g: np.ndarray, n: np.ndarray, dev: DeviceArrays) -> np.ndarray:
        raise NotImplementedError

    def kernel(self) -> tuple[int, tuple[float, ...]]:
        """The model's compiled form in :mod:`archsim._analog_kernels` (code, parameters). The
        default, ``MODEL_GENERIC``, runs :meth:`apply` (numpy) on the pulsed devices inside the
        compiled update: a new model needs nothing else."""
        return K.MODEL_GENERIC, ()

    def _own_kernel(self, cls: type, code: int, params: tuple[float, ...] = ()) -> tuple[int, tuple[float, ...]]:
        # a subclass that redefines apply() is no longer described by cls's compiled form
        return (code, params) if type(self).apply is cls.apply else DeviceModel.kernel(self)


DEVICE_MODELS: Registry[type[DeviceModel]] = Registry("analog device model", DeviceModel)


def _pick(value, mask):
    return value[mask] if isinstance(value, np.ndarray) and value.ndim else value


@DEVICE_MODELS.register("nonlinear")
class Nonlinear(DeviceModel):
    """NeuroSim's exponential LTP/LTD curves (see the module docstring)."""

    def apply(self, g, n, dev):
        # LTD is LTP mirrored: depressing g by s pulses = 1 - potentiating (1 - g) by s on the LTD shape
        up = n > 0
        h = np.where(up, g, 1.0 - g)
        a = np.where(up, dev.a_ltp, dev.a_ltd)
        d = -np.expm1(-1.0 / a)
        with np.errstate(divide="ignore"):   # h * d == 1 (saturated, a -> 0): y = inf, clipped to 1 below
            y = -a * np.log1p(-h * d)
        y += np.abs(n) / dev.levels
        np.minimum(y, 1.0, out=y)
        h = -np.expm1(-y / a) / d
        return np.where(up, h, 1.0 - h)

    def kernel(self):
        return self._own_kernel(Nonlinear, K.MODEL_NONLINEAR)


@dataclass(frozen=True)
class ConstantStepParams(NoParams):
    up_down: float = 0.0
    """Asymmetry of the steps: up ``s (1 + up_down)``, down ``s (1 - up_down)``; in (-1, 1)."""

    def validate(self, where, owner=None):
        if not -1 < self.up_down < 1:
            raise ConfigError(f"{where}.up_down must be in (-1, 1), not {self.up_down!r}")


@DEVICE_MODELS.register("constant-step")
class ConstantStep(DeviceModel):
    """Fixed step per pulse, possibly different up and down (aihwkit ``ConstantStepDevice``)."""

    Params = ConstantStepParams

    def apply(self, g, n, dev):
        u = self.params.up_down
        step = np.where(n > 0, 1.0 + u, 1.0 - u) / dev.levels
        return g + n * step

    def kernel(self):
        return self._own_kernel(ConstantStep, K.MODEL_CONSTANT_STEP, (self.params.up_down,))


@dataclass(frozen=True)
class LinearStepParams(NoParams):
    gamma_up: float = 0.5
    """Slope of the up step: ``dg_up = s (1 - gamma_up g)``; in [0, 1]."""
    gamma_down: float = 0.5
    """Slope of the down step: ``dg_down = s (1 - gamma_down (1 - g))``; in [0, 1]."""

    def validate(self, where, owner=None):
        for k in ("gamma_up", "gamma_down"):
            if not 0 <= getattr(self, k) <= 1:
                raise ConfigError(f"{where}.{k} must be in [0, 1], not {getattr(self, k)!r}")


def _geometric(g, k, gamma, s):
    """``k`` pulses of ``g -> g + s (1 - gamma g)`` in closed form (``gamma = 0``: linear)."""
    if gamma < 1e-12:                 # linear to double precision
        return g + k * s
    # g_k = g + (1 - gamma g) (1 - (1 - s gamma)^k) / gamma, stable for small gamma
    return g + (1.0 - gamma * g) * (-np.expm1(k * np.log1p(-s * gamma)) / gamma)


@DEVICE_MODELS.register("linear-step")
class LinearStep(DeviceModel):
    """Step falling linearly with the state (aihwkit ``LinearStepDevice``)."""

    Params = LinearStepParams

    def apply(self, g, n, dev):
        s = 1.0 / dev.levels
        k = np.abs(n)
        up = _geometric(g, k, self.params.gamma_up, s)
        down = 1.0 - _geometric(1.0 - g, k, self.params.gamma_down, s)
        return np.where(n > 0, up, down)

    def kernel(self):
        return self._own_kernel(LinearStep, K.MODEL_LINEAR_STEP, (self.params.gamma_up, self.params.gamma_down))


@DEVICE_MODELS.register("soft-bounds")
class SoftBounds(DeviceModel):
    """Step proportional to the distance to the bound (aihwkit ``SoftBoundsDevice``)."""

    def apply(self, g, n, dev):
        r = (1.0 - 1.0 / dev.levels) ** np.abs(n)
        return np.where(n > 0, 1.0 - (1.0 - g) * r, g * r)

    def kernel(self):
        return self._own_kernel(SoftBounds, K.MODEL_SOFT_BOUNDS)


def pulse_devices(model: DeviceModel, g_flat: np.ndarray, idx: np.ndarray, n_sub: np.ndarray, dev: DeviceArrays,
                  shape: tuple[int, ...], *, sigma_c2c: float = 0.0,
                  rng: np.random.Generator | None = None) -> np.ndarray:
    """The new states of the devices ``idx`` (flat indices into an array of ``shape``) after pulses
    ``n_sub``: the model's response, cycle-to-cycle noise ``N(0, sigma_c2c sqrt(|n|))`` (normalised
    units), clipped to [0, 1]. The kernel of :func:`apply_pulses` and of the arrays' updates."""
    sub = DeviceArrays(dev.levels, _flat_pick(dev.a_ltp, idx, shape), _flat_pick(dev.a_ltd, idx, shape))
    new = model.apply(g_flat[idx], n_sub, sub)
    if sigma_c2c > 0:
        if rng is None:
            raise ValueError("cycle-to-cycle variation needs a random generator")
        new = new + rng.standard_normal(idx.size) * (sigma_c2c * np.sqrt(np.abs(n_sub)))
    return np.clip(new, 0.0, 1.0)


def apply_pulses(model: DeviceModel, g: np.ndarray, n: np.ndarray, dev: DeviceArrays, *,
                 sigma_c2c: float = 0.0, rng: np.random.Generator | None = None) -> np.ndarray:
    """The devices after pulses ``n`` (same shape as ``g``): only devices with ``n != 0`` are
    computed and change (:func:`pulse_devices`); returns a new array."""
    out = np.array(g, np.float64, copy=True)
    flat = out.reshape(-1)
    nf = np.asarray(n, np.float64).reshape(-1)
    idx = np.flatnonzero(nf)
    if idx.size:
        flat[idx] = pulse_devices(model, flat, idx, nf[idx], dev, out.shape, sigma_c2c=sigma_c2c, rng=rng)
    return out


def _flat_pick(value, idx, shape):
    if isinstance(value, np.ndarray) and value.ndim:
        return np.broadcast_to(value, shape).reshape(-1)[idx]
    return value

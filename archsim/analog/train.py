"""In-situ training: the numpy trainer of :mod:`workloads` with every layer's weights on crossbars.

:class:`InSituTrainer` is a :class:`workloads.trainer.Trainer` (same data, initialisation and batch
order for a seed) whose forward matrix products go through the arrays' readout
(:class:`workloads.layers.Readout`) and whose update is the analog rule: the optimiser's desired
change of every weight tensor becomes pulses on its devices, and the next step computes with what
the devices hold. The backward pass and the gradient are digital (as in NeuroSim's MLP), computed
with the weights the devices hold; biases stay digital. With ``analog=False`` the same trainer is
the software baseline: the same optimiser on float32 weights, exact products. ``compiled=False``
runs the arrays' numpy reference instead of their Cython kernels (the same numbers, slower).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from tqdm.auto import tqdm

from archsim.analog.array import CrossbarArray
from archsim.analog.config import AnalogConfig
from archsim.analog.device import DEVICE_MODELS
from archsim.analog.optim import OPTIMISERS, ROUNDING, Optimiser
from archsim.config import check_seed
from archsim.errors import ConfigError
from workloads.datasets import Dataset, load_digits_dataset
from workloads.layers import Conv2D, Dense, ReLU, Readout, softmax_cross_entropy
from workloads.models import Sequential, lenet_digits
from workloads.trainer import SGD, Trainer


def mlp_64_100_10(rng: np.random.Generator) -> Sequential:
    """NeuroSim's MLP shape for 8 x 8 inputs: 64-100-10 with ReLU (7,510 parameters)."""
    return Sequential("mlp-64-100-10", [Dense("fc1", 64, 100, rng), ReLU("relu1"), Dense("fc2", 100, 10, rng)],
                      (1, 8, 8), 10)


NETWORKS: dict[str, Callable[[np.random.Generator], Sequential]] = {"mlp": mlp_64_100_10, "cnn": lenet_digits}


class ArrayReadout(Readout):
    """A layer's forward product read from its crossbar array."""

    def __init__(self, array: CrossbarArray) -> None:
        self.array = array

    def mac(self, x, wmat, train):
        return self.array.mac(x, train)


class InSituTrainer(Trainer):
    """The numpy trainer with analog weights (``analog=True``) or the software baseline."""

    def __init__(self, cfg: AnalogConfig, data: Dataset, *, seed: int, analog: bool = True,
                 compiled: bool = True) -> None:
        if cfg.batch_size > len(data.x_train):  # the tables would report a batch the training did not use
            raise ConfigError(f"analog.batch_size must be in 1..{len(data.x_train)} (the training samples), "
                              f"not {cfg.batch_size}")
        model = NETWORKS[cfg.network](np.random.default_rng([seed, 0]))
        super().__init__(model, data, SGD(1.0), batch_size=cfg.batch_size, seed=seed)
        self.cfg = cfg
        oc = cfg.optimizer
        self.optimiser: Optimiser = OPTIMISERS.get(oc.name)(oc.params)
        self.arrays: dict[str, CrossbarArray] = {}
        if analog:
            device = cfg.device()
            model_impl = DEVICE_MODELS.get(cfg.model.name)(cfg.model.params)
            rounding = ROUNDING.get(cfg.rounding.name)(cfg.rounding.params)
            rng = np.random.default_rng([seed, 3])        # variation and stochastic rounding
            for layer in model.layers:
                if isinstance(layer, (Dense, Conv2D)):
                    name = f"{layer.name}.weight"
                    w = layer.params["weight"]        # kept equal to what the devices hold
                    arr = CrossbarArray(name, w, cfg, device, model_impl, rounding, rng, compiled=compiled,
                                        weights_out=w)
                    self.arrays[name] = arr
                    layer.readout = ArrayReadout(arr)
        self._layer_grads = model.layers

    def step(self, row: np.ndarray | None = None) -> float:
        x, y = self._batch()
        logits = self.model.forward(x, train=True)
        loss, grad = softmax_cross_entropy(logits, y)
        self.model.backward(grad)
        grads = {f"{layer.name}.{k}": g for layer in self.model.layers for k, g in layer.grads.items()}
        for name, _, _, w in self._params:
            dw = self.optimiser.delta(name, grads[name])
            arr = self.arrays.get(name)
            if arr is None:
                w += dw
            else:
                arr.update(dw)                      # writes the new weights into w
        self.iteration += 1
        return loss

    def iterations_per_epoch(self) -> int:
        return len(self.data.x_train) // self.batch_size


@dataclass
class PointResult:
    """One training run: final figures and the accuracy per epoch (fractions)."""

    test_accuracy: float
    train_accuracy: float
    curve: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def check_section(cfg: AnalogConfig, seed: int) -> None:
    """The checks of load_config for a section built by hand (``AnalogConfig(...)``), and the seed."""
    if not isinstance(cfg, AnalogConfig):
        raise TypeError(f"analog training needs an AnalogConfig (the [analog] section: config.analog), "
                        f"not {type(cfg).__name__}")
    cfg.validate("analog")
    check_seed(seed, "seed")


def train(cfg: AnalogConfig, *, seed: int, analog: bool = True, data: Dataset | None = None,
          progress: bool = False, desc: str = "") -> PointResult:
    """Train ``cfg.epochs`` epochs in situ (or the software baseline); accuracy after every epoch."""
    check_section(cfg, seed)
    t0 = time.perf_counter()
    data = data if data is not None else load_digits_dataset()
    tr = InSituTrainer(cfg, data, seed=seed, analog=analog)
    per_epoch = tr.iterations_per_epoch()
    curve = [{"epoch": 0, "test_accuracy": tr.accuracy("test"), "train_accuracy": tr.accuracy("train"),
              "loss": float("nan")}]
    with tqdm(total=cfg.epochs * per_epoch, disable=not progress, desc=desc or "analog", unit="it",
              leave=False) as bar:
        for epoch in range(1, cfg.epochs + 1):
            losses = [tr.step() for _ in range(per_epoch)]
            bar.update(per_epoch)
            curve.append({"epoch": epoch, "test_accuracy": tr.accuracy("test"),
                          "train_accuracy": tr.accuracy("train"), "loss": float(np.mean(losses))})
    return PointResult(curve[-1]["test_accuracy"], curve[-1]["train_accuracy"], curve,
                       summarise(tr) if analog else {}, time.perf_counter() - t0)


def summarise(tr: InSituTrainer) -> dict[str, Any]:
    """The costs of an in-situ run, over all arrays (units in the names)."""
    arrays = list(tr.arrays.values())
    pulses = np.concatenate([a.pulses.reshape(-1) for a in arrays])
    cs = [a.counters for a in arrays]
    worst = int(pulses.max()) if pulses.size else 0
    updates = tr.iteration
    cfg = tr.cfg
    adc = sum(c.adc_conversions for c in cs)
    return {
        "ltp_pulses": sum(c.ltp_pulses for c in cs),
        "ltd_pulses": sum(c.ltd_pulses for c in cs),
        "max_device_pulses": worst,
        "mean_device_pulses": float(pulses.mean()) if pulses.size else 0.0,
        "devices": int(pulses.size),
        "updates": updates,
        "programming_energy_pj": sum(c.programming_energy_pj for c in cs),
        # layers are programmed one after another; within a layer, its subarrays in parallel
        "programming_time_ns": sum(c.programming_time_ns for c in cs),
        "adc_conversions": adc,
        "adc_energy_pj": adc * cfg.adc_energy_pj,
        "macs": sum(c.macs for c in cs),
        "read_energy_pj": sum(c.read_energy_pj for c in cs),
        "lifetime_updates": cfg.endurance_pulses * updates / worst if worst else float("inf"),
    }

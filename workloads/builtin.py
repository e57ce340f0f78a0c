"""The built-in recorded workloads: numpy models trained on digits (bundled) or MNIST (from disk)."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar

import numpy as np
from tqdm.auto import tqdm

import archsim
from archsim.errors import ConfigError
from workloads.datasets import Dataset, load_digits_dataset, load_mnist_dataset
from workloads.memory import IntermediateMemory, Memory
from workloads.meta import TraceMeta
from workloads.models import Sequential, lenet_digits, lenet_mnist, mlp_digits, mlp_mnist
from workloads.trace_writer import TraceWriter
from workloads.trainer import SGD, Trainer
from workloads.workload import WORKLOADS, Workload, check_run_args

RECORDER = "archsim-numpy-trainer"


@dataclass
class TrainResult:
    """Outcome of a training run: accuracies are fractions in [0, 1], loss in nats, time in s."""

    train_accuracy: float
    test_accuracy: float
    final_loss: float
    iterations: int
    seconds: float
    losses: list[float] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {"train_accuracy": self.train_accuracy, "test_accuracy": self.test_accuracy,
                "final_loss": self.final_loss, "train_iterations": self.iterations}


class NumpyWorkload(Workload):
    """A :class:`~workloads.models.Sequential` model trained by :class:`~workloads.trainer.Trainer`."""

    build_model: ClassVar[Callable[[np.random.Generator], Sequential]]
    knobs = {"lr": 0.02, "momentum": 0.9, "weight_decay": 0.0, "batch_size": 32}

    def load_data(self, knobs: dict[str, Any]) -> Dataset:
        raise NotImplementedError

    def trainer(self, *, seed: int, memory: Memory | None = None, intermediate: IntermediateMemory | None = None,
                **knobs: Any) -> Trainer:
        """A fresh trainer for this workload (initialised from ``seed``); ``intermediate``: where the
        activations kept for the backward pass live (none: exact, on chip)."""
        k = self.resolve_knobs(knobs)
        try:
            opt = SGD(float(k["lr"]), float(k["momentum"]), float(k["weight_decay"]))
        except ValueError as exc:
            raise ConfigError(f"workload {self.name!r}: {exc}") from None
        data = self.load_data(k)
        model = type(self).build_model(np.random.default_rng([seed, 0]))
        try:
            return Trainer(model, data, opt, batch_size=int(k["batch_size"]), seed=seed, memory=memory,
                           intermediate=intermediate)
        except ValueError as exc:
            raise ConfigError(f"workload {self.name!r}: {exc}") from None

    def train(self, *, iterations: int, seed: int, memory: Memory | None = None,
              progress: bool = False, **knobs: Any) -> TrainResult:
        """Train without recording; returns the accuracies."""
        check_run_args(self.name, iterations, 1, seed)
        t0 = time.perf_counter()
        tr = self.trainer(seed=seed, memory=memory, **knobs)
        with tqdm(total=iterations, disable=not progress, desc=self.name, unit="it") as bar:
            losses = tr.train(iterations, on_step=lambda i, loss: bar.update())
        return TrainResult(tr.accuracy("train"), tr.accuracy("test"), losses[-1], iterations,
                           time.perf_counter() - t0, losses)

    def record(self, out_path: str | Path, *, iterations: int, seed: int, every: int = 1,
               progress: bool = True, memory: Memory | None = None, first_iteration: int = 0,
               overwrite: bool = False, rows_per_chunk: int | None = None, fsync: bool = True,
               **knobs: Any) -> Path:
        """Train ``iterations`` steps and record iteration ``i`` when ``i >= first_iteration``
        and ``(i - first_iteration) % every == 0``; the end record holds the accuracies."""
        check_run_args(self.name, iterations, every, seed)
        if not 0 <= first_iteration < iterations:
            raise ConfigError(f"workload {self.name!r}: first_iteration must be in 0..{iterations - 1}")
        k = self.resolve_knobs(knobs)
        t0 = time.perf_counter()
        tr = self.trainer(seed=seed, memory=memory, **k)
        tensors, schedule = tr.model.describe(momentum=tr.opt.momentum > 0)
        meta = TraceMeta(
            model=tr.model.name, dataset=tr.data.name, optimizer="sgd", learning_rate=tr.opt.lr,
            batch_size=tr.batch_size, seed=seed, recorder=RECORDER, recorder_version=archsim.__version__,
            tensors=tensors, schedule=schedule, every=every, first_iteration=first_iteration,
            train_iterations=iterations,
            optimizer_params={"momentum": tr.opt.momentum, "weight_decay": tr.opt.weight_decay},
            workload=self.name, knobs=_jsonable(k),
        )
        row = np.empty(meta.n_params, np.float32)
        loss = math.nan
        with TraceWriter(out_path, meta, rows_per_chunk=rows_per_chunk, fsync=fsync,
                         overwrite=overwrite) as w, \
                tqdm(total=iterations, disable=not progress, desc=f"record {self.name}", unit="it") as bar:
            for i in range(iterations):
                want = i >= first_iteration and (i - first_iteration) % every == 0
                loss = tr.step(row if want else None)
                if want:
                    w.append(row, iteration=i, batch_size=tr.batch_size, loss=loss)
                bar.update()
            result = TrainResult(tr.accuracy("train"), tr.accuracy("test"), loss, iterations,
                                 time.perf_counter() - t0)
            w.close(results=result.as_dict())
        return Path(out_path)


def _jsonable(knobs: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in knobs.items()}


class DigitsWorkload(NumpyWorkload):
    def load_data(self, knobs):
        return load_digits_dataset()


class MnistWorkload(NumpyWorkload):
    knobs = {"lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4, "batch_size": 64, "data_dir": ""}

    def load_data(self, knobs):
        if not knobs.get("data_dir"):
            raise ConfigError(f"workload {self.name!r} needs the MNIST IDX files on disk: "
                              f"set its data_dir knob (`archsim record --data-dir DIR`, or "
                              f"`--set run.workload.data_dir=DIR` for run and accuracy; trace stats takes a "
                              f"recorded trace's path; "
                              f"archsim never downloads data)")
        return load_mnist_dataset(knobs["data_dir"])


@WORKLOADS.register("lenet-digits")
class LenetDigits(DigitsWorkload):
    """LeNet-style CNN (19,754 parameters) on scikit-learn's 8x8 digits. The default workload."""

    description = "LeNet-style CNN on scikit-learn digits (numpy trainer, 19,754 parameters)"
    build_model = staticmethod(lenet_digits)
    knobs = {"lr": 0.02, "momentum": 0.9, "weight_decay": 0.0, "batch_size": 32}


@WORKLOADS.register("mlp-digits")
class MlpDigits(DigitsWorkload):
    """MLP 64-128-64-10 (17,226 parameters) on scikit-learn's 8x8 digits."""

    description = "MLP 64-128-64-10 on scikit-learn digits (numpy trainer, 17,226 parameters)"
    build_model = staticmethod(mlp_digits)
    knobs = {"lr": 0.02, "momentum": 0.9, "weight_decay": 0.0, "batch_size": 32}


@WORKLOADS.register("lenet-mnist")
class LenetMnist(MnistWorkload):
    """Caffe's LeNet (431,080 parameters) on MNIST IDX files from ``data_dir``: the paper's workload."""

    description = "Caffe LeNet on MNIST from --data-dir (numpy trainer, 431,080 parameters)"
    build_model = staticmethod(lenet_mnist)


@WORKLOADS.register("mlp-mnist")
class MlpMnist(MnistWorkload):
    """LeNet-300-100 MLP (266,610 parameters) on MNIST IDX files from ``data_dir``."""

    description = "MLP 784-300-100-10 on MNIST from --data-dir (numpy trainer, 266,610 parameters)"
    build_model = staticmethod(mlp_mnist)

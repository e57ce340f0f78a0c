"""The registered synthetic workloads: the AppWOM paper's three networks (Table I settings)."""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any, ClassVar

from tqdm.auto import tqdm

from archsim.errors import ConfigError
from workloads.synthetic import SyntheticKnobs, SyntheticSource
from workloads.trace_writer import TraceWriter
from workloads.workload import WORKLOADS, Workload, check_run_args

_KNOB_NAMES = tuple(f.name for f in fields(SyntheticKnobs))


class SyntheticWorkload(Workload):
    """A paper-size network whose updates come from :class:`~workloads.synthetic.SyntheticSource`."""

    streaming = True
    architecture: ClassVar[str]
    paper_iterations: ClassVar[int]

    def source(self, *, iterations: int, seed: int, every: int = 1, first_iteration: int = 0,
               **knobs: Any) -> SyntheticSource:
        """Stream the trace without writing a file."""
        check_run_args(self.name, iterations, every, seed)
        k = self.resolve_knobs(knobs)
        arch_args = {n: v for n, v in k.items() if n not in _KNOB_NAMES}
        try:
            sk = SyntheticKnobs(**{n: v for n, v in k.items() if n in _KNOB_NAMES})
            return SyntheticSource(self.architecture, iterations=iterations, seed=seed, every=every,
                                   first_iteration=first_iteration, knobs=sk, workload=self.name,
                                   **arch_args)
        except ValueError as exc:
            raise ConfigError(f"workload {self.name!r}: {exc}") from None

    def record(self, out_path: str | Path, *, iterations: int, seed: int, every: int = 1,
               progress: bool = True, first_iteration: int = 0, overwrite: bool = False,
               rows_per_chunk: int | None = None, fsync: bool = True, **knobs: Any) -> Path:
        """Write the streamed trace to ``out_path`` (same values as :meth:`source`)."""
        src = self.source(iterations=iterations, seed=seed, every=every,
                          first_iteration=first_iteration, **knobs)
        meta = src.meta.replace(n_iterations=0, complete=False)
        with TraceWriter(out_path, meta, rows_per_chunk=rows_per_chunk, fsync=fsync,
                         overwrite=overwrite) as w, \
                tqdm(total=src.n_iterations, disable=not progress, desc=f"record {self.name}",
                     unit="it") as bar:
            for block, its in src._blocks(w.rows_per_chunk, 0):
                w.append_block(block, its)
                bar.update(len(block))
            w.close(results={"train_iterations": iterations})
        return Path(out_path)


@WORKLOADS.register("synthetic-lenet")
class SyntheticLenet(SyntheticWorkload):
    """Caffe LeNet, 431,080 parameters; paper: lr 0.01, batch 128, 47K iterations."""

    description = "synthetic updates of Caffe LeNet (431,080 parameters), paper settings"
    architecture = "lenet"
    paper_iterations = 47_000
    knobs = {**SyntheticKnobs().__dict__, "lr": 0.01, "batch_size": 128}


@WORKLOADS.register("synthetic-googlenet")
class SyntheticGooglenet(SyntheticWorkload):
    """GoogLeNet on MNIST, 5,977,530 parameters; paper: lr 0.001, batch 256, 58K iterations."""

    description = "synthetic updates of GoogLeNet (5,977,530 parameters), paper settings"
    architecture = "googlenet"
    paper_iterations = 58_000
    knobs = {**SyntheticKnobs().__dict__, "lr": 0.001, "batch_size": 256, "image_size": 224}


@WORKLOADS.register("synthetic-densenet")
class SyntheticDensenet(SyntheticWorkload):
    """DenseNet-BC (L=100, k=12) on CIFAR-10, 769,162 parameters; paper: lr 0.0001, batch 256, 50K."""

    description = "synthetic updates of DenseNet-BC-100 (769,162 parameters), paper settings"
    architecture = "densenet-bc"
    paper_iterations = 50_000
    knobs = {**SyntheticKnobs().__dict__, "lr": 0.0001, "batch_size": 256}

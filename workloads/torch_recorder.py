"""Record any PyTorch training loop: an optimizer post-step hook writes every parameter.

Usage (PyTorch is the optional extra ``pip install archsim[torch]``)::

    from workloads.torch_recorder import TorchRecorder

    model = MyNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    with TorchRecorder("my.trace", opt, model=model, dataset="cifar10", seed=0) as rec:
        for x, y in loader:
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            rec.set_loss(loss.item())   # optional: stored in the per-iteration record
            opt.step()                  # the hook records the parameters after the update

Every parameter the optimizer updates is recorded after each ``step()`` (or
every ``every``-th) as float32, in ``model.named_parameters()`` order. A
parameter whose last name component is ``bias`` is of kind ``bias``, any other
``weight``; its layer is the module path (``features.0``). Without ``model`` the
parameters are named ``group{g}.param{i}`` by optimizer group and position, and
a one-dimensional one is taken for a bias. With ``model`` given,
forward hooks on the leaf modules observe the first forward pass: the batch
size, each module's output size per sample (the intermediate data) and FLOPs
(exact for Linear and Conv layers, one per output element otherwise), and the
call order, from which the iteration schedule and lifetimes are built as for the
built-in models (each module is assumed to read the output of the module called
before it). The trace is created at the first step, once that is known.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import torch

import archsim
from workloads.meta import TensorSpec, TraceMeta, layout_params
from workloads.network import LayerSpec, describe_network
from workloads.trace_writer import TraceWriter

RECORDER = "archsim-torch-recorder"


def _module_flops(module: torch.nn.Module, out: torch.Tensor) -> int:
    """Forward FLOPs per sample of a leaf module producing ``out`` (batch first)."""
    per_sample_out = math.prod(out.shape[1:]) if out.dim() > 1 else 1
    if isinstance(module, torch.nn.Linear):
        return 2 * module.in_features * module.out_features * max(1, per_sample_out // module.out_features)
    if isinstance(module, torch.nn.modules.conv._ConvNd):
        k = math.prod(module.kernel_size)
        return 2 * (module.in_channels // module.groups) * k * per_sample_out
    return per_sample_out


class TorchRecorder:
    """Post-step hook recording the parameters of ``optimizer`` into a trace at ``out_path``."""

    def __init__(self, out_path: str | os.PathLike, optimizer: torch.optim.Optimizer, *,
                 model: torch.nn.Module | None = None, model_name: str | None = None,
                 dataset: str = "unknown", seed: int = 0, batch_size: int | None = None,
                 every: int = 1, first_iteration: int = 0, rows_per_chunk: int | None = None,
                 fsync: bool = True, overwrite: bool = False) -> None:
        if every < 1 or first_iteration < 0:
            raise ValueError("every must be >= 1 and first_iteration >= 0")
        self.out_path = Path(out_path)
        self.optimizer = optimizer
        self.model = model
        self.every, self.first_iteration = every, first_iteration
        self._writer_args = {"rows_per_chunk": rows_per_chunk, "fsync": fsync, "overwrite": overwrite}
        self._info = {"model_name": model_name or (type(model).__name__ if model is not None else "torch-model"),
                      "dataset": dataset, "seed": seed}
        self.batch_size = batch_size
        opt_params = [p for g in optimizer.param_groups for p in g["params"]]
        ids = {id(p) for p in opt_params}
        if model is not None:
            named = [(n, p) for n, p in model.named_parameters() if id(p) in ids]
            missing = ids - {id(p) for _, p in named}
            if missing:
                raise ValueError(f"{len(missing)} optimizer parameter(s) are not in the model")
        else:
            named = [(f"group{gi}.param{pi}", p) for gi, g in enumerate(optimizer.param_groups)
                     for pi, p in enumerate(g["params"])]
        self._named = named
        self._calls: list[tuple[str, torch.nn.Module, tuple[int, ...], int]] = []
        self._input_shape: tuple[int, ...] = (1,)
        self._observing = model is not None
        self._hooks = []
        if model is not None:
            self._hooks.append(model.register_forward_pre_hook(self._on_model_input))
            for name, mod in model.named_modules():
                if not any(True for _ in mod.children()):
                    self._hooks.append(mod.register_forward_hook(self._leaf_hook(name or "model")))
        self._hooks.append(optimizer.register_step_post_hook(self._on_step))
        self._writer: TraceWriter | None = None
        self._step = 0
        self._loss = math.nan
        self._closed = False

    # -- hooks -------------------------------------------------------------------------
    def _on_model_input(self, module, args):
        if args and isinstance(args[0], torch.Tensor) and args[0].dim() > 0:
            self.batch_size = int(args[0].shape[0])
            if self._observing:
                self._input_shape = tuple(args[0].shape[1:])

    def _leaf_hook(self, name: str):
        def hook(module, args, out):
            if self._observing and isinstance(out, torch.Tensor) and out.dim() > 0:
                self._calls.append((name, module, tuple(out.shape[1:]), _module_flops(module, out)))
        return hook

    def set_loss(self, loss: float) -> None:
        """The loss (any unit; usually the mean cross-entropy) of the iteration about to be stepped."""
        self._loss = float(loss)

    def _on_step(self, optimizer, args, kwargs) -> None:
        i = self._step
        self._step += 1
        if self._writer is None:
            self._writer = TraceWriter(self.out_path, self._build_meta(), **self._writer_args)
            self._observing = False
        if i >= self.first_iteration and (i - self.first_iteration) % self.every == 0:
            with torch.no_grad():
                row = torch.cat([p.detach().reshape(-1).to(torch.float32) for _, p in self._named])
            self._writer.append(row.cpu().numpy(), iteration=i, batch_size=self.batch_size or 1,
                                loss=self._loss)
        self._loss = math.nan

    # -- metadata ------------------------------------------------------------------------
    def _build_meta(self) -> TraceMeta:
        params = []
        for name, p in self._named:
            layer, _, last = name.rpartition(".")
            if self.model is None:   # unnamed: a vector is taken for a bias
                kind = "bias" if p.dim() == 1 else "weight"
                layer = name
            else:
                kind = "bias" if last == "bias" else "weight"
            params.append(TensorSpec(name, layer or name, kind, tuple(p.shape) or (1,)))
        tensors: tuple[TensorSpec, ...] = layout_params(params)
        schedule = ()
        g = self.optimizer.param_groups[0]
        momentum = bool(g.get("momentum", 0))
        if self._calls:
            seen: dict[str, int] = {}
            layers = []
            for name, mod, shape, flops in self._calls:
                seen[name] = seen.get(name, 0) + 1
                own = dict(mod.named_parameters(recurse=False))
                layers.append(LayerSpec(
                    name if seen[name] == 1 else f"{name}#{seen[name]}", type(mod).__name__.lower(),
                    shape, flops,
                    tuple(own["weight"].shape) if "weight" in own and seen[name] == 1 else None,
                    tuple(own["bias"].shape) if "bias" in own and seen[name] == 1 else None))
            in_shape = self._input_shape
            described, schedule = describe_network(layers, in_shape, n_classes=int(math.prod(layers[-1].out_shape)),
                                                   momentum=momentum)
            tensors = tensors + tuple(t for t in described if t.kind == "intermediate")
        hyper = {k: v for k, v in g.items() if k not in ("params", "lr") and isinstance(v, (int, float, bool, str))}
        return TraceMeta(
            model=self._info["model_name"], dataset=self._info["dataset"],
            optimizer=type(self.optimizer).__name__.lower(), learning_rate=float(g["lr"]),
            batch_size=int(self.batch_size or 1), seed=int(self._info["seed"]), recorder=RECORDER,
            recorder_version=f"{archsim.__version__} (torch {torch.__version__})", tensors=tensors,
            schedule=tuple(schedule), every=self.every, first_iteration=self.first_iteration,
            optimizer_params=hyper,
        )

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def n_recorded(self) -> int:
        return self._writer.n_iterations if self._writer else 0

    def close(self, results: dict[str, Any] | None = None) -> Path:
        """Remove the hooks and finish the trace (``results``: accuracy, ... stored in it)."""
        if not self._closed:
            for h in self._hooks:
                h.remove()
            self._closed = True
            if self._writer is None:
                raise ValueError(f"trace {self.out_path}: the optimizer never stepped; nothing recorded")
            self._writer.close(results=results)
        return self.out_path

    def __enter__(self) -> "TorchRecorder":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            for h in self._hooks:
                h.remove()
            self._closed = True
            if self._writer is not None:
                self._writer.abort()

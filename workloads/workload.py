"""The workload extension point: a registry of trace sources chosen by name.

A workload is a class registered in :data:`WORKLOADS` with a no-argument
constructor and::

    record(out_path, *, iterations, seed, every=1, progress=True, **knobs) -> Path
    source(*, iterations, seed, **knobs) -> TraceSource      # streaming workloads only

``iterations`` counts training iterations; ``every`` records one in ``every``.
``knobs`` are the workload's tunables (learning rate, batch size, ...): each
workload lists them with their defaults in ``knobs``, and an unknown one is a
:class:`~archsim.errors.ConfigError`. They are also the workload's parameters in
a configuration (``[run.workload]`` / ``name = "lenet-digits"`` / ``lr = 0.01``):
every workload class gets a ``Params`` dataclass made from its ``knobs``. A researcher adds a workload in a file of
their own::

    from workloads import WORKLOADS, Workload

    @WORKLOADS.register("my-net")
    class MyNet(Workload):
        knobs = {"lr": 0.01}
        def record(self, out_path, *, iterations, seed, every=1, progress=True, **knobs): ...

and selects it with ``archsim --plugin my_file.py record --workload my-net ...``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

from archsim.errors import ConfigError
from archsim.registry import NoParams, Registry

#: Words a yes/no knob accepts (case-insensitive); anything else is an error.
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


class Workload:
    """Base class of workloads: knob handling and the common interface."""

    name: ClassVar[str] = "workload"
    description: ClassVar[str] = ""
    streaming: ClassVar[bool] = False
    """True if :meth:`source` streams values without writing a file."""
    knobs: ClassVar[dict[str, Any]] = {}
    #: The knobs as a parameter dataclass (made from :attr:`knobs` for every subclass).
    Params: ClassVar[type] = NoParams

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.Params = knob_params(cls.__name__, cls.knobs)

    def resolve_knobs(self, given: dict[str, Any]) -> dict[str, Any]:
        """The workload's knobs with ``given`` applied (``None`` values mean the default)."""
        unknown = sorted(k for k in given if k not in self.knobs)
        if unknown:
            raise ConfigError(f"workload {self.name!r}: unknown knob(s) {', '.join(unknown)}; "
                              f"knobs: {', '.join(sorted(self.knobs)) or 'none'}")
        out = dict(self.knobs)
        for k, v in given.items():
            if v is None:
                continue
            default = out[k]
            if isinstance(default, bool) and isinstance(v, str):
                word = v.strip().lower()
                if word in TRUE_WORDS:
                    v = True
                elif word in FALSE_WORDS:
                    v = False
                else:
                    raise ConfigError(f"workload {self.name!r}: knob {k}={v!r} is not a yes/no value; "
                                      f"use one of {', '.join(TRUE_WORDS)} or {', '.join(FALSE_WORDS)}")
            elif isinstance(default, (int, float)) and not isinstance(default, bool) and isinstance(v, str):
                try:
                    v = type(default)(float(v)) if isinstance(default, float) else int(v)
                except ValueError:
                    raise ConfigError(f"workload {self.name!r}: knob {k}={v!r} is not a number") from None
            out[k] = v
        return out

    def record(self, out_path: str | Path, *, iterations: int, seed: int, every: int = 1,
               progress: bool = True, **knobs: Any) -> Path:
        raise NotImplementedError

    def source(self, *, iterations: int, seed: int, **knobs: Any):
        raise ConfigError(f"workload {self.name!r} is recorded, not streamed; record it first")


WORKLOADS: Registry = Registry("workload", Workload)


def knob_params(name: str, knobs: dict[str, Any]) -> type:
    """A frozen parameter dataclass with one field per knob (typed by its default)."""
    if not knobs:
        return NoParams
    fields = [(k, type(v) if isinstance(v, (bool, int, float, str)) else Any, dataclasses.field(default=v))
              for k, v in knobs.items()]
    return dataclasses.make_dataclass(f"{name}Knobs", fields, bases=(NoParams,), frozen=True)


def check_knob_rules(obj: Any, rules) -> None:
    """``ValueError`` naming the first knob of ``rules`` ((name, holds, rule) triples) that breaks its rule,
    with its value (the workload wraps it as one error naming itself)."""
    for name, ok, rule in rules:
        if not ok:
            raise ValueError(f"knob {name} {rule}, not {getattr(obj, name)!r}")


def check_run_args(name: str, iterations: int, every: int, seed: int) -> None:
    """One clear error for run arguments no workload accepts, before anything is written."""
    if seed < 0:
        raise ConfigError(f"workload {name!r}: seed must not be negative, got {seed}")
    if iterations < 1:
        raise ConfigError(f"workload {name!r}: iterations must be >= 1, got {iterations}")
    if every < 1:
        raise ConfigError(f"workload {name!r}: every must be >= 1, got {every}")

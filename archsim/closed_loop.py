"""The closed loop: a :class:`workloads.memory.Memory` that stores every tensor through a memory model.

The built-in trainer calls ``store(name, values)`` once per weight and bias per
iteration (and once before training) and continues with what it returns.
:class:`SchemeMemory` writes the values into memory lines under any write scheme
of a memory technology (``dcw``, ``appwom``, ``dap``, ``ps``, ...; each tensor is
its own stream over its own lines of the :class:`archsim.layout.AddressLayout`,
global line indices kept) and returns what a *read at the time the next
iteration reads the tensor* gives back:

- exact schemes: the written values;
- approximate schemes (``appwom``): the stored values (ignored low-bit updates);
- schemes whose stream's ``read_back(times)`` hook answers (``dap``, ``ps``): the
  cells after the decay between the write and that read.

The same memory takes the trainer's intermediate data (``write_intermediate`` /
``read_intermediate``, :class:`workloads.memory.IntermediateMemory`): the input
batch and every layer's output, written at the forward pass and read back by the
loss and the backward pass after the clock's time between the two.

Simulated time comes from a clock (:class:`IterationClock`: the configured
``run.iteration_time_s`` and each layer's position in the iteration's FLOP
schedule). Any object with ``write_time(name, iteration)`` and
``read_time(name, iteration)`` (seconds) can replace it, e.g.
:class:`archsim.timing.clock.TimingClock`, fed by the timing model's simulated
times (``archsim accuracy --timing``).

A device model that is not a digital write scheme (an analog synapse, the
``003`` seed) plugs in as its own ``Memory`` (see ``docs/dap.md``), or as a
technology whose stream has the same ``feed`` / ``read_back`` contract
(:class:`archsim.contracts.TechnologyStream`).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Protocol, Sequence

import numpy as np

from archsim.config import Config
from archsim.contracts import TECHNOLOGIES
from archsim.errors import ConfigError, TraceError
from archsim.layout import AddressLayout


class Clock(Protocol):
    def write_time(self, name: str, iteration: int) -> float: ...
    def read_time(self, name: str, iteration: int) -> float: ...


class IterationClock:
    """Simulated seconds from a fixed iteration time and the iteration's schedule.

    Iteration ``i`` runs from ``i * T`` to ``(i + 1) * T`` (``T`` =
    ``iteration_time_s``); a step of the schedule occupies the share of that
    interval its FLOPs take of the iteration's. The update of iteration ``i``
    writes a weight or bias at the *end* of its layer's ``update`` step; the next
    iteration reads it at the *start* of its layer's ``forward`` step (the first
    read; the backward pass reuses the value the trainer already holds). The
    initial store (iteration -1) happens at time 0.

    Intermediate data (tensors of kind ``"intermediate"`` with ``written_at`` and
    ``read_at`` schedule indices, :class:`workloads.TensorSpec`) of iteration ``i``
    is written at the *end* of the step that produces it and read at the *start*
    of the step that last reads it, both within iteration ``i``: its lifetime is
    ``T`` times the FLOP share of the steps in between.
    """

    def __init__(self, iteration_time_s: float, tensors: Sequence[Any] = (), schedule: Sequence[Any] = (),
                 batch_size: int = 1) -> None:
        if not iteration_time_s > 0:
            raise ConfigError(f"iteration_time_s must be positive, not {iteration_time_s!r}")
        self.T = float(iteration_time_s)
        flops = np.array([s.flops(batch_size) for s in schedule], np.float64)
        total = flops.sum()
        start = np.concatenate([[0.0], np.cumsum(flops)[:-1]]) / total if total > 0 else np.zeros(len(flops))
        end = np.cumsum(flops) / total if total > 0 else np.ones(len(flops))
        self._write_frac: dict[str, float] = {}
        self._read_frac: dict[str, float] = {}
        self._intermediate: set[str] = set()
        for t in tensors:
            if t.kind == "intermediate":
                if t.written_at is None or t.read_at is None or not len(schedule):
                    raise ConfigError(f"intermediate tensor {t.name!r}: the clock needs its written_at / read_at "
                                      "steps and the schedule")
                self._intermediate.add(t.name)
                self._write_frac[t.name] = float(end[t.written_at])
                self._read_frac[t.name] = float(start[t.read_at])
                continue
            w = [end[i] for i, s in enumerate(schedule) if s.phase == "update" and s.layer == t.layer]
            r = [start[i] for i, s in enumerate(schedule) if s.phase == "forward" and s.layer == t.layer]
            self._write_frac[t.name] = float(w[0]) if w else 1.0
            self._read_frac[t.name] = float(r[0]) if r else 0.0

    def write_time(self, name: str, iteration: int) -> float:
        if name in self._intermediate:
            return (iteration + self._write_frac[name]) * self.T
        if iteration < 0:
            return 0.0
        return (iteration + self._write_frac.get(name, 1.0)) * self.T

    def read_time(self, name: str, iteration: int) -> float:
        if name in self._intermediate:
            return (iteration + self._read_frac[name]) * self.T
        return (iteration + 1 + self._read_frac.get(name, 0.0)) * self.T


class SchemeMemory:
    """A closed-loop memory writing through ``scheme`` of technology ``memory`` (``config.run.memory``).

    ``tensors``: the weights and biases in row order (objects with ``name`` and
    ``size``, e.g. :class:`workloads.TensorSpec`). ``intermediates``: the
    intermediate tensors (kind ``"intermediate"``, shape per sample) whose data of
    ``batch_size`` samples goes through the memory too
    (:class:`workloads.memory.IntermediateMemory`; their lines follow the
    weights', as in the timing model). ``clock``: simulated times (default:
    :class:`IterationClock` with ``config.run.iteration_time_s``, no schedule).

    Every intermediate stream is told its data's expected lifetime, the clock's
    ``read_time - write_time`` of iteration 0 (``TechnologyStream.set_data_lifetimes``):
    DAP's layer-aware policy lossy-SETs it when that is below the retention time.
    """

    def __init__(self, scheme: str, config: Config, tensors: Sequence[Any], *, clock: Clock | None = None,
                 memory: str | None = None, intermediates: Sequence[Any] = (), batch_size: int = 1) -> None:

        self.scheme = scheme
        self.config = config
        self.technology = TECHNOLOGIES.get(memory or config.run.memory)
        self.technology.schemes.get(scheme)  # unknown scheme: one clear error
        sizes = [(t.name, int(t.size)) for t in tensors]
        sizes += [(t.name, int(t.size) * int(batch_size)) for t in intermediates]
        self.layout = AddressLayout(sizes, words_per_line=config.layout.words_per_line,
                                    align_tensors=True, word_bits=config.layout.word_bits)
        self.clock = clock or IterationClock(config.run.iteration_time_s, tensors)
        self._shapes = dict(sizes)
        self._params = [t.name for t in tensors]
        self._intermediates = [t.name for t in intermediates]
        self._streams = {}
        self._iteration = {name: -1 for name, _ in sizes}
        self._lifetime_s: dict[str, float] = {}
        self._held: dict[str, tuple[np.ndarray, tuple]] = {}
        for name, _ in sizes:
            first, n = self.layout.tensor_lines(name)
            self._streams[name] = self.technology.open_stream(
                scheme, lines=n, words=self.layout.words_per_line, config=config, line_offset=first)
        for name in self._intermediates:
            life = float(self.clock.read_time(name, 0) - self.clock.write_time(name, 0))
            self._lifetime_s[name] = life
            self._streams[name].set_data_lifetimes(np.full(self._streams[name].lines, life))

    def stream(self, name: str):
        """The technology stream holding tensor ``name``."""
        return self._streams[name]

    def lifetime_s(self, name: str) -> float:
        """The expected lifetime (s) the layer-aware policy was given for intermediate tensor ``name``."""
        return self._lifetime_s[name]

    def _words(self, name: str, values: np.ndarray) -> np.ndarray:
        if name not in self._streams:
            raise ConfigError(f"closed loop: tensor {name!r} is not in the memory layout")
        arr = np.ascontiguousarray(values, np.float32)
        if not np.isfinite(arr).all():  # the policy of workloads.TraceMeta.check_finite: never stored
            raise TraceError(f"closed loop, scheme {self.scheme}: iteration {self._iteration[name] + 1}: tensor "
                             f"{name} holds a non-finite value (the training diverged; lower the learning rate)")
        size = self._shapes[name]
        if arr.size != size:
            raise ConfigError(f"closed loop: tensor {name!r} has {arr.size} values, the layout {size}")
        lines = self._streams[name].lines
        wpl = self.layout.words_per_line
        buf = np.zeros(lines * wpl, np.uint32)
        buf[:size] = arr.reshape(-1).view(np.uint32)
        return buf.reshape(1, lines, wpl)

    def _values(self, name: str, back, shape) -> np.ndarray:
        got = np.asarray(back).reshape(-1)[:self._shapes[name]].view(np.float32)
        return got.reshape(shape).astype(np.float32, copy=False)

    def store(self, name: str, values: np.ndarray) -> np.ndarray:
        buf = self._words(name, values)
        i = self._iteration[name]
        stream = self._streams[name]
        stream.set_write_times([self.clock.write_time(name, i)])
        out = stream.feed(buf, want_stored=True)
        back = stream.read_back(self.clock.read_time(name, i))
        if back is None:
            back = out.stored[0] if out.stored is not None else buf[0]
        self._iteration[name] = i + 1
        return self._values(name, back, np.shape(values))

    # -- intermediate data (workloads.memory.IntermediateMemory) ----------------------------
    def write_intermediate(self, name: str, values: np.ndarray) -> None:
        """Write intermediate tensor ``name`` of the next iteration at the clock's write time."""
        if name not in self._lifetime_s:
            raise ConfigError(f"closed loop: {name!r} is not an intermediate tensor of the memory layout")
        buf = self._words(name, values)
        i = self._iteration[name] + 1
        stream = self._streams[name]
        stream.set_write_times([self.clock.write_time(name, i)])
        out = stream.feed(buf, want_stored=True)
        self._held[name] = (out.stored[0] if out.stored is not None else buf[0], np.shape(values))
        self._iteration[name] = i

    def read_intermediate(self, name: str) -> np.ndarray:
        """Intermediate tensor ``name`` as a read at the clock's read time returns it (decayed cells 0)."""
        if name not in self._held:
            raise ConfigError(f"closed loop: intermediate tensor {name!r} read before it was written")
        stored, shape = self._held[name]
        back = self._streams[name].read_back(self.clock.read_time(name, self._iteration[name]))
        return self._values(name, stored if back is None else back, shape)

    def results(self) -> dict[str, Any]:
        """Each tensor's stream result (weights and biases, then intermediate data)."""
        return {name: s.result() for name, s in self._streams.items()}

    def result(self):
        """The weights' and biases' stream results merged into one (their lines of the layout)."""
        return merge_results([self._streams[n].result() for n in self._params])

    def intermediate_result(self):
        """The intermediate data's stream results merged into one (None without intermediate data)."""
        if not self._intermediates:
            return None
        return merge_results([self._streams[n].result() for n in self._intermediates])


_SAME = {"scheme", "word_bits", "cells_per_word", "words", "iterations", "pcm", "params",
         "lossy_set_energy_pj"}


def merge_results(results: list):
    """One result over the lines of several stream results of the same scheme (counts summed,
    wear concatenated along lines). Works for :class:`ReplayResult` and its subclasses."""
    if not results:
        raise ConfigError("nothing to merge")
    r0 = results[0]
    fields = {}
    for f in dataclasses.fields(r0):
        vals = [getattr(r, f.name) for r in results]
        if f.name in _SAME:
            fields[f.name] = vals[0]
        elif f.name == "wear":
            fields[f.name] = np.concatenate(vals, axis=0)
        elif f.name == "stored":
            fields[f.name] = None
        elif isinstance(vals[0], np.ndarray) and vals[0].ndim >= 1:
            fields[f.name] = np.concatenate(vals, axis=0)  # per-line arrays
        elif isinstance(vals[0], (int, float, np.integer, np.floating)) and not isinstance(vals[0], bool):
            fields[f.name] = sum(vals)
        else:
            fields[f.name] = vals[0]  # configuration objects, names
    return type(r0)(**fields)

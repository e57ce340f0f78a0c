"""The closed loop's clock from the timing model: simulated seconds of every tensor's writes and reads.

A :class:`TimingClock` answers ``write_time(name, iteration)`` / ``read_time(name,
iteration)`` (the :class:`archsim.closed_loop.Clock` protocol) from the phase
times a :class:`~archsim.timing.frontend.FrontEnd` recorded
(:attr:`~archsim.timing.frontend.FrontEnd.phase_times`: per iteration and phase,
the issue time and the time its wait condition held):

- a weight or bias of layer L written by the update of iteration ``i``: when the
  controllers have accepted the last write of the ``update:L:write`` burst;
  read at the issue of the ``forward:L:read`` burst of iteration ``i + 1``; the
  initial store (iteration -1) at time 0;
- intermediate data of iteration ``i``: written when its forward write burst is
  accepted, read at the issue of the backward read burst that reads it; data the
  access pattern does not read back (the last layer's output, read by the loss
  step, which starts once that write burst is accepted) is read then.

Writes are posted: a write completes after its acceptance by its queueing and
service time (the queued write latency of the timing tables, microseconds),
which this clock does not add; against lossy-SET retention times of
milliseconds and more the difference does not change a decay.

:func:`timing_clock` runs the timing model on a workload's training access
pattern under one scheme (the run loop of ``archsim run --timing``) and returns
its clock.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from archsim.errors import ConfigError
from archsim.timing.system import READ, WRITE

PS = 1e-12


class TimingClock:
    """Simulated times (s) of ``tensors`` (weights, biases, intermediate data; objects with ``name``,
    ``layer`` and ``kind``) from a front end's ``phases`` and recorded ``phase_times``."""

    def __init__(self, phases: Sequence[Any], phase_times: Sequence[np.ndarray], tensors: Sequence[Any]) -> None:
        if not len(phase_times):
            raise ConfigError("timing clock: the timing model simulated no iteration")
        self.times_s = np.stack([np.asarray(t, np.float64) for t in phase_times]) * PS  # (iterations, phases, 2)
        self.iterations = self.times_s.shape[0]
        index = {ph.name: k for k, ph in enumerate(phases)}
        self._write: dict[str, int] = {}
        self._read: dict[str, int] = {}
        self._intermediate: set[str] = set()
        for t in tensors:
            if t.kind == "intermediate":
                w = [k for k, ph in enumerate(phases) if ph.kind == WRITE and t.name in ph.tensors]
                r = [k for k, ph in enumerate(phases) if ph.kind == READ and t.name in ph.tensors]
                if not w:
                    raise ConfigError(f"timing clock: the access pattern writes no intermediate tensor {t.name!r}")
                self._intermediate.add(t.name)
                self._write[t.name] = w[0]
                self._read[t.name] = r[0] if r else -1 - w[0]  # no read burst: at its write's acceptance
            else:
                w, r = f"update:{t.layer}:write", f"forward:{t.layer}:read"
                if w not in index or r not in index:
                    raise ConfigError(f"timing clock: the access pattern has no {w if w not in index else r} burst "
                                      f"for tensor {t.name!r} (the training access pattern is needed)")
                self._write[t.name], self._read[t.name] = index[w], index[r]

    def _at(self, name: str, iteration: int, phase: int, which: int) -> float:
        if not 0 <= iteration < self.iterations:
            raise ConfigError(f"timing clock: {name!r} at iteration {iteration}, but the timing model simulated "
                              f"iterations 0..{self.iterations - 1}")
        return float(self.times_s[iteration, phase, which])

    def write_time(self, name: str, iteration: int) -> float:
        if iteration < 0 and name not in self._intermediate:
            return 0.0
        return self._at(name, iteration, self._write[name], 1)

    def read_time(self, name: str, iteration: int) -> float:
        if name in self._intermediate:
            k = self._read[name]
            return self._at(name, iteration, k, 0) if k >= 0 else self._at(name, iteration, -1 - k, 1)
        return self._at(name, iteration + 1, self._read[name], 0)


def timing_clock(config, *, workload: str, scheme: str, memory: str, iterations: int, seed: int,
                 knobs: dict[str, Any], tensors: Sequence[Any]) -> TimingClock:
    """The clock of ``iterations`` closed-loop iterations of ``workload`` under ``memory:scheme``: the
    timing model (``config.timing``, training access pattern) run over ``iterations + 1`` iterations of
    the workload's trace (the same seed and knobs; the last one gives the last weights' read time)."""
    from archsim.config import replace
    from archsim.run import RunLoop
    from archsim.timing.observer import TimingObserver, TimingObserverParams

    if config.timing.access_pattern != "training":
        raise ConfigError(f"--timing in the closed loop needs timing.access_pattern = \"training\" (the reads and "
                          f"writes of every tensor), not {config.timing.access_pattern!r}")
    cfg = replace(config, {"run.workload": {"name": workload, **knobs}, "run.iterations": iterations + 1,
                           "run.seed": seed, "run.memory": memory, "run.schemes": [scheme], "run.observers": [],
                           "run.trace": ""})
    loop = RunLoop(cfg)
    obs = TimingObserver(loop.config, TimingObserverParams())
    loop.replay([obs], schemes=[scheme], progress=False, approximation=False)
    for _ in loop.results():  # the observer's wear, as in archsim timing run
        pass
    front = obs.model(scheme).frontend
    return TimingClock(front.phases, front.phase_times, tensors)

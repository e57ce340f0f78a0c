"""The access pattern of NN training and the front end that issues it.

From a trace's metadata (layers, tensors, the schedule of steps with their
FLOPs) and the address layout, :func:`training_phases` builds the bursts of one
training iteration, in schedule order:

* ``load``: the input batch (intermediate data) is written;
* ``forward`` step of a layer: its weights and biases are read (the computation
  needs them: the front end waits until the reads complete), the step computes,
  then the layer's outputs (intermediate data written at this step) are written;
* ``backward`` step: the intermediate data whose last reader is this step and the
  layer's weights are read, then the step computes (gradients stay on chip);
* ``update`` step: the optimiser computes, then the layer's new weights and biases
  are written (the values of the trace; their outcomes come from the functional path).

Compute time between bursts is the step's FLOPs divided by ``flops_per_s``
(compute model "flops") or ``gap_ns`` per step ("fixed"); it is spent before the
step's writes. Writes are posted: the front end moves on once the controllers have
accepted them. :func:`minimal_phases` is the AppWOM paper's measurement: only the
update writes, one burst per iteration after ``gap_ns``.

Intermediate data lives after the weights and biases, each tensor on its own
lines (batch size x bytes per sample); its lifetime is the simulated time from
the start of its forward write to the start of its backward read.
"""
from __future__ import annotations

import math

import numpy as np

from archsim.errors import ConfigError
from archsim.timing.system import ACCEPTED, CLOCK_LIMIT_PS, COMPLETED, READ, WRITE, Phase


def intermediate_lines(meta, line_bytes: int, first_line: int) -> dict[str, tuple[int, int]]:
    """(first line, lines) of every intermediate tensor of ``meta``, placed from ``first_line`` on."""
    out = {}
    line = first_line
    for t in meta.intermediates:
        n = max(1, math.ceil((t.bytes_per_sample or 0) * meta.batch_size / line_bytes))
        out[t.name] = (line, n)
        line += n
    return out


def _lines(ranges) -> np.ndarray:
    parts = [np.arange(a, a + n, dtype=np.int64) for a, n in ranges if n]
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def _param_ranges(meta, layout, layer: str) -> list[tuple[int, int]]:
    return [tuple(layout.tensor_lines(t.name)) for t in meta.params if t.layer == layer]


def training_phases(meta, layout, inter: dict[str, tuple[int, int]], timing) -> list[Phase]:
    """The bursts of one training iteration (see the module docstring)."""
    if not meta.schedule:
        raise ConfigError(f"trace of {meta.model}: no schedule of steps; the training access pattern needs one "
                          "(use timing.access_pattern = \"minimal\")")
    phases: list[Phase] = []
    gap = 0.0

    def compute(step) -> float:
        if timing.compute_model == "fixed":
            return float(timing.gap_ns)
        return step.flops(meta.batch_size) / timing.flops_per_s * 1e9

    def add(name, kind, ranges, tensors, wait):
        nonlocal gap
        lines = _lines(ranges)
        if lines.size:
            phases.append(Phase(name, kind, lines, int(round(gap * 1000)), wait, tuple(tensors)))
            gap = 0.0

    for k, step in enumerate(meta.schedule):
        tag = f"{step.phase}:{step.layer}"
        if step.phase in ("forward", "backward"):
            reads = []
            names = []
            if step.phase == "backward":
                for t in meta.intermediates:
                    if t.read_at == k:
                        reads.append(inter[t.name])
                        names.append(t.name)
            reads += _param_ranges(meta, layout, step.layer)
            add(f"{tag}:read", READ, reads, names, COMPLETED)
        gap += compute(step)
        if step.phase == "update":
            add(f"{tag}:write", WRITE, _param_ranges(meta, layout, step.layer), (), ACCEPTED)
        else:
            outs = [t for t in meta.intermediates if t.written_at == k]
            add(f"{tag}:write", WRITE, [inter[t.name] for t in outs], [t.name for t in outs], ACCEPTED)
    if gap and phases:
        phases[0].gap_ps += int(round(gap * 1000))  # trailing compute belongs to the next iteration's start
    return phases


def minimal_phases(layout, timing) -> list[Phase]:
    """One burst per iteration: every weight and bias line written, after ``gap_ns``."""
    return [Phase("update", WRITE, np.arange(layout.lines, dtype=np.int64), int(round(timing.gap_ns * 1000)),
                  ACCEPTED)]


class FrontEnd:
    """Issues the phases of each iteration through a memory system, in simulated time.

    Records the start time of every phase of the current iteration, from which the
    lifetimes of intermediate data (forward write to backward read) are summed, and
    keeps for every iteration each phase's issue time and the time its wait condition
    held (reads: completed; writes: accepted by the controllers) in :attr:`phase_times`
    (the simulated clock of the closed loop, :mod:`archsim.timing.clock`).
    """

    def __init__(self, env, system, phases: list[Phase]) -> None:
        self.env = env
        self.system = system
        self.phases = phases
        self.iterations = 0
        self._round = 0  # late round of the instant after which the last wait condition held
        writes = {}
        reads = {}
        for i, ph in enumerate(phases):
            for name in ph.tensors:
                (writes if ph.kind == WRITE else reads)[name] = i
        self.lifetime_pairs = {n: (writes[n], reads[n]) for n in writes if n in reads}
        self.lifetime_ps = {n: 0 for n in self.lifetime_pairs}
        #: per iteration, an int64 array (phases, 2): issue time and wait-condition time of each phase, ps
        self.phase_times: list[np.ndarray] = []

    def run(self, write_ps: np.ndarray, refresh_ps: np.ndarray, extra=()):
        """SimPy process: the iterations of one chunk; ``write_ps`` / ``refresh_ps`` (T, lines) in ps.
        ``extra``: (iteration, phase, write ps, refresh ps) bursts issued, in order, at the end of that
        iteration of the chunk, without a gap (wear levelling's copies)."""
        env = self.env
        starts = [0] * len(self.phases)
        after: dict[int, list] = {}
        for item in extra:
            after.setdefault(int(item[0]), []).append(item[1:])
        for t in range(write_ps.shape[0]):
            w = write_ps[t]
            r = refresh_ps[t]
            times = np.empty((len(self.phases), 2), np.int64)
            for i, ph in enumerate(self.phases):
                if ph.gap_ps:
                    if env.now + ph.gap_ps > CLOCK_LIMIT_PS:
                        raise ConfigError(f"iteration {self.iterations}: the simulated time would pass "
                                          f"{CLOCK_LIMIT_PS / 1e12:.3g} s, the timing model's clock range "
                                          f"(int64 picoseconds; the {ph.name} phase waits {ph.gap_ps / 1e12:.3g} "
                                          "s): run fewer iterations, lower timing.gap_ns (the minimal pattern, "
                                          "compute_model = \"fixed\") or raise timing.flops_per_s "
                                          "(compute_model = \"flops\")")
                    yield env.timeout(ph.gap_ps)
                    self._round = 0
                starts[i] = int(env.now)
                self._round = yield self.system.submit(ph, w, r, self._round)
                times[i] = (starts[i], int(env.now))
            for ph, w_extra, r_extra in after.get(t, ()):
                self._round = yield self.system.submit(ph, w_extra, r_extra, self._round)
            self.phase_times.append(times)
            for name, (a, b) in self.lifetime_pairs.items():
                self.lifetime_ps[name] += starts[b] - starts[a]
            self.iterations += 1

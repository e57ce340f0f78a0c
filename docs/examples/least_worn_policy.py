"""A request-level scheduling policy in one file: least-worn bank first (docs/tutorial-policy.md).

Reads go first, oldest first (the computation waits for them). Among the writes
whose bank can take one now, the policy issues the write to the bank with the
least wear so far (cell flips, from the functional replay), so that writes pile
up on the worn banks while the fresh ones are busy; a write that has waited
``max_wait_ns`` is issued first regardless, so no bank starves.

Load it and select it by name, with its parameter::

    archsim --plugin docs/examples/least_worn_policy.py run --timing \\
        --set timing.scheduling=least-worn --set timing.scheduling.max_wait_ns=5000

or in a config file::

    [timing.scheduling]
    name = "least-worn"
    max_wait_ns = 5000
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from archsim.errors import ConfigError
from archsim.registry import NoParams
from archsim.timing.scheduling import READ, SCHEDULING_POLICIES, WRITE, SchedulingPolicy


@dataclass(frozen=True)
class LeastWornParams(NoParams):
    max_wait_ns: float = 2000.0
    """A write queued this long goes before any less-worn bank's write (ns)."""

    def validate(self, where: str, owner: Any = None) -> None:
        if not self.max_wait_ns >= 0:
            raise ConfigError(f"{where}.max_wait_ns must not be negative, not {self.max_wait_ns!r}")


@SCHEDULING_POLICIES.register("least-worn")
class LeastWorn(SchedulingPolicy):
    """Reads oldest first; then the write to the least-worn available bank (oldest on ties),
    unless the oldest available write has waited ``max_wait_ns``."""

    Params = LeastWornParams

    def select(self, view):
        reads = np.flatnonzero(view.reads.available)
        if reads.size:
            return (READ, int(reads[0]))  # queues are in arrival order: the first is the oldest
        w = view.writes
        ready = np.flatnonzero(w.available)
        if not ready.size:
            return None
        oldest = int(ready[0])
        if view.now_ps - int(w.arrival_ps[oldest]) >= self.params.max_wait_ns * 1000:
            return (WRITE, oldest)
        wear = view.banks.wear[w.bank[ready]]
        return (WRITE, int(ready[np.argmin(wear)]))  # argmin takes the first (oldest) of equal wear

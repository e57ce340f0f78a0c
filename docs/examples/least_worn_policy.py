"""A request-level scheduling policy in one file: least-worn bank first under a write budget
(docs/tutorial-policy.md).

PCM writes draw large currents, so controllers cap how many run at once (a write-power budget;
Hay et al. MICRO 2011). When the budget lets only some of the waiting writes go, this policy
gives the slots to the banks with the least wear so far (cell flips, from the functional
replay), so wear spreads over the banks. Reads go first, oldest first, and are not limited.
``max_active_writes`` is the policy's own parameter: at most that many writes in service on the
channel at a time.

Load it and select it by name, with its parameter::

    archsim --plugin docs/examples/least_worn_policy.py run --timing \\
        --set timing.scheduling=least-worn --set timing.scheduling.max_active_writes=4

or in a config file::

    [timing.scheduling]
    name = "least-worn"
    max_active_writes = 4
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
    max_active_writes: int = 4
    """Writes in service on the channel at a time (the write-power budget)."""

    def validate(self, where: str, owner: Any = None) -> None:
        if isinstance(self.max_active_writes, bool) or not isinstance(self.max_active_writes, int) \
                or self.max_active_writes < 1:
            raise ConfigError(f"{where}.max_active_writes must be a positive integer, not {self.max_active_writes!r}")


@SCHEDULING_POLICIES.register("least-worn")
class LeastWorn(SchedulingPolicy):
    """Reads oldest first; writes within ``max_active_writes`` at a time, least-worn bank first
    (oldest first among equally worn)."""

    Params = LeastWornParams

    def __init__(self, params: LeastWornParams | None = None) -> None:
        super().__init__(params)
        self.write_ends: list[int] = []  # end times (ps) of the writes this policy issued, still running

    def select(self, view):
        reads = np.flatnonzero(view.reads.available)
        if reads.size:
            return (READ, int(reads[0]))  # the queues are in arrival order: the first is the oldest
        self.write_ends = [t for t in self.write_ends if t > view.now_ps]
        if len(self.write_ends) >= self.params.max_active_writes:
            return None  # over budget: wait for a write to finish
        w = view.writes
        ready = np.flatnonzero(w.available)
        if not ready.size:
            return None
        i = int(ready[np.argmin(view.banks.wear[w.bank[ready]])])  # argmin: the first (oldest) of equal wear
        # expected end; a write that found its refresh pending pays it too and ends later, so this budget
        # may free its slot early: a policy that must be exact reads view.banks.busy_until_ps instead
        self.write_ends.append(view.now_ps + int(w.service_ps[i]))
        return (WRITE, i)

"""A timing-model plugin: a scheduling policy with its own parameter and a region manager
(``docs/tutorial-policy.md``).

Load it with ``archsim --plugin docs/examples/timing_plugin.py ...`` and select them by
name, with the policy's parameter in a config file::

    [timing.scheduling]
    name = "write-batch"
    batch = 16

or on the command line: ``--set timing.scheduling=write-batch --set timing.scheduling.batch=16
--set timing.region_manager=bank-exhausted``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from archsim.errors import ConfigError
from archsim.registry import NoParams
from archsim.timing.region import REGION_MANAGERS, RegionManager
from archsim.timing.scheduling import SCHEDULING_POLICIES, Arbitration, SchedulingPolicy


@dataclass(frozen=True)
class WriteBatchParams(NoParams):
    batch: int = 24
    """Queued writes that start a full drain of the write queue."""

    def validate(self, where: str, owner: Any = None) -> None:
        queue = owner.write_queue if owner is not None else self.batch
        if not 1 <= self.batch <= queue:
            raise ConfigError(f"{where}.batch must be in 1..write_queue ({queue}), not {self.batch}")


@SCHEDULING_POLICIES.register("write-batch")
class WriteBatch(SchedulingPolicy):
    """Reads first (writes go when no read can), until ``batch`` writes are queued; then writes
    first until the write queue is empty (a full drain)."""

    Params = WriteBatchParams

    def __init__(self, params: WriteBatchParams | None = None) -> None:
        super().__init__(params)
        self.draining = False

    def arbitrate(self, reads: int, writes: int) -> int:
        if self.draining and writes == 0:
            self.draining = False
        elif not self.draining and writes >= self.params.batch:
            self.draining = True
        return Arbitration.WRITES_FIRST if self.draining else Arbitration.READS_FIRST


@REGION_MANAGERS.register("bank-exhausted")
class BankExhausted(RegionManager):
    """Hold every refresh of a bank until all the bank's lines have one pending, then queue
    them all (one group per bank). Same flips as the functional replay; only timing changes."""

    def refresh_groups(self) -> np.ndarray:
        return self.line_bank.astype(np.int64)

"""A timing-model plugin: a scheduling policy and a region manager (``docs/tutorial-policy.md``).

Load it with ``archsim --plugin docs/examples/timing_plugin.py ...`` and select them by
name: ``--set timing.scheduling=write-batch --set timing.region_manager=bank-exhausted``.
"""
from __future__ import annotations

import numpy as np

from archsim.timing.region import REGION_MANAGERS, RegionManager
from archsim.timing.scheduling import SCHEDULING_POLICIES, Arbitration, SchedulingPolicy


@SCHEDULING_POLICIES.register("write-batch")
class WriteBatch(SchedulingPolicy):
    """Reads first (writes go when no read can), until ``write_high_watermark`` writes are
    queued; then writes first until the write queue is empty (a full drain)."""

    def __init__(self, timing=None) -> None:
        super().__init__(timing)
        self.batch = 24 if timing is None else timing.write_high_watermark
        self.draining = False

    def arbitrate(self, reads: int, writes: int) -> int:
        if self.draining and writes == 0:
            self.draining = False
        elif not self.draining and writes >= self.batch:
            self.draining = True
        return Arbitration.WRITES_FIRST if self.draining else Arbitration.READS_FIRST


@REGION_MANAGERS.register("bank-exhausted")
class BankExhausted(RegionManager):
    """Hold every refresh of a bank until all the bank's lines have one pending, then queue
    them all (one group per bank). Same flips as the functional replay; only timing changes."""

    def refresh_groups(self) -> np.ndarray:
        return self.line_bank.astype(np.int64)

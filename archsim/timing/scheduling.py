"""Scheduling policies of the memory controller.

A controller holds a read queue and a write queue, each in arrival order. Each
time it may issue (after every arrival and completion), it asks its policy
which queue to serve with **one method**, :meth:`SchedulingPolicy.arbitrate`,
given the occupancy of both queues; it then issues the oldest request of the
chosen queue whose bank is available, and asks again, until nothing can be
issued. A bank is available when it is idle, or when it runs a refresh that the
refresh policy lets a demand request cancel.

Answers (:class:`Arbitration`):

========================  ================================================================
``OLDEST``                the oldest available request of either queue (first-ready FCFS)
``READS_FIRST``           the oldest available read; if none, the oldest available write
``WRITES_FIRST``          the oldest available write; if none, the oldest available read
``READS_ONLY``            only reads (writes wait even if their bank is idle)
``WRITES_ONLY``           only writes
``NONE``                  issue nothing now
========================  ================================================================

A policy object belongs to one controller (it may keep state, such as a drain
flag); it is built as ``cls(params)`` with its own parameters (``Params``, a
frozen dataclass set from ``[timing.scheduling]``). Register a new one::

    from archsim.timing.scheduling import SCHEDULING_POLICIES, SchedulingPolicy, Arbitration

    @SCHEDULING_POLICIES.register("writes-first")
    class WritesFirst(SchedulingPolicy):
        def arbitrate(self, reads, writes):
            return Arbitration.WRITES_FIRST

The built-in policies also name a compiled twin (``kernel_code``) that the fast
model runs inline; a policy without one is called from the compiled channel
kernel through Python (correct, slower: about 0.1-0.2 us per decision).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar

from archsim.errors import ConfigError
from archsim.registry import NoParams, Registry


class Arbitration(IntEnum):
    """Which queue a controller serves next (see the module docstring)."""

    OLDEST = 0
    READS_FIRST = 1
    WRITES_FIRST = 2
    READS_ONLY = 3
    WRITES_ONLY = 4
    NONE = 5


#: Compiled twins known to the channel kernel.
KERNEL_PYTHON = -1
KERNEL_FCFS = 0
KERNEL_READ_FIRST = 1


class SchedulingPolicy(ABC):
    """Chooses which queue a controller serves; one instance per controller."""

    name: ClassVar[str] = "?"
    #: The policy's own parameters (a frozen dataclass; ``[timing.scheduling]`` sets them).
    Params: ClassVar[type] = NoParams
    #: The compiled twin of this policy in the fast model (``KERNEL_PYTHON``: call :meth:`arbitrate`).
    kernel_code: ClassVar[int] = KERNEL_PYTHON

    def __init__(self, params: Any = None) -> None:
        self.params = self.Params() if params is None else params

    @abstractmethod
    def arbitrate(self, reads: int, writes: int) -> int:
        """Given ``reads`` and ``writes`` requests queued, return an :class:`Arbitration`."""

    def kernel_params(self) -> tuple[int, int]:
        """Integer parameters of the compiled twin (e.g. watermarks)."""
        return (0, 0)


#: Scheduling policies, by name.
SCHEDULING_POLICIES: Registry[type[SchedulingPolicy]] = Registry("scheduling policy")


@SCHEDULING_POLICIES.register("fcfs")
class Fcfs(SchedulingPolicy):
    """First-ready first-come first-served: the oldest request whose bank is available."""

    kernel_code = KERNEL_FCFS

    def arbitrate(self, reads: int, writes: int) -> int:
        return Arbitration.OLDEST


@dataclass(frozen=True)
class ReadFirstParams(NoParams):
    """Drain watermarks of :class:`ReadFirst` (write-queue entries)."""

    write_high_watermark: int = 24
    """Write-queue occupancy that starts a write drain."""
    write_low_watermark: int = 8
    """Occupancy at which a drain stops."""

    def validate(self, where: str, owner: Any = None) -> None:
        # owner: the [timing] section (None when a policy is built on its own)
        queue = owner.write_queue if owner is not None else self.write_high_watermark
        if not 0 <= self.write_low_watermark < self.write_high_watermark <= queue:
            raise ConfigError(
                f"{where}: watermarks must satisfy 0 <= write_low_watermark < write_high_watermark <= "
                f"write_queue, not {self.write_low_watermark}, {self.write_high_watermark}, {queue} (the defaults "
                f"are 24 and 8: with a smaller timing.write_queue set {where}.write_high_watermark and "
                f"{where}.write_low_watermark too)")


@SCHEDULING_POLICIES.register("read-first")
class ReadFirst(SchedulingPolicy):
    """Reads before writes, with a write drain between watermarks.

    Writes are buffered while reads are queued. When the write queue holds
    ``write_high_watermark`` requests the controller drains writes (writes
    first, reads when no write can go) until it is down to
    ``write_low_watermark``. With no read queued, writes are issued.
    """

    Params = ReadFirstParams
    kernel_code = KERNEL_READ_FIRST

    def __init__(self, params: ReadFirstParams | None = None) -> None:
        super().__init__(params)
        self.high = self.params.write_high_watermark
        self.low = self.params.write_low_watermark
        self.draining = False

    def arbitrate(self, reads: int, writes: int) -> int:
        if self.draining:
            if writes <= self.low:
                self.draining = False
        elif writes >= self.high:
            self.draining = True
        if self.draining:
            return Arbitration.WRITES_FIRST
        return Arbitration.READS_ONLY if reads else Arbitration.WRITES_ONLY

    def kernel_params(self) -> tuple[int, int]:
        return (self.high, self.low)

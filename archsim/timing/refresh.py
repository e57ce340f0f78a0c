"""Idle-period refresh policies.

A refresh (PreSET, PreRESET, ...) that a write triggered waits in its bank's
refresh queue (first in, first out) and starts only when the bank is idle and
no demand request for the bank is queued: it has the lowest priority. The
**refresh policy** decides what a demand request does when the controller
issues it to a bank that is running a refresh: wait until the refresh ends, or
cancel it (the refresh goes back to the head of the bank's refresh queue and
starts over later; the time it ran is counted as wasted, ``refresh_cancelled_ns``).
A demand *write* to a line whose refresh has not completed (queued, held or
cancelled) performs it inline, just before the write, and pays both latencies:
a *refresh miss*.

A policy is two flags; register a new one::

    from archsim.timing.refresh import REFRESH_POLICIES, RefreshPolicy

    @REFRESH_POLICIES.register("reads-cancel")
    class ReadsCancel(RefreshPolicy):
        preempt_reads = True      # a read cancels a running refresh
        preempt_writes = False    # a write waits for it
"""
from __future__ import annotations

from typing import Any, ClassVar

from archsim.registry import NoParams, Registry


class RefreshPolicy:
    """Whether demand reads / writes cancel a refresh in progress (``False``: they wait)."""

    name: ClassVar[str] = "?"
    #: The policy's own parameters (a frozen dataclass; ``[timing.refresh_policy]`` sets them).
    Params: ClassVar[type] = NoParams
    preempt_reads: ClassVar[bool] = False
    preempt_writes: ClassVar[bool] = False

    def __init__(self, params: Any = None) -> None:
        self.params = self.Params() if params is None else params

    def preempts(self, is_write: bool) -> bool:
        return self.preempt_writes if is_write else self.preempt_reads


#: Refresh policies, by name.
REFRESH_POLICIES: Registry[type[RefreshPolicy]] = Registry("refresh policy", RefreshPolicy)


@REFRESH_POLICIES.register("wait")
class Wait(RefreshPolicy):
    """A demand request waits for the refresh in progress to finish."""


@REFRESH_POLICIES.register("cancel")
class Cancel(RefreshPolicy):
    """A demand request cancels the refresh in progress (it is redone later, from the start)."""

    preempt_reads = True
    preempt_writes = True

"""Scheduling policies of the memory controller: the request-level contract and its simple form.

A controller holds a read queue and a write queue, each in arrival order. Each
time it may issue (after every arrival and completion) it asks its policy for
**the request to issue next**, and asks again after each issue until the policy
answers none. The policy sees read-only views (:class:`ControllerView`):

* of each queue (:class:`QueueView`, numpy arrays in arrival order): per request its
  ``kind`` (``READ`` / ``WRITE``), ``line``, ``bank`` (within the channel), ``row``,
  ``arrival_ps``, ``seq`` (acceptance order across both queues), ``service_ps`` (expected service time: the write's latency, or
  the read's row-buffer hit or array latency), ``row_hit`` (its row is open in its
  bank's row buffer) and ``available`` (its bank can take it now);
* of each bank of the channel (:class:`BankView`): ``busy_until_ps`` (end of the
  current service, ``<= now_ps`` when idle), ``open_row`` (-1: none),
  ``refreshing`` (runs an idle-period refresh), ``pending_refreshes`` (queued for it),
  ``wear`` (cell flips so far, from the functional replay of the chunks fed so far);

and returns ``(READ, i)`` or ``(WRITE, i)`` (the ``i``-th request of that queue,
which must be available) or ``None``. That is :meth:`SchedulingPolicy.select`, the
request-level contract (as Ramulator 2's ``get_best_request`` over the buffer).

The simple, queue-level form is :meth:`SchedulingPolicy.arbitrate`: given only
the occupancy of both queues it answers an :class:`Arbitration`, and the
controller issues the oldest available request of the queue(s) it names. The
default :meth:`~SchedulingPolicy.select` does exactly that, so a policy overrides
one of the two:

========================  ================================================================
``OLDEST``                the oldest available request of either queue (first-ready FCFS)
``READS_FIRST``           the oldest available read; if none, the oldest available write
``WRITES_FIRST``          the oldest available write; if none, the oldest available read
``READS_ONLY``            only reads (writes wait even if their bank is idle)
``WRITES_ONLY``           only writes
``NONE``                  issue nothing now
========================  ================================================================

A bank is available when it is idle, or when it runs a refresh that the refresh
policy lets a demand request cancel; a bank holding a paused write (``write-pause``)
is available to reads only.

A policy may also preempt writes (:meth:`SchedulingPolicy.preemption`): with
``CANCEL`` a read queued for a bank busy with a write cancels the write when less
than ``fraction`` of it is done (the write goes back to its place in the write queue
and is served again in full); with ``PAUSE`` the write is a series of iterations of
``iteration_ps`` each and pauses at the next iteration boundary (none in its last
iteration), the bank serves the reads queued for it, and the write resumes where it
stopped. Neither preempts while
the policy drains writes (``draining``).

A policy object belongs to one controller (it may keep state); it is built as
``cls(params)`` with its own parameters (``Params``, a frozen dataclass set from
``[timing.scheduling]``). The built-ins name a compiled twin (``kernel_code``) that
the fast engine runs inline; any other policy is called from the compiled channel
kernel through Python: a queue-level one costs about 0.2 us per decision, a
request-level one a few microseconds (the views are built for it; see
docs/performance.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar

import numpy as np

from archsim.config import check_count, positive
from archsim.timing.config import MAX_COUNT
from archsim.errors import ArchsimError, ConfigError
from archsim.registry import NoParams, Registry

READ, WRITE = 0, 1  # the request kinds (as archsim.timing.stats.READ / WRITE)


class Arbitration(IntEnum):
    """Which queue a controller serves next (see the module docstring)."""

    OLDEST = 0
    READS_FIRST = 1
    WRITES_FIRST = 2
    READS_ONLY = 3
    WRITES_ONLY = 4
    NONE = 5


class Preemption(IntEnum):
    """What a read does to a write in service at its bank (see the module docstring)."""

    NONE = 0
    CANCEL = 1
    PAUSE = 2


#: Compiled twins known to the channel kernel.
KERNEL_PYTHON = -1
KERNEL_FCFS = 0
KERNEL_READ_FIRST = 1
KERNEL_FR_FCFS = 2


class QueueView:
    """One controller queue, read-only, in arrival order (numpy arrays of equal length):
    ``kind``, ``line``, ``bank``, ``row``, ``arrival_ps``, ``seq``, ``service_ps`` (int64)
    and ``row_hit``, ``available`` (bool)."""

    __slots__ = ("kind", "line", "bank", "row", "arrival_ps", "seq", "service_ps", "row_hit", "available")
    INTS = ("kind", "line", "bank", "row", "arrival_ps", "seq", "service_ps")

    def __init__(self, ints: np.ndarray, flags: np.ndarray) -> None:
        """``ints``: (7, n) int64, the rows of :attr:`INTS`; ``flags``: (2, n) bool, row_hit and available."""
        ints.flags.writeable = False
        flags.flags.writeable = False
        setattr_ = object.__setattr__
        setattr_(self, "kind", ints[0])
        setattr_(self, "line", ints[1])
        setattr_(self, "bank", ints[2])
        setattr_(self, "row", ints[3])
        setattr_(self, "arrival_ps", ints[4])
        setattr_(self, "seq", ints[5])
        setattr_(self, "service_ps", ints[6])
        setattr_(self, "row_hit", flags[0])
        setattr_(self, "available", flags[1])

    def __setattr__(self, name, value):
        raise AttributeError("a queue view is read-only")

    def __len__(self) -> int:
        return int(self.line.shape[0])

    def __repr__(self) -> str:
        return f"QueueView({len(self)} requests)"


class BankView:
    """The banks of one channel, read-only (numpy arrays indexed by the bank within the channel):
    ``busy_until_ps``, ``open_row``, ``pending_refreshes`` (int64), ``refreshing`` (bool),
    ``wear`` (float64, cell flips so far)."""

    __slots__ = ("busy_until_ps", "open_row", "pending_refreshes", "refreshing", "wear")

    def __init__(self, ints: np.ndarray, refreshing: np.ndarray, wear: np.ndarray) -> None:
        """``ints``: (3, banks) int64, busy_until_ps, open_row, pending_refreshes."""
        for a in (ints, refreshing, wear):
            a.flags.writeable = False
        setattr_ = object.__setattr__
        setattr_(self, "busy_until_ps", ints[0])
        setattr_(self, "open_row", ints[1])
        setattr_(self, "pending_refreshes", ints[2])
        setattr_(self, "refreshing", refreshing)
        setattr_(self, "wear", wear)

    def __setattr__(self, name, value):
        raise AttributeError("a bank view is read-only")

    def __len__(self) -> int:
        return int(self.open_row.shape[0])


@dataclass(frozen=True)
class ControllerView:
    """What a request-level policy sees at one decision: the time, both queues and the banks."""

    now_ps: int
    channel: int
    reads: QueueView
    writes: QueueView
    banks: BankView

    def queue(self, kind: int) -> QueueView:
        return self.writes if kind == WRITE else self.reads


def _policy_name(policy: "SchedulingPolicy") -> str:
    """The policy's class and the file it comes from (a plugin's errors name the plugin)."""
    import inspect

    try:
        return f"{type(policy).__name__} ({inspect.getsourcefile(type(policy))})"
    except TypeError:
        return type(policy).__name__


def checked_mode(policy: "SchedulingPolicy", mode: Any) -> int:
    """A queue-level policy's answer as an :class:`Arbitration`, or one error naming the policy and its file."""
    try:
        return int(Arbitration(mode))
    except (ValueError, TypeError):
        raise ArchsimError(f"scheduling policy {_policy_name(policy)}: arbitrate returned {mode!r}, not an "
                           f"Arbitration ({', '.join(a.name for a in Arbitration)})") from None


def checked_pick(policy: "SchedulingPolicy", pick: Any, view: "ControllerView") -> tuple[int, int]:
    """A request-level policy's answer (not None) as ``(kind, index)`` of an available request, or one error
    naming the policy and its file (both engines check answers here)."""
    name = _policy_name(policy)
    try:
        kind, i = pick
        kind, i = int(kind), int(i)
    except (TypeError, ValueError):
        raise ArchsimError(f"scheduling policy {name}: select returned {pick!r}, not (READ | WRITE, index) "
                           "or None") from None
    if kind not in (READ, WRITE):
        raise ArchsimError(f"scheduling policy {name}: select returned kind {kind!r} (READ=0, WRITE=1)")
    q = view.queue(kind)
    if not 0 <= i < len(q) or not q.available[i]:
        raise ArchsimError(f"scheduling policy {name}: select returned {'write' if kind else 'read'} {i}, "
                           f"which is not an available request of its queue ({len(q)} queued)")
    return kind, i


def oldest_of(view: ControllerView, mode: int):
    """The request an :class:`Arbitration` names (the oldest available of the queue(s) it
    allows), as ``(kind, index)``, or None."""
    def first(q: QueueView):
        idx = np.flatnonzero(q.available)
        return int(idx[0]) if idx.size else -1

    if mode == Arbitration.NONE:
        return None
    ir = first(view.reads) if mode != Arbitration.WRITES_ONLY else -1
    iw = first(view.writes) if mode != Arbitration.READS_ONLY else -1
    if mode == Arbitration.OLDEST and ir >= 0 and iw >= 0:
        return (READ, ir) if view.reads.seq[ir] < view.writes.seq[iw] else (WRITE, iw)
    if mode == Arbitration.WRITES_FIRST:
        return (WRITE, iw) if iw >= 0 else ((READ, ir) if ir >= 0 else None)
    return (READ, ir) if ir >= 0 else ((WRITE, iw) if iw >= 0 else None)


class SchedulingPolicy:
    """Chooses the request a controller issues next; one instance per controller.

    Override :meth:`select` (request level) or :meth:`arbitrate` (queue level); the
    defaults are first-ready FCFS."""

    name: ClassVar[str] = "?"
    #: The policy's own parameters (a frozen dataclass; ``[timing.scheduling]`` sets them).
    Params: ClassVar[type] = NoParams
    #: The compiled twin of this policy in the fast model (``KERNEL_PYTHON``: call it through Python).
    kernel_code: ClassVar[int] = KERNEL_PYTHON
    #: True when the class overrides :meth:`select` (set for every subclass; the engines then build views).
    request_level: ClassVar[bool] = False

    def __init_subclass__(cls, **kw) -> None:
        super().__init_subclass__(**kw)
        cls.request_level = cls.select is not SchedulingPolicy.select
        # a subclass that overrides a decision method is not its parent's compiled twin any more
        if "kernel_code" not in cls.__dict__ and ("select" in cls.__dict__ or "arbitrate" in cls.__dict__):
            cls.kernel_code = KERNEL_PYTHON

    def __init__(self, params: Any = None) -> None:
        self.params = self.Params() if params is None else params
        #: True while the policy drains writes (no write is preempted then).
        self.draining = False

    def arbitrate(self, reads: int, writes: int) -> int:
        """Queue level: given ``reads`` and ``writes`` requests queued, return an :class:`Arbitration`."""
        return Arbitration.OLDEST

    def select(self, view: ControllerView):
        """Request level: the request to issue, ``(READ, i)`` / ``(WRITE, i)`` into ``view.reads`` /
        ``view.writes`` (it must be ``available``), or None to issue nothing now."""
        return oldest_of(view, self.arbitrate(len(view.reads), len(view.writes)))

    def preemption(self) -> tuple[int, float, int]:
        """``(Preemption, fraction, iteration_ps)``: whether a read cancels (while less than
        ``fraction`` of the write is done) or pauses (at the next boundary of its iterations of
        ``iteration_ps``) a write in service at its bank."""
        return (Preemption.NONE, 0.0, 0)

    def kernel_params(self) -> tuple[int, int]:
        """Integer parameters of the compiled twin (e.g. watermarks, the FR-FCFS cap)."""
        return (0, 0)


#: Scheduling policies, by name.
SCHEDULING_POLICIES: Registry[type[SchedulingPolicy]] = Registry("scheduling policy", SchedulingPolicy)


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


@dataclass(frozen=True)
class FrFcfsParams(NoParams):
    """Parameters of :class:`FrFcfs`."""

    hit_cap: int = 16
    """Consecutive row hits a bank may serve ahead of older requests (then the oldest goes)."""

    def validate(self, where: str, owner: Any = None) -> None:
        check_count(self.hit_cap, f"{where}.hit_cap", MAX_COUNT)


@SCHEDULING_POLICIES.register("fr-fcfs")
class FrFcfs(SchedulingPolicy):
    """First-ready FR-FCFS (Rixner et al. ISCA 2000) with a cap on consecutive row hits.

    Among the available requests of both queues: those that hit their bank's open
    row first, then the oldest. A bank that has served ``hit_cap`` row hits in a
    row loses the hit priority until it serves a miss (the cap of Ramulator's
    FRFCFS-Cap), so a stream of hits cannot starve an older miss. Without row
    buffers (page policy ``none``) no request hits and this is first-ready FCFS.
    """

    Params = FrFcfsParams
    kernel_code = KERNEL_FR_FCFS

    def __init__(self, params: FrFcfsParams | None = None) -> None:
        super().__init__(params)
        self.streak: dict[int, int] = {}

    def select(self, view: ControllerView):
        best, best_key = None, None
        cap = self.params.hit_cap
        for kind, q in ((READ, view.reads), (WRITE, view.writes)):
            for i in np.flatnonzero(q.available):
                b = int(q.bank[i])
                hit = bool(q.row_hit[i]) and self.streak.get(b, 0) < cap
                key = (not hit, int(q.seq[i]))
                if best_key is None or key < best_key:
                    best, best_key = (kind, int(i)), key
        if best is not None:
            q = view.queue(best[0])
            b = int(q.bank[best[1]])
            self.streak[b] = self.streak.get(b, 0) + 1 if q.row_hit[best[1]] else 0
        return best

    def kernel_params(self) -> tuple[int, int]:
        return (self.params.hit_cap, 0)


@dataclass(frozen=True)
class WriteCancelParams(ReadFirstParams):
    """Parameters of :class:`WriteCancel`: the drain watermarks and the cancellation threshold."""

    cancel_below: float = 0.75
    """A read cancels a write in service at its bank if less than this fraction of the write is done."""

    def validate(self, where: str, owner: Any = None) -> None:
        super().validate(where, owner)
        if not 0.0 < self.cancel_below <= 1.0:
            raise ConfigError(f"{where}.cancel_below must be in (0, 1], not {self.cancel_below!r}")


@SCHEDULING_POLICIES.register("write-cancel")
class WriteCancel(ReadFirst):
    """Read-first with write cancellation (Qureshi et al. HPCA 2010).

    A read that finds its bank busy with a write cancels the write if less than
    ``cancel_below`` of it is done (their adaptive threshold; 1.0 cancels always).
    The write returns to its place in the write queue and is served again in full
    later; the cells it programmed before the cancellation are charged (energy and
    wear). No write is cancelled during a write drain, which bounds how often one
    write can be cancelled (their forced completion when the queue fills up).
    """

    Params = WriteCancelParams
    kernel_code = KERNEL_READ_FIRST

    def preemption(self) -> tuple[int, float, int]:
        return (Preemption.CANCEL, float(self.params.cancel_below), 0)


@dataclass(frozen=True)
class WritePauseParams(ReadFirstParams):
    """Parameters of :class:`WritePause`: the drain watermarks and the length of a write iteration."""

    iteration_ns: float = 125.0
    """One program-and-verify iteration of a line write, ns (default: one RESET pulse of Table II,
    so a PCM write of 1000 ns is 8 iterations and a RESET-only write of 125 ns one, never paused)."""

    def validate(self, where: str, owner: Any = None) -> None:
        super().validate(where, owner)
        positive(self, "iteration_ns", where)


@SCHEDULING_POLICIES.register("write-pause")
class WritePause(ReadFirst):
    """Read-first with write pausing (Qureshi et al. HPCA 2010).

    A PCM line write is a series of program-and-verify iterations of
    ``iteration_ns`` each. A read that finds its bank busy with a write pauses it
    at the next iteration boundary (a write in its last iteration finishes); the bank serves the reads queued for it, then the write resumes where
    it stopped (no work is lost: energy and wear are those of one write). No write
    is paused during a write drain.
    """

    Params = WritePauseParams
    kernel_code = KERNEL_READ_FIRST

    def preemption(self) -> tuple[int, float, int]:
        return (Preemption.PAUSE, 0.0, int(round(self.params.iteration_ns * 1000)))

"""What both engines share: the bursts the front end hands over, and the memory's static description.

A :class:`Phase` is one step of the access pattern: a burst of line requests of
one kind (reads or writes) issued in order after a compute gap; the front end
waits until the burst is *accepted* by the controllers (posted writes) or
*completed* (reads: the computation needs the data). An engine
(:class:`MemorySystem`) takes a phase with the service times of its writes and
returns a SimPy event that fires when the phase's wait condition holds.

Time inside the engines is integer picoseconds (``env.now`` counts ps), so
results are exact and do not depend on the order in which simultaneous events
are processed.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
import simpy

from archsim.contracts import to_ps  # noqa: F401  (the timing model's time unit, re-exported)
from archsim.errors import ConfigError
from archsim.timing.organisation import Organisation
from archsim.timing.stats import READ, WRITE, TimingStats  # noqa: F401  (the request kinds, re-exported)

ACCEPTED = 1
COMPLETED = 2
INF_PS = 2**63 - 1
#: The latest time the front ends let a burst arrive, ps: the int64 clock (106 days) less 2^56 ps (20 h) for
#: the service, queueing and refreshes after it.
CLOCK_LIMIT_PS = INF_PS - 2**56


@dataclass
class Phase:
    """One burst of the access pattern (see the module docstring). ``lines``: global line indices."""

    name: str
    kind: int
    lines: np.ndarray
    gap_ps: int = 0
    wait: int = ACCEPTED
    tensors: tuple[str, ...] = ()
    parts: list = field(default_factory=list, repr=False)
    """Per channel: (channel, what to take of an iteration's per-line service times: a slice of consecutive
    lines or the lines, lines, banks within the channel, kinds, and for a read phase its (service, refresh) ps)."""


@dataclass
class SystemSpec:
    """The static memory: organisation, the bank of every line, refresh groups, read latency, and the
    controller's policy objects (one scheduling policy per channel, the refresh policy)."""

    timing: object
    org: Organisation
    line_bank: np.ndarray
    groups: np.ndarray
    read_ps: int
    schedulers: list
    refresh: object
    logging: bool = False
    line_row: np.ndarray | None = None
    """The row of every line within its bank (the address mapping's row field; default all 0)."""
    page: object = None
    """The page policy (:mod:`archsim.timing.rowbuffer`; default "none", no row buffer)."""

    def __post_init__(self) -> None:
        from archsim.timing.rowbuffer import PagePolicy

        self.line_bank = np.ascontiguousarray(self.line_bank, dtype=np.int32)
        n = self.line_bank.shape[0]
        self.line_row = (np.zeros(n, np.int64) if self.line_row is None
                         else np.ascontiguousarray(self.line_row, dtype=np.int64))
        if self.page is None:
            self.page = PagePolicy()
        self.hit_ps, self.miss_ps = self.page.latencies_ps(self.read_ps)
        self._reads = (np.zeros(0, np.int64), np.zeros(0, np.int64))  # _read_times
        self.bank_wear = np.zeros(self.org.total_banks, np.float64)
        """Cell flips per bank so far (the functional replay of the chunks fed; the policies' view)."""
        self.groups = np.ascontiguousarray(self.groups, dtype=np.int64)
        if self.groups.shape != self.line_bank.shape:
            raise ConfigError("region manager: refresh_groups() must give one group per line")
        self.line_channel = self.line_bank // self.org.banks_per_channel
        n = int(self.groups.max(initial=-1)) + 1
        member = np.flatnonzero(self.groups >= 0)
        order = member[np.argsort(self.groups[member], kind="stable")]  # by group, then line
        self.gmembers = np.ascontiguousarray(order, dtype=np.int64)
        self.group_size = np.bincount(self.groups[member], minlength=n).astype(np.int64)
        self.gstart = np.concatenate([[0], np.cumsum(self.group_size)]).astype(np.int64)
        if n:
            bank = self.line_bank[order]
            first = bank[self.gstart[:-1][self.group_size > 0]]
            if np.any(bank != np.repeat(first, self.group_size[self.group_size > 0])):
                raise ConfigError("region manager: a refresh group spans several banks (the lines of a group "
                                  "must share one bank)")

    @property
    def lines(self) -> int:
        return int(self.line_bank.shape[0])

    def _read_times(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(service, refresh) ps of ``n`` reads: the read latency, no refresh; views of one pair of arrays over
        every line, shared by the read phases (the engines only read them)."""
        if self._reads[0].shape[0] < n:
            m = max(n, self.lines)
            self._reads = (np.full(m, self.read_ps, dtype=np.int64), np.zeros(m, np.int64))
        return self._reads[0][:n], self._reads[1][:n]

    def split(self, phase: Phase) -> list:
        """Per-channel parts of a phase (cached on the phase)."""
        if not phase.parts:
            ch = self.line_channel[phase.lines]
            bpc = self.org.banks_per_channel
            for c in range(self.org.channels):
                pos = np.flatnonzero(ch == c)
                if pos.size:
                    lines = np.ascontiguousarray(phase.lines[pos], dtype=np.int64)
                    banks = np.ascontiguousarray(self.line_bank[lines] - c * bpc, dtype=np.int32)
                    kinds = np.full(pos.size, phase.kind, dtype=np.int8)
                    # a run of consecutive lines is taken from the iteration's service times as a view
                    consecutive = lines.size == 1 or bool(np.all(np.diff(lines) == 1))
                    take = slice(int(lines[0]), int(lines[-1]) + 1) if consecutive else lines
                    reads = self._read_times(lines.size) if phase.kind == READ else None
                    phase.parts.append((c, take, lines, banks, kinds, reads))
        return phase.parts


class _Countdown:
    """Fires ``event`` once ``n`` channel parts have signalled (no condition events).

    Each signal says after which late round of the current instant the part's
    condition held; the event's value is the latest, so that a burst the front end
    issues at once (no compute gap) arrives after that round, as in the reference."""

    __slots__ = ("n", "event", "time", "round")

    def __init__(self, n: int, event: simpy.Event) -> None:
        self.n = n
        self.event = event
        self.time = -1
        self.round = 0

    def __call__(self, time: int, round: int) -> None:
        if time > self.time:
            self.time, self.round = time, round
        elif time == self.time:
            self.round = max(self.round, round)
        self.n -= 1
        if self.n == 0:
            self.event.succeed(self.round)


class MemorySystem(ABC):
    """An engine: channels, controllers and banks in a SimPy environment."""

    def __init__(self, env: simpy.Environment, spec: SystemSpec, stats: TimingStats) -> None:
        self.env = env
        self.spec = spec
        self.stats = stats
        self._burst = 0

    def submit(self, phase: Phase, write_ps: np.ndarray, refresh_ps: np.ndarray,
               after_round: int = 0) -> simpy.Event:
        """Issue ``phase`` now; ``write_ps`` / ``refresh_ps``: per global line, this iteration's
        write service and triggered refresh (ps). ``after_round``: the burst arrives after that
        many late rounds of the current instant (the value of the previous burst's event when
        it is issued without a gap; 0 otherwise). The event fires on the phase's wait
        condition; its value is the late round after which that happened. The engines read a request's
        service times by the time it is accepted (every wait condition implies that), so the caller may
        overwrite the two arrays once the event has fired, not before."""
        parts = self.spec.split(phase)
        done = self.env.event()
        if not parts:
            done.succeed(after_round)
            return done
        signal = _Countdown(len(parts), done)
        burst = self._burst
        self._burst += 1
        for c, take, lines, banks, kinds, reads in parts:
            if reads is not None:
                wps, rps = reads
            else:  # a view of the caller's arrays for consecutive lines: the engines read them by acceptance
                wps = np.ascontiguousarray(write_ps[take])
                rps = np.ascontiguousarray(refresh_ps[take])
            self._submit(c, burst, kinds, lines, banks, wps, rps, phase.wait, signal, after_round)
        return done

    @abstractmethod
    def _submit(self, channel, burst, kinds, lines, banks, wps, rps, wait, signal, after_round) -> None:
        """Hand one channel's part of a burst to that channel."""

    @abstractmethod
    def flush(self) -> None:
        """Let every channel run until all requests and refreshes are done (then ``env.run()``)."""

    @abstractmethod
    def write_back_rows(self) -> None:
        """The end of the run with write-back row buffers (the memory drained, then ``env.run()``):
        every bank with a dirty open row writes it back from now."""

    def drain(self) -> None:
        """Run every outstanding request and refresh to completion (after the last burst); with
        write-back row buffers, then write back the dirty rows and run those to completion too."""
        self.flush()
        self.env.run()
        if self.spec.page.writes_back:
            self.write_back_rows()
            self.env.run()

    @abstractmethod
    def request_log(self) -> list[tuple]:
        """With ``spec.logging``: one tuple per completed request (burst, index, kind, bank, line,
        release, enqueue, start, finish, miss), in ps."""

    @abstractmethod
    def refresh_log(self) -> list[tuple]:
        """With ``spec.logging``: (bank, line, start, end, "done" | "cancelled") per refresh run."""

    @abstractmethod
    def preemption_log(self) -> list[tuple]:
        """With ``spec.logging``: (bank, line, start, end, "cancelled" | "paused") per write cancelled
        or paused (start: of the service segment that ended)."""

    @abstractmethod
    def pending_refreshes(self) -> int:
        """Refreshes not yet done (queued, held or running)."""

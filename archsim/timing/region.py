"""The region manager: polarity of lines and regions, and how refreshes reach the scheduler.

The functional ping-pong policy (:class:`archsim.pcm.polarity.PingPongPolicy`)
decides the initial polarity of every line (10: PreSET cells, served by the
AppWOM10 code; 01: PreRESET cells, AppWOM01) and whether an exhausted line
switches polarity. The encoder's kernels apply it; the region manager wraps the
**same object** and adds what happens in time:

* it owns the polarity of every line and region, following the encoder's
  outcomes (a write that exhausted its line under ping-pong switches the line),
  and so tells which code serves the next write of each line (:meth:`RegionManager.code`);
* it hands each refresh a write triggered to the bank's idle-period scheduler,
  through :meth:`RegionManager.refresh_groups`: refreshes of the lines of one group
  are handed over together, when every line of the group has one pending. A group of
  one line (the default, ``-1``) hands each refresh over as soon as its write completes.

Managers are registered in :data:`REGION_MANAGERS` and built as
``cls(policy, line_bank=..., params=...)`` (``params``: the manager's own
``Params``, set from ``[timing.region_manager]``). A manager changes
*when* refreshes may run, never which cells they program: a write that finds its
line's refresh not done performs it inline with the same flips as the
functional replay (a refresh miss), so energy and wear stay those of the
functional path and only latency changes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from archsim.config import check_count
from archsim.pcm.polarity import POLARITY_01, POLARITY_10, PingPongPolicy
from archsim.registry import NoParams, Registry

CODES = {POLARITY_10: "AppWOM10", POLARITY_01: "AppWOM01"}


class RegionManager:
    """Eager hand-off (the paper's ping-pong): each refresh is queued when its write completes.

    ``policy``: the ping-pong policy the scheme applies per line (the stream's
    :meth:`~archsim.contracts.TechnologyStream.polarity_policy`), or None for a scheme
    without per-line polarity (its lines then have no code to choose, :attr:`polarity`
    is None). ``line_bank``: the global bank of every line (int array, the lines of the
    simulated address space in global order).
    """

    name: ClassVar[str] = "?"
    #: The manager's own parameters (a frozen dataclass; ``[timing.region_manager]`` sets them).
    Params: ClassVar[type] = NoParams

    def __init__(self, policy: PingPongPolicy | None, *, line_bank: np.ndarray, params: Any = None) -> None:
        self.policy = policy
        self.params = self.Params() if params is None else params
        self.line_bank = np.asarray(line_bank, dtype=np.int64)
        self.lines = int(self.line_bank.shape[0])
        self.polarity: np.ndarray | None = policy.initial(self.lines, 0) if policy is not None else None
        self.switches = np.zeros(self.lines, dtype=np.int64)

    # -- polarity ------------------------------------------------------------------------
    def observe(self, first_line: int, refreshes: np.ndarray) -> None:
        """Follow the encoder: ``refreshes`` (T, n) units refreshed by each write of lines
        ``first_line .. first_line + n``; an exhaustion under ping-pong switches polarity."""
        if self.polarity is None or not self.policy.ping_pong:
            return
        n = refreshes.shape[1]
        count = (np.asarray(refreshes) > 0).sum(axis=0)
        self.switches[first_line:first_line + n] += count
        self.polarity[first_line:first_line + n] ^= (count & 1).astype(np.uint8)

    def code(self, lines: np.ndarray | slice | None = None) -> np.ndarray:
        """The code that serves the next write of each line ("AppWOM10" / "AppWOM01")."""
        if self.polarity is None:
            raise ValueError("this scheme has no per-line polarity (no ping-pong policy, or refresh_unit='word')")
        pol = self.polarity if lines is None else self.polarity[lines]
        return np.where(pol == POLARITY_10, CODES[POLARITY_10], CODES[POLARITY_01])

    def region_polarity(self) -> np.ndarray:
        """Polarity of every region of the ping-pong policy: 0 (10), 1 (01) or -1 (mixed)."""
        if self.polarity is None:
            raise ValueError("this scheme has no per-line polarity")
        region = self.policy.region_of(np.arange(self.lines))
        n = int(region.max()) + 1 if self.lines else 0
        ones = np.bincount(region, weights=self.polarity, minlength=n)
        size = np.bincount(region, minlength=n)
        return np.where(ones == 0, 0, np.where(ones == size, 1, -1)).astype(np.int8)

    # -- refresh hand-off -------------------------------------------------------------------
    def refresh_groups(self) -> np.ndarray:
        """Group of every line for the refresh hand-off (int64, -1 = hand over at once)."""
        return np.full(self.lines, -1, dtype=np.int64)


#: Region managers, by name.
REGION_MANAGERS: Registry[type[RegionManager]] = Registry("region manager", RegionManager)
REGION_MANAGERS.register("ping-pong", RegionManager)


@dataclass(frozen=True)
class RegionParams(NoParams):
    """Parameters of :class:`RegionExhausted`."""

    region_lines: int = 8
    """Consecutive lines per region."""

    def validate(self, where: str, owner: Any = None) -> None:
        check_count(self.region_lines, f"{where}.region_lines")


@REGION_MANAGERS.register("region-exhausted")
class RegionExhausted(RegionManager):
    """Refresh a region only when all of it is exhausted.

    The lines of one bank within a region of ``region_lines`` consecutive
    lines form a group: their refreshes are held until every line of the group
    has one pending, then all are queued at once (row-at-a-time PreSET /
    PreRESET). A line written again while its refresh is held pays it inline (a
    refresh miss), so the flips are those of the functional replay; only the
    latency differs from the eager manager.
    """

    Params = RegionParams

    def refresh_groups(self) -> np.ndarray:
        region = np.arange(self.lines, dtype=np.int64) // self.params.region_lines
        key = region * (int(self.line_bank.max(initial=0)) + 1) + self.line_bank
        _, group = np.unique(key, return_inverse=True)
        return group.astype(np.int64)

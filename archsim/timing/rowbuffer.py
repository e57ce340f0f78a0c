"""Row buffers: the page policy of every bank, by name (``[timing.page_policy]``).

Each bank has one row buffer holding an open row of ``row_lines`` lines (the column
field of the address mapping). A read that hits the open row is served from the
buffer in ``row_hit_ns``; a miss reads the array in ``array_read_ns``. With the
``open`` page policy a read leaves its row open (the next read of that row hits);
with ``closed`` the row is closed after every access (auto-precharge: every read
reads the array). Writes are written through to the array, as in the papers'
model: a write costs its own latency (the encoding outcome's) and does not change
the open row. Idle-period refreshes program the array directly and do not change it either.

With ``writes = "back"`` (``open`` and ``closed`` only) the row buffer is write-back:
a write is served like a read (``row_hit_ns`` into the open row, or the row is
opened first on a miss) and leaves its line dirty; the array programming of every
buffered write (its own service time, plus an inline refresh on a refresh miss) is
deferred to the row's write-back, a burst of their summed service times that keeps
the bank busy when the row is closed: before a miss opens another row (that
request's service starts with it), right after each write under ``closed``, and at
the end of the run. ``docs/timing.md`` ("Write-back row buffers") states the rules.

``none`` (the default) models no row buffer: every read costs the technology's
read latency, the model of the AppWOM paper's Table II; the golden tables are
recorded with it.

Defaults of ``open`` / ``closed`` (after Lee et al., ISCA 2009, who put a
DRAM-like row buffer in front of the PCM array): ``row_hit_ns`` = 12.5 ns (their
row-buffer read, tCL, as DRAM's); ``array_read_ns`` = 0, which means the
technology's own read latency (for PCM the 125 ns of Table II, itself taken from
Lee et al.'s PCM parameters), so that only the hits change against ``none``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from archsim.config import non_negative
from archsim.errors import ConfigError
from archsim.registry import NoParams, Registry

PAGE_NONE, PAGE_OPEN, PAGE_CLOSED = 0, 1, 2
#: ``[timing.page_policy] writes``: write-through (default) or write-back row buffers.
WRITE_MODES = ("through", "back")


@dataclass(frozen=True)
class RowBufferParams(NoParams):
    """Latencies of a bank's row buffer."""

    row_hit_ns: float = 12.5
    """Read from the open row (Lee et al. ISCA 2009: tCL of the DRAM-like row buffer), ns."""
    array_read_ns: float = 0.0
    """Array read of a row-buffer miss, ns; 0: the technology's read latency (PCM: 125 ns, Table II)."""
    writes: str = "through"
    """"through": writes program the array at once (the papers' model); "back": they land in the open row
    and are programmed when the row is written back."""

    def validate(self, where: str, owner: Any = None) -> None:
        if self.writes not in WRITE_MODES:
            raise ConfigError(f"{where}.writes must be one of {', '.join(map(repr, WRITE_MODES))}, "
                              f"not {self.writes!r}")
        non_negative(self, "row_hit_ns", where)
        non_negative(self, "array_read_ns", where)


class PagePolicy:
    """No row buffer: every read costs the technology's read latency (the default)."""

    name: ClassVar[str] = "?"
    Params: ClassVar[type] = NoParams
    #: The kernel's code of this page policy.
    code: ClassVar[int] = PAGE_NONE

    def __init__(self, params: Any = None) -> None:
        self.params = self.Params() if params is None else params

    def latencies_ps(self, read_ps: int) -> tuple[int, int]:
        """(row-buffer hit, array read) in ps, given the technology's read latency."""
        return (read_ps, read_ps)

    @property
    def writes_back(self) -> bool:
        """Whether writes are buffered in the open row and written back when it closes."""
        return False


#: Page policies, by name.
PAGE_POLICIES: Registry[type[PagePolicy]] = Registry("page policy", PagePolicy)
PAGE_POLICIES.register("none", PagePolicy)


@PAGE_POLICIES.register("open")
class OpenPage(PagePolicy):
    """Open page: a read leaves its row open in the bank's row buffer."""

    Params = RowBufferParams
    code = PAGE_OPEN

    def latencies_ps(self, read_ps: int) -> tuple[int, int]:
        p = self.params
        miss = int(round(p.array_read_ns * 1000)) if p.array_read_ns > 0 else read_ps
        return (int(round(p.row_hit_ns * 1000)), miss)

    @property
    def writes_back(self) -> bool:
        return self.params.writes == "back"


@PAGE_POLICIES.register("closed")
class ClosedPage(OpenPage):
    """Closed page: the row is closed after every access (every read reads the array)."""

    code = PAGE_CLOSED

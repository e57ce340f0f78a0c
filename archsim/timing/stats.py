"""Statistics of a timing run: per-request, per-bank and per-channel counters, and their tables.

Both engines (the fast burst model and the event-per-request reference) fill the
same integer arrays, in picoseconds, so their results can be compared exactly:

* ``req[bank, kind, field]`` (kind ``READ`` or ``WRITE``): count, summed latency
  (enqueue to completion), summed queueing delay (enqueue to service start),
  summed service time, maximum latency, summed port wait (the time a request spent
  queued while its bank, or its port group, was busy serving something else) and the
  number of requests whose port wait was not zero;
* ``hist[bank, kind, bin]``: latency histogram, 1-ns bins below ``LIN_NS`` (4096) ns,
  then ``PER_OCTAVE`` (256) bins per octave (0.27 % wide); percentiles are read from
  it (nearest rank, reported as the bin's lower edge);
* ``bank[bank, field]``: busy time (demand service + refreshes + the wasted part
  of cancelled refreshes), refreshes done in idle time and their time, refresh
  misses and the inline refresh time they added, refresh cancellations and the
  time wasted, silent writes (writes that programmed nothing and paid nothing),
  reads served from the open row (row hits), writes cancelled by a read and the
  service they had done, writes paused for a read;
* ``chan[channel, field]``: requests that waited at the front end's issue port
  (back-pressure: the queue was full or the in-flight limit reached), the total
  time they waited, and requests accepted;
* ``occ[channel, n]``: time (ps) each controller spent with ``n`` requests queued
  (reads and writes waiting, not in service), up to its last change (the rest of the
  run, to the elapsed time, is at 0): the queue-occupancy distribution;
* ``line_cancelled[line]``: the summed fraction of a write done when it was cancelled
  (write-cancel), per line: the programmed cells the model charges in energy and wear.

The layout (which field is which index, the histogram's shape) is kept once, in
``cython_kernels/_timing_layout.pxd``; the compiled kernel indexes with it and exports
it, and this module takes it from there: the names of the fields (``REQ_FIELDS``,
``BANK_FIELDS``, ``CHAN_FIELDS``, ``KINDS``) in index order and one constant per index,
named after its field (``req[bank, READ, R_MAX_PS]``, ``bank[bank, B_REFRESH_MISSES]``,
``chan[channel, C_ACCEPTED]``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from archsim._timing_kernel import (  # noqa: F401  (the layout, re-exported for the engines and tests)
    B_BUSY_PS, B_REFRESH_CANCELLATIONS, B_REFRESH_CANCELLED_PS, B_REFRESH_IDLE_PS, B_REFRESH_MISS_PS,
    B_REFRESH_MISSES, B_REFRESHES_IDLE, B_ROW_HITS, B_SILENT_WRITES, B_WRITE_CANCELLATIONS, B_WRITE_CANCELLED_PS,
    B_WRITE_PAUSES, B_WRITEBACK_LINES, B_WRITEBACK_PS, B_WRITEBACKS, BANK_FIELDS, C_ACCEPTED, C_STALL_PS,
    C_STALLED_REQUESTS, CHAN_FIELDS, KINDS, LIN_NS, NBINS, NKINDS, OCTAVES, PER_OCTAVE, R_COUNT,
    R_LATENCY_PS, R_MAX_PS, R_PORT_WAIT_PS, R_PORT_WAITS, R_QUEUE_PS, R_SERVICE_PS, READ, REQ_FIELDS, WRITE)

PS = 1000
QUANTILES = (0.5, 0.95, 0.99)


def bin_lower_ns(index: np.ndarray | int) -> np.ndarray:
    """Lower edge (ns) of latency histogram bins."""
    i = np.asarray(index, dtype=np.float64)
    return np.where(i < LIN_NS, i, LIN_NS * np.exp2((i - LIN_NS) / PER_OCTAVE))


def quantile_ns(hist: np.ndarray, q: float) -> float:
    """Nearest-rank quantile ``q`` of a latency histogram, ns (NaN if empty)."""
    return quantiles_ns(hist, (q,))[0]


def quantiles_ns(hist: np.ndarray, qs) -> list[float]:
    """:func:`quantile_ns` of each of ``qs`` (one cumulative sum for all)."""
    cum = np.cumsum(hist)
    n = int(cum[-1]) if cum.size else 0
    if n == 0:
        return [float("nan")] * len(qs)
    return [float(bin_lower_ns(int(np.searchsorted(cum, max(1, int(np.ceil(q * n))))))) for q in qs]


@dataclass
class TimingStats:
    """The counters of one run (see the module docstring); all times in ps."""

    req: np.ndarray
    hist: np.ndarray
    bank: np.ndarray
    chan: np.ndarray
    occ: np.ndarray
    line_cancelled: np.ndarray
    line_bytes: int = 64
    servers: int = 1
    """Servers per bank the arrays' rows stand for: 1, or after :meth:`folded` the racetrack port groups
    folded into each row (utilisation is busy time / (elapsed time x servers))."""

    @classmethod
    def zeros(cls, banks: int, channels: int, *, occupancy: int = 1, lines: int = 0,
              line_bytes: int = 64) -> "TimingStats":
        """Zeroed counters; ``occupancy``: queued-request counts per controller to keep (0 .. occupancy-1)."""
        # the histogram is indexed [bank, kind, bin] but stored [kind, bin, bank]: a request's completion adds 1
        # to one bin, and the banks of a channel see latencies alike, so the bins in use stay a few cache lines
        # (stored [bank, kind, bin], each bank's would be its own 115 kB span: a cache miss per request)
        hist = np.zeros((NKINDS, NBINS, banks), np.int64).transpose(2, 0, 1)
        return cls(np.zeros((banks, NKINDS, len(REQ_FIELDS)), np.int64), hist,
                   np.zeros((banks, len(BANK_FIELDS)), np.int64), np.zeros((channels, len(CHAN_FIELDS)), np.int64),
                   np.zeros((channels, occupancy), np.int64), np.zeros(lines, np.float64), line_bytes)

    @classmethod
    def for_system(cls, spec, line_bytes: int = 64) -> "TimingStats":
        """Counters sized for a :class:`~archsim.timing.system.SystemSpec` (a re-queued cancelled write
        per bank can take a controller past its queues' sizes)."""
        t = spec.timing
        return cls.zeros(spec.org.total_banks, spec.org.channels,
                         occupancy=t.read_queue + t.write_queue + spec.org.banks_per_channel + 1, lines=spec.lines,
                         line_bytes=line_bytes)

    def equal(self, other: "TimingStats") -> bool:
        return all(np.array_equal(a, b) for a, b in ((self.req, other.req), (self.hist, other.hist),
                                                     (self.bank, other.bank), (self.chan, other.chan),
                                                     (self.occ, other.occ),
                                                     (self.line_cancelled, other.line_cancelled)))

    def folded(self, groups: int) -> "TimingStats":
        """Counters per bank from counters per port group (rows ``bank * groups + g``, as the engines
        see a racetrack bank of ``groups`` port groups): sums, the maximum latency the largest."""
        if groups == 1:
            return self
        nb = self.req.shape[0] // groups
        req = self.req.reshape(nb, groups, NKINDS, len(REQ_FIELDS)).sum(axis=1)
        req[:, :, R_MAX_PS] = self.req[:, :, R_MAX_PS].reshape(nb, groups, NKINDS).max(axis=1)
        return TimingStats(req, self.hist.reshape(nb, groups, NKINDS, -1).sum(axis=1),
                           self.bank.reshape(nb, groups, -1).sum(axis=1), self.chan, self.occ, self.line_cancelled,
                           self.line_bytes, groups)

    def port_columns(self, req: np.ndarray) -> dict[str, float]:
        """How often and how long requests waited for their port (``req`` summed over kinds or not):
        ``port_waits`` (requests that waited), ``port_wait_ns`` (their mean wait), ``port_wait_total_ns``."""
        waits = int(req[..., R_PORT_WAITS].sum())
        total = int(req[..., R_PORT_WAIT_PS].sum())
        return {"port_waits": waits, "port_wait_ns": total / PS / waits if waits else 0.0,
                "port_wait_total_ns": total / PS}

    # -- tables --------------------------------------------------------------------------
    def _latency_columns(self, req: np.ndarray, hist: np.ndarray) -> dict[str, float]:
        row: dict[str, float] = {}
        for k, kind in enumerate(KINDS):
            n = int(req[k, R_COUNT])
            row[f"{kind}s"] = n
            row[f"{kind}_avg_latency_ns"] = req[k, R_LATENCY_PS] / PS / n if n else float("nan")
            for q, v in zip(QUANTILES, quantiles_ns(hist[k], QUANTILES)):
                row[f"{kind}_p{int(q * 100)}_latency_ns"] = v
            row[f"{kind}_max_latency_ns"] = req[k, R_MAX_PS] / PS if n else float("nan")
            row[f"{kind}_avg_queue_ns"] = req[k, R_QUEUE_PS] / PS / n if n else float("nan")
            row[f"{kind}_avg_service_ns"] = req[k, R_SERVICE_PS] / PS / n if n else float("nan")
        return row

    def _bank_columns(self, bank: np.ndarray, elapsed_ps: int, banks: int) -> dict[str, float]:
        b = dict(zip(BANK_FIELDS, (int(x) for x in bank)))
        return {
            "busy_ns": b["busy_ps"] / PS,
            "utilisation": b["busy_ps"] / (elapsed_ps * banks) if elapsed_ps else 0.0,
            "refreshes_idle": b["refreshes_idle"],
            "refresh_idle_ns": b["refresh_idle_ps"] / PS,
            "refresh_misses": b["refresh_misses"],
            "refresh_miss_ns": b["refresh_miss_ps"] / PS,
            "refresh_cancellations": b["refresh_cancellations"],
            "refresh_cancelled_ns": b["refresh_cancelled_ps"] / PS,
            "silent_writes": b["silent_writes"],
        }

    def _controller_columns(self, req: np.ndarray, bank: np.ndarray, elapsed_ps: int) -> dict[str, float]:
        reads, writes = int(req[READ, R_COUNT]), int(req[WRITE, R_COUNT])
        return {
            "row_hits": int(bank[B_ROW_HITS]),
            "row_hit_rate": bank[B_ROW_HITS] / reads if reads else float("nan"),
            "read_bandwidth_gbs": reads * self.line_bytes / (elapsed_ps / PS) if elapsed_ps else 0.0,
            "write_bandwidth_gbs": writes * self.line_bytes / (elapsed_ps / PS) if elapsed_ps else 0.0,
            "write_cancellations": int(bank[B_WRITE_CANCELLATIONS]),
            "write_cancelled_ns": bank[B_WRITE_CANCELLED_PS] / PS,
            "write_pauses": int(bank[B_WRITE_PAUSES]),
        }

    @staticmethod
    def writeback_columns(bank: np.ndarray) -> dict[str, np.ndarray | float]:
        """Write-back row buffers (``bank`` one row or per bank): ``writebacks`` (bursts writing back a
        dirty row), ``writeback_lines`` (the buffered writes they programmed) and ``writeback_ns``
        (their array service)."""
        bank = np.asarray(bank)
        return {"writebacks": bank[..., B_WRITEBACKS], "writeback_lines": bank[..., B_WRITEBACK_LINES],
                "writeback_ns": bank[..., B_WRITEBACK_PS] / PS}

    def controller_columns(self, elapsed_ps: int) -> pd.DataFrame:
        """Per bank: row hits and hit rate (of reads), read and write bandwidth (GB/s, line bytes
        over the elapsed time), writes cancelled (and their lost service, ns) and paused."""
        return pd.DataFrame(self.controller_columns_dict(elapsed_ps))

    def controller_columns_dict(self, elapsed_ps: int) -> dict[str, list]:
        """:meth:`controller_columns` as name -> array."""
        return _columns([self._controller_columns(self.req[i], self.bank[i], elapsed_ps)
                         for i in range(self.bank.shape[0])])

    def occupancy(self, elapsed_ps: int) -> np.ndarray:
        """Time (ps) each controller spent with n requests queued, (channels, n), to the elapsed time."""
        occ = self.occ.copy()
        occ[:, 0] += np.maximum(elapsed_ps - occ.sum(axis=1), 0)
        return occ

    def per_controller(self, elapsed_ps: int) -> pd.DataFrame:
        """One row per controller: queued requests (reads and writes waiting), time-weighted mean and p99,
        and the back-pressure at its issue port."""
        return pd.DataFrame(self._controller_rows(elapsed_ps))

    def _controller_rows(self, elapsed_ps: int) -> list[dict]:
        occ = self.occupancy(elapsed_ps)
        rows = []
        n = np.arange(occ.shape[1])
        for c in range(occ.shape[0]):
            total = occ[c].sum()
            rows.append({
                "controller": c,
                "queue_occupancy_mean": float((occ[c] * n).sum() / total) if total else 0.0,
                "queue_occupancy_p99": float(quantile_ns(occ[c], 0.99)) if total else 0.0,
                "queue_occupancy_max": int(np.flatnonzero(occ[c])[-1]) if total else 0,
                "stalled_requests": int(self.chan[c, C_STALLED_REQUESTS]),
                "accepted_requests": int(self.chan[c, C_ACCEPTED]),
            })
        return rows

    def per_bank(self, labels: list[str], elapsed_ps: int) -> pd.DataFrame:
        """One row per bank: request counts, latency statistics (ns), busy time, utilisation, refreshes."""
        return pd.DataFrame(self.per_bank_columns(labels, elapsed_ps))

    def per_bank_columns(self, labels: list[str], elapsed_ps: int) -> dict[str, list]:
        """:meth:`per_bank` as name -> array."""
        rows = []
        for i, label in enumerate(labels):
            row = {"bank": label}
            row.update(self._latency_columns(self.req[i], self.hist[i]))
            row.update(self._bank_columns(self.bank[i], elapsed_ps, self.servers))
            rows.append(row)
        return _columns(rows)

    def overall(self, elapsed_ps: int) -> dict[str, float]:
        """The whole memory in one row (utilisation averaged over banks)."""
        req = self.req.sum(axis=0)
        req[:, R_MAX_PS] = self.req[:, :, R_MAX_PS].max(axis=0)
        row = {"elapsed_ns": elapsed_ps / PS}
        row.update(self._latency_columns(req, self.hist.sum(axis=0)))
        row.update(self._bank_columns(self.bank.sum(axis=0), elapsed_ps, self.bank.shape[0] * self.servers))
        c = self.chan.sum(axis=0)
        row.update(stalled_requests=int(c[C_STALLED_REQUESTS]), stall_ns=c[C_STALL_PS] / PS,
                   accepted_requests=int(c[C_ACCEPTED]))
        return row

    def overall_controller(self, elapsed_ps: int) -> dict[str, float]:
        """The new controller figures of the whole memory: the per-bank ones summed, and the queue
        occupancy (mean over the controllers of their means, the largest p99)."""
        row = self._controller_columns(self.req.sum(axis=0), self.bank.sum(axis=0), elapsed_ps)
        ctl = self._controller_rows(elapsed_ps)
        row["queue_occupancy_mean"] = float(np.mean([r["queue_occupancy_mean"] for r in ctl]))
        row["queue_occupancy_p99"] = float(max(r["queue_occupancy_p99"] for r in ctl))
        return row


def _columns(rows: list[dict]) -> dict[str, list]:
    """Rows (dicts of the same keys) as columns, name -> list of values (a DataFrame built from them
    infers the dtypes it would from the rows)."""
    if not rows:
        return {}
    return {k: [r[k] for r in rows] for k in rows[0]}

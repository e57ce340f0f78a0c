"""A timing simulation of one write scheme: build it from a config, feed it the functional
outcomes chunk by chunk, read the tables.

::

    model = TimingModel(config, technology=TECHNOLOGIES.get("pcm"), scheme="preset",
                        layout=layout, meta=source.meta)
    for chunk in ...:                       # ChunkOutcome.outcome, (T, layout.lines, 5)
        model.feed(chunk)
    result = model.finish()                 # TimingResult: per_bank, overall, summary, lifetimes

The model asks the technology (:class:`archsim.contracts.MemoryTechnology`) for what it
needs: the service times of each chunk's writes, the refreshes they triggered, the energy and
wear per line, the read energy and the endurance; so it serves any technology. In the
training access pattern it also writes the intermediate data itself, through a stream of the
same scheme over the intermediate lines, with seeded random content.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import simpy

from archsim.config import Config
from archsim.contracts import ChunkOutcome, MemoryTechnology
from archsim.errors import ConfigError
from archsim.timing.arrivals import ArrivalFrontEnd, iteration_order_violation
from archsim.timing.fast import BurstMemorySystem
from archsim.timing.frontend import FrontEnd, intermediate_lines, minimal_phases, training_phases
from archsim.timing.intermediate import IntermediateContent, IntermediateWrites
from archsim.timing.organisation import Organisation, port_units
from archsim.timing.parts import TimingParts
from archsim.timing.reference import RequestMemorySystem
from archsim.timing.stats import R_COUNT, R_SERVICE_PS, READ, WRITE, TimingStats
from archsim.timing.system import ACCEPTED, COMPLETED, Phase, SystemSpec, to_ps

ENGINES = {"fast": BurstMemorySystem, "reference": RequestMemorySystem}
#: The timing tables' columns of wear levelling's copies (``timing_overall``; ``timing_<name>`` in the
#: run's summary), present with a wear leveller only.
LEVELLING_COLUMNS = ("levelling_writes", "levelling_write_share", "levelling_write_service_ns",
                     "levelling_write_time_share", "levelling_energy_share")


@dataclass
class TimingResult:
    """Tables of one scheme's timing run. Times ns, energies pJ."""

    scheme: str
    per_bank: pd.DataFrame
    overall: dict[str, Any]
    lifetimes: pd.DataFrame
    stats: TimingStats
    elapsed_ps: int
    iterations: int
    request_log: list = field(default_factory=list, repr=False)
    refresh_log: list = field(default_factory=list, repr=False)
    per_controller: pd.DataFrame | None = None
    """One row per controller: queue occupancy (mean, p99, max), back-pressure."""

    @property
    def summary(self) -> dict[str, Any]:
        """The summary columns of ``archsim run --timing``."""
        o = self.overall
        return {
            "queued_avg_write_latency_ns": o["write_avg_latency_ns"],
            "queued_p99_write_latency_ns": o["write_p99_latency_ns"],
            "device_avg_write_latency_ns": o["write_avg_service_ns"],
            "queued_avg_read_latency_ns": o["read_avg_latency_ns"],
            "refresh_misses": o["refresh_misses"],
            "refreshes_idle": o["refreshes_idle"],
            "refresh_cancellations": o["refresh_cancellations"],
            "bank_utilisation": o["utilisation"],
            "simulated_time_ns": o["elapsed_ns"],
            "row_hit_rate": o["row_hit_rate"],
            "read_bandwidth_gbs": o["read_bandwidth_gbs"],
            "write_bandwidth_gbs": o["write_bandwidth_gbs"],
            "write_cancellations": o["write_cancellations"],
            "write_pauses": o["write_pauses"],
            "queue_occupancy_mean": o["queue_occupancy_mean"],
            "queue_occupancy_p99": o["queue_occupancy_p99"],
            **({"port_waits": o["port_waits"], "port_wait_ns": o["port_wait_ns"]} if "port_wait_ns" in o else {}),
            **({"writebacks": o["writebacks"], "writeback_lines": o["writeback_lines"]} if "writebacks" in o else {}),
            **{f"timing_{k}": o[k] for k in LEVELLING_COLUMNS if k in o},  # with a wear leveller only
        }


#: Bytes the model keeps per line of the address space beside the intermediate stream: the bank, row
#: and unit of each line, the engine's per-line state (pending refresh, refresh queue links, cancelled
#: fractions) and the per-line energy and wear totals (110 B measured with ``tracemalloc`` on
#: synthetic-lenet's model before its first chunk, plus five totals of 8 B).
BYTES_PER_LINE = 160
#: Bytes per line and iteration of a chunk's temporaries: every line's write and refresh service
#: times (int64, and their concatenation), and for each intermediate line also its content (kept
#: for the chunk being encoded and the next), its outcome, its service times in ns and the line
#: totals' counters.
CHUNK_BYTES_PER_LINE = 32
#: Bytes per weight line and iteration of the weights' chunk outcomes the ``timing`` observer holds for a model
#: beside the stream's own: the chunk being simulated on the model's thread and the one waiting
#: (:attr:`archsim.timing.observer.TimingObserver.AHEAD`), (T, lines, 5) uint32 each.
HELD_BYTES_PER_LINE = 2 * 5 * 4
CHUNK_BYTES_PER_INTERMEDIATE_LINE = 5 * 4 + 2 * 8 + 2 * 8 + 4 * 4


def _add_per_bank(bank_wear: np.ndarray, units: np.ndarray, flips: np.ndarray) -> None:
    """``bank_wear[units[i]] += flips[i]`` for every i, in place. Integer flips are summed per bank by
    ``bincount`` first (exact below 2^53, so the same numbers as one addition at a time); others one at a time."""
    if flips.dtype.kind in "ui" and flips.ndim == 1:
        bank_wear += np.bincount(units, weights=flips, minlength=bank_wear.shape[0])
    else:
        np.add.at(bank_wear, units, flips)


def available_memory_bytes() -> int | None:
    """Memory this machine can give now (psutil's ``available``; ``None`` where it cannot be told)."""
    try:
        import psutil
    except ImportError:
        return None
    return int(psutil.virtual_memory().available)


def _array_bytes(obj, seen: set | None = None, depth: int = 0) -> int:
    """Bytes of the numpy arrays an object holds (its attributes, containers and dataclasses, followed a few
    levels down; each array's memory once): a stream's state, measured the same way whatever ran before."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 6:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        base = obj
        while isinstance(base.base, np.ndarray):
            base = base.base
        if base is not obj:
            return _array_bytes(base, seen, depth)
        return int(obj.nbytes)
    if isinstance(obj, dict):
        items = obj.values()
    elif isinstance(obj, (list, tuple, set, frozenset)):
        items = obj
    elif hasattr(obj, "__dict__") or hasattr(obj, "__slots__"):
        items = list(getattr(obj, "__dict__", {}).values())
        items += [getattr(obj, k) for k in getattr(type(obj), "__slots__", ()) if hasattr(obj, k)]
    else:
        return 0
    return sum(_array_bytes(x, seen, depth + 1) for x in items)


def check_memory(config, technology, scheme: str, lines: int, inter_lines: int, words: int, first_line: int,
                 *, available: int | None = None, chunk_iterations: int = 0, reserved: int = 0,
                 reserved_for: tuple[str, ...] = ()) -> int:
    """The model's memory estimate in bytes, or one error before anything large is allocated when it
    (plus ``reserved`` bytes the models of ``reserved_for``, the run's schemes before this one, need)
    exceeds the available memory. The intermediate stream's state per line is measured on a stream of
    a few lines of the same scheme (the numpy arrays it holds), not assumed; a chunk's
    temporaries are counted for chunks of ``chunk_iterations`` iterations."""
    probe = min(inter_lines, 256)
    per_line = 0
    if probe:
        stream = technology.open_stream(scheme, lines=probe, words=words, config=config, line_offset=first_line)
        per_line = _array_bytes(stream) // probe
        del stream
    T = max(0, int(chunk_iterations))
    word_bytes = config.layout.word_bits // 8
    chunk = T * (lines * CHUNK_BYTES_PER_LINE + (lines - inter_lines) * HELD_BYTES_PER_LINE
                 + inter_lines * (2 * words * word_bytes + CHUNK_BYTES_PER_INTERMEDIATE_LINE))
    need = lines * BYTES_PER_LINE + inter_lines * per_line + chunk
    have = available_memory_bytes() if available is None else available
    if have is not None and need + reserved > 0.9 * have:
        gib = 2.0 ** 30
        others = (f" (plus {reserved / gib:.1f} GiB for the models of {', '.join(reserved_for)})"
                  if reserved else "")
        chunk_note = (f", {chunk / gib:.1f} GiB of it the temporaries of chunks of {T} iterations"
                      if chunk > 0.1 * need else "")
        raise ConfigError(
            f"the timing model needs about {need / gib:.1f} GiB for scheme {scheme} ({lines:,} lines, of which "
            f"{inter_lines:,} of intermediate data at {per_line:,} B each{chunk_note}){others}, and "
            f"{have / gib:.1f} GiB are available (the models may take 90% of it, {0.9 * have / gib:.1f} GiB): use "
            "--set timing.access_pattern=minimal (weights only), a "
            "smaller batch (run.workload.batch_size), fewer schemes at once"
            + (", smaller chunks (run.chunk_iterations)" if chunk_note else "")
            + ", or a machine with more memory")
    return need


class TimingModel:
    """The SimPy model of one scheme over the address space of ``layout`` (plus intermediate data).

    ``layout``: an address layout (``.lines``, ``.words_per_line``, ``.tensor_lines(name)``).
    ``meta``: the trace's metadata (required by the training access pattern).
    ``policy``: the ping-pong policy object of the functional stream replaying the weights
    (``stream.polarity_policy()``); by default that of the model's own stream of the same scheme.
    ``parts``: the implementations of the ``[timing]`` choices (default: resolved from ``config``).
    ``engine``: "fast" or "reference" (default ``config.timing.model``).
    ``chunk_iterations``: the iterations of the chunks it will be fed, for the memory estimate (0: not
    counted); ``reserved``: the memory estimates (bytes, :attr:`memory_bytes`) of the models of the run's
    other schemes built before it, by scheme: the estimate checked is the sum (:func:`check_memory`).
    """

    def __init__(self, config, *, technology, scheme: str, layout, meta=None, policy=None,
                 parts: TimingParts | None = None, engine: str | None = None, logging: bool = False,
                 chunk_iterations: int = 0, reserved: dict[str, int] | None = None) -> None:
        if not isinstance(config, Config):
            raise TypeError(f"a timing model needs a whole configuration (archsim.config.load_config), not "
                            f"{type(config).__name__}")
        if not isinstance(technology, MemoryTechnology):
            raise TypeError(f"technology must be a registered memory technology (archsim.contracts.TECHNOLOGIES"
                            f".get({technology!r}) for a name), not {type(technology).__name__}")
        t = config.timing
        parts = parts or TimingParts.from_config(t)
        self.config = config
        self.timing = t
        self.technology = technology
        self.scheme = scheme
        self.layout = layout
        self.param_lines = int(layout.lines)
        self.words = int(layout.words_per_line)
        self.org = Organisation.from_config(t, config.layout.line_bytes)
        mapping = parts.mapping(self.org)
        requests = None
        if t.access_pattern == "trace":  # the trace's own requests at their arrival times (archsim.timing.arrivals)
            requests = meta.request_stream() if meta is not None else None
            if requests is None:
                raise ConfigError("timing.access_pattern = \"trace\" needs a trace that holds its requests (an "
                                  "NVMain trace: run.trace_format = \"nvmain\")")
            bad = iteration_order_violation(requests) if config.wear_leveling.name != "none" else None
            if bad is not None:
                raise ConfigError(f"timing.access_pattern = \"trace\" with wear_leveling = "
                                  f"{config.wear_leveling.name!r}: the trace's writes interleave iterations (request "
                                  f"{bad}, counted from 0 in file order, writes a later iteration before the last "
                                  f"write of an earlier one), so the leveller's copies, made at the end of an "
                                  f"iteration, have no place in it; use wear_leveling = \"none\" or another access "
                                  f"pattern")
            if requests.lines != layout.lines:
                raise ConfigError(f"timing.access_pattern = \"trace\": the trace's requests write {requests.lines} "
                                  f"lines, the layout has {layout.lines} (layout.line_bytes as when it was written)")
        if t.access_pattern == "training":
            if meta is None:
                raise ConfigError("the training access pattern needs the trace's metadata")
            self.inter = intermediate_lines(meta, config.layout.line_bytes, self.param_lines)
            self.inter_lines = sum(n for _a, n in self.inter.values())
        else:
            self.inter, self.inter_lines = {}, 0
        self.read_only_lines = requests.read_only_lines if requests is not None else 0
        n = self.param_lines + self.inter_lines + self.read_only_lines
        reserved = reserved or {}
        #: the model's memory estimate, bytes (:func:`check_memory`)
        self.memory_bytes = check_memory(config, technology, scheme, n, self.inter_lines, self.words, self.param_lines,
                                         chunk_iterations=chunk_iterations, reserved=sum(reserved.values()),
                                         reserved_for=tuple(reserved))
        self.line_bank = mapping.global_bank(np.arange(n, dtype=np.int64))
        line_row = mapping.decompose(np.arange(n, dtype=np.int64))["row"]
        # the engines' servers: the banks, or with an access-port model every bank's port groups
        ports = technology.port_clusters(config, n)
        self.has_ports = ports is not None
        self.port_groups, self.line_unit = (1, self.line_bank) if ports is None else port_units(self.line_bank, ports[1],
                                                                                                   ports[0])
        engine_org = self.org if self.port_groups == 1 else replace(self.org, banks=self.org.banks * self.port_groups)
        # a stream of the same scheme: the intermediate data (training), or a probe for the policy
        probe_lines = self.inter_lines or 1
        self._istream = technology.open_stream(scheme, lines=probe_lines, words=self.words, config=config,
                                               line_offset=self.param_lines)
        if self.inter_lines:
            self._istream.set_data_lifetimes(self._intermediate_lifetimes_s(meta))
        self._iwrites: IntermediateWrites | None = None
        if policy is None:
            policy = self._istream.polarity_policy()
        self.cells_per_line = int(self._istream.cells_per_word) * self.words
        self.manager = parts.manager(policy, line_bank=self.line_unit)
        self.spec = SystemSpec(t, engine_org, self.line_unit, self.manager.refresh_groups(),
                               int(to_ps(technology.read_ns(config))), parts.schedulers(self.org.channels),
                               parts.refresh(), logging, line_row, parts.page())
        self.env = simpy.Environment()
        self.stats = TimingStats.for_system(self.spec, config.layout.line_bytes)
        engine = engine or t.model
        if engine not in ENGINES:
            raise ConfigError(f"timing engine must be one of {', '.join(ENGINES)}, not {engine!r}")
        self.system = ENGINES[engine](self.env, self.spec, self.stats)
        if requests is not None:
            self.frontend = ArrivalFrontEnd(self.env, self.system, requests, t.trace_cycle_ns)
        else:
            phases = training_phases(meta, layout, self.inter, t) if self.inter_lines else minimal_phases(layout, t)
            self.frontend = FrontEnd(self.env, self.system, phases)
        self.has_costs = bool(technology.energy_kinds)
        if self.inter_lines:
            content = IntermediateContent(seed=t.seed, lines=self.inter_lines, words=self.words,
                                          word_bits=config.layout.word_bits, ones=t.intermediate_ones_fraction)
            self._iwrites = IntermediateWrites(self._istream, content, technology, config, has_costs=self.has_costs)
        self.levelled = config.wear_leveling.name != "none"
        #: Wear levelling's line copies issued so far: copies (each a read and a write request), their
        #: write service time (ps, as priced), their energy (pJ).
        self.levelling = {"copies": 0, "service_ps": 0, "energy_pj": 0.0}
        self._totals: dict[str, np.ndarray] = {}
        self._buffers: dict[str, np.ndarray] = {}  # :meth:`_joined`'s, by key
        self._param_wear: np.ndarray | None = None
        self.iterations = 0
        self._prepared = 0
        self._finished: TimingResult | None = None

    # -- feeding -----------------------------------------------------------------------------
    def _intermediate_lifetimes_s(self, meta) -> np.ndarray:
        """Expected lifetime (s) of the data on every intermediate line, from the compute model:
        the FLOPs between its forward write and backward read at ``flops_per_s``, or the steps
        between them times ``gap_ns``. (The simulated lifetimes, queueing included, are reported
        in the ``lifetimes`` table.)"""
        t = self.timing
        life = np.empty(self.inter_lines, np.float64)
        for name, (first, n) in self.inter.items():
            spec = meta.tensor(name)
            if t.compute_model == "flops":
                seconds = meta.lifetime_flops(name) / t.flops_per_s
            else:
                seconds = (spec.read_at - spec.written_at) * t.gap_ns * 1e-9
            life[first - self.param_lines:first - self.param_lines + n] = seconds
        return life

    def run_ahead(self, executor, *, iterations: int, chunk: int, content: IntermediateContent | None = None) -> None:
        """Encode the intermediate data of each next chunk on ``executor`` (a thread pool) while this
        model simulates the current one (:meth:`IntermediateWrites.run_ahead`): the model will be fed
        ``iterations`` in chunks of ``chunk`` (the last one shorter). ``content``: the content shared
        with the models of the run's other schemes (:meth:`shared_content`). Same numbers bit for bit
        as without it. Nothing to do without intermediate data."""
        if self._iwrites is None:
            return
        if content is not None:
            if content.key != self._iwrites.content.key:
                raise ValueError("run_ahead: the shared intermediate content is not this model's")
            self._iwrites.content = content
            content.attach()
        self._iwrites.run_ahead(executor, iterations=iterations, chunk=chunk)

    def shared_content(self) -> IntermediateContent | None:
        """A fresh content object of this model's intermediate data, for :meth:`run_ahead` of this and
        the other models whose content is the same (None without intermediate data)."""
        c = self._iwrites.content if self._iwrites is not None else None
        return None if c is None else IntermediateContent(seed=c.seed, lines=c.lines, words=c.words,
                                                          word_bits=c.word_bits, ones=c.ones)

    def _account(self, first_line: int, chunk: ChunkOutcome, totals: dict[str, np.ndarray]) -> None:
        """Region manager and energy/wear totals of one chunk (``totals``: its ``line_totals``)."""
        self.manager.observe(first_line, self.technology.refreshes(chunk))
        if not self.has_costs:
            return
        self._add_totals(first_line, totals)

    def _add_totals(self, lines, totals: dict[str, np.ndarray]) -> None:
        """Add line totals (``line_totals`` of a chunk or of copies) onto ``lines``: the global line of the
        first row (the rows are consecutive lines), or an index array, one line per row. A kind's running
        total is kept as counts (exact, priced at the read-out) while every contribution is a count, in pJ
        from the first one in pJ (DAP: its writes' lossy SETs are in pJ, a levelling copy's SETs counted); a
        count without a price is refused at once. The flips also go to the banks' wear, which the
        scheduling policies see."""
        tech = self.technology
        for k, v in totals.items():
            acc, counted = self._totals.get(k), v.dtype.kind in "ui"
            if k != "flips":
                if acc is None and counted:
                    tech.line_energy_pj(k, v[:0], self.config)  # raises now, not at the read-out, if unpriced
                elif acc is not None and acc.dtype.kind in "ui" and not counted:
                    acc = self._totals[k] = tech.line_energy_pj(k, acc, self.config)
                if acc is not None and counted and acc.dtype.kind not in "ui":
                    v = tech.line_energy_pj(k, v, self.config)
            if acc is None:
                acc = self._totals[k] = np.zeros(len(self.line_bank), dtype=v.dtype)  # every line of the model
            if isinstance(lines, (int, np.integer)):
                rows = slice(lines, lines + v.shape[0])
                acc[rows] += v
            else:
                rows = lines
                np.add.at(acc, rows, v)
            if k == "flips":
                _add_per_bank(self.spec.bank_wear, self.line_unit[rows], v)

    def _line_energy_pj(self, kind: str) -> np.ndarray:
        """The per-line energy of ``kind`` so far, pJ (float64)."""
        return self.technology.line_energy_pj(kind, self._totals[kind], self.config)

    def feed(self, chunk: ChunkOutcome) -> None:
        """Simulate the iterations of one chunk: the weights' chunk outcome (from the technology's
        stream; a bare (T, layout.lines, fields) array is taken as one with no extras)."""
        self.simulate(*self.prepare(chunk, reuse=True))

    def prepare(self, chunk: ChunkOutcome, *, reuse: bool = False) -> tuple[np.ndarray, np.ndarray, list]:
        """The functional side of a chunk: service times (ps) of every line's write and of the
        refresh it triggers, (T, lines) each, weights then intermediate data (whose writes
        this encodes), and wear levelling's copies as bursts (:meth:`_copy_bursts`); also follows
        the region manager and accounts energy and wear. ``reuse`` (what :meth:`feed` asks, simulating
        them at once): with intermediate data the two arrays are the model's buffers, overwritten by the
        next ``prepare(..., reuse=True)``; by default they are new arrays the caller may keep."""
        if self._finished is not None:
            raise RuntimeError("feed() after finish()")
        if not isinstance(chunk, ChunkOutcome):
            chunk = ChunkOutcome(np.asarray(chunk), None, {}, self.technology.outcome_fields)
        outcome = self.technology.outcome_of(chunk)  # the technology's fields
        if outcome.shape[1] != self.param_lines:
            raise ConfigError(f"timing model of {self.layout.lines} lines fed an outcome of shape {outcome.shape} "
                              f"(T, {self.param_lines}, fields)")
        if outcome.dtype != np.uint32:
            raise ConfigError(f"timing model fed an outcome of {outcome.dtype}; a stream's outcome counts are uint32")
        T = outcome.shape[0]
        priced = self.technology.price_writes(chunk, self.config, totals=self.has_costs)
        write_ps, refresh_ps = priced.write_ps, priced.refresh_ps
        self._account(0, chunk, priced.totals)
        if self._iwrites is not None:
            inter = self._iwrites.take(self._prepared, T)
            write_ps = self._joined("write", write_ps, inter.write_ps, reuse)
            refresh_ps = self._joined("refresh", refresh_ps, inter.refresh_ps, reuse)
            self._account(self.param_lines, inter.chunk, inter.totals)
        self._prepared += T
        return write_ps, refresh_ps, self._copy_bursts(chunk)

    def _joined(self, key: str, params: np.ndarray, inter: np.ndarray, reuse: bool) -> np.ndarray:
        """(T, lines) service times of the weights then the intermediate data; with ``reuse``, in the
        model's buffer for ``key``, reused from chunk to chunk: a new (T, lines) array at paper scale is tens
        of MB of fresh pages the kernel clears. The engines have read what they take from it by the time
        each burst's event fires (``MemorySystem.submit``), so it is free again once :meth:`simulate` has returned."""
        if not reuse:
            return np.concatenate([params, inter], axis=1)
        shape = (params.shape[0], params.shape[1] + inter.shape[1])
        buf = self._buffers.get(key)
        if buf is None or buf.shape != shape:
            buf = self._buffers[key] = np.empty(shape, np.int64)
        return np.concatenate([params, inter], axis=1, out=buf)

    def _copy_bursts(self, chunk: ChunkOutcome) -> list:
        """Wear levelling's line copies (:attr:`ChunkOutcome.copies`) as bursts the front end issues at
        the end of their iteration: per batch, a read of the lines (the copy needs the data; the
        front end waits for it), then their writes, each priced by the technology like any write
        (:meth:`~archsim.contracts.MemoryTechnology.service_times` of the copy's outcome row).
        Their energy and flips go to the totals. A copy is addressed at the line it carries (the
        model does not remap the scheme's own writes either). (iteration, burst, write ps, refresh ps)."""
        bursts = []
        n = self.param_lines + self.inter_lines
        fields = chunk.fields or tuple(self.technology.outcome_fields)
        for c in chunk.copies:
            one = ChunkOutcome(np.asarray(c.outcome)[None], None, {}, fields)
            st = self.technology.service_times(one, self.config)
            w, r = np.zeros(n, np.int64), np.zeros(n, np.int64)
            w[c.lines], r[c.lines] = to_ps(st.write_ns)[0], to_ps(st.refresh_ns)[0]
            self.levelling["copies"] += int(c.lines.size)
            self.levelling["service_ps"] += int(w[c.lines].sum())
            if self.has_costs:
                totals = self.technology.line_totals(one, self.config)
                self._add_totals(c.lines, totals)
                for k, v in totals.items():
                    if k != "flips":
                        self.levelling["energy_pj"] += float(np.sum(self.technology.line_energy_pj(k, v, self.config)))
            for kind, wait in ((READ, COMPLETED), (WRITE, ACCEPTED)):
                bursts.append((c.after, Phase(f"levelling:{'read' if kind == READ else 'write'}", kind,
                                              np.asarray(c.lines, np.int64), 0, wait), w, r))
        return bursts

    def simulate(self, write_ps: np.ndarray, refresh_ps: np.ndarray, extra: list = ()) -> None:
        """The SimPy side of a chunk: run its iterations through the front end and the engine
        (``extra``: the bursts of wear levelling's copies, from :meth:`prepare`)."""
        if self._finished is not None:
            raise RuntimeError("simulate() after finish()")
        proc = self.env.process(self.frontend.run(write_ps, refresh_ps, extra))
        self.env.run(until=proc)
        self.iterations += write_ps.shape[0]

    def set_wear(self, wear: np.ndarray) -> None:
        """Per-cell flips of the weight lines (``stream.wear``, (lines, words, cells)): adds the
        per-bank maximum cell flips and lifetime to the tables."""
        wear = np.asarray(wear)
        if wear.size != self.param_lines * self.cells_per_line:
            raise ConfigError(f"timing model of {self.scheme}: wear of shape {wear.shape} for {self.param_lines} lines "
                              f"of {self.cells_per_line} cells (another scheme's stream?)")
        self._param_wear = wear.reshape(self.param_lines, -1).max(axis=1)

    # -- results ---------------------------------------------------------------------------------
    def finish(self) -> TimingResult:
        """Run every outstanding request and refresh to completion and build the tables."""
        if self._finished is not None:
            return self._finished
        if self._iwrites is not None:
            self._iwrites.settle()  # the stream's wear is read below
            if self._iwrites.position != self._prepared:
                raise RuntimeError(f"timing model of {self.scheme}: the intermediate data was encoded ahead to "
                                   f"iteration {self._iwrites.position}, but {self._prepared} iterations were fed")
        self.system.drain()
        elapsed = int(self.env.now)
        labels = self.org.bank_labels()
        stats = self.stats.folded(self.port_groups)  # per bank (the engines count per port group)
        self._bank_stats = stats
        # the per-bank table is assembled as columns and built once (a DataFrame grown column by column
        # costs about a millisecond per column)
        cols = stats.per_bank_columns(labels, elapsed)
        cols = {"bank": cols.pop("bank"), "lines": np.bincount(self.line_bank, minlength=len(labels)), **cols}
        overall = stats.overall(elapsed)
        self._cost_columns(cols, overall)
        cols.update(stats.controller_columns_dict(elapsed))
        overall.update(stats.overall_controller(elapsed))
        if self.has_ports:
            ports = [stats.port_columns(stats.req[i]) for i in range(len(labels))]
            for col in ports[0] if ports else ():
                cols[col] = np.array([p[col] for p in ports])
            overall.update(stats.port_columns(stats.req))
            cols["port_groups"] = np.full(len(labels), self.port_groups)
            overall["port_groups"] = self.port_groups
        if self.spec.page.writes_back:
            cols.update(stats.writeback_columns(stats.bank))
            overall.update({k: v.item() for k, v in stats.writeback_columns(stats.bank.sum(axis=0)).items()})
        self._cancelled_costs(cols, overall)
        if self.levelled:
            self._levelling_columns(overall)
        per_bank = pd.DataFrame(cols)
        names = list(self.frontend.lifetime_ps)
        iters = max(self.frontend.iterations, 1)
        lifetimes = pd.DataFrame({
            "tensor": names,
            "lines": [self.inter[n][1] for n in names],
            "avg_lifetime_ns": [self.frontend.lifetime_ps[n] / 1000 / iters for n in names],
        })
        self._finished = TimingResult(self.scheme, per_bank, overall, lifetimes, self.stats, elapsed,
                                      self.iterations, self.system.request_log(), self.system.refresh_log(),
                                      per_controller=stats.per_controller(elapsed))
        return self._finished

    def _levelling_columns(self, overall: dict) -> None:
        """What wear levelling's copies took (with a leveller only; identical in both engines): the
        copies issued (each one read and one write request, counted in the request statistics too),
        their share of the writes, of the banks' write service time (as priced; a cancelled and
        re-served write counts once) and of the energy."""
        lv = self.levelling
        writes = int(self.stats.req[:, WRITE, R_COUNT].sum())
        service = int(self.stats.req[:, WRITE, R_SERVICE_PS].sum())
        energy = float(overall.get("energy_pj", 0.0))
        overall["levelling_writes"] = lv["copies"]
        overall["levelling_write_share"] = lv["copies"] / writes if writes else 0.0
        overall["levelling_write_service_ns"] = lv["service_ps"] / 1000
        overall["levelling_write_time_share"] = lv["service_ps"] / service if service else 0.0
        overall["levelling_energy_pj"] = lv["energy_pj"]
        overall["levelling_energy_share"] = lv["energy_pj"] / energy if energy else 0.0

    def _cancelled_costs(self, per_bank: dict[str, np.ndarray], overall: dict) -> None:
        """Energy and cell flips of cancelled writes (write-cancel): the fraction of a write done when it
        was cancelled, times the line's mean write energy and flips over the run (the cells a cancelled
        write programmed count; the write is then served again in full). Added to the totals."""
        frac = self.stats.line_cancelled
        if not self.has_costs or not frac.any():
            return
        iters = max(self.iterations, 1)
        nb = self.org.total_banks
        for kind in self.technology.energy_kinds:
            if kind == "read" or kind not in self._totals:
                continue
            e = np.bincount(self.line_bank, weights=frac * self._line_energy_pj(kind) / iters, minlength=nb)
            per_bank[f"energy_{kind}_pj"] = per_bank[f"energy_{kind}_pj"] + e
            overall[f"energy_{kind}_pj"] += float(e.sum())
            per_bank["energy_pj"] = per_bank["energy_pj"] + e
            overall["energy_pj"] += float(e.sum())
        flips = np.bincount(self.line_bank, weights=frac * self._totals.get("flips", np.zeros(len(frac))) / iters,
                            minlength=nb)
        per_bank["cancelled_cell_flips"] = flips
        cells = np.bincount(self.line_bank, minlength=nb) * self.cells_per_line
        per_bank["cell_flips"] = per_bank["cell_flips"] + flips
        per_bank["mean_cell_flips"] = np.where(cells > 0, per_bank["cell_flips"] / np.maximum(cells, 1), 0.0)
        overall["mean_cell_flips"] = float(per_bank["cell_flips"].sum() / max(cells.sum(), 1))
        overall["cancelled_cell_flips"] = float(flips.sum())

    #: Lines of the intermediate stream whose per-cell wear is read at a time (:meth:`_intermediate_line_max`).
    WEAR_BLOCK_LINES = 8192

    def _intermediate_line_max(self) -> np.ndarray:
        """The largest cell flips of each intermediate line, read block by block (``lines_wear``), so that
        the read-out holds one block's total wear at a time, not a second copy of the stream's wear (the WOM
        codes build their totals)."""
        out = np.empty(self.inter_lines, np.uint64)
        for a in range(0, self.inter_lines, self.WEAR_BLOCK_LINES):
            b = min(a + self.WEAR_BLOCK_LINES, self.inter_lines)
            out[a:b] = np.asarray(self._istream.lines_wear(slice(a, b))).reshape(b - a, -1).max(axis=1)
        return out

    def _cost_columns(self, per_bank: dict[str, np.ndarray], overall: dict) -> None:
        """Energy by kind and wear per bank (columns of ``per_bank``, name -> array) and overall."""
        if not self.has_costs:
            return
        tech = self.technology
        nb = self.org.total_banks
        reads = self._bank_stats.req[:, READ, R_COUNT]
        for kind in tech.energy_kinds:
            if kind == "read":
                e = reads * tech.read_energy_pj(self.config, self.cells_per_line)
            else:
                per_line = self._line_energy_pj(kind) if kind in self._totals else np.zeros(len(self.line_bank))
                e = np.bincount(self.line_bank, weights=per_line, minlength=nb)
            per_bank[f"energy_{kind}_pj"] = e
            overall[f"energy_{kind}_pj"] = float(np.sum(e))
        energy = functools.reduce(np.add, [per_bank[f"energy_{k}_pj"] for k in tech.energy_kinds])  # left to right
        per_bank["energy_pj"] = energy
        overall["energy_pj"] = float(energy.sum())
        flips = np.bincount(self.line_bank, weights=self._totals.get("flips", np.zeros(len(self.line_bank))),
                            minlength=nb)
        cells = np.bincount(self.line_bank, minlength=nb) * self.cells_per_line
        per_bank["cell_flips"] = flips
        per_bank["mean_cell_flips"] = np.where(cells > 0, flips / np.maximum(cells, 1), 0.0)
        overall["mean_cell_flips"] = float(flips.sum() / max(cells.sum(), 1))
        endurance = tech.endurance(self.config)
        if self._param_wear is not None and endurance is not None:
            line_max = np.zeros(len(self.line_bank))
            line_max[:self.param_lines] = self._param_wear
            if self.inter_lines:
                line_max[self.param_lines:] = self._intermediate_line_max()
            mx = np.zeros(nb)
            np.maximum.at(mx, self.line_bank, line_max)
            per_bank["max_cell_flips"] = mx
            per_bank["lifetime_iterations"] = np.where(mx > 0, endurance * self.iterations / np.maximum(mx, 1),
                                                       np.inf)
            overall["max_cell_flips"] = float(mx.max())
            overall["lifetime_iterations"] = float(np.min(per_bank["lifetime_iterations"]))

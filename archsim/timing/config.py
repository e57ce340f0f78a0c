"""Configuration of the timing model (the ``[timing]`` section of a config file).

Units are in the field names: ``_ns`` nanoseconds, ``_bytes`` bytes,
``flops_per_s`` floating-point operations per second. The address mapping, the
scheduling policy, the refresh policy and the region manager are choices
(:class:`archsim.config.Choice`): a registered name with the implementation's
own parameters (see :mod:`archsim.timing.scheduling`, :mod:`archsim.timing.refresh`,
:mod:`archsim.timing.region`, :mod:`archsim.timing.organisation`), e.g.::

    [timing.scheduling]
    name = "read-first"
    write_high_watermark = 24

or ``timing.scheduling = "fcfs"``; a typo is one error naming the key and the choices.
The timing package registers this section (``[timing]``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from archsim.config import CONFIG_SECTIONS, Choice, Section, check_seed, choice, non_negative
from archsim.errors import ConfigError

#: Largest count of a timing organisation or queue key (channels, banks, row lines, queue depths, ...).
MAX_COUNT = 1 << 24
#: Largest memory, bytes (1 PiB).
MAX_CAPACITY_BYTES = 1 << 50
#: Most banks (channels x ranks x banks) the timing model keeps per-bank state and statistics for.
MAX_BANKS = 1 << 16

ACCESS_PATTERNS = ("training", "minimal", "trace")
COMPUTE_MODELS = ("flops", "fixed")


@dataclass(frozen=True)
class TimingConfig(Section):
    """Organisation, controller, refresh, region manager and access pattern of the SimPy model."""

    moved: ClassVar[dict[str, str]] = {
        "write_high_watermark": "scheduling.write_high_watermark",
        "write_low_watermark": "scheduling.write_low_watermark",
        "region_lines": "region_manager.region_lines",
    }
    identity_new_keys: ClassVar[tuple[str, ...]] = ("trace_cycle_ns",)

    # -- organisation ------------------------------------------------------------------
    channels: int = 1
    """Memory channels, each with its own controller."""
    ranks: int = 2
    """Ranks per channel."""
    banks: int = 8
    """Banks per rank (a bank serves one request at a time)."""
    row_lines: int = 32
    """Lines per row (the column field of the address mapping)."""
    capacity_bytes: int = 32 * 2**30
    """Capacity of the memory, bytes (sets the rows per bank of the address mapping)."""
    address_mapping: Choice = choice("address mapping", "RoCoBaRaCh")
    """Address mapping by registered name (field order, most significant first)."""
    page_policy: Choice = choice("page policy", "none")
    """Row buffer of every bank: "none" (today's model, every read costs the read latency),
    "open" or "closed", with ``row_hit_ns`` and ``array_read_ns`` (see archsim.timing.rowbuffer)."""
    # -- controller --------------------------------------------------------------------
    read_queue: int = 32
    """Entries of each controller's read queue."""
    write_queue: int = 32
    """Entries of each controller's write queue."""
    scheduling: Choice = choice("scheduling policy", "read-first")
    """Scheduling policy by registered name ("fcfs", "read-first" with its drain watermarks, "fr-fcfs",
    "write-cancel", "write-pause", ...)."""
    # -- refresh and region manager ----------------------------------------------------------
    refresh_policy: Choice = choice("refresh policy", "cancel")
    """What a demand request does to a refresh in progress: "cancel" it or "wait" for it."""
    region_manager: Choice = choice("region manager", "ping-pong")
    """Region manager by registered name ("ping-pong", "region-exhausted" with its ``region_lines``, ...)."""
    # -- access pattern ----------------------------------------------------------------
    access_pattern: str = "training"
    """"training" (forward reads, intermediate writes, backward reads, update writes),
    "minimal" (only the weight-update writes, with ``gap_ns`` between iterations) or
    "trace" (the trace's own requests, reads and writes, at their arrival times: an NVMain trace's
    CYCLE x ``trace_cycle_ns``; :mod:`archsim.timing.arrivals`)."""
    compute_model: str = "flops"
    """Compute time between phases (training pattern): "flops" (step FLOPs / ``flops_per_s``)
    or "fixed" (``gap_ns`` per step)."""
    flops_per_s: float = 1e10
    """Compute rate of the processor, FLOP/s (compute model "flops")."""
    gap_ns: float = 10000.0
    """Fixed compute gap, ns: per step (training, compute model "fixed") or per iteration (minimal)."""
    trace_cycle_ns: float = 1.0
    """Duration of one CYCLE of a trace's requests, ns (access pattern "trace"): NVMain's CYCLE counts
    CPU cycles, so 1000 / CPUFreq (MHz) of the NVMain configuration to compare with."""
    requests_in_flight: int = 64
    """Requests the front end keeps outstanding per channel (issued and not completed)."""
    intermediate_ones_fraction: float = 0.5
    """Fraction of 1 bits in the seeded random content written as intermediate data."""
    seed: int = 0
    """Seed of the intermediate data's content."""
    model: str = "fast"
    """Simulation engine: "fast" (bursts, compiled channel kernels) or "reference" (one SimPy process per request)."""

    @property
    def banks_per_channel(self) -> int:
        return self.ranks * self.banks

    @property
    def total_banks(self) -> int:
        return self.channels * self.ranks * self.banks

    def validate(self, where: str) -> None:
        for name in ("channels", "ranks", "banks", "row_lines", "read_queue", "write_queue",
                     "requests_in_flight", "capacity_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{where}.{name} must be a positive integer, not {value!r}")
            most = MAX_CAPACITY_BYTES if name == "capacity_bytes" else MAX_COUNT
            if value > most:
                raise ConfigError(f"{where}.{name} must be at most {most:,}, not {value!r}")
        if self.total_banks > MAX_BANKS:
            raise ConfigError(f"{where}: channels x ranks x banks = {self.total_banks:,} banks, more than the "
                              f"{MAX_BANKS:,} the timing model holds state for")
        if self.access_pattern not in ACCESS_PATTERNS:
            raise ConfigError(f"{where}.access_pattern must be one of {', '.join(ACCESS_PATTERNS)}, "
                              f"not {self.access_pattern!r}")
        if self.compute_model not in COMPUTE_MODELS:
            raise ConfigError(f"{where}.compute_model must be one of {', '.join(COMPUTE_MODELS)}, "
                              f"not {self.compute_model!r}")
        if not 1 <= self.flops_per_s <= 1e30:
            raise ConfigError(f"{where}.flops_per_s must be in 1..1e30 (FLOP/s), not {self.flops_per_s!r}")
        non_negative(self, "gap_ns", where)
        if not self.trace_cycle_ns > 0:
            raise ConfigError(f"{where}.trace_cycle_ns must be positive, not {self.trace_cycle_ns!r}")
        if not 0.0 <= self.intermediate_ones_fraction <= 1.0:
            raise ConfigError(f"{where}.intermediate_ones_fraction must be in [0, 1], "
                              f"not {self.intermediate_ones_fraction!r}")
        check_seed(self.seed, f"{where}.seed")
        if self.model not in ("fast", "reference"):
            raise ConfigError(f"{where}.model must be 'fast' or 'reference', not {self.model!r}")


CONFIG_SECTIONS.register("timing", TimingConfig)

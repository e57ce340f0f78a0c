"""Racetrack parameters (:class:`RacetrackConfig`), the ``[racetrack]`` section of a configuration.

Latencies are the ``002`` seed's (read 0.1, shift 0.5, remove 0.8, insert 1.0 ns). The seed gives no
energies; the defaults assume every operation draws the same drive power, so that energy is proportional
to latency (1 pJ per ns of operation): read 0.1, shift 0.5 (per track per step), remove 0.8, insert
1.0 pJ. That keeps the ordering racetrack.md asks for (insert the most expensive, read the cheapest);
replace them with circuit-level figures for absolute energies.

The racetrack technology registers it as the ``[racetrack]`` section (:mod:`archsim.racetrack.technology`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from archsim.config import Section, latency, non_negative
from archsim.errors import ConfigError

SEGMENT_BITS = (8, 16, 32, 64)
#: Most data items of one bank (tracks x data_per_track) a replay allocates.
MAX_ITEMS = 1 << 26
PORT_PLACEMENTS = ("center", "start")
PORT_CHOICES = ("static", "dynamic")
RETURN_POLICIES = ("lazy", "eager")
LAYOUTS = ("serial", "spread")


@dataclass(frozen=True)
class RacetrackConfig(Section):
    """Geometry, port model, operation costs and scheme parameters of skyrmion racetrack memory.

    A *data item* is ``item_bits`` wide (64 in racetrack.md) and stored as ``item_bits / segment_bits``
    segments; each segment occupies the positions its write scheme needs (w, w + 1 with a flag, N for
    m-of-n). A *track* holds ``data_per_track`` items; ``tracks`` tracks form a bank.
    """

    tracks: int = 512
    """Tracks per bank (a request file's track index must be below this)."""
    data_per_track: int = 64
    """Data items per track (a request file's data index must be below this)."""
    item_bits: int = 64
    """Width of one data item, bits (8, 16, 32 or 64). Trace words (float32) are packed
    ``item_bits / 32`` per item: 64 = two float32 per item (racetrack.md), 32 = one."""
    segment_bits: int = 32
    """Width w of one segment, bits (8, 16, 32 or 64; at most ``item_bits``)."""
    tracks_per_cluster: int = 1
    """Tracks that shift together (share one alignment); a shift step moves all of them."""
    ports_per_track: int = 4
    """Access ports per track, evenly spaced: port r serves the r-th of ``ports_per_track`` equal
    regions of items."""
    port_placement: str = "center"
    """Where a port sits in its region at the home alignment: "center" (the middle item) or "start"
    (the first item)."""
    port_choice: str = "static"
    """"static": an item is always accessed through the port of its region; "dynamic": through the
    port that needs the fewest shifts from the current alignment."""
    return_policy: str = "lazy"
    """"lazy": the track stays where the access left it; "eager": it shifts back home after each
    access (the return shifts are counted and timed)."""
    layout: str = "serial"
    """"serial": an item's segments lie one after another along one track and pass one port;
    "spread": the segments lie on parallel tracks (one per segment, shifting together) and are
    written at the same time, each at its own port."""
    read_latency_ns: float = 0.1
    """Detect (read) the position under a port, ns (the SK-RM study, Liao and Chen)."""
    shift_latency_ns: float = 0.5
    """Shift a cluster by one position, ns (the SK-RM study, Liao and Chen)."""
    remove_latency_ns: float = 0.8
    """Remove (annihilate) the skyrmion under a port, ns (the SK-RM study, Liao and Chen)."""
    insert_latency_ns: float = 1.0
    """Insert (inject) a skyrmion at a port, ns (the SK-RM study, Liao and Chen)."""
    read_energy_pj: float = 0.1
    """Energy of one detect, pJ (default: 1 pJ/ns x latency; see the module docstring)."""
    shift_energy_pj: float = 0.5
    """Energy of shifting one track by one position, pJ (a cluster step costs this per track moved)."""
    remove_energy_pj: float = 0.8
    """Energy of one removal, pJ."""
    insert_energy_pj: float = 1.0
    """Energy of one insertion, pJ."""
    fixed_ones_k: int = 0
    """K of the ``fixed-ones`` scheme (ones per float32); 0 = the most common popcount of the first
    written iteration (of a request file: of all written values)."""

    def validate(self, where: str) -> None:
        for name in ("tracks", "data_per_track", "tracks_per_cluster", "ports_per_track"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{where}.{name} must be positive, not {getattr(self, name)!r}")
        if self.item_bits not in SEGMENT_BITS:
            raise ConfigError(f"{where}.item_bits must be 8, 16, 32 or 64, not {self.item_bits!r}")
        if self.segment_bits not in SEGMENT_BITS:
            raise ConfigError(f"{where}.segment_bits must be 8, 16, 32 or 64, not {self.segment_bits!r}")
        if self.segment_bits > self.item_bits:
            raise ConfigError(f"{where}.segment_bits ({self.segment_bits}) must not exceed "
                              f"{where}.item_bits ({self.item_bits})")
        for name, choices in (("port_placement", PORT_PLACEMENTS), ("port_choice", PORT_CHOICES),
                              ("return_policy", RETURN_POLICIES), ("layout", LAYOUTS)):
            value = getattr(self, name)
            if value not in choices:
                raise ConfigError(f"{where}.{name} must be one of {', '.join(map(repr, choices))}, "
                                  f"not {value!r}")
        for kind in ("read", "shift", "remove", "insert"):
            latency(self, f"{kind}_latency_ns", where)
            non_negative(self, f"{kind}_energy_pj", where)
        if self.tracks * self.data_per_track > MAX_ITEMS:
            raise ConfigError(f"{where}: tracks x data_per_track = {self.tracks * self.data_per_track:,} items; at "
                              f"most {MAX_ITEMS:,} (2^26) are simulated in one bank")
        if not 0 <= self.fixed_ones_k <= 32:
            raise ConfigError(f"{where}.fixed_ones_k must be 0 (automatic) or 1..32, not {self.fixed_ones_k!r}")

    @property
    def segments_per_item(self) -> int:
        return self.item_bits // self.segment_bits

    def latencies(self) -> tuple[float, float, float, float]:
        """(read, shift, remove, insert) latencies, ns."""
        return (self.read_latency_ns, self.shift_latency_ns, self.remove_latency_ns, self.insert_latency_ns)


@dataclass(frozen=True)
class RacetrackPortsConfig(Section):
    """The access ports of a racetrack bank as the timing model serves them (``[racetrack_ports]``).

    A bank's clusters (``racetrack.tracks_per_cluster`` tracks that shift together and share one
    alignment) are dealt round-robin over ``groups`` **port groups**; a port group serves one access
    at a time (its shifter and its ports' drive and sense circuits are shared), different port groups
    of one bank serve their requests in parallel. Requests to one cluster always share a group, so
    they are served one at a time, each from the alignment its cluster's previous access left.

    The ``002`` seed and racetrack.md fix no concurrency inside a bank; the default, 1, serves a bank's
    requests one at a time (the timing model before port groups, so earlier results stay as they were).
    0 = every cluster of a bank its own port group (``racetrack.tracks / racetrack.tracks_per_cluster``).
    """

    identity_at_default: ClassVar[bool] = False   # added after sweep ids existed: keep theirs

    groups: int = 1
    """Port groups per bank: 1 = one access at a time per bank; 0 = one group per cluster."""

    def validate(self, where: str) -> None:
        if not self.groups >= 0:
            raise ConfigError(f"{where}.groups must be 0 (one per cluster) or positive, not {self.groups!r}")

    def validate_with(self, config, where: str) -> None:
        rt = config.racetrack
        clusters = max(1, rt.tracks // rt.tracks_per_cluster)
        if self.groups > clusters:
            raise ConfigError(f"{where}.groups = {self.groups} exceeds the clusters of a bank (racetrack.tracks "
                              f"{rt.tracks} / racetrack.tracks_per_cluster {rt.tracks_per_cluster} = {clusters})")

    def per_bank(self, rt: RacetrackConfig) -> int:
        """The port groups of a bank (0 resolved to one per cluster)."""
        return self.groups or max(1, rt.tracks // rt.tracks_per_cluster)

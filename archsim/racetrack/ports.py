"""The port/shift model: where each data item lies and how far a track shifts to reach it.

Positions. A segment occupies ``N`` positions (its scheme's :meth:`positions`); an item of ``S``
segments occupies ``S * N`` positions along one track in the serial layout, or ``N`` positions on
each of ``S`` parallel tracks (which shift together) in the spread layout. The *walk* of an access
is the number of positions that pass a port: ``S * N`` (serial) or ``N`` (spread). Item ``i`` of a
track covers walk positions ``[i * walk, (i + 1) * walk)``.

Ports. ``p`` ports per track split the ``D`` items into regions of ``ceil(D / p)`` items; port r's
home position is ``(r * region + home) * walk`` with ``home`` = ``region // 2`` ("center") or 0
("start"). At alignment ``off`` the position ``x`` is under port r when ``off == x - q_r``.

Counting an access of item i (the kernels implement exactly this; see
:func:`archsim.racetrack.reference.port_shifts` for the plain version):

1. port: the item's region (static) or the port that needs the fewest shifts (dynamic, ties: the
   lower port);
2. direction: start at the end of the item nearer to the current alignment;
3. shifts = |start alignment - current alignment| + (walk - 1): the walk steps the item past
   the port one position at a time, the port detecting/inserting/removing as the scheme says;
4. eager return: shift back to alignment 0 (more shifts); lazy: stay.

A shift step moves the whole cluster: ``tracks_per_cluster`` tracks (times ``S`` in the spread
layout) move at once; the step is counted once (and timed once) and its energy is charged per
track moved.
"""
from __future__ import annotations

from dataclasses import dataclass

from archsim.racetrack.config import RacetrackConfig


@dataclass(frozen=True)
class PortModel:
    """Resolved geometry of one replay (all in items or positions)."""

    data_per_track: int
    tracks_per_cluster: int
    walk: int
    ports: int
    region: int
    home: int
    eager: bool
    dynamic: bool
    spread: bool
    tracks_moved_per_shift: int

    @classmethod
    def from_config(cls, config: RacetrackConfig, positions_per_segment: int) -> "PortModel":
        S = config.segments_per_item
        spread = config.layout == "spread"
        walk = positions_per_segment if spread else S * positions_per_segment
        region = -(-config.data_per_track // config.ports_per_track)
        return cls(
            data_per_track=config.data_per_track,
            tracks_per_cluster=config.tracks_per_cluster,
            walk=walk,
            ports=config.ports_per_track,
            region=region,
            home=region // 2 if config.port_placement == "center" else 0,
            eager=config.return_policy == "eager",
            dynamic=config.port_choice == "dynamic",
            spread=spread,
            tracks_moved_per_shift=config.tracks_per_cluster * (S if spread else 1),
        )

    def port_position(self, r: int) -> int:
        """Home position of port r (the data position under it at alignment 0)."""
        return (r * self.region + self.home) * self.walk

    def kernel_params(self) -> dict:
        return {
            "data_per_track": self.data_per_track, "tracks_per_cluster": self.tracks_per_cluster,
            "walk": self.walk, "ports": self.ports, "region": self.region, "home": self.home,
            "eager": int(self.eager), "dynamic": int(self.dynamic), "spread": int(self.spread),
        }

    def extent(self) -> tuple[int, int]:
        """Smallest and largest alignment any access can leave (domains a track needs beyond its data:
        ``max - min``)."""
        lo, hi = 0, 0
        ports = range(self.ports)
        for i in (0, self.data_per_track - 1):
            for r in ports if self.dynamic else [min(i // self.region, self.ports - 1)]:
                q = self.port_position(r)
                lo = min(lo, i * self.walk - q)
                hi = max(hi, (i + 1) * self.walk - 1 - q)
        return lo, hi


def costs(config: RacetrackConfig) -> dict[str, float]:
    """Per-operation latency (ns) and energy (pJ) of ``config``."""
    return {
        "read_ns": config.read_latency_ns, "shift_ns": config.shift_latency_ns,
        "remove_ns": config.remove_latency_ns, "insert_ns": config.insert_latency_ns,
        "read_pj": config.read_energy_pj, "shift_pj": config.shift_energy_pj,
        "remove_pj": config.remove_energy_pj, "insert_pj": config.insert_energy_pj,
    }

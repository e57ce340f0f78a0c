"""Skyrmion racetrack memory (SK-RM): tracks, ports, shifts, the SK-RM write schemes, request files.

Quick use::

    from archsim.racetrack import RacetrackConfig, replay_requests, parse_requests
    cfg = RacetrackConfig(tracks=4, data_per_track=8, segment_bits=16)
    result = replay_requests(parse_requests("reqs.txt", cfg), "pw", cfg)
    result.summary()        # insertions, removals, shifts, detects, latency_ns, energy_pj, ...

Trace replay goes through the memory technology (``TECHNOLOGIES.get("racetrack").open_stream``,
``archsim run --memory racetrack``). Concepts and counting rules: ``docs/racetrack.md``.
"""
from __future__ import annotations

from archsim.racetrack.config import RacetrackConfig
from archsim.racetrack.schemes import MOFN_TABLE, RACETRACK_SCHEMES, RacetrackScheme, make_scheme
from archsim.racetrack.stream import OUTCOME_FIELDS, RacetrackResult, RacetrackStream, service_ns
from archsim.racetrack.technology import Racetrack, line_read_energy_pj, line_read_ns, tracks_moved_per_shift
from archsim.racetrack.requests import Requests, parse_requests, replay_requests
from archsim.racetrack.codes import mofn_decode, mofn_encode

__all__ = [
    "RacetrackConfig", "RACETRACK_SCHEMES", "RacetrackScheme", "make_scheme", "MOFN_TABLE",
    "OUTCOME_FIELDS", "RacetrackResult", "RacetrackStream", "service_ns", "Racetrack", "line_read_ns", "line_read_energy_pj", "tracks_moved_per_shift",
    "Requests", "parse_requests", "replay_requests", "mofn_encode", "mofn_decode",
]

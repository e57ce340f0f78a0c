"""The SimPy timing model: controllers, banks, idle-period refresh, the region manager.

The functional path says which cells each write programs; this package says
when: a memory organisation (channels, ranks, banks, address mapping), a
controller per channel with read and write queues, back-pressure and a
scheduling policy, banks that serve one request at a time, an idle-period
scheduler that runs refreshes (PreSET, PreRESET) at the lowest priority, and a
region manager wrapping the functional ping-pong policy. See ``docs/timing.md``.

Modules (one concept each): :mod:`~archsim.timing.config` (``TimingConfig``),
:mod:`~archsim.timing.organisation` (address mappings), :mod:`~archsim.timing.scheduling`,
:mod:`~archsim.timing.refresh`, :mod:`~archsim.timing.region`,
:mod:`~archsim.timing.frontend` (the NN-training access pattern),
:mod:`~archsim.timing.system` (bursts), :mod:`~archsim.timing.fast` (the burst
engine), :mod:`~archsim.timing.reference` (the event-per-request engine),
:mod:`~archsim.timing.stats`, :mod:`~archsim.timing.parts` (the chosen implementations),
:mod:`~archsim.timing.model` (``TimingModel``), :mod:`~archsim.timing.observer`
(``archsim run --timing``), :mod:`~archsim.timing.runner` (standalone runs, the gap sweep).

Its top level stays light (importing it loads only ``TimingConfig``, which registers the
``[timing]`` section): names are loaded on first use.
"""
from __future__ import annotations

from archsim.timing.config import TimingConfig

_LAZY = {
    "TimingModel": "archsim.timing.model",
    "TimingResult": "archsim.timing.model",
    "SCHEDULING_POLICIES": "archsim.timing.scheduling",
    "SchedulingPolicy": "archsim.timing.scheduling",
    "Arbitration": "archsim.timing.scheduling",
    "REFRESH_POLICIES": "archsim.timing.refresh",
    "RefreshPolicy": "archsim.timing.refresh",
    "REGION_MANAGERS": "archsim.timing.region",
    "RegionManager": "archsim.timing.region",
    "ADDRESS_MAPPINGS": "archsim.timing.organisation",
    "AddressMapping": "archsim.timing.organisation",
    "FieldOrderMapping": "archsim.timing.organisation",
    "Organisation": "archsim.timing.organisation",
    "TimingParts": "archsim.timing.parts",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'archsim.timing' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = ["TimingConfig", *_LAZY]

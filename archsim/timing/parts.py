"""The parts a timing model is built from, resolved once from the ``[timing]`` section.

:class:`TimingParts` holds the chosen implementations (address mapping, scheduling policy,
refresh policy, region manager, page policy) with their parameters, looked up in their registries once;
a :class:`~archsim.timing.model.TimingModel` builds its objects from it (one scheduling policy
per channel, since a policy may keep state) and hands them to the engines, which receive
objects, never names. The composition root (:func:`archsim.compose.build`) makes one per run.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from archsim.config import Choice
from archsim.timing.config import TimingConfig
from archsim.timing.organisation import ADDRESS_MAPPINGS, AddressMapping, Organisation
from archsim.timing.refresh import REFRESH_POLICIES, RefreshPolicy
from archsim.timing.region import REGION_MANAGERS, RegionManager
from archsim.timing.rowbuffer import PAGE_POLICIES, PagePolicy
from archsim.timing.scheduling import SCHEDULING_POLICIES, SchedulingPolicy


@dataclass(frozen=True)
class Part:
    """One chosen implementation (a class) and its parameters."""

    cls: type
    params: Any

    @classmethod
    def resolve(cls, registry, choice: Choice) -> "Part":
        return cls(registry.get(choice.name), choice.params)


@dataclass(frozen=True)
class TimingParts:
    """The implementations of the ``[timing]`` choices, resolved once."""

    address_mapping: Part
    scheduling: Part
    refresh_policy: Part
    region_manager: Part
    page_policy: Part

    @classmethod
    def from_config(cls, timing: TimingConfig) -> "TimingParts":
        return cls(Part.resolve(ADDRESS_MAPPINGS, timing.address_mapping),
                   Part.resolve(SCHEDULING_POLICIES, timing.scheduling),
                   Part.resolve(REFRESH_POLICIES, timing.refresh_policy),
                   Part.resolve(REGION_MANAGERS, timing.region_manager),
                   Part.resolve(PAGE_POLICIES, timing.page_policy))

    def mapping(self, org: Organisation) -> AddressMapping:
        return self.address_mapping.cls(org, self.address_mapping.params)

    def schedulers(self, channels: int) -> list[SchedulingPolicy]:
        """One scheduling policy object per channel."""
        return [self.scheduling.cls(self.scheduling.params) for _ in range(channels)]

    def page(self) -> PagePolicy:
        return self.page_policy.cls(self.page_policy.params)

    def refresh(self) -> RefreshPolicy:
        return self.refresh_policy.cls(self.refresh_policy.params)

    def manager(self, policy, *, line_bank: np.ndarray) -> RegionManager:
        return self.region_manager.cls(policy, line_bank=line_bank, params=self.region_manager.params)

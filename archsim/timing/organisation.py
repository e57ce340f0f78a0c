"""Memory organisation and address mappings.

The organisation is channels -> ranks per channel -> banks per rank; a line
(``line_bytes`` bytes) is the unit of every request. An **address mapping**
splits a global line index into the fields channel, rank, bank, row and column
(the line within a row), in a field order written most significant first, the
style of DRAMsim3 and Ramulator: with ``RoCoBaRaCh`` consecutive lines go to
consecutive channels, then ranks, then banks (fine interleaving); with
``RoBaRaCoCh`` a row's lines stay in one bank; with ``ChRaBaRoCo`` each bank holds
one contiguous range of lines.

A mapping is a class registered in :data:`ADDRESS_MAPPINGS`; most are a
:class:`FieldOrderMapping` with a field order. Register your own::

    from archsim.timing.organisation import ADDRESS_MAPPINGS, FieldOrderMapping

    @ADDRESS_MAPPINGS.register("RoRaBaChCo")
    class MyMapping(FieldOrderMapping):
        order = ("row", "rank", "bank", "channel", "column")
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from archsim.errors import ConfigError
from archsim.registry import NoParams, Registry

FIELDS = ("row", "column", "bank", "rank", "channel")


@dataclass(frozen=True)
class Organisation:
    """Sizes of the memory: ``channels`` x ``ranks`` x ``banks`` banks, ``row_lines`` lines per row."""

    channels: int = 1
    ranks: int = 2
    banks: int = 8
    row_lines: int = 32
    rows: int = 2**20
    """Rows per bank (capacity / (banks x row_lines x line bytes))."""

    @property
    def banks_per_channel(self) -> int:
        return self.ranks * self.banks

    @property
    def total_banks(self) -> int:
        return self.channels * self.banks_per_channel

    @classmethod
    def from_config(cls, timing, line_bytes: int) -> "Organisation":
        """The organisation of ``timing`` for lines of ``line_bytes`` bytes (``layout.line_bytes``)."""
        row_bytes = line_bytes * timing.row_lines
        rows = timing.capacity_bytes // (row_bytes * timing.total_banks)
        if rows < 1:
            raise ConfigError(f"timing.row_lines = {timing.row_lines} lines of {line_bytes} bytes is a row of "
                              f"{row_bytes:,} bytes, more than a bank holds (timing.capacity_bytes / "
                              f"{timing.total_banks} banks = {timing.capacity_bytes // timing.total_banks:,} bytes)")
        return cls(timing.channels, timing.ranks, timing.banks, timing.row_lines, int(rows))

    def bank_labels(self) -> list[str]:
        """``c0.r1.b3`` for every global bank, in global bank order."""
        return [f"c{c}.r{r}.b{b}" for c in range(self.channels) for r in range(self.ranks)
                for b in range(self.banks)]


class AddressMapping(ABC):
    """Maps global line indices to banks. Subclass and register in :data:`ADDRESS_MAPPINGS`."""

    name: ClassVar[str] = "?"
    #: The mapping's own parameters (a frozen dataclass; ``[timing.address_mapping]`` sets them).
    Params: ClassVar[type] = NoParams

    def __init__(self, org: Organisation, params: Any = None) -> None:
        self.org = org
        self.params = self.Params() if params is None else params

    @abstractmethod
    def decompose(self, lines: np.ndarray) -> dict[str, np.ndarray]:
        """The fields (``channel``, ``rank``, ``bank``, ``row``, ``column``) of each line index."""

    def global_bank(self, lines: np.ndarray) -> np.ndarray:
        """Global bank index (channel-major: channel, rank, bank) of each line, int32."""
        f = self.decompose(np.asarray(lines, dtype=np.int64))
        o = self.org
        return ((f["channel"] * o.ranks + f["rank"]) * o.banks + f["bank"]).astype(np.int32)


class FieldOrderMapping(AddressMapping):
    """A mapping given by its field order, most significant first; subclasses set ``order``."""

    order: ClassVar[tuple[str, ...]] = ("row", "column", "bank", "rank", "channel")

    def __init__(self, org: Organisation, params: Any = None) -> None:
        super().__init__(org, params)
        if sorted(self.order) != sorted(FIELDS):
            raise ConfigError(f"address mapping {self.name}: order must name each of {', '.join(FIELDS)} once")

    def _sizes(self) -> dict[str, int]:
        o = self.org
        return {"channel": o.channels, "rank": o.ranks, "bank": o.banks, "column": o.row_lines, "row": o.rows}

    def decompose(self, lines: np.ndarray) -> dict[str, np.ndarray]:
        rest = np.asarray(lines, dtype=np.int64).copy()
        sizes = self._sizes()
        out: dict[str, np.ndarray] = {}
        for name in reversed(self.order):  # least significant first
            size = sizes[name]
            out[name] = rest % size
            rest = rest // size
        if np.any(rest):
            n = math.prod(sizes.values())
            worst = int(np.asarray(lines).max())
            raise ConfigError(f"address mapping {self.name}: line {worst:,} lies beyond the memory's capacity of "
                              f"{n:,} lines (raise timing.capacity_bytes)")
        return out


#: Address mappings, by name.
ADDRESS_MAPPINGS: Registry[type[AddressMapping]] = Registry("address mapping", AddressMapping)


def _field_mapping(name: str, order: tuple[str, ...]) -> None:
    cls = type(f"Mapping{name}", (FieldOrderMapping,), {"order": order, "__doc__": f"Field order {':'.join(order)}."})
    ADDRESS_MAPPINGS.register(name, cls)


_field_mapping("RoCoBaRaCh", ("row", "column", "bank", "rank", "channel"))
_field_mapping("RoBaRaCoCh", ("row", "bank", "rank", "column", "channel"))
_field_mapping("ChRaBaRoCo", ("channel", "rank", "bank", "row", "column"))


def port_units(line_bank: np.ndarray, cluster: np.ndarray, groups: int) -> tuple[int, np.ndarray]:
    """The servers of the engines when every bank has ``groups`` port groups (racetrack access ports).

    Each bank's clusters, in increasing cluster number, are dealt round-robin over its port groups: the
    port group of a line is (rank of its cluster among the clusters holding lines of its bank) mod
    ``groups``, so lines of one cluster always share a group. Returns ``(used, unit)``: the port groups
    in use (``min(groups, most clusters of a bank)``; the others hold no line) and each line's server,
    ``bank x used + group``, channel-major like the global bank index. ``used`` = 1 gives the banks.
    """
    line_bank = np.asarray(line_bank, dtype=np.int64)
    cluster = np.asarray(cluster, dtype=np.int64)
    if line_bank.shape != cluster.shape:
        raise ConfigError("port model: one cluster per line is needed")
    if groups < 1:
        raise ConfigError(f"port model: a bank needs at least one port group, not {groups!r}")
    if line_bank.size == 0:
        return 1, line_bank.astype(np.int32)
    key = np.stack([line_bank, cluster])
    pairs, inverse = np.unique(key, axis=1, return_inverse=True)   # sorted by bank, then cluster
    inverse = inverse.reshape(-1)
    first = np.searchsorted(pairs[0], pairs[0], side="left")       # each pair's bank's first pair
    rank = np.arange(pairs.shape[1]) - first
    used = int(min(groups, rank.max() + 1))
    group = rank[inverse] % used
    return used, (line_bank * used + group).astype(np.int32)

"""Configuration: typed parameter sets with the papers' defaults, validated at the edge.

A configuration is a tree of frozen dataclasses. It is built from a TOML or
YAML file (:func:`load_config`), from a mapping (:func:`config_from_mapping`)
and from ``section.key=value`` overrides (:func:`apply_overrides`). Every
unknown key and every bad value is rejected with a :class:`ConfigError` that
names the key (and the file, when there is one). The simulation core receives
these objects and never parses strings.

Units are in the field names: ``_ns`` nanoseconds, ``_pj`` picojoules,
``_bits``/``_bytes``.
"""
from __future__ import annotations

import collections.abc
import dataclasses
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from archsim.dap.config import DapConfig
from archsim.errors import ConfigError
from archsim.racetrack.config import RacetrackConfig
from archsim.timing.config import TimingConfig

GiB = 2**30


@dataclass(frozen=True)
class PcmConfig:
    """PCM cell parameters; defaults are Table II of the AppWOM paper (after Lee et al., ISCA 2009)."""

    read_latency_ns: float = 125.0
    """Latency of one line read, ns."""
    set_latency_ns: float = 1000.0
    """Latency of a SET (0 -> 1) pulse, ns; a line write with any SET takes this long."""
    reset_latency_ns: float = 125.0
    """Latency of a RESET (1 -> 0) pulse, ns."""
    read_energy_pj_per_bit: float = 2.0
    """Energy of reading one cell, pJ."""
    set_energy_pj: float = 13.5
    """Energy of SETting one cell, pJ."""
    reset_energy_pj: float = 19.2
    """Energy of RESETting one cell, pJ."""
    endurance: float = 1e8
    """Flips a cell survives."""
    capacity_bytes: int = 32 * GiB
    """Capacity of the memory, bytes."""
    read_before_write: bool = False
    """Charge one line read (latency and energy) before every write of a scheme that needs the old contents."""
    write_power_budget: int = 0
    """Cells a bank may program at once; a larger line write takes several rounds. 0 = unlimited."""

    def validate(self, where: str) -> None:
        for name in ("read_latency_ns", "set_latency_ns", "reset_latency_ns"):
            _positive(self, name, where)
        for name in ("read_energy_pj_per_bit", "set_energy_pj", "reset_energy_pj"):
            _non_negative(self, name, where)
        _positive(self, "endurance", where)
        _positive(self, "capacity_bytes", where)
        _non_negative(self, "write_power_budget", where)


@dataclass(frozen=True)
class LayoutConfig:
    """How data words are laid out in memory lines."""

    word_bits: int = 32
    """Width of one data word, bits (8, 16, 32 or 64)."""
    line_bytes: int = 64
    """Size of one memory line, bytes (data payload; code cells come on top)."""
    align_tensors: bool = True
    """Start every tensor on a new line (otherwise tensors are packed back to back)."""

    def validate(self, where: str) -> None:
        if self.word_bits not in (8, 16, 32, 64):
            raise ConfigError(f"{where}.word_bits must be 8, 16, 32 or 64, not {self.word_bits}")
        if self.line_bytes <= 0 or (self.line_bytes * 8) % self.word_bits:
            raise ConfigError(
                f"{where}.line_bytes must be a positive multiple of the word size "
                f"({self.word_bits // 8} bytes), not {self.line_bytes}"
            )

    @property
    def words_per_line(self) -> int:
        return self.line_bytes * 8 // self.word_bits


@dataclass(frozen=True)
class EncodingConfig:
    """Options shared by every write scheme, and per-scheme parameter tables.

    ``schemes`` maps a scheme name to its own parameters (for example
    ``{"appwom": {"grouping": "fig5"}}``); each scheme validates its table.
    """

    refresh_unit: str = "line"
    """What is exhausted and refreshed as a whole: "line" or "word"."""
    schemes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def validate(self, where: str) -> None:
        if self.refresh_unit not in ("line", "word"):
            raise ConfigError(f"{where}.refresh_unit must be 'line' or 'word', not {self.refresh_unit!r}")
        from archsim.encoding import PCM_SCHEMES

        for name, params in self.schemes.items():
            encoder = PCM_SCHEMES.get(name)
            encoder.check_params(dict(params), where=f"{where}.schemes.{name}")


@dataclass(frozen=True)
class RunConfig:
    """What ``archsim run`` does when no option overrides it."""

    memory: str = "pcm"
    """Memory technology by registered name ("pcm"; see :mod:`archsim.technology`)."""
    schemes: tuple[str, ...] = ()
    """Write schemes to replay, by registered name; empty = the technology's defaults."""
    workload: str = "lenet-digits"
    """Default workload (trace source) by registered name."""
    iterations: int = 200
    """Training iterations (weight updates) to record and replay."""
    seed: int = 0
    """Seed of everything random in the run."""
    chunk_iterations: int = 64
    """Iterations handed to the kernels at once (memory grows with it, speed too)."""
    trace: str = ""
    """Path of a recorded trace to replay instead of ``workload`` ("" = record or stream the workload)."""
    knobs: Mapping[str, Any] = field(default_factory=dict)
    """The workload's knobs (e.g. ``lr``, ``batch_size``); unset knobs take the workload's defaults."""
    observers: tuple[str, ...] = ()
    """Run observers by registered name (:data:`archsim.run.OBSERVERS`, e.g. "timing"), run alongside
    the replay; ``archsim run --observe NAME`` / ``--timing`` add to them."""

    def validate(self, where: str) -> None:
        from archsim.technology import TECHNOLOGIES

        if not self.trace:  # the workload and its knobs must exist (plugins are loaded by now)
            from workloads import WORKLOADS

            try:
                WORKLOADS.get(self.workload)().resolve_knobs(dict(self.knobs))
            except Exception as exc:
                raise ConfigError(f"{where}.workload: {exc}") from None

        try:
            tech = TECHNOLOGIES.get(self.memory)
        except Exception as exc:
            raise ConfigError(f"{where}.memory: {exc}") from None
        for name in self.schemes:
            try:
                tech.schemes.get(name)
            except Exception as exc:
                raise ConfigError(f"{where}.schemes: {exc}") from None
        _positive(self, "iterations", where)
        _non_negative(self, "seed", where)
        _positive(self, "chunk_iterations", where)
        if self.observers:
            from archsim.run import OBSERVERS  # lazily: archsim.run imports this module

            for name in self.observers:
                try:
                    OBSERVERS.get(name)
                except Exception as exc:
                    raise ConfigError(f"{where}.observers: {exc}") from None
            if len(set(self.observers)) != len(self.observers):
                raise ConfigError(f"{where}.observers names an observer twice: {', '.join(self.observers)}")

    def resolved_schemes(self) -> tuple[str, ...]:
        """The schemes to replay: the configured ones, or the technology's defaults."""
        from archsim.technology import TECHNOLOGIES

        return self.schemes or TECHNOLOGIES.get(self.memory).default_schemes


@dataclass(frozen=True)
class Config:
    """The whole configuration of a run."""

    pcm: PcmConfig = field(default_factory=PcmConfig)
    layout: LayoutConfig = field(default_factory=LayoutConfig)
    encoding: EncodingConfig = field(default_factory=EncodingConfig)
    run: RunConfig = field(default_factory=RunConfig)
    timing: TimingConfig = field(default_factory=TimingConfig)
    dap: DapConfig = field(default_factory=DapConfig)
    racetrack: RacetrackConfig = field(default_factory=RacetrackConfig)

    def validate(self, where: str = "") -> None:
        for f in dataclasses.fields(self):
            getattr(self, f.name).validate(f"{where}{f.name}")

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (TOML-serialisable) of the resolved configuration."""
        return _plain(dataclasses.asdict(self))

    def to_toml(self) -> str:
        """The resolved configuration as TOML, loadable by :func:`load_config`."""
        return dump_toml(self.to_dict())


# --------------------------------------------------------------------------- building


def config_from_mapping(data: Mapping[str, Any], *, source: str | None = None) -> Config:
    """Build and validate a :class:`Config` from nested mappings.

    ``source`` (a file name) is put in front of every error message.
    """
    try:
        cfg = _build(Config, data, "")
        cfg.validate()
    except ConfigError as exc:
        if source:
            raise ConfigError(f"{source}: {exc}") from None
        raise
    return cfg


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Load a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file, then apply overrides.

    With no path, the defaults. Errors name the file and the key.
    """
    data: dict[str, Any] = {}
    source = None
    if path is not None:
        p = Path(path)
        source = str(p)
        if not p.is_file():
            raise ConfigError(f"{p}: config file not found")
        text = p.read_text(encoding="utf-8")
        try:
            if p.suffix in (".yaml", ".yml"):
                import yaml

                loaded = yaml.safe_load(text)
                data = {} if loaded is None else loaded
            elif p.suffix == ".toml":
                data = tomllib.loads(text)
            else:
                raise ConfigError(f"{p}: config files must end in .toml, .yaml or .yml")
        except ConfigError:
            raise
        except Exception as exc:  # parser errors carry the line
            detail = str(exc)
            mark = getattr(exc, "problem_mark", None)  # YAML: multi-line message with a snippet
            if mark is not None:
                detail = f"{exc.problem} (at line {mark.line + 1}, column {mark.column + 1})"
            raise ConfigError(f"{p}: not valid {p.suffix[1:].upper()}: {detail}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{p}: the top level must be a table of sections")
    if overrides:
        data = apply_overrides(data, overrides)
    return config_from_mapping(data, source=source)


def apply_overrides(data: Mapping[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` overrides (value in TOML syntax, bare words are strings)."""
    out = _deepcopy(data)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like section.key=value")
        key, raw = item.split("=", 1)
        key = key.strip()
        parts = key.split(".")
        if len(parts) < 2 or not all(parts):
            raise ConfigError(f"override {item!r}: the key must be section.key")
        value = parse_value(raw.strip())
        node = out
        for part in parts[:-1]:
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                raise ConfigError(f"override {item!r}: {part} is not a section")
            node = nxt
        node[parts[-1]] = value
    return out


def parse_value(raw: str) -> Any:
    """A TOML value (number, bool, string, list); a bare word is a string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def replace(cfg: Config, overrides: Mapping[str, Any]) -> Config:
    """A copy of ``cfg`` with ``{"section.key": value}`` changes, validated again."""
    data = cfg.to_dict()
    for key, value in overrides.items():
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{key}: {part} is not a section")
        node[parts[-1]] = value
    return config_from_mapping(data)


# --------------------------------------------------------------------------- helpers


def build_dataclass(cls: type, data: Mapping[str, Any], where: str):
    """Build dataclass ``cls`` from ``data``, checking keys and types; errors name ``where.key``."""
    return _build(cls, data, where)


def _build(cls: type, data: Any, where: str):
    label = where or "the configuration"
    if not isinstance(data, Mapping):
        raise ConfigError(f"{label} must be a table, not {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in data if k not in fields]
    if unknown:
        key = f"{where}.{unknown[0]}" if where else str(unknown[0])
        raise ConfigError(f"unknown key {key!r}; known keys: {', '.join(fields)}")
    kwargs = {}
    for name, value in data.items():
        key = f"{where}.{name}" if where else name
        kwargs[name] = _coerce(hints[name], value, key)
    obj = cls(**kwargs)
    return obj


def _coerce(tp: Any, value: Any, key: str):
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None and len(args) < len(typing.get_args(tp)):
            return None
        errors = []
        for a in args:
            try:
                return _coerce(a, value, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0])
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, not {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise ConfigError(f"{key} must be an integer, not {value!r}")
        return int(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} must be a number, not {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"{key} must be finite, not {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, not {value!r}")
        return value
    if origin is tuple:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} must be a list, not {value!r}")
        (item_tp, *_rest) = typing.get_args(tp)
        return tuple(_coerce(item_tp, v, f"{key}[{i}]") for i, v in enumerate(value))
    if origin in (collections.abc.Mapping, dict) or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key} must be a table, not {value!r}")
        args = typing.get_args(tp)
        value_tp = args[1] if len(args) == 2 else Any
        return {str(k): _coerce(value_tp, (dict(v) if isinstance(v, Mapping) else v), f"{key}.{k}")
                for k, v in value.items()}
    return value


def _positive(obj: Any, name: str, where: str) -> None:
    value = getattr(obj, name)
    if not value > 0:
        raise ConfigError(f"{where}.{name} must be positive, not {value!r}")


def _non_negative(obj: Any, name: str, where: str) -> None:
    value = getattr(obj, name)
    if not value >= 0:
        raise ConfigError(f"{where}.{name} must not be negative, not {value!r}")


def _deepcopy(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deepcopy(v) if isinstance(v, Mapping) else v for k, v in data.items()}


def _plain(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def dump_toml(data: Mapping[str, Any]) -> str:
    """Write nested mappings as TOML (tables for mappings, inline values otherwise)."""
    lines: list[str] = []

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, Mapping):
            return "{" + ", ".join(f"{_key(k)} = {value(x)}" for k, x in v.items()) + "}"
        if v is None:
            raise ConfigError("TOML cannot hold None")
        return value(str(v))

    def table(prefix: str, d: Mapping[str, Any]) -> None:
        scalars = {k: v for k, v in d.items() if not isinstance(v, Mapping)}
        subs = {k: v for k, v in d.items() if isinstance(v, Mapping)}
        if prefix and (scalars or not subs):
            lines.append(f"[{prefix}]")
        for k, v in scalars.items():
            if v is not None:
                lines.append(f"{_key(k)} = {value(v)}")
        if prefix and (scalars or not subs):
            lines.append("")
        for k, v in subs.items():
            table(f"{prefix}.{_key(k)}" if prefix else _key(k), v)

    table("", data)
    return "\n".join(lines).rstrip() + "\n"


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else f'"{k}"'

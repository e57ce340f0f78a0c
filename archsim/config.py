"""Configuration: the schema of a run, typed parameter sets validated at the edge.

A configuration is a tree of frozen dataclasses. It is built from a TOML or
YAML file (:func:`load_config`), from a mapping (:func:`config_from_mapping`)
and from ``section.key=value`` overrides (:func:`apply_overrides`). Every
unknown key and every bad value is rejected with a :class:`ConfigError` that
names the key (and the file, when there is one). The simulation core receives
these objects and never parses strings.

This module is the schema only. It hard-codes two sections, ``[layout]`` and
``[run]``; every other section is contributed by the package it configures
(``[pcm]``, ``[encoding]`` and ``[dap]`` by :mod:`archsim.pcm`, ``[racetrack]``,
``[timing]``; a plugin's technology adds its own), registered in
:data:`CONFIG_SECTIONS`. A key that selects an implementation (a scheduling
policy, a workload, ...) is a :class:`Choice`: a table ``{name = "...", ...}``
with that implementation's own parameters (its ``Params`` dataclass), or the
bare name as shorthand. Importing this module loads no technology, engine or
workload; they are loaded on the first look-up of a registry.

Units are in the field names: ``_ns`` nanoseconds, ``_pj`` picojoules,
``_bits``/``_bytes``.
"""
from __future__ import annotations

import collections.abc
import dataclasses
import hashlib
import json
import logging
import math
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Mapping

from archsim.errors import ConfigError, RegistryError
from archsim.registry import EXTENSION_POINTS, NoParams, Registry, ensure_builtins

GiB = 2**30
#: Largest memory line, bytes (``layout.line_bytes``).
MAX_LINE_BYTES = 1 << 16
#: Largest latency (ns), energy (pJ) and endurance a configuration may hold: far beyond any device, and
#: small enough that totals over a paper-scale run stay finite (no ``inf`` in a table).
MAX_MAGNITUDE = 1e15

_log = logging.getLogger("archsim.config")

#: Configuration sections contributed by packages and plugins: name -> frozen dataclass with a
#: ``validate(where)`` method (and optionally ``moved``: old key -> new key, for old configs).
CONFIG_SECTIONS: Registry[type] = Registry("configuration section")


# --------------------------------------------------------------------------- sections


class Section:
    """Base of a configuration section: a frozen dataclass of typed fields (units in the names).

    Register a section with ``CONFIG_SECTIONS.register("name", MySection)``; it reads as
    ``config.name`` and is the ``[name]`` table of a file.
    """

    #: Keys of older configurations and where they live now; they load there with a one-line note,
    #: and where both are given the new key wins. A relative target is in this section (``"old":
    #: "slot.param"``, a parameter of a choice slot; ``"old": "slot"``, a whole table); an absolute one
    #: starts with ``/``: ``"/slot"`` a slot of the configuration's top level, ``"/section.key"`` a key
    #: of another section. Identities (:meth:`Config.identity`) still hold a key moved to another
    #: section here, with the value of the new key, so that the ids of earlier sweeps stay.
    moved: ClassVar[dict[str, str]] = {}
    #: Keys of older configurations that no longer exist, with the reason; ignored with a note.
    removed: ClassVar[dict[str, str]] = {}

    #: Whether the section takes part in identities derived from a whole configuration (the ids of
    #: sweep points) while it holds its default values. A section added to archsim after such ids
    #: existed sets it False, so that earlier sweeps keep their ids (and resume).
    identity_at_default: ClassVar[bool] = True
    #: Keys added to the section after such ids existed: left out of the identity while they hold
    #: their defaults, so that earlier sweeps keep their ids (and resume).
    identity_new_keys: ClassVar[tuple[str, ...]] = ()

    def validate(self, where: str) -> None:
        """Checks beyond the field types; raise :class:`ConfigError` naming ``where.key``."""

    def validate_with(self, config: "Config", where: str) -> None:
        """Checks against other sections of the whole ``config`` (after every section's :meth:`validate`)."""


# --------------------------------------------------------------------------- choices


@dataclass(frozen=True)
class Choice:
    """An implementation chosen by registered name, with its own parameters.

    ``params`` is an instance of the implementation's ``Params`` dataclass. In
    a file: ``[timing.scheduling]`` / ``name = "read-first"`` /
    ``write_high_watermark = 24``, or ``scheduling = "read-first"`` (defaults).
    """

    name: str
    params: Any = field(default_factory=NoParams)

    def __str__(self) -> str:
        return self.name

    def kwargs(self) -> dict[str, Any]:
        """The parameters as keyword arguments."""
        return self.params.as_dict()


def choice(kind: str, default: str) -> Any:
    """A dataclass field choosing one implementation of the registry ``kind`` (default ``default``)."""
    return field(default_factory=lambda: _make_choice(kind, default, {}, kind),
                 metadata={"registry": kind})


def choices(kind: str, default: tuple[str, ...] = ()) -> Any:
    """A dataclass field choosing a list of implementations of the registry ``kind``."""
    return field(default_factory=lambda: tuple(_make_choice(kind, d, {}, kind) for d in default),
                 metadata={"registry": kind})


def _registry(kind: str) -> Registry:
    ensure_builtins()
    return EXTENSION_POINTS[kind]


def _params_type(kind: str, name: str, key: str) -> type:
    reg = _registry(kind)
    try:
        impl = reg.get(name)
    except RegistryError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    ptype = getattr(impl, "Params", None)  # validating a plugin's class, not probing for a hook
    if not (isinstance(ptype, type) and issubclass(ptype, NoParams) and dataclasses.is_dataclass(ptype)):
        raise ConfigError(f"{key}: {reg.kind} {name!r} ({impl!r}) must declare Params, a frozen dataclass "
                          "subclassing archsim.registry.NoParams (subclass the extension point's base class)")
    return ptype


def _make_choice(kind: str, name: str, params: Mapping[str, Any], key: str) -> Choice:
    reg = _registry(kind)
    ptype = _params_type(kind, name, key)
    known = [f.name for f in dataclasses.fields(ptype)]
    unknown = [k for k in params if k not in known]
    if unknown:
        raise ConfigError(f"{key}: unknown parameter {unknown[0]!r} of {reg.kind} {name!r}; "
                          f"its parameters: {', '.join(known) or 'none'}")
    return Choice(name, _build(ptype, params, key))


#: Key of a choice table holding the parameters given for the implementation it replaced (see _set_key).
CARRIED = "__carried__"


def _coerce_choice(kind: str, value: Any, key: str) -> Choice:
    if isinstance(value, Choice):
        return value
    if isinstance(value, str):
        return _make_choice(kind, value, {}, key)
    if isinstance(value, Mapping):
        if "name" not in value or not isinstance(value["name"], str):
            raise ConfigError(f"{key} must name the {kind} ({key}.name = \"...\"); "
                              f"choices: {', '.join(_registry(kind).names())}")
        params = {k: v for k, v in value.items() if k not in ("name", CARRIED)}
        carried = value.get(CARRIED) or {}
        if carried:
            known = {f.name for f in dataclasses.fields(_params_type(kind, value["name"], key))}
            dropped = sorted(k for k in carried if k not in known and k not in params)
            params = {**{k: v for k, v in carried.items() if k in known}, **params}
            if dropped:
                _log.warning("note: %s: %s %r takes no %s (given for the %s it replaces): dropped", key, kind,
                             value["name"], ", ".join(dropped), kind)
        return _make_choice(kind, value["name"], params, key)
    raise ConfigError(f"{key} must be a {kind} name or a table with its name and parameters, not {value!r}")


def validate_section(section: Any, where: str) -> None:
    """Validate one section: the parameters of its choices, then its own ``validate``."""
    _validate_choices(section, where)
    section.validate(where)


def _validate_choices(section: Any, where: str, only: tuple[str, ...] | None = None) -> None:
    for f in dataclasses.fields(section):
        if "registry" not in f.metadata or (only is not None and f.name not in only):
            continue
        value = getattr(section, f.name)
        items = value if isinstance(value, tuple) else (value,)
        key = f"{where}.{f.name}" if where else f.name
        for i, c in enumerate(items):
            c.params.validate(key + (f"[{i}]" if isinstance(value, tuple) else ""), section)


@dataclass(frozen=True)
class LayoutConfig(Section):
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
        if self.line_bytes > MAX_LINE_BYTES:
            raise ConfigError(f"{where}.line_bytes must be at most {MAX_LINE_BYTES} (a 64 KiB memory line; every "
                              f"tensor starts a line, so larger lines are mostly padding), not {self.line_bytes}")

    @property
    def words_per_line(self) -> int:
        return self.line_bytes * 8 // self.word_bits


#: Trace formats ``run.trace`` may be in (``run.trace_format``).
TRACE_FORMATS = ("archsim", "nvmain")


@dataclass(frozen=True)
class RunConfig(Section):
    """What ``archsim run`` does when no option overrides it."""

    moved: ClassVar[dict[str, str]] = {"knobs": "workload", "wear_leveling": "/wear_leveling"}
    identity_new_keys: ClassVar[tuple[str, ...]] = ("trace_format",)

    memory: str = "pcm"
    """Memory technology by registered name ("pcm", "racetrack"; its parameters are its own section)."""
    schemes: tuple[str, ...] = ()
    """Write schemes to replay, by registered name; empty = the technology's defaults."""
    workload: Choice = choice("workload", "lenet-digits")
    """Default workload (trace source) by registered name, with its knobs (``lr``, ``batch_size``, ...)
    as parameters: ``[run.workload]`` / ``name = "lenet-digits"`` / ``lr = 0.02``."""
    iterations: int = 200
    """Training iterations (weight updates) to record and replay."""
    seed: int = 0
    """Seed of everything random in the run."""
    chunk_iterations: int = 64
    """Iterations handed to the kernels at once (memory grows with it, speed too)."""
    trace: str = ""
    """Path of a recorded trace to replay instead of ``workload`` ("" = record or stream the workload)."""
    trace_format: str = "archsim"
    """Format of ``trace``: "archsim" (a recorded trace directory) or "nvmain" (an NVMain ``.nvt`` file
    whose write stream is replayed; :mod:`workloads.nvmain`, ``docs/traces.md``)."""
    iteration_time_s: float = 0.01
    """Time of one training iteration, s, for ``lifetime_seconds`` / ``lifetime_years`` when the timing
    model does not run (with ``--timing`` its simulated time per iteration is used)."""
    observers: tuple[Choice, ...] = choices("run observer")
    """Run observers by registered name (e.g. "timing"), run alongside the replay;
    ``archsim run --observe NAME`` / ``--timing`` add to them."""

    def validate(self, where: str) -> None:
        from archsim.contracts import TECHNOLOGIES  # the registry only (archsim.contracts is a leaf)

        try:
            tech = TECHNOLOGIES.get(self.memory)
        except RegistryError as exc:
            raise ConfigError(f"{where}.memory: {exc}") from None
        for name in self.schemes:
            try:
                tech.schemes.get(name)
            except RegistryError as exc:
                raise ConfigError(f"{where}.schemes: {exc}") from None
        positive(self, "iterations", where)
        check_seed(self.seed, f"{where}.seed")
        positive(self, "chunk_iterations", where)
        positive(self, "iteration_time_s", where)
        if self.trace_format not in TRACE_FORMATS:
            raise ConfigError(f"{where}.trace_format must be one of {', '.join(TRACE_FORMATS)}, "
                              f"not {self.trace_format!r}")
        if self.trace_format != "archsim" and not self.trace:
            raise ConfigError(f"{where}.trace_format = {self.trace_format!r} needs {where}.trace (the file)")
        names = [o.name for o in self.observers]
        if len(set(names)) != len(names):
            raise ConfigError(f"{where}.observers names an observer twice: {', '.join(names)}")

    @property
    def knobs(self) -> dict[str, Any]:
        """The workload's knobs (its resolved parameters)."""
        return self.workload.kwargs()

    def resolved_schemes(self) -> tuple[str, ...]:
        """The schemes to replay: the configured ones, or the technology's defaults."""
        from archsim.contracts import TECHNOLOGIES

        return self.schemes or TECHNOLOGIES.get(self.memory).default_schemes


CORE_SECTIONS = ("layout", "run")
#: Choices of the configuration's top level (not sections): ``wear_leveling = "rotate"``,
#: ``--set wear_leveling=rotate``; they apply to every technology.
TOP_LEVEL_CHOICES = ("wear_leveling",)


def _default_sections() -> dict[str, Any]:
    ensure_builtins()
    return {name: CONFIG_SECTIONS.get(name)() for name in CONFIG_SECTIONS.names()}


@dataclass(frozen=True)
class Config:
    """The whole configuration of a run: ``layout``, ``run`` and the registered sections.

    A registered section reads as an attribute (``config.pcm``, ``config.timing``).
    """

    layout: LayoutConfig = field(default_factory=LayoutConfig)
    run: RunConfig = field(default_factory=RunConfig)
    sections: Mapping[str, Any] = field(default_factory=_default_sections)
    wear_leveling: Choice = choice("wear leveller", "none")
    """Wear levelling by registered name ("none", "rotate", "start-gap", "rotate-start-gap";
    :mod:`archsim.wear`), with its parameters: ``[wear_leveling]`` / ``name = "rotate"`` / ``period = 64``,
    or ``wear_leveling = "rotate"``; ``--set wear_leveling=rotate``. (Formerly ``run.wear_leveling``,
    still read, with a note.)"""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        sections = self.__dict__.get("sections", {})
        if name in sections:
            return sections[name]
        raise AttributeError(f"the configuration has no section {name!r}; sections: "
                             f"{', '.join([*CORE_SECTIONS, *sections])}")

    def section(self, name: str) -> Any:
        """The section ``name`` (core or registered)."""
        return getattr(self, name)

    def validate(self, where: str = "") -> None:
        _validate_choices(self, where.rstrip("."), TOP_LEVEL_CHOICES)
        for name in (*CORE_SECTIONS, *self.sections):
            validate_section(self.section(name), f"{where}{name}")
        for name in (*CORE_SECTIONS, *self.sections):
            self.section(name).validate_with(self, f"{where}{name}")

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (TOML-serialisable) of the resolved configuration: the top-level
        choices, then the sections."""
        return {**{name: _plain(getattr(self, name)) for name in TOP_LEVEL_CHOICES},
                **{name: _plain(self.section(name)) for name in (*CORE_SECTIONS, *self.sections)}}

    def identity(self) -> dict[str, Any]:
        """:meth:`to_dict` without the sections that hold their defaults and opt out of identities
        (:attr:`Section.identity_at_default`), and without the keys added after identities existed
        that hold their defaults (:attr:`Section.identity_new_keys`). The wear leveller stands where it
        stood when sweep ids were first derived from it (``run.wear_leveling``), so that those sweeps keep
        their ids (and resume)."""
        out = self.to_dict()
        out["run"] = {**out["run"], "wear_leveling": out.pop("wear_leveling")}
        for name, sec in self.sections.items():
            if not type(sec).identity_at_default and sec == type(sec)():
                del out[name]
            elif name in out:
                for old, new in type(sec).moved.items():
                    if new.startswith("/") and "." in new:  # moved to another section
                        section, key = new[1:].split(".", 1)
                        out[name][old] = out[section][key]
        for name in (*CORE_SECTIONS, *self.sections):
            sec = self.section(name)
            new_keys = type(sec).identity_new_keys
            if name in out and new_keys:
                default = type(sec)()
                for key in new_keys:
                    if getattr(sec, key) == getattr(default, key):
                        out[name].pop(key, None)
        return out

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


def digest(obj: Any) -> str:
    """SHA-256 (64 hex digits) of ``obj`` as canonical JSON (keys sorted, other values by ``str``): the
    name of a configuration's identity (:meth:`Config.identity`), a sweep point, a cached run or a saved
    part, the same on every machine and in every run. Callers may keep a prefix."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def load_config(path: str | Path | None = None, overrides: list[str] | None = None,
                changes: Mapping[str, Any] | None = None) -> Config:
    """Load a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file, then apply ``section.key=value``
    overrides, then ``changes`` (``{"section.key": value}``, e.g. a command's own options).

    All are applied to the data before it is resolved, so that ``{"run.workload.name": "x"}`` keeps
    the knobs the file or an override gave. With no path, the defaults. Errors name the file and the key.
    """
    if isinstance(overrides, str):  # its letters are not overrides
        raise TypeError(f"overrides must be a list of 'section.key=value' strings, such as [{overrides!r}], "
                        f"not the string {overrides!r}")
    data = read_config_data(path) if path is not None else {}
    source = str(path) if path is not None else None
    if overrides or changes:
        source = f"{source} with the command's options" if source else None
    if overrides:
        data = apply_overrides(data, overrides)
    return config_with(data, changes or {}, source=source)


def _load_yaml(text: str) -> Any:
    """``yaml.safe_load``, but a key given twice in one mapping is an error (TOML's rule; PyYAML
    would keep the last silently)."""
    import yaml

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen: set = set()
            for key_node, _ in node.value:  # the keys as written (a merge, <<: *anchor, may be overridden)
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    twice = key in seen
                    seen.add(key)
                except TypeError:  # an unhashable key: PyYAML's own error names it
                    continue
                if twice:
                    raise yaml.constructor.ConstructorError(None, None, f"key {key!r} given twice",
                                                            key_node.start_mark)
            return super().construct_mapping(node, deep)

    return yaml.load(text, Loader=Loader)


def read_config_data(path: str | Path) -> dict[str, Any]:
    """The raw tables of a TOML or YAML configuration file (not yet validated); errors name the file."""
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{p}: is a directory; name the config file")
    if not p.is_file():
        raise ConfigError(f"{p}: config file not found")
    text = read_text(p)
    try:
        if p.suffix in (".yaml", ".yml"):
            loaded = _load_yaml(text)
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
    return data


def config_with(data: Mapping[str, Any], changes: Mapping[str, Any], *, source: str | None = None) -> Config:
    """The configuration of raw ``data`` with ``{"section.key": value}`` changes applied to the data
    before it is resolved (a changed choice keeps the parameters given for it, where the new
    implementation takes them)."""
    data = _deepcopy(data)
    try:
        for key, value in changes.items():
            new = current_key(key)  # an old spelling is changed where the key lives now
            if new != key:
                _log.warning("note: %s is now %s (read as such)", key, new)
            if new != key and new.count(".") == key.count(".") and isinstance(value, Mapping):
                for k, v in value.items():  # a whole table moved (run.knobs -> run.workload): key by key
                    _set_key(data, [*new.split("."), str(k)], v, f"{key}.{k}")
            else:
                _set_key(data, new.split("."), value, key)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}" if source else str(exc)) from None
    return config_from_mapping(data, source=source)


def read_text(path: Path) -> str:
    """A configuration file's text (UTF-8; a byte-order mark is ignored); undecodable bytes are one
    error naming the file and the line."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}: line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file "
                          "as UTF-8") from None


def apply_overrides(data: Mapping[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` overrides (value in TOML syntax, bare words are strings).

    A key may reach into a choice's parameters: ``timing.scheduling.write_high_watermark=8``.
    """
    out = _deepcopy(data)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like section.key=value")
        key, raw = item.split("=", 1)
        key = key.strip()
        parts = key.split(".")
        if (len(parts) < 2 and parts[0] not in TOP_LEVEL_CHOICES) or not all(parts):
            raise ConfigError(f"override {item!r}: the key must be section.key (or one of the top-level "
                              f"choices: {', '.join(TOP_LEVEL_CHOICES)})")
        try:
            value = parse_value(raw.strip())
        except ConfigError as exc:
            raise ConfigError(f"override {key}: {exc}") from None
        _set_key(out, parts, value, f"override {key}")
    return out


def _set_key(data: dict[str, Any], parts: list[str], value: Any, label: str) -> None:
    """Set ``data[parts[0]][parts[1]]... = value``; a choice given by name becomes ``{name = ...}``
    when a key reaches into its parameters."""
    node = data
    for part in parts[:-1]:
        nxt = node.setdefault(part, {})
        if isinstance(nxt, str):  # a choice's shorthand: reach into its parameters
            nxt = node[part] = {"name": nxt}
        if not isinstance(nxt, dict):
            raise ConfigError(f"{label}: {part} is not a table of keys (it is {nxt!r})")
        node = nxt
    old = node.get(parts[-1])
    if isinstance(value, str) and isinstance(old, Mapping) and isinstance(old.get("name"), str):
        if old["name"] == value:  # the same implementation: its parameters stay
            return
        params = {k: v for k, v in old.items() if k not in ("name", CARRIED)}  # another one keeps those it takes
        value = {"name": value, CARRIED: {**old.get(CARRIED, {}), **params}} if params else value
    node[parts[-1]] = value


def parse_value(raw: str) -> Any:
    """A TOML value (number, bool, string, list); a bare word is a string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw
    except ValueError:  # an integer of more digits than Python converts (4300)
        raise ConfigError(f"{raw[:16]}... ({len(raw):,} characters): a number too long to read") from None


def replace(cfg: Config, overrides: Mapping[str, Any]) -> Config:
    """A copy of ``cfg`` with ``{"section.key": value}`` changes, validated again."""
    return config_with(cfg.to_dict(), overrides)


# --------------------------------------------------------------------------- helpers


def build_dataclass(cls: type, data: Mapping[str, Any], where: str):
    """Build dataclass ``cls`` from ``data``, checking keys and types; errors name ``where.key``."""
    return _build(cls, data, where)


def _build(cls: type, data: Any, where: str):
    label = where or "the configuration"
    if not isinstance(data, Mapping):
        raise ConfigError(f"{label} must be a table, not {type(data).__name__}")
    if cls is Config:
        return _build_config(data)
    data = _migrate(cls, data, where)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in data if k not in fields]
    if unknown:
        key = f"{where}.{unknown[0]}" if where else str(unknown[0])
        raise ConfigError(f"unknown key {key!r}; known keys: {', '.join(fields) or 'none'}")
    kwargs = {}
    for name, value in data.items():
        key = f"{where}.{name}" if where else name
        kind = fields[name].metadata.get("registry")
        if kind is None:
            kwargs[name] = _coerce(hints[name], value, key)
        elif typing.get_origin(hints[name]) is tuple:
            # (each entry of a list of choices names its implementation)
            if isinstance(value, (str, Mapping)):
                value = [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else [value]
            if not isinstance(value, (list, tuple)):
                raise ConfigError(f"{key} must be a list, not {value!r}")
            kwargs[name] = tuple(_coerce_choice(kind, v, f"{key}[{i}]") for i, v in enumerate(value))
        else:
            if isinstance(value, Mapping) and "name" not in value:  # parameters of the default implementation
                value = {"name": fields[name].default_factory().name, **value}  # type: ignore[misc]
            kwargs[name] = _coerce_choice(kind, value, key)
    return cls(**kwargs)


def _build_config(data: Mapping[str, Any]) -> Config:
    ensure_builtins()
    clash = [n for n in CONFIG_SECTIONS.names() if n in CORE_SECTIONS]
    if clash:
        raise ConfigError(f"a configuration section named {clash[0]!r} was registered (by a plugin?); "
                          f"{', '.join(CORE_SECTIONS)} are the schema's own")
    known = [*TOP_LEVEL_CHOICES, *CORE_SECTIONS, *CONFIG_SECTIONS.names()]
    unknown = [k for k in data if k not in known]
    if unknown:
        raise ConfigError(f"unknown key {str(unknown[0])!r}; known keys: {', '.join(known)} (a plugin's section? "
                          "load the plugin with --plugin)")
    data = _relocate(data, {"layout": LayoutConfig, "run": RunConfig,
                            **{n: CONFIG_SECTIONS.get(n) for n in CONFIG_SECTIONS.names()}})
    core = {name: _build(cls, data.get(name, {}), name)
            for name, cls in (("layout", LayoutConfig), ("run", RunConfig))}
    sections = {}
    for name in CONFIG_SECTIONS.names():
        cls = CONFIG_SECTIONS.get(name)
        if not (isinstance(cls, type) and issubclass(cls, Section) and dataclasses.is_dataclass(cls)):
            raise ConfigError(f"configuration section {name!r} must be a dataclass subclassing archsim.config.Section")
        sections[name] = _build(cls, data.get(name, {}), name)
    top = {f.name: f for f in dataclasses.fields(Config)}
    choices_ = {}
    for name in TOP_LEVEL_CHOICES:
        if name in data:
            value = data[name]
            if isinstance(value, Mapping) and "name" not in value:  # parameters of the default implementation
                value = {"name": top[name].default_factory().name, **value}  # type: ignore[misc]
            choices_[name] = _coerce_choice(top[name].metadata["registry"], value, name)
    return Config(**core, sections=sections, **choices_)


def _relocate(data: Mapping[str, Any], classes: Mapping[str, type]) -> Mapping[str, Any]:
    """Keys of older configurations that moved out of their section (a section's ``moved`` entry with an
    absolute target, ``"/slot"`` or ``"/section.key"``) moved there, with a one-line note; given both
    ways, the new key wins (for a top-level slot: its parameters over the old key's, which are kept for
    the chosen implementation if only the old way gave them). Moves within a section: :func:`_migrate`."""
    out = None
    for sname, cls in classes.items():
        if not (isinstance(data.get(sname), Mapping) and isinstance(cls, type) and issubclass(cls, Section)):
            continue
        for old, new in cls.moved.items():
            if not new.startswith("/") or old not in data[sname]:
                continue
            out = _deepcopy(data) if out is None else out
            value, old_key = out[sname].pop(old), f"{sname}.{old}"
            where, _, key = new[1:].partition(".")
            if key:  # a key of another section
                target = out.setdefault(where, {})
                if not isinstance(target, Mapping):
                    continue  # reported where the section is built
                if key in target:
                    _log.warning("note: %s is ignored: %s is given too (the new key)", old_key, new[1:])
                else:
                    target[key] = value
                    _log.warning("note: %s is now %s (read as such)", old_key, new[1:])
                continue
            if where not in out:  # a slot of the top level
                _log.warning("note: %s is now %s (read as such)", old_key, where)
                out[where] = value
                continue
            merged = dict(out[where]) if isinstance(out[where], Mapping) else {"name": out[where]}
            extra = {k: v for k, v in value.items() if k != "name" and k not in merged} \
                if isinstance(value, Mapping) else {}
            if extra:  # parameters given only the old way: kept where the chosen implementation takes them
                merged[CARRIED] = {**merged.get(CARRIED, {}), **extra}
            _log.warning("note: %s is now %s; given both ways: %s wins", old_key, where, where)
            out[where] = merged
    return data if out is None else out


def current_key(key: str) -> str:
    """The key ``section.key...`` of an older configuration as it is spelled now (the sections'
    ``moved`` tables: ``run.knobs.lr`` -> ``run.workload.lr``); other keys unchanged."""
    parts = key.split(".")
    if len(parts) < 2:
        return key
    ensure_builtins()
    core = {"layout": LayoutConfig, "run": RunConfig}
    cls = core.get(parts[0]) or (CONFIG_SECTIONS.get(parts[0]) if parts[0] in CONFIG_SECTIONS else None)
    moved = cls.moved if cls is not None else {}
    if parts[1] in moved:
        new = moved[parts[1]]
        if new.startswith("/"):  # moved out of the section: to the top level or another section
            return ".".join([new[1:], *parts[2:]])
        return ".".join([parts[0], new, *parts[2:]])
    return key


def _migrate(cls: type, data: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    """Keys of older configurations (``cls.moved``: old key -> new key) moved to where they live now,
    with a one-line note each. A moved parameter of a choice goes into the choice's table if the
    chosen implementation takes it, and is dropped otherwise."""
    section = isinstance(cls, type) and issubclass(cls, Section)
    moved = {k: v for k, v in cls.moved.items() if not v.startswith("/")} if section else {}  # "/": _relocate
    removed = cls.removed if section else {}
    if not any(k in data for k in (*moved, *removed)):
        return data
    data = dict(data)
    for old, why in removed.items():
        if old in data:
            del data[old]
            _log.warning("note: %s.%s is not used any more (%s): ignored", where, old, why)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for old, new in moved.items():
        if old not in data:
            continue
        value = data.pop(old)
        slot, _, param = new.partition(".")
        current = data.get(slot, None)
        if current is None:
            default = fields[slot].default_factory()  # type: ignore[misc]
            current = default.name
        table = {"name": current} if isinstance(current, str) else dict(current)
        table.setdefault("name", fields[slot].default_factory().name)  # type: ignore[misc]
        old_key, new_key = f"{where}.{old}", f"{where}.{new}"
        if not param:  # a whole table of parameters (run.knobs -> run.workload); the new keys win
            if not isinstance(value, Mapping):
                raise ConfigError(f"{old_key} must be a table, not {value!r}")
            both = sorted(k for k in value if k in table)
            table = {**value, **table}
            _log.warning("note: %s is now %s (read as such%s)", old_key, new_key,
                         f"; {', '.join(both)} given in both: {new_key} wins" if both else "")
        elif param in table:  # given both ways: the new key wins
            _log.warning("note: %s is ignored: %s is given too (the new key)", old_key, new_key)
        else:
            kind = fields[slot].metadata["registry"]
            try:
                takes = param in {f.name for f in dataclasses.fields(_registry(kind).params_type(table["name"]))}
            except (RegistryError, KeyError, AttributeError):
                takes = True  # an unknown name is reported where it is checked
            if takes:
                table[param] = value
                _log.warning("note: %s is now %s (read as such)", old_key, new_key)
            else:
                _log.warning("note: %s (now %s) is not a parameter of %s %r: ignored", old_key, new_key,
                             kind, table["name"])
        data[slot] = table
    return data


#: A decimal number written as text (YAML 1.1 reads ``1e-3`` as a string).
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


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
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or (isinstance(value, float) and not value.is_integer())):   # nan and inf too
            raise ConfigError(f"{key} must be an integer, not {value!r}")
        return int(value)
    if tp is float:
        if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):  # YAML reads 1e-3 as a string
            value = float(value)
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


def positive(obj: Any, name: str, where: str) -> None:
    value = getattr(obj, name)
    if not value > 0:
        raise ConfigError(f"{where}.{name} must be positive, not {value!r}")
    bounded(obj, name, where)


def latency(obj: Any, name: str, where: str) -> None:
    """A latency in ns: positive, bounded, and at least 1 ps, the resolution of the timing model's clock, which
    counts service times in whole ps (a write of one sub-ps latency would be served in 0 ps there)."""
    positive(obj, name, where)
    value = getattr(obj, name)
    if value < 1e-3:
        raise ConfigError(f"{where}.{name} = {value!r} ns is below 1 ps, the resolution of the timing model's clock")


def bounded(obj: Any, name: str, where: str, limit: float = MAX_MAGNITUDE) -> None:
    """A latency, energy, endurance, size or count must not exceed ``limit`` (see :data:`MAX_MAGNITUDE`;
    an integer that large would also overflow the kernels' 64-bit arithmetic)."""
    value = getattr(obj, name)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not value <= limit:
        raise ConfigError(f"{where}.{name} must be at most {limit:g}, not {value!r}")


def check_seed(seed: int, key: str) -> None:
    """A seed is any integer of 0..2**63-1 (what numpy seeds and a table's int64 column hold)."""
    if not 0 <= seed < 2**63:
        raise ConfigError(f"{key} must be in 0..2**63-1, not {seed!r}")


def check_count(value: Any, key: str, most: float = MAX_MAGNITUDE) -> None:
    """A count (lines, hits, ...): an integer of 1..``most``, or one error naming ``key``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        limit = f"{most:,}" if isinstance(most, int) else f"{most:g}"
        raise ConfigError(f"{key} must be a positive integer of at most {limit}, not {value!r}")


def non_negative(obj: Any, name: str, where: str) -> None:
    value = getattr(obj, name)
    if not value >= 0:
        raise ConfigError(f"{where}.{name} must not be negative, not {value!r}")
    bounded(obj, name, where)


def _deepcopy(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deepcopy(v) if isinstance(v, Mapping) else v for k, v in data.items()}


def _plain(obj: Any) -> Any:
    """Plain TOML-serialisable data of a section, a choice (``{name, **params}``) or a value."""
    if isinstance(obj, Choice):
        return {"name": obj.name, **_plain(obj.params)}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
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

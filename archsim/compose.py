"""The composition root: the one module that names the built-in implementations and builds a run's
objects from its configuration.

:func:`load_builtins` imports the packages that register the built-ins (the PCM and racetrack
technologies with their schemes and configuration sections, the timing section and policies,
the run observers, the workloads). Registries call it on their first look-up, so it runs once,
before any name is resolved; a plugin registers into the same registries.

:func:`build` resolves every name of a configuration once and builds the objects the engines are
handed: the memory technology, the schemes, the timing model's parts, the run observers; the run
pipeline and the timing model use these objects (a :class:`~archsim.timing.model.TimingModel` built
on its own, without parts, resolves its ``[timing]`` choices itself).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Sequence

from archsim.config import Config
from archsim.contracts import TECHNOLOGIES, MemoryTechnology
from archsim.errors import ConfigError
from archsim.observers import OBSERVERS, RunObserver
from archsim.timing.parts import TimingParts

#: The modules whose import registers the built-in implementations, in order.
BUILTINS = (
    "archsim.pcm",                 # technology "pcm", its schemes, sections [pcm] [encoding] [dap]
    "archsim.racetrack",           # technology "racetrack", its schemes, section [racetrack]
    "archsim.analog",              # section [analog], device models, presets, optimisers (in-situ training)
    "archsim.timing.config",       # section [timing]
    "archsim.timing.organisation", # address mappings
    "archsim.timing.scheduling",   # scheduling policies
    "archsim.timing.refresh",      # refresh policies
    "archsim.timing.region",       # region managers
    "archsim.timing.rowbuffer",    # page policies (row buffers)
    "archsim.timing.observer",     # run observer "timing"
    "workloads",                   # workloads
    "archsim.wear",                # wear levellers
)


def load_builtins() -> None:
    """Import the built-in implementations (idempotent; see the module docstring)."""
    for name in BUILTINS:
        importlib.import_module(name)


@dataclass
class System:
    """Everything a run is built from, resolved from its configuration once."""

    config: Config
    technology: MemoryTechnology
    schemes: tuple[str, ...]
    timing: TimingParts
    """The implementations of the ``[timing]`` choices."""
    observers: list[RunObserver] = field(default_factory=list)
    """The run observers of ``run.observers``, built (``cls(config, params)``)."""
    wear_leveller: Any = None
    """The wear leveller of ``wear_leveling``, built (:class:`archsim.wear.WearLeveller`)."""


def scheme_names(schemes: Sequence[str]) -> tuple[str, ...]:
    """Scheme names as a tuple, each once; one name given as a string is a TypeError saying so (its letters
    are not names)."""
    if isinstance(schemes, str):
        raise TypeError(f"schemes must be a sequence of names, such as ({schemes!r},), not the string {schemes!r}")
    names = tuple(schemes)
    if len(set(names)) != len(names):
        raise ConfigError(f"run.schemes names a scheme twice: {', '.join(names)}")
    return names


def build(config: Config, *, schemes: Sequence[str] | None = None) -> System:
    """The objects of a run: technology, schemes (default: ``run.schemes`` or the technology's),
    the timing model's parts and the run observers."""
    if not isinstance(config, Config):
        raise TypeError(f"a run needs a whole configuration (archsim.config.load_config), not "
                        f"{type(config).__name__}")
    load_builtins()
    technology = TECHNOLOGIES.get(config.run.memory)
    chosen = scheme_names(schemes or config.run.resolved_schemes())
    for s in chosen:
        technology.schemes.get(s)
    observers = [OBSERVERS.get(c.name)(config, c.params) for c in config.run.observers]
    from archsim.wear import WEAR_LEVELLERS

    leveller = WEAR_LEVELLERS.get(config.wear_leveling.name)(config.wear_leveling.params)
    return System(config, technology, chosen, TimingParts.from_config(config.timing), observers, leveller)

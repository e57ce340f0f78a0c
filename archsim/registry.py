"""Registries: extension points chosen by name from the configuration.

Every extension point of archsim (memory technologies and their write schemes,
scheduling, refresh and region-manager policies, address mappings, workloads,
run observers, configuration sections) is a small interface plus a
:class:`Registry`. A third party registers an implementation from a file of its
own::

    from archsim.pcm import PCM_SCHEMES, Encoder

    @PCM_SCHEMES.register("my-scheme")
    class MyScheme(Encoder):
        ...

and selects it by name in a config file or on the command line (load the file
with ``--plugin my_file.py``).

**Parameters.** An implementation declares its own parameters as a frozen
dataclass, its ``Params`` class attribute (default :class:`NoParams`). The
configuration selects it with a table ``{name = "...", <its parameters>}`` (or
the bare name as shorthand) and builds the ``Params`` instance; unknown
parameters are rejected naming the implementation.

**Built-ins.** Registries are filled by importing the modules that register
into them. The first look-up of any registry loads the built-in
implementations (through :func:`archsim.compose.load_builtins`, the one place
that names them), so that a registry is never seen half-filled; registering
does not load anything.

This module imports nothing of archsim's but :mod:`archsim.errors`.
"""
from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from typing import Any, Generic, Iterator, TypeVar

from archsim.errors import RegistryError

T = TypeVar("T")


@dataclass(frozen=True)
class NoParams:
    """The parameters of an implementation that has none of its own.

    Subclass it (as a frozen dataclass) to declare parameters; override
    :meth:`validate` for checks beyond the field types.
    """

    def validate(self, where: str, owner: Any = None) -> None:
        """Check the values; raise :class:`~archsim.errors.ConfigError` naming ``where.field``.

        ``owner`` is the configuration section holding the choice (e.g. the
        ``TimingConfig`` of a scheduling policy), for checks against its other keys.
        """

    def as_dict(self) -> dict[str, Any]:
        """The parameters as a plain dict (for keyword arguments and config dumps)."""
        return dataclasses.asdict(self)


#: Every registry by its ``kind`` (configuration slots name the registry they choose from).
EXTENSION_POINTS: dict[str, "Registry"] = {}

_builtins_state = {"loaded": False, "loading": False}


def ensure_builtins() -> None:
    """Load the built-in implementations once (see the module docstring)."""
    if _builtins_state["loaded"] or _builtins_state["loading"]:
        return
    _builtins_state["loading"] = True
    try:
        import importlib

        importlib.import_module("archsim.compose").load_builtins()
        _builtins_state["loaded"] = True
    finally:
        _builtins_state["loading"] = False


class Registry(Generic[T]):
    """A name -> implementation map for one extension point.

    ``kind`` is what the registry holds, in the user's words ("PCM write
    scheme", "workload"); it appears in error messages. ``base``: the class every
    registered item must be a subclass of (a plugin registering a function or an
    unrelated class is refused where it registers, not at its first use).
    """

    def __init__(self, kind: str, base: type | None = None) -> None:
        self.kind = kind
        self.base = base
        self._items: dict[str, T] = {}
        EXTENSION_POINTS.setdefault(kind, self)

    def register(self, name: str, obj: T | None = None, *, replace: bool = False):
        """Register ``obj`` under ``name``; usable as a decorator.

        Registering a name twice is an error unless ``replace`` is true, so a
        plugin cannot silently shadow a built-in.
        """
        if not name or name != name.strip():
            raise ValueError(f"bad {self.kind} name {name!r}")

        def add(item: T) -> T:
            if self.base is not None and not (isinstance(item, type) and issubclass(item, self.base)):
                what = f"{'class' if isinstance(item, type) else type(item).__name__} " \
                       f"{getattr(item, '__qualname__', repr(item))}"
                raise RegistryError(f"{self.kind} {name!r}: a {self.kind} is a subclass of "
                                    f"{self.base.__module__}.{self.base.__qualname__}, not {what}")
            if name in self._items and not replace and self._items[name] is not item:
                raise RegistryError(f"{self.kind} {name!r} is already registered")
            self._items[name] = item
            if isinstance(item, type) and "name" not in item.__dict__:
                item.name = name  # type: ignore[attr-defined]  # the class knows its registered name
            return item

        if obj is not None:
            return add(obj)
        return add

    def get(self, name: str) -> T:
        """The implementation registered as ``name``, or a clear error listing the choices."""
        if name not in self._items:
            ensure_builtins()
        try:
            return self._items[name]
        except KeyError:
            close = difflib.get_close_matches(str(name), self._items, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            if ":" in str(name) and not close:  # accuracy's memory:scheme spelling given elsewhere
                hint = " ('memory:scheme' names a scheme of another memory in archsim accuracy only; elsewhere " \
                       "choose the memory with --memory / run.memory)"
            raise RegistryError(
                f"unknown {self.kind} {name!r}{hint}; choices: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        ensure_builtins()
        return list(self._items)

    def params_type(self, name: str) -> type:
        """The parameter dataclass the implementation ``name`` declares (``Params``)."""
        return self.get(name).Params  # type: ignore[attr-defined]

    def __contains__(self, name: object) -> bool:
        if name not in self._items:
            ensure_builtins()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"


def load_plugin(spec: str) -> None:
    """Import a plugin so that its registrations take effect.

    ``spec`` is a module name (``my_package.schemes``) or the path of a ``.py``
    file. Errors name the plugin.
    """
    import importlib
    import importlib.util
    import sys
    from pathlib import Path

    from archsim.errors import ArchsimError

    path = Path(spec)
    try:
        if spec.endswith(".py"):
            if not path.is_file():
                raise ArchsimError(f"plugin file {spec}: not found")
            mod_name = f"archsim_plugin_{path.stem}"
            loaded = sys.modules.get(mod_name)
            if loaded is not None and Path(getattr(loaded, "__file__", "") or "").resolve() == path.resolve():
                return  # the same file given twice: loaded once
            module_spec = importlib.util.spec_from_file_location(mod_name, path)
            if module_spec is None or module_spec.loader is None:
                raise ArchsimError(f"plugin file {spec}: cannot be loaded")
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[mod_name] = module
            module_spec.loader.exec_module(module)
        else:
            if "/" in spec or "\\" in spec or path.is_file():  # a path, but not of a .py file (a bare name
                # that is also a folder here may be a package: imported as a module)
                raise ArchsimError(f"plugin {spec}: " + ("a directory" if path.is_dir() else "not a .py file" if
                                   path.exists() else "no such file") + "; give a plugin file ending in .py or "
                                   "an importable module name (my_package.schemes)")
            importlib.import_module(spec)
    except ArchsimError as exc:  # e.g. a name registered twice: say which plugin did it
        if str(exc).startswith(f"plugin {spec}"):
            raise
        raise ArchsimError(f"plugin {spec}: {exc}") from exc
    except SystemExit as exc:  # a plugin must not end the run (silently, with status 0)
        raise ArchsimError(f"plugin {spec}: called sys.exit({exc.code!r}) while being loaded") from None
    except Exception as exc:  # a plugin's own bug: name it, keep the cause
        raise ArchsimError(f"plugin {spec}: {type(exc).__name__}: {exc}") from exc


"""Registries: extension points chosen by name from the configuration.

Every extension point of archsim (write schemes, scheduling policies, refresh
policies, address mappings, workloads, memory technologies) is a small
interface plus a :class:`Registry`. A third party registers an implementation
from a file of its own::

    from archsim.encoding import PCM_SCHEMES, Encoder

    @PCM_SCHEMES.register("my-scheme")
    class MyScheme(Encoder):
        ...

and selects it by name in a config file or on the command line (load the file
with ``--plugin my_file.py``).
"""
from __future__ import annotations

import difflib
from typing import Callable, Generic, Iterator, TypeVar

from archsim.errors import RegistryError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> implementation map for one extension point.

    ``kind`` is what the registry holds, in the user's words ("PCM write
    scheme", "workload"); it appears in error messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, obj: T | None = None, *, replace: bool = False):
        """Register ``obj`` under ``name``; usable as a decorator.

        Registering a name twice is an error unless ``replace`` is true, so a
        plugin cannot silently shadow a built-in.
        """
        if not name or name != name.strip():
            raise ValueError(f"bad {self.kind} name {name!r}")

        def add(item: T) -> T:
            if name in self._items and not replace and self._items[name] is not item:
                raise RegistryError(f"{self.kind} {name!r} is already registered")
            self._items[name] = item
            if hasattr(item, "__dict__") and isinstance(item, type):
                # the class knows its registered name (used in results)
                if "name" not in item.__dict__:
                    item.name = name  # type: ignore[attr-defined]
            return item

        if obj is not None:
            return add(obj)
        return add

    def get(self, name: str) -> T:
        """The implementation registered as ``name``, or a clear error listing the choices."""
        try:
            return self._items[name]
        except KeyError:
            close = difflib.get_close_matches(str(name), self._items, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise RegistryError(
                f"unknown {self.kind} {name!r}{hint}; choices: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

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
            module_spec = importlib.util.spec_from_file_location(mod_name, path)
            if module_spec is None or module_spec.loader is None:
                raise ArchsimError(f"plugin file {spec}: cannot be loaded")
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[mod_name] = module
            module_spec.loader.exec_module(module)
        else:
            importlib.import_module(spec)
    except ArchsimError:
        raise
    except Exception as exc:  # a plugin's own bug: name it, keep the cause
        raise ArchsimError(f"plugin {spec}: {type(exc).__name__}: {exc}") from exc


Factory = Callable[..., T]

"""The errors archsim raises for bad input.

Every error a user can cause (a bad config key, an unknown scheme, a corrupt
trace, a bad request-file line) is an :class:`ArchsimError`. The CLI prints its
message on one line and exits non-zero, without a traceback; the message names
the file, key or line at fault.
"""
from numbers import Integral


def is_integer(value) -> bool:
    """``value`` is an integer (Python's or numpy's), not a bool: the check of every integer argument."""
    return isinstance(value, Integral) and not isinstance(value, bool)


class ArchsimError(Exception):
    """Base class of user-facing errors: the message is the whole story."""


class ConfigError(ArchsimError, ValueError):
    """A configuration key or value is unknown or out of range."""


class TraceError(ArchsimError):
    """A trace file is missing, truncated, corrupt, foreign or of a wrong version."""


class RegistryError(ArchsimError, KeyError):
    """A name was looked up in a registry that does not hold it."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""

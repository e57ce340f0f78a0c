"""archsim: a discrete-event simulator of non-volatile main memory under NN training.

The functional path (which cells a write programs, with what energy and wear)
lives in :mod:`archsim.encoding`; configuration in :mod:`archsim.config`.
"""
from archsim.errors import ArchsimError, ConfigError, TraceError

__version__ = "0.1.0"

__all__ = ["ArchsimError", "ConfigError", "TraceError", "__version__"]

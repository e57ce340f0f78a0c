"""archsim: a discrete-event simulator of non-volatile main memory under NN training.

The functional path (which cells a write programs, with what energy and wear)
lives in the technology packages (:mod:`archsim.pcm`, :mod:`archsim.racetrack`); their contracts in
:mod:`archsim.contracts`; the configuration schema in :mod:`archsim.config`; the composition root in
:mod:`archsim.compose`.
"""
from archsim.errors import ArchsimError, ConfigError, TraceError

__version__ = "0.1.0"

__all__ = ["ArchsimError", "ConfigError", "TraceError", "__version__"]

"""Analog eNVM synapses trained in situ (the ``003`` seed; docs/analog.md).

Importing the package registers the ``[analog]`` section, the device models, presets, optimisers and
rounding rules, and the ``analog`` sweep experiment.
"""
from archsim.analog.config import AnalogConfig, DeviceSpec
from archsim.analog.device import DEVICE_MODELS, DeviceModel, label_to_a
from archsim.analog.optim import OPTIMISERS, ROUNDING, Optimiser, Rounding
from archsim.analog.presets import PRESETS, Preset

__all__ = ["AnalogConfig", "DeviceSpec", "DEVICE_MODELS", "DeviceModel", "label_to_a", "OPTIMISERS", "ROUNDING",
           "Optimiser", "Rounding", "PRESETS", "Preset"]

from archsim.analog.experiment import sweep_tables  # noqa: E402
from archsim.sweep import SWEEP_EXPERIMENTS  # noqa: E402

sweep_tables.reads = ("analog.", "run.seed")  # what an analog point depends on
SWEEP_EXPERIMENTS.register("analog", sweep_tables)

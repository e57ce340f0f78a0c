"""An analog device preset and a device model of one's own (docs/analog.md, "Extending").

archsim --plugin docs/examples/analog_plugin.py analog --presets my-rram --set analog.model=exp-step --out DIR
"""
from dataclasses import dataclass

import numpy as np

from archsim.analog import DEVICE_MODELS, PRESETS, DeviceModel, Preset
from archsim.registry import NoParams

PRESETS.register("my-rram", Preset(levels=64, ltp_label=1.0, ltd_label=2.0, on_off=20, sigma_c2c=0.02,
                                   ltp_voltage_v=2.0, ltd_voltage_v=2.0, ltp_pulse_ns=100, ltd_pulse_ns=100,
                                   source="my measurement"))


@dataclass(frozen=True)
class ExpParams(NoParams):
    rate: float = 2.0


@DEVICE_MODELS.register("exp-step")
class ExpStep(DeviceModel):
    """Step shrinking exponentially away from the bound it starts from (state frozen within one update)."""

    Params = ExpParams

    def apply(self, g, n, dev):
        s = np.abs(n) / dev.levels
        r = self.params.rate
        return np.where(n > 0, g + s * np.exp(-r * g), g - s * np.exp(-r * (1 - g)))

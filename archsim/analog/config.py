"""The ``[analog]`` configuration section: device (preset + overrides), array, readout, update, training.

Every key is ``--set analog.<key>=<value>`` on the command line and a key of ``[analog]`` in a file.
Device keys left unset (``None``) take the preset's value; :meth:`AnalogConfig.device` resolves them.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from archsim.analog.presets import PRESETS, Preset
from archsim.config import CONFIG_SECTIONS, MAX_MAGNITUDE, Choice, Section, bounded, choice, non_negative, positive
from archsim.errors import ConfigError, RegistryError

MAPPINGS = ("reference", "differential")
ADC_RANGES = ("full-scale", "calibrated")
NETWORKS = ("mlp", "cnn")
#: Largest subarray side (rows or columns) and number of conductance levels ``[analog]`` takes.
MAX_ARRAY = 1 << 16
MAX_LEVELS = 1 << 20
#: Largest programming or read voltage, V: no eNVM is programmed at kilovolts (and energies stay finite).
MAX_VOLTAGE_V = 1e3


#: One resolved device: the preset with the section's overrides applied (a :class:`Preset`).
DeviceSpec = Preset

#: The device keys of ``[analog]`` (unset = the preset's value): every field of a preset but its source.
_DEVICE_KEYS = tuple(f.name for f in dataclasses.fields(Preset) if f.name != "source")


@dataclass(frozen=True)
class AnalogConfig(Section):
    """Analog eNVM synapses in crossbar arrays, trained in situ (docs/analog.md)."""

    identity_at_default: ClassVar[bool] = False   # added after sweep ids existed: keep theirs

    preset: str = "ideal"
    """Device preset by name (ideal, ag-si, taox-hfox, pcmo, alox-hfo2, gst, epiram, hzo-fefet)."""
    model: Choice = choice("analog device model", "nonlinear")
    """Device update model (nonlinear, linear-step, soft-bounds, constant-step) with its parameters."""
    levels: int | None = None
    """Pulses from Gmin to Gmax (P_max); unset = the preset's."""
    ltp_label: float | None = None
    """Nonlinearity label of potentiation (magnitude; a minus sign is accepted); unset = the preset's."""
    ltd_label: float | None = None
    """Nonlinearity label of depression (magnitude; NeuroSim writes it negative); unset = the preset's."""
    on_off: float | None = None
    """Gmax / Gmin; unset = the preset's."""
    sigma_c2c: float | None = None
    """Cycle-to-cycle sigma as a fraction of Gmax - Gmin (per sqrt(pulse)); unset = the preset's."""
    ltp_voltage_v: float | None = None
    ltd_voltage_v: float | None = None
    ltp_pulse_ns: float | None = None
    ltd_pulse_ns: float | None = None
    sigma_d2d: float = 0.0
    """Device-to-device sigma of the labels, relative (each device's label ~ N(L, sigma_d2d L), drawn once)."""
    g_max_us: float = 10.0
    """Gmax, microsiemens (programming energy V^2 G t)."""
    endurance_pulses: float = 1e6
    """Programming pulses a device survives (lifetime in updates)."""
    mapping: str = "reference"
    """Weight mapping: "reference" (one device per weight against a mid-conductance reference column)
    or "differential" (a pair G+ - G-)."""
    rows: int = 128
    """Subarray rows (inputs)."""
    cols: int = 128
    """Subarray columns (outputs)."""
    adc_bits: int = 8
    """ADC resolution of every subarray column's partial sum; 0 = ideal readout."""
    adc_range: str = "full-scale"
    """ADC range: "full-scale" (the column's full-scale current) or "calibrated" (the layer's largest
    current of the batch)."""
    dac_bits: int = 8
    """Input DAC resolution; 0 = ideal."""
    adc_energy_pj: float = 2.0
    """Energy of one ADC conversion, pJ."""
    read_voltage_v: float = 0.2
    """Read voltage of a full-scale input (MAC read energy)."""
    read_pulse_ns: float = 10.0
    """Read pulse of one MAC, ns."""
    weight_bound_std: float = 3.0
    """A layer's weights map [-b, b] onto the conductance range, b = weight_bound_std x the He
    initialisation std sqrt(2 / fan_in)."""
    rounding: Choice = choice("analog rounding rule", "truncate")
    """Pulses from a desired change: truncate (NeuroSim), round, stochastic."""
    optimizer: Choice = choice("analog optimiser", "sgd")
    """Update rule (sgd, momentum, adaptive-momentum) with its parameters (lr, gamma, ...)."""
    network: str = "mlp"
    """"mlp" (64-100-10, NeuroSim's MLP shape for 8 x 8 inputs) or "cnn" (the LeNet-style CNN)."""
    epochs: int = 10
    """Training epochs over the digits training split."""
    batch_size: int = 8
    """Samples per update."""

    def validate(self, where: str) -> None:
        for k in ("rows", "cols", "epochs", "batch_size", "g_max_us", "endurance_pulses", "weight_bound_std",
                  "read_pulse_ns"):
            positive(self, k, where)
        for k in ("sigma_d2d", "adc_energy_pj", "read_voltage_v"):
            non_negative(self, k, where)
        for k, most in (("rows", MAX_ARRAY), ("cols", MAX_ARRAY), ("read_voltage_v", MAX_VOLTAGE_V)):
            bounded(self, k, where, most)
        if self.mapping not in MAPPINGS:
            raise ConfigError(f"{where}.mapping must be one of {', '.join(MAPPINGS)}, not {self.mapping!r}")
        if self.adc_range not in ADC_RANGES:
            raise ConfigError(f"{where}.adc_range must be one of {', '.join(ADC_RANGES)}, not {self.adc_range!r}")
        if self.network not in NETWORKS:
            raise ConfigError(f"{where}.network must be one of {', '.join(NETWORKS)}, not {self.network!r}")
        for k in ("adc_bits", "dac_bits"):
            if not 0 <= getattr(self, k) <= 24:
                raise ConfigError(f"{where}.{k} must be in 0..24 (0 = ideal), not {getattr(self, k)!r}")
        self.device(where)

    def device(self, where: str = "analog") -> DeviceSpec:
        """The preset with this section's overrides, checked."""
        from archsim.analog.device import MAX_LABEL

        try:
            p = PRESETS.get(self.preset)
        except RegistryError as exc:
            raise ConfigError(f"{where}.preset: {exc}") from None
        values = {k: getattr(self, k) for k in _DEVICE_KEYS if getattr(self, k) is not None}
        spec = dataclasses.replace(p, **values)
        spec = dataclasses.replace(spec, ltp_label=abs(spec.ltp_label), ltd_label=abs(spec.ltd_label))
        if not 2 <= spec.levels <= MAX_LEVELS:
            raise ConfigError(f"{where}.levels must be in 2..{MAX_LEVELS}, not {spec.levels}")
        for k in ("ltp_label", "ltd_label"):
            if not getattr(spec, k) < MAX_LABEL:
                raise ConfigError(f"{where}.{k} must be below {MAX_LABEL:g} in magnitude, not {getattr(spec, k)!r}")
        if not spec.on_off > 1:
            raise ConfigError(f"{where}.on_off must be above 1, not {spec.on_off!r}")
        if not 0 <= spec.sigma_c2c < 1:
            raise ConfigError(f"{where}.sigma_c2c must be in [0, 1), not {spec.sigma_c2c!r}")
        for k, most in (("ltp_voltage_v", MAX_VOLTAGE_V), ("ltd_voltage_v", MAX_VOLTAGE_V),
                        ("ltp_pulse_ns", MAX_MAGNITUDE), ("ltd_pulse_ns", MAX_MAGNITUDE)):
            if not 0 < getattr(spec, k) <= most:
                raise ConfigError(f"{where}.{k} must be positive and at most {most:g}, not {getattr(spec, k)!r}")
        return spec


CONFIG_SECTIONS.register("analog", AnalogConfig)

"""Device presets as data: the eNVM synapses of NeuroSim's table, plus ``ideal``.

Each preset is a :class:`Preset` registered in :data:`PRESETS` by name. Values are from the
MLP+NeuroSim V3.0 user manual, Table II ("Device parameters of representative synaptic devices",
Chen, Peng, Yu et al., Georgia Tech / ASU) and the device papers it cites (``source``). Labels are
magnitudes (NeuroSim writes the LTD label with a minus sign; both are accepted, see
:func:`archsim.analog.device.label_to_a`). Where the table gives a bound ("<1%"), the bound is used.

A user adds a device as data, in a plugin file::

    from archsim.analog import PRESETS, Preset
    PRESETS.register("my-rram", Preset(levels=64, ltp_label=1.0, ltd_label=2.0, on_off=20, sigma_c2c=0.02,
                                       ltp_voltage_v=2.0, ltd_voltage_v=2.0, ltp_pulse_ns=100,
                                       ltd_pulse_ns=100, source="my measurement"))
"""
from __future__ import annotations

from dataclasses import dataclass

from archsim.registry import Registry


@dataclass(frozen=True)
class Preset:
    """One device: ``levels`` pulses from Gmin to Gmax, nonlinearity labels, on/off ratio
    (Gmax / Gmin), cycle-to-cycle sigma (fraction of Gmax - Gmin), write pulses (V, ns)."""

    levels: int
    ltp_label: float
    ltd_label: float
    on_off: float
    sigma_c2c: float
    ltp_voltage_v: float
    ltd_voltage_v: float
    ltp_pulse_ns: float
    ltd_pulse_ns: float
    source: str = ""


PRESETS: Registry[Preset] = Registry("analog device preset")

_T2 = "NeuroSim V3.0 manual, Table II"

PRESETS.register("ideal", Preset(
    levels=1024, ltp_label=0.0, ltd_label=0.0, on_off=100.0, sigma_c2c=0.0, ltp_voltage_v=1.0,
    ltd_voltage_v=1.0, ltp_pulse_ns=10.0, ltd_pulse_ns=10.0,
    source="archsim: linear, symmetric, no variation, 1024 levels (a reference, not a device)"))
PRESETS.register("ag-si", Preset(
    levels=97, ltp_label=2.4, ltd_label=4.88, on_off=12.5, sigma_c2c=0.035, ltp_voltage_v=3.2,
    ltd_voltage_v=2.8, ltp_pulse_ns=300e3, ltd_pulse_ns=300e3,
    source=f"{_T2}: Ag:a-Si (Jo et al., Nano Lett. 2010)"))
PRESETS.register("taox-hfox", Preset(
    levels=128, ltp_label=0.04, ltd_label=0.63, on_off=10.0, sigma_c2c=0.037, ltp_voltage_v=1.6,
    ltd_voltage_v=1.6, ltp_pulse_ns=50.0, ltd_pulse_ns=50.0,
    source=f"{_T2}: TaOx/HfOx (Wu et al., VLSI 2018)"))
PRESETS.register("pcmo", Preset(
    levels=50, ltp_label=3.68, ltd_label=6.76, on_off=6.84, sigma_c2c=0.01, ltp_voltage_v=2.0,
    ltd_voltage_v=2.0, ltp_pulse_ns=1e6, ltd_pulse_ns=1e6,
    source=f"{_T2}: PCMO (Park et al., IEDM 2013); c2c '<1%' taken as 1%"))
PRESETS.register("alox-hfo2", Preset(
    levels=40, ltp_label=1.94, ltd_label=0.61, on_off=4.43, sigma_c2c=0.05, ltp_voltage_v=0.9,
    ltd_voltage_v=1.0, ltp_pulse_ns=100e3, ltd_pulse_ns=100e3,
    source=f"{_T2}: AlOx/HfO2 (Woo et al., EDL 2016)"))
PRESETS.register("gst", Preset(
    levels=100, ltp_label=0.105, ltd_label=2.4, on_off=19.8, sigma_c2c=0.015, ltp_voltage_v=0.7,
    ltd_voltage_v=3.0, ltp_pulse_ns=6e3, ltd_pulse_ns=125.0,
    source=f"{_T2}: GST PCM (Kuzum et al., Nano Lett. 2012)"))
PRESETS.register("epiram", Preset(
    levels=64, ltp_label=0.5, ltd_label=0.5, on_off=50.2, sigma_c2c=0.02, ltp_voltage_v=5.0,
    ltd_voltage_v=3.0, ltp_pulse_ns=5e3, ltd_pulse_ns=5e3,
    source=f"{_T2}: EpiRAM (Choi et al., Nature Mater. 2018)"))
PRESETS.register("hzo-fefet", Preset(
    levels=32, ltp_label=1.75, ltd_label=1.46, on_off=45.0, sigma_c2c=0.005, ltp_voltage_v=3.65,
    ltd_voltage_v=2.95, ltp_pulse_ns=75.0, ltd_pulse_ns=75.0,
    source=f"{_T2}: HZO FeFET (Jerry et al., IEDM 2017); c2c '<0.5%' taken as 0.5%"))

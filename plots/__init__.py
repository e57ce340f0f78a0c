"""The plotting layer: one function per figure, reading a result table, returning a Figure.

Every function builds a :class:`matplotlib.figure.Figure` directly (no pyplot), so importing
:mod:`plots` leaves the matplotlib backend alone (Jupyter keeps its inline backend) and no display is
needed: save with ``fig.savefig(path)``, or show it in a notebook by evaluating it. The conventions
(engineering units, one scale per figure, no bars on log axes, legends outside the axes, the
configuration in the title) are in :mod:`plots._style`.
"""
from plots._tables import MissingColumns
from plots.bit_statistics import bit_statistics_comparison_figure, bit_statistics_figure
from plots.controller import appwom_prereset_figure, read_latency_by_policy_figure
from plots.flips import bit_flips_figure
from plots.racetrack import racetrack_counts_figure
from plots.schemes import energy_figure, lifetime_figure, write_latency_figure
from plots.sweep import scheme_ratio_figure, scheme_ratio_table, sweep_key_figure, sweep_ratio_table
from plots.timing import gap_knee_figure, timing_banks_figure
from plots.wear import lifetime_levellers_figure, wear_distribution_figure

__all__ = ["bit_statistics_figure", "bit_statistics_comparison_figure", "bit_flips_figure", "energy_figure",
           "lifetime_figure", "write_latency_figure", "scheme_ratio_figure", "scheme_ratio_table",
           "sweep_key_figure", "sweep_ratio_table", "read_latency_by_policy_figure", "appwom_prereset_figure",
           "wear_distribution_figure", "lifetime_levellers_figure", "racetrack_counts_figure",
           "timing_banks_figure", "gap_knee_figure", "MissingColumns"]

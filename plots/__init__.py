"""The plotting layer: one function per figure, reading a result table, returning a Figure.

Figures are drawn with matplotlib's Agg backend (no display needed); save them
with ``fig.savefig(path)``.
"""
import matplotlib

matplotlib.use("Agg")

from plots.bit_statistics import bit_statistics_comparison_figure, bit_statistics_figure  # noqa: E402
from plots._tables import MissingColumns  # noqa: E402
from plots.controller import appwom_prereset_figure, read_latency_by_policy_figure  # noqa: E402
from plots.flips import bit_flips_figure  # noqa: E402
from plots.schemes import energy_figure, lifetime_figure, write_latency_figure  # noqa: E402
from plots.sweep import scheme_ratio_figure, scheme_ratio_table  # noqa: E402
from plots.wear import lifetime_levellers_figure, wear_distribution_figure  # noqa: E402

__all__ = ["bit_statistics_figure", "bit_statistics_comparison_figure", "bit_flips_figure", "energy_figure",
           "lifetime_figure", "write_latency_figure", "scheme_ratio_figure", "scheme_ratio_table",
           "read_latency_by_policy_figure", "appwom_prereset_figure", "wear_distribution_figure",
           "lifetime_levellers_figure", "MissingColumns"]

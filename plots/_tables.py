"""Shared checks of the result tables the figures read."""
from __future__ import annotations

from typing import Iterable, Mapping

import pandas as pd


class MissingColumns(ValueError):
    """A table lacks the columns a figure needs (e.g. a technology that reports no energy)."""


def require(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = sorted(set(columns) - set(df.columns))
    if missing:
        raise MissingColumns(f"{what} needs the column(s) {', '.join(missing)}")


def as_runs(tables: pd.DataFrame | Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """A single table or a {run label: table} mapping, as a mapping."""
    if isinstance(tables, pd.DataFrame):
        return {"": tables}
    if not isinstance(tables, Mapping):
        raise TypeError(f"the tables to draw are one DataFrame or a {{run label: DataFrame}} mapping, not "
                        f"{type(tables).__name__}")
    if not tables:
        raise ValueError("no tables to draw")
    runs = dict(tables)
    for label, df in runs.items():
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"the table of run {label!r} is a {type(df).__name__}, not a DataFrame")
    return runs

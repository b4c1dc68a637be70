"""How the human-readable reports (report.xlsx, report.html) show a column (money, rate, months
…), and the rejects as they show them. The rows they show are the worklists
(:mod:`dispo.reports.worklists`). Nothing here computes money.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from dispo import schema
from dispo.reports import tables

Frame = pl.DataFrame | pl.LazyFrame
Kind = Literal["money", "rate", "months", "int", "float", "date", "bool", "text"]

#: Input rate and share columns (``6%`` accepted): formatted as percentages like the rate outputs.
INPUT_RATE_COLUMNS: frozenset[str] = frozenset(c.name for c in schema.COLUMNS if c.percent_ok)


def column_kind(name: str, dtype: pl.DataType) -> Kind:
    """How a report cell of column ``name`` is shown: money ($, cents), rate (%), months, …"""
    if dtype == pl.Boolean:
        return "bool"
    if dtype in (pl.Date, pl.Datetime) or isinstance(dtype, pl.Datetime):
        return "date"
    if dtype.is_float():
        if name in schema.RATE_OUTPUTS or name in INPUT_RATE_COLUMNS:
            return "rate"
        if name in schema.MONTH_OUTPUTS:
            return "months"
        if schema.is_money(name):
            return "money"
        return "float"
    if dtype.is_integer():
        return "int"
    return "text"


def rejects_view(rejects: Frame) -> pl.DataFrame:
    """Rejects as written to rejects.csv (file, row number, reasons, raw columns), in file order."""
    return tables.rejects(rejects)

"""CSV for spreadsheets, in one place: money to cents, rates to 6 decimals, formula injection
neutralised.

What ``safe_csv_frame`` does to a frame before it is written as CSV (Parquet never goes through it):

- **Money** (float columns for which ``schema.is_money`` is true) is rounded to cents, **half away
  from zero** (``polars`` ``round(2, mode="half_away_from_zero")``, the "commercial" rounding of
  Excel's ROUND and of US accounting), and written with exactly two decimals (``1234.50``). The tie
  is decided on the float64 value scaled by 100, so ``2.675`` → ``2.68`` and ``-0.125`` → ``-0.13``,
  while ``1.005`` (stored as 1.00499999…, ×100 = 100.49999…) → ``1.00``. Negative zero prints as
  ``0.00``. A non-finite value (never produced by the engine) is written as ``NaN``/``inf`` rather
  than disguised as a number or a null.
- **Rates, shares and months** (``schema.RATE_OUTPUTS``, ``MONTH_OUTPUTS`` and the input rate
  columns: what report.xlsx shows as a percentage or as months, ``views.column_kind``) are rounded
  to 6 decimals, half away from zero, and written in their shortest form: ``0.19999999999999996``
  is ``0.2``, ``1/3`` is ``0.333333`` (33.3333 %, finer than any rate a person reads; a month to
  3 seconds). Negative zero prints as ``0.0``; a non-finite value stays as it is.
- **Other floats** (an extra input column dispo does not know, years) are written as they are
  (shortest round-trip representation).
- **Text** cells (String, Categorical, Enum, and lists/structs after they become text) that begin
  with ``=``, ``+``, ``-``, ``@``, tab or carriage return get a leading ``'`` (OWASP's advice for
  CSV injection); numeric columns are never touched, so ``-2.5`` stays a number. Header names are
  neutralised the same way (input files may carry extra columns with any name).
- **Lists** (e.g. ``reasons``) are joined with ``"; "`` (null elements skipped); structs become JSON.
- Dates are ISO ``YYYY-MM-DD``, datetimes ISO 8601, booleans ``true``/``false``, nulls empty cells
  (an empty string is written as ``""`` so it stays distinguishable from null).
- UTF-8 without BOM, ``\\n`` line ends, comma separator, quotes only where needed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

import polars as pl

from dispo import schema
from dispo.cells import FORMULA_PREFIXES, neutralise_text  # noqa: F401 - re-exported for the writers
from dispo.reports.views import column_kind

#: Rounding mode for money in CSV/HTML/XLSX (polars RoundMode).
MONEY_ROUND_MODE = "half_away_from_zero"
MONEY_DECIMALS = 2
#: Decimals of a rate, share or month count in CSV (docs/outputs.md): 0.0001 % of a rate.
NUMBER_DECIMALS = 6
#: The column kinds (``views.column_kind``) rounded to NUMBER_DECIMALS in CSV.
ROUNDED_KINDS = ("rate", "months")
_FORMULA_RE = r"^[=+\-@\t\r]"
LIST_SEPARATOR = "; "

_TEXT_TYPES = (pl.String, pl.Categorical, pl.Enum)


def neutralise(expr: pl.Expr) -> pl.Expr:
    """A String expression with formula-looking cells prefixed by ``'`` (nulls stay null)."""
    return pl.when(expr.str.contains(_FORMULA_RE)).then(pl.lit("'") + expr).otherwise(expr)


def round_money(expr: pl.Expr) -> pl.Expr:
    """Money rounded to cents as a float (half away from zero; negative zero made positive).

    For HTML/XLSX writers that want numbers; the CSV writer uses :func:`format_money`."""
    rounded = expr.cast(pl.Float64).round(MONEY_DECIMALS, mode=MONEY_ROUND_MODE)
    # -0.0 → 0.0 (``x + 0.0`` would be optimised away); keeps the input's name; nulls stay null.
    return pl.when(rounded.is_null() | (rounded != 0.0)).then(rounded).otherwise(0.0)


def round_number(expr: pl.Expr) -> pl.Expr:
    """A rate, share or month count rounded to NUMBER_DECIMALS as a float (half away from zero;
    negative zero made positive; nulls and non-finite values as they are)."""
    rounded = expr.cast(pl.Float64).round(NUMBER_DECIMALS, mode=MONEY_ROUND_MODE)
    return pl.when(rounded.is_null() | (rounded != 0.0)).then(rounded).otherwise(0.0)


def format_money(expr: pl.Expr) -> pl.Expr:
    """Money as text with exactly two decimals (``-1234.50``), nulls null, non-finite spelt out."""
    as_float = expr.cast(pl.Float64)
    fixed = round_money(as_float).cast(pl.Decimal(38, MONEY_DECIMALS), strict=False).cast(pl.String)
    return pl.when(as_float.is_null()).then(None).when(fixed.is_null()).then(as_float.cast(pl.String)).otherwise(fixed)


def is_money_column(name: str, dtype: pl.DataType) -> bool:
    """A float column that ``schema.is_money`` calls money."""
    return dtype in (pl.Float64, pl.Float32) and schema.is_money(name)


def _to_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    """Text form of a column that CSV cannot hold as is (lists, structs) or that is text already;
    None for a column that stays as it is (numbers, booleans, dates)."""
    if isinstance(dtype, (pl.List, pl.Array)):
        lst = expr.arr.to_list() if isinstance(dtype, pl.Array) else expr
        inner = _to_text(pl.element(), dtype.inner)
        return lst.list.eval(pl.element().cast(pl.String) if inner is None else inner).list.join(
            LIST_SEPARATOR, ignore_nulls=True)
    if isinstance(dtype, pl.Struct):
        return pl.when(expr.is_not_null()).then(expr.struct.json_encode())
    if isinstance(dtype, _TEXT_TYPES) or dtype == pl.String:
        return expr.cast(pl.String)
    return None


def _money_decimal(expr: pl.Expr) -> pl.Expr:
    """Money rounded to cents as ``Decimal(38, 2)``: the CSV writer prints it as ``format_money``
    spells it (exactly two decimals), at a third of the cost of making the text here. Only for a
    column without NaN or infinities (a decimal cannot hold them). A decimal has no negative zero,
    so ``round_money``'s −0.0 → 0.0 step is not needed here."""
    rounded = expr.cast(pl.Float64).round(MONEY_DECIMALS, mode=MONEY_ROUND_MODE)
    return rounded.cast(pl.Decimal(38, MONEY_DECIMALS), strict=False)


def _csv_exprs(frame: pl.DataFrame, *, money_as_decimal: bool) -> list[pl.Expr]:
    money = [n for n, t in frame.schema.items() if is_money_column(n, t)]
    non_finite: set[str] = set()
    if money_as_decimal and money:
        counts = frame.select((~pl.col(n).is_finite()).sum() for n in money).row(0, named=True)
        non_finite = {n for n, k in counts.items() if k}
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if is_money_column(name, dtype):
            expr = _money_decimal(col) if money_as_decimal and name not in non_finite else format_money(col)
        elif dtype in (pl.Float64, pl.Float32) and column_kind(name, dtype) in ROUNDED_KINDS:
            expr = round_number(col)
        else:
            text = _to_text(col, dtype)
            expr = col if text is None else neutralise(text)
        exprs.append(expr.alias(neutralise_text(name)))
    if len({e.meta.output_name() for e in exprs}) != len(exprs):
        raise ValueError("neutralising the CSV header made two column names equal")
    return exprs


def safe_csv_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame as it is written to CSV (see the module docstring); the input is not modified."""
    return frame.select(_csv_exprs(frame, money_as_decimal=False))


def write_safe_csv(frame: pl.DataFrame, path: str | os.PathLike[str] | IO[bytes], *,
                   include_header: bool = True) -> None:
    """Write ``frame`` as spreadsheet-safe CSV to ``path`` (or an open binary file, e.g. to append
    the batches of a large table: ``include_header`` only for the first one).

    The text is that of :func:`safe_csv_frame`; money goes to the writer as cents in a decimal
    column, which it prints the way :func:`format_money` does."""
    frame.select(_csv_exprs(frame, money_as_decimal=True)).write_csv(
        path if not isinstance(path, (str, os.PathLike)) else Path(path),
        include_bom=False,
        include_header=include_header,
        separator=",",
        line_terminator="\n",
        null_value="",
        date_format="%Y-%m-%d",
        datetime_format="%Y-%m-%dT%H:%M:%S%.f",
    )

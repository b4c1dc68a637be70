"""What the human-readable reports (report.xlsx, report.html) show: narrow, ranked views of the
results and how each column is formatted.

The CSV/Parquet outputs carry every column; the reports people read carry the columns a lender's
analyst or an investor looks at first (``LENDER_COLUMNS``, ``HOLDING_COLUMNS``), ranked exactly as
``lender_candidates`` and ``holdings`` are (:mod:`dispo.reports.tables`). Columns are selected
*before* sorting, so ranking a million rows stays cheap. Nothing here computes money.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from dispo import schema
from dispo.reports import tables

Frame = pl.DataFrame | pl.LazyFrame
Kind = Literal["money", "rate", "months", "int", "float", "date", "bool", "text"]

#: lender_candidates, as read by a person (rank first; missing columns are skipped).
LENDER_COLUMNS: tuple[str, ...] = (
    "rank", "property_id", "address", "state", "occupancy", "months_delinquent", "hardship",
    "market_value", "claim", "ltv", "lender_best_option", "lender_savings_vs_foreclosure",
    "pv_short_sale", "pv_deed_in_lieu", "pv_foreclosure",
    "lender_severity_short_sale", "lender_severity_deed_in_lieu", "lender_severity_foreclosure",
    "short_sale_price", "min_acceptable_offer", "offer_acceptable", "foreclosure_months",
    "days_to_foreclosure_sale", "urgent", "fc_referral_allowed", "borrower_best_option",
)
#: holdings, as read by a person.
HOLDING_COLUMNS: tuple[str, ...] = (
    "rank", "property_id", "address", "state", "occupancy", "market_value", "payoff", "equity",
    "hold_recommendation", "sell_advantage_pv", "fv_sell", "fv_hold", "equity_after_tax_now",
    "tax_sale_now", "tax_sale_at_horizon", "net_rent_monthly", "monthly_burn", "breakeven_months",
    "breakeven_appreciation_rate", "appreciation_rate", "hold_months", "cost_of_doing_nothing_annual",
)

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


def _present(frame: pl.LazyFrame, wanted: tuple[str, ...]) -> list[str]:
    names = set(frame.collect_schema().names())
    return [c for c in wanted if c in names]


def _top(lf: pl.LazyFrame, by: str, keep: list[str], limit: int | None, table: str) -> pl.DataFrame:
    """``tables.ranked`` (by desc, NaN as null, nulls last, then property_id asc, ``rank`` first),
    but with ``limit`` only the first rows are ranked: a lazy sort + head is a top-k in Polars, far
    cheaper than sorting a million rows to show 25."""
    if limit is None:
        return tables.ranked(lf.select(keep).collect(), by, table=table)
    key = pl.col(by).fill_nan(None) if lf.collect_schema()[by].is_float() else pl.col(by)
    out = (lf.select(keep).sort([key, pl.col("property_id")], descending=[True, False], nulls_last=True)
           .head(limit).collect(engine="streaming"))
    return out.select(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("rank"), pl.all())


def lender_view(results: Frame, columns: tuple[str, ...] = LENDER_COLUMNS, limit: int | None = None) -> pl.DataFrame:
    """``lender_candidates`` (loss_mit_candidate rows, ranked by lender_savings_vs_foreclosure desc,
    property_id) with ``columns`` only; with ``limit``, its first ``limit`` rows."""
    lf = results.lazy()
    keep = _present(lf, tuple(dict.fromkeys((*(c for c in columns if c != "rank"), "property_id",
                                             "lender_savings_vs_foreclosure"))))
    if "loss_mit_candidate" not in lf.collect_schema().names():
        raise KeyError("lender_candidates: missing column(s) loss_mit_candidate")
    out = _top(lf.filter(pl.col("loss_mit_candidate").fill_null(False)), "lender_savings_vs_foreclosure", keep,
               limit, "lender_candidates")
    return out.select([c for c in dict.fromkeys(("rank", *columns)) if c in out.columns])


def holdings_view(results: Frame, columns: tuple[str, ...] = HOLDING_COLUMNS, limit: int | None = None) -> pl.DataFrame:
    """``holdings`` (every result, ranked by sell_advantage_pv desc, property_id) with ``columns``;
    with ``limit``, its first ``limit`` rows."""
    lf = results.lazy()
    keep = _present(lf, tuple(dict.fromkeys((*(c for c in columns if c != "rank"), "property_id",
                                             "sell_advantage_pv"))))
    out = _top(lf, "sell_advantage_pv", keep, limit, "holdings")
    return out.select([c for c in dict.fromkeys(("rank", *columns)) if c in out.columns])


def tax_outcomes_head(wide: Frame, max_rows: int | None = None) -> tuple[pl.DataFrame, int]:
    """The long ``tax_outcomes`` table (T12, 4 rows per property, property_id order), at most
    ``max_rows`` rows, and its full row count. Only the properties shown are reshaped."""
    lf = wide.lazy()
    sources = ["property_id", *schema.TAX_OUTCOME_SOURCES]
    total = 4 * lf.select(pl.len()).collect().item()
    if max_rows is not None and max_rows < total:
        properties = -(-max_rows // 4)
        head = lf.select(sources).sort("property_id", maintain_order=True).head(properties).collect()
        return tables.tax_outcomes(head).head(max_rows), total
    return tables.tax_outcomes(lf.select(sources)), total


def rejects_view(rejects: Frame) -> pl.DataFrame:
    """Rejects as written to rejects.csv (file, row number, reasons, raw columns), in file order."""
    return tables.rejects(rejects)

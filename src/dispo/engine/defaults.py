"""Defaults of docs/spec.md section 1, applied to typed rows as Polars expressions.

Literal and *(cfg)* defaults come from the schema (and the pipeline's ``[defaults]``); computed
defaults are the rules below. A row's own value always wins: every default fills nulls only.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Mapping

import polars as pl

from dispo import params, schema
from dispo.engine.dates import months_between
from dispo.engine.numerics import expm1
from dispo.params import Assumptions

POLARS_TYPES: dict[str, pl.DataType] = {
    "string": pl.String(), "float": pl.Float64(), "int": pl.Int64(), "bool": pl.Boolean(), "date": pl.Date(),
}


def with_all_columns(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Adds every schema column a file left out (as typed nulls) and casts the rest to the schema."""
    present = set(frame.collect_schema().names())
    exprs = []
    for c in schema.COLUMNS:
        if c.name in schema.ASSUMPTION_NAMES and c.name not in present:
            continue  # SPEC 5.5: an assumption not given per row stays a float (engine/assumptions.py)
        t = POLARS_TYPES[c.dtype]
        exprs.append(pl.col(c.name).cast(t) if c.name in present else pl.lit(None, dtype=t).alias(c.name))
    return frame.with_columns(exprs)


def literal_defaults(cfg: Mapping[str, Any]) -> list[pl.Expr]:
    """Nulls take the column's literal default, or the pipeline's ``[defaults]`` value for *(cfg)* ones.

    ``recourse`` is left to rule R1, which needs the state table.
    """
    exprs = []
    for c in schema.COLUMNS:
        if c.name == "recourse":
            continue
        value = cfg.get(c.name, c.default) if c.cfg else c.default
        if value is not None:
            exprs.append(pl.col(c.name).fill_null(pl.lit(value, dtype=POLARS_TYPES[c.dtype])))
    return exprs


def recourse(occupancy: pl.Expr, second_lien_balance: pl.Expr, purchase_money_nonrecourse: pl.Expr,
             cfg_recourse: bool) -> pl.Expr:
    """R1: false for a primary home with no second lien in an anti-deficiency state
    (``purchase_money_nonrecourse`` in states.csv); otherwise the ``[defaults]`` value (true)."""
    protected = (occupancy == "primary") & (second_lien_balance == 0) & purchase_money_nonrecourse
    return pl.col("recourse").fill_null(pl.when(protected).then(False).otherwise(cfg_recourse))


def rental_start_date(occupancy: pl.Expr, purchase_date: pl.Expr) -> pl.Expr:
    """rental_start_date default: purchase_date for rentals, else null."""
    return pl.col("rental_start_date").fill_null(pl.when(occupancy == "rental").then(purchase_date))


def tax_year(as_of: date) -> pl.Expr:
    """tax_year default: the year of as_of."""
    return pl.col("tax_year").fill_null(as_of.year)


def months_lived_last_5y(occupancy: pl.Expr, purchase_date: pl.Expr, as_of: date) -> pl.Expr:
    """S1: for primary min(60, months_held); otherwise 0."""
    held = months_between(purchase_date, as_of)
    return pl.col("months_lived_last_5y").fill_null(
        pl.when(occupancy == "primary").then(pl.min_horizontal(params.statute("sec121_window_months"), held))
        .otherwise(0)
    )


def qpri_balance(occupancy: pl.Expr, first_lien_balance: pl.Expr) -> pl.Expr:
    """qpri_balance default: first_lien_balance for primary, else 0."""
    return pl.col("qpri_balance").fill_null(pl.when(occupancy == "primary").then(first_lien_balance).otherwise(0.0))


def rent_monthly(occupancy: pl.Expr, market_value: pl.Expr, imputed_rent_yield: float) -> pl.Expr:
    """H0: for primary, market_value·imputed_rent_yield/12 (selling means paying rent elsewhere); else 0."""
    return pl.col("rent_monthly").fill_null(
        pl.when(occupancy == "primary").then(market_value * imputed_rent_yield / 12).otherwise(0.0)
    )


def monthly_pi(first_lien_balance: pl.Expr, interest_rate: pl.Expr, remaining_term_months: pl.Expr) -> pl.Expr:
    """H1: B·i/(1 − (1 + i)^(−N)) with i = interest_rate/12, N = remaining_term_months; B/N when i = 0.
    1 − (1 + i)^(−N) is evaluated as −expm1(−N·log1p(i)), which stays exact for a tiny rate."""
    i = interest_rate / 12
    n = remaining_term_months.cast(pl.Float64)
    amortizing = first_lien_balance * i / -expm1(-n * i.log1p())
    return pl.col("monthly_pi").fill_null(pl.when(i == 0).then(first_lien_balance / n).otherwise(amortizing))


def _assumption(frame: pl.LazyFrame, assumptions: Assumptions, name: str) -> pl.Expr | float:
    """An assumption's per-row column when the frame has one (SPEC 5.5), else its value."""
    return pl.col(name) if name in frame.collect_schema().names() else assumptions[name]


def apply_defaults(frame: pl.LazyFrame, *, as_of: date, assumptions: Assumptions,
                   cfg: Mapping[str, Any]) -> pl.LazyFrame:
    """Every column of the schema present and every default applied (docs/spec.md section 1).

    Expects the state facts joined (``purchase_money_nonrecourse``) for rule R1.
    """
    col = pl.col
    cfg_recourse = bool(cfg.get("recourse", schema.BY_NAME["recourse"].default))
    return (
        frame.with_columns(literal_defaults(cfg))
        .with_columns(
            recourse(col("occupancy"), col("second_lien_balance"), col("purchase_money_nonrecourse"), cfg_recourse),
            rental_start_date(col("occupancy"), col("purchase_date")),
            tax_year(as_of),
            months_lived_last_5y(col("occupancy"), col("purchase_date"), as_of),
            qpri_balance(col("occupancy"), col("first_lien_balance")),
            rent_monthly(col("occupancy"), col("market_value"), _assumption(frame, assumptions, "imputed_rent_yield")),
            monthly_pi(col("first_lien_balance"), col("interest_rate"), col("remaining_term_months")),
        )
    )

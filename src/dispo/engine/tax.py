"""Tax outcome of a disposition, SPEC section 4 (T1–T12, B1). Being written: the interface below is
fixed; the bodies land shortly."""

from __future__ import annotations

from datetime import date

import polars as pl

from dispo.params import Assumptions


def short_sale_price(short_sale_offer: pl.Expr, market_value: pl.Expr, short_sale_discount: float) -> pl.Expr:
    """T2: short_sale_offer if given, else market_value·(1 − short_sale_discount) ($)."""
    return short_sale_offer.fill_null(market_value * (1 - short_sale_discount))


def relocation(occupancy: pl.Expr, relocation_assistance: float) -> pl.Expr:
    """B1/L1: relocation_assistance for a primary home, else 0 ($)."""
    return pl.when(occupancy == "primary").then(pl.lit(relocation_assistance)).otherwise(0.0)


def disposition(*, amount_realized: pl.Expr, cod_income: pl.Expr, long_term: pl.Expr,
                sec121_max: pl.Expr) -> dict[str, pl.Expr]:
    """T4–T11 for one disposition, as composed expressions over the wide frame.

    Reads by name: adjusted_basis, depreciation, loss_basis, occupancy, other_taxable_income,
    suspended_passive_losses, bankrupt, qpri_balance, debt, tax_year, qpri_arrangement_before_2026,
    insolvency_amount and the tax parameter columns. Returns expressions keyed gain,
    excluded_gain, recognized_gain, deductible_loss, ltcg, stcg, unrecaptured_1250 (T5's u),
    cod_income, cod_excluded_bankruptcy, cod_excluded_qpri, cod_excluded_insolvency, cod_excluded,
    cod_taxable, ordinary_tax, tax_1250, ltcg_tax, niit, tax.
    """
    raise NotImplementedError


def add_tax(frame: pl.LazyFrame, *, as_of: date, assumptions: Assumptions) -> pl.LazyFrame:
    return frame.with_columns(
        short_sale_price=short_sale_price(pl.col("short_sale_offer"), pl.col("market_value"),
                                          assumptions["short_sale_discount"]),
        relocation=relocation(pl.col("occupancy"), assumptions["relocation_assistance"]),
    )

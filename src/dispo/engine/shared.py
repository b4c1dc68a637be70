"""Shared definitions of docs/spec.md section 3: debt, equity, depreciation (D1), basis and Sec. 121 (S2, S3).

Each function is named after the column it produces, takes the columns it needs as expressions and
returns an expression (``engine/graph.py`` wires them by their signatures). Money in dollars, months
as whole calendar months unless said otherwise. Also the quantities both section 4 and section 5
read: short_sale_price (T2), relocation (B1/L1) and dil_eligible (L5).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from dispo import params
from dispo.engine.dates import months_between
from dispo.engine.numerics import as_expr

# Figures of law, from data/statute.toml (each with its legal reference there).
#: §121(c) hardships of S3 (Treas. Reg. 1.121-3: employment change, health, unforeseen circumstances).
SEC121_HARDSHIPS = tuple(params.statute("sec121_hardships"))
DEPRECIATION_YEARS = params.statute("depreciation_recovery_years")  # residential rental property, §168(c)
SEC121_WINDOW_MONTHS = params.statute("sec121_window_months")  # the 5-year period of §121(a)
SEC121_OWNERSHIP_MONTHS = params.statute("sec121_ownership_months")  # §121(a)
SEC121_USE_MONTHS = params.statute("sec121_use_months")  # §121(a)
SEC121_REDUCED_MONTHS = params.statute("sec121_reduced_exclusion_months")  # §121(c)(1)


def in_cents(amount: pl.Expr) -> pl.Expr:
    """§3 Ties: a money amount rounded to cents (half away from zero, as the reports round it), so
    that options worth the same to the cent compare equal whatever the float noise ($; null stays
    null). Every rule that picks the largest of several amounts (B1, L7, L8) compares these."""
    return amount.round(2, mode="half_away_from_zero")


def debt(first_lien_balance: pl.Expr, second_lien_balance: pl.Expr) -> pl.Expr:
    """Principal owed to all liens ($)."""
    return first_lien_balance + second_lien_balance


def payoff(debt: pl.Expr, arrears: pl.Expr) -> pl.Expr:
    """debt + arrears ($)."""
    return debt + arrears


def equity(market_value: pl.Expr, payoff: pl.Expr) -> pl.Expr:
    """market_value − payoff ($)."""
    return market_value - payoff


def negative_equity(equity: pl.Expr) -> pl.Expr:
    """max(0, −equity) ($)."""
    return pl.max_horizontal(0.0, -equity)


def ltv(payoff: pl.Expr, market_value: pl.Expr) -> pl.Expr:
    """payoff / market_value (ratio); null when the quotient overflows a float (a market value of
    a few 1e-300 dollars is valid input, > 0, but no ratio to print)."""
    ratio = payoff / market_value
    return pl.when(ratio.is_finite()).then(ratio)


def underwater(market_value: pl.Expr, selling_cost_rate: pl.Expr, payoff: pl.Expr) -> pl.Expr:
    """market_value·(1 − selling_cost_rate) < payoff."""
    return market_value * (1 - selling_cost_rate) < payoff


def months_held(purchase_date: pl.Expr, as_of: date) -> pl.Expr:
    """months_between(purchase_date, as_of) (months)."""
    return months_between(purchase_date, as_of)


def basis_in_service(purchase_price: pl.Expr, capital_improvements: pl.Expr, casualty_losses: pl.Expr,
                     fmv_at_conversion: pl.Expr) -> pl.Expr:
    """D1: purchase_price + capital_improvements, or for a converted home (fmv_at_conversion given)
    min(fmv_at_conversion, purchase_price + capital_improvements − casualty_losses) ($)."""
    converted = pl.min_horizontal(fmv_at_conversion, purchase_price + capital_improvements - casualty_losses)
    return pl.when(fmv_at_conversion.is_not_null()).then(converted).otherwise(purchase_price + capital_improvements)


def depreciable_base(basis_in_service: pl.Expr, land_value: pl.Expr, building_share: float) -> pl.Expr:
    """D1: max(0, basis_in_service − land_value), or building_share·basis_in_service when land_value
    is null ($)."""
    return (
        pl.when(land_value.is_null())
        .then(basis_in_service * building_share)
        .otherwise(pl.max_horizontal(0.0, basis_in_service - land_value))
    )


def years_in_service(rental_start_date: pl.Expr, as_of: date) -> pl.Expr:
    """D1: months_between(rental_start_date, as_of) / 12 (years)."""
    return months_between(rental_start_date, as_of) / 12


def allowable_depreciation(occupancy: pl.Expr, depreciable_base: pl.Expr, years_in_service: pl.Expr) -> pl.Expr:
    """D1: for rentals min(depreciable_base, depreciable_base/27.5 · years_in_service); else 0 ($)."""
    allowable = pl.min_horizontal(depreciable_base, depreciable_base / DEPRECIATION_YEARS * years_in_service)
    return pl.when(occupancy == "rental").then(pl.max_horizontal(0.0, allowable)).otherwise(0.0)


def depreciation(depreciation_taken: pl.Expr, allowable_depreciation: pl.Expr) -> pl.Expr:
    """D1 (§1016(a)(2), allowed or allowable): max(depreciation_taken, allowable_depreciation) ($)."""
    return pl.max_horizontal(depreciation_taken, allowable_depreciation)


def depreciation_under_claimed(allowable_depreciation: pl.Expr, depreciation_taken: pl.Expr) -> pl.Expr:
    """D1: allowable_depreciation − depreciation_taken when positive, else 0 ($)."""
    return pl.max_horizontal(0.0, allowable_depreciation - depreciation_taken)


def adjusted_basis(purchase_price: pl.Expr, capital_improvements: pl.Expr, casualty_losses: pl.Expr,
                   depreciation: pl.Expr) -> pl.Expr:
    """purchase_price + capital_improvements − casualty_losses − depreciation ($)."""
    return purchase_price + capital_improvements - casualty_losses - depreciation


def loss_basis(adjusted_basis: pl.Expr, fmv_at_conversion: pl.Expr, depreciation: pl.Expr) -> pl.Expr:
    """adjusted_basis, or min(adjusted_basis, fmv_at_conversion − depreciation) for a converted home
    (basis for loss, Treas. Reg. 1.168(i)-4(b)) ($)."""
    return (
        pl.when(fmv_at_conversion.is_not_null())
        .then(pl.min_horizontal(adjusted_basis, fmv_at_conversion - depreciation))
        .otherwise(adjusted_basis)
    )


def months_owned_last_5y(months_held: pl.Expr) -> pl.Expr:
    """min(60, months_held) (months)."""
    return pl.min_horizontal(SEC121_WINDOW_MONTHS, months_held)


def sec121_eligible(months_owned_last_5y: pl.Expr, months_lived_last_5y: pl.Expr,
                    sec121_used_last_2y: pl.Expr) -> pl.Expr:
    """S2: owned ≥ 24 and lived ≥ 24 of the last 60 months and no exclusion in the last 2 years,
    whatever the occupancy today."""
    return ((months_owned_last_5y >= SEC121_OWNERSHIP_MONTHS) & (months_lived_last_5y >= SEC121_USE_MONTHS)
            & ~sec121_used_last_2y)


def sec121_max(sec121_eligible: pl.Expr, months_owned_last_5y: pl.Expr, months_lived_last_5y: pl.Expr,
               sec121_used_last_2y: pl.Expr, hardship: pl.Expr, sec121_limit: pl.Expr) -> pl.Expr:
    """S3: sec121_limit[status] if eligible; else, for a job_loss, job_change, medical, divorce or death hardship
    (§121(c), Treas. Reg. 1.121-3) and no exclusion in the last 2 years,
    limit·min(owned, lived)/24; else 0 ($)."""
    reduced = sec121_limit * pl.min_horizontal(months_owned_last_5y, months_lived_last_5y) / SEC121_REDUCED_MONTHS
    hardship_ok = hardship.is_in(SEC121_HARDSHIPS).fill_null(False) & ~sec121_used_last_2y
    return (
        pl.when(sec121_eligible).then(sec121_limit)
        .when(hardship_ok).then(reduced)
        .otherwise(0.0)
    )


def nqu_share(nonqualified_use_months: pl.Expr, months_held: pl.Expr) -> pl.Expr:
    """S4 (§121(b)(5)): min(1, nonqualified_use_months / max(1, months_held)), the share of the gain
    (after depreciation) that nonqualified use keeps from the exclusion (ratio)."""
    return pl.min_horizontal(1.0, nonqualified_use_months / pl.max_horizontal(1, months_held))


# --- quantities the tax and lender sections both read (T2, L1, L5, B1) ------------------------------

def short_sale_price(short_sale_offer: pl.Expr, market_value: pl.Expr, short_sale_discount: float) -> pl.Expr:
    """T2: short_sale_offer if given, else market_value·(1 − short_sale_discount) ($)."""
    return short_sale_offer.fill_null(market_value * (1 - short_sale_discount))


def relocation(occupancy: pl.Expr, relocation_assistance: pl.Expr | float) -> pl.Expr:
    """SPEC 3 (relocation): for a primary home, the relocation_assistance paid to a borrower who
    leaves by short sale or deed-in-lieu (the investor's, section 5.4), else 0 ($; read by T2, T3,
    L1, L5, L8 and B1)."""
    return pl.when(occupancy == "primary").then(as_expr(relocation_assistance)).otherwise(0.0)


def dil_eligible(underwater: pl.Expr, second_lien_balance: pl.Expr,
                 dil_with_junior_release: pl.Expr | float) -> pl.Expr:
    """L5: underwater (a borrower with equity sells instead) and either no second lien or an investor
    that releases the junior lien for junior_payoff (dil_with_junior_release)."""
    release = as_expr(dil_with_junior_release).cast(pl.Boolean)
    return underwater & ((second_lien_balance == 0) | release)


# --- wiring (engine/graph.py) ---------------------------------------------------------------------

HELPERS = (in_cents,)

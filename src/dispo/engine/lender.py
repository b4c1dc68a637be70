"""Lender view, docs/spec.md section 5: modification, short sale, deed-in-lieu, foreclosure (rules L1–L10).

The lender is the first-lien holder. Each option is valued as the present value, to the lender, of
what it recovers on its claim, net of the monthly advances (taxes, insurance, HOA) it pays until
the home is sold and of the costs of getting there. Months may be fractional: the foreclosure clock
counts days/30 and every v(t), a(t) takes fractional t.

Each function is named after the column it produces, takes the columns it needs as expressions
(an assumption as a float, or as its column when set per row or by investor, SPEC 5.4/5.5) and
returns an expression; ``engine/graph.py`` wires them by their signatures (the families v_/a_,
reo_net_, lender_loss_, lender_severity_ in ``WIRING``). Money in dollars, time in months, rates as
decimals. They read ``short_sale_price`` (T2), ``relocation`` (section 3) and ``dil_eligible`` (L5)
from ``shared``, the state facts ``foreclosure_days`` and ``foreclosure_legal_cost`` joined per row,
and the modification's values (``modification.py``, M1–M5) for the choice (L7 with M6).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from dispo import params
from dispo.engine import graph
from dispo.engine.dates import days_between
from dispo.engine.numerics import as_expr, expm1, is_zero_rate
from dispo.engine.shared import in_cents
from dispo.schema import LENDER_OPTIONS

#: L2: the foreclosure clock counts days as months of 30 days (SPEC "days/30"; data/statute.toml).
DAYS_PER_MONTH = params.statute("days_per_month")
#: L9: months behind before a loan is a loss-mitigation candidate, and before a first foreclosure
#: filing for a home that is not a principal residence.
MIN_MONTHS_DELINQUENT = params.statute("min_months_delinquent")
#: L9, Reg. X §1024.41(f): no first filing until a principal residence's loan is more than 120 days
#: delinquent, i.e. 5 whole months (of 30 days) behind.
REG_X_MIN_MONTHS_DELINQUENT = params.statute("reg_x_first_filing_days") // DAYS_PER_MONTH + 1
#: L10, Reg. X §1024.41(g): a complete application received more than 37 days before a scheduled
#: sale must be evaluated before the sale.
REG_X_MIN_DAYS_BEFORE_SALE = params.statute("reg_x_complete_application_days")
#: L8: a counter-offer is the minimum acceptable offer rounded up to the next $100.
COUNTER_OFFER_STEP = 100

MODIFICATION, SHORT_SALE, DEED_IN_LIEU, FORECLOSURE = LENDER_OPTIONS
#: L1/L7: the name of the short-sale option when the loan is not underwater.
PAYOFF_SALE = "payoff_sale"
#: L8 offer_status values.
ACCEPT, COUNTER, NO_OFFER = "accept", "counter", "none"


# --- the lender's claim, advances and discounting ----------------------------------------------

def claim(first_lien_balance: pl.Expr, arrears: pl.Expr) -> pl.Expr:
    """SPEC 5 (preamble): first_lien_balance + arrears, what the first lien is owed ($)."""
    return first_lien_balance + arrears


def advances(property_tax_annual: pl.Expr, insurance_annual: pl.Expr, hoa_monthly: pl.Expr) -> pl.Expr:
    """SPEC 5 (preamble): property_tax_annual/12 + insurance_annual/12 + hoa_monthly, paid by the lender each month
    while the loan is unresolved and while it owns the home ($/month; M1's hx is the same sum)."""
    return property_tax_annual / 12 + insurance_annual / 12 + hoa_monthly


def lender_j(lender_discount_rate: pl.Expr | float) -> pl.Expr:
    """SPEC 5 (preamble): j = (1 + lender_discount_rate)^(1/12) − 1, the lender's monthly discount rate (decimal/month).

    Evaluated as expm1(log1p(rate)/12), the same number without cancellation for a tiny rate."""
    return expm1(as_expr(lender_discount_rate).log1p() / 12)


def discount_factor(j: pl.Expr, t: pl.Expr) -> pl.Expr:
    """SPEC 5 (preamble): v(t) = (1 + j)^(−t), the value today of $1 paid in t months (t fractional; ratio)."""
    return (-t * j.log1p()).exp()


def annuity_factor(j: pl.Expr, t: pl.Expr) -> pl.Expr:
    """SPEC 5 (preamble): a(t) = (1 − v(t))/j, or t when j = 0: the value today of $1 paid every month for t months
    (months). 1 − v(t) is evaluated as −expm1(−t·ln(1 + j)), exact for small j·t; a subnormal j counts as 0."""
    return pl.when(is_zero_rate(j)).then(t).otherwise(-expm1(-t * j.log1p()) / j)


# --- L1 short sale -------------------------------------------------------------------------------

def junior_payoff(second_lien_balance: pl.Expr, junior_lien_payoff_cap: pl.Expr | float) -> pl.Expr:
    """L1/L5: min(second_lien_balance, junior_lien_payoff_cap), paid to release the junior lien ($)."""
    return pl.min_horizontal(second_lien_balance, as_expr(junior_lien_payoff_cap))


def lender_short_sale_net(short_sale_price: pl.Expr, selling_cost_rate: pl.Expr, junior_payoff: pl.Expr,
                          relocation: pl.Expr) -> pl.Expr:
    """L1: net = price·(1 − selling_cost_rate) − junior_payoff − relocation, the closing proceeds
    that reach the first lien before its cap at the claim ($; price of T2, relocation of section 3)."""
    return short_sale_price * (1 - selling_cost_rate) - junior_payoff - relocation


def months_to_short_sale(short_sale_months: pl.Expr | float) -> pl.Expr:
    """L1: Tss = short_sale_months, months until a short sale closes (months)."""
    return as_expr(short_sale_months)


def pv_short_sale(lender_short_sale_net: pl.Expr, claim: pl.Expr, underwater: pl.Expr, v_short_sale: pl.Expr,
                  advances: pl.Expr, a_short_sale: pl.Expr) -> pl.Expr:
    """L1: min(net, claim)·v(Tss) − advances·a(Tss); when not underwater a payoff sale,
    claim·v(Tss) − advances·a(Tss) (the borrower's own sale pays every lien) ($, present value)."""
    recovered = pl.when(underwater).then(pl.min_horizontal(lender_short_sale_net, claim)).otherwise(claim)
    return recovered * v_short_sale - advances * a_short_sale


# --- L2 foreclosure timeline ---------------------------------------------------------------------

def days_to_foreclosure_sale(foreclosure_sale_date: pl.Expr, as_of: date) -> pl.Expr:
    """L9 (and L2's clock): foreclosure_sale_date − as_of in days; null when no sale is scheduled
    (days, negative for a date already past)."""
    return days_between(as_of, foreclosure_sale_date)


def foreclosure_months(days_to_foreclosure_sale: pl.Expr, foreclosure_days: pl.Expr, months_delinquent: pl.Expr,
                       min_foreclosure_months: pl.Expr | float) -> pl.Expr:
    """L2: Tfc, months until the foreclosure sale: max(0, days_to_foreclosure_sale/30) when a sale
    date is given, else max(min_foreclosure_months, foreclosure_days/30 − months_delinquent) with the
    state's foreclosure_days (months, fractional)."""
    scheduled = pl.max_horizontal(0.0, days_to_foreclosure_sale / DAYS_PER_MONTH)
    statutory = pl.max_horizontal(as_expr(min_foreclosure_months),
                                  foreclosure_days / DAYS_PER_MONTH - months_delinquent.cast(pl.Float64))
    return pl.when(days_to_foreclosure_sale.is_not_null()).then(scheduled).otherwise(statutory)


def months_to_reo_sale(foreclosure_months: pl.Expr, reo_marketing_months: pl.Expr) -> pl.Expr:
    """L2: Treo = Tfc + reo_marketing_months, months until the lender sells the REO home (months)."""
    return foreclosure_months + reo_marketing_months


# --- L3 REO price --------------------------------------------------------------------------------

def reo_net(market_value: pl.Expr, appreciation_rate: pl.Expr, months: pl.Expr, reo_discount: pl.Expr,
            reo_selling_cost_rate: pl.Expr) -> pl.Expr:
    """L3: reo_net(T) = market_value·(1 + appreciation_rate)^(T/12)·(1 − reo_discount)·(1 −
    reo_selling_cost_rate), the lender's net from selling the REO home at month T ($)."""
    return (market_value * (1 + appreciation_rate).pow(months / 12)
            * (1 - reo_discount) * (1 - reo_selling_cost_rate))


# --- L4 foreclosure ------------------------------------------------------------------------------

def deficiency_recovery(recourse: pl.Expr, claim: pl.Expr, market_value: pl.Expr,
                        deficiency_forgiven_share: pl.Expr, v_reo_sale: pl.Expr,
                        deficiency_recovery_rate: pl.Expr) -> pl.Expr:
    """L4: for a recourse loan, deficiency_recovery_rate·(1 − deficiency_forgiven_share)·
    max(0, claim − market_value)·v(Treo), else 0: what the first lien expects to collect on its own
    deficiency judgment, at today's value ($)."""
    recovery = (deficiency_recovery_rate * (1 - deficiency_forgiven_share)
                * pl.max_horizontal(0.0, claim - market_value) * v_reo_sale)
    return pl.when(recourse).then(recovery).otherwise(0.0)


def pv_foreclosure(claim: pl.Expr, reo_net_foreclosure: pl.Expr, v_reo_sale: pl.Expr,
                   foreclosure_legal_cost: pl.Expr, v_foreclosure_sale: pl.Expr, advances: pl.Expr,
                   a_reo_sale: pl.Expr, a_foreclosure_sale: pl.Expr, preservation_monthly: pl.Expr,
                   deficiency_recovery: pl.Expr) -> pl.Expr:
    """L4: min(claim, reo_net(Treo))·v(Treo) − legal_cost·v(Tfc) − advances·a(Treo)
    − preservation_monthly·(a(Treo) − a(Tfc)) + deficiency_recovery, legal_cost being the state's
    foreclosure_legal_cost: the proceeds are capped at the claim (a surplus goes to junior liens and
    the borrower), the costs are the lender's own ($)."""
    return (pl.min_horizontal(claim, reo_net_foreclosure) * v_reo_sale
            - foreclosure_legal_cost * v_foreclosure_sale
            - advances * a_reo_sale
            - preservation_monthly * (a_reo_sale - a_foreclosure_sale)
            + deficiency_recovery)


# --- L5 deed-in-lieu -----------------------------------------------------------------------------

def months_to_dil(dil_months: pl.Expr | float) -> pl.Expr:
    """L5: Tdil = dil_months, months until the deed-in-lieu is completed (months)."""
    return as_expr(dil_months)


def months_to_dil_reo_sale(months_to_dil: pl.Expr, reo_marketing_months: pl.Expr) -> pl.Expr:
    """L5: Tr = Tdil + reo_marketing_months, months until the deeded home is sold (months)."""
    return months_to_dil + reo_marketing_months


def pv_deed_in_lieu(dil_eligible: pl.Expr, claim: pl.Expr, reo_net_deed_in_lieu: pl.Expr, v_dil_reo_sale: pl.Expr,
                    relocation: pl.Expr, junior_payoff: pl.Expr, v_dil: pl.Expr, advances: pl.Expr,
                    a_dil_reo_sale: pl.Expr, a_dil: pl.Expr, dil_cost: pl.Expr,
                    preservation_monthly: pl.Expr) -> pl.Expr:
    """L5: min(claim, reo_net(Tr))·v(Tr) − (dil_cost + relocation + junior_payoff)·v(Tdil)
    − advances·a(Tr) − preservation_monthly·(a(Tr) − a(Tdil)); null when not dil_eligible ($)."""
    value = (pl.min_horizontal(claim, reo_net_deed_in_lieu) * v_dil_reo_sale
             - (dil_cost + relocation + junior_payoff) * v_dil
             - advances * a_dil_reo_sale
             - preservation_monthly * (a_dil_reo_sale - a_dil))
    return pl.when(dil_eligible).then(value)


# --- L10 feasibility before a scheduled sale -----------------------------------------------------

def days_left_before_sale(days_to_foreclosure_sale: pl.Expr, sale_postponement_months: pl.Expr) -> pl.Expr:
    """L10: days_to_foreclosure_sale + 30·sale_postponement_months; null without a scheduled sale (days)."""
    return days_to_foreclosure_sale + DAYS_PER_MONTH * sale_postponement_months


def short_sale_feasible(days_left_before_sale: pl.Expr, months_to_short_sale: pl.Expr) -> pl.Expr:
    """L10: days_left ≥ 30·Tss; true without a scheduled sale."""
    return (days_left_before_sale >= DAYS_PER_MONTH * months_to_short_sale).fill_null(True)


def deed_in_lieu_feasible(days_left_before_sale: pl.Expr, months_to_dil: pl.Expr) -> pl.Expr:
    """L10: days_left ≥ 30·Tdil; true without a scheduled sale."""
    return (days_left_before_sale >= DAYS_PER_MONTH * months_to_dil).fill_null(True)


def modification_feasible(days_left_before_sale: pl.Expr) -> pl.Expr:
    """L10: days_left > 37 (Reg. X §1024.41(g)); true without a scheduled sale."""
    return (days_left_before_sale > REG_X_MIN_DAYS_BEFORE_SALE).fill_null(True)


def pv_short_sale_if_feasible(short_sale_feasible: pl.Expr, pv_short_sale: pl.Expr) -> pl.Expr:
    """L7/L10: pv_short_sale when the short sale is feasible, else null (not a choice) ($)."""
    return pl.when(short_sale_feasible).then(pv_short_sale)


def pv_deed_in_lieu_if_feasible(deed_in_lieu_feasible: pl.Expr, pv_deed_in_lieu: pl.Expr) -> pl.Expr:
    """L7/L10: pv_deed_in_lieu when feasible (and eligible: else already null), else null ($)."""
    return pl.when(deed_in_lieu_feasible).then(pv_deed_in_lieu)


def pv_best_liquidation(pv_short_sale_if_feasible: pl.Expr, pv_deed_in_lieu_if_feasible: pl.Expr,
                        pv_foreclosure: pl.Expr) -> pl.Expr:
    """M5/L7: max(pv_short_sale, pv_deed_in_lieu, pv_foreclosure) over the options L7 may choose ($)."""
    return pl.max_horizontal(pv_short_sale_if_feasible, pv_deed_in_lieu_if_feasible, pv_foreclosure)


# --- L6 loss and severity ------------------------------------------------------------------------

def lender_loss(claim: pl.Expr, pv: pl.Expr) -> pl.Expr:
    """L6: lender_loss_<x> = claim − pv_<x> ($; null when pv_<x> is)."""
    return claim - pv


def lender_severity(lender_loss: pl.Expr, claim: pl.Expr) -> pl.Expr:
    """L6: lender_severity_<x> = lender_loss_<x> / claim; null when claim = 0 (ratio), or so close
    to 0 (a few 1e-300 dollars) that the quotient overflows a float."""
    ratio = lender_loss / claim
    return pl.when((claim != 0) & ratio.is_finite()).then(ratio)


# --- L7 / M6 best option -------------------------------------------------------------------------

def lender_modifies(mod_eligible: pl.Expr, modification_feasible: pl.Expr, pv_modification: pl.Expr,
                    pv_no_modification: pl.Expr) -> pl.Expr:
    """M6: mod_eligible and modification_feasible and pv_modification ≥ pv_no_modification in cents
    (a tie modifies: retention first; a null pv never qualifies)."""
    worth_it = (in_cents(pv_modification) >= in_cents(pv_no_modification)).fill_null(False)
    return mod_eligible.fill_null(False) & modification_feasible & worth_it


def lender_best_option(claim: pl.Expr, underwater: pl.Expr, lender_modifies: pl.Expr,
                       pv_short_sale_if_feasible: pl.Expr, pv_deed_in_lieu_if_feasible: pl.Expr,
                       pv_foreclosure: pl.Expr) -> pl.Expr:
    """L7/M6: modification when M6 says so; otherwise the largest pv in cents among the feasible
    short sale (payoff_sale when not underwater), the feasible and eligible deed-in-lieu and the
    foreclosure, ties to that order; null when claim = 0 (no first lien to resolve)."""
    short_sale, deed, foreclosure = (in_cents(x) for x in (pv_short_sale_if_feasible, pv_deed_in_lieu_if_feasible,
                                                          pv_foreclosure))
    best = pl.max_horizontal(short_sale, deed, foreclosure)
    liquidation = (
        pl.when(short_sale == best).then(pl.when(underwater).then(pl.lit(SHORT_SALE)).otherwise(pl.lit(PAYOFF_SALE)))
        .when(deed == best).then(pl.lit(DEED_IN_LIEU))
        .otherwise(pl.lit(FORECLOSURE))
    )
    return (pl.when(claim == 0).then(pl.lit(None, dtype=pl.String))
            .when(lender_modifies).then(pl.lit(MODIFICATION))
            .otherwise(liquidation))


def lender_savings_vs_foreclosure(lender_best_option: pl.Expr, pv_modification: pl.Expr,
                                  pv_short_sale_if_feasible: pl.Expr, pv_deed_in_lieu_if_feasible: pl.Expr,
                                  pv_foreclosure: pl.Expr) -> pl.Expr:
    """L7: pv_modification − pv_foreclosure when modification is chosen, else max(pv of the feasible
    short sale, pv of the feasible eligible deed-in-lieu) − pv_foreclosure (null when neither is
    feasible, or when there is no lender decision) ($)."""
    liquidation = pl.max_horizontal(pv_short_sale_if_feasible, pv_deed_in_lieu_if_feasible) - pv_foreclosure
    return (pl.when(lender_best_option.is_null()).then(pl.lit(None, dtype=pl.Float64))
            .when(lender_best_option == MODIFICATION).then(pv_modification - pv_foreclosure)
            .otherwise(liquidation))


# --- L8 minimum acceptable offer -----------------------------------------------------------------

def pv_best_alternative(pv_foreclosure: pl.Expr, pv_deed_in_lieu_if_feasible: pl.Expr) -> pl.Expr:
    """L8: alt = max(pv_foreclosure, pv_deed_in_lieu), the deed-in-lieu only when eligible and
    feasible ($)."""
    return pl.max_horizontal(pv_foreclosure, pv_deed_in_lieu_if_feasible)


def npv_price(pv_best_alternative: pl.Expr, advances: pl.Expr, a_short_sale: pl.Expr, v_short_sale: pl.Expr,
              junior_payoff: pl.Expr, relocation: pl.Expr, selling_cost_rate: pl.Expr) -> pl.Expr:
    """L8: ((alt + advances·a(Tss))/v(Tss) + junior_payoff + relocation)/(1 − selling_cost_rate), the
    short-sale price at which L1 without its cap at the claim equals alt ($)."""
    return (((pv_best_alternative + advances * a_short_sale) / v_short_sale + junior_payoff + relocation)
            / (1 - selling_cost_rate))


def min_acceptable_offer(lender_best_option: pl.Expr, npv_price: pl.Expr, min_net_proceeds_share: pl.Expr | None,
                         market_value: pl.Expr, selling_cost_rate: pl.Expr) -> pl.Expr:
    """L8: npv_price, or max(npv_price, min_net_proceeds_share·market_value/(1 − selling_cost_rate))
    when the investor sets min_net_proceeds_share; null when there is no lender decision ($)."""
    investor_floor = as_expr(min_net_proceeds_share) * market_value / (1 - selling_cost_rate)
    return pl.when(lender_best_option.is_not_null()).then(pl.max_horizontal(npv_price, investor_floor))


def offer_status(lender_best_option: pl.Expr, short_sale_offer: pl.Expr, min_acceptable_offer: pl.Expr) -> pl.Expr:
    """L8: accept when the offer in hand ≥ min_acceptable_offer in cents, else counter; none without
    an offer; null when there is no lender decision."""
    judged = (pl.when(in_cents(short_sale_offer) >= in_cents(min_acceptable_offer)).then(pl.lit(ACCEPT))
              .otherwise(pl.lit(COUNTER)))
    return (pl.when(lender_best_option.is_null()).then(pl.lit(None, dtype=pl.String))
            .when(short_sale_offer.is_null()).then(pl.lit(NO_OFFER))
            .otherwise(judged))


def counter_offer(offer_status: pl.Expr, min_acceptable_offer: pl.Expr) -> pl.Expr:
    """L8: when countering, min_acceptable_offer rounded up to the next $100 (from its cents, so a
    float a hair above a round figure does not add $100); else null ($)."""
    rounded = (in_cents(min_acceptable_offer) / COUNTER_OFFER_STEP).ceil() * COUNTER_OFFER_STEP
    return pl.when(offer_status == COUNTER).then(rounded)


def offer_acceptable(offer_status: pl.Expr) -> pl.Expr:
    """L8: offer_status = accept; null without an offer in hand (or a lender decision)."""
    return pl.when(offer_status.is_in([ACCEPT, COUNTER])).then(offer_status == ACCEPT)


# --- L9 screening flags --------------------------------------------------------------------------

def loss_mit_candidate(claim: pl.Expr, months_delinquent: pl.Expr, underwater: pl.Expr, hardship: pl.Expr,
                       mod_eligible: pl.Expr) -> pl.Expr:
    """L9: months_delinquent ≥ 1, or underwater with a hardship given (a current borrower who shows
    hardship may be offered a short sale), or mod_eligible; false when claim = 0 (L7)."""
    screened = ((months_delinquent >= MIN_MONTHS_DELINQUENT) | (underwater & hardship.is_not_null())
                | mod_eligible.fill_null(False))
    return (claim != 0) & screened


def urgent(days_to_foreclosure_sale: pl.Expr, urgent_days: pl.Expr) -> pl.Expr:
    """L9: 0 ≤ days_to_foreclosure_sale ≤ urgent_days; false when no sale is scheduled."""
    return days_to_foreclosure_sale.is_between(0, urgent_days).fill_null(False)


def fc_referral_allowed(occupancy: pl.Expr, months_delinquent: pl.Expr) -> pl.Expr:
    """L9: for a primary home months_delinquent ≥ 5 (Reg. X §1024.41(f): more than 120 days
    delinquent; principal residences only, §1024.30(c)(2)); for other occupancies ≥ 1."""
    return (
        pl.when(occupancy == "primary").then(months_delinquent >= REG_X_MIN_MONTHS_DELINQUENT)
        .otherwise(months_delinquent >= MIN_MONTHS_DELINQUENT)
    )


# --- wiring (engine/graph.py) ---------------------------------------------------------------------

#: The times at which v(t) and a(t) are taken (columns ``v_<time>``, ``a_<time>``), and the rule of each.
TIMES = {"short_sale": ("months_to_short_sale", "L1"), "dil": ("months_to_dil", "L5"),
         "foreclosure_sale": ("foreclosure_months", "L4"), "dil_reo_sale": ("months_to_dil_reo_sale", "L5"),
         "reo_sale": ("months_to_reo_sale", "L4")}
#: L3: the REO sale of each option that ends in one (column ``reo_net_<option>``), at its time.
REO_SALES = {FORECLOSURE: "months_to_reo_sale", DEED_IN_LIEU: "months_to_dil_reo_sale"}

WIRING = [
    *(graph.node(f"{letter}_{time}", f, j="lender_j", t=months, rule=rule)
      for time, (months, rule) in TIMES.items() for letter, f in (("v", discount_factor), ("a", annuity_factor))),
    *(graph.node(f"reo_net_{x}", reo_net, months=months) for x, months in REO_SALES.items()),
    *(graph.node(f"lender_loss_{x}", lender_loss, pv=f"pv_{x}") for x in LENDER_OPTIONS),
    *(graph.node(f"lender_severity_{x}", lender_severity, lender_loss=f"lender_loss_{x}") for x in LENDER_OPTIONS),
]

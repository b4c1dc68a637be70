"""Loan modification, SPEC 5.3 (rules M1–M5, M7): a Flex-style modification priced against not
modifying, in closed form per row (no loop, no solver).

M1 sets the terms (capitalize the arrears, the rate, a 480-month term, principal forbearance to
the MTMLTV and payment targets within its cap), M2 says who is eligible, M3 looks up the redefault
and self-cure chances in the package's band tables (``data/mod_redefault.csv``,
``data/self_cure.csv``), M4 values modifying (a performing path and a redefault path that
forecloses afresh), M5 values not modifying (cure, or the best feasible liquidation of L1–L5/L10),
M7 the borrower's side. M6 (the choice) is in ``lender.py``.

Each function is named after the column it produces; its parameters are the columns and
assumptions it reads (an assumption a float, or its column when set per row, SPEC 5.5);
``engine/graph.py`` wires them by their signatures (the v_/a_ factors of the modification's times
and L4 re-used on the redefault path in ``WIRING``). Money in dollars, payments per month, rates and
probabilities as decimals, times in months.
"""

from __future__ import annotations

from functools import reduce

import polars as pl

from dispo import params
from dispo.engine import graph
from dispo.engine.lender import annuity_factor, deficiency_recovery, discount_factor, pv_foreclosure, reo_net
from dispo.engine.numerics import as_expr, expm1, is_zero_rate
from dispo.params import BandTable

MODIFICATION = "modification"
#: M3: a value takes the last band whose lower bound is ≤ value + ε (SPEC 5.3: ε = 1e-9).
BAND_EPSILON = 1e-9
#: M1 step 5: the target counts as met within half a cent.
TARGET_TOLERANCE = 0.005
#: L2/M4: the foreclosure clock counts days as months of 30 days (data/statute.toml).
DAYS_PER_MONTH = params.statute("days_per_month")


# --- M1 terms --------------------------------------------------------------------------------------

def mod_upb(first_lien_balance: pl.Expr, arrears: pl.Expr) -> pl.Expr:
    """M1 step 1: first_lien_balance + arrears, the arrears capitalized ($)."""
    return first_lien_balance + arrears


def mod_mtmltv(mod_upb: pl.Expr, market_value: pl.Expr) -> pl.Expr:
    """M1 step 1: mod_upb / market_value, the mark-to-market LTV of the modified loan (ratio); null
    when the quotient overflows a float (a valid market value of a few 1e-300 dollars), as ``ltv``."""
    ratio = mod_upb / market_value
    return pl.when(ratio.is_finite()).then(ratio)


def mod_interest_rate(interest_rate: pl.Expr, mod_mtmltv: pl.Expr, mod_rate: pl.Expr, mod_rate_floor: pl.Expr,
                      mod_rate_min_mtmltv: pl.Expr) -> pl.Expr:
    """M1 step 2: interest_rate when mod_mtmltv < mod_rate_min_mtmltv, else
    min(interest_rate, max(mod_rate, mod_rate_floor)) (annual rate)."""
    lowered = pl.min_horizontal(interest_rate, pl.max_horizontal(as_expr(mod_rate), as_expr(mod_rate_floor)))
    return pl.when(mod_mtmltv < mod_rate_min_mtmltv).then(interest_rate).otherwise(lowered)


def mod_new_term_months(remaining_term_months: pl.Expr, mod_term_months: pl.Expr) -> pl.Expr:
    """M1 step 3: n = max(remaining_term_months, mod_term_months) (months)."""
    return pl.max_horizontal(remaining_term_months.cast(pl.Float64), as_expr(mod_term_months))


def mod_payment_factor(mod_interest_rate: pl.Expr, mod_new_term_months: pl.Expr) -> pl.Expr:
    """M1 step 3: f = pmt(1, i, n) = i/(1 − (1 + i)^(−n)) with i = mod_interest_rate/12, or 1/n
    when i = 0 (or subnormal) ($ of payment per $ of interest-bearing balance)."""
    i = mod_interest_rate / 12
    return pl.when(is_zero_rate(i)).then(1 / mod_new_term_months).otherwise(i / -expm1(-mod_new_term_months * i.log1p()))


def mod_target_pi(monthly_pi: pl.Expr, mod_target_reduction: pl.Expr, monthly_gross_income: pl.Expr,
                  mod_target_hti: pl.Expr, advances: pl.Expr) -> pl.Expr:
    """M1 step 4: (1 − mod_target_reduction)·monthly_pi, or, with monthly_gross_income given, the
    smaller of that and max(0, mod_target_hti·monthly_gross_income − hx), hx being the advances
    (taxes, insurance, HOA per month) ($/month)."""
    by_reduction = (1 - mod_target_reduction) * monthly_pi
    by_income = pl.max_horizontal(0.0, mod_target_hti * monthly_gross_income - advances)
    return pl.when(monthly_gross_income.is_null()).then(by_reduction).otherwise(
        pl.min_horizontal(by_reduction, by_income))


def mod_forbearance_needed(mod_upb: pl.Expr, mod_target_pi: pl.Expr, mod_payment_factor: pl.Expr) -> pl.Expr:
    """M1 step 4: fb_need = max(0, mod_upb − mod_target_pi / f), what the target needs forborne ($)."""
    return pl.max_horizontal(0.0, mod_upb - mod_target_pi / mod_payment_factor)


def mod_forbearance_min(mod_upb: pl.Expr, market_value: pl.Expr, mod_forbear_to_mtmltv: pl.Expr) -> pl.Expr:
    """M1 step 4: fb_min = max(0, mod_upb − mod_forbear_to_mtmltv·market_value) ($)."""
    return pl.max_horizontal(0.0, mod_upb - mod_forbear_to_mtmltv * market_value)


def mod_forbearance_max(mod_upb: pl.Expr, market_value: pl.Expr, mod_forbear_min_mtmltv: pl.Expr) -> pl.Expr:
    """M1 step 4: fb_max = max(0, mod_upb − mod_forbear_min_mtmltv·market_value) ($)."""
    return pl.max_horizontal(0.0, mod_upb - mod_forbear_min_mtmltv * market_value)


def mod_forbearance(mod_upb: pl.Expr, mod_forbearance_needed: pl.Expr, mod_forbearance_min: pl.Expr,
                    mod_forbearance_max: pl.Expr, mod_forbear_cap: pl.Expr) -> pl.Expr:
    """M1 step 4: min(mod_forbear_cap·mod_upb, max(fb_min, min(fb_need, fb_max))), principal that
    bears no interest, due at payoff or maturity ($)."""
    wanted = pl.max_horizontal(mod_forbearance_min, pl.min_horizontal(mod_forbearance_needed, mod_forbearance_max))
    return pl.min_horizontal(mod_forbear_cap * mod_upb, wanted)


def mod_interest_bearing_upb(mod_upb: pl.Expr, mod_forbearance: pl.Expr) -> pl.Expr:
    """M1 step 4: ib = mod_upb − mod_forbearance ($)."""
    return mod_upb - mod_forbearance


def mod_monthly_pi(mod_interest_bearing_upb: pl.Expr, mod_payment_factor: pl.Expr) -> pl.Expr:
    """M1 step 5: ib·f, the modified principal and interest ($/month)."""
    return mod_interest_bearing_upb * mod_payment_factor


def mod_payment_reduction(mod_monthly_pi: pl.Expr, monthly_pi: pl.Expr) -> pl.Expr:
    """M1 step 5: 1 − mod_monthly_pi / monthly_pi; null when monthly_pi = 0, negative when the
    payment rises (ratio); null too when the quotient overflows a float (a valid monthly_pi of a
    few 1e-300 dollars), so the M2 test fails as it would at 0."""
    reduction = 1 - mod_monthly_pi / monthly_pi
    return pl.when((monthly_pi != 0) & reduction.is_finite()).then(reduction)


def mod_target_met(mod_monthly_pi: pl.Expr, mod_target_pi: pl.Expr) -> pl.Expr:
    """M1 step 5: mod_monthly_pi ≤ mod_target_pi + 0.005 (within half a cent)."""
    return mod_monthly_pi <= mod_target_pi + TARGET_TOLERANCE


def mod_hti(mod_monthly_pi: pl.Expr, advances: pl.Expr, monthly_gross_income: pl.Expr) -> pl.Expr:
    """M1 step 5: (mod_monthly_pi + hx) / monthly_gross_income; null without income, and null when
    the quotient overflows a float (a valid income of a few 1e-300 dollars), as ``mod_mtmltv`` (ratio)."""
    ratio = (mod_monthly_pi + advances) / monthly_gross_income
    return pl.when(ratio.is_finite()).then(ratio)


# --- M2 eligibility --------------------------------------------------------------------------------

def mod_eligible(first_lien_balance: pl.Expr, months_delinquent: pl.Expr, occupancy: pl.Expr, hardship: pl.Expr,
                 months_held: pl.Expr, prior_modifications: pl.Expr, mod_payment_reduction: pl.Expr,
                 mod_min_months_delinquent: pl.Expr, mod_min_seasoning_months: pl.Expr,
                 mod_max_prior: pl.Expr) -> pl.Expr:
    """M2: first_lien_balance > 0; months_delinquent ≥ mod_min_months_delinquent, or a primary home
    with a hardship given (imminent default); months_held ≥ mod_min_seasoning_months (purchase_date
    stands for the note date); prior_modifications < mod_max_prior; mod_payment_reduction > 0 (a
    null fails)."""
    delinquent = (months_delinquent >= mod_min_months_delinquent) | (
        (occupancy == "primary") & hardship.is_not_null())
    return ((first_lien_balance > 0) & delinquent & (months_held >= mod_min_seasoning_months)
            & (prior_modifications < mod_max_prior) & (mod_payment_reduction > 0).fill_null(False))


# --- M3 behaviour tables ---------------------------------------------------------------------------

def _band_index(value: pl.Expr, bounds: tuple[float, ...]) -> pl.Expr:
    """M3: index of the last band whose lower bound ≤ value + ε, 0 below the first bound; null for
    a null value (the count of the bounds above the first that the value reaches)."""
    reached = [(value + BAND_EPSILON >= bound).cast(pl.UInt32) for bound in bounds[1:]]
    start = pl.when(value.is_not_null()).then(pl.lit(0, dtype=pl.UInt32))
    return reduce(lambda x, y: x + y, reached, start)


def _band_lookup(table: BandTable, *values: pl.Expr) -> pl.Expr:
    """M3: the table's value for the band of each key (null when any key is null)."""
    index = pl.lit(0, dtype=pl.UInt32)
    for value, bounds in zip(values, table.bounds):
        index = index * len(bounds) + _band_index(value, bounds)
    return pl.lit(pl.Series(table.values, dtype=pl.Float64)).gather(index)


def p_redefault(mod_payment_reduction: pl.Expr, mod_mtmltv: pl.Expr) -> pl.Expr:
    """M3: data/mod_redefault.csv by mod_payment_reduction and mod_mtmltv bands: the chance the
    modified loan ever defaults again, placed at redefault_month; null with mod_payment_reduction
    (probability). A null mod_mtmltv (overflowed: above every bound) takes the highest band."""
    return _band_lookup(params.redefault_table(), mod_payment_reduction, mod_mtmltv.fill_null(float("inf")))


def p_cure(months_delinquent: pl.Expr) -> pl.Expr:
    """M3: data/self_cure.csv by months_delinquent band: the chance the loan reinstates and performs
    unmodified (probability)."""
    return _band_lookup(params.self_cure_table(), months_delinquent.cast(pl.Float64))


# --- M4 modify ---------------------------------------------------------------------------------------

def pv_mod_perform(mod_monthly_pi: pl.Expr, a_mod_term: pl.Expr, mod_forbearance: pl.Expr,
                   v_mod_term: pl.Expr) -> pl.Expr:
    """M4: mod_monthly_pi·a(n) + mod_forbearance·v(n), the performing path ($)."""
    return mod_monthly_pi * a_mod_term + mod_forbearance * v_mod_term


def mod_redefault_months(redefault_month: pl.Expr, mod_new_term_months: pl.Expr) -> pl.Expr:
    """M4: R = min(redefault_month, n), payments made before the redefault (months)."""
    return pl.min_horizontal(as_expr(redefault_month), mod_new_term_months)


def mod_balance_at_redefault(mod_interest_bearing_upb: pl.Expr, mod_monthly_pi: pl.Expr,
                             mod_interest_rate: pl.Expr, mod_redefault_months: pl.Expr) -> pl.Expr:
    """M4: bal_R = max(0, ib·(1 + i)^R − mod_monthly_pi·((1 + i)^R − 1)/i), ib − mod_monthly_pi·R
    when i = 0 ($)."""
    i = mod_interest_rate / 12
    growth = expm1(mod_redefault_months * i.log1p())  # (1 + i)^R − 1
    amortized = mod_interest_bearing_upb * (1 + growth) - mod_monthly_pi * growth / i
    flat = mod_interest_bearing_upb - mod_monthly_pi * mod_redefault_months
    return pl.max_horizontal(0.0, pl.when(is_zero_rate(i)).then(flat).otherwise(amortized))


def mod_claim_at_redefault(mod_balance_at_redefault: pl.Expr, mod_forbearance: pl.Expr) -> pl.Expr:
    """M4: claim_R = bal_R + mod_forbearance ($)."""
    return mod_balance_at_redefault + mod_forbearance


def mod_value_at_redefault(market_value: pl.Expr, appreciation_rate: pl.Expr,
                           mod_redefault_months: pl.Expr) -> pl.Expr:
    """M4: mv_R = market_value·(1 + appreciation_rate)^(R/12) ($)."""
    return market_value * (1 + appreciation_rate).pow(mod_redefault_months / 12)


def mod_foreclosure_months(foreclosure_days: pl.Expr, min_foreclosure_months: pl.Expr) -> pl.Expr:
    """M4: Tfc_R = max(min_foreclosure_months, foreclosure_days/30), a fresh default (any scheduled
    sale is cancelled) (months from R)."""
    return pl.max_horizontal(as_expr(min_foreclosure_months), foreclosure_days / DAYS_PER_MONTH)


def mod_reo_sale_months(mod_foreclosure_months: pl.Expr, reo_marketing_months: pl.Expr) -> pl.Expr:
    """M4: Treo_R = Tfc_R + reo_marketing_months (months from R)."""
    return mod_foreclosure_months + reo_marketing_months


def mod_redefault_sale_months(mod_redefault_months: pl.Expr, mod_reo_sale_months: pl.Expr) -> pl.Expr:
    """M4: R + Treo_R, the month (from today) of the REO sale on the redefault path: L3's price is
    reo_net(R + Treo_R) (months)."""
    return mod_redefault_months + mod_reo_sale_months


def pv_mod_redefault(mod_monthly_pi: pl.Expr, a_mod_redefault: pl.Expr, v_mod_redefault: pl.Expr,
                     pv_foreclosure_at_redefault: pl.Expr) -> pl.Expr:
    """M4: mod_monthly_pi·a(R) + v(R)·pv_fc_R, pv_fc_R being L4 with claim_R, mv_R, Tfc_R, Treo_R
    and times counted from R ($)."""
    return mod_monthly_pi * a_mod_redefault + v_mod_redefault * pv_foreclosure_at_redefault


def pv_modification(mod_eligible: pl.Expr, p_redefault: pl.Expr, pv_mod_perform: pl.Expr,
                    pv_mod_redefault: pl.Expr, mod_cost: pl.Expr) -> pl.Expr:
    """M4: (1 − p_redefault)·pv_mod_perform + p_redefault·pv_mod_redefault − mod_cost; null unless
    mod_eligible ($)."""
    value = (1 - p_redefault) * pv_mod_perform + p_redefault * pv_mod_redefault - mod_cost
    return pl.when(mod_eligible).then(value)


# --- M5 not modify -----------------------------------------------------------------------------------

def pv_cure(monthly_pi: pl.Expr, a_remaining_term: pl.Expr, arrears: pl.Expr) -> pl.Expr:
    """M5: monthly_pi·a(remaining_term_months) + arrears: the arrears paid now, then the note runs to
    term ($)."""
    return monthly_pi * a_remaining_term + arrears


def pv_no_modification(p_cure: pl.Expr, pv_cure: pl.Expr, pv_best_liquidation: pl.Expr) -> pl.Expr:
    """M5: p_cure·pv_cure + (1 − p_cure)·max(pv_short_sale, pv_deed_in_lieu, pv_foreclosure) over the
    options L7 may choose (feasible, L10; eligible) ($)."""
    return p_cure * pv_cure + (1 - p_cure) * pv_best_liquidation


def mod_npv_gain(pv_modification: pl.Expr, pv_no_modification: pl.Expr) -> pl.Expr:
    """M5: pv_modification − pv_no_modification; null with pv_modification ($)."""
    return pv_modification - pv_no_modification


# --- M7 borrower -------------------------------------------------------------------------------------

def mod_payment_saving(monthly_pi: pl.Expr, mod_monthly_pi: pl.Expr) -> pl.Expr:
    """M7: monthly_pi − mod_monthly_pi ($/month)."""
    return monthly_pi - mod_monthly_pi


def keeps_home(lender_best_option: pl.Expr) -> pl.Expr:
    """M7: lender_best_option = modification; null when there is no lender decision (claim = 0)."""
    return lender_best_option == MODIFICATION


def keep_home_probability(keeps_home: pl.Expr, p_redefault: pl.Expr, p_cure: pl.Expr) -> pl.Expr:
    """M7: 1 − p_redefault when keeps_home, else p_cure; null with keeps_home (probability)."""
    return pl.when(keeps_home).then(1 - p_redefault).when(keeps_home.not_()).then(p_cure)


# --- wiring (engine/graph.py) ---------------------------------------------------------------------

#: M4/M5: the times at which v(t) and a(t) are taken (columns ``v_<time>``, ``a_<time>``).
TIMES = {"mod_term": ("mod_new_term_months", "M4"), "mod_redefault": ("mod_redefault_months", "M4"),
         "mod_foreclosure_sale": ("mod_foreclosure_months", "M4"), "mod_reo_sale": ("mod_reo_sale_months", "M4"),
         "remaining_term": ("remaining_term_months", "M5")}
#: M4: L3 and L4 on the redefault path (claim_R, mv_R, Tfc_R, Treo_R; times counted from R).
AT_REDEFAULT = {"claim": "mod_claim_at_redefault", "v_reo_sale": "v_mod_reo_sale"}

WIRING = [
    *(graph.node(f"{letter}_{time}", f, j="lender_j", t=months, rule=rule)
      for time, (months, rule) in TIMES.items() for letter, f in (("v", discount_factor), ("a", annuity_factor))),
    graph.node("reo_net_at_redefault", reo_net, months="mod_redefault_sale_months", rule="M4"),
    graph.node("deficiency_recovery_at_redefault", deficiency_recovery, market_value="mod_value_at_redefault",
               rule="M4", **AT_REDEFAULT),
    graph.node("pv_foreclosure_at_redefault", pv_foreclosure, reo_net_foreclosure="reo_net_at_redefault",
               v_foreclosure_sale="v_mod_foreclosure_sale", a_reo_sale="a_mod_reo_sale",
               a_foreclosure_sale="a_mod_foreclosure_sale", deficiency_recovery="deficiency_recovery_at_redefault",
               rule="M4", **AT_REDEFAULT),
]

"""Tax outcome of a disposition: docs/spec.md section 4 (rules T1–T12, with T13's state tax from
``state_tax``) and B1.

A disposition is one of ``sale``, ``short_sale``, ``deed_in_lieu``, ``foreclosure``, evaluated as if
it happened on as_of at market_value (tax_year only picks the parameters). Each function below is
named after the quantity it produces, takes the columns it needs as Polars expressions and returns
an expression; money is in dollars. ``disposition`` composes T4–T11 for any amount realized, so the
hold engine reuses it for a sale at the horizon (H6) and in its root search (H9).

The tax parameter columns of the row's (tax_year, filing_status) are joined onto the wide frame
before this stage (``params.tax_param_frame``): ``ord_top_1`` … ``ord_top_6``, ``ord_offset_*``, ``ltcg_t0``,
``ltcg_t15``, ``standard_deduction``, ``niit_threshold``, ``sec121_limit``, ``qpri_limit``,
``qpri_limit_arrangement``. Flat rates come from ``params.tax_rates()``.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from dispo import params, schema
from dispo.engine.dates import is_long_term
from dispo.engine import graph
from dispo.engine.shared import in_cents
from dispo.engine.state_tax import cod_taxable_state, state_ordinary, state_tax

col = pl.col
ZERO = pl.lit(0.0)


def _pos(x: pl.Expr) -> pl.Expr:
    """max(0, x)."""
    return pl.max_horizontal(ZERO, x)


# --- T1–T3: amount realized, cancelled debt, deficiency -----------------------------------------

def sale_amount_realized(market_value: pl.Expr, selling_cost_rate: pl.Expr) -> pl.Expr:
    """T1: market_value·(1 − selling_cost_rate) ($). A sale cancels no debt and leaves none owed."""
    return market_value * (1 - selling_cost_rate)


def sale_cod_income() -> pl.Expr:
    """T1: a sale cancels no debt: 0 ($)."""
    return ZERO


def sale_deficiency_owed() -> pl.Expr:
    """T1: a sale leaves no debt owed: 0 ($)."""
    return ZERO


def short_sale_net(short_sale_price: pl.Expr, selling_cost_rate: pl.Expr) -> pl.Expr:
    """T2: N = price·(1 − selling_cost_rate) ($)."""
    return short_sale_price * (1 - selling_cost_rate)


def short_sale_recourse(recourse: pl.Expr, short_sale_nonrecourse: pl.Expr, borrower_is_entity: pl.Expr) -> pl.Expr:
    """T2: a short sale in a state whose short_sale_nonrecourse is true (California, CCP 580e as
    amended in 2011: any 1–4 unit dwelling of an individual, rentals and second homes too) is
    nonrecourse whatever ``recourse`` says, unless ``borrower_is_entity`` (bool)."""
    return recourse & ~(short_sale_nonrecourse & ~borrower_is_entity)


def deed_in_lieu_recourse(recourse: pl.Expr) -> pl.Expr:
    """T3: a deed-in-lieu settles the debt on its own terms: the row's recourse after rule R1."""
    return recourse


def foreclosure_recourse(recourse: pl.Expr) -> pl.Expr:
    """T3: a foreclosure settles the debt on its own terms: the row's recourse after rule R1."""
    return recourse


def to_liens(proceeds: pl.Expr, relocation: pl.Expr) -> pl.Expr:
    """T2/T3: what the liens receive: proceeds − relocation; for a short sale N − relocation (paid
    to the borrower from the proceeds), for a deed-in-lieu FMV − relocation (paid by the lender,
    L5), for a foreclosure FMV (relocation 0) ($)."""
    return proceeds - relocation


def shortfall(debt: pl.Expr, to_liens: pl.Expr) -> pl.Expr:
    """T2/T3: max(0, debt − to_liens): the debt the liens do not get (the relocation included:
    Treas. Reg. 1.1001-2(c) Ex. 8) ($)."""
    return _pos(debt - to_liens)


def amount_realized(recourse: pl.Expr, proceeds: pl.Expr, to_liens: pl.Expr, debt: pl.Expr,
                    relocation: pl.Expr) -> pl.Expr:
    """T2/T3: recourse: the proceeds (N or FMV); nonrecourse: max(to_liens, debt) + relocation — the
    whole debt is realized (Tufts; Pub. 4681), plus the cash the borrower receives ($)."""
    return pl.when(recourse).then(proceeds).otherwise(pl.max_horizontal(to_liens, debt) + relocation)


def cod_income(recourse: pl.Expr, shortfall: pl.Expr, deficiency_forgiven_share: pl.Expr) -> pl.Expr:
    """T2/T3: recourse: shortfall·deficiency_forgiven_share; nonrecourse debt never gives COD ($)."""
    return pl.when(recourse).then(shortfall * deficiency_forgiven_share).otherwise(ZERO)


def deficiency_owed(recourse: pl.Expr, shortfall: pl.Expr, cod_income: pl.Expr) -> pl.Expr:
    """T2/T3: recourse: shortfall − COD (what the lenders do not forgive); nonrecourse 0 ($)."""
    return pl.when(recourse).then(shortfall - cod_income).otherwise(ZERO)


# --- T4: gain or loss ------------------------------------------------------------------------

def gain(amount_realized: pl.Expr, adjusted_basis: pl.Expr) -> pl.Expr:
    """T4: AR − adjusted_basis ($; negative is a loss)."""
    return amount_realized - adjusted_basis


def unrecaptured_1250_gain(gain: pl.Expr, depreciation: pl.Expr) -> pl.Expr:
    """T4: min(gain, depreciation) for a gain, else 0 ($). Depreciation allowed or allowable (D1) is
    never excluded by Sec. 121 (§121(d)(6))."""
    return pl.when(gain >= 0).then(pl.min_horizontal(gain, depreciation)).otherwise(ZERO)


def excluded_gain(gain: pl.Expr, unrecaptured_1250_gain: pl.Expr, nqu_share: pl.Expr, sec121_max: pl.Expr) -> pl.Expr:
    """T4: min((gain − unrecaptured_1250)·(1 − nqu_share), sec121_max) for a gain, else 0 ($; rules
    S3, S4: the nonqualified-use share of the gain cannot be excluded, §121(b)(5))."""
    excludable = (gain - unrecaptured_1250_gain) * (1 - nqu_share)
    return pl.when(gain >= 0).then(pl.min_horizontal(excludable, sec121_max)).otherwise(ZERO)


def recognized_gain(gain: pl.Expr, excluded_gain: pl.Expr) -> pl.Expr:
    """T4: gain − excluded_gain for a gain, else 0 ($)."""
    return pl.when(gain >= 0).then(gain - excluded_gain).otherwise(ZERO)


def deductible_loss(gain: pl.Expr, occupancy: pl.Expr, loss_basis: pl.Expr, amount_realized: pl.Expr) -> pl.Expr:
    """T4: for a loss on a rental, max(0, loss_basis − AR) (a §1231 loss is ordinary); a personal-use
    loss (primary, second_home) is not deductible ($)."""
    return pl.when((gain < 0) & (occupancy == "rental")).then(_pos(loss_basis - amount_realized)).otherwise(ZERO)


# --- T5: character -----------------------------------------------------------------------------

def disposition_long_term(purchase_date: pl.Expr, as_of: date) -> pl.Expr:
    """T5: a disposition on as_of is long-term when as_of is later than add_months(purchase_date, 12)."""
    return is_long_term(purchase_date, as_of)


def ltcg(long_term: pl.Expr, recognized_gain: pl.Expr, unrecaptured_1250_gain: pl.Expr) -> pl.Expr:
    """T5: long-term: recognized_gain − unrecaptured_1250; short-term: 0 ($)."""
    return pl.when(long_term).then(recognized_gain - unrecaptured_1250_gain).otherwise(ZERO)


def stcg(long_term: pl.Expr, recognized_gain: pl.Expr) -> pl.Expr:
    """T5: short-term: recognized_gain; long-term: 0 ($)."""
    return pl.when(long_term).then(ZERO).otherwise(recognized_gain)


def unrecaptured_1250(long_term: pl.Expr, unrecaptured_1250_gain: pl.Expr) -> pl.Expr:
    """T5: u = unrecaptured_1250 gain when long-term, 0 when short-term (then it is all stcg) ($)."""
    return pl.when(long_term).then(unrecaptured_1250_gain).otherwise(ZERO)


# --- T6: cancelled-debt exclusions, in order ---------------------------------------------------

def cod_excluded_bankruptcy(bankrupt: pl.Expr, cod_income: pl.Expr) -> pl.Expr:
    """T6.1: a discharge in a Title 11 case excludes all COD (§108(a)(1)(A)) ($)."""
    return pl.when(bankrupt).then(cod_income).otherwise(ZERO)


def qpri_limit(qpri_limit: pl.Expr, qpri_limit_arrangement: pl.Expr, qpri_arrangement_before_2026: pl.Expr) -> pl.Expr:
    """T6.2: the QPRI limit of the period holding tax_year; after the exclusion ended, the last
    period's limit under a written arrangement made before 2026; null when the exclusion is not
    available ($)."""
    return qpri_limit.fill_null(pl.when(qpri_arrangement_before_2026).then(qpri_limit_arrangement))


def cod_excluded_qpri(occupancy: pl.Expr, cod_income: pl.Expr, debt: pl.Expr, qpri_balance: pl.Expr,
                      qpri_limit: pl.Expr, cod_left: pl.Expr) -> pl.Expr:
    """T6.2 (§108(a)(1)(E), (h)): primary home only, when a limit applies: qpri = min(qpri_balance,
    limit); excluded = max(0, COD − (debt − qpri)) — the discharge reaches the qualifying debt last
    (§108(h)(4)) — never more than the COD left after bankruptcy ($)."""
    qpri = pl.min_horizontal(qpri_balance, qpri_limit)
    excluded = pl.min_horizontal(_pos(cod_income - (debt - qpri)), cod_left)
    return pl.when((occupancy == "primary") & qpri_limit.is_not_null()).then(excluded).otherwise(ZERO)


def cod_excluded_insolvency(insolvency_amount: pl.Expr, cod_left: pl.Expr) -> pl.Expr:
    """T6.3 (§108(a)(1)(B), (d)(3)): min(COD left, insolvency_amount) ($)."""
    return pl.min_horizontal(cod_left, insolvency_amount)


def cod_left_after_bankruptcy(cod_income: pl.Expr, cod_excluded_bankruptcy: pl.Expr) -> pl.Expr:
    """T6.2: the COD the QPRI exclusion may still reach: cod_income − cod_excluded_bankruptcy ($)."""
    return cod_income - cod_excluded_bankruptcy


def cod_left_after_qpri(cod_left_after_bankruptcy: pl.Expr, cod_excluded_qpri: pl.Expr) -> pl.Expr:
    """T6.3: the COD the insolvency exclusion may still reach: COD left after bankruptcy −
    cod_excluded_qpri ($)."""
    return cod_left_after_bankruptcy - cod_excluded_qpri


def cod_excluded(cod_excluded_bankruptcy: pl.Expr, cod_excluded_qpri: pl.Expr,
                 cod_excluded_insolvency: pl.Expr) -> pl.Expr:
    """T6: cod_excluded_bankruptcy + cod_excluded_qpri + cod_excluded_insolvency ($)."""
    return cod_excluded_bankruptcy + cod_excluded_qpri + cod_excluded_insolvency


def cod_taxable(cod_income: pl.Expr, cod_excluded: pl.Expr) -> pl.Expr:
    """T6: cod_income − all exclusions ($)."""
    return cod_income - cod_excluded


# --- T7–T11: the tax -----------------------------------------------------------------------------

def bracket_tax(x: pl.Expr, rate_cap: float | None = None) -> pl.Expr:
    """T(x) = Σ rate_k·max(0, min(x, top_k) − top_{k−1}) over the row's ordinary brackets (top_0 = 0,
    last top = ∞); with ``rate_cap`` every rate is capped (T25 of rule T8) ($). Evaluated as
    max(0, max_k(rate_k·x − offset_k)), the same function: rising rates make the schedule the upper
    envelope of its bands' lines (``params.bracket_lines``), half the arithmetic of the sum."""
    lines = (rate * x - col(offset) if offset else rate * x for rate, offset in params.bracket_lines(rate_cap))
    return pl.max_horizontal(ZERO, *lines)


def ordinary_income_after(other_taxable_income: pl.Expr, cod_taxable: pl.Expr, stcg: pl.Expr,
                          deductible_loss: pl.Expr, released_passive_losses: pl.Expr) -> pl.Expr:
    """T7: O2 = max(0, O + cod_taxable + stcg − deductible_loss − P); a loss beyond this year's
    income is not carried forward here ($)."""
    return _pos(other_taxable_income + cod_taxable + stcg - deductible_loss - released_passive_losses)


def released_passive_losses(occupancy: pl.Expr, suspended_passive_losses: pl.Expr) -> pl.Expr:
    """T7: P = suspended_passive_losses for rentals (released by a taxable disposition, §469(g)),
    else 0 ($)."""
    return pl.when(occupancy == "rental").then(suspended_passive_losses).otherwise(ZERO)


def tax_on_other_income(other_taxable_income: pl.Expr) -> pl.Expr:
    """T7: T(O), the ordinary tax on other_taxable_income alone ($). The same for every
    disposition of a row, so computed once (the engine evaluates T4–T11 thirteen times a row)."""
    return bracket_tax(other_taxable_income)


def ordinary_tax(tax_on_ordinary_income: pl.Expr, tax_on_other_income: pl.Expr) -> pl.Expr:
    """T7: T(O2) − T(O) ($; negative when a deductible loss saves tax)."""
    return tax_on_ordinary_income - tax_on_other_income


def tax_on_ordinary_income(ordinary_income_after: pl.Expr) -> pl.Expr:
    """T7: T(O2), the regular tax on the ordinary income after the disposition ($)."""
    return bracket_tax(ordinary_income_after)


def taxable_income(ordinary_income_after: pl.Expr, unrecaptured_1250: pl.Expr, ltcg: pl.Expr) -> pl.Expr:
    """T8 TI = O2 + u + ltcg: taxable income with the disposition (Schedule D Tax Worksheet line 1) ($)."""
    return ordinary_income_after + unrecaptured_1250 + ltcg


def regular_rate_income(ordinary_income_after: pl.Expr, unrecaptured_1250: pl.Expr, ltcg_t0: pl.Expr) -> pl.Expr:
    """T8 w19 = max(O2, min(O2 + u, t0)): taxable income taxed at the regular rates — the ordinary
    income and the §1250 gain that fits under the 0 % bound (worksheet lines 14–19) ($)."""
    o2 = ordinary_income_after
    return pl.max_horizontal(o2, pl.min_horizontal(o2 + unrecaptured_1250, ltcg_t0))


def ltcg_at_0(taxable_income: pl.Expr, ordinary_income_after: pl.Expr, unrecaptured_1250: pl.Expr,
              ltcg_t0: pl.Expr) -> pl.Expr:
    """T9 z = min(TI, t0) − min(O2 + u, t0): long-term gain taxed at 0 % (worksheet line 20) ($)."""
    below = pl.min_horizontal(ordinary_income_after + unrecaptured_1250, ltcg_t0)
    return pl.min_horizontal(taxable_income, ltcg_t0) - below


def ltcg_at_15(ltcg: pl.Expr, ltcg_at_0: pl.Expr, taxable_income: pl.Expr, ltcg_t15: pl.Expr,
               regular_rate_income: pl.Expr) -> pl.Expr:
    """T9 f = min(ltcg − z, max(0, min(TI, t15) − w19 − z)): long-term gain taxed at 15 %
    (worksheet lines 21–28) ($)."""
    room = _pos(pl.min_horizontal(taxable_income, ltcg_t15) - regular_rate_income - ltcg_at_0)
    return pl.min_horizontal(ltcg - ltcg_at_0, room)


def ltcg_at_20(ltcg: pl.Expr, ltcg_at_0: pl.Expr, ltcg_at_15: pl.Expr) -> pl.Expr:
    """T9 g = ltcg − z − f: long-term gain taxed at 20 % (worksheet line 31) ($)."""
    return ltcg - ltcg_at_0 - ltcg_at_15


def unrecaptured_1250_at_25(unrecaptured_1250: pl.Expr, regular_rate_income: pl.Expr,
                            ordinary_income_after: pl.Expr) -> pl.Expr:
    """T8 u25 = u − (w19 − O2): §1250 gain above the 0 % bound, taxed at 25 % (worksheet lines
    33–37); it does not use up the 15 % band ($)."""
    return unrecaptured_1250 - (regular_rate_income - ordinary_income_after)


def tax_on_regular_rate_income(regular_rate_income: pl.Expr) -> pl.Expr:
    """T8 T(w19): the regular tax on the income taxed at the regular rates, the tax on worksheet
    line 19 that line 43 adds up ($)."""
    return bracket_tax(regular_rate_income)


def worksheet_tax(tax_on_regular_rate_income: pl.Expr, ltcg_at_15: pl.Expr, ltcg_at_20: pl.Expr,
                  unrecaptured_1250_at_25: pl.Expr) -> pl.Expr:
    """T8/T9 W = T(w19) + 0.15·f + 0.20·g + 0.25·u25: the worksheet's tax on TI (line 43) ($)."""
    rates = params.tax_rates()
    _, r15, r20 = rates.ltcg
    return (tax_on_regular_rate_income + r15 * ltcg_at_15 + r20 * ltcg_at_20
            + rates.unrecaptured_1250_max * unrecaptured_1250_at_25)


def tax_on_taxable_income(worksheet_tax: pl.Expr, taxable_income: pl.Expr) -> pl.Expr:
    """T8/T9 min(W, T(TI)): the tax on TI, never more than the regular tax on all of it (worksheet
    line 45, the smaller of line 43 and line 44, T(TI)) ($)."""
    return pl.min_horizontal(worksheet_tax, bracket_tax(taxable_income))


def gains_tax(tax_on_taxable_income: pl.Expr, tax_on_ordinary_income: pl.Expr) -> pl.Expr:
    """T8/T9 gains_tax = min(W, T(TI)) − T(O2): the tax on u and ltcg together (worksheet line 45
    less the regular tax on O2) ($)."""
    return tax_on_taxable_income - tax_on_ordinary_income


def tax_1250(tax_on_regular_rate_income: pl.Expr, tax_on_ordinary_income: pl.Expr,
             unrecaptured_1250_at_25: pl.Expr, gains_tax: pl.Expr) -> pl.Expr:
    """T8: min(T(w19) − T(O2) + 0.25·u25, gains_tax): the §1250 gain's tax, at the regular rates
    under the 0 % bound and 25 % above it (worksheet lines 19 and 37) ($)."""
    cap = params.tax_rates().unrecaptured_1250_max
    return pl.min_horizontal(tax_on_regular_rate_income - tax_on_ordinary_income + cap * unrecaptured_1250_at_25,
                             gains_tax)


def ltcg_tax(gains_tax: pl.Expr, tax_1250: pl.Expr) -> pl.Expr:
    """T9: gains_tax − tax_1250: the long-term gain's tax; line 45's saving, when it binds, comes
    off it first ($)."""
    return gains_tax - tax_1250


def niit(stcg: pl.Expr, ltcg: pl.Expr, unrecaptured_1250: pl.Expr, released_passive_losses: pl.Expr,
         ordinary_income_after: pl.Expr, standard_deduction: pl.Expr, niit_threshold: pl.Expr) -> pl.Expr:
    """T10 (§1411): 3.8 % of min(nii, max(0, magi − threshold)) with nii = max(0, stcg + ltcg + u − P)
    (released passive losses are deductions of the rental, Treas. Reg. 1.1411-4(f)) and
    magi = O2 + u + ltcg + standard_deduction (taxable income turned back into income) ($)."""
    nii = _pos(stcg + ltcg + unrecaptured_1250 - released_passive_losses)
    magi = ordinary_income_after + unrecaptured_1250 + ltcg + standard_deduction
    return params.tax_rates().niit * pl.min_horizontal(nii, _pos(magi - niit_threshold))


def federal_tax(ordinary_tax: pl.Expr, tax_1250: pl.Expr, ltcg_tax: pl.Expr, niit: pl.Expr) -> pl.Expr:
    """T11: ordinary_tax + tax_1250 + ltcg_tax + niit ($; negative when a deductible loss saves tax)."""
    return ordinary_tax + tax_1250 + ltcg_tax + niit


def tax(federal_tax: pl.Expr, state_tax: pl.Expr) -> pl.Expr:
    """T11: federal_tax + state_tax (T13), the tax every rule uses (B1, H4, H6, H9) ($; negative
    when a deductible loss saves tax)."""
    return federal_tax + state_tax


# --- B1: the borrower's cash ---------------------------------------------------------------------

def foreclosure_surplus(market_value: pl.Expr, reo_discount: float, payoff: pl.Expr,
                        foreclosure_legal_cost: pl.Expr) -> pl.Expr:
    """B1: max(0, market_value·(1 − reo_discount) − payoff − legal_cost): what an auction leaves
    after all liens, arrears and the state's legal cost ($)."""
    return _pos(market_value * (1 - reo_discount) - payoff - foreclosure_legal_cost)


def sale_borrower_net(market_value: pl.Expr, selling_cost_rate: pl.Expr, payoff: pl.Expr, tax: pl.Expr) -> pl.Expr:
    """B1 sale: market_value·(1 − selling_cost_rate) − payoff − tax ($; negative = cash to bring)."""
    return market_value * (1 - selling_cost_rate) - payoff - tax


def workout_borrower_net(relocation: pl.Expr, deficiency_owed: pl.Expr, tax: pl.Expr) -> pl.Expr:
    """B1 short_sale and deed_in_lieu: relocation − deficiency_owed − tax ($)."""
    return relocation - deficiency_owed - tax


def foreclosure_borrower_net(foreclosure_surplus: pl.Expr, deficiency_owed: pl.Expr, tax: pl.Expr) -> pl.Expr:
    """B1 foreclosure: surplus − deficiency_owed − tax ($)."""
    return foreclosure_surplus - deficiency_owed - tax


def borrower_best_option(sale: pl.Expr, short_sale: pl.Expr, deed_in_lieu: pl.Expr, foreclosure: pl.Expr,
                         underwater: pl.Expr, dil_eligible: pl.Expr) -> pl.Expr:
    """B1: the disposition with the largest borrower_net; short_sale and deed_in_lieu count only
    when underwater (no lender approves either without a shortfall), deed_in_lieu only when
    dil_eligible; amounts are compared in cents (section 3 Ties) and ties go to the earlier of sale,
    short_sale, deed_in_lieu, foreclosure."""
    candidates = {
        "sale": in_cents(sale),
        "short_sale": pl.when(underwater).then(in_cents(short_sale)),
        "deed_in_lieu": pl.when(underwater & dil_eligible).then(in_cents(deed_in_lieu)),
        "foreclosure": in_cents(foreclosure),
    }
    best = pl.max_horizontal(list(candidates.values()))
    (first, first_value), *rest = candidates.items()
    choice = pl.when(first_value == best).then(pl.lit(first))
    for name, value in rest:  # SPEC order: the first that reaches the max wins ties
        choice = choice.when(value == best).then(pl.lit(name))
    return choice


def years_to_new_mortgage(wait_years: float) -> pl.Expr:
    """B1: Fannie Mae waiting period after the disposition (assumption wait_years_<d>) (years)."""
    return pl.lit(wait_years)


# --- wiring (engine/graph.py) ---------------------------------------------------------------------

HELPERS = (bracket_tax,)

#: T1–T3 of a disposition that settles the debt: what the liens receive, the shortfall, the amount
#: realized, COD and the deficiency, from its proceeds (N of T2 or FMV of T3), the relocation the
#: borrower receives (section 3; none in a foreclosure) and its recourse.
SETTLE_QUANTITIES = (to_liens, shortfall, amount_realized, cod_income, deficiency_owed)
SETTLE_INPUTS: dict[str, dict[str, graph.Source]] = {
    "short_sale": {"proceeds": "short_sale_net", "relocation": "relocation"},
    "deed_in_lieu": {"proceeds": "market_value", "relocation": "relocation"},
    "foreclosure": {"proceeds": "market_value", "relocation": ZERO},
}
#: T6: the exclusions of cancelled debt, in order.
COD_QUANTITIES = (cod_excluded_bankruptcy, qpri_limit, cod_left_after_bankruptcy,
                  (cod_excluded_qpri, {"cod_left": "cod_left_after_bankruptcy"}), cod_left_after_qpri,
                  (cod_excluded_insolvency, {"cod_left": "cod_left_after_qpri"}), cod_excluded, cod_taxable)
#: T4, T5, T7, the Schedule D Tax Worksheet of T8–T9 (each line a column), T10, T11, T13.
GAIN_AND_TAX_QUANTITIES = (gain, unrecaptured_1250_gain, excluded_gain, recognized_gain, deductible_loss, ltcg, stcg,
                           unrecaptured_1250, ordinary_income_after, tax_on_ordinary_income, taxable_income,
                           regular_rate_income, tax_on_regular_rate_income, ltcg_at_0, ltcg_at_15, ltcg_at_20,
                           unrecaptured_1250_at_25, worksheet_tax, tax_on_taxable_income, gains_tax, ordinary_tax,
                           tax_1250, ltcg_tax, niit, federal_tax, state_ordinary, state_tax, tax)


def disposition(prefix: str, *, long_term: str, sec121_max: str, nqu_share: str,
                amount_realized: graph.Source | None = None, cod_income: graph.Source | None = None,
                cancels: bool = True, rule: str = "") -> list[graph.Node]:
    """T4–T11 of one disposition as nodes ``<prefix>_<quantity>`` (gain, excluded_gain, ltcg, …,
    cod_excluded, cod_taxable, ordinary_income_after (O2), each Schedule D Tax Worksheet quantity of
    T8–T9, ordinary_tax, tax_1250, ltcg_tax, niit, tax). Each reads the disposition's
    ``<prefix>_amount_realized`` and ``<prefix>_cod_income`` (or the sources given), the character
    ``long_term`` (T5), the ``sec121_max`` (S3) and the ``nqu_share`` (S4) named, and the row's
    basis, income and tax parameter columns. ``cancels=False``: a disposition that cancels no debt
    (the H9 search's trial sales): T6 is skipped and cod_taxable is 0 in T7, the same tax as a
    cod_income of 0 with a third less work."""
    inputs: dict[str, graph.Source] = {"long_term": long_term, "sec121_max": sec121_max, "nqu_share": nqu_share}
    if amount_realized is not None:
        inputs["amount_realized"] = amount_realized
    if cod_income is not None:
        inputs["cod_income"] = cod_income
    if not cancels:
        inputs["cod_taxable"] = inputs["cod_taxable_state"] = ZERO
    quantities = (*(COD_QUANTITIES + (cod_taxable_state,) if cancels else ()), *GAIN_AND_TAX_QUANTITIES)
    return graph.family(prefix, quantities, inputs=inputs, local=("amount_realized", "cod_income"), rule=rule)


def _wiring() -> list[graph.Node]:
    nodes: list[graph.Node] = []
    for d, inputs in SETTLE_INPUTS.items():  # T2, T3
        nodes += graph.family(d, SETTLE_QUANTITIES, inputs=inputs, local=("recourse",))
    # T4–T11, each disposition on as_of at market_value (a deed-in-lieu and a foreclosure differ by
    # the relocation since SPEC revision 2, so all four are evaluated).
    for d in schema.DISPOSITIONS:
        nodes += disposition(d, long_term="disposition_long_term", sec121_max="sec121_max", nqu_share="nqu_share")
    nodes += [  # B1
        graph.node("sale_borrower_net", sale_borrower_net, tax="sale_tax"),
        *(graph.node(f"{d}_borrower_net", workout_borrower_net, deficiency_owed=f"{d}_deficiency_owed", tax=f"{d}_tax")
          for d in ("short_sale", "deed_in_lieu")),
        graph.node("foreclosure_borrower_net", foreclosure_borrower_net, deficiency_owed="foreclosure_deficiency_owed",
                   tax="foreclosure_tax"),
        graph.node("borrower_best_option", borrower_best_option,
                   **{d: f"{d}_borrower_net" for d in schema.DISPOSITIONS}),
        *(graph.node(f"years_to_new_mortgage_{d}", years_to_new_mortgage, wait_years=f"wait_years_{d}")
          for d in schema.DISPOSITIONS),
    ]
    return nodes


WIRING = _wiring()

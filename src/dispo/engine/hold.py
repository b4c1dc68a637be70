"""Sell now vs hold, docs/spec.md section 6 (rules H2–H9).

Both sides are valued at the horizon ``H = hold_months`` months from ``as_of``:

- **sell now** (H4): sell today at market value, pay the liens and today's tax (``sale_tax`` of the
  tax stage), invest what is left at ``alt_return_rate``;
- **hold** (H5–H7): keep the home, collect the net rent, pay the costs and the first lien (every
  monthly flow compounded at the same alternative rate), and sell at the horizon at the appreciated
  value, paying the liens still owed and the tax of that later sale (H6).

Each function is named after the column it produces, takes the columns it needs as expressions
(floats for assumptions), cites its rule and returns an expression; ``engine/graph.py`` wires them by
their signatures (``WIRING`` below: the horizon sale's T4–T11 family and H9's search step). Money
in dollars; rates are decimals; monthly rates are per month; months are months. Helpers that
produce no column start with ``_`` or are listed in ``HELPERS``.

H9 (the break-even appreciation rate) is the only rule that is not a closed form. It is solved for
every row at once by a fixed number of safeguarded secant steps on the horizon sale's amount
realized, where fv_hold is piecewise linear (see ``breakeven_*`` below and docs/hold.md).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from functools import cache

import polars as pl

from dispo import params, schema
from dispo.engine import dates, graph, shared, state_tax, tax
from dispo.engine.numerics import expm1

c = pl.col
Stages = list[dict[str, pl.Expr]]

# --- numerics shared by H4, H5 --------------------------------------------------------------------


def _growth(rate: pl.Expr, n: pl.Expr) -> pl.Expr:
    """(1 + rate)^n: growth of one dollar over n periods at ``rate`` per period (factor)."""
    return (1.0 + rate).pow(n.cast(pl.Float64))


def _accumulation(rate: pl.Expr, n: pl.Expr) -> pl.Expr:
    """H5 s(n) = ((1 + rate)^n − 1)/rate, or n when rate = 0: future value, at the end of period n,
    of 1 $ paid at the end of each of n periods (factor; periods = months). The numerator is
    computed as expm1(n·log1p(rate)) (``numerics.expm1``) so that a tiny rate keeps its cents."""
    n = n.cast(pl.Float64)
    return pl.when(rate == 0.0).then(n).otherwise(expm1(n * rate.log1p()) / rate)


# --- H2 monthly flows ---------------------------------------------------------------------------


def net_rent_monthly(rent_monthly: pl.Expr, vacancy_rate: pl.Expr, management_fee_rate: pl.Expr,
                     occupancy: pl.Expr) -> pl.Expr:
    """H2: rent_monthly·(1 − vacancy_rate)·(1 − management_fee_rate), or rent_monthly for
    ``primary`` (no vacancy or fees on the owner's own use) ($/month)."""
    return (
        pl.when(occupancy == "primary").then(rent_monthly)
        .otherwise(rent_monthly * (1.0 - vacancy_rate) * (1.0 - management_fee_rate))
    )


def costs_ex_pi(property_tax_annual: pl.Expr, insurance_annual: pl.Expr, hoa_monthly: pl.Expr,
                maintenance_monthly: pl.Expr, utilities_monthly: pl.Expr, second_lien_payment: pl.Expr) -> pl.Expr:
    """H2: property_tax_annual/12 + insurance_annual/12 + hoa_monthly + maintenance_monthly +
    utilities_monthly + second_lien_payment ($/month). The second lien's payment is taken as
    interest only (its balance is unchanged at the horizon)."""
    return (property_tax_annual / 12 + insurance_annual / 12 + hoa_monthly + maintenance_monthly
            + utilities_monthly + second_lien_payment)


def monthly_burn(costs_ex_pi: pl.Expr, monthly_pi: pl.Expr, net_rent_monthly: pl.Expr) -> pl.Expr:
    """H2: max(0, costs_ex_pi + monthly_pi − net_rent_monthly): cash the property costs each month
    ($/month)."""
    return pl.max_horizontal(0.0, costs_ex_pi + monthly_pi - net_rent_monthly)


# --- H3 the seeds' break-even -------------------------------------------------------------------


def net_sale_proceeds_now(market_value: pl.Expr, selling_cost_rate: pl.Expr) -> pl.Expr:
    """H3: market_value·(1 − selling_cost_rate) ($)."""
    return market_value * (1.0 - selling_cost_rate)


def loss_on_sale_now(purchase_price: pl.Expr, capital_improvements: pl.Expr,
                     net_sale_proceeds_now: pl.Expr) -> pl.Expr:
    """H3: max(0, purchase_price + capital_improvements − net_sale_proceeds_now) ($)."""
    return pl.max_horizontal(0.0, purchase_price + capital_improvements - net_sale_proceeds_now)


def breakeven_months(loss_on_sale_now: pl.Expr, monthly_burn: pl.Expr) -> pl.Expr:
    """H3: loss_on_sale_now / monthly_burn; 0 when the loss is 0; null when the burn is 0 and the
    loss is not, or so close to 0 (a few 1e-300 dollars) that the quotient overflows (months,
    fractional)."""
    months = loss_on_sale_now / monthly_burn
    return (
        pl.when(loss_on_sale_now == 0.0).then(0.0)
        .when((monthly_burn == 0.0) | ~months.is_finite()).then(None)
        .otherwise(months)
    )


# --- H4 sell now --------------------------------------------------------------------------------


def tax_sale_now(sale_tax: pl.Expr) -> pl.Expr:
    """H4: T1–T11 for a sale on as_of, i.e. the tax stage's ``sale_tax`` ($; negative when a
    deductible loss saves tax)."""
    return sale_tax


def equity_after_tax_now(net_sale_proceeds_now: pl.Expr, payoff: pl.Expr, tax_sale_now: pl.Expr) -> pl.Expr:
    """H4: net_sale_proceeds_now − payoff − tax_sale_now ($; negative = cash the seller brings)."""
    return net_sale_proceeds_now - payoff - tax_sale_now


def alt_monthly_rate(alt_return_rate: pl.Expr) -> pl.Expr:
    """H4 r = (1 + alt_return_rate)^(1/12) − 1 (rate per month), computed as
    expm1(log1p(alt_return_rate)/12)."""
    return expm1(alt_return_rate.log1p() / 12)


def fv_sell(equity_after_tax_now: pl.Expr, alt_monthly_rate: pl.Expr, hold_months: pl.Expr) -> pl.Expr:
    """H4: equity_after_tax_now·(1 + r)^H, the freed equity invested until the horizon ($ at the
    horizon)."""
    return equity_after_tax_now * _growth(alt_monthly_rate, hold_months)


# --- H5 hold ------------------------------------------------------------------------------------


def value_at_horizon(market_value: pl.Expr, appreciation_rate: pl.Expr, hold_months: pl.Expr) -> pl.Expr:
    """H5: market_value·(1 + appreciation_rate)^(H/12) ($ at the horizon)."""
    return market_value * (1.0 + appreciation_rate).pow(hold_months.cast(pl.Float64) / 12)


def amortizing_months(hold_months: pl.Expr, remaining_term_months: pl.Expr) -> pl.Expr:
    """H5 np = min(H, remaining_term_months): first-lien payments made before the horizon (months)."""
    return pl.min_horizontal(hold_months, remaining_term_months)


def note_monthly_rate(interest_rate: pl.Expr) -> pl.Expr:
    """H5 i = interest_rate/12, the first lien's rate per month (as in H1)."""
    return interest_rate / 12


def balance_at_horizon(first_lien_balance: pl.Expr, note_monthly_rate: pl.Expr, monthly_pi: pl.Expr,
                       amortizing_months: pl.Expr) -> pl.Expr:
    """H5: max(0, B(1 + i)^np − monthly_pi·((1 + i)^np − 1)/i), which is max(0, B − monthly_pi·np)
    when i = 0: first-lien principal still owed at the horizon ($)."""
    owed = (first_lien_balance * _growth(note_monthly_rate, amortizing_months)
            - monthly_pi * _accumulation(note_monthly_rate, amortizing_months))
    return pl.max_horizontal(0.0, owed)


def fv_flows(net_rent_monthly: pl.Expr, costs_ex_pi: pl.Expr, monthly_pi: pl.Expr, alt_monthly_rate: pl.Expr,
             hold_months: pl.Expr, amortizing_months: pl.Expr) -> pl.Expr:
    """H5: (net_rent_monthly − costs_ex_pi)·s(H) − monthly_pi·s(np)·(1 + r)^(H − np): the monthly
    flows of holding, each compounded at r to the horizon ($ at the horizon)."""
    r = alt_monthly_rate
    return ((net_rent_monthly - costs_ex_pi) * _accumulation(r, hold_months)
            - monthly_pi * _accumulation(r, amortizing_months) * _growth(r, hold_months - amortizing_months))


# --- H6 tax at the horizon ------------------------------------------------------------------------

#: Column prefix of the horizon sale's T4–T11 quantities (``horizon_sale_tax`` …).
HORIZON_SALE = "horizon_sale"


def horizon_date(as_of: date, hold_months: pl.Expr) -> pl.Expr:
    """H6: add_months(as_of, H), the date of the hold scenario's sale (date).

    as_of is one date and H one of the 360 horizons the schema allows, so add_months runs once per
    possible horizon (``_horizon_dates``) and each row looks its date up: the same dates, ~1 ms
    instead of ~80 ms of calendar arithmetic per million rows. A hold_months outside the schema's range
    is an invalid row and fails loudly (out-of-bounds gather) instead of yielding a wrong date."""
    lo, table = _horizon_dates(as_of)
    return pl.lit(table).gather((hold_months - lo).cast(pl.UInt32))  # strict: a negative index raises


@cache
def _horizon_dates(as_of: date) -> tuple[int, pl.Series]:
    """(first horizon, add_months(as_of, n) for every n in the schema's hold_months range)."""
    lo, hi = int(schema.BY_NAME["hold_months"].min), int(schema.BY_NAME["hold_months"].max)
    table = pl.select(dates.add_months(as_of, pl.int_range(lo, hi + 1)).alias("horizon_date")).to_series()
    return lo, table


def months_owned_last_5y_at_horizon(months_held: pl.Expr, hold_months: pl.Expr) -> pl.Expr:
    """H6: min(60, months_held + H) (months; the ownership window slides with the sale date)."""
    return pl.min_horizontal(shared.SEC121_WINDOW_MONTHS, months_held + hold_months)


def months_lived_last_5y_at_horizon(occupancy: pl.Expr, months_lived_last_5y: pl.Expr,
                                    hold_months: pl.Expr) -> pl.Expr:
    """H6: min(60, months_lived_last_5y + H) for ``primary`` (the owner keeps living there), else
    max(0, months_lived_last_5y − H) (the lived months age out of the 5-year window) (months)."""
    return (
        pl.when(occupancy == "primary").then(pl.min_horizontal(shared.SEC121_WINDOW_MONTHS,
                                                               months_lived_last_5y + hold_months))
        .otherwise(pl.max_horizontal(0, months_lived_last_5y - hold_months))
    )


def nqu_share_at_horizon(nonqualified_use_months: pl.Expr, months_held: pl.Expr, hold_months: pl.Expr) -> pl.Expr:
    """H6/S4: the nonqualified-use share at the horizon: months_held grows by H and
    nonqualified_use_months stays, min(1, nonqualified_use_months / max(1, months_held + H)) (ratio)."""
    return shared.nqu_share(nonqualified_use_months, months_held + hold_months)


def long_term_at_horizon(purchase_date: pl.Expr, horizon_date: pl.Expr) -> pl.Expr:
    """H6/T5: the horizon sale is long-term (horizon_date later than purchase_date + 12 months)."""
    return dates.is_long_term(purchase_date, horizon_date)


def amount_realized_at_horizon(value_at_horizon: pl.Expr, selling_cost_rate: pl.Expr) -> pl.Expr:
    """H6/T1: value_at_horizon·(1 − selling_cost_rate), the horizon sale's amount realized ($)."""
    return value_at_horizon * (1.0 - selling_cost_rate)


def tax_sale_at_horizon(horizon_sale_tax: pl.Expr) -> pl.Expr:
    """H6: the horizon sale's tax T11 ($; negative when a deductible loss saves tax)."""
    return horizon_sale_tax


# --- H7 hold at the horizon -----------------------------------------------------------------------


def fv_hold(value_at_horizon: pl.Expr, selling_cost_rate: pl.Expr, balance_at_horizon: pl.Expr,
            second_lien_balance: pl.Expr, arrears: pl.Expr, tax_sale_at_horizon: pl.Expr,
            fv_flows: pl.Expr) -> pl.Expr:
    """H7: value_at_horizon·(1 − selling_cost_rate) − balance_at_horizon − second_lien_balance −
    arrears − tax_sale_at_horizon + fv_flows ($ at the horizon)."""
    return (value_at_horizon * (1.0 - selling_cost_rate) - balance_at_horizon - second_lien_balance
            - arrears - tax_sale_at_horizon + fv_flows)


# --- H8 comparison ------------------------------------------------------------------------------


def sell_advantage_pv(fv_sell: pl.Expr, fv_hold: pl.Expr, alt_monthly_rate: pl.Expr,
                      hold_months: pl.Expr) -> pl.Expr:
    """H8: (fv_sell − fv_hold)/(1 + r)^H, the advantage of selling now in today's dollars ($)."""
    return (fv_sell - fv_hold) / _growth(alt_monthly_rate, hold_months)


def hold_recommendation(sell_advantage_pv: pl.Expr) -> pl.Expr:
    """H8: ``sell`` if sell_advantage_pv > 0, else ``hold`` (a tie holds)."""
    return pl.when(sell_advantage_pv > 0).then(pl.lit("sell")).otherwise(pl.lit("hold"))


def cost_of_doing_nothing_annual(equity_after_tax_now: pl.Expr, alt_return_rate: pl.Expr, market_value: pl.Expr,
                                 appreciation_rate: pl.Expr, net_rent_monthly: pl.Expr, costs_ex_pi: pl.Expr,
                                 first_lien_balance: pl.Expr, interest_rate: pl.Expr) -> pl.Expr:
    """H8: equity_after_tax_now·alt_return_rate − (market_value·appreciation_rate +
    12·(net_rent_monthly − costs_ex_pi) − first_lien_balance·interest_rate): this year's return on
    the freed equity minus what the levered property earns this year ($/year; positive: holding
    costs money)."""
    return (equity_after_tax_now * alt_return_rate
            - (market_value * appreciation_rate + 12 * (net_rent_monthly - costs_ex_pi)
               - first_lien_balance * interest_rate))


# --- H9 break-even appreciation rate --------------------------------------------------------------
#
# fv_hold depends on appreciation_rate only through the horizon sale's amount realized
# X = value_at_horizon·(1 − selling_cost_rate):
#     fv_hold = X − tax_h(X) + fv_hold_ex_sale,
# where tax_h is T4–T11 and T13 of the horizon sale (H6), continuous and piecewise linear in X with a
# slope between 0 and the top marginal rate (ordinary + NIIT + the highest state rate). So g(X) = fv_hold(X) − fv_sell is piecewise
# linear and increasing with slope in [BREAKEVEN_MIN_SLOPE, 1]. The root is found in X (where a
# secant step is exact once two iterates share the root's linear piece) and mapped back to a rate.

#: Lowest slope of fv_hold in the amount realized: 1 − (top ordinary rate + NIIT rate + highest
#: state rate, T13), from tax_years.toml and state_tax.py. A dollar more of sale price is taxed at
#: most at those rates together, so at least this share of it stays with the owner.
BREAKEVEN_MIN_SLOPE: float = (1.0 - max(params.tax_rates().ordinary) - params.tax_rates().niit
                              - state_tax.MAX_STATE_RATE)
#: First step's slope when the sale now is no second point (``breakeven_seed_same_tax``): the middle of
#: [BREAKEVEN_MIN_SLOPE, 1], which cuts the distance to the root at least by a factor
#: (1 − m)/(1 + m) ≈ 0.44 whatever the true slope (m = 0.392 with a 20 % state rate).
BREAKEVEN_FIRST_SLOPE: float = (1.0 + BREAKEVEN_MIN_SLOPE) / 2
#: T4–T11 evaluations of the root search (H6's own sale seeds it): 7 already put every one of 1.15M
#: random rows with a root within half a cent; 8 leave one step of margin (docs/hold.md).
BREAKEVEN_ITERATIONS: int = 8
#: Of those, the first ones are made over every row; each of the others only over the rows still
#: searching, whose |g(X)| exceeds BREAKEVEN_TOLERANCE (on 200k generated rows: 28 % after 1
#: iteration, 13 % after 2, 0.4 % after 3). A row that stops has found its root: a further secant
#: step would move X by at most tolerance / BREAKEVEN_MIN_SLOPE (under 2e-7 $).
BREAKEVEN_FULL_ITERATIONS: int = 1
#: $ at the horizon: |g(X)| at or below it is a root.
BREAKEVEN_TOLERANCE: float = 1e-7
#: The appreciation range of H9.
BREAKEVEN_RATE_MIN, BREAKEVEN_RATE_MAX = -0.5, 0.5
#: Column prefix of the search's trial sale; of its T4–T11 columns only these stay in the frame.
BREAKEVEN_SALE = "breakeven_sale"
BREAKEVEN_KEEP = frozenset({"breakeven_sale_amount_realized", "breakeven_sale_tax"})
#: The search's state between iterations: the current iterate, its tax and gap, the previous ones.
BREAKEVEN_STATE = ("breakeven_sale_amount_realized", "breakeven_sale_tax", "breakeven_gap", "_breakeven_prev_ar",
                   "_breakeven_prev_gap")
_BREAKEVEN_ROW = "_breakeven_row"


def fv_hold_ex_sale(fv_flows: pl.Expr, balance_at_horizon: pl.Expr, second_lien_balance: pl.Expr,
                    arrears: pl.Expr) -> pl.Expr:
    """H9 helper: the part of fv_hold (H7) that does not depend on appreciation_rate:
    fv_flows − balance_at_horizon − second_lien_balance − arrears ($ at the horizon)."""
    return fv_flows - balance_at_horizon - second_lien_balance - arrears


def breakeven_ar_min(market_value: pl.Expr, selling_cost_rate: pl.Expr, hold_months: pl.Expr) -> pl.Expr:
    """H9: the horizon sale's amount realized when appreciation_rate = −0.5 ($)."""
    return amount_realized_at_horizon(value_at_horizon(market_value, pl.lit(BREAKEVEN_RATE_MIN), hold_months),
                                      selling_cost_rate)


def breakeven_ar_max(market_value: pl.Expr, selling_cost_rate: pl.Expr, hold_months: pl.Expr) -> pl.Expr:
    """H9: the horizon sale's amount realized when appreciation_rate = +0.5 ($)."""
    return amount_realized_at_horizon(value_at_horizon(market_value, pl.lit(BREAKEVEN_RATE_MAX), hold_months),
                                      selling_cost_rate)


def breakeven_gap(breakeven_sale_amount_realized: pl.Expr, breakeven_sale_tax: pl.Expr, fv_hold_ex_sale: pl.Expr,
                  fv_sell: pl.Expr) -> pl.Expr:
    """H9 g(X) = fv_hold − fv_sell when the horizon sale realizes X: X − tax_h(X) + fv_hold_ex_sale −
    fv_sell ($ at the horizon; increasing in X, zero at the break-even)."""
    return breakeven_sale_amount_realized - breakeven_sale_tax + fv_hold_ex_sale - fv_sell


def breakeven_next_amount_realized(x: pl.Expr, gap: pl.Expr, x_prev: pl.Expr, gap_prev: pl.Expr,
                                   ar_min: pl.Expr, ar_max: pl.Expr) -> pl.Expr:
    """H9, one safeguarded secant step: X − g(X)/slope, the slope being the secant through the last
    two iterates clipped to [BREAKEVEN_MIN_SLOPE, 1] (BREAKEVEN_FIRST_SLOPE when there is no
    previous iterate, null, or the secant is undefined), the new X clipped to [ar_min, ar_max] ($)."""
    secant = (gap - gap_prev) / (x - x_prev)
    slope = (pl.when(secant.is_finite()).then(secant).otherwise(BREAKEVEN_FIRST_SLOPE)
             .clip(BREAKEVEN_MIN_SLOPE, 1.0))
    step = pl.when(gap == 0.0).then(0.0).otherwise(gap / slope)
    return (x - step).clip(ar_min, ar_max)


def breakeven_appreciation_rate(breakeven_amount_realized: pl.Expr, breakeven_sale_amount_realized: pl.Expr,
                                breakeven_gap: pl.Expr, breakeven_ar_min: pl.Expr, breakeven_ar_max: pl.Expr,
                                market_value: pl.Expr, selling_cost_rate: pl.Expr, hold_months: pl.Expr) -> pl.Expr:
    """H9: the appreciation_rate in [−0.5, 0.5] at which fv_hold = fv_sell (rate/year): the rate at
    which the horizon sale realizes the root X*, (X*/(market_value·(1 − selling_cost_rate)))^(12/H) − 1.

    Null when there is no root in the range: the search's last trial sale X sits on a bound with
    the gap g(X) still of one sign there: g(ar_max) < 0 (holding does not pay even at +50 %/year)
    or g(ar_min) > 0 (holding pays even at −50 %/year)."""
    x, gap = breakeven_sale_amount_realized, breakeven_gap
    no_root = ((x >= breakeven_ar_max) & (gap < 0)) | ((x <= breakeven_ar_min) & (gap > 0))
    ratio = breakeven_amount_realized / (market_value * (1.0 - selling_cost_rate))
    rate = ratio.pow(12 / hold_months.cast(pl.Float64)) - 1.0
    return pl.when(no_root).then(None).otherwise(rate.clip(BREAKEVEN_RATE_MIN, BREAKEVEN_RATE_MAX))


def breakeven_seed_same_tax(long_term_at_horizon: pl.Expr, disposition_long_term: pl.Expr,
                            sec121_max_at_horizon: pl.Expr, sec121_max: pl.Expr, nqu_share_at_horizon: pl.Expr,
                            nqu_share: pl.Expr) -> pl.Expr:
    """H9: true when the sale now (T1) is taxed by the horizon sale's function tax_h: the same
    character (T5), Sec. 121 maximum (S3) and nonqualified-use share (S4); the basis, income and
    tax parameters are the row's."""
    return ((long_term_at_horizon == disposition_long_term) & (sec121_max_at_horizon == sec121_max)
            & (nqu_share_at_horizon == nqu_share))


def _breakeven_start() -> dict[str, pl.Expr]:
    """H9 search, iterate 0: the row's own horizon sale, whose gap fv_hold − fv_sell is known. When
    the sale now is taxed by the same function (``breakeven_seed_same_tax``), it is the previous
    iterate, so the first step is already a secant (known without a tax call: sale_tax); otherwise
    that step uses BREAKEVEN_FIRST_SLOPE."""
    same = breakeven_seed_same_tax(c("long_term_at_horizon"), c("disposition_long_term"),
                                   c("sec121_max_at_horizon"), c("sec121_max"), c("nqu_share_at_horizon"),
                                   c("nqu_share"))
    return dict(
        breakeven_sale_amount_realized=c("amount_realized_at_horizon"),
        breakeven_sale_tax=c("tax_sale_at_horizon"),
        breakeven_gap=c("fv_hold") - c("fv_sell"),
        _breakeven_prev_ar=pl.when(same).then(c("sale_amount_realized")),
        _breakeven_prev_gap=pl.when(same).then(breakeven_gap(c("sale_amount_realized"), c("sale_tax"),
                                                             c("fv_hold_ex_sale"), c("fv_sell"))),
    )


def _breakeven_iteration_stages() -> Stages:
    """H9 search, one iterate: a secant step, T4–T11 at the new X, its gap. The previous iterate is
    kept in ``_breakeven_prev_ar`` and ``_breakeven_prev_gap`` for the next step's secant."""
    x, gap = c("breakeven_sale_amount_realized"), c("breakeven_gap")
    step = {"_breakeven_prev_ar": x, "_breakeven_prev_gap": gap,  # the current iterate becomes the previous
            "breakeven_sale_amount_realized": breakeven_next_amount_realized(
                x, gap, c("_breakeven_prev_ar"), c("_breakeven_prev_gap"), c("breakeven_ar_min"),
                c("breakeven_ar_max"))}
    trial_sale = _trial_sale_stages()
    return [step, *trial_sale,
            {"breakeven_gap": breakeven_gap(x, c("breakeven_sale_tax"), c("fv_hold_ex_sale"), c("fv_sell"))}]


def _breakeven_iteration(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Applies one iterate; the trial sale's quantities other than BREAKEVEN_KEEP are dropped at
    once (never materialised for every row)."""
    stages = _breakeven_iteration_stages()
    scratch = [n for exprs in stages for n in exprs if n.startswith(BREAKEVEN_SALE) and n not in BREAKEVEN_KEEP]
    return _apply_stages(frame, stages).drop(scratch)


@cache
def _trial_sale_stages() -> Stages:
    """H9: the trial sale's T4–T11 as layers of expressions (built once)."""
    return graph.stages(BREAKEVEN_SALE_NODES)


def _breakeven_finish_stages() -> Stages:
    """H9 after the search: one more secant step that needs no tax (the root X*); the rate is the
    node breakeven_appreciation_rate."""
    return [
        {"breakeven_amount_realized": breakeven_next_amount_realized(
            c("breakeven_sale_amount_realized"), c("breakeven_gap"), c("_breakeven_prev_ar"),
            c("_breakeven_prev_gap"), c("breakeven_ar_min"), c("breakeven_ar_max"))},
    ]


def _reads(stages: Stages) -> set[str]:
    """The columns ``stages`` read from the frame they are applied to (not made by an earlier stage)."""
    made: set[str] = set()
    reads: set[str] = set()
    for exprs in stages:
        for expr in exprs.values():
            reads |= set(expr.meta.root_names()) - made
        made |= set(exprs)
    return reads


@cache
def _search_reads() -> frozenset[str]:
    """The columns a search iteration reads from the frame, and the search state it carries."""
    return frozenset(_reads(_breakeven_iteration_stages()) | set(BREAKEVEN_STATE))


def _add_breakeven(frame: pl.LazyFrame, keep: Collection[str] | None = None) -> pl.LazyFrame:
    """H9 over whole columns: BREAKEVEN_ITERATIONS staged secant steps from the row's own horizon
    sale (the first BREAKEVEN_FULL_ITERATIONS over every row, the rest over the rows whose gap
    still exceeds BREAKEVEN_TOLERANCE), one more step that needs no tax (the root X*), then the
    rate. Keeps breakeven_ar_min, breakeven_ar_max, breakeven_sale_amount_realized and
    breakeven_sale_tax (the last trial sale), breakeven_gap (its g: ~0 at a root) and
    breakeven_amount_realized (X*) for ``dispo explain``.

    The search's last iterations run on a collected frame; ``keep`` (the columns the caller will
    use, None for all) limits that frame to those and the ones the search still reads, so the
    others are never materialised."""
    frame = frame.with_columns(**_breakeven_start())
    full = min(max(1, BREAKEVEN_FULL_ITERATIONS), BREAKEVEN_ITERATIONS)  # the first step is always over every row
    for _ in range(full):
        frame = _breakeven_iteration(frame)
    finish = _breakeven_finish_stages()
    if BREAKEVEN_ITERATIONS > full:
        if keep is not None:
            needed = set(keep) | _search_reads() | _reads(finish)
            frame = frame.select(n for n in frame.collect_schema().names() if n in needed)
        frame = _breakeven_search_rest(frame.collect(), BREAKEVEN_ITERATIONS - full).lazy()
    frame = _apply_stages(frame, finish)
    scratch = [n for n in frame.collect_schema().names()
               if n.startswith("_breakeven_") or (n.startswith(BREAKEVEN_SALE + "_") and n not in BREAKEVEN_KEEP)]
    return frame.drop(scratch)


def _breakeven_search_rest(frame: pl.DataFrame, iterations: int) -> pl.DataFrame:
    """The search's remaining ``iterations``, each over the rows still searching only (|g(X)| above
    BREAKEVEN_TOLERANCE; a row that stops has found its root) and the columns an iteration reads;
    the search state ``BREAKEVEN_STATE`` of the rows that moved is written back at the end."""
    reads = _search_reads()
    rows = (frame.lazy().select(pl.int_range(pl.len(), dtype=pl.UInt32).alias(_BREAKEVEN_ROW),
                                *(n for n in frame.columns if n in reads))
            .filter(c("breakeven_gap").abs() > BREAKEVEN_TOLERANCE).collect())
    moved = []
    for _ in range(iterations):
        if rows.height == 0:
            break
        rows = _breakeven_iteration(rows.lazy()).collect()
        searching = rows["breakeven_gap"].abs() > BREAKEVEN_TOLERANCE
        moved.append(rows.filter(~searching).select(_BREAKEVEN_ROW, *BREAKEVEN_STATE))
        rows = rows.filter(searching)
    done = pl.concat([*moved, rows.select(_BREAKEVEN_ROW, *BREAKEVEN_STATE)])
    if done.height == 0:
        return frame
    return frame.with_columns(frame[n].scatter(done[_BREAKEVEN_ROW], done[n]) for n in BREAKEVEN_STATE)


def _apply_stages(frame: pl.LazyFrame, stages: Stages) -> pl.LazyFrame:
    """Adds the columns of each stage in order."""
    for exprs in stages:
        frame = frame.with_columns(**exprs)
    return frame


# --- wiring (engine/graph.py) ---------------------------------------------------------------------

HELPERS = (breakeven_gap, breakeven_next_amount_realized, breakeven_seed_same_tax)

#: H9: the search's trial sale at X = breakeven_sale_amount_realized (outside the graph: the search
#: applies it once per iterate); ``breakeven_sale_tax`` is tax_h(X).
BREAKEVEN_SALE_NODES = tax.disposition(BREAKEVEN_SALE, long_term="long_term_at_horizon",
                                       sec121_max="sec121_max_at_horizon", nqu_share="nqu_share_at_horizon",
                                       cancels=False, rule="H9")
#: The columns the search writes, and the function that explains each (``dispo explain``).
BREAKEVEN_WRITES = {"breakeven_sale_amount_realized": breakeven_next_amount_realized, "breakeven_sale_tax": tax.tax,
                    "breakeven_gap": breakeven_gap, "breakeven_amount_realized": breakeven_next_amount_realized}


def _breakeven_step_reads() -> tuple[str, ...]:
    """The columns of the wide frame the H9 search reads."""
    reads = _reads([_breakeven_start()]) | _search_reads() | _reads(_breakeven_finish_stages())
    return tuple(sorted(reads - set(BREAKEVEN_STATE) - set(BREAKEVEN_WRITES)))


WIRING = [
    graph.node("sec121_eligible_at_horizon", shared.sec121_eligible, rule="H6",
               months_owned_last_5y="months_owned_last_5y_at_horizon",
               months_lived_last_5y="months_lived_last_5y_at_horizon"),
    graph.node("sec121_max_at_horizon", shared.sec121_max, rule="H6", sec121_eligible="sec121_eligible_at_horizon",
               months_owned_last_5y="months_owned_last_5y_at_horizon",
               months_lived_last_5y="months_lived_last_5y_at_horizon"),
    # H6: T4–T11 of the sale at the horizon; a sale cancels no debt.
    *tax.disposition(HORIZON_SALE, amount_realized="amount_realized_at_horizon", cod_income=pl.lit(0.0),
                     long_term="long_term_at_horizon", sec121_max="sec121_max_at_horizon",
                     nqu_share="nqu_share_at_horizon", rule="H6"),
    graph.Step("breakeven_search", _add_breakeven, _breakeven_step_reads(), BREAKEVEN_WRITES, rule="H9"),
]

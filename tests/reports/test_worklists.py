"""The worklists of SPEC section 7: columns, order, ``worklist_columns``, and ``reason`` sentences of
hand-worked rows (every figure in the expected text worked out by hand from the row's numbers)."""

from __future__ import annotations

import polars as pl
import pytest
from report_frames import with_worklist_columns

from dispo.errors import DispoError
from dispo.reports import worklists

SPEC_LENDER = ("rank, property_id, address, state, occupancy, investor_type, months_delinquent, "
               "days_to_foreclosure_sale, urgent, fc_referral_allowed, market_value, claim, ltv, lender_best_option, "
               "lender_savings_vs_foreclosure, pv_modification, pv_no_modification, pv_short_sale, pv_deed_in_lieu, "
               "pv_foreclosure, mod_monthly_pi, mod_payment_reduction, p_redefault, short_sale_offer, "
               "min_acceptable_offer, offer_status, counter_offer, borrower_best_option, reason").split(", ")
SPEC_INVESTOR = ("rank, property_id, address, state, occupancy, market_value, payoff, equity, hold_recommendation, "
                 "sell_advantage_pv, equity_after_tax_now, tax_sale_now, fv_sell, fv_hold, "
                 "breakeven_appreciation_rate, breakeven_months, monthly_burn, cost_of_doing_nothing_annual, "
                 "reason").split(", ")


def test_columns_are_spec_sections_7_lists():
    assert list(worklists.LENDER_WORKLIST_COLUMNS) == SPEC_LENDER
    assert list(worklists.INVESTOR_WORKLIST_COLUMNS) == SPEC_INVESTOR


def _rows(**columns) -> pl.DataFrame:
    return with_worklist_columns(pl.DataFrame(columns))


def test_lender_order_filter_and_extra_columns():
    frame = _rows(property_id=["b", "a", "c", "d", "e"], loss_mit_candidate=[True, True, True, False, None],
                  lender_savings_vs_foreclosure=[10.0, 10.0, None, 99.0, 50.0],
                  servicer_loan_no=["S-b", "S-a", "S-c", "S-d", "S-e"])
    out = worklists.ranked(frame, worklists.LENDER, ["servicer_loan_no"])
    assert out.columns == [*SPEC_LENDER, "servicer_loan_no"]
    # candidates only; savings desc, nulls last, ties by property_id; rank 1..n
    assert out["property_id"].to_list() == ["a", "b", "c"]
    assert out["rank"].to_list() == [1, 2, 3]
    assert out["servicer_loan_no"].to_list() == ["S-a", "S-b", "S-c"]


def test_investor_order_nan_last():
    frame = _rows(property_id=["x", "y", "z", "w"], sell_advantage_pv=[float("nan"), -5.0, 7.0, 7.0])
    out = worklists.ranked(frame, worklists.INVESTOR)
    assert out.columns == SPEC_INVESTOR
    assert out["property_id"].to_list() == ["w", "z", "y", "x"]


def test_unknown_extra_column_is_a_clear_error():
    with pytest.raises(DispoError, match="worklist_columns: no input column 'loan_no'"):
        worklists.check_extra_columns(["property_id"], ["loan_no"])


def _reason(worklist, **columns) -> list[str]:
    return worklists.ranked(_rows(**columns), worklist)["reason"].to_list()


def test_reason_of_a_modification_row():
    """SPEC 7's example: M8 gain 14,673.20 → $14,673; reduction 0.20 → payment −20 %; new P&I
    1,578.834 → $1,578.83; p_redefault 0.27 → 27 %."""
    got = _reason(worklists.LENDER, property_id=["M1"], loss_mit_candidate=[True], lender_best_option=["modification"],
                  lender_savings_vs_foreclosure=[30000.0], mod_npv_gain=[14673.2], mod_payment_reduction=[0.2],
                  mod_monthly_pi=[1578.834], p_redefault=[0.27], urgent=[False])
    assert got == ["modify: worth $14,673 more than not modifying; payment \u221220 % to $1,578.83; "
                   "27 % redefault risk"]


def test_reason_of_a_short_sale_to_counter_before_a_sale():
    """L8 counter: offer 175,000 < minimum 181,234.56 (→ $181,235), counter 181,300; savings
    23,456.50 → $23,457 (half away from zero); sale in 45 days, urgent."""
    got = _reason(worklists.LENDER, property_id=["S1"], loss_mit_candidate=[True], lender_best_option=["short_sale"],
                  lender_savings_vs_foreclosure=[23456.5], short_sale_offer=[175000.0],
                  min_acceptable_offer=[181234.56], offer_status=["counter"], counter_offer=[181300.0],
                  urgent=[True], days_to_foreclosure_sale=[45])
    assert got == ["short sale: $23,457 better than foreclosure; counter at $181,300 (offer $175,000 is below the "
                   "minimum $181,235); foreclosure sale in 45 days"]


def test_reason_of_an_investor_sell_and_hold():
    """SPEC 7's example: advantage 5,473.40 → $5,473, H = 60, break-even 0.041 → 4.1 %/yr; the hold
    row: advantage −1,200.49 → $1,200 better to hold, break-even 0.0125 → 1.3 %/yr (half away)."""
    got = _reason(worklists.INVESTOR, property_id=["H1", "H2"], hold_recommendation=["sell", "hold"],
                  sell_advantage_pv=[5473.4, -1200.49], hold_months=[60, 84],
                  breakeven_appreciation_rate=[0.041, 0.0125])
    assert got == ["sell: $5,473 better than holding 60 months; holding needs 4.1 %/yr appreciation to break even",
                   "hold: $1,200 better than selling now, over 84 months; holding breaks even down to "
                   "1.3 %/yr appreciation"]


def test_reason_of_a_foreclosure_leaves_out_missing_figures():
    got = _reason(worklists.LENDER, property_id=["F1", "F2"], loss_mit_candidate=[True, True],
                  lender_best_option=["foreclosure", "foreclosure"], lender_savings_vs_foreclosure=[-1234567.5, None],
                  fc_referral_allowed=[True, False])
    assert got == ["foreclose: the best alternative is $1,234,568 worse",
                   "foreclose: no alternative is feasible or eligible; not yet referable (Reg. X 120 days)"]


@pytest.mark.parametrize(("value", "dollars", "cents"), [
    (0.0, "$0", "$0.00"), (999.5, "$1,000", "$999.50"), (-1234.567, "\u2212$1,235", "\u2212$1,234.57"),
    (1234567.004, "$1,234,567", "$1,234,567.00"), (None, None, None), (float("nan"), None, None),
])
def test_money_text(value, dollars, cents):
    frame = pl.DataFrame({"v": [value]}, schema={"v": pl.Float64})
    got = frame.select(worklists.dollars(pl.col("v")).alias("d"), worklists.cents(pl.col("v")).alias("c")).row(0)
    assert got == (dollars, cents)


def test_reason_of_a_payoff_sale_names_no_offer():
    """L1: a loan that is not underwater is paid in full by the borrower's sale: no offer to weigh;
    savings 439,010.75 → $439,011."""
    got = _reason(worklists.LENDER, property_id=["P1"], loss_mit_candidate=[True], lender_best_option=["payoff_sale"],
                  lender_savings_vs_foreclosure=[439010.75], min_acceptable_offer=[1201174.0], offer_status=["none"])
    assert got == ["payoff sale (not underwater): $439,011 better than foreclosure"]

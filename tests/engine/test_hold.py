"""Sell now vs hold (SPEC section 6, rules H2–H9) through the real engine.

Golden cases G01 and G11 (every key of expected.json), hand-worked cases whose arithmetic is in
the comments, the pure helpers, and hypothesis properties of the break-even search (H9):
fv_hold rises with appreciation_rate; at breakeven_appreciation_rate fv_hold equals fv_sell within a
cent; a null break-even means fv_hold − fv_sell has no sign change on [−0.5, 0.5] (and a value
means it has one). A deterministic 20,000-row sample checks the same at breadth.
"""

from __future__ import annotations

import json
import math
import tomllib
from datetime import date

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testkit import AS_OF, GOLDEN, golden_pending, row, typed_frame
from dispo import params, schema
from dispo.engine import dates, evaluate, evaluate_wide, hold
from dispo.engine.defaults import POLARS_TYPES
from dispo.params import Assumptions

MONEY, RATE = 0.01, 1e-6  # SPEC section 8 tolerances
CENT = 0.01


def run(rows: list[dict], **assumptions) -> pl.DataFrame:
    """The section 7 results of typed rows (the Python API)."""
    return evaluate(typed_frame(rows), as_of=AS_OF, assumptions=assumptions or None)


def wide(rows: list[dict], **assumptions) -> pl.DataFrame:
    """Every intermediate (what ``dispo explain`` shows)."""
    return evaluate_wide(typed_frame(rows), as_of=AS_OF,
                         assumptions=Assumptions.from_overrides(assumptions)).collect()


def one(rows: list[dict], **assumptions) -> dict:
    return wide(rows, **assumptions).row(0, named=True)


# --- golden cases G01 and G11 ---------------------------------------------------------------------

EXPECTED = json.loads((GOLDEN / "expected.json").read_text())
PIPELINE = tomllib.loads((GOLDEN / "pipeline.toml").read_text())
HOLD_CASES = ("G01", "G11")
GOLDEN_KEYS = [(pid, k, v) for pid in HOLD_CASES for k, v in EXPECTED["cases"][pid].items() if not k.startswith("_")]


def _golden_frame() -> pl.DataFrame:
    """cases.csv typed by the schema (it holds plain numbers, ISO dates and true/false only)."""
    raw = pl.read_csv(GOLDEN / "cases.csv", infer_schema=False)
    exprs = []
    for name in (n for n in raw.columns if n in schema.BY_NAME):  # other columns: inputs of issue 16
        dtype = schema.BY_NAME[name].dtype
        if dtype == "date":
            exprs.append(pl.col(name).str.to_date("%Y-%m-%d"))
        elif dtype == "bool":
            exprs.append(pl.col(name).str.to_lowercase() == "true")
        else:
            exprs.append(pl.col(name).cast(POLARS_TYPES[dtype]))
    return raw.select(exprs)


@pytest.fixture(scope="module")
def golden_results() -> pl.DataFrame:
    as_of = date.fromisoformat(PIPELINE["pipeline"]["as_of"])
    return evaluate(_golden_frame(), as_of=as_of, assumptions=PIPELINE.get("assumptions"))


@pytest.mark.parametrize("pid,key,expected", GOLDEN_KEYS, ids=[f"{p}-{k}" for p, k, _ in GOLDEN_KEYS])
def test_h2_h9_golden_hold_case(golden_results, pid, key, expected):
    if reason := golden_pending(pid, key):
        pytest.skip(reason)
    got = golden_results.filter(pl.col("property_id") == pid)[key][0]
    if isinstance(expected, str):
        assert got == expected
    else:
        tol = RATE if key in schema.RATE_OUTPUTS else MONEY
        assert got is not None and abs(got - expected) <= tol, (pid, key, got, expected)


def test_h2_h9_every_hold_output_is_a_result_column(golden_results):
    assert set(schema.HOLD_OUTPUTS) <= set(golden_results.columns)
    assert golden_results["hold_recommendation"].is_in(["sell", "hold"]).all()


# --- hand-worked cases ------------------------------------------------------------------------------

CASE_A = row(  # a TX home lived in since 2015; its gain is excluded now and at the horizon
    market_value=400000.0, purchase_price=300000.0, purchase_date=date(2015, 1, 1), first_lien_balance=250000.0,
    interest_rate=0.06, remaining_term_months=240, hold_months=24, alt_return_rate=0.05, appreciation_rate=0.03,
    selling_cost_rate=0.06, property_tax_annual=4800.0, insurance_annual=1200.0, maintenance_monthly=200.0,
    rent_monthly=1800.0,
)


def test_h4_h8_primary_with_interest_and_alt_return():
    r = one([CASE_A])
    # H1: i = 0.06/12 = 0.005; pmt = 250,000·0.005/(1 − 1.005^−240) = 1,791.0776
    assert r["monthly_pi"] == pytest.approx(1791.0776, abs=1e-4)
    # H2: primary, no vacancy or fees: net rent 1,800; costs 4,800/12 + 1,200/12 + 200 = 700;
    # burn = 700 + 1,791.08 − 1,800 = 691.08
    assert r["net_rent_monthly"] == 1800.0
    assert r["costs_ex_pi"] == pytest.approx(700.0)
    assert r["monthly_burn"] == pytest.approx(691.08, abs=MONEY)
    # H3: net proceeds 400,000·0.94 = 376,000 ≥ 300,000 paid: no loss, break-even at once
    assert r["net_sale_proceeds_now"] == pytest.approx(376000.0)
    assert (r["loss_on_sale_now"], r["breakeven_months"]) == (0.0, 0.0)
    # H4: gain 76,000 fully excluded (lived 60 of 60 months): tax 0; equity 376,000 − 250,000 = 126,000;
    # r = 1.05^(1/12) − 1 = 0.00407412; (1 + r)^24 = 1.05² = 1.1025; fv_sell = 126,000·1.1025 = 138,915
    assert r["tax_sale_now"] == 0.0
    assert r["equity_after_tax_now"] == pytest.approx(126000.0)
    assert r["alt_monthly_rate"] == pytest.approx(0.0040741237836, abs=1e-12)
    assert r["fv_sell"] == pytest.approx(138915.0, abs=MONEY)
    # H5: V = 400,000·1.03² = 424,360; np = min(24, 240) = 24;
    # balance = 250,000·1.005^24 − 1,791.0776·(1.005^24 − 1)/0.005 = 281,790.40 − 45,551.06 = 236,239.34;
    # s(24) = (1.1025 − 1)/0.00407412 = 25.158784; fv_flows = (1,800 − 700)·25.158784 − 1,791.0776·25.158784
    # = −17,386.67
    assert r["value_at_horizon"] == pytest.approx(424360.0, abs=MONEY)
    assert r["amortizing_months"] == 24
    assert r["balance_at_horizon"] == pytest.approx(236239.34, abs=MONEY)
    assert r["fv_flows"] == pytest.approx(-17386.67, abs=MONEY)
    # H6: amount realized 424,360·0.94 = 398,898.40, gain 98,898.40 excluded: tax 0
    assert r["tax_sale_at_horizon"] == 0.0
    # H7: fv_hold = 398,898.40 − 236,239.34 − 0 − 0 − 0 − 17,386.67 = 145,272.39
    assert r["fv_hold"] == pytest.approx(145272.39, abs=MONEY)
    # H8: (138,915 − 145,272.39)/1.1025 = −5,766.34: hold
    assert r["sell_advantage_pv"] == pytest.approx(-5766.34, abs=MONEY)
    assert r["hold_recommendation"] == "hold"
    # cost of doing nothing: 126,000·0.05 − (400,000·0.03 + 12·(1,800 − 700) − 250,000·0.06)
    # = 6,300 − (12,000 + 13,200 − 15,000) = −3,900
    assert r["cost_of_doing_nothing_annual"] == pytest.approx(-3900.0, abs=MONEY)
    # H9 (no tax on either side): 376,000·(1 + a)² − 236,239.34 − 17,386.67 = 138,915
    # → (1 + a)² = 392,541.01/376,000 = 1.0439920 → a = 0.0217593
    assert r["breakeven_appreciation_rate"] == pytest.approx(0.0217593, abs=RATE)


CASE_B = row(  # a TX rental since 2016-11-22: 10 years of depreciation, a taxable gain at the horizon
    occupancy="rental", market_value=500000.0, purchase_price=300000.0, purchase_date=date(2016, 11, 22),
    land_value=50000.0, first_lien_balance=200000.0, interest_rate=0.05, remaining_term_months=300,
    other_taxable_income=150000.0, filing_status="single", rent_monthly=3000.0, vacancy_rate=0.05,
    management_fee_rate=0.08, property_tax_annual=6000.0, insurance_annual=1800.0, maintenance_monthly=250.0,
    appreciation_rate=0.04, alt_return_rate=0.04, hold_months=12, selling_cost_rate=0.06,
)


def test_h6_rental_with_depreciation_and_taxable_gain_at_the_horizon():
    r = one([CASE_B])
    # D1: base 300,000 − 50,000 = 250,000; 250,000/27.5·10 years = 90,909.09; adjusted basis 209,090.91.
    assert r["depreciation"] == pytest.approx(90909.09, abs=MONEY)
    # Sale now (2026 single, O = 150,000): AR 470,000, gain 260,909.09 = u 90,909.09 + ltcg 170,000;
    # T8-T9 worksheet (SPEC rev. 2): O2 = 150,000 is above the 0 % bound 49,450, so w19 = 150,000, z = 0,
    # u25 = u = 90,909.09 at 25 % = 22,727.27 (rev. 1 charged 24 % up to 201,775: 22,209.52);
    # f = min(170,000, 410,909.09 − 150,000) = 170,000 at 15 % = 25,500 (the §1250 gain no longer
    # uses up the 15 % band); W = T(150,000) + 48,227.27 < T(410,909.09): W binds;
    # NIIT 0.038·min(260,909.09, 150,000 + 90,909.09 + 170,000 + 16,100 − 200,000 = 227,009.09) = 8,626.35;
    # tax 56,853.62
    assert r["sale_tax_1250"] == pytest.approx(22727.27, abs=MONEY)
    assert r["sale_ltcg_tax"] == pytest.approx(25500.0, abs=MONEY)
    assert r["tax_sale_now"] == pytest.approx(56853.62, abs=MONEY)
    # H6, same depreciation as today: V = 520,000, AR 488,800, gain 279,709.09 = u 90,909.09 + ltcg 188,800;
    # tax_1250 22,727.27 (same O2 and u); ltcg 0.15·188,800 = 28,320;
    # NIIT 0.038·(150,000 + 90,909.09 + 188,800 + 16,100 − 200,000 = 245,809.09) = 9,340.75; tax 60,388.02
    assert r["long_term_at_horizon"] is True
    assert r["horizon_sale_unrecaptured_1250"] == pytest.approx(90909.09, abs=MONEY)
    assert r["horizon_sale_tax_1250"] == pytest.approx(22727.27, abs=MONEY)
    assert r["horizon_sale_ltcg_tax"] == pytest.approx(28320.0, abs=MONEY)
    assert r["horizon_sale_niit"] == pytest.approx(9340.75, abs=MONEY)
    assert r["tax_sale_at_horizon"] == pytest.approx(60388.02, abs=MONEY)
    # H2: net rent 3,000·0.95·0.92 = 2,622; costs 500 + 150 + 250 = 900; pmt(200,000, 5 %, 300) = 1,169.18;
    # burn max(0, 900 + 1,169.18 − 2,622) = 0
    assert r["net_rent_monthly"] == pytest.approx(2622.0)
    assert r["monthly_burn"] == 0.0
    # H4: equity 470,000 − 200,000 − 56,853.62 = 213,146.38; fv_sell = ·1.04 = 221,672.24
    assert r["fv_sell"] == pytest.approx(221672.24, abs=MONEY)
    # H5: balance = 200,000·(1 + 0.05/12)^12 − 1,169.18·((1 + 0.05/12)^12 − 1)/(0.05/12) = 195,876.19;
    # r = 1.04^(1/12) − 1; s(12) = 0.04/r = 12.21621; fv_flows = (2,622 − 900 − 1,169.18)·12.21621 = 6,754.60
    assert r["balance_at_horizon"] == pytest.approx(195876.19, abs=MONEY)
    assert r["fv_flows"] == pytest.approx(6754.60, abs=MONEY)
    # H7: 488,800 − 195,876.19 − 60,388.02 + 6,754.60 = 239,290.39; H8: (221,672.24 − 239,290.39)/1.04
    assert r["fv_hold"] == pytest.approx(239290.39, abs=MONEY)
    assert r["sell_advantage_pv"] == pytest.approx(-16940.53, abs=MONEY)
    assert r["hold_recommendation"] == "hold"
    assert r["breakeven_appreciation_rate"] < 0.04  # holding wins at 4 %, so it breaks even lower
    _assert_breakeven_equalizes([CASE_B])


def test_h6_primary_home_gains_the_exclusion_as_its_window_slides():
    # Bought 2025-10-01: owned and lived 13 months today (S1), not eligible, no hardship: the sale now is
    # long-term (2026-11-22 > 2026-10-01) with the whole gain taxed. AR 400,000·0.95 = 380,000, gain
    # 30,000 on O = 75,000 (single 2026): all in the 15 % band (75,000 > 49,450): tax 4,500;
    # MAGI 75,000 + 30,000 + 16,100 < 200,000: no NIIT.
    # At H = 12: owned min(60, 13 + 12) = 25, lived 25 → eligible, gain 391,400 − 350,000 = 41,400 excluded.
    r = one([row(market_value=400000.0, purchase_price=350000.0, purchase_date=date(2025, 10, 1),
                 first_lien_balance=0.0, selling_cost_rate=0.05, hold_months=12, appreciation_rate=0.03)])
    assert (r["sec121_eligible"], r["sec121_max"]) == (False, 0.0)
    assert r["tax_sale_now"] == pytest.approx(4500.0, abs=MONEY)
    assert (r["months_owned_last_5y_at_horizon"], r["months_lived_last_5y_at_horizon"]) == (25, 25)
    assert r["sec121_eligible_at_horizon"] is True
    assert r["sec121_max_at_horizon"] == 250000.0
    assert r["horizon_sale_excluded_gain"] == pytest.approx(41400.0, abs=MONEY)
    assert r["tax_sale_at_horizon"] == 0.0


def test_h6_former_home_loses_the_exclusion_as_its_window_slides():
    # A rental since 2024-05-22 that was the owner's home for 30 of the last 60 months: eligible today.
    # D1: base 330,000 − 55,000 = 275,000; 10,000 a year for 30/12 years = 25,000; adjusted basis 305,000.
    # Now: AR 450,000·0.94 = 423,000, gain 118,000 = u 25,000 + 93,000 excluded;
    # worksheet: O2 75,000 > t0 49,450, u25 = 25,000: W = T(75,000) + 6,250 but T(100,000) = T(75,000) +
    # 0.22·25,000: line 45's cap binds, tax_1250 = 5,500 (no ltcg, MAGI 116,100: no NIIT).
    # At H = 12 (appreciation 0, same depreciation): lived max(0, 30 − 12) = 18 < 24: nothing excluded;
    # u25 = 25,000 at 25 % = 6,250 (W = T(75,000) + 6,250 + 13,950 < T(193,000)); ltcg 93,000 at 15 % = 13,950;
    # NIIT 0.038·min(118,000, 75,000 + 25,000 + 93,000 + 16,100 − 200,000 = 9,100) = 345.80; tax 20,545.80
    r = one([row(occupancy="rental", market_value=450000.0, purchase_price=330000.0, purchase_date=date(2016, 1, 1),
                 rental_start_date=date(2024, 5, 22), land_value=55000.0, months_lived_last_5y=30,
                 first_lien_balance=0.0, hold_months=12, appreciation_rate=0.0, selling_cost_rate=0.06)])
    assert r["depreciation"] == pytest.approx(25000.0)
    assert (r["sec121_eligible"], r["sale_excluded_gain"]) == (True, pytest.approx(93000.0))
    assert r["tax_sale_now"] == pytest.approx(5500.0, abs=MONEY)
    assert (r["months_owned_last_5y_at_horizon"], r["months_lived_last_5y_at_horizon"]) == (60, 18)
    assert (r["sec121_eligible_at_horizon"], r["sec121_max_at_horizon"]) == (False, 0.0)
    assert r["horizon_sale_excluded_gain"] == 0.0
    assert r["tax_sale_at_horizon"] == pytest.approx(20545.80, abs=MONEY)


def test_h5_loan_maturing_before_the_horizon():
    # A second home with 12 payments left, held 24 months: np = min(24, 12) = 12.
    # H1: pmt = 12,000·0.005/(1 − 1.005^−12) = 1,032.80; the balance is paid off: max(0, ≈ −1.6e-11) = 0.
    # r = 1.06^(1/12) − 1; s(24) = (1.06² − 1)/r = 25.392648; s(12) = 0.06/r = 12.326528;
    # fv_flows = (0 − 400)·25.392648 − 1,032.80·12.326528·1.06^1 = −10,157.06 − 13,494.65 = −23,651.71.
    # Loss either way (purchase 250,000): no tax. fv_sell = (188,000 − 12,000)·1.06² = 197,753.60;
    # fv_hold = 200,000·1.02²·0.94 − 0 − 23,651.71 = 195,595.20 − 23,651.71 = 171,943.49;
    # sell_advantage_pv = (197,753.60 − 171,943.49)/1.1236 = 22,970.91: sell.
    r = one([row(occupancy="second_home", market_value=200000.0, purchase_price=250000.0,
                 first_lien_balance=12000.0, interest_rate=0.06, remaining_term_months=12, hold_months=24,
                 alt_return_rate=0.06, appreciation_rate=0.02, selling_cost_rate=0.06,
                 property_tax_annual=2400.0, insurance_annual=1200.0, utilities_monthly=100.0)])
    assert r["monthly_pi"] == pytest.approx(1032.80, abs=MONEY)
    assert r["amortizing_months"] == 12
    assert r["balance_at_horizon"] == 0.0
    assert r["fv_flows"] == pytest.approx(-23651.71, abs=MONEY)
    assert (r["tax_sale_now"], r["tax_sale_at_horizon"]) == (0.0, 0.0)
    assert r["fv_sell"] == pytest.approx(197753.60, abs=MONEY)
    assert r["fv_hold"] == pytest.approx(171943.49, abs=MONEY)
    assert r["sell_advantage_pv"] == pytest.approx(22970.91, abs=MONEY)
    assert r["hold_recommendation"] == "sell"


def test_h2_h7_second_lien_payment_is_a_cost_and_its_balance_stays():
    # costs_ex_pi = 0 + 500 (second lien, interest only); the 50,000 balance is owed at the horizon.
    base = dict(market_value=300000.0, purchase_price=250000.0, first_lien_balance=0.0, rent_monthly=0.0,
                interest_rate=0.0, alt_return_rate=0.0, appreciation_rate=0.0, hold_months=12, selling_cost_rate=0.0)
    a, b = wide([row(**base), row(property_id="P2", second_lien_balance=50000.0, second_lien_payment=500.0, **base)]
                ).iter_rows(named=True)
    assert b["costs_ex_pi"] == 500.0 and b["monthly_burn"] == 500.0
    assert b["fv_flows"] == pytest.approx(-6000.0)
    assert a["fv_hold"] - b["fv_hold"] == pytest.approx(50000.0 + 6000.0)
    assert a["fv_sell"] - b["fv_sell"] == pytest.approx(50000.0)


def test_h3_breakeven_months_zero_without_loss_and_null_without_burn():
    rows = [
        # loss 250,000 − 300,000·0.94 < 0 → 0 whatever the burn
        row(property_id="no_loss", rent_monthly=0.0),
        # loss 400,000 − 282,000 = 118,000, rent covers everything: burn 0 → null (never breaks even)
        row(property_id="no_burn", occupancy="rental", purchase_price=400000.0, first_lien_balance=0.0,
            rent_monthly=5000.0, vacancy_rate=0.0),
        # loss 118,000 / burn (0.0 + pmt 0 + 1,000 hoa) = 118 months
        row(property_id="both", purchase_price=400000.0, first_lien_balance=0.0, rent_monthly=0.0,
            hoa_monthly=1000.0),
    ]
    w = wide(rows)
    assert w["loss_on_sale_now"].to_list() == pytest.approx([0.0, 118000.0, 118000.0])
    assert w["breakeven_months"].to_list() == [0.0, None, pytest.approx(118.0)]


def test_h8_a_tie_holds():
    # No debt, no flows, no rates, all gain excluded: fv_sell = fv_hold = 282,000 → advantage 0 → hold.
    r = one([row(first_lien_balance=0.0, rent_monthly=0.0, appreciation_rate=0.0, alt_return_rate=0.0,
                 hold_months=12)])
    assert r["sell_advantage_pv"] == 0.0
    assert r["hold_recommendation"] == "hold"
    assert r["breakeven_appreciation_rate"] == pytest.approx(0.0, abs=1e-12)


def test_h9_breakeven_is_null_when_one_side_wins_across_the_range():
    rows = [
        # 10,000 a month of rent on a 100,000 rental free and clear: holding wins even at −50 %/year.
        row(property_id="hold_always", occupancy="rental", market_value=100000.0, purchase_price=100000.0,
            first_lien_balance=0.0, rent_monthly=10000.0, vacancy_rate=0.0, alt_return_rate=0.0),
        # 50,000 a month of HOA dues on a 100,000 second home: selling wins even at +50 %/year.
        row(property_id="sell_always", occupancy="second_home", market_value=100000.0, purchase_price=100000.0,
            first_lien_balance=0.0, hoa_monthly=50000.0, hold_months=12),
    ]
    w = wide(rows)
    assert w["breakeven_appreciation_rate"].to_list() == [None, None]
    assert w["hold_recommendation"].to_list() == ["hold", "sell"]
    _assert_no_sign_change(rows)


def test_h9_explain_intermediates_are_kept_and_search_scratch_is_dropped():
    w = wide([CASE_A])
    for name in ("alt_monthly_rate", "note_monthly_rate", "amortizing_months", "horizon_date",
                 "months_owned_last_5y_at_horizon", "months_lived_last_5y_at_horizon", "sec121_max_at_horizon",
                 "long_term_at_horizon", "amount_realized_at_horizon", "horizon_sale_gain", "horizon_sale_tax",
                 "fv_hold_ex_sale", "breakeven_amount_realized", "breakeven_sale_amount_realized", "breakeven_gap"):
        assert name in w.columns, name
    assert not [c for c in w.columns if c.startswith("_")]
    assert w["horizon_date"][0] == date(2028, 11, 22)
    assert abs(w["breakeven_gap"][0]) <= CENT


# --- pure helpers -------------------------------------------------------------------------------------

def _eval(expr: pl.Expr, **columns) -> list:
    return pl.DataFrame(columns).select(expr).to_series().to_list()


def test_h5_accumulation_factor_keeps_cents_for_tiny_rates():
    rates = [0.0, 1e-15, 1e-9, 0.004, -0.05]
    n = 360
    got = _eval(hold._accumulation(pl.col("r"), pl.col("n")), r=rates, n=[n] * len(rates))
    for r, g in zip(rates, got):
        exact = n if r == 0 else math.expm1(n * math.log1p(r)) / r
        assert g == pytest.approx(exact, rel=1e-14), r


def test_h4_alt_monthly_rate_compounds_back_to_the_annual_rate():
    annual = [-0.5, -1e-12, 0.0, 1e-12, 0.05, 1.0]
    got = _eval(hold.alt_monthly_rate(pl.col("a")), a=annual)
    for a, r in zip(annual, got):
        assert r == pytest.approx(math.expm1(math.log1p(a) / 12), rel=1e-14, abs=0.0)
        assert (1 + r) ** 12 - 1 == pytest.approx(a, abs=1e-15)


def test_h5_balance_without_interest_and_floor_at_zero():
    got = _eval(hold.balance_at_horizon(pl.col("b"), pl.col("i"), pl.col("p"), pl.col("n")),
                b=[120000.0, 120000.0, 1000.0], i=[0.0, 0.0, 0.005], p=[1000.0, 2000.0, 2000.0], n=[12, 120, 12])
    assert got == [108000.0, 0.0, 0.0]  # B − pmt·np when i = 0; never negative


def test_h6_horizon_date_is_add_months_for_every_allowed_horizon():
    for as_of in (AS_OF, date(2024, 1, 31), date(2024, 2, 29)):
        h = pl.DataFrame({"h": range(1, 361)})
        looked_up = h.select(hold.horizon_date(as_of, pl.col("h"))).to_series()
        assert looked_up.equals(h.select(dates.add_months(as_of, pl.col("h"))).to_series())
    for bad in (0, 361):
        with pytest.raises(pl.exceptions.PolarsError):
            pl.DataFrame({"h": [bad]}).select(hold.horizon_date(AS_OF, pl.col("h")))


def test_h9_min_slope_comes_from_the_rate_table():
    rates = params.tax_rates()
    # T13: a dollar of gain also costs up to the highest state rate (0.2, the row rates' bound)
    assert hold.BREAKEVEN_MIN_SLOPE == pytest.approx(1 - max(rates.ordinary) - rates.niit - 0.2)
    assert 0 < hold.BREAKEVEN_MIN_SLOPE < hold.BREAKEVEN_FIRST_SLOPE < 1


def test_h1_tiny_interest_rate_gives_a_finite_default_payment():
    # H1 as i → 0 is the B/N case: 200,000/300 = 666.67 a month (1 − (1 + i)^−N must not round to 0)
    r = one([row(interest_rate=1e-17, remaining_term_months=300)])
    assert r["monthly_pi"] == pytest.approx(200000 / 300)
    assert math.isfinite(r["fv_hold"])


# --- H9 checks shared by the tests below -----------------------------------------------------------

def _gap(rows: list[dict]) -> list[float]:
    """fv_hold − fv_sell of each row."""
    w = wide(rows)
    return (w["fv_hold"] - w["fv_sell"]).to_list()


def _at_rate(rows: list[dict], rates: list[float]) -> list[dict]:
    return [{**r, "property_id": f"{r['property_id']}@{k}", "appreciation_rate": a}
            for k, (r, a) in enumerate(zip(rows, rates))]


def _assert_breakeven_equalizes(rows: list[dict], breakeven: list | None = None) -> None:
    """At the row's breakeven_appreciation_rate fv_hold equals fv_sell within a cent."""
    if breakeven is None:
        breakeven = wide(rows)["breakeven_appreciation_rate"].to_list()
    found = [(r, a) for r, a in zip(rows, breakeven) if a is not None]
    if not found:
        return
    for (r, a), g in zip(found, _gap(_at_rate([r for r, _ in found], [a for _, a in found]))):
        assert -0.5 <= a <= 0.5
        assert abs(g) <= CENT, (r, a, g)


def _assert_no_sign_change(rows: list[dict]) -> None:
    """A null break-even ⇔ fv_hold − fv_sell keeps one sign on [−0.5, 0.5] (a gap within a cent of 0 at an
    end counts as either sign). One engine call: the rows, then each at −0.5, then each at +0.5."""
    n = len(rows)
    w = wide(rows + _at_rate(rows, [-0.5] * n) + _at_rate(rows, [0.5] * n))
    breakeven = w["breakeven_appreciation_rate"].to_list()[:n]
    gap = (w["fv_hold"] - w["fv_sell"]).to_list()
    for r, a, g_lo, g_hi in zip(rows, breakeven, gap[n:2 * n], gap[2 * n:]):
        sign_change = g_lo <= CENT and g_hi >= -CENT
        assert (a is not None) == sign_change, (r, a, g_lo, g_hi)


# --- properties (hypothesis) -------------------------------------------------------------------------
# Random valid rows within the schema's bounds. Money is capped at 5e6 (the schema allows 1e12): at
# +50 %/year for 30 years a value grows 1.5^30 ≈ 190,000-fold, and a cent check needs the value at the
# horizon well inside float64's 15–16 significant digits.

MONEY_CAP = 5e6


def _bounds(name: str) -> tuple[float, float]:
    c = schema.BY_NAME[name]
    hi = c.max - 1e-9 if c.max_exclusive else c.max
    return c.min, hi


def _rate(name: str):
    return st.floats(*_bounds(name), allow_nan=False)


def _optional(strategy):
    return st.one_of(st.none(), strategy)


def _money(lo: float = 0.0, hi: float = MONEY_CAP):
    return st.floats(lo, hi, allow_nan=False)


@st.composite
def hold_rows(draw) -> dict:
    occupancy = draw(st.sampled_from(schema.OCCUPANCIES))
    purchase_date = draw(st.dates(date(1985, 1, 1), AS_OF))
    market_value = draw(_money(1000.0))
    r = {
        "state": draw(st.sampled_from(params.state_codes())),
        "occupancy": occupancy,
        "market_value": market_value,
        "purchase_price": draw(_money(1000.0)),
        "purchase_date": purchase_date,
        "first_lien_balance": draw(_money()),
        "capital_improvements": draw(_optional(_money(0, 1e6))),
        "depreciation_taken": draw(_optional(_money(0, 1e6))),
        "land_value": draw(_optional(_money(0, 1e6))),
        "second_lien_balance": draw(_optional(_money(0, 1e6))),
        "second_lien_payment": draw(_optional(_money(0, 1e4))),
        "interest_rate": draw(_optional(_rate("interest_rate"))),
        "remaining_term_months": draw(_optional(st.integers(1, 480))),
        "monthly_pi": draw(_optional(_money(0, 5e4))),
        "arrears": draw(_optional(_money(0, 1e5))),
        "property_tax_annual": draw(_optional(_money(0, 1e5))),
        "insurance_annual": draw(_optional(_money(0, 3e4))),
        "hoa_monthly": draw(_optional(_money(0, 5e3))),
        "maintenance_monthly": draw(_optional(_money(0, 5e3))),
        "rent_monthly": draw(_optional(_money(0, 5e4))),
        "vacancy_rate": draw(_optional(_rate("vacancy_rate"))),
        "management_fee_rate": draw(_optional(_rate("management_fee_rate"))),
        "appreciation_rate": draw(_optional(_rate("appreciation_rate"))),
        "alt_return_rate": draw(_optional(_rate("alt_return_rate"))),
        "hold_months": draw(_optional(st.integers(1, 360))),
        "selling_cost_rate": draw(_optional(_rate("selling_cost_rate"))),
        "filing_status": draw(_optional(st.sampled_from(schema.FILING_STATUSES))),
        "other_taxable_income": draw(_optional(_money(0, 2e6))),
        "tax_year": draw(_optional(st.integers(2021, 2035))),
        "months_lived_last_5y": draw(_optional(st.integers(0, 60))),
        "sec121_used_last_2y": draw(_optional(st.booleans())),
        "suspended_passive_losses": draw(_optional(_money(0, 2e5))),
        "hardship": draw(_optional(st.sampled_from(schema.HARDSHIPS))),
    }
    if occupancy == "rental" and draw(st.booleans()):
        r["rental_start_date"] = draw(st.dates(purchase_date, AS_OF))
        r["fmv_at_conversion"] = draw(_optional(_money(1000.0)))
    return r


def _ids(rows: list[dict]) -> list[dict]:
    return [{"property_id": f"p{i}", **r} for i, r in enumerate(rows)]


PROPS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(st.lists(st.tuples(hold_rows(), _rate("appreciation_rate"), _rate("appreciation_rate")),
                min_size=1, max_size=10))
def test_h7_fv_hold_rises_with_appreciation_rate(cases):
    rows = _ids([r for r, _, _ in cases])
    low = [min(a, b) for _, a, b in cases]
    high = [max(a, b) for _, a, b in cases]
    w = wide(_at_rate(rows, low) + _at_rate(rows, high))
    fv = w["fv_hold"].to_list()
    n = len(rows)
    for k in range(n):
        f_lo, f_hi = fv[k], fv[n + k]
        assert f_hi >= f_lo - 1e-9 * max(1.0, abs(f_lo), abs(f_hi)), (rows[k], low[k], high[k], f_lo, f_hi)


@PROPS
@given(st.lists(hold_rows(), min_size=1, max_size=10))
def test_h9_breakeven_rate_equalizes_fv_hold_and_fv_sell(rows):
    rows = _ids(rows)
    _assert_breakeven_equalizes(rows)


@PROPS
@given(st.lists(hold_rows(), min_size=1, max_size=10))
def test_h9_null_breakeven_means_no_sign_change_on_the_range(rows):
    rows = _ids(rows)
    _assert_no_sign_change(rows)


# --- breadth: 20,000 deterministic random rows at once -----------------------------------------------

def _sample(n: int, seed: int) -> pl.DataFrame:
    """Valid rows over the whole schema ranges of the hold inputs (money up to MONEY_CAP)."""
    rng = np.random.default_rng(seed)

    def money(lo, hi, p_null=0.3):
        v = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
        return pl.Series(np.where(rng.random(n) < p_null, np.nan, v)).fill_nan(None)

    occupancy = rng.choice(list(schema.OCCUPANCIES), n)
    held_days = rng.integers(0, 365 * 40, n)
    purchase = np.datetime64(AS_OF) - held_days.astype("timedelta64[D]")
    rental_start = np.datetime64(AS_OF) - (rng.random(n) * held_days).astype(int).astype("timedelta64[D]")
    mv = np.exp(rng.uniform(np.log(1e3), np.log(MONEY_CAP), n))
    frame = pl.DataFrame({
        "property_id": [f"s{i}" for i in range(n)],
        "state": rng.choice(params.state_codes(), n),
        "occupancy": occupancy,
        "market_value": mv,
        "purchase_price": mv * np.exp(rng.uniform(-2, 2, n)),
        "purchase_date": purchase,
        "first_lien_balance": mv * rng.uniform(0, 1.5, n) * (rng.random(n) > 0.2),
        "depreciation_taken": money(1, 1e6, 0.6),
        "rental_start_date": np.where(occupancy == "rental", rental_start, np.datetime64("NaT")),
        "second_lien_balance": money(1, 1e6, 0.7),
        "second_lien_payment": money(1, 1e4, 0.7),
        "arrears": money(1, 1e5, 0.8),
        "interest_rate": rng.uniform(0, 0.3, n) * (rng.random(n) > 0.1),
        "remaining_term_months": rng.integers(1, 481, n),
        "property_tax_annual": mv * rng.uniform(0, 0.03, n),
        "maintenance_monthly": mv * rng.uniform(0, 0.002, n),
        "rent_monthly": mv * rng.uniform(0, 0.015, n),
        "vacancy_rate": rng.uniform(0, 0.99, n),
        "management_fee_rate": rng.uniform(0, 0.5, n),
        "appreciation_rate": rng.uniform(-0.5, 0.5, n),
        "alt_return_rate": rng.uniform(-0.5, 1.0, n),
        "hold_months": rng.integers(1, 361, n),
        "selling_cost_rate": rng.uniform(0, 0.2, n),
        "filing_status": rng.choice(list(schema.FILING_STATUSES), n),
        "other_taxable_income": np.exp(rng.uniform(0, np.log(2e6), n)),
        "tax_year": rng.integers(2021, 2036, n),
        "months_lived_last_5y": rng.integers(0, 61, n),
        "sec121_used_last_2y": rng.random(n) < 0.1,
        "suspended_passive_losses": money(1, 2e5, 0.7),
        "hardship": pl.Series(rng.choice(list(schema.HARDSHIPS) + [""], n)).replace("", None),
    })
    return frame.with_columns(pl.col("purchase_date", "rental_start_date").cast(pl.Date))


def test_h9_breakeven_over_a_broad_sample():
    sample = _sample(20000, seed=20261122)
    w = evaluate_wide(sample, as_of=AS_OF).collect()
    rate = w["breakeven_appreciation_rate"]
    assert 0.2 < rate.null_count() / len(rate) < 0.8  # both outcomes are exercised
    probes = pl.concat([
        sample.with_columns(appreciation_rate=rate, probe=pl.lit("root")).filter(rate.is_not_null()),
        sample.with_columns(appreciation_rate=pl.lit(-0.5), probe=pl.lit("lo")),
        sample.with_columns(appreciation_rate=pl.lit(0.5), probe=pl.lit("hi")),
    ])
    p = evaluate_wide(probes, as_of=AS_OF).collect().with_columns(
        probe=probes["probe"], gap=pl.col("fv_hold") - pl.col("fv_sell"))
    assert p.filter(pl.col("probe") == "root")["gap"].abs().max() <= CENT
    lo, hi = p.filter(pl.col("probe") == "lo")["gap"], p.filter(pl.col("probe") == "hi")["gap"]
    sign_change = (lo <= CENT) & (hi >= -CENT)
    assert (sign_change == rate.is_not_null()).all()

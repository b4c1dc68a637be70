"""SPEC revision 2 tax rules (issue 15) against values worked by hand from the SPEC and the law.

Every expected value below is derived in the test's docstring from SPEC rev. 2 (T2, T3, T8–T10,
S3, S4, H6, section 3 Ties) and the 2026 / 2025 parameters of data/tax_years.toml (single: ordinary
tops 12,400 / 50,400 / 105,700 / 201,775 / 256,225 / 640,600 at 10/12/22/24/32/35/37 %; long-term
bounds t0 49,450 and t15 545,500; standard deduction 16,100; NIIT threshold 200,000), never by
running the engine. Golden pipelines set state_income_tax = false; these rows are TX (no state tax)
or evaluated with the table off.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from testkit import AS_OF, assert_explained, row, typed_frame
from dispo.engine import evaluate_wide
from dispo.engine.shared import in_cents
from dispo.engine.tax import borrower_best_option
from dispo.params import Assumptions

CENT = 0.005


def one(**kw) -> dict:
    frame = typed_frame([row(**kw)])
    wide = evaluate_wide(frame, as_of=AS_OF, assumptions=Assumptions.from_overrides({"state_income_tax": False}))
    return wide.collect().row(0, named=True)


def T(x: float) -> float:
    """2026 single ordinary tax, band by band (an independent scalar T of rule T7)."""
    tops = [12400, 50400, 105700, 201775, 256225, 640600, float("inf")]
    rates = [0.10, 0.12, 0.22, 0.24, 0.32, 0.35, 0.37]
    tax, lower = 0.0, 0.0
    for rate, top in zip(rates, tops):
        if x > lower:
            tax += rate * (min(x, top) - lower)
        lower = top
    return tax


def worksheet(r: dict, d: str = "sale") -> dict:
    keys = ("regular_rate_income", "ltcg_at_0", "ltcg_at_15", "ltcg_at_20", "unrecaptured_1250_at_25",
            "worksheet_tax", "tax_on_taxable_income", "tax_1250", "ltcg_tax")
    return {k: r[f"{d}_{k}"] for k in keys}


def approx(values: dict) -> dict:
    return {k: pytest.approx(v, abs=CENT) for k, v in values.items()}


# A second home held since 2015 with depreciation taken while it was rented (no §121: never lived in,
# S1 gives 0 months): u = min(gain, depreciation_taken), the rest long-term, sold on as_of, no costs.
def second_home(*, depreciation_taken: float, market_value: float, other_taxable_income: float) -> dict:
    return one(occupancy="second_home", purchase_price=100000.0, purchase_date=date(2015, 1, 1),
               depreciation_taken=depreciation_taken, market_value=market_value, first_lien_balance=0.0,
               selling_cost_rate=0.0, other_taxable_income=other_taxable_income, tax_year=2026)


# --- T8–T9: the four shapes of the Schedule D Tax Worksheet -----------------------------------------

def test_t8_t9_ordinary_income_above_the_0_bound_with_both_kinds_of_gain():
    """TX rental bought 2016-11-22 for 200,000, land 40,000: D1 160,000/27.5·10 = 58,181.82. Sold at
    400,000, no costs: gain 258,181.82 = u 58,181.82 + ltcg 200,000. O = 100,000 > t0.
    w19 = max(100,000, min(158,181.82, 49,450)) = 100,000; z = 49,450 − 49,450 = 0;
    f = min(200,000, min(358,181.82, 545,500) − 100,000) = 200,000; g = 0; u25 = 58,181.82;
    W = T(100,000) + 0.15·200,000 + 0.25·58,181.82 = T(100,000) + 44,545.45;
    T(358,181.82) = T(100,000) + 77,420.89 > W: line 45 = W. tax_1250 = 14,545.45, ltcg_tax = 30,000.
    T10: nii 258,181.82; magi 358,181.82 + 16,100 − 200,000 = 174,281.82 → 6,622.71."""
    dep = 160000 / 27.5 * 10
    r = one(occupancy="rental", purchase_price=200000.0, purchase_date=date(2016, 11, 22), land_value=40000.0,
            market_value=400000.0, first_lien_balance=0.0, selling_cost_rate=0.0, other_taxable_income=100000.0,
            tax_year=2026)
    assert (r["sale_unrecaptured_1250"], r["sale_ltcg"]) == (pytest.approx(dep), pytest.approx(200000))
    assert worksheet(r) == approx({
        "regular_rate_income": 100000, "ltcg_at_0": 0, "ltcg_at_15": 200000, "ltcg_at_20": 0,
        "unrecaptured_1250_at_25": dep, "worksheet_tax": T(100000) + 30000 + 0.25 * dep,
        "tax_on_taxable_income": T(100000) + 30000 + 0.25 * dep, "tax_1250": 0.25 * dep, "ltcg_tax": 30000})
    assert T(100000 + dep + 200000) - T(100000) == pytest.approx(77420.89, abs=CENT)
    assert r["sale_niit"] == pytest.approx(0.038 * (100000 + dep + 200000 + 16100 - 200000), abs=CENT)
    assert r["sale_tax"] == pytest.approx(0.25 * dep + 30000 + 0.038 * (dep + 116100), abs=CENT)


def test_t8_t9_all_of_it_below_the_0_bound():
    """O = 10,000, u = 5,000, ltcg = 20,000: TI = 35,000 < t0 = 49,450.
    w19 = max(10,000, min(15,000, 49,450)) = 15,000 (all of u at the regular rates);
    z = min(35,000, 49,450) − 15,000 = 20,000 at 0 %; f = g = 0; u25 = 5,000 − 5,000 = 0;
    W = T(15,000) = 1,240 + 0.12·2,600 = 1,552 < T(35,000) = 3,952.
    gains_tax = 1,552 − T(10,000) = 552 = tax_1250 (5,000 at 10–12 %); ltcg_tax 0."""
    r = second_home(depreciation_taken=5000.0, market_value=120000.0, other_taxable_income=10000.0)
    assert worksheet(r) == approx({
        "regular_rate_income": 15000, "ltcg_at_0": 20000, "ltcg_at_15": 0, "ltcg_at_20": 0,
        "unrecaptured_1250_at_25": 0, "worksheet_tax": 1552, "tax_on_taxable_income": 1552,
        "tax_1250": 552, "ltcg_tax": 0})
    assert r["sale_taxable_income"] == pytest.approx(35000)
    assert r["sale_tax"] == pytest.approx(552, abs=CENT)


def test_t8_t9_1250_gain_crossing_the_0_bound():
    """O = 40,000, u = 20,000, ltcg = 30,000: TI = 90,000.
    w19 = max(40,000, min(60,000, 49,450)) = 49,450: 9,450 of u at the regular rates;
    u25 = 20,000 − 9,450 = 10,550 at 25 % = 2,637.50 (revision 1 taxed it at 12 %/22 %);
    z = min(90,000, 49,450) − min(60,000, 49,450) = 0; f = min(30,000, 90,000 − 49,450) = 30,000: 4,500.
    T(49,450) = 1,240 + 0.12·37,050 = 5,686; W = 5,686 + 4,500 + 2,637.50 = 12,823.50 <
    T(90,000) = 14,512. T(40,000) = 4,552: gains_tax 8,271.50; tax_1250 = 5,686 − 4,552 + 2,637.50 =
    3,771.50; ltcg_tax 4,500."""
    r = second_home(depreciation_taken=20000.0, market_value=130000.0, other_taxable_income=40000.0)
    assert worksheet(r) == approx({
        "regular_rate_income": 49450, "ltcg_at_0": 0, "ltcg_at_15": 30000, "ltcg_at_20": 0,
        "unrecaptured_1250_at_25": 10550, "worksheet_tax": 12823.50, "tax_on_taxable_income": 12823.50,
        "tax_1250": 3771.50, "ltcg_tax": 4500})
    assert r["sale_gains_tax"] == pytest.approx(8271.50, abs=CENT)


def test_t8_t9_line_45_cap_binds():
    """O = 60,000, u = 20,000, ltcg = 1,000: TI = 81,000, all in the 22 % band above O.
    w19 = 60,000; z = 0; f = 1,000; g = 0; u25 = 20,000;
    W = T(60,000) + 150 + 5,000 = 7,912 + 5,150 = 13,062 > T(81,000) = 7,912 + 0.22·21,000 = 12,532:
    line 45 = 12,532, gains_tax = 4,620. The 530 saving comes off the long-term gain's tax first
    (150 → 0), the rest off the §1250 gain's: tax_1250 = min(0 + 5,000, 4,620) = 4,620, ltcg_tax 0."""
    r = second_home(depreciation_taken=20000.0, market_value=101000.0, other_taxable_income=60000.0)
    assert worksheet(r) == approx({
        "regular_rate_income": 60000, "ltcg_at_0": 0, "ltcg_at_15": 1000, "ltcg_at_20": 0,
        "unrecaptured_1250_at_25": 20000, "worksheet_tax": 13062, "tax_on_taxable_income": 12532,
        "tax_1250": 4620, "ltcg_tax": 0})
    assert r["sale_tax"] == pytest.approx(4620, abs=CENT)


# --- T2 / T3 --------------------------------------------------------------------------------------

def test_t2_ca_rental_short_sale_is_nonrecourse_unless_an_entity():
    """CA rental (CCP 580e: any 1–4 unit dwelling of an individual), recourse true, bought 2015-01-01
    for 500,000, market 400,000, debt 450,000, no offer: price 360,000, N = 338,400 (6 %); a rental
    gets no relocation: to_liens 338,400.
    Individual → nonrecourse: AR = max(338,400, 450,000) + 0 = 450,000, COD 0, nothing owed.
    D1: 0.8·500,000/27.5·142/12 = 172,121.21; basis 327,878.79; gain 122,121.21, all of it §1250 (u).
    Entity → recourse: AR = N = 338,400; shortfall 111,600, COD 111,600 (share 1)."""
    kw = dict(state="CA", occupancy="rental", purchase_price=500000.0, market_value=400000.0,
              first_lien_balance=450000.0, recourse=True, selling_cost_rate=0.06, tax_year=2026)
    person, entity = one(**kw), one(borrower_is_entity=True, **kw)
    dep = 400000 / 27.5 * 142 / 12
    assert person["short_sale_recourse"] is False and entity["short_sale_recourse"] is True
    assert (person["relocation"], person["short_sale_to_liens"]) == (0, pytest.approx(338400))
    assert person["short_sale_amount_realized"] == pytest.approx(450000)
    assert (person["short_sale_cod_income"], person["short_sale_deficiency_owed"]) == (0, 0)
    assert person["short_sale_gain"] == pytest.approx(450000 - (500000 - dep), abs=CENT)
    assert person["short_sale_unrecaptured_1250"] == pytest.approx(450000 - (500000 - dep), abs=CENT)
    assert person["short_sale_ltcg"] == pytest.approx(0, abs=1e-6)
    assert entity["short_sale_amount_realized"] == pytest.approx(338400)
    assert entity["short_sale_cod_income"] == pytest.approx(111600)
    # outside a 580e state the row's recourse stands
    tx = one(**{**kw, "state": "TX"})
    assert tx["short_sale_recourse"] is True and tx["short_sale_cod_income"] == pytest.approx(111600)


def test_t3_primary_deed_in_lieu_with_relocation_under_qpri():
    """TX primary, recourse (TX has no purchase-money protection), 2025, debt 360,000 all
    acquisition, FMV 300,000, bought 2018 for 380,000. Deed-in-lieu: the lender pays the 3,000
    relocation: to_liens = 297,000, shortfall = COD = 63,000 (rev. 1: 60,000); AR = FMV 300,000;
    loss on a home, not deductible. QPRI: qpri = min(360,000, 750,000); excluded = 63,000 − (360,000
    − 360,000) = 63,000: nothing taxable. borrower_net = 3,000 − 0 − 0 = 3,000.
    Foreclosure (no relocation): COD 60,000, all QPRI."""
    r = one(market_value=300000.0, purchase_price=380000.0, purchase_date=date(2018, 1, 1),
            first_lien_balance=360000.0, tax_year=2025)
    assert r["recourse"] is True and r["relocation"] == 3000
    assert r["deed_in_lieu_to_liens"] == pytest.approx(297000)
    assert r["deed_in_lieu_shortfall"] == pytest.approx(63000)
    assert r["deed_in_lieu_amount_realized"] == pytest.approx(300000)
    assert r["deed_in_lieu_cod_income"] == pytest.approx(63000)
    assert r["deed_in_lieu_cod_excluded_qpri"] == pytest.approx(63000)
    assert r["deed_in_lieu_cod_taxable"] == pytest.approx(0, abs=1e-6)
    assert r["deed_in_lieu_tax"] == pytest.approx(0, abs=1e-6)
    assert r["deed_in_lieu_borrower_net"] == pytest.approx(3000)
    assert (r["foreclosure_to_liens"], r["foreclosure_cod_income"]) == (pytest.approx(300000), pytest.approx(60000))
    assert r["foreclosure_cod_excluded_qpri"] == pytest.approx(60000)


def test_t3_nonrecourse_deed_in_lieu_realizes_the_debt_plus_relocation():
    """CA primary (R1: nonrecourse), FMV 400,000, debt 450,000: deed-in-lieu AR = max(397,000,
    450,000) + 3,000 = 453,000; the foreclosure's AR = max(400,000, 450,000) + 0 = 450,000."""
    r = one(state="CA", market_value=400000.0, purchase_price=420000.0, first_lien_balance=450000.0)
    assert r["recourse"] is False
    assert r["deed_in_lieu_amount_realized"] == pytest.approx(453000)
    assert r["foreclosure_amount_realized"] == pytest.approx(450000)


# --- T10 ------------------------------------------------------------------------------------------

def test_t10_rental_sale_with_released_passive_losses_above_the_niit_threshold():
    """TX rental bought 2016-11-22 for 300,000, land 50,000: D1 90,909.09. Sold at 500,000, no
    costs: gain 290,909.09 = u 90,909.09 + ltcg 200,000. O = 250,000, P = 30,000: O2 = 220,000.
    T10: nii = max(0, 290,909.09 − 30,000) = 260,909.09 (rev. 1: 290,909.09);
    magi = 220,000 + 290,909.09 + 16,100 = 527,009.09, above 200,000 by 327,009.09;
    niit = 0.038·min(260,909.09, 327,009.09) = 9,914.55 (rev. 1: 11,054.55)."""
    dep = 250000 / 27.5 * 10
    r = one(occupancy="rental", purchase_price=300000.0, purchase_date=date(2016, 11, 22), land_value=50000.0,
            market_value=500000.0, first_lien_balance=0.0, selling_cost_rate=0.0, other_taxable_income=250000.0,
            suspended_passive_losses=30000.0, tax_year=2026)
    assert r["sale_ordinary_income_after"] == pytest.approx(220000)
    assert r["sale_niit"] == pytest.approx(0.038 * (200000 + dep - 30000), abs=CENT)
    assert r["sale_niit"] == pytest.approx(9914.55, abs=CENT)


# --- S3, S4 ---------------------------------------------------------------------------------------

def test_s3_job_change_is_a_hardship():
    """Owned and lived 12 of the last 60 months, job_change: 250,000·12/24 = 125,000 (rev. 1: 0)."""
    r = one(purchase_date=date(2025, 11, 1), months_lived_last_5y=12, hardship="job_change",
            purchase_price=100000.0)
    assert r["sec121_max"] == pytest.approx(125000)
    assert one(purchase_date=date(2025, 11, 1), months_lived_last_5y=12, hardship="other",
               purchase_price=100000.0)["sec121_max"] == 0


def test_s4_home_rented_24_months_then_lived_in_36():
    """Bought 2021-11-22 (held 60 months), rented the first 24 (depreciation taken 10,000), the main
    home for the last 36. Sold at 500,000, no costs, bought for 300,000: basis 290,000, gain 210,000,
    u 10,000. S4: nqu_share = 24/60 = 0.4: excluded = min(200,000·0.6, 250,000) = 120,000;
    recognized 90,000 = u 10,000 + ltcg 80,000. O = 75,000 > t0: u25 10,000 → 2,500; f 80,000 →
    12,000; W = T(75,000) + 14,500 < T(165,000) = T(75,000) + 20,986. magi 181,100: no NIIT.
    tax 14,500. H6 at 60 months (appreciation 0): nqu_share = 24/120 = 0.2, excluded 160,000."""
    r = one(purchase_price=300000.0, purchase_date=date(2021, 11, 22), months_lived_last_5y=36,
            nonqualified_use_months=24, depreciation_taken=10000.0, market_value=500000.0,
            first_lien_balance=0.0, selling_cost_rate=0.0, tax_year=2026, hold_months=60, appreciation_rate=0.0)
    assert r["nqu_share"] == pytest.approx(0.4)
    assert r["sale_excluded_gain"] == pytest.approx(120000)
    assert (r["sale_unrecaptured_1250"], r["sale_ltcg"]) == (pytest.approx(10000), pytest.approx(80000))
    assert r["sale_tax"] == pytest.approx(14500, abs=CENT)
    assert r["nqu_share_at_horizon"] == pytest.approx(0.2)
    assert r["horizon_sale_excluded_gain"] == pytest.approx(160000)


def test_s4_share_is_capped_at_one():
    r = one(purchase_date=date(2025, 11, 22), nonqualified_use_months=600, purchase_price=100000.0)
    assert r["nqu_share"] == 1.0 and r["sale_excluded_gain"] == 0


# --- section 3 Ties -------------------------------------------------------------------------------

def test_b1_options_equal_to_the_cent_tie_to_the_first_listed():
    """B1 compares borrower_net in cents: 6e-11 of float noise never splits short_sale from
    deed_in_lieu; a real cent does."""
    frame = pl.DataFrame({
        "sale": [-5000.0, -5000.0, -5000.0], "short_sale": [2996.0, 2996.0, 2996.0],
        "deed_in_lieu": [2996.0 + 6e-11, 2996.004, 2996.01], "foreclosure": [-9000.0] * 3,
        "underwater": [True] * 3, "dil_eligible": [True] * 3})
    got = frame.select(borrower_best_option(*(pl.col(c) for c in frame.columns))).to_series().to_list()
    assert got == ["short_sale", "short_sale", "deed_in_lieu"]
    amounts = pl.DataFrame({"x": [0.125, -0.125, 2996.0049999, None]})
    cents = amounts.select(in_cents(pl.col("x"))).to_series().to_list()
    assert cents == [0.13, -0.13, 2996.0, None]


# --- explain ------------------------------------------------------------------------------------

@pytest.mark.parametrize("column,rule,words", [
    ("nqu_share", "S4", "nonqualified_use_months"),
    ("nqu_share_at_horizon", "H6/S4", "months_held + H"),
    ("relocation", "§3", "relocation_assistance"),
    ("short_sale_to_liens", "T2/T3", "relocation"),
    ("deed_in_lieu_to_liens", "T2/T3", "relocation"),
    ("sale_regular_rate_income", "T8", "lines 14–19"),
    ("sale_ltcg_at_0", "T9", "line 20"),
    ("sale_ltcg_at_15", "T9", "lines 21–28"),
    ("sale_ltcg_at_20", "T9", "line 31"),
    ("sale_unrecaptured_1250_at_25", "T8", "lines 33–37"),
    ("sale_worksheet_tax", "T8/T9", "line 43"),
    ("sale_tax_on_taxable_income", "T8/T9", "line 45"),
    ("horizon_sale_ltcg_at_15", "H6/T9", "lines 21–28"),
])
def test_t8_t9_explain_names_the_rule_and_worksheet_line(column, rule, words):
    assert_explained(column, rule, words)

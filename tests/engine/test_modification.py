"""Loan modification, SPEC 5.3 (M1–M7) with the lender's choice (M6, L7, L8, L10), through the real
engine. Expected values are worked by hand from the SPEC (arithmetic in the comments), never by
calling the engine's formulas.

Most cases build on ``BASE``: a TX rental (no relocation; R1 recourse with the default forgiven
share 1, so no deficiency recovery), MV 220,000, first lien 240,000 at 0 % with 480 months left
(monthly_pi = 240,000/480 = 500), 3 months delinquent, no advances, appreciation 0, selling cost 6 %,
lender_discount_rate 0 (v = 1, a(t) = t). TX: foreclosure_days 390, legal cost 2,000.
At a 0 % note rate the modified rate is 0 too, n = max(480, 480) = 480 and f = pmt(1, 0, 480) = 1/480.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import given

from dispo import params, schema
from dispo.engine import evaluate, evaluate_wide
from dispo.engine.defaults import POLARS_TYPES
from dispo.params import Assumptions
from test_lender import PROPERTY_SETTINGS, assumptions_st, rows_st

AS_OF = date(2026, 11, 22)
CENT = 0.01
RATE_TOL = 1e-6
NO_DISCOUNT = {"lender_discount_rate": 0.0}
BASE = dict(property_id="M", state="TX", occupancy="rental", market_value=220000.0, purchase_price=260000.0,
            purchase_date=date(2015, 1, 1), first_lien_balance=240000.0, interest_rate=0.0,
            remaining_term_months=480, months_delinquent=3, appreciation_rate=0.0, selling_cost_rate=0.06)


def frame(*rows: dict[str, Any]) -> pl.DataFrame:
    names = [n for n in schema.NAMES if any(n in r for r in rows)]
    return pl.DataFrame({n: [r.get(n) for r in rows] for n in names},
                        schema={n: POLARS_TYPES[schema.BY_NAME[n].dtype] for n in names})


def run(*rows: dict[str, Any], **assumptions: Any) -> list[dict[str, Any]]:
    return evaluate(frame(*rows), as_of=AS_OF, assumptions={**NO_DISCOUNT, **assumptions}).to_dicts()


def wide(*rows: dict[str, Any], **assumptions: Any) -> list[dict[str, Any]]:
    return evaluate_wide(frame(*rows), as_of=AS_OF,
                         assumptions=Assumptions.from_overrides({**NO_DISCOUNT, **assumptions})).collect().to_dicts()


def case(**kw: Any) -> dict[str, Any]:
    return {**BASE, **kw}


def approx(value: float, tol: float = CENT) -> Any:
    return pytest.approx(value, abs=tol)


# --- M1 forbearance branches -----------------------------------------------------------------------

def test_m1_forbearance_by_target_and_the_whole_valuation():
    # M1: mod_upb 240,000, mtmltv 240/220 = 1.090909; target = 0.8·500 = 400;
    # fb_need = 240,000 − 400·480 = 48,000; fb_min = 240,000 − 220,000 = 20,000;
    # fb_max = 240,000 − 0.8·220,000 = 64,000; forbearance = min(72,000, max(20,000, 48,000)) = 48,000
    # (the target binds); ib = 192,000; mod_pi = 192,000/480 = 400; reduction 0.2.
    # M3: pr 0.2 (band 0.20), mtmltv 1.09 (band 1.00) -> p_redefault 0.35; 3 months -> p_cure 0.25.
    # M4: perform = 400·480 + 48,000 = 240,000. R = 24; bal_R = 192,000 − 400·24 = 182,400;
    # claim_R = 230,400; Tfc_R = max(3, 390/30) = 13; Treo_R = 19; reo_net(43) = 220,000·0.73·0.92
    # = 147,752; pv_fc_R = min(230,400, 147,752) − 2,000 − 150·(19 − 13) = 144,852;
    # redefault = 400·24 + 144,852 = 154,452; pv_mod = 0.65·240,000 + 0.35·154,452 − 1,000 = 209,058.20.
    # M5: pv_cure = 500·480 = 240,000. Liquidations: pv_ss = 198,000·0.94 = 186,120;
    # Tfc = max(3, 13 − 3) = 10, pv_fc = 147,752 − 2,000 − 150·6 = 144,852;
    # pv_dil = 147,752 − 1,000 − 150·(9 − 3) = 145,852. pv_nomod = 0.25·240,000 + 0.75·186,120 = 199,590.
    r = run(case())[0]
    w = wide(case())[0]
    assert r["mod_upb"] == 240000.0
    assert r["mod_mtmltv"] == approx(1.090909, RATE_TOL)
    assert r["mod_interest_rate"] == 0.0 and r["mod_new_term_months"] == 480
    assert r["mod_target_pi"] == approx(400.0)
    assert w["mod_forbearance_needed"] == approx(48000.0)
    assert w["mod_forbearance_min"] == approx(20000.0) and w["mod_forbearance_max"] == approx(64000.0)
    assert r["mod_forbearance"] == approx(48000.0)
    assert r["mod_monthly_pi"] == approx(400.0)
    assert r["mod_payment_reduction"] == approx(0.2, RATE_TOL)
    assert r["mod_target_met"] is True and r["mod_hti"] is None
    assert r["p_redefault"] == 0.35 and r["p_cure"] == 0.25
    assert w["pv_mod_perform"] == approx(240000.0)
    assert w["mod_balance_at_redefault"] == approx(182400.0)
    assert w["pv_foreclosure_at_redefault"] == approx(144852.0)
    assert w["pv_mod_redefault"] == approx(154452.0)
    assert r["pv_modification"] == approx(209058.20)
    assert w["pv_cure"] == approx(240000.0)
    assert r["pv_short_sale"] == approx(186120.0)
    assert r["pv_foreclosure"] == approx(144852.0)
    assert r["pv_deed_in_lieu"] == approx(145852.0)
    assert r["pv_no_modification"] == approx(199590.0)
    assert r["mod_npv_gain"] == approx(9468.20)
    # M6/L7: modification; savings vs foreclosure 209,058.20 − 144,852 = 64,206.20
    assert r["mod_eligible"] is True and r["lender_best_option"] == "modification"
    assert r["lender_savings_vs_foreclosure"] == approx(64206.20)
    # L6: 240,000 − 209,058.20 = 30,941.80; /240,000 = 0.128924
    assert r["lender_loss_modification"] == approx(30941.80)
    assert r["lender_severity_modification"] == approx(0.128924, RATE_TOL)
    # M7: saving 100 a month, keeps the home with 1 − 0.35
    assert r["mod_payment_saving"] == approx(100.0)
    assert r["keeps_home"] is True and r["keep_home_probability"] == approx(0.65, RATE_TOL)
    assert r["loss_mit_candidate"] is True


def test_m1_forbearance_by_mtmltv_minimum():
    # MV 250,000: fb_min = 0, fb_max = 240,000 − 200,000 = 40,000 < fb_need 48,000 -> 40,000 (80 %
    # MTMLTV floor binds); mod_pi = 200,000/480 = 416.67; reduction = 1 − 416.67/500 = 0.166667;
    # target 400 not met.
    r = run(case(market_value=250000.0))[0]
    assert r["mod_forbearance"] == approx(40000.0)
    assert r["mod_monthly_pi"] == approx(416.67)
    assert r["mod_payment_reduction"] == approx(1 / 6, RATE_TOL)
    assert r["mod_target_met"] is False


def test_m1_forbearance_to_100_percent_mtmltv():
    # MV 180,000: fb_min = 60,000 > fb_need 48,000 (fb_max 96,000, cap 72,000) -> 60,000;
    # mod_pi = 180,000/480 = 375, reduction 0.25.
    r = run(case(market_value=180000.0))[0]
    assert r["mod_forbearance"] == approx(60000.0)
    assert r["mod_monthly_pi"] == approx(375.0)
    assert r["mod_payment_reduction"] == approx(0.25, RATE_TOL)


def test_m1_forbearance_by_cap():
    # MV 150,000: fb_min = 90,000 > cap 0.30·240,000 = 72,000 -> 72,000; mod_pi = 168,000/480 = 350.
    r = run(case(market_value=150000.0))[0]
    assert r["mod_forbearance"] == approx(72000.0)
    assert r["mod_monthly_pi"] == approx(350.0)


def test_m1_rate_kept_below_80_percent_mtmltv():
    # Note rate 8 %: MTMLTV 200,000/280,000 = 0.714 < 0.80 keeps 8 %; at 240,000 (0.833) the rate
    # is min(8 %, max(6.25 %, 2 %)) = 6.25 %; with mod_rate 1 % the HAMP floor gives 2 %.
    kept, lowered = run(case(property_id="K", first_lien_balance=200000.0, market_value=280000.0,
                             interest_rate=0.08, remaining_term_months=300),
                        case(property_id="L", first_lien_balance=200000.0, market_value=240000.0,
                             interest_rate=0.08, remaining_term_months=300))
    assert kept["mod_interest_rate"] == 0.08
    assert lowered["mod_interest_rate"] == 0.0625
    assert kept["mod_new_term_months"] == 480
    floor = run(case(first_lien_balance=200000.0, market_value=240000.0, interest_rate=0.08), mod_rate=0.01)[0]
    assert floor["mod_interest_rate"] == 0.02
    # pmt at 6.25 %, 480 months: i = 0.0052083333; (1 + i)^480 = 12.1037114 -> f = i/(1 − 1/12.1037114)
    # = 0.00567739573; target = 0.8·monthly_pi (H1 at 8 %, 300 months: 200,000·0.00666667/
    # (1 − 1.00666667^−300) = 1,543.63) = 1,234.91; fb_need = max(0, 200,000 − 1,234.91/0.00567739573
    # = 200,000 − 217,512.75) = 0; fb_min = 0 -> no forbearance: mod_pi = 200,000·0.00567739573 = 1,135.48.
    assert lowered["mod_target_pi"] == approx(1234.91)
    assert lowered["mod_forbearance"] == 0.0
    assert lowered["mod_monthly_pi"] == approx(1135.48)


def test_m1_hti_bound_target():
    # Income 1,650 a month, advances (hx) 2,400/12 + 1,200/12 = 300, MV 200,000:
    # target = min(0.8·500, 0.40·1,650 − 300) = min(400, 360) = 360;
    # fb_need = 240,000 − 360·480 = 67,200; fb_min = 40,000; fb_max = 80,000; cap 72,000 -> 67,200;
    # mod_pi = 172,800/480 = 360; mod_hti = (360 + 300)/1,650 = 0.40.
    r = run(case(market_value=200000.0, monthly_gross_income=1650.0, property_tax_annual=2400.0,
                 insurance_annual=1200.0))[0]
    assert r["mod_target_pi"] == approx(360.0)
    assert r["mod_forbearance"] == approx(67200.0)
    assert r["mod_monthly_pi"] == approx(360.0)
    assert r["mod_target_met"] is True
    assert r["mod_hti"] == approx(0.40, RATE_TOL)


# --- M2 eligibility ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("purchase_date", "eligible"), [
    (date(2025, 12, 22), False),   # months_between = 12 − 1 − 0 = 11 < 12
    (date(2025, 11, 22), True),    # 12
])
def test_m2_ineligible_by_seasoning(purchase_date, eligible):
    r = run(case(purchase_date=purchase_date))[0]
    assert r["mod_eligible"] is eligible
    assert (r["pv_modification"] is None) is (not eligible)
    assert r["lender_best_option"] == ("modification" if eligible else "short_sale")


@pytest.mark.parametrize(("prior", "eligible"), [(2, True), (3, False)])
def test_m2_ineligible_by_prior_modifications(prior, eligible):
    r = run(case(prior_modifications=prior))[0]
    assert r["mod_eligible"] is eligible
    assert (r["mod_npv_gain"] is None) is (not eligible)


def test_m2_ineligible_when_the_payment_does_not_fall():
    # MV 400,000, arrears 4,800: MTMLTV 244,800/400,000 = 0.612 < 0.8 keeps 0 %; fb_max = 0 -> no
    # forbearance; mod_pi = 244,800/480 = 510 > 500: reduction −0.02 -> not eligible. p_redefault
    # still shown: pr below the first bound -> first band, MTMLTV band 0.00 -> 0.40.
    r = run(case(market_value=400000.0, arrears=4800.0))[0]
    assert r["mod_monthly_pi"] == approx(510.0)
    assert r["mod_payment_reduction"] == approx(-0.02, RATE_TOL)
    assert r["mod_eligible"] is False and r["pv_modification"] is None
    assert r["p_redefault"] == 0.40
    assert r["keeps_home"] is False and r["keep_home_probability"] == 0.25   # p_cure at 3 months


def test_m2_current_owner_occupant_with_hardship_is_eligible():
    # Not delinquent (0 < 2 months) but a primary home with a hardship: imminent default.
    current, hardship = run(case(property_id="C", occupancy="primary", months_delinquent=0),
                            case(property_id="H", occupancy="primary", months_delinquent=0, hardship="medical"))
    assert current["mod_eligible"] is False and hardship["mod_eligible"] is True


# --- L10 feasibility and M6 ties ------------------------------------------------------------------------

def test_l10_infeasible_by_a_sale_in_20_days():
    # A sale in 20 days: days_left 20 ≤ 37 -> no modification; 20 < 30·4 and < 30·3 -> no short sale,
    # no deed-in-lieu: foreclosure, and no savings (neither liquidation feasible). Tfc = 20/30,
    # Treo = 6.667: pv_fc = 147,752 − 2,000 − 150·6 = 144,852; pv_nomod = 0.25·240,000 +
    # 0.75·144,852 = 168,639. L8: alt = pv_fc (the deed-in-lieu is infeasible): 144,852/0.94.
    r = run(case(foreclosure_sale_date=AS_OF + timedelta(days=20)))[0]
    assert (r["modification_feasible"], r["short_sale_feasible"], r["deed_in_lieu_feasible"]) == (False,) * 3
    assert r["mod_eligible"] is True and r["pv_modification"] == approx(209058.20)   # shown, never chosen
    assert r["pv_no_modification"] == approx(168639.0)
    assert r["lender_best_option"] == "foreclosure"
    assert r["lender_savings_vs_foreclosure"] is None
    assert r["min_acceptable_offer"] == approx(144852 / 0.94)
    assert r["keeps_home"] is False
    # With a month's postponement (a per-row assumption, SPEC 5.5): days_left 50 > 37 modifies.
    postponed = run(case(foreclosure_sale_date=AS_OF + timedelta(days=20), sale_postponement_months=1.0))[0]
    assert postponed["modification_feasible"] is True and postponed["short_sale_feasible"] is False
    assert postponed["lender_best_option"] == "modification"


def test_m6_a_tie_modifies():
    # pv_mod before its cost is 210,058.20 and pv_nomod 199,590: a per-row mod_cost of 10,468.20
    # makes them equal to the cent -> modification (retention first); a cent more -> the short sale.
    tie, short = run(case(property_id="T", mod_cost=10468.20), case(property_id="S", mod_cost=10468.21))
    assert tie["pv_modification"] == approx(199590.0) and tie["pv_no_modification"] == approx(199590.0)
    assert tie["lender_best_option"] == "modification"
    assert short["lender_best_option"] == "short_sale"


# --- L8 offers and 5.4 investor rules ---------------------------------------------------------------

def test_l8_fha_min_net_proceeds_sets_min_acceptable_offer_and_each_offer_status():
    # FHA (data/investor_rules.csv): min_net_proceeds_share 0.88, no junior release. Prior mods 3
    # (a liquidation case). alt = max(pv_fc 144,852, pv_dil 145,852) = 145,852 -> npv_price =
    # 145,852/0.94 = 155,161.70; FHA floor 0.88·220,000/0.94 = 205,957.45 -> min_acceptable_offer.
    # Offer 200,000 -> counter at 206,000 (next $100); 206,000 -> accept; none -> none.
    rows = [case(property_id=pid, investor_type="fha", prior_modifications=3, short_sale_offer=offer)
            for pid, offer in (("LOW", 200000.0), ("OK", 206000.0), ("NONE", None))]
    low, ok, none = run(*rows)
    for r in (low, ok, none):
        assert r["min_acceptable_offer"] == approx(193600 / 0.94)
    assert (low["offer_status"], low["counter_offer"], low["offer_acceptable"]) == ("counter", 206000.0, False)
    assert (ok["offer_status"], ok["counter_offer"], ok["offer_acceptable"]) == ("accept", None, True)
    assert (none["offer_status"], none["counter_offer"], none["offer_acceptable"]) == ("none", None, None)
    # Without the investor: 155,161.70, and 200,000 is accepted.
    plain = run(case(prior_modifications=3, short_sale_offer=200000.0))[0]
    assert plain["min_acceptable_offer"] == approx(145852 / 0.94)
    assert plain["offer_status"] == "accept"


def test_5_5_row_beats_investor_beats_pipeline():
    # relocation (section 3) of a primary home: the investor's relocation_assistance from
    # data/investor_rules.csv (the research helper owns the figure: read from the file), or the
    # row's own 500 over it; the pipeline's 2,000 with no investor or one with a blank cell
    # (portfolio).
    fha = params.investor_rules().filter(pl.col("investor_type") == "fha")["relocation_assistance"][0]
    rows = [case(property_id="FHA", occupancy="primary", investor_type="fha"),
            case(property_id="ROW", occupancy="primary", investor_type="fha", relocation_assistance=500.0),
            case(property_id="PORT", occupancy="primary", investor_type="portfolio"),
            case(property_id="PIPE", occupancy="primary")]
    w = {x["property_id"]: x for x in wide(*rows, relocation_assistance=2000.0)}
    assert fha is not None and fha != 2000.0
    assert [w[p]["relocation"] for p in ("FHA", "ROW", "PORT", "PIPE")] == [fha, 500.0, 2000.0, 2000.0]


@PROPERTY_SETTINGS
@given(rows_st(), assumptions_st())
def test_m_properties(rows, assumptions):
    """pv_modification null exactly when not mod_eligible; the chosen option is feasible;
    keep_home_probability in [0, 1]; a modification is chosen only when it is worth at least not
    modifying, in cents."""
    for r in evaluate(frame(*rows), as_of=AS_OF, assumptions=assumptions).to_dicts():
        assert (r["pv_modification"] is None) is (not r["mod_eligible"])
        if r["claim"] == 0:
            continue
        assert 0.0 <= r["keep_home_probability"] <= 1.0
        if r["lender_best_option"] == "modification":
            assert r["modification_feasible"] and round(r["pv_modification"], 2) >= round(r["pv_no_modification"], 2)
        elif r["mod_eligible"] and r["modification_feasible"]:
            assert round(r["pv_modification"], 2) < round(r["pv_no_modification"], 2)


def test_5_5_an_all_null_assumption_column_is_no_row_value():
    # A file carrying an empty reo_discount column: the pipeline's 0.30 applies (reo_net(Treo) of
    # the BASE loan at 6 months' marketing: 220,000·0.70·0.92 = 141,680; Tfc 10, Treo 16:
    # pv_fc = 141,680 − 2,000 − 150·6 = 138,780); a null cell among values too.
    empty = pl.DataFrame([case(property_id="E")]).with_columns(pl.lit(None, dtype=pl.Float64).alias("reo_discount"))
    typed = frame(case()).select(empty.columns[:-1]).hstack(empty.select("reo_discount"))
    r = evaluate(typed, as_of=AS_OF, assumptions={**NO_DISCOUNT, "reo_discount": 0.3}).to_dicts()[0]
    assert r["pv_foreclosure"] == approx(138780.0)
    mixed = run(case(property_id="N"), case(property_id="V", reo_discount=0.27), reo_discount=0.3)
    assert mixed[0]["pv_foreclosure"] == approx(138780.0)
    assert mixed[1]["pv_foreclosure"] == approx(144852.0)   # the row's own 0.27

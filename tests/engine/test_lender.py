"""Lender engine, SPEC section 5 (L1–L9), through the real engine (``dispo.engine.evaluate``).

Expected values are worked by hand (the arithmetic is in the comments), never by calling the
engine's own formulas. Assumptions are the SPEC 5.1 defaults unless a test overrides them:
short_sale_months 4, junior_lien_payoff_cap 6000, relocation_assistance 3000, reo_discount 0.27,
reo_selling_cost_rate 0.08, reo_marketing_months 6, min_foreclosure_months 3, preservation_monthly
150, dil_months 3, dil_cost 1000, lender_discount_rate 0.06, deficiency_recovery_rate 0.10,
urgent_days 60. State facts (data/states.csv): CA 480 days / $1,900, TX 390 / $2,000,
FL 810 / $4,750.
"""

from __future__ import annotations

import math
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispo import params, schema
from dispo.engine import evaluate, evaluate_wide
from dispo.engine.defaults import POLARS_TYPES
from dispo.params import Assumptions, assumption_specs

AS_OF = date(2026, 11, 22)
GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
CENT = 0.01
RATE_TOL = 1e-6
NO_DISCOUNT = {"lender_discount_rate": 0.0}


def frame(*rows: dict[str, Any]) -> pl.DataFrame:
    """A typed frame of schema columns from row dicts (a key missing in a row is null)."""
    names = [n for n in schema.NAMES if any(n in r for r in rows)]
    return pl.DataFrame({n: [r.get(n) for r in rows] for n in names},
                        schema={n: POLARS_TYPES[schema.BY_NAME[n].dtype] for n in names})


def run(*rows: dict[str, Any], **assumptions: float) -> list[dict[str, Any]]:
    return evaluate(frame(*rows), as_of=AS_OF, assumptions=assumptions).to_dicts()


def wide(*rows: dict[str, Any], **assumptions: float) -> list[dict[str, Any]]:
    return evaluate_wide(frame(*rows), as_of=AS_OF,
                         assumptions=Assumptions.from_overrides(assumptions)).collect().to_dicts()


def row(**kw: Any) -> dict[str, Any]:
    """A valid rental in TX (no relocation, recourse by R1, no advances, flat prices) to build on."""
    base = dict(property_id="P1", state="TX", occupancy="rental", market_value=200000.0,
                purchase_price=250000.0, purchase_date=date(2015, 1, 1), first_lien_balance=250000.0,
                appreciation_rate=0.0)
    base.update(kw)
    return base


# --- golden G10 ----------------------------------------------------------------------------------

def golden_row(property_id: str) -> dict[str, Any]:
    """One row of golden/cases.csv, typed by the schema."""
    raw = pl.read_csv(GOLDEN / "cases.csv", infer_schema=False).filter(pl.col("property_id") == property_id)
    out: dict[str, Any] = {}
    for name, value in raw.to_dicts()[0].items():
        if value is None or value == "":
            continue
        dtype = schema.BY_NAME[name].dtype
        out[name] = {"float": float, "int": lambda s: int(float(s)), "string": str,
                     "bool": lambda s: s.lower() == "true", "date": date.fromisoformat}[dtype](value)
    return out


def test_l1_l9_golden_g10_hand_worked():
    # CA primary, MV 400,000, first lien 450,000, arrears 12,000, 4 months delinquent, selling cost
    # 6 %, property tax 6,000/yr, insurance 1,200/yr, appreciation 0, lender_discount_rate 0 (v = 1,
    # a(t) = t). R1: CA primary without a second lien -> nonrecourse; forgiven share 1 anyway.
    # Revision 2 adds prior_modifications 3 to the case (M2: not < mod_max_prior 3), so it stays a
    # liquidation case.
    case = {**golden_row("G10"), "prior_modifications": 3}
    r = run(case, **NO_DISCOUNT)[0]
    w = wide(case, **NO_DISCOUNT)[0]
    hand = {
        "claim": 462000.0,                       # 450,000 + 12,000
        "short_sale_price": 360000.0,            # T2: 400,000·(1 − 0.10)
        "foreclosure_months": 12.0,              # L2: max(3, 480/30 − 4) = 12
        # L1: net = 360,000·0.94 − 0 − 3,000 = 335,400 < claim; advances 500 + 100 = 600/month
        "pv_short_sale": 333000.0,               # 335,400 − 600·4
        # L3: reo_net = 400,000·0.73·0.92 = 268,640; Treo = 12 + 6 = 18
        "pv_foreclosure": 255040.0,              # 268,640 − 1,900 − 600·18 − 150·(18 − 12)
        # L5: Tdil 3, Tr 9
        "pv_deed_in_lieu": 258340.0,             # 268,640 − (1,000 + 3,000) − 600·9 − 150·(9 − 3)
        "lender_best_option": "short_sale",
        "lender_savings_vs_foreclosure": 77960.0,  # max(333,000, 258,340) − 255,040
        # L8: alt = max(255,040, 258,340); (258,340 + 600·4)/1 + 0 + 3,000 = 263,740; /0.94
        "min_acceptable_offer": 280574.4680851064,
        "offer_status": "none",                  # L8: no offer in hand
        "offer_acceptable": None,
        "counter_offer": None,
        "short_sale_feasible": True, "deed_in_lieu_feasible": True, "modification_feasible": True,  # L10: no date
        "mod_eligible": False,                   # M2: 3 prior modifications
        "pv_modification": None,
        "lender_loss_modification": None,
        "lender_loss_short_sale": 129000.0,      # 462,000 − 333,000
        "lender_loss_deed_in_lieu": 203660.0,    # 462,000 − 258,340
        "lender_loss_foreclosure": 206960.0,     # 462,000 − 255,040
        "lender_severity_short_sale": 129000 / 462000,       # 0.279221
        "lender_severity_deed_in_lieu": 203660 / 462000,     # 0.440823
        "lender_severity_foreclosure": 206960 / 462000,      # 0.447965
        "dil_eligible": True,                    # L5: underwater (376,000 < 462,000), no second lien
        "loss_mit_candidate": True,              # 4 months delinquent
        "days_to_foreclosure_sale": None,
        "urgent": False,
        "fc_referral_allowed": False,            # primary, 4 < 5 months
    }
    for key, value in hand.items():
        _check(key, r[key], value)
    intermediates = {"advances": 600.0, "lender_j": 0.0, "junior_payoff": 0.0, "months_to_reo_sale": 18.0,
                     "reo_net_foreclosure": 268640.0, "reo_net_deed_in_lieu": 268640.0,
                     "deficiency_recovery": 0.0, "v_reo_sale": 1.0, "a_reo_sale": 18.0,
                     "a_foreclosure_sale": 12.0, "pv_best_alternative": 258340.0,
                     "lender_short_sale_net": 335400.0}
    for key, value in intermediates.items():
        _check(key, w[key], value)


def _check(key: str, got: Any, want: Any) -> None:
    if isinstance(want, bool) or want is None or isinstance(want, str):
        assert got == want, (key, got, want)
    elif key in schema.RATE_OUTPUTS or key.startswith(("v_", "lender_j")):
        assert got == pytest.approx(want, abs=RATE_TOL), (key, got, want)
    else:
        assert got == pytest.approx(want, abs=CENT), (key, got, want)


# --- discounting -------------------------------------------------------------------------------

def test_sec5_discounting_at_six_percent():
    # TX rental (no relocation), recourse false (no deficiency), MV 200,000, first lien 250,000,
    # arrears 5,000, 3 months delinquent, selling cost 5 %, tax 2,400 + insurance 1,200 -> advances
    # 300/month, offer 190,000, lender_discount_rate 0.06 (default).
    # j = 1.06^(1/12) − 1 = 0.004867550565; v(t) = 1.06^(−t/12); a(t) = (1 − v(t))/j:
    #   v(3) = 0.985538362, a(3) = 2.971029909   v(4) = 0.980764441, a(4) = 3.951794350
    #   v(9) = 0.957239478, a(9) = 8.784813205   v(10) = 0.952602636, a(10) = 9.737415841
    #   v(16) = 0.925249473, a(16) = 15.356908200
    # prior_modifications 3: not modifiable (M2), so the liquidations are compared.
    case = row(arrears=5000.0, months_delinquent=3, selling_cost_rate=0.05, property_tax_annual=2400.0,
               insurance_annual=1200.0, short_sale_offer=190000.0, recourse=False, prior_modifications=3)
    r = run(case)[0]
    w = wide(case)[0]
    assert w["lender_j"] == pytest.approx(0.004867550565343, abs=1e-15)
    assert w["v_short_sale"] == pytest.approx(0.9807644411771679, abs=1e-12)
    assert w["a_short_sale"] == pytest.approx(3.951794350076046, abs=1e-12)
    assert r["claim"] == 255000.0
    # L1: net = 190,000·0.95 = 180,500 (< claim); 180,500·0.980764441 − 300·3.951794350
    #   = 177,027.98 − 1,185.54 = 175,842.44
    assert r["pv_short_sale"] == pytest.approx(175842.443327456, abs=CENT)
    # L2: Tfc = max(3, 390/30 − 3) = 10; Treo = 16. L3: reo_net = 200,000·0.73·0.92 = 134,320.
    # L4: 134,320·0.925249473 − 2,000·0.952602636 − 300·15.356908200 − 150·(15.356908200 − 9.737415841)
    #   = 124,279.51 − 1,905.21 − 4,607.07 − 842.92 = 116,924.31
    assert r["foreclosure_months"] == 10.0
    assert r["pv_foreclosure"] == pytest.approx(116924.307601725, abs=CENT)
    # L5: 134,320·0.957239478 − 1,000·0.985538362 − 300·8.784813205 − 150·(8.784813205 − 2.971029909)
    #   = 128,576.41 − 985.54 − 2,635.44 − 872.07 = 124,083.36
    assert r["pv_deed_in_lieu"] == pytest.approx(124083.356802565, abs=CENT)
    assert r["lender_best_option"] == "short_sale"
    # L7: 175,842.44 − 116,924.31
    assert r["lender_savings_vs_foreclosure"] == pytest.approx(58918.135725731, abs=CENT)
    # L6: (255,000 − 175,842.44)/255,000
    assert r["lender_loss_short_sale"] == pytest.approx(79157.556672544, abs=CENT)
    assert r["lender_severity_short_sale"] == pytest.approx(0.310421791, abs=RATE_TOL)
    assert r["lender_severity_deed_in_lieu"] == pytest.approx(0.513398601, abs=RATE_TOL)
    assert r["lender_severity_foreclosure"] == pytest.approx(0.541473304, abs=RATE_TOL)
    # L8: alt = 124,083.36 (dil); (124,083.36 + 300·3.951794350)/0.980764441 = 127,725.77; /0.95
    assert r["min_acceptable_offer"] == pytest.approx(134448.180739327, abs=CENT)
    assert r["offer_status"] == "accept" and r["offer_acceptable"] is True   # 190,000 ≥ 134,448.18
    assert r["counter_offer"] is None


def test_l4_deficiency_recovery_discounted():
    # Same TX rental, recourse, forgiven share 0.5, claim 250,000 vs MV 200,000, rate 6 %.
    # Tfc = max(3, 13 − 0) = 13, Treo = 19; v(19) = 1.06^(−19/12) = 0.911868850
    # recovery = 0.10·0.5·50,000·0.911868850 = 2,279.67
    w = wide(row(recourse=True, deficiency_forgiven_share=0.5))[0]
    assert w["months_to_reo_sale"] == 19.0
    assert w["deficiency_recovery"] == pytest.approx(0.10 * 0.5 * 50000 * 1.06 ** (-19 / 12), abs=CENT)
    assert w["deficiency_recovery"] == pytest.approx(2279.67, abs=CENT)


# --- scheduled foreclosure sale and L9 urgency -----------------------------------------------------

def test_l2_l9_scheduled_sale_sets_clock_and_urgent_edge():
    # TX primary (relocation 3,000), MV 300,000, first lien 280,000, 6 months delinquent, tax 3,600 +
    # insurance 1,200 -> advances 400, appreciation 3 %, rate 0. R1: TX is not anti-deficiency ->
    # recourse, but forgiven share 1 -> no deficiency recovery.
    # Sale 2027-01-21: days = 8 (to Nov 30) + 31 + 21 = 60 -> urgent at the edge; Tfc = 60/30 = 2
    # (a scheduled date wins over min_foreclosure_months). Treo = 8.
    # reo_net(8) = 300,000·1.03^(8/12)·0.73·0.92 = 205,489.72
    # pv_fc = min(280,000, 205,489.72 − 2,000 − 400·8 − 150·(8 − 2)) = 199,389.72
    base = dict(state="TX", occupancy="primary", market_value=300000.0, first_lien_balance=280000.0,
                months_delinquent=6, property_tax_annual=3600.0, insurance_annual=1200.0, appreciation_rate=0.03)
    rows = [row(property_id="D60", foreclosure_sale_date=date(2027, 1, 21), **base),
            row(property_id="D61", foreclosure_sale_date=date(2027, 1, 22), **base),
            row(property_id="D0", foreclosure_sale_date=AS_OF, **base),
            row(property_id="PAST", foreclosure_sale_date=date(2026, 11, 1), **base),
            row(property_id="NONE", **base)]
    r = {x["property_id"]: x for x in run(*rows, **NO_DISCOUNT)}
    assert r["D60"]["days_to_foreclosure_sale"] == 60 and r["D60"]["urgent"] is True
    assert r["D61"]["days_to_foreclosure_sale"] == 61 and r["D61"]["urgent"] is False
    assert r["D0"]["days_to_foreclosure_sale"] == 0 and r["D0"]["urgent"] is True
    assert r["PAST"]["days_to_foreclosure_sale"] == -21 and r["PAST"]["urgent"] is False
    assert r["NONE"]["days_to_foreclosure_sale"] is None and r["NONE"]["urgent"] is False
    assert r["D60"]["foreclosure_months"] == pytest.approx(2.0)
    assert r["D61"]["foreclosure_months"] == pytest.approx(61 / 30)
    assert r["D0"]["foreclosure_months"] == 0.0
    assert r["PAST"]["foreclosure_months"] == 0.0        # at least 0
    assert r["NONE"]["foreclosure_months"] == 7.0        # max(3, 390/30 − 6)
    assert r["D60"]["pv_foreclosure"] == pytest.approx(199389.716030832, abs=CENT)
    # A past date: Tfc 0, Treo 6: 300,000·1.03^(1/2)·0.73·0.92 − 2,000 − 400·6 − 150·6
    #   = 300,000·1.014889157·0.6716 − 5,300 = 204,479.87 − 5,300 = 199,179.87
    assert r["PAST"]["pv_foreclosure"] == pytest.approx(300000 * 1.03 ** 0.5 * 0.73 * 0.92 - 2000 - 2400 - 900,
                                                        abs=CENT)
    assert r["PAST"]["pv_foreclosure"] == pytest.approx(199179.87, abs=CENT)


# --- second lien: L1 junior payoff, L5 deed-in-lieu with a released junior lien ------------------

SECOND_LIEN = dict(state="FL", occupancy="primary", market_value=300000.0, first_lien_balance=350000.0,
                   arrears=10000.0, months_delinquent=2, property_tax_annual=3000.0, insurance_annual=1800.0,
                   hoa_monthly=100.0, prior_modifications=3)


def test_l5_deed_in_lieu_with_released_junior_lien():
    # FL primary, MV 300,000, first 350,000, second 50,000, arrears 10,000, 2 months delinquent
    # (3 prior modifications: no M rules), tax 3,000 + insurance 1,800 + HOA 100 -> advances 500,
    # rate 0, selling cost 6 %, relocation 3,000 (primary).
    # L1: price = 270,000; junior_payoff = min(50,000, 6,000) = 6,000; net = 253,800 − 6,000 − 3,000
    # = 244,800; pv_ss = 244,800 − 500·4 = 242,800. L2: Tfc = max(3, 27 − 2) = 25, Treo 31,
    # reo_net = 300,000·0.73·0.92 = 201,480: pv_fc = 201,480 − 4,750 − 500·31 − 150·6 = 180,330.
    # L5 (dil_with_junior_release true, the default): Tdil 3, Tr 9:
    # pv_dil = min(360,000, 201,480) − (1,000 + 3,000 + 6,000) − 500·9 − 150·6 = 186,080.
    # L8: alt = max(180,330, 186,080) = 186,080: (186,080 + 2,000 + 6,000 + 3,000)/0.94 = 209,659.57
    r, small = run(row(property_id="S50", second_lien_balance=50000.0, **SECOND_LIEN),
                   row(property_id="S4", second_lien_balance=4000.0, **SECOND_LIEN), **NO_DISCOUNT)
    w = wide(row(property_id="S50", second_lien_balance=50000.0, **SECOND_LIEN),
             row(property_id="S4", second_lien_balance=4000.0, **SECOND_LIEN), **NO_DISCOUNT)
    assert w[0]["junior_payoff"] == 6000.0 and w[1]["junior_payoff"] == 4000.0
    assert r["dil_eligible"] is True
    assert r["pv_deed_in_lieu"] == pytest.approx(186080.0, abs=CENT)
    assert r["pv_short_sale"] == pytest.approx(242800.0, abs=CENT)
    assert r["pv_foreclosure"] == pytest.approx(180330.0, abs=CENT)
    assert r["lender_best_option"] == "short_sale"
    assert r["lender_savings_vs_foreclosure"] == pytest.approx(62470.0, abs=CENT)   # 242,800 − 180,330
    assert r["min_acceptable_offer"] == pytest.approx(209659.574468085, abs=CENT)
    assert r["lender_severity_short_sale"] == pytest.approx(117200 / 360000, abs=RATE_TOL)  # 0.325556
    # Second lien 4,000 < cap: net = 253,800 − 4,000 − 3,000 = 246,800; pv_ss = 244,800;
    # pv_dil = 201,480 − 8,000 − 4,500 − 900 = 188,080; alt 188,080: (188,080 + 2,000 + 7,000)/0.94
    assert small["pv_short_sale"] == pytest.approx(244800.0, abs=CENT)
    assert small["pv_deed_in_lieu"] == pytest.approx(188080.0, abs=CENT)
    assert small["min_acceptable_offer"] == pytest.approx(197080 / 0.94, abs=CENT)


def test_l5_no_junior_release_blocks_deed_in_lieu():
    # The same loan when the investor does not release junior liens: no deed-in-lieu, and L8's
    # alternative is the foreclosure: (180,330 + 2,000 + 6,000 + 3,000)/0.94 = 203,542.55
    r = run(row(second_lien_balance=50000.0, **SECOND_LIEN), dil_with_junior_release=False, **NO_DISCOUNT)[0]
    assert r["dil_eligible"] is False
    assert r["pv_deed_in_lieu"] is None
    assert r["lender_loss_deed_in_lieu"] is None and r["lender_severity_deed_in_lieu"] is None
    assert r["min_acceptable_offer"] == pytest.approx(203542.553191489, abs=CENT)


# --- recourse ------------------------------------------------------------------------------------

def test_l4_deficiency_recovery_only_for_recourse():
    # TX rental, MV 200,000, first 300,000, 6 months delinquent, no advances, rate 0, forgiven 0.4.
    # Tfc = max(3, 13 − 6) = 7, Treo = 13; reo_net 134,320.
    # nonrecourse: 134,320 − 2,000 − 150·6 = 131,420
    # recourse:    recovery = 0.10·(1 − 0.4)·(300,000 − 200,000) = 6,000 -> 137,420
    kw = dict(first_lien_balance=300000.0, months_delinquent=6, deficiency_forgiven_share=0.4)
    non, rec, forgiven = run(row(property_id="N", recourse=False, **kw), row(property_id="R", recourse=True, **kw),
                             row(property_id="F", recourse=True, **{**kw, "deficiency_forgiven_share": 1.0}),
                             **NO_DISCOUNT)
    assert non["pv_foreclosure"] == pytest.approx(131420.0, abs=CENT)
    assert rec["pv_foreclosure"] == pytest.approx(137420.0, abs=CENT)
    assert forgiven["pv_foreclosure"] == pytest.approx(131420.0, abs=CENT)   # all forgiven: nothing to collect


def test_r1_l4_recourse_default_in_the_lender_view():
    # R1: CA primary without a second lien -> nonrecourse (no recovery); a TX primary -> recourse.
    kw = dict(occupancy="primary", first_lien_balance=300000.0, months_delinquent=6, deficiency_forgiven_share=0.0)
    ca, tx = wide(row(property_id="CA", state="CA", **kw), row(property_id="TX", state="TX", **kw), **NO_DISCOUNT)
    assert ca["recourse"] is False and ca["deficiency_recovery"] == 0.0
    assert tx["recourse"] is True and tx["deficiency_recovery"] == pytest.approx(10000.0)  # 0.10·1·100,000


# --- L1 payoff sale, L7 at claim 0, ties ---------------------------------------------------------

def test_l7_claim_zero_has_no_lender_decision():
    # Free and clear (claim 0), advances 100/month, rate 0. L1: not underwater (188,000 ≥ 0): a
    # payoff sale worth 0 − 100·4 = −400; L4: min(0, 134,320) − 2,000 − 100·19 − 150·6 = −4,800.
    r = run(row(first_lien_balance=0.0, hoa_monthly=100.0), **NO_DISCOUNT)[0]
    assert r["claim"] == 0.0
    assert r["pv_short_sale"] == pytest.approx(-400.0)
    assert r["pv_foreclosure"] == pytest.approx(-4800.0)
    assert r["dil_eligible"] is False and r["pv_deed_in_lieu"] is None
    for x in schema.LENDER_OPTIONS:
        assert r[f"lender_severity_{x}"] is None
    for key in ("lender_best_option", "lender_savings_vs_foreclosure", "min_acceptable_offer", "offer_status",
                "counter_offer", "offer_acceptable", "keeps_home", "keep_home_probability"):
        assert r[key] is None, key
    assert r["loss_mit_candidate"] is False and r["mod_eligible"] is False


def test_l1_payoff_sale_when_not_underwater():
    # Equity-rich TX rental: claim 50,000, MV 200,000 (188,000 net of 6 % ≥ 50,000), no advances,
    # rate 0. L1: payoff sale = the claim, 50,000. L4: min(50,000, 134,320) − 2,000 − 150·6 = 47,100
    # (the cap applies to the proceeds; the costs come off after). L5: not underwater -> no
    # deed-in-lieu. L7: payoff_sale, saving 2,900.
    r = run(row(first_lien_balance=50000.0), **NO_DISCOUNT)[0]
    assert r["pv_short_sale"] == 50000.0
    assert r["pv_foreclosure"] == pytest.approx(47100.0, abs=CENT)
    assert r["dil_eligible"] is False and r["pv_deed_in_lieu"] is None
    assert r["lender_best_option"] == "payoff_sale"
    assert r["lender_savings_vs_foreclosure"] == pytest.approx(2900.0, abs=CENT)
    assert r["lender_severity_short_sale"] == 0.0


def test_l7_ties_compared_in_cents():
    # Section 3 Ties: options worth the same to the cent tie (the short sale is listed first) even
    # when float noise separates them. Underwater TX rental, claim 250,000, rate 0, no advances, not
    # delinquent (no modification). pv_fc = 134,320 − 2,000 − 150·6 = 131,420 (Tfc 13, Treo 19);
    # pv_dil = 134,320 − 1,000 − 150·(9 − 3) = 132,420; pv_ss = offer·0.94, so an offer of
    # 132,420/0.94 (times 1 + 1e-15 of noise) ties the deed-in-lieu.
    offer = 132420 / 0.94
    r = run(row(prior_modifications=3, short_sale_offer=offer * (1 + 1e-15)), **NO_DISCOUNT)[0]
    assert r["pv_deed_in_lieu"] == pytest.approx(132420.0, abs=CENT)
    assert round(r["pv_short_sale"], 2) == round(r["pv_deed_in_lieu"], 2)
    assert r["lender_best_option"] == "short_sale"
    # a cent less and the deed-in-lieu wins
    r = run(row(prior_modifications=3, short_sale_offer=(132420 - 0.01) / 0.94), **NO_DISCOUNT)[0]
    assert r["lender_best_option"] == "deed_in_lieu"


# --- L9 flags ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("occupancy", "months", "allowed"), [
    ("primary", 4, False), ("primary", 5, True), ("rental", 0, False), ("rental", 1, True),
    ("second_home", 1, True),
])
def test_l9_fc_referral_allowed(occupancy, months, allowed):
    assert run(row(occupancy=occupancy, months_delinquent=months))[0]["fc_referral_allowed"] is allowed


def test_l9_loss_mit_candidate():
    # underwater: MV·(1 − 0.06) = 188,000 < payoff 250,000.
    rows = [row(property_id="HARD", hardship="job_loss"),            # current, underwater, hardship
            row(property_id="NOHARD"),                               # current, underwater, no hardship
            row(property_id="DRY", hardship="job_loss", first_lien_balance=100000.0),  # not underwater
            row(property_id="LATE", months_delinquent=1, first_lien_balance=100000.0)]
    r = {x["property_id"]: x["loss_mit_candidate"] for x in run(*rows)}
    assert r == {"HARD": True, "NOHARD": False, "DRY": False, "LATE": True}


# --- properties ----------------------------------------------------------------------------------

def _value(c: schema.Column) -> st.SearchStrategy[Any]:
    """A valid value of one schema column, from its declared bounds."""
    if c.allowed:
        return st.sampled_from(c.allowed)
    if c.dtype == "bool":
        return st.booleans()
    if c.dtype == "int":
        return st.integers(int(c.min), int(c.max))
    if c.money:
        # Money at cent resolution: a sub-cent claim (say 5e-324) would make a severity overflow.
        low = 0.01 if c.min_exclusive else c.min
        return st.floats(low, c.max, allow_nan=False).map(lambda x: round(x, 2))
    if c.dtype == "float":
        return st.floats(c.min, c.max, exclude_min=c.min_exclusive, exclude_max=c.max_exclusive,
                         allow_nan=False, allow_infinity=False)
    raise AssertionError(c.name)


#: Every input the lender and modification stages read; other optional columns keep their defaults.
LENDER_INPUTS = ("market_value", "first_lien_balance", "second_lien_balance", "arrears", "months_delinquent",
                 "short_sale_offer", "recourse", "deficiency_forgiven_share", "property_tax_annual",
                 "insurance_annual", "hoa_monthly", "appreciation_rate", "selling_cost_rate", "hardship",
                 "interest_rate", "remaining_term_months", "monthly_gross_income", "prior_modifications",
                 "investor_type")


@st.composite
def rows_st(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(1, 10))):
        r: dict[str, Any] = {
            "property_id": f"P{i}",
            "state": draw(_value(schema.BY_NAME["state"])),
            "occupancy": draw(_value(schema.BY_NAME["occupancy"])),
            "purchase_price": draw(_value(schema.BY_NAME["purchase_price"])),
            "purchase_date": draw(st.dates(date(1950, 1, 1), AS_OF)),
            "foreclosure_sale_date": draw(st.none() | st.dates(AS_OF - timedelta(days=400),
                                                               AS_OF + timedelta(days=3650))),
        }
        for name in LENDER_INPUTS:
            c = schema.BY_NAME[name]
            value = _value(c)
            if name == "second_lien_balance":       # often none at all, so deed-in-lieu is in play
                value = st.just(0.0) | value
            r[name] = draw(value if c.required else st.none() | value)
        out.append(r)
    return out


def _assumption_value(s: Any) -> st.SearchStrategy[Any]:
    if s.boolean:
        return st.booleans()
    if s.integer:
        return st.integers(int(s.min), int(s.max)).map(float)
    return st.floats(s.min, s.max, exclude_min=s.min_exclusive, allow_nan=False)


@st.composite
def assumptions_st(draw: st.DrawFn) -> dict[str, Any]:
    """Every L and M assumption drawn from its bounds in assumptions.toml (min_net_proceeds_share
    sometimes left unset)."""
    specs = assumption_specs()
    out = {name: draw(_assumption_value(s)) for name, s in specs.items()
           if any(part.strip().startswith(("L", "M")) for part in s.rule.split(","))}
    if draw(st.booleans()):
        out.pop("min_net_proceeds_share", None)
    return out


PROPERTY_SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: L7: the feasibility flag of each option (foreclosure is always possible).
FEASIBLE = {"modification": "modification_feasible", "short_sale": "short_sale_feasible",
            "payoff_sale": "short_sale_feasible", "deed_in_lieu": "deed_in_lieu_feasible"}


def _uncapped_short_sale(r: dict[str, Any], price: float, assumptions: dict[str, Any]) -> tuple[float, float]:
    """L1 without its cap at the claim, at ``price``, with the row's investor rules (5.4); and the
    scale of its terms (for the float tolerance)."""
    rules = {x["investor_type"]: x for x in params.investor_rules().to_dicts()}.get(r["investor_type"] or "", {})
    pick = lambda name: rules.get(name) if rules.get(name) is not None else assumptions.get(  # noqa: E731
        name, assumption_specs()[name].value)
    rate, tss = assumptions["lender_discount_rate"], assumptions["short_sale_months"]
    # v(Tss) = (1 + rate)^(−Tss/12); a(Tss) = (1 − v)/j, j = (1 + rate)^(1/12) − 1, or Tss at j = 0
    # (and at a subnormal j, whose quotient has lost its digits).
    j = math.expm1(math.log1p(rate) / 12)
    v = math.exp(-tss * math.log1p(j))
    a = tss if j < sys.float_info.min else -math.expm1(-tss * math.log1p(j)) / j
    advances = r["property_tax_annual"] / 12 + r["insurance_annual"] / 12 + r["hoa_monthly"]
    junior = min(r["second_lien_balance"], pick("junior_lien_payoff_cap"))
    relocation = pick("relocation_assistance") if r["occupancy"] == "primary" else 0.0
    scale = advances * a + (junior + relocation) * v + abs(price) * v
    return (price * (1 - r["selling_cost_rate"]) - junior - relocation) * v - advances * a, scale


@PROPERTY_SETTINGS
@given(rows_st(), assumptions_st())
def test_l1_l8_lender_properties(rows, assumptions):
    results = evaluate(frame(*rows), as_of=AS_OF, assumptions=assumptions).to_dicts()
    for r in results:
        claim = r["first_lien_balance"] + r["arrears"]
        assert r["claim"] == claim
        assert (r["pv_deed_in_lieu"] is None) is (not r["dil_eligible"])
        assert not r["dil_eligible"] or r["underwater"]
        # every lender value finite where defined
        for key in schema.LENDER_OUTPUTS + schema.MODIFICATION_OUTPUTS:
            if isinstance(r[key], float):
                assert math.isfinite(r[key]), (key, r[key])
        if claim == 0:
            assert r["lender_best_option"] is None and r["offer_status"] is None
            continue
        # L7/L10: the chosen option is always feasible, and no feasible liquidation is worth more
        best = r["lender_best_option"]
        assert best == "foreclosure" or r[FEASIBLE[best]], best
        # M6: pv_modification is null exactly when the loan is not eligible
        assert (r["pv_modification"] is None) is (not r["mod_eligible"])
        # L8: at min_acceptable_offer (no investor floor binding) the short sale equals its best
        # alternative within a cent (plus float64 rounding of the largest term near the 1e12 bound).
        pvs = [r["pv_foreclosure"]] + ([r["pv_deed_in_lieu"]] if r["deed_in_lieu_feasible"]
                                       and r["pv_deed_in_lieu"] is not None else [])
        alt = max(pvs)
        price = r["min_acceptable_offer"]
        uncapped, scale = _uncapped_short_sale(r, price, assumptions)
        assert uncapped >= alt - CENT - 16 * 2.0 ** -52 * (scale + abs(alt))
        floor_share = assumptions.get("min_net_proceeds_share")
        if floor_share is None and r["investor_type"] != "fha":
            assert uncapped == pytest.approx(alt, abs=CENT + 16 * 2.0 ** -52 * (scale + abs(alt)))
        # L8: the offer's status
        offer = r["short_sale_offer"]
        if offer is None:
            assert r["offer_status"] == "none" and r["offer_acceptable"] is None and r["counter_offer"] is None
        else:
            accept = round(offer, 2) >= round(price, 2)
            assert r["offer_status"] == ("accept" if accept else "counter")
            assert r["offer_acceptable"] is accept
            if not accept:
                assert r["counter_offer"] >= round(price, 2) and r["counter_offer"] % 100 == 0
        # M7
        assert 0.0 <= r["keep_home_probability"] <= 1.0
        assert r["keeps_home"] is (best == "modification")

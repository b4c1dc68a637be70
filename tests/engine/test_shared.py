"""engine/shared.py: docs/spec.md section 3 (shared definitions: D1, S1–S3) against hand-worked
values."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from dispo.engine import evaluate_wide
from dispo.params import Assumptions
from testkit import AS_OF, row, typed_frame


def wide(rows, cfg=None, **assumptions) -> pl.DataFrame:
    return evaluate_wide(typed_frame(rows), as_of=AS_OF, assumptions=Assumptions.from_overrides(assumptions),
                         cfg_defaults=cfg).collect()


def test_sec3_debt_payoff_equity_ltv_underwater():
    """first 250,000 + second 30,000 + arrears 5,000 = payoff 285,000 on a 300,000 home:
    equity 15,000; ltv 0.95; underwater since 300,000·0.94 = 282,000 < 285,000."""
    r = wide([row(market_value=300000.0, first_lien_balance=250000.0, second_lien_balance=30000.0,
                  arrears=5000.0)]).row(0, named=True)
    assert (r["debt"], r["payoff"], r["equity"], r["negative_equity"]) == (280000, 285000, 15000, 0)
    assert r["ltv"] == pytest.approx(0.95)
    assert r["underwater"] is True
    r = wide([row(market_value=300000.0, first_lien_balance=250000.0, selling_cost_rate=0.05)]).row(0, named=True)
    assert r["underwater"] is False and r["negative_equity"] == 0


def test_d1_allowable_depreciation_with_and_without_land_value():
    """Rental bought 2015-01-01 for 300,000 + 20,000 improvements, in service since 2018-07-01
    (100 months → 8.3333 years). No land value: base 0.8·320,000 = 256,000; 256,000/27.5·8.3333 =
    77,575.76. Land 120,000: base 200,000 → 60,606.06. Claimed 50,000 → under-claimed 27,575.76."""
    rows = [row(property_id="a", occupancy="rental", purchase_price=300000.0, capital_improvements=20000.0,
                rental_start_date=date(2018, 7, 1), depreciation_taken=50000.0),
            row(property_id="b", occupancy="rental", purchase_price=300000.0, capital_improvements=20000.0,
                rental_start_date=date(2018, 7, 1), land_value=120000.0)]
    a, b = (r for r in wide(rows).iter_rows(named=True))
    assert a["allowable_depreciation"] == pytest.approx(256000 / 27.5 * 100 / 12)
    assert a["depreciation"] == pytest.approx(256000 / 27.5 * 100 / 12)
    assert a["depreciation_under_claimed"] == pytest.approx(256000 / 27.5 * 100 / 12 - 50000)
    assert a["adjusted_basis"] == pytest.approx(320000 - 256000 / 27.5 * 100 / 12)
    assert b["allowable_depreciation"] == pytest.approx(200000 / 27.5 * 100 / 12)


def test_d1_claimed_above_allowable_wins_and_is_capped_by_base():
    """Allowed or allowable: claimed 90,000 beats allowable; allowable never exceeds the base
    (a rental in service 40 years is fully depreciated)."""
    rows = [row(property_id="a", occupancy="rental", purchase_price=100000.0, depreciation_taken=90000.0,
                purchase_date=date(2020, 1, 1)),
            row(property_id="b", occupancy="rental", purchase_price=100000.0, purchase_date=date(1985, 1, 1))]
    a, b = (r for r in wide(rows).iter_rows(named=True))
    assert a["depreciation"] == 90000 and a["depreciation_under_claimed"] == 0
    assert b["allowable_depreciation"] == pytest.approx(80000)


def test_d1_converted_home_basis_and_loss_basis():
    """Bought 400,000 (+10,000 improvements, 5,000 casualty), converted 2022-01-01 at FMV 350,000:
    basis in service min(350,000, 405,000) = 350,000; base 280,000; 58 months →
    280,000/27.5·58/12 = 49,212.12. adjusted = 410,000 − 5,000 − 49,212.12 = 355,787.88;
    loss basis = min(355,787.88, 350,000 − 49,212.12) = 300,787.88. Not a rental today → 0."""
    rows = [row(property_id="a", occupancy="rental", purchase_price=400000.0, capital_improvements=10000.0,
                casualty_losses=5000.0, rental_start_date=date(2022, 1, 1), fmv_at_conversion=350000.0),
            row(property_id="b", occupancy="primary", depreciation_taken=0.0)]
    a, b = (r for r in wide(rows).iter_rows(named=True))
    dep = 280000 / 27.5 * 58 / 12
    assert a["depreciation"] == pytest.approx(dep)
    assert a["adjusted_basis"] == pytest.approx(405000 - dep)
    assert a["loss_basis"] == pytest.approx(350000 - dep)
    assert b["allowable_depreciation"] == 0 and b["loss_basis"] == b["adjusted_basis"] == 250000


def test_s1_s2_s3_home_sale_eligibility():
    """S1: a primary home held 23 months has lived 23 → not eligible (24 needed); 24 → eligible.
    A rental lived in 30 of the last 60 months keeps eligibility. Used in the last 2 years → not.
    Hardship (medical) with 12 months → 250,000·12/24; 'other' hardship → 0."""
    rows = [
        row(property_id="p23", purchase_date=date(2024, 12, 1)),                       # 23 months
        row(property_id="p24", purchase_date=date(2024, 11, 22)),                      # 24 months
        row(property_id="rental", occupancy="rental", months_lived_last_5y=30),
        row(property_id="used", sec121_used_last_2y=True),
        row(property_id="med", purchase_date=date(2025, 11, 1), hardship="medical"),  # 12 months
        row(property_id="oth", purchase_date=date(2025, 11, 1), hardship="other"),
        row(property_id="mfj", filing_status="mfj"),
    ]
    w = {r["property_id"]: r for r in wide(rows).iter_rows(named=True)}
    assert w["p23"]["months_lived_last_5y"] == 23 and w["p23"]["sec121_eligible"] is False
    assert w["p24"]["sec121_eligible"] is True and w["p24"]["sec121_max"] == 250000
    assert w["rental"]["sec121_eligible"] is True
    assert w["used"]["sec121_eligible"] is False and w["used"]["sec121_max"] == 0
    assert w["med"]["sec121_max"] == pytest.approx(125000)
    assert w["oth"]["sec121_max"] == 0
    assert w["mfj"]["sec121_max"] == 500000
    assert w["p23"]["sec121_max"] == 0  # no hardship given
    assert w["rental"]["months_owned_last_5y"] == 60

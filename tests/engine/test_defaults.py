"""engine/defaults.py: the docs/spec.md section 1 defaults (R1, S1, H0, H1, literal and [defaults]
values) against hand-worked values."""

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


def test_r1_recourse_default():
    """Anti-deficiency states make a primary home with no second lien nonrecourse by default; a
    second lien, a rental, or a recourse state keep the [defaults] value; a row's value wins."""
    rows = [row(property_id="ca", state="CA"), row(property_id="ca2", state="CA", second_lien_balance=1.0),
            row(property_id="carental", state="CA", occupancy="rental"), row(property_id="tx"),
            row(property_id="own", state="CA", recourse=True)]
    w = {r["property_id"]: r["recourse"] for r in wide(rows).iter_rows(named=True)}
    assert w == {"ca": False, "ca2": True, "carental": True, "tx": True, "own": True}
    w = {r["property_id"]: r["recourse"] for r in wide(rows, cfg={"recourse": False}).iter_rows(named=True)}
    assert w == {"ca": False, "ca2": False, "carental": False, "tx": False, "own": True}


def test_h0_h1_and_literal_defaults():
    """H0: primary rent = 300,000·0.05/12 = 1,250; rental default 0. H1: 200,000 at 6.5 % over 300
    months = 200,000·0.0054167/(1 − 1.0054167^−300) = 1,350.41; at 0 % over 240 → 833.33."""
    rows = [row(property_id="a"), row(property_id="b", occupancy="rental"),
            row(property_id="c", interest_rate=0.0, remaining_term_months=240)]
    a, b, c = wide(rows).iter_rows(named=True)
    assert a["rent_monthly"] == pytest.approx(1250)
    assert b["rent_monthly"] == 0
    i = 0.065 / 12
    assert a["monthly_pi"] == pytest.approx(200000 * i / (1 - (1 + i) ** -300))
    assert a["monthly_pi"] == pytest.approx(1350.41, abs=0.005)
    assert c["monthly_pi"] == pytest.approx(200000 / 240)
    assert a["tax_year"] == 2026 and a["filing_status"] == "single" and a["other_taxable_income"] == 75000
    assert a["hold_months"] == 60 and a["vacancy_rate"] == 0.05 and a["qpri_balance"] == 200000
    assert b["qpri_balance"] == 0 and b["rental_start_date"] == date(2015, 1, 1)
    assert a["rental_start_date"] is None


def test_sec1_cfg_defaults_fill_only_nulls():
    rows = [row(property_id="a"), row(property_id="b", filing_status="hoh")]
    a, b = wide(rows, cfg={"filing_status": "mfj", "hold_months": 24}).iter_rows(named=True)
    assert (a["filing_status"], b["filing_status"]) == ("mfj", "hoh")
    assert a["hold_months"] == 24

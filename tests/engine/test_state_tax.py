"""Rule T13, state income tax (issue 20): the table, the lookup, hand-worked cases with state tax on,
rows whose own rates override the table, bad per-row rates, and the property that switching state
tax off gives exactly the federal results.

Expected values are worked by hand from SPEC T2–T13 and the 2025/2026 federal parameters (single:
0 % bound 49,450, 15 % bound 545,500, standard deduction 16,100, NIIT threshold 200,000). State
rates are read from the package's table (data/state_tax.csv, owned by the state-tax research) with
``params.state_tax_row``; the tests check how T13 uses them, and say which law the row encodes.
"""

from __future__ import annotations

import csv
from datetime import date
from importlib import resources

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testkit import AS_OF, assert_explained, row, typed_frame
from dispo import params, schema
from dispo.engine import evaluate_wide
from dispo.params import Assumptions

CENT = 0.005
ON, OFF = Assumptions.from_overrides(), Assumptions.from_overrides({"state_income_tax": False})


def one(assumptions: Assumptions = ON, **kw) -> dict:
    wide = evaluate_wide(typed_frame([row(**kw)]), as_of=AS_OF, assumptions=assumptions)
    return wide.collect().row(0, named=True)


def rates(state: str, year: int) -> tuple[float, float]:
    r = params.state_tax_row(state, year)
    return r["rate_ordinary"], r["rate_ltcg"]


# --- the table --------------------------------------------------------------------------------------

def test_t13_table_has_every_state_of_states_csv_and_every_tax_year():
    table = list(csv.DictReader(resources.files("dispo").joinpath("data", "state_tax.csv")
                                .read_text(encoding="utf-8").splitlines()))
    assert list(table[0]) == ["state", "year", "rate_ordinary", "rate_ltcg", "conforms_qpri", "source"]
    states = {r["state"] for r in table}
    missing = sorted(set(params.state_codes()) - states)
    assert not missing, f"data/state_tax.csv lacks {missing}"
    for r in table:
        assert 0 <= float(r["rate_ordinary"]) <= 0.2 and 0 <= float(r["rate_ltcg"]) <= 0.2, r
        assert r["conforms_qpri"] in ("true", "false") and r["source"].strip(), r
    # every (state, tax_year) a row may have resolves to a table row
    frame = params.state_tax_frame()
    assert frame.height == len(states) * frame["tax_year"].n_unique()
    assert frame.null_count().sum_horizontal().item() == 0


def test_t13_lookup_takes_the_latest_year_not_after_the_tax_year_else_the_earliest(monkeypatch):
    rows = ({"state": "ZZ", "year": 2023, "rate_ordinary": 0.05, "rate_ltcg": 0.05, "conforms_qpri": True,
             "source": "a"},
            {"state": "ZZ", "year": 2025, "rate_ordinary": 0.04, "rate_ltcg": 0.02, "conforms_qpri": False,
             "source": "b"})
    monkeypatch.setattr(params, "state_tax_rows", lambda: rows)
    assert [params.state_tax_row("ZZ", y)["year"] for y in (2021, 2023, 2024, 2025, 2035)] == [
        2023, 2023, 2023, 2025, 2025]
    assert params.state_tax_row("YY", 2025) is None


def test_t13_later_tax_year_uses_the_table_s_last_year():
    r = one(state="CA", tax_year=2031)
    assert r["state_table_year"] == 2026 and r["state_rate_source"] == "data/state_tax.csv CA 2026"


# --- hand-worked cases, state tax on --------------------------------------------------------------

def test_t13_ca_primary_deed_in_lieu_qpri_excluded_federally_taxable_for_california():
    """CA primary on recourse debt (refinanced, so not purchase money: recourse given), 2025, debt
    600,000 all acquisition, FMV 500,000, bought 2018 for 650,000.
    T3 deed-in-lieu: to_liens 500,000 − 3,000 = 497,000; COD 103,000; AR FMV 500,000, a personal
    loss: no gain, no deduction. T6: qpri = min(600,000, 750,000); excluded 103,000 − 0 = 103,000:
    federal cod_taxable 0, federal tax 0.
    T13: California does not follow the QPRI exclusion (conforms_qpri false): cod_taxable_state =
    0 + 103,000 = state_ordinary; state_tax = rate_ordinary·103,000 (13.3 %: 13,699).
    B1: 3,000 − 0 − 13,699. A CA short sale has no COD (580e): no state tax on it."""
    r = one(state="CA", recourse=True, market_value=500000.0, purchase_price=650000.0,
            purchase_date=date(2018, 1, 1), first_lien_balance=600000.0, tax_year=2025)
    ordinary, _ = rates("CA", 2025)
    assert r["conforms_qpri"] is False
    assert r["deed_in_lieu_cod_income"] == pytest.approx(103000)
    assert r["deed_in_lieu_cod_excluded_qpri"] == pytest.approx(103000)
    assert r["deed_in_lieu_federal_tax"] == pytest.approx(0, abs=1e-9)
    assert r["deed_in_lieu_cod_taxable_state"] == pytest.approx(103000)
    assert r["deed_in_lieu_state_ordinary"] == pytest.approx(103000)
    assert r["deed_in_lieu_state_tax"] == pytest.approx(ordinary * 103000, abs=CENT)
    assert r["deed_in_lieu_tax"] == pytest.approx(ordinary * 103000, abs=CENT)
    assert r["deed_in_lieu_borrower_net"] == pytest.approx(3000 - ordinary * 103000, abs=CENT)
    if ordinary == 0.133:  # 12.3 % + the 1 % Mental Health Services Tax (R&TC 17043)
        assert ordinary * 103000 == pytest.approx(13699, abs=CENT)
    assert (r["short_sale_cod_income"], r["short_sale_state_tax"]) == (0, 0)


def test_t13_nj_rental_sale_with_long_term_gain_and_recapture():
    """NJ rental bought 2016-11-22 for 300,000, land 50,000: D1 90,909.09; sold at 500,000, no
    costs: gain 290,909.09 = u 90,909.09 + ltcg 200,000; O 150,000 (single 2026).
    Federal: u25 = 90,909.09 at 25 % = 22,727.27; f = 200,000 at 15 % = 30,000; NIIT 0.038·(150,000 +
    290,909.09 + 16,100 − 200,000 = 257,009.09) = 9,766.35; federal 62,493.62.
    T13: state_ordinary = u = 90,909.09 (the state has no 25 % rate); state_tax = r_ord·90,909.09
    + r_ltcg·200,000 (NJ taxes gains as ordinary income, 10.75 % top: 31,272.73)."""
    dep = 250000 / 27.5 * 10
    r = one(state="NJ", occupancy="rental", purchase_price=300000.0, purchase_date=date(2016, 11, 22),
            land_value=50000.0, market_value=500000.0, first_lien_balance=0.0, selling_cost_rate=0.0,
            other_taxable_income=150000.0, tax_year=2026)
    ordinary, ltcg = rates("NJ", 2026)
    federal = 0.25 * dep + 30000 + 0.038 * (dep + 200000 + 150000 + 16100 - 200000)
    assert r["sale_federal_tax"] == pytest.approx(federal, abs=CENT)
    assert federal == pytest.approx(62493.62, abs=CENT)
    assert r["sale_state_ordinary"] == pytest.approx(dep)
    state = ordinary * dep + ltcg * 200000
    assert r["sale_state_tax"] == pytest.approx(state, abs=CENT)
    assert r["sale_tax"] == pytest.approx(federal + state, abs=CENT)
    assert r["tax_sale_now"] == pytest.approx(federal + state, abs=CENT)  # H4 uses the total
    assert r["sale_borrower_net"] == pytest.approx(500000 - federal - state, abs=CENT)
    if (ordinary, ltcg) == (0.1075, 0.1075):
        assert state == pytest.approx(31272.73, abs=CENT)


def test_t13_ar_sale_taxes_half_the_long_term_gain():
    """AR second home bought 2015 for 100,000, depreciation taken 20,000, sold at 200,000, no
    costs: gain 120,000 = u 20,000 + ltcg 100,000. Arkansas excludes 50 % of a net capital gain
    (Ark. Code 26-51-815), so the table's rate_ltcg is half its rate_ordinary:
    state_tax = r·20,000 + (r/2)·100,000 = 70,000·r."""
    r = one(state="AR", occupancy="second_home", purchase_price=100000.0, purchase_date=date(2015, 1, 1),
            depreciation_taken=20000.0, market_value=200000.0, first_lien_balance=0.0, selling_cost_rate=0.0,
            tax_year=2026)
    ordinary, ltcg = rates("AR", 2026)
    assert ltcg == pytest.approx(ordinary / 2)
    assert (r["sale_unrecaptured_1250"], r["sale_ltcg"]) == (pytest.approx(20000), pytest.approx(100000))
    assert r["sale_state_tax"] == pytest.approx(70000 * ordinary, abs=CENT)


def test_t13_tx_sale_has_no_state_tax():
    r = one(state="TX", occupancy="second_home", purchase_price=100000.0, purchase_date=date(2015, 1, 1),
            market_value=200000.0, first_lien_balance=0.0, selling_cost_rate=0.0, tax_year=2026)
    assert (r["state_rate_ordinary"], r["state_rate_ltcg"]) == (0, 0)
    assert r["sale_state_tax"] == 0 and r["sale_tax"] == r["sale_federal_tax"] > 0


def test_t13_a_row_s_own_rates_override_the_table():
    """CA second home as in the AR case with state_tax_rate 0.05 and state_ltcg_rate 0.02:
    0.05·20,000 + 0.02·100,000 = 3,000, whatever the table says; the row's rates apply even with the
    table switched off; one rate given: the other from the table."""
    kw = dict(state="CA", occupancy="second_home", purchase_price=100000.0, purchase_date=date(2015, 1, 1),
              depreciation_taken=20000.0, market_value=200000.0, first_lien_balance=0.0, selling_cost_rate=0.0,
              tax_year=2026)
    both = one(state_tax_rate=0.05, state_ltcg_rate=0.02, **kw)
    assert (both["state_rate_ordinary"], both["state_rate_ltcg"], both["state_rate_source"]) == (0.05, 0.02, "row")
    assert both["sale_state_tax"] == pytest.approx(3000, abs=CENT)
    off = one(OFF, state_tax_rate=0.05, state_ltcg_rate=0.02, **kw)
    assert off["sale_state_tax"] == pytest.approx(3000, abs=CENT)
    half = one(state_tax_rate=0.05, **kw)
    _, ca_ltcg = rates("CA", 2026)
    assert half["sale_state_tax"] == pytest.approx(0.05 * 20000 + ca_ltcg * 100000, abs=CENT)
    assert half["state_rate_source"] == "ordinary: row; ltcg: data/state_tax.csv CA 2026"
    zero = one(state_tax_rate=0.0, state_ltcg_rate=0.0, **kw)
    assert zero["sale_state_tax"] == 0  # 0 leaves state tax out of one row
    assert one(OFF, **kw)["state_rate_source"] == "off (state_income_tax = false)"


def test_t13_a_deductible_loss_saves_state_tax_down_to_the_other_income():
    """TX-free rental loss in NJ: rental bought 2016-11-22 for 600,000 (D1 0.8·600,000/27.5·10 =
    174,545.45, basis 425,454.55) sold at 200,000: §1231 loss 225,454.55 > O 75,000:
    state_ordinary = max(−75,000, −225,454.55) = −75,000; state_tax = −75,000·r."""
    r = one(state="NJ", occupancy="rental", purchase_price=600000.0, purchase_date=date(2016, 11, 22),
            market_value=200000.0, first_lien_balance=0.0, selling_cost_rate=0.0, tax_year=2026)
    ordinary, _ = rates("NJ", 2026)
    assert r["sale_deductible_loss"] == pytest.approx(600000 - 480000 / 27.5 * 10 - 200000, abs=CENT)
    assert r["sale_state_ordinary"] == pytest.approx(-75000)
    assert r["sale_state_tax"] == pytest.approx(-75000 * ordinary, abs=CENT)


def test_t13_hold_side_pays_state_tax_at_the_horizon():
    """H6: the horizon sale's tax is federal + state as well (NJ rental, appreciation 0: the same
    gain as today, so the same state tax)."""
    r = one(state="NJ", occupancy="rental", purchase_price=300000.0, purchase_date=date(2016, 11, 22),
            land_value=50000.0, market_value=500000.0, first_lien_balance=0.0, selling_cost_rate=0.0,
            appreciation_rate=0.0, hold_months=12, tax_year=2026)
    assert r["horizon_sale_state_tax"] == pytest.approx(r["sale_state_tax"], abs=CENT)
    assert r["tax_sale_at_horizon"] == pytest.approx(r["horizon_sale_federal_tax"] + r["horizon_sale_state_tax"])


# --- bad per-row rates are rejects naming the column ------------------------------------------------

def test_t13_bad_row_rates_are_rejected_naming_the_column(tmp_path):
    from dispo.ingest import ingest
    from dispo.validate import validate

    path = tmp_path / "rates.csv"
    path.write_text("property_id,state,occupancy,market_value,purchase_price,purchase_date,first_lien_balance,"
                    "state_tax_rate,state_ltcg_rate\n"
                    "A,CA,primary,300000,250000,2015-01-01,200000,0.25,abc\n"
                    "B,CA,primary,300000,250000,2015-01-01,200000,5%,0.2\n"
                    "C,CA,primary,300000,250000,2015-01-01,200000,-0.01,\n")
    result = validate(ingest([path], duckdb.connect(), as_of=AS_OF), as_of=AS_OF)
    reasons = {r["row_number"]: r["reasons"] for r in result.rejects.iter_rows(named=True)}
    assert reasons[1] == ["state_tax_rate: must be ≤ 0.2: '0.25'", "state_ltcg_rate: not a number: 'abc'"]
    assert reasons[3] == ["state_tax_rate: must be ≥ 0: '-0.01'"]
    accepted = result.accepted
    assert accepted["property_id"].to_list() == ["B"] and accepted["state_tax_rate"].to_list() == [0.05]


# --- property: state tax off gives exactly the federal results --------------------------------------

money = st.floats(min_value=1.0, max_value=3e6, allow_nan=False, allow_infinity=False)
rows_strategy = st.fixed_dictionaries({
    "state": st.sampled_from(params.state_codes()),
    "occupancy": st.sampled_from(("primary", "rental", "second_home")),
    "market_value": money, "purchase_price": money,
    "purchase_date": st.dates(min_value=date(1990, 1, 1), max_value=AS_OF),
    "first_lien_balance": st.floats(min_value=0, max_value=4e6),
    "recourse": st.one_of(st.none(), st.booleans()),
    "depreciation_taken": st.one_of(st.none(), st.floats(min_value=0, max_value=3e5)),
    "other_taxable_income": st.floats(min_value=0, max_value=2e6),
    "suspended_passive_losses": st.one_of(st.none(), st.floats(min_value=0, max_value=1e5)),
    "tax_year": st.one_of(st.none(), st.integers(2021, 2035)),
    "hold_months": st.one_of(st.none(), st.integers(1, 120)),
    "nonqualified_use_months": st.one_of(st.none(), st.integers(0, 120)),
})
TAX_COLUMNS = [f"{d}_{q}" for d in schema.DISPOSITIONS for q in ("federal_tax", "state_tax", "tax", "borrower_net")]
HOLD_COLUMNS = ["tax_sale_now", "tax_sale_at_horizon", "fv_sell", "fv_hold", "sell_advantage_pv",
                "breakeven_appreciation_rate", "borrower_best_option"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(rows_strategy, min_size=1, max_size=8))
def test_t13_switched_off_gives_exactly_the_federal_results(rows):
    frame = typed_frame([{"property_id": f"p{i}", **r} for i, r in enumerate(rows)])
    cols = TAX_COLUMNS + HOLD_COLUMNS + [f"horizon_sale_{q}" for q in ("federal_tax", "state_tax", "tax")]
    on = evaluate_wide(frame, as_of=AS_OF, assumptions=ON).collect().select(cols)
    off = evaluate_wide(frame, as_of=AS_OF, assumptions=OFF).collect().select(cols)
    for d in (*schema.DISPOSITIONS, "horizon_sale"):
        assert (off[f"{d}_state_tax"] == 0).all()
        assert off[f"{d}_tax"].to_list() == off[f"{d}_federal_tax"].to_list()  # exactly, not approximately
        assert off[f"{d}_federal_tax"].to_list() == on[f"{d}_federal_tax"].to_list()  # T13 leaves T1–T11 alone
    assert off["tax_sale_now"].to_list() == off["sale_federal_tax"].to_list()
    assert off["tax_sale_at_horizon"].to_list() == off["horizon_sale_federal_tax"].to_list()
    # where the state has no income tax the switch changes nothing at all
    free = [i for i, r in enumerate(rows) if params.state_tax_row(r["state"], r["tax_year"] or AS_OF.year)
            ["rate_ordinary"] == 0 and params.state_tax_row(r["state"], r["tax_year"] or AS_OF.year)["rate_ltcg"] == 0]
    if free:
        assert on[free].equals(off[free])


def test_t13_tax_outcomes_carry_the_state_columns():
    assert {"federal_tax", "state_tax"} <= set(schema.T12_QUANTITIES)
    assert {"state_rate_ordinary", "state_rate_ltcg"} <= set(schema.TAX_OUTCOME_EXTRA)
    r = one(state="NJ")
    assert r["foreclosure_state_rate_ordinary"] == r["state_rate_ordinary"] == rates("NJ", 2026)[0]
    assert not schema.is_money("state_rate_ltcg")


@pytest.mark.parametrize("column,rule,words", [
    ("state_rate_ordinary", "T13", "state_tax_rate if given"),
    ("state_rate_ltcg", "T13", "state_ltcg_rate if given"),
    ("state_rate_source", "T13", "where the two rates came from"),
    ("state_table_rate_ordinary", "data", "data/state_tax.csv"),
    ("state_table_year", "data", "largest year ≤ tax_year"),
    ("deed_in_lieu_cod_taxable_state", "T13", "conforms_qpri"),
    ("sale_state_ordinary", "T13", "other_taxable_income"),
    ("sale_state_tax", "T13", "rate_ordinary·state_ordinary"),
    ("horizon_sale_state_tax", "H6/T13", "rate_ordinary·state_ordinary"),
    ("sale_federal_tax", "T11", "ordinary_tax + tax_1250"),
    ("sale_tax", "T11", "federal_tax + state_tax"),
])
def test_t13_explain_shows_each_step_and_where_the_rates_came_from(column, rule, words):
    assert_explained(column, rule, words)

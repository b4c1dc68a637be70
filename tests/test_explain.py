"""``dispo explain``: every intermediate of one property, in SPEC order, with rule ids and formulas
harvested from the engine's docstrings."""

from __future__ import annotations

import json
import textwrap

import polars as pl
import pytest

from dispo import explain as ex
from dispo import schema
from dispo.errors import DispoError
from testkit import GOLDEN, golden_pending
from typer.testing import CliRunner

from dispo.cli import app


def cli(*args: str, columns: int = 200):
    """The CLI in-process (Great Expectations is imported once for the whole module)."""
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns)}, catch_exceptions=False)

EXPECTED = json.loads((GOLDEN / "expected.json").read_text())


@pytest.fixture(scope="module")
def g10():
    return ex.explain_from_pipeline("G10", GOLDEN / "pipeline.toml")


def test_g10_lender_values_and_rule_ids(g10):
    values = {"claim": 462000, "pv_foreclosure": 255040, "pv_short_sale": 333000, "min_acceptable_offer": 280574.47,
              "pv_deed_in_lieu": 258340, "foreclosure_months": 12, "lender_savings_vs_foreclosure": 77960}
    for column, expected in values.items():
        assert g10.step(column).value == pytest.approx(expected, abs=0.01), column
    rules = {st.rule for s in g10.sections for st in s.steps}
    for rule in ("L1", "L2", "L3", "L4", "L5", "L6", "L7", "L8", "L9"):
        assert rule in rules, rule
    assert g10.step("pv_foreclosure").rule == "L4"
    assert g10.step("min_acceptable_offer").rule == "L8"
    assert g10.step("pv_short_sale").formula.startswith("min(net, claim)·v(Tss)")
    # L8 (rev. 2): no offer in hand, so no judgement of one
    assert g10.step("offer_acceptable").value is None and g10.step("offer_status").value == "none"
    for rule in ("L10", "M1", "M2", "M3", "M4", "M5", "M7"):
        assert rule in rules, rule
    assert g10.step("pv_modification").rule == "M4" and g10.step("pv_no_modification").rule == "M5"
    assert g10.source_file == "cases.csv" and g10.row_number == 10


def test_every_golden_value_is_shown(g10):
    for key, expected in EXPECTED["cases"]["G10"].items():
        if key.startswith("_") or golden_pending("G10", key):
            continue
        got = g10.step(key).value
        assert got == expected if isinstance(expected, (bool, str)) else got == pytest.approx(expected, abs=0.01)


def test_spec_order_and_completeness(g10):
    titles = [s.title for s in g10.sections]
    order = ["Inputs", "State facts", "Shared", "Tax, every", "Tax of a sale", "Tax of a short-sale",
             "Tax of a deed-in-lieu", "Tax of a foreclosure", "Borrower", "Lender", "Sell now vs hold"]
    assert [next(i for i, t in enumerate(titles) if t.startswith(o)) for o in order] == sorted(
        next(i for i, t in enumerate(titles) if t.startswith(o)) for o in order)
    shown = [st.column for s in g10.sections for st in s.steps]
    assert len(shown) == len(set(shown))
    for c in (*schema.NAMES, *schema.RESULT_OUTPUTS):  # every input and every output is explained
        assert c in shown, c
    lender = next(s for s in g10.sections if s.title.startswith("Lender"))
    keys = [ex.rule_key(st.rule) for st in lender.steps]
    assert keys == sorted(keys)  # claim (§5) first, then L1 … L9
    assert all(st.rule and st.formula for s in g10.sections for st in s.steps if s.title != "Other intermediates")


def test_defaults_are_marked(g10):
    assert g10.step("interest_rate").note == "default"
    assert g10.step("market_value").note == ""
    assert g10.step("recourse").rule == "R1" and g10.step("monthly_pi").rule == "H1"


def test_rule_ids_come_from_the_docstrings():
    from dispo.engine import lender, tax

    assert ex.rule_for("pv_foreclosure").source == "dispo.engine.lender.pv_foreclosure"
    assert lender.pv_foreclosure.__doc__.lstrip().startswith("L4:")
    r = ex.rule_for("short_sale_cod_excluded_qpri")
    assert r.rule == "T6.2" and r.source == "dispo.engine.tax.cod_excluded_qpri"
    assert tax.cod_excluded_qpri.__doc__.lstrip().startswith("T6.2")
    assert ex.rule_for("horizon_sale_gain").rule == "H6/T4"
    assert ex.rule_for("lender_severity_deed_in_lieu").rule == "L6"
    assert ex.rule_for("v_reo_sale").rule == "L4"
    assert ex.rule_for("depreciation").rule == "D1"
    assert ex.rule_for("sec121_max").rule == "S3"
    foreclosure_tax = ex.rule_for("foreclosure_tax")  # T11 of the foreclosure's own T3 (rev. 2: no relocation)
    assert foreclosure_tax.rule == "T11" and foreclosure_tax.source == "dispo.engine.tax.tax"
    assert foreclosure_tax.formula.startswith("federal_tax + state_tax (T13)")
    assert ex.rule_for("foreclosure_federal_tax").formula.startswith("ordinary_tax + tax_1250 + ltcg_tax + niit")
    v = ex.rule_for("v_reo_sale")
    assert v.source == "dispo.engine.lender.discount_factor" and "t = months_to_reo_sale" in v.formula
    assert ex.rule_for("breakeven_amount_realized").rule == "H9"
    assert ex.rule_for("sec121_max_at_horizon").rule == "H6/S3"


@pytest.mark.parametrize("doc,rule,words", [
    ("L4: min(claim, x) ($).", "L4", "min(claim, x) ($)."),
    ("D1 (§1016(a)(2), allowed or allowable): max(a, b) ($).", "D1", "max(a, b) ($)."),
    ("H4 r = (1 + x)^(1/12) − 1", "H4", "r = (1 + x)^(1/12) − 1"),
    ("SPEC 5 (preamble): j = 1", "§5", "j = 1"),
    ("H9 helper: the part", "H9", "the part"),
    ("T2/T3: max(0, d)\n\n    more", "T2/T3", "max(0, d)"),
    ("Principal owed ($).", "§3", "Principal owed ($)."),
])
def test_parse_docstring(doc, rule, words):
    assert ex.parse_docstring(doc, "§3") == (rule, words)


def test_json_cli_and_text_cli():
    proc = cli("explain", "G10", "--pipeline", str(GOLDEN / "pipeline.toml"), "--json")
    assert proc.exit_code == 0, proc.stderr
    data = json.loads(proc.stdout)
    steps = {st["column"]: st for s in data["sections"] for st in s["steps"]}
    assert steps["claim"]["value"] == 462000 and steps["min_acceptable_offer"]["rule"] == "L8"
    assert steps["min_acceptable_offer"]["value"] == pytest.approx(280574.47, abs=0.01)
    assert data["as_of"] == "2026-11-22" and data["assumptions_changed"] == {"lender_discount_rate": 0.0,
                                                                         "state_income_tax": False}
    text = cli("explain", "G10", "--pipeline", str(GOLDEN / "pipeline.toml"))
    assert text.exit_code == 0, text.stderr
    assert "280,574.47" in text.stdout and "pv_foreclosure" in text.stdout and "L8" in text.stdout


@pytest.fixture
def messy_pipeline(tmp_path):
    (tmp_path / "in.csv").write_text(textwrap.dedent("""\
        property_id,state,occupancy,market_value,purchase_price,purchase_date,first_lien_balance,address
        OK1,TX,primary,300000,250000,2015-01-01,200000,<script>alert(1)</script>
        BAD1,TX,primary,-5,250000,2015-01-01,200000,
        DUP,TX,primary,300000,250000,2015-01-01,200000,
        DUP,TX,rental,300000,250000,2015-01-01,200000,
        """))
    (tmp_path / "p.toml").write_text('[pipeline]\nname = "m"\ninputs = ["in.csv"]\noutput_dir = "out"\n'
                                     'as_of = "2026-11-22"\nmax_reject_fraction = 1.0\n')
    return tmp_path / "p.toml"


def test_rejected_row_is_an_error_with_reasons(messy_pipeline):
    with pytest.raises(DispoError, match=r"BAD1: the row was rejected.*in.csv row 2: market_value: must be > 0"):
        ex.explain_from_pipeline("BAD1", messy_pipeline)
    with pytest.raises(DispoError, match=r"duplicate id \(2 rows\)"):
        ex.explain_from_pipeline("DUP", messy_pipeline)
    with pytest.raises(DispoError, match="no row with this property_id"):
        ex.explain_from_pipeline("NOPE", messy_pipeline)
    ok = ex.explain_from_pipeline("OK1", messy_pipeline)
    assert ok.step("address").value == "<script>alert(1)</script>"


def test_cli_errors_are_one_line_exit_1(messy_pipeline):
    for args in (["BAD1", "--pipeline", str(messy_pipeline)], ["NOPE", "--pipeline", str(messy_pipeline)],
                 ["OK1"], ["OK1", "--pipeline", str(messy_pipeline), "--run", "x"]):
        proc = cli("explain", *args)
        assert proc.exit_code == 1, (args, proc.stdout)
        lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr


def test_explain_a_finished_run(messy_pipeline, tmp_path):
    out = tmp_path / "run"
    proc = cli("run", str(messy_pipeline), "--out", str(out), "-q")
    assert proc.exit_code == 0, proc.stderr
    from_run = ex.explain_from_run("OK1", out)
    from_pipeline = ex.explain_from_pipeline("OK1", messy_pipeline)
    assert from_run.mismatches == []
    for column in ("pv_foreclosure", "sale_tax", "fv_hold", "breakeven_appreciation_rate", "sec121_max"):
        assert from_run.step(column).value == pytest.approx(from_pipeline.step(column).value, abs=1e-9)
    with pytest.raises(DispoError, match="BAD1: the row was rejected"):
        ex.explain_from_run("BAD1", out)
    with pytest.raises(DispoError, match="no row with this property_id"):
        ex.explain_from_run("NOPE", out)
    stored = pl.read_parquet(out / "results.parquet")
    assert stored.filter(pl.col("property_id") == "OK1").height == 1


def test_sec5_5_explain_says_which_level_supplied_each_assumption():
    """SPEC 5.5: precedence row > investor > pipeline > default, and explain names the level."""
    from datetime import date

    from dispo.engine import evaluate_wide
    from dispo.params import Assumptions
    from testkit import row

    given = {**row(property_id="A", investor_type="fha", relocation_assistance=500.0)}
    typed = pl.DataFrame([given]).with_columns(pl.col("purchase_date").cast(pl.Date))
    assumptions = Assumptions.from_overrides({"reo_discount": 0.3})
    wide = evaluate_wide(typed, as_of=date(2026, 11, 22), assumptions=assumptions).collect().row(0, named=True)
    steps = {st.column: st for s in ex.explain_row(wide, given, assumptions) for st in s.steps}
    assert (steps["relocation_assistance"].value, steps["relocation_assistance"].note) == (500.0, "from row")
    assert steps["junior_lien_payoff_cap"].note == "from investor fha"
    assert (steps["reo_discount"].value, steps["reo_discount"].note) == (0.3, "from pipeline")
    assert (steps["dil_cost"].value, steps["dil_cost"].note) == (1000.0, "from default")


def test_money_intermediates_print_as_money_whatever_their_name(g10):
    """T8's worksheet line 19 (``*_regular_rate_income``) and its tax are dollars though their names
    hold "rate"; a ratio of dollars (M1's payment factor) and rates stay plain numbers."""
    def shown(column):
        st = g10.step(column)
        return ex.format_value(column, st.value, st.formula)

    # G10: other_taxable_income 75,000 is all of w19; T(75,000) for a single filer in 2026 is 11,212
    assert shown("sale_regular_rate_income") == "75,000.00"
    assert shown("horizon_sale_regular_rate_income") == "75,000.00"
    assert shown("sale_tax_on_regular_rate_income") == "11,212.00"
    assert shown("sale_tax_on_ordinary_income") == "11,212.00"
    # M1 step 3: pmt(1, 6.25 %/12, 480) = 0.0056773957…, a ratio, not 0.01 dollars
    assert shown("mod_payment_factor") == "0.005677395733"
    assert shown("mod_interest_rate") == "0.0625"
    assert shown("breakeven_appreciation_rate").startswith("0.0335647")
    assert shown("sale_state_rate_ordinary") == "0"
    assert shown("advances") == "600.00"  # $/month: (6,000 + 1,200)/12
    for s in g10.sections:  # every money output of section 7 is shown as money, every rate as a rate
        for st in s.steps:
            if st.column in schema.RESULT_OUTPUTS and isinstance(st.value, float):
                assert ex.is_money_step(st.column, st.formula) == schema.is_money(st.column), st.column


def test_switches_read_true_or_false(g10):
    """SPEC 5.5: dil_with_junior_release is a switch (held as 1.0/0.0 in the frame): explain says
    true/false, in text and JSON; the header's state_income_tax = false, not 0."""
    st = g10.step("dil_with_junior_release")
    assert st.value is True and st.note == "from default"
    assert ex.format_value("dil_with_junior_release", 1.0) == "true"
    assert ex.format_value("dil_with_junior_release", 0.0) == "false"
    assert ex.format_value("state_income_tax", False) == "false"
    text = cli("explain", "G10", "--pipeline", str(GOLDEN / "pipeline.toml"))
    assert "state_income_tax = false" in text.stdout and "lender_discount_rate = 0" in text.stdout
    line = next(x for x in text.stdout.splitlines() if " dil_with_junior_release " in x)
    assert "true (from default)" in line


def test_money_assumptions_print_as_money(g10):
    """data/assumptions.toml's money = true (SPEC 5.1-5.3 costs in dollars): explain shows them to
    the cent, and they are money for CSV/XLSX too (schema.is_money); rates and months are not."""
    for column, shown in (("mod_cost", "1,000.00"), ("dil_cost", "1,000.00"), ("junior_lien_payoff_cap", "6,000.00"),
                          ("relocation_assistance", "3,000.00"), ("preservation_monthly", "150.00")):
        st = g10.step(column)
        assert schema.is_money(column), column
        assert ex.format_value(column, st.value, st.formula) == shown, column
    for column in ("reo_discount", "lender_discount_rate", "reo_marketing_months", "mod_term_months"):
        assert not schema.is_money(column), column

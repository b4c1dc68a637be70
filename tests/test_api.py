"""The Python API ``dispo.evaluate`` (README "Python API (notebooks)")."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest

import dispo
from dispo import schema
from testkit import AS_OF, row, typed_frame

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs(capsys):
    text = README.read_text(encoding="utf-8")
    m = re.search(r"<!-- api-example:begin -->\s*```python\n(.*?)```\s*<!-- api-example:end -->", text, re.S)
    assert m, "README has no Python API example between the api-example markers"
    namespace: dict = {}
    exec(compile(m.group(1), "README.md", "exec"), namespace)
    out = namespace["out"]
    assert out.height == 2
    assert out["portfolio"].to_list() == ["north", "west"]
    assert "A1" in capsys.readouterr().out


def test_outputs_are_results_columns_in_input_order():
    df = typed_frame([row(property_id="B"), row(property_id="A", occupancy="rental")])
    out = dispo.evaluate(df, as_of=AS_OF)
    assert out["property_id"].to_list() == ["B", "A"]
    # SPEC 5.5: a per-row assumption column is in the results only when the input gives it
    inputs = [n for n in schema.NAMES if n not in schema.ASSUMPTION_NAMES]
    assert list(out.columns) == inputs + list(schema.RESULT_OUTPUTS)


def test_as_of_string_assumptions_and_defaults_apply():
    df = typed_frame([row(months_delinquent=3)])
    base = dispo.evaluate(df, as_of=AS_OF)
    same = dispo.evaluate(df, as_of="2026-11-22")
    assert same.equals(base)
    deeper = dispo.evaluate(df, as_of=AS_OF, assumptions={"reo_discount": 0.40})
    assert deeper["pv_foreclosure"][0] < base["pv_foreclosure"][0]
    assert dispo.evaluate(df, as_of=AS_OF, defaults={"filing_status": "mfj"})["filing_status"][0] == "mfj"
    assert base["filing_status"][0] == "single"


def test_lazy_frame_and_extra_columns_carried_through():
    df = typed_frame([row()]).with_columns(note=pl.lit("keep me"))
    out = dispo.evaluate(df.lazy(), as_of=date(2026, 11, 22))
    assert out["note"].to_list() == ["keep me"]


def test_missing_required_column_is_a_clear_error():
    df = typed_frame([row()]).drop("market_value")
    with pytest.raises(ValueError, match="market_value"):
        dispo.evaluate(df, as_of=AS_OF)


def test_unknown_assumption_is_an_error():
    with pytest.raises(ValueError, match="unknown assumption"):
        dispo.evaluate(typed_frame([row()]), as_of=AS_OF, assumptions={"no_such_thing": 1.0})


def test_not_a_polars_frame():
    with pytest.raises(TypeError):
        dispo.evaluate([{"property_id": "x"}], as_of=AS_OF)


# --- pandas in, pandas out; dispo.validate (issue 18) ------------------------------------------------

def test_pandas_frame_comes_back_as_pandas():
    import pandas as pd

    df = typed_frame([row(property_id="B"), row(property_id="A", occupancy="rental")])
    expected = dispo.evaluate(df, as_of=AS_OF)
    out = dispo.evaluate(df.to_pandas(), as_of=AS_OF)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == expected.columns
    assert out["pv_foreclosure"].tolist() == pytest.approx(expected["pv_foreclosure"].to_list())
    assert isinstance(dispo.evaluate(df.to_pandas(), as_of=AS_OF, output="polars"), pl.DataFrame)
    assert isinstance(dispo.evaluate(df, as_of=AS_OF, output="pandas"), pd.DataFrame)


def test_validate_parses_and_rejects_as_a_run_does():
    import pandas as pd

    raw = pd.DataFrame({
        "Loan": ["A1", "A2", "A3"], "state": [" tx", "CA", "ZZ"], "occupancy": ["Rental", "primary", "rental"],
        "market_value": ["$300,000", "-5", "100"], "purchase_price": [250000, 250000, 90],
        "purchase_date": ["7/2/2015", "2015-01-01", "2015-01-01"], "first_lien_balance": [200000.0, 0.0, 10.0],
        "interest_rate": ["6%", None, "abc"]})
    checked = dispo.validate(raw, as_of="2026-11-22", columns={"Loan": "property_id"}, date_formats=["%m/%d/%Y"])
    assert isinstance(checked.accepted, pd.DataFrame) and not checked.ok
    a = pl.from_pandas(checked.accepted)
    assert a["property_id"].to_list() == ["A1"] and a["state"].to_list() == ["TX"]
    assert a["market_value"].to_list() == [300000.0] and a["interest_rate"].to_list() == [pytest.approx(0.06)]
    assert a["purchase_date"].dt.date().to_list() == [date(2015, 7, 2)]  # pandas has no date dtype
    assert dispo.validate(raw, as_of="2026-11-22", columns={"Loan": "property_id"}, date_formats=["%m/%d/%Y"],
                          output="polars").accepted["purchase_date"].to_list() == [date(2015, 7, 2)]
    rejects = pl.from_pandas(checked.rejects)
    assert rejects["property_id"].to_list() == ["A2", "A3"]
    assert rejects["source_file"].to_list() == ["dataframe", "dataframe"]
    assert rejects["row_number"].to_list() == [2, 3]
    assert list(rejects["reasons"][0]) == ["market_value: must be > 0: '-5'"]
    assert list(rejects["reasons"][1]) == ["state: not one of the 51 allowed values: 'ZZ'",
                                           "interest_rate: not a number: 'abc'"]  # by column, schema order
    out = dispo.evaluate(checked.accepted, as_of="2026-11-22", output="polars")
    assert out["property_id"].to_list() == ["A1"] and out["equity"].to_list() == [pytest.approx(100000.0)]


def test_validate_bad_options_and_missing_columns_are_value_errors():
    import dispo.validate  # noqa: F401 - the package of the same name: dispo.validate stays callable

    df = typed_frame([row()]).drop("state")
    with pytest.raises(ValueError, match="required column 'state' is missing"):
        dispo.validate(df, as_of=AS_OF)
    with pytest.raises(ValueError, match="not a dispo column"):
        dispo.validate(typed_frame([row()]), as_of=AS_OF, columns={"x": "nope"})

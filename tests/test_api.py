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

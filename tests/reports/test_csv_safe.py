"""csv_safe: formula neutralisation, money to cents in CSV only, text forms of other types."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import polars as pl
import pytest

from dispo.reports import csv_safe


def _csv_rows(frame: pl.DataFrame, tmp_path) -> list[dict[str, str]]:
    path = tmp_path / "t.csv"
    csv_safe.write_safe_csv(frame, path)
    text = path.read_bytes().decode("utf-8")
    assert not text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("cell, expected", [
    ("=SUM(A1)", "'=SUM(A1)"),
    ("+1", "'+1"),
    ("-2", "'-2"),
    ("@x", "'@x"),
    ("\tx", "'\tx"),
    ("\rx", "'\rx"),
    ("a=b", "a=b"),
    ("1 Main St", "1 Main St"),
    (" =x", " =x"),
    ("", ""),
])
def test_text_cells_neutralised(tmp_path, cell, expected):
    rows = _csv_rows(pl.DataFrame({"address": [cell]}), tmp_path)
    assert rows[0]["address"] == expected
    assert csv_safe.neutralise_text(cell) == expected


def test_numbers_are_not_neutralised(tmp_path):
    df = pl.DataFrame({"ltv": [-2.5], "months_delinquent": [-3], "gain": [-1234.5], "note": ["-2.5"]})
    row = _csv_rows(df, tmp_path)[0]
    assert row == {"ltv": "-2.5", "months_delinquent": "-3", "gain": "-1234.50", "note": "'-2.5"}


def test_lists_joined_then_neutralised(tmp_path):
    df = pl.DataFrame({"reasons": [["market_value: not a number: 'x'", "state: bad: '=1'"],
                                   ["=cmd|' /C calc'!A0", "b"], [], None],
                       "row_number": [1, 2, 3, 4]})  # a second column: csv skips blank lines
    got = [r["reasons"] for r in _csv_rows(df, tmp_path)]
    assert got == ["market_value: not a number: 'x'; state: bad: '=1'", "'=cmd|' /C calc'!A0; b", "", ""]


def test_categorical_and_header_neutralised(tmp_path):
    df = pl.DataFrame({"=evil": pl.Series(["@a", "ok"], dtype=pl.Categorical)})
    rows = _csv_rows(df, tmp_path)
    assert list(rows[0]) == ["'=evil"]
    assert [r["'=evil"] for r in rows] == ["'@a", "ok"]


def test_money_to_cents_rates_and_months_to_6_decimals(tmp_path):
    """docs/outputs.md: money to cents; rates, shares and months to 6 decimals in their shortest
    form (half away from zero, no negative zero); an unknown float column as it is."""
    df = pl.DataFrame({
        "market_value": [0.125, -0.125, 2.675, 1.005, 1234.5, -0.001, None, 1e12 + 0.005],
        "ltv": [0.123456789012345, 0.1 + 0.2, 1e-7, -0.5, 2.0, None, -4e-7, 1 - 2 ** -53],
        "breakeven_months": [12.3456789, 100 / 7, 1 / 3, 0.0, 60.0, None, 2.5, float("inf")],
        "interest_rate": [0.0654321] * 8,
        "p_redefault": [0.19999999999999996] * 8,
        "score": [0.1 + 0.2] * 8,  # an extra input column dispo does not know
    })
    rows = _csv_rows(df, tmp_path)
    assert [r["market_value"] for r in rows] == [
        "0.13", "-0.13", "2.68", "1.00", "1234.50", "0.00", "", "1000000000000.01"]
    assert [r["ltv"] for r in rows] == ["0.123457", "0.3", "0.0", "-0.5", "2.0", "", "0.0", "1.0"]
    assert [r["breakeven_months"] for r in rows] == ["12.345679", "14.285714", "0.333333", "0.0", "60.0", "",
                                                     "2.5", "inf"]
    assert {r["interest_rate"] for r in rows} == {"0.065432"}
    assert {r["p_redefault"] for r in rows} == {"0.2"}
    assert {r["score"] for r in rows} == {"0.30000000000000004"}
    assert pl.read_csv(tmp_path / "t.csv")["ltv"].dtype == pl.Float64  # still numbers for a spreadsheet


def test_money_non_finite_is_spelt_out(tmp_path):
    rows = _csv_rows(pl.DataFrame({"tax": [float("nan"), float("inf"), 1.0]}), tmp_path)
    assert [r["tax"] for r in rows] == ["NaN", "inf", "1.00"]


def test_int_bool_date_null_forms(tmp_path):
    df = pl.DataFrame({
        "months_held": [12, None],
        "underwater": [True, False],
        "urgent": [None, True],
        "purchase_date": [date(2020, 2, 29), None],
        "at": [datetime(2026, 11, 22, 8, 30), None],
        "address": [None, ""],
    })
    path = tmp_path / "t.csv"
    csv_safe.write_safe_csv(df, path)
    lines = path.read_text().splitlines()
    assert lines[0] == "months_held,underwater,urgent,purchase_date,at,address"
    assert lines[1] == "12,true,,2020-02-29,2026-11-22T08:30:00,"
    assert lines[2] == ',false,true,,,""'  # null is empty; an empty string stays ""


def test_safe_frame_leaves_input_alone():
    df = pl.DataFrame({"address": ["=x"], "gain": [1.005]})
    before = df.clone()
    csv_safe.safe_csv_frame(df)
    assert df.equals(before)


def test_round_money_expression():
    s = pl.Series([0.125, -0.125, -0.001, 2.5]).to_frame("x").select(csv_safe.round_money(pl.col("x")))["x"]
    assert s.to_list() == [0.13, -0.13, 0.0, 2.5]
    assert str(s[2]) == "0.0"  # not -0.0

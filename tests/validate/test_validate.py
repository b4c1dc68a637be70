"""Validation: the GX suite from the schema, reasons per row, quarantine (SPEC section 1).

GX takes seconds to import: every test here shares the module-scoped results below.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from dispo import schema
from dispo.ingest import IngestResult, ingest
from dispo.validate import RowConservationError, ValidationResult, validate, validation_suite

AS_OF = date(2026, 11, 22)
MESSY = Path(__file__).parents[1] / "data" / "messy" / "portfolio.csv"

EXPECTED_REJECTS = {
    3: ["market_value: not a number: 'abc'"],
    4: ["remaining_term_months: not a whole number: '12.5'"],
    5: ["recourse: not a boolean (true/false, yes/no, 1/0): 'maybe'"],
    6: ["purchase_date: not a valid ISO date (YYYY-MM-DD): '01/02/2020'"],
    7: ["purchase_date: not a valid ISO date (YYYY-MM-DD): '2026-02-30'"],  # required, but one reason
    8: ["second_lien_balance: must be ≥ 0: '-5'", "remaining_term_months: must be ≤ 480: '481'"],
    9: ["market_value: must be > 0: '0'", "vacancy_rate: must be < 1: '1'"],
    10: ["state: not one of the 51 allowed values: 'XX'",
         "occupancy: not one of primary, rental, second_home: 'owner'",
         "hardship: not one of job_loss, job_change, divorce, medical, rate_reset, rental_loss, death, other: 'bored'"],
    11: ["property_id: required value missing: ''", "purchase_price: required value missing: 'NA'"],
    12: ["property_id: duplicate id (3 rows): 'D01'"],
    13: ["property_id: duplicate id (3 rows): 'D01'"],
    14: ["purchase_date: after as_of 2026-11-22: '2027-01-01'"],
    15: ["property_id: duplicate id (3 rows): 'D01'"],
    16: ["rental_start_date: before purchase_date: '2019-12-31'"],
    17: ["rental_start_date: after as_of 2026-11-22: '2026-12-01'"],
    18: ["qpri_balance: more than first_lien_balance + second_lien_balance: '1600'"],
    19: ["row: has 4 fields, header has 16"],
    20: ["row: has 17 fields, header has 16"],
    23: ["state: not one of the 51 allowed values: 'XX'", "market_value: not a number: 'abc'"],
    24: ["market_value: number out of range: '1e400'", "purchase_price: not a number: 'nan'",
         "first_lien_balance: must be ≤ 1e12: '2e12'"],
}


@pytest.fixture(scope="module")
def ingested() -> IngestResult:
    return ingest([MESSY], duckdb.connect(), as_of=AS_OF)


@pytest.fixture(scope="module")
def validated(ingested) -> ValidationResult:
    return validate(ingested, as_of=AS_OF)


def test_every_reject_and_its_reasons(validated):
    r = validated.rejects
    assert dict(zip(r["row_number"].to_list(), r["reasons"].to_list())) == EXPECTED_REJECTS


def test_accepted_rows(validated):
    assert validated.accepted["row_number"].to_list() == [1, 2, 21, 22]
    assert validated.accepted["property_id"].to_list() == ["A01", "A02", "A21", "A22"]


def test_row_conservation(validated, ingested):
    assert validated.rows_read == ingested.rows_read == 24
    assert validated.rows_accepted + validated.rows_rejected == 24
    keys = pl.concat([validated.accepted.select("source_file", "row_number"),
                      validated.rejects.select("source_file", "row_number")])
    assert keys.sort("row_number")["row_number"].to_list() == list(range(1, 25))


def test_conservation_is_enforced(ingested):
    broken = dataclasses.replace(ingested, rows_per_file={"portfolio.csv": 25})
    with pytest.raises(RowConservationError):
        validate(broken, as_of=AS_OF)


def test_rejects_frame_shape(validated, ingested):
    r = validated.rejects
    # SPEC 7: lineage, the spreadsheet line (header line 1 + row_number), property_id (raw), reasons
    assert r.columns == ["source_file", "row_number", "spreadsheet_line", "property_id", "reasons",
                         *(c for c in ingested.input_columns if c != "property_id")]
    assert (r["spreadsheet_line"] == r["row_number"] + 1).all()
    assert r.schema["reasons"] == pl.List(pl.String)
    assert r["source_file"].unique().to_list() == ["portfolio.csv"]
    assert r["row_number"].is_sorted()
    assert all(v is None or isinstance(v, str) for v in r["market_value"].to_list())  # raw text
    row = r.filter(pl.col("row_number") == 23).row(0, named=True)
    assert (row["state"], row["market_value"], row["note"]) == ("XX", "abc", "two reasons")


def test_accepted_frame_shape(validated, ingested):
    a = validated.accepted
    assert a.columns == [c for c in ingested.typed.columns if c != "parse_reasons"]
    row = a.filter(pl.col("row_number") == 2).row(0, named=True)
    assert (row["state"], row["market_value"], row["vacancy_rate"], row["recourse"]) == ("TX", 1200.5, 0.06, True)
    assert row["note"] == "lenient"


def test_reasons_counted(validated):
    counted = validated.reasons_counted
    assert counted["property_id: duplicate id"] == 3
    assert counted["market_value: not a number"] == 2
    assert counted["row: has N fields, header has M"] == 2
    assert counted["purchase_date: after as_of 2026-11-22"] == 1
    assert sum(counted.values()) == sum(len(v) for v in EXPECTED_REJECTS.values())


def test_gx_result_kept(validated):
    assert validated.gx_result is not None
    assert not validated.gx_result.success


def test_suite_is_derived_from_the_schema():
    suite = validation_suite()
    by_type: dict[str, list] = {}
    for e in suite.expectations:
        by_type.setdefault(e.expectation_type, []).append(e)
    assert len(by_type["expect_column_values_to_not_be_null"]) == len(schema.REQUIRED)
    assert len(by_type["expect_column_values_to_be_between"]) == sum(c.has_bounds for c in schema.COLUMNS)
    assert len(by_type["expect_column_values_to_be_unique"]) == 1
    assert len(by_type["expect_column_values_to_be_in_set"]) == (
        sum(bool(c.allowed) for c in schema.COLUMNS) + len(schema.CROSS_RULES))
    mv = next(e for e in by_type["expect_column_values_to_be_between"] if e.column == "market_value")
    assert (mv.min_value, mv.strict_min, mv.max_value, mv.strict_max) == (0, True, schema.MONEY_MAX, False)


def test_clean_file_all_accepted(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text(
        "property_id,state,occupancy,market_value,purchase_price,purchase_date,first_lien_balance\n"
        "P1,TX,rental,200000,150000,2020-01-01,100000\n"
        "P2,CA,primary,300000,250000,2021-01-01,0\n", encoding="utf-8")
    result = validate(ingest([path], duckdb.connect(), as_of=AS_OF), as_of=AS_OF)
    assert result.rows_accepted == 2 and result.rows_rejected == 0
    assert result.reasons_counted == {}
    assert result.rejects.columns[:5] == ["source_file", "row_number", "spreadsheet_line", "property_id", "reasons"]


def test_duplicates_across_files(tmp_path):
    header = "property_id,state,occupancy,market_value,purchase_price,purchase_date,first_lien_balance\n"
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    a.write_text(header + "P1,TX,rental,1,1,2020-01-01,0\nP2,TX,rental,1,1,2020-01-01,0\n", encoding="utf-8")
    b.write_text(header + " P1 ,TX,rental,1,1,2020-01-01,0\np2,TX,rental,1,1,2020-01-01,0\n", encoding="utf-8")
    result = validate(ingest([a, b], duckdb.connect(), as_of=AS_OF), as_of=AS_OF)
    r = result.rejects
    assert list(zip(r["source_file"], r["row_number"], r["reasons"].to_list())) == [
        ("a.csv", 1, ["property_id: duplicate id (2 rows): 'P1'"]),
        ("b.csv", 1, ["property_id: duplicate id (2 rows): ' P1 '"]),
    ]
    assert result.accepted["property_id"].to_list() == ["P2", "p2"]  # case-sensitive


def test_m8_5_4_5_5_lender_inputs_rejected_with_column_and_value(tmp_path):
    """Issue 16 bad input: income ≤ 0, an unknown investor_type, a per-row assumption out of its
    bounds (SPEC 5.5), prior_modifications not whole: each a reason naming the column and value."""
    path = tmp_path / "lender.csv"
    head = "property_id,state,occupancy,market_value,purchase_price,purchase_date,first_lien_balance,"
    path.write_text(
        head + "monthly_gross_income,investor_type,reo_discount,prior_modifications,mod_term_months\n"
        "OK,TX,primary,200000,150000,2020-01-01,100000,5000,FHA,0.3,1,480\n"
        "INC,TX,primary,200000,150000,2020-01-01,100000,0,,,,\n"
        "INV,TX,primary,200000,150000,2020-01-01,100000,,bank,,,\n"
        "BND,TX,primary,200000,150000,2020-01-01,100000,,,0.95,,\n"
        "PRI,TX,primary,200000,150000,2020-01-01,100000,,,,1.5,480.5\n", encoding="utf-8")
    result = validate(ingest([path], duckdb.connect(), as_of=AS_OF), as_of=AS_OF)
    reasons = dict(zip(result.rejects["property_id"].to_list(), result.rejects["reasons"].to_list()))
    assert result.rows_accepted == 1
    assert reasons["INC"] == ["monthly_gross_income: must be > 0: '0'"]
    assert reasons["INV"][0].startswith("investor_type: not one of ") and reasons["INV"][0].endswith(": 'bank'")
    assert reasons["BND"] == ["reo_discount: must be ≤ 0.9: '0.95'"]
    assert reasons["PRI"] == ["prior_modifications: not a whole number: '1.5'",
                              "mod_term_months: not a whole number: '480.5'"]

"""Ingest: files into DuckDB, row numbers, parsing reasons, file-level errors (SPEC section 1)."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dispo import schema
from dispo.errors import DispoError
from dispo.ingest import IngestResult, ingest

AS_OF = date(2026, 11, 22)
MESSY = Path(__file__).parents[1] / "data" / "messy" / "portfolio.csv"
HEADER = "property_id,state,occupancy,market_value,purchase_price,purchase_date,first_lien_balance"
GOOD = "P{},TX,rental,200000,150000,2020-01-01,100000"


def run(paths, con=None) -> IngestResult:
    return ingest([Path(p) for p in paths], con or duckdb.connect(), as_of=AS_OF)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def messy() -> IngestResult:
    return run([MESSY])


def reasons_by_row(result: IngestResult) -> dict[int, list[str]]:
    t = result.typed
    return {r: rs for r, rs in zip(t["row_number"].to_list(), t["parse_reasons"].to_list()) if rs}


# --- the messy file ------------------------------------------------------------------------------

def test_messy_rows_and_numbers(messy):
    assert messy.rows_read == 24
    assert messy.rows_per_file == {"portfolio.csv": 24}
    assert messy.typed["row_number"].to_list() == list(range(1, 25))
    assert messy.typed["source_file"].unique().to_list() == ["portfolio.csv"]
    assert messy.extra_columns == ("note",)
    assert messy.input_columns[:3] == ("property_id", "state", "occupancy")


def test_messy_parse_reasons(messy):
    assert reasons_by_row(messy) == {
        3: ["market_value: not a number: 'abc'"],
        4: ["remaining_term_months: not a whole number: '12.5'"],
        5: ["recourse: not a boolean (true/false, yes/no, 1/0): 'maybe'"],
        6: ["purchase_date: not a valid ISO date (YYYY-MM-DD): '01/02/2020'"],
        7: ["purchase_date: not a valid ISO date (YYYY-MM-DD): '2026-02-30'"],
        19: ["row: has 4 fields, header has 16"],
        20: ["row: has 17 fields, header has 16"],
        23: ["market_value: not a number: 'abc'"],
        24: ["market_value: number out of range: '1e400'", "purchase_price: not a number: 'nan'"],
    }


def test_lenient_values_parse(messy):
    row = messy.typed.filter(pl.col("row_number") == 2).row(0, named=True)
    assert row["property_id"] == "A02"
    assert row["state"] == "TX"  # ' tx ' trimmed and upper-cased
    assert row["occupancy"] == "rental"  # lower-cased
    assert row["market_value"] == 1200.5  # "$1,200.50"
    assert row["vacancy_rate"] == pytest.approx(0.06)  # "6%" in a rate column
    assert row["remaining_term_months"] == 12  # "12.0" in an int column
    assert row["recourse"] is True  # " yes "
    assert row["hardship"] == "job_loss"
    assert row["rental_start_date"] == date(2020, 2, 1)


def test_null_words_are_null_without_reason(messy):
    row = messy.typed.filter(pl.col("row_number") == 22).row(0, named=True)
    assert (row["vacancy_rate"], row["remaining_term_months"], row["recourse"], row["qpri_balance"]) == (
        None, None, None, None)
    assert row["parse_reasons"] == []


def test_quoted_newline_is_one_row(messy):
    row = messy.typed.filter(pl.col("row_number") == 21).row(0, named=True)
    assert row["address"] == "Apt 4\nSecond line"
    assert messy.typed.filter(pl.col("row_number") == 22)["property_id"].to_list() == ["A22"]


def test_typed_dtypes(messy):
    t = messy.typed
    expected = {"string": pl.String, "float": pl.Float64, "int": pl.Int64, "bool": pl.Boolean, "date": pl.Date}
    for name in messy.schema_columns:
        assert t.schema[name] == expected[schema.BY_NAME[name].dtype], name
    assert t.schema["note"] == pl.String
    assert t.schema["parse_reasons"] == pl.List(pl.String)
    assert t.columns[:2] == list(schema.LINEAGE_COLUMNS)
    assert t.columns[-1] == "parse_reasons"


def test_ragged_rows_keep_raw_fields(messy):
    raw = messy.raw_rows(pl.DataFrame({"source_file": ["portfolio.csv"] * 2, "row_number": [19, 2]}))
    assert raw["row_number"].to_list() == [19, 2]
    first = raw.row(0, named=True)
    assert (first["property_id"], first["market_value"], first["purchase_price"]) == ("A19", "200000", None)
    second = raw.row(1, named=True)
    assert (second["state"], second["recourse"], second["address"]) == (" tx ", " yes ", "")  # raw text as is
    # the ragged row parses nothing
    typed = messy.typed.filter(pl.col("row_number") == 19).row(0, named=True)
    assert typed["property_id"] is None and typed["note"] is None


def test_tables_in_connection(messy):
    con = messy.con
    assert con.sql("SELECT count(*) FROM dispo_work.raw").fetchall()[0][0] == 24
    assert con.sql("SELECT count(*) FROM dispo_work.typed").fetchall()[0][0] == 24


# --- parsing rules, one cell at a time -----------------------------------------------------------

CELLS = [
    # (column, cell, expected value or None, expected reason or None)
    ("market_value", "1e3", 1000.0, None),
    ("market_value", "-$5", -5.0, None),
    ("market_value", "+.5", 0.5, None),
    ("market_value", "12,345.6", 12345.6, None),
    ("market_value", "$1,234,567", 1234567.0, None),
    ("market_value", "1,2", None, "not a number"),
    ("market_value", "1_000", None, "not a number"),
    ("market_value", "+-1", None, "not a number"),
    ("market_value", "inf", None, "not a number"),
    ("market_value", "NaN", None, "not a number"),
    ("market_value", "6%", None, "not a number"),
    ("market_value", "1e400", None, "number out of range"),
    ("vacancy_rate", "6.5%", 0.065, None),
    ("vacancy_rate", "0.05", 0.05, None),
    ("interest_rate", "$5%", None, "not a number"),
    ("hold_months", "12.0", 12, None),
    ("hold_months", "1e2", 100, None),
    ("hold_months", "12.5", None, "not a whole number"),
    ("hold_months", "twelve", None, "not a number"),
    ("recourse", "T", True, None),
    ("recourse", "n", False, None),
    ("recourse", "0", False, None),
    ("recourse", "YES", True, None),
    ("recourse", "2", None, "not a boolean (true/false, yes/no, 1/0)"),
    ("purchase_date", "2024-02-29", date(2024, 2, 29), None),
    ("purchase_date", "2023-02-29", None, "not a valid ISO date (YYYY-MM-DD)"),
    ("purchase_date", "2020-1-1", None, "not a valid ISO date (YYYY-MM-DD)"),
    ("purchase_date", "2020-01-01T00:00", None, "not a valid ISO date (YYYY-MM-DD)"),
    ("state", "\tny\t", "NY", None),
    ("filing_status", "MFJ", "mfj", None),
    ("address", "  12 Elm  ", "12 Elm", None),
    ("address", "None", None, None),
    ("address", " n/a ", None, None),
]


@pytest.fixture(scope="module")
def cells(tmp_path_factory) -> IngestResult:
    """One row per CELLS entry; every other column holds a good value."""
    base = {"property_id": "X", "state": "TX", "occupancy": "rental", "market_value": "1", "purchase_price": "1",
            "purchase_date": "2020-01-01", "first_lien_balance": "0"}
    columns = list(base) + sorted({c for c, *_ in CELLS} - set(base))
    rows = []
    for i, (column, cell, *_) in enumerate(CELLS):
        row = {**base, "property_id": f"X{i}", column: cell}
        rows.append([row.get(c, "") for c in columns])
    frame = pl.DataFrame(rows, schema=columns, orient="row")
    path = tmp_path_factory.mktemp("cells") / "cells.csv"
    frame.write_csv(path)
    return run([path])


@pytest.mark.parametrize("i", range(len(CELLS)), ids=[f"{c}={v!r}" for c, v, *_ in CELLS])
def test_cell_parsing(cells, i):
    column, cell, value, reason = CELLS[i]
    row = cells.typed.row(i, named=True)
    if reason is None:
        assert row["parse_reasons"] == []
        assert row[column] == (pytest.approx(value) if isinstance(value, float) else value)
    else:
        assert row[column] is None
        assert row["parse_reasons"] == [f"{column}: {reason}: '{cell}'"]


# --- row numbers ---------------------------------------------------------------------------------

def test_row_numbers_with_blank_lines_quoted_newlines_and_bad_rows(tmp_path):
    lines = [HEADER,
             GOOD.format(1),                     # 1
             "",                                 # 2 blank: not a row, keeps its number
             'P3,TX,rental,200000,150000,2020-01-01,"1\n0"',  # 3 (a quoted newline; value is bad)
             "P4,TX",                            # 4 too few fields
             "",                                 # 5 blank
             GOOD.format(6),                     # 6
             GOOD.format(7) + ",extra",          # 7 too many fields
             GOOD.format(8),                     # 8
             "", ""]                             # trailing blank lines
    path = write(tmp_path / "rows.csv", "\n".join(lines) + "\n")
    result = run([path])
    t = result.typed
    assert result.rows_read == 6
    assert t["row_number"].to_list() == [1, 3, 4, 6, 7, 8]
    assert t["property_id"].to_list() == ["P1", "P3", None, "P6", None, "P8"]
    assert reasons_by_row(result) == {
        3: ["first_lien_balance: not a number: '1\n0'"],
        4: ["row: has 2 fields, header has 7"],
        7: ["row: has 8 fields, header has 7"],
    }


def test_row_numbers_crlf_and_bom(tmp_path):
    text = "\ufeff" + "\r\n".join([HEADER, GOOD.format(1), "", "P3,TX", GOOD.format(4)]) + "\r\n"
    path = tmp_path / "crlf.csv"
    path.write_bytes(text.encode("utf-8"))
    result = run([path])
    assert result.typed["row_number"].to_list() == [1, 3, 4]
    assert result.typed["property_id"].to_list() == ["P1", None, "P4"]
    assert reasons_by_row(result) == {3: ["row: has 2 fields, header has 7"]}


def test_many_bad_rows_numbered_exactly(tmp_path):
    lines = [HEADER]
    bad = set()
    for n in range(1, 3001):
        if n % 7 == 0 or n % 11 == 0:
            lines.append(f"P{n},TX")
            bad.add(n)
        else:
            lines.append(GOOD.format(n))
    result = run([write(tmp_path / "many.csv", "\n".join(lines) + "\n")])
    t = result.typed
    assert t["row_number"].to_list() == list(range(1, 3001))
    good = t.filter(pl.col("parse_reasons").list.len() == 0)
    assert good["property_id"].to_list() == [f"P{n}" for n in good["row_number"]]
    assert set(t.filter(pl.col("parse_reasons").list.len() > 0)["row_number"]) == bad


def test_unterminated_quote_is_a_rejected_row(tmp_path):
    path = write(tmp_path / "q.csv", "\n".join([HEADER, GOOD.format(1), 'P2,TX,"rental,1,1,2020-01-01,0']) + "\n")
    result = run([path])
    assert result.rows_read == 2
    assert reasons_by_row(result)[2][0].startswith("row: ")


# --- several files, compression, Parquet ------------------------------------------------------------

def test_union_by_name(tmp_path):
    a = write(tmp_path / "a.csv", f"{HEADER},hoa_monthly,color\n{GOOD.format(1)},10,red\n{GOOD.format(2)},20,blue\n")
    b = write(tmp_path / "b.csv", f"color,{HEADER}\ngreen,{GOOD.format(3)}\n")
    result = run([a, b])
    t = result.typed
    assert result.rows_per_file == {"a.csv": 2, "b.csv": 1}
    assert t["source_file"].to_list() == ["a.csv", "a.csv", "b.csv"]
    assert t["row_number"].to_list() == [1, 2, 1]
    assert t["hoa_monthly"].to_list() == [10.0, 20.0, None]
    assert t["color"].to_list() == ["red", "blue", "green"]
    assert result.input_columns[-2:] == ("hoa_monthly", "color")


def test_same_basename_in_two_directories(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    a = write(tmp_path / "x" / "p.csv", f"{HEADER}\n{GOOD.format(1)}\n")
    b = write(tmp_path / "y" / "p.csv", f"{HEADER}\n{GOOD.format(2)}\n")
    assert run([a, b]).files == ("x/p.csv", "y/p.csv")


def test_gzip_csv(tmp_path):
    path = tmp_path / "p.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(f"{HEADER}\n{GOOD.format(1)}\n\nP3,TX\n{GOOD.format(4)}\n")
    result = run([path])
    assert result.typed["row_number"].to_list() == [1, 3, 4]
    assert result.files == ("p.csv.gz",)


def _clean_csv(tmp_path: Path) -> Path:
    """The accepted-looking rows of the messy file, as their own CSV."""
    lines = MESSY.read_text(encoding="utf-8").split("\n")
    keep = [lines[0], lines[1], lines[2], lines[21], lines[22], lines[23]]  # rows 1, 2, 21 (2 lines), 22
    return write(tmp_path / "clean.csv", "\n".join(keep) + "\n")


def test_csv_and_parquet_give_identical_typed_frames(tmp_path):
    from_csv = run([_clean_csv(tmp_path)]).typed
    assert from_csv.height == 4 and from_csv["parse_reasons"].list.len().sum() == 0
    # physical types as a Parquet writer would store them
    parquet = tmp_path / "clean.parquet"
    from_csv.drop("source_file", "row_number", "parse_reasons").write_parquet(parquet)
    from_parquet = run([parquet]).typed
    # and every column stored as text
    text = tmp_path / "text.parquet"
    pl.read_csv(tmp_path / "clean.csv", infer_schema=False).write_parquet(text)
    from_text = run([text]).typed
    for other in (from_parquet, from_text):
        assert_frame_equal(other.drop("source_file"), from_csv.drop("source_file"))


def test_parquet_wrong_physical_types_give_the_same_reasons(tmp_path, messy):
    rows = messy.raw_rows(messy.typed.select("source_file", "row_number")).filter(
        ~pl.col("row_number").is_in([19, 20]))  # ragged rows have no Parquet equivalent
    path = tmp_path / "strings.parquet"
    rows.drop("source_file", "row_number").write_parquet(path)
    result = run([path])
    expected = {k: v for k, v in reasons_by_row(messy).items() if k not in (19, 20)}
    renumber = dict(zip(range(1, rows.height + 1), rows["row_number"]))
    assert {renumber[k]: v for k, v in reasons_by_row(result).items()} == expected


def test_parquet_dates_and_timestamps(tmp_path):
    from datetime import datetime
    frame = pl.DataFrame({
        "property_id": ["P1", "P2"], "state": ["TX", "TX"], "occupancy": ["rental", "rental"],
        "market_value": [1.0, float("nan")], "purchase_price": [1, 2], "first_lien_balance": [0.0, 0.0],
        "purchase_date": [datetime(2020, 1, 1), datetime(2020, 1, 2, 10, 30)],
        "recourse": [True, None],
    })
    path = tmp_path / "ts.parquet"
    frame.write_parquet(path)
    result = run([path])
    t = result.typed
    assert t["purchase_date"].to_list() == [date(2020, 1, 1), None]
    assert t["purchase_price"].to_list() == [1.0, 2.0]
    assert t["recourse"].to_list() == [True, None]
    assert reasons_by_row(result) == {2: [
        "market_value: not a number: 'nan'",
        "purchase_date: not a valid ISO date (YYYY-MM-DD): '2020-01-02 10:30:00'",
    ]}


# --- file-level errors ---------------------------------------------------------------------------

def test_missing_file(tmp_path):
    with pytest.raises(DispoError, match="not found"):
        run([tmp_path / "nope.csv"])


def test_unsupported_suffix(tmp_path):
    with pytest.raises(DispoError, match="unsupported file type"):
        run([write(tmp_path / "p.json", "x")])


def test_missing_required_column(tmp_path):
    header = HEADER.replace(",purchase_date", "")
    path = write(tmp_path / "p.csv", f"{header}\nP1,TX,rental,1,1,0\n")
    with pytest.raises(DispoError, match=r"p\.csv: required column 'purchase_date' is missing"):
        run([path])


@pytest.mark.parametrize("text", ["", "\ufeff", "\n\n", " \n", HEADER + "\n", HEADER, HEADER + "\n\n\n"],
                         ids=["empty", "bom", "newlines", "space", "header", "no-eol", "blank"])
def test_no_data_rows(tmp_path, text):
    with pytest.raises(DispoError, match=r"p\.csv: no data rows"):
        run([write(tmp_path / "p.csv", text)])


def test_empty_first_line(tmp_path):
    with pytest.raises(DispoError, match="first line must be the header"):
        run([write(tmp_path / "p.csv", f"\n{HEADER}\n{GOOD.format(1)}\n")])


def test_empty_parquet(tmp_path):
    path = tmp_path / "p.parquet"
    pl.DataFrame({c: [] for c in HEADER.split(",")}, schema={c: pl.String for c in HEADER.split(",")}).write_parquet(path)
    with pytest.raises(DispoError, match="no data rows"):
        run([path])


@pytest.mark.parametrize("name", ["equity", "row_number", "reasons", "parse_reasons"])
def test_reserved_column_name(tmp_path, name):
    path = write(tmp_path / "p.csv", f"{HEADER},{name}\n{GOOD.format(1)},1\n")
    with pytest.raises(DispoError, match=f"'{name}' uses a name reserved"):
        run([path])


def test_duplicate_header(tmp_path):
    path = write(tmp_path / "p.csv", f"{HEADER},state\n{GOOD.format(1)},TX\n")
    with pytest.raises(DispoError, match="'state' appears more than once"):
        run([path])


def test_binary_file(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DispoError) as info:
        run([path])
    assert "\n" not in str(info.value)


def test_not_a_parquet_file(tmp_path):
    with pytest.raises(DispoError, match="cannot read as a Parquet file"):
        run([write(tmp_path / "p.parquet", HEADER + "\n")])


def test_same_file_twice(tmp_path):
    path = write(tmp_path / "p.csv", f"{HEADER}\n{GOOD.format(1)}\n")
    with pytest.raises(DispoError, match="given twice"):
        run([path, path])


def test_error_leaves_existing_tables_alone(tmp_path):
    con = duckdb.connect()
    good = write(tmp_path / "good.csv", f"{HEADER}\n{GOOD.format(1)}\n")
    run([good], con)
    empty = write(tmp_path / "empty.csv", HEADER + "\n")
    with pytest.raises(DispoError):
        run([good, empty], con)
    assert con.sql("SELECT count(*) FROM dispo_work.raw").fetchall()[0][0] == 1
    assert con.sql("SELECT count(*) FROM dispo_work.typed").fetchall()[0][0] == 1
    assert con.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '_dispo_%'").fetchall()[0][0] == 0


def test_failed_load_rolls_back_both_tables(tmp_path, monkeypatch):
    import dispo.ingest as ingest_module

    con = duckdb.connect()
    run([write(tmp_path / "good.csv", f"{HEADER}\n{GOOD.format(1)}\n")], con)
    monkeypatch.setattr(ingest_module, "typed_select", lambda *a, **k: "SELECT * FROM no_such_table")
    other = write(tmp_path / "other.csv", f"{HEADER}\n{GOOD.format(1)}\n{GOOD.format(2)}\n")
    with pytest.raises(duckdb.Error):
        run([other], con)
    assert con.sql("SELECT count(*) FROM dispo_work.raw").fetchall()[0][0] == 1
    assert con.sql("SELECT count(*) FROM dispo_work.typed").fetchall()[0][0] == 1


def test_parquet_column_named_file_row_number(tmp_path):
    path = tmp_path / "p.parquet"
    pl.DataFrame({c: ["x"] for c in [*HEADER.split(","), "file_row_number"]}).write_parquet(path)
    with pytest.raises(DispoError, match="file_row_number"):
        run([path])


def test_ragged_row_after_quoted_newline_without_blank_lines(tmp_path):
    lines = [HEADER, 'P1,TX,rental,200000,150000,2020-01-01,"1\n2\n3"', "P2,TX", GOOD.format(3)]
    result = run([write(tmp_path / "q.csv", "\n".join(lines) + "\n")])
    assert result.typed["row_number"].to_list() == [1, 2, 3]
    assert reasons_by_row(result) == {1: ["first_lien_balance: not a number: '1\n2\n3'"],
                                      2: ["row: has 2 fields, header has 7"]}
    assert result.typed["property_id"].to_list() == ["P1", None, "P3"]

"""SPEC section 2 reading options at the ingest level: [columns] mapping, typo'd headers (every
problem of a header at once), blank rows, date_formats (ambiguous readings), Windows-1252 and
.xlsx cells, and the one-line errors for bad options and bad workbooks."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import duckdb
import pytest

from dispo.errors import DispoError
from dispo.ingest import InputOptions, ingest
from dispo.ingest.options import input_options

AS_OF = date(2026, 11, 22)
HEADER = "property_id,state,occupancy,market_value,purchase_price,purchase_date,first_lien_balance"


def run(paths, **options):
    return ingest([Path(p) for p in paths], duckdb.connect(), as_of=AS_OF, options=InputOptions(**options))


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def by_row(result, column):
    t = result.typed
    return dict(zip(t["row_number"].to_list(), t[column].to_list()))


def reasons(result):
    t = result.typed
    return {r: rs for r, rs in zip(t["row_number"].to_list(), t["parse_reasons"].to_list()) if rs}


# --- [columns] and typo'd headers -----------------------------------------------------------------

def test_columns_mapping_renames_headers(tmp_path):
    p = write(tmp_path / "a.csv", "Loan Number,state,occupancy,market_value,purchase_price,purchase_date,UPB\n"
                                  "L1,TX,rental,200000,150000,2020-01-01,90000\n")
    r = run([p], columns={"Loan Number": "property_id", "UPB": "first_lien_balance"})
    assert r.typed["property_id"].to_list() == ["L1"]
    assert r.typed["first_lien_balance"].to_list() == [90000.0]
    assert "Loan Number" not in r.input_columns


def test_columns_mapping_applies_to_parquet(tmp_path):
    import polars as pl

    p = tmp_path / "a.parquet"
    pl.DataFrame({"Loan Number": ["L1"], "state": ["TX"], "occupancy": ["rental"], "market_value": [2e5],
                  "purchase_price": [1.5e5], "purchase_date": [date(2020, 1, 1)], "UPB": [9e4]}).write_parquet(p)
    r = run([p], columns={"Loan Number": "property_id", "UPB": "first_lien_balance"})
    assert r.typed["property_id"].to_list() == ["L1"] and r.typed["first_lien_balance"].to_list() == [9e4]
    assert r.typed["purchase_date"].to_list() == [date(2020, 1, 1)]


def test_typo_headers_are_all_reported_at_once(tmp_path):
    p = write(tmp_path / "a.csv", "property_id,state,occupancy,market_value,purchase_price,purchse_date,"
                                  "first_lien_balance,intrest_rate,Hoa_Monthly\nP1,TX,rental,1,1,2020-01-01,1,6%,1\n")
    with pytest.raises(DispoError) as e:
        run([p])
    message = str(e.value)
    assert "\n" not in message and "3 header problems" in message
    assert "'intrest_rate' looks like 'interest_rate': map it in [columns] or rename it" in message
    assert "'purchse_date' looks like 'purchase_date'" in message
    assert "'Hoa_Monthly' differs only in case from dispo's column 'hoa_monthly'" in message
    assert "required column" not in message  # the typo already says where purchase_date went


def test_mapped_typo_is_accepted_and_far_names_are_extras(tmp_path):
    p = write(tmp_path / "a.csv", HEADER + ",intrest_rate,servicer_loan_no\nP1,TX,rental,1,1,2020-01-01,1,6%,S-9\n")
    r = run([p], columns={"intrest_rate": "interest_rate"})
    assert r.typed["interest_rate"].to_list() == [pytest.approx(0.06)]
    assert r.extra_columns == ("servicer_loan_no",)


def test_mapping_onto_a_column_the_file_also_has(tmp_path):
    p = write(tmp_path / "a.csv", HEADER + ",UPB\nP1,TX,rental,1,1,2020-01-01,1,2\n")
    with pytest.raises(DispoError, match="headers 'first_lien_balance' and 'UPB' are both column 'first_lien_balance'"):
        run([p], columns={"UPB": "first_lien_balance"})


@pytest.mark.parametrize("columns, date_formats, sheet, message", [
    ({"UPB": "first_lien_balanse"}, None, None, "'first_lien_balanse', which is not a dispo column (did you mean "
                                                "'first_lien_balance'?)"),
    ({"UPB": "first_lien_balance", "Balance": "first_lien_balance"}, None, None,
     "maps both 'UPB' and 'Balance' to 'first_lien_balance'"),
    (None, ["%m/%d"], None, "needs a year"),
    (None, ["%Y-%m-%d %Q"], None, "not a strptime pattern"),
    (None, "%m/%d/%Y", None, "must be a list"),
    (None, None, 3, "sheet must be a sheet name"),
])
def test_bad_reading_options_are_one_line_errors(columns, date_formats, sheet, message):
    with pytest.raises(DispoError) as e:
        input_options("p.toml", columns, date_formats, sheet)
    assert message in str(e.value) and "\n" not in str(e.value)


# --- blank rows ------------------------------------------------------------------------------------

def test_blank_rows_are_skipped_counted_and_keep_numbering(tmp_path):
    p = write(tmp_path / "a.csv", "\n".join([HEADER, "P1,TX,rental,1,1,2020-01-01,1", ",,,,,,", "",
                                             " , ,\t,,,,", "P5,TX,rental,1,1,2020-01-01,1", ",,", ""]))
    r = run([p])
    assert r.typed["row_number"].to_list() == [1, 5]
    assert r.rows_read == 2 and r.blank_rows == {"a.csv": 4}  # the empty line, and ',,' (ragged, but blank)
    assert r.summary_notes() == {"blank_rows": 4}


def test_only_blank_rows_is_no_data(tmp_path):
    p = write(tmp_path / "a.csv", HEADER + "\n,,,,,,\n,,,,,,\n")
    with pytest.raises(DispoError, match="no data rows"):
        run([p])


# --- date_formats ----------------------------------------------------------------------------------

def test_date_formats_after_iso_and_ambiguous_readings(tmp_path):
    rows = ["P1,TX,rental,1,1,2020-01-31,1", "P2,TX,rental,1,1,7/2/2004,1", "P3,TX,rental,1,1,13/02/2004,1",
            "P4,TX,rental,1,1,2/30/2004,1", "P5,TX,rental,1,1,12/12/2004,1"]
    p = write(tmp_path / "a.csv", "\n".join([HEADER, *rows]) + "\n")
    r = run([p], date_formats=("%m/%d/%Y", "%d/%m/%Y"))
    assert by_row(r, "purchase_date") == {1: date(2020, 1, 31), 2: None, 3: date(2004, 2, 13), 4: None,
                                          5: date(2004, 12, 12)}
    assert reasons(r) == {
        2: ["purchase_date: ambiguous date, reads as 2004-07-02 under %m/%d/%Y or 2004-02-07 under %d/%m/%Y: "
            "'7/2/2004'"],
        4: ["purchase_date: not a valid date (YYYY-MM-DD or %m/%d/%Y or %d/%m/%Y): '2/30/2004'"],
    }


def test_us_dates_without_date_formats_are_rejected_as_before(tmp_path):
    p = write(tmp_path / "a.csv", HEADER + "\nP1,TX,rental,1,1,7/2/2004,1\n")
    assert reasons(run([p])) == {1: ["purchase_date: not a valid ISO date (YYYY-MM-DD): '7/2/2004'"]}


# --- encodings and gzip ----------------------------------------------------------------------------

def test_cp1252_file_is_read_as_windows_1252(tmp_path):
    p = write(tmp_path / "a.csv", HEADER + ",address\nP1,TX,rental,1,1,2020-01-01,1,Café “Ñ” Street\n", "cp1252")
    r = run([p])
    assert r.typed["address"].to_list() == ["Café “Ñ” Street"]
    assert r.encodings == {"a.csv": "cp1252"} and r.summary_notes()["encodings"] == {"a.csv": "cp1252"}


def test_cp1252_header(tmp_path):
    p = write(tmp_path / "a.csv", HEADER + ",Prêt\nP1,TX,rental,1,1,2020-01-01,1,x\n", "cp1252")
    assert run([p]).extra_columns == ("Prêt",)


def test_truncated_gzip_is_a_one_line_error(tmp_path):
    body = gzip.compress(("\n".join([HEADER] + [f"P{i},TX,rental,1,1,2020-01-01,1" for i in range(5000)])).encode())
    p = tmp_path / "a.csv.gz"
    p.write_bytes(body[: len(body) // 2])
    with pytest.raises(DispoError) as e:
        run([p])
    assert str(e.value).startswith(str(p)) and "\n" not in str(e.value)


# --- .xlsx -----------------------------------------------------------------------------------------

def test_xlsx_errors_are_one_line(tmp_path):
    import xlsxwriter

    corrupt = tmp_path / "c.xlsx"
    corrupt.write_bytes(b"PK\x03\x04 broken")
    encrypted = tmp_path / "e.xlsx"
    encrypted.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    good = tmp_path / "g.xlsx"
    wb = xlsxwriter.Workbook(good)
    wb.add_worksheet("Loans").write_row(0, 0, HEADER.split(","))
    wb.close()
    for path, options, message in ((corrupt, {}, "cannot read as an .xlsx workbook"),
                                   (encrypted, {}, "password-protected"),
                                   (good, {"sheet": "Tape"}, "no sheet named 'Tape' (sheets: 'Loans')"),
                                   (good, {}, "no data rows")):
        with pytest.raises(DispoError) as e:
            run([path], **options)
        assert message in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_xlsx_header_line_is_the_first_row_with_a_value(tmp_path):
    import xlsxwriter

    p = tmp_path / "t.xlsx"
    wb = xlsxwriter.Workbook(p)
    ws = wb.add_worksheet("Loans")
    ws.write_row(2, 1, HEADER.split(","))  # B3: two empty rows above, column A empty
    ws.write_row(3, 1, ["P1", "TX", "rental", 1, 1, "2020-01-01", 1])
    ws.write_row(5, 1, ["P3", "TX", "rental", 1, 1, "2020-01-01", 1])
    wb.close()
    r = run([p])
    assert r.typed["row_number"].to_list() == [1, 3] and r.blank_rows == {"t.xlsx": 1}
    assert r.header_lines == {"t.xlsx": 3}


def test_pipeline_reading_options_and_their_spark_limit(tmp_path):
    from dispo import config

    (tmp_path / "a.csv").write_text(HEADER + "\n")
    raw = {"pipeline": {"inputs": ["a.csv"], "output_dir": "out", "date_formats": ["%m/%d/%Y"], "sheet": "Loans",
                        "worklist_columns": ["servicer_loan_no"]},
           "columns": {"Loan Number": "property_id"}}
    cfg = config.from_mapping(raw, base=tmp_path)
    assert cfg.input_options == InputOptions(columns={"Loan Number": "property_id"}, date_formats=("%m/%d/%Y",),
                                             sheet="Loans")
    assert cfg.worklist_columns == ("servicer_loan_no",)
    assert cfg.canonical()["inputs_read"]["columns"] == {"Loan Number": "property_id"}  # in the config digest
    with pytest.raises(config.ConfigError, match="need engine \"local\""):
        config.from_mapping(raw, base=tmp_path, engine="spark")

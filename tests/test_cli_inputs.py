"""Inputs as people have them, through the CLI (issue 18, docs/spec.md section 2): an .xlsx with typed and
text dates, $ money, % rates, a blank row and a TOTAL row; a .csv.gz and a Windows-1252 CSV in one
run; a typo'd header; JSON logs on success, on error and on a usage error; history with --out."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

HEADER = ["Loan Number", "state", "occupancy", "market_value", "purchase_price", "purchase_date",
          "first_lien_balance", "interest_rate", "address"]


def dispo(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dispo.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=900)


def pipeline(tmp: Path, inputs: list[str], extra: str = "", **keys) -> Path:
    body = {"name": "t", "inputs": inputs, "output_dir": "out", "as_of": "2026-11-22", **keys}
    p = tmp / "p.toml"
    p.write_text("[pipeline]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in body.items()) + extra)
    return p


def make_xlsx(path: Path) -> None:
    """Sheet 'Loans' (the second sheet): header in row 1; rows 2-6 as a servicer's tape has them."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(path)
    wb.add_worksheet("Notes").write(0, 0, "not the data")
    ws = wb.add_worksheet("Loans")
    date_fmt, pct, money = (wb.add_format({"num_format": f}) for f in ("m/d/yyyy", "0.00%", "$#,##0.00"))
    ws.write_row(0, 0, HEADER)
    # row 2: typed date, typed money (shown as $), typed percent
    ws.write_row(1, 0, ["A1", "TX", "rental", 300000, None, None, 200000, None, "1 Main St"])
    ws.write_number(1, 4, 250000, money)
    ws.write_datetime(1, 5, dt.datetime(2015, 7, 2), date_fmt)
    ws.write_number(1, 7, 0.065, pct)
    # row 3: the same values typed as text
    ws.write_row(2, 0, ["A2", "tx", "Rental", "$300,000", "$1,200.50", "7/2/2004", "200,000", "6%", "2 Main St"])
    # row 4: blank (whitespace only)
    ws.write_string(3, 0, "  ")
    # row 5: a text date that is no date
    ws.write_row(4, 0, ["A4", "TX", "rental", 300000, 250000, "2004-13-45", 200000, 0.05, ""])
    # row 6: the TOTAL row a spreadsheet user adds
    ws.write_string(5, 0, "TOTAL")
    ws.write_formula(5, 3, "=SUM(D2:D5)", None, 900000)
    wb.close()


def test_xlsx_through_the_cli(tmp_path):
    make_xlsx(tmp_path / "tape.xlsx")
    p = pipeline(tmp_path, ["tape.xlsx"], '[columns]\n"Loan Number" = "property_id"\n', sheet="Loans",
                 date_formats=["%m/%d/%Y"], max_reject_fraction=0.5)
    proc = dispo("run", str(p))
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    results = pl.read_parquet(out / "results.parquet")
    assert results["property_id"].to_list() == ["A1", "A2"]
    assert results["row_number"].to_list() == [1, 2]
    assert results["purchase_date"].to_list() == [dt.date(2015, 7, 2), dt.date(2004, 7, 2)]
    assert results["purchase_price"].to_list() == [250000.0, 1200.5]
    assert results["market_value"].to_list() == [300000.0, 300000.0]
    assert results["first_lien_balance"].to_list() == [200000.0, 200000.0]
    assert results["interest_rate"].to_list() == [pytest.approx(0.065), pytest.approx(0.06)]
    assert results["state"].to_list() == ["TX", "TX"] and results["occupancy"].to_list() == ["rental", "rental"]

    rejects = pl.read_csv(out / "rejects.csv", infer_schema=False)
    assert rejects.columns[:5] == ["source_file", "row_number", "spreadsheet_line", "property_id", "reasons"]
    got = {r["property_id"]: (r["row_number"], r["spreadsheet_line"], r["reasons"]) for r in rejects.iter_rows(named=True)}
    assert got["A4"] == ("4", "5", "purchase_date: not a valid date (YYYY-MM-DD or %m/%d/%Y): '2004-13-45'")
    total = got["TOTAL"]
    assert total[:2] == ("5", "6")
    for column in ("state", "occupancy", "purchase_price", "purchase_date", "first_lien_balance"):
        assert f"{column}: required value missing: ''" in total[2]

    summary = json.loads((out / "summary.json").read_text())
    assert summary["blank_rows"] == 1
    assert summary["rows"] == {"read": 4, "accepted": 2, "rejected": 2, "conservation_ok": True}
    # the console: line and raw property_id of each reject, the reasons counted with a hint
    assert "TOTAL" in proc.stderr and "tape.xlsx" in proc.stderr
    assert "reasons" in proc.stderr and "required value missing" in proc.stderr
    assert "a TOTAL or note row is not a property" in proc.stderr
    assert "1 blank row skipped" in proc.stdout


def test_gz_and_cp1252_through_the_cli_with_json_logs(tmp_path):
    header = "property_id,state,occupancy,market_value,purchase_price,purchase_date,first_lien_balance,address\n"
    with gzip.open(tmp_path / "a.csv.gz", "wt", encoding="utf-8") as f:
        f.write(header + "G1,TX,rental,300000,250000,2015-01-01,200000,Ünïcode Way\n"
                         "G2,TX,rental,-5,250000,2015-01-01,200000,\n")
    (tmp_path / "b.csv").write_bytes((header + "W1,FL,primary,400000,300000,2016-05-05,100000,Café Street\n"
                                      ",,,,,,,\n").encode("cp1252"))
    p = pipeline(tmp_path, ["a.csv.gz", "b.csv"], max_reject_fraction=0.5)
    proc = dispo("run", str(p), "--log-format", "json")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stderr.splitlines()]  # every line is JSON
    assert proc.stdout == ""
    final = records[-1]
    assert final["event"] == "run" and final["status"] == "ok" and final["exit_code"] == 0
    assert final["error"] is None and final["seconds"] > 0 and final["blank_rows"] == 1
    results = pl.read_parquet(tmp_path / "out" / "results.parquet")
    assert dict(zip(results["property_id"], results["address"])) == {"G1": "Ünïcode Way", "W1": "Café Street"}
    assert dict(zip(results["property_id"], results["source_file"])) == {"G1": "a.csv.gz", "W1": "b.csv"}
    rejects = pl.read_parquet(tmp_path / "out" / "rejects.parquet")
    assert rejects["property_id"].to_list() == ["G2"]
    assert rejects["reasons"].to_list() == [["market_value: must be > 0: '-5'"]]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["encodings"] == {"b.csv": "cp1252"} and summary["blank_rows"] == 1
    assert summary["rows"]["read"] == 3


def test_typo_header_is_exit_1_naming_both_and_json_on_error(tmp_path):
    (tmp_path / "a.csv").write_text("property_id,state,occupancy,market_value,purchase_price,purchase_date,"
                                    "first_lien_balance,intrest_rate\nP1,TX,rental,1,1,2020-01-01,1,0.05\n")
    p = pipeline(tmp_path, ["a.csv"])
    proc = dispo("run", str(p))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "'intrest_rate' looks like 'interest_rate': map it in [columns] or rename it" in proc.stderr
    assert not (tmp_path / "out" / "results.parquet").exists()

    proc = dispo("run", str(p), "--log-format", "json")
    assert proc.returncode == 1
    records = [json.loads(line) for line in proc.stderr.splitlines()]
    assert len(records) == 1 and proc.stdout == ""
    run = records[0]
    assert (run["event"], run["status"], run["exit_code"]) == ("run", "error", 1)
    assert "'intrest_rate' looks like 'interest_rate'" in run["error"] and run["seconds"] > 0

    proc = dispo("run", str(p), "--log-format", "json", "--no-such-option")
    assert proc.returncode == 2
    records = [json.loads(line) for line in proc.stderr.splitlines()]
    assert records[-1]["exit_code"] == 2 and records[-1]["status"] == "error"
    assert "--no-such-option" in records[-1]["error"]


def test_history_and_diff_find_the_database_with_out(tmp_path):
    (tmp_path / "a.csv").write_text("property_id,state,occupancy,market_value,purchase_price,purchase_date,"
                                    "first_lien_balance\nP1,TX,rental,300000,250000,2015-01-01,200000\n")
    p = pipeline(tmp_path, ["a.csv"])
    elsewhere = tmp_path / "nightly"
    for day in ("2026-11-21", "2026-11-22"):
        proc = dispo("run", str(p), "--out", str(elsewhere), "--as-of", day, "--quiet")
        assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "out").exists()
    for args in (("--out", str(elsewhere)), ("--pipeline", str(p), "--out", str(elsewhere))):
        proc = dispo("history", *args)
        assert proc.returncode == 0, proc.stderr
        assert "2026-11-21" in proc.stdout and "2026-11-22" in proc.stdout
    proc = dispo("diff", "--out", str(elsewhere))
    assert proc.returncode == 0, proc.stderr
    assert (elsewhere / "diff.csv").is_file()
    proc = dispo("history", "--pipeline", str(p))  # the pipeline's own output_dir: no runs there
    assert proc.returncode == 1 and "no run history yet" in proc.stderr


def test_version_and_schema_template(tmp_path):
    from dispo import __version__, schema

    proc = dispo("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"dispo {__version__}"
    proc = dispo("schema", "--template", str(tmp_path / "blank.csv"))
    assert proc.returncode == 0, proc.stderr
    header = (tmp_path / "blank.csv").read_text().splitlines()
    assert len(header) == 1
    names = header[0].split(",")
    assert names[: len(schema.REQUIRED)] == list(schema.REQUIRED)
    assert sorted(names) == sorted(schema.NAMES)

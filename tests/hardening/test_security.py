"""Security of inputs and outputs, end to end through the real CLI:

- formula injection: text cells (ids, addresses, extra columns, their header names, and the raw
  values of rejected rows) that a spreadsheet would run are neutralised in every CSV and in
  report.xlsx (SPEC section 7);
- HTML: user text in report.html (and in the Great Expectations Data Docs beside it) is escaped;
- SQL: column names from a user's header, values, the file name and the pipeline name are data,
  never SQL (identifiers quoted, values bound);
- paths: a pipeline's paths are resolved relative to it and errors show the resolved path;
- the output directory is never deleted wholesale, neither by a run nor by a failed run.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest

from dispo.reports import OutputSet, recover, verify

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SQL_HEADER = 'x"; DROP TABLE raw; --'
SQL_VALUE = "'); DROP TABLE runs; --"
DDE_HEADER = "=cmd|' /C calc'!A0"
HTML_HEADER = "<img src=x onerror=alert('hdr')>"
ADDRESS_XSS = "<script>alert('addr')</script>"
STATE_XSS = "<script>alert('gx')</script>"
FILE_NAME = "it's; DROP TABLE raw; --.csv"
PIPELINE_NAME = "p'); DROP TABLE runs; -- [red]x[/]"
EXTRAS = (SQL_HEADER, DDE_HEADER, HTML_HEADER)
BASE = {"state": "TX", "occupancy": "primary", "market_value": "200000", "purchase_price": "300000",
        "purchase_date": "2015-01-01", "first_lien_balance": "260000", "months_delinquent": "3"}
ROWS = [  # property_id, address, the three extra columns
    ('=HYPERLINK("http://evil.example","x")', ADDRESS_XSS, SQL_VALUE, "+1+1", "@SUM(A1)"),
    ("+P2", "-2+3", "\t=1", "\r=2", "-x"),
    ("@P3", "=1+1", "@x", "=x", "+x"),
    ("-P4", " \t=trimmed first", "plain", "x", "y"),
    ("P5", "5 Elm St", "=A1", "", SQL_VALUE),
]
REJECTED = ("=BAD()", "=1+1", "@bad", "\t=tab", "\r=cr")  # id, market_value raw, extras raw
ADDED = ("=ADDED()", "@added", "a", "b", "c")  # in the second run only: diff.csv lists it


def dispo(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dispo.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=900, env={**os.environ, "COLUMNS": "200"})


def write_hostile_input(path: Path, rows=ROWS) -> None:
    header = ["property_id", *BASE, "address", *EXTRAS]
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")  # CRLF: values holding a CR are quoted
    w.writerow(header)
    for pid, address, *extras in rows:
        w.writerow([pid, *BASE.values(), address, *extras])
    pid, mv, *extras = REJECTED
    w.writerow([pid, STATE_XSS, "primary", mv, "300000", "2015-01-01", "260000", "3", "x", *extras])
    path.write_bytes(buf.getvalue().encode("utf-8"))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Two runs (two as_of dates, so diff.csv has rows) of a file full of payloads."""
    work = tmp_path_factory.mktemp("hostile")
    (work / "data").mkdir()
    write_hostile_input(work / "data" / FILE_NAME)
    (work / "pipelines").mkdir()
    pipeline = work / "pipelines" / "hostile.toml"
    pipeline.write_text(f"[pipeline]\nname = {json.dumps(PIPELINE_NAME)}\ninputs = [{json.dumps('../data/' + FILE_NAME)}]\n"
                        'output_dir = "../out"\nas_of = "2026-11-22"\nmax_reject_fraction = 1.0\ncsv_outputs = "all"\n'
                        f"worklist_columns = {json.dumps(list(EXTRAS))}\n")
    out = work / "out"
    out.mkdir()
    (out / "keep.txt").write_text("the user's")
    first = dispo("run", str(pipeline), cwd=work / "data")
    write_hostile_input(work / "data" / FILE_NAME, [*ROWS, ADDED])
    second = dispo("run", str(pipeline), "--as-of", "2026-12-22", cwd=work / "data")
    return {"work": work, "pipeline": pipeline, "out": out, "runs": (first, second)}


def test_runs_succeed(hostile):
    for proc in hostile["runs"]:
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr + proc.stdout
    # output_dir "../out" is relative to the pipeline file, not to the working directory, and the
    # run says where it wrote, resolved.
    assert str(hostile["out"].resolve()) in hostile["runs"][0].stdout
    assert (hostile["out"] / "keep.txt").read_text() == "the user's"
    assert verify(hostile["out"]) == []


def _csv_cells(path: Path):
    with open(path, encoding="utf-8", newline="") as f:
        yield from (cell for row in csv.reader(f) for cell in row)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def test_every_csv_text_cell_is_neutralised(hostile):
    out = hostile["out"]
    names = sorted(p.name for p in out.glob("*.csv"))
    assert {"results.csv", "investor_worklist.csv", "lender_worklist.csv", "tax_outcomes.csv", "rejects.csv",
            "diff.csv"} <= set(names)
    for name in names:
        for cell in _csv_cells(out / name):
            if cell.startswith(FORMULA_START):
                assert _is_number(cell), (name, cell)  # only numbers may start with - or +
    holdings = "".join(_csv_cells(out / "results.csv"))
    for text in ("'=HYPERLINK(", "'+P2", "'@P3", "'-P4", "'-2+3", "'=1+1", "'\t=1", "'\r=2", "'=A1", "'" + DDE_HEADER):
        assert text in holdings, text
    assert "'=trimmed first" in holdings  # schema text is trimmed first, then neutralised
    rejects = list(csv.DictReader(open(out / "rejects.csv", encoding="utf-8", newline="")))
    assert len(rejects) == 1
    bad = rejects[0]  # raw values, neutralised
    assert bad["property_id"] == "'=BAD()" and bad["market_value"] == "'=1+1"
    assert bad[SQL_HEADER] == "'@bad" and bad["'" + DDE_HEADER] == "'\t=tab" and bad[HTML_HEADER] == "'\r=cr"
    diff = list(csv.DictReader(open(out / "diff.csv", encoding="utf-8", newline="")))
    assert [(r["change"], r["property_id"]) for r in diff if r["change"] == "added"] == [("added", "'=ADDED()")]


def test_parquet_keeps_the_values_as_they_were(hostile):
    """Neutralisation is for spreadsheets only: Parquet carries the data unchanged."""
    results = pl.read_parquet(hostile["out"] / "results.parquet")
    rows = [*ROWS, ADDED]
    assert results["property_id"].to_list() == [r[0] for r in rows]
    assert results[SQL_HEADER].to_list() == [r[2] for r in rows]
    assert results[DDE_HEADER].to_list() == [r[3] or None for r in rows]
    assert results["address"][0] == ADDRESS_XSS
    rejects = pl.read_parquet(hostile["out"] / "rejects.parquet")
    assert rejects.row(0, named=True)["property_id"] == "=BAD()"


def test_xlsx_holds_no_formula(hostile):
    path = hostile["out"] / "report.xlsx"
    assert path.is_file()
    wb = openpyxl.load_workbook(path)
    texts = []
    for ws in wb:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
                if isinstance(c.value, str):
                    texts.append(c.value)
                    assert not c.value.startswith(FORMULA_START), (ws.title, c.coordinate, c.value)
    for text in ("'=HYPERLINK(\"http://evil.example\",\"x\")", "'=BAD()", "'" + DDE_HEADER, "'\t=tab"):
        assert text in texts, text
    with zipfile.ZipFile(path) as z:
        assert not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in z.namelist() if n.endswith(".xml"))


def test_html_escapes_user_text(hostile):
    out = hostile["out"]
    page = (out / "report.html").read_text("utf-8")
    for payload in (ADDRESS_XSS, STATE_XSS, HTML_HEADER, "<script>alert("):
        assert payload not in page
    assert "&lt;script&gt;alert(" in page  # shown, as text
    docs = list((out / "data_docs").rglob("*.html"))
    assert docs, "Data Docs were built"
    for doc in docs:  # GX renders failing values: the state payload must not be live markup there
        text = doc.read_text("utf-8", errors="replace")
        assert STATE_XSS not in text and "<script>alert('gx')" not in text, doc


def test_sql_payloads_are_data(hostile):
    out, work = hostile["out"], hostile["work"]
    results = pl.read_parquet(out / "results.parquet")
    assert set(results["source_file"]) == {FILE_NAME}
    with duckdb.connect(str(out / "dispo.duckdb"), read_only=True) as con:
        tables = {r[0] for r in con.sql("SHOW TABLES").fetchall()}
        assert {"runs", "history_results", "history_rejects"} <= tables
        assert not {"raw", "typed"} & tables  # the input's working tables are not kept in the run database
        runs = con.sql("SELECT pipeline, status FROM runs ORDER BY as_of").fetchall()
        assert runs == [(PIPELINE_NAME, "ok"), (PIPELINE_NAME, "ok")]
        history_columns = [r[0] for r in con.sql("DESCRIBE history_results").fetchall()]
        assert [c for c in history_columns if c in EXTRAS] == list(EXTRAS)
        header = SQL_HEADER.replace(chr(34), chr(34) * 2)
        got = con.execute(f'SELECT "{header}" FROM history_results WHERE run_id = (SELECT run_id FROM runs ORDER BY as_of DESC LIMIT 1) '
                          f'UNION ALL SELECT "{header}" FROM history_rejects WHERE run_id = (SELECT run_id FROM runs ORDER BY as_of DESC LIMIT 1)'
                          ).fetchall()
        assert sorted(g[0] for g in got) == sorted([r[2] for r in (*ROWS, ADDED)] + ["@bad"])
        assert con.sql("SELECT count(*) FROM history_results").fetchall()[0][0] == 2 * len(ROWS) + 1
    history = dispo("history", "--pipeline", str(hostile["pipeline"]), cwd=work)
    assert history.returncode == 0 and "Traceback" not in history.stderr
    assert "[red]x[/]" in history.stdout  # rich markup in a name is shown, not interpreted


def test_identifier_and_literal_quoting():
    """The two helpers every generated SQL statement uses for user text."""
    from dispo.ingest.parse import ident, lit

    con = duckdb.connect()
    for text in (SQL_HEADER, SQL_VALUE, 'a"b', "a'b", "\\", "x\ny", "é;--"):
        assert con.execute(f"SELECT {lit(text)} AS {ident(text)}").fetchall() == [(text,)]
        assert con.execute(f"SELECT {lit(text)} AS {ident(text)}").description[0][0] == text


# --- paths ----------------------------------------------------------------------------------------

def test_errors_name_the_resolved_path(tmp_path):
    (tmp_path / "pipelines").mkdir()
    p = tmp_path / "pipelines" / "p.toml"
    p.write_text('[pipeline]\ninputs = ["../data/missing.csv"]\noutput_dir = "../out"\nas_of = "2026-11-22"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = dispo("run", str(p), "-q", cwd=elsewhere)
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert str((tmp_path / "data" / "missing.csv").resolve()) in proc.stderr  # no '..', not the cwd
    p.write_text('[pipeline]\ninputs = ["../data/*.csv"]\noutput_dir = "../out"\n')
    proc = dispo("run", str(p), "-q", cwd=elsewhere)
    assert proc.returncode == 1 and "matches no file" in proc.stderr and str(tmp_path / "data") in proc.stderr


def test_a_file_named_with_glob_characters_is_that_file(tmp_path):
    from dispo.config import from_mapping

    (tmp_path / "portfolio[2026].csv").write_text("x")
    (tmp_path / "portfolio2.csv").write_text("x")
    cfg = from_mapping({"pipeline": {"inputs": ["portfolio[2026].csv"], "output_dir": "out"}}, base=tmp_path)
    assert [p.name for p in cfg.inputs] == ["portfolio[2026].csv"]  # not the glob's match portfolio2.csv
    cfg = from_mapping({"pipeline": {"inputs": ["portfolio*.csv"], "output_dir": "out"}}, base=tmp_path)
    assert [p.name for p in cfg.inputs] == ["portfolio2.csv", "portfolio[2026].csv"]


def test_output_dir_that_is_a_file_is_one_clear_line(tmp_path):
    from dispo.config import from_mapping
    from dispo.errors import DispoError
    from dispo.run import run_pipeline

    (tmp_path / "in.csv").write_text("property_id,state,occupancy,market_value,purchase_price,purchase_date,"
                                     "first_lien_balance\nP1,TX,rental,1,1,2015-01-01,0\n")
    (tmp_path / "taken").write_text("a file")
    cfg = from_mapping({"pipeline": {"inputs": ["in.csv"], "output_dir": "taken", "as_of": "2026-11-22"}},
                       base=tmp_path)
    with pytest.raises(DispoError, match="cannot create the output directory"):
        run_pipeline(cfg)
    assert (tmp_path / "taken").read_text() == "a file"


def test_an_input_is_never_overwritten_by_an_output(tmp_path):
    from dispo.config import from_mapping
    from dispo.errors import DispoError
    from dispo.run import run_pipeline

    out = tmp_path / "reports"
    out.mkdir()
    text = ("property_id,state,occupancy,market_value,purchase_price,purchase_date,first_lien_balance\n"
            "P1,TX,rental,1,1,2015-01-01,0\n")
    (out / "holdings.csv").write_text(text)  # the user's portfolio, named like an output
    cfg = from_mapping({"pipeline": {"inputs": ["reports/holdings.csv"], "output_dir": "reports",
                                     "as_of": "2026-11-22"}}, base=tmp_path)
    with pytest.raises(DispoError, match="would be overwritten"):
        run_pipeline(cfg)
    assert (out / "holdings.csv").read_text() == text
    assert sorted(p.name for p in out.iterdir()) == ["holdings.csv"]


# --- the output directory is never deleted wholesale ------------------------------------------------

def _user_files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()
            and p.relative_to(out).parts[0] in ("keep.txt", "notes", ".staging-note.txt", "linked")}


def test_unrelated_files_survive_runs_and_failed_runs(tmp_path, monkeypatch):
    """In-process (fast): a good run, a run failing while it writes, a run failing at ingest; the
    user's files, a file and a symlink that merely look like staging entries, all survive."""
    from dispo import reports
    from dispo.config import from_mapping
    from dispo.errors import DispoError
    from dispo.run import run_pipeline

    text = ("property_id,state,occupancy,market_value,purchase_price,purchase_date,first_lien_balance\n"
            "P1,TX,rental,300000,250000,2015-01-01,200000\nP2,TX,primary,300000,250000,2015-01-01,200000\n")
    (tmp_path / "in.csv").write_text(text)
    out = tmp_path / "out"
    (out / "notes").mkdir(parents=True)
    (out / "keep.txt").write_text("mine")
    (out / "notes" / "a.md").write_text("deep")
    (out / ".staging-note.txt").write_text("a file, not a staging directory")
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "data.txt").write_text("not dispo's")
    (out / ".staging-link").symlink_to(precious, target_is_directory=True)
    before = _user_files(out)
    cfg = from_mapping({"pipeline": {"inputs": ["in.csv"], "output_dir": "out", "as_of": "2026-11-22"}},
                       base=tmp_path)
    run_pipeline(cfg)
    assert _user_files(out) == before and (precious / "data.txt").read_text() == "not dispo's"
    good = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name in reports.OUTPUT_FILES}
    assert len(good) == len(reports.output_files())

    def boom(out_set):
        raise RuntimeError("disk full (simulated)")

    import dispo.reports.html as html

    monkeypatch.setattr(html, "html_writer", lambda **kw: boom)  # fails inside the atomic set
    with pytest.raises(RuntimeError, match="disk full"):
        run_pipeline(from_mapping({"pipeline": {"inputs": ["in.csv"], "output_dir": "out",
                                                "as_of": "2026-11-23"}}, base=tmp_path))
    monkeypatch.undo()
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name in reports.OUTPUT_FILES}
    assert after == good  # the previous set, byte for byte
    assert _user_files(out) == before and (precious / "data.txt").read_text() == "not dispo's"
    (tmp_path / "in.csv").write_text("")
    with pytest.raises(DispoError, match="no data rows"):
        run_pipeline(cfg)
    assert _user_files(out) == before and verify(out) == []
    assert recover(out) == [] and (out / ".staging-link").is_symlink()


def test_output_set_only_ever_removes_its_own_staging_directories(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".staging-abandoned").mkdir()  # a killed run's staging directory: removed
    (out / ".staging-abandoned" / "results.parquet").write_bytes(b"half")
    (out / "user.csv").write_text("mine")
    with OutputSet(out) as o:
        o.write_text("summary.json", "{}")
    assert sorted(p.name for p in out.iterdir()) == [".dispo-manifest.json", "summary.json", "user.csv"]
    assert (out / "user.csv").read_text() == "mine"


# --- the terminal ---------------------------------------------------------------------------------

def test_terminal_escape_sequences_in_user_text_are_not_printed(tmp_path):
    """A rejected value, a file name or a pipeline name holding ESC sequences (recolour, retitle the
    terminal) or bidi overrides is printed with those characters spelt out."""
    payload = "\x1b[31mRED\x1b]0;pwned\x07\u202e"
    name = "evil\x1b[2J.csv"
    (tmp_path / name).write_text("property_id,state,occupancy,market_value,purchase_price,purchase_date,"
                                 f"first_lien_balance\nP1,TX,rental,{payload},1,2015-01-01,0\nP2,TX,rental,1,1,2015-01-01,0\n")
    p = tmp_path / "p.toml"
    p.write_text(f'[pipeline]\nname = "n\\u001b[5m"\ninputs = [{json.dumps(name)}]\noutput_dir = "out"\n'
                 'as_of = "2026-11-22"\n')
    proc = dispo("validate", str(p))
    assert proc.returncode == 3, proc.stderr
    shown = proc.stdout + proc.stderr
    assert "\x1b" not in shown and "\u202e" not in shown and "\x07" not in shown
    assert "\\x1b[31mRED" in shown  # the value is still there to read
    (tmp_path / name).write_text("")  # a file-level error names the file: spelt out as well
    proc = dispo("run", str(p), "-q")
    assert proc.returncode == 1 and "\x1b" not in proc.stderr and "\\x1b[2J.csv" in proc.stderr

"""report.xlsx: sheets, row counts, formats, nothing evaluated, truncation noted (opened with openpyxl)."""

from __future__ import annotations

import zipfile
from datetime import date

import openpyxl
import polars as pl
import pytest

import dispo
from dispo.reports import worklists, xlsx
from testkit import AS_OF, row, typed_frame

EVIL = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2", "@SUM(A1)", "\tq", "\rr"]


@pytest.fixture(scope="module")
def evaluated():
    rows = [row(property_id=f"P{i}", months_delinquent=i % 3, market_value=200000.0 + 1000 * i,
                first_lien_balance=250000.0 - 500 * i, address=EVIL[i % len(EVIL)] if i < 6 else f"{i} Main St",
                purchase_date=date(2015, 1, 1), occupancy=("primary", "rental", "second_home")[i % 3],
                state=("TX", "CA", "NY")[i % 3])
            for i in range(12)]
    frame = typed_frame(rows)
    from dispo import engine

    wide = engine.evaluate_wide(frame, as_of=AS_OF).collect()
    return engine.results_frame(wide, frame), wide


@pytest.fixture
def rejects():
    return pl.DataFrame({
        "source_file": ["in.csv", "in.csv"], "row_number": [7, 3],
        "reasons": [["market_value: must be > 0: '-5'"], ["state: not one of the 51 allowed values: 'XX'",
                                                         "=cmd|' /C calc'!A0"]],
        "property_id": ["=BAD", "R3"], "market_value": ["-5", "1"],
    })


def write(tmp_path, evaluated, rejects, **kw):
    results, wide = evaluated
    path = tmp_path / "report.xlsx"
    infos = xlsx.write_xlsx(path, results=results, rejects=rejects,
                            summary={"pipeline": "t", "as_of": "2026-11-22",
                                     "rows": {"read": 14, "accepted": 12, "rejected": 2},
                                     "assumptions_changed": {"reo_discount": 0.3},
                                     "reasons": {"by_reason": {"market_value: must be > 0": 1}}},
                            **kw)
    return path, infos


def test_sheets_and_row_counts(tmp_path, evaluated, rejects):
    results, _ = evaluated
    path, infos = write(tmp_path, evaluated, rejects)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Summary", "Lender worklist", "Investor worklist", "Rejects"]  # SPEC 7
    candidates = results.filter(pl.col("loss_mit_candidate")).height
    assert 0 < candidates < results.height
    expected = {"Lender worklist": candidates, "Investor worklist": results.height, "Rejects": 2}
    for name, n in expected.items():
        ws = wb[name]
        assert ws.max_row - 1 == n, name
        assert ws.freeze_panes == "C2"
        assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}{n + 1}"
    assert [i.rows_total for i in infos] == list(expected.values())
    assert not any(i.truncated for i in infos)


def test_ranked_like_the_csv_tables(tmp_path, evaluated, rejects):
    results, _ = evaluated
    path, _ = write(tmp_path, evaluated, rejects)
    wb = openpyxl.load_workbook(path)
    ws = wb["Lender worklist"]
    header = [c.value for c in ws[1]]
    assert header == list(worklists.LENDER_WORKLIST_COLUMNS)
    ids = [r[header.index("property_id")] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert ids == worklists.ranked(results, worklists.LENDER)["property_id"].to_list()
    ws = wb["Investor worklist"]
    header = [c.value for c in ws[1]]
    assert header == list(worklists.INVESTOR_WORKLIST_COLUMNS)
    assert [r[0] for r in ws.iter_rows(min_row=2, values_only=True)] == list(range(1, results.height + 1))


def test_formats_money_rates_dates(tmp_path, evaluated, rejects):
    results, _ = evaluated
    path, _ = write(tmp_path, evaluated, rejects)
    ws = openpyxl.load_workbook(path)["Lender worklist"]
    header = [c.value for c in ws[1]]
    cell = ws.cell(2, header.index("pv_foreclosure") + 1)
    assert isinstance(cell.value, float) and "$" in cell.number_format
    assert round(cell.value, 2) == cell.value  # rounded to cents
    assert "%" in ws.cell(2, header.index("ltv") + 1).number_format
    assert ws.cell(2, header.index("months_delinquent") + 1).data_type == "n"
    assert ws.cell(2, header.index("urgent") + 1).data_type == "b"
    assert ws.column_dimensions["C"].width >= len("address")


def test_text_is_never_a_formula(tmp_path, evaluated, rejects):
    path, _ = write(tmp_path, evaluated, rejects)
    wb = openpyxl.load_workbook(path)
    seen = []
    for ws in wb:
        for r in ws.iter_rows():
            for c in r:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
                if isinstance(c.value, str):
                    seen.append(c.value)
                    assert not c.value.startswith(("=", "+", "-", "@", "\t", "\r")), c.value
    assert "'=HYPERLINK(\"http://x\",\"y\")" in seen and "'=BAD" in seen and "'-5" in seen
    with zipfile.ZipFile(path) as z:  # no <f> element anywhere in the workbook
        assert not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in z.namelist() if n.endswith(".xml"))


def test_truncation_is_noted_on_the_summary(tmp_path, evaluated, rejects):
    results, _ = evaluated
    path, infos = write(tmp_path, evaluated, rejects, max_rows=5)
    wb = openpyxl.load_workbook(path)
    assert wb["Investor worklist"].max_row == 6
    assert wb["Rejects"].max_row == 3
    candidates = results.filter(pl.col("loss_mit_candidate")).height
    expected = {"Investor worklist"} | ({"Lender worklist"} if candidates > 5 else set())
    assert {i.name for i in infos if i.truncated} == expected
    summary_text = [c for r in wb["Summary"].iter_rows(values_only=True) for c in r if isinstance(c, str)]
    assert any("Investor worklist: showing the first 5 of 12 rows" in t and "investor_worklist.parquet" in t
               for t in summary_text)


@pytest.mark.parametrize(("purpose", "sheets"), [
    ("lender", ["Summary", "Lender worklist", "Rejects"]),
    ("investor", ["Summary", "Investor worklist", "Rejects"]),
])
def test_purpose_selects_the_sheets(tmp_path, evaluated, rejects, purpose, sheets):
    path, _ = write(tmp_path, evaluated, rejects, purpose=purpose)
    assert openpyxl.load_workbook(path).sheetnames == sheets


def test_cap_never_exceeds_excel(tmp_path, evaluated, rejects):
    assert xlsx.EXCEL_MAX_ROWS == 1_048_576 - 1
    _, infos = write(tmp_path, evaluated, rejects, max_rows=10**9)
    assert all(i.rows_shown == i.rows_total for i in infos)


def test_summary_sheet_lists_run_facts(tmp_path, evaluated, rejects):
    path, _ = write(tmp_path, evaluated, rejects)
    rows = list(openpyxl.load_workbook(path)["Summary"].iter_rows(values_only=True))
    pairs = {r[0]: r[1] for r in rows if r and r[0]}
    assert pairs["as_of"] == "2026-11-22"
    assert pairs["rows rejected"] == 2
    assert pairs["reo_discount"] == 0.3
    assert pairs["market_value: must be > 0"] == 1


def test_odd_text_survives_xml(tmp_path):
    results = dispo.evaluate(typed_frame([row(property_id="a&b<c>", address="x\x01y _x0041_ & <z>",
                                              months_delinquent=2)]), as_of=AS_OF)
    path = tmp_path / "r.xlsx"
    xlsx.write_xlsx(path, results=results, rejects=pl.DataFrame(
        schema={"source_file": pl.String, "row_number": pl.Int64, "reasons": pl.List(pl.String)}))
    ws = openpyxl.load_workbook(path)["Lender worklist"]
    header = [c.value for c in ws[1]]
    assert ws.cell(2, header.index("property_id") + 1).value == "a&b<c>"
    # a control character is written as Excel's own escape, a literal _x0041_ kept literal
    assert ws.cell(2, header.index("address") + 1).value == "x_x0001_y _x005F_x0041_ & <z>"


def test_writer_joins_the_output_set(tmp_path, evaluated, rejects):
    from dispo.reports import OutputSet

    results, wide = evaluated
    with OutputSet(tmp_path / "out") as out:
        xlsx.xlsx_writer(results=results, rejects=rejects)(out)
    assert (tmp_path / "out" / "report.xlsx").is_file()
    assert "report.xlsx" in out.committed


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 100])
def test_top_k_worklists_rank_like_the_full_tables(results, limit):
    """The top-N shortcut (lazy sort + head) orders exactly as the whole worklist: NaN as null,
    nulls last, ties by property_id."""
    from report_frames import with_worklist_columns

    full = with_worklist_columns(results)
    for w in worklists.WORKLISTS:
        assert worklists.ranked(full, w, limit=limit).equals(worklists.ranked(full, w).head(limit))


def _cells_of(path, sheet):
    """Every non-empty cell of ``sheet``: (row, column, value, data type, number format)."""
    ws = openpyxl.load_workbook(path)[sheet]
    return [(c.row, c.column, c.value, c.data_type, c.number_format)
            for r in ws.iter_rows() for c in r if c.value is not None]


def test_spliced_rows_equal_xlsxwriters_own_cells(tmp_path):
    """The data rows made with Polars (a cell's reference ``r`` only after an empty cell,
    ``xml:space`` only where text has edge whitespace) read back as the very cells xlsxwriter's
    own calls write: same position, value, type and number format, empty cells included (in the
    first column, two in a row, at a row's end)."""
    import xlsxwriter

    frame = pl.DataFrame({
        "property_id": [None, "P2", " lead", "trail ", "P5"],
        "market_value": [1234.565, None, None, -0.5, 10.0],
        "ltv": [0.8125, 1.0, None, 0.25, float("nan")],
        "urgent": [True, None, False, True, False],
        "months_delinquent": [3, 4, None, 0, 7],
        "purchase_date": [date(2015, 1, 1), None, date(2020, 2, 29), date(2000, 1, 1), date(2026, 11, 22)],
        "address": ["a&b", "=1+1", "x\x01y", "tab\tin", None],
    })
    fast = tmp_path / "fast.xlsx"
    w = xlsx._Workbook(["Sheet"])
    w.data_sheet("Sheet", frame)
    w.summary_sheet([], [])
    w.save(fast)

    cells, kinds = xlsx._cell_frame(frame)
    own = tmp_path / "own.xlsx"
    wb = xlsxwriter.Workbook(own, {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                   "strings_to_urls": False, "nan_inf_to_errors": True})
    formats = {k: wb.add_format({"num_format": v}) for k, v in xlsx.NUMBER_FORMATS.items()}
    wb.add_worksheet("Summary")
    ws = wb.add_worksheet("Sheet")
    for c, name in enumerate(cells.columns):
        ws.write_string(0, c, name)
    for r, values in enumerate(cells.iter_rows(), start=1):
        for c, (value, kind) in enumerate(zip(values, kinds)):
            if value is None or value != value:  # NaN: the fast path's error cell, below
                continue
            if kind == "bool":
                ws.write_boolean(r, c, value)
            elif kind == "text":
                ws.write_string(r, c, value)
            else:
                ws.write_number(r, c, value, formats.get(kind))
    wb.close()
    got, want = _cells_of(fast, "Sheet"), _cells_of(own, "Sheet")
    got.remove((6, 3, "#NUM!", "e", xlsx.NUMBER_FORMATS["rate"]))  # never a formula (xlsxwriter: =#NUM!)
    assert [x[:4] for x in got] == [x[:4] for x in want]
    assert [x[4] for x in got if x[0] > 1] == [x[4] for x in want if x[0] > 1]
    assert (2, 2, 1234.57, "n", xlsx.NUMBER_FORMATS["money"]) in got  # money to cents, after an empty cell
    assert (4, 1, " lead", "s", "General") in got  # edge whitespace kept

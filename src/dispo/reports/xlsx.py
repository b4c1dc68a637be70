"""report.xlsx: the run's reports as one workbook a person opens in Excel or LibreOffice.

Sheets, in this order: ``Summary``, ``Lender candidates``, ``Holdings``, ``Tax outcomes``,
``Rejects``. Every data sheet has a frozen header row (and frozen id columns), an autofilter, a
column width that fits its content, and number formats from the column's kind
(:func:`dispo.reports.views.column_kind`): money as currency rounded to cents (half away from zero,
``csv_safe.round_money``), rates and shares as percentages, months to one decimal, dates as dates.

Nothing in the workbook is ever evaluated: every text cell (and header) is first neutralised like
the CSV (:mod:`dispo.reports.csv_safe`: a leading ``'`` before ``=``, ``+``, ``-``, ``@``, tab, CR)
and then written as a string — ``write_string`` for the cells xlsxwriter writes (headers, Summary;
the workbook also has ``strings_to_formulas``/``_urls``/``_numbers`` off), an inline string
(``t="inlineStr"``, what ``write_string`` produces in constant_memory mode) for the data rows — and no cell is ever a
formula. The data rows are generated column-wise with Polars and spliced into the sheets
xlsxwriter laid out (styles by the formats' own xf index): xlsxwriter's per-cell calls cost ~8 µs a
cell, 100 s for a 100k-row run, against ~2.5 s this way.

A sheet holds at most ``max_rows`` data rows (default and ceiling: Excel's 1,048,575); the Summary
sheet says which sheets were cut and where the full tables are (the CSV/Parquet files). The data
sheets show the columns of :mod:`dispo.reports.views` (Rejects: all of them); the CSV/Parquet
outputs have every column.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import polars as pl

import dispo
from dispo import params
from dispo.reports import views, worklists
from dispo.reports.csv_safe import _to_text, neutralise, neutralise_text, round_money

#: Excel's row limit (1,048,576) minus the header row.
EXCEL_MAX_ROWS = 1_048_575
#: Rows per sheet in a pipeline run's report.xlsx: Excel's limit (docs/spec.md section 7); the worklists
#: are narrow, so a full sheet is affordable. The Summary sheet says which sheets were cut.
RUN_MAX_ROWS = EXCEL_MAX_ROWS
#: Excel's limit on the characters of a cell.
EXCEL_MAX_CHARS = 32_767
REPORT_NAME = "report.xlsx"

SHEET_SUMMARY = "Summary"
SHEET_LENDER = "Lender worklist"
SHEET_INVESTOR = "Investor worklist"
SHEET_REJECTS = "Rejects"
#: A worklist's sheet (docs/spec.md section 7: Summary, the worklists of the run's purpose, Rejects).
WORKLIST_SHEETS = {worklists.LENDER.name: SHEET_LENDER, worklists.INVESTOR.name: SHEET_INVESTOR}
SHEETS: tuple[str, ...] = (SHEET_SUMMARY, SHEET_LENDER, SHEET_INVESTOR, SHEET_REJECTS)
#: Where the untruncated table of each data sheet is.
FULL_TABLE = {SHEET_LENDER: "lender_worklist.parquet", SHEET_INVESTOR: "investor_worklist.parquet",
              SHEET_REJECTS: "rejects.parquet"}

NUMBER_FORMATS = {
    "money": '"$"#,##0.00;[Red]-"$"#,##0.00',
    "rate": "0.00%",
    "months": "0.0",
    "int": "0",
    "float": "General",
    "date": "yyyy-mm-dd",
}
_WIDTH = {"money": 15, "rate": 9, "months": 8, "int": 7, "float": 12, "date": 11, "bool": 7}
_MIN_WIDTH, _MAX_WIDTH = 6, 60
_EXCEL_EPOCH = date(1899, 12, 30)


@dataclass(frozen=True)
class SheetInfo:
    name: str
    rows_shown: int
    rows_total: int

    @property
    def truncated(self) -> bool:
        return self.rows_shown < self.rows_total


def _cell_frame(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[views.Kind]]:
    """The frame as cells: money rounded to cents, text (and lists, structs) neutralised, dates as
    Excel serial day numbers; and each column's kind."""
    exprs, kinds = [], []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        kind = views.column_kind(name, dtype)
        if kind == "money":
            expr = round_money(col)
        elif kind == "date":
            expr = (col.cast(pl.Date) - pl.lit(_EXCEL_EPOCH)).dt.total_days()
        elif kind == "text":
            text = _to_text(col, dtype)
            expr = neutralise(text if text is not None else col.cast(pl.String)).str.slice(0, EXCEL_MAX_CHARS)
        else:
            expr = col
        exprs.append(expr.alias(name))
        kinds.append(kind)
    return frame.select(exprs), kinds


def _width(name: str, kind: views.Kind, cells: pl.Series) -> float:
    header = len(name) + 3  # room for the autofilter arrow
    if kind == "text":
        longest = cells.str.len_chars().max() if cells.len() else 0
        content = (longest or 0) + 1
    else:
        content = _WIDTH.get(kind, 10)
    return float(min(_MAX_WIDTH, max(_MIN_WIDTH, header if header < 24 else 24, content)))


def _column_letters(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA (Excel column names)."""
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


#: Characters XML 1.0 cannot hold (and CR, which XML parsers turn into LF): written the way Excel
#: and xlsxwriter escape them, ``_x00HH_``.
_XML_CONTROL = [chr(i) for i in range(0x20) if chr(i) not in "\t\n"]
_NEEDS_ESCAPE = r"[&<>\x00-\x08\x0B-\x1F]|_x[0-9A-Fa-f]{4}_"


def _xml_text(expr: pl.Expr, *, controls: bool = True) -> pl.Expr:
    """Text for an inline-string cell: Excel's own ``_xHHHH_`` escape kept literal, control
    characters escaped like xlsxwriter does (``controls``), then XML-escaped."""
    expr = expr.str.replace_all(r"_(x[0-9A-Fa-f]{4}_)", "_x005F_$1")
    if controls:
        for ch in _XML_CONTROL:
            expr = expr.str.replace_all(ch, f"_x{ord(ch):04X}_", literal=True)
    return (expr.str.replace_all("&", "&amp;", literal=True).str.replace_all("<", "&lt;", literal=True)
            .str.replace_all(">", "&gt;", literal=True))


def _cell_xml(cells: pl.DataFrame, name: str, kind: views.Kind, ref: str | None, style: int | None) -> pl.Expr:
    """The ``<c>`` element of each cell of a column, null for a null value (no element at all).
    ``ref``: the column's letters when its cells carry their reference ``r`` (read with the row
    number from column ``__r``); None when each follows the row's previous cell (a ``<c>`` without
    ``r`` is the next column: ECMA-376 part 1, 18.3.1.4, ``r`` is optional).

    Numbers as ``<v>``; booleans ``t="b"``; text as an inline string (``t="inlineStr"``), the XML
    twin of xlsxwriter's ``write_string``: never a formula, never a number or a URL;
    ``xml:space="preserve"`` where a column has text with leading or trailing whitespace (as
    xlsxwriter does). A column is only escaped when some cell needs it (one scan), which keeps
    plain columns cheap."""
    col = pl.col(name)
    s = f' s="{style}"' if style else ""

    def cell(attrs: str, body: str, *args: pl.Expr) -> pl.Expr:
        if ref is not None:
            return pl.format(f'<c r="{ref}{{}}"{s}{attrs}>{body}</c>', pl.col("__r"), *args)
        return pl.format(f"<c{s}{attrs}>{body}</c>", *args) if args else pl.lit(f"<c{s}{attrs}>{body}</c>")

    if kind == "text":
        text = col
        if cells.select(col.str.contains(_NEEDS_ESCAPE).any()).item():
            controls = bool(cells.select(col.str.contains(r"[\x00-\x08\x0B-\x1F]").any()).item())
            text = _xml_text(col, controls=controls)
        space = ' xml:space="preserve"' if cells.select(col.str.contains(r"^\s|\s$").any()).item() else ""
        return cell(' t="inlineStr"', f"<is><t{space}>{{}}</t></is>", text)
    if kind == "bool":
        return cell(' t="b"', "<v>{}</v>", col.cast(pl.Int8))
    number = cell("", "<v>{}</v>", col)
    if kind in ("money", "rate", "months", "float") and not cells.select(
            col.is_finite().or_(col.is_null()).all()).item():  # NaN/inf, never produced by the engine
        bad = cell(' t="e"', "<v>#NUM!</v>")
        return pl.when(col.is_finite()).then(number).when(col.is_not_null()).then(bad)
    return number


def _row_cells(cells: pl.DataFrame, kinds: list[views.Kind], styles: dict[str, int]) -> list[pl.Expr]:
    """The ``<c>`` elements of each column. A cell carries its reference ``r`` only where the row's
    previous cell is empty (and in the first column): elsewhere it is the next column, and ~10
    bytes a cell less to make and deflate."""
    exprs = []
    for i, (name, kind) in enumerate(zip(cells.columns, kinds)):
        style, letters = styles.get(kind), _column_letters(i)
        before = cells.columns[i - 1] if i else None
        if before is None:
            expr = _cell_xml(cells, name, kind, letters, style)
        elif not cells[before].null_count():
            expr = _cell_xml(cells, name, kind, None, style)
        else:
            expr = (pl.when(pl.col(before).is_null()).then(_cell_xml(cells, name, kind, letters, style))
                    .otherwise(_cell_xml(cells, name, kind, None, style)))
        exprs.append(expr.alias(f"__c{i}"))
    return exprs


#: Rows turned into XML at a time (bounds the memory of a big sheet).
_CHUNK_ROWS = 50_000


def _rows_xml(cells: pl.DataFrame, kinds: list[views.Kind], styles: dict[str, int]) -> Iterator[bytes]:
    """The ``<row>`` elements of data rows 2.. of a sheet, ``_CHUNK_ROWS`` rows at a time.

    Each row's cells are columns of a frame written by Polars' CSV writer with a space as the
    separator and no quoting: whitespace between elements is insignificant in XML, and a null cell
    (no element) leaves only a space."""
    exprs = _row_cells(cells, kinds, styles)
    for offset in range(0, cells.height, _CHUNK_ROWS):
        chunk = cells.slice(offset, _CHUNK_ROWS).with_columns(
            __r=pl.int_range(offset + 2, offset + 2 + pl.len(), dtype=pl.Int64).cast(pl.String))
        xml = chunk.select(pl.format('<row r="{}">', pl.col("__r")).alias("__open"), *exprs,
                           pl.lit("</row>").alias("__close"))
        buffer = io.BytesIO()
        xml.write_csv(buffer, include_header=False, separator=" ", quote_style="never", null_value="",
                      line_terminator="\n")
        yield buffer.getvalue()


def _write_rows_xml(out: Any, cells: pl.DataFrame, kinds: list[views.Kind], styles: dict[str, int]) -> None:
    """Writes the ``<row>`` elements of data rows 2.. of a sheet to the binary stream ``out``: the
    next chunk's XML is made (Polars) while a second thread deflates the last one into ``out``
    (zlib releases the GIL): the two halves of a sheet's cost, one core each."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dispo-xlsx-deflate") as pool:
        pending: Future[Any] | None = None
        for data in _rows_xml(cells, kinds, styles):
            if pending is not None:
                pending.result()
            pending = pool.submit(out.write, data)
        if pending is not None:
            pending.result()


class _Workbook:
    """The workbook's structure (styles, headers, widths, panes, filters, Summary) is written by
    xlsxwriter; the data rows are generated column-wise with Polars and spliced into each data
    sheet's ``<sheetData>`` (xlsxwriter's per-cell calls cost ~8 µs a cell: 100 s for a 100k-row
    run). The rows use the very formats xlsxwriter registered, by their xf index."""

    def __init__(self, names: Sequence[str] = SHEETS):
        import xlsxwriter

        self.buffer = io.BytesIO()
        self.wb = xlsxwriter.Workbook(self.buffer, {
            "in_memory": True,
            "strings_to_formulas": False,  # belt and braces: write_string never makes a formula anyway
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "nan_inf_to_errors": True,
        })
        self.wb.set_properties({"title": "dispo report", "creator": f"dispo {dispo.__version__}"})
        self.header = self.wb.add_format({"bold": True, "bg_color": "#E8EEF4", "bottom": 1})
        self.formats = {k: self.wb.add_format({"num_format": v}) for k, v in NUMBER_FORMATS.items()}
        self.bold = self.wb.add_format({"bold": True})
        self.note = self.wb.add_format({"italic": True, "font_color": "#9C2A00"})
        self.names = (SHEET_SUMMARY, *(n for n in names if n != SHEET_SUMMARY))
        self.sheets = {name: self.wb.add_worksheet(name) for name in self.names}
        self.data: dict[str, tuple[pl.DataFrame, list[views.Kind]]] = {}

    def data_sheet(self, name: str, frame: pl.DataFrame, *, frozen_columns: int = 0) -> None:
        """Header, widths, formats, frozen panes and autofilter now; the rows when saved."""
        ws = self.sheets[name]
        cells, kinds = _cell_frame(frame)
        for c, (col, kind) in enumerate(zip(cells.columns, kinds)):
            ws.set_column(c, c, _width(col, kind, cells[col]), self.formats.get(kind))
            ws.write_string(0, c, neutralise_text(col), self.header)
        ws.freeze_panes(1, min(frozen_columns, len(cells.columns)))
        if cells.columns:
            ws.autofilter(0, 0, max(cells.height, 1), len(cells.columns) - 1)
        self.data[name] = (cells, kinds)

    def summary_sheet(self, rows: list[tuple[str, Any, str | None]], notes: list[str]) -> None:
        ws = self.sheets[SHEET_SUMMARY]
        ws.set_column(0, 0, 44)
        ws.set_column(1, 1, 48)
        r = 0
        for note in notes:
            ws.write_string(r, 0, neutralise_text(note), self.note)
            r += 1
        if notes:
            r += 1
        for label, value, kind in rows:
            if value is None and kind != "heading" and label != "(none)":
                continue
            if value is None and kind == "heading":
                r += 1 if r else 0
                ws.write_string(r, 0, neutralise_text(label), self.bold)
                r += 1
                continue
            ws.write_string(r, 0, neutralise_text(label))
            if isinstance(value, bool):
                ws.write_boolean(r, 1, value)
            elif isinstance(value, (int, float)):
                ws.write_number(r, 1, value, self.formats.get(kind or ""))
            elif value is not None:
                ws.write_string(r, 1, neutralise_text(str(value))[:EXCEL_MAX_CHARS])
            r += 1

    def save(self, path: Path) -> None:
        self.wb.close()
        styles = {k: f.xf_index for k, f in self.formats.items()}
        sheet_files = {f"xl/worksheets/sheet{i + 1}.xml": name for i, name in enumerate(self.names)}
        with zipfile.ZipFile(self.buffer) as src, \
                zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=_ZIP_LEVEL) as dst:
            for info in src.infolist():
                data = src.read(info.filename)
                name = sheet_files.get(info.filename)
                if name is None or name not in self.data or self.data[name][0].height == 0:
                    dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=_ZIP_LEVEL)
                    continue
                cells, kinds = self.data[name]
                head, sep, tail = data.partition(b"</sheetData>")
                if not sep or tail.find(b"</sheetData>") >= 0:  # pragma: no cover - xlsxwriter changed
                    raise RuntimeError(f"report.xlsx: unexpected sheet XML from xlsxwriter in {info.filename}")
                last = f"{_column_letters(len(cells.columns) - 1)}{cells.height + 1}"
                head = re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="A1:{last}"/>'.encode(), head, count=1)
                with dst.open(info.filename, "w", force_zip64=True) as out:  # the archive's deflate level
                    _fast_deflate(out)
                    out.write(head)
                    _write_rows_xml(out, cells, kinds, styles)
                    out.write(sep + tail)


#: Deflate level of the workbook: 1 is ~3x faster than 6 on big sheets for ~15 % more bytes.
_ZIP_LEVEL = 1


def _fast_deflate(member: Any) -> None:
    """A data sheet's member deflated by ISA-L (``isal``: the same raw deflate format, ~4x zlib's
    speed at level 1 and no bigger; measured on 312 MB of sheet XML: 1.78 -> 0.47 s CPU, 59 -> 57 MB).
    zipfile has no public hook for a member's compressor: it is swapped on the member just opened
    for writing, before its first byte (zipfile keeps computing the CRC and sizes itself). Without
    isal, or on a zipfile that works otherwise, zlib stays."""
    try:
        from isal import isal_zlib
    except ImportError:  # pragma: no cover - isal is a dependency; zlib is the fallback
        return
    if isinstance(getattr(member, "_compressor", None), type(zlib.compressobj())) and not member._file_size:
        member._compressor = isal_zlib.compressobj(_ZIP_LEVEL, isal_zlib.DEFLATED, -15)


def _summary_rows(summary: Mapping[str, Any], infos: list[SheetInfo]) -> list[tuple[str, Any, str | None]]:
    """(label, value, kind) rows of the Summary sheet; kind "heading" with value None starts a block."""
    rows: list[tuple[str, Any, str | None]] = [("Run", None, "heading")]
    rows.append(("pipeline", summary.get("pipeline"), None))
    rows.append(("as_of", summary.get("as_of"), None))
    rows.append(("started", summary.get("started"), None))
    rows.append(("dispo version", (summary.get("versions") or {}).get("dispo", dispo.__version__), None))
    for i, path in enumerate(summary.get("inputs") or []):
        rows.append((f"input {i + 1}", path, None))
    counts = summary.get("rows") or {}
    rows.append(("rows read", counts.get("read"), "int"))
    rows.append(("rows accepted", counts.get("accepted"), "int"))
    rows.append(("rows rejected", counts.get("rejected"), "int"))
    gate = summary.get("gate") or {}
    if gate:
        rows.append(("reject fraction", gate.get("reject_fraction"), "rate"))
        rows.append(("max reject fraction", gate.get("max_reject_fraction"), "rate"))
        rows.append(("data-quality gate passed", gate.get("passed"), None))
    rows.append(("exit code", summary.get("exit_code"), "int"))

    rows.append(("Sheets", None, "heading"))
    for info in infos:
        shown = f"{info.rows_shown:,} of {info.rows_total:,} rows"
        if info.truncated:
            shown += f" (cut; every row is in {FULL_TABLE[info.name]})"
        rows.append((info.name, shown, None))

    reasons = (summary.get("reasons") or {}).get("by_reason") or {}
    if reasons:
        rows.append(("Rejects by reason", None, "heading"))
        for reason, n in reasons.items():
            rows.append((reason, n, "int"))

    changed = summary.get("assumptions_changed") or {}
    rows.append(("Assumptions that differ from the defaults", None, "heading"))
    specs = params.assumption_specs()
    if not changed:
        rows.append(("(none)", None, None))
    for name, value in changed.items():
        spec = specs.get(name)
        rows.append((name, value, None))
        if spec is not None:
            rows.append((f"  default (rule {spec.rule})", spec.value, None))
    defaults = summary.get("defaults") or {}
    if defaults:
        rows.append(("Pipeline [defaults]", None, "heading"))
        for name, value in defaults.items():
            rows.append((name, value if isinstance(value, (bool, int, float)) else str(value), None))

    totals = (summary.get("totals") or {})
    money = totals.get("money") or {}
    if money:
        rows.append(("Totals", None, "heading"))
        for name, value in money.items():
            rows.append((name, value, "money"))
    tcounts = totals.get("counts") or {}
    if tcounts:
        rows.append(("Counts", None, "heading"))
        for name, value in tcounts.items():
            if isinstance(value, Mapping):
                for k, n in value.items():
                    rows.append((f"{name} = {k}", n, "int"))
            else:
                rows.append((name, value, "int" if not isinstance(value, bool) else None))
    return rows


def write_xlsx(path: str | os.PathLike[str], *, results: pl.DataFrame | pl.LazyFrame,
               rejects: pl.DataFrame | pl.LazyFrame, summary: Mapping[str, Any] | None = None,
               max_rows: int | None = None, purpose: str = "both",
               worklist_columns: Sequence[str] = (),
               worklist_tables: Mapping[str, pl.LazyFrame] | None = None) -> list[SheetInfo]:
    """Write report.xlsx to ``path``: Summary, the worklists of ``purpose`` (ranked as their files,
    with ``worklist_columns``), Rejects; returns what each data sheet holds. ``max_rows`` caps the
    data rows of every sheet (at most Excel's limit, also the default): the best-ranked rows are
    kept, and the Summary says where every row is. ``worklist_tables``: the worklists a run has
    written (ranked, with reasons), read instead of ranking ``results`` again.
    """
    cap = EXCEL_MAX_ROWS if max_rows is None else max(0, min(int(max_rows), EXCEL_MAX_ROWS))
    lf = results.lazy()
    lists = worklists.for_purpose(purpose)
    sheets: list[tuple[str, pl.DataFrame, int]] = []
    for w in lists:
        if worklist_tables is not None and w.name in worklist_tables:
            total = worklist_tables[w.name].select(pl.len()).collect().item()
        else:
            total = lf.select(pl.col(w.where).fill_null(False).sum() if w.where else pl.len()).collect().item()
        sheets.append((WORKLIST_SHEETS[w.name], worklists.top(lf, w, worklist_columns, cap, worklist_tables), total))
    rej = views.rejects_view(rejects)
    sheets.append((SHEET_REJECTS, rej, rej.height))

    infos = [SheetInfo(name, min(frame.height, cap), total) for name, frame, total in sheets]
    notes = [f"{i.name}: showing the first {i.rows_shown:,} of {i.rows_total:,} rows; every row is in "
             f"{FULL_TABLE[i.name]}." for i in infos if i.truncated]

    w = _Workbook([name for name, _, _ in sheets])
    for name, frame, _ in sheets:
        w.data_sheet(name, frame.head(cap), frozen_columns=2)
    w.summary_sheet(_summary_rows(summary or {}, infos), notes)
    w.save(Path(path))
    return infos


def xlsx_writer(*, results: pl.DataFrame | pl.LazyFrame, rejects: pl.DataFrame | pl.LazyFrame,
                summary: Mapping[str, Any] | None = None, max_rows: int | None = None, purpose: str = "both",
                worklist_columns: Sequence[str] = (), name: str = REPORT_NAME,
                worklist_tables: Mapping[str, pl.LazyFrame] | None = None) -> Callable[[Any], None]:
    """An ``extra_writers`` entry for :func:`dispo.reports.write_outputs`: writes report.xlsx into
    the open :class:`~dispo.reports.OutputSet` so it lands with the other outputs or not at all."""
    def write(out: Any) -> None:
        path = out.staged_path(name)
        write_xlsx(path, results=results, rejects=rejects, summary=summary, max_rows=max_rows, purpose=purpose,
                   worklist_columns=worklist_columns, worklist_tables=worklist_tables)
        fsync_file(path)
    return write


def fsync_file(path: str | os.PathLike[str]) -> None:
    """Flush a staged file to disk, as OutputSet does for the files it writes itself."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = ["EXCEL_MAX_ROWS", "REPORT_NAME", "SHEETS", "SheetInfo", "write_xlsx", "xlsx_writer"]

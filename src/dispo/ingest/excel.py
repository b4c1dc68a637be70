"""Excel ``.xlsx`` inputs (docs/spec.md section 2): one sheet, read by Polars' ``read_excel`` on fastexcel
(calamine, Rust), never cell by cell in Python.

Every cell is read as text (fastexcel ``dtypes="string"``) and then goes through the same parsing
and reasons as a CSV cell (:mod:`dispo.ingest.parse`), so a file reads the same whatever its kind:

- a cell typed as a number arrives as its value (``0.065`` for a cell shown as ``6.50%``,
  ``300000.5`` for one shown as ``$300,000.50``); a text cell as its text (``$1,200.50``, ``6%``,
  ``7/2/2004``: parsed as in a CSV, ``date_formats`` included);
- a cell typed as a date arrives as ``YYYY-MM-DD`` (a date-time at midnight in a date column is
  its date; one with a time of day is rejected, as a Parquet timestamp is);
- empty rows inside the sheet are kept (``drop_empty_rows=False``: fastexcel, through Polars, drops
  them by default), so ingest skips and counts them as blank rows and every row keeps its number.
  Columns with no header and no value are left out (``drop_empty_cols``); one with values but no
  header is a header error, as in a CSV.

The header is the first non-empty row of the sheet; ``row_number`` is the data row's number below
it, and ``header_line + row_number`` its row in the spreadsheet (what Excel shows at the left).
The sheet is the pipeline's ``sheet`` (default: the first). A corrupt or password-protected file, or
a sheet that does not exist, is a one-line error.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import duckdb
import polars as pl

from dispo import schema
from dispo.errors import DispoError
from dispo.ingest.parse import ident, lit

#: fastexcel's name for a header cell that is empty.
_UNNAMED = "__UNNAMED__"
#: The first bytes of an OLE2 compound file: an encrypted (password-protected) workbook, or an .xls.
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: A date-time cell at midnight, as fastexcel writes it as text.
_MIDNIGHT = r"^(\d{4}-\d{2}-\d{2}) 00:00:00$"


def _one_line(exc: BaseException) -> str:
    lines = [x.strip() for x in str(exc).strip().splitlines() if x.strip()]
    return lines[0] if lines else type(exc).__name__


def _read_sheet(path: Path, where: str, sheet: str | None) -> pl.DataFrame:
    with open(path, "rb") as fh:
        magic = fh.read(8)
    if magic == _OLE2_MAGIC:
        raise DispoError(f"{where}: cannot read as an .xlsx workbook: it is password-protected (encrypted) "
                         "or an old .xls saved under .xlsx; remove the password or save it as .xlsx")
    try:
        import fastexcel  # noqa: F401 - polars' calamine engine

        names = fastexcel.read_excel(str(path)).sheet_names
    except ImportError:
        raise DispoError(f"{where}: reading .xlsx needs the fastexcel package (pip install fastexcel)") from None
    except Exception as exc:  # fastexcel raises its own error types for a damaged file
        raise DispoError(f"{where}: cannot read as an .xlsx workbook: {_one_line(exc)}") from None
    if sheet is not None and sheet not in names:
        raise DispoError(f"{where}: no sheet named {sheet!r} (sheets: {', '.join(map(repr, names))})")
    if not names:
        raise DispoError(f"{where}: the workbook has no sheet")
    try:
        return pl.read_excel(path, sheet_name=sheet or names[0], engine="calamine", drop_empty_rows=False,
                             drop_empty_cols=True, raise_if_empty=False, read_options={"dtypes": "string"})
    except Exception as exc:
        raise DispoError(f"{where}: cannot read sheet {sheet or names[0]!r}: {_one_line(exc)}") from None


def _header_line(path: Path, sheet: str | None) -> int:
    """The sheet row (1-based) of the first row with a value: the header. Read from the sheet's XML
    (the first rows only); 1 when the workbook's layout is not the usual one."""
    try:
        with zipfile.ZipFile(path) as z:
            book = z.read("xl/workbook.xml").decode("utf-8", "replace")
            rels = z.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
            sheets = re.findall(r'<sheet\b[^>]*?name="([^"]*)"[^>]*?r:id="([^"]*)"', book)
            rid = next((r for n, r in sheets if sheet is None or n == sheet), None)
            target = re.search(rf'<Relationship\b[^>]*?Id="{re.escape(rid or "")}"[^>]*?Target="([^"]*)"', rels) \
                or re.search(rf'<Relationship\b[^>]*?Target="([^"]*)"[^>]*?Id="{re.escape(rid or "")}"', rels)
            if not target:
                return 1
            name = target.group(1).lstrip("/")
            name = name if name.startswith("xl/") else "xl/" + name
            with z.open(name) as fh:
                head = fh.read(1 << 20).decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile, StopIteration):
        return 1
    for number, cells in re.findall(r'<row\b[^>]*?\br="(\d+)"[^>]*>(.*?)</row>', head, flags=re.S):
        if re.search(r"<v>|<is>", cells):
            return int(number)
    return 1


def read_header(path: Path, where: str, sheet: str | None) -> tuple[list[str], int, pl.DataFrame]:
    """The sheet's column names (an empty header cell over values is ''), the header's sheet row,
    and the sheet's cells as text."""
    frame = _read_sheet(path, where, sheet)
    if frame.width == 0:
        raise DispoError(f"{where}: no data rows (the sheet is empty)")
    names = ["" if c.startswith(_UNNAMED) else c.strip() for c in frame.columns]
    return names, _header_line(path, sheet), frame


def stage_xlsx(con: duckdb.DuckDBPyConnection, source, idx: int, frame: pl.DataFrame):
    """The sheet's cells (``frame``, all text) as a temporary table: source_file, row_number, the
    columns under their dispo names, ROW_ERROR (always NULL: a sheet has no ragged rows)."""
    from dispo.ingest.reader import ROW_ERROR, Staged

    src, rn = schema.LINEAGE_COLUMNS
    positional = [f"c{i}" for i in range(frame.width)]
    cells = frame.rename(dict(zip(frame.columns, positional)))
    dates = [p for p, c in zip(positional, source.columns) if c in schema.BY_NAME and schema.BY_NAME[c].dtype == "date"]
    cells = cells.with_columns(pl.col(p).str.replace(_MIDNIGHT, "${1}") for p in dates)
    table = f"_dispo_xlsx_{idx}"
    con.register(f"{table}_src", cells.with_row_index(rn, offset=1))
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {table}_src")
    finally:
        con.unregister(f"{table}_src")
    cols = ", ".join(f"{ident(p)} AS {ident(c)}" for p, c in zip(positional, source.columns))
    select = (f"SELECT {lit(source.name)} AS {ident(src)}, CAST({ident(rn)} AS BIGINT) AS {ident(rn)}, {cols}, "
              f"NULL::VARCHAR AS {ident(ROW_ERROR)} FROM {table}")
    return Staged(source, select, frame.height, [table])

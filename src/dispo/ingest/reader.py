"""Input files into DuckDB as raw text: one staged relation per file, checked before anything is kept.

Row numbers (``row_number``): the 1-based number of the row's CSV *record* after the header, which is
its line number in the file minus one when no value spans lines. A record with a quoted newline is
one row (as DuckDB and every spreadsheet count it). Blank lines are not rows (they are skipped, not
rejected, not counted in rows read, but counted as ``blank_rows`` with the records whose cells are all
empty or whitespace, docs/spec.md section 2; blank lines after the last row are the file's end and not
counted), and they keep their place in the count, so the number of a row after a blank line is
still its line number minus one. Rejected rows (wrong number of fields,
malformed quoting, invalid UTF-8, over-long line) are numbered from DuckDB's reject ``line``; good
rows take, in order, the numbers left free by rejected rows and blank lines. For Parquet,
``row_number`` is the 1-based row index in the file.

Blank lines are found by a byte search; only when one sits before the last row does Python's csv
reader make a pass over the file to place it (a few seconds per million rows).

Header: the first CSV record (a UTF-8 BOM is dropped); names are stripped of surrounding whitespace.
Only the header's own bytes must be valid UTF-8 for the file to be read: a bad byte further down is
that row's problem (rejected, ``row: not valid UTF-8``), wherever it sits in the file. Parquet column
names are taken as they are. Empty or duplicate names, names that differ only in case from another
input column or from one of dispo's own columns (DuckDB matches names case-insensitively), reserved
names, names that would become equal once neutralised for a spreadsheet, and a missing required
column are errors. File-level errors name the file by its absolute path.

Line ends: LF, CRLF or CR, as DuckDB detects them from the start of the file. A file that mixes them
(rows appended with another tool) or holds a lone CR outside quotes makes DuckDB's strict parser give
up on the whole file; it is then read again from a copy in which every line end outside quotes is
LF, a lone CR counting as a line end (as Python's csv module and spreadsheets count it). Line ends
inside quoted values are kept as they are.

Known limit: after a value with an unterminated quote, DuckDB reads the rest of the file as that
one value, so the rejected record swallows every line after it (as any CSV reader would).
"""

from __future__ import annotations

import csv
import gzip
import io
import mmap
import os
import re
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import duckdb
import polars as pl

from dispo import schema
from dispo.errors import DispoError
from dispo.ingest.header import INTERNAL_NAMES, INTERNAL_PREFIX, check_header, mapped  # noqa: F401
from dispo.ingest.options import InputOptions
from dispo.ingest.parse import ident, lit

#: Raw-table column holding a row-level problem (a CSV record that could not be split into the
#: header's fields); NULL for every other row.
ROW_ERROR = "__dispo_row_error"
#: A null string no real cell equals, so that an empty CSV cell stays '' in the raw table.
_NO_NULL = "\x01dispo:no-null\x01"

_CSV_ERRORS = {
    "INVALID ENCODING": "not valid UTF-8",
    "UNQUOTED VALUE": "malformed quoting",
    "LINE SIZE OVER MAXIMUM": "line too long",
}


@dataclass
class Source:
    """One input file, once its header (or Parquet schema) has been read and checked."""

    path: Path
    name: str
    kind: str  # "csv" or "parquet"
    columns: list[str]
    parquet_types: dict[str, str] = field(default_factory=dict)
    shown_as: str = ""  # the user's file, when ``path`` is a copy of it
    headers: list[str] = field(default_factory=list)  # the file's own names, before [columns] mapping
    encoding: str = "utf-8"  # "cp1252" when the file is not UTF-8 but Windows-1252 (docs/spec.md section 2)
    header_line: int = 1  # the file's line (sheet row) of the header: a row's line is this + row_number
    table: Any = field(default=None, repr=False)  # an .xlsx sheet's cells, as text (read with the header)

    @property
    def where(self) -> str:
        """The file as error messages name it: its absolute path."""
        return self.shown_as or os.path.abspath(self.path)


@dataclass
class Staged:
    """A file loaded into temporary DuckDB relations, ready to go into the raw table."""

    source: Source
    select: str  # SQL: source_file, row_number, the file's columns as text, ROW_ERROR
    rows: int
    temp_tables: list[str] = field(default_factory=list)
    ordered: bool = True  # the select yields rows by row_number already
    invalid_utf8: int = 0  # rows rejected as not valid UTF-8
    blank_lines: int = 0  # empty lines before the last row (not in ``rows``: blank rows all the same)


def source_names(paths: Sequence[Path]) -> list[str]:
    """``source_file`` for each path: its path relative to the deepest directory holding all
    inputs, so a single file (or files side by side) is named by its basename, and two files
    of the same name in different directories stay apart."""
    absolute = [Path(os.path.abspath(p)) for p in paths]
    if len(absolute) == 1:
        return [absolute[0].name]
    common = os.path.commonpath([str(p.parent) for p in absolute])
    return [Path(os.path.relpath(p, common)).as_posix() for p in absolute]


def file_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".csv") or name.endswith(".csv.gz"):
        return "csv"
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".xlsx") or name.endswith(".xlsm"):
        return "xlsx"
    hint = " (an old .xls workbook: save it as .xlsx)" if name.endswith(".xls") else ""
    raise DispoError(f"{path}: unsupported file type (expected .csv, .csv.gz, .parquet or .xlsx){hint}")


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _open_text(path: Path, errors: str = "strict", encoding: str = "utf-8-sig"):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding=encoding, errors=errors, newline="")
    return open(path, encoding=encoding, errors=errors, newline="")


def _read_header(path: Path, encoding: str = "utf-8-sig") -> list[str] | None:
    """The first CSV record. Bytes that are not UTF-8 are decoded as surrogates, so that only the
    header's own bytes decide (the text layer decodes 8 KB at a time: a strict decode would fail the
    whole file for a bad byte in row 2, while the same byte in row 20,000 only rejects its row)."""
    with _open_text(path, errors="surrogateescape" if encoding == "utf-8-sig" else "strict",
                    encoding=encoding) as fh:
        header = next(csv.reader(fh), None)
    if header is not None and any(_SURROGATE.search(h) for h in header):
        raise UnicodeError("the header is not valid UTF-8" + (
            " (the file looks like UTF-16: save it as UTF-8)" if _looks_utf16(path) else ""))
    return header


_SURROGATE = re.compile("[\udc80-\udcff]")


def _looks_utf16(path: Path) -> bool:
    with (gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")) as fh:
        start = fh.read(64)
    return start[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(start) > 8 and start[1::2].count(0) > len(start) // 4)


def read_source(path: Path, name: str, options: InputOptions | None = None) -> Source:
    """Reads and checks a file's column names (nothing else): existence, type, header, with the
    pipeline's ``[columns]`` mapping applied (``options``)."""
    options = options or InputOptions()
    where = os.path.abspath(path)
    if not path.exists():
        raise DispoError(f"{where}: input file not found")
    if not path.is_file():
        raise DispoError(f"{where}: not a file")
    kind = file_kind(path)
    encoding, header_line, table = "utf-8", 1, None
    if kind == "csv":
        header, encoding = _csv_header(path, where)
    elif kind == "xlsx":
        from dispo.ingest.excel import read_header

        header, header_line, table = read_header(path, where, options.sheet)
    else:
        try:
            import pyarrow.parquet as pq

            arrow_schema = pq.read_schema(path)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise DispoError(f"{where}: cannot read as a Parquet file: {one_line(exc)}") from None
        header = list(arrow_schema.names)
    source = Source(path, name, kind, mapped(header, options.columns), headers=list(header), encoding=encoding,
                    header_line=header_line, table=table)
    check_columns(source)
    return source


def _csv_header(path: Path, where: str) -> tuple[list[str], str]:
    """The stripped names of a CSV header, and the file's encoding: UTF-8, or Windows-1252 when the
    header is not UTF-8 and every byte of the file decodes as cp1252 (docs/spec.md section 2)."""
    encoding = "utf-8"
    try:
        header = _read_header(path)
    except UnicodeError as exc:
        from dispo.ingest.encoding import is_cp1252

        if "UTF-16" in str(exc) or not is_cp1252(path):
            raise DispoError(f"{where}: cannot read as a UTF-8 CSV file: {one_line(exc)}") from None
        encoding = "cp1252"
        header = _read_header(path, encoding="cp1252")
    except (OSError, csv.Error, EOFError) as exc:
        raise DispoError(f"{where}: cannot read as a UTF-8 CSV file: {one_line(exc)}") from None
    if header is None or not any(h.strip() for h in header):
        with _open_text(path, errors="replace") as fh:
            empty = not fh.read(1 << 16).strip()
        if empty:
            raise DispoError(f"{where}: no data rows (the file is empty)")
        raise DispoError(f"{where}: the first line must be the header, and it is empty")
    return [h.strip() for h in header], encoding


def check_columns(source: Source) -> None:
    """Header rules of docs/spec.md sections 1 and 2 (:mod:`dispo.ingest.header`): every problem at once."""
    check_header(source.where, source.columns, source.headers or None)


# --- CSV ---------------------------------------------------------------------------------------

def _blank_rows(path: Path) -> list[int]:
    """Data row numbers of blank lines that come before some row (trailing ones shift nothing).

    DuckDB skips blank lines but counts them in its reject line numbers; to number the good rows
    the same way we need their places. Fast path (the usual case): no blank line anywhere but at
    the end, found with a C-speed byte search. Otherwise one pass of Python's csv reader, which
    knows a blank line from a newline inside a quoted value.
    """
    gz = path.name.lower().endswith(".gz")
    if gz:
        with gzip.open(path, "rb") as fh:
            data: bytes | mmap.mmap = fh.read()
    else:
        if path.stat().st_size == 0:
            return []
        with open(path, "rb") as fh:
            data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        end = len(data)
        while end > 0 and data[end - 1] in (10, 13):
            end -= 1
        if data.find(b"\n\n", 0, end) < 0 and data.find(b"\n\r\n", 0, end) < 0 \
                and data.find(b"\r\r", 0, end) < 0:
            return []
    finally:
        if isinstance(data, mmap.mmap):
            data.close()
    old_limit = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)
    try:
        # surrogateescape: a row that is not UTF-8 is DuckDB's to reject; it must not stop the
        # count (the rows after it would be misnumbered).
        with _open_text(path, errors="surrogateescape") as fh:
            reader = csv.reader(fh)
            next(reader, None)
            blanks = [i for i, record in enumerate(reader, 1) if not record]
    except (csv.Error, UnicodeDecodeError):
        return []  # DuckDB rejects what Python cannot read; numbering stays as DuckDB's
    finally:
        csv.field_size_limit(old_limit)
    return blanks


def _split_record(text: str) -> list[str]:
    """The fields of one rejected CSV record (DuckDB gives its text)."""
    text = text.strip("\r\n")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        return [text]
    if not rows:
        return [""]
    fields = rows[0]
    for more in rows[1:]:  # a newline the csv module did not keep inside the record
        fields[-1] += "\n" + (more[0] if more else "")
        fields.extend(more[1:])
    return fields


#: DuckDB keeps at most this many characters of a rejected line (``csv_line``).
_REJECT_TEXT_MAX = 10_000


def _full_record(path: Path, offset: int, text: str) -> list[str] | None:
    """The fields of a rejected record read again from the file at its byte offset
    (``line_byte_position`` - 1), for a record whose text DuckDB cut at _REJECT_TEXT_MAX characters
    or mangled (bytes that are not UTF-8: they become U+FFFD here, each field in its place). None
    when the bytes there are not that record (then DuckDB's text is all there is)."""
    start = max(0, offset - 1)
    head = re.match(r"[\x00-\x3e\x40-\x7e]*", text[:200]).group(0).encode("ascii")  # up to the first ? or non-ASCII
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    old_limit = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)
    try:
        with opener(path, "rb") as fh:
            if start > 0:
                fh.seek(start - 1)
                if fh.read(1) not in (b"\r", b"\n"):  # a record starts a line
                    return None
            fh.seek(start)
            if fh.read(len(head)) != head:
                return None
            fh.seek(start)
            while (b := fh.read(1)) in (b"\r", b"\n"):
                start += 1
            fh.seek(start)
            text = io.TextIOWrapper(fh, encoding="utf-8", errors="replace", newline="")
            return next(csv.reader(text), None)
    except (OSError, csv.Error, EOFError):
        return None
    finally:
        csv.field_size_limit(old_limit)


def _csv_rejects(con: duckdb.DuckDBPyConnection, table: str, source: Source) -> pl.DataFrame:
    """One row per rejected record: source_file, row_number, raw fields by position, ROW_ERROR.

    DuckDB keeps only the first 10,000 characters of a rejected line: a longer one is read again
    from the file, so its raw values (and its field count) are whole."""
    found = con.sql(
        f"SELECT line, list(DISTINCT error_type::VARCHAR ORDER BY error_type::VARCHAR), "
        f"first(csv_line ORDER BY column_idx), first(line_byte_position ORDER BY column_idx), "
        f"first(error_message ORDER BY column_idx) FILTER (WHERE error_type = 'LINE SIZE OVER MAXIMUM') "
        f"FROM {table} GROUP BY line ORDER BY line"
    ).fetchall()
    m = len(source.columns)
    rows: dict[str, list] = {c: [] for c in (*schema.LINEAGE_COLUMNS, *source.columns, ROW_ERROR)}
    for line, kinds, text, offset, too_long in found:
        fields = None
        if text is not None and offset is not None and (len(text) >= _REJECT_TEXT_MAX or "INVALID ENCODING" in kinds):
            fields = _full_record(source.path, int(offset), text)
        cut = fields is None and text is not None and len(text) >= _REJECT_TEXT_MAX
        if fields is None:
            fields = _split_record(text or "")
        problems = []
        if "MISSING COLUMNS" in kinds or "TOO MANY COLUMNS" in kinds:
            problems.append(f"has {len(fields)} fields, header has {m}")
        limit = re.search(r"line size of (\d+) bytes", too_long or "")
        problems += [_CSV_ERRORS.get(k, f"cannot be read as CSV ({k.lower()})")
                     + (f" (over {int(limit.group(1)):,} bytes)" if k == "LINE SIZE OVER MAXIMUM" and limit else "")
                     for k in kinds if k not in ("MISSING COLUMNS", "TOO MANY COLUMNS", "CAST")]
        if cut:
            problems.append(f"raw values cut at {_REJECT_TEXT_MAX:,} characters")
        rows[schema.LINEAGE_COLUMNS[0]].append(source.name)
        rows[schema.LINEAGE_COLUMNS[1]].append(int(line) - 1)
        for i, c in enumerate(source.columns):
            rows[c].append(fields[i] if i < len(fields) else None)
        rows[ROW_ERROR].append("row: " + "; ".join(problems or ["cannot be read as CSV"]))
    return pl.DataFrame(rows, schema={c: (pl.Int64 if c == schema.LINEAGE_COLUMNS[1] else pl.String)
                                      for c in rows})


def stage_csv(con: duckdb.DuckDBPyConnection, source: Source, idx: int) -> Staged:
    """Reads a CSV file into temporary tables: good rows (DuckDB's ``read_csv``, all text, in file
    order), rejected records (from its reject table) and the numbering of both. A file that is not
    UTF-8 but Windows-1252 (docs/spec.md section 2) is staged from a UTF-8 copy (``source.encoding``)."""
    names = [f"_dispo_{k}_{idx}" for k in ("good", "rej", "scan", "bad", "skip")]

    def drop() -> None:
        for t in names:
            con.execute(f"DROP TABLE IF EXISTS {t}")

    try:
        if source.encoding == "cp1252":
            return _stage_cp1252(con, source, names)
        try:
            staged = _stage_csv(con, source, *names)
        except _StrictParserGaveUp:
            drop()
            staged = _stage_csv_one_line_end(con, source, names)
        if staged.invalid_utf8:
            from dispo.ingest.encoding import is_cp1252

            if is_cp1252(source.path):
                drop()
                source.encoding = "cp1252"
                return _stage_cp1252(con, source, names)
        return staged
    except BaseException:
        drop()
        raise


def _stage_cp1252(con: duckdb.DuckDBPyConnection, source: Source, names: list[str]) -> Staged:
    from dispo.ingest.encoding import utf8_copy

    copy = utf8_copy(source.path)
    try:
        staged = _stage_csv(con, replace(source, path=copy, shown_as=source.where), *names)
    finally:
        os.unlink(copy)
    staged.source = source
    return staged


class _StrictParserGaveUp(Exception):
    """DuckDB's strict CSV parser stopped on the file (mixed line ends, a lone CR outside quotes)."""


_STRICT_GAVE_UP = "state machine reached an invalid state"
#: A quoted value (kept whole), or a line end outside quotes.
_LINE_END_OUTSIDE_QUOTES = re.compile(rb'("[^"]*")|\r\n?')


def _stage_csv_one_line_end(con: duckdb.DuckDBPyConnection, source: Source, names: list[str]) -> Staged:
    """Stages a copy of the file whose line ends outside quotes are all LF (DuckDB reads the copy
    into temporary tables, so the copy goes as soon as they exist)."""
    opener = gzip.open if source.path.name.lower().endswith(".gz") else open
    with opener(source.path, "rb") as fh:
        data = fh.read()
    fd, tmp = tempfile.mkstemp(prefix="dispo-line-ends-", suffix=".csv")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(_LINE_END_OUTSIDE_QUOTES.sub(lambda m: m.group(1) or b"\n", data))
        del data
        staged = _stage_csv(con, replace(source, path=Path(tmp), shown_as=source.where), *names)
    finally:
        os.unlink(tmp)
    staged.source = source
    return staged


def _pos(i: int) -> str:
    """The name of the file's i-th column inside the staging tables."""
    return f"c{i}"


def _read_csv_good_rows(con: duckdb.DuckDBPyConnection, source: Source, good: str, rej: str,
                       scan: str) -> pl.DataFrame:
    """DuckDB reads the file's good rows into ``good`` (all text, file order); returns its
    rejected records (:func:`_csv_rejects`)."""
    # Positional names inside the temp tables: a user column named ``rowid`` would otherwise hide
    # DuckDB's row id, which numbers the rows; user names come back in the select below.
    columns = "{" + ", ".join(f"{lit(_pos(i))}: 'VARCHAR'" for i in range(len(source.columns))) + "}"
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {good} AS SELECT * FROM read_csv({lit(str(source.path))}, "
            f"columns={columns}, header=true, auto_detect=false, delim=',', quote='\"', escape='\"', "
            f"nullstr={lit(_NO_NULL)}, store_rejects=true, rejects_table={lit(rej)}, "
            f"rejects_scan={lit(scan)})"
        )
    except duckdb.Error as exc:
        if _STRICT_GAVE_UP in str(exc) and not source.shown_as:
            raise _StrictParserGaveUp() from None
        raise DispoError(f"{source.where}: cannot read as CSV: {one_line(exc)}") from None
    return _csv_rejects(con, rej, source)


def _stage_csv(con: duckdb.DuckDBPyConnection, source: Source, good: str, rej: str, scan: str, bad: str,
               skip: str) -> Staged:
    # The blank-line search (a byte search over the file, Python holding the GIL) runs while DuckDB
    # reads the file (native, the GIL released): off the ingest's critical path.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dispo-blank-lines") as pool:
        blank_search = pool.submit(_blank_rows, source.path)
        rejects = _read_csv_good_rows(con, source, good, rej, scan)
        blanks = blank_search.result()
    n_good = con.sql(f"SELECT count(*) FROM {good}").fetchall()[0][0]
    src, rn = schema.LINEAGE_COLUMNS
    skipped = sorted(set(rejects[rn].to_list()) | set(blanks))
    cols = ", ".join(f"g.{ident(_pos(i))} AS {ident(c)}" for i, c in enumerate(source.columns))
    if not skipped:
        numbered = f"SELECT {lit(source.name)} AS {ident(src)}, g.rowid + 1 AS {ident(rn)}, {cols}, " \
                   f"NULL::VARCHAR AS {ident(ROW_ERROR)} FROM {good} g"
    else:
        # Good row g (1-based, in file order) gets number g + #{skipped s_i : s_i - i < g}: the
        # i-th skipped number has s_i - i good rows before it.
        con.register(f"{skip}_src", pl.DataFrame({"n": skipped}, schema={"n": pl.Int64}))
        con.execute(f"CREATE OR REPLACE TEMP TABLE {skip} AS SELECT max(i) AS c, k FROM "
                    f"(SELECT row_number() OVER (ORDER BY n) AS i, n - row_number() OVER (ORDER BY n) AS k "
                    f"FROM {skip}_src) GROUP BY k")
        con.unregister(f"{skip}_src")
        numbered = (f"SELECT {lit(source.name)} AS {ident(src)}, g.rowid + 1 + coalesce(s.c, 0) AS {ident(rn)}, "
                    f"{cols}, NULL::VARCHAR AS {ident(ROW_ERROR)} "
                    f"FROM {good} g ASOF LEFT JOIN {skip} s ON g.rowid + 1 > s.k")
    temps = [good, skip, rej, scan]
    select = numbered
    if rejects.height:
        con.register(f"{bad}_src", rejects)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {bad} AS SELECT * FROM {bad}_src")
        con.unregister(f"{bad}_src")
        temps.append(bad)
        select = f"{numbered} UNION ALL SELECT * FROM {bad}"
    invalid_utf8 = int(rejects[ROW_ERROR].str.contains(_CSV_ERRORS["INVALID ENCODING"], literal=True).sum())
    return Staged(source, select, n_good + rejects.height, temps, ordered=not skipped, invalid_utf8=invalid_utf8,
                  blank_lines=len(blanks))


# --- Parquet -----------------------------------------------------------------------------------

_TIMESTAMPS = ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")


def parquet_text(column: str, dtype: str, as_column: str | None = None) -> str:
    """A Parquet value as text. A schema date stored as a naive timestamp at midnight becomes its
    date (what pandas writes for a date column); everything else is DuckDB's text of the value
    (shortest round-trip text for doubles), then parsed like a CSV cell. ``column`` is the file's
    name of the column, ``as_column`` dispo's (after ``[columns]`` mapping; default the same)."""
    c = ident(column)
    col = schema.BY_NAME.get(as_column or column)
    if col is not None and col.dtype == "date" and dtype in _TIMESTAMPS:
        return (f"CASE WHEN CAST({c} AS TIME) = TIME '00:00:00' THEN strftime({c}, '%Y-%m-%d') "
                f"ELSE CAST({c} AS VARCHAR) END")
    return f"CAST({c} AS VARCHAR)"


def stage_parquet(con: duckdb.DuckDBPyConnection, source: Source, idx: int) -> Staged:
    path = lit(str(source.path))
    try:
        described = con.sql(f"DESCRIBE SELECT * FROM read_parquet({path})").fetchall()
        rows = con.sql(f"SELECT count(*) FROM read_parquet({path})").fetchall()[0][0]
    except duckdb.Error as exc:
        raise DispoError(f"{source.where}: cannot read as Parquet: {one_line(exc)}") from None
    headers = source.headers or source.columns
    if "file_row_number" in headers:  # DuckDB's own row index would be shadowed
        raise DispoError(f"{source.where}: a Parquet column may not be named 'file_row_number'")
    types = {name: str(dtype) for name, dtype, *_ in described}
    src, rn = schema.LINEAGE_COLUMNS
    texts = ", ".join(f"{parquet_text(h, types.get(h, 'VARCHAR'), c)} AS {ident(c)}"
                      for c, h in zip(source.columns, headers))
    select = (f"SELECT {lit(source.name)} AS {ident(src)}, file_row_number + 1 AS {ident(rn)}, {texts}, "
              f"NULL::VARCHAR AS {ident(ROW_ERROR)} FROM read_parquet({path})")  # a virtual column
    return Staged(source, select, int(rows), [])

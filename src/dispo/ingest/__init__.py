"""Ingest (ARCHITECTURE step 3): input files into DuckDB, raw text first, then typed values.

``ingest(paths, con, as_of=...)`` leaves two tables in ``con``'s in-memory working database
``dispo_work`` (``WORK_DATABASE``; gone with the connection):

- ``raw``: ``source_file``, ``row_number``, every input column as text (the union of all files'
  columns, by name, in order of first appearance; NULL where a file lacks the column), and the
  internal ``__dispo_row_error`` (a CSV record that could not be split into the header's fields).
  An empty CSV cell is ''; a Parquet value is DuckDB's text of it.
- ``typed``: ``source_file``, ``row_number``, each schema column present in the input parsed by
  the docs/spec.md section 1 rules (SQL generated from :mod:`dispo.schema`, see :mod:`dispo.ingest.parse`),
  the extra columns as text, and ``parse_reasons`` (list of ``column: what is wrong: 'raw value'``).

``source_file`` is the file's path relative to the deepest directory holding all inputs: the
basename for one file or for files side by side. ``row_number`` is the 1-based data row number
within its file (header excluded); see :mod:`dispo.ingest.reader` for blank lines and quoted
newlines. Rows are never dropped: a ragged CSV row is in both tables with the reason
``row: has N fields, header has M`` (its raw fields by position, its typed values NULL).

File-level problems (missing file, unknown suffix, unreadable file, duplicate or reserved column
name, missing required column, no data rows) raise :class:`~dispo.errors.DispoError` before the
``raw`` and ``typed`` tables are touched.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Sequence

import duckdb
import polars as pl

from dispo import schema
from dispo.errors import DispoError
from dispo.ingest.options import InputOptions
from dispo.ingest.parse import TRIM_CHARS, ident, lit, typed_select
from dispo.ingest.reader import (
    ROW_ERROR, Source, Staged, one_line, read_source, source_names, stage_csv, stage_parquet,
)

__all__ = ["IngestResult", "InputOptions", "ingest", "write_raw_table", "RAW_TABLE", "TYPED_TABLE",
           "ROW_ERROR"]

#: The run's working database: in memory (spilled to DuckDB's temp directory past its memory limit),
#: attached to the connection, so the run database never keeps a copy of the input, writing it costs
#: no disk I/O, and every cursor of the connection sees it (unlike TEMP tables).
WORK_DATABASE = "dispo_work"
RAW_TABLE = f"{WORK_DATABASE}.raw"
TYPED_TABLE = f"{WORK_DATABASE}.typed"


@dataclass(frozen=True)
class IngestResult:
    """What ingest read. ``typed`` is the ``typed`` table as a Polars frame, in input order (files
    as given, then row_number); None when ingest was asked not to load it (``load_typed=False``,
    for inputs too big to hold: the rows stay in the ``typed`` table, in that order, its rowid
    being the row's position; :meth:`with_typed` loads them)."""

    typed: pl.DataFrame | None
    rows_per_file: dict[str, int]
    input_columns: tuple[str, ...]
    extra_columns: tuple[str, ...]
    con: duckdb.DuckDBPyConnection = field(repr=False)
    as_of: date
    blank_rows: dict[str, int] = field(default_factory=dict)  # skipped rows of blank cells, per file
    encodings: dict[str, str] = field(default_factory=dict)  # files read as other than UTF-8
    header_lines: dict[str, int] = field(default_factory=dict)  # the header's line (sheet row), per file

    def summary_notes(self) -> dict[str, object]:
        """What summary.json says about reading the inputs (docs/spec.md section 2): ``blank_rows`` (the
        total) and, when some file was read as Windows-1252, ``encodings`` (file -> codec)."""
        notes: dict[str, object] = {"blank_rows": sum(self.blank_rows.values())}
        if self.encodings:
            notes["encodings"] = dict(self.encodings)
        return notes

    @property
    def rows_read(self) -> int:
        return sum(self.rows_per_file.values())

    @property
    def files(self) -> tuple[str, ...]:
        """``source_file`` of each input, in the order given."""
        return tuple(self.rows_per_file)

    @property
    def schema_columns(self) -> tuple[str, ...]:
        """The schema columns present in the input, in schema order."""
        return tuple(c for c in schema.NAMES if c in self.input_columns)

    def with_typed(self) -> "IngestResult":
        """This result with ``typed`` loaded from the ``typed`` table (itself when it already is)."""
        if self.typed is not None:
            return self
        return dataclasses.replace(self, typed=_load_typed(self.con, self.rows_read))

    def raw_rows(self, keys: pl.DataFrame) -> pl.DataFrame:
        """Raw text of the rows named by ``keys`` (columns source_file, row_number): source_file,
        row_number and every input column, in ``keys`` order."""
        lineage = list(schema.LINEAGE_COLUMNS)
        keys = keys.select(lineage).with_row_index("__dispo_order")
        self.con.register("__dispo_keys", keys)
        try:
            cols = ", ".join(f"r.{ident(c)}" for c in (*lineage, *self.input_columns))
            on = " AND ".join(f"r.{ident(c)} = k.{ident(c)}" for c in lineage)
            return self.con.sql(
                f"SELECT {cols} FROM {RAW_TABLE} r JOIN __dispo_keys k ON {on} ORDER BY k.__dispo_order"
            ).pl()
        finally:
            self.con.unregister("__dispo_keys")


def attach_work_database(con: duckdb.DuckDBPyConnection) -> None:
    """Attaches the in-memory WORK_DATABASE to ``con`` (once; outside any transaction)."""
    con.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {WORK_DATABASE}")


def _not_blank(columns: Sequence[str]) -> str:
    """SQL true for a row with some cell that is not empty or whitespace (docs/spec.md section 2: a row of
    blank cells is skipped, not rejected). Required columns are tested first: most rows stop there."""
    order = sorted(columns, key=lambda c: (c not in schema.REQUIRED, c not in schema.BY_NAME))
    blank = lit("^[" + TRIM_CHARS + "]+$")
    return " OR ".join(f"(coalesce({ident(c)}, '') <> '' AND NOT regexp_matches({ident(c)}, {blank}))"
                       for c in order) or "true"


def write_raw_table(con: duckdb.DuckDBPyConnection, staged: list[Staged], columns: list[str], *,
                    skip_blank: bool = False) -> list[int]:
    """Replaces the raw table with the staged files' rows; returns the rows written per file. One
    INSERT per file keeps the table in input order (sorted by row_number only when rejected rows or
    blank lines were numbered apart). ``skip_blank`` leaves out rows whose cells are all empty or
    whitespace (they keep their place in the numbering)."""
    lineage = schema.LINEAGE_COLUMNS
    all_cols = (*lineage, *columns, ROW_ERROR)
    definition = ", ".join(f"{ident(c)} {'BIGINT' if c == lineage[1] else 'VARCHAR'}" for c in all_cols)
    con.execute(f"CREATE OR REPLACE TABLE {RAW_TABLE} ({definition})")
    written = []
    for st in staged:
        have = {*st.source.columns, *lineage, ROW_ERROR}
        cols = ", ".join(ident(c) if c in have else f"NULL::VARCHAR AS {ident(c)}" for c in all_cols)
        order = "" if st.ordered else f" ORDER BY {ident(lineage[1])}"
        where = f" WHERE {_not_blank(st.source.columns)}" if skip_blank else ""
        try:
            n = con.execute(f"INSERT INTO {RAW_TABLE} SELECT {cols} FROM ({st.select}){where}{order}").fetchall()
        except duckdb.Error as exc:  # e.g. a Parquet file damaged past its footer
            raise DispoError(f"{st.source.where}: cannot read: {one_line(exc)}") from None
        written.append(int(n[0][0]))
    return written


def _load(con: duckdb.DuckDBPyConnection, staged: list[Staged], columns: list[str],
          options: InputOptions) -> list[int]:
    """Writes the raw and typed tables in one transaction: on any error both stay as they were.
    Returns the rows kept per file (blank rows left out)."""
    attach_work_database(con)
    con.execute("BEGIN TRANSACTION")
    try:
        written = write_raw_table(con, staged, columns, skip_blank=True)
        for st, n in zip(staged, written):
            if n == 0:
                blank = st.rows + st.blank_lines
                raise DispoError(f"{st.source.where}: no data rows (only {blank:,} blank row{'s' * (blank != 1)})")
        con.execute(f"CREATE OR REPLACE TABLE {TYPED_TABLE} AS "
                    f"{typed_select(RAW_TABLE, columns, ROW_ERROR, date_formats=options.date_formats)}")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return written


def _load_typed(con: duckdb.DuckDBPyConnection, rows: int) -> pl.DataFrame:
    # One chunk: the engine computes a few float operations differently on a tiny chunk (see
    # dispo.validate.MIN_BATCH_ROWS), so a row's values must not depend on how DuckDB batched it.
    typed = con.sql(f"SELECT * FROM {TYPED_TABLE}").pl().rechunk()
    if typed.height != rows:  # pragma: no cover - an internal invariant
        raise RuntimeError(f"ingest lost rows: {rows} read, {typed.height} typed")
    return typed


def ingest(paths: Sequence[Path], con: duckdb.DuckDBPyConnection, *, as_of: date,
           load_typed: bool = True, options: InputOptions | None = None) -> IngestResult:
    """Reads every input file into ``con`` (tables ``raw`` and ``typed``) and returns the typed rows.

    CSV (``.csv``, ``.csv.gz``), Parquet (``.parquet``) or Excel (``.xlsx``), by suffix; several
    files are united by column name. ``as_of`` is kept on the result for validation (parsing does not
    depend on it). ``load_typed=False`` leaves the typed rows in DuckDB only (``IngestResult.typed``
    is None). ``options``: the pipeline's ``[columns]``, ``date_formats`` and ``sheet``.
    """
    options = options or InputOptions()
    paths = [Path(p) for p in paths]
    if not paths:
        raise DispoError("no input files")
    seen: set[str] = set()
    for p in paths:
        key = os.path.abspath(p)
        if key in seen:
            raise DispoError(f"{p}: input file given twice")
        seen.add(key)
    sources = [read_source(p, n, options) for p, n in zip(paths, source_names(paths))]
    columns: list[str] = []
    folded: dict[str, Source] = {}
    for s in sources:
        for c in s.columns:
            other = folded.setdefault(c.lower(), s)
            if other is not s and c not in other.columns:  # DuckDB would take them for one column
                theirs = next(x for x in other.columns if x.lower() == c.lower())
                raise DispoError(f"{s.where}: column {c!r} differs only in case from {theirs!r} in {other.where}")
        columns += [c for c in s.columns if c not in columns]

    staged: list[Staged] = []
    try:
        for i, s in enumerate(sources):
            staged.append(_stage(con, s, i, options))
            if staged[-1].rows == 0:
                raise DispoError(f"{s.where}: no data rows")
        written = _load(con, staged, columns, options)  # only now, with every file staged and checked
    finally:
        for st in staged:
            for t in st.temp_tables:
                con.execute(f"DROP TABLE IF EXISTS {t}")
    rows_per_file = {st.source.name: n for st, n in zip(staged, written)}
    typed = _load_typed(con, sum(rows_per_file.values())) if load_typed else None
    return IngestResult(
        typed=typed,
        rows_per_file=rows_per_file,
        input_columns=tuple(columns),
        extra_columns=tuple(c for c in columns if c not in schema.BY_NAME),
        con=con,
        as_of=as_of,
        blank_rows={st.source.name: st.rows - n + st.blank_lines for st, n in zip(staged, written)},
        encodings={st.source.name: st.source.encoding for st in staged if st.source.encoding != "utf-8"},
        header_lines={st.source.name: st.source.header_line for st in staged},
    )


def _stage(con: duckdb.DuckDBPyConnection, source: Source, idx: int, options: InputOptions) -> Staged:
    if source.kind == "csv":
        return stage_csv(con, source, idx)
    if source.kind == "xlsx":
        from dispo.ingest.excel import stage_xlsx

        return stage_xlsx(con, source, idx, source.table)
    return stage_parquet(con, source, idx)

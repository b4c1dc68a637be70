"""The Spark engine's partition functions: pyarrow record batches in, pyarrow record batches out.

Spark calls these through ``DataFrame.mapInArrow``; nothing here imports pyspark, so every function
can be run (and tested) on plain pyarrow batches. Each partition reuses the local engine's code:

- :func:`evaluate_csv_records` / :func:`evaluate_parquet_rows` turn a batch into the ingest's
  ``raw`` table (text) with the ingest's own DuckDB code: CSV records go through
  ``ingest.reader.stage_csv`` (same dialect, same ragged-row and quoting reasons), Parquet values
  through the ingest's ``parquet_text`` casts; then :func:`evaluate_raw` runs the schema-generated
  parse SQL (``ingest.parse.typed_select``), the row-level checks (:mod:`dispo.spark.checks`) and
  ``dispo.engine.evaluate_wide`` + ``results_frame`` on the rows that passed.
- :func:`split_stats` and :func:`number_lines` give every CSV line its file's row number (docs/spec.md section 1:
  the 1-based data row, a record with a quoted newline is one row, a blank line is no row but
  keeps its number) across Spark's file splits, from the quote parity of each line.
- :func:`tax_outcome_rows` reshapes evaluated rows into the long ``tax_outcomes`` table with
  ``reports.tables.tax_outcomes``.

One output row per input record: lineage, ``__dispo_file_index`` (the file's position in the
inputs), ``__dispo_reasons`` (row-level reasons with their sort keys), ``__dispo_pid`` (the
trimmed property_id of rows that take part in the duplicate check), ``__dispo_raw`` (the raw text
of every input column, as one list in the order of ``EvalContext.columns``), the results columns
(null for rejected rows) and the wide columns tax_outcomes needs that results does not hold
(``__dispo_wide__<column>``).
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping
from urllib.parse import unquote, urlsplit

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from dispo import engine, schema
from dispo.errors import DispoError
from dispo.ingest import RAW_TABLE, ROW_ERROR, attach_work_database
from dispo.ingest import write_raw_table  # the ingest's own raw-table writer
from dispo.ingest.parse import TRIM_CHARS, ident, typed_select
from dispo.ingest.reader import Source, parquet_text, stage_csv
from dispo.params import Assumptions
from dispo.reports import tables
from dispo.spark import checks

SRC, RN = schema.LINEAGE_COLUMNS
ROW = checks.ROW

#: Internal columns (an input column may not start with this prefix on Spark).
INTERNAL_PREFIX = "__dispo"
FILE_INDEX = "__dispo_file_index"
REASONS = "__dispo_reasons"
PID = "__dispo_pid"
RAW = "__dispo_raw"
#: True for a row whose cells are all empty or whitespace: skipped and counted as blank_rows, as
#: the local ingest skips it (docs/spec.md section 2); every other column of such a row is null.
BLANK = "__dispo_blank"
WIDE_PREFIX = "__dispo_wide__"
#: Which per-row assumption columns (and investor_type) hold a value in an accepted row (SPEC 5.5):
#: bit i for ``engine.row_value_columns(EvalContext.columns)[i]``, null for a row the checks
#: rejected. The driver ORs it over the accepted rows, in its one aggregate of the run.
VALUED = "__dispo_valued"
#: Columns of a Parquet input added by the Spark reader (``_metadata``).
PQ_FILE = "__dispo_file"
PQ_ROW = "__dispo_row_index"

#: Lines of CSV files: ``spark.read.text`` value as binary, ``_metadata.file_path``,
#: ``_metadata.file_block_start``.
LINE, FILE, BLOCK = "line", "file", "block"
STATS_DDL = ("file string, block long, lines long, parity long, odd_prefix long, blank_even long, "
             "blank_odd long, first_line binary, trailing_empty long")
NUMBERED_DDL = "file string, row_number long, line_no long, text binary, frag boolean"
RECORD_TEXT = "text"

_QUOTE = '"'
_CR = pa.scalar(b"\r", pa.binary())
DEFAULT_CHUNK_ROWS = 50_000
#: Wide columns tax_outcomes reads that results does not hold.
WIDE_ONLY: tuple[str, ...] = tuple(c for c in schema.TAX_OUTCOME_SOURCES if c not in schema.RESULT_OUTPUTS)


def norm_uri(path: str) -> str:
    """One spelling per file: Spark writes ``file:/a/b``, ``Path.as_uri()`` ``file:///a/b``, and
    either may percent-encode."""
    parts = urlsplit(path)
    if not parts.scheme or len(parts.scheme) == 1:  # a plain path (or a Windows drive)
        return "file://" + os.path.abspath(path)
    return f"{parts.scheme}://{parts.netloc}{unquote(parts.path)}"


@dataclass(frozen=True)
class FileRef:
    """What a partition needs to know about one input file."""

    name: str          # source_file
    index: int         # position in the inputs (input order)
    kind: str          # "csv" or "parquet"
    columns: tuple[str, ...]


@dataclass(frozen=True)
class EvalContext:
    """Everything the evaluation partition function needs; pickled to the executors once."""

    as_of: date
    assumptions: Mapping[str, Any]             # the overrides (Assumptions.overrides())
    defaults: Mapping[str, Any]
    columns: tuple[str, ...]                     # every input column, union by name, first-seen order
    files: Mapping[str, FileRef]                 # by norm_uri
    out_schema: pa.Schema | None = None          # what Spark expects back (set by the driver)
    chunk_rows: int = DEFAULT_CHUNK_ROWS

    def file(self, uri: str) -> FileRef:
        try:
            return self.files[norm_uri(uri)]
        except KeyError:
            raise RuntimeError(f"dispo: a partition holds rows of {uri}, which is not an input") from None


# --- helpers ----------------------------------------------------------------------------------------

def _np(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return array.to_numpy(zero_copy_only=False)


def _runs(files: pa.Array, blocks: pa.Array) -> list[tuple[int, int]]:
    """[start, end) of each run of rows of one file split (a partition holds whole splits, in order)."""
    n = len(blocks)
    if n == 0:
        return []
    b = _np(blocks)
    f = _np(pc.dictionary_encode(files).indices)
    change = np.flatnonzero((b[1:] != b[:-1]) | (f[1:] != f[:-1])) + 1
    edges = [0, *change.tolist(), n]
    return list(zip(edges[:-1], edges[1:]))


def _line_facts(lines: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Per line: parity of its number of double quotes, and whether it is empty (a lone CR too)."""
    parity = (_np(pc.count_substring(lines, _QUOTE)).astype(np.int64) & 1)
    length = _np(pc.binary_length(lines))
    empty = (length == 0) | ((length == 1) & _np(pc.equal(lines, _CR)).astype(bool))
    return parity, empty


def _before(parity: np.ndarray, carried: int) -> np.ndarray:
    """Quote parity before each line, relative to its split's start (``carried``: lines before)."""
    return (np.cumsum(parity) - parity + carried) & 1


# --- pass 1: per split, what numbering needs ------------------------------------------------------

def split_stats(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """One row per file split of the partition: lines, quote parity, and the counts that depend on
    whether the split starts inside a quoted value (``odd_prefix``: lines with an odd number of
    quotes before them in the split; ``blank_even``/``blank_odd``: empty lines after an even/odd
    number), plus the split's first line (the header, for the split at offset 0)."""
    acc: dict[tuple[str, int], list[Any]] = {}
    for batch in batches:
        lines, files, blocks = batch.column(LINE), batch.column(FILE), batch.column(BLOCK)
        parity, empty = _line_facts(lines)
        for s, e in _runs(files, blocks):
            key = (files[s].as_py(), blocks[s].as_py())
            a = acc.get(key)
            if a is None:
                a = acc[key] = [0, 0, 0, 0, 0, lines[s].as_py(), 0]
            p = parity[s:e]
            before = _before(p, a[1])
            a[0] += e - s
            a[1] = (a[1] + int(p.sum())) & 1
            a[2] += int(before.sum())
            a[3] += int((empty[s:e] & (before == 0)).sum())
            a[4] += int((empty[s:e] & (before == 1)).sum())
            filled = np.flatnonzero(~empty[s:e])  # empty lines at the split's end (the file's end?)
            a[6] = a[6] + (e - s) if filled.size == 0 else int(e - s - 1 - filled[-1])
    if acc:
        keys = list(acc)
        yield pa.RecordBatch.from_pydict({
            "file": [k[0] for k in keys], "block": [k[1] for k in keys],
            "lines": [acc[k][0] for k in keys], "parity": [acc[k][1] for k in keys],
            "odd_prefix": [acc[k][2] for k in keys], "blank_even": [acc[k][3] for k in keys],
            "blank_odd": [acc[k][4] for k in keys], "first_line": [acc[k][5] for k in keys],
            "trailing_empty": [acc[k][6] for k in keys],
        }, schema=pa.schema([("file", pa.string()), ("block", pa.int64()), ("lines", pa.int64()),
                             ("parity", pa.int64()), ("odd_prefix", pa.int64()), ("blank_even", pa.int64()),
                             ("blank_odd", pa.int64()), ("first_line", pa.binary()),
                             ("trailing_empty", pa.int64())]))


@dataclass(frozen=True)
class SplitStart:
    """Where a split starts in its file: inside a quoted value or not, lines and continuation
    lines (lines inside a quoted value) before it."""

    in_quote: int
    line_offset: int
    cont_offset: int


@dataclass
class FileLines:
    """A CSV file's line counts, from :func:`split_stats`."""

    uri: str                 # as Spark spells it
    lines: int = 0           # physical lines, header included
    continuation: int = 0    # lines that continue a record (a quoted newline before them)
    blank: int = 0           # blank lines outside quoted values (not rows)
    header: bytes = b""
    header_in_quote: bool = False  # the header record spans lines
    trailing_blank: int = 0  # blank lines after the last record (the file's end)

    @property
    def records(self) -> int:
        """Data rows (records after the header; blank lines are not rows)."""
        return max(0, self.lines - self.continuation - self.blank - 1)

    @property
    def blank_rows(self) -> int:
        """Blank lines as the local ingest counts them in ``blank_rows`` (``reader._blank_rows``: none
        when every blank line is at the file's end, else all of them)."""
        return self.blank if self.blank > self.trailing_blank else 0


def line_plan(stats: Iterable[Mapping[str, Any]]) -> tuple[dict[tuple[str, int], SplitStart], dict[str, FileLines]]:
    """Chains the splits of each file (by offset) into a numbering plan, keyed (Spark's file
    path, split offset); and per file (by norm_uri) its counts."""
    by_file: dict[str, list[Mapping[str, Any]]] = {}
    for row in stats:
        by_file.setdefault(row["file"], []).append(row)
    plan: dict[tuple[str, int], SplitStart] = {}
    files: dict[str, FileLines] = {}
    for uri, rows in by_file.items():
        info = files.setdefault(norm_uri(uri), FileLines(uri))
        state = line_offset = cont_offset = 0
        for row in sorted(rows, key=lambda r: r["block"]):
            if line_offset == 0 and row["lines"]:
                info.header = bytes(row["first_line"])
                info.header_in_quote = row["first_line"].count(b'"') % 2 == 1
            plan[(uri, row["block"])] = SplitStart(state, line_offset, cont_offset)
            cont = row["odd_prefix"] if state == 0 else row["lines"] - row["odd_prefix"]
            info.blank += row["blank_even"] if state == 0 else row["blank_odd"]
            info.continuation += cont
            line_offset += row["lines"]
            cont_offset += cont
            state ^= row["parity"]
            # empty lines hold no quote: those ending the split are outside quotes iff the split is
            trailing = row.get("trailing_empty", 0) if state == 0 else 0
            info.trailing_blank = info.trailing_blank + trailing if trailing == row["lines"] else trailing
        info.lines = line_offset
    return plan, files


# --- pass 2: row numbers ------------------------------------------------------------------------------

def number_lines(batches: Iterable[pa.RecordBatch], plan: Mapping[tuple[str, int], SplitStart]
                 ) -> Iterator[pa.RecordBatch]:
    """Every CSV line that belongs to a data record, with its file's row number.

    ``row_number`` = line index − continuation lines up to it (the header is row 0), so a record
    spanning lines is one row, and a blank line (dropped here) keeps its number. ``frag``: the line
    is part of a record that spans lines (its lines are joined by the caller, by ``line_no``).
    """
    carried: dict[tuple[str, int], list[int]] = {}
    for batch in batches:
        lines, files, blocks = batch.column(LINE), batch.column(FILE), batch.column(BLOCK)
        parity, empty = _line_facts(lines)
        for s, e in _runs(files, blocks):
            key = (files[s].as_py(), blocks[s].as_py())
            try:
                start = plan[key]
            except KeyError:
                raise RuntimeError(f"dispo: split {key} was not seen when lines were counted "
                                   "(the file changed during the run?)") from None
            c = carried.setdefault(key, [0, 0, 0])  # lines seen, quote parity, continuation lines
            p = parity[s:e]
            inside = (_before(p, c[1]) ^ start.in_quote).astype(bool)
            frag = inside | (p == 1)
            blank = ~inside & empty[s:e]
            idx = start.line_offset + c[0] + np.arange(e - s, dtype=np.int64)
            rn = idx - (start.cont_offset + c[2] + np.cumsum(inside))
            c[0] += e - s
            c[1] = (c[1] + int(p.sum())) & 1
            c[2] += int(inside.sum())
            keep = pa.array(~blank & (rn > 0))
            yield pa.RecordBatch.from_arrays(
                [pc.filter(files.slice(s, e - s), keep).cast(pa.string()),
                 pc.filter(pa.array(rn), keep), pc.filter(pa.array(idx), keep),
                 pc.filter(lines.slice(s, e - s), keep).cast(pa.binary()),
                 pc.filter(pa.array(frag), keep)],
                names=["file", "row_number", "line_no", RECORD_TEXT, "frag"])


# --- evaluation --------------------------------------------------------------------------------------

def chunks(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Batches regrouped into tables of about ``rows`` rows (the engine's per-call overhead is
    amortised over a chunk, whatever Spark's Arrow batch size)."""
    pending: list[pa.RecordBatch] = []
    n = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        n += batch.num_rows
        if n >= rows:
            yield pa.Table.from_batches(pending)
            pending, n = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def raw_frame_schema(columns: Iterable[str]) -> dict[str, pl.DataType]:
    return {SRC: pl.String, RN: pl.Int64, **{c: pl.String for c in columns}, ROW_ERROR: pl.String}


def _header_line(columns: Iterable[str]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(list(columns))
    return buf.getvalue().encode("utf-8")


_FIELD = rb'(?:"(?:[^"]|"")*"[^,]*|[^,"][^,]*|)'
#: A CSV record that ends outside quotes (quoted fields may hold commas, newlines and "").
_CLOSED_RECORD = re.compile(_FIELD + rb"(?:," + _FIELD + rb")*")


def _check_closed(ref: FileRef, numbers: list[int], texts: list[bytes]) -> None:
    """Records are found by quote parity; a record with an even number of quotes that still ends
    inside a quoted value (``ren"tal,"x``) would be continued by DuckDB on the next line, which
    Spark numbered as a row of its own. Refuse such a file rather than number it differently."""
    for n, t in zip(numbers, texts):
        if b'"' in t and t.count(b'"') % 2 == 0 and _CLOSED_RECORD.fullmatch(t) is None:
            raise DispoError(
                f"{ref.name}: row {n}: a quote opens a value that its line does not close (the line has an even "
                "number of quotes); the Spark engine cannot tell where this record ends: fix the quoting or "
                "run with --engine local")


def csv_raw(records: pa.Table, ctx: EvalContext) -> pl.DataFrame:
    """CSV records (file, row_number, text) → the ingest's raw table for them.

    The records of each file are written, in row order and without blank lines, under a header
    line to a small local file, and read by the ingest's ``stage_csv`` (DuckDB ``read_csv``, the
    same options and reject handling as a local run), which numbers them 1..n; those numbers are
    then mapped back to the file's row numbers.
    """
    df = pl.from_arrow(records).sort("file", "row_number")
    tmp = tempfile.mkdtemp(prefix="dispo-spark-")
    con = duckdb.connect(config={"threads": 1})
    staged, numbers = [], []
    try:
        for i, ((uri,), group) in enumerate(df.group_by("file", maintain_order=True)):
            ref = ctx.file(uri)
            path = Path(tmp) / f"{i}.csv"
            texts = [t[:-1] if t.endswith(b"\r") else t for t in group[RECORD_TEXT].to_list()]
            _check_closed(ref, group["row_number"].to_list(), texts)
            path.write_bytes(_header_line(ref.columns) + b"\n".join(texts) + b"\n")
            st = stage_csv(con, Source(path, ref.name, "csv", list(ref.columns)), i)
            staged.append(st)
            if st.rows != group.height:
                first, last = group["row_number"].min(), group["row_number"].max()
                raise DispoError(
                    f"{ref.name}: rows {first}-{last}: the CSV reader splits these {group.height} lines into "
                    f"{st.rows} records (a quote inside an unquoted value?); the Spark engine cannot number "
                    "them exactly: fix the quoting or run with --engine local")
            numbers.append(pl.DataFrame({SRC: ref.name, "__blob": np.arange(1, group.height + 1, dtype=np.int64),
                                         "__real": group["row_number"]}))
        if not staged:
            return pl.DataFrame(schema=raw_frame_schema(ctx.columns))
        attach_work_database(con)
        write_raw_table(con, staged, list(ctx.columns))
        raw = con.sql(f"SELECT * FROM {RAW_TABLE}").pl()
    finally:
        for st in staged:
            for t in st.temp_tables:
                con.execute(f"DROP TABLE IF EXISTS {t}")
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)
    mapping = pl.concat(numbers)
    raw = raw.join(mapping, left_on=[SRC, RN], right_on=[SRC, "__blob"], how="left", maintain_order="left")
    if raw["__real"].null_count():  # pragma: no cover - an internal invariant
        raise RuntimeError("dispo: DuckDB read a different number of CSV records than Spark counted")
    return raw.with_columns(pl.col("__real").alias(RN)).drop("__real")


def parquet_raw(rows: pa.Table, ctx: EvalContext) -> pl.DataFrame:
    """Parquet rows (as Spark read them, plus file path and row index) → the ingest's raw table:
    each value as the ingest's DuckDB text of it (``parquet_text``)."""
    con = duckdb.connect(config={"threads": 1})
    try:
        con.register("src", rows)
        types = {name: str(dtype) for name, dtype, *_ in con.sql("DESCRIBE SELECT * FROM src").fetchall()}
        texts = ", ".join(
            f"{parquet_text(c, types[c])} AS {ident(c)}" if c in types else f"NULL::VARCHAR AS {ident(c)}"
            for c in ctx.columns)
        raw = con.sql(
            f"SELECT {ident(PQ_FILE)} AS {ident(SRC)}, {ident(PQ_ROW)} + 1 AS {ident(RN)}"
            f"{', ' + texts if texts else ''}, NULL::VARCHAR AS {ident(ROW_ERROR)} FROM src").pl()
    finally:
        con.close()
    names = {u: ctx.file(u).name for u in raw[SRC].unique().to_list()}
    return raw.with_columns(pl.col(SRC).replace_strict(names, return_dtype=pl.String))


def checked_rows(raw: pl.DataFrame, columns: tuple[str, ...], as_of: date
                 ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.Series]:
    """Raw text → typed (the ingest's SQL) → row checks. Returns (raw, typed, reasons, checked), the
    first two with ``_ROW`` (their position in (source_file, row_number) order); ``reasons`` and
    ``checked`` as :func:`checks.row_reasons` gives them."""
    raw = raw.cast(raw_frame_schema(columns)).sort(SRC, RN).with_row_index(ROW)
    con = duckdb.connect(config={"threads": 1})
    try:
        con.register("raw_rows", raw.drop(ROW))
        typed = con.sql(typed_select("raw_rows", list(columns), ROW_ERROR)).pl()
    finally:
        con.close()
    typed = typed.sort(SRC, RN).with_row_index(ROW)
    reasons, checked = checks.row_reasons(typed, raw, as_of)
    return raw, typed, reasons, checked


def evaluate_raw(raw: pl.DataFrame, ctx: EvalContext) -> pl.DataFrame:
    """The common tail: raw text → typed (the ingest's SQL) → row checks → engine → output rows.
    A row of blank cells is not checked: it comes out with only its lineage and ``BLANK`` true."""
    blank = raw.select(blank_cells(ctx.columns)).to_series()
    blank_rows, raw = raw.filter(blank), raw.filter(~blank)
    raw, typed, reasons, checked = checked_rows(raw, ctx.columns, ctx.as_of)

    accepted = typed.join(reasons.select(ROW), on=ROW, how="anti", maintain_order="left")
    rows = accepted[ROW]
    accepted = accepted.drop(ROW, "parse_reasons")
    wide = engine.evaluate_wide(accepted, as_of=ctx.as_of, assumptions=Assumptions.from_overrides(dict(ctx.assumptions)),
                                cfg_defaults=dict(ctx.defaults), columns=engine.OUTPUT_COLUMNS).collect()
    results = engine.results_frame(wide, accepted).drop(SRC, RN)  # every column: the driver decides (SPEC 5.5)
    results = results.hstack(wide.select([pl.col(c).alias(WIDE_PREFIX + c) for c in WIDE_ONLY]))
    results = results.with_columns(rows.alias(ROW),  # VALUED: the input's values, not the resolved ones
                                   accepted.select(valued_bits(engine.row_value_columns(ctx.columns))).to_series())

    index = {ref.name: ref.index for ref in ctx.files.values()}
    out = (typed.select(ROW, SRC, RN,
                        (pl.col(SRC).replace_strict(index, return_dtype=pl.Int32) if index  # (Polars ignores
                         else pl.lit(None, pl.Int32)).alias(FILE_INDEX),                     # an empty mapping)
                        pl.when(pl.col(ROW).is_in(checked.implode())).then(pl.col(schema.UNIQUE_COLUMN))
                        .alias(PID))
           .join(reasons, on=ROW, how="left", maintain_order="left")
           .with_columns(pl.col("reasons").fill_null([]).alias(REASONS)).drop("reasons")
           .join(raw.select(ROW, raw_list(ctx.columns)), on=ROW, how="left", maintain_order="left")
           .join(results, on=ROW, how="left", maintain_order="left")
           .drop(ROW)
           .with_columns(pl.lit(False).alias(BLANK)))
    if blank_rows.height:
        skipped = blank_rows.select(pl.col(SRC), pl.col(RN).cast(pl.Int64), (
            pl.col(SRC).replace_strict(index, return_dtype=pl.Int32) if index else pl.lit(None, pl.Int32)
        ).alias(FILE_INDEX), pl.lit([], out[REASONS].dtype).alias(REASONS), pl.lit(True).alias(BLANK))
        out = pl.concat([out, skipped], how="diagonal").sort(SRC, RN, maintain_order=True)
    return out


def valued_bits(columns: list[str]) -> pl.Expr:
    """``VALUED`` of each row: bit i set when ``columns[i]`` holds a value."""
    if len(columns) > 63:  # pragma: no cover - the schema has 34 such columns
        raise RuntimeError("dispo: more per-row assumption columns than bits in VALUED")
    bits = [pl.col(c).is_not_null().cast(pl.Int64) * (1 << i) for i, c in enumerate(columns)]
    return (pl.sum_horizontal(bits) if bits else pl.repeat(0, pl.len(), dtype=pl.Int64)).cast(pl.Int64).alias(VALUED)


def blank_cells(columns: Iterable[str]) -> pl.Expr:
    """True for a row whose input cells are all empty, whitespace or missing (docs/spec.md section 2;
    the local ingest's ``write_raw_table(skip_blank=True)`` rule, the row's CSV error aside)."""
    blank = f"^[{TRIM_CHARS}]*$"
    return pl.all_horizontal([pl.col(c).is_null() | pl.col(c).str.contains(blank) for c in columns]
                             or [pl.lit(False)]).alias(BLANK)


def raw_list(columns: Iterable[str]) -> pl.Expr:
    """The raw text of a row's input columns as one list (one column for Spark, not one per input
    column: Spark pays per column for every row it moves)."""
    columns = list(columns)
    if not columns:  # pragma: no cover - property_id is required
        return pl.lit([], pl.List(pl.String)).alias(RAW)
    return pl.concat_list([pl.col(c) for c in columns]).cast(pl.List(pl.String)).alias(RAW)


def output_schema(ctx: EvalContext) -> pl.Schema:
    """The Polars schema of :func:`evaluate_raw`'s output (the engine run on no rows)."""
    return evaluate_raw(pl.DataFrame(schema=raw_frame_schema(ctx.columns)), ctx).schema


def _emit(frame: pl.DataFrame, ctx: EvalContext) -> Iterator[pa.RecordBatch]:
    table = frame.to_arrow()
    if ctx.out_schema is not None:
        table = table.select(ctx.out_schema.names).cast(ctx.out_schema)
    yield from table.to_batches()


def evaluate_csv_records(batches: Iterable[pa.RecordBatch], ctx: EvalContext) -> Iterator[pa.RecordBatch]:
    """mapInArrow function: CSV records (file, row_number, text) → evaluated rows."""
    for chunk in chunks(batches, ctx.chunk_rows):
        yield from _emit(evaluate_raw(csv_raw(chunk, ctx), ctx), ctx)


def evaluate_parquet_rows(batches: Iterable[pa.RecordBatch], ctx: EvalContext) -> Iterator[pa.RecordBatch]:
    """mapInArrow function: Parquet rows (with file path and row index) → evaluated rows."""
    for chunk in chunks(batches, ctx.chunk_rows):
        yield from _emit(evaluate_raw(parquet_raw(chunk, ctx), ctx), ctx)


# --- reports ------------------------------------------------------------------------------------------

def tax_outcome_rows(batches: Iterable[pa.RecordBatch], out_schema: pa.Schema | None = None,
                     chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[pa.RecordBatch]:
    """mapInArrow function: accepted rows (property_id and the ``<d>_<quantity>`` columns, the
    wide-only ones under ``__dispo_wide__``) → the long tax_outcomes rows (``reports.tables``)."""
    for chunk in chunks(batches, chunk_rows):
        wide = pl.from_arrow(chunk)
        wide = wide.rename({c: c[len(WIDE_PREFIX):] for c in wide.columns if c.startswith(WIDE_PREFIX)})
        long = tables.tax_outcomes(wide).to_arrow()
        if out_schema is not None:
            long = long.cast(out_schema)
        yield from long.to_batches()


def tax_outcome_inputs(evaluated: pl.Schema) -> dict[str, str]:
    """Columns of the evaluated rows that :func:`tax_outcome_rows` reads, by the name it reads them
    under (property_id, then ``<d>_<quantity>``)."""
    return {c: (WIDE_PREFIX + c if c in WIDE_ONLY else c) for c in ("property_id", *schema.TAX_OUTCOME_SOURCES)
            if (WIDE_PREFIX + c if c in WIDE_ONLY else c) in evaluated}


def tax_outcome_schema(evaluated: pl.Schema) -> pl.Schema:
    """The Polars schema of the long tax_outcomes table, for evaluated rows of schema ``evaluated``."""
    empty = pl.DataFrame(schema={c: evaluated[src] for c, src in tax_outcome_inputs(evaluated).items()})
    return tables.tax_outcomes(empty).schema


__all__ = [
    "BLANK", "VALUED", "EvalContext", "FileRef", "blank_cells", "FileLines", "SplitStart", "checked_rows", "chunks", "csv_raw", "evaluate_csv_records",
    "evaluate_parquet_rows", "evaluate_raw", "line_plan", "norm_uri", "number_lines", "output_schema",
    "parquet_raw", "split_stats", "tax_outcome_rows", "tax_outcome_schema",
]

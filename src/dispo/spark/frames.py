"""The partition functions of the DataFrame API (:func:`dispo.spark.evaluate`, :func:`dispo.spark.validate`):
pyarrow batches in, pyarrow batches out, no pyspark (tested on plain batches too).

- :func:`evaluate_batches` runs ``dispo.engine.evaluate_wide`` + ``results_frame`` (the local
  engine's own code, as ``dispo.engine.evaluate`` calls them) on each chunk of typed rows.
- :func:`check_batches` turns each value into the ingest's text of it (as for a Parquet input:
  ``ingest.reader.parquet_text``), parses it with the ingest's SQL and runs the row checks of a run
  (:func:`dispo.spark.partition.checked_rows`); the duplicate-id check is Spark's (it spans
  partitions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Iterator, Mapping

import duckdb
import polars as pl
import pyarrow as pa

from dispo import engine, schema
from dispo.ingest import ROW_ERROR
from dispo.ingest.parse import ident
from dispo.ingest.reader import parquet_text  # the ingest's text of a typed value (one definition)
from dispo.params import Assumptions
from dispo.spark import partition as P

SRC, RN = schema.LINEAGE_COLUMNS
#: A row's id while it is checked (Spark's monotonically_increasing_id), dropped from the outputs.
ROW_ID = "__dispo_row_id"


def evaluate_batches(batches: Iterable[pa.RecordBatch], *, as_of: date, assumptions: Mapping[str, float],
                     defaults: Mapping[str, Any], out_schema: pa.Schema | None,
                     chunk_rows: int = P.DEFAULT_CHUNK_ROWS) -> Iterator[pa.RecordBatch]:
    """mapInArrow function: typed, valid rows → the same rows with every output column, as
    :func:`dispo.evaluate` gives them. ``out_schema``: the Arrow schema Spark expects back."""
    overrides = Assumptions.from_overrides(dict(assumptions))
    for chunk in P.chunks(batches, chunk_rows):
        table = _evaluate(pl.from_arrow(chunk), as_of, overrides, defaults).to_arrow()
        if out_schema is not None:
            table = table.select(out_schema.names).cast(out_schema)
        yield from table.to_batches()


def evaluated_schema(input_schema: pa.Schema, *, as_of: date, assumptions: Mapping[str, float],
                     defaults: Mapping[str, Any]) -> pl.Schema:
    """The Polars schema :func:`evaluate_batches` produces for rows of ``input_schema`` (the engine
    run on no rows)."""
    empty = pl.from_arrow(input_schema.empty_table())
    return _evaluate(empty, as_of, Assumptions.from_overrides(dict(assumptions)), defaults).schema


def _evaluate(frame: pl.DataFrame, as_of: date, assumptions: Assumptions, defaults: Mapping[str, Any]) -> pl.DataFrame:
    """``dispo.engine.evaluate`` of one chunk, every column kept: which per-row assumption columns
    the output leaves out is the driver's decision for the whole DataFrame (``out_schema``)."""
    wide = engine.evaluate_wide(frame, as_of=as_of, assumptions=assumptions, cfg_defaults=dict(defaults),
                                columns=engine.RESULT_COLUMNS).collect()
    return engine.results_frame(wide, frame)


@dataclass(frozen=True)
class CheckContext:
    """What :func:`check_batches` needs; pickled to the executors once."""

    as_of: date
    columns: tuple[str, ...]            # the input columns to check, in order (lineage excluded)
    lineage: tuple[str, ...]            # lineage columns the input has (carried through unchanged)
    out_schema: pa.Schema | None = None
    chunk_rows: int = P.DEFAULT_CHUNK_ROWS


def frame_raw(rows: pa.Table, ctx: CheckContext) -> pl.DataFrame:
    """Rows of a DataFrame (with ``ROW_ID``) → the ingest's raw table: every value as the ingest's
    DuckDB text of it; ``row_number`` is the row's id (rows are told apart by it, not reported)."""
    con = duckdb.connect(config={"threads": 1})
    try:
        con.register("src", rows)
        types = {name: str(dtype) for name, dtype, *_ in con.sql("DESCRIBE SELECT * FROM src").fetchall()}
        texts = "".join(f", {parquet_text(c, types[c])} AS {ident(c)}" for c in ctx.columns)
        return con.sql(f"SELECT NULL::VARCHAR AS {ident(SRC)}, {ident(ROW_ID)} AS {ident(RN)}{texts}, "
                       f"NULL::VARCHAR AS {ident(ROW_ERROR)} FROM src").pl()
    finally:
        con.close()


def check_rows(rows: pa.Table, ctx: CheckContext) -> pl.DataFrame:
    """One chunk: ``ROW_ID``, the lineage columns, ``__dispo_pid`` (property_id for the duplicate
    check), ``__dispo_reasons`` (row-level reasons with validation's sort keys), ``__dispo_raw``
    (the text of every checked column) and the typed columns (schema columns, then extras as text)."""
    raw, typed, reasons, checked = P.checked_rows(frame_raw(rows, ctx), ctx.columns, ctx.as_of)
    values = [c for c in typed.columns if c not in (P.ROW, SRC, RN, "parse_reasons")]
    out = (typed.select(P.ROW, pl.col(RN).alias(ROW_ID),
                        pl.when(pl.col(P.ROW).is_in(checked.implode())).then(pl.col(schema.UNIQUE_COLUMN))
                        .alias(P.PID), *values)
           .join(reasons, on=P.ROW, how="left", maintain_order="left")
           .with_columns(pl.col("reasons").fill_null([]).alias(P.REASONS)).drop("reasons")
           .join(raw.select(P.ROW, P.raw_list(ctx.columns)), on=P.ROW, how="left", maintain_order="left")
           .drop(P.ROW))
    if ctx.lineage:
        given = pl.from_arrow(rows.select([ROW_ID, *ctx.lineage]))
        out = out.join(given, on=ROW_ID, how="left", maintain_order="left")
    return out.select(ROW_ID, *ctx.lineage, P.PID, P.REASONS, P.RAW, *values)


def check_batches(batches: Iterable[pa.RecordBatch], ctx: CheckContext) -> Iterator[pa.RecordBatch]:
    """mapInArrow function: a DataFrame's rows → :func:`check_rows` of each chunk."""
    for chunk in P.chunks(batches, ctx.chunk_rows):
        table = check_rows(chunk, ctx).to_arrow()
        if ctx.out_schema is not None:
            table = table.select(ctx.out_schema.names).cast(ctx.out_schema)
        yield from table.to_batches()


def checked_schema(input_schema: pa.Schema, ctx: CheckContext) -> pl.Schema:
    """The Polars schema :func:`check_rows` produces for rows of ``input_schema`` (run on no rows)."""
    return check_rows(input_schema.empty_table(), ctx).schema

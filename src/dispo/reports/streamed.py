"""The SPEC section 7 output set for a run evaluated in chunks (inputs too big to hold in memory).

``dispo.run`` evaluates such a run a batch of rows at a time (``dispo.run.CHUNK_ROWS``); each
batch's results and tax outcomes go to Parquet files in a scratch directory inside ``output_dir``
(:class:`ChunkWriter`). :func:`write_outputs_streamed` then writes the same files as
:func:`dispo.reports.write_outputs`, into the same atomic :class:`~dispo.reports.OutputSet`, with
the same content:

- ``results.parquet`` is the chunks' file itself (input order), moved into the set;
- ``holdings``, ``lender_candidates`` and ``tax_outcomes`` are sorted by DuckDB over the Parquet
  files, out of core (it spills to disk past its memory limit), in the order of
  :mod:`dispo.reports.tables` (sort key descending with NaN as null and nulls last, ties by
  ``property_id``; tax_outcomes by property_id then disposition), and streamed a batch at a time
  into the CSV writer of :mod:`dispo.reports.csv_safe` (same text: money to cents, formulas
  neutralised) and a Parquet writer (same values and types; ``rank`` is numbered here);
- rejects and summary.json are small and written as usual.

Peak memory is a batch of rows plus DuckDB's memory limit, whatever the number of rows.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from dispo import schema
from dispo.ingest.parse import ident, lit
from dispo.reports import tables
from dispo.reports.atomic import OutputSet
from dispo.reports.csv_safe import write_safe_csv

#: Rows per batch read back from DuckDB when writing a sorted table.
BATCH_ROWS = 250_000
#: Parquet compression of the output files (as OutputSet.write_parquet) and of the scratch files.
COMPRESSION = "zstd"
_ORDER = "_disposition_order"
_SCRATCH_PREFIX = ".dispo-chunks-"


def scratch_dir(output_dir: Path, run_id: str) -> Path:
    """A fresh scratch directory for a chunked run inside ``output_dir`` (same filesystem as the
    output set, so its files are moved in, not copied); those of killed runs are removed."""
    output_dir.mkdir(parents=True, exist_ok=True)
    for stale in output_dir.glob(_SCRATCH_PREFIX + "*"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
    path = output_dir / f"{_SCRATCH_PREFIX}{run_id}"
    path.mkdir()
    return path


def tax_outcome_rows(wide: pl.DataFrame) -> pl.DataFrame:
    """:func:`tables.tax_outcomes` of a batch's wide frame before its sort: the 4 rows per property
    and ``_disposition_order`` (the sort is made over all batches at the end)."""
    quantities = schema.T12_QUANTITIES + schema.TAX_OUTCOME_EXTRA
    parts = [
        wide.select(
            pl.col("property_id"),
            pl.lit(d, dtype=pl.String).alias("disposition"),
            pl.lit(i, dtype=pl.UInt8).alias(_ORDER),
            *(pl.col(f"{d}_{q}").alias(q) for q in quantities),
        )
        for i, d in enumerate(schema.DISPOSITIONS)
    ]
    return pl.concat(parts, how="vertical_relaxed")


class ChunkWriter:
    """Collects a chunked run's results (``results.parquet``, input order) and tax outcome rows in
    ``scratch``, one batch at a time."""

    def __init__(self, scratch: Path):
        self.scratch = scratch
        self.results_path = scratch / "results.parquet"
        self.tax_dir = scratch / "tax_outcomes"
        self.tax_dir.mkdir()
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._schema: pl.Schema | None = None
        self._parts = 0

    def add(self, results: pl.DataFrame, wide: pl.DataFrame) -> None:
        if self._schema is None:
            self._schema = results.schema
        elif results.schema != self._schema:  # pragma: no cover - the engine's types do not vary
            raise RuntimeError(f"results of a batch changed type: {results.schema} != {self._schema}")
        table = results.to_arrow()
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.results_path, table.schema, compression=COMPRESSION)
        self._writer.write_table(table)
        tax_outcome_rows(wide).write_parquet(self.tax_dir / f"part-{self._parts:05d}.parquet",
                                             compression="lz4", statistics=False)
        self._parts += 1
        self.rows += results.height

    def close(self, empty_results: pl.DataFrame, empty_wide: pl.DataFrame) -> None:
        """Finishes the files; with no batch at all, writes them empty with the types that the
        engine gives (``empty_*``: its output for zero rows)."""
        if self._writer is None:
            self.add(empty_results, empty_wide)
        assert self._writer is not None
        self._writer.close()

    def results(self) -> pl.LazyFrame:
        return pl.scan_parquet(self.results_path)


def _sort_key(column: str, dtype: pl.DataType) -> str:
    """DuckDB ORDER BY term for ``tables.ranked``'s key: descending, NaN as null, nulls last
    (DuckDB, like Polars, sorts -0.0 with 0.0)."""
    c = ident(column)
    key = f"CASE WHEN isnan({c}) THEN NULL ELSE {c} END" if dtype.is_float() else c
    return f"{key} DESC NULLS LAST"


def _stream_table(out: OutputSet, name: str, relation: duckdb.DuckDBPyRelation, *, rank: bool) -> int:
    """Writes ``name``.csv and ``name``.parquet from ``relation`` (already in output order), a
    batch at a time; with ``rank``, a first column ``rank`` (Int64, 1..n) as ``tables.ranked``."""
    reader = relation.to_arrow_reader(BATCH_ROWS)
    csv_path = out.staged_path(f"{name}.csv")
    pq_path = out.staged_path(f"{name}.parquet")
    writer: pq.ParquetWriter | None = None
    done = 0
    with open(csv_path, "wb") as fh:
        batches: Iterable[pa.RecordBatch] = reader
        for batch in _non_empty(batches, reader.schema):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            if rank:
                frame = frame.select(pl.int_range(done + 1, done + 1 + frame.height, dtype=pl.Int64).alias("rank"),
                                     pl.all())
            write_safe_csv(frame, fh, include_header=done == 0)
            table = frame.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(pq_path, table.schema, compression=COMPRESSION)
            writer.write_table(table)
            done += frame.height
    assert writer is not None
    writer.close()
    for path in (csv_path, pq_path):
        _fsync(path)
    return done


def _non_empty(batches: Iterable[pa.RecordBatch], schema_: pa.Schema) -> Iterable[pa.RecordBatch]:
    """The non-empty batches, or one empty batch of the schema when there are none (so that the
    CSV header and the Parquet schema are written)."""
    empty = True
    for b in batches:
        if b.num_rows:
            empty = False
            yield b
    if empty:
        yield pa.RecordBatch.from_pylist([], schema=schema_)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_outputs_streamed(
    output_dir: str | os.PathLike[str],
    *,
    chunks: ChunkWriter,
    con: duckdb.DuckDBPyConnection,
    rejects: pl.DataFrame,
    summary: Mapping[str, Any],
    extra_writers: Iterable[Callable[[OutputSet], None]] = (),
    run_id: str | None = None,
) -> list[Path]:
    """:func:`dispo.reports.write_outputs` for a chunked run (see the module docstring): the same
    files, in the same atomic set, from ``chunks`` (closed) sorted and streamed through ``con``."""
    res_schema = chunks.results().collect_schema()
    missing = [c for c in ("property_id", "sell_advantage_pv", "lender_savings_vs_foreclosure",
                           "loss_mit_candidate") if c not in res_schema]
    if missing:
        raise KeyError(f"results: missing column(s) {', '.join(missing)}")
    rejects_table = tables.rejects(rejects)
    cursor = con.cursor()
    try:
        with OutputSet(output_dir, run_id=run_id) as out:
            results_path = out.adopt("results.parquet", chunks.results_path)
            source = f"read_parquet({lit(str(results_path))})"
            pid = ident("property_id")
            holdings = cursor.sql(
                f"SELECT * FROM {source} ORDER BY "
                f"{_sort_key('sell_advantage_pv', res_schema['sell_advantage_pv'])}, {pid} ASC")
            _stream_table(out, "holdings", holdings, rank=True)
            candidates = cursor.sql(
                f"SELECT * FROM {source} WHERE coalesce({ident('loss_mit_candidate')}, false) ORDER BY "
                f"{_sort_key('lender_savings_vs_foreclosure', res_schema['lender_savings_vs_foreclosure'])}, "
                f"{pid} ASC")
            _stream_table(out, "lender_candidates", candidates, rank=True)
            tax_source = f"read_parquet({lit(str(chunks.tax_dir / '*.parquet'))})"
            columns = ", ".join(ident(c) for c in tables.TAX_OUTCOME_COLUMNS)
            tax = cursor.sql(f"SELECT {columns} FROM {tax_source} ORDER BY {pid} ASC, {ident(_ORDER)} ASC")
            _stream_table(out, "tax_outcomes", tax, rank=False)
            out.write_csv("rejects.csv", rejects_table)
            out.write_parquet("rejects.parquet", rejects_table)
            out.write_json("summary.json", dict(summary))
            for writer in extra_writers:
                writer(out)
    finally:
        cursor.close()
    return [out.output_dir / name for name in out.committed]

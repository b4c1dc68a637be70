"""The docs/spec.md section 7 output set of a run, streamed: the one way a local run writes its outputs.

``dispo.run`` evaluates a run a batch of rows at a time (one batch when it is small); each
batch's results and tax outcomes go to Parquet files in a scratch directory inside ``output_dir``
(:class:`ChunkWriter`). :func:`write_run_outputs` then writes the same files as
:func:`dispo.reports.write_outputs`, into the same atomic :class:`~dispo.reports.OutputSet`, with
the same content:

- ``results.parquet`` is the chunks' file itself (input order), moved into the set;
- the worklists (:mod:`dispo.reports.worklists`: only their narrow columns are read back) and
  ``tax_outcomes`` are put in order (sort key descending with NaN as null and nulls last, ties by
  ``property_id``; tax_outcomes by property_id then disposition) by an external distribution
  sort: the order is found on the key columns alone (a few bytes a row), which gives every row
  its output position; one pass over the rows sends each to the bucket of ``bucket_rows``
  consecutive positions it falls in (a Parquet file); each bucket, read back and sorted, is
  streamed into the CSV writer of :mod:`dispo.reports.csv_safe` (same text: money to cents,
  formulas neutralised) and a Parquet writer (same values and types; ``rank`` is its position);
- rejects and summary.json are small and written as usual.

Peak memory is a bucket of rows plus the key columns, whatever the number of rows. (DuckDB's
ORDER BY was the first way: it holds a wide row's payload in memory, ~1 GB per million rows of
results, and ran out of memory at 10M rows under its limit.)
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from dispo import schema
from dispo.reports import output_files, output_set, tables, worklists, write_table
from dispo.reports.atomic import OutputSet
from dispo.reports.csv_safe import write_safe_csv

#: Rows per batch read from the scratch files.
BATCH_ROWS = 250_000
#: Output positions per bucket of the external sort (memory: one bucket's rows at a time).
BUCKET_ROWS = 1_000_000
#: Parquet compression of the output files (as OutputSet.write_parquet). pyarrow's dictionary
#: encoding of every column doubled the write time of these wide tables (2.4 s → 1.1 s for 300k rows
#: of results); the values are the same. The sort's buckets, read once, are Arrow IPC streams
#: (lz4), written 7x faster than Parquet. zstd over lz4 and snappy (issue 17, 1M rows of results,
#: pyarrow, one thread): zstd 469 MB in 4.8 s CPU, lz4 576 MB in 3.3 s, snappy 572 MB in 3.3 s.
#: results.parquet is the file users keep and move (and the 10M-row run is short of disk), and
#: it is written in a thread while the engine evaluates the next batch: 19 % fewer bytes for
#: ~1.5 s CPU a million rows, off the run's critical path.
COMPRESSION = "zstd"
PARQUET_OPTIONS: dict[str, Any] = {"compression": COMPRESSION, "use_dictionary": False}
_ORDER = "_disposition_order"
_ROW = "_dispo_row"  # a row's 0-based position in results.parquet (input order)
_POS = "_dispo_pos"  # its 0-based position in the table being written
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


def tax_outcome_rows(wide: pl.DataFrame, first_row: int = 0) -> pl.DataFrame:
    """:func:`tables.tax_outcomes` of a batch's wide frame before its sort: the 4 rows per property,
    ``_disposition_order``, and the property's row in results.parquet (the batch's rows being rows
    ``first_row`` …; the sort is made over all batches at the end)."""
    quantities = schema.T12_QUANTITIES + schema.TAX_OUTCOME_EXTRA
    parts = [
        wide.select(
            pl.int_range(first_row, first_row + pl.len(), dtype=pl.UInt64).alias(_ROW),
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
    ``scratch``, one batch at a time.

    A batch's results are encoded and written in a background thread while the caller evaluates
    the next one (pyarrow's encoder and compressor release the GIL): at most one batch waits to be
    written, so the overlap costs one batch of results in memory. A write that failed raises in the caller at the next
    :meth:`add` or at :meth:`close`; :meth:`abandon` waits for the thread after any error."""

    def __init__(self, scratch: Path):
        self.scratch = scratch
        self.results_path = scratch / "results.parquet"
        self.tax_dir = scratch / "tax_outcomes"
        self.tax_dir.mkdir()
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._schema: pl.Schema | None = None
        self._parts = 0
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dispo-chunk-writer")
        self._pending: Future | None = None

    def add(self, results: pl.DataFrame, wide: pl.DataFrame) -> None:
        if self._schema is None:
            self._schema = results.schema
        elif results.schema != self._schema:  # pragma: no cover - the engine's types do not vary
            raise RuntimeError(f"results of a batch changed type: {results.schema} != {self._schema}")
        # The tax outcome rows (4 a property) are written here, by Polars on both cores: only the
        # results wait for the thread, which keeps the overlap's memory to one batch of results.
        tax_outcome_rows(wide, self.rows).write_parquet(self.tax_dir / f"part-{self._parts:05d}.parquet",
                                                        compression="lz4", statistics=False)
        self._wait()
        self._pending = self._thread.submit(self._write, results)
        self._parts += 1
        self.rows += results.height

    def _write(self, results: pl.DataFrame) -> None:
        table = results.to_arrow()
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.results_path, table.schema, **PARQUET_OPTIONS)
        self._writer.write_table(table)

    def _wait(self) -> None:
        """Waits for the batch being written; its error, if any, is raised here."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """Finishes the files (a run adds at least one batch, empty when no row was accepted: the
        files then have the engine's types)."""
        try:
            self._wait()
        except BaseException:
            self.abandon()
            raise
        self._thread.shutdown(wait=True)
        if self._writer is None:
            raise RuntimeError("ChunkWriter.close: no batch was added")
        self._writer.close()

    def abandon(self) -> None:
        """After an error: waits for the writing thread (its own error, if any, is dropped: the
        caller's is reported) and closes the file, so the scratch directory can go."""
        if self._pending is not None:
            wait([self._pending])
            self._pending = None
        self._thread.shutdown(wait=True)
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception:  # noqa: BLE001 - a half-written scratch file, removed by the caller
                pass

    def results(self) -> pl.LazyFrame:
        return pl.scan_parquet(self.results_path)


def _ranked_positions(keys: pl.DataFrame, by: str, where: str | None = None) -> pl.Series:
    """Each row's 0-based position in ``worklists.ranked`` order (``by`` descending, NaN as null,
    nulls last, then property_id), null for rows left out (``where`` false or null); ``keys``
    holds property_id, ``by`` and ``where`` of every row in input order. Only the order's indices
    are built (an arg-sort), never a sorted copy of the keys."""
    key = pl.col(by).fill_nan(None) if keys.schema[by].is_float() else pl.col(by)
    rank_by = pl.arg_sort_by([key, pl.col("property_id")], descending=[True, False], nulls_last=True,
                             maintain_order=True)
    if where is None:
        order = keys.select(rank_by).to_series()
    else:
        kept = keys.select(pl.arg_where(pl.col(where).fill_null(False))).to_series()
        order = kept.gather(keys[kept].select(rank_by).to_series())
    positions = pl.repeat(None if where is not None else 0, keys.height, dtype=pl.UInt64, eager=True).alias(_POS)
    return positions.scatter(order, pl.int_range(order.len(), dtype=pl.UInt64, eager=True))


def _pid_positions(keys: pl.DataFrame) -> pl.Series:
    """Each row's position in property_id order (ids of accepted rows are unique)."""
    return keys["property_id"].arg_sort().arg_sort().cast(pl.UInt64).alias(_POS)


class _Buckets:
    """The rows of one output table, each with its position, sent to buckets of ``bucket_rows``
    consecutive positions (Arrow IPC streams in ``directory``); read back one bucket at a time,
    each sorted by position."""

    def __init__(self, directory: Path, bucket_rows: int):
        directory.mkdir()
        self.directory, self.bucket_rows = directory, bucket_rows
        self._writers: dict[int, ipc.RecordBatchStreamWriter] = {}
        self._sinks: dict[int, Any] = {}
        self._schema: pa.Schema | None = None

    def _path(self, bucket: int) -> Path:
        return self.directory / f"{bucket:06d}.arrows"

    def add(self, frame: pl.DataFrame) -> None:
        """``frame``: rows with their position ``_POS`` (rows without one are dropped)."""
        frame = frame.filter(pl.col(_POS).is_not_null())
        if not frame.height:
            return
        frame = frame.with_columns((pl.col(_POS) // self.bucket_rows).alias("_bucket"))
        for (bucket,), part in frame.partition_by("_bucket", as_dict=True, include_key=False).items():
            table = part.to_arrow()
            writer = self._writers.get(bucket)
            if writer is None:
                self._schema = self._schema or table.schema
                sink = pa.OSFile(str(self._path(bucket)), "wb")
                writer = ipc.new_stream(sink, self._schema, options=ipc.IpcWriteOptions(compression="lz4"))
                self._writers[bucket], self._sinks[bucket] = writer, sink
            writer.write_table(table.cast(self._schema))

    def sorted_frames(self) -> Iterator[pl.DataFrame]:
        """Every bucket's rows ordered by position, bucket after bucket."""
        for bucket, writer in self._writers.items():
            writer.close()
            self._sinks[bucket].close()
        for bucket in sorted(self._writers):
            frame = pl.read_ipc_stream(self._path(bucket)).sort(_POS)
            os.unlink(self._path(bucket))
            yield frame


def _batches(path: Path, columns: list[str] | None = None) -> Iterator[pl.DataFrame]:
    """The rows of a Parquet file in order, BATCH_ROWS at a time."""
    for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS, columns=columns):
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        yield frame


def _stream_table(out: OutputSet, name: str, frames: Iterable[pl.DataFrame], columns: list[str],
                  empty: pl.DataFrame, *, rank: bool, csv: bool = True) -> int:
    """Writes ``name``.csv and ``name``.parquet from ``frames`` (in output order, each with _POS):
    ``columns``, after a first column ``rank`` (Int64, _POS + 1) with ``rank``. ``empty``: the
    table's types, for a table of no rows."""
    csv_path = out.staged_path(f"{name}.csv") if csv else Path(os.devnull)
    pq_path = out.staged_path(f"{name}.parquet")
    writer: pq.ParquetWriter | None = None
    done = 0
    with open(csv_path, "wb") as fh:
        for frame in _non_empty(frames, empty):
            lead = [(pl.col(_POS).cast(pl.Int64) + 1).alias("rank")] if rank else []
            frame = frame.select(*lead, *columns)
            if csv:
                write_safe_csv(frame, fh, include_header=done == 0)
            table = frame.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(pq_path, table.schema, **PARQUET_OPTIONS)
            writer.write_table(table)
            done += frame.height
    assert writer is not None
    writer.close()
    for path in (csv_path, pq_path) if csv else (pq_path,):
        out.seal(path.name)
    return done


def _non_empty(frames: Iterable[pl.DataFrame], empty: pl.DataFrame) -> Iterator[pl.DataFrame]:
    """The non-empty frames, or ``empty`` when there are none (so that the CSV header and the
    Parquet schema are written)."""
    none = True
    for f in frames:
        if f.height:
            none = False
            yield f
    if none:
        yield empty


def _in_background(out: OutputSet, writers: Iterable[Callable[[OutputSet], None]]) -> list[Future[None]]:
    """Calls each of ``writers`` in a thread of its own; each future holds its writer's error. The
    set waits for all of them before its commit (:func:`_finish`), and an error there rolls the set
    back."""
    writers = list(writers)
    if not writers:
        return []
    pool = ThreadPoolExecutor(max_workers=len(writers), thread_name_prefix="dispo-write")
    try:
        return [pool.submit(writer, out) for writer in writers]
    finally:
        pool.shutdown(wait=False)


def _finish(futures: Sequence[Future[None]]) -> None:
    """Waits for every background writer (none is left writing into a staging directory being
    removed), then raises the first error among them, if any."""
    wait(futures)
    for future in futures:
        future.result()


def _stream_results_csv(out: OutputSet, results_path: Path) -> None:
    """results.csv (``csv_outputs = "all"``): results.parquet's rows, as the CSV writer shows them."""
    path = out.staged_path("results.csv")
    with open(path, "wb") as fh:
        for i, batch in enumerate(_batches(results_path)):
            write_safe_csv(batch, fh, include_header=i == 0)
    out.seal("results.csv")


def _write_worklists(out: OutputSet, results_path: Path, res_schema: pl.Schema, keys: pl.DataFrame,
                     lists: Sequence[worklists.Worklist], worklist_columns: Sequence[str], sort_dir: Path,
                     bucket_rows: int, files: set[str]) -> None:
    """The worklists of ``lists``: one pass over results.parquet's worklist columns sends every
    row (with its reason) to its buckets; each worklist is then streamed in rank order."""
    positions = {w.name: _ranked_positions(keys, w.rank_by, w.where) for w in lists}
    buckets = {w.name: _Buckets(sort_dir / w.name, bucket_rows) for w in lists}
    reads = list(dict.fromkeys(c for w in lists for c in w.source_columns(worklist_columns) if c in res_schema))
    first = 0
    for batch in _batches(results_path, reads):
        rows = slice(first, first + batch.height)
        for w in lists:
            buckets[w.name].add(worklists.unranked(batch.with_columns(positions[w.name][rows]), w,
                                                   worklist_columns, carry=[_POS]).collect())
        first += batch.height
    del positions
    empty_batch = pl.DataFrame(schema={c: res_schema[c] for c in reads}).with_columns(
        pl.lit(None, pl.UInt64).alias(_POS))
    for w in lists:
        empty = worklists.unranked(empty_batch, w, worklist_columns, carry=[_POS]).collect()
        columns = [c for c in w.output_columns(worklist_columns) if c != "rank"]
        _stream_table(out, w.name, buckets[w.name].sorted_frames(), columns, empty, rank=True,
                      csv=f"{w.name}.csv" in files)


def _write_tax_outcomes(out: OutputSet, chunks: ChunkWriter, by_pid: pl.Series, sort_dir: Path, bucket_rows: int,
                        *, csv: bool) -> None:
    """tax_outcomes in property_id, disposition order, from the chunks' tax rows (external sort)."""
    tax = _Buckets(sort_dir / "tax_outcomes", bucket_rows)
    for part in sorted(chunks.tax_dir.glob("part-*.parquet")):
        for batch in _batches(part):
            tax.add(batch.with_columns(
                (by_pid.gather(pl.Series(batch[_ROW])) * len(schema.DISPOSITIONS)
                 + batch[_ORDER].cast(pl.UInt64)).alias(_POS)))
    tax_empty = pl.read_parquet(chunks.tax_dir / "part-00000.parquet", glob=False, n_rows=0)
    _stream_table(out, "tax_outcomes", tax.sorted_frames(), list(tables.TAX_OUTCOME_COLUMNS),
                  tax_empty.with_columns(pl.lit(None, pl.UInt64).alias(_POS)), rank=False, csv=csv)


def write_run_outputs(
    output_dir: str | os.PathLike[str],
    *,
    chunks: ChunkWriter,
    rejects: pl.DataFrame,
    summary: Mapping[str, Any],
    extra_writers: Iterable[Callable[[OutputSet], None]] = (),
    run_id: str | None = None,
    bucket_rows: int = BUCKET_ROWS,
    purpose: str = "both",
    csv_outputs: str = "worklists",
    worklist_columns: Sequence[str] = (),
) -> list[Path]:
    """A run's docs/spec.md section 7 set (see the module docstring) from ``chunks`` (closed), in one
    atomic set: results.parquet moved in; the ``purpose``'s worklists and tax_outcomes sorted out
    of core; the CSV twins ``csv_outputs`` asks for; rejects, summary.json, then ``extra_writers``."""
    res_schema = chunks.results().collect_schema()
    lists = worklists.for_purpose(purpose)
    worklists.check_extra_columns(res_schema.names(), worklist_columns)
    key_columns = list(dict.fromkeys(["property_id", *(c for w in lists for c in (w.rank_by, w.where) if c)]))
    missing = [c for c in key_columns if c not in res_schema]
    if missing:
        raise KeyError(f"results: missing column(s) {', '.join(missing)}")
    files = set(output_files(purpose=purpose, csv_outputs=csv_outputs))
    rejects_table = tables.rejects(rejects)
    sort_dir = chunks.scratch / "sort"
    sort_dir.mkdir()
    try:
        with output_set(output_dir, run_id=run_id, purpose=purpose, csv_outputs=csv_outputs) as out:
            results_path = out.adopt("results.parquet", chunks.results_path)
            if "results.csv" in files:
                _stream_results_csv(out, results_path)
            keys = pl.read_parquet(results_path, glob=False, columns=key_columns)
            by_pid = _pid_positions(keys)
            # Written in threads, as soon as what they read is staged (Polars, pyarrow, zlib/isal
            # release the GIL): tax_outcomes (the chunks' tax rows) beside the worklists; then
            # report.xlsx, report.html and diff.csv (the staged worklists) each in its own.
            background = _in_background(out, [lambda o: _write_tax_outcomes(
                o, chunks, by_pid, sort_dir, bucket_rows, csv="tax_outcomes.csv" in files)])
            try:
                _write_worklists(out, results_path, res_schema, keys, lists, worklist_columns, sort_dir, bucket_rows,
                                 files)
                del keys
                background += _in_background(out, extra_writers)
                write_table(out, "rejects", rejects_table, csv="rejects.csv" in files)
                out.write_json("summary.json", dict(summary))
            except BaseException:
                wait(background)  # none left writing into the staging directory being removed
                raise
            _finish(background)
    finally:
        shutil.rmtree(sort_dir, ignore_errors=True)
    return [out.output_dir / name for name in out.committed]

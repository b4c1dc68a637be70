"""Spark's side of the Spark engine, simulated with pyarrow (for tests that run without Spark):
``spark.read.option("lineSep", "\\n").text(...)`` lines with their file and split offset, the
joining of multi-line records, and the partition functions called as mapInArrow would."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa

from dispo.spark import partition as P


def text_lines(path: Path, splits: int = 1, batch: int = 3) -> list[pa.RecordBatch]:
    """The file's lines (split on LF, a trailing LF ends the last line), cut into ``splits``
    consecutive splits (block offsets as byte offsets) and batches of ``batch`` lines."""
    data = path.read_bytes()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    uri = "file:" + str(path.resolve())
    size = max(1, -(-len(lines) // splits))
    batches, offset = [], 0
    for s in range(0, len(lines), size):
        part = lines[s:s + size]
        for j in range(0, len(part), batch):
            sub = part[j:j + batch]
            batches.append(pa.RecordBatch.from_pydict(
                {P.LINE: pa.array(sub, pa.binary()), P.FILE: [uri] * len(sub), P.BLOCK: [offset] * len(sub)}))
        offset += sum(len(x) + 1 for x in part)
    return batches


def records(batches: list[pa.RecordBatch]) -> tuple[pa.Table, dict]:
    """Pass 1 and 2 and the join of records that span lines: (file, row_number, text), file counts."""
    stats = [r for b in P.split_stats(iter(batches)) for r in b.to_pylist()]
    plan, files = P.line_plan(stats)
    numbered = pl.from_arrow(pa.Table.from_batches(list(P.number_lines(iter(batches), plan)),
                                                   schema=pa.schema([("file", pa.string()), ("row_number", pa.int64()),
                                                                     ("line_no", pa.int64()), ("text", pa.binary()),
                                                                     ("frag", pa.bool_())])))
    single = numbered.filter(~pl.col("frag")).select("file", "row_number", "text")
    multi = (numbered.filter(pl.col("frag")).sort("line_no").group_by("file", "row_number", maintain_order=True)
             .agg(pl.col("text"))
             .with_columns(pl.col("text").map_elements(lambda parts: b"\n".join(parts), return_dtype=pl.Binary)))
    return pl.concat([single, multi]).to_arrow(), files


def evaluate_csv(paths: list[Path], columns: list[list[str]], names: list[str], *, as_of, splits: int = 1,
                 chunk_rows: int = 7, keep_blank: bool = False) -> tuple[pl.DataFrame, dict]:
    """Every record of the CSV files through the partition function (in small chunks), rows of
    blank cells left out as the runner leaves them out (kept, marked ``P.BLANK``, with ``keep_blank``)."""
    tables, counted = [], {}
    files = {}
    union: list[str] = []
    for i, (path, cols, name) in enumerate(zip(paths, columns, names)):
        recs, info = records(text_lines(path, splits))
        tables.append(recs)
        counted.update(info)
        files[P.norm_uri(path.resolve().as_uri())] = P.FileRef(name, i, "csv", tuple(cols))
        union += [c for c in cols if c not in union]
    ctx = P.EvalContext(as_of=as_of, assumptions={}, defaults={}, columns=tuple(union), files=files,
                        chunk_rows=chunk_rows)
    batches = [b for t in tables for b in t.to_batches(max_chunksize=5)]
    out = [pl.from_arrow(pa.Table.from_batches([b])) for b in P.evaluate_csv_records(iter(batches), ctx)]
    # as the runner does: rows of blank cells are skipped (counted as blank_rows), not results or rejects
    out = pl.concat(out)
    return (out if keep_blank else out.filter(~pl.col(P.BLANK)).drop(P.BLANK)), counted


def reasons_of(evaluated: pl.DataFrame) -> dict[tuple[str, int], list[str]]:
    texts = evaluated.select(
        "source_file", "row_number", r=pl.col(P.REASONS).list.eval(pl.element().struct.field("text")))
    return {(f, n): r for f, n, r in texts.iter_rows() if r}

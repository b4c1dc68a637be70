"""Writing synthetic portfolios: one portfolio as a frame, or straight to a file in chunks.

Files are written with the atomic writer of :mod:`dispo.reports` (``OutputSet``): into a staging
directory beside the target, then moved into place, so a failure never leaves a partial file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Literal

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from dispo import schema
from dispo.generate.model import BLOCK_ROWS, block

Kind = Literal["lender", "investor"]
KINDS: tuple[str, ...] = ("lender", "investor")

#: property_id prefix and minimum digit count (widened when a portfolio needs more digits).
_ID_FORMAT = {"lender": ("L", 7), "investor": ("H", 6)}

_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.large_string(), "float": pa.float64(), "int": pa.int64(), "bool": pa.bool_(),
    "date": pa.date32(),
}
POLARS_TYPES: dict[str, pl.DataType] = {
    "string": pl.String(), "float": pl.Float64(), "int": pl.Int64(), "bool": pl.Boolean(), "date": pl.Date(),
}


def _arrow_schema() -> pa.Schema:
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.dtype]) for c in schema.COLUMNS])


def _check_args(kind: str, rows: int, seed: int, as_of: date) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
        raise ValueError(f"rows must be a non-negative integer, got {rows!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(as_of, date):
        raise ValueError(f"as_of must be a date, got {as_of!r}")


def _id_array(kind: str, start: int, stop: int, rows: int) -> pa.Array:
    prefix, digits = _ID_FORMAT[kind]
    width = max(digits, len(str(rows)))
    ids = pl.select(pl.lit(prefix) + pl.int_range(start + 1, stop + 1, dtype=pl.Int64).cast(pl.String)
                    .str.zfill(width)).to_series()
    return ids.to_arrow().cast(pa.large_string())


def _iter_tables(kind: str, rows: int, seed: int, as_of: date) -> Iterator[pa.Table]:
    """The portfolio as Arrow tables of at most BLOCK_ROWS rows, in schema column order."""
    target = _arrow_schema()
    for index, start in enumerate(range(0, rows, BLOCK_ROWS)):
        stop = min(rows, start + BLOCK_ROWS)
        t = block(kind, seed, index, as_of).slice(0, stop - start)
        t = t.append_column("property_id", _id_array(kind, start, stop, rows))
        for field in target:  # a column the schema gained since this generator was written: null
            if field.name not in t.column_names:
                t = t.append_column(field, pa.nulls(t.num_rows, field.type))
        yield t.select(list(schema.NAMES)).cast(target)


def _empty_frame() -> pl.DataFrame:
    return pl.DataFrame(schema={c.name: POLARS_TYPES[c.dtype] for c in schema.COLUMNS})


def generate_portfolio(kind: Kind, rows: int, seed: int, as_of: date) -> pl.DataFrame:
    """A synthetic portfolio of ``rows`` properties, one row each, deterministic for its arguments.

    Columns are ``dispo.schema.NAMES`` in order, typed as the schema says (String, Float64, Int64,
    Boolean, Date); optional columns are often null so their defaults apply. ``kind`` is ``lender``
    (ids ``L0000001`` ...) or ``investor`` (ids ``H000001`` ...). Values satisfy every bound, allowed
    set and cross rule of the schema for this ``as_of``. The whole frame is held in memory (about
    0.4 kB a row); for millions of rows write it with :func:`generate_to_path` instead.
    """
    _check_args(kind, rows, seed, as_of)
    tables = list(_iter_tables(kind, rows, seed, as_of))
    if not tables:
        return _empty_frame()
    return pl.from_arrow(pa.concat_tables(tables))  # type: ignore[return-value]


# --- writing -------------------------------------------------------------------------------------

@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """A path to write ``path``'s new content to; moved into place (with the reports' atomic
    writer, ``OutputSet``) only when the block ends without an error."""
    from dispo.reports.atomic import OutputSet

    path = Path(path)
    with OutputSet(path.parent) as files:
        yield files.staged_path(path.name)
        files.seal(path.name)


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise ValueError(f"{path}: unknown output format (use a .csv or .parquet name)")


def write_portfolio(frame: pl.DataFrame, path: Path) -> None:
    """Writes ``frame`` as CSV (``.csv``: header, comma, ISO dates, empty cell for null) or Parquet
    (``.parquet``), chosen by the file name's suffix. Atomic (:func:`atomic_file`): a failure never
    leaves a partial file in its place."""
    path = Path(path)
    fmt = _format(path)
    with atomic_file(path) as tmp:
        if fmt == "csv":
            frame.write_csv(tmp)
        else:
            frame.write_parquet(tmp)


def _rechunk(tables: Iterator[pa.Table], chunk_rows: int) -> Iterator[pa.Table]:
    """Regroups a stream of tables into tables of exactly chunk_rows rows (the last may be shorter)."""
    buffer: list[pa.Table] = []
    buffered = 0
    for t in tables:
        buffer.append(t)
        buffered += t.num_rows
        while buffered >= chunk_rows:
            whole = pa.concat_tables(buffer)
            yield whole.slice(0, chunk_rows)
            rest = whole.slice(chunk_rows)
            buffer, buffered = ([rest] if rest.num_rows else []), rest.num_rows
    if buffered:
        yield pa.concat_tables(buffer)


def generate_to_path(kind: Kind, rows: int, seed: int, as_of: date, path: Path,
                     chunk_rows: int = 1_000_000) -> int:
    """Generates a portfolio straight to a file, ``chunk_rows`` rows at a time; returns rows written.

    This is what ``dispo generate --kind lender|investor --rows N --seed S --out PATH`` runs.
    ``kind``: ``lender`` (distressed first-lien loans: loss mitigation) or ``investor`` (holdings,
    mostly rentals: sell vs hold). ``rows``: how many properties. ``seed``: any non-negative
    integer; the same ``(kind, rows, seed, as_of)`` always gives the same rows, whatever
    ``chunk_rows`` is, and the same rows as :func:`generate_portfolio`. ``as_of``: the evaluation
    date the data is made for (purchase dates before it, delinquency and sale dates relative to it).
    ``path``: ``.csv`` (appended chunk by chunk) or ``.parquet`` (one row group per chunk, via
    pyarrow's ParquetWriter). Memory stays bounded by ``chunk_rows`` (about 0.5 kB a row), so
    10M rows need no more than 1M do. The file is written to a temporary name in the same directory
    and renamed into place when complete.
    """
    _check_args(kind, rows, seed, as_of)
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValueError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
    path = Path(path)
    fmt = _format(path)
    written = 0
    with atomic_file(path) as tmp:
        if fmt == "parquet":
            with pq.ParquetWriter(tmp, _arrow_schema(), compression="zstd") as writer:
                for t in _rechunk(_iter_tables(kind, rows, seed, as_of), chunk_rows):
                    writer.write_table(t, row_group_size=t.num_rows)
                    written += t.num_rows
        else:
            with open(tmp, "wb") as fh:
                header = True
                for t in _rechunk(_iter_tables(kind, rows, seed, as_of), chunk_rows):
                    pl.from_arrow(t).write_csv(fh, include_header=header)  # type: ignore[union-attr]
                    header = False
                    written += t.num_rows
                if header:  # no rows: still a header line
                    _empty_frame().write_csv(fh)
    return written

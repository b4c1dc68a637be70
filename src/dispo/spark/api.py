"""The DataFrame API for data teams: dispo inside their own Spark jobs.

>>> accepted, rejects = dispo.spark.validate(loans_df, as_of="2026-11-22")
>>> results = dispo.spark.evaluate(accepted, as_of="2026-11-22", assumptions={"reo_discount": 0.3})

Both return Spark DataFrames (lazy, like any transformation) and run the local engine's own code in
every partition through ``mapInArrow`` (:mod:`dispo.spark.frames`): :func:`evaluate` gives exactly
:func:`dispo.evaluate`'s columns and values; :func:`validate` gives the reasons ``dispo run`` gives
for the same values (docs/scale-out.md, "The DataFrame API").
"""

from __future__ import annotations

import functools
import os
from datetime import date
from typing import Any, Mapping

from dispo import engine, schema
from dispo.params import Assumptions
from dispo.spark import frames, partition as P
from dispo.spark.session import quiet_pyspark_warnings
from dispo.spark.duplicates import ACCEPTED, duplicate_ids, split_accepted
from dispo.spark.types import spark_schema

SRC, RN = schema.LINEAGE_COLUMNS
#: Spark types a schema column may have in :func:`evaluate`'s input (by the schema's dtype).
_ACCEPTED_TYPES = {
    "float": ("DoubleType", "FloatType", "DecimalType", "LongType", "IntegerType", "ShortType", "ByteType"),
    "int": ("LongType", "IntegerType", "ShortType", "ByteType"),
    "string": ("StringType", "VarcharType", "CharType"),
    "date": ("DateType",),
    "bool": ("BooleanType",),
}


def _col(name: str) -> Any:
    """A column by its exact name (input names may hold dots or spaces)."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def _as_date(as_of: date | str | None) -> date:
    if as_of is None:
        return date.today()
    return date.fromisoformat(as_of) if isinstance(as_of, str) else as_of


def _chunk_rows() -> int:
    return int(os.environ.get("DISPO_SPARK_CHUNK_ROWS", P.DEFAULT_CHUNK_ROWS))


def _check_types(df: Any) -> None:
    """evaluate() takes typed rows: a schema column of the wrong Spark type is a ValueError naming it
    (text is what :func:`validate` parses)."""
    missing = [c for c in schema.REQUIRED if c not in df.columns]
    if missing:
        raise ValueError(f"dispo.spark.evaluate: missing required column(s): {', '.join(missing)}")
    for field in df.schema.fields:
        column = schema.BY_NAME.get(field.name)
        kind = type(field.dataType).__name__
        if column is not None and kind != "NullType" and kind not in _ACCEPTED_TYPES[column.dtype]:
            raise ValueError(f"dispo.spark.evaluate: column {field.name!r} is {field.dataType.simpleString()}, "
                             f"expected {column.dtype}; parse text columns with dispo.spark.validate first")


def _without_row_value(df: Any, defaults: Mapping[str, Any]) -> frozenset[str]:
    """The per-row assumption columns of ``df`` the output leaves out: null in every row (SPEC 5.5),
    decided for the whole DataFrame as :func:`dispo.evaluate` decides for its frame
    (``engine.without_row_value``). One count over those narrow columns."""
    from pyspark.sql import functions as F

    given = engine.row_value_columns(df.columns)
    if not given:
        return frozenset()
    counts = df.select(F.count(F.lit(1)).alias("__rows"),
                       *[F.count(_col(c)).alias(f"c{i}") for i, c in enumerate(given)]).first()
    return engine.without_row_value({c: counts[f"c{i}"] for i, c in enumerate(given)}, counts["__rows"], defaults)


def evaluate(df: Any, *, as_of: date | str, assumptions: Mapping[str, float] | Assumptions | None = None,
             defaults: Mapping[str, Any] | None = None) -> Any:
    """Every output column of docs/spec.md section 7 for a Spark DataFrame of **typed, valid** rows.

    The Spark twin of :func:`dispo.evaluate` (same arguments, same columns in the same order, same
    values): the input columns after defaults, extra columns unchanged, then every output. Each
    partition runs ``dispo.engine.evaluate`` on Arrow batches (``mapInArrow``). Schema columns must
    have their schema's type (numbers, dates, booleans, strings); rows of text, or rows not yet
    validated, go through :func:`validate` first. Raises ``ValueError`` (on the driver) for a
    missing required column, a column of the wrong type, or an unknown or out-of-range assumption.
    """
    from pyspark.sql.pandas.types import to_arrow_schema
    from pyspark.sql.types import StructType

    quiet_pyspark_warnings()
    as_of = _as_date(as_of)
    overrides = (assumptions.overrides() if isinstance(assumptions, Assumptions)
                 else Assumptions.from_overrides(dict(assumptions or {})).overrides())  # raises here, not in a task
    defaults = dict(defaults or {})
    _check_types(df)
    without = _without_row_value(df, defaults)
    given = {f.name: f for f in df.schema.fields}
    out_polars = frames.evaluated_schema(to_arrow_schema(df.schema), as_of=as_of, assumptions=overrides,
                                         defaults=defaults)
    computed, _ = spark_schema(out_polars)
    # extra columns keep their own Spark type (a decimal stays a decimal); the rest are the engine's;
    # a column without a row value is computed with (as dispo.evaluate does) but not given back
    fields = [given[n] if n in given and n not in schema.BY_NAME else computed[n] for n in out_polars
              if n not in without]
    struct = StructType(fields)
    fn = functools.partial(frames.evaluate_batches, as_of=as_of, assumptions=overrides, defaults=defaults,
                           out_schema=to_arrow_schema(struct), chunk_rows=_chunk_rows())
    return df.mapInArrow(fn, struct)


def validate(df: Any, *, as_of: date | str | None = None) -> tuple[Any, Any]:
    """Splits a Spark DataFrame of input rows into (accepted, rejects), as ``dispo run`` does.

    ``df``: one row per property, columns named as in docs/spec.md section 1, of any type (text as read from
    CSV, or typed from Parquet/tables: each value is read as the ingest reads a Parquet value).
    ``as_of`` (default today) is the date the cross rules compare with. Every row ends in exactly one
    of the two frames:

    - ``accepted``: the schema columns typed (schema order), then the extra columns as text — the
      input :func:`evaluate` takes;
    - ``rejects``: the columns of a run's ``rejects.parquet``: ``property_id`` as given,
      ``reasons`` (array of strings, the run's wording and order, duplicate ids across the whole
      frame included), then every other input column (extra columns too) as text.

    ``source_file`` and ``row_number`` columns, when ``df`` has them, are carried first in both;
    with ``row_number``, the rejects' ``spreadsheet_line`` follows them (``row_number`` + 1: the
    row's line under a header on line 1, as a run gives it for a CSV file).
    The row checks run once per row: the checked rows are persisted (``unpersist()`` either frame's
    parent when done, or let the session end).
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import to_arrow_schema

    quiet_pyspark_warnings()
    lineage = tuple(c for c in schema.LINEAGE_COLUMNS if c in df.columns)
    columns = tuple(c for c in df.columns if c not in lineage)
    if schema.UNIQUE_COLUMN not in columns:
        raise ValueError(f"dispo.spark.validate: required column {schema.UNIQUE_COLUMN!r} is missing")
    with_id = df.withColumn(frames.ROW_ID, F.monotonically_increasing_id())
    ctx = frames.CheckContext(as_of=_as_date(as_of), columns=columns, lineage=lineage, chunk_rows=_chunk_rows())
    out_polars = frames.checked_schema(to_arrow_schema(with_id.schema), ctx)
    struct, arrow = spark_schema(out_polars)
    ctx = frames.CheckContext(ctx.as_of, columns, lineage, arrow, ctx.chunk_rows)
    checked = with_id.mapInArrow(functools.partial(frames.check_batches, ctx=ctx), struct)
    checked = checked.persist(StorageLevel.MEMORY_AND_DISK)
    final = split_accepted(checked, columns, F.broadcast(duplicate_ids(checked)))
    values = [c for c in out_polars if c not in (frames.ROW_ID, *lineage, P.PID, P.REASONS, P.RAW)]
    accepted = final.where(F.col(ACCEPTED)).select(*[_col(c) for c in (*lineage, *values)])
    raw = {c: F.col(P.RAW).getItem(i).alias(c) for i, c in enumerate(columns)}
    # rejects.parquet's columns (reports.tables.rejects): lineage, the spreadsheet line (the row
    # under a header on line 1), the raw property_id, the reasons, then every other input column
    line = [(F.col(RN) + F.lit(1)).cast("long").alias("spreadsheet_line")] if RN in lineage else []
    rejects = final.where(~F.col(ACCEPTED)).select(
        *[_col(c) for c in lineage], *line, raw[schema.UNIQUE_COLUMN],
        F.transform(P.REASONS, lambda r: r["text"]).alias("reasons"),
        *[raw[c] for c in columns if c != schema.UNIQUE_COLUMN])
    return accepted, rejects

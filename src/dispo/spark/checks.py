"""The row-level checks of validation (ARCHITECTURE step 4) without Great Expectations, for one batch.

The local engine runs the schema's GX suite over all rows; on Spark every partition runs these
checks on its own rows instead, and only the cross-row check (duplicate ``property_id``) is done
by Spark. The checks are the suite's, derived from :mod:`dispo.schema` the same way
:mod:`dispo.validate.suite` derives the expectations, and every message, order key and reason
text comes from :mod:`dispo.validate` itself, so a reason is byte-identical to the local one
(``tests/spark/test_checks.py`` compares them on the messy file without Spark):

- required (``ExpectColumnValuesToNotBeNull``): null, unless the cell already has a parse reason;
- bounds (``ExpectColumnValuesToBeBetween`` with ``strict_min``/``strict_max``), nulls pass;
- allowed set (``ExpectColumnValuesToBeInSet``), nulls pass;
- cross rules: the rule's DuckDB SQL (``validate.gx_frame``), nulls pass.

Rows whose CSV record could not be split (reason ``row: ...``) are not checked, as locally.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from dispo import schema
# The reason wording and ordering are validation's own (its public helpers, reused on purpose: a
# second copy of the wording would drift).
from dispo.validate import (
    ROW, allowed_message, bound_message, column_position, gx_frame, parse_reasons, rule_message,
)
from dispo.validate.suite import ALLOWED, BOUNDS, CHECK_ORDER, REQUIRED, RULE, UNIQUE, rule_column

#: A reason as the Spark engine carries it until the duplicate check: its sort keys and its text.
REASON_DTYPE = pl.Struct({"rank": pl.Int64, "sub": pl.Int64, "text": pl.String})
REASONS_DTYPE = pl.List(REASON_DTYPE)

_FAILED = {ROW: pl.UInt32, "column": pl.String, "message": pl.String, "rank": pl.Int64, "sub": pl.Int64}


def unique_rank() -> int:
    """Sort key of the duplicate-id reason (validation orders reasons by column, then check)."""
    return column_position(schema.UNIQUE_COLUMN) * 10 + CHECK_ORDER[UNIQUE]


def duplicate_message(copies: int) -> str:
    """What validation says of a duplicate id (before ``: 'raw value'``)."""
    return f"duplicate id ({copies} rows)"


def _rows(frame: pl.DataFrame, mask: pl.Expr, column: str, message: pl.Expr, rank: int, sub: int = 0) -> pl.DataFrame:
    return frame.filter(mask.fill_null(False)).select(
        ROW, column=pl.lit(column), message=message, rank=pl.lit(rank, pl.Int64), sub=pl.lit(sub, pl.Int64))


def failures(checked: pl.DataFrame, parse_failed: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """One row per failed check: ROW, column, message, rank, sub (as ``validate._failures``)."""
    gx = gx_frame(checked, as_of)
    parts: list[pl.DataFrame] = []
    for c in schema.COLUMNS:
        v = pl.col(c.name)
        base = column_position(c.name) * 10
        if c.required:
            missing = _rows(gx, v.is_null(), c.name, pl.lit("required value missing"), base + CHECK_ORDER[REQUIRED])
            already = parse_failed.filter(pl.col("column") == c.name).select(ROW)
            parts.append(missing.join(already, on=ROW, how="anti"))
        if c.has_bounds:
            x = v.cast(pl.Float64)
            low = ((x < c.min) | ((x == c.min) & c.min_exclusive)) if c.min is not None else pl.lit(False)
            high = ((x > c.max) | ((x == c.max) & c.max_exclusive)) if c.max is not None else pl.lit(False)
            message = (pl.when(low).then(pl.lit(bound_message(c, "low")))
                       .otherwise(pl.lit(bound_message(c, "high"))))
            parts.append(_rows(gx, low | high, c.name, message, base + CHECK_ORDER[BOUNDS]))
        if c.allowed:
            parts.append(_rows(gx, v.is_not_null() & ~v.is_in(list(c.allowed)), c.name,
                               pl.lit(allowed_message(c)), base + CHECK_ORDER[ALLOWED]))
    for i, rule in enumerate(schema.CROSS_RULES):
        parts.append(_rows(gx, ~pl.col(rule_column(rule)), rule.column, pl.lit(rule_message(rule, as_of)),
                           column_position(rule.column) * 10 + CHECK_ORDER[RULE], i))
    return pl.concat([p.cast(_FAILED) for p in parts]) if parts else pl.DataFrame(schema=_FAILED)


def row_reasons(typed: pl.DataFrame, raw: pl.DataFrame, as_of: date) -> tuple[pl.DataFrame, pl.Series]:
    """Every row-level reason of the rows of one batch.

    ``typed``: the ingest's typed rows with ``ROW`` (UInt32) and ``parse_reasons``; ``raw``: the
    same rows' raw text with ``ROW``. Returns (``ROW``, ``reasons`` list of {rank, sub, text}
    sorted as validation sorts them) for the rows that have a reason, and the ``ROW`` of the rows
    that take part in the duplicate check (every row whose record could be split).
    """
    parsed = parse_reasons(typed)
    parse_failed = parsed.select(ROW, "column").unique()
    ragged = parsed.filter(pl.col("column") == "row").select(ROW).unique()
    checked = typed.filter(~pl.col(ROW).is_in(ragged[ROW].implode()))
    failed = failures(checked, parse_failed, as_of)

    columns_failed = [c for c in failed["column"].unique().to_list() if c in raw.columns]
    if columns_failed:
        cells = (raw.select(ROW, *columns_failed)
                 .unpivot(index=ROW, on=columns_failed, variable_name="column", value_name="raw"))
    else:
        cells = pl.DataFrame(schema={ROW: pl.UInt32, "column": pl.String, "raw": pl.String})
    failed_text = (failed.join(cells, on=[ROW, "column"], how="left")
                   .with_columns(text=pl.format("{}: {}: '{}'", "column", "message", pl.col("raw").fill_null("")))
                   .select(ROW, "text", "rank", "sub"))
    reasons = (pl.concat([parsed.select(ROW, "text", "rank", "sub"), failed_text])
               .unique(subset=[ROW, "text"], keep="first", maintain_order=True)
               .sort(ROW, "rank", "sub", "text"))
    per_row = reasons.group_by(ROW, maintain_order=True).agg(
        reasons=pl.struct("rank", "sub", "text")).with_columns(pl.col("reasons").cast(REASONS_DTYPE))
    return per_row, checked[ROW]

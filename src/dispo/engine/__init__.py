"""The engine: every outcome of every row, as vectorized Polars expressions.

``evaluate`` is the one entry point; the pipeline runner, the Python API and the Spark partition
function all call it. It never touches files.

Two stages:

1. ``defaults.apply_defaults`` – docs/spec.md section 1 defaults (R1, S1, H0, H1 …), in docs/spec.md;
2. ``graph.build().apply``     – every rule of sections 3–6: the functions of the rule modules
   ``shared`` (section 3: D1, S2, S3), ``tax`` (section 4: T1–T12, B1), ``lender`` (section 5:
   L1–L9) and ``hold`` (section 6: H2–H9), each named after the column it makes, ordered by their
   signatures into one ``with_columns`` per layer (see engine/graph.py, "How to add a rule").
   Only the producers of the requested ``columns`` run.

Before the defaults, ``assumptions.resolve`` gives each assumption set per row or by investor
(SPEC 5.4/5.5) its column; the graph then passes that column, not the float, to the rules.

Between the stages the frame is "wide": the schema columns after defaults, the state facts of
``data/states.csv`` (``judicial``, ``foreclosure_days``, ``foreclosure_legal_cost``,
``purchase_money_nonrecourse``, ``short_sale_nonrecourse``), the tax parameters of the row's
(tax_year, filing_status) from ``params.tax_param_frame()`` and every intermediate column. The
wide frame is what ``dispo explain`` shows; ``results_frame`` selects the docs/spec.md section 7 columns.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Collection, Mapping, Sequence

import polars as pl

from dispo import params, schema
from dispo.engine import assumptions as row_assumptions
from dispo.engine import defaults, graph
from dispo.engine.assumptions import row_value_columns, without_row_value
from dispo.params import Assumptions

__all__ = ["OUTPUT_COLUMNS", "RESULT_COLUMNS", "evaluate", "evaluate_wide", "results_frame", "row_value_columns",
           "row_value_counts", "without_row_value"]


#: The wide-frame columns the pipeline's outputs read: ``results_frame`` (lineage, the input
#: columns after defaults, the docs/spec.md section 7 outputs) and the tax_outcomes table.
OUTPUT_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(
    (*schema.LINEAGE_COLUMNS, *schema.NAMES, *schema.RESULT_OUTPUTS, *schema.TAX_OUTCOME_SOURCES)))
RESULT_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys((*schema.LINEAGE_COLUMNS, *schema.NAMES, *schema.RESULT_OUTPUTS)))


def evaluate_wide(frame: pl.DataFrame | pl.LazyFrame, *, as_of: date, assumptions: Assumptions | None = None,
                  cfg_defaults: Mapping[str, Any] | None = None,
                  columns: Sequence[str] | None = None) -> pl.LazyFrame:
    """The wide frame (every intermediate) as a LazyFrame, for typed input rows.

    ``frame`` holds schema columns (optional ones may be absent) of valid rows; other columns are
    ignored here (``results_frame`` carries them through). ``columns`` (e.g. ``OUTPUT_COLUMNS``)
    keeps only those of the wide frame: the intermediates nobody reads are then never
    materialised for every row (``dispo explain`` asks for all of them).
    """
    assumptions = assumptions or Assumptions.from_overrides()
    cfg = dict(cfg_defaults or {})
    lf = frame.lazy()
    # every schema column the input has, a per-row assumption column too even where null in every
    # row: what is computed never depends on the rows of a batch (results_frame leaves out the
    # columns without a row value, decided once per run: row_value_counts / without_row_value)
    keep = [c for c in lf.collect_schema().names() if c in schema.NAMES or c in schema.LINEAGE_COLUMNS]
    lf = defaults.with_all_columns(lf.select(keep))
    lf = _attach(lf, params.state_frame(), ["state"])
    lf = row_assumptions.resolve(lf, assumptions, given=keep, cfg=cfg)  # SPEC 5.4/5.5
    lf = defaults.apply_defaults(lf, as_of=as_of, assumptions=assumptions, cfg=cfg)
    lf = _attach(lf, params.tax_param_frame(), ["tax_year", "filing_status"])
    lf = _attach(lf, params.state_tax_frame(), ["state", "tax_year"])  # T13
    lf = graph.build().apply(lf, as_of=as_of, assumptions=assumptions, columns=columns)
    if columns is not None:
        wanted = set(columns)
        lf = lf.select(n for n in lf.collect_schema().names() if n in wanted)
    return lf


def row_value_counts(frame: pl.DataFrame) -> dict[str, int]:
    """For each per-row assumption column (and investor_type) of ``frame``, its non-null values
    (SPEC 5.5): what :func:`without_row_value` decides from. Null counts are metadata: no scan."""
    return {c: frame.height - frame[c].null_count() for c in row_value_columns(frame.columns)}


def _attach(lf: pl.LazyFrame, table: pl.DataFrame, keys: list[str]) -> pl.LazyFrame:
    """A left join of the small table ``table`` on ``keys`` (unique in it), as gathers: each row
    looks up its row of ``table`` and only the table's columns are built. The same columns, values
    and order as ``lf.join(table, on=keys, how="left", maintain_order="left")``, which would copy
    every column of the wide frame to add a few (no match, or a null key: nulls)."""
    index = pl.int_range(table.height, dtype=pl.UInt32, eager=True)
    if len(keys) == 1:
        row = pl.col(keys[0]).replace_strict(table[keys[0]], index, default=None, return_dtype=pl.UInt32)
    else:  # several keys: each key's values numbered, the numbers combined into one integer
        row_key, table_key, width = pl.lit(0, dtype=pl.Int64), pl.zeros(table.height, pl.Int64, eager=True), 1
        for k in keys:
            values = table[k].unique(maintain_order=True)
            code = pl.int_range(values.len(), dtype=pl.Int64, eager=True)
            table_key = table_key + table[k].replace_strict(values, code, return_dtype=pl.Int64) * width
            row_key = row_key + pl.col(k).replace_strict(values, code, default=None, return_dtype=pl.Int64) * width
            width *= values.len()
        row = row_key.replace_strict(table_key, index, default=None, return_dtype=pl.UInt32)
    lf = lf.with_columns(row.alias("__dispo_dim_row"))
    return lf.with_columns(pl.lit(table[c]).gather(pl.col("__dispo_dim_row")).alias(c)
                           for c in table.columns if c not in keys).drop("__dispo_dim_row")


def results_frame(wide: pl.DataFrame, original: pl.DataFrame | None = None,
                  without: Collection[str] = ()) -> pl.DataFrame:
    """docs/spec.md section 7 ``results``: lineage, the input columns after defaults, extra input columns
    carried through unchanged, then exactly the outputs of sections 3–6. ``without``: the per-row
    assumption columns the run leaves out (:func:`without_row_value`, decided once per run)."""
    lineage = [c for c in schema.LINEAGE_COLUMNS if c in wide.columns]
    out = wide.select(*lineage, *(c for c in schema.NAMES if c in wide.columns and c not in without))
    if original is not None:
        extras = [c for c in original.columns if c not in schema.NAMES and c not in schema.LINEAGE_COLUMNS]
        if extras:
            out = out.hstack(original.select(extras))
    present = [c for c in schema.RESULT_OUTPUTS if c in wide.columns]
    return out.hstack(wide.select(present))


def evaluate(frame: pl.DataFrame, *, as_of: date, assumptions: Assumptions | Mapping[str, float] | None = None,
             defaults: Mapping[str, Any] | None = None) -> pl.DataFrame:
    """Every output column of docs/spec.md section 7 for already-typed, valid rows (the Python API).

    >>> results = evaluate(df, as_of=date(2026, 11, 22), assumptions={"reo_discount": 0.3})
    """
    if not isinstance(assumptions, Assumptions):
        assumptions = Assumptions.from_overrides(assumptions)
    wide = evaluate_wide(frame, as_of=as_of, assumptions=assumptions, cfg_defaults=defaults,
                         columns=RESULT_COLUMNS).collect()
    return results_frame(wide, frame, without_row_value(row_value_counts(frame), frame.height, defaults or {}))

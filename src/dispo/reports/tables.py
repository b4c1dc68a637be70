"""The data tables of docs/spec.md section 7 besides results, as pure functions on Polars frames:
tax_outcomes and rejects (the ranked worklists are :mod:`dispo.reports.worklists`). Nothing here
computes money: the tables reorder and reshape what the engine produced.
"""

from __future__ import annotations

import polars as pl

from dispo import schema

Frame = pl.DataFrame | pl.LazyFrame

#: Columns of tax_outcomes, in order (docs/spec.md section 4, T12).
TAX_OUTCOME_COLUMNS: tuple[str, ...] = ("property_id", "disposition") + schema.T12_QUANTITIES + schema.TAX_OUTCOME_EXTRA
REJECT_LEAD_COLUMNS: tuple[str, ...] = (*schema.LINEAGE_COLUMNS, "reasons")


def _collect(frame: Frame) -> pl.DataFrame:
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame


def _require(frame: pl.DataFrame, columns: tuple[str, ...] | list[str], table: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        shown = ", ".join(missing[:8]) + (f" … ({len(missing)} in all)" if len(missing) > 8 else "")
        raise KeyError(f"{table}: missing column(s) {shown}")


def tax_outcomes(wide: Frame) -> pl.DataFrame:
    """The long table of T12: one row per property and disposition (sale, short_sale, deed_in_lieu,
    foreclosure), columns ``TAX_OUTCOME_COLUMNS`` read from the wide columns ``<d>_<quantity>``;
    ordered by property_id, then disposition in that order. Reshaped, not recomputed."""
    lf = wide.lazy()
    names = lf.collect_schema().names()
    missing = [c for c in ("property_id", *schema.TAX_OUTCOME_SOURCES) if c not in names]
    if missing:
        shown = ", ".join(missing[:8]) + (f" … ({len(missing)} in all)" if len(missing) > 8 else "")
        raise KeyError(f"tax_outcomes: missing wide column(s) {shown}")
    quantities = schema.T12_QUANTITIES + schema.TAX_OUTCOME_EXTRA
    parts = [
        lf.select(
            pl.col("property_id"),
            pl.lit(d, dtype=pl.String).alias("disposition"),
            pl.lit(i, dtype=pl.UInt8).alias("_disposition_order"),
            *(pl.col(f"{d}_{q}").alias(q) for q in quantities),
        )
        for i, d in enumerate(schema.DISPOSITIONS)
    ]
    return (
        pl.concat(parts, how="vertical_relaxed")
        .sort(["property_id", "_disposition_order"], maintain_order=True)
        .select(TAX_OUTCOME_COLUMNS)
        .collect()
    )


def rejects(frame: Frame) -> pl.DataFrame:
    """The quarantined rows as validation built them, ordered by source_file, row_number; columns
    source_file, row_number, reasons, then the raw columns in their order."""
    df = _collect(frame)
    _require(df, REJECT_LEAD_COLUMNS, "rejects")
    # docs/spec.md section 7: the spreadsheet line and the raw property_id lead, when validation gave them
    lead = [*schema.LINEAGE_COLUMNS, *(c for c in ("spreadsheet_line", "property_id") if c in df.columns),
            "reasons"]
    rest = [c for c in df.columns if c not in lead]
    return df.sort(list(schema.LINEAGE_COLUMNS), nulls_last=True, maintain_order=True).select(*lead, *rest)

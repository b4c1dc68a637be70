"""Hand-built frames shared by the report tests."""

from __future__ import annotations

import polars as pl

from dispo import schema


def wide_frame(ids: list[str]) -> pl.DataFrame:
    """A wide frame whose ``<d>_<q>`` value encodes (property, disposition, quantity):
    1000·p + 100·d + q, so a value read from the wrong column is caught."""
    quantities = schema.T12_QUANTITIES + schema.TAX_OUTCOME_EXTRA
    cols: dict[str, list] = {"property_id": ids}
    for di, d in enumerate(schema.DISPOSITIONS):
        for qi, q in enumerate(quantities):
            cols[f"{d}_{q}"] = [1000.0 * p + 100 * di + qi for p in range(len(ids))]
    return pl.DataFrame(cols)


def with_worklist_columns(results: pl.DataFrame) -> pl.DataFrame:
    """``results`` with every column the worklists read that it lacks, as typed nulls (text for the
    categorical ones, Float64 for the numbers, Boolean for the flags)."""
    from dispo.reports import worklists

    text = {"address", "state", "occupancy", "investor_type", "lender_best_option", "offer_status",
            "borrower_best_option", "hold_recommendation"}
    flags = {"urgent", "fc_referral_allowed", "loss_mit_candidate"}
    ints = {"months_delinquent", "days_to_foreclosure_sale", "hold_months"}
    wanted = {c for w in worklists.WORKLISTS for c in w.source_columns()}
    kinds = {**{c: pl.Float64 for c in wanted}, **{c: pl.String for c in text}, **{c: pl.Boolean for c in flags},
             **{c: pl.Int64 for c in ints}}
    return results.with_columns(pl.lit(None, dtype=kinds[c]).alias(c) for c in sorted(wanted)
                                if c not in results.columns)

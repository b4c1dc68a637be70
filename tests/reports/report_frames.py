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

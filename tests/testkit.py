"""Shared test helpers (import as `from testkit import ...`): typed frames built from the schema,
golden data paths."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from dispo import schema
from dispo.engine.defaults import POLARS_TYPES

AS_OF = date(2026, 11, 22)
DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden"


def typed_frame(rows: list[dict]) -> pl.DataFrame:
    """Rows of schema columns as a typed frame (missing optional columns stay absent)."""
    names = [c for c in schema.NAMES if any(c in r for r in rows)]
    return pl.DataFrame(
        [{c: r.get(c) for c in names} for r in rows],
        schema={c: POLARS_TYPES[schema.BY_NAME[c].dtype] for c in names},
    )


BASE_ROW = {
    "property_id": "P1", "state": "TX", "occupancy": "primary", "market_value": 300000.0,
    "purchase_price": 250000.0, "purchase_date": date(2015, 1, 1), "first_lien_balance": 200000.0,
}


def row(**kw) -> dict:
    """BASE_ROW with overrides."""
    return {**BASE_ROW, **kw}


#: Golden keys pending an issue not yet built, each with its reason (issue 16, the lender's
#: decision, made all of its keys pass: none is pending now).
PENDING: dict[tuple[str, str | None], str] = {}


def golden_pending(pid: str, key: str) -> str | None:
    """The reason a golden key is pending, or None."""
    return PENDING.get((pid, key)) or PENDING.get((pid, None))

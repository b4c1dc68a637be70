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


#: Golden keys of the lender-decision issue (issue 16: SPEC revision 2 rules L1, L4, L5, L7, L8 and
#: M1-M8), not built when the tax rules of issue 15 landed: pending, each with its reason. Issue 16
#: removes its entries from this table as it makes them pass; nothing else may be added here.
_ISSUE_16 = "pending issue 16 (lender decision, SPEC rev. 2)"
PENDING: dict[tuple[str, str | None], str] = {
    ("G13", None): f"{_ISSUE_16}: loan modification case M1-M8",
    ("G14", None): f"{_ISSUE_16}: loan modification case M1-M8",
    ("G10", "offer_status"): f"{_ISSUE_16}: L8 offer_status",
    ("G10", "offer_acceptable"): f"{_ISSUE_16}: L8 judges only an offer in hand",
    **{("G08", k): f"{_ISSUE_16}: L7 makes no lender decision at claim 0"
       for k in ("lender_best_option", "lender_savings_vs_foreclosure", "min_acceptable_offer", "offer_status")},
    **{("G01", k): f"{_ISSUE_16}: L1 payoff sale of a loan that is not underwater"
       for k in ("pv_short_sale", "lender_best_option")},
    ("G04", "dil_eligible"): f"{_ISSUE_16}: L5 deed-in-lieu with a released junior lien",
    **{("G11", k): f"{_ISSUE_16}: L4 caps the REO proceeds at the claim; L1 payoff sale"
       for k in ("pv_foreclosure", "lender_best_option", "lender_savings_vs_foreclosure")},
}


def golden_pending(pid: str, key: str) -> str | None:
    """The reason a golden key is pending, or None."""
    return PENDING.get((pid, key)) or PENDING.get((pid, None))

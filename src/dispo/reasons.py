"""Reasons of rejected rows for people: counted by kind, with a hint for the common ones (the
console's summary of a run's rejects, issue 18)."""

from __future__ import annotations

#: Hints for the commonest reasons (docs/spec.md section 1 parsing), by what the reason says.
REASON_HINTS = (
    ("not a valid ISO date", "dates must be YYYY-MM-DD, or add their pattern to date_formats, "
                             "e.g. date_formats = [\"%m/%d/%Y\"]"),
    ("ambiguous date", "two date_formats read this date differently: keep only the one your file uses"),
    ("not a valid date", "the date matches none of date_formats (nor YYYY-MM-DD)"),
    ("not a number", "numbers may carry a leading $ and , separators; % only in *_rate and *_share columns"),
    ("required value missing", "a required column is empty: fill it (a TOTAL or note row is not a property)"),
    ("not one of", "use one of the listed values (case does not matter)"),
)


def reason_hint(kind: str) -> str:
    """A hint for a reason kind (empty when it is not a common one)."""
    return next((h for needle, h in REASON_HINTS if needle in kind), "")


def count_reasons(rejects) -> dict[str, int]:
    """Reasons counted by kind (the reason without its quoted value), for a run with no summary."""
    import polars as pl

    kinds = (rejects.select(pl.col("reasons").explode().drop_nulls().str.extract(r"^(.*?): '", 1).alias("k"))
             .drop_nulls().group_by("k").len())
    return dict(zip(kinds["k"].to_list(), kinds["len"].to_list()))

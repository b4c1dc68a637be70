"""Calendar arithmetic of docs/spec.md section 3, as Polars expressions over whole columns."""

from __future__ import annotations

from datetime import date

import polars as pl

from dispo import params

#: T5: more than this many months held is long-term (§1222(3), data/statute.toml).
LONG_TERM_MONTHS: int = params.statute("long_term_holding_months")

IntoDate = pl.Expr | date


def _expr(d: IntoDate) -> pl.Expr:
    return d if isinstance(d, pl.Expr) else pl.lit(d, dtype=pl.Date)


def months_between(a: IntoDate, b: IntoDate) -> pl.Expr:
    """Completed calendar months from a to b (docs/spec.md section 3):
    ``(b.year − a.year)·12 + (b.month − a.month) − (1 if b.day < a.day else 0)``."""
    a, b = _expr(a), _expr(b)
    return (
        (b.dt.year().cast(pl.Int64) - a.dt.year().cast(pl.Int64)) * 12
        + (b.dt.month().cast(pl.Int64) - a.dt.month().cast(pl.Int64))
        - (b.dt.day() < a.dt.day()).cast(pl.Int64)
    )


def add_months(d: IntoDate, n: pl.Expr | int) -> pl.Expr:
    """Calendar addition of n months, the day clamped to the month's last day (docs/spec.md section 3)."""
    d = _expr(d)
    if isinstance(n, int):  # Polars' calendar offset clamps to the month's end the same way, ~5x faster
        return d.dt.offset_by(f"{n}mo")
    total = d.dt.year().cast(pl.Int64) * 12 + (d.dt.month().cast(pl.Int64) - 1) + n.cast(pl.Int64)
    year = total // 12
    month = total % 12 + 1
    first = pl.date(year, month, 1)
    last_day = first.dt.month_end().dt.day()
    return pl.date(year, month, pl.min_horizontal(d.dt.day(), last_day))


def days_between(a: IntoDate, b: IntoDate) -> pl.Expr:
    """Days from a to b (negative when b is earlier)."""
    return (_expr(b) - _expr(a)).dt.total_days()


def is_long_term(purchase_date: IntoDate, disposition_date: IntoDate) -> pl.Expr:
    """T5: long-term when the disposition date is later than add_months(purchase_date, 12)."""
    return _expr(disposition_date) > add_months(purchase_date, LONG_TERM_MONTHS)

"""Numerics the engine shares: Polars has no expm1, and compound-interest factors lose their cents
to cancellation at tiny rates without it."""

from __future__ import annotations

import polars as pl


def expm1(x: pl.Expr) -> pl.Expr:
    """exp(x) − 1 to a few ulps: Kahan's (u − 1)·x/ln(u) with u = exp(x), which cancels the rounding
    of u near 0; x itself when u rounds to 1; u − 1 for |x| ≥ 1, where nothing cancels."""
    u = x.exp()
    return pl.when(u == 1).then(x).when(x.abs() >= 1).then(u - 1).otherwise((u - 1) * x / u.log())


#: The smallest normal float64. A monthly rate below it is subnormal: vectorized arithmetic may
#: flush it to zero in one operation and not in the next, so such a rate is treated as 0 (the
#: annuity and payment formulas' own limit; the difference is far below a cent).
SMALLEST_NORMAL = 2.2250738585072014e-308


def is_zero_rate(rate: pl.Expr) -> pl.Expr:
    """True where a rate is 0 or subnormal (see SMALLEST_NORMAL)."""
    return rate.abs() < SMALLEST_NORMAL


def as_expr(value: pl.Expr | float | bool | None, dtype: pl.DataType = pl.Float64()) -> pl.Expr:
    """An assumption as an expression: its per-row column (SPEC 5.5) as is, a scalar as a literal of
    ``dtype`` (a boolean switch, held as 1.0/0.0, cast by the caller)."""
    return value if isinstance(value, pl.Expr) else pl.lit(value, dtype=dtype)

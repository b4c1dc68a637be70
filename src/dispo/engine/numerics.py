"""Numerics the engine shares: Polars has no expm1, and compound-interest factors lose their cents
to cancellation at tiny rates without it."""

from __future__ import annotations

import polars as pl


def expm1(x: pl.Expr) -> pl.Expr:
    """exp(x) − 1 to a few ulps: Kahan's (u − 1)·x/ln(u) with u = exp(x), which cancels the rounding
    of u near 0; x itself when u rounds to 1; u − 1 for |x| ≥ 1, where nothing cancels."""
    u = x.exp()
    return pl.when(u == 1).then(x).when(x.abs() >= 1).then(u - 1).otherwise((u - 1) * x / u.log())

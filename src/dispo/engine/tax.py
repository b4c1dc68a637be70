"""Placeholder: replaced by the tax engine (SPEC)."""

from __future__ import annotations

from datetime import date

import polars as pl

from dispo.params import Assumptions


def add_tax(frame: pl.LazyFrame, *, as_of: date, assumptions: Assumptions) -> pl.LazyFrame:
    return frame

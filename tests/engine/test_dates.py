"""engine/dates.py: the calendar arithmetic of docs/spec.md section 3 (months_between, add_months)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from dispo.engine.dates import add_months, months_between


@pytest.mark.parametrize("a,b,expected", [
    (date(2020, 1, 15), date(2020, 2, 14), 0),   # one day short of a month
    (date(2020, 1, 15), date(2020, 2, 15), 1),
    (date(2020, 1, 31), date(2020, 2, 29), 0),   # b.day < a.day: not complete
    (date(2015, 1, 1), date(2026, 11, 22), 142),
    (date(2026, 11, 22), date(2026, 11, 22), 0),
    (date(2026, 12, 1), date(2026, 11, 22), -1),
])
def test_sec3_months_between(a, b, expected):
    assert pl.select(months_between(a, b)).item() == expected


@pytest.mark.parametrize("d,n,expected", [
    (date(2020, 1, 31), 1, date(2020, 2, 29)),   # clamped to the leap-year month end
    (date(2021, 1, 31), 1, date(2021, 2, 28)),
    (date(2026, 11, 22), 60, date(2031, 11, 22)),
    (date(2026, 3, 31), -1, date(2026, 2, 28)),
    (date(2026, 12, 15), 1, date(2027, 1, 15)),
])
def test_sec3_add_months(d, n, expected):
    assert pl.select(add_months(d, n)).item() == expected

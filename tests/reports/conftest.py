"""Fixtures for the report writers (the engines are not needed here)."""

from __future__ import annotations

import polars as pl
import pytest


@pytest.fixture
def results() -> pl.DataFrame:
    return pl.DataFrame({
        "property_id": ["p3", "p1", "p2", "p5", "p4", "p6"],
        "address": ["=SUM(A1)", "1 Main St", "+1", "-2", "@x", "\tq"],
        "market_value": [100000.125, 250000.0, 99999.994, 1.005, -0.125, 2.675],
        "sell_advantage_pv": [10.0, None, 10.0, float("nan"), 50.5, -3.0],
        "loss_mit_candidate": [True, True, False, None, True, True],
        "lender_savings_vs_foreclosure": [100.0, 100.0, 999.0, 5.0, None, 250.0],
        "ltv": [0.123456789012, 1.2, 0.5, 0.0, None, 0.3],
        "underwater": [True, False, False, True, None, True],
        "hold_recommendation": ["sell", "hold", "sell", None, "sell", "hold"],
    })

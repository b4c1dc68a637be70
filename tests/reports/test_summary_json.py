"""summary.json content: counts, conservation, reasons, totals, versions, digest, gate."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from dispo.reports import summary_json as sm


@pytest.fixture
def rejects() -> pl.DataFrame:
    return pl.DataFrame({
        "source_file": ["a.csv", "a.csv", "b.csv"],
        "row_number": [3, 7, 1],
        "reasons": [["market_value: not a number: 'abc'", "state: not a state code: 'XX'"],
                    ["market_value: not a number: '1,2,3: ''x'''"],
                    ["row: has 3 fields, header has 5"]],
    })


def test_counts_conservation_and_gate(results, rejects):
    s = sm.summary(rows_read=9, results=results, rejects=rejects, as_of=date(2026, 11, 22),
                   max_reject_fraction=0.05, timings={"ingest": 0.1234567, "engine": 2})
    assert s["rows"] == {"read": 9, "accepted": 6, "rejected": 3, "conservation_ok": True}
    assert s["gate"]["passed"] is False and s["gate"]["reject_fraction"] == pytest.approx(1 / 3)
    assert s["exit_code"] == 3
    assert s["as_of"] == "2026-11-22"
    assert s["timings_seconds"] == {"ingest": 0.123457, "engine": 2.0}
    json.dumps(s, allow_nan=False)  # serialisable, no NaN


def test_conservation_broken_is_reported(results, rejects):
    s = sm.summary(rows_read=10, results=results, rejects=rejects, as_of=date(2026, 1, 1),
                   max_reject_fraction=0.5)
    assert s["rows"]["conservation_ok"] is False
    assert s["gate"]["passed"] is True and s["exit_code"] == 0


def test_exit_code_given_wins(results, rejects):
    s = sm.summary(rows_read=9, results=results, rejects=rejects, as_of=date(2026, 1, 1), exit_code=1)
    assert s["exit_code"] == 1


def test_reasons_counted_without_raw_values(rejects):
    r = sm.reason_counts(rejects)
    assert r["total"] == 4
    assert r["by_column"] == {"market_value": 2, "row": 1, "state": 1}
    assert r["by_reason"] == {"market_value: not a number": 2, "row: has 3 fields, header has 5": 1,
                              "state: not a state code": 1}
    assert sm.reason_counts(rejects.head(0)) == {"total": 0, "by_column": {}, "by_reason": {}}


def test_totals_money_to_cents_counts_and_absent_columns(results):
    t = sm.totals(results)
    assert t["money"]["market_value"] == round(100000.125 + 250000.0 + 99999.994 + 1.005 - 0.125 + 2.675, 2)
    assert t["money"]["lender_savings_vs_foreclosure"] == 1454.0  # the null is skipped
    assert "debt" not in t["money"] and "sale_cod_taxable" not in t["money"]  # absent: left out
    assert t["counts"]["underwater"] == 3 and t["counts"]["loss_mit_candidate"] == 4
    assert t["counts"]["sell_recommendations"] == 3
    assert t["counts"]["hold_recommendation"] == {"hold": 2, "sell": 3, "null": 1}


def test_total_of_all_null_column_is_null_not_zero():
    df = pl.DataFrame({"property_id": ["a"], "sale_cod_taxable": pl.Series([None], dtype=pl.Float64)})
    assert sm.totals(df)["money"]["sale_cod_taxable"] is None


def test_versions():
    v = sm.versions()
    assert {"dispo", "python", "polars", "duckdb", "pyarrow"} <= set(v)
    assert v["polars"] == pl.__version__


@dataclass(frozen=True)
class _Cfg:
    name: str
    inputs: tuple[Path, ...]
    as_of: date
    defaults: dict


def test_config_digest_is_canonical():
    a = {"pipeline": {"name": "x", "as_of": date(2026, 11, 22)}, "defaults": {"b": 1, "a": 2.5}}
    b = {"defaults": {"a": 2.5, "b": 1}, "pipeline": {"as_of": "2026-11-22", "name": "x"}}
    assert sm.config_digest(a) == sm.config_digest(b)
    assert sm.config_digest(a).startswith("sha256:") and len(sm.config_digest(a)) == 7 + 64
    assert sm.config_digest(a) != sm.config_digest({**a, "defaults": {"a": 2.5, "b": 2}})
    cfg = _Cfg("x", (Path("/d/a.csv"),), date(2026, 1, 1), {"filing_status": "mfj"})
    assert sm.config_digest(cfg) == sm.config_digest(
        {"as_of": "2026-01-01", "defaults": {"filing_status": "mfj"}, "inputs": ["/d/a.csv"], "name": "x"})


def test_summary_without_config_or_frames():
    s = sm.summary(rows_read=0, results=None, rejects=None, as_of=date(2026, 1, 1))
    assert s["config_digest"] is None and s["rows"]["conservation_ok"] is True
    assert s["totals"] == {"money": {}, "counts": {}}


def test_money_total_on_half_a_cent_is_the_same_in_any_row_order():
    # Found by the Spark parity test: the sample's short_sale_cod_taxable sums to exactly
    # 31,752,585.375; summed as floats in another order it came to ...374999996 and rounded to .37.
    # These values sum exactly to 31,752,585.375; as floats, the order decides what 1e16 swallows.
    values = [1e16, 0.125, -1e16, 31752585.0, 0.25]
    want = 31752585.38  # 31,752,585.375 rounded half away from zero (section 7: cents)
    for order in ([0, 1, 2, 3, 4], [1, 0, 2, 4, 3], [3, 4, 1, 0, 2], [0, 2, 4, 1, 3]):
        frame = pl.DataFrame({"short_sale_cod_taxable": [values[i] for i in order]})
        assert sm.totals(frame)["money"]["short_sale_cod_taxable"] == want, order


def test_money_total_with_a_non_finite_value_is_null():
    frame = pl.DataFrame({"short_sale_cod_taxable": [1.0, float("inf")]})
    assert sm.totals(frame)["money"]["short_sale_cod_taxable"] is None

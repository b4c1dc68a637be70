"""tables and worklists: ranking, tax_outcomes, rejects (docs/spec.md section 7)."""

from __future__ import annotations

import polars as pl
import pytest
from report_frames import wide_frame, with_worklist_columns

from dispo import schema
from dispo.reports import tables, worklists


def _full(frame: pl.DataFrame) -> pl.DataFrame:
    return with_worklist_columns(frame)


def test_investor_worklist_order_ties_and_nulls_last(results):
    h = worklists.ranked(_full(results), worklists.INVESTOR)
    assert h.columns[0] == "rank"
    assert h["rank"].to_list() == [1, 2, 3, 4, 5, 6]
    assert h["rank"].dtype == pl.Int64
    # 50.5, then the tie at 10 by property_id, then -3, then null and NaN (both last, by property_id)
    assert h["property_id"].to_list() == ["p4", "p2", "p3", "p6", "p1", "p5"]
    assert h.height == results.height


def test_investor_worklist_negative_zero_ties_with_zero():
    df = _full(pl.DataFrame({"property_id": ["b", "a"], "sell_advantage_pv": [0.0, -0.0]}))
    assert worklists.ranked(df, worklists.INVESTOR)["property_id"].to_list() == ["a", "b"]


def test_worklist_refuses_a_missing_key(results):
    with pytest.raises(KeyError, match="sell_advantage_pv"):
        worklists.ranked(_full(results).drop("sell_advantage_pv"), worklists.INVESTOR)


def test_lender_worklist_filter_and_order(results):
    lc = worklists.ranked(_full(results), worklists.LENDER)
    assert lc.columns[0] == "rank"
    # p2 (false) and p5 (null) are not candidates; 250, then the tie at 100 by id, then null last
    assert lc["property_id"].to_list() == ["p6", "p1", "p3", "p4"]
    assert lc["rank"].to_list() == [1, 2, 3, 4]


def test_lender_worklist_empty():
    df = _full(pl.DataFrame({"property_id": ["a"], "loss_mit_candidate": [False],
                             "lender_savings_vs_foreclosure": [1.0]}))
    lc = worklists.ranked(df, worklists.LENDER)
    assert lc.height == 0 and lc.columns == list(worklists.LENDER_WORKLIST_COLUMNS)


def test_tax_outcomes_shape_order_and_values():
    ids = ["p2", "p10", "p1"]  # input order is not the output order
    wide = wide_frame(ids).with_columns(other=pl.lit("ignored"))
    long = tables.tax_outcomes(wide)
    assert long.columns == ["property_id", "disposition", *schema.T12_QUANTITIES, *schema.TAX_OUTCOME_EXTRA]
    assert long.height == 4 * len(ids)
    expected_ids = sorted(ids)  # property_id ascending (text order)
    assert long["property_id"].to_list() == [p for p in expected_ids for _ in range(4)]
    assert long["disposition"].to_list() == list(schema.DISPOSITIONS) * len(ids)
    quantities = schema.T12_QUANTITIES + schema.TAX_OUTCOME_EXTRA
    for row in long.iter_rows(named=True):
        p = ids.index(row["property_id"])
        d = schema.DISPOSITIONS.index(row["disposition"])
        for qi, q in enumerate(quantities):
            assert row[q] == 1000.0 * p + 100 * d + qi, (row["property_id"], row["disposition"], q)


def test_tax_outcomes_gain_character_passes_through():
    """ltcg + stcg + unrecaptured_1250 = recognized gain, row by row, as the engine made them."""
    wide = wide_frame(["a", "b"])
    recognized = {}
    for i, d in enumerate(schema.DISPOSITIONS):
        ltcg, stcg, u = [1234.56 * (i + 1), 0.0], [0.0, 77.7 * (i + 1)], [300.01, 0.0]
        wide = wide.with_columns(pl.Series(f"{d}_ltcg", ltcg), pl.Series(f"{d}_stcg", stcg),
                                 pl.Series(f"{d}_unrecaptured_1250", u))
        recognized.update({("a", d): ltcg[0] + stcg[0] + u[0], ("b", d): ltcg[1] + stcg[1] + u[1]})
    long = tables.tax_outcomes(wide.lazy())  # a LazyFrame is accepted too
    got = long.select("property_id", "disposition",
                      (pl.col("ltcg") + pl.col("stcg") + pl.col("unrecaptured_1250")).alias("rec"))
    for pid, d, rec in got.iter_rows():
        assert rec == recognized[(pid, d)]
    assert long.filter(pl.col("property_id") == "b")["ltcg"].to_list() == [0.0] * 4


def test_tax_outcomes_keeps_nulls():
    wide = wide_frame(["a"]).with_columns(pl.lit(None, dtype=pl.Float64).alias("deed_in_lieu_tax"))
    long = tables.tax_outcomes(wide)
    assert long["tax"].to_list()[2] is None
    assert long["tax"].null_count() == 1


def test_tax_outcomes_missing_column_is_named():
    with pytest.raises(KeyError, match="foreclosure_niit"):
        tables.tax_outcomes(wide_frame(["a"]).drop("foreclosure_niit"))


def test_rejects_ordered_by_file_then_row_number():
    rej = pl.DataFrame({
        "market_value": ["x", "y", "z", "w"],
        "source_file": ["b.csv", "a.csv", "a.csv", "b.csv"],
        "row_number": [2, 10, 9, 1],
        "reasons": [["r1"], ["r2"], ["r3", "r4"], ["r5"]],
    })
    out = tables.rejects(rej)
    assert out.columns == ["source_file", "row_number", "reasons", "market_value"]
    assert out.select("source_file", "row_number").rows() == [("a.csv", 9), ("a.csv", 10), ("b.csv", 1),
                                                              ("b.csv", 2)]
    assert out["market_value"].to_list() == ["z", "y", "w", "x"]

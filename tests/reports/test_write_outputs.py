"""write_outputs: the whole SPEC section 7 set through one OutputSet."""

from __future__ import annotations

import csv
import json
import os
from datetime import date

import polars as pl
import pytest
from report_frames import wide_frame, with_worklist_columns

from dispo.reports import MANIFEST_NAME, output_files, summary, verify, write_outputs


@pytest.fixture
def run(results):
    results = with_worklist_columns(results)
    wide = wide_frame(results["property_id"].to_list())
    rejects = pl.DataFrame({
        "source_file": ["b.csv", "a.csv"],
        "row_number": [4, 2],
        "reasons": [["market_value: not a number: '=1+1'"], ["state: not a state code: '@XX'"]],
        "market_value": ["=1+1", "100"],
        "state": ["CA", "@XX"],
    })
    s = summary(rows_read=8, results=results, rejects=rejects, as_of=date(2026, 11, 22), config={"k": 1})
    return {"results": results, "rejects": rejects, "summary": s, "wide": wide}


def _csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_writes_the_whole_set(tmp_path, run):
    out = tmp_path / "out"
    paths = write_outputs(out, **run, csv_outputs="all")
    every = output_files(purpose="both", csv_outputs="all")
    assert sorted(p.name for p in paths) == sorted(every)
    assert sorted(os.listdir(out)) == sorted([*every, MANIFEST_NAME])
    assert verify(out) == []

    res = pl.read_parquet(out / "results.parquet")
    assert res["property_id"].to_list() == run["results"]["property_id"].to_list()  # input order
    assert res["market_value"].to_list() == run["results"]["market_value"].to_list()  # full precision

    hold_pq = pl.read_parquet(out / "investor_worklist.parquet")
    hold_csv = _csv(out / "investor_worklist.csv")
    assert list(hold_csv[0])[:2] == ["rank", "property_id"]
    assert [r["property_id"] for r in hold_csv] == hold_pq["property_id"].to_list() == ["p4", "p2", "p3", "p6",
                                                                                         "p1", "p5"]
    by_id = {r["property_id"]: r for r in hold_csv}
    assert by_id["p3"]["address"] == "'=SUM(A1)" and by_id["p5"]["address"] == "'-2"
    assert by_id["p3"]["market_value"] == "100000.13"
    assert hold_pq.filter(pl.col("property_id") == "p3")["market_value"].item() == 100000.125
    assert by_id["p6"]["sell_advantage_pv"] == "-3.00"  # negative money stays a number
    lender = _csv(out / "lender_worklist.csv")
    assert [r["property_id"] for r in lender] == ["p6", "p1", "p3", "p4"]
    assert lender[2]["ltv"] == "0.123457"  # rates to 6 decimals in CSV (docs/outputs.md) ...
    assert pl.read_parquet(out / "lender_worklist.parquet")["ltv"][2] == 0.123456789012  # ... full in Parquet

    tax = pl.read_parquet(out / "tax_outcomes.parquet")
    assert tax.height == 4 * run["results"].height
    assert _csv(out / "tax_outcomes.csv")[1]["disposition"] == "short_sale"

    rej_csv = _csv(out / "rejects.csv")
    assert [(r["source_file"], r["row_number"]) for r in rej_csv] == [("a.csv", "2"), ("b.csv", "4")]
    assert rej_csv[0]["state"] == "'@XX" and rej_csv[1]["market_value"] == "'=1+1"
    assert pl.read_parquet(out / "rejects.parquet")["reasons"].dtype == pl.List(pl.String)

    assert json.loads((out / "summary.json").read_text()) == run["summary"]


def test_prebuilt_tax_outcomes_and_extra_writer(tmp_path, run):
    from dispo.reports import tax_outcomes

    long = tax_outcomes(run.pop("wide"))
    write_outputs(tmp_path, **run, tax_outcomes=long,
                  extra_writers=[lambda out: out.write_text("report.html", "<html></html>")])
    assert (tmp_path / "report.html").read_text() == "<html></html>"
    assert verify(tmp_path) == []


def test_bad_input_writes_nothing_over_previous_outputs(tmp_path, run):
    write_outputs(tmp_path, **run, csv_outputs="all")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    wide = run.pop("wide").drop("sale_niit")
    with pytest.raises(KeyError, match="sale_niit"):
        write_outputs(tmp_path, **run, wide=wide)
    with pytest.raises(RuntimeError, match="html failed"):
        write_outputs(tmp_path, **run, wide=wide_frame(run["results"]["property_id"].to_list()),
                      extra_writers=[lambda out: (_ for _ in ()).throw(RuntimeError("html failed"))])
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_exactly_one_tax_source(tmp_path, run):
    with pytest.raises(TypeError):
        write_outputs(tmp_path, results=run["results"], rejects=run["rejects"], summary=run["summary"])

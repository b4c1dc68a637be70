"""The DataFrame API (dispo.spark.evaluate / dispo.spark.validate) under local[2]:

- evaluate on 10,000 generated rows equals dispo.evaluate on the same rows (every column, its
  type and order; floats to 1e-12 relative, far better than a cent);
- validate on the messy portfolio gives the reasons a run gives, word for word, and accepts the
  rows the run accepts; duplicate ids across partitions are found;
- the example in docs/scale-out.md runs.

Skipped, with the reason, without pyspark or Java 17+.
"""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import dispo
from dispo import config, schema
from dispo.run import run_pipeline

ROOT = Path(__file__).parents[2]
MESSY = ROOT / "tests" / "data" / "messy" / "portfolio.csv"
AS_OF = date(2026, 11, 22)


def _generated(rows: int, seed: int) -> pl.DataFrame:
    from dispo.generate import generate_portfolio  # the generator's public entry point

    return generate_portfolio("lender", rows, seed, AS_OF)


def _to_polars(df) -> pl.DataFrame:
    return pl.from_arrow(df.toArrow())


def test_evaluate_equals_dispo_evaluate_on_10000_generated_rows(spark):
    frame = _generated(10_000, seed=19)
    assumptions = {"reo_discount": 0.3}
    want = dispo.evaluate(frame, as_of=AS_OF, assumptions=assumptions, defaults={"filing_status": "mfj"})
    sdf = spark.createDataFrame(frame.to_arrow()).repartition(3)  # several partitions, uneven batches
    got_df = dispo.spark.evaluate(sdf, as_of="2026-11-22", assumptions=assumptions,
                                  defaults={"filing_status": "mfj"})
    assert got_df.columns == want.columns  # declared before anything runs: every output column
    got = _to_polars(got_df).sort("property_id")
    assert got.height == 10_000
    assert_frame_equal(got, want.sort("property_id"), check_exact=False, rel_tol=1e-12, abs_tol=1e-9)
    # the assumption reached the executors: a different reo_discount gives different REO proceeds
    plain = dispo.evaluate(frame.head(50), as_of=AS_OF)
    assert not got.head(50).select("pv_foreclosure").equals(plain.select("pv_foreclosure"))


def test_evaluate_refuses_text_columns_and_bad_assumptions_on_the_driver(spark):
    text = spark.createDataFrame([("A1", "TX", "rental", "300000", "250000", "2015-01-01", "200000")],
                                 "property_id string, state string, occupancy string, market_value string, "
                                 "purchase_price string, purchase_date string, first_lien_balance string")
    with pytest.raises(ValueError, match="column 'market_value' is string, expected float; parse text"):
        dispo.spark.evaluate(text, as_of="2026-11-22")
    with pytest.raises(ValueError, match="unknown assumption 'reo'"):
        dispo.spark.evaluate(text, as_of="2026-11-22", assumptions={"reo": 0.1})
    with pytest.raises(ValueError, match="missing required column"):
        dispo.spark.evaluate(text.drop("state"), as_of="2026-11-22")


def _messy_rows() -> tuple[list[str], list[dict]]:
    """The messy file's records with the header's number of fields (a DataFrame has no ragged
    rows), numbered as the run numbers them; empty cells are nulls, as the CSV reader gives them."""
    with MESSY.open(newline="", encoding="utf-8") as f:
        records = list(csv.reader(f))
    header, body = records[0], records[1:]
    rows = [{"source_file": MESSY.name, "row_number": n, **dict(zip(header, r))}
            for n, r in enumerate(body, start=1) if len(r) == len(header)]
    return header, rows


@pytest.fixture(scope="module")
def messy_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("messy")
    pipeline = d / "p.toml"
    pipeline.write_text(f'[pipeline]\ninputs = ["{MESSY}"]\noutput_dir = "out"\nas_of = "2026-11-22"\n'
                        "max_reject_fraction = 1.0\n")
    return run_pipeline(config.load(pipeline))


def test_validate_gives_the_runs_reasons_word_for_word(spark, messy_run):
    header, rows = _messy_rows()
    sdf = spark.createDataFrame(pl.DataFrame(rows, schema={"source_file": pl.String, "row_number": pl.Int64,
                                                           **{h: pl.String for h in header}}).to_arrow())
    accepted, rejects = dispo.spark.validate(sdf.repartition(2), as_of="2026-11-22")
    got = _to_polars(rejects).sort("row_number")
    kept = {r["row_number"] for r in rows}
    want = (pl.read_parquet(messy_run.output_dir / "rejects.parquet")
            .filter(pl.col("row_number").is_in(list(kept))).sort("row_number"))
    assert got.columns == want.columns
    assert got.height == want.height > 5
    assert_frame_equal(got, want)
    ok = _to_polars(accepted)
    local = pl.read_parquet(messy_run.output_dir / "results.parquet")
    assert sorted(ok["property_id"]) == sorted(local["property_id"])
    assert ok.height + got.height == len(rows)
    # typed, as the run types them (required columns: no default applied in results)
    assert ok.schema["market_value"] == pl.Float64 and ok.schema["purchase_date"] == pl.Date
    cols = list(schema.REQUIRED)
    assert_frame_equal(ok.select(cols).sort("property_id"), local.select(cols).sort("property_id"),
                       check_dtypes=False)


def test_validate_finds_duplicates_across_partitions_and_types(spark):
    frame = _generated(40, seed=3).with_columns(
        pl.when(pl.int_range(pl.len()).is_in([0, 17, 39])).then(pl.lit("DUP1")).otherwise(pl.col("property_id"))
        .alias("property_id"))
    accepted, rejects = dispo.spark.validate(spark.createDataFrame(frame.to_arrow()).repartition(4), as_of=AS_OF)
    got = _to_polars(rejects)
    assert got["reasons"].to_list() == [["property_id: duplicate id (3 rows): 'DUP1'"]] * 3
    assert got.columns[:2] == ["property_id", "reasons"]  # no lineage given, none invented
    assert accepted.count() == 37
    # typed input (numbers, dates, booleans) is read as a Parquet input is: every generated row valid
    out = _to_polars(dispo.spark.evaluate(accepted, as_of=AS_OF)).sort("property_id")
    want = dispo.evaluate(frame.filter(pl.col("property_id") != "DUP1"), as_of=AS_OF).sort("property_id")
    assert_frame_equal(out, want, check_exact=False, rel_tol=1e-12, abs_tol=1e-9)


def test_the_documented_example_runs(spark, tmp_path):
    """docs/scale-out.md, "The DataFrame API": the fenced example, as written, on a generated
    portfolio in loans.parquet (an absolute path: Spark's JVM keeps its own working directory)."""
    text = (ROOT / "docs" / "scale-out.md").read_text()
    block = re.search(r"<!-- example: dataframe-api -->\s*```python\n(.*?)```", text, re.S)
    assert block, "docs/scale-out.md lost its DataFrame API example"
    loans = tmp_path / "loans.parquet"
    _generated(200, seed=5).write_parquet(loans)
    code = block.group(1).replace('"loans.parquet"', repr(str(loans)))
    assert code != block.group(1)
    namespace = {"spark": spark}
    exec(compile(code, "docs/scale-out.md", "exec"), namespace)
    assert namespace["rejects"].count() == 0
    assert namespace["results"].count() == 200
    results = _to_polars(namespace["results"])
    want = (results.filter(pl.col("loss_mit_candidate"))
            .sort(["lender_savings_vs_foreclosure", "property_id"], descending=[True, False], nulls_last=True).head(10))
    got = _to_polars(namespace["worklist"])
    assert got.height == want.height > 0
    assert got["property_id"].to_list() == want["property_id"].to_list()

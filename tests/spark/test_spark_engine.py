"""The Spark engine against the local engine (under local[2]): results, rejects, rankings and
summary equal to the cent on the sample portfolios, the golden cases and a multi-file run of edge
cases (blank lines, quoted newlines, ragged rows, CRLF, duplicates across files, Parquet) split into
many small Spark partitions. Skipped, with the reason, without pyspark or Java 17+."""

from __future__ import annotations

import json
import shutil
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dispo import config
from dispo.run import run_pipeline
from testkit import golden_pending

ROOT = Path(__file__).parents[2]
DATA = ROOT / "tests" / "data"
GOLDEN = DATA / "golden"
REPORTS = ("lender_worklist", "investor_worklist", "tax_outcomes", "rejects")
#: summary.json keys that differ between any two runs (or say which engine ran)
VOLATILE = {"run_id", "timings_seconds", "versions", "started", "engine", "spark", "diff", "outputs"}


LINEAGE = ["source_file", "row_number"]


def spark_results(outcome) -> pl.DataFrame:
    """results.parquet/ (Parquet parts, each sorted by file and row), read by its name as one frame
    sorted by lineage."""
    path = outcome.output_dir / "results.parquet"
    assert path.is_dir() and sorted(path.glob("part-*.parquet"))
    return pl.read_parquet(path).sort(LINEAGE)


def assert_same(got: pl.DataFrame, want: pl.DataFrame) -> None:
    """Same columns, types, order and values; floats to far better than a cent (a float may
    differ in its last bit: Polars folds constants differently for a one-row frame)."""
    assert_frame_equal(got, want, check_exact=False, rel_tol=1e-12, abs_tol=1e-9)


@pytest.fixture(scope="module")
def run(spark, tmp_path_factory):
    """Runs a pipeline with both engines (memoised): (local outcome, spark outcome)."""
    done = {}

    def both(pipeline: Path, name: str, **overrides):
        if name not in done:
            out = tmp_path_factory.mktemp(name)
            local = run_pipeline(config.load(pipeline, output_dir=str(out / "local"), **overrides))
            with_spark = run_pipeline(config.load(pipeline, output_dir=str(out / "spark"), engine="spark",
                                                  **overrides))
            done[name] = (local, with_spark)
        return done[name]
    return both


CASES = {
    "lender": (ROOT / "pipelines" / "lender_loss_mitigation.toml", {}),
    "investor": (ROOT / "pipelines" / "investor_nightly.toml", {}),
    "golden": (GOLDEN / "pipeline.toml", {}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_same_outcome(run, case):
    local, spark_run = run(CASES[case][0], case, **CASES[case][1])
    assert spark_run.exit_code == local.exit_code
    assert (spark_run.rows_read, spark_run.rows_accepted, spark_run.rows_rejected) == \
        (local.rows_read, local.rows_accepted, local.rows_rejected)
    if case == "lender":
        assert local.rows_rejected == 14


@pytest.mark.parametrize("case", list(CASES))
def test_results_equal(run, case):
    local, spark_run = run(CASES[case][0], case, **CASES[case][1])
    want = pl.read_parquet(local.output_dir / "results.parquet")
    assert_same(spark_results(spark_run), want.sort(LINEAGE))


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("table", REPORTS)
def test_ranked_reports_equal(run, case, table):
    local, spark_run = run(CASES[case][0], case, **CASES[case][1])
    written = (local.output_dir / f"{table}.parquet").exists()  # the pipeline's purpose picks the worklists
    assert (spark_run.output_dir / f"{table}.parquet").exists() == written
    if not written:
        return
    assert_same(pl.read_parquet(spark_run.output_dir / f"{table}.parquet", glob=False),
                pl.read_parquet(local.output_dir / f"{table}.parquet"))
    # CSV (money to cents, formulas neutralised): the same bytes
    if (local.output_dir / f"{table}.csv").exists():
        assert (spark_run.output_dir / f"{table}.csv").read_bytes() == \
            (local.output_dir / f"{table}.csv").read_bytes()


@pytest.mark.parametrize("case", list(CASES))
def test_summary_equal(run, case):
    local, spark_run = run(CASES[case][0], case, **CASES[case][1])
    want = json.loads((local.output_dir / "summary.json").read_text())
    got = json.loads((spark_run.output_dir / "summary.json").read_text())
    assert {k: v for k, v in got.items() if k not in VOLATILE} == {k: v for k, v in want.items() if k not in VOLATILE}
    assert got["engine"] == "spark" and got["spark"]["master"].startswith("local")
    assert set(got["timings_seconds"]) == {"ingest", "evaluate", "validate"}


def test_golden_values_to_the_cent(run):
    _, spark_run = run(CASES["golden"][0], "golden")
    expected = json.loads((GOLDEN / "expected.json").read_text())
    results = spark_results(spark_run)
    for pid, case in expected["cases"].items():
        row = results.filter(pl.col("property_id") == pid).row(0, named=True)
        for key, value in case.items():
            if key.startswith("_") or golden_pending(pid, key):  # tests/testkit.py: pending, with a reason
                continue
            if isinstance(value, (bool, str)) or value is None:
                assert row[key] == value, (pid, key)
            else:
                rate = key.endswith("_rate") or key.startswith("lender_severity") or key == "ltv"
                tol = expected["tolerance"]["rate" if rate else "money"]
                assert abs(row[key] - value) <= tol + 1e-9, (pid, key, row[key], value)


@pytest.mark.parametrize("case", ["lender", "investor"])
def test_outputs_and_work_dir(run, case):
    """The same files as the local run's (its purpose's worklists, csv_outputs, report.html,
    report.xlsx, diff.csv, the run history), but Data Docs; plus spark.log when dispo started Spark."""
    local, spark_run = run(CASES[case][0], case)
    out = spark_run.output_dir
    names = {p.name for p in out.iterdir()}
    local_names = {p.name for p in local.output_dir.iterdir()}
    assert {"report.html", "report.xlsx", "diff.csv", "dispo.duckdb", "results.parquet"} <= local_names
    assert local_names - {"data_docs"} <= names
    assert names - local_names <= {"spark.log"}
    assert not [n for n in names if n.startswith(".dispo-spark-") or n.startswith(".staging-")]
    assert "results" not in names
    # only Parquet parts in it: Spark's _SUCCESS and checksum files are removed
    assert {p.suffix for p in (out / "results.parquet").iterdir()} == {".parquet"}


def test_results_parquet_directory_is_read_by_every_documented_reader(run, spark):
    """README: results.parquet of a Spark run is a directory of parts; Polars, pandas, DuckDB and
    Spark read it by that name, as they read a local run's file."""
    import duckdb
    import pandas as pd

    local, spark_run = run(CASES["lender"][0], "lender")
    path = spark_run.output_dir / "results.parquet"
    want = pl.read_parquet(local.output_dir / "results.parquet").sort(LINEAGE)
    readers = {
        "polars": lambda: pl.read_parquet(path),
        "pandas": lambda: pl.from_pandas(pd.read_parquet(path)),
        "duckdb": lambda: duckdb.sql(f"SELECT * FROM read_parquet('{path}')").pl(),
        "spark": lambda: pl.from_arrow(spark.read.parquet(str(path)).toArrow()),
    }
    for name, read in readers.items():
        got = read()
        assert got.height == want.height and got.columns == want.columns, name
        assert_same(got.select(LINEAGE + ["property_id", "lender_savings_vs_foreclosure"]).sort(LINEAGE),
                    want.select(LINEAGE + ["property_id", "lender_savings_vs_foreclosure"]))


# --- a multi-file run of edge cases, in many small Spark splits -------------------------------------

HEADER = "property_id,state,occupancy,market_value,purchase_price,purchase_date,first_lien_balance"
GOOD = "P{},TX,rental,200000,150000,2020-01-01,100000"
EDGE = [HEADER, GOOD.format(1), "", 'P3,TX,rental,200000,150000,2020-01-01,"1\n0"', "P4,TX", "", GOOD.format(6),
        GOOD.format(7) + ",extra", 'P8,TX,"rental\n\nstill rental",1,1,2020-01-01,0', 'P9,TX,"rental"x,1,1,2020-01-01,0',
        'P10,TX, "rental" ,200000,150000,2020-01-01,100000', "   ", "D01,TX,rental,1,1,2020-01-01,0",
        'P14,TX,rental,"200,000",150000,2020-01-01,"1\n2\n3\n4"'] \
    + [GOOD.format(n) for n in range(15, 120)] + ["", ""]


@contextmanager
def small_splits(spark, size: str):
    key = "spark.sql.files.maxPartitionBytes"
    before = spark.conf.get(key)
    spark.conf.set(key, size)
    try:
        yield
    finally:
        spark.conf.set(key, before)


@pytest.fixture(scope="module")
def edge_run(spark, tmp_path_factory):
    d = tmp_path_factory.mktemp("edge") / "a dir"  # spaces and brackets in paths (Spark globs what it reads)
    inputs = d / "in"
    inputs.mkdir(parents=True)
    shutil.copy(DATA / "messy" / "portfolio.csv", inputs / "a_messy.csv")
    (inputs / "b edge[1].csv").write_bytes(("\r\n".join(EDGE) + "\r\n").encode("utf-8"))
    investor = pl.read_csv(ROOT / "sample_data" / "investor_portfolio.csv", try_parse_dates=True).head(40)
    investor.with_columns(pl.col("property_id").str.replace("H000001", "D01")).write_parquet(inputs / "c_typed.parquet")
    pipeline = d / "pipeline.toml"
    pipeline.write_text('[pipeline]\nname = "edge"\ninputs = ["in/a_messy.csv", "in/b edge[1].csv", "in/c_typed.parquet"]\n'
                        'output_dir = "out"\nas_of = "2026-11-22"\n'
                        'max_reject_fraction = 1.0\n[defaults]\nfiling_status = "mfj"\n')
    local = run_pipeline(config.load(pipeline, output_dir=str(d / "local")))
    with small_splits(spark, "2k"):
        spark_run = run_pipeline(config.load(pipeline, output_dir=str(d / "spark [out]"), engine="spark"))
    return local, spark_run


def test_edge_rows_reasons_and_numbers_identical(edge_run):
    local, spark_run = edge_run
    assert spark_run.rows_read == local.rows_read > 170
    want = pl.read_parquet(local.output_dir / "rejects.parquet")
    got = pl.read_parquet(spark_run.output_dir / "rejects.parquet", glob=False)
    assert_frame_equal(got, want)
    reasons = dict(zip(zip(got["source_file"], got["row_number"]), got["reasons"].to_list()))
    assert reasons[("b edge[1].csv", 12)] == ["property_id: duplicate id (5 rows): 'D01'"]  # across 3 files
    assert reasons[("c_typed.parquet", 1)] == ["property_id: duplicate id (5 rows): 'D01'"]
    # docs/spec.md section 2: blank lines and the whitespace-only record skipped and counted alike
    summaries = [json.loads((r.output_dir / "summary.json").read_text()) for r in (local, spark_run)]
    assert summaries[1]["blank_rows"] == summaries[0]["blank_rows"] > 0


def test_edge_results_and_reports_identical(edge_run):
    local, spark_run = edge_run
    assert_same(spark_results(spark_run), pl.read_parquet(local.output_dir / "results.parquet").sort(LINEAGE))
    for table in REPORTS:
        written = (local.output_dir / f"{table}.csv").exists()  # purpose and csv_outputs decide
        assert (spark_run.output_dir / f"{table}.csv").exists() == written, table
        if written:
            assert (spark_run.output_dir / f"{table}.csv").read_bytes() == \
                (local.output_dir / f"{table}.csv").read_bytes(), table


def test_a_file_problem_is_one_line_and_writes_nothing(spark, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("property_id,state\nP1,TX\n")
    pipeline = tmp_path / "p.toml"
    pipeline.write_text(f'[pipeline]\ninputs = ["bad.csv"]\noutput_dir = "out"\nengine = "spark"\n')
    from dispo.errors import DispoError

    with pytest.raises(DispoError, match="required column 'occupancy' is missing"):
        run_pipeline(config.load(pipeline))
    assert not any((tmp_path / "out").glob("*.csv"))


def test_a_problem_found_in_a_partition_is_one_line(spark, tmp_path):
    (tmp_path / "amb.csv").write_text("\n".join([HEADER, 'P1,TX,ren"tal,"x,1,2020-01-01,0', GOOD.format(2)]) + "\n")
    pipeline = tmp_path / "p.toml"
    pipeline.write_text('[pipeline]\ninputs = ["amb.csv"]\noutput_dir = "out"\nengine = "spark"\n')
    from dispo.errors import DispoError

    with pytest.raises(DispoError) as info:
        run_pipeline(config.load(pipeline))
    assert str(info.value).startswith("amb.csv: row 1: a quote opens") and "\n" not in str(info.value)
    assert not (tmp_path / "out" / "results.parquet").exists()
    assert not list((tmp_path / "out").glob(".dispo-spark-*"))


def test_a_file_of_blank_cells_only_stops_as_a_local_run_stops(spark, tmp_path):
    # docs/spec.md section 2: rows of blank cells are not rows; a file of nothing else has no data
    # rows, whichever engine reads it: the same one-line error (exit 1), nothing written.
    (tmp_path / "good.csv").write_text("\n".join([HEADER, GOOD.format(1)]) + "\n")
    (tmp_path / "blank.csv").write_text("\n".join([HEADER, ",,,,,,", " , ,,,,,", "", ",,,,,,"]) + "\n")
    pipeline = tmp_path / "p.toml"
    pipeline.write_text('[pipeline]\ninputs = ["good.csv", "blank.csv"]\noutput_dir = "out"\n')
    from dispo.errors import DispoError

    messages = []
    for engine in ("local", "spark"):
        with pytest.raises(DispoError) as info:
            run_pipeline(config.load(pipeline, engine=engine))
        messages.append(str(info.value))
    assert messages[1] == messages[0] == f"{tmp_path / 'blank.csv'}: no data rows (only 4 blank rows)"
    assert not (tmp_path / "out" / "results.parquet").exists()
    assert not list((tmp_path / "out").glob(".dispo-spark-*"))

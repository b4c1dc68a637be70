"""A Spark run is a run like any other (issue 19, "Same outputs"): report.html, report.xlsx and
diff.csv in its set, a row in the run history, and ``dispo diff`` / ``dispo history`` compare it
with a local run of the same pipeline. Under local[2]; skipped, with the reason, without pyspark or
Java 17+."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook

from dispo import config, store
from dispo.run import run_pipeline

ROOT = Path(__file__).parents[2]
CASES = ROOT / "tests" / "data" / "golden" / "cases.csv"


@pytest.fixture(scope="module")
def two_runs(spark, tmp_path_factory):
    """The golden cases run locally as of 2026-10-22, then on Spark as of 2026-11-22 without the
    last case, into one output directory (one run database)."""
    d = tmp_path_factory.mktemp("history")
    pipeline = d / "p.toml"
    pipeline.write_text(f'[pipeline]\nname = "golden"\ninputs = ["{CASES}"]\noutput_dir = "out"\n'
                        'as_of = "2026-11-22"\n\n[assumptions]\nlender_discount_rate = 0.0\n'
                        "state_income_tax = false\n")
    local = run_pipeline(config.load(pipeline, as_of="2026-10-22"))
    local_results = pl.read_parquet(d / "out" / "results.parquet")
    lines = CASES.read_text().splitlines(keepends=True)
    (d / "fewer.csv").write_text("".join(lines[:-1]))
    removed = lines[-1].split(",", 1)[0]
    on_spark = run_pipeline(config.load(pipeline, engine="spark", inputs=[str(d / "fewer.csv")]))
    assert on_spark.summary["diff"]["removed"] == 1, removed
    return pipeline, d / "out", local, local_results, on_spark


def test_the_spark_runs_set_has_the_readable_reports(two_runs):
    _, out, _, _, on_spark = two_runs
    assert on_spark.exit_code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["engine"] == "spark" and summary["run_id"] == on_spark.summary["run_id"]
    html = (out / "report.html").read_text()
    assert summary["run_id"] in html and "G01" in html
    sheets = load_workbook(out / "report.xlsx", read_only=True).sheetnames
    assert "Summary" in sheets
    assert (out / "results.parquet").is_dir()


def test_diff_csv_is_the_change_since_the_local_run(two_runs):
    _, out, local, local_results, on_spark = two_runs
    spark_results = pl.read_parquet(out / "results.parquet")
    want = store.diff_frames(local_results.select(store.DIFF_COLUMNS), spark_results.select(store.DIFF_COLUMNS),
                             from_run=local.summary["run_id"], to_run=on_spark.summary["run_id"])
    assert on_spark.summary["diff"] == want.counts()
    got = pl.read_csv(out / "diff.csv", infer_schema=False)
    assert got.height == want.table().height > 0
    assert got.filter(pl.col("change") == "removed").height == 1
    assert sorted(got["property_id"].to_list()) == sorted(want.table()["property_id"].to_list())


def _dispo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dispo.cli", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "200", "GX_ANALYTICS_ENABLED": "false"})


def test_dispo_history_and_diff_see_the_spark_run(two_runs):
    pipeline, _, local, _, on_spark = two_runs
    runs = _dispo("history", "-p", str(pipeline))
    assert runs.returncode == 0, runs.stderr
    assert local.summary["run_id"] in runs.stdout and on_spark.summary["run_id"] in runs.stdout
    diff = _dispo("diff", "-p", str(pipeline))
    assert diff.returncode == 0, diff.stderr
    assert f"{local.summary['run_id']} → {on_spark.summary['run_id']}" in diff.stdout

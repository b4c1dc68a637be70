"""Nightly operations: run history in DuckDB, diffs, idempotent reruns, concurrent runs refused,
a run killed with SIGKILL leaving the previous outputs and the database usable."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from testkit import GOLDEN

PIPELINE = """[pipeline]
name = "nightly"
inputs = ["cases.csv"]
output_dir = "out"
as_of = "2026-11-22"

[assumptions]
lender_discount_rate = 0.0
"""


def dispo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dispo.cli", *args], capture_output=True, text=True, timeout=600)


@pytest.fixture
def work(tmp_path):
    shutil.copy(GOLDEN / "cases.csv", tmp_path / "cases.csv")
    (tmp_path / "p.toml").write_text(PIPELINE)
    return tmp_path


def _golden_rows(work: Path) -> int:
    return pl.read_csv(work / "cases.csv", infer_schema_length=0).height


def runs(db: Path) -> pl.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql("SELECT run_id, as_of, status, rows_read FROM runs ORDER BY started").pl()


def test_same_as_of_twice_leaves_one_run(work):
    p = str(work / "p.toml")
    assert dispo("run", p, "-q").returncode == 0
    assert dispo("run", p, "-q").returncode == 0
    r = runs(work / "out" / "dispo.duckdb")
    assert r.height == 1 and r["status"].to_list() == ["ok"]
    with duckdb.connect(str(work / "out" / "dispo.duckdb"), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM history_results").fetchall()[0][0] == _golden_rows(work)
        assert con.sql("SELECT count(DISTINCT run_id) FROM history_results").fetchall()[0][0] == 1


def test_two_runs_with_a_changed_input_give_the_expected_diff(work):
    p = str(work / "p.toml")
    assert dispo("run", p, "-q").returncode == 0
    # Next night: G01 sold (removed), N01 bought (added), G10's value rises (lender savings move),
    # G11 now expected to appreciate 10 %: fv_hold = 300,000·1.10·0.95 − 108,000 − 18,000 = 187,500
    # (gain 63,500 excluded) > fv_sell 165,000 → advantage −22,500, sell flips to hold.
    df = pl.read_csv(work / "cases.csv", infer_schema_length=0)
    df = df.filter(pl.col("property_id") != "G01")
    new = df.filter(pl.col("property_id") == "G09").with_columns(pl.lit("N01").alias("property_id"))
    df = pl.concat([df, new]).with_columns(
        pl.when(pl.col("property_id") == "G10").then(pl.lit("430000")).otherwise(pl.col("market_value"))
        .alias("market_value"),
        pl.when(pl.col("property_id") == "G11").then(pl.lit("0.10")).otherwise(pl.col("appreciation_rate"))
        .alias("appreciation_rate"))
    df.write_csv(work / "cases.csv")
    assert dispo("run", p, "-q", "--as-of", "2026-11-23").returncode == 0

    diff_csv = pl.read_csv(work / "out" / "diff.csv")
    assert diff_csv.filter(pl.col("change") == "added")["property_id"].to_list() == ["N01"]
    assert diff_csv.filter(pl.col("change") == "removed")["property_id"].to_list() == ["G01"]
    moves = diff_csv.filter(pl.col("change") == "move")
    g11 = moves.filter((pl.col("property_id") == "G11") & (pl.col("field") == "sell_advantage_pv"))
    assert g11["value_before"][0] == pytest.approx(6000.0)      # golden G11
    assert g11["value_after"][0] == pytest.approx(-22500.0)
    assert g11["delta"][0] == pytest.approx(-28500.0)
    assert "G10" in moves.filter(pl.col("field") == "lender_savings_vs_foreclosure")["property_id"].to_list()
    rec = diff_csv.filter((pl.col("change") == "recommendation") & (pl.col("property_id") == "G11"))
    assert rec.select("field", "before", "after").rows() == [("hold_recommendation", "sell", "hold")]

    # The CLI diff agrees and the history lists both runs.
    proc = dispo("diff", "--pipeline", p, "--csv", str(work / "d.csv"))
    assert proc.returncode == 0, proc.stderr
    assert pl.read_csv(work / "d.csv").drop("to_run").equals(diff_csv.drop("to_run"))
    hist = dispo("history", "--pipeline", p)
    assert hist.returncode == 0 and "2026-11-22" in hist.stdout and "2026-11-23" in hist.stdout
    summary = json.loads((work / "out" / "summary.json").read_text())
    assert summary["diff"]["added"] == 1 and summary["diff"]["removed"] == 1


def _snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {str(f.relative_to(directory)): (f.read_bytes(), f.stat().st_mtime_ns)
            for f in directory.rglob("*") if f.is_file()}


def test_diff_is_read_only(work):
    """issue 17: `dispo diff` changes no file of any run (it used to rewrite the run's diff.csv and
    the output set's manifest); --csv writes elsewhere only."""
    p = str(work / "p.toml")
    assert dispo("run", p, "-q").returncode == 0
    assert dispo("run", p, "-q", "--as-of", "2026-11-23").returncode == 0
    before = _snapshot(work / "out")
    proc = dispo("diff", "--pipeline", p)
    assert proc.returncode == 0, proc.stderr
    assert "diff" in proc.stdout and "wrote" not in proc.stdout
    assert _snapshot(work / "out") == before
    refused = dispo("diff", "--pipeline", p, "--csv", str(work / "out" / "diff.csv"))
    assert refused.returncode == 1 and "part of a run's outputs" in refused.stderr
    assert _snapshot(work / "out") == before


def test_history_keeps_worklist_and_decision_columns_only(work):
    """issue 17: per run and row the database keeps the worklists' and the decisions' columns, not
    every output (150+ columns a row before)."""
    from dispo import store
    from dispo.reports import worklists

    p = str(work / "p.toml")
    assert dispo("run", p, "-q").returncode == 0
    results = pl.read_parquet(work / "out" / "results.parquet")
    with duckdb.connect(str(work / "out" / "dispo.duckdb"), read_only=True) as con:
        stored = con.sql("SELECT * FROM history_results").pl()
    assert stored.columns == ["run_id", *store.history_columns(results.columns)]
    assert stored.height == results.height
    shown = {c for w in worklists.WORKLISTS for c in w.columns} - {"rank", "reason"}
    assert shown & set(results.columns) <= set(stored.columns)
    assert {"loss_mit_candidate", "hold_recommendation", "lender_best_option"} <= set(stored.columns)
    assert len(stored.columns) <= results.width // 3
    # what it costs per row: the stored columns' bytes against every column's
    assert stored.drop("run_id").estimated_size() / stored.height < 0.3 * results.estimated_size() / results.height


def test_diff_needs_two_runs(work):
    p = str(work / "p.toml")
    assert dispo("run", p, "-q").returncode == 0
    proc = dispo("diff", "--pipeline", p)
    assert proc.returncode == 1 and "needs two" in proc.stderr and "Traceback" not in proc.stderr


def test_a_concurrent_run_is_refused(work):
    p = str(work / "p.toml")
    assert dispo("run", p, "-q").returncode == 0
    before = (work / "out" / "results.parquet").read_bytes()
    with duckdb.connect(str(work / "out" / "dispo.duckdb")):  # a run in progress holds the database
        proc = dispo("run", p, "-q")
    assert proc.returncode == 1
    assert "in progress" in proc.stderr and "Traceback" not in proc.stderr
    assert (work / "out" / "results.parquet").read_bytes() == before
    assert dispo("run", p, "-q").returncode == 0  # and afterwards it runs


def test_sigkill_mid_run_leaves_outputs_and_database_usable(work):
    """Kill -9 while the run validates a large file: the previous outputs stay byte-identical, the
    database opens, and the next run succeeds and marks the killed run."""
    p = str(work / "p.toml")
    assert dispo("run", p, "-q").returncode == 0
    out = work / "out"
    before = {f.name: f.read_bytes() for f in out.iterdir() if f.is_file() and not f.name.startswith("dispo.duckdb")}
    big = work / "big.csv"
    assert dispo("generate", "--kind", "lender", "--rows", "200000", "--seed", "3", "--out", str(big),
                 "--as-of", "2026-11-22").returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "dispo.cli", "run", p, "--log-format", "json", "--input", str(big)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()  # the first stage finished: ingest
    assert json.loads(line)["stage"] == "ingest", line
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    after = {f.name: f.read_bytes() for f in out.iterdir() if f.is_file() and not f.name.startswith("dispo.duckdb")}
    assert after == before
    assert not [f for f in out.iterdir() if f.name.startswith(".staging")]
    # The database opens (DuckDB replays its WAL) and shows the killed run as still 'running'.
    assert runs(out / "dispo.duckdb")["status"].to_list() == ["ok", "running"]
    rerun = dispo("run", p, "-q")
    assert rerun.returncode == 0, rerun.stderr
    # The rerun marks the stale run killed, then replaces every run of the same as_of: one run left.
    assert runs(out / "dispo.duckdb")["status"].to_list() == ["ok"]


def test_json_log_format_is_one_object_per_stage(work):
    proc = dispo("run", str(work / "p.toml"), "--log-format", "json")
    assert proc.returncode == 0
    records = [json.loads(x) for x in proc.stderr.splitlines() if x.startswith("{")]
    assert [r.get("stage") for r in records if r["event"] == "stage"] == ["ingest", "validate", "evaluate", "write"]
    assert records[-1]["event"] == "run" and records[-1]["rows_read"] == _golden_rows(work)
    peaks = [r["peak_rss_mb"] for r in records if r["event"] == "stage"]  # the process's peak so far
    assert all(isinstance(p, float) and p > 50 for p in peaks) and peaks == sorted(peaks)


def test_fail_run_never_hides_the_runs_own_error():
    """A run that fails because the database cannot be written (disk full, connection gone) must
    report that failure, not an error of its attempt to record it."""
    import duckdb

    from dispo import store as store_module

    con = duckdb.connect()
    con.close()
    store_module.fail_run(con, "20261122T000000-20261122-abcd", "OSError: No space left on device")

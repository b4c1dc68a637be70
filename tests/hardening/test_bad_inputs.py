"""The hostile-input corpus (tests/data/bad/cases.toml) through the real CLI, one subprocess per file.

Each case either quarantines exactly the bad rows, each with its reasons, or stops with one clear
line and exit 1 — never a traceback, never a lost row (SPEC section 1). The runs are started
together (a few at a time) by a module fixture, so the parametrized tests mostly wait on results
that are already there.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tomllib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from dispo.outcome import FAILED_DIR
from dispo.reports import verify

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
sys.path.insert(0, str(BAD))
import make_corpus  # noqa: E402

CASES: dict[str, dict] = {c["file"]: c for c in tomllib.loads((BAD / "cases.toml").read_text("utf-8"))["case"]}
WORKERS = max(2, min(4, (os.cpu_count() or 2)))
PREVIOUS = b"the previous run's results.parquet"
UNRELATED = "notes-of-the-user.txt"


@dataclass
class Run:
    case: dict
    input: Path
    out: Path
    proc: subprocess.CompletedProcess


def run_case(case: dict, work: Path) -> Run:
    """``dispo run`` on the case's file, from a directory that is not the pipeline's, into an
    output directory that already holds a previous result and a file of the user's."""
    if case.get("generated"):
        path = make_corpus.write_big(case["file"], work)
    else:
        path = BAD / case["file"]
    pipeline_dir = work / "pipelines"
    pipeline_dir.mkdir()
    pipeline = pipeline_dir / "bad.toml"
    rel = os.path.relpath(path, pipeline_dir)  # relative to the pipeline file, as users write it
    pipeline.write_text(f'[pipeline]\nname = "bad"\ninputs = [{json.dumps(rel)}]\noutput_dir = "unused"\n'
                        f'as_of = "2026-11-22"\n', encoding="utf-8")
    out = work / "out"
    out.mkdir()
    (out / "results.parquet").write_bytes(PREVIOUS)
    (out / UNRELATED).write_text("mine, not dispo's\n")
    elsewhere = work / "cwd"
    elsewhere.mkdir()
    proc = subprocess.run([sys.executable, "-m", "dispo.cli", "run", str(pipeline), "--out", str(out), "--quiet"],
                          capture_output=True, text=True, cwd=elsewhere, timeout=900,
                          env={**os.environ, "COLUMNS": "200"})
    return Run(case, path, out, proc)


@pytest.fixture(scope="module")
def runs(request, tmp_path_factory) -> dict[str, Future]:
    """Starts the runs of every selected case at once (WORKERS at a time)."""
    selected = [item.callspec.params["name"] for item in request.session.items
                if item.module is request.module and hasattr(item, "callspec") and "name" in item.callspec.params]
    pool = ThreadPoolExecutor(max_workers=WORKERS)
    futures = {name: pool.submit(run_case, CASES[name], tmp_path_factory.mktemp(name.replace(".", "_")))
               for name in dict.fromkeys(selected)}
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


def _same(got, want) -> bool:
    if isinstance(want, float):
        return isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=1e-12, abs_tol=0.0)
    if hasattr(got, "isoformat"):
        return got.isoformat() == want
    return got == want


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(runs, name):
    run = runs[name].result()
    case, proc, out = run.case, run.proc, run.out
    shown = f"--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stdout + proc.stderr, shown
    assert "internal error" not in proc.stderr, shown
    assert proc.returncode == case["exit"], shown
    assert (out / UNRELATED).read_text() == "mine, not dispo's\n"  # never touched, whatever happened
    assert not list(out.glob(".staging-*")) and not list(out.glob(".data_docs-*"))

    if case["exit"] == 1:
        err = proc.stderr.strip()
        assert len(err.splitlines()) == 1, shown
        assert case["error"] in err, shown
        assert str(run.input.resolve()) in err, "the error names the file by its resolved path\n" + shown
        assert (out / "results.parquet").read_bytes() == PREVIOUS  # nothing written over it
        assert sorted(p.name for p in out.iterdir() if p.name != "dispo.duckdb") == sorted(["results.parquet", UNRELATED])
        return

    if case["exit"] == 3:
        # A gate-failed run leaves the previous outputs in place; its own set goes to
        # output_dir/failed, and the console and summary.json say where (SPEC section 7).
        assert (out / "results.parquet").read_bytes() == PREVIOUS
        assert sorted(p.name for p in out.iterdir() if p.name != "dispo.duckdb") == sorted(
            ["results.parquet", UNRELATED, FAILED_DIR])
        written = out / FAILED_DIR
        assert "data-quality gate failed" in proc.stderr
        assert f"outputs are in {written}" in " ".join(proc.stderr.split()), shown
    else:
        written = out
    results = pl.read_parquet(written / "results.parquet")
    rejects = pl.read_parquet(written / "rejects.parquet")
    name_in_outputs = run.input.name
    assert set(results["source_file"]) <= {name_in_outputs} and set(rejects["source_file"]) <= {name_in_outputs}
    # Row conservation: every row exactly once, in results or in rejects.
    numbers = results["row_number"].to_list() + rejects["row_number"].to_list()
    assert len(numbers) == len(set(numbers))
    assert results["row_number"].to_list() == case["accepted"], shown
    expected_rejects = {int(k): v for k, v in case.get("rejected", {}).items()}
    got = {r["row_number"]: r["reasons"] for r in rejects.select("row_number", "reasons").iter_rows(named=True)}
    assert sorted(got) == sorted(expected_rejects)
    for row, reasons in expected_rejects.items():
        assert got[row] == reasons, (row, got[row])
    summary = json.loads((written / "summary.json").read_text("utf-8"))
    assert summary["rows"] == {"read": len(numbers), "accepted": results.height, "rejected": rejects.height,
                               "conservation_ok": True}
    assert summary["outputs"]["directory"] == str(written)
    # Lenient parses and raw values.
    by_row = {r["row_number"]: r for r in results.iter_rows(named=True)}
    for row, columns in case.get("values", {}).items():
        for column, want in columns.items():
            assert _same(by_row[int(row)][column], want), (row, column, by_row[int(row)][column], want)
    raw = {r["row_number"]: r for r in rejects.iter_rows(named=True)}
    for row, columns in case.get("raw_chars", {}).items():
        for column, n in columns.items():
            assert len(raw[int(row)][column]) == n, (row, column)
    # No NaN or inf in any float output of an accepted row.
    floats = [c for c, t in results.schema.items() if t in (pl.Float64, pl.Float32)]
    if results.height and floats:
        bad = results.select(pl.any_horizontal(~pl.col(floats).is_finite().fill_null(True)).alias("bad"))
        assert not bad["bad"].any()
    # The CSV twin of rejects holds the same rows, and the whole set is consistent on disk.
    assert pl.read_csv(written / "rejects.csv", infer_schema=False).height == rejects.height
    assert verify(written) == []

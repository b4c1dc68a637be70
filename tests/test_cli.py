"""The CLI end to end: every exit code, one-line errors, CSV and Parquet inputs giving identical
results, row conservation, the README's generated input table."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from dispo import schema
from testkit import GOLDEN

ROOT = Path(__file__).resolve().parents[1]


def dispo(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dispo.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def pipeline(tmp: Path, body: str, inputs: list[str] | None = None, **pipeline_keys) -> Path:
    keys = {"name": "t", "inputs": inputs or ["cases.csv"], "output_dir": "out", "as_of": "2026-11-22", **pipeline_keys}
    lines = ["[pipeline]"] + [f"{k} = {json.dumps(v)}" for k, v in keys.items()]
    p = tmp / "p.toml"
    p.write_text("\n".join(lines) + "\n" + body)
    return p


@pytest.fixture
def work(tmp_path):
    shutil.copy(GOLDEN / "cases.csv", tmp_path / "cases.csv")
    return tmp_path


def assert_one_line_error(proc, *needles):
    assert proc.returncode == 1, proc.stdout + proc.stderr
    err = proc.stderr.strip()
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert len(err.splitlines()) == 1, err
    for n in needles:
        assert n in err, err


# --- exit 0 and the outputs ---------------------------------------------------------------------

def test_exit_0_writes_every_output(work):
    proc = dispo("run", str(pipeline(work, "")), "--quiet")
    assert proc.returncode == 0, proc.stderr
    out = work / "out"
    for name in ("results.parquet", "investor_worklist.csv", "investor_worklist.parquet", "lender_worklist.csv",
                 "lender_worklist.parquet", "tax_outcomes.parquet", "rejects.csv",
                 "rejects.parquet", "summary.json", "report.html", "report.xlsx"):
        assert (out / name).is_file(), name
    results = pl.read_parquet(out / "results.parquet")
    # SPEC 7: after the input columns, exactly the outputs of sections 3–6, in order.
    # (SPEC 5.5: a per-row assumption column is among the inputs only when the file gives it)
    inputs = [n for n in schema.NAMES if n not in schema.ASSUMPTION_NAMES or n in results.columns]
    outputs = results.columns[len(schema.LINEAGE_COLUMNS) + len(inputs):]
    assert outputs == list(schema.RESULT_OUTPUTS)
    assert results.columns[:2] == ["source_file", "row_number"]
    holdings = pl.read_parquet(out / "investor_worklist.parquet")
    assert holdings["rank"].to_list() == list(range(1, holdings.height + 1))
    adv = holdings["sell_advantage_pv"].to_list()
    assert adv == sorted(adv, reverse=True)


def test_csv_and_parquet_inputs_give_identical_results(work):
    """The same rows from CSV and from Parquet (with real physical types) evaluate identically."""
    raw = pl.read_csv(work / "cases.csv", infer_schema_length=0)
    typed = raw.with_columns(
        [pl.col(c).cast(pl.Float64) for c in raw.columns if schema.BY_NAME[c].dtype == "float"]
        + [pl.col(c).cast(pl.Float64).cast(pl.Int64) for c in raw.columns if schema.BY_NAME[c].dtype == "int"]
        + [pl.col(c).str.to_date() for c in raw.columns if schema.BY_NAME[c].dtype == "date"]
        + [pl.col(c).str.to_lowercase().replace_strict({"true": True, "false": False}, default=None,
                                                       return_dtype=pl.Boolean)
           for c in raw.columns if schema.BY_NAME[c].dtype == "bool"]
    )
    typed.write_parquet(work / "cases.parquet")
    a = dispo("run", str(pipeline(work, "")), "--quiet", "--out", str(work / "a"))
    b = dispo("run", str(pipeline(work, "")), "--quiet", "--out", str(work / "b"), "--input", str(work / "cases.parquet"))
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    ra = pl.read_parquet(work / "a" / "results.parquet").drop("source_file")
    rb = pl.read_parquet(work / "b" / "results.parquet").drop("source_file")
    assert ra.equals(rb)
    ta = pl.read_parquet(work / "a" / "tax_outcomes.parquet")
    tb = pl.read_parquet(work / "b" / "tax_outcomes.parquet")
    assert ta.equals(tb)
    wa = pl.read_csv(work / "a" / "lender_worklist.csv")  # the worklist CSV (default csv_outputs)
    wb = pl.read_csv(work / "b" / "lender_worklist.csv")
    assert wa.equals(wb)


# --- exit 1: one clear line, nothing written over the previous outputs --------------------------

def test_exit_1_missing_input_file_leaves_previous_outputs(work):
    p = pipeline(work, "")
    assert dispo("run", str(p), "--quiet").returncode == 0
    before = {f.name: f.read_bytes() for f in (work / "out").iterdir() if f.is_file() and f.suffix != ".duckdb"}
    proc = dispo("run", str(p), "--quiet", "--input", str(work / "nope.csv"))
    assert_one_line_error(proc, "nope.csv")
    after = {f.name: f.read_bytes() for f in (work / "out").iterdir() if f.is_file() and f.suffix != ".duckdb"}
    assert before == after


def test_exit_1_missing_required_column(work):
    raw = pl.read_csv(work / "cases.csv", infer_schema_length=0).drop("market_value")
    raw.write_csv(work / "cases.csv")
    assert_one_line_error(dispo("run", str(pipeline(work, "")), "--quiet"), "market_value")


def test_exit_1_empty_file_and_header_only(work):
    (work / "empty.csv").write_text("")
    assert_one_line_error(dispo("run", str(pipeline(work, "", inputs=["empty.csv"])), "--quiet"), "empty.csv")
    header = (work / "cases.csv").read_text().splitlines()[0]
    (work / "header.csv").write_text(header + "\n")
    assert_one_line_error(dispo("run", str(pipeline(work, "", inputs=["header.csv"])), "--quiet"), "header.csv")


@pytest.mark.parametrize("body,needle", [
    ("[assumptions]\nreo_discont = 0.3\n", "reo_discont"),
    ("[defaults]\nfiling_status = \"married\"\n", "filing_status"),
    ("[defaults]\nvacancy_rate = 1.5\n", "vacancy_rate"),
    ("[defaults]\nmarket_value = 1\n", "market_value"),
    ("[extra]\nx = 1\n", "extra"),
])
def test_exit_1_bad_config_key_or_value(work, body, needle):
    assert_one_line_error(dispo("run", str(pipeline(work, body)), "--quiet"), needle)


def test_exit_1_unknown_pipeline_key_and_missing_pipeline(work):
    assert_one_line_error(dispo("run", str(pipeline(work, "", outptu_dir="x")), "--quiet"), "outptu_dir")
    assert_one_line_error(dispo("run", str(work / "missing.toml"), "--quiet"), "missing.toml")


def test_exit_1_input_column_named_like_an_output(work):
    raw = pl.read_csv(work / "cases.csv", infer_schema_length=0).with_columns(pl.lit("1").alias("fv_hold"))
    raw.write_csv(work / "cases.csv")
    assert_one_line_error(dispo("run", str(pipeline(work, "")), "--quiet"), "fv_hold")


# --- exit 3: the data-quality gate ----------------------------------------------------------------

def test_exit_3_gate_writes_outputs_and_conserves_rows(work):
    assert dispo("run", str(pipeline(work, "")), "--quiet").returncode == 0  # the last good outputs
    good = {p.name: p.read_bytes() for p in (work / "out").iterdir() if p.is_file() and p.name != "dispo.duckdb"}
    text = (work / "cases.csv").read_text().splitlines()
    bad = text[1].replace("G01,TX,", "B01,XX,", 1)           # unknown state
    bad2 = text[2].replace("G02,FL,primary,375000", "B02,FL,primary,-5", 1)  # market_value ≤ 0
    (work / "cases.csv").write_text("\n".join(text + [bad, bad2]) + "\n")
    proc = dispo("run", str(pipeline(work, "", max_reject_fraction=0.1)), "--as-of", "2026-11-23")
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    # SPEC 7: the gate-failed set goes to output_dir/failed/, the good outputs stay, the console says so
    said = "".join((proc.stdout + proc.stderr).split())  # the console may wrap a long line
    assert "unchanged" in said and str(work / "out" / "failed") in said
    assert {p.name: p.read_bytes() for p in (work / "out").iterdir()
            if p.is_file() and p.name != "dispo.duckdb"} == good
    out = work / "out" / "failed"
    results, rejects = pl.read_parquet(out / "results.parquet"), pl.read_parquet(out / "rejects.parquet")
    n = len(text) - 1  # the golden rows, all good
    assert results.height + rejects.height == n + 2
    assert sorted(rejects["row_number"].to_list()) == [n + 1, n + 2]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rows"] == {"read": n + 2, "accepted": n, "rejected": 2, "conservation_ok": True}
    assert summary["exit_code"] == 3
    assert summary["outputs"]["directory"] == str(out) and "unchanged" in summary["outputs"]["note"]
    # A second failed run replaces the failed set (one set, not one per run).
    assert dispo("run", str(pipeline(work, "", max_reject_fraction=0.1)), "--quiet").returncode == 3
    assert json.loads((out / "summary.json").read_text())["as_of"] == "2026-11-22"
    # Under a looser gate the same data exits 0.
    assert dispo("run", str(pipeline(work, "", max_reject_fraction=0.2)), "--quiet").returncode == 0


def test_validate_command_exit_codes(work):
    assert dispo("validate", str(pipeline(work, "")), "--quiet").returncode == 0
    text = (work / "cases.csv").read_text().splitlines()
    (work / "cases.csv").write_text("\n".join(text + [text[1].replace("G01,TX,", "B01,XX,", 1)]) + "\n")
    proc = dispo("validate", str(pipeline(work, "")), "--quiet")
    assert proc.returncode == 3
    assert "state" in proc.stderr + proc.stdout


# --- the README's input table is generated from the schema ----------------------------------------

def test_readme_input_table_is_the_schema():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- schema:begin -->\n(.*?)\n<!-- schema:end -->", readme, re.S)
    assert block, "README has no schema block"
    assert block.group(1) == schema.markdown_table(), "README is stale: regenerate with `dispo schema`"
    assert "make demo" in readme and "make test" in readme

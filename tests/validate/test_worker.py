"""`dispo run` validating in Great Expectations' worker process (dispo.validate.worker): the same
outputs as a run validating in its own process, the Data Docs committed with the set, and a run
failing after validation leaves the previous outputs and Data Docs in place.

Each run is a separate `dispo run` process: the worker is forked only by the command line."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "lender_portfolio.csv"  # 2,001 rows, a few of them rejected

#: Runs `dispo run` as the console script does, and records whether Great Expectations was
#: imported by the run's own process (it is not when the worker validated).
PROBE = """
import atexit, sys
flag = sys.argv.pop(1)
atexit.register(lambda: open(flag, "w").write(str("great_expectations" in sys.modules)))
sys.argv[0] = "dispo"
from dispo.cli import main
main()
"""


def _pipeline(tmp: Path, **keys) -> Path:
    body = {"name": "w", "inputs": [str(SAMPLE)], "output_dir": "out", "as_of": "2026-11-22",
            "purpose": "lender", "max_reject_fraction": 1.0, **keys}
    p = tmp / "p.toml"
    p.write_text("[pipeline]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in body.items()) + "\n")
    return p


def _run(tmp: Path, pipeline: Path, out: Path, *, worker: bool) -> tuple[subprocess.CompletedProcess, bool]:
    probe, flag = tmp / "probe.py", tmp / f"gx-in-run-{out.name}.txt"
    probe.write_text(textwrap.dedent(PROBE), encoding="utf-8")
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false", "DISPO_GX_WORKER": "1" if worker else "0"}
    done = subprocess.run([sys.executable, str(probe), str(flag), "run", str(pipeline), "--out", str(out), "-q"],
                          capture_output=True, text=True, env=env, timeout=600, cwd=tmp)
    return done, flag.read_text() == "True"


def _tree(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def _site_shape(site: Path) -> list[str]:
    """The site's files with the run's time (a directory name) left out."""
    return sorted("/".join(part for part in p.relative_to(site).parts if not part[:1].isdigit())
                  for p in site.rglob("*") if p.is_file())


@pytest.mark.skipif(sys.platform == "win32", reason="the worker needs fork")
def test_worker_run_writes_what_an_in_process_run_writes(tmp_path):
    pipeline = _pipeline(tmp_path)
    remote, gx_in_remote_run = _run(tmp_path, pipeline, tmp_path / "remote", worker=True)
    local, gx_in_local_run = _run(tmp_path, pipeline, tmp_path / "local", worker=False)
    assert remote.returncode == local.returncode == 0, remote.stderr + local.stderr
    assert not gx_in_remote_run and gx_in_local_run  # the worker validated; the other run itself
    a, b = tmp_path / "remote", tmp_path / "local"
    for name in ("rejects.csv", "lender_worklist.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert len(pl.read_csv(a / "rejects.csv")) > 0
    for name in ("results.parquet", "tax_outcomes.parquet", "lender_worklist.parquet"):
        assert pl.read_parquet(a / name).equals(pl.read_parquet(b / name)), name
    sa, sb = (json.loads((d / "summary.json").read_text()) for d in (a, b))
    assert sa["rows"] == sb["rows"] and sa["reasons"] == sb["reasons"] and sa["reasons"]["total"] > 0
    assert sa["versions"] == sb["versions"] and "great_expectations" in sa["versions"]
    assert (a / "data_docs" / "index.html").is_file()
    assert _site_shape(a / "data_docs") == _site_shape(b / "data_docs")
    assert 'href="data_docs/index.html"' in (a / "report.html").read_text(encoding="utf-8")
    assert not [p for p in a.iterdir() if p.name.startswith(".data_docs-")]


@pytest.mark.skipif(sys.platform == "win32", reason="the worker needs fork")
def test_run_failing_after_validation_keeps_previous_outputs_and_data_docs(tmp_path):
    out = tmp_path / "out"
    first, _ = _run(tmp_path, _pipeline(tmp_path), out, worker=True)
    assert first.returncode == 0, first.stderr
    before = _tree(out)
    assert any(k.startswith("data_docs/") for k in before)
    # an unknown worklist column is found when the worklists are written, after validation and
    # while the worker renders the new Data Docs
    second, _ = _run(tmp_path, _pipeline(tmp_path, worklist_columns=["no_such_column"]), out, worker=True)
    assert second.returncode == 1
    assert "no_such_column" in second.stderr and "Traceback" not in second.stderr
    after = _tree(out)
    after.pop("dispo.duckdb", None), before.pop("dispo.duckdb", None)  # the history notes the failed run
    assert after == before
    assert not [p for p in out.iterdir() if p.name.startswith(".data_docs-")]

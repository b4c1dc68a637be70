"""A Spark run keeps Spark off the user's terminal (issue 19, "Quiet"): no JVM, log4j or hostname
warnings on stderr at default verbosity, Spark's own output in output_dir/spark.log instead; ``-v``
shows it. Each test runs the CLI in its own process (a fresh JVM) and reads its stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl

ROOT = Path(__file__).parents[2]
GOLDEN = ROOT / "tests" / "data" / "golden" / "pipeline.toml"
#: What Spark prints when it starts: the JVM, log4j, the hostname check, Hadoop, Spark's banner.
NOISE = ("WARNING: Using incubator modules", "log4j", "WARN ", "Your hostname", "SPARK_LOCAL_IP",
         "NativeCodeLoader", "setLogLevel", "Stage ")


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISPO_SPARK", "SPARK_LOCAL_IP"))}
    env.update(PYSPARK_PYTHON=sys.executable, GX_ANALYTICS_ENABLED="false", COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "dispo.cli", *args], capture_output=True, text=True,
                          timeout=600, env=env, cwd=ROOT)


def test_a_spark_run_prints_nothing_of_spark_on_stderr(spark_installed, tmp_path):
    out = tmp_path / "out"
    proc = _cli("run", str(GOLDEN), "--engine", "spark", "--spark-master", "local[1]", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr
    assert not [n for n in NOISE if n in proc.stdout], proc.stdout
    log = (out / "spark.log").read_text()
    assert "log4j" in log and "Your hostname" not in log  # the JVM wrote there; bound to 127.0.0.1
    cases = pl.read_csv(GOLDEN.parent / "cases.csv", infer_schema=False).height
    assert pl.read_parquet(out / "results.parquet").height == cases  # the run itself happened


def test_verbose_shows_sparks_own_output(spark_installed, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("property_id,state\nP1,TX\n")  # stops right after Spark started: the JVM's output is out
    pipeline = tmp_path / "p.toml"
    pipeline.write_text('[pipeline]\ninputs = ["bad.csv"]\noutput_dir = "out"\n')
    proc = _cli("run", str(pipeline), "--engine", "spark", "--spark-master", "local[1]", "-v")
    assert proc.returncode == 1
    assert "log4j" in proc.stderr, proc.stderr
    assert "required column 'occupancy' is missing" in proc.stderr
    quiet = _cli("run", str(pipeline), "--engine", "spark", "--spark-master", "local[1]")
    assert quiet.returncode == 1
    lines = [x for x in quiet.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "required column 'occupancy' is missing" in lines[0], quiet.stderr

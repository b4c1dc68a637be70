"""``engine`` in the pipeline file and ``--engine`` on the CLI; what happens without Spark. None of
these start Spark (they run without pyspark or Java)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dispo import config

ROOT = Path(__file__).parents[2]
LENDER = ROOT / "pipelines" / "lender_loss_mitigation.toml"


def pipeline(tmp_path: Path, extra: str = "", inputs: str = '["in.csv"]') -> Path:
    (tmp_path / "in.csv").write_text("property_id\n")
    path = tmp_path / "p.toml"
    path.write_text(f'[pipeline]\ninputs = {inputs}\noutput_dir = "out"\n{extra}')
    return path


def test_engine_defaults_to_local(tmp_path):
    assert config.load(pipeline(tmp_path)).engine == "local"


def test_engine_key_and_override(tmp_path):
    path = pipeline(tmp_path, 'engine = "spark"\n')
    assert config.load(path).engine == "spark"
    assert config.load(path, engine="local").engine == "local"
    assert config.load(pipeline(tmp_path), engine="spark").engine == "spark"


def test_engine_does_not_change_the_config_digest(tmp_path):
    a = config.load(pipeline(tmp_path)).canonical()
    b = config.load(pipeline(tmp_path, 'engine = "spark"\n')).canonical()
    assert a == b


@pytest.mark.parametrize("value", ['"Spark"', '"dask"', "1", "true"])
def test_unknown_engine_is_an_error_naming_the_key(tmp_path, value):
    with pytest.raises(config.ConfigError, match=r"\[pipeline\] engine must be one of 'local', 'spark'"):
        config.load(pipeline(tmp_path, f"engine = {value}\n"))


def test_bad_engine_override(tmp_path):
    with pytest.raises(config.ConfigError, match="--engine must be one of local, spark"):
        config.load(pipeline(tmp_path), engine="dask")


def test_uri_inputs_need_spark(tmp_path):
    path = pipeline(tmp_path, inputs='["in.csv", "s3a://bucket/loans/*.parquet"]')
    with pytest.raises(config.ConfigError, match=r"s3a://bucket/loans/\*\.parquet' is a URI; only engine \"spark\""):
        config.load(path)
    cfg = config.load(path, engine="spark")
    assert cfg.input_uris == ("s3a://bucket/loans/*.parquet",)
    assert [p.name for p in cfg.inputs] == ["in.csv"]
    assert cfg.canonical()["inputs"][-1] == "s3a://bucket/loans/*.parquet"
    only_uris = config.load(pipeline(tmp_path, inputs='["abfss://c@acct.dfs.core.windows.net/x.csv"]'), engine="spark")
    assert only_uris.inputs == () and len(only_uris.input_uris) == 1


def test_file_uri_is_a_local_path(tmp_path):
    cfg = config.load(pipeline(tmp_path, inputs=f'["file://{tmp_path}/in.csv"]'))
    assert cfg.inputs == ((tmp_path / "in.csv").resolve(),) and cfg.input_uris == ()


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dispo.cli", *args], capture_output=True, text=True, timeout=300,
                          env=env, cwd=ROOT)


def test_spark_without_java_is_one_line_and_exit_1(tmp_path):
    env = {**os.environ, "JAVA_HOME": str(tmp_path / "no-java"), "PYSPARK_PYTHON": sys.executable}
    proc = _cli("run", str(LENDER), "--engine", "spark", "--out", str(tmp_path / "out"), env=env)
    assert proc.returncode == 1, proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "install 'dispo[spark]' and Java 17+" in lines[0], proc.stderr
    assert not (tmp_path / "out").exists()


def test_the_local_engine_never_imports_pyspark(tmp_path):
    code = ("import sys, dispo, dispo.cli, dispo.run, dispo.config, dispo.engine, dispo.spark, dispo.spark.partition; "
            "assert 'pyspark' not in sys.modules, 'pyspark imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr

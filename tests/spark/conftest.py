"""One SparkSession for every Spark test (local[2], 4 shuffle partitions, no UI); tests that need
it are skipped, with the reason, when pyspark or Java 17+ is missing."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # arrowsim


def _spark_missing() -> str | None:
    try:
        from dispo.spark.session import SparkUnavailable, require_spark

        require_spark()
    except SparkUnavailable as e:  # pyspark not installed, no Java, or Java < 17
        return str(e)
    return None


@pytest.fixture(scope="session")
def spark_installed() -> None:
    """Skips, with the reason, unless pyspark and Java 17+ are there (for tests that start Spark
    in another process: the CLI, a standalone cluster)."""
    missing = _spark_missing()
    if missing:
        pytest.skip(f"Spark tests need pyspark and Java 17+: {missing}")


@pytest.fixture(scope="session")
def spark(spark_installed):
    from dispo.spark.session import quiet_pyspark_warnings

    quiet_pyspark_warnings()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("dispo-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "4")
               .config("spark.default.parallelism", "2")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()

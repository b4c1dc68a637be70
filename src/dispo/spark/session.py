"""Finding pyspark and Java, and the SparkSession a run uses.

A run reuses the active SparkSession when there is one (a notebook, a Databricks job, a test
session) and leaves it running; otherwise it creates one and stops it at the end. A session it
creates runs on ``$DISPO_SPARK_MASTER`` (default ``local[*]``, with ``$DISPO_SPARK_DRIVER_MEMORY``,
default 4g, for local masters) unless the process was started by ``spark-submit``, whose
``--master`` and ``--conf`` then apply. Any ``spark.*`` setting can also come from
``$SPARK_CONF_DIR/spark-defaults.conf`` or ``PYSPARK_SUBMIT_ARGS``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from dispo.errors import DispoError

MIN_JAVA = 17
INSTALL_HINT = "install 'dispo[spark]' and Java 17+"


class SparkUnavailable(DispoError):
    """pyspark or a suitable Java is missing."""


def java_binary() -> str | None:
    """The ``java`` pyspark will start: ``$JAVA_HOME/bin/java``, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if candidate.is_file() else None
    return shutil.which("java")


def java_major(java: str) -> int | None:
    """The major version of ``java`` (``java -version`` prints it on stderr), or None."""
    try:
        proc = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', proc.stderr + proc.stdout)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major  # "1.8.0" is Java 8


def require_spark() -> None:
    """Raises :class:`SparkUnavailable` (one line, exit 1 in the CLI) unless pyspark imports and a
    Java 17+ is there to run it. Skipped when a SparkSession is already active."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise SparkUnavailable(f"--engine spark: pyspark is not installed; {INSTALL_HINT}") from None
    from pyspark.sql import SparkSession

    if SparkSession.getActiveSession() is not None:
        return
    java = java_binary()
    if java is None:
        where = "JAVA_HOME/bin/java" if os.environ.get("JAVA_HOME") else "java on PATH (nor JAVA_HOME)"
        raise SparkUnavailable(f"--engine spark: no Java found (looked for {where}); {INSTALL_HINT}")
    major = java_major(java)
    if major is not None and major < MIN_JAVA:
        raise SparkUnavailable(f"--engine spark: {java} is Java {major}, Spark needs {MIN_JAVA}+; {INSTALL_HINT}")


def _quiet_pyspark_warnings() -> None:
    # pyspark checks its pandas version on every Arrow UDF; dispo never hands it a pandas frame.
    warnings.filterwarnings("ignore", message=r".*PySpark does not yet fully support pandas.*")


@contextmanager
def spark_session(app_name: str = "dispo") -> Iterator[Any]:
    """The active SparkSession, or a new one stopped on exit."""
    _quiet_pyspark_warnings()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    # Python workers must import dispo: run them with this interpreter unless told otherwise.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # not started by spark-submit
        master = os.environ.get("DISPO_SPARK_MASTER", "local[*]")
        builder = builder.master(master).config("spark.ui.showConsoleProgress", "false")
        if master.startswith("local") and "--driver-memory" not in os.environ.get("PYSPARK_SUBMIT_ARGS", ""):
            # local mode runs the executors in the driver's JVM: Spark's 1g default is too small
            builder = builder.config("spark.driver.memory", os.environ.get("DISPO_SPARK_DRIVER_MEMORY", "4g"))
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start (pyspark raises several types)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SparkUnavailable(f"--engine spark: cannot start Spark ({first}); {INSTALL_HINT}") from None
    # errors reach the caller as exceptions (one line in the CLI); Spark's log is for debugging
    spark.sparkContext.setLogLevel(os.environ.get("DISPO_SPARK_LOG_LEVEL", "FATAL"))
    try:
        yield spark
    finally:
        spark.stop()


@contextmanager
def sql_conf(spark: Any, settings: dict[str, str]) -> Iterator[None]:
    """Runtime SQL settings for the run, restored afterwards (the session may be the caller's)."""
    before = {k: spark.conf.get(k, None) for k in settings}
    for k, v in settings.items():
        spark.conf.set(k, v)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, v)

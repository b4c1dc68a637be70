"""Finding pyspark and Java, and the SparkSession a run uses.

A run reuses the active SparkSession when there is one (a notebook, a Databricks job, a test
session) and leaves it running; otherwise it creates one and stops it at the end. A session it
creates runs on ``$DISPO_SPARK_MASTER`` (``dispo run --spark-master``; default ``local[*]``, with
``$DISPO_SPARK_DRIVER_MEMORY``, default 4g, for local masters) unless the process was started by
``spark-submit``, whose ``--master`` and ``--conf`` then apply; its JVM writes to a log file, not
the terminal (``-v``: the terminal). Any ``spark.*`` setting can also come from
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


def quiet_pyspark_warnings() -> None:
    # pyspark checks its pandas version on every Arrow UDF; dispo never hands it a pandas frame.
    warnings.filterwarnings("ignore", message=r".*PySpark does not yet fully support pandas.*")


def verbose() -> bool:
    """``dispo run -v`` (or ``DISPO_SPARK_VERBOSE=1``): Spark's own log on the terminal."""
    return os.environ.get("DISPO_SPARK_VERBOSE", "").strip().lower() not in ("", "0", "false", "no")


def _on_this_machine(master: str) -> bool:
    """A master whose executors reach the driver on the loopback address (local mode, or a
    standalone master on 127.0.0.1)."""
    host = master.split("://", 1)[-1].split(":", 1)[0] if master.startswith("spark://") else ""
    return master.startswith("local") or host in ("127.0.0.1", "localhost")


def session_conf(app_name: str) -> Any:
    """The SparkConf of a session dispo creates (not under spark-submit): ``$DISPO_SPARK_MASTER``
    (default ``local[*]``), no console progress bar, 4g driver memory in local mode, and the driver
    bound to 127.0.0.1 when the executors run on this machine (else Spark warns that the hostname
    resolves to a loopback address and picks another interface)."""
    from pyspark import SparkConf

    master = os.environ.get("DISPO_SPARK_MASTER", "local[*]")
    conf = SparkConf().setAppName(app_name).setMaster(master).set("spark.ui.showConsoleProgress", "false")
    if master.startswith("local") and "--driver-memory" not in os.environ.get("PYSPARK_SUBMIT_ARGS", ""):
        # local mode runs the executors in the driver's JVM: Spark's 1g default is too small
        conf.set("spark.driver.memory", os.environ.get("DISPO_SPARK_DRIVER_MEMORY", "4g"))
    if _on_this_machine(master) and "SPARK_LOCAL_IP" not in os.environ:
        os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"  # read by the JVM spark-submit starts
        conf.set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")
    return conf


def _launch_jvm(conf: Any, log_path: Path) -> tuple[Any, Any]:
    """Starts Spark's JVM (pyspark's own launcher) with its stdout and stderr in ``log_path``: the
    JVM's warnings, log4j's console output and Spark's banners go there, not to the terminal.
    Returns (gateway, log file)."""
    from pyspark import SparkContext
    from pyspark.java_gateway import launch_gateway

    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "wb")  # the last run's log
    try:
        gateway = launch_gateway(conf, popen_kwargs={"stdout": log, "stderr": log})
    except BaseException:
        log.close()
        raise
    SparkContext._ensure_initialized(gateway=gateway)
    return gateway, log


def _stop_jvm(gateway: Any, log: Any) -> None:
    """Stops a JVM :func:`_launch_jvm` started (it exits when its stdin closes) and forgets it, so a
    later session in this process starts its own."""
    from pyspark import SparkContext

    try:
        gateway.shutdown()
    except Exception:  # noqa: BLE001 - the JVM may already be gone
        pass
    proc = getattr(gateway, "proc", None)
    if proc is not None:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
    SparkContext._gateway = None
    SparkContext._jvm = None
    log.close()


@contextmanager
def spark_session(app_name: str = "dispo", log_path: Path | None = None) -> Iterator[Any]:
    """The active SparkSession, or a new one stopped (with its JVM) on exit.

    A session created here keeps Spark off the user's terminal: the JVM's output goes to
    ``log_path`` (when given; Spark's log level WARN, ``$DISPO_SPARK_LOG_LEVEL``), else Spark logs
    at ERROR only. :func:`verbose` leaves Spark's output on the terminal at WARN. Errors reach the
    caller as exceptions either way (one line in the CLI).
    """
    quiet_pyspark_warnings()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    # Python workers must import dispo: run them with this interpreter unless told otherwise.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # started by spark-submit: its --master, --conf
    conf = None if submitted else session_conf(app_name)
    redirect = not submitted and not verbose() and log_path is not None
    jvm = None
    try:
        if redirect:
            jvm = _launch_jvm(conf, log_path)
        builder = SparkSession.builder.appName(app_name)
        spark = (builder.config(conf=conf) if conf is not None else builder).getOrCreate()
    except Exception as exc:  # the JVM did not start (pyspark raises several types)
        if jvm is not None:
            _stop_jvm(*jvm)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = f" (Spark's log: {log_path})" if redirect else ""
        raise SparkUnavailable(f"--engine spark: cannot start Spark ({first}){where}; {INSTALL_HINT}") from None
    default_level = "WARN" if redirect or verbose() else "ERROR"
    spark.sparkContext.setLogLevel(os.environ.get("DISPO_SPARK_LOG_LEVEL", default_level))
    try:
        yield spark
    finally:
        spark.stop()
        if jvm is not None:
            _stop_jvm(*jvm)


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

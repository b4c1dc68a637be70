"""Great Expectations imported without PySpark and with scipy.stats/altair deferred
(dispo.validate.gx_import), in a fresh interpreter (this one may have them loaded already)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


def _run(tmp_path, code: str) -> str:
    script = tmp_path / "probe.py"  # a script, not -c: PySpark's import misbehaves under -c
    script.write_text(textwrap.dedent(code), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "GX_ANALYTICS_ENABLED": "false"})
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_gx_imports_without_pyspark_and_defers_scipy_stats(tmp_path):
    out = _run(tmp_path, """
        import importlib.util, sys
        from dispo.validate.suite import import_gx
        gx = import_gx()
        print("pyspark" in sys.modules)
        stats = sys.modules.get("scipy.stats")
        print(stats is None or type(stats).__name__ == "_LazyModule")
        print(callable(gx.get_context))
    """)
    assert out.split() == ["False", "True", "True"]


def test_pyspark_still_importable_after_gx(tmp_path):
    pytest.importorskip("pyspark")
    out = _run(tmp_path, """
        import sys
        from dispo.validate.suite import import_gx
        import_gx()
        import pyspark.sql
        from scipy import stats  # a deferred module loads on first use
        print(pyspark.sql.SparkSession.__name__, round(float(stats.norm.cdf(0.0)), 2))
    """)
    assert out.split() == ["SparkSession", "0.5"]

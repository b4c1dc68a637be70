"""The Spark engine (``dispo run --engine spark``): the same evaluation, scaled out.

Spark reads the inputs and sorts; every partition runs the local engine's own code on Arrow
batches (:mod:`dispo.spark.partition`); only the cross-row duplicate check and the rankings' global
sorts are Spark's. pyspark is imported only inside this package, and only when a run asks for it
(``pip install 'dispo[spark]'``, Java 17+). See docs/scale-out.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from dispo.config import PipelineConfig
    from dispo.run import Reporter, RunOutcome

__all__ = ["run_pipeline_spark"]


def run_pipeline_spark(cfg: "PipelineConfig", reporter: "Reporter | None" = None) -> "RunOutcome":
    """Runs ``cfg`` on Spark (the active SparkSession, or a new one); returns the same RunOutcome
    as :func:`dispo.run.run_pipeline` (``results`` is None: results/ stays on disk)."""
    from dispo.spark.runner import run_pipeline_spark as run

    return run(cfg, reporter)

"""The Spark engine (``dispo run --engine spark``): the same evaluation, scaled out.

Spark reads the inputs and sorts; every partition runs the local engine's own code on Arrow
batches (:mod:`dispo.spark.partition`); only the cross-row duplicate check and the rankings' global
sorts are Spark's. pyspark is imported only inside this package, and only when a run asks for it
(``pip install 'dispo[spark]'``, Java 17+). See docs/scale-out.md.

For data teams' own Spark jobs: :func:`evaluate` (the Spark twin of :func:`dispo.evaluate`) and
:func:`validate` (a run's checks and reasons), on Spark DataFrames (:mod:`dispo.spark.api`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from dispo.config import PipelineConfig
    from dispo.outcome import Reporter, RunOutcome

__all__ = ["evaluate", "run_pipeline_spark", "validate"]


def run_pipeline_spark(cfg: "PipelineConfig", reporter: "Reporter | None" = None) -> "RunOutcome":
    """Runs ``cfg`` on Spark (the active SparkSession, or a new one); returns the same RunOutcome
    as :func:`dispo.run.run_pipeline` (``results`` is None: results/ stays on disk)."""
    from dispo.spark.runner import run_pipeline_spark as run

    return run(cfg, reporter)


def evaluate(df: Any, *, as_of: Any, assumptions: Any = None, defaults: Any = None) -> Any:
    """Every output column for a Spark DataFrame of typed, valid rows (see :func:`dispo.spark.api.evaluate`)."""
    from dispo.spark.api import evaluate as evaluate_frame

    return evaluate_frame(df, as_of=as_of, assumptions=assumptions, defaults=defaults)


def validate(df: Any, *, as_of: Any = None) -> tuple[Any, Any]:
    """(accepted, rejects) of a Spark DataFrame of input rows (see :func:`dispo.spark.api.validate`)."""
    from dispo.spark.api import validate as validate_frame

    return validate_frame(df, as_of=as_of)

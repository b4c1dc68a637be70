"""dispo: batch evaluator of property portfolios (lender loss mitigation, sell vs hold, federal tax)."""

from __future__ import annotations

__version__ = "0.1.0"


def evaluate(*args, **kwargs):
    """Every output column for a frame of typed rows; see :func:`dispo.engine.evaluate`."""
    from dispo.engine import evaluate as _evaluate

    return _evaluate(*args, **kwargs)

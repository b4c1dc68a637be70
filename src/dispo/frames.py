"""Polars/pandas interop of the Python API (``dispo.evaluate``, ``dispo.validate``): a low layer with
no dispo imports, so the validate package can take and give back frames without importing the
API module above it.

A frame is a Polars DataFrame or LazyFrame, or a pandas DataFrame (through Arrow: ``pl.from_pandas``);
results come back as the type given unless ``output`` says ``"polars"`` or ``"pandas"``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

#: What ``output=`` accepts.
OUTPUTS = ("same", "polars", "pandas")


def _is_pandas(frame: Any) -> bool:
    return type(frame).__module__.split(".")[0] == "pandas" and type(frame).__name__ == "DataFrame"


def to_polars(frame: Any, caller: str):
    """A Polars DataFrame from a Polars (lazy) or pandas frame; TypeError for anything else."""
    import polars as pl

    if isinstance(frame, pl.LazyFrame):
        return frame.collect()
    if isinstance(frame, pl.DataFrame):
        return frame
    if _is_pandas(frame):
        return pl.from_pandas(frame)
    raise TypeError(f"dispo.{caller}: expected a polars or pandas DataFrame, got {type(frame).__name__}")


def give_back(result, given: Any, output: str, caller: str):
    """``result`` (Polars) as the type the caller gave, or as ``output`` asks."""
    if output not in OUTPUTS:
        raise ValueError(f"dispo.{caller}: output must be one of {', '.join(OUTPUTS)}, got {output!r}")
    if output == "pandas" or (output == "same" and _is_pandas(given)):
        return result.to_pandas(use_pyarrow_extension_array=False)
    return result


def as_date(as_of: date | str, caller: str) -> date:
    """``as_of`` as a date; ValueError naming the caller for a string that is not YYYY-MM-DD."""
    if isinstance(as_of, str):
        try:
            return date.fromisoformat(as_of)
        except ValueError:
            raise ValueError(f"dispo.{caller}: as_of must be a date YYYY-MM-DD, got {as_of!r}") from None
    return as_of

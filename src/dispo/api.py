"""The Python API behind ``dispo.evaluate`` and ``dispo.validate`` (README "Python API").

Both take a Polars or a pandas DataFrame (pandas goes through Arrow: ``pl.from_pandas``) and give
back the type they were given, unless ``output`` says ``"polars"`` or ``"pandas"``.
``validate`` runs the same path as ``dispo run``: the frame is written to a temporary Parquet file
and read by ingest (every value as text, parsed by docs/spec.md section 1) and checked by the schema's
Great Expectations suite, so its reasons are word for word those of a run's rejects.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Mapping, Sequence

#: ``source_file`` of the rows of a frame given to :func:`validate`.
FRAME_SOURCE = "dataframe"
_OUTPUTS = ("same", "polars", "pandas")


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
    if output not in _OUTPUTS:
        raise ValueError(f"dispo.{caller}: output must be one of {', '.join(_OUTPUTS)}, got {output!r}")
    if output == "pandas" or (output == "same" and _is_pandas(given)):
        return result.to_pandas(use_pyarrow_extension_array=False)
    return result


def as_date(as_of: date | str, caller: str) -> date:
    if isinstance(as_of, str):
        try:
            return date.fromisoformat(as_of)
        except ValueError:
            raise ValueError(f"dispo.{caller}: as_of must be a date YYYY-MM-DD, got {as_of!r}") from None
    return as_of


@dataclass(frozen=True)
class Validated:
    """What :func:`validate` found: ``accepted`` (typed rows: source_file, row_number, the schema
    columns present, extras), ``rejects`` (source_file, row_number, spreadsheet_line, property_id,
    reasons, raw values as text) and ``reasons_counted`` (reason kind -> rows)."""

    accepted: Any
    rejects: Any
    reasons_counted: dict[str, int]

    @property
    def ok(self) -> bool:
        """Every row valid."""
        return len(self.rejects) == 0


def validate(frame: Any, *, as_of: date | str | None = None, columns: Mapping[str, str] | None = None,
             date_formats: Sequence[str] = (), output: str = "same") -> Validated:
    """Parses and checks ``frame`` as ``dispo run`` checks an input file (docs/spec.md section 1)."""
    import duckdb

    from dispo.errors import DispoError
    from dispo.ingest import ingest
    from dispo.ingest.options import input_options
    from dispo.validate import validate as run_checks

    given = frame
    frame = to_polars(frame, "validate")
    day = as_date(as_of, "validate") if as_of is not None else date.today()
    try:
        options = input_options("dispo.validate", dict(columns or {}), list(date_formats), None)
    except DispoError as e:
        raise ValueError(str(e)) from None
    with tempfile.TemporaryDirectory(prefix="dispo-validate-") as tmp:
        path = Path(tmp) / f"{FRAME_SOURCE}.parquet"
        frame.write_parquet(path)
        con = duckdb.connect()
        try:
            ingested = ingest([path], con, as_of=day, options=options)
            checked = run_checks(ingested, as_of=day)
        except DispoError as e:
            raise ValueError(str(e).replace(str(path), "the frame")) from None
        finally:
            con.close()
    import polars as pl

    rename = pl.col("source_file").str.replace(r"\.parquet$", "")
    accepted = checked.accepted.with_columns(rename)
    rejects = checked.rejects.with_columns(rename)
    return Validated(accepted=give_back(accepted, given, output, "validate"),
                     rejects=give_back(rejects, given, output, "validate"),
                     reasons_counted=dict(checked.reasons_counted))

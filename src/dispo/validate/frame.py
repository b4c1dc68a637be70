"""``dispo.validate(df)``: parses and checks a Polars or pandas frame as ``dispo run`` checks an input
file (docs/spec.md section 1).

The frame is written to a temporary Parquet file, read by ingest (every value as text, parsed by
section 1) and checked by the schema's Great Expectations suite, so its reasons are word for word
those of a run's rejects. It lives in the validate package (not in dispo.api) so that the package's
``__call__`` (see the end of validate/__init__.py) needs nothing from a higher layer.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Mapping, Sequence

from dispo.frames import as_date, give_back, to_polars

#: ``source_file`` of the rows of a frame given to :func:`validate_frame`.
FRAME_SOURCE = "dataframe"


@dataclass(frozen=True)
class Validated:
    """What :func:`validate_frame` found: ``accepted`` (typed rows: source_file, row_number, the schema
    columns present, extras), ``rejects`` (source_file, row_number, spreadsheet_line, property_id,
    reasons, raw values as text) and ``reasons_counted`` (reason kind -> rows)."""

    accepted: Any
    rejects: Any
    reasons_counted: dict[str, int]

    @property
    def ok(self) -> bool:
        """Every row valid."""
        return len(self.rejects) == 0


def validate_frame(frame: Any, *, as_of: date | str | None = None, columns: Mapping[str, str] | None = None,
                   date_formats: Sequence[str] = (), output: str = "same") -> Validated:
    """Parses and checks ``frame`` as ``dispo run`` checks an input file (docs/spec.md section 1)."""
    import duckdb
    import polars as pl

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

    rename = pl.col("source_file").str.replace(r"\.parquet$", "")
    accepted = checked.accepted.with_columns(rename)
    rejects = checked.rejects.with_columns(rename)
    return Validated(accepted=give_back(accepted, given, output, "validate"),
                     rejects=give_back(rejects, given, output, "validate"),
                     reasons_counted=dict(checked.reasons_counted))

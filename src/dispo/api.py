"""The Python API behind ``dispo.evaluate`` and ``dispo.validate`` (README "Python API"), in one place.

Both take a Polars or a pandas DataFrame (pandas goes through Arrow: ``pl.from_pandas``) and give
back the type they were given, unless ``output`` says ``"polars"`` or ``"pandas"``. The pieces live
in the layers they belong to and are only gathered here (imports run downward: dispo.api ->
dispo.validate -> dispo.frames): the interop in :mod:`dispo.frames`, the frame check in
:mod:`dispo.validate.frame` (it runs the same path as ``dispo run``).
"""

from __future__ import annotations

from dispo.frames import OUTPUTS, as_date, give_back, to_polars
from dispo.validate.frame import FRAME_SOURCE, Validated, validate_frame as validate

__all__ = ["FRAME_SOURCE", "OUTPUTS", "Validated", "as_date", "give_back", "to_polars", "validate"]

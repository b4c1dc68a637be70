"""How to read the input files (docs/spec.md section 2): header mapping, date patterns, the sheet of an .xlsx.

The pipeline's ``[columns]`` table, ``date_formats`` and ``sheet`` become one :class:`InputOptions`
that every reader takes, so CSV, Parquet and Excel inputs are mapped and parsed alike. The checks
here run when the pipeline is loaded (before any file is opened): a mapping to a column dispo does
not have, two headers mapped to one column, or a date pattern that is not a pattern is a one-line
error naming the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from dispo import schema
from dispo.errors import DispoError

#: strptime directives naming a year, a month and a day: a date pattern needs one of each
#: (``%j``, the day of the year, stands for month and day).
_YEAR = re.compile(r"%[Yy]")
_MONTH = re.compile(r"%[mbB]")
_DAY = re.compile(r"%[dj]")


@dataclass(frozen=True)
class InputOptions:
    """``columns``: the file's own header -> dispo's column name (exact header text);
    ``date_formats``: strptime patterns tried after ISO ``YYYY-MM-DD``; ``sheet``: the sheet of an
    .xlsx input (None: the first)."""

    columns: Mapping[str, str] = field(default_factory=dict)
    date_formats: tuple[str, ...] = ()
    sheet: str | None = None

    def canonical(self) -> dict[str, Any]:
        """What changes the typed values (for the config digest)."""
        return {"columns": dict(sorted(self.columns.items())), "date_formats": list(self.date_formats),
                "sheet": self.sheet}


def check_date_format(pattern: str) -> str | None:
    """What is wrong with a strptime pattern, or None. DuckDB parses the dates, so DuckDB judges
    the pattern; it must also name a year, a month and a day."""
    import duckdb

    from dispo.ingest.parse import lit

    if not _YEAR.search(pattern) or not (_DAY.search(pattern) and (_MONTH.search(pattern) or "%j" in pattern)):
        return "a date pattern needs a year (%Y or %y), a month (%m, %b or %B) and a day (%d)"
    try:
        duckdb.sql(f"SELECT try_strptime('2024-01-02', {lit(pattern)})").fetchall()
    except duckdb.Error as exc:
        return f"not a strptime pattern ({str(exc).splitlines()[0]})"
    return None


def input_options(where: str, columns: Any, date_formats: Any, sheet: Any) -> InputOptions:
    """The pipeline's ``[columns]``, ``date_formats`` and ``sheet`` checked (docs/spec.md section 2);
    :class:`DispoError` names the key."""
    columns = {} if columns is None else columns
    if not isinstance(columns, dict):
        raise DispoError(f"{where}: [columns] must be a table of \"file header\" = \"dispo column\"")
    targets: dict[str, str] = {}
    for header, target in columns.items():
        if not isinstance(target, str):
            raise DispoError(f"{where}: [columns] {header!r} must map to a column name, got {target!r}")
        if target not in schema.BY_NAME:
            near = _nearest(target)
            raise DispoError(f"{where}: [columns] maps {header!r} to {target!r}, which is not a dispo column"
                             + (f" (did you mean {near!r}?)" if near else " (see `dispo schema`)"))
        if target in targets:
            raise DispoError(f"{where}: [columns] maps both {targets[target]!r} and {header!r} to {target!r}; "
                             "one column can come from one header only")
        targets[target] = header
    formats = [] if date_formats is None else date_formats
    if isinstance(formats, str) or not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
        raise DispoError(f"{where}: [pipeline] date_formats must be a list of strptime patterns, "
                         f"e.g. [\"%m/%d/%Y\"], got {date_formats!r}")
    for f in formats:
        problem = check_date_format(f)
        if problem:
            raise DispoError(f"{where}: [pipeline] date_formats: {f!r}: {problem}")
    if sheet is not None and (not isinstance(sheet, str) or not sheet):
        raise DispoError(f"{where}: [pipeline] sheet must be a sheet name, got {sheet!r}")
    return InputOptions(columns=dict(columns), date_formats=tuple(dict.fromkeys(formats)), sheet=sheet)


def _nearest(name: str) -> str | None:
    """The dispo column within edit distance 2 of ``name`` (case-insensitive), if any."""
    found = near_columns([name])
    return found.get(name)


def near_columns(names: list[str]) -> dict[str, str]:
    """For each of ``names`` that is not a dispo column, the dispo column within Damerau-Levenshtein
    distance 2 of it, case-insensitive (docs/spec.md section 2, typo'd headers); DuckDB computes the
    distances. The nearest wins; a tie goes to the column listed first in the schema."""
    import duckdb
    import polars as pl

    candidates = [n for n in names if n not in schema.BY_NAME]
    if not candidates:
        return {}
    headers = pl.DataFrame({"header": candidates})  # noqa: F841 - read by DuckDB below
    columns = pl.DataFrame({"col": list(schema.NAMES), "pos": list(range(len(schema.NAMES)))})  # noqa: F841
    con = duckdb.connect()
    try:
        rows = con.sql(
            "SELECT header, arg_min(col, d * 10000 + pos) FROM ("
            "  SELECT header, col, pos, damerau_levenshtein(lower(header), lower(col)) AS d"
            "  FROM headers CROSS JOIN columns) WHERE d <= 2 GROUP BY header"
        ).fetchall()
    finally:
        con.close()
    return dict(rows)

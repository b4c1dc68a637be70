"""dispo: batch evaluator of property portfolios (lender loss mitigation, sell vs hold, federal tax)."""

from __future__ import annotations

__version__ = "0.1.0"


def evaluate(frame, *, as_of, assumptions=None, defaults=None):
    """Every output column of docs/spec.md section 7 for a Polars frame of **typed, valid** rows (the Python
    API, for notebooks).

    ``frame``: one row per property with the input columns of docs/spec.md section 1 under their exact names
    and types — strings for ``property_id``/``state``/``occupancy``…, floats for money and rates,
    ints for month counts, ``pl.Date`` for dates, booleans for flags. Optional columns may be absent
    or null (their defaults apply, as in a pipeline run); extra columns are carried through to the
    result unchanged. Values are *not* parsed or validated here: ``$1,200`` or ``6%`` strings, a
    missing required value, a bad state code or a duplicate id give wrong or null outputs instead of
    a reject. Run ``dispo validate``/``dispo run`` (which quarantine such rows) when the data is not
    already clean.

    ``as_of``: the evaluation date (``datetime.date`` or ``"YYYY-MM-DD"``). ``assumptions``: a
    mapping of docs/spec.md section 5.1/5.2 overrides (``{"reo_discount": 0.3}``; unknown names and out-of-range
    values raise ``ValueError``) or a :class:`dispo.params.Assumptions`. ``defaults``: the pipeline
    ``[defaults]`` for *(cfg)* columns (``{"filing_status": "mfj"}``).

    Returns a new ``pl.DataFrame``: the input columns after defaults, extra columns, then every
    output (same order as ``results.parquet``, full precision). Raises ``ValueError`` when a required
    column is missing.

    >>> from datetime import date
    >>> import polars as pl, dispo
    >>> df = pl.DataFrame({"property_id": ["A1"], "state": ["TX"], "occupancy": ["rental"],
    ...                    "market_value": [300000.0], "purchase_price": [250000.0],
    ...                    "purchase_date": [date(2015, 1, 1)], "first_lien_balance": [200000.0]})
    >>> out = dispo.evaluate(df, as_of="2026-11-22", assumptions={"reo_discount": 0.3})
    """
    from datetime import date

    import polars as pl

    from dispo import schema
    from dispo.engine import evaluate as _evaluate

    if isinstance(frame, pl.LazyFrame):
        frame = frame.collect()
    if not isinstance(frame, pl.DataFrame):
        raise TypeError(f"dispo.evaluate: expected a polars DataFrame, got {type(frame).__name__}")
    missing = [c for c in schema.REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"dispo.evaluate: missing required column(s): {', '.join(missing)}")
    if isinstance(as_of, str):
        as_of = date.fromisoformat(as_of)
    return _evaluate(frame, as_of=as_of, assumptions=assumptions, defaults=defaults)

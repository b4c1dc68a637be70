"""dispo: batch evaluator of property portfolios (lender loss mitigation, sell vs hold, federal tax)."""

from __future__ import annotations

__version__ = "0.1.0"


def evaluate(frame, *, as_of, assumptions=None, defaults=None, output="same"):
    """Every output column of docs/spec.md section 7 for a Polars or pandas frame of **typed, valid** rows
    (the Python API, for notebooks). A pandas frame goes through Arrow, and the result comes back as
    the type given (``output="polars"`` or ``"pandas"`` asks for one).

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

    Returns a new frame (the type given): the input columns after defaults, extra columns, then every
    output (same order as ``results.parquet``, full precision). Raises ``ValueError`` when a required
    column is missing.

    >>> from datetime import date
    >>> import polars as pl, dispo
    >>> df = pl.DataFrame({"property_id": ["A1"], "state": ["TX"], "occupancy": ["rental"],
    ...                    "market_value": [300000.0], "purchase_price": [250000.0],
    ...                    "purchase_date": [date(2015, 1, 1)], "first_lien_balance": [200000.0]})
    >>> out = dispo.evaluate(df, as_of="2026-11-22", assumptions={"reo_discount": 0.3})
    """
    from dispo import schema
    from dispo.frames import as_date, give_back, to_polars
    from dispo.engine import evaluate as _evaluate

    given = frame
    frame = to_polars(frame, "evaluate")
    missing = [c for c in schema.REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"dispo.evaluate: missing required column(s): {', '.join(missing)}")
    result = _evaluate(frame, as_of=as_date(as_of, "evaluate"), assumptions=assumptions, defaults=defaults)
    return give_back(result, given, output, "evaluate")


def validate(frame, *, as_of=None, columns=None, date_formats=(), output="same"):
    """Parses and checks a Polars or pandas frame exactly as ``dispo run`` checks an input file
    (docs/spec.md section 1: the same parsing of text, ``$``, ``%`` and dates, the same schema rules and
    reasons). Returns a :class:`dispo.validate.Validated`: ``accepted`` (the typed rows, ready for
    :func:`evaluate`), ``rejects`` (each with ``reasons``, ``column: what is wrong: 'raw value'``)
    and ``reasons_counted``; frames come back as the type given unless ``output`` says otherwise.

    ``as_of`` (default today) dates the rules that compare with it (a purchase after as_of);
    ``columns`` and ``date_formats`` are the pipeline's ``[columns]`` and ``date_formats``.

    >>> import pandas as pd, dispo
    >>> checked = dispo.validate(pd.DataFrame({"property_id": ["A1"], "state": ["tx"], "occupancy": ["rental"],
    ...     "market_value": ["$300,000"], "purchase_price": [250000], "purchase_date": ["2015-01-01"],
    ...     "first_lien_balance": [200000]}), as_of="2026-11-22")
    >>> out = dispo.evaluate(checked.accepted, as_of="2026-11-22")
    """
    from dispo.validate.frame import validate_frame

    return validate_frame(frame, as_of=as_of, columns=columns, date_formats=date_formats, output=output)

"""docs/spec.md section 1 parsing rules as DuckDB SQL, generated from :mod:`dispo.schema`.

Every schema column goes from raw text to its type in vectorized steps (no Python per row):

1. ``t``: the cell trimmed of whitespace, or NULL for a null word (empty, ``NA``, ``N/A``, ``NULL``,
   ``None``, case-insensitive);
2. ``v``: the typed value, or NULL when ``t`` cannot be parsed;
3. ``e``: what is wrong (``not a number``, ...) when ``t`` is not NULL but ``v`` is.

Numbers take a fast path first (:func:`fast_number`): most cells are plain numbers that DuckDB's
cast reads as they are; only the others are trimmed and matched against the number grammar.

A parse failure becomes the reason ``column: what is wrong: 'raw value'`` (the raw value as it was in
the file, untrimmed). Nothing in here names a column: it all comes from ``schema.COLUMNS``.
"""

from __future__ import annotations

from dispo import schema

#: Characters trimmed from both ends of every cell (Python's ``str.strip`` whitespace, plus NBSP).
TRIM_CHARS = " \t\n\r\x0b\x0c\u00a0"
#: Cells that mean "no value" once trimmed (compared lower-case).
NULL_WORDS = ("", "na", "n/a", "null", "none")
TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")

# Numbers: optional sign, digits with optional decimal part and exponent; a leading ``$`` (before
# or after the sign) and thousands separators in groups of three are accepted. A trailing ``%``
# only in percent_ok (rate and share) columns, and not together with ``$``.
_MANTISSA = r"(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)"
_EXPONENT = r"(?:[eE][+-]?\d+)?"
NUMBER_RE = rf"(?:[+-]?\$?|\$[+-]){_MANTISSA}{_EXPONENT}"
PERCENT_RE = rf"(?:{NUMBER_RE}|[+-]?{_MANTISSA}{_EXPONENT}%)"
#: ISO YYYY-MM-DD; year 0000 is not a calendar year (there is no year 0 between 1 BC and AD 1, and
#: Python's date cannot hold it: such a value would break every reader of the results).
DATE_RE = r"(?:[1-9]\d{3}|0[1-9]\d{2}|00[1-9]\d|000[1-9])-\d{2}-\d{2}"
#: |x| below this fits a BIGINT (2^63 less a margin for the float comparison).
INT_LIMIT = 9.2e18

WHAT_IS_WRONG = {
    "number": "not a number",
    "range": "number out of range",
    "whole": "not a whole number",
    "bool": "not a boolean (true/false, yes/no, 1/0)",
    "date": "not a valid ISO date (YYYY-MM-DD)",
}

SQL_TYPES = {"string": "VARCHAR", "float": "DOUBLE", "int": "BIGINT", "bool": "BOOLEAN", "date": "DATE"}


def ident(name: str) -> str:
    """A double-quoted SQL identifier (input column names come from user files)."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """A single-quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _in(expr: str, words: tuple[str, ...]) -> str:
    """``expr`` equal to one of ``words`` (an OR chain: DuckDB plans a constant IN list as a join)."""
    return "(" + " OR ".join(f"{expr} = {lit(w)}" for w in words) + ")"


def trimmed(raw: str) -> str:
    """The cell without surrounding whitespace. The character-set ``trim`` is slow in DuckDB, so
    it only runs on cells that start or end with whitespace."""
    ws = "[" + TRIM_CHARS + "]"
    return (f"CASE WHEN regexp_matches({raw}, {lit('^' + ws + '|' + ws + '$')}) "
            f"THEN trim({raw}, {lit(TRIM_CHARS)}) ELSE {raw} END")


def not_null_word(c: str) -> str:
    """A trimmed cell, or NULL for a null word (null words have at most 4 characters: longer
    cells skip the ``lower``)."""
    words = tuple(w for w in NULL_WORDS if w)
    return (f"CASE WHEN {c} = '' THEN NULL WHEN length({c}) > {max(map(len, words))} THEN {c} "
            f"WHEN {_in(f'lower({c})', words)} THEN NULL ELSE {c} END")


def fast_number(raw: str) -> str:
    """The raw cell as a DOUBLE when it is a plain number (else NULL, or a non-finite value: the
    cell then goes the slow way).

    A cell starting with a digit, ``-`` or ``.``, without ``_``, that DuckDB casts to a finite
    double is a number of the grammar; the cast ignores trailing ASCII whitespace, as trimming
    would. (DuckDB's cast also takes ``1_000`` and ``+-1``: the guard leaves them to the slow path;
    tests/ingest/test_parse_rules.py checks both paths against a Python reading of SPEC.)
    """
    guard = (f"(ascii({raw}) BETWEEN 48 AND 57 OR ascii({raw}) = 45 OR ascii({raw}) = 46) "
             f"AND NOT contains({raw}, '_')")
    return f"CASE WHEN {guard} THEN TRY_CAST({raw} AS DOUBLE) END"


def number(t: str, col: schema.Column) -> str:
    """The trimmed cell as a DOUBLE before any %, or NULL when it does not match the number grammar
    (``$``, ``,`` and ``%`` are dropped before the cast)."""
    pattern = PERCENT_RE if col.percent_ok else NUMBER_RE
    cleaned = f"replace(replace(replace({t}, '$', ''), ',', ''), '%', '')"
    return f"CASE WHEN regexp_full_match({t}, {lit(pattern)}) THEN TRY_CAST({cleaned} AS DOUBLE) END"


def date_value_and_error(t: str, date_formats: tuple[str, ...] = ()) -> tuple[str, str]:
    """A date cell: ISO ``YYYY-MM-DD`` first, then each of the pipeline's ``date_formats`` (docs/spec.md
    section 2). A cell that two patterns read as different dates is ambiguous (``01/02/2024`` under
    ``%m/%d/%Y`` and ``%d/%m/%Y``): no value, and the reason names every reading."""
    iso = f"CASE WHEN regexp_full_match({t}, {lit(DATE_RE)}) THEN TRY_CAST({t} AS DATE) END"
    if not date_formats:
        return iso, f"CASE WHEN {t} IS NOT NULL AND ({iso}) IS NULL THEN {lit(WHAT_IS_WRONG['date'])} END"
    readings = [f"TRY_CAST(try_strptime({t}, {lit(f)}) AS DATE)" for f in date_formats]
    distinct = f"len(list_distinct([{', '.join(readings)}]))"
    value = f"CASE WHEN ({iso}) IS NOT NULL THEN {iso} WHEN {distinct} = 1 THEN coalesce({', '.join(readings)}) END"
    shown = ", ".join(f"CASE WHEN {r} IS NOT NULL THEN strftime({r}, '%Y-%m-%d') || {lit(' under ' + f)} END"
                      for r, f in zip(readings, date_formats))
    not_a_date = lit(f"not a valid date (YYYY-MM-DD or {' or '.join(date_formats)})")
    error = (f"CASE WHEN {t} IS NULL OR ({iso}) IS NOT NULL THEN NULL WHEN {distinct} > 1 "
             f"THEN 'ambiguous date, reads as ' || concat_ws(' or ', {shown}) WHEN {distinct} = 0 THEN {not_a_date} END")
    return value, error


def value_and_error(col: schema.Column, t: str, n: str, date_formats: tuple[str, ...] = ()) -> tuple[str, str]:
    """SQL for one column's typed value and for what is wrong with it (else NULL).

    ``t`` is the trimmed cell (NULL for an empty cell, a null word, or a cell the fast path read),
    ``n`` the number (numeric columns only: :func:`fast_number` of the raw cell, else
    :func:`number` of ``t``).
    """
    w = {k: lit(v) for k, v in WHAT_IS_WRONG.items()}
    if col.dtype == "string":
        value = {"upper": f"upper({t})", "lower": f"lower({t})"}.get(col.case or "", t)
        return value, "NULL"
    missing = f"{n} IS NULL AND {t} IS NULL"
    if col.dtype == "float":
        scaled = f"CASE WHEN ends_with({t}, '%') THEN {n} / 100 ELSE {n} END" if col.percent_ok else n
        value = f"CASE WHEN isfinite({n}) THEN {scaled} END"
        error = (f"CASE WHEN {missing} THEN NULL WHEN {n} IS NULL THEN {w['number']} "
                 f"WHEN NOT isfinite({n}) THEN {w['range']} END")
        return value, error
    if col.dtype == "int":
        ok = f"isfinite({n}) AND {n} = trunc({n}) AND abs({n}) < {INT_LIMIT}"
        value = f"CASE WHEN {ok} THEN CAST({n} AS BIGINT) END"
        error = (f"CASE WHEN {missing} THEN NULL WHEN {n} IS NULL THEN {w['number']} "
                 f"WHEN NOT isfinite({n}) OR abs({n}) >= {INT_LIMIT} THEN {w['range']} "
                 f"WHEN {n} <> trunc({n}) THEN {w['whole']} END")
        return value, error
    if col.dtype == "bool":
        low = f"lower({t})"
        value = f"CASE WHEN {_in(low, TRUE_WORDS)} THEN true WHEN {_in(low, FALSE_WORDS)} THEN false END"
        return value, f"CASE WHEN {t} IS NOT NULL AND ({value}) IS NULL THEN {w['bool']} END"
    if col.dtype == "date":
        return date_value_and_error(t, date_formats)
    raise ValueError(f"unknown dtype {col.dtype!r} for {col.name}")  # pragma: no cover


def typed_select(raw_table: str, columns: list[str], row_error: str, *, date_formats: tuple[str, ...] = ()) -> str:
    """SQL selecting the typed rows from ``raw_table``, in its (insertion) order.

    ``columns`` are the input columns (file order); schema columns among them are parsed, the rest
    (extras) are carried as text ('' becomes NULL). ``row_error`` names the raw table's column
    holding a row-level problem (wrong number of fields): such a row parses nothing, its only
    reason is that one. Result: source_file, row_number, schema columns present (schema order,
    typed), extras (file order, text), parse_reasons (list of reason strings, empty when clean).

    Layers: s0 the fast number ``f``; s1 the trimmed cell ``c`` (skipped for empty cells and fast
    numbers: trimming is the costly part); s2 ``t`` (null words out); s3 the number ``n``; then
    values and reasons. ``date_formats``: strptime patterns tried after ISO for date columns.
    """
    present = [c for c in schema.COLUMNS if c.name in columns]
    extras = [ident(c) for c in columns if c not in schema.BY_NAME]
    src, rn = (ident(n) for n in schema.LINEAGE_COLUMNS)
    err = ident(row_error)
    keep = f"{src}, {rn}, {err}"
    s0, s1, s2, s3, final, reasons = [keep], [keep], [keep], [keep], [f"{src}, {rn}"], []
    for i, c in enumerate(present):
        raw, r, f, t, n = ident(c.name), f"r{i}", f"f{i}", f"t{i}", f"n{i}"
        numeric = c.dtype in ("float", "int")
        carry = f"{r}, {f}" if numeric else r
        skip = f"{err} IS NOT NULL OR {r} = ''" + (f" OR isfinite({f})" if numeric else "")
        s0.append(f"{raw} AS {r}" + (f", CASE WHEN {err} IS NULL THEN {fast_number(raw)} END AS {f}"
                                     if numeric else ""))
        s1.append(f"{carry}, CASE WHEN {skip} THEN NULL ELSE {trimmed(r)} END AS c{i}")
        s2.append(f"{carry}, {not_null_word(f'c{i}')} AS {t}")
        s3.append(f"{r}, {t}" + (f", CASE WHEN isfinite({f}) THEN {f} ELSE {number(t, c)} END AS {n}"
                                 if numeric else ""))
        value, error = value_and_error(c, t, n, date_formats)
        final.append(f"CAST({value} AS {SQL_TYPES[c.dtype]}) AS {ident(c.name)}")
        if error != "NULL":
            quote = lit("'")
            reasons.append(f"{lit(c.name + ': ')} || ({error}) || ': ' || {quote} || {r} || {quote}")
    for x in extras:
        s0.append(f"CASE WHEN {err} IS NULL THEN NULLIF({x}, '') END AS {x}")
        s1.append(x)
        s2.append(x)
        s3.append(x)
        final.append(x)
    final.append(f"[x FOR x IN [{', '.join([err] + reasons)}] IF x IS NOT NULL] AS parse_reasons")
    return (
        f"WITH s0 AS (SELECT {', '.join(s0)} FROM {raw_table}),\n"
        f"s1 AS (SELECT {', '.join(s1)} FROM s0),\n"
        f"s2 AS (SELECT {', '.join(s2)} FROM s1),\n"
        f"s3 AS (SELECT {', '.join(s3)} FROM s2)\n"
        f"SELECT {', '.join(final)} FROM s3"
    )

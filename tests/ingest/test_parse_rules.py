"""The generated parsing SQL against a plain-Python reading of SPEC section 1's number rules."""

from __future__ import annotations

import itertools
import math
import random
import re

import duckdb
import polars as pl
import pytest

from dispo import schema
from dispo.ingest import parse


def reference(text: str, percent_ok: bool) -> float | None:
    """SPEC section 1 in Python: the number a trimmed cell means, or None if it is not one."""
    pattern = parse.PERCENT_RE if percent_ok else parse.NUMBER_RE
    if not re.fullmatch(pattern, text, flags=re.ASCII):  # RE2: \d is ASCII
        return None
    value = float(text.replace("$", "").replace(",", "").replace("%", ""))
    if not math.isfinite(value):
        return None
    return value / 100 if text.endswith("%") else value


def strings() -> list[str]:
    rng = random.Random(20261122)
    out = {"".join(t) for n in range(1, 4) for t in itertools.product("01.eE+-_,$%", repeat=n)}
    alphabet = "0123456789.eE+-_,$% naifx"
    out |= {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 9))) for _ in range(20000)}
    out |= {"1,234", "12,345,678.9", "1,23", "$-5", "-$5", "+$5", "$+5", "--5", "+-5", "5%", "-5.5e-1%",
            "1e308", "1e309", "-1e309", ".5", "5.", "0x10", "1_000", "١٢"}
    return sorted(s for s in out if s and s == s.strip())


def typed_cells(column: str, cells: list[str]) -> list[tuple]:
    """(value, parse_reasons) of each raw cell in ``column``, through the generated typed SQL."""
    con = duckdb.connect()
    raw = pl.DataFrame({"source_file": "f", "row_number": range(len(cells)), column: cells,
                        "row_error": pl.Series([None] * len(cells), dtype=pl.String)})
    con.register("raw_cells", raw)
    return con.sql(f"SELECT {column}, parse_reasons FROM ({parse.typed_select('raw_cells', [column], 'row_error')})"
                   ).fetchall()


@pytest.mark.parametrize("column", ["market_value", "vacancy_rate", "hold_months"])
def test_numbers_match_reference(column):
    """Fast path and grammar together read every cell as SPEC says (whitespace around included)."""
    col = schema.BY_NAME[column]
    base = strings()
    cells = base + [f" {c}" for c in base[::7]] + [f"{c}\t" for c in base[::5]] + [f"{c}\u00a0" for c in base[::11]]
    mismatches = []
    for cell, (value, reasons) in zip(cells, typed_cells(column, cells)):
        text = cell.strip(parse.TRIM_CHARS)
        if text.lower() in parse.NULL_WORDS:  # a null, not an error
            if value is not None or reasons:
                mismatches.append((cell, value, None, reasons))
            continue
        expected = reference(text, col.percent_ok)
        if col.dtype == "int" and expected is not None and (expected != int(expected)
                                                            or abs(expected) >= parse.INT_LIMIT):
            expected = None
        if value != expected or bool(reasons) != (expected is None):
            mismatches.append((cell, value, expected, reasons))
    assert mismatches == []


def test_null_words_and_trimming():
    cells = ["", " ", "\t", "NA", "na", " N/A ", "NULL", "None", "none", "nan", "NaN ", " x ", "\u00a0y\u00a0", "NAN"]
    con = duckdb.connect()
    con.register("cells", pl.DataFrame({"r": cells}))
    got = [r[0] for r in con.sql(
        f"SELECT {parse.not_null_word('c')} FROM (SELECT {parse.trimmed('r')} AS c FROM cells)").fetchall()]
    assert got == [None, None, None, None, None, None, None, None, None, "nan", "NaN", "x", "y", "NAN"]

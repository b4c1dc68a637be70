"""Spreadsheet cell rules shared by the readers and the writers (the lowest layer: no dispo imports).

A cell (or a header name) that a spreadsheet would read as a formula starts with one of
``FORMULA_PREFIXES`` (docs/spec.md section 7); writers prefix it with ``'`` (OWASP's advice for CSV
injection), and ingest refuses two input columns that would be written under the same name.
"""

from __future__ import annotations

#: First characters that make a spreadsheet read a cell as a formula (docs/spec.md section 7).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_text(value: str) -> str:
    """One cell: ``'`` prepended when it would be read as a formula."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value

"""The header rules of docs/spec.md sections 1 and 2: a file's column names, checked before any row is read.

Names must be present and distinct (also ignoring case, as DuckDB compares names, and once
neutralised for a spreadsheet), none reserved for dispo's outputs, every required column there,
and no unmapped name within edit distance 2 of a dispo column (a typo would silently leave that
column to its default in every row). Every problem of a file is reported at once, in one
:class:`~dispo.errors.DispoError` (one line, problems separated by ``; ``), so a user fixes the
header in one go.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from dispo import schema
from dispo.cells import neutralise_text
from dispo.errors import DispoError
from dispo.ingest.options import near_columns

#: Input column names the pipeline uses for itself, besides schema.RESERVED_NAMES (``run_id``: the
#: run history's key column, store.py; ``spreadsheet_line``: a reject's line in its file).
INTERNAL_NAMES = frozenset({"parse_reasons", "__dispo_row_error", "run_id", "spreadsheet_line"})
#: Prefix of internal column names (``__dispo_row``, ``__dispo_order`` ...): no input column may use it.
INTERNAL_PREFIX = "__dispo"


def mapped(headers: Sequence[str], columns: Mapping[str, str]) -> list[str]:
    """The file's header with ``[columns]`` applied (the user's header -> dispo's name)."""
    return [columns.get(h, h) for h in headers]


def header_problems(columns: Sequence[str], headers: Sequence[str] | None = None) -> list[str]:
    """Every problem of a header, in words (empty when it is good). ``columns``: the names after
    ``[columns]`` mapping; ``headers``: the names as the file has them (default: the same)."""
    headers = list(headers if headers is not None else columns)
    problems: list[str] = []
    for i, c in enumerate(columns, 1):
        if not c:
            problems.append(f"column {i} of the header has no name")
        elif "\x00" in c:  # DuckDB hands names to Arrow as C strings: 'a\x00b' would come back as 'a'
            problems.append(f"column {i} of the header ({c!r}) contains a NUL character")
    problems += _repeated(columns, headers)
    problems += _reserved(columns)
    case_problems, typos = _case_and_typos(columns)
    problems += case_problems + _spreadsheet_clashes(columns)
    present = set(columns)
    explained = set(typos.values())  # a typo's message already names the missing column
    missing = [c for c in schema.REQUIRED if c not in present and c not in explained]
    if missing:
        problems.append(f"required column {missing[0]!r} is missing"
                        + (f" (also {', '.join(missing[1:])})" if len(missing) > 1 else ""))
    return problems


def _repeated(columns: Sequence[str], headers: Sequence[str]) -> list[str]:
    problems, first = [], {}
    for c, h in zip(columns, headers):
        if not c:
            continue
        if c in first:
            a, b = first[c], h
            if a == b:
                problems.append(f"column {c!r} appears more than once in the header")
            else:
                problems.append(f"headers {a!r} and {b!r} are both column {c!r} (after [columns] mapping)")
        else:
            first[c] = h
    return problems


def _reserved(columns: Sequence[str]) -> list[str]:
    problems = []
    for c in columns:
        if c in schema.RESERVED_NAMES or c in INTERNAL_NAMES or c.startswith(INTERNAL_PREFIX):
            what = "an output column" if c in schema.RESERVED_NAMES else "dispo's own use"
            problems.append(f"input column {c!r} uses a name reserved for {what}")
    return problems


def _case_and_typos(columns: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Names equal to one of dispo's ignoring case, and typos (docs/spec.md section 2): the problems, and
    each typo'd name with the column it looks like."""
    ours = {n.lower(): n for n in (*schema.NAMES, *schema.RESERVED_NAMES, *INTERNAL_NAMES)}
    problems: list[str] = []
    folded: dict[str, str] = {}
    unknown = []
    for c in columns:
        key = c.lower()
        if key in ours and ours[key] != c:
            problems.append(f"column {c!r} differs only in case from dispo's column {ours[key]!r} "
                            "(column names are exact snake_case)")
        elif key in folded and folded[key] != c:
            problems.append(f"columns {folded[key]!r} and {c!r} differ only in case")
        elif c and key not in ours:
            unknown.append(c)
        folded.setdefault(key, c)
    near = near_columns(unknown)
    typos = {c: near[c] for c in unknown if c in near}
    present = set(columns)
    for c in unknown:
        target = near.get(c)
        if target is not None and target not in present:
            problems.append(f"{c!r} looks like {target!r}: map it in [columns] or rename it")
        elif target is not None:  # the real column is there too: still one of them is a typo or a copy
            problems.append(f"{c!r} looks like {target!r} (also in the file): rename it, or drop one")
    return problems, typos


def _spreadsheet_clashes(columns: Sequence[str]) -> list[str]:
    shown: dict[str, str] = {}
    problems = []
    for c in columns:
        safe = neutralise_text(c)
        if safe in shown and shown[safe] != c:
            problems.append(f"columns {shown[safe]!r} and {c!r} would both be written as {safe!r} "
                            "in CSV and XLSX outputs (formula neutralisation); rename one")
        shown.setdefault(safe, c)
    return problems


def check_header(where: str, columns: Sequence[str], headers: Sequence[str] | None = None) -> None:
    """Raises one :class:`DispoError` listing every problem of the header (docs/spec.md sections 1, 2)."""
    problems = header_problems(columns, headers)
    if not problems:
        return
    hint = ""
    if len(columns) == 1 and (sep := next((s for s in (";", "\t", "|") if s in columns[0]), None)):
        hint = f"; the header is one column: is the file separated by {sep!r}? dispo reads comma-separated CSV"
        problems = [p for p in problems if p.startswith("required column")]
    if len(problems) == 1:
        raise DispoError(f"{where}: {problems[0]}{hint}")
    raise DispoError(f"{where}: {len(problems)} header problems: " + "; ".join(problems) + hint)

"""The sample data of ``sample_data/``: a lender book with deliberate mistakes, an investor's
holdings, and the README that lists every mistake. Written by ``dispo generate --sample DIR``."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from dispo import schema
from dispo.generate.portfolio import generate_portfolio

SAMPLE_AS_OF = date(2026, 11, 22)
SAMPLE_LENDER_ROWS, SAMPLE_LENDER_SEED = 2000, 20261122
SAMPLE_INVESTOR_ROWS, SAMPLE_INVESTOR_SEED = 500, 20261123


@dataclass(frozen=True)
class Injection:
    """A deliberate change to one row of the lender sample (row: 1-based data row of the file)."""

    row: int
    property_id: str
    column: str
    raw: str
    why: str
    bad: bool


def _first_row(frame: pl.DataFrame, at: int, condition: pl.Expr, taken: frozenset[int] = frozenset()) -> int:
    """The 0-based index of the first row at or after ``at`` meeting ``condition`` and not ``taken``."""
    index = pl.col("_i")
    hits = (frame.with_row_index("_i").filter((index >= at) & ~index.is_in(list(taken)) & condition)
            .get_column("_i"))
    if hits.is_empty():
        raise RuntimeError("generate: no row for a sample injection")
    return int(hits[0])


class _Book:
    """The lender sample being built: the generated rows as text cells, and what was changed."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame
        self.table: list[list[str | None]] = [list(r) for r in frame.with_columns(pl.all().cast(pl.String)).rows()]
        self.names = list(frame.columns)
        self.col = {c: k for k, c in enumerate(self.names)}
        self.injections: list[Injection] = []
        self.unquoted_rows: set[int] = set()
        # rows changed at fixed places (0-based); the others are the first suitable row from a place on
        self.fixed_bad = {36, 157, 300, 443, 611, 776, 1233, 1499, 1568, 1776}
        self.used: set[int] = set(self.fixed_bad)

    def value(self, r: int, c: str):
        return self.frame[r, c]

    def put(self, r: int, c: str, raw: str, why: str, bad: bool) -> None:
        self.table[r][self.col[c]] = raw
        self.injections.append(Injection(r + 1, self.table[r][self.col["property_id"]] or "", c, raw, why, bad))

    def pick(self, at: int, condition: pl.Expr) -> int:
        r = _first_row(self.frame, at, condition, frozenset(self.used))
        self.used.add(r)
        return r

    def csv_text(self, rows: int) -> str:
        """The CSV, the row in ``unquoted_rows`` written unquoted, and one loan sent twice (both
        copies are rejected: duplicate property_id)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.names)
        for k, row in enumerate(self.table):
            fields = ["" if v is None else v for v in row]
            if k in self.unquoted_rows:
                out.write(",".join(fields) + "\n")
            else:
                writer.writerow(fields)
        dup = 1499
        writer.writerow(["" if v is None else v for v in self.table[dup]])
        pid = self.table[dup][self.col["property_id"]] or ""
        self.injections.append(Injection(dup + 1, pid, "property_id", pid, "duplicate property_id (first copy)", True))
        self.injections.append(Injection(rows + 1, pid, "property_id", pid,
                                         "duplicate property_id (the copy sent again)", True))
        return out.getvalue()


def _lenient(b: _Book) -> None:
    """Lenient but valid: the same value, spelled the way spreadsheets and people write it."""
    given, value, put, pick = pl.col, b.value, b.put, b.pick
    r = pick(11, pl.lit(True))
    put(r, "market_value", f"${value(r, 'market_value'):,.0f}", "dollar sign and thousands separators", False)
    r = pick(24, given("property_tax_annual").is_not_null())
    put(r, "property_tax_annual", f"${value(r, 'property_tax_annual'):,.2f}", "dollar sign, separators, cents", False)
    r = pick(49, given("interest_rate").is_not_null())
    put(r, "interest_rate", f"{value(r, 'interest_rate') * 100:g}%", "a rate written as a percentage", False)
    r = pick(74, given("occupancy") == "primary")
    put(r, "occupancy", " Primary ", "padding and capital letter (trimmed, lower-cased)", False)
    r = pick(99, pl.lit(True))
    put(r, "state", str(value(r, "state")).lower(), "lower-case state code (upper-cased)", False)
    r = pick(124, given("recourse").is_not_null())
    put(r, "recourse", "Y" if value(r, "recourse") else "no", "boolean spelled Y / no", False)
    r = pick(149, given("hoa_monthly").is_null() & given("insolvency_amount").is_null())
    put(r, "hoa_monthly", "NA", "null spelled NA (the default applies)", False)
    put(r, "insolvency_amount", "N/A", "null spelled N/A (the default applies)", False)
    r = pick(174, given("filing_status").is_not_null())
    put(r, "filing_status", str(value(r, "filing_status")).upper(), "upper-case filing status (lower-cased)", False)
    r = pick(199, given("months_delinquent") > 0)
    put(r, "months_delinquent", f"{value(r, 'months_delinquent')}.0", "an integer written with .0", False)
    r = pick(224, pl.lit(True))
    put(r, "address", '=HYPERLINK("http://example.com","1 Main St")',
        "valid text that looks like a spreadsheet formula (outputs must neutralise it)", False)
    r = pick(249, given("hardship").is_not_null())
    put(r, "hardship", str(value(r, "hardship")).title(), "mixed-case hardship (lower-cased)", False)


def _bad(b: _Book, as_of: date) -> None:
    """Deliberately bad: each must land in rejects with the reason shown."""
    given, value, put, pick = pl.col, b.value, b.put, b.pick
    put(36, "market_value", "-185000", "market_value must be > 0", True)
    put(157, "state", "XX", "not one of the 51 codes of states.csv", True)
    put(300, "purchase_date", "2026-02-30", "not a real calendar date", True)
    put(443, "first_lien_balance", "abc", "not a number", True)
    put(611, "occupancy", "", "a required value is missing", True)
    put(776, "interest_rate", "45%", f"0.45 is above the maximum {schema.BY_NAME['interest_rate'].max:g}", True)
    r = pick(902, given("rental_start_date").is_null())  # so that only purchase_date is wrong
    put(r, "purchase_date", (as_of + timedelta(days=99)).isoformat(), f"after as_of ({as_of})", True)
    r = pick(1087, given("occupancy") == "rental")
    before = value(r, "purchase_date") - timedelta(days=400)
    put(r, "rental_start_date", before.isoformat(), "rental_start_date before purchase_date", True)
    r = 1233
    b.unquoted_rows.add(r)
    b.injections.append(Injection(r + 1, b.table[r][b.col["property_id"]] or "", "(row)",
                                  str(b.table[r][b.col["address"]]),
                                  "address with commas not quoted: the row has too many fields", True))
    r = pick(1401, given("occupancy") == "primary")
    debt = value(r, "first_lien_balance") + (value(r, "second_lien_balance") or 0.0)
    put(r, "qpri_balance", f"{debt + 50000:.2f}", "qpri_balance more than first + second lien", True)
    put(1568, "months_delinquent", "2.5", "an int column with a fraction (two reasons in one row)", True)
    put(1568, "hardship", "lottery", "not an allowed hardship (two reasons in one row)", True)
    sale = as_of + timedelta(days=8)
    put(1776, "foreclosure_sale_date", f"{sale.month}/{sale.day}/{sale.year}", "not an ISO YYYY-MM-DD date", True)


def lender_sample(as_of: date = SAMPLE_AS_OF, rows: int = SAMPLE_LENDER_ROWS,
                  seed: int = SAMPLE_LENDER_SEED) -> tuple[str, list[Injection]]:
    """The lender sample CSV text and the list of what was injected into it.

    ``rows`` clean generated loans, then: lenient-but-valid spellings of some of their own values
    (``$412,000``, ``6.25%``, `` Primary ``, ``ca``, ``Y``, ``NA``, ``MFJ``, ``3.0`` ...; they parse
    to the same values), a formula-like address (valid text that outputs must neutralise), and a
    few deliberately bad rows that must be quarantined, including one row sent twice (appended at
    the end: both copies are rejected).
    """
    if rows < 1800:
        raise ValueError("lender_sample needs at least 1800 rows (bad rows are injected up to row 1777)")
    book = _Book(generate_portfolio("lender", rows, seed, as_of))
    _lenient(book)
    _bad(book, as_of)
    text = book.csv_text(rows)
    book.injections.sort(key=lambda j: (not j.bad, j.row))
    return text, book.injections


def _readme_head(lender_rows: int) -> list[str]:
    """The README's title, how to regenerate the files, and the table of files."""
    return [
        "# Sample data",
        "",
        "Synthetic portfolios made by `dispo.generate` (nothing here is a real loan or person).",
        "Regenerate both files, and this README, with:",
        "",
        "```sh",
        ".venv/bin/dispo generate --sample sample_data/",
        "```",
        "",
        "which is the same as:",
        "",
        "```python",
        "from datetime import date",
        "from pathlib import Path",
        "from dispo.generate import write_samples",
        f"write_samples(Path(\"sample_data\"), as_of=date({SAMPLE_AS_OF.year}, {SAMPLE_AS_OF.month}, "
        f"{SAMPLE_AS_OF.day}))",
        "```",
        "",
        f"`lender_portfolio.csv` is `lender_sample(as_of, rows={SAMPLE_LENDER_ROWS}, seed={SAMPLE_LENDER_SEED})`: "
        "the clean",
        "loans of",
        f"`dispo generate --kind lender --rows {SAMPLE_LENDER_ROWS} --seed {SAMPLE_LENDER_SEED} "
        f"--as-of {SAMPLE_AS_OF} --out lender.csv`",
        "with the changes listed below. `investor_portfolio.csv` is, unchanged,",
        f"`dispo generate --kind investor --rows {SAMPLE_INVESTOR_ROWS} --seed {SAMPLE_INVESTOR_SEED} "
        f"--as-of {SAMPLE_AS_OF} --out investor_portfolio.csv`.",
        "",
        "| file | rows | content |",
        "|---|---|---|",
        f"| `lender_portfolio.csv` | {lender_rows + 1} | {lender_rows} generated distressed first-lien loans "
        f"(seed {SAMPLE_LENDER_SEED}, as_of {SAMPLE_AS_OF}), one of them sent twice (appended as the last "
        f"row), with the changes below |",
        f"| `investor_portfolio.csv` | {SAMPLE_INVESTOR_ROWS} | generated holdings, ~70 % rentals "
        f"(seed {SAMPLE_INVESTOR_SEED}, as_of {SAMPLE_AS_OF}); clean |",
        "",
        "Both are run by the sample pipelines: `dispo run pipelines/lender_loss_mitigation.toml` and",
        "`dispo run pipelines/investor_nightly.toml`.",
        "",
    ]


def _cell(text: str) -> str:
    return "`" + text.replace("|", "\\|") + "`" if text else "(empty)"


def _readme(injections: list[Injection], lender_rows: int) -> str:
    bad = [j for j in injections if j.bad]
    bad_rows = sorted({j.row for j in bad})
    lenient = [j for j in injections if not j.bad]
    lines = _readme_head(lender_rows) + [
        "## Deliberately bad rows (lender_portfolio.csv)",
        "",
        f"{len(bad_rows)} of {lender_rows + 1} rows ({len(bad_rows) / (lender_rows + 1):.2%}) must be quarantined in",
        "`rejects`, well under the pipeline's `max_reject_fraction` of 5 %. Rows are 1-based data rows",
        "(the header is not counted), as `rejects.row_number` reports them.",
        "",
        "| row | property_id | column | raw value | why it is rejected |",
        "|---|---|---|---|---|",
    ]
    for j in bad:
        lines.append(f"| {j.row} | `{j.property_id}` | {j.column} | {_cell(j.raw)} | {j.why} |")
    lines += [
        "",
        "## Lenient but valid values (lender_portfolio.csv)",
        "",
        "These rows are accepted: each spelling parses to the value the generator made (docs/spec.md section 1,",
        "parsing), so the results are the same as for the clean spelling.",
        "",
        "| row | property_id | column | raw value | what it exercises |",
        "|---|---|---|---|---|",
    ]
    for j in lenient:
        lines.append(f"| {j.row} | `{j.property_id}` | {j.column} | {_cell(j.raw)} | {j.why} |")
    lines += [
        "",
        "## What the generator makes",
        "",
        "- States: all 51 codes, weighted by population; market values lognormal around $350k scaled by",
        "  a state price factor; purchase dates 2003-2025, purchase prices back along a national price",
        "  index; property tax and insurance from rough state rates.",
        "- Lender kind: ~85 % owner-occupied, months delinquent mostly 1-12 (some current borrowers with",
        "  a hardship, some long-delinquent), ~30 % underwater after selling costs, ~15 % second liens,",
        "  arrears consistent with the missed payments, scheduled foreclosure sales (a few within 60",
        "  days), short-sale offers for about a third of underwater loans.",
        "- Investor kind: ~70 % rentals (rent 0.6-0.9 % of value a month, depreciation claimed, land values",
        "  and converted former homes with `fmv_at_conversion`, suspended passive losses), the rest",
        "  primary and second homes, ~30 % free and clear.",
        "- Many optional values are left empty so the defaults of docs/spec.md section 1 and the pipeline's",
        "  `[defaults]` apply.",
        "",
    ]
    return "\n".join(lines)


def write_samples(directory: Path, as_of: date = SAMPLE_AS_OF) -> list[Path]:
    """Writes ``lender_portfolio.csv``, ``investor_portfolio.csv`` and ``README.md`` into ``directory``,
    as one set (the reports' atomic writer: all three files or none)."""
    from dispo.reports.atomic import OutputSet

    directory = Path(directory)
    text, injections = lender_sample(as_of)
    investor = generate_portfolio("investor", SAMPLE_INVESTOR_ROWS, SAMPLE_INVESTOR_SEED, as_of)
    with OutputSet(directory) as files:
        files.write_text("lender_portfolio.csv", text)
        investor.write_csv(files.staged_path("investor_portfolio.csv"))
        files.seal("investor_portfolio.csv")
        files.write_text("README.md", _readme(injections, SAMPLE_LENDER_ROWS))
    return [directory / "lender_portfolio.csv", directory / "investor_portfolio.csv", directory / "README.md"]

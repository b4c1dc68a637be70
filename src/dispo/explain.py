"""``dispo explain``: every intermediate value of one property, in SPEC order, with its rule id and
its formula in words.

Where the words come from: each column of the engine's wide frame is made by a function whose
docstring starts with the rule id of docs/spec.md (``"L4: min(claim, …)"``). :func:`rule_for` asks
the engine's graph (``dispo.engine.graph.producer``) which function made the column and splits its
docstring into the rule id and the formula; nothing is restated here. A family's column names its
function and the names it was bound to: ``short_sale_gain`` → ``tax.gain``, ``horizon_sale_tax`` →
T11 of the horizon sale (H6/T11), ``lender_loss_foreclosure`` → ``lender.lender_loss``,
``v_reo_sale`` → ``lender.discount_factor`` at t = months_to_reo_sale. Computed defaults come from
``dispo.engine.defaults``.

Two sources of the row:

- ``--pipeline P``: the pipeline's inputs are ingested into an in-memory DuckDB (the run's
  ``dispo.duckdb`` is not touched), the rows with that ``property_id`` are validated exactly as a
  run validates them (all copies of an id, so a duplicate is still caught) and the accepted row is
  evaluated with the pipeline's as_of, ``[defaults]`` and ``[assumptions]``.
- ``--run DIR``: a finished run's ``results.parquet`` (inputs after defaults) is re-evaluated with
  the run's as_of and assumptions from ``summary.json``; the recomputed outputs are compared with
  the stored ones (a difference means the engine changed since that run, and is reported).

An unknown id or a rejected row is a :class:`~dispo.errors.DispoError` (the CLI's one line, exit 1);
for a rejected row the message gives its file, row number and every reason.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any, Callable

import polars as pl

from dispo import params, schema
from dispo.errors import DispoError

# --- rule ids and formulas from the engine's docstrings --------------------------------------------

#: Section of SPEC (docs/spec.md) each engine module implements, the rule shown when a docstring
#: has no rule id.
MODULE_SECTION = {"shared": "§3", "tax": "§4", "state_tax": "§4", "lender": "§5", "modification": "§5", "hold": "§6",
                  "defaults": "§1", "dates": "§3"}
#: Columns joined from data files (not computed): where each comes from.
STATE_FACTS = tuple(c for c in params.state_frame().columns if c != "state")
TAX_PARAMS = tuple(c for c in params.tax_param_frame().columns if c not in ("tax_year", "filing_status"))
STATE_TAX_FACTS = params.STATE_TAX_COLUMNS  # T13: data/state_tax.csv by (state, tax_year)
#: Assumptions that are switches (SPEC 5.5; held as 1.0/0.0 in a frame): shown as true/false.
SWITCHES = frozenset(name for name, spec in params.assumption_specs().items() if spec.boolean)
#: Prefixes of columns holding a disposition's T1–T11 quantities.
DISPOSITION_PREFIXES = tuple(sorted(schema.DISPOSITIONS, key=len, reverse=True))
#: Prefixes of the hold engine's sales (H6's horizon sale, H9's trial sale).
SALE_PREFIXES = ("horizon_sale", "breakeven_sale")

_RULE_RE = re.compile(r"^(?P<rule>[A-Z]\d+(?:\.\d+)?(?:/[A-Z]\d+(?:\.\d+)?)*)(?P<helper>\s+helper)?")
_SPEC_RE = re.compile(r"^SPEC\s+(?P<section>\d+)")


@dataclass(frozen=True)
class Rule:
    rule: str
    formula: str
    source: str  # module.function the words were taken from, or "" (data)


def _skip_parenthetical(text: str) -> str:
    """``(…)`` with nested parentheses removed from the start of ``text``."""
    if not text.startswith("("):
        return text
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0:
            return text[i + 1:]
    return text


def parse_docstring(doc: str | None, default_rule: str) -> tuple[str, str]:
    """(rule id, formula in words) of an engine function's docstring: the leading rule id
    (``L4``, ``T6.2``, ``H6/T1``, ``SPEC 5 (preamble)`` → ``§5``), then the first paragraph."""
    text = inspect.cleandoc(doc or "")
    first = " ".join(text.split("\n\n")[0].split())
    rule = default_rule
    m = _RULE_RE.match(first)
    if m:
        rule = m.group("rule")
        rest = first[m.end():].lstrip()
        rest = _skip_parenthetical(rest) if not re.match(r"^\(\S+\)\s*[=−+·]", rest) else rest
        first = rest.lstrip().lstrip(":,").lstrip()
    else:
        m = _SPEC_RE.match(first)
        if m:
            rule = f"§{m.group('section')}"
            first = _skip_parenthetical(first[m.end():].lstrip()).lstrip(": ").lstrip()
    return rule, first


def _from_function(fn: Callable[..., Any], outer: str = "") -> Rule:
    """The rule and words of ``fn``'s docstring; ``outer`` (the rule that applies it: ``H6`` for
    the horizon sale's T4) goes first, or replaces a bare section."""
    module = fn.__module__.rsplit(".", 1)[-1]
    rule, words = parse_docstring(fn.__doc__, MODULE_SECTION.get(module, ""))
    if outer and outer != rule:
        rule = outer if rule.startswith("§") else f"{outer}/{rule}"
    return Rule(rule, words, f"{fn.__module__}.{fn.__name__}")


@cache
def rule_for(column: str) -> Rule:
    """The rule id and the formula in words of a wide-frame column: the docstring of the function
    the engine's graph says made it (``graph.producer``), with the names its parameters were bound
    to when they differ from theirs (``v_reo_sale``: ``[j = lender_j, t = months_to_reo_sale]``)."""
    if column in schema.BY_NAME:
        return _input_rule(column)
    if column in STATE_FACTS:
        return Rule("data", f"data/states.csv, the row's state: {column}.", "")
    if column == "tax_params_year":
        return Rule("§3", "the year whose data/tax_years.toml parameters apply: tax_year, or the table's "
                          "last year for a later one.", "")
    if column in TAX_PARAMS:
        return Rule("data", f"data/tax_years.toml for (tax_year, filing_status): {column}.", "")
    if column in STATE_TAX_FACTS:
        return Rule("data", f"data/state_tax.csv, the row of the state with the largest year ≤ tax_year (else the "
                            f"earliest) (T13): {column}.", "")
    from dispo.engine import graph

    made_by = graph.producer(column)
    if made_by is None:
        return Rule("", "(an intermediate with no engine function of its name: see engine/graph.py)", "")
    if isinstance(made_by, graph.Step):
        return _from_function(made_by.explains[column], made_by.rule)
    r = _from_function(made_by.fn, made_by.rule)
    bound = [f"{p} = {s if isinstance(s, str) else _constant(s)}" for p, s in made_by.sources().items()
             if not isinstance(s, str) or s != p]
    return dataclasses.replace(r, formula=f"{r.formula} [{', '.join(bound)}]") if bound else r


def _constant(expr: pl.Expr) -> str:
    """A parameter bound to a literal (the horizon sale's cod_income = 0), in words."""
    try:
        return f"{pl.select(expr).item():g}"
    except (TypeError, ValueError, pl.exceptions.PolarsError):  # not a plain number literal
        return "a constant"


def _input_rule(column: str) -> Rule:
    from dispo.engine import defaults

    c = schema.BY_NAME[column]
    fn = getattr(defaults, column, None)
    if inspect.isfunction(fn) and fn.__module__ == defaults.__name__:  # a computed default (R1, S1, H0, H1 …)
        r = _from_function(fn)
        words = re.sub(rf"^{re.escape(column)} default:\s*", "", r.formula)
        return Rule(r.rule, f"input; default: {words}", r.source)
    default = c.default_text()
    words = f"input: {c.doc}" + (f" Default: {default}." if default and default != "null" else "")
    return Rule("§1", words, "")


# --- SPEC order ----------------------------------------------------------------------------------

_FAMILY_RANK = {"§1": 0, "data": 1, "§3": 2, "D": 3, "S": 4, "R": 0, "§4": 5, "T": 5, "B": 6, "§5": 7, "L": 8,
                "§6": 9, "H": 10}


def rule_key(rule: str) -> tuple[int, float]:
    """Sort key of a rule id in SPEC order (§1 inputs, data, §3, D1, S1–S3, T1–T12, B1, §5, L1–L9,
    H0–H9); compound ids sort by their first part."""
    first = rule.split("/")[0]
    if first.startswith("§"):
        return _FAMILY_RANK.get(first, 99), -1.0
    m = re.match(r"([A-Z])(\d+(?:\.\d+)?)", first)
    if not m:
        return 99, 0.0
    return _FAMILY_RANK.get(m.group(1), 99), float(m.group(2))


@dataclass
class Step:
    column: str
    rule: str
    formula: str
    value: Any
    note: str = ""


@dataclass
class Section:
    title: str
    steps: list[Step] = field(default_factory=list)


def _section_of(column: str, rule: Rule) -> str:
    if not rule.rule:
        return "other"
    if column in schema.BY_NAME:
        return "inputs"
    if column in STATE_FACTS or column in STATE_TAX_FACTS or column in TAX_PARAMS and column != "tax_params_year":
        return "data"
    first = rule.rule.split("/")[0]
    if first.startswith("B"):
        return "B1"
    for prefix in DISPOSITION_PREFIXES:
        if column.startswith(prefix + "_") and first[:1] in ("T", "S", "§"):
            return f"tax:{prefix}"
    source_module = rule.source.split(".")[2] if rule.source.startswith("dispo.engine.") else ""
    if column.startswith(SALE_PREFIXES) or first.startswith("H") or source_module == "hold":
        return "hold"
    if first.startswith("M") or source_module == "modification":
        return "modification"
    if first.startswith("L") or first == "§5" or source_module == "lender":
        return "lender"
    if first.startswith("T") or source_module == "tax":
        return "tax"
    return "shared"


SECTION_TITLES = [
    ("inputs", "Inputs after defaults (docs/spec.md section 1; R1, S1, H0, H1)"),
    ("data", "State facts and tax parameters (data/states.csv, data/tax_years.toml)"),
    ("shared", "Shared definitions (docs/spec.md section 3: D1, S2, S3)"),
    ("tax", "Tax, every disposition (docs/spec.md section 4)"),
    *[(f"tax:{d}", f"Tax of a {d.replace('_', '-')} (T1–T12)") for d in schema.DISPOSITIONS],
    ("B1", "Borrower's cash and best way out (B1)"),
    ("lender", "Lender: modification, short sale, deed-in-lieu, foreclosure (docs/spec.md section 5: L1–L10)"),
    ("modification", "Loan modification vs not modifying (docs/spec.md section 5.3: M1–M8)"),
    ("hold", "Sell now vs hold (docs/spec.md section 6: H0–H9)"),
    ("other", "Other intermediates"),
]


def explain_row(wide_row: dict[str, Any], original: dict[str, Any] | None = None,
                assumptions: Any = None) -> list[Section]:
    """The sections of one row of the wide frame, in SPEC order. ``original``: the row's typed input
    before defaults (to say which values are defaults). ``assumptions`` (the run's
    :class:`~dispo.params.Assumptions`): every per-row assumption (SPEC 5.5) is shown among the
    inputs with the value that applied and the level that supplied it (row, investor, pipeline,
    default)."""
    from dispo.engine.assumptions import assumption_sources

    sources: dict[str, str] = {}
    if assumptions is not None:  # SPEC 5.5: each per-row assumption, with its value and its source
        row = {**wide_row, **{k: v for k, v in (original or {}).items() if k != "investor_type"}}
        sources = assumption_sources(row, assumptions)
        wide_row = {**wide_row, **{name: wide_row.get(name) for name in sources}}
    order = {c: i for i, c in enumerate(wide_row)}
    grouped: dict[str, list[tuple[tuple[int, float], int, Step]]] = {k: [] for k, _ in SECTION_TITLES}
    for column, value in wide_row.items():
        if column in schema.LINEAGE_COLUMNS:
            continue
        rule = rule_for(column)
        note = ""
        if column in sources:  # SPEC 5.5: the value that applied and who supplied it
            note = f"from {sources[column]}"
            value = assumptions[column] if value is None else value
            if column in SWITCHES and value is not None:
                value = bool(value)  # a switch is held as 1.0/0.0: it reads, and goes to JSON, as true/false
        elif column in schema.BY_NAME and original is not None:
            given = original.get(column)
            if given is None and value is not None:
                note = "default"
        step = Step(column, rule.rule, rule.formula, value, note)
        section = _section_of(column, rule)
        key = (0, 0.0) if section in ("inputs", "data") else rule_key(rule.rule)
        grouped.setdefault(section, []).append((key, order[column], step))
    sections = []
    for key, title in SECTION_TITLES:
        steps = [s for _, _, s in sorted(grouped.get(key, []), key=lambda t: (t[0], t[1]))]
        if steps:
            sections.append(Section(title, steps))
    return sections


# --- where the row comes from -----------------------------------------------------------------------

@dataclass
class Explanation:
    property_id: str
    as_of: date
    source_file: str | None
    row_number: int | None
    pipeline: str | None
    assumptions_changed: dict[str, float]
    sections: list[Section]
    source: str  # "pipeline" or "run"
    mismatches: list[str] = field(default_factory=list)

    def step(self, column: str) -> Step:
        for s in self.sections:
            for st in s.steps:
                if st.column == column:
                    return st
        raise KeyError(column)

    def to_json(self) -> dict[str, Any]:
        return {
            "property_id": self.property_id,
            "as_of": self.as_of.isoformat(),
            "source": self.source,
            "source_file": self.source_file,
            "row_number": self.row_number,
            "pipeline": self.pipeline,
            "assumptions_changed": self.assumptions_changed,
            "mismatches": self.mismatches,
            "sections": [{"title": s.title, "steps": [
                {"rule": st.rule, "column": st.column, "value": _json_value(st.value), "formula": st.formula,
                 **({"note": st.note} if st.note else {})} for st in s.steps]} for s in self.sections],
        }


def _json_value(v: Any) -> Any:
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


def _reject_message(property_id: str, rejects: pl.DataFrame) -> str:
    parts = []
    for r in rejects.iter_rows(named=True):
        reasons = "; ".join(x for x in (r.get("reasons") or []) if x)
        parts.append(f"{r.get('source_file')} row {r.get('row_number')}: {reasons}")
    return f"{property_id}: the row was rejected, so it has no outputs ({' | '.join(parts)})"


def explain_from_pipeline(property_id: str, pipeline: Path, *, as_of: str | None = None,
                          inputs: list[str] | None = None) -> Explanation:
    """Ingest the pipeline's inputs (in memory), validate every copy of ``property_id`` as a run
    does, evaluate the accepted row and explain it."""
    import duckdb

    from dispo import config, engine
    from dispo.ingest import ingest
    from dispo.validate import validate

    cfg = config.load(pipeline, inputs=inputs, output_dir=None, as_of=as_of)
    if getattr(cfg, "input_uris", ()):
        raise DispoError(f"explain --pipeline reads local files only; {cfg.input_uris[0]} is a URI "
                         "(explain a finished run with --run DIR)")
    con = duckdb.connect()
    try:
        ingested = ingest(cfg.inputs, con, as_of=cfg.as_of, options=cfg.input_options)
        typed = ingested.typed
        if "property_id" not in typed.columns:  # pragma: no cover - ingest requires it
            raise DispoError("the inputs have no property_id column")
        mine = typed.filter(pl.col("property_id") == property_id)
        if mine.height == 0:
            hint = ""
            stripped = property_id.strip()
            if stripped != property_id and typed.filter(pl.col("property_id") == stripped).height:
                hint = f" (did you mean '{stripped}'?)"
            raise DispoError(f"{property_id}: no row with this property_id in {', '.join(ingested.files)}{hint}")
        counts = {f: mine.filter(pl.col(schema.LINEAGE_COLUMNS[0]) == f).height for f in ingested.files}
        subset = dataclasses.replace(ingested, typed=mine, rows_per_file={f: n for f, n in counts.items() if n})
        validated = validate(subset, as_of=cfg.as_of)
        if validated.rejects.height:
            raise DispoError(_reject_message(property_id, validated.rejects))
        accepted = validated.accepted
        wide = engine.evaluate_wide(accepted, as_of=cfg.as_of, assumptions=cfg.assumptions,
                                    cfg_defaults=cfg.defaults).collect()
    finally:
        con.close()
    row = wide.row(0, named=True)
    original = accepted.row(0, named=True)
    return Explanation(
        property_id=property_id, as_of=cfg.as_of, source_file=row.get("source_file"),
        row_number=row.get("row_number"), pipeline=cfg.name, assumptions_changed=cfg.assumptions.overrides(),
        sections=explain_row(row, original, cfg.assumptions), source="pipeline")


def _close(a: Any, b: Any, column: str) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return True
        tol = 1e-6 if column in schema.RATE_OUTPUTS else 0.005
        return abs(a - b) <= tol
    return a == b


def explain_from_run(property_id: str, run_dir: Path) -> Explanation:
    """Re-evaluate a finished run's row (its inputs after defaults, from results.parquet) with the
    run's as_of and assumptions (summary.json); the stored outputs are compared with the recomputed
    ones."""
    from dispo import engine
    from dispo.params import Assumptions

    run_dir = Path(run_dir)
    results_path, summary_path = run_dir / "results.parquet", run_dir / "summary.json"
    for p in (results_path, summary_path):
        if not p.is_file():
            raise DispoError(f"{p}: not found (is {run_dir} the output_dir of a finished run?)")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        as_of = date.fromisoformat(summary["as_of"])
    except (ValueError, KeyError) as e:
        raise DispoError(f"{summary_path}: unreadable summary ({e})") from None
    stored = pl.scan_parquet(results_path).filter(pl.col("property_id") == property_id).collect()
    if stored.height == 0:
        rejects_path = run_dir / "rejects.parquet"
        if rejects_path.is_file():
            rej = pl.read_parquet(rejects_path)
            if "property_id" in rej.columns:
                mine = rej.filter(pl.col("property_id").str.strip_chars() == property_id)
                if mine.height:
                    raise DispoError(_reject_message(property_id, mine))
        raise DispoError(f"{property_id}: no row with this property_id in {results_path}")
    assumptions = Assumptions.from_overrides(summary.get("assumptions_changed") or {}, where=str(summary_path))
    inputs = stored.select([c for c in (*schema.LINEAGE_COLUMNS, *schema.NAMES) if c in stored.columns])
    wide = engine.evaluate_wide(inputs, as_of=as_of, assumptions=assumptions,
                                cfg_defaults=summary.get("defaults") or {}).collect()
    row = wide.row(0, named=True)
    kept = stored.row(0, named=True)
    mismatches = [c for c in schema.RESULT_OUTPUTS if c in kept and c in row and not _close(kept[c], row[c], c)]
    return Explanation(
        property_id=property_id, as_of=as_of, source_file=row.get("source_file"), row_number=row.get("row_number"),
        pipeline=summary.get("pipeline"), assumptions_changed=assumptions.overrides(),
        sections=explain_row(row, None, assumptions), source="run", mismatches=mismatches)


# --- text ----------------------------------------------------------------------------------------------

#: A formula whose units are dollars: "($)", "($; …)", "($/month)", "($ at the horizon)" …
_MONEY_UNITS_RE = re.compile(r"\(\$(?![^)]*\bper \$)")


def is_money_step(column: str, formula: str = "") -> bool:
    """True for a money value: a column ``schema.is_money`` calls money, or an intermediate whose
    formula gives its units in dollars (``($)``, ``($/month)``, …), but not a ratio of dollars
    (``($ of payment per $ of balance)``) nor a rate column (``schema.RATE_OUTPUTS``, input rates).
    A name is no guide: ``sale_regular_rate_income`` is money (T8, worksheet line 19)."""
    if schema.is_money(column):
        return True
    declared = schema.BY_NAME.get(column)
    if declared is not None or column in schema.RATE_OUTPUTS:
        return False  # an input says what it is; a rate output is a rate
    return _MONEY_UNITS_RE.search(formula) is not None


def format_value(column: str, value: Any, formula: str = "") -> str:
    """A value for people: money to the cent with separators, other floats to 10 significant
    digits, dates ISO, booleans and boolean switches (``dil_with_junior_release``, held as 1.0/0.0)
    true/false, null as "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool) or column in SWITCHES and isinstance(value, (int, float)):
        return "true" if value else "false"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if is_money_step(column, formula):
            from dispo.reports.csv_safe import round_money

            return f"{pl.select(round_money(pl.lit(value))).item():,.2f}"
        return f"{value:.10g}"
    return str(value)

"""Parameters as data: federal tax years, state foreclosure facts and model assumptions.

The facts live in ``dispo/data`` (copied from the project's shared data); this module only reads
them, once, and shapes them for vectorized joins. Nothing here is a number typed into code.
"""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from importlib import resources
from typing import Any, Mapping

import polars as pl

STATUSES = ("single", "mfj", "mfs", "hoh")
#: tax_year range the schema accepts (docs/spec.md section 1); the join table covers all of it.
TAX_YEAR_MIN, TAX_YEAR_MAX = 2021, 2035


def _data_text(name: str) -> str:
    return resources.files("dispo").joinpath("data", name).read_text(encoding="utf-8")


# --- federal tax years (data/tax_years.toml) ---------------------------------------------------

@cache
def tax_years() -> dict[str, Any]:
    """The raw tax_years.toml."""
    return tomllib.loads(_data_text("tax_years.toml"))


@dataclass(frozen=True)
class TaxRates:
    """Rates that do not vary by year or status (tax_years.toml ``[rates]``)."""

    ordinary: tuple[float, ...]  # 7 rates; the last applies above the last bound
    ltcg: tuple[float, float, float]
    unrecaptured_1250_max: float
    niit: float


@cache
def tax_rates() -> TaxRates:
    r = tax_years()["rates"]
    ordinary = tuple(r["ordinary"])
    if any(a > b for a, b in zip(ordinary, ordinary[1:])):  # T(x) is the envelope of bracket_lines
        raise ValueError(f"tax_years.toml [rates] ordinary must not fall from one band to the next: {ordinary}")
    return TaxRates(ordinary, tuple(r["ltcg"]), r["unrecaptured_1250_max"], r["niit"])


def param_years() -> list[int]:
    return sorted(int(y) for y in tax_years()["year"])


#: Number of ordinary bracket bounds per status (6: the 10/12/22/24/32/35 % bands).
N_BRACKET_BOUNDS = 6


def _qpri_limit(year: int, status: str) -> float | None:
    for period in tax_years()["qpri"]:
        if period["first_year"] <= year <= period["last_year"]:
            return float(period["limit"][status])
    return None


def _capped(rates: tuple[float, ...], rate_cap: float | None) -> tuple[float, ...]:
    return rates if rate_cap is None else tuple(min(r, rate_cap) for r in rates)


def _offset_column(band: int, rate_cap: float | None) -> str:
    """The tax_param_frame column of band ``band``'s offset (1-based; see ``bracket_lines``)."""
    rates = tax_rates().ordinary
    capped = rate_cap is not None and rates[band - 1] > rate_cap
    return f"ord_offset_{band}" + ("_capped" if capped else "")


def _lines(rate_cap: float | None) -> list[tuple[int, float]]:
    """(band, rate) of the bands that start a new line: the first band and each rate increase."""
    rates = _capped(tax_rates().ordinary, rate_cap)
    return [(band, rate) for band, rate in enumerate(rates, start=1) if band == 1 or rate != rates[band - 2]]


@cache
def bracket_lines(rate_cap: float | None = None) -> tuple[tuple[float, str | None], ...]:
    """T7/T8: the ordinary schedule, its rates capped at ``rate_cap`` (T25 of rule T8), as the lines
    rate·x − offset of its bands, a line per distinct rate (a capped band's line is its
    predecessor's). The rates rise, so the schedule is convex and
    T(x) = Σ rate_k·max(0, min(x, top_k) − top_{k−1}) = max(0, max over the lines): the tax of the
    band holding x is the highest line there. ``offset`` names the ``tax_param_frame`` column of
    the row's (year, status): offset_k = offset_{k−1} + (rate_k − rate_{k−1})·top_{k−1}; None for
    the first band (0)."""
    if rate_cap not in (None, tax_rates().unrecaptured_1250_max):
        raise ValueError(f"bracket_lines: no offset columns for a rate cap of {rate_cap}")
    return tuple((rate, None if band == 1 else _offset_column(band, rate_cap)) for band, rate in _lines(rate_cap))


def _band_offsets(bounds: list[float], rate_cap: float | None) -> dict[str, float]:
    """The offset columns of ``bracket_lines(rate_cap)`` for one (year, status), computed exactly
    (the rates are decimal fractions, the bounds whole dollars)."""
    rates = [Fraction(str(r)) for r in _capped(tax_rates().ordinary, rate_cap)]
    offsets = [Fraction(0)]
    for band in range(2, len(rates) + 1):
        offsets.append(offsets[-1] + (rates[band - 1] - rates[band - 2]) * Fraction(str(bounds[band - 2])))
    return {_offset_column(band, rate_cap): float(offsets[band - 1]) for band, _ in _lines(rate_cap) if band > 1}


@cache
def tax_param_frame() -> pl.DataFrame:
    """One row per (tax_year, filing_status) for every tax_year the schema accepts.

    Columns: ``tax_year``, ``filing_status``, ``tax_params_year`` (the nearest year with parameters,
    docs/spec.md section 3), ``ord_top_1`` … ``ord_top_6`` (upper bounds of the ordinary bands),
    ``ord_offset_2`` … ``ord_offset_7`` and ``ord_offset_<k>_capped`` (the bands' lines, see
    ``bracket_lines``),
    ``ltcg_t0``, ``ltcg_t15`` (upper bounds of the 0 % and 15 % long-term bands),
    ``standard_deduction``, ``niit_threshold``, ``sec121_limit``, ``qpri_limit`` (the limit of the QPRI
    period holding tax_year; null outside every period) and ``qpri_limit_arrangement`` (the last
    period's limit, for a written arrangement made before the exclusion ended, rule T6).
    """
    data = tax_years()
    years = param_years()
    last_period = max(data["qpri"], key=lambda p: p["last_year"])
    rows = []
    for tax_year in range(TAX_YEAR_MIN, TAX_YEAR_MAX + 1):
        py = min(max(tax_year, years[0]), years[-1])
        y = data["year"][str(py)]
        for status in STATUSES:
            row: dict[str, Any] = {
                "tax_year": tax_year,
                "filing_status": status,
                "tax_params_year": py,
            }
            bounds = y["ordinary"][status]
            assert len(bounds) == N_BRACKET_BOUNDS, f"tax_years.toml {py} {status}: 6 bracket bounds expected"
            for k, top in enumerate(bounds, start=1):
                row[f"ord_top_{k}"] = float(top)
            for cap in (None, tax_rates().unrecaptured_1250_max):
                row.update(_band_offsets([float(b) for b in bounds], cap))
            row["ltcg_t0"], row["ltcg_t15"] = (float(v) for v in y["ltcg"][status])
            row["standard_deduction"] = float(y["standard_deduction"][status])
            row["niit_threshold"] = float(data["niit_threshold"][status])
            row["sec121_limit"] = float(data["sec121_limit"][status])
            row["qpri_limit"] = _qpri_limit(tax_year, status)
            row["qpri_limit_arrangement"] = float(last_period["limit"][status])
            rows.append(row)
    return pl.DataFrame(rows, schema_overrides={"tax_year": pl.Int32, "tax_params_year": pl.Int32,
                                                "qpri_limit": pl.Float64})


@cache
def qpri_years() -> tuple[int, int]:
    """First and last discharge year of the QPRI exclusion (rule T6: 2007..2025)."""
    periods = tax_years()["qpri"]
    return min(p["first_year"] for p in periods), max(p["last_year"] for p in periods)


# --- states (data/states.csv) -----------------------------------------------------------------

_BOOL = {"true": True, "false": False}


@cache
def states() -> tuple[dict[str, Any], ...]:
    rows = []
    for r in csv.DictReader(_data_text("states.csv").splitlines()):
        rows.append({
            "state": r["state"],
            "judicial": _BOOL[r["judicial"]],
            "foreclosure_days": float(r["foreclosure_days"]),
            "foreclosure_legal_cost": float(r["foreclosure_legal_cost"]),
            "purchase_money_nonrecourse": _BOOL[r["purchase_money_nonrecourse"]],
            "short_sale_nonrecourse": _BOOL[r["short_sale_nonrecourse"]],
        })
    return tuple(rows)


def state_codes() -> list[str]:
    return [r["state"] for r in states()]


@cache
def state_frame() -> pl.DataFrame:
    """states.csv as a frame for joining on ``state`` (rules R1, T2, L2, L4)."""
    return pl.DataFrame(list(states()))


# --- statute (data/statute.toml) ----------------------------------------------------------------

@dataclass(frozen=True)
class StatuteFigure:
    """A figure of law or regulation (or a SPEC convention) with its unit, rule and legal reference."""

    name: str
    value: Any
    unit: str
    rule: str
    reference: str


@cache
def statute_figures() -> dict[str, StatuteFigure]:
    """data/statute.toml: the recovery period, the §121 tests, the holding period, Reg. X limits …"""
    raw = tomllib.loads(_data_text("statute.toml"))
    return {name: StatuteFigure(name, v["value"], v["unit"], v["rule"], v["reference"]) for name, v in raw.items()}


def statute(name: str) -> Any:
    """The value of the figure ``name`` of data/statute.toml (e.g. ``depreciation_recovery_years``)."""
    return statute_figures()[name].value


# --- state income tax (data/state_tax.csv, rule T13) ------------------------------------------------

#: The wide-frame columns the state tax table adds, by the row's (state, tax_year).
STATE_TAX_COLUMNS = ("state_table_rate_ordinary", "state_table_rate_ltcg", "conforms_qpri", "state_table_year")


@cache
def state_tax_rows() -> tuple[dict[str, Any], ...]:
    """data/state_tax.csv: one row per state and year (rates as decimals, conforms_qpri a bool)."""
    rows = []
    for r in csv.DictReader(_data_text("state_tax.csv").splitlines()):
        rows.append({"state": r["state"].strip(), "year": int(r["year"]), "rate_ordinary": float(r["rate_ordinary"]),
                     "rate_ltcg": float(r["rate_ltcg"]), "conforms_qpri": _BOOL[r["conforms_qpri"].strip()],
                     "source": r["source"]})
    return tuple(rows)


def state_tax_row(state: str, tax_year: int) -> dict[str, Any] | None:
    """T13: the table row of ``state`` with the largest year <= tax_year, else its earliest year;
    None when the table has no row for the state."""
    mine = sorted((r for r in state_tax_rows() if r["state"] == state), key=lambda r: r["year"])
    if not mine:
        return None
    earlier = [r for r in mine if r["year"] <= tax_year]
    return earlier[-1] if earlier else mine[0]


@cache
def state_tax_frame() -> pl.DataFrame:
    """The state tax table resolved for every (state, tax_year) a row may have (the tax parameter
    table's years), for joining on both: ``STATE_TAX_COLUMNS`` (rule T13)."""
    years = sorted(set(tax_param_frame()["tax_year"].to_list()))
    out = []
    for state in sorted({r["state"] for r in state_tax_rows()}):
        for year in years:
            r = state_tax_row(state, year)
            out.append({"state": state, "tax_year": year, "state_table_rate_ordinary": r["rate_ordinary"],
                        "state_table_rate_ltcg": r["rate_ltcg"], "conforms_qpri": r["conforms_qpri"],
                        "state_table_year": r["year"]})
    return pl.DataFrame(out, schema_overrides={"tax_year": pl.Int32, "state_table_year": pl.Int32})


# --- modification behaviour tables (data/mod_redefault.csv, data/self_cure.csv) -------------------

def _csv_rows(name: str) -> list[dict[str, str]]:
    """The rows of a package CSV, its leading ``#`` comment lines (the sources) skipped."""
    lines = [line for line in _data_text(name).splitlines() if line.strip() and not line.startswith("#")]
    return list(csv.DictReader(lines))


@dataclass(frozen=True)
class BandTable:
    """An M3 table: ``values`` in row-major order of a full grid over the lower bounds of each key
    (``bounds[k]`` ascending), so band indexes (i, j) find ``values[i·len(bounds[1]) + j]``."""

    keys: tuple[str, ...]
    bounds: tuple[tuple[float, ...], ...]
    values: tuple[float, ...]


def _band_table(name: str, keys: tuple[str, ...], value: str) -> BandTable:
    rows = _csv_rows(name)
    bounds = tuple(tuple(sorted({float(r[k]) for r in rows})) for k in keys)
    grid = {tuple(float(r[k]) for k in keys): float(r[value]) for r in rows}
    cells = [()]
    for b in bounds:
        cells = [(*cell, x) for cell in cells for x in b]
    if len(rows) != len(cells) or set(grid) != set(cells):
        raise ValueError(f"data/{name}: the rows must form a full grid over {', '.join(keys)}, each cell once")
    return BandTable(keys, bounds, tuple(grid[cell] for cell in cells))


@cache
def redefault_table() -> BandTable:
    """M3 p_redefault by (mod_payment_reduction, mod_mtmltv) lower bounds."""
    return _band_table("mod_redefault.csv", ("pr_from", "mtmltv_from"), "p_redefault")


@cache
def self_cure_table() -> BandTable:
    """M3 p_cure by months_delinquent lower bound."""
    return _band_table("self_cure.csv", ("months_delinquent_from",), "p_cure")


# --- investor rules (data/investor_rules.csv) ---------------------------------------------------

#: SPEC 5.4: the assumptions an investor_type row supplies (a blank cell: the pipeline's value).
INVESTOR_ASSUMPTIONS = ("relocation_assistance", "junior_lien_payoff_cap", "min_net_proceeds_share",
                        "dil_with_junior_release")


@cache
def investor_rules() -> pl.DataFrame:
    """investor_rules.csv as a frame keyed by ``investor_type`` (SPEC 5.4): the four assumptions
    typed (Float64, dil_with_junior_release Boolean), a blank cell null, and ``source``."""
    rows = _csv_rows("investor_rules.csv")
    data: dict[str, list[Any]] = {"investor_type": [r["investor_type"].strip().lower() for r in rows]}
    for name in INVESTOR_ASSUMPTIONS:
        cells = [(r.get(name) or "").strip().lower() for r in rows]
        data[name] = [_BOOL[v] if name == "dil_with_junior_release" and v else (float(v) if v else None)
                      for v in cells]
    data["source"] = [r.get("source", "") for r in rows]
    schema = {n: (pl.Boolean if n == "dil_with_junior_release" else pl.Float64) for n in INVESTOR_ASSUMPTIONS}
    return pl.DataFrame(data, schema={"investor_type": pl.String, **schema, "source": pl.String})


def investor_types() -> tuple[str, ...]:
    return tuple(investor_rules()["investor_type"].to_list())


# --- assumptions (data/assumptions.toml) --------------------------------------------------------

@dataclass(frozen=True)
class AssumptionSpec:
    name: str
    value: float | None
    min: float
    max: float
    rule: str
    doc: str
    #: A switch (``value = true`` in the file): a pipeline sets it with true/false, held as 1.0/0.0.
    boolean: bool = False
    #: A whole number (``integer = true``: months, counts; SPEC 5.3 "months integers").
    integer: bool = False
    #: The lower bound excluded (``min_exclusive = true``: e.g. min_net_proceeds_share > 0).
    min_exclusive: bool = False
    #: Dollars (``money = true``: e.g. mod_cost): its column is money (``schema.is_money``).
    money: bool = False


def _assumption_spec(name: str, v: Mapping[str, Any]) -> AssumptionSpec:
    """One entry of assumptions.toml; an entry without ``value`` has no default (None: the rule
    does without it unless an investor or the pipeline sets it, e.g. min_net_proceeds_share)."""
    value = v.get("value")
    return AssumptionSpec(name, None if value is None else float(value), float(v.get("min", 0)),
                          float(v.get("max", 1)), v["rule"], v["doc"], isinstance(value, bool),
                          bool(v.get("integer", False)), bool(v.get("min_exclusive", False)),
                          bool(v.get("money", False)))


@cache
def assumption_specs() -> dict[str, AssumptionSpec]:
    raw = tomllib.loads(_data_text("assumptions.toml"))
    return {name: _assumption_spec(name, v) for name, v in raw.items()}


class AssumptionError(ValueError):
    """An unknown assumption name or a value outside its bounds."""


@dataclass(frozen=True)
class Assumptions:
    """The model assumptions of docs/spec.md sections 5.1 and 5.2, with a pipeline's overrides applied.

    Read a value as ``a["reo_discount"]`` or ``a.reo_discount``.
    """

    values: Mapping[str, float | None]

    def __getitem__(self, name: str) -> float | None:
        return self.values[name]

    def __getattr__(self, name: str) -> float:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def overrides(self) -> dict[str, float]:
        """The assumptions that differ from their defaults (for reports)."""
        specs = assumption_specs()
        return {k: bool(v) if specs[k].boolean else v for k, v in self.values.items() if v != specs[k].value}

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Any] | None = None, where: str = "[assumptions]") -> "Assumptions":
        specs = assumption_specs()
        values = {name: s.value for name, s in specs.items()}
        for name, raw in (overrides or {}).items():
            if name not in specs:
                raise AssumptionError(f"{where}: unknown assumption '{name}' (known: {', '.join(sorted(specs))})")
            s = specs[name]
            if s.boolean:
                if not isinstance(raw, bool):
                    raise AssumptionError(f"{where}: {name} must be true or false, got {raw!r}")
                values[name] = float(raw)
                continue
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                raise AssumptionError(f"{where}: {name} must be a number, got {raw!r}")
            low_ok = s.min < float(raw) if s.min_exclusive else s.min <= float(raw)
            if not (low_ok and float(raw) <= s.max):
                raise AssumptionError(f"{where}: {name} = {raw} is outside {s.min:g}..{s.max:g}")
            if s.integer and not float(raw).is_integer():
                raise AssumptionError(f"{where}: {name} = {raw} is not a whole number")
            values[name] = float(raw)
        return cls(values)

"""The input schema of dispo: one declaration, everything else derived from it.

docs/spec.md section 1 lists the input columns; this module is that table as data. Ingest derives its
DuckDB casts from it, validation its Great Expectations suite, the engine its defaults, config its
check of ``[defaults]`` values, and the README its column table (``dispo schema --markdown``).

Nothing here computes money; it only says what a valid row looks like.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from dispo import params

DType = Literal["string", "float", "int", "bool", "date"]

#: Upper bound of every money column and of other_taxable_income (docs/spec.md section 1): larger values
#: are data errors and would overflow the arithmetic.
MONEY_MAX = 1e12
INCOME_MAX = 1e11


@dataclass(frozen=True)
class Column:
    """One input column of docs/spec.md section 1.

    ``default`` is the literal default; ``cfg`` marks the *(cfg)* ones a pipeline's ``[defaults]``
    may override; ``default_rule`` names a computed default (R1, S1, H0, H1, ...) applied by the
    engine. Bounds are inclusive unless ``*_exclusive`` says otherwise.
    """

    name: str
    dtype: DType
    doc: str
    required: bool = False
    default: Any = None
    cfg: bool = False
    default_rule: str | None = None
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False
    allowed: tuple[str, ...] | None = None
    case: Literal["upper", "lower"] | None = None
    money: bool = False

    @property
    def percent_ok(self) -> bool:
        """Rate and share columns accept a trailing ``%`` that divides by 100 (docs/spec.md section 1, parsing)."""
        return self.dtype == "float" and (self.name.endswith("_rate") or self.name.endswith("_share"))

    @property
    def has_bounds(self) -> bool:
        return self.min is not None or self.max is not None

    def bounds_text(self) -> str:
        """The bounds in words, as SPEC writes them: ``> 0``, ``0 ≤ x ≤ 1``, ``≥ 0``."""
        lo = hi = ""
        if self.min is not None:
            lo = f"{_fmt(self.min)} {'<' if self.min_exclusive else '≤'} "
        if self.max is not None:
            hi = f" {'<' if self.max_exclusive else '≤'} {_fmt(self.max)}"
        if lo and hi:
            return f"{lo}x{hi}"
        if lo:
            return f"{'>' if self.min_exclusive else '≥'} {_fmt(self.min)}"
        if hi:
            return f"{'<' if self.max_exclusive else '≤'} {_fmt(self.max)}"
        return ""

    def default_text(self) -> str:
        if self.default_rule:
            return f"rule {self.default_rule}" + (" (cfg)" if self.cfg else "")
        if self.default is None:
            return "" if self.required else "null"
        return f"{_fmt(self.default)}" + (" (cfg)" if self.cfg else "")


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{value:.0f}" if abs(value) < 1e6 else f"{value:.0e}".replace("+", "")
    return str(value)


def _money(name: str, doc: str, **kw: Any) -> Column:
    """A money column: float, ≥ 0 unless said otherwise, at most MONEY_MAX."""
    kw.setdefault("min", 0.0)
    kw.setdefault("max", MONEY_MAX)
    return Column(name, "float", doc, money=True, **kw)


HARDSHIPS = ("job_loss", "job_change", "divorce", "medical", "rate_reset", "rental_loss", "death", "other")
OCCUPANCIES = ("primary", "rental", "second_home")
FILING_STATUSES = ("single", "mfj", "mfs", "hoh")

#: docs/spec.md section 1, in its order.
COLUMNS: tuple[Column, ...] = (
    Column("property_id", "string", "Non-empty after trimming; unique in the run (case-sensitive).", required=True),
    Column("state", "string", "Two-letter state code (one of data/states.csv), upper-cased.", required=True,
           allowed=tuple(params.state_codes()), case="upper"),
    Column("occupancy", "string", "How the property is used today.", required=True, allowed=OCCUPANCIES,
           case="lower"),
    _money("market_value", "Today's fair market value (FMV).", required=True, min=0.0, min_exclusive=True),
    _money("purchase_price", "Price paid.", required=True, min=0.0, min_exclusive=True),
    Column("purchase_date", "date", "ISO YYYY-MM-DD, on or before as_of.", required=True),
    _money("first_lien_balance", "First lien principal.", required=True),
    Column("address", "string", "Free text, shown in reports."),
    _money("capital_improvements", "Improvements added to basis.", default=0.0),
    _money("casualty_losses", "Casualty losses (basis reductions).", default=0.0),
    _money("depreciation_taken", "Depreciation claimed so far (rule D1 adds what was allowable).", default=0.0),
    _money("land_value", "Land part of the depreciable basis (rule D1)."),
    Column("rental_start_date", "date", "Placed in service as a rental; on or after purchase_date, on or before as_of.",
           default_rule="purchase_date for rentals"),
    _money("fmv_at_conversion", "FMV when a home became a rental.", min=0.0, min_exclusive=True),
    _money("second_lien_balance", "Second lien principal.", default=0.0),
    _money("second_lien_payment", "Second lien monthly payment (taken as interest only).", default=0.0),
    Column("interest_rate", "float", "First lien note rate, annual.", default=0.065, cfg=True, min=0.0, max=0.3),
    Column("remaining_term_months", "int", "First lien months left.", default=300, cfg=True, min=1, max=480),
    _money("monthly_pi", "First lien principal + interest, monthly.", default_rule="H1"),
    _money("arrears", "Past-due interest, fees and advances owed to the first lien.", default=0.0),
    Column("months_delinquent", "int", "Months behind on the first lien.", default=0, min=0, max=240),
    Column("foreclosure_sale_date", "date", "A scheduled foreclosure sale."),
    _money("short_sale_offer", "A short-sale offer in hand.", min=0.0, min_exclusive=True),
    Column("recourse", "bool", "Borrower personally liable for the debt.", default=True, cfg=True,
           default_rule="R1"),
    Column("deficiency_forgiven_share", "float", "Share of a recourse shortfall the lenders forgive.",
           default=1.0, cfg=True, min=0.0, max=1.0),
    _money("property_tax_annual", "Property tax, annual.", default=0.0),
    _money("insurance_annual", "Insurance, annual.", default=0.0),
    _money("hoa_monthly", "HOA dues, monthly.", default=0.0),
    _money("maintenance_monthly", "Maintenance, monthly.", default=0.0),
    _money("utilities_monthly", "Utilities paid by the owner, monthly.", default=0.0),
    _money("rent_monthly", "Market rent; for a primary residence what the owner saves by living there.",
           default_rule="H0"),
    Column("vacancy_rate", "float", "Share of the year vacant.", default=0.05, cfg=True, min=0.0, max=1.0,
           max_exclusive=True),
    Column("management_fee_rate", "float", "Share of collected rent paid to a manager.", default=0.0, cfg=True,
           min=0.0, max=1.0, max_exclusive=True),
    Column("appreciation_rate", "float", "Expected annual change of value.", default=0.03, cfg=True,
           min=-0.5, max=0.5),
    Column("alt_return_rate", "float", "Annual return on freed capital.", default=0.05, cfg=True,
           min=-0.5, max=1.0),
    Column("hold_months", "int", "Horizon of the hold scenario.", default=60, cfg=True, min=1, max=360),
    Column("selling_cost_rate", "float", "Commission + seller closing costs.", default=0.06, cfg=True,
           min=0.0, max=0.2),
    Column("filing_status", "string", "Federal filing status.", default="single", cfg=True,
           allowed=FILING_STATUSES, case="lower"),
    _money("other_taxable_income", "Taxable income before this disposition.", default=75000.0, cfg=True,
           max=INCOME_MAX),
    Column("tax_year", "int", "Year whose tax parameters apply (2021 is the first with parameters).",
           default_rule="year of as_of", min=2021, max=2035),
    Column("months_lived_last_5y", "int", "Months used as main home in the 60 before as_of.",
           default_rule="S1", min=0, max=60),
    Column("sec121_used_last_2y", "bool", "Another home-sale exclusion taken in the last 2 years.", default=False),
    _money("insolvency_amount", "Liabilities minus FMV of assets just before the discharge.", default=0.0),
    _money("suspended_passive_losses", "A rental's suspended passive losses, released by a taxable disposition.",
           default=0.0),
    Column("bankrupt", "bool", "Discharge in a Title 11 case.", default=False),
    _money("qpri_balance", "Acquisition debt on the main home; at most first + second lien.",
           default_rule="first_lien_balance for primary, else 0"),
    Column("qpri_arrangement_before_2026", "bool", "Written workout agreed before 2026.", default=False),
    Column("hardship", "string", "Borrower hardship.", allowed=HARDSHIPS, case="lower"),
    Column("nonqualified_use_months", "int", "Months after 2008, before the last use as main home, when the home "
           "was not the owner's main home (§121(b)(5), rule S4).", default=0, min=0, max=600),
    Column("borrower_is_entity", "bool", "The borrower is a corporation, LLC or partnership (state anti-deficiency "
           "rules that protect individuals do not apply, rule T2).", default=False),
    Column("state_tax_rate", "float", "The borrower's marginal state income tax rate on ordinary income; "
           "default: the state's rate in data/state_tax.csv (rule T13).", default_rule="T13", min=0.0, max=0.2),
    Column("state_ltcg_rate", "float", "The borrower's marginal state income tax rate on long-term gain; "
           "default: the state's rate in data/state_tax.csv (rule T13).", default_rule="T13", min=0.0, max=0.2),
    _money("monthly_gross_income", "All borrowers' gross monthly income (M1 HTI target).", min=0.0,
           min_exclusive=True),
    Column("prior_modifications", "int", "Earlier modifications of this loan (M2).", default=0, min=0, max=20),
    Column("investor_type", "string", "Investor whose rules apply (SPEC 5.4, data/investor_rules.csv).", cfg=True,
           allowed=params.investor_types(), case="lower"),
)

#: Assumptions of data/assumptions.toml that are not per-row columns: SPEC 5.5 covers 5.1–5.3,
#: building_share and imputed_rent_yield, not the waiting periods or the state-tax switch.
NOT_PER_ROW_ASSUMPTIONS = frozenset({"wait_years_sale", "wait_years_short_sale", "wait_years_deed_in_lieu",
                                     "wait_years_foreclosure", "state_income_tax"})


def _assumption_column(spec: params.AssumptionSpec) -> Column:
    """SPEC 5.5: an assumption as an optional input column of the same name, its bounds its rule."""
    doc = f"Per-row assumption (SPEC 5.5, rule {spec.rule}): {spec.doc}."
    source = "5.5: investor, [assumptions], built-in"
    if spec.boolean:
        return Column(spec.name, "bool", doc, default_rule=source)
    return Column(spec.name, "int" if spec.integer else "float", doc, default_rule=source, min=spec.min,
                  max=spec.max, min_exclusive=spec.min_exclusive, money=spec.money)


#: SPEC 5.5: the per-row assumption columns, after the columns of section 1 (each declared once, in
#: data/assumptions.toml). Absent from the input, they are absent from the wide frame too: the
#: engine then reads the assumption's value (engine/assumptions.py).
ASSUMPTION_COLUMNS: tuple[Column, ...] = tuple(
    _assumption_column(s) for name, s in params.assumption_specs().items() if name not in NOT_PER_ROW_ASSUMPTIONS)
ASSUMPTION_NAMES: frozenset[str] = frozenset(c.name for c in ASSUMPTION_COLUMNS)
COLUMNS = COLUMNS + ASSUMPTION_COLUMNS

BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}
NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
REQUIRED: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.required)
CFG_DEFAULTS: dict[str, Any] = {c.name: c.default for c in COLUMNS if c.cfg}


@dataclass(frozen=True)
class CrossRule:
    """A rule across columns of one row (docs/spec.md section 1), checked after parsing.

    ``sql`` is a DuckDB boolean that is true for a good row (nulls pass: a null optional value takes
    its default, which satisfies the rule by construction); ``as_of`` is bound as a parameter.
    ``column`` is the column named in the reason.
    """

    name: str
    column: str
    message: str
    sql: str
    columns: tuple[str, ...] = field(default=())


CROSS_RULES: tuple[CrossRule, ...] = (
    CrossRule("purchase_date_not_after_as_of", "purchase_date", "after as_of",
              "purchase_date <= $as_of", ("purchase_date",)),
    CrossRule("rental_start_not_before_purchase", "rental_start_date", "before purchase_date",
              "rental_start_date IS NULL OR purchase_date IS NULL OR rental_start_date >= purchase_date",
              ("rental_start_date", "purchase_date")),
    CrossRule("rental_start_not_after_as_of", "rental_start_date", "after as_of",
              "rental_start_date IS NULL OR rental_start_date <= $as_of", ("rental_start_date",)),
    CrossRule("qpri_within_debt", "qpri_balance", "more than first_lien_balance + second_lien_balance",
              "qpri_balance IS NULL OR first_lien_balance IS NULL OR "
              "qpri_balance <= first_lien_balance + coalesce(second_lien_balance, 0)",
              ("qpri_balance", "first_lien_balance", "second_lien_balance")),
)

#: Rows whose property_id occurs more than once are all rejected (docs/spec.md section 1, quarantine).
UNIQUE_COLUMN = "property_id"


# --- outputs (docs/spec.md section 7): an input column may not use one of these names -----------------

DISPOSITIONS: tuple[str, ...] = ("sale", "short_sale", "deed_in_lieu", "foreclosure")
LENDER_OPTIONS: tuple[str, ...] = ("modification", "short_sale", "deed_in_lieu", "foreclosure")

SHARED_OUTPUTS: tuple[str, ...] = (
    "debt", "payoff", "equity", "negative_equity", "ltv", "underwater", "months_held",
    "allowable_depreciation", "depreciation", "depreciation_under_claimed", "adjusted_basis",
    "loss_basis", "months_owned_last_5y", "sec121_eligible", "sec121_max", "nqu_share", "relocation",
    "tax_params_year",
)
T12_QUANTITIES: tuple[str, ...] = (
    "amount_realized", "gain", "excluded_gain", "deductible_loss", "cod_income", "cod_excluded",
    "cod_taxable", "federal_tax", "state_tax", "tax", "deficiency_owed", "borrower_net",
)
TAX_OUTCOME_EXTRA: tuple[str, ...] = (
    "ltcg", "stcg", "unrecaptured_1250", "ordinary_tax", "tax_1250", "ltcg_tax", "niit",
    "cod_excluded_bankruptcy", "cod_excluded_qpri", "cod_excluded_insolvency", "state_rate_ordinary",
    "state_rate_ltcg",
)
TAX_OUTPUTS: tuple[str, ...] = (
    tuple(f"{d}_{q}" for d in DISPOSITIONS for q in T12_QUANTITIES)
    + ("borrower_best_option",)
    + tuple(f"years_to_new_mortgage_{d}" for d in DISPOSITIONS)
)
LENDER_OUTPUTS: tuple[str, ...] = (
    ("claim", "short_sale_price", "foreclosure_months", "dil_eligible", "short_sale_feasible",
     "deed_in_lieu_feasible", "modification_feasible", "pv_short_sale", "pv_deed_in_lieu", "pv_foreclosure")
    + tuple(f"lender_loss_{x}" for x in LENDER_OPTIONS)
    + tuple(f"lender_severity_{x}" for x in LENDER_OPTIONS)
    + ("lender_best_option", "lender_savings_vs_foreclosure", "min_acceptable_offer", "offer_status",
       "counter_offer", "offer_acceptable", "loss_mit_candidate", "days_to_foreclosure_sale", "urgent",
       "fc_referral_allowed")
)
#: SPEC 5.3 M8 / section 7: the modification outputs, after the lender group.
MODIFICATION_OUTPUTS: tuple[str, ...] = (
    "mod_eligible", "mod_upb", "mod_mtmltv", "mod_interest_rate", "mod_new_term_months", "mod_target_pi",
    "mod_forbearance", "mod_monthly_pi", "mod_payment_reduction", "mod_target_met", "mod_hti", "p_redefault",
    "p_cure", "pv_modification", "pv_no_modification", "mod_npv_gain", "mod_payment_saving", "keeps_home",
    "keep_home_probability",
)
HOLD_OUTPUTS: tuple[str, ...] = (
    "net_rent_monthly", "costs_ex_pi", "monthly_burn", "net_sale_proceeds_now", "loss_on_sale_now",
    "breakeven_months", "tax_sale_now", "equity_after_tax_now", "fv_sell", "value_at_horizon",
    "balance_at_horizon", "fv_flows", "tax_sale_at_horizon", "fv_hold", "sell_advantage_pv",
    "hold_recommendation", "cost_of_doing_nothing_annual", "breakeven_appreciation_rate",
)
RESULT_OUTPUTS: tuple[str, ...] = SHARED_OUTPUTS + TAX_OUTPUTS + LENDER_OUTPUTS + MODIFICATION_OUTPUTS + HOLD_OUTPUTS
#: Wide-frame columns the tax_outcomes table reads: ``<d>_<quantity>``.
TAX_OUTCOME_SOURCES: tuple[str, ...] = tuple(
    f"{d}_{q}" for d in DISPOSITIONS for q in T12_QUANTITIES + TAX_OUTCOME_EXTRA
)

#: Columns the pipeline adds to every row to say where it came from.
LINEAGE_COLUMNS: tuple[str, ...] = ("source_file", "row_number")
#: Names an input file may not use: every output of section 7, plus lineage and report columns.
RESERVED_NAMES: frozenset[str] = frozenset(RESULT_OUTPUTS + LINEAGE_COLUMNS + ("rank", "reasons", "disposition"))


@cache
def markdown_table() -> str:
    """The README's input table, generated from COLUMNS (never hand-copied)."""
    lines = ["| column | type | required | default | rule | meaning |", "|---|---|---|---|---|---|"]
    for c in COLUMNS:
        rule = c.bounds_text()
        if c.allowed:
            shown = c.allowed if len(c.allowed) <= 8 else (*c.allowed[:3], "…")
            rule = "one of " + ", ".join(f"`{a}`" for a in shown)
        if c.money:
            rule = (rule + ", " if rule else "") + "money"
        if c.percent_ok:
            rule += "; `6%` accepted"
        lines.append(
            f"| `{c.name}` | {c.dtype} | {'yes' if c.required else ''} | {c.default_text()} | {rule} | {c.doc} |"
        )
    return "\n".join(lines)


#: Output columns that are floats but not money: rates and shares (kept to full precision in every
#: file) and months. Every other float output is money in dollars, rounded to cents in CSV/HTML/XLSX.
RATE_OUTPUTS: frozenset[str] = frozenset(
    {"ltv", "breakeven_appreciation_rate", "nqu_share", "state_rate_ordinary", "state_rate_ltcg"}
    | {f"lender_severity_{x}" for x in LENDER_OPTIONS}
    | {"mod_mtmltv", "mod_interest_rate", "mod_payment_reduction", "mod_hti", "p_redefault", "p_cure",
       "keep_home_probability"}
)
MONTH_OUTPUTS: frozenset[str] = frozenset({"breakeven_months", "foreclosure_months", "mod_new_term_months"})
YEAR_OUTPUTS: frozenset[str] = frozenset(f"years_to_new_mortgage_{d}" for d in DISPOSITIONS)
_NOT_MONEY = RATE_OUTPUTS | MONTH_OUTPUTS | YEAR_OUTPUTS | frozenset({"days_to_foreclosure_sale", "months_held",
                                                                     "months_owned_last_5y", "tax_params_year"})


def is_money(column: str) -> bool:
    """True for a money column: what CSV/HTML/XLSX round to cents. Input columns say so in their
    declaration; every float output is money except rates, months and years; intermediate columns
    of tax_outcomes (``<d>_`` quantities) are money; an unknown extra input column is never rounded."""
    c = BY_NAME.get(column)
    if c is not None:
        return c.money
    if column in _NOT_MONEY:
        return False
    return column in RESULT_OUTPUTS or column in T12_QUANTITIES or column in TAX_OUTCOME_EXTRA

"""The random model of one block of synthetic rows, cut by topic.

:func:`block` draws ``BLOCK_ROWS`` rows from one random stream. The topic functions run in a fixed
order -- where and use, values, delinquency, debt, note, carrying costs, foreclosure calendar,
rental, borrower, scenario knobs, address, then the columns added in docs/spec.md revision 2 -- each
reading what the earlier ones drew (``m``, a dict of arrays) and adding its own. The order is the
order of draws from the stream: moving a draw changes every value after it, so a new quantity is
drawn at the end (:func:`revision_2`), and the portfolio of a given seed stays what it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import polars as pl
import pyarrow as pa

from dispo import params, schema
from dispo.generate import market as mk
from dispo.generate.market import cents, epoch_days, hpi, pick, round_to

#: Rows per random block. Every block draws from its own stream, so output is independent of chunking.
BLOCK_ROWS = 1 << 14
KIND_CODE = {"lender": 1, "investor": 2}
#: Input columns the generator leaves empty on purpose: the state rates of rule T13 come from
#: data/state_tax.csv by the row's state and income, and the per-row assumptions of 5.5 from the
#: pipeline's [assumptions]; a drawn per-row value would only hide them.
LEFT_EMPTY = ("state_tax_rate", "state_ltcg_rate",
              *(c for c in schema.NAMES if c in params.assumption_specs()))

Model = dict[str, np.ndarray]


class Draw:
    """The block's random stream and its draws of ``n`` values."""

    def __init__(self, kind: str, seed: int, block_index: int, as_of: date) -> None:
        self.rng = np.random.default_rng(np.random.SeedSequence([seed, KIND_CODE[kind], block_index]))
        self.n = BLOCK_ROWS
        self.lender = kind == "lender"
        self.as_of = as_of
        self.asof = epoch_days(as_of)

    def u(self) -> np.ndarray:
        return self.rng.random(self.n)

    def share(self, p: float) -> np.ndarray:
        return self.rng.random(self.n) < p

    def uniform(self, lo: float, hi: float) -> np.ndarray:
        return self.rng.uniform(lo, hi, self.n)

    def lognormal(self, median: float, sigma: float) -> np.ndarray:
        return median * np.exp(self.rng.normal(0.0, sigma, self.n))

    def normal(self, sigma: float) -> np.ndarray:
        return self.rng.normal(0.0, sigma, self.n)

    def integers(self, lo: int, hi: int) -> np.ndarray:
        return self.rng.integers(lo, hi, self.n)

    def choice(self, k: int, p: Sequence[float] | np.ndarray) -> np.ndarray:
        return self.rng.choice(k, size=self.n, p=p)


# --- Arrow builders: a value array and the rows where it is given (others are null) ------------

def floats(values: np.ndarray, given: np.ndarray | None = None) -> pa.Array:
    values = np.asarray(values, dtype=np.float64)
    if given is None:
        return pa.array(values, type=pa.float64())
    return pa.array(np.where(given, values, 0.0), type=pa.float64(), mask=~given)


def ints(values: np.ndarray, given: np.ndarray | None = None) -> pa.Array:
    values = np.asarray(values)
    if given is not None:
        values = np.where(given, values, 0)
    values = values.astype(np.int64)
    return pa.array(values, type=pa.int64(), mask=None if given is None else ~given)


def bools(values: np.ndarray, given: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=bool), type=pa.bool_(), mask=~given)


def dates(days: np.ndarray, given: np.ndarray | None = None) -> pa.Array:
    days = np.asarray(days)
    if given is not None:
        days = np.where(given, days, 0)
    arr = pa.array(days.astype(np.int32), type=pa.int32(), mask=None if given is None else ~given)
    return arr.cast(pa.date32())


def strings(names: Sequence[str], index: np.ndarray, given: np.ndarray | None = None) -> pa.Array:
    """A string column from indices into ``names`` (built as a dictionary array: no Python strings)."""
    indices = pa.array(np.asarray(index, dtype=np.int32), type=pa.int32(), mask=None if given is None else ~given)
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(names), type=pa.large_string())).cast(
        pa.large_string())


# --- topics, in the order of their draws -------------------------------------------------------

def where_and_use(d: Draw) -> Model:
    """State (by population), occupancy, and the purchase date: 2003-2025 (before as_of); lenders'
    distressed books lean to the 2004-2008 and the last five years' vintages."""
    st = mk.states()
    s_idx = d.choice(len(st.codes), st.weights)
    occ_weights = ({"primary": 0.85, "rental": 0.10, "second_home": 0.05} if d.lender
                   else {"primary": 0.20, "rental": 0.70, "second_home": 0.10})
    occ_idx = pick(d.rng, schema.OCCUPANCIES, occ_weights, d.n)
    occ = {name: k for k, name in enumerate(schema.OCCUPANCIES)}
    primary, rental, second_home = (occ_idx == occ[name] for name in ("primary", "rental", "second_home"))
    hi = min(epoch_days(date(2025, 12, 31)), d.asof - 1)
    lo = epoch_days(date(2003, 1, 1))
    if hi - lo < 3 * 365:
        lo = hi - 23 * 365
    boom = (max(lo, epoch_days(date(2004, 1, 1))), min(hi, epoch_days(date(2008, 12, 31))))
    if boom[1] <= boom[0]:
        boom = (lo, hi)
    recent = (max(lo, hi - 5 * 365), hi)
    windows = np.array([(lo, hi), boom, recent], dtype=np.float64)
    comp = d.choice(3, [0.45, 0.20, 0.35] if d.lender else [0.70, 0.05, 0.25])
    w_lo, w_hi = windows[comp, 0], windows[comp, 1]
    purchase = np.floor(w_lo + d.u() * (w_hi - w_lo + 1)).astype(np.int64)
    purchase = np.minimum(purchase, hi)
    days_held = d.asof - purchase
    return {"s_idx": s_idx, "occ_idx": occ_idx, "primary": primary, "rental": rental, "second_home": second_home,
            "purchase": purchase, "days_held": days_held, "months_held": days_held / 30.4375,
            "p_year": mk.year_frac(purchase)}


def values(d: Draw, m: Model) -> Model:
    """Today's value by state; the purchase price back along the price path; improvements, losses."""
    st = mk.states()
    market_value = mk.BASE_VALUE * st.price_factor[m["s_idx"]] * np.exp(d.normal(0.42))
    market_value *= np.where(m["rental"], 0.85, 1.0)
    market_value = np.maximum(round_to(market_value, 1000.0), 30_000.0)
    purchase_price = market_value * hpi(m["purchase"]) / hpi(d.asof) * np.exp(d.normal(0.12))
    purchase_price = np.maximum(round_to(purchase_price, 500.0), 10_000.0)
    capital_improvements = round_to(purchase_price * d.uniform(0.01, 0.12), 100.0)
    ci_given = d.share(0.30)
    casualty_losses = round_to(market_value * d.uniform(0.01, 0.06), 100.0)
    cas_given = d.share(0.015)
    return {"market_value": market_value, "purchase_price": purchase_price,
            "capital_improvements": capital_improvements, "ci_given": ci_given,
            "casualty_losses": casualty_losses, "cas_given": cas_given}


def delinquency(d: Draw, m: Model) -> Model:
    """Months delinquent (lenders: mostly 1-12) and the hardship a borrower gives."""
    if d.lender:
        md_comp = d.choice(3, [0.08, 0.82, 0.10])
        w = 0.8 ** np.arange(12)
        md_mid = d.choice(12, w / w.sum()) + 1
        md_long = d.integers(13, 49)
        months_delinquent = np.where(md_comp == 0, 0, np.where(md_comp == 1, md_mid, md_long))
    else:
        months_delinquent = np.where(d.share(0.05), d.integers(1, 7), 0)
    hs = {name: k for k, name in enumerate(schema.HARDSHIPS)}
    rental = m["rental"]
    hardship = pick(d.rng, schema.HARDSHIPS, mk.HARDSHIP_WEIGHTS, d.n)
    hardship = np.where(rental & d.share(0.5), hs["rental_loss"], hardship)
    hardship = np.where(~rental & (hardship == hs["rental_loss"]), hs["other"], hardship)
    return {"months_delinquent": months_delinquent, "hardship": hardship}


def debt(d: Draw, m: Model) -> Model:
    """Combined loan-to-value by vintage (a meaningful share of lenders' loans underwater), liens."""
    rental, market_value = m["rental"], m["market_value"]
    if d.lender:
        boom_vintage = (m["p_year"] >= 2005.0) & (m["p_year"] < 2009.0)
        p_under = np.where(boom_vintage, 0.42, np.where(m["days_held"] < 4 * 365, 0.34, 0.14))
        under = d.u() < p_under
        cltv_under = 0.92 + 0.50 * d.rng.beta(1.6, 3.2, d.n)
        cltv_mid = 0.40 + 0.48 * d.rng.beta(2.2, 1.8, d.n)
        cltv_low = 0.05 + 0.35 * d.rng.beta(1.5, 1.5, d.n)
        cltv = np.where(under, cltv_under, np.where(d.share(0.82), cltv_mid, cltv_low))
        free_clear = np.zeros(d.n, dtype=bool)
        has_second = d.share(0.15)
    else:
        free_clear = d.u() < np.where(rental, 0.30, 0.20)
        cltv = np.where(d.share(0.04), 0.90 + 0.40 * d.rng.beta(1.5, 3.0, d.n),
                        0.15 + 0.75 * d.rng.beta(2.2, 2.8, d.n))
        has_second = d.share(0.06) & ~free_clear
    total = np.where(free_clear, 0.0, cltv * market_value)
    second_lien = cents(np.where(has_second, total * d.uniform(0.08, 0.25), 0.0))
    first_lien = cents(np.maximum(total - second_lien, 0.0))
    second_payment = cents(second_lien * d.uniform(0.07, 0.11) / 12.0)
    second_payment_given = has_second & d.share(0.85)
    months_delinquent = np.where(free_clear, 0, m["months_delinquent"])
    delinquent = months_delinquent > 0
    if d.lender:
        hardship_given = np.where(delinquent, d.share(0.80), True)
    else:
        hardship_given = np.where(delinquent, d.share(0.90), d.share(0.03))
    return {"debt": total, "free_clear": free_clear, "has_second": has_second, "second_lien": second_lien,
            "first_lien": first_lien, "second_payment": second_payment,
            "second_payment_given": second_payment_given, "months_delinquent": months_delinquent,
            "delinquent": delinquent, "hardship_given": hardship_given}


def note(d: Draw, m: Model) -> Model:
    """The first lien's rate (by vintage), term and monthly principal and interest."""
    hs = {name: k for k, name in enumerate(schema.HARDSHIPS)}
    rate = np.interp(m["p_year"], mk.RATE_YEARS, mk.RATES) + d.normal(0.0035)
    rate += np.where(m["rental"], 0.006, 0.0) + np.where(m["hardship_given"] & (m["hardship"] == hs["rate_reset"]),
                                                         0.02, 0.0)
    interest_rate = np.clip(round_to(rate, 0.00125), 0.0175, 0.125)
    rate_given = d.share(0.85)
    orig_term = np.array([360, 180, 480])[d.choice(3, [0.85, 0.10, 0.05])]
    elapsed = np.floor(m["months_held"])
    refinanced = elapsed >= orig_term - 12
    elapsed = np.where(refinanced, d.integers(0, 121), elapsed)
    remaining_term = np.clip(orig_term - elapsed, 1, 480).astype(np.int64)
    term_given = d.share(0.80)
    i = interest_rate / 12.0
    pi_full = m["first_lien"] * i / (1.0 - (1.0 + i) ** (-remaining_term.astype(np.float64)))
    pi_given = np.where(m["free_clear"], d.share(0.30), d.share(0.70))
    return {"interest_rate": interest_rate, "rate_given": rate_given, "remaining_term": remaining_term,
            "term_given": term_given, "pi_full": pi_full, "monthly_pi": cents(pi_full), "pi_given": pi_given}


def carrying_costs(d: Draw, m: Model) -> Model:
    """Property tax and insurance (by state), HOA, maintenance, utilities; arrears from them."""
    st = mk.states()
    market_value, rental, s_idx = m["market_value"], m["rental"], m["s_idx"]
    property_tax = cents(market_value * st.tax_rate[s_idx] * np.exp(d.normal(0.20)))
    tax_given = d.share(0.92)
    insurance = cents(market_value * st.insurance_rate[s_idx] * np.exp(d.normal(0.25)))
    ins_given = d.share(0.90)
    hoa = np.clip(round_to(d.lognormal(150.0, 0.6), 5.0), 20.0, 1500.0)
    hoa_draw = d.u()
    hoa = np.where(hoa_draw < 0.10, 0.0, hoa)
    maintenance = cents(market_value * d.uniform(0.006, 0.012) / 12.0)
    maint_given = np.where(rental, d.share(0.60), d.share(0.10))
    utilities = round_to(np.where(rental, d.uniform(40.0, 250.0), d.uniform(150.0, 450.0)), 5.0)
    util_given = np.where(rental, d.share(0.30), d.share(0.10))
    # arrears: the missed payments with escrow and late fees
    escrow = (np.where(tax_given, property_tax, 0.0) + np.where(ins_given, insurance, 0.0)) / 12.0
    arrears = cents(m["months_delinquent"] * (m["pi_full"] + escrow) * d.uniform(1.0, 1.12))
    arrears_given = m["delinquent"] | d.share(0.40)
    return {"property_tax": property_tax, "tax_given": tax_given, "insurance": insurance, "ins_given": ins_given,
            "hoa": hoa, "hoa_given": hoa_draw < 0.35, "maintenance": maintenance, "maint_given": maint_given,
            "utilities": utilities, "util_given": util_given, "arrears": arrears, "arrears_given": arrears_given}


def foreclosure_calendar(d: Draw, m: Model) -> Model:
    """Scheduled sales (a few already past or within 60 days) and short-sale offers in hand: most
    near value, about a quarter investors' lowball bids a lender may refuse."""
    fc_scheduled = (m["months_delinquent"] >= 4) & d.share(0.40 if d.lender else 0.20)
    fc_offset = np.where(d.share(0.08), d.integers(-30, 0), d.integers(14, 366))
    payoff_ratio = (m["debt"] + m["arrears"]) / m["market_value"]
    offer_given = np.where(payoff_ratio > 0.94, d.share(0.35 if d.lender else 0.05),
                           d.share(0.03 if d.lender else 0.01))
    offer_share = np.where(d.share(0.75), d.uniform(0.82, 1.0), d.uniform(0.50, 0.78))
    return {"fc_scheduled": fc_scheduled, "fc_date": d.asof + fc_offset, "offer_given": offer_given,
            "short_sale_offer": np.maximum(round_to(m["market_value"] * offer_share, 500.0), 1000.0)}


def rental(d: Draw, m: Model) -> Model:
    """Rents, homes converted to rentals (FMV at conversion), land value, depreciation claimed so
    far (some of what rule D1 allows: the engine tops up the rest) and suspended passive losses."""
    rental_, primary, second_home = m["rental"], m["primary"], m["second_home"]
    market_value, purchase, asof = m["market_value"], m["purchase"], d.asof
    rent = np.where(rental_, market_value * d.uniform(0.006, 0.009),
                    np.where(primary, market_value * d.uniform(0.004, 0.006), market_value * d.uniform(0.003, 0.006)))
    rent = round_to(rent, 5.0)
    rent_given = rental_ | (primary & d.share(0.15)) | (second_home & d.share(0.20))
    converted = rental_ & (m["months_held"] > 18) & d.share(0.25 if not d.lender else 0.10)
    conv_days = purchase + 365 + np.floor(d.u() * np.maximum(m["days_held"] - 395, 1)).astype(np.int64)
    rental_start = np.where(converted, np.minimum(conv_days, asof), np.minimum(purchase + d.integers(0, 91), asof))
    rental_start_given = converted | (rental_ & d.share(0.30))
    fmv_at_conversion = np.maximum(
        round_to(market_value * hpi(rental_start) / hpi(asof) * np.exp(d.normal(0.05)), 1000.0), 1000.0)
    fmv_given = converted & d.share(0.95)
    land_value = round_to(m["purchase_price"] * d.uniform(0.12, 0.35), 1000.0)
    land_given = rental_ & d.share(0.30)
    basis = m["purchase_price"] + np.where(m["ci_given"], m["capital_improvements"], 0.0)
    basis_conv = np.minimum(fmv_at_conversion, basis - np.where(m["cas_given"], m["casualty_losses"], 0.0))
    basis = np.where(fmv_given, basis_conv, basis)
    building_share, recovery_years = _depreciation_params()
    dep_base = np.where(land_given, np.maximum(0.0, basis - land_value), building_share * basis)
    start_eff = np.where(rental_start_given, rental_start, purchase)
    years_in_service = (asof - start_eff) / 365.25
    allowable = np.minimum(dep_base, dep_base / recovery_years * years_in_service)
    depreciation_taken = np.round(allowable * np.where(d.share(0.10), 0.0, d.uniform(0.5, 1.0)))
    dep_given = rental_ & d.share(0.75)
    suspended = round_to(d.lognormal(12_000.0, 0.8), 1.0)
    suspended_given = rental_ & d.share(0.05 if d.lender else 0.22)
    return {"rent": rent, "rent_given": rent_given, "converted": converted, "rental_start": rental_start,
            "rental_start_given": rental_start_given, "fmv_at_conversion": fmv_at_conversion,
            "fmv_given": fmv_given, "land_value": land_value, "land_given": land_given,
            "depreciation_taken": depreciation_taken, "dep_given": dep_given, "suspended": suspended,
            "suspended_given": suspended_given}


def _depreciation_params() -> tuple[float, float]:
    """Rule D1's building share (its assumption's default, data/assumptions.toml) and recovery
    period (data/statute.toml, §168(c))."""
    return (float(params.assumption_specs()["building_share"].value),
            float(params.statute("depreciation_recovery_years")))


def months_lived(d: Draw, m: Model) -> Model:
    """Months lived in the home in the last five years: a converted home until it became a rental."""
    window_start = d.asof - 1826
    lived_days = np.maximum(0, m["rental_start"] - np.maximum(m["purchase"], window_start))
    lived_conv = np.clip(np.floor(lived_days / 30.4375), 0, 60)
    lived_primary = np.floor(d.u() * (np.minimum(60.0, np.floor(m["months_held"])) + 1))
    lived_second = d.integers(0, 24)
    converted, primary, second_home = m["converted"], m["primary"], m["second_home"]
    months = np.where(converted, lived_conv, np.where(primary, lived_primary, lived_second))
    given = (converted & d.share(0.60)) | (primary & d.share(0.05)) | (second_home & d.share(0.05))
    return {"months_lived": months, "lived_given": given}


def borrower(d: Draw, m: Model, as_of: date) -> Model:
    """Filing status, income (a job loss cuts it), tax year, recourse and forgiveness, the §121
    history, insolvency, bankruptcy, QPRI debt and workouts agreed before 2026."""
    hs = {name: k for k, name in enumerate(schema.HARDSHIPS)}
    primary = m["primary"]
    filing_status = pick(d.rng, schema.FILING_STATUSES, mk.FILING_WEIGHTS, d.n)
    filing_given = d.share(0.80)
    income = d.lognormal(60_000.0 if d.lender else 150_000.0, 0.6 if d.lender else 0.7)
    income *= np.where(m["hardship_given"] & (m["hardship"] == hs["job_loss"]), d.uniform(0.2, 0.7), 1.0)
    income = np.where(d.share(0.02), 0.0, np.clip(round_to(income, 100.0), 0.0, 5e6))
    income_given = d.share(0.90)
    year = schema.BY_NAME["tax_year"]
    tax_year = np.clip(as_of.year - d.integers(1, 3), year.min, year.max)
    tax_year_given = d.share(0.08) & (as_of.year - 1 >= year.min)
    out = {"filing_status": filing_status, "filing_given": filing_given, "income": income,
           "income_given": income_given, "tax_year": tax_year, "tax_year_given": tax_year_given,
           "recourse": d.share(0.6), "recourse_given": d.share(0.12),
           "forgiven_share": np.array([0.0, 0.25, 0.5, 0.75, 1.0])[d.integers(0, 5)],
           "forgiven_given": d.share(0.10 if d.lender else 0.03),
           "sec121_used": d.share(0.2), "sec121_given": d.share(0.10),
           "insolvency": np.clip(round_to(d.lognormal(40_000.0, 0.9), 100.0), 100.0, 2e6),
           "insolvency_given": d.share(0.15 if d.lender else 0.02)}
    bankrupt_draw = d.u()
    out["bankrupt"] = bankrupt_draw < (0.03 if d.lender else 0.005)
    out["bankrupt_given"] = bankrupt_draw < (0.18 if d.lender else 0.055)
    out["qpri_balance"] = np.floor(m["first_lien"] * d.uniform(0.6, 1.0) * 100.0) / 100.0
    out["qpri_given"] = primary & d.share(0.12 if d.lender else 0.03)
    arrangement_draw = d.u()
    out["arrangement"] = arrangement_draw < 0.06
    out["arrangement_given"] = primary & m["delinquent"] & (arrangement_draw < 0.11)
    return out


def scenario_knobs(d: Draw, m: Model) -> Model:
    """What a user may set per row (most left to the pipeline's [defaults])."""
    rental_ = m["rental"]
    out = {"vacancy": round_to(d.uniform(0.03, 0.10), 0.005)}
    out["vacancy_given"] = rental_ & d.share(0.40)
    out["mgmt"] = np.array([0.08, 0.10])[d.integers(0, 2)]
    out["mgmt_given"] = rental_ & d.share(0.50)
    out["appreciation"] = np.clip(round_to(d.rng.normal(0.03, 0.02, d.n), 0.001), -0.10, 0.10)
    out["appreciation_given"] = d.share(0.20)
    out["alt_return"] = np.array([0.04, 0.05, 0.06, 0.07])[d.integers(0, 4)]
    out["alt_given"] = d.share(0.10)
    out["hold_months"] = np.array([12, 24, 36, 60, 84, 120])[d.integers(0, 6)]
    out["hold_given"] = d.share(0.05 if d.lender else 0.60)
    out["selling_cost"] = round_to(d.uniform(0.05, 0.08), 0.005)
    out["selling_given"] = d.share(0.15)
    return out


def address(d: Draw, m: Model) -> Model:
    """A street address in the row's state (house number, street, suffix, an apartment sometimes)."""
    st = mk.states()
    house = d.integers(1, 10_000)
    street = strings(mk.STREETS, d.integers(0, len(mk.STREETS)))
    suffix = strings(mk.SUFFIXES, d.integers(0, len(mk.SUFFIXES)))
    city = strings(mk.CITIES, d.integers(0, len(mk.CITIES)))
    state = strings(st.codes, m["s_idx"])
    unit = d.integers(1, 41)
    has_unit = d.share(0.08)
    text = pl.from_arrow(pa.table({
        "house": house, "street": street, "suffix": suffix, "city": city, "state": state,
        "unit": unit, "has_unit": has_unit,
    })).select(pl.concat_str(
        pl.col("house").cast(pl.String), pl.lit(" "), pl.col("street"), pl.lit(" "), pl.col("suffix"),
        pl.when(pl.col("has_unit")).then(pl.lit(" Apt ") + pl.col("unit").cast(pl.String)).otherwise(pl.lit("")),
        pl.lit(", "), pl.col("city"), pl.lit(", "), pl.col("state"),
    )).to_series().to_arrow().cast(pa.large_string())
    return {"state_text": state, "address": text}


def revision_2(d: Draw, m: Model) -> Model:
    """Inputs added in docs/spec.md revision 2, drawn last (the earlier columns keep their values):
    the loan servicing inputs of :func:`_loan_servicing`, ``borrower_is_entity`` (investors hold a
    share of their rentals in an LLC, a few lenders' non-owner-occupied loans are to one) and
    ``nonqualified_use_months`` (a main home that was a rental or second home before the owner
    moved in: months after 2008, S4)."""
    non_owner = m["rental"] | m["second_home"]
    entity = non_owner & d.share(0.25 if not d.lender else 0.05)
    entity_given = entity | d.share(0.30)
    since_2009 = np.maximum(0, (d.asof - epoch_days(date(2009, 1, 1))) // 30)
    earlier_use = m["primary"] & d.share(0.06)
    cap = np.clip(np.minimum(np.floor(m["months_held"]) - 12, since_2009), 1, 600)
    nqu = np.floor(d.u() * cap).astype(np.int64) + 1
    nqu = np.where(earlier_use, np.minimum(nqu, cap), 0)
    nqu_given = earlier_use | d.share(0.10)
    out = {"entity": entity, "entity_given": entity_given, "nqu": nqu, "nqu_given": nqu_given}
    return out | _loan_servicing(d, m)


#: The owner of a lender-book loan (5.4): GSE and FHA loans follow their guides, the rest the
#: servicer's own portfolio rules.
INVESTOR_WEIGHTS = {"gse": 0.50, "fha": 0.20, "portfolio": 0.30}


def _loan_servicing(d: Draw, m: Model) -> Model:
    """Revision 2's loan modification inputs (M1, M2, 5.4): who owns the loan, the borrowers' gross
    monthly income (above the taxable income the tax rules read), earlier modifications."""
    investor = pick(d.rng, tuple(INVESTOR_WEIGHTS), INVESTOR_WEIGHTS, d.n)
    investor_given = d.share(0.85 if d.lender else 0.05) & ~m["free_clear"]
    gross = cents((m["income"] * d.uniform(1.10, 1.40) + 12_000.0) / 12.0)
    gross_given = m["income_given"] & d.share(0.70 if d.lender else 0.10)
    prior = np.where(d.share(0.15 if d.lender else 0.02), d.integers(1, 3), 0)
    prior_given = (prior > 0) | (m["delinquent"] & d.share(0.50))
    return {"investor_type": investor, "investor_given": investor_given,
            "gross_income": gross, "gross_given": gross_given, "prior_mods": prior, "prior_given": prior_given}


def columns(m: Model) -> dict[str, pa.Array]:
    """The schema columns (except property_id) from the model's quantities, null where not given."""
    free_clear, rental_, delinquent = m["free_clear"], m["rental"], m["delinquent"]
    return {
        "state": m["state_text"],
        "occupancy": strings(schema.OCCUPANCIES, m["occ_idx"]),
        "market_value": floats(m["market_value"]),
        "purchase_price": floats(m["purchase_price"]),
        "purchase_date": dates(m["purchase"]),
        "first_lien_balance": floats(m["first_lien"]),
        "address": m["address"],
        "capital_improvements": floats(m["capital_improvements"], m["ci_given"]),
        "casualty_losses": floats(m["casualty_losses"], m["cas_given"]),
        "depreciation_taken": floats(m["depreciation_taken"], m["dep_given"]),
        "land_value": floats(m["land_value"], m["land_given"]),
        "rental_start_date": dates(m["rental_start"], m["rental_start_given"]),
        "fmv_at_conversion": floats(m["fmv_at_conversion"], m["fmv_given"]),
        "second_lien_balance": floats(m["second_lien"], m["has_second"] | m["second_given_extra"]),
        "second_lien_payment": floats(m["second_payment"], m["second_payment_given"]),
        "interest_rate": floats(m["interest_rate"], m["rate_given"] & ~free_clear),
        "remaining_term_months": ints(m["remaining_term"], m["term_given"] & ~free_clear),
        "monthly_pi": floats(np.where(free_clear, 0.0, m["monthly_pi"]), m["pi_given"]),
        "arrears": floats(np.where(delinquent, m["arrears"], 0.0), m["arrears_given"]),
        "months_delinquent": ints(m["months_delinquent"], delinquent | m["md_given_extra"]),
        "foreclosure_sale_date": dates(m["fc_date"], m["fc_scheduled"]),
        "short_sale_offer": floats(m["short_sale_offer"], m["offer_given"] & ~free_clear),
        "recourse": bools(m["recourse"], m["recourse_given"]),
        "deficiency_forgiven_share": floats(m["forgiven_share"], m["forgiven_given"]),
        "property_tax_annual": floats(m["property_tax"], m["tax_given"]),
        "insurance_annual": floats(m["insurance"], m["ins_given"]),
        "hoa_monthly": floats(m["hoa"], m["hoa_given"]),
        "maintenance_monthly": floats(m["maintenance"], m["maint_given"]),
        "utilities_monthly": floats(m["utilities"], m["util_given"]),
        "rent_monthly": floats(m["rent"], m["rent_given"]),
        "vacancy_rate": floats(m["vacancy"], m["vacancy_given"]),
        "management_fee_rate": floats(m["mgmt"], m["mgmt_given"]),
        "appreciation_rate": floats(m["appreciation"], m["appreciation_given"]),
        "alt_return_rate": floats(m["alt_return"], m["alt_given"]),
        "hold_months": ints(m["hold_months"], m["hold_given"]),
        "selling_cost_rate": floats(m["selling_cost"], m["selling_given"]),
        "filing_status": strings(schema.FILING_STATUSES, m["filing_status"], m["filing_given"]),
        "other_taxable_income": floats(m["income"], m["income_given"]),
        "tax_year": ints(m["tax_year"], m["tax_year_given"]),
        "months_lived_last_5y": ints(m["months_lived"], m["lived_given"]),
        "sec121_used_last_2y": bools(m["sec121_used"], m["sec121_given"]),
        "insolvency_amount": floats(m["insolvency"], m["insolvency_given"]),
        "suspended_passive_losses": floats(m["suspended"], m["suspended_given"]),
        "bankrupt": bools(m["bankrupt"], m["bankrupt_given"]),
        "qpri_balance": floats(m["qpri_balance"], m["qpri_given"]),
        "qpri_arrangement_before_2026": bools(m["arrangement"], m["arrangement_given"]),
        "hardship": strings(schema.HARDSHIPS, m["hardship"], m["hardship_given"]),
        "nonqualified_use_months": ints(m["nqu"], m["nqu_given"]),
        "borrower_is_entity": bools(m["entity"], m["entity_given"]),
        "monthly_gross_income": floats(m["gross_income"], m["gross_given"]),
        "prior_modifications": ints(m["prior_mods"], m["prior_given"]),
        "investor_type": strings(tuple(INVESTOR_WEIGHTS), m["investor_type"], m["investor_given"]),
    }


def block(kind: str, seed: int, block_index: int, as_of: date) -> pa.Table:
    """BLOCK_ROWS rows of every schema column this model knows, except property_id (which depends
    on the row offset)."""
    d = Draw(kind, seed, block_index, as_of)
    m = where_and_use(d)
    for topic in (values, delinquency, debt, note, carrying_costs, foreclosure_calendar, rental, months_lived):
        m.update(topic(d, m))
    m.update(borrower(d, m, as_of))
    m.update(scenario_knobs(d, m))
    m.update(address(d, m))
    # two draws the column assembly made in place before the split (kept here, in their order)
    m["second_given_extra"] = d.share(0.20)
    m["md_given_extra"] = d.share(0.5)
    m.update(revision_2(d, m))
    names = set(schema.NAMES)
    return pa.table({name: array for name, array in columns(m).items() if name in names})

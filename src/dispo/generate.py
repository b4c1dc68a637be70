"""Seeded synthetic portfolios: realistic input rows for demos, tests and benchmarks.

Two kinds of portfolio, with the input columns of SPEC section 1 (``dispo.schema.COLUMNS``, in its
order, with its types):

- ``lender``: a servicer's book of distressed first-lien loans. Mostly owner-occupied, mostly 1-12
  months delinquent (a few current borrowers with a hardship), ~30 % underwater after selling costs,
  some second liens, scheduled foreclosure sales (a few within 60 days) and short-sale offers in hand.
- ``investor``: an investor's holdings. ~70 % rentals (rents 0.6-0.9 % of value a month, depreciation
  claimed, some converted former homes with ``fmv_at_conversion``, suspended passive losses), the rest
  primary and second homes; ~30 % free and clear.

Every value satisfies the schema's bounds, allowed sets and cross rules; many optional values are
left null so the defaults of SPEC section 1 get exercised.

Determinism and streaming: rows are made in fixed blocks of ``BLOCK_ROWS`` rows, each from its own
random stream seeded by ``(seed, kind, block index)``. A portfolio therefore depends only on
``(kind, rows, seed, as_of)`` -- never on how it is chunked -- and ``generate_to_path`` can write
10M rows with memory bounded by ``chunk_rows``. Everything is vectorized (numpy + Arrow + Polars);
there is no per-row Python code.

Command line (the sample data of ``sample_data/`` is made by the second form)::

    python -m dispo.generate --kind lender --rows 1000000 --seed 1 --out lender.parquet
    python -m dispo.generate --sample sample_data/
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from dispo import params, schema

Kind = Literal["lender", "investor"]
KINDS: tuple[str, ...] = ("lender", "investor")

#: Rows per random block. Every block draws from its own stream, so output is independent of chunking.
BLOCK_ROWS = 1 << 14

_KIND_CODE = {"lender": 1, "investor": 2}
#: property_id prefix and minimum digit count (widened when a portfolio needs more digits).
_ID_FORMAT = {"lender": ("L", 7), "investor": ("H", 6)}

_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.large_string(), "float": pa.float64(), "int": pa.int64(), "bool": pa.bool_(),
    "date": pa.date32(),
}
POLARS_TYPES: dict[str, pl.DataType] = {
    "string": pl.String(), "float": pl.Float64(), "int": pl.Int64(), "bool": pl.Boolean(), "date": pl.Date(),
}

# --- market facts used to make plausible values (rough, for synthetic data only) ----------------

# code, population (millions, 2020 census, rounded), home-price factor relative to the national
# median, effective property tax rate (% of value a year), homeowners insurance (% of value a year).
_STATE_TABLE = """
AL 5.02 0.60 0.40 0.60
AK 0.73 0.95 1.04 0.40
AZ 7.15 1.10 0.62 0.40
AR 3.01 0.55 0.62 0.60
CA 39.5 2.10 0.75 0.35
CO 5.77 1.55 0.51 0.55
CT 3.61 1.05 1.79 0.40
DE 0.99 0.95 0.57 0.35
DC 0.69 1.75 0.57 0.25
FL 21.5 1.10 0.86 1.10
GA 10.7 0.90 0.90 0.50
HI 1.46 2.40 0.28 0.20
ID 1.84 1.25 0.67 0.30
IL 12.8 0.80 2.08 0.45
IN 6.79 0.65 0.84 0.45
IA 3.19 0.62 1.52 0.50
KS 2.94 0.62 1.34 0.75
KY 4.51 0.60 0.83 0.55
LA 4.66 0.60 0.56 1.10
ME 1.36 0.95 1.24 0.35
MD 6.18 1.15 1.05 0.35
MA 7.03 1.65 1.14 0.35
MI 10.1 0.68 1.38 0.50
MN 5.71 0.90 1.11 0.50
MS 2.96 0.50 0.79 0.75
MO 6.15 0.65 0.97 0.55
MT 1.08 1.25 0.74 0.45
NE 1.96 0.68 1.61 0.75
NV 3.10 1.20 0.55 0.35
NH 1.38 1.15 1.86 0.30
NJ 9.29 1.30 2.23 0.35
NM 2.12 0.75 0.67 0.45
NY 20.2 1.20 1.40 0.40
NC 10.4 0.90 0.77 0.45
ND 0.78 0.70 0.98 0.55
OH 11.8 0.62 1.53 0.40
OK 3.96 0.55 0.89 0.95
OR 4.24 1.40 0.93 0.25
PA 13.0 0.75 1.49 0.30
RI 1.10 1.15 1.40 0.45
SC 5.12 0.80 0.57 0.55
SD 0.89 0.75 1.17 0.55
TN 6.91 0.85 0.67 0.50
TX 29.1 0.90 1.68 0.85
UT 3.27 1.45 0.57 0.25
VT 0.64 0.95 1.83 0.30
VA 8.63 1.05 0.82 0.35
WA 7.71 1.55 0.87 0.25
WV 1.79 0.45 0.57 0.45
WI 5.89 0.80 1.61 0.35
WY 0.58 0.90 0.58 0.40
"""

#: Median market value before the state factor (the portfolio median lands near $350k).
_BASE_VALUE = 355_000.0

# A national home price index (roughly Case-Shiller, 2000 = 100), linearly interpolated by
# fractional year and flat outside the knots: purchase prices follow it back from today's value.
_HPI_YEARS = np.array([2000.0, 2003.0, 2004.0, 2005.0, 2006.5, 2008.0, 2009.0, 2012.0, 2014.0, 2016.0,
                       2018.0, 2020.0, 2021.0, 2022.5, 2023.0, 2024.0, 2025.0, 2026.0, 2028.0])
_HPI = np.array([100.0, 128.0, 140.0, 160.0, 184.0, 170.0, 150.0, 135.0, 160.0, 175.0,
                 200.0, 215.0, 250.0, 305.0, 300.0, 320.0, 325.0, 330.0, 340.0])
# 30-year fixed mortgage rates by year of origination (roughly Freddie Mac PMMS).
_RATE_YEARS = np.array([2003.0, 2006.0, 2008.0, 2010.0, 2012.5, 2016.0, 2019.0, 2021.0, 2022.0, 2023.5,
                        2025.0, 2026.0])
_RATES = np.array([0.058, 0.064, 0.060, 0.047, 0.035, 0.038, 0.040, 0.029, 0.053, 0.070, 0.067, 0.063])

_STREETS = tuple([
    "Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Park", "Main", "Church",
    "Walnut", "Spring", "Highland", "Sunset", "Ridge", "Willow", "Jefferson", "Lincoln", "Madison",
    "Meadow", "River", "Forest", "Chestnut", "Hickory", "Dogwood", "Magnolia", "Jackson", "Franklin",
    "Lakeview", "Birch", "Aspen", "Sycamore", "Cherry", "Mill", "Center", "Valley", "Prospect",
    "Fairway", "Orchard",
])
_SUFFIXES = ("St", "Ave", "Rd", "Dr", "Ln", "Ct", "Way", "Blvd", "Pl", "Cir")
_CITIES = tuple([
    "Springfield", "Riverside", "Fairview", "Franklin", "Greenville", "Clinton", "Madison",
    "Georgetown", "Salem", "Arlington", "Ashland", "Oxford", "Marion", "Centerville", "Jackson",
    "Milford", "Bristol", "Dover", "Burlington", "Manchester", "Auburn", "Clayton", "Hudson",
    "Lebanon", "Newport", "Shelby", "Kingston", "Winchester", "Lexington", "Dayton", "Mount Vernon",
    "Oakland", "Lakewood", "Cleveland", "Plymouth", "Hamilton", "Monroe", "Chester", "Troy", "Union",
])

_HARDSHIP_WEIGHTS = {  # among borrowers who give one
    "job_loss": 0.30, "divorce": 0.14, "medical": 0.16, "rate_reset": 0.10, "rental_loss": 0.04,
    "death": 0.05, "other": 0.21,
}
_FILING_WEIGHTS = {"mfj": 0.45, "single": 0.35, "hoh": 0.15, "mfs": 0.05}


@dataclass(frozen=True)
class _States:
    codes: tuple[str, ...]
    weights: np.ndarray
    price_factor: np.ndarray
    tax_rate: np.ndarray
    insurance_rate: np.ndarray


@cache
def _states() -> _States:
    """The state table, in the order of ``params.state_codes()`` (checked: all 51, nothing else)."""
    table = {}
    for line in _STATE_TABLE.strip().splitlines():
        code, pop, factor, tax, ins = line.split()
        table[code] = (float(pop), float(factor), float(tax) / 100, float(ins) / 100)
    codes = params.state_codes()
    if set(codes) != set(table):
        raise RuntimeError(f"generate: state table differs from states.csv: {sorted(set(codes) ^ set(table))}")
    pop, factor, tax, ins = (np.array([table[c][k] for c in codes]) for k in range(4))
    return _States(tuple(codes), pop / pop.sum(), factor, tax, ins)


def _epoch_days(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _year_frac(days: np.ndarray | float) -> np.ndarray:
    """Fractional calendar year of days since 1970-01-01 (close enough for price paths)."""
    return 1970.0 + np.asarray(days, dtype=np.float64) / 365.2425


def _hpi(days: np.ndarray | float) -> np.ndarray:
    return np.interp(_year_frac(days), _HPI_YEARS, _HPI)


def _round_to(x: np.ndarray, step: float) -> np.ndarray:
    """x rounded to a multiple of step, without binary noise (0.05875, not 0.058750000000000004)."""
    return np.round(np.round(x / step) * step, 10)


def _cents(x: np.ndarray) -> np.ndarray:
    return np.round(x, 2)


# --- Arrow builders: a value array and the rows where it is given (others are null) ------------

def _f(values: np.ndarray, given: np.ndarray | None = None) -> pa.Array:
    values = np.asarray(values, dtype=np.float64)
    if given is None:
        return pa.array(values, type=pa.float64())
    return pa.array(np.where(given, values, 0.0), type=pa.float64(), mask=~given)


def _i(values: np.ndarray, given: np.ndarray | None = None) -> pa.Array:
    values = np.asarray(values)
    if given is not None:
        values = np.where(given, values, 0)
    values = values.astype(np.int64)
    return pa.array(values, type=pa.int64(), mask=None if given is None else ~given)


def _b(values: np.ndarray, given: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=bool), type=pa.bool_(), mask=~given)


def _d(days: np.ndarray, given: np.ndarray | None = None) -> pa.Array:
    days = np.asarray(days)
    if given is not None:
        days = np.where(given, days, 0)
    arr = pa.array(days.astype(np.int32), type=pa.int32(), mask=None if given is None else ~given)
    return arr.cast(pa.date32())


def _s(names: Sequence[str], index: np.ndarray, given: np.ndarray | None = None) -> pa.Array:
    """A string column from indices into ``names`` (built as a dictionary array: no Python strings)."""
    indices = pa.array(np.asarray(index, dtype=np.int32), type=pa.int32(), mask=None if given is None else ~given)
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(names), type=pa.large_string())).cast(
        pa.large_string())


def _pick(rng: np.random.Generator, names: Sequence[str], weights: dict[str, float], n: int) -> np.ndarray:
    """Indices into ``names`` drawn with ``weights`` (by name)."""
    p = np.array([weights.get(name, 0.0) for name in names])
    return rng.choice(len(names), size=n, p=p / p.sum())


# --- one block -----------------------------------------------------------------------------------

def _block(kind: str, seed: int, block: int, as_of: date) -> pa.Table:
    """BLOCK_ROWS rows of every schema column except property_id (which depends on the row offset)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, _KIND_CODE[kind], block]))
    n = BLOCK_ROWS
    lender = kind == "lender"
    st = _states()
    asof = _epoch_days(as_of)

    def u() -> np.ndarray:
        return rng.random(n)

    def share(p: float) -> np.ndarray:
        return rng.random(n) < p

    def uniform(lo: float, hi: float) -> np.ndarray:
        return rng.uniform(lo, hi, n)

    def lognormal(median: float, sigma: float) -> np.ndarray:
        return median * np.exp(rng.normal(0.0, sigma, n))

    # where and how it is used
    s_idx = rng.choice(len(st.codes), size=n, p=st.weights)
    occ_weights = ({"primary": 0.85, "rental": 0.10, "second_home": 0.05} if lender
                   else {"primary": 0.20, "rental": 0.70, "second_home": 0.10})
    occ_idx = _pick(rng, schema.OCCUPANCIES, occ_weights, n)
    occ = {name: k for k, name in enumerate(schema.OCCUPANCIES)}
    primary, rental, second_home = (occ_idx == occ[name] for name in ("primary", "rental", "second_home"))

    # purchase date: 2003-2025 (before as_of); lenders' distressed books lean to the 2004-2008 and
    # the last five years' vintages
    hi = min(_epoch_days(date(2025, 12, 31)), asof - 1)
    lo = _epoch_days(date(2003, 1, 1))
    if hi - lo < 3 * 365:
        lo = hi - 23 * 365
    boom = (max(lo, _epoch_days(date(2004, 1, 1))), min(hi, _epoch_days(date(2008, 12, 31))))
    if boom[1] <= boom[0]:
        boom = (lo, hi)
    recent = (max(lo, hi - 5 * 365), hi)
    windows = np.array([(lo, hi), boom, recent], dtype=np.float64)
    comp = rng.choice(3, size=n, p=[0.45, 0.20, 0.35] if lender else [0.70, 0.05, 0.25])
    w_lo, w_hi = windows[comp, 0], windows[comp, 1]
    purchase = np.floor(w_lo + u() * (w_hi - w_lo + 1)).astype(np.int64)
    purchase = np.minimum(purchase, hi)
    days_held = asof - purchase
    months_held = days_held / 30.4375
    p_year = _year_frac(purchase)

    # values and prices: today's value by state, the purchase price back along the price path
    market_value = _BASE_VALUE * st.price_factor[s_idx] * np.exp(rng.normal(0.0, 0.42, n))
    market_value *= np.where(rental, 0.85, 1.0)
    market_value = np.maximum(_round_to(market_value, 1000.0), 30_000.0)
    purchase_price = market_value * _hpi(purchase) / _hpi(asof) * np.exp(rng.normal(0.0, 0.12, n))
    purchase_price = np.maximum(_round_to(purchase_price, 500.0), 10_000.0)
    capital_improvements = _round_to(purchase_price * uniform(0.01, 0.12), 100.0)
    ci_given = share(0.30)
    casualty_losses = _round_to(market_value * uniform(0.01, 0.06), 100.0)
    cas_given = share(0.015)

    # delinquency and hardship
    if lender:
        md_comp = rng.choice(3, size=n, p=[0.08, 0.82, 0.10])
        w = 0.8 ** np.arange(12)
        md_mid = rng.choice(12, size=n, p=w / w.sum()) + 1
        md_long = rng.integers(13, 49, n)
        months_delinquent = np.where(md_comp == 0, 0, np.where(md_comp == 1, md_mid, md_long))
    else:
        months_delinquent = np.where(share(0.05), rng.integers(1, 7, n), 0)
    hs = {name: k for k, name in enumerate(schema.HARDSHIPS)}
    hardship = _pick(rng, schema.HARDSHIPS, _HARDSHIP_WEIGHTS, n)
    hardship = np.where(rental & share(0.5), hs["rental_loss"], hardship)
    hardship = np.where(~rental & (hardship == hs["rental_loss"]), hs["other"], hardship)

    # debt: combined loan-to-value by vintage, a meaningful share of lenders' loans underwater
    if lender:
        boom_vintage = (p_year >= 2005.0) & (p_year < 2009.0)
        p_under = np.where(boom_vintage, 0.42, np.where(days_held < 4 * 365, 0.34, 0.14))
        under = u() < p_under
        cltv_under = 0.92 + 0.50 * rng.beta(1.6, 3.2, n)
        cltv_mid = 0.40 + 0.48 * rng.beta(2.2, 1.8, n)
        cltv_low = 0.05 + 0.35 * rng.beta(1.5, 1.5, n)
        cltv = np.where(under, cltv_under, np.where(share(0.82), cltv_mid, cltv_low))
        free_clear = np.zeros(n, dtype=bool)
        has_second = share(0.15)
    else:
        free_clear = u() < np.where(rental, 0.30, 0.20)
        cltv = np.where(share(0.04), 0.90 + 0.40 * rng.beta(1.5, 3.0, n), 0.15 + 0.75 * rng.beta(2.2, 2.8, n))
        has_second = share(0.06) & ~free_clear
    debt = np.where(free_clear, 0.0, cltv * market_value)
    second_lien = _cents(np.where(has_second, debt * uniform(0.08, 0.25), 0.0))
    first_lien = _cents(np.maximum(debt - second_lien, 0.0))
    second_payment = _cents(second_lien * uniform(0.07, 0.11) / 12.0)
    second_payment_given = has_second & share(0.85)
    months_delinquent = np.where(free_clear, 0, months_delinquent)
    delinquent = months_delinquent > 0
    if lender:
        hardship_given = np.where(delinquent, share(0.80), True)
    else:
        hardship_given = np.where(delinquent, share(0.90), share(0.03))

    # the note
    rate = np.interp(p_year, _RATE_YEARS, _RATES) + rng.normal(0.0, 0.0035, n)
    rate += np.where(rental, 0.006, 0.0) + np.where(hardship_given & (hardship == hs["rate_reset"]), 0.02, 0.0)
    interest_rate = np.clip(_round_to(rate, 0.00125), 0.0175, 0.125)
    rate_given = share(0.85)
    orig_term = np.array([360, 180, 480])[rng.choice(3, size=n, p=[0.85, 0.10, 0.05])]
    elapsed = np.floor(months_held)
    refinanced = elapsed >= orig_term - 12
    elapsed = np.where(refinanced, rng.integers(0, 121, n), elapsed)
    remaining_term = np.clip(orig_term - elapsed, 1, 480).astype(np.int64)
    term_given = share(0.80)
    i = interest_rate / 12.0
    pi_full = first_lien * i / (1.0 - (1.0 + i) ** (-remaining_term.astype(np.float64)))
    monthly_pi = _cents(pi_full)
    pi_given = np.where(free_clear, share(0.30), share(0.70))

    # carrying costs
    property_tax = _cents(market_value * st.tax_rate[s_idx] * np.exp(rng.normal(0.0, 0.20, n)))
    tax_given = share(0.92)
    insurance = _cents(market_value * st.insurance_rate[s_idx] * np.exp(rng.normal(0.0, 0.25, n)))
    ins_given = share(0.90)
    hoa = np.clip(_round_to(lognormal(150.0, 0.6), 5.0), 20.0, 1500.0)
    hoa_draw = u()
    hoa = np.where(hoa_draw < 0.10, 0.0, hoa)
    hoa_given = hoa_draw < 0.35
    maintenance = _cents(market_value * uniform(0.006, 0.012) / 12.0)
    maint_given = np.where(rental, share(0.60), share(0.10))
    utilities = _round_to(np.where(rental, uniform(40.0, 250.0), uniform(150.0, 450.0)), 5.0)
    util_given = np.where(rental, share(0.30), share(0.10))

    # arrears: the missed payments with escrow and late fees
    escrow = (np.where(tax_given, property_tax, 0.0) + np.where(ins_given, insurance, 0.0)) / 12.0
    arrears = _cents(months_delinquent * (pi_full + escrow) * uniform(1.0, 1.12))
    arrears_given = delinquent | share(0.40)

    # the foreclosure calendar and offers in hand
    fc_scheduled = (months_delinquent >= 4) & share(0.40 if lender else 0.20)
    fc_offset = np.where(share(0.08), rng.integers(-30, 0, n), rng.integers(14, 366, n))
    fc_date = asof + fc_offset
    payoff_ratio = (debt + arrears) / market_value
    offer_given = np.where(payoff_ratio > 0.94, share(0.35 if lender else 0.05), share(0.03 if lender else 0.01))
    # most offers are near value; about a quarter are investors' lowball bids a lender may refuse
    offer_share = np.where(share(0.75), uniform(0.82, 1.0), uniform(0.50, 0.78))
    short_sale_offer = np.maximum(_round_to(market_value * offer_share, 500.0), 1000.0)

    # rental details
    rent = np.where(rental, market_value * uniform(0.006, 0.009),
                    np.where(primary, market_value * uniform(0.004, 0.006), market_value * uniform(0.003, 0.006)))
    rent = _round_to(rent, 5.0)
    rent_given = rental | (primary & share(0.15)) | (second_home & share(0.20))
    converted = rental & (months_held > 18) & share(0.25 if not lender else 0.10)
    conv_days = purchase + 365 + np.floor(u() * np.maximum(days_held - 395, 1)).astype(np.int64)
    rental_start = np.where(converted, np.minimum(conv_days, asof),
                            np.minimum(purchase + rng.integers(0, 91, n), asof))
    rental_start_given = converted | (rental & share(0.30))
    fmv_at_conversion = np.maximum(
        _round_to(market_value * _hpi(rental_start) / _hpi(asof) * np.exp(rng.normal(0.0, 0.05, n)), 1000.0), 1000.0)
    fmv_given = converted & share(0.95)
    land_value = _round_to(purchase_price * uniform(0.12, 0.35), 1000.0)
    land_given = rental & share(0.30)
    # depreciation claimed so far: some of what was allowable (rule D1 tops up the rest)
    basis = purchase_price + np.where(ci_given, capital_improvements, 0.0)
    basis_conv = np.minimum(fmv_at_conversion, basis - np.where(cas_given, casualty_losses, 0.0))
    basis = np.where(fmv_given, basis_conv, basis)
    dep_base = np.where(land_given, np.maximum(0.0, basis - land_value), 0.8 * basis)
    start_eff = np.where(rental_start_given, rental_start, purchase)
    years_in_service = (asof - start_eff) / 365.25
    allowable = np.minimum(dep_base, dep_base / 27.5 * years_in_service)
    depreciation_taken = np.round(allowable * np.where(share(0.10), 0.0, uniform(0.5, 1.0)))
    dep_given = rental & share(0.75)
    suspended = _round_to(lognormal(12_000.0, 0.8), 1.0)
    suspended_given = rental & share(0.05 if lender else 0.22)

    # months lived in the home: a converted home was lived in until it became a rental
    window_start = asof - 1826
    lived_days = np.maximum(0, rental_start - np.maximum(purchase, window_start))
    lived_conv = np.clip(np.floor(lived_days / 30.4375), 0, 60)
    lived_primary = np.floor(u() * (np.minimum(60.0, np.floor(months_held)) + 1))
    lived_second = rng.integers(0, 24, n)
    months_lived = np.where(converted, lived_conv, np.where(primary, lived_primary, lived_second))
    lived_given = (converted & share(0.60)) | (primary & share(0.05)) | (second_home & share(0.05))

    # the borrower: taxes, liability, insolvency
    filing_status = _pick(rng, schema.FILING_STATUSES, _FILING_WEIGHTS, n)
    filing_given = share(0.80)
    income = lognormal(60_000.0 if lender else 150_000.0, 0.6 if lender else 0.7)
    income *= np.where(hardship_given & (hardship == hs["job_loss"]), uniform(0.2, 0.7), 1.0)
    income = np.where(share(0.02), 0.0, np.clip(_round_to(income, 100.0), 0.0, 5e6))
    income_given = share(0.90)
    tax_year = np.clip(as_of.year - rng.integers(1, 3, n), schema.BY_NAME["tax_year"].min,
                       schema.BY_NAME["tax_year"].max)
    tax_year_given = share(0.08) & (as_of.year - 1 >= schema.BY_NAME["tax_year"].min)
    recourse = share(0.6)
    recourse_given = share(0.12)
    forgiven_share = np.array([0.0, 0.25, 0.5, 0.75, 1.0])[rng.integers(0, 5, n)]
    forgiven_given = share(0.10 if lender else 0.03)
    sec121_used = share(0.2)
    sec121_given = share(0.10)
    insolvency = np.clip(_round_to(lognormal(40_000.0, 0.9), 100.0), 100.0, 2e6)
    insolvency_given = share(0.15 if lender else 0.02)
    bankrupt_draw = u()
    bankrupt = bankrupt_draw < (0.03 if lender else 0.005)
    bankrupt_given = bankrupt_draw < (0.18 if lender else 0.055)
    qpri_balance = np.floor(first_lien * uniform(0.6, 1.0) * 100.0) / 100.0
    qpri_given = primary & share(0.12 if lender else 0.03)
    arrangement_draw = u()
    arrangement = arrangement_draw < 0.06
    arrangement_given = primary & delinquent & (arrangement_draw < 0.11)

    # scenario knobs a user may set per row (most left to the pipeline's [defaults])
    vacancy = _round_to(uniform(0.03, 0.10), 0.005)
    vacancy_given = rental & share(0.40)
    mgmt = np.array([0.08, 0.10])[rng.integers(0, 2, n)]
    mgmt_given = rental & share(0.50)
    appreciation = np.clip(_round_to(rng.normal(0.03, 0.02, n), 0.001), -0.10, 0.10)
    appreciation_given = share(0.20)
    alt_return = np.array([0.04, 0.05, 0.06, 0.07])[rng.integers(0, 4, n)]
    alt_given = share(0.10)
    hold_months = np.array([12, 24, 36, 60, 84, 120])[rng.integers(0, 6, n)]
    hold_given = share(0.05 if lender else 0.60)
    selling_cost = _round_to(uniform(0.05, 0.08), 0.005)
    selling_given = share(0.15)

    # address
    house = rng.integers(1, 10_000, n)
    street = _s(_STREETS, rng.integers(0, len(_STREETS), n))
    suffix = _s(_SUFFIXES, rng.integers(0, len(_SUFFIXES), n))
    city = _s(_CITIES, rng.integers(0, len(_CITIES), n))
    state = _s(st.codes, s_idx)
    unit = rng.integers(1, 41, n)
    has_unit = share(0.08)
    address = pl.from_arrow(pa.table({
        "house": house, "street": street, "suffix": suffix, "city": city, "state": state,
        "unit": unit, "has_unit": has_unit,
    })).select(pl.concat_str(
        pl.col("house").cast(pl.String), pl.lit(" "), pl.col("street"), pl.lit(" "), pl.col("suffix"),
        pl.when(pl.col("has_unit")).then(pl.lit(" Apt ") + pl.col("unit").cast(pl.String)).otherwise(pl.lit("")),
        pl.lit(", "), pl.col("city"), pl.lit(", "), pl.col("state"),
    )).to_series().to_arrow().cast(pa.large_string())

    columns: dict[str, pa.Array] = {
        "state": state,
        "occupancy": _s(schema.OCCUPANCIES, occ_idx),
        "market_value": _f(market_value),
        "purchase_price": _f(purchase_price),
        "purchase_date": _d(purchase),
        "first_lien_balance": _f(first_lien),
        "address": address,
        "capital_improvements": _f(capital_improvements, ci_given),
        "casualty_losses": _f(casualty_losses, cas_given),
        "depreciation_taken": _f(depreciation_taken, dep_given),
        "land_value": _f(land_value, land_given),
        "rental_start_date": _d(rental_start, rental_start_given),
        "fmv_at_conversion": _f(fmv_at_conversion, fmv_given),
        "second_lien_balance": _f(second_lien, has_second | share(0.20)),
        "second_lien_payment": _f(second_payment, second_payment_given),
        "interest_rate": _f(interest_rate, rate_given & ~free_clear),
        "remaining_term_months": _i(remaining_term, term_given & ~free_clear),
        "monthly_pi": _f(np.where(free_clear, 0.0, monthly_pi), pi_given),
        "arrears": _f(np.where(delinquent, arrears, 0.0), arrears_given),
        "months_delinquent": _i(months_delinquent, delinquent | share(0.5)),
        "foreclosure_sale_date": _d(fc_date, fc_scheduled),
        "short_sale_offer": _f(short_sale_offer, offer_given & ~free_clear),
        "recourse": _b(recourse, recourse_given),
        "deficiency_forgiven_share": _f(forgiven_share, forgiven_given),
        "property_tax_annual": _f(property_tax, tax_given),
        "insurance_annual": _f(insurance, ins_given),
        "hoa_monthly": _f(hoa, hoa_given),
        "maintenance_monthly": _f(maintenance, maint_given),
        "utilities_monthly": _f(utilities, util_given),
        "rent_monthly": _f(rent, rent_given),
        "vacancy_rate": _f(vacancy, vacancy_given),
        "management_fee_rate": _f(mgmt, mgmt_given),
        "appreciation_rate": _f(appreciation, appreciation_given),
        "alt_return_rate": _f(alt_return, alt_given),
        "hold_months": _i(hold_months, hold_given),
        "selling_cost_rate": _f(selling_cost, selling_given),
        "filing_status": _s(schema.FILING_STATUSES, filing_status, filing_given),
        "other_taxable_income": _f(income, income_given),
        "tax_year": _i(tax_year, tax_year_given),
        "months_lived_last_5y": _i(months_lived, lived_given),
        "sec121_used_last_2y": _b(sec121_used, sec121_given),
        "insolvency_amount": _f(insolvency, insolvency_given),
        "suspended_passive_losses": _f(suspended, suspended_given),
        "bankrupt": _b(bankrupt, bankrupt_given),
        "qpri_balance": _f(qpri_balance, qpri_given),
        "qpri_arrangement_before_2026": _b(arrangement, arrangement_given),
        "hardship": _s(schema.HARDSHIPS, hardship, hardship_given),
    }
    return pa.table(columns)


def _arrow_schema() -> pa.Schema:
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.dtype]) for c in schema.COLUMNS])


def _check_args(kind: str, rows: int, seed: int, as_of: date) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
        raise ValueError(f"rows must be a non-negative integer, got {rows!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(as_of, date):
        raise ValueError(f"as_of must be a date, got {as_of!r}")


def _id_array(kind: str, start: int, stop: int, rows: int) -> pa.Array:
    prefix, digits = _ID_FORMAT[kind]
    width = max(digits, len(str(rows)))
    ids = pl.select(pl.lit(prefix) + pl.int_range(start + 1, stop + 1, dtype=pl.Int64).cast(pl.String)
                    .str.zfill(width)).to_series()
    return ids.to_arrow().cast(pa.large_string())


def _iter_tables(kind: str, rows: int, seed: int, as_of: date) -> Iterator[pa.Table]:
    """The portfolio as Arrow tables of at most BLOCK_ROWS rows, in schema column order."""
    target = _arrow_schema()
    for block, start in enumerate(range(0, rows, BLOCK_ROWS)):
        stop = min(rows, start + BLOCK_ROWS)
        t = _block(kind, seed, block, as_of).slice(0, stop - start)
        t = t.append_column("property_id", _id_array(kind, start, stop, rows))
        for field in target:  # a column the schema gained since this generator was written: null
            if field.name not in t.column_names:
                t = t.append_column(field, pa.nulls(t.num_rows, field.type))
        yield t.select(list(schema.NAMES)).cast(target)


def _empty_frame() -> pl.DataFrame:
    return pl.DataFrame(schema={c.name: POLARS_TYPES[c.dtype] for c in schema.COLUMNS})


def generate_portfolio(kind: Kind, rows: int, seed: int, as_of: date) -> pl.DataFrame:
    """A synthetic portfolio of ``rows`` properties, one row each, deterministic for its arguments.

    Columns are ``dispo.schema.NAMES`` in order, typed as the schema says (String, Float64, Int64,
    Boolean, Date); optional columns are often null so their defaults apply. ``kind`` is ``lender``
    (ids ``L0000001`` ...) or ``investor`` (ids ``H000001`` ...). Values satisfy every bound, allowed
    set and cross rule of the schema for this ``as_of``. The whole frame is held in memory (about
    0.4 kB a row); for millions of rows write it with :func:`generate_to_path` instead.
    """
    _check_args(kind, rows, seed, as_of)
    tables = list(_iter_tables(kind, rows, seed, as_of))
    if not tables:
        return _empty_frame()
    return pl.from_arrow(pa.concat_tables(tables))  # type: ignore[return-value]


# --- writing -------------------------------------------------------------------------------------

def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise ValueError(f"{path}: unknown output format (use a .csv or .parquet name)")


@cache
def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class _AtomicFile:
    """A temporary file in the target's directory, moved over the target only on success."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        os.close(fd)
        self.tmp = Path(name)
        os.chmod(self.tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual mode

    def __enter__(self) -> Path:
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def write_portfolio(frame: pl.DataFrame, path: Path) -> None:
    """Writes ``frame`` as CSV (``.csv``: header, comma, ISO dates, empty cell for null) or Parquet
    (``.parquet``), chosen by the file name's suffix. Atomic: the file is written to a temporary
    name in the same directory and then renamed over ``path``, so a failure never leaves a partial
    file in its place."""
    path = Path(path)
    fmt = _format(path)
    with _AtomicFile(path) as tmp:
        if fmt == "csv":
            frame.write_csv(tmp)
        else:
            frame.write_parquet(tmp)


def _rechunk(tables: Iterator[pa.Table], chunk_rows: int) -> Iterator[pa.Table]:
    """Regroups a stream of tables into tables of exactly chunk_rows rows (the last may be shorter)."""
    buffer: list[pa.Table] = []
    buffered = 0
    for t in tables:
        buffer.append(t)
        buffered += t.num_rows
        while buffered >= chunk_rows:
            whole = pa.concat_tables(buffer)
            yield whole.slice(0, chunk_rows)
            rest = whole.slice(chunk_rows)
            buffer, buffered = ([rest] if rest.num_rows else []), rest.num_rows
    if buffered:
        yield pa.concat_tables(buffer)


def generate_to_path(kind: Kind, rows: int, seed: int, as_of: date, path: Path,
                     chunk_rows: int = 1_000_000) -> int:
    """Generates a portfolio straight to a file, ``chunk_rows`` rows at a time; returns rows written.

    This is what ``dispo generate --kind lender|investor --rows N --seed S --out PATH`` runs.
    ``kind``: ``lender`` (distressed first-lien loans: loss mitigation) or ``investor`` (holdings,
    mostly rentals: sell vs hold). ``rows``: how many properties. ``seed``: any non-negative
    integer; the same ``(kind, rows, seed, as_of)`` always gives the same rows, whatever
    ``chunk_rows`` is, and the same rows as :func:`generate_portfolio`. ``as_of``: the evaluation
    date the data is made for (purchase dates before it, delinquency and sale dates relative to it).
    ``path``: ``.csv`` (appended chunk by chunk) or ``.parquet`` (one row group per chunk, via
    pyarrow's ParquetWriter). Memory stays bounded by ``chunk_rows`` (about 0.5 kB a row), so
    10M rows need no more than 1M do. The file is written to a temporary name in the same directory
    and renamed into place when complete.
    """
    _check_args(kind, rows, seed, as_of)
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValueError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
    path = Path(path)
    fmt = _format(path)
    written = 0
    with _AtomicFile(path) as tmp:
        if fmt == "parquet":
            with pq.ParquetWriter(tmp, _arrow_schema(), compression="zstd") as writer:
                for t in _rechunk(_iter_tables(kind, rows, seed, as_of), chunk_rows):
                    writer.write_table(t, row_group_size=t.num_rows)
                    written += t.num_rows
        else:
            with open(tmp, "wb") as fh:
                header = True
                for t in _rechunk(_iter_tables(kind, rows, seed, as_of), chunk_rows):
                    pl.from_arrow(t).write_csv(fh, include_header=header)  # type: ignore[union-attr]
                    header = False
                    written += t.num_rows
                if header:  # no rows: still a header line
                    _empty_frame().write_csv(fh)
    return written


# --- sample data (sample_data/) ------------------------------------------------------------------

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
    frame = generate_portfolio("lender", rows, seed, as_of)
    cells = frame.with_columns(pl.all().cast(pl.String))
    table: list[list[str | None]] = [list(r) for r in cells.rows()]
    names = list(frame.columns)
    col = {c: k for k, c in enumerate(names)}
    injections: list[Injection] = []
    unquoted_rows: set[int] = set()

    def value(r: int, c: str):
        return frame[r, c]

    def put(r: int, c: str, raw: str, why: str, bad: bool) -> None:
        table[r][col[c]] = raw
        injections.append(Injection(r + 1, table[r][col["property_id"]] or "", c, raw, why, bad))

    given = pl.col
    # rows changed at fixed places (0-based); the others are the first suitable row from a place on
    fixed_bad = {36, 157, 300, 443, 611, 776, 1233, 1499, 1568, 1776}
    used: set[int] = set(fixed_bad)

    def pick(at: int, condition: pl.Expr) -> int:
        r = _first_row(frame, at, condition, frozenset(used))
        used.add(r)
        return r

    # lenient but valid: the same value, spelled the way spreadsheets and people write it
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

    # deliberately bad: each must land in rejects with the reason shown
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
    unquoted_rows.add(r)
    injections.append(Injection(r + 1, table[r][col["property_id"]] or "", "(row)", str(table[r][col["address"]]),
                                "address with commas not quoted: the row has too many fields", True))
    r = pick(1401, given("occupancy") == "primary")
    debt = value(r, "first_lien_balance") + (value(r, "second_lien_balance") or 0.0)
    put(r, "qpri_balance", f"{debt + 50000:.2f}", "qpri_balance more than first + second lien", True)
    put(1568, "months_delinquent", "2.5", "an int column with a fraction (two reasons in one row)", True)
    put(1568, "hardship", "lottery", "not an allowed hardship (two reasons in one row)", True)
    sale = as_of + timedelta(days=8)
    put(1776, "foreclosure_sale_date", f"{sale.month}/{sale.day}/{sale.year}", "not an ISO YYYY-MM-DD date", True)

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for k, row in enumerate(table):
        fields = ["" if v is None else v for v in row]
        if k in unquoted_rows:
            out.write(",".join(fields) + "\n")
        else:
            writer.writerow(fields)
    # a loan sent twice: both copies are rejected (duplicate property_id)
    dup = 1499
    writer.writerow(["" if v is None else v for v in table[dup]])
    pid = table[dup][col["property_id"]] or ""
    injections.append(Injection(dup + 1, pid, "property_id", pid, "duplicate property_id (first copy)", True))
    injections.append(Injection(rows + 1, pid, "property_id", pid, "duplicate property_id (the copy sent again)", True))
    injections.sort(key=lambda j: (not j.bad, j.row))
    return out.getvalue(), injections


def _readme(injections: list[Injection], lender_rows: int) -> str:
    bad = [j for j in injections if j.bad]
    bad_rows = sorted({j.row for j in bad})
    lenient = [j for j in injections if not j.bad]

    def cell(text: str) -> str:
        return "`" + text.replace("|", "\\|") + "`" if text else "(empty)"

    lines = [
        "# Sample data",
        "",
        "Synthetic portfolios made by `dispo.generate` (nothing here is a real loan or person).",
        "Regenerate both files, and this README, with:",
        "",
        "```sh",
        ".venv/bin/python -m dispo.generate --sample sample_data/",
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
        f"`python -m dispo.generate --kind lender --rows {SAMPLE_LENDER_ROWS} --seed {SAMPLE_LENDER_SEED} "
        f"--as-of {SAMPLE_AS_OF} --out lender.csv`",
        "with the changes listed below. `investor_portfolio.csv` is, unchanged,",
        f"`python -m dispo.generate --kind investor --rows {SAMPLE_INVESTOR_ROWS} --seed {SAMPLE_INVESTOR_SEED} "
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
        lines.append(f"| {j.row} | `{j.property_id}` | {j.column} | {cell(j.raw)} | {j.why} |")
    lines += [
        "",
        "## Lenient but valid values (lender_portfolio.csv)",
        "",
        "These rows are accepted: each spelling parses to the value the generator made (SPEC section 1,",
        "parsing), so the results are the same as for the clean spelling.",
        "",
        "| row | property_id | column | raw value | what it exercises |",
        "|---|---|---|---|---|",
    ]
    for j in lenient:
        lines.append(f"| {j.row} | `{j.property_id}` | {j.column} | {cell(j.raw)} | {j.why} |")
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
        "- Many optional values are left empty so the defaults of SPEC section 1 and the pipeline's",
        "  `[defaults]` apply.",
        "",
    ]
    return "\n".join(lines)


def write_samples(directory: Path, as_of: date = SAMPLE_AS_OF) -> list[Path]:
    """Writes ``lender_portfolio.csv``, ``investor_portfolio.csv`` and ``README.md`` into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    text, injections = lender_sample(as_of)
    lender_path = directory / "lender_portfolio.csv"
    with _AtomicFile(lender_path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    investor_path = directory / "investor_portfolio.csv"
    write_portfolio(generate_portfolio("investor", SAMPLE_INVESTOR_ROWS, SAMPLE_INVESTOR_SEED, as_of), investor_path)
    readme = directory / "README.md"
    with _AtomicFile(readme) as tmp:
        tmp.write_text(_readme(injections, SAMPLE_LENDER_ROWS), encoding="utf-8")
    return [lender_path, investor_path, readme]


def main(argv: list[str] | None = None) -> int:
    """``python -m dispo.generate``: a portfolio to a file, or the sample data (``--sample DIR``)."""
    ap = argparse.ArgumentParser(prog="python -m dispo.generate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sample", type=Path, metavar="DIR", help="write the sample data files into DIR")
    ap.add_argument("--kind", choices=KINDS, default="lender")
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--as-of", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default: today)")
    ap.add_argument("--out", type=Path, help=".csv or .parquet")
    ap.add_argument("--chunk-rows", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    if args.sample is not None:
        for p in write_samples(args.sample, args.as_of or SAMPLE_AS_OF):
            print(p)
        return 0
    if args.out is None:
        ap.error("--out is required (or --sample DIR)")
    try:
        n = generate_to_path(args.kind, args.rows, args.seed, args.as_of or date.today(), args.out, args.chunk_rows)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{n} rows written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

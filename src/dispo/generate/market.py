"""Market facts and small numeric helpers for the synthetic portfolios (rough, for synthetic data
only): state weights, price levels, tax and insurance rates, a national price index, mortgage rates
by vintage, street and city names, and the rounding and date helpers the random model uses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache

import numpy as np

from dispo import params

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
BASE_VALUE = 355_000.0

# A national home price index (roughly Case-Shiller, 2000 = 100), linearly interpolated by
# fractional year and flat outside the knots: purchase prices follow it back from today's value.
HPI_YEARS = np.array([2000.0, 2003.0, 2004.0, 2005.0, 2006.5, 2008.0, 2009.0, 2012.0, 2014.0, 2016.0,
                       2018.0, 2020.0, 2021.0, 2022.5, 2023.0, 2024.0, 2025.0, 2026.0, 2028.0])
HPI = np.array([100.0, 128.0, 140.0, 160.0, 184.0, 170.0, 150.0, 135.0, 160.0, 175.0,
                 200.0, 215.0, 250.0, 305.0, 300.0, 320.0, 325.0, 330.0, 340.0])
# 30-year fixed mortgage rates by year of origination (roughly Freddie Mac PMMS).
RATE_YEARS = np.array([2003.0, 2006.0, 2008.0, 2010.0, 2012.5, 2016.0, 2019.0, 2021.0, 2022.0, 2023.5,
                        2025.0, 2026.0])
RATES = np.array([0.058, 0.064, 0.060, 0.047, 0.035, 0.038, 0.040, 0.029, 0.053, 0.070, 0.067, 0.063])

STREETS = tuple([
    "Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Park", "Main", "Church",
    "Walnut", "Spring", "Highland", "Sunset", "Ridge", "Willow", "Jefferson", "Lincoln", "Madison",
    "Meadow", "River", "Forest", "Chestnut", "Hickory", "Dogwood", "Magnolia", "Jackson", "Franklin",
    "Lakeview", "Birch", "Aspen", "Sycamore", "Cherry", "Mill", "Center", "Valley", "Prospect",
    "Fairway", "Orchard",
])
SUFFIXES = ("St", "Ave", "Rd", "Dr", "Ln", "Ct", "Way", "Blvd", "Pl", "Cir")
CITIES = tuple([
    "Springfield", "Riverside", "Fairview", "Franklin", "Greenville", "Clinton", "Madison",
    "Georgetown", "Salem", "Arlington", "Ashland", "Oxford", "Marion", "Centerville", "Jackson",
    "Milford", "Bristol", "Dover", "Burlington", "Manchester", "Auburn", "Clayton", "Hudson",
    "Lebanon", "Newport", "Shelby", "Kingston", "Winchester", "Lexington", "Dayton", "Mount Vernon",
    "Oakland", "Lakewood", "Cleveland", "Plymouth", "Hamilton", "Monroe", "Chester", "Troy", "Union",
])

HARDSHIP_WEIGHTS = {  # among borrowers who give one (job_change: a move for a new job, docs/spec.md S3)
    "job_loss": 0.30, "job_change": 0.06, "divorce": 0.14, "medical": 0.16, "rate_reset": 0.10,
    "rental_loss": 0.04, "death": 0.05, "other": 0.15,
}
FILING_WEIGHTS = {"mfj": 0.45, "single": 0.35, "hoh": 0.15, "mfs": 0.05}


@dataclass(frozen=True)
class States:
    codes: tuple[str, ...]
    weights: np.ndarray
    price_factor: np.ndarray
    tax_rate: np.ndarray
    insurance_rate: np.ndarray


@cache
def states() -> States:
    """The state table, in the order of ``params.state_codes()`` (checked: all 51, nothing else)."""
    table = {}
    for line in _STATE_TABLE.strip().splitlines():
        code, pop, factor, tax, ins = line.split()
        table[code] = (float(pop), float(factor), float(tax) / 100, float(ins) / 100)
    codes = params.state_codes()
    if set(codes) != set(table):
        raise RuntimeError(f"generate: state table differs from states.csv: {sorted(set(codes) ^ set(table))}")
    pop, factor, tax, ins = (np.array([table[c][k] for c in codes]) for k in range(4))
    return States(tuple(codes), pop / pop.sum(), factor, tax, ins)


def epoch_days(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def year_frac(days: np.ndarray | float) -> np.ndarray:
    """Fractional calendar year of days since 1970-01-01 (close enough for price paths)."""
    return 1970.0 + np.asarray(days, dtype=np.float64) / 365.2425


def hpi(days: np.ndarray | float) -> np.ndarray:
    return np.interp(year_frac(days), HPI_YEARS, HPI)


def round_to(x: np.ndarray, step: float) -> np.ndarray:
    """x rounded to a multiple of step, without binary noise (0.05875, not 0.058750000000000004)."""
    return np.round(np.round(x / step) * step, 10)


def cents(x: np.ndarray) -> np.ndarray:
    return np.round(x, 2)


def pick(rng: np.random.Generator, names: Sequence[str], weights: dict[str, float], n: int) -> np.ndarray:
    """Indices into ``names`` drawn with ``weights`` (by name)."""
    p = np.array([weights.get(name, 0.0) for name in names])
    return rng.choice(len(names), size=n, p=p / p.sum())

"""params: the statute figures of data/statute.toml (issue 14 item 3)."""

from __future__ import annotations

import re

from dispo import params
from dispo.engine import dates, lender, shared


def test_every_statute_figure_has_a_unit_a_rule_and_a_legal_reference():
    for f in params.statute_figures().values():
        assert f.unit and f.reference, f.name
        assert re.fullmatch(r"[A-Z]\d+(, [A-Z]\d+)*", f.rule), f.name
        assert re.search(r"U\.S\.C\.|CFR|SPEC", f.reference), f.name


def test_statute_figures_are_the_laws_numbers():
    """The figures as the Code and Reg. X state them (26 U.S.C. §§121, 168, 1222; 12 CFR 1024.41)."""
    expected = {"depreciation_recovery_years": 27.5, "sec121_ownership_months": 24, "sec121_use_months": 24,
                "sec121_window_months": 60, "sec121_reduced_exclusion_months": 24, "long_term_holding_months": 12,
                "reg_x_first_filing_days": 120, "reg_x_complete_application_days": 37}
    assert {k: params.statute(k) for k in expected} == expected


def test_the_engine_reads_its_figures_from_the_statute_file():
    assert shared.DEPRECIATION_YEARS == params.statute("depreciation_recovery_years")
    assert shared.SEC121_HARDSHIPS == tuple(params.statute("sec121_hardships"))
    assert dates.LONG_TERM_MONTHS == params.statute("long_term_holding_months")
    # L9: more than 120 days delinquent, counted in months of 30 days: 5 whole months behind.
    assert lender.REG_X_MIN_MONTHS_DELINQUENT == 5

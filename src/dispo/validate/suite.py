"""The Great Expectations suite of docs/spec.md section 1, generated from :mod:`dispo.schema`.

One expectation per rule, each carrying in its ``meta`` what :mod:`dispo.validate` needs to turn a
failing row into a reason (``dispo_check``, ``dispo_column``, and for a cross rule its name):

- ``expect_column_values_to_not_be_null`` for every required column;
- ``expect_column_values_to_be_between`` for bounds (``strict_min``/``strict_max`` for exclusive ones);
- ``expect_column_values_to_be_in_set`` for allowed sets;
- ``expect_column_values_to_be_unique`` for ``schema.UNIQUE_COLUMN`` (every copy fails);
- ``expect_column_values_to_be_in_set([True])`` on a computed boolean column per cross rule
  (``rule__<name>``: the rule's DuckDB SQL, evaluated before GX runs, with nulls passing).

Great Expectations is imported lazily (it takes seconds) and with its analytics switched off.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from typing import Any

from dispo import schema
from dispo.validate.gx_import import lean_gx_import

SUITE_NAME = "dispo_input"
RULE_PREFIX = "rule__"

# check kinds, in the order their reasons are listed for a column
PARSE, REQUIRED, BOUNDS, ALLOWED, UNIQUE, RULE = "parse", "required", "bounds", "allowed", "unique", "rule"
CHECK_ORDER = {PARSE: 0, REQUIRED: 1, BOUNDS: 2, ALLOWED: 3, UNIQUE: 4, RULE: 5}

_IMPORT_LOCK = threading.Lock()


def import_gx() -> Any:
    """``great_expectations``, imported with analytics off (no network, ever) and without the
    optional parts the suite never uses (:mod:`dispo.validate.gx_import`). Safe to call from
    several threads at once: the first imports, the others wait for it."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    with _IMPORT_LOCK:
        if "great_expectations" in sys.modules:
            return sys.modules["great_expectations"]
        with lean_gx_import(), warnings.catch_warnings():  # GX's optional back ends warn
            warnings.simplefilter("ignore")
            import great_expectations as gx
    return gx


def rule_column(rule: schema.CrossRule) -> str:
    return RULE_PREFIX + rule.name


def expectations() -> list[Any]:
    """The suite's expectations, in schema order, then uniqueness, then the cross rules."""
    gx = import_gx()
    gxe = gx.expectations
    out: list[Any] = []
    for c in schema.COLUMNS:
        meta = {"dispo_check": None, "dispo_column": c.name}
        if c.required:
            out.append(gxe.ExpectColumnValuesToNotBeNull(column=c.name, meta={**meta, "dispo_check": REQUIRED}))
        if c.has_bounds:
            out.append(gxe.ExpectColumnValuesToBeBetween(
                column=c.name, min_value=c.min, max_value=c.max,
                strict_min=c.min_exclusive, strict_max=c.max_exclusive,
                meta={**meta, "dispo_check": BOUNDS},
            ))
        if c.allowed:
            out.append(gxe.ExpectColumnValuesToBeInSet(
                column=c.name, value_set=list(c.allowed), meta={**meta, "dispo_check": ALLOWED}))
    out.append(gxe.ExpectColumnValuesToBeUnique(
        column=schema.UNIQUE_COLUMN, meta={"dispo_check": UNIQUE, "dispo_column": schema.UNIQUE_COLUMN}))
    for rule in schema.CROSS_RULES:
        out.append(gxe.ExpectColumnValuesToBeInSet(
            column=rule_column(rule), value_set=[True],
            meta={"dispo_check": RULE, "dispo_column": rule.column, "dispo_rule": rule.name},
        ))
    return out


def validation_suite() -> Any:
    """A new ``ExpectationSuite`` holding every expectation of the input contract."""
    gx = import_gx()
    return gx.ExpectationSuite(name=SUITE_NAME, expectations=expectations())  # needs no context


def ephemeral_context() -> Any:
    """An in-memory GX context with progress bars and analytics off."""
    gx = import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.config.analytics_enabled = False
    return context

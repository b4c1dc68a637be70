"""GX's validation with each expectation's configuration built once (dispo.validate.gx_graph)
gives the result GX gives without the cache, on an input with every kind of failing check."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from dispo.ingest import ingest
from dispo.validate import ROW, gx_frame, validate
from dispo.validate import gx_graph
from dispo.validate.suite import ephemeral_context, import_gx, validation_suite

AS_OF = date(2026, 11, 22)
MESSY = Path(__file__).parents[1] / "data" / "messy" / "portfolio.csv"


def _validated_by_gx(frame: pl.DataFrame, cached: bool) -> dict:
    gx = import_gx()
    from great_expectations.validator.v1_validator import Validator

    context = ephemeral_context()
    batch = (context.data_sources.add_pandas("t").add_dataframe_asset("rows")
             .add_batch_definition_whole_dataframe("all"))
    pdf = frame.to_pandas()
    pdf.index = pdf.pop(ROW).to_numpy()
    suite = context.suites.add(gx.ExpectationSuite(name="s", expectations=validation_suite().expectations))
    validator = Validator(batch_definition=batch, batch_parameters={"dataframe": pdf},
                          result_format={"result_format": "COMPLETE"})
    if cached:
        with gx_graph.configurations_built_once():
            result = validator.validate_expectation_suite(suite)
    else:
        result = validator.validate_expectation_suite(suite)
    out = result.to_json_dict()
    out.pop("meta", None)  # run time, batch markers
    for r in out["results"]:
        r["expectation_config"].pop("id", None)
    return out


def test_cached_configurations_give_gx_own_result():
    ingested = ingest([MESSY], duckdb.connect(), as_of=AS_OF)
    typed = ingested.with_typed().typed.with_row_index(ROW)
    frame = gx_frame(typed, AS_OF)
    plain, cached = _validated_by_gx(frame, False), _validated_by_gx(frame, True)
    assert plain["statistics"]["unsuccessful_expectations"] >= 10  # every kind of check fails somewhere
    assert cached == plain


def test_property_restored_after_validation():
    import_gx()
    from great_expectations.expectations.expectation import Expectation

    before = Expectation.__dict__["configuration"]
    validate(ingest([MESSY], duckdb.connect(), as_of=AS_OF), as_of=AS_OF)
    assert Expectation.__dict__["configuration"] is before

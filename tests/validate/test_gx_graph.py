"""GX's validation as dispo runs it (each expectation's configuration built once,
dispo.validate.gx_graph; a small frame's text as Python strings, OBJECT_STRINGS_ROWS) gives the
result GX gives on the plain frame without the cache, on an input with every kind of failing check."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from dispo.ingest import ingest
from dispo.validate import ROW, _small_strings_as_objects, gx_frame, validate
from dispo.validate import gx_graph
from dispo.validate.suite import ephemeral_context, import_gx, validation_suite

AS_OF = date(2026, 11, 22)
MESSY = Path(__file__).parents[1] / "data" / "messy" / "portfolio.csv"


def _validated_by_gx(frame: pl.DataFrame, cached: bool, objects: bool) -> dict:
    gx = import_gx()
    from great_expectations.validator.v1_validator import Validator

    context = ephemeral_context()
    batch = (context.data_sources.add_pandas("t").add_dataframe_asset("rows")
             .add_batch_definition_whole_dataframe("all"))
    pdf = _small_strings_as_objects(frame.to_pandas()) if objects else frame.to_pandas()
    assert (pdf.dtypes == object).any() == objects
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


def test_dispo_way_of_running_gx_gives_gx_own_result():
    ingested = ingest([MESSY], duckdb.connect(), as_of=AS_OF)
    typed = ingested.with_typed().typed.with_row_index(ROW)
    frame = gx_frame(typed, AS_OF)
    plain = _validated_by_gx(frame, False, False)
    assert plain["statistics"]["unsuccessful_expectations"] >= 10  # every kind of check fails somewhere
    assert _validated_by_gx(frame, True, False) == plain
    assert _validated_by_gx(frame, True, True) == plain


def test_property_restored_after_validation():
    import_gx()
    from great_expectations.expectations.expectation import Expectation

    before = Expectation.__dict__["configuration"]
    validate(ingest([MESSY], duckdb.connect(), as_of=AS_OF), as_of=AS_OF)
    assert Expectation.__dict__["configuration"] is before

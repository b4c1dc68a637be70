"""Polars schemas as Spark schemas: what a ``mapInArrow`` function declares it returns."""

from __future__ import annotations

from typing import Any

import polars as pl


def _arrow_type(dtype: pl.DataType) -> Any:
    import pyarrow as pa

    simple = {pl.String: pa.string(), pl.Int64: pa.int64(), pl.Int32: pa.int32(), pl.Int16: pa.int16(),
              pl.Int8: pa.int8(), pl.Float64: pa.float64(), pl.Float32: pa.float32(), pl.Boolean: pa.bool_(),
              pl.Date: pa.date32()}
    for k, v in simple.items():
        if dtype == k:
            return v
    if isinstance(dtype, pl.List):
        return pa.list_(_arrow_type(dtype.inner))
    if isinstance(dtype, pl.Struct):
        return pa.struct([(f.name, _arrow_type(f.dtype)) for f in dtype.fields])
    raise TypeError(f"dispo: no Spark type for Polars {dtype}")  # pragma: no cover - engine types are simple


def spark_schema(polars_schema: pl.Schema) -> tuple[Any, Any]:
    """(Spark StructType, the Arrow schema Spark expects back from mapInArrow) for a Polars schema."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

    arrow = pa.schema([(n, _arrow_type(t)) for n, t in polars_schema.items()])
    struct = from_arrow_schema(arrow)
    return struct, to_arrow_schema(struct)

"""The one cross-row check of validation on Spark: duplicate ``property_id`` (SPEC 1, UNIQUE).

Every row checked in a partition carries ``__dispo_pid`` (its trimmed property_id when its record
could be split), ``__dispo_reasons`` (its row-level reasons with validation's sort keys) and
``__dispo_raw`` (its raw text); Spark counts the copies of each id and adds validation's reason to
every copy, in validation's order of reasons.
"""

from __future__ import annotations

from typing import Any, Sequence

from dispo import schema
from dispo.spark import checks, partition as P

ACCEPTED = "__dispo_accepted"
COPIES = "__dispo_copies"


def duplicate_ids(checked: Any) -> Any:
    """property_id values held by more than one row of ``checked`` (of the rows whose record could
    be split), with their number of copies: a groupBy over one narrow column."""
    from pyspark.sql import functions as F

    return (checked.where(F.col(P.PID).isNotNull()).groupBy(P.PID)
            .agg(F.count(F.lit(1)).alias(COPIES)).where(F.col(COPIES) > 1))


def split_accepted(checked: Any, columns: Sequence[str], dups: Any) -> Any:
    """``checked`` with the duplicate-id reason added to every copy (in validation's order of
    reasons) and ``__dispo_accepted``. ``columns``: the order of the raw texts in ``__dispo_raw``."""
    from pyspark.sql import functions as F

    before, after = checks.duplicate_message(0).split("0", 1)
    raw_pid = F.col(P.RAW).getItem(list(columns).index(schema.UNIQUE_COLUMN))
    reason = F.struct(
        F.lit(checks.unique_rank()).cast("long").alias("rank"), F.lit(0).cast("long").alias("sub"),
        F.concat(F.lit(f"{schema.UNIQUE_COLUMN}: {before}"), F.col(COPIES).cast("string"), F.lit(f"{after}: '"),
                 F.coalesce(raw_pid, F.lit("")), F.lit("'")).alias("text"))
    final = checked.join(dups, on=P.PID, how="left")
    reasons = (F.when(F.col(COPIES).isNotNull(), F.array_sort(F.concat(F.col(P.REASONS), F.array(reason))))
               .otherwise(F.col(P.REASONS)))
    return final.withColumn(P.REASONS, reasons).withColumn(ACCEPTED, F.size(P.REASONS) == 0)

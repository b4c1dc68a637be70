"""Seeded synthetic portfolios: realistic input rows for demos, tests and benchmarks.

Two kinds of portfolio, with the input columns of docs/spec.md section 1 (``dispo.schema.COLUMNS``, in its
order, with its types):

- ``lender``: a servicer's book of distressed first-lien loans. Mostly owner-occupied, mostly 1-12
  months delinquent (a few current borrowers with a hardship), ~30 % underwater after selling costs,
  some second liens, scheduled foreclosure sales (a few within 60 days) and short-sale offers in hand.
- ``investor``: an investor's holdings. ~70 % rentals (rents 0.6-0.9 % of value a month, depreciation
  claimed, some converted former homes with ``fmv_at_conversion``, suspended passive losses), the rest
  primary and second homes; ~30 % free and clear.

Every value satisfies the schema's bounds, allowed sets and cross rules; many optional values are
left null so the defaults of docs/spec.md section 1 get exercised.

Determinism and streaming: rows are made in fixed blocks of ``BLOCK_ROWS`` rows, each from its own
random stream seeded by ``(seed, kind, block index)``. A portfolio therefore depends only on
``(kind, rows, seed, as_of)`` -- never on how it is chunked -- and ``generate_to_path`` can write
10M rows with memory bounded by ``chunk_rows``. Everything is vectorized (numpy + Arrow + Polars);
there is no per-row Python code.

Command line (the sample data of ``sample_data/`` is made by the second form)::

    dispo generate --kind lender --rows 1000000 --seed 1 --out lender.parquet
    dispo generate --sample sample_data/

The package: :mod:`~dispo.generate.market` (market facts: states, price index, rates),
:mod:`~dispo.generate.model` (the random model of a block, by topic), :mod:`~dispo.generate.portfolio`
(portfolios as frames and files) and :mod:`~dispo.generate.sample` (the sample data).
"""

from __future__ import annotations

from dispo.generate.model import BLOCK_ROWS
from dispo.generate.portfolio import (
    KINDS, POLARS_TYPES, Kind, atomic_file, generate_portfolio, generate_to_path, write_portfolio,
)
from dispo.generate.sample import (
    SAMPLE_AS_OF, SAMPLE_INVESTOR_ROWS, SAMPLE_INVESTOR_SEED, SAMPLE_LENDER_ROWS, SAMPLE_LENDER_SEED, Injection,
    lender_sample, write_samples,
)

__all__ = ["BLOCK_ROWS", "KINDS", "POLARS_TYPES", "Kind", "atomic_file", "generate_portfolio", "generate_to_path",
           "write_portfolio", "SAMPLE_AS_OF", "SAMPLE_INVESTOR_ROWS", "SAMPLE_INVESTOR_SEED", "SAMPLE_LENDER_ROWS",
           "SAMPLE_LENDER_SEED", "Injection", "lender_sample", "write_samples"]

"""The Spark engine's driver: the same run as :func:`dispo.run.run_pipeline`, with Spark doing the work.

Stages (reported like the local runner's):

1. **ingest**: list the inputs, check every header (the ingest's own checks), count each CSV
   file's lines per Spark split (:func:`partition.split_stats`) and chain the splits into a row
   numbering plan; count Parquet rows per file. File-level problems stop the run here (exit 1,
   nothing written).
2. **evaluate**: one ``mapInArrow`` over all records runs, per partition, the ingest's parse SQL,
   the row-level checks and the engine (:mod:`dispo.spark.partition`); the evaluated rows are
   checkpointed as Parquet in a work directory inside ``output_dir``.
3. **validate**: one aggregate pass (:func:`run_facts`: a ``groupBy`` of property_id) gives the
   duplicated ids, the blank rows per file and the run's SPEC 5.5 decision; every copy of a duplicated
   id gets the reason with the count (a broadcast join: the wide rows are not shuffled); accepted rows
   are written by Spark as ``results.parquet/`` (Parquet parts, each sorted by file and row), the
   rejects sorted by (source_file, row_number) and collected; rows read = accepted + rejected.
4. **write**: the driver ranks the worklists (narrow, docs/spec.md section 7) from the results it holds,
   reshapes tax_outcomes with the local code and writes every table and summary.json through
   :func:`dispo.reports.write_outputs` (one atomic set; output_dir/failed for a gate-failed run). ``results.parquet/`` replaces the previous one right
   after the set is committed.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import shutil
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import polars as pl

from dispo import engine, schema, store
from dispo.config import PipelineConfig
from dispo.errors import DispoError
from dispo.outcome import EXIT_GATE, EXIT_OK, Reporter, RunOutcome, SilentReporter, gate_failed, set_directory, timed
from dispo.reports.readable import readable_writers
from dispo.spark import history, partition as P
from dispo.spark.duplicates import ACCEPTED, COPIES, split_accepted
from dispo.spark.types import spark_schema
from dispo.spark.session import require_spark, spark_session, sql_conf

SRC, RN = schema.LINEAGE_COLUMNS
#: The results: a directory of Parquet parts under the name of the local engine's file (Polars,
#: pandas/pyarrow, DuckDB and Spark each read the directory by that name).
RESULTS_DIR = "results.parquet"
#: Where an earlier version of the Spark engine wrote them (removed by a run, so only one is there).
LEGACY_RESULTS_DIR = "results"
WORK_PREFIX = ".dispo-spark-"
#: Rows per partition of the evaluation, at most (more partitions only when there are more cores).
DEFAULT_ROWS_PER_PARTITION = 200_000
#: Duplicated ids joined to the evaluated rows by broadcast up to this many.
BROADCAST_IDS = 1_000_000
#: Spark's own log (the JVM's output) of the last run dispo started Spark for, in output_dir.
SPARK_LOG = "spark.log"


@dataclass
class InputFile:
    """One input file as the Spark engine sees it."""

    spark_path: str       # what Spark is given
    key: str              # norm_uri of it
    name: str             # source_file
    kind: str             # "csv" or "parquet"
    index: int
    columns: list[str] = field(default_factory=list)
    local: Path | None = None
    rows: int = 0
    row_groups: int | None = None  # a local Parquet file's (Spark reads a row group in one task)
    blank_lines: int = 0           # a CSV file's blank lines, counted as the local ingest counts them

    @property
    def shown(self) -> str:
        """The file as a local run's errors name it: its absolute path (or its URI)."""
        return os.path.abspath(self.local) if self.local is not None else self.spark_path


# --- small helpers -----------------------------------------------------------------------------------

def q(name: str) -> Any:
    """A column by its exact name (input names may hold dots, spaces or backticks)."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def _glob_escape(path: str) -> str:
    """A local path as a Hadoop path that matches only itself (Spark globs every path it reads)."""
    return "".join("\\" + ch if ch in "{}[]*?\\" else ch for ch in path)


def _spark_local_path(p: Path) -> str:
    """A local file or directory for Spark to read: not percent-encoded (Hadoop would take ``%20``
    literally), glob characters escaped."""
    return "file://" + _glob_escape(str(Path(os.path.abspath(p))))


def _spark_write_path(p: Path) -> str:
    """A local directory for Spark to write (writes do not glob)."""
    return "file://" + str(Path(os.path.abspath(p)))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _dispo_error_in(exc: BaseException) -> str | None:
    """The message of a DispoError raised in a Python worker (Spark wraps it in its own error)."""
    for line in reversed(str(exc).splitlines()):
        marker = "DispoError: "
        if marker in line:
            return line.split(marker, 1)[1].strip()
    return None


@contextmanager
def _spark_errors() -> Iterator[None]:
    """Spark's errors about the user's files as one-line DispoErrors; anything else propagates."""
    try:
        yield
    except DispoError:
        raise
    except Exception as exc:
        message = _dispo_error_in(exc)
        if message:
            raise DispoError(message) from None
        cls = type(exc).__name__
        text = str(exc)
        if cls == "AnalysisException" and "PATH_NOT_FOUND" in text:
            raise DispoError(f"input not found: {_first_line(exc)}") from None
        if cls in ("AnalysisException", "SparkRuntimeException") and (
                "parquet" in text.lower() or "CANNOT_MERGE" in text or "Illegal Parquet type" in text):
            raise DispoError(f"Spark cannot read the Parquet input: {_first_line(exc)}") from None
        raise


def uri_source_names(uris: list[str]) -> list[str]:
    """``source_file`` for inputs given as URIs: like the ingest's names (path relative to the
    deepest directory holding all inputs) when they share a scheme and host, else the URI."""
    parts = [urlsplit(u) for u in uris]
    if len(uris) == 1:
        return [parts[0].path.rsplit("/", 1)[-1]]
    if len({(p.scheme, p.netloc) for p in parts}) != 1:
        return list(uris)
    import posixpath

    common = posixpath.commonpath([posixpath.dirname(p.path) for p in parts])
    return [posixpath.relpath(p.path, common) for p in parts]


def _glob_remote(spark: Any, pattern: str) -> list[str]:
    """Files a URI (or URI glob) names, listed by Hadoop's FileSystem (s3a, abfs, gs, hdfs, dbfs…)."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    path = jvm.org.apache.hadoop.fs.Path(pattern)
    try:
        fs = path.getFileSystem(conf)
        statuses = fs.globStatus(path)
    except Exception as exc:
        raise DispoError(f"{pattern}: cannot list: {_first_line(exc)}") from None
    if statuses is None or len(statuses) == 0:
        raise DispoError(f"{pattern}: input file not found" if not any(c in pattern for c in "*?[{")
                         else f"input pattern '{pattern}' matches no file")
    files = sorted(str(s.getPath().toString()) for s in statuses if s.isFile())
    if not files:
        raise DispoError(f"{pattern}: not a file")
    return files


# --- 1. ingest ---------------------------------------------------------------------------------------

def resolve_inputs(spark: Any, cfg: PipelineConfig) -> list[InputFile]:
    """Every input file with its name, kind and (for local files) its checked columns."""
    from dispo.ingest.reader import file_kind, read_source, source_names

    local = [Path(p) for p in cfg.inputs]
    remote: list[str] = []
    for pattern in cfg.input_uris:
        remote += [u for u in _glob_remote(spark, pattern) if u not in remote]
    if remote:
        names = uri_source_names([Path(os.path.abspath(p)).as_uri() for p in local] + remote)
    else:
        names = source_names(local)
    files: list[InputFile] = []
    seen: set[str] = set()
    for i, (p, name) in enumerate(zip(local, names)):
        key = P.norm_uri(Path(os.path.abspath(p)).as_uri())
        if key in seen:
            raise DispoError(f"{p}: input file given twice")
        seen.add(key)
        source = read_source(p, name)  # existence, type, header: the ingest's own checks and messages
        groups = None
        if source.kind == "parquet":
            import pyarrow.parquet as pq

            groups = pq.ParquetFile(p).metadata.num_row_groups
        files.append(InputFile(_spark_local_path(p), key, name, source.kind, i, list(source.columns), local=p,
                               row_groups=groups))
    for j, (u, name) in enumerate(zip(remote, names[len(local):])):
        key = P.norm_uri(u)
        if key in seen:
            continue
        seen.add(key)
        files.append(InputFile(u, key, name, file_kind(Path(urlsplit(u).path)), len(local) + j))
    return files


def _check_columns(f: InputFile) -> None:
    from dispo.ingest.reader import Source, check_columns

    check_columns(Source(f.local or Path(f.spark_path), f.name, f.kind, f.columns))
    if f.kind == "parquet" and "file_row_number" in f.columns:  # as the local ingest says
        raise DispoError(f"{f.name}: a Parquet column may not be named 'file_row_number'")
    for c in f.columns:
        if c.startswith(P.INTERNAL_PREFIX):
            raise DispoError(f"{f.name}: input column {c!r} uses a name reserved for dispo's internal columns")


def _header_columns(f: InputFile, header: bytes) -> list[str]:
    try:
        text = header.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DispoError(f"{f.name}: cannot read as a UTF-8 CSV file: {_first_line(exc)}") from None
    row = next(csv.reader([text.rstrip("\r")]), None)
    if row is None:
        raise DispoError(f"{f.name}: no data rows (the file is empty)")
    return [h.strip() for h in row]


@dataclass
class Ingested:
    files: list[InputFile]
    columns: list[str]
    lines: Any = None              # Spark DataFrame of CSV lines (or None)
    plan: dict = field(default_factory=dict)
    multiline: bool = False
    parquet: Any = None            # Spark DataFrame of Parquet rows (or None)
    blank_lines: int = 0           # blank lines counted as the local ingest counts them
    blank_cell_rows: int = 0       # records of blank cells, skipped (known once evaluated)

    @property
    def rows_read(self) -> int:
        """Input rows (docs/spec.md section 2: rows of blank cells are not input rows)."""
        return sum(f.rows for f in self.files) - self.blank_cell_rows

    @property
    def blank_rows(self) -> int:
        """summary.json's ``blank_rows``, as a local run counts it."""
        return self.blank_lines + self.blank_cell_rows


def ingest(spark: Any, cfg: PipelineConfig) -> Ingested:
    from pyspark.sql import functions as F

    files = resolve_inputs(spark, cfg)
    csv_files = [f for f in files if f.kind == "csv"]
    pq_files = [f for f in files if f.kind == "parquet"]
    for f in pq_files:
        if f.local is None:
            f.columns = list(spark.read.parquet(f.spark_path).schema.names)
    for f in files:
        if f.columns:
            _check_columns(f)

    lines = plan = None
    multiline = False
    blank_lines = 0
    if csv_files:
        lines = (spark.read.option("lineSep", "\n").text([f.spark_path for f in csv_files])
                 .select(F.col("value").cast("binary").alias(P.LINE),
                         F.col("_metadata.file_path").alias(P.FILE),
                         F.col("_metadata.file_block_start").alias(P.BLOCK)))
        stats = [r.asDict() for r in lines.mapInArrow(P.split_stats, P.STATS_DDL).collect()]
        plan, counted = P.line_plan(stats)
        for f in csv_files:
            info = counted.get(f.key)
            if f.local is None:  # a remote file's header comes from its first line
                if info is None or info.lines == 0:
                    raise DispoError(f"{f.name}: no data rows (the file is empty)")
                if info.header_in_quote:
                    raise DispoError(f"{f.name}: the header spans lines (a quoted newline); "
                                     "the Spark engine reads such a file only from a local path")
                f.columns = _header_columns(f, info.header)
                _check_columns(f)
            f.rows = info.records if info else 0
            f.blank_lines = info.blank_rows if info else 0
        multiline = any(info.continuation for info in counted.values())
        blank_lines = sum(info.blank_rows for info in counted.values())

    parquet = None
    if pq_files:
        union_pq: list[str] = []
        for f in pq_files:
            union_pq += [c for c in f.columns if c not in union_pq]
        reader = spark.read.option("mergeSchema", "true")
        parquet = (reader.parquet(*[f.spark_path for f in pq_files])
                   .select(F.col("_metadata.file_path").alias(P.PQ_FILE),
                           F.col("_metadata.row_index").alias(P.PQ_ROW), *[q(c) for c in union_pq]))
        counts = {P.norm_uri(r[P.PQ_FILE]): r["count"]
                  for r in parquet.groupBy(P.PQ_FILE).count().collect()}
        for f in pq_files:
            f.rows = counts.get(f.key, 0)

    for f in files:  # in input order, as the local ingest checks them
        if f.rows == 0:
            raise DispoError(f"{f.name}: no data rows")
    columns: list[str] = []
    for f in files:
        columns += [c for c in f.columns if c not in columns]
    return Ingested(files, columns, lines, plan or {}, multiline, parquet, blank_lines)


# --- 2. evaluate -----------------------------------------------------------------------------------------

def evaluate(spark: Any, cfg: PipelineConfig, ing: Ingested, work: Path) -> tuple[pl.Schema, str]:
    """Runs the partition function over every record; writes the evaluated rows to ``work``."""
    from pyspark.sql import functions as F

    files = {f.key: P.FileRef(f.name, f.index, f.kind, tuple(f.columns)) for f in ing.files}
    # the pipeline's overrides (switches as true/false, no default-less None): what from_overrides takes
    ctx = P.EvalContext(as_of=cfg.as_of, assumptions=cfg.assumptions.overrides(), defaults=dict(cfg.defaults),
                        columns=tuple(ing.columns), files=files,
                        chunk_rows=int(os.environ.get("DISPO_SPARK_CHUNK_ROWS", P.DEFAULT_CHUNK_ROWS)))
    out_polars = P.output_schema(ctx)
    struct, arrow = spark_schema(out_polars)
    ctx = dataclasses.replace(ctx, out_schema=arrow)
    parallelism = spark.sparkContext.defaultParallelism
    per_partition = int(os.environ.get("DISPO_SPARK_ROWS_PER_PARTITION", DEFAULT_ROWS_PER_PARTITION))
    waves = -(-ing.rows_read // max(1, per_partition * parallelism))  # rounds of one partition per core
    wanted = parallelism * max(1, waves)

    def spread(df: Any, tasks: int | None = None) -> Any:
        """At least one partition per core (a small file is one split), and no more partitions than
        ``wanted`` (each partition pays the engine's fixed cost per chunk). ``tasks``: how many
        partitions really hold rows, when Spark's count says otherwise (a Parquet row group is read
        by one task, however many byte splits its file has)."""
        n = df.rdd.getNumPartitions() if tasks is None else min(tasks, df.rdd.getNumPartitions())
        if n < parallelism:
            return df.repartition(wanted)
        return df.coalesce(wanted) if n > wanted else df

    parts = []
    if ing.lines is not None:
        plan = ing.plan
        numbered = ing.lines.mapInArrow(lambda it: P.number_lines(it, plan), P.NUMBERED_DDL)
        if ing.multiline:  # records spanning lines: gather their lines, in order, by (file, row)
            single = numbered.where(~F.col("frag")).select(P.FILE, RN, P.RECORD_TEXT)
            multi = (numbered.where(F.col("frag")).groupBy(P.FILE, RN)
                     .agg(F.sort_array(F.collect_list(F.struct("line_no", P.RECORD_TEXT))).alias("p"))
                     .select(P.FILE, RN, F.expr("aggregate(slice(p, 2, size(p)), p[0].text, "
                                                "(acc, x) -> concat(acc, X'0A', x.text))").alias(P.RECORD_TEXT)))
            records = single.unionByName(multi)
        else:
            records = numbered.select(P.FILE, RN, P.RECORD_TEXT)
        parts.append(spread(records).mapInArrow(lambda it: P.evaluate_csv_records(it, ctx), struct))
    if ing.parquet is not None:
        groups = [f.row_groups for f in ing.files if f.kind == "parquet"]
        tasks = sum(groups) if all(g is not None for g in groups) else None
        parts.append(spread(ing.parquet, tasks).mapInArrow(lambda it: P.evaluate_parquet_rows(it, ctx), struct))
    evaluated = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])
    target = _spark_local_path(work / "evaluated")
    _write(evaluated, work / "evaluated", checkpoint=True)
    return out_polars, target


# --- 3. validate (cross-row) ---------------------------------------------------------------------------

# --- 4. write -------------------------------------------------------------------------------------------

def _write(df: Any, directory: Path, *, checkpoint: bool = False) -> None:
    writer = df.write.mode("overwrite").option("compression", "zstd")
    if checkpoint:  # read once, by this run: dictionary pages cost a third of the write time
        writer = writer.option("parquet.enable.dictionary", "false")
    writer.parquet(_spark_write_path(directory))


def _parts(directory: Path) -> list[Path]:
    """Spark's part files of a written directory, in partition order."""
    found = [p for p in directory.glob("part-*") if p.name.endswith(".parquet")]
    return sorted(found, key=lambda p: (int(p.name.split("-")[1]), p.name))


def _read(parts: list[Path], polars_schema: dict[str, pl.DataType]) -> pl.DataFrame:
    if not parts:
        return pl.DataFrame(schema=polars_schema)
    return pl.read_parquet(parts, glob=False).select(list(polars_schema)).cast(polars_schema)


@dataclass
class RunFacts:
    """What the driver learns from the evaluated checkpoint in one aggregate pass (:func:`run_facts`)."""

    blank_cells: dict[int, int]   # records of blank cells per file index (skipped and counted, docs/spec.md section 2)
    duplicates: pl.DataFrame      # PID and COPIES of each property_id held by more than one row
    without: frozenset[str]       # the per-row assumption columns the results leave out (SPEC 5.5)


def run_facts(spark: Any, evaluated: Any, columns: list[str], cfg_defaults: dict) -> RunFacts:
    """One pass over the checkpoint: a ``groupBy`` of property_id (narrow columns: the id, the
    blank flag, the reasons' count, ``VALUED``; a blank row, which has no id, by its file) and one
    aggregate of its groups give the blank rows of each file, the duplicated ids (every copy is
    rejected) and which per-row assumption columns hold a value in an accepted row (a row without
    row-level reasons whose id has one copy): the run's SPEC 5.5 decision, made once
    (``engine.without_row_value``), as a local run makes it."""
    from pyspark.sql import functions as F

    clean = (F.size(P.REASONS) == 0) & ~F.col(P.BLANK)
    blank_file = F.when(F.col(P.BLANK), F.col(P.FILE_INDEX)).alias("blank_file")
    groups = (evaluated.groupBy(P.PID, blank_file)
              .agg(F.count(F.lit(1)).alias(COPIES), F.sum(clean.cast("long")).alias("clean"),
                   F.bit_or(P.VALUED).alias("valued")))
    single = F.col(P.PID).isNotNull() & (F.col(COPIES) == 1)
    facts = groups.agg(
        F.collect_list(F.when(F.col("blank_file").isNotNull(), F.struct("blank_file", COPIES))).alias("blank"),
        F.coalesce(F.sum(F.when(single, F.col("clean"))), F.lit(0)).alias("accepted"),
        F.coalesce(F.bit_or(F.when(single, F.col("valued"))), F.lit(0)).alias("valued"),
        F.collect_list(F.when(F.col(P.PID).isNotNull() & (F.col(COPIES) > 1),
                              F.struct(P.PID, COPIES))).alias("dups")).first()
    dups = pl.DataFrame([(d[P.PID], d[COPIES]) for d in facts["dups"]], schema={P.PID: pl.String, COPIES: pl.Int64},
                        orient="row")
    given = engine.row_value_columns(columns)
    counts = {c: (facts["valued"] >> i) & 1 for i, c in enumerate(given)}
    blank = {b["blank_file"]: b[COPIES] for b in facts["blank"]}
    return RunFacts(blank, dups, engine.without_row_value(counts, facts["accepted"], cfg_defaults))


def _split(spark: Any, ing: Ingested, evaluated_uri: str, out_schema: dict, work: Path,
           cfg_defaults: dict) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The cross-row check, then the split of the evaluated checkpoint: results.parquet/ (Parquet
    parts in ``work``) and the rejects; every row read is in one of them. Returns (duplicate ids,
    results, rejects)."""
    from pyspark.sql import functions as F

    # spreadsheet_line: the header's line (1 for CSV and Parquet) + row_number, as validation gives it
    rejects_schema = {SRC: pl.String, RN: pl.Int64, "spreadsheet_line": pl.Int64, "reasons": pl.List(pl.String),
                      **{c: pl.String for c in ing.columns}}
    checkpoint = spark.read.parquet(evaluated_uri)
    facts = run_facts(spark, checkpoint, ing.columns, cfg_defaults)
    ing.blank_cell_rows = sum(facts.blank_cells.values())  # skipped and counted as the local ingest does
    for f in ing.files:  # in input order, as the local ingest checks them
        if f.rows == facts.blank_cells.get(f.index, 0):
            blank = f.rows + f.blank_lines
            raise DispoError(f"{f.shown}: no data rows (only {blank:,} blank row{'s' * (blank != 1)})")
    dups = facts.duplicates  # usually a handful; tax_outcomes needs them below
    dups_df = spark.createDataFrame(dups.to_arrow()) if dups.height else \
        spark.createDataFrame([], f"{P.PID} string, {COPIES} long")
    # a broadcast join keeps the checkpoint's partitions (no shuffle of the wide rows)
    final = split_accepted(checkpoint.where(~F.col(P.BLANK)), ing.columns,
                           F.broadcast(dups_df) if dups.height <= BROADCAST_IDS else dups_df)
    accepted = final.where(F.col(ACCEPTED))
    result_cols = [c for c in out_schema if not c.startswith(P.INTERNAL_PREFIX) and c not in facts.without]
    results_schema = {c: out_schema[c] for c in result_cols}
    _write(accepted.sortWithinPartitions(P.FILE_INDEX, RN).select(*[q(c) for c in result_cols]),
           work / RESULTS_DIR)
    rejects = pl.from_arrow(
        final.where(~F.col(ACCEPTED))
        .select(q(SRC), q(RN), (F.lit(1) + F.col(RN)).cast("long").alias("spreadsheet_line"),
                F.transform(P.REASONS, lambda x: x["text"]).alias("reasons"),
                *[F.col(P.RAW).getItem(i).alias(f"c{i}") for i in range(len(ing.columns))])
        .orderBy(q(SRC).asc_nulls_last(), q(RN).asc_nulls_last()).toArrow())
    rejects = rejects.rename({f"c{i}": c for i, c in enumerate(ing.columns)}).cast(rejects_schema)
    results = _read(_parts(work / RESULTS_DIR), results_schema)
    accepted, rejected = results.height, rejects.height
    if accepted + rejected != ing.rows_read:
        from dispo.validate import RowConservationError

        raise RowConservationError(
            f"rows read {ing.rows_read} != accepted {accepted} + rejected {rejected}")
    return dups, results, rejects


def _replace_results(output_dir: Path, new: Path, work: Path) -> Path:
    """Moves the new ``results.parquet/`` into place: the previous results (a local run's file or
    a Spark run's directory) go to ``work`` and are removed with it; so does a ``results/`` an
    earlier version of this engine wrote. Spark's ``_SUCCESS`` marker and checksum files go."""
    target = output_dir / RESULTS_DIR
    for n, old in enumerate((target, output_dir / LEGACY_RESULTS_DIR)):
        if old.exists() or old.is_symlink():
            os.replace(old, work / f"results.old{n}")
    for marker in [*new.glob(".*.crc"), new / "_SUCCESS"]:
        marker.unlink(missing_ok=True)
    os.replace(new, target)
    return target


@contextmanager
def _work_dir(output_dir: Path) -> Iterator[Path]:
    output_dir.mkdir(parents=True, exist_ok=True)
    work = output_dir / f"{WORK_PREFIX}{uuid.uuid4().hex}"
    work.mkdir()
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _summary(spark: Any, cfg: PipelineConfig, ing: Ingested, results: pl.DataFrame, rejects: pl.DataFrame,
             timings: dict[str, float], exit_code: int, run_id: str, started: float, changes: Any,
             parts: int) -> dict:
    """summary.json of a Spark run: a local run's, plus ``engine`` and ``spark``."""
    from dispo import reports

    inputs = [str(p) for p in cfg.inputs] + list(cfg.input_uris)
    return reports.summary(
        rows_read=ing.rows_read, results=results, rejects=rejects, as_of=cfg.as_of,
        config=cfg.canonical(), max_reject_fraction=cfg.max_reject_fraction, timings=timings,
        exit_code=exit_code, pipeline=cfg.name, inputs=inputs, run_id=run_id,
        extra={"assumptions_changed": cfg.assumptions.overrides(), "defaults": dict(cfg.defaults),
               "blank_rows": ing.blank_rows,
               "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
               "diff": changes.counts() if changes else None, "engine": "spark",
               "spark": {"version": spark.version, "master": spark.sparkContext.master,
                         "default_parallelism": spark.sparkContext.defaultParallelism,
                         "results_parts": parts}},
    )


def run_pipeline_spark(cfg: PipelineConfig, reporter: Reporter | None = None) -> RunOutcome:
    """Runs a pipeline on Spark; outputs as :func:`dispo.run.run_pipeline`'s, with
    ``results.parquet`` a directory of Parquet parts."""
    require_spark()
    run_id = store.new_run_id(cfg.as_of)
    # the run database first: a run already in progress stops this one before Spark starts
    with history.recorded_run(cfg, run_id) as con, \
            spark_session(f"dispo {cfg.name}", cfg.output_dir / SPARK_LOG) as spark, _spark_errors():
        with sql_conf(spark, {"spark.sql.caseSensitive": "true"}):
            return _run(spark, cfg, reporter or SilentReporter(), con, run_id)


def _run(spark: Any, cfg: PipelineConfig, reporter: Reporter, con: Any, run_id: str) -> RunOutcome:
    from dispo import reports
    from dispo.reports import tables

    timings: dict[str, float] = {}
    started = time.time()
    n_inputs = len(cfg.inputs) + len(cfg.input_uris)
    with _work_dir(cfg.output_dir) as work, ExitStack() as stack:
        with timed(timings, reporter, "ingest", f"{n_inputs} input{'s' * (n_inputs != 1)} on Spark") as note:
            ing = ingest(spark, cfg)
            note["detail"] = (f"{ing.rows_read:,} rows from {len(ing.files)} file{'s' * (len(ing.files) != 1)} "
                              f"(Spark {spark.version}, {spark.sparkContext.master})")
        with timed(timings, reporter, "evaluate", f"{ing.rows_read:,} rows") as note:
            out_schema, evaluated_uri = evaluate(spark, cfg, ing, work)
            note["detail"] = f"{ing.rows_read:,} rows parsed, checked and evaluated in partitions"

        # The inputs have been read: Spark's own checkpoint is read back one file (= one evaluation
        # partition) per task, whatever split size was set for the inputs.
        stack.enter_context(sql_conf(spark, {"spark.sql.files.maxPartitionBytes": str(1 << 30),
                                             "spark.sql.files.openCostInBytes": str(1 << 30)}))
        with timed(timings, reporter, "validate", "duplicate ids") as note:
            dups, results, rejects = _split(spark, ing, evaluated_uri, out_schema, work, dict(cfg.defaults))
            accepted, rejected = results.height, rejects.height
            note["detail"] = f"{accepted:,} accepted, {rejected:,} rejected"

        failed = gate_failed(ing.rows_read, rejected, cfg.max_reject_fraction)
        exit_code = EXIT_GATE if failed else EXIT_OK
        changes = history.changes_since_previous(con, cfg, run_id, results)
        with timed(timings, reporter, "write", str(cfg.output_dir)) as note:
            # tax_outcomes: the local reshaping (ordered by property_id, disposition) of the
            # accepted rows' <d>_<quantity> columns, read from the checkpoint.
            sources = P.tax_outcome_inputs(out_schema)
            tax_wide = (pl.scan_parquet(_parts(work / "evaluated"), glob=False)
                        .filter(pl.col(P.REASONS).list.len() == 0, ~pl.col(P.BLANK),
                                ~pl.col(P.PID).is_in(dups[P.PID].implode()) if dups.height else pl.lit(True))
                        .select([pl.col(src).alias(c) for c, src in sources.items()]).collect())
            summary = _summary(spark, cfg, ing, results, rejects, timings, exit_code, run_id, started, changes,
                               len(_parts(work / RESULTS_DIR)))
            written_to = set_directory(cfg.output_dir, failed)
            # the worklists are narrow: ranked on the driver from the results it holds; report.html,
            # report.xlsx and diff.csv are the local run's writers, in the same atomic set
            readable = readable_writers(
                purpose=cfg.purpose, worklist_columns=cfg.worklist_columns, rejects=rejects, summary=summary,
                files=reports.output_files(purpose=cfg.purpose, csv_outputs=cfg.csv_outputs),
                diff=changes.table() if changes else store.EMPTY_DIFF, data_docs_href=None, results=results.lazy())
            files = reports.write_outputs(written_to, results=results, tax_outcomes=tables.tax_outcomes(tax_wide),
                                          rejects=rejects, summary=summary, purpose=cfg.purpose,
                                          csv_outputs=cfg.csv_outputs, worklist_columns=cfg.worklist_columns,
                                          extra_writers=readable,
                                          with_results=False)  # results.parquet/ (Parquet parts) stands for it
            files.append(_replace_results(written_to, work / RESULTS_DIR, work))
            note["detail"] = f"{len(files)} outputs (results.parquet/ in {summary['spark']['results_parts']} parts)"
        store.finish_run(con, run_id=run_id, pipeline=cfg.name, as_of=cfg.as_of,
                         status="gate_failed" if failed else "ok", exit_code=exit_code, rows_read=ing.rows_read,
                         results=results, rows_accepted=accepted, rejects=rejects,
                         versions=summary.get("versions", {}), extra_columns=cfg.worklist_columns)
    return RunOutcome(
        exit_code=exit_code, output_dir=cfg.output_dir, rows_read=ing.rows_read, rows_accepted=accepted,
        rows_rejected=rejected, gate_failed=failed, summary=summary, results=results, rejects=tables.rejects(rejects),
        files=files, written_to=written_to,
    )

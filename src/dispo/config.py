"""The pipeline file (docs/spec.md section 2): read, checked, resolved into one immutable PipelineConfig.

Paths are resolved relative to the pipeline file (CLI overrides relative to the working
directory); unknown keys, unknown assumptions and ``[defaults]`` values that break their column's
rule are errors naming the key.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from dispo import schema
from dispo.errors import DispoError
from dispo.ingest.options import InputOptions, input_options
from dispo.params import AssumptionError, Assumptions

PIPELINE_KEYS = {
    "name": "a name for the run, shown in reports",
    "inputs": "input files (CSV, .csv.gz, Parquet or .xlsx), relative to the pipeline file; globs allowed",
    "output_dir": "where outputs go, relative to the pipeline file",
    "as_of": "evaluation date YYYY-MM-DD (default: today)",
    "max_reject_fraction": "data-quality gate: exit 3 when rejects exceed this share of rows (default 0.05)",
    "database": "the run-history DuckDB file, relative to the pipeline file (default output_dir/dispo.duckdb)",
    "engine": "where rows are evaluated: \"local\" (this process, default) or \"spark\" (Spark; docs/scale-out.md)",
    "csv_outputs": "CSV twins: \"worklists\" (default: worklists and rejects), \"all\" (also results.csv and "
                   "tax_outcomes.csv) or \"none\"; true/false mean all/none (docs/spec.md section 7)",
    "purpose": "\"lender\", \"investor\" or \"both\" (default): the worklists, sheets and report sections written",
    "worklist_columns": "extra input columns appended to the worklists (default none)",
    "date_formats": "strptime patterns accepted for dates besides ISO YYYY-MM-DD, e.g. [\"%m/%d/%Y\"]",
    "sheet": "the sheet of .xlsx inputs (default: the first)",
}
CSV_OUTPUTS = ("worklists", "all", "none")
PURPOSES = ("lender", "investor", "both")
ENGINES = ("local", "spark")
#: An input given as a URI (s3a://, abfss://, hdfs://, dbfs:/ ...): read by the Spark engine only.
_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:/")
SECTIONS = ("pipeline", "columns", "defaults", "assumptions")
DEFAULT_MAX_REJECT_FRACTION = 0.05


class ConfigError(DispoError):
    """A mistake in a pipeline file or in CLI overrides."""


@dataclass(frozen=True)
class PipelineConfig:
    name: str
    source: Path | None
    inputs: tuple[Path, ...]
    output_dir: Path
    as_of: dt.date
    max_reject_fraction: float
    defaults: Mapping[str, Any] = field(default_factory=dict)
    assumptions: Assumptions = field(default_factory=Assumptions.from_overrides)
    database: Path | None = None  # None: output_dir/dispo.duckdb
    engine: str = "local"  # "local" or "spark" (dispo.spark)
    input_uris: tuple[str, ...] = ()  # inputs given as URIs (engine "spark" only), as written
    csv_outputs: str = "worklists"  # CSV_OUTPUTS: which tables get a CSV twin (docs/spec.md section 7)
    purpose: str = "both"  # PURPOSES: which worklists, sheets and report sections a run writes
    worklist_columns: tuple[str, ...] = ()  # extra input columns appended to the worklists
    input_options: InputOptions = field(default_factory=InputOptions)  # [columns], date_formats, sheet

    @property
    def database_path(self) -> Path:
        return self.database or self.output_dir / "dispo.duckdb"

    def canonical(self) -> dict[str, Any]:
        """What determines the results: used for the config digest and shown in summary.json."""
        return {
            "name": self.name,
            "inputs": [str(p) for p in self.inputs] + list(self.input_uris),
            "as_of": self.as_of.isoformat(),
            "max_reject_fraction": self.max_reject_fraction,
            "defaults": {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in sorted(self.defaults.items())},
            "assumptions": dict(sorted(self.assumptions.values.items())),
            **({"inputs_read": self.input_options.canonical()} if self.input_options != InputOptions() else {}),
        }


def _check_default(where: str, name: str, value: Any) -> Any:
    """A ``[defaults]`` value must be a *(cfg)* column's and satisfy its rule (docs/spec.md section 2)."""
    if name not in schema.CFG_DEFAULTS:
        known = ", ".join(sorted(schema.CFG_DEFAULTS))
        raise ConfigError(f"{where}: unknown key '{name}' in [defaults] (settable: {known})")
    c = schema.BY_NAME[name]
    if c.dtype == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: [defaults] {name} must be true or false, got {value!r}")
        return value
    if c.dtype == "string":
        if not isinstance(value, str):
            raise ConfigError(f"{where}: [defaults] {name} must be a string, got {value!r}")
        value = value.strip()
        value = value.upper() if c.case == "upper" else value.lower() if c.case == "lower" else value
        if c.allowed and value not in c.allowed:
            raise ConfigError(f"{where}: [defaults] {name} = '{value}' is not one of {', '.join(c.allowed)}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: [defaults] {name} must be a number, got {value!r}")
    if c.dtype == "int":
        if float(value) != int(value):
            raise ConfigError(f"{where}: [defaults] {name} must be a whole number, got {value!r}")
        value = int(value)
    else:
        value = float(value)
    lo_ok = c.min is None or (value > c.min if c.min_exclusive else value >= c.min)
    hi_ok = c.max is None or (value < c.max if c.max_exclusive else value <= c.max)
    if not (lo_ok and hi_ok):
        raise ConfigError(f"{where}: [defaults] {name} = {value} breaks its rule {c.bounds_text()}")
    return value


def _as_date(where: str, value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{where}: as_of must be a date YYYY-MM-DD, got {value!r}") from None


def expand_inputs(patterns: Sequence[str], base: Path, where: str) -> tuple[Path, ...]:
    """Paths relative to ``base``; globs expanded in sorted order (a file whose own name holds glob
    characters is taken as it is). A literal path that does not exist is kept (ingest reports it);
    a glob that matches nothing is an error."""
    out: list[Path] = []
    for pattern in patterns:
        p = Path(pattern).expanduser()
        p = p if p.is_absolute() else base / p
        if glob.has_magic(str(p)) and not p.is_file():  # a file may be named 'portfolio[2026].csv'
            matches = sorted(Path(m) for m in glob.glob(str(p), recursive=True))
            if not matches:
                raise ConfigError(f"{where}: input pattern '{pattern}' matches no file "
                                  f"(looked in {os.path.abspath(p.parent)})")
            out.extend(matches)
        else:
            out.append(p)
    if not out:
        raise ConfigError(f"{where}: [pipeline] inputs is empty")
    return tuple(dict.fromkeys(q.resolve() for q in out))


def _split_uris(patterns: Sequence[str]) -> tuple[list[str], list[str]]:
    """(local path patterns, URIs): a ``file:`` URI is a local path."""
    paths, uris = [], []
    for p in patterns:
        if p.startswith("file:"):
            paths.append(re.sub(r"^file:(//)?", "", p))
        elif _URI_RE.match(p):
            uris.append(p)
        else:
            paths.append(p)
    return paths, uris


def _expand(patterns: Sequence[str], base: Path, where: str, engine: str) -> tuple[tuple[Path, ...], tuple[str, ...]]:
    paths, uris = _split_uris(patterns)
    if uris and engine != "spark":
        raise ConfigError(f"{where}: input '{uris[0]}' is a URI; only engine \"spark\" reads URIs "
                          "(use a local path, or --engine spark)")
    if uris and not paths:
        return (), tuple(dict.fromkeys(uris))
    return expand_inputs(paths, base, where), tuple(dict.fromkeys(uris))


def _output_dir(where: str, pipe: Mapping[str, Any], base: Path, override: str | None) -> Path:
    """``--out`` (relative to the working directory), else ``output_dir`` (relative to the file)."""
    if override is not None:
        return (Path.cwd() / Path(override).expanduser()).resolve()
    if "output_dir" not in pipe:
        raise ConfigError(f"{where}: [pipeline] output_dir is missing (or pass --out)")
    if not isinstance(pipe["output_dir"], str):
        raise ConfigError(f"{where}: [pipeline] output_dir must be a path")
    return (base / Path(pipe["output_dir"]).expanduser()).resolve()


def _reading(where: str, raw: Mapping[str, Any], pipe: Mapping[str, Any], engine: str,
             input_paths: Sequence[Path]) -> InputOptions:
    """``[columns]``, ``date_formats`` and ``sheet`` (docs/spec.md section 2)."""
    try:
        reading = input_options(where, raw.get("columns"), pipe.get("date_formats"), pipe.get("sheet"))
    except DispoError as e:
        raise ConfigError(str(e)) from None
    if engine == "spark" and (reading != InputOptions() or any(p.suffix.lower() in (".xlsx", ".xlsm")
                                                                for p in input_paths)):
        raise ConfigError(f"{where}: engine \"spark\" reads CSV and Parquet under dispo's own column names: "
                          "[columns], date_formats, sheet and .xlsx inputs need engine \"local\"")
    return reading


def load(path: Path | str, *, inputs: Sequence[str] | None = None, output_dir: str | None = None,
         as_of: str | dt.date | None = None, today: dt.date | None = None,
         engine: str | None = None) -> PipelineConfig:
    """Reads a pipeline file; CLI overrides (``--input``, ``--out``, ``--as-of``, ``--engine``) win."""
    path = Path(path)
    where = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{where}: pipeline file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{where}: cannot read pipeline file: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{where}: not valid TOML: {e}") from None
    return from_mapping(raw, base=path.resolve().parent, source=path, inputs=inputs, output_dir=output_dir,
                        as_of=as_of, today=today, engine=engine)


def from_mapping(raw: Mapping[str, Any], *, base: Path, source: Path | None = None,
                 inputs: Sequence[str] | None = None, output_dir: str | None = None,
                 as_of: str | dt.date | None = None, today: dt.date | None = None,
                 engine: str | None = None) -> PipelineConfig:
    where = str(source) if source else "pipeline"
    for section in raw:
        if section not in SECTIONS:
            raise ConfigError(f"{where}: unknown section [{section}] (known: {', '.join(SECTIONS)})")
    pipe = raw.get("pipeline", {})
    if not isinstance(pipe, dict):
        raise ConfigError(f"{where}: [pipeline] must be a table")
    for key in pipe:
        if key not in PIPELINE_KEYS:
            raise ConfigError(f"{where}: unknown key '{key}' in [pipeline] (known: {', '.join(PIPELINE_KEYS)})")

    if engine is not None:
        if engine not in ENGINES:
            raise ConfigError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    else:
        engine = pipe.get("engine", "local")
        if engine not in ENGINES:
            raise ConfigError(f"{where}: [pipeline] engine must be one of {', '.join(map(repr, ENGINES))}, got {engine!r}")

    cwd = Path.cwd()
    if inputs:
        input_paths, input_uris = _expand(list(inputs), cwd, "--input", engine)
    else:
        patterns = pipe.get("inputs")
        if isinstance(patterns, str):
            patterns = [patterns]
        if not patterns or not all(isinstance(x, str) for x in patterns):
            raise ConfigError(f"{where}: [pipeline] inputs must be a list of file paths")
        input_paths, input_uris = _expand(patterns, base, where, engine)

    out = _output_dir(where, pipe, base, output_dir)

    if as_of is not None:
        run_date = _as_date("--as-of", as_of)
    elif "as_of" in pipe:
        run_date = _as_date(where, pipe["as_of"])
    else:
        run_date = today or dt.date.today()

    fraction = pipe.get("max_reject_fraction", DEFAULT_MAX_REJECT_FRACTION)
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction <= 1:
        raise ConfigError(f"{where}: [pipeline] max_reject_fraction must be a number from 0 to 1, got {fraction!r}")

    defaults_raw = raw.get("defaults", {})
    if not isinstance(defaults_raw, dict):
        raise ConfigError(f"{where}: [defaults] must be a table")
    defaults = {k: _check_default(where, k, v) for k, v in defaults_raw.items()}

    assumptions_raw = raw.get("assumptions", {})
    if not isinstance(assumptions_raw, dict):
        raise ConfigError(f"{where}: [assumptions] must be a table")
    try:
        assumptions = Assumptions.from_overrides(assumptions_raw, where=f"{where}: [assumptions]")
    except AssumptionError as e:
        raise ConfigError(str(e)) from None

    database = None
    if "database" in pipe:
        if not isinstance(pipe["database"], str):
            raise ConfigError(f"{where}: [pipeline] database must be a path")
        database = (base / Path(pipe["database"]).expanduser()).resolve()

    csv_outputs, purpose, worklist_columns = _output_keys(where, pipe)
    reading = _reading(where, raw, pipe, engine, input_paths)

    name = pipe.get("name") or (source.stem if source else "pipeline")
    return PipelineConfig(name=str(name), source=source, inputs=input_paths, output_dir=out, as_of=run_date,
                          max_reject_fraction=float(fraction), defaults=defaults, assumptions=assumptions,
                          database=database, engine=engine, input_uris=input_uris, csv_outputs=csv_outputs,
                          purpose=purpose, worklist_columns=worklist_columns, input_options=reading)


def _output_keys(where: str, pipe: Mapping[str, Any]) -> tuple[str, str, tuple[str, ...]]:
    """``csv_outputs``, ``purpose`` and ``worklist_columns`` of ``[pipeline]`` (docs/spec.md sections 2 and 7).
    ``csv_outputs`` true/false (revision 1's switch) mean "all"/"none"."""
    csv_outputs = pipe.get("csv_outputs", "worklists")
    if isinstance(csv_outputs, bool):
        csv_outputs = "all" if csv_outputs else "none"
    if csv_outputs not in CSV_OUTPUTS:
        raise ConfigError(f"{where}: [pipeline] csv_outputs must be one of {', '.join(CSV_OUTPUTS)}, got {csv_outputs!r}")
    purpose = pipe.get("purpose", "both")
    if purpose not in PURPOSES:
        raise ConfigError(f"{where}: [pipeline] purpose must be one of {', '.join(PURPOSES)}, got {purpose!r}")
    extra = pipe.get("worklist_columns", [])
    if not isinstance(extra, list) or not all(isinstance(c, str) and c for c in extra):
        raise ConfigError(f"{where}: [pipeline] worklist_columns must be a list of column names, got {extra!r}")
    return csv_outputs, purpose, tuple(dict.fromkeys(extra))

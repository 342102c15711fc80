"""Tables to compare: read from Parquet or CSV files or run directories, and described once (which columns
are numbers, categories, time, or identifiers) so every metric treats a column the same way."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.domains import registry
from sim.errors import InputError, did_you_mean

IDENTIFIER_SHARE = 0.5  # text columns with more distinct values than this share of rows are identifiers
# columns that name accounts, parties or incidents (ours and PaySim's), whatever their type
IDENTIFIER_NAMES = {"origin", "dest", "account", "nameorig", "namedest", "customer", "merchant", "step_id"}


def resolve_table(path: str | Path) -> Path:
    """The file (or Parquet dataset directory) a path names: itself, or a complete run directory's main
    table (each domain's table of record). Reads nothing but a run's manifest."""
    path = Path(path)
    if path.is_dir():
        manifest = path / "manifest.json"
        if not manifest.exists():
            if any(path.glob("*.parquet")):
                return path
            raise InputError(f"{path}: not a run directory (no manifest.json) nor a Parquet dataset")
        try:
            files = json.loads(manifest.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: its manifest.json cannot be read ({exc})") from exc
        if not isinstance(files, dict) or files.get("status") != "complete":
            status = files.get("status") if isinstance(files, dict) else None
            raise InputError(f"{path}: the run is not complete (status {status!r})")
        main = registry.tables_of_record()  # each domain's per-step table
        for name in main:
            entry = files.get("files", {}).get(name)
            if isinstance(entry, dict) and "path" in entry:
                return resolve_table(path / entry["path"])
        raise InputError(f"{path}: the run has none of the tables {', '.join(main)}")
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if path.suffix.lower() not in (".parquet", ".csv", ".gz"):
        raise InputError(f"{path}: expected a .parquet or .csv file or a run directory")
    return path


def read_table(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A Parquet or CSV file, a Parquet dataset (a directory of part files, as a sharded run writes), or a
    complete run directory's main table (transactions or time series); only `columns` when given."""
    path = resolve_table(path)
    if path.is_dir() or path.suffix.lower() == ".parquet":
        return _read(path, lambda p: pd.read_parquet(p, columns=columns))
    return _read(path, lambda p: pd.read_csv(p, usecols=columns))


def column_names(path: str | Path) -> list[str]:
    """A table's columns from its schema alone: a Parquet footer, a dataset's schema, a CSV header."""
    path = resolve_table(path)
    try:
        if path.is_dir() or path.suffix.lower() == ".parquet":
            import pyarrow.dataset as ds

            return ds.dataset(path, format="parquet").schema.names
        return list(pd.read_csv(path, nrows=0).columns)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot be read as a table ({exc})") from exc


def check_options(synthetic: str | Path, real: str | Path, target: str | None = None,
                  **listed: tuple[str, ...]) -> None:  # fmt: skip
    """Every problem with the tables and the column options (`--target`, and each option in `listed`,
    e.g. drop=("amount",)), from the schemas alone, as one error: a command fails in a second, not after
    reading and fitting."""
    names = {"synthetic": set(column_names(synthetic)), "real": set(column_names(real))}
    problems = []
    if target is not None:
        missing = [side for side, columns in names.items() if target not in columns]
        if missing:
            hint = did_you_mean(target, names[missing[0]])
            tables = "synthetic and real tables" if len(missing) == 2 else f"{missing[0]} table"
            problems.append(f"--target {target!r} is not a column of the {tables}{hint}")
    for option, columns in listed.items():
        for column in columns:
            if column not in names["synthetic"] | names["real"]:
                hint = did_you_mean(column, names["synthetic"] | names["real"])
                problems.append(f"--{option} {column!r} is not a column of either table{hint}")
    if not names["synthetic"] & names["real"]:
        problems.append("the two tables share no column")
    if problems:
        raise InputError("; ".join(problems))


def _read(path: Path, reader) -> pd.DataFrame:
    try:
        return reader(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot be read as a table ({exc})") from exc


@dataclass(frozen=True)
class Columns:
    """The columns two tables share, by kind. Features are the numbers and categories (the target among
    the categories); identifiers (account names, ids) differ by construction between synthetic and real
    data, labels (ground truth and what is derived from it) would give the answer away, and `dropped`
    were left out on request: none of these three reaches a model or a fidelity score."""

    numeric: list[str]
    categorical: list[str]
    identifiers: list[str]
    labels: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @property
    def used(self) -> list[str]:
        return self.numeric + self.categorical


def is_identifier(name: str) -> bool:
    name = name.lower()
    return name in IDENTIFIER_NAMES or name.endswith("_id") or name == "id"


def is_label(name: str) -> bool:
    """A label or label-derived column by name: what some domain declares, and the generic names."""
    return name.lower() in registry.label_columns()


def describe(real: pd.DataFrame, synthetic: pd.DataFrame, target: str | None = None,
             ignore: tuple[str, ...] = (), keep: tuple[str, ...] = ()) -> Columns:  # fmt: skip
    """Sort the shared columns into numbers (times count as numbers), categories, identifiers (by name,
    and text with mostly distinct values), labels (every one but the `target`) and the `ignore`d ones;
    a column in `keep` is a feature whatever its name."""
    shared = [c for c in real.columns if c in synthetic.columns]
    if not shared:
        raise InputError("the two tables share no column")
    if target is not None and target not in shared:
        raise InputError(f"target column {target!r} is not in both tables")
    numeric, categorical, identifiers, labels, dropped = [], [], [], [], []
    for column in shared:
        values = real[column]
        if column in ignore and column != target:
            dropped.append(column)
        elif column != target and column not in keep and is_label(column):
            labels.append(column)
        elif column != target and column not in keep and is_identifier(column):
            identifiers.append(column)
        elif column == target or pd.api.types.is_bool_dtype(values):
            categorical.append(column)
        elif pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
            numeric.append(column)
        elif column not in keep and values.nunique() > IDENTIFIER_SHARE * max(len(values), 1):
            identifiers.append(column)
        else:
            categorical.append(column)
    return Columns(numeric, categorical, identifiers, labels, dropped)


def balanced_rows(y: np.ndarray, rows: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices: every positive up to half of `rows`, negatives for the rest (ranking scores do not
    depend on the balance, and a rare class keeps enough rows to be learned)."""
    positive, negative = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    take = min(len(positive), rows // 2)
    rest = min(len(negative), rows - take)
    return np.sort(
        np.r_[rng.choice(positive, take, replace=False), rng.choice(negative, rest, replace=False)]
    )


BOOSTING_BINS = 255  # the levels scikit-learn's gradient boosting bins a number into


def quantile_levels(matrices: list[np.ndarray], categorical: np.ndarray) -> list[np.ndarray]:
    """The matrices with each number (a column not `categorical`) replaced by its level among at most
    255 quantiles of the first matrix (the training rows); missing stays missing. Gradient boosting bins
    numbers so anyway; done here, once and unweighted, it spares scikit-learn's weighted binning, which
    sorts each feature 254 times when the classes are weighted (70 % of a balanced model's fit)."""
    out = [m.copy() for m in matrices]
    for j in np.flatnonzero(~categorical):
        first = matrices[0][:, j]
        finite = first[np.isfinite(first)]
        if len(np.unique(finite)) <= BOOSTING_BINS:
            continue  # few values: binned exactly as they are
        edges = np.unique(np.quantile(finite, np.linspace(0, 1, BOOSTING_BINS + 1)[1:-1]))
        for matrix, changed in zip(matrices, out, strict=True):
            values = matrix[:, j]
            changed[:, j] = np.where(np.isnan(values), np.nan, np.searchsorted(edges, values, side="right"))
    return out


def scoring_rows(y: np.ndarray, negatives: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Rows to score a model on and their weights: every positive (a rare class's precision needs them
    all), and up to `negatives` negatives drawn uniformly, weighted to stand for every negative, so
    weighted ROC-AUC and PR-AUC estimate the scores at the data's own prevalence."""
    positive, negative = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    drawn = uniform_rows(len(negative), negatives, rng)
    rows = np.r_[positive, negative[drawn]]
    weights = np.r_[np.ones(len(positive)), np.full(len(drawn), len(negative) / max(len(drawn), 1))]
    order = np.argsort(rows, kind="stable")
    return rows[order], weights[order]


def fit_ready(x: np.ndarray) -> np.ndarray:
    """A feature matrix gradient boosting can bin: a column missing on every row (nothing to learn from,
    and scikit-learn's binning fails on it) becomes a constant."""
    empty = np.isnan(x).all(axis=0) if len(x) else np.zeros(x.shape[1], dtype=bool)
    if not empty.any():
        return x
    x = x.copy()
    x[:, empty] = 0.0
    return x


def uniform_rows(n: int, rows: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(n) if n <= rows else np.sort(rng.choice(n, rows, replace=False))


def ks_statistic(x: np.ndarray, y: np.ndarray) -> float:
    """The Kolmogorov-Smirnov statistic of two sorted, non-empty samples: the largest gap between their
    empirical CDFs, which is reached at a value of one of them; each side's CDF is read exactly at its
    own distinct values (by position) and at the other's (by a binary search), in counts, not sums of
    fractions."""
    gaps = []
    for own, other in ((x, y), (y, x)):
        last = np.flatnonzero(np.r_[own[1:] != own[:-1], True])  # a CDF is read after every tie of a value
        gaps.append(np.abs((last + 1) / len(own) - np.searchsorted(other, own[last], "right") / len(other)))
    return float(max(gaps[0].max(), gaps[1].max()))


MISSING = "<missing>"


def as_text(values: pd.Series | pd.DataFrame) -> pd.Series | pd.DataFrame:
    """Categories as plain text, a missing value as its own level (so no row drops out of a count)."""
    return values.astype(object).where(values.notna(), MISSING).astype(str).astype(object)


def text_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """`pd.factorize(as_text(values))` without writing every row as text: the codes of each row's value
    as text, and those texts, in order of first appearance (only the distinct values are converted)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    text = as_text(pd.Series(np.asarray(uniques, dtype=object))).to_numpy()
    levels = pd.unique(text)  # two values may read the same as text (1 and "1", None and NaN)
    return pd.Index(levels).get_indexer(text)[codes], levels


def shared_codes(columns: list[pd.Series]) -> list[np.ndarray]:
    """Codes of several columns' values as text, shared (the same text has the same code in each), in
    order of first appearance across them: as factorizing their concatenation would give."""
    if columns and all(pd.api.types.is_signed_integer_dtype(c) and not c.hasnans for c in columns):
        codes = pd.factorize(np.concatenate([c.to_numpy(np.int64) for c in columns]))[0]  # ints: no text
        return np.split(codes, np.cumsum([len(c) for c in columns])[:-1])
    parts = [text_codes(c) for c in columns]
    levels = pd.Index(pd.unique(np.concatenate([lv for _, lv in parts]))) if parts else pd.Index([])
    return [levels.get_indexer(lv)[codes] for codes, lv in parts]


def numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A numeric or time column as floats (times in seconds)."""
    values = frame[column]
    if pd.api.types.is_datetime64_any_dtype(values):  # whatever the unit (ns, us, ...)
        return ((values - pd.Timestamp(0, tz=values.dt.tz)) / pd.Timedelta(seconds=1)).to_numpy(
            dtype=np.float64
        )
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)


def check_finite(frames: dict[str, pd.DataFrame], numeric: list[str]) -> None:
    """An InputError naming every numeric column holding an infinity, in every table (no score, model
    or distance means anything with one; a missing value is left out instead)."""
    counts = {(side, column): int(np.isinf(numbers(frame, column)).sum())
              for side, frame in frames.items() for column in numeric if column in frame.columns}  # fmt: skip
    problems = [f"{side}: column {c!r} has {n:,} infinite value(s)" for (side, c), n in counts.items() if n]
    if problems:
        raise InputError("infinite numbers (leave them empty, or drop the column with --drop):\n  "
                         + "\n  ".join(problems))  # fmt: skip


def encode(frames: list[pd.DataFrame], columns: Columns, drop: tuple[str, ...] = ()) -> list[np.ndarray]:
    """Feature matrices for models: numbers as they are, categories as codes shared across the frames
    (so the same value has the same code everywhere); missing values as NaN."""
    out = [[] for _ in frames]
    for column in columns.numeric:
        if column not in drop:
            for i, frame in enumerate(frames):
                out[i].append(numbers(frame, column))
    for column in columns.categorical:
        if column in drop:
            continue
        for i, codes in enumerate(shared_codes([f[column] for f in frames])):
            out[i].append(codes.astype(np.float64))
    return [np.column_stack(x) if x else np.zeros((len(f), 0)) for x, f in zip(out, frames, strict=True)]


def categorical_mask(columns: Columns, drop: tuple[str, ...] = ()) -> np.ndarray:
    """Which features `encode` returns are categories (for models that treat them as such)."""
    kept_numeric = [c for c in columns.numeric if c not in drop]
    kept_categorical = [c for c in columns.categorical if c not in drop]
    return np.array([False] * len(kept_numeric) + [True] * len(kept_categorical))

"""The type contract every refiner keeps: a refined table has the simulated table's columns, each in its own
dtype. A generator draws numbers and texts; without this a boolean comes back as the strings 'True' and
'False' (which every reader then takes as true), a timestamp as seconds, an integer as a float. `conform`
casts each drawn column back: booleans, times (same unit and zone), integers (rounded, within the
dtype's range), categories (the simulated categories first, any new level after them), floats in their
width; identifiers are never drawn, so they pass through as they are."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.evaluation.tables import MISSING

TRUE = frozenset({"true", "1", "1.0", "yes", "t", "y"})


def conform(refined: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """`refined` with every column that `like` also has in `like`'s dtype; columns already in it are left
    untouched (not copied). A value missing where `like`'s dtype cannot hold one (a bool, an integer)
    takes the value of the same row of `like` (refiners keep the index of the rows they refine)."""
    out = refined
    for column in [c for c in refined.columns if c in like.columns]:
        want, values = like[column].dtype, refined[column]
        if values.dtype == want:
            continue
        if out is refined:
            out = refined.copy()
        out[column] = _cast(values, like[column].reindex(values.index), want)
    return out


def _cast(values: pd.Series, source: pd.Series, want) -> pd.Series:
    if isinstance(want, pd.CategoricalDtype):
        drawn = values.astype(object).where(values.astype(str) != MISSING)
        if pd.api.types.is_numeric_dtype(want.categories.dtype):  # number categories drawn as text
            drawn = pd.to_numeric(drawn, errors="coerce")
        known = list(want.categories)
        extra = sorted(set(drawn.dropna()) - set(known), key=str)
        return pd.Series(pd.Categorical(drawn, categories=known + extra), index=values.index)
    if pd.api.types.is_bool_dtype(want):
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            number = np.asarray(values, dtype=np.float64)
            flags = pd.Series(np.where(np.isnan(number), None, number >= 0.5), index=values.index)
        else:  # each distinct value read once, not each row
            flags = values.map({v: str(v).strip().lower() in TRUE for v in values.dropna().unique()})
        return _filled(flags, source).astype(want)
    if pd.api.types.is_datetime64_any_dtype(want):
        if pd.api.types.is_numeric_dtype(values):  # seconds since the epoch (`numbers`)
            times = pd.to_datetime(np.asarray(values, dtype=np.float64), unit="s", utc=True)
            times = pd.Series(times, index=values.index)
        else:
            times = pd.to_datetime(values, utc=True)
        zone = getattr(want, "tz", None)
        times = times.dt.tz_convert(zone) if zone is not None else times.dt.tz_localize(None)
        return times.astype(want)
    if pd.api.types.is_integer_dtype(want):
        info = np.iinfo(want)
        number = pd.to_numeric(values, errors="coerce").round().clip(info.min, info.max)
        return _filled(number, source).astype(want)
    if pd.api.types.is_float_dtype(want):
        return pd.to_numeric(values, errors="coerce").astype(want)
    return values.astype(want)


def _filled(values: pd.Series, source: pd.Series) -> pd.Series:
    missing = values.isna()
    return values.where(~missing, source) if missing.any() else values

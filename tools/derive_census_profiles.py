"""Derive the card world's demographic tables in sim/domains/payments/data/ from Sparkov's census files.

Usage: python tools/derive_census_profiles.py ../shared/reference/sparkov
Source: Sparkov_Data_Generation (namebrandon, commit b5eb45c, MIT), US Census 2010 derived files
`demographic_data/age_gender_demographics.csv` and `demographic_data/locations_partitions.csv`.
Only aggregates are written: age bands by gender, and each state's population share and urban share.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "sim" / "domains" / "payments" / "data"
SOURCE = "# (namebrandon/Sparkov_Data_Generation commit b5eb45c, MIT; US Census 2010 derived)\n"


def age_bands(frame: pd.DataFrame) -> pd.DataFrame:
    """Consecutive single years with the same share form one band (the source is piecewise constant)."""
    rows = []
    for gender, g in frame.sort_values("age").groupby("gender"):
        band = (g["prop"].round(15).diff() != 0).cumsum()
        for _, b in g.groupby(band):
            rows.append(
                {
                    "gender": gender,
                    "age_low": b["age"].min(),
                    "age_high": b["age"].max(),
                    "share": b["prop"].sum(),
                }
            )
    out = pd.DataFrame(rows)
    out["share"] /= out["share"].sum()
    return out.sort_values(["gender", "age_low"])


def states(frame: pd.DataFrame) -> pd.DataFrame:
    parts = frame["output"].str.split("|", expand=True)
    weight = np.diff(frame["partition"].to_numpy(), prepend=0.0)
    table = pd.DataFrame({"state": parts[1], "weight": weight, "urban": parts[5].astype(float) >= 2500})
    table["urban_weight"] = table["weight"] * table["urban"]
    out = table.groupby("state").agg(share=("weight", "sum"), urban=("urban_weight", "sum"))
    out["urban_share"] = out["urban"] / out["share"]
    out["share"] /= out["share"].sum()
    return out[["share", "urban_share"]].reset_index()


def main(folder: str) -> None:
    ref = Path(folder)
    for name, frame, what in (
        (
            "census_age_gender.csv",
            age_bands(pd.read_csv(ref / "age_gender_demographics.csv")),
            "card holders' age bands (inclusive) by gender; shares sum to 1",
        ),
        (
            "census_states.csv",
            states(pd.read_csv(ref / "locations_partitions.csv")),
            "population share of each state and the share of it living in places of >= 2,500 people",
        ),
    ):
        with open(OUT / name, "w") as fh:
            fh.write("# Derived by tools/derive_census_profiles.py from Sparkov demographic_data/\n")
            fh.write(f"{SOURCE}# {what}\n")
            frame.to_csv(fh, index=False, float_format="%.6g")


if __name__ == "__main__":
    main(sys.argv[1])

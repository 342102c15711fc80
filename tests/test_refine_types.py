"""The type contract (issue 18): whatever a refiner does to the values, every column comes back in the
simulated table's dtype — booleans as booleans (not the strings 'True'/'False'), timestamps as timestamps
in their unit and zone, integers as integers, categories as categories — with labels and identifiers
unchanged; on a payments log, what `sim refine` writes is still a ledger whose approved rows move money."""

import importlib.util

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from sim.evaluation import read_table
from sim.refine import METHODS, NEURAL, make_refiner, refine_run
from sim.refine.types import conform
from sim.runner import run_scenario
from sim.scenario import load_scenario
from tests.conftest import ROOT

HAS_TORCH = importlib.util.find_spec("torch") is not None
ALL = [*METHODS, *(NEURAL if HAS_TORCH else ())]
KEPT = ("is_fraud", "fraud_type", "is_laundering", "typology", "origin", "dest", "target")  # labels, ids


def refiner(method: str, seed: int = 0):
    if method in NEURAL:  # fewer training steps: the contract is about types, not fit
        from sim.refine.neural import METHODS as TORCH

        return TORCH[method](random_state=seed, steps=150)
    return make_refiner(method, random_state=seed)


def plain_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Breast-cancer rows with a column of each kind a table may hold."""
    frame = load_breast_cancer(as_frame=True).frame[["mean radius", "mean texture", "worst area", "target"]]
    rng = np.random.default_rng(0)
    frame = frame.assign(
        large=frame["worst area"] > 900,
        cells=rng.poisson(40, len(frame)).astype(np.int32),
        grade=pd.Categorical(rng.choice(["I", "II", "III"], len(frame))),
        seen=pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 86_400 * 30, len(frame)), "s"),
        ratio=(frame["mean texture"] / 10).astype(np.float32),
    )
    return frame.iloc[:300].reset_index(drop=True), frame.iloc[300:].reset_index(drop=True)


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    folder = tmp_path_factory.mktemp("types")
    quickstart = ROOT / "scenarios" / "quickstart.yaml"
    payments = [
        run_scenario(load_scenario(quickstart, ["customers=800"], seed=s), folder / f"payments{s}")
        for s in (1, 2)
    ]
    supply = [
        run_scenario(load_scenario(ROOT / "scenarios" / "beer_game.yaml", seed=s), folder / f"supply{s}")
        for s in (1, 2)
    ]
    return {
        "payments": (payments, [read_table(p) for p in payments]),
        "supply": (supply, [read_table(p) for p in supply]),
        "plain": (None, list(plain_tables())),
    }


@pytest.mark.parametrize("kind", ["payments", "supply", "plain"])
@pytest.mark.parametrize("method", ALL)
def test_every_refiner_keeps_every_columns_type(tables, kind, method):
    sim, real = tables[kind][1]
    out = refiner(method).fit(sim, real).transform(sim)
    assert list(out.columns) == list(sim.columns)
    assert out.dtypes.to_dict() == sim.dtypes.to_dict()
    for column in [c for c in sim.columns if pd.api.types.is_bool_dtype(sim[c])]:
        assert set(out[column].unique()) <= {True, False}
    if method != "reweight":  # same rows: labels and identifiers as they were
        kept = [c for c in sim.columns if c in KEPT]
        pd.testing.assert_frame_equal(out[kept], sim[kept])


def test_a_refined_payments_log_is_a_ledger_that_moves_money(tables, tmp_path):
    """The defect this contract ends: 'declined' drawn as text read back as all-declined, so no row moved
    money and balances 'chained' by never changing (the copula draws every feature; `sim refine` replays)."""
    (sim_run, real_run), (sim, _) = tables["payments"]
    out = read_table(refine_run(sim_run, real_run / "transactions.parquet", "copula", tmp_path / "r"))
    assert out.dtypes.to_dict() == sim.dtypes.to_dict()
    assert out.timestamp.is_monotonic_increasing
    approved = ~out.declined
    # not all declined; declines now follow the replayed balances, so drawn amounts a payer cannot cover
    # are declined (about a fifth here: the copula draws amounts without looking at balances)
    assert approved.mean() > 0.6
    moved = out.origin_balance_after - out.origin_balance_before
    expected = np.where(out.type == "CASH_IN", out.amount, -out.amount)
    np.testing.assert_allclose(moved[approved], expected[approved], atol=1e-6)
    assert (moved[approved] != 0).mean() > 0.99


def test_conform_reads_drawn_values_back_into_their_types():
    like = pd.DataFrame({
        "flag": [True, False, True],
        "when": pd.to_datetime(["2026-01-01 10:00", "2026-01-01 11:00", "2026-01-02 00:00"], utc=True).astype(
            "datetime64[us, UTC]"),
        "count": np.array([1, 2, 3], dtype=np.int16),
        "kind": pd.Categorical(["a", "b", "a"]),
        "level": pd.Categorical([1, 2, 1]),
    })  # fmt: skip
    drawn = pd.DataFrame({
        "flag": ["False", "True", None],  # a missing bool keeps the simulated row's value
        "when": like.when.map(lambda t: t.timestamp()) + 60.0,
        "count": [1.6, 1e9, np.nan],  # rounded, clipped to int16, a missing one kept
        "kind": ["b", "c", "<missing>"],
        "level": ["2", "3", "1"],
    })  # fmt: skip
    out = conform(drawn, like)
    assert out.dtypes[["flag", "when", "count"]].to_dict() == like.dtypes[["flag", "when", "count"]].to_dict()
    assert out.flag.tolist() == [False, True, True]
    scores = conform(pd.DataFrame({"flag": [0.9, np.nan, 0.1]}), like)  # a generator's numbers for a flag
    assert scores.flag.dtype == bool and scores.flag.tolist() == [True, False, False]
    assert (out.when - like.when).tolist() == [pd.Timedelta(minutes=1)] * 3
    assert out["count"].tolist() == [2, 32767, 3]
    assert out.kind.tolist()[:2] == ["b", "c"] and pd.isna(out.kind[2])
    assert list(out.kind.cat.categories) == ["a", "b", "c"] and out.level.tolist() == [2, 3, 1]

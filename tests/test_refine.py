"""Every refiner passes one contract (fit returns self, transform keeps the table's shape, labels and
identifiers, the same random_state gives the same rows) and moves a crude simulation toward real data."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_breast_cancer

from sim.errors import InputError
from sim.evaluation.detection import detection_auc
from sim.evaluation.tables import describe
from sim.evaluation.utility import HOLDOUT
from sim.refine import METHODS, NEURAL, make_refiner
from sim.refine.reweight import Reweight

REAL = load_breast_cancer(as_frame=True).frame  # 569 real tumours (scikit-learn bundles it)
FEATURES = [
    "mean radius",
    "mean texture",
    "mean smoothness",
    "mean concavity",
    "worst area",
    "worst symmetry",
]
HAS_TORCH = importlib.util.find_spec("torch") is not None
ALL = [*METHODS, *(NEURAL if HAS_TORCH else ())]


def crude_simulation(n_per_class: int = 1500, seed: int = 0) -> pd.DataFrame:
    """A stand-in simulator: per class, independent normals with the real means and 1.3x the spread (no
    correlations, wrong tails), plus an account id and a category the real data lacks."""
    rng = np.random.default_rng(seed)
    parts = []
    for label, group in REAL.groupby("target"):
        part = pd.DataFrame(
            {c: rng.normal(group[c].mean(), 1.3 * group[c].std(), n_per_class) for c in FEATURES}
        )
        part["target"] = label
        parts.append(part)
    sim = pd.concat(parts, ignore_index=True)
    sim["account_id"] = np.arange(len(sim))
    return sim


REAL_SAMPLE = REAL[[*FEATURES, "target"]]


@pytest.mark.parametrize("method", ALL)
def test_contract(method):
    sim = crude_simulation()
    refiner = make_refiner(method, random_state=3)
    assert refiner.random_state == 3 and refiner.fit(sim, REAL_SAMPLE) is refiner
    out = refiner.transform(sim)
    assert list(out.columns) == list(sim.columns) and (out.dtypes == sim.dtypes).all()
    if method == "reweight":  # a thinned sample of whole rows, none repeated
        assert 0 < len(out) < len(sim) and out.account_id.is_unique
    else:
        assert (
            len(out) == len(sim) and out.account_id.equals(sim.account_id) and out.target.equals(sim.target)
        )
    # labels and identifiers survive: every (id, label) pair of the output exists in the simulation
    pairs = set(zip(sim.account_id, sim.target, strict=True))
    assert set(zip(out.account_id, out.target, strict=True)) <= pairs
    again = make_refiner(method, random_state=3).fit(sim, REAL_SAMPLE).transform(sim)
    pd.testing.assert_frame_equal(out, again)
    other = make_refiner(method, random_state=4).fit(sim, REAL_SAMPLE).transform(sim)
    assert not out[FEATURES].equals(other[FEATURES])


@pytest.mark.parametrize("method", ALL)
def test_refining_moves_the_simulation_toward_the_real_data(method):
    sim = crude_simulation(10_000 if method == "reweight" else 1500)  # reweighting keeps about 1 in 10
    columns = describe(REAL_SAMPLE, sim, "target")
    before = detection_auc(REAL_SAMPLE, sim, columns)
    after = detection_auc(REAL_SAMPLE, make_refiner(method, random_state=0).fit_transform(sim, REAL_SAMPLE),
                          columns)  # fmt: skip
    assert before > 0.9 and after < before - 0.05


def test_reweighting_drops_rows_the_real_data_never_shows():
    """Half the simulated rows come from the real rows themselves, half from a region far from them:
    after reweighting, the far rows are the clipped few."""
    near = REAL_SAMPLE.sample(2000, replace=True, random_state=1).reset_index(drop=True)
    far = near.assign(**{"mean radius": near["mean radius"] + 30})
    sim = pd.concat([near, far], ignore_index=True).assign(source=["near"] * 2000 + ["far"] * 2000)
    refiner = Reweight(random_state=0).fit(sim, REAL_SAMPLE)
    weights = refiner.weights(sim)
    assert np.median(weights[2000:]) == 1 / refiner.clip and np.median(weights[:2000]) > 1
    refined = refiner.transform(sim)
    assert (refined.source == "far").mean() < 0.05


def test_a_neural_method_without_torch_says_how_to_get_it():
    if HAS_TORCH:
        assert make_refiner("vae", random_state=0).random_state == 0
    else:
        with pytest.raises(InputError, match=r"needs torch: pip install -e '\.\[neural\]'"):
            make_refiner("residual-gan")
    with pytest.raises(InputError, match="unknown method 'magic'"):
        make_refiner("magic")


def test_cli_refines_a_file_into_a_run_with_before_and_after(tmp_path):
    sim_file, real_file = tmp_path / "sim.parquet", tmp_path / "real.csv"
    crude_simulation(400).to_parquet(sim_file)
    REAL_SAMPLE.to_csv(real_file, index=False)
    done = subprocess.run([sys.executable, "-m", "sim", "refine", str(sim_file), "--real", str(real_file),
                           "--method", "copula", "--target", "target", "--out", str(tmp_path / "refined")],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "refined" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["refined"]["method"] == "copula"
    assert manifest["headline"]["detection_auc"]["after"] < manifest["headline"]["detection_auc"]["before"]
    scores = json.loads((tmp_path / "refined" / "evaluation.json").read_text())
    assert set(scores) == {"before", "after"} and scores["after"]["tstr_auc"] > 0.9
    refined = pd.read_parquet(tmp_path / "refined" / "table.parquet")
    assert len(refined) == 800 and set(refined.columns) == set(crude_simulation(400).columns)
    bad = subprocess.run([sys.executable, "-m", "sim", "refine", str(sim_file), "--real", str(real_file),
                          "--method", "magic"], capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2 and "unknown method 'magic'" in bad.stderr


def _reweighted_quickstart(tmp_path, scale: float) -> tuple[list, Path, dict]:
    """Two seeds of the quickstart world at `scale`; the first reweighted toward the second's rows."""
    from sim.refine import refine_run
    from sim.runner import run_scenario
    from sim.scenario import load_scenario
    from tests.conftest import ROOT

    runs = [run_scenario(load_scenario(ROOT / "scenarios" / "quickstart.yaml", seed=s), tmp_path / f"r{s}",
                         scale=scale) for s in (1, 2)]  # fmt: skip
    out = refine_run(
        runs[0], runs[1] / "transactions.parquet", "reweight", tmp_path / "refined", target="is_fraud"
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and "transactions" in manifest["files"]
    return runs, out, manifest["headline"]


def test_reweighting_a_payments_log_keeps_whole_payers_and_a_ledger(tmp_path):
    """A log is thinned by payer, not by row: every payer kept keeps every row it paid (as simulated, but
    for the balances, replayed), each class of payers is thinned by its own largest weight (so victims
    keep what their weights ask), and the kept log is a ledger with no balance below what was granted."""
    from sim.evaluation import read_table
    from sim.refine import make_refiner
    from sim.refine.ledger import checks, floors

    runs, out, _ = _reweighted_quickstart(tmp_path, 1.0)
    refined = pd.read_parquet(out / "transactions.parquet")
    sim = pd.read_parquet(runs[0] / "transactions.parquet")
    balances = [c for c in sim.columns if "_balance_" in c]
    kept_payers = refined.origin.unique()
    replayed = [*balances, "declined"]
    whole = sim[sim.origin.isin(kept_payers)].drop(columns=replayed).reset_index(drop=True)
    pd.testing.assert_frame_equal(refined.drop(columns=replayed), whole)
    assert 0.05 < len(kept_payers) / sim.origin.nunique() < 0.95  # thinned, not emptied
    assert [v for k, v in checks(refined).items() if k not in ("negative", "declined")] == [0.0] * 3
    floor = floors(sim).reindex(refined.origin).to_numpy()
    assert (refined.origin_balance_after.to_numpy() >= floor - 0.005).all()
    refiner = make_refiner("reweight", 0, None).fit(
        read_table(runs[0]), read_table(runs[1] / "transactions.parquet")
    )
    w = pd.Series(np.log(refiner.weights(refiner.reference_[0]))).groupby(sim.origin.to_numpy()).mean()
    victim = sim.groupby("origin").is_fraud.any()
    for cls in (True, False):  # kept payers of a class: a sum of Bernoulli(w / the class's largest w)
        p = np.exp(w[victim == cls] - w[victim == cls].max())
        kept = int(np.isin(p.index, kept_payers).sum())
        assert abs(kept - p.sum()) <= 4 * np.sqrt((p * (1 - p)).sum()) + 1, (cls, kept, p.sum())


@pytest.mark.slow
def test_what_trains_a_detector_survives_reweighting_when_enough_is_simulated(tmp_path):
    """The thinning keeps a fraction of the fraud rows, so a detector needs many more simulated than it
    trains on: at 5x quickstart, the synthetic-trained detector scores on the real hold-out within two
    standard errors of before. Hanley & McNeil's (1982) error counts both what
    the score is read on (the hold-out's rows) and what the detector after learned from (the fraud rows
    the thinning kept): a detector of 40 positives is itself a draw, not only its score."""
    runs, out, headline = _reweighted_quickstart(tmp_path, 5.0)
    real = pd.read_parquet(runs[1] / "transactions.parquet", columns=["is_fraud"]).is_fraud
    kept = pd.read_parquet(out / "transactions.parquet", columns=["is_fraud"]).is_fraud
    positives = round(HOLDOUT * real.sum())
    before = headline["tstr_auc"]["before"]
    scored = _auc_standard_error(before, positives, round(HOLDOUT * len(real)) - positives)
    learned = _auc_standard_error(before, int(kept.sum()), int((~kept).sum()))
    assert 0 < kept.sum() < real.sum()  # thinned, not emptied
    assert headline["tstr_auc"]["after"] > before - 2 * np.hypot(scored, learned)


def _auc_standard_error(auc: float, positives: int, negatives: int) -> float:
    """Hanley & McNeil's (1982) standard error of a ROC-AUC from its positives and negatives."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    variance = auc * (1 - auc) + (positives - 1) * (q1 - auc**2) + (negatives - 1) * (q2 - auc**2)
    return float(np.sqrt(variance / (positives * negatives)))


def _ledger_holds(tx: pd.DataFrame) -> None:
    """Each row moves its amount (CASH_IN: the agent pays the customer), declined rows move nothing, and an
    account's balance after one transaction is its balance before its next."""
    moved = np.where(tx.declined, 0.0, np.where(tx.type == "CASH_IN", tx.amount, -tx.amount))
    np.testing.assert_allclose(tx.origin_balance_after - tx.origin_balance_before, moved, atol=1e-6)
    np.testing.assert_allclose(tx.dest_balance_after - tx.dest_balance_before, -moved, atol=1e-6)
    legs = pd.DataFrame({
        "account": np.ravel(np.column_stack([tx.origin, tx.dest])),
        "before": np.ravel(np.column_stack([tx.origin_balance_before, tx.dest_balance_before])),
        "after": np.ravel(np.column_stack([tx.origin_balance_after, tx.dest_balance_after])),
    })  # fmt: skip
    following = legs.groupby("account").before.shift(-1)
    chained = following.notna()
    np.testing.assert_allclose(legs.after[chained], following[chained], atol=1e-6)


def test_a_generated_payments_log_is_replayed_into_a_ledger(tmp_path):
    """The copula draws amounts and balances row by row; the replay makes the log a ledger again (and
    leaves a log that already is one unchanged)."""
    from sim.refine.ledger import checks, floors, replay
    from sim.runner import run_scenario
    from sim.scenario import load_scenario
    from tests.conftest import ROOT

    quickstart = ROOT / "scenarios" / "quickstart.yaml"
    runs = [
        run_scenario(load_scenario(quickstart, ["customers=800"], seed=s), tmp_path / f"r{s}") for s in (1, 2)
    ]
    runs = [pd.read_parquet(run / "transactions.parquet") for run in runs]
    sim, real = runs
    _ledger_holds(sim)
    pd.testing.assert_frame_equal(replay(sim), sim.reset_index(drop=True), check_exact=False, atol=1e-6)
    # declines decided again on the replayed balances: the engine's own log replays to itself
    pd.testing.assert_frame_equal(
        replay(sim, floors(sim)), sim.reset_index(drop=True), check_exact=False, atol=1e-6
    )
    drawn = make_refiner("copula", random_state=0).fit(sim, real).transform(sim)
    with pytest.raises(AssertionError):
        _ledger_holds(drawn)
    ledger = replay(drawn)
    _ledger_holds(ledger)
    assert ledger.timestamp.is_monotonic_increasing and len(ledger) == len(drawn)
    assert sorted(ledger.amount) == sorted(drawn.amount)  # the drawn amounts are kept, only balances move
    breaks = ("unchained", "approved_not_moving", "declined_moving")  # what the report's ledger table shows
    assert [checks(sim)[k] for k in breaks] == [checks(ledger)[k] for k in breaks] == [0.0] * 3
    assert checks(drawn)["unchained"] > 0.5
    assert checks(ledger)["negative"] > checks(sim)["negative"]  # drawn amounts the payers could not pay


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(0, 300),
    accounts=st.integers(1, 20),
    decide=st.booleans(),
)
def test_the_replay_kernel_matches_its_twin_bit_for_bit(seed, rows, accounts, decide):
    from sim.refine.ledger import book, book_twin

    rng = np.random.default_rng(seed)
    args = [rng.integers(0, accounts, rows), rng.integers(0, accounts, rows),
            np.round(rng.lognormal(4, 2, rows), 2), rng.random(rows) < 0.2]  # fmt: skip
    balance, floor = np.round(rng.normal(200, 300, accounts), 2), -np.round(rng.exponential(100, accounts), 2)
    declined = rng.random(rows) < 0.1
    outs = []
    for kernel in (book, book_twin):
        state = (balance.copy(), declined.copy(), np.empty((2, rows)))
        kernel(*args, state[0], floor, decide, state[1], state[2])
        outs.append(state)
    for a, b in zip(*outs, strict=True):
        assert a.tobytes() == b.tobytes()
    if decide:  # a made payment never takes its payer below its floor
        payer = np.where(args[3], args[1], args[0])
        paid = ~outs[0][1]
        before = np.where(args[3], outs[0][2][1], outs[0][2][0])
        assert (before[paid] - args[2][paid] >= floor[payer[paid]] - 0.005).all()


def test_ledger_checks_count_the_rows_that_break_it():
    from sim.refine.ledger import checks

    log = pd.DataFrame({  # a pays b 10, b's 5 to c is declined yet moves, c's cash-in leaves c negative
        "type": ["TRANSFER", "TRANSFER", "CASH_IN", "PAYMENT"], "amount": [10.0, 5.0, 1.0, 30.0],
        "origin": [1, 2, 3, 3], "dest": [2, 3, 9, 8], "declined": [False, True, False, False],
        "origin_balance_before": [10.0, 10.0, 5.0, 6.0], "origin_balance_after": [0.0, 5.0, 6.0, -24.0],
        "dest_balance_before": [0.0, 0.0, 1.0, 0.0], "dest_balance_after": [10.0, 5.0, 0.0, 30.0],
    })  # fmt: skip
    found = checks(log)
    # consecutive legs: account 2's 0 -> 10 then 10 -> 5; account 3's 0 -> 5, 5 -> 6, 6 -> -24: 3 links
    assert found == {"unchained": 0.0, "approved_not_moving": 0.0, "declined_moving": 1.0, "negative": 0.5,
                     "declined": 0.25}  # fmt: skip
    log.loc[2, "origin_balance_before"] = 4.0  # breaks the chain of account 3 and the cash-in's move
    found = checks(log)
    assert found["unchained"] == pytest.approx(1 / 3) and found["approved_not_moving"] == pytest.approx(1 / 3)


def test_the_copula_upsamples_the_rare_class_and_only_generators_that_beat_smote_are_offered(tmp_path):
    from sim.refine import refine_run

    sim_file, real_file = tmp_path / "sim.parquet", tmp_path / "real.parquet"
    crude_simulation(400).to_parquet(sim_file)
    REAL_SAMPLE.to_parquet(real_file)
    out = refine_run(sim_file, real_file, "copula", tmp_path / "up", target="target", upsample=0.25)
    refined = pd.read_parquet(out / "table.parquet")
    manifest = json.loads((out / "manifest.json").read_text())
    rare = REAL_SAMPLE.target.value_counts().idxmin()  # malignant tumours
    assert manifest["upsampled"] == {"class": f"target={rare}", "count": 200}
    extra = refined.iloc[800:]
    assert len(refined) == 1000 and (extra.target == rare).all()
    features = [c for c in REAL_SAMPLE.columns if c != "target"]
    real_rows = set(map(tuple, REAL_SAMPLE[features].round(6).to_numpy()))
    assert not real_rows & set(map(tuple, extra[features].round(6).to_numpy()))  # no real record copied
    assert not set(map(tuple, refined.iloc[:800][features].to_numpy())) & set(
        map(tuple, extra[features].to_numpy())
    )
    for method in ("reweight", "vae"):
        with pytest.raises(InputError, match="beat SMOTE"):
            refine_run(sim_file, real_file, method, tmp_path / method, target="target", upsample=0.1)
    with pytest.raises(InputError, match="needs --target"):
        refine_run(sim_file, real_file, "copula", tmp_path / "x", upsample=0.1)


@pytest.mark.parametrize("rows", [(0, 100), (100, 4)])
def test_refining_too_few_rows_is_an_error_not_a_traceback(tmp_path, capsys, rows):
    from sim.cli import main

    rng = np.random.default_rng(0)
    paths = []
    for name, n in zip(("run", "real"), rows, strict=True):
        table = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "is_fraud": np.arange(n) % 2})
        table.to_csv(tmp_path / f"{name}.csv", index=False)
        paths.append(str(tmp_path / f"{name}.csv"))
    out = tmp_path / "refined"
    assert main(["refine", paths[0], "--real", paths[1], "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert (
        f"refinement needs at least 20 rows in each table (the run {rows[0]}, the real sample {rows[1]})"
        in err
    )
    assert "Traceback" not in err and not out.exists()


@pytest.mark.skipif(not HAS_TORCH, reason="needs torch (the neural extra)")
def test_the_attention_refiner_reads_each_payers_own_earlier_rows():
    import torch

    from sim.refine.neural import Attention

    log = pd.DataFrame(
        {"origin": [7, 8, 7, 7, 8], "step": [3, 1, 1, 2, 5], "amount": [30.0, 10.0, 11.0, 20.0, 50.0]}
    )
    x = torch.tensor(log[["amount"]].to_numpy(), dtype=torch.float32)
    earlier, missing = Attention(history=2)._context(log, x)
    # payer 7 in time order: rows 2 (step 1), 3 (step 2), 0 (step 3); payer 8: rows 1, 4
    assert earlier[0, :, 0].tolist() == [20.0, 11.0] and missing[0].tolist() == [False, False]
    assert earlier[3, 0, 0].item() == 11.0 and missing[3].tolist() == [False, True]
    assert earlier[4, 0, 0].item() == 10.0 and missing[4].tolist() == [False, True]
    assert missing[1].tolist() == missing[2].tolist() == [True, True]  # their payers' first rows
    assert Attention()._context(log.drop(columns="origin"), x) is None  # a plain table: the row alone

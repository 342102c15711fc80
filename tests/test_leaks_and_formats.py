"""No label leaks through identifiers, and PaySim1's exact CSV layout."""

import json

import numpy as np
import pandas as pd
import pytest

from sim.runner import run_scenario
from sim.scenario import load_scenario
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
    scenario = load_scenario(ROOT / "scenarios" / "fraud_ring_attack.yaml", ["customers=6000"])
    return run_scenario(scenario, tmp_path_factory.mktemp("ring") / "run")


def id_features(ids: np.ndarray) -> np.ndarray:
    """Everything a model could read from an identifier's text: value, length, digits, residues."""
    text = ids.astype(str)
    digits = np.array([[int(c) for c in s[-6:].rjust(6, "0")] for s in text])
    return np.column_stack(
        [ids, np.char.str_len(text), digits, digits.sum(axis=1), ids % 7, ids % 97, ids // 10_000]
    )


def test_a_classifier_on_identifier_features_is_at_chance(ring_run, tmp_path):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import cross_val_predict

    accounts = pd.read_parquet(ring_run / "accounts.parquet")
    tx = pd.read_parquet(ring_run / "transactions.parquet")
    # anyone a fraud pattern touched, or who is a mule: what a leak would give away
    touched = set(tx.origin[tx.is_fraud]) | set(tx.dest[tx.is_fraud])
    label = (accounts.account.isin(touched) | accounts.is_mule).to_numpy()

    def auc_from_ids(ids: np.ndarray) -> float:
        model = HistGradientBoostingClassifier(max_iter=60, random_state=0)
        score = cross_val_predict(model, id_features(ids), label, cv=5, method="predict_proba")[:, 1]
        return roc_auc_score(label, score)

    n1, n0 = label.sum(), (~label).sum()
    sd = np.sqrt((n0 + n1 + 1) / (12 * n0 * n1))  # the AUC's spread when there is nothing to find
    assert n1 > 100
    auc = auc_from_ids(accounts.account.to_numpy())
    assert abs(auc - 0.5) < 4 * sd + 0.02, (auc, sd)
    # the same classifier does find a leak when the labelled accounts get ids of their own (PaySim-style)
    leaky = 1_000_000_000 + np.lexsort((accounts.account, ~label)).argsort()
    assert auc_from_ids(leaky) > 0.8


def test_paysim_csv_has_paysim1_columns_and_names(tmp_path):
    scenario = load_scenario(ROOT / "scenarios" / "fraud_ring_attack.yaml", ["customers=2000"])
    run = run_scenario(scenario, tmp_path / "p", fmt="paysim-csv")
    parquet = run_scenario(scenario, tmp_path / "q")
    frame = pd.read_csv(run / "transactions.csv")
    assert list(frame.columns) == [
        "step", "type", "amount", "nameOrig", "oldbalanceOrg", "newbalanceOrig", "nameDest",
        "oldbalanceDest", "newbalanceDest", "isFraud", "isFlaggedFraud",
    ]  # fmt: skip
    ours = pd.read_parquet(parquet / "transactions.parquet")
    assert len(frame) == len(ours)
    assert frame.step.min() == 1 and (frame.step == ours.step + 1).all()
    assert (frame.isFraud == ours.is_fraud.astype(int)).all()
    assert (frame.amount == ours.amount).all()
    accounts = pd.read_parquet(parquet / "accounts.parquet").set_index("account")
    expected = np.where(accounts.role.reindex(ours.dest) == "merchant", "M", "C")
    assert (frame.nameDest.str[0] == expected).all()
    assert (frame.nameDest.str[1:].astype(np.int64) == ours.dest).all()
    # mules are 'C' like every customer (PaySim 2's 'CC' mule prefix gave fraud away)
    mules = set(accounts.index[accounts.role == "mule"])
    assert (frame.nameDest[ours.dest.isin(mules)].str[0] == "C").all()
    flagged = frame.isFlaggedFraud == 1
    assert (frame.isFraud[flagged] == 1).all() and (frame.type[flagged] == "TRANSFER").all()
    manifest = json.loads((run / "manifest.json").read_text())
    assert list(manifest["files"]["transactions"]["columns"]) == list(frame.columns)
    # written as PaySim1 writes it: nothing in quotes, money in cents without float noise
    lines = (run / "transactions.csv").read_text().splitlines()
    assert '"' not in "".join(lines[:1000])
    fields = [line.split(",") for line in lines[1:]]
    money = [f[i] for f in fields for i in (2, 4, 5, 7, 8)]
    assert all(len(m.partition(".")[2]) == 2 for m in money)
    balances = ours.origin_balance_after.to_numpy()
    assert np.array_equal(frame.newbalanceOrig.to_numpy(), np.round(balances, 2))

"""The evaluation suite against cases with known answers: identical, disjoint and shifted data, two halves
of a real dataset, copies and label-shuffled copies, and time series with known autocorrelation."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from sim.errors import InputError
from sim.evaluation import evaluate, read_table, write_evaluation
from sim.evaluation.detection import detection_auc
from sim.evaluation.fidelity import (
    contingency_similarity,
    correlation_similarity,
    ks_complement,
    tv_complement,
)
from sim.evaluation.privacy import dcr
from sim.evaluation.tables import describe
from sim.evaluation.timeseries import acf, timeseries_scores
from sim.evaluation.utility import augmentation, labels, smote, split_real, utility
from tests.conftest import ROOT

REAL = load_breast_cancer(as_frame=True).frame  # 569 real tumours, binary target (scikit-learn bundles it)


def halves(frame: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = np.random.default_rng(seed).permutation(len(frame))
    return frame.iloc[order[: len(frame) // 2]], frame.iloc[order[len(frame) // 2 :]]


def test_column_similarities_have_their_exact_values():
    x = np.arange(100) / 100
    assert ks_complement(x, x) == 1.0 and ks_complement(x, x + 10) == 0.0
    assert ks_complement(x, x + 0.5) == pytest.approx(0.5, abs=0.011)
    assert tv_complement(pd.Series(list("aabb")), pd.Series(list("aaaa"))) == 0.5
    assert tv_complement(pd.Series(list("ab")), pd.Series(list("cd"))) == 0.0
    assert correlation_similarity((x, x), (x, -x)) == pytest.approx(0.0, abs=1e-12)
    assert correlation_similarity((x, x), (x, 2 * x)) == pytest.approx(1.0)
    same = pd.DataFrame({"a": list("xxyy"), "b": list("pqpq")})
    flipped = pd.DataFrame({"a": list("xxyy"), "b": list("ppqq")})  # half the joint mass moves
    assert contingency_similarity(same, same) == 1.0 and contingency_similarity(same, flipped) == 0.5


def test_identifiers_are_left_out_and_the_target_is_a_category():
    frame = pd.DataFrame({"nameOrig": [f"C{i}" for i in range(50)], "type": ["A", "B"] * 25,
                          "amount": np.arange(50.0), "isFraud": [0, 1] * 25})  # fmt: skip
    columns = describe(frame, frame, target="isFraud")
    assert columns.identifiers == ["nameOrig"] and columns.numeric == ["amount"]
    assert set(columns.categorical) == {"type", "isFraud"}


def test_detection_is_near_half_on_two_halves_of_real_data_and_near_one_on_a_shifted_copy():
    a, b = halves(REAL)
    columns = describe(a, b, "target")
    # the null AUC's standard error for 284 + 285 rows is 0.024: five of them
    assert abs(detection_auc(a, b, columns) - 0.5) < 0.12
    shifted = b.assign(**{"mean radius": b["mean radius"] * 1.5})
    assert detection_auc(a, shifted, columns) > 0.97


def test_tstr_equals_trtr_when_trained_on_the_same_rows_and_falls_to_chance_on_shuffled_labels():
    columns = describe(REAL, REAL, "target")
    y, _ = labels(REAL["target"], REAL["target"])
    train, _, _, _ = split_real(REAL, y, 0)
    same = utility(REAL, train, columns, "target")
    assert same["tstr_auc"] == pytest.approx(same["trtr_auc"], abs=1e-9) and same["trtr_auc"] > 0.95
    shuffled = train.assign(target=np.random.default_rng(1).permutation(train["target"].to_numpy()))
    assert abs(utility(REAL, shuffled, columns, "target")["tstr_auc"] - 0.5) < 0.15


def test_privacy_flags_copies_and_not_fresh_samples():
    train, holdout = halves(REAL)
    columns = describe(train, holdout, "target")
    copied = dcr(train, holdout, train.sample(200, random_state=0), columns)
    assert copied["exact_copies"] == 1.0 and copied["dcr_synthetic"] < 1e-6
    fresh_a, fresh_b = halves(holdout, 1)
    fresh = dcr(train, fresh_a, fresh_b, columns)
    assert fresh["exact_copies"] == 0.0 and 0.7 < fresh["dcr_synthetic"] / fresh["dcr_holdout"] < 1.4


def test_smote_interpolates_between_minority_neighbours():
    x = np.array([[0.0, 5.0], [1.0, 5.0], [10.0, 7.0]])
    new = smote(x, 300, np.array([False, True]), np.random.default_rng(0), k=1)
    # every new row lies on a segment from a row to its nearest neighbour; categories are copied
    assert ((new[:, 0] >= 0) & (new[:, 0] <= 10)).all() and set(new[:, 1]) <= {5.0, 7.0}


def test_augmentation_compares_three_arms_over_five_seeds():
    a, b = halves(REAL)
    result = augmentation(a, b, describe(a, b, "target"), "target", seeds=5)
    assert set(result) >= {"real", "real+synthetic", "real+smote"} and result["seeds"] == 5
    for arm in ("real", "real+synthetic", "real+smote"):
        assert set(result[arm]) == {"precision", "recall", "f1", "pr_auc"}
        assert 0.8 < result[arm]["pr_auc"]["mean"] <= 1 and result[arm]["f1"]["std"] >= 0


def _series(phi: float, steps: int, nodes: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for node in range(nodes):
        x = np.zeros(steps)
        for t in range(1, steps):
            x[t] = phi * x[t - 1] + rng.normal()
        rows.append(pd.DataFrame({"t": np.arange(steps), "node": f"n{node}", "inventory": x}))
    return pd.concat(rows, ignore_index=True)


def test_time_series_scores_know_autocorrelation():
    real = _series(0.8, 400, 5, 0)
    assert acf(real[real.node == "n0"].inventory.to_numpy())[0] == pytest.approx(0.8, abs=0.1)
    same_process = timeseries_scores(real, _series(0.8, 400, 5, 1), ["inventory"])
    assert same_process["acf_distance"] < 0.1 and same_process["discriminative_score"] < 0.1
    shuffled = real.assign(inventory=real.groupby("node").inventory.transform(
        lambda s: np.random.default_rng(2).permutation(s.to_numpy())))  # fmt: skip
    broken = timeseries_scores(real, shuffled, ["inventory"])
    assert broken["acf_distance"] > 0.3 and broken["discriminative_score"] > 0.2
    assert broken["predictive_mae_synthetic"] > same_process["predictive_mae_synthetic"]


def test_evaluate_and_its_report(tmp_path):
    a, b = halves(REAL)
    result = evaluate(b, a, target="target", augment=False)
    for key in ("detection_auc", "detection_auc_real_vs_real", "tstr_auc", "trtr_auc", "fidelity_score",
                "dcr_synthetic", "dcr_holdout"):  # fmt: skip
        assert isinstance(result[key], float)
    assert result["fidelity_score"] > 0.85
    out = write_evaluation(result, tmp_path / "ev", a, b)
    assert json.loads((out / "evaluation.json").read_text())["target"] == "target"
    assert (out / "report.html").exists() and (out / "figures" / "worst_columns.png").exists()
    with pytest.raises(Exception, match="already exists"):
        write_evaluation(result, tmp_path / "ev", a, b)


def test_cli_evaluates_run_directories_and_reports_bad_input(tmp_path):
    runs, quickstart = [], str(ROOT / "scenarios" / "quickstart.yaml")
    for seed in (1, 2):
        subprocess.run([sys.executable, "-m", "sim", "run", quickstart, "--seed", str(seed), "--out",
                        str(tmp_path / f"r{seed}"), "--quiet"], check=True)  # fmt: skip
        runs.append(tmp_path / f"r{seed}")
    done = subprocess.run([sys.executable, "-m", "sim", "evaluate", *map(str, runs), "--target", "is_fraud",
                           "--out", str(tmp_path / "ev")], capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "ev" / "evaluation.json").read_text())
    assert {"origin", "dest", "pattern_id", "campaign_id"} <= set(
        result["columns"]["left_out_as_identifiers"]
    )
    assert abs(result["detection_auc_real_vs_real"] - 0.5) < 0.05 and result["trtr_auc"] > 0.9
    bad = subprocess.run([sys.executable, "-m", "sim", "evaluate", str(runs[0]), str(tmp_path / "none.csv")],
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2 and "none.csv: no such file or directory" in bad.stderr
    with pytest.raises(InputError, match="not a run directory"):
        read_table(tmp_path)

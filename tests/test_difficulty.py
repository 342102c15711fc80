"""Difficulty targets: the detector a team would build, its scores on tables whose answer is known, and
`detector.<metric>.<label>` as a calibration statistic."""

import json

import numpy as np
import pandas as pd
import pytest

from sim.calibration.simulator import Simulator
from sim.calibration.targets import load_targets
from sim.cli import main
from sim.errors import InputError, ScenarioError
from sim.evaluation.difficulty import detector_scores
from tests.conftest import ROOT

FRAUD_RING = ROOT / "scenarios" / "fraud_ring_attack.yaml"
SMALL = ["customers=3000"]


def table(n: int, prevalence: float, signal: float, seed: int = 0) -> pd.DataFrame:
    """Payments whose amount is shifted by `signal` standard deviations on the labelled rows."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < prevalence
    seconds = np.sort(rng.integers(0, 86400 * 7, n))
    return pd.DataFrame({
        "type": rng.choice(["PAYMENT", "TRANSFER"], n),
        "amount": rng.normal(0, 1, n) + signal * y,
        "timestamp": pd.Timestamp("2026-01-01") + pd.to_timedelta(seconds, "s"),
        "is_fraud": y,
    })  # fmt: skip


def test_a_label_the_rows_decide_is_found_and_a_random_one_is_not():
    found = detector_scores(table(20_000, 0.02, signal=8.0), "is_fraud")
    assert found["pr_auc"] > 0.98 and found["roc_auc"] > 0.99
    # no signal: ROC-AUC 0.5 and PR-AUC the prevalence, within 5 sd of their noise on ~400 positives
    blind = detector_scores(table(20_000, 0.02, signal=0.0), "is_fraud")
    assert abs(blind["roc_auc"] - 0.5) < 5 * np.sqrt(1 / (12 * 400))
    assert blind["pr_auc"] < 0.02 + 5 * np.sqrt(0.02 / 20_000) + 0.02  # + what ranking noise adds


def test_scores_follow_the_signal_and_repeat_with_the_seed():
    easy, hard = (detector_scores(table(20_000, 0.02, s), "is_fraud")["pr_auc"] for s in (2.0, 1.0))
    assert easy > hard
    frame = table(5_000, 0.05, 1.5)
    assert detector_scores(frame, "is_fraud", seed=3) == detector_scores(frame, "is_fraud", seed=3)


def test_a_table_without_the_label_or_its_rows_is_a_clear_error():
    frame = table(1_000, 0.01, 1.0)
    with pytest.raises(InputError, match="no column 'is_laundering' to detect"):
        detector_scores(frame, "is_laundering")
    with pytest.raises(InputError, match="'amount' is not a binary label"):
        detector_scores(frame, "amount")
    with pytest.raises(InputError, match=r"rows of 'is_fraud' and .* without: a detector needs 40 of each"):
        detector_scores(frame, "is_fraud")


def targets(tmp_path, name: str, value: float = 0.5):
    path = tmp_path / "targets.yaml"
    path.write_text(f"targets_version: 1\nname: t\nprovenance: a test\nstatistics:\n"
                    f"  - {{name: {name}, value: {value}, tolerance: 0.05}}\n")  # fmt: skip
    return load_targets(path)


def test_a_detector_target_is_a_statistic_of_a_payments_run(tmp_path):
    simulator = Simulator(FRAUD_RING, targets(tmp_path, "detector.pr_auc.is_fraud"), overrides=SMALL)
    low, high = (simulator({"scams_per_day": rate}) for rate in (0.3, 5.0))
    for result in (low, high):
        assert 0 < result.simulated["detector.pr_auc.is_fraud"] < 1
    assert high.simulated["detector.pr_auc.is_fraud"] > low.simulated["detector.pr_auc.is_fraud"] + 0.2
    assert simulator({"scams_per_day": 0.3}).simulated == low.simulated  # the same bytes, the same score


def test_an_unknown_detector_target_names_the_ones_the_scenario_has(tmp_path):
    simulator = Simulator(FRAUD_RING, targets(tmp_path, "detector.pr_auc.is_nothing"), overrides=SMALL)
    with pytest.raises(ScenarioError) as error:
        simulator({"scams_per_day": 0.3})
    message = str(error.value)
    assert "targets.yaml:5: detector.pr_auc.is_nothing: this scenario has no such statistic" in message
    assert "detector.pr_auc.is_fraud" in message and "detector.roc_auc.is_laundering" in message


def test_the_shipped_difficulty_target_runs_through_the_cli(tmp_path, capsys):
    out = tmp_path / "cal"
    code = main(["calibrate", str(FRAUD_RING), "--targets", str(ROOT / "calibration" / "targets" /
                 "fraud_ring_difficulty.yaml"), "--params", "scams_per_day=0.1:6", "--budget", "3",
                 "--set", SMALL[0], "--out", str(out), "--quiet"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    result = json.loads((out / "calibration.json").read_text())
    assert result["evaluations"] == 3 and 0.1 <= result["best_params"]["scams_per_day"] <= 6

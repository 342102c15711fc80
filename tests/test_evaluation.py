"""The evaluation suite against cases with known answers: identical, disjoint and shifted data, two halves
of a real dataset, copies and label-shuffled copies, and time series with known autocorrelation."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
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
    # disjoint categories: 0, but for SDMetrics' 1e-6 count of a category the real data never shows
    assert tv_complement(pd.Series(list("ab")), pd.Series(list("cd"))) == pytest.approx(0.0, abs=1e-5)
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
    train = REAL.iloc[split_real(y, 0)[0]]
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
    rare = np.array([[0.0, 5.0], [1.0, 5.0], [10.0, 7.0]])
    common = np.array([[50.0, 1.0]] * 20)
    x, y = np.vstack([rare, common]), np.r_[np.ones(3, int), np.zeros(20, int)]
    new = smote(x, y, 300, np.array([False, True]), seed=0, k=1)
    # 300 new rows, each on a segment from a rare row to its nearest rare neighbour; categories are the
    # neighbours' (never the common class's)
    assert len(new) == 300 and ((new[:, 0] >= 0) & (new[:, 0] <= 10)).all() and set(new[:, 1]) <= {5.0, 7.0}


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
                           "--audit", "--out", str(tmp_path / "ev")],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "fidelity (SDMetrics score)" in done.stdout and "tells of is_fraud (synthetic)" in done.stdout
    result = json.loads((tmp_path / "ev" / "evaluation.json").read_text())
    assert {"origin", "dest"} <= set(result["columns"]["left_out_as_identifiers"])
    labels = {"fraud_type", "campaign_id", "is_laundering", "typology", "pattern_id"}
    assert labels == set(result["columns"]["left_out_as_labels"])  # every label but the target
    assert not labels & set(result["columns"]["numeric"] + result["columns"]["categorical"])
    assert result["leaks"] == [] and result["tell_audit"]["real"]["is_fraud"]["audited"]
    # no column gives fraud away any more (tests/test_realism.py): ~100 fraud rows teach a model little
    assert abs(result["detection_auc_real_vs_real"] - 0.5) < 0.05 and 0.5 < result["trtr_auc"] <= 1.0
    bad = subprocess.run([sys.executable, "-m", "sim", "evaluate", str(runs[0]), str(tmp_path / "none.csv")],
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2 and "none.csv: no such file or directory" in bad.stderr
    with pytest.raises(InputError, match="not a run directory"):
        read_table(tmp_path)


def test_a_planted_copy_of_the_target_is_flagged_as_a_leak_and_dropped_on_request(tmp_path):
    real, synthetic = halves(REAL)
    planted = {"followup_code": lambda f: f["target"] * 3 + 1}  # the label under another name
    real_csv, synth_csv = tmp_path / "real.csv", tmp_path / "synth.csv"
    real.assign(**planted).to_csv(real_csv, index=False)
    synthetic.assign(**planted).to_csv(synth_csv, index=False)
    out = tmp_path / "ev"
    args = [sys.executable, "-m", "sim", "evaluate", str(synth_csv), str(real_csv), "--target", "target"]
    done = subprocess.run([*args, "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result = json.loads((out / "evaluation.json").read_text())
    assert result["leaks"] == ["followup_code"] and "tell_audit" not in result  # checked without the audit
    check = result["leak_check"]["real"]
    assert check["single_feature_auc"]["followup_code"] == pytest.approx(1.0)
    assert check["best_single_feature"] == "followup_code" and "followup_code" in check["leaks"]
    assert "LEAK: followup_code" in (out / "report.html").read_text()
    audited = subprocess.run(
        [*args, "--audit", "--out", str(tmp_path / "ev1")], capture_output=True, text=True
    )
    assert audited.returncode == 0, audited.stderr
    audit = json.loads((tmp_path / "ev1" / "evaluation.json").read_text())["tell_audit"]["real"]["target"]
    assert audit["single_feature_auc"] == check["single_feature_auc"] and audit["leaks"] == check["leaks"]
    dropped = subprocess.run([*args, "--drop", "followup_code", "--out", str(tmp_path / "ev2")], text=True,
                             capture_output=True)  # fmt: skip
    assert dropped.returncode == 0, dropped.stderr
    again = json.loads((tmp_path / "ev2" / "evaluation.json").read_text())
    assert again["leaks"] == [] and again["columns"]["dropped"] == ["followup_code"]
    assert "followup_code" not in again["column_scores"]


def test_labels_are_left_out_unless_kept():
    frame = REAL.assign(is_fraud=REAL["target"] == 1, label=REAL["mean radius"].round())
    columns = describe(frame, frame, target="target")
    assert set(columns.labels) == {"is_fraud", "label"} and "label" not in columns.used
    kept = describe(frame, frame, target="target", keep=("label",))
    assert kept.labels == ["is_fraud"] and "label" in kept.used


def test_a_single_feature_auc_read_on_its_sample_matches_the_whole_table():
    from sim.evaluation.tables import Columns
    from sim.evaluation.tells import SINGLE_ROWS, leak_check, single_feature_auc

    rng = np.random.default_rng(7)
    n = 2 * SINGLE_ROWS
    y = rng.random(n) < 0.01
    frame = pd.DataFrame({"score": rng.normal(size=n) + y, "label": y})
    checked = leak_check(frame, Columns(["score"], [], []), "label", seed=3)
    whole = single_feature_auc(frame["score"].to_numpy(), y.astype(int), False, 3)
    positives, negatives = y.sum(), n - y.sum()
    q1, q2 = whole / (2 - whole), 2 * whole**2 / (1 + whole)  # Hanley & McNeil's standard error
    se = np.sqrt((whole * (1 - whole) + (positives - 1) * (q1 - whole**2) + (negatives - 1) * (q2 - whole**2))
                 / (positives * negatives))  # fmt: skip
    assert abs(checked["single_feature_auc"]["score"] - whole) < 4 * se  # ~0.76, se ~0.004


def test_the_tell_audit_finds_a_row_tell_and_a_behaviour_only_signal():
    """A label that one column decides is a tell; a label that only history decides (an account's third
    payment within an hour) is invisible row by row and seen with the history features."""
    from sim.evaluation.tells import TransactionLog, audit

    rng = np.random.default_rng(4)
    n, accounts = 30_000, 3_000
    t = np.sort(rng.uniform(0, 30 * 86400, n))
    account = rng.integers(0, accounts, n)
    frame = pd.DataFrame({"origin": account, "dest": rng.integers(0, 50, n),
                          "timestamp": pd.to_datetime(t, unit="s"), "amount": rng.lognormal(5, 1, n),
                          "channel": rng.choice(list("abc"), n)})  # fmt: skip
    history = TransactionLog.of(frame).history(frame)
    frame["burst"] = history["payer_count_1h"] >= 1  # it paid within the hour before: behaviour only
    frame["tell"] = rng.random(n) < 0.05
    frame.loc[frame["tell"], "amount"] = 99_999.0  # ... and one the amount gives away
    columns = describe(frame, frame)
    result = audit(frame, columns, ["burst", "tell"], log=TransactionLog.of(frame))
    assert (
        result["tell"]["best_single_feature"] == "amount" and result["tell"]["best_single_feature_auc"] > 0.99
    )
    burst = result["burst"]
    assert burst["best_single_feature_auc"] < 0.6 and burst["boosting_auc"] < 0.65
    assert burst["boosting_auc_with_history"] > 0.99


def bursty_log(seed: int, accounts: int = 3_000, days: int = 30) -> pd.DataFrame:
    """Accounts that pay in sessions: session starts at Poisson times, 1-5 payments minutes apart; most
    payments to 200 shops, the rest to other accounts."""
    rng = np.random.default_rng(seed)
    sessions = rng.poisson(rng.gamma(0.7, 1.5, accounts) * days)
    owner = np.repeat(np.arange(accounts), sessions)
    size = rng.integers(1, 6, len(owner))
    origin = np.repeat(owner, size)
    t = np.repeat(rng.uniform(0, days * 86400, len(owner)), size)
    t += np.concatenate([np.cumsum(rng.exponential(120, k)) for k in size])
    shop = rng.random(len(origin)) < 0.8
    dest = np.where(
        shop, rng.integers(accounts, accounts + 200, len(origin)), rng.integers(0, accounts, len(origin))
    )
    return pd.DataFrame({"origin": origin, "dest": dest, "timestamp": pd.to_datetime(t, unit="s"),
                         "amount": rng.lognormal(4, 1, len(origin))})  # fmt: skip


def test_behaviour_of_a_log_like_the_real_one_is_at_its_noise_floor_and_shuffled_times_are_not():
    from sim.evaluation.behaviour import behaviour

    real, twin = bursty_log(1), bursty_log(2)
    same = behaviour(real, twin)
    ratios = [m["ratio"] for m in same["metrics"].values() if m["ratio"] is not None]
    assert 0.5 < same["median_ratio"] < 1.6 and max(ratios) < 3.5  # noise, split by split
    shuffled = twin.assign(timestamp=np.random.default_rng(0).permutation(twin["timestamp"].to_numpy()))
    broken = behaviour(real, shuffled)["metrics"]
    for name in ("inter_event_time", "burstiness", "velocity_count_1h", "velocity_sum_1h"):
        assert broken[name]["ratio"] > 8, name  # the sessions are gone
    for name in ("out_degree", "in_degree", "fan_in"):  # who pays whom is untouched
        assert broken[name]["ratio"] < 3.5, name


def test_behaviour_counts_cycles_and_shared_counterparties():
    from sim.evaluation.behaviour import Log
    from sim.evaluation.logs import TransactionLog

    rows = [(1, 2), (2, 3), (3, 1), (4, 5), (5, 4), (6, 9), (7, 9), (8, 9)]  # a 3-cycle, a 2-cycle, a fan-in
    frame = pd.DataFrame(rows, columns=["origin", "dest"]).assign(
        timestamp=pd.date_range("2026-01-01", periods=len(rows), freq="h"), amount=1.0
    )
    log = Log(frame, TransactionLog.of(frame))
    profile = log.profile(np.ones(log.accounts, dtype=bool))
    payers = 8
    assert profile["cycles_2"] == pytest.approx(2 * 1000 / payers)  # closed 2-walks: 4->5->4 and 5->4->5
    assert profile["cycles_3"] == pytest.approx(3 * 1000 / payers)  # 1->2->3->1 from each of its 3 nodes
    assert profile["shared_counterparties"] == pytest.approx(3 * 1000 / payers)  # 3 pairs of 6, 7, 8 pay 9


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 12).flatmap(lambda n: st.tuples(st.just(n), st.sets(st.tuples(
    st.integers(0, n - 1), st.integers(0, n - 1)), max_size=n * n))))  # fmt: skip
def test_closed_walks_are_the_traces_of_the_adjacency_matrix_powers(graph):
    from sim.evaluation.behaviour import closed_walks

    n, edges = graph
    src, dst = (np.array([e[k] for e in sorted(edges)], dtype=np.int64) for k in (0, 1))
    a = np.zeros((n, n), dtype=np.int64)
    a[src, dst] = 1
    expected = tuple(int(np.trace(np.linalg.matrix_power(a, k))) for k in (2, 3, 4))
    assert closed_walks(src, dst, n) == expected


def test_infinite_numbers_are_named_at_once_and_extreme_ones_scored_without_overflow(tmp_path):
    import warnings

    from sim.cli import main

    real, synthetic = halves(REAL)
    broken_real = real.assign(
        **{"mean radius": real["mean radius"].replace(real["mean radius"].iloc[0], np.inf)}
    )
    broken_synth = synthetic.assign(**{"mean area": -np.inf})
    with pytest.raises(InputError) as caught:
        evaluate(broken_synth, broken_real, target="target")
    message = str(caught.value)
    assert "real: column 'mean radius' has 1 infinite value(s)" in message
    assert f"synthetic: column 'mean area' has {len(synthetic)} infinite value(s)" in message
    paths = tmp_path / "real.csv", tmp_path / "synth.csv"
    broken_real.to_csv(paths[0], index=False)
    broken_synth.to_csv(paths[1], index=False)
    assert main(["evaluate", str(paths[1]), str(paths[0]), "--out", str(tmp_path / "ev"), "--quiet"]) == 2
    huge = synthetic.assign(**{"mean area": synthetic["mean area"] * 1e304})  # sums of these overflow
    tiny = real.assign(**{"mean area": real["mean area"] * 1e-321})  # too narrow for 10 distinct bins
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = evaluate(huge, tiny, target="target")
    assert result["column_scores"]["mean area"] == 0.0 and np.isfinite(result["fidelity_score"])


def test_bad_options_fail_from_the_schemas_before_any_table_is_read(tmp_path, monkeypatch, capsys):
    from sim.cli import main

    real, synthetic = tmp_path / "real.csv", tmp_path / "synth.csv"
    REAL.assign(kind=np.arange(len(REAL)) % 3).to_csv(real, index=False)
    REAL.assign(kind=0).to_csv(synthetic, index=False)
    read_csv = pd.read_csv

    def header_or_one_column(*args, **kwargs):
        if kwargs.get("nrows") == 0 or kwargs.get("usecols") is not None:
            return read_csv(*args, **kwargs)
        raise AssertionError("a whole table was read before the options were checked")

    monkeypatch.setattr(pd, "read_csv", header_or_one_column)
    out = tmp_path / "ev"
    common = [str(synthetic), str(real), "--out", str(out), "--quiet"]
    assert main(["evaluate", *common, "--drop", "nosuch", "--keep", "other"]) == 2
    err = capsys.readouterr().err
    assert "--drop 'nosuch' is not a column of either table" in err and "--keep 'other'" in err
    assert main(["evaluate", *common, "--target", "ghost"]) == 2
    assert "--target 'ghost' is not a column of the synthetic and real tables" in capsys.readouterr().err
    assert main(["evaluate", *common, "--drop", "mean radus", "--target", "targt"]) == 2
    err = capsys.readouterr().err
    assert "--drop 'mean radus' is not a column of either table; did you mean 'mean radius'?" in err
    assert "did you mean 'target'?" in err
    assert main(["evaluate", *common, "--target", "kind"]) == 2
    assert "exactly two classes in the real data; it has 3" in capsys.readouterr().err
    assert main(["refine", str(synthetic), "--real", str(real), "--method", "gan", "--out", str(out)]) == 2
    assert "unknown method 'gan'" in capsys.readouterr().err
    assert not out.exists()


def test_time_columns_enter_the_time_series_scores_as_elapsed_time():
    """A date column moves by a day a step in both tables: as elapsed days it is predicted exactly, and
    it does not drown the inventory's error (as 1.7e9 epoch seconds would)."""
    real = _series(0.8, 400, 5, 1)
    synthetic = _series(0.8, 400, 5, 2)
    for frame, start in ((real, "2026-01-01"), (synthetic, "2027-06-01")):  # different calendars
        frame["date"] = pd.Timestamp(start) + pd.to_timedelta(frame["t"], unit="D")
    with_date = timeseries_scores(real, synthetic, ["inventory", "date"])
    without = timeseries_scores(real, synthetic, ["inventory"])
    assert with_date["predictive_mae_real"] < 2 * without["predictive_mae_real"]
    assert with_date["predictive_mae_synthetic"] < 2 * without["predictive_mae_synthetic"]


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(2, 400), bins=st.integers(1, 12))
def test_the_binned_auc_is_sklearns(seed, rows, bins):
    from sklearn.metrics import roc_auc_score

    from sim.evaluation.tells import _auc_of_bins

    rng = np.random.default_rng(seed)
    codes = rng.integers(0, bins, rows)
    y = (rng.random(rows) < 0.3).astype(float)
    y[:2] = [0.0, 1.0]  # both classes
    score = rng.integers(0, 4, bins) / 4.0  # ties between bins too
    assert _auc_of_bins(codes, y, score) == pytest.approx(roc_auc_score(y, score[codes]), abs=1e-12)


def test_a_column_missing_everywhere_is_left_out_of_fidelity_as_sdmetrics_does():
    from sim.evaluation.fidelity import fidelity

    a, b = halves(REAL)
    a, b = a.assign(category=None), b.assign(category=None)
    result = fidelity(a, b, describe(a, b, "target"))
    assert "category" not in result["column_scores"] and tv_complement(a["category"], b["category"]) is None


def test_a_number_missing_on_every_row_of_one_table_is_evaluated_not_a_traceback():
    """A generator that lost a column: every model still fits (scikit-learn's binning fails on a column
    with no value at all) and the column's shape scores as SDMetrics leaves it, out."""
    real, synthetic = halves(REAL)
    synthetic = synthetic.assign(**{"mean radius": np.nan})
    result = evaluate(synthetic, real, target="target", tells=True, augment=True, augment_seeds=1)
    assert "mean radius" not in result["column_scores"] and 0.5 <= result["detection_auc"] <= 1.0
    assert result["tstr_auc"] is not None and result["tell_audit"]["synthetic"]["target"]["audited"]


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1), n=st.integers(1, 300), m=st.integers(1, 300), levels=st.integers(1, 50)
)
def test_the_merged_ks_statistic_is_scipys(seed, n, m, levels):
    from scipy.stats import ks_2samp

    from sim.evaluation.tables import ks_statistic

    rng = np.random.default_rng(seed)
    x, y = np.sort(rng.integers(0, levels, n) / 7.0), np.sort(rng.integers(0, levels + 3, m) / 7.0)  # ties
    assert ks_statistic(x, y) == pytest.approx(ks_2samp(x, y).statistic, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 3000), m=st.integers(1, 3000),
       levels=st.integers(1, 5000), points=st.integers(2, 200))  # fmt: skip
def test_the_behaviour_ks_on_its_grid_is_within_its_bound_of_scipys(seed, n, m, levels, points):
    """Read at `points` quantiles of each side, the statistic misses the exact one by at most what one
    side's CDF can rise between two neighbouring grid points (ties included)."""
    from scipy.stats import ks_2samp

    from sim.evaluation import behaviour

    rng = np.random.default_rng(seed)
    x, y = np.sort(rng.integers(0, levels, n) / 7.0), np.sort(rng.integers(0, levels + 9, m) / 7.0)
    bound = max(-(-(len(v) - 1) // (points - 1)) / len(v) if len(v) > points else 0.0 for v in (x, y))
    exact = ks_2samp(x, y).statistic
    assert exact - bound - 1e-12 <= behaviour._ks(x, y, points) <= exact + 1e-12


def test_scoring_rows_keep_every_positive_and_weigh_negatives_to_their_number():
    """A rare class scored on all its rows beside a weighted sample of the rest: the ROC-AUC is the
    whole table's within the sampling error of the negatives (Hanley & McNeil's negative term)."""
    from sklearn.metrics import roc_auc_score

    from sim.evaluation.tables import scoring_rows

    rng = np.random.default_rng(5)
    y = (rng.random(400_000) < 0.002).astype(int)
    score = y * 1.5 + rng.normal(size=len(y))
    rows, weights = scoring_rows(y, 50_000, rng)
    assert np.all(np.diff(rows) > 0) and set(np.flatnonzero(y)) <= set(rows)
    assert weights[y[rows] == 1].sum() == y.sum()
    assert weights[y[rows] == 0].sum() == pytest.approx((y == 0).sum())
    whole = roc_auc_score(y, score)
    sampled = roc_auc_score(y[rows], score[rows], sample_weight=weights)
    q2 = 2 * whole**2 / (1 + whole)
    error = np.sqrt((q2 - whole**2) / 50_000 * (1 - 50_000 / (y == 0).sum()))
    assert abs(sampled - whole) < 4 * error
    small, ones = scoring_rows(y[:1000], 50_000, rng)
    assert np.array_equal(small, np.arange(1000)) and np.all(ones == 1)


def test_quantile_levels_keep_order_and_missing_in_at_most_255_levels():
    """What the balanced models see: each number's rank among the training rows' quantiles, so a split
    the boosting could make before it can make now (order kept), missing kept, categories untouched."""
    from sim.evaluation.tables import quantile_levels

    rng = np.random.default_rng(3)
    train = np.column_stack([rng.lognormal(0, 2, 5000), rng.integers(0, 400, 5000), rng.integers(0, 9, 5000)])
    train[::50, 0] = np.nan
    test = np.column_stack([rng.lognormal(0, 2, 2000), rng.integers(0, 400, 2000), rng.integers(0, 9, 2000)])
    categorical = np.array([False, True, False])
    levelled, levelled_test = quantile_levels([train, test], categorical)
    assert len(np.unique(levelled[~np.isnan(levelled[:, 0]), 0])) <= 255
    assert np.array_equal(np.isnan(levelled[:, 0]), np.isnan(train[:, 0]))
    finite = ~np.isnan(train[:, 0])
    order = np.argsort(train[finite, 0])
    assert np.all(np.diff(levelled[finite, 0][order]) >= 0)  # monotone: ranks, not values
    assert np.array_equal(levelled[:, 1:], train[:, 1:])  # a category, and a number with few values
    both = np.r_[train[finite, 0], test[:, 0]]
    together = np.r_[levelled[finite, 0], levelled_test[:, 0]]
    assert np.all(np.diff(together[np.argsort(both, kind="stable")]) >= 0)  # the same scale for the test rows

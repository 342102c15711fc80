"""Calibration: targets files, moments, the MSM objective, the back-ends' contract, resume, recovery, CLI."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.calibration import Calibrator, check_recovery, load_targets
from sim.calibration.moments import moments
from sim.calibration.objective import compare, evaluate, residuals
from sim.calibration.output import calibrated_text, write_calibration
from sim.calibration.recovery import AWAY, draw_truth
from sim.calibration.simulator import Parameter
from sim.calibration.targets import Statistic
from sim.cli import main
from sim.engine.model import SimModel
from sim.errors import ScenarioError
from sim.runner import run_scenario
from sim.scenario.load import load_scenario
from tests.conftest import ROOT

BEER = ROOT / "scenarios" / "beer_game.yaml"
BEER_TARGETS = ROOT / "calibration" / "targets" / "beer_game_orders.yaml"
PAYSIM_TARGETS = ROOT / "calibration" / "targets" / "paysim_month.yaml"
# the known answer the beer-game targets were simulated at (tools/derive_calibration_targets.py)
S_PRIMES = [
    f"{n}=22" for n in ("s_prime_retailer", "s_prime_wholesaler", "s_prime_distributor", "s_prime_factory")
]
TRUTH = {"theta": 0.55, "alpha_s": 0.40, "beta": 0.20}


def write(tmp_path, text, name="targets.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


# ---- targets files -------------------------------------------------------------------------------------


def test_shipped_targets_load_and_name_their_source():
    paysim = load_targets(PAYSIM_TARGETS)
    names = [s.name for s in paysim]
    assert "volume" in names and len(names) == 1 + 5 * 2 + 5 * 3
    assert "aggregatedTransactions.csv" in paysim.targets.provenance
    volume = next(s for s in paysim if s.name == "volume")
    assert volume.value == 24_576_685 and volume.scale == pytest.approx(0.02 * 24_576_685)
    count = next(s for s in paysim if s.name == "hourly_count.CASH_OUT")
    assert len(count.value) == 720 and count.scale == pytest.approx(0.05 * count.spread)
    beer = load_targets(BEER_TARGETS)
    assert [s.name for s in beer] == [
        f"orders.{n}" for n in ("retailer", "wholesaler", "distributor", "factory")
    ]


def test_every_problem_in_a_targets_file_is_reported_at_once_with_its_line(tmp_path):
    path = write(
        tmp_path,
        """targets_version: 1
name: bad
provenance: here
statistics:
  - {name: volume, value: 10, tolerance: -1}
  - {name: orders.retailer, value: [null, null]}
  - {name: volume, value: 3, colour: red}
  - {name: kpi.x, value: 0}
  - {name: kpi.y, value: 1, relative: value}
""",
    )
    with pytest.raises(ScenarioError) as caught:
        load_targets(path)
    text = str(caught.value)
    assert f"{path}:5: statistics.0.tolerance" in text and "greater than 0" in text
    assert f"{path}:6:" in text and "at least one number" in text
    assert f"{path}:7: statistics.2.colour: unknown field" in text
    assert f"{path}:8:" in text and "no size to compare against" in text
    assert f"{path}:9:" in text and "give 'tolerance' too" in text


def test_a_targets_file_without_provenance_or_statistics_is_refused(tmp_path):
    with pytest.raises(ScenarioError) as caught:
        load_targets(write(tmp_path, "targets_version: 1\nname: x\nstatistics: []\n"))
    assert "provenance: required field is missing" in str(caught.value)
    assert "statistics" in str(caught.value)
    with pytest.raises(ScenarioError, match="file not found"):
        load_targets(tmp_path / "missing.yaml")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
        max_leaves=12,
    )
)
def test_fuzzed_targets_files_load_or_fail_with_located_problems(tmp_path, data):
    import yaml

    doc = {
        "targets_version": 1,
        "name": "fuzz",
        "provenance": "p",
        "statistics": [{"name": "volume", "value": data}],
    }
    path = write(tmp_path, yaml.safe_dump(doc))
    try:
        load_targets(path)
    except ScenarioError as exc:
        assert all(p.file == str(path) and p.line >= 1 for p in exc.problems)


# ---- the objective -------------------------------------------------------------------------------------


def test_distance_is_in_tolerance_units_and_nrmse_is_paysims():
    s = Statistic(name="hourly_count.CASH_IN", value=[0, 10, None, 20], tolerance=0.05, relative="range")
    perfect = compare(s, np.array([0, 10, 999, 20]))  # the null hour is not compared
    assert perfect["distance"] == 0 and perfect["compared"] == 3 and perfect["met"]
    off = compare(s, np.array([1, 11, np.nan, 21]))  # RMSE 1 on a range of 20: NRMSE 0.05, one tolerance
    assert off["nrmse"] == pytest.approx(0.05) and off["distance"] == pytest.approx(1.0) and off["met"]
    number = Statistic(name="volume", value=100, tolerance=0.02, relative="value")
    assert compare(number, 103)["distance"] == pytest.approx(1.5) and not compare(number, 103)["met"]
    missing = compare(number, np.nan)
    assert missing["distance"] >= 1e6 and not missing["met"]


def test_loss_is_the_weighted_sum_of_squared_distances_and_residuals_carry_it():
    class Targets(list):
        file = "t"

    targets = Targets(
        [
            Statistic(name="a", value=[0.0, 2.0, 4.0], tolerance=1.0),
            Statistic(name="b", value=10.0, tolerance=2.0, weight=3.0),
        ]
    )
    simulated = {"a": np.array([1.0, 2.0, 3.0]), "b": 11.0}
    loss, _ = evaluate(targets, simulated)
    expected = np.mean([1, 0, 1]) + 3 * 0.5**2
    assert loss == pytest.approx(expected)
    assert np.sum(residuals(targets, simulated) ** 2) == pytest.approx(expected)


# ---- moments -------------------------------------------------------------------------------------------


def test_payment_moments_match_the_written_transactions(tmp_path):
    scenario = load_scenario(ROOT / "scenarios" / "paysim_month.yaml", ["customers=20000"], seed=5)
    scenario = scenario.model_copy(update={"horizon": scenario.horizon.model_copy(update={"steps": 48})})
    run = run_scenario(scenario, tmp_path / "run", scale=0.5)
    model = SimModel(scenario, scale=0.5)
    while model.running:
        model.step()
    names = [
        "volume",
        "hourly_count.CASH_OUT",
        "hourly_mean_amount.PAYMENT",
        "hourly_std_amount.TRANSFER",
        "type_share.DEBIT",
        "mean_amount.CASH_IN",
    ]
    got = moments(model.world, 0.5, names)
    model.release()
    tx = pd.read_parquet(run / "transactions.parquet")
    hour = tx.step.to_numpy()
    assert got["volume"] == len(tx) / 0.5
    cash_out = np.bincount(hour[tx.type == "CASH_OUT"], minlength=48)
    np.testing.assert_array_equal(got["hourly_count.CASH_OUT"], cash_out / 0.5)
    pay = tx[tx.type == "PAYMENT"].groupby("step").amount.mean()
    np.testing.assert_allclose(got["hourly_mean_amount.PAYMENT"][pay.index], pay.to_numpy(), rtol=1e-9)
    transfer = tx[tx.type == "TRANSFER"].groupby("step").amount.std()
    np.testing.assert_allclose(
        got["hourly_std_amount.TRANSFER"][transfer.index], transfer.to_numpy(), rtol=1e-6
    )
    assert got["type_share.DEBIT"] == pytest.approx((tx.type == "DEBIT").mean())
    assert got["mean_amount.CASH_IN"] == pytest.approx(tx.amount[tx.type == "CASH_IN"].mean())


def test_amount_factor_scales_one_types_amounts_and_nothing_else(tmp_path):
    base = ["customers=3000"]
    runs = {}
    for factor in ("1.0", "2.0"):
        scenario = load_scenario(
            ROOT / "scenarios" / "paysim_month.yaml", [*base, f"cash_in_amount={factor}"], seed=3
        )
        scenario = scenario.model_copy(update={"horizon": scenario.horizon.model_copy(update={"steps": 30})})
        runs[factor] = pd.read_parquet(run_scenario(scenario, tmp_path / factor) / "transactions.parquet")
    # customers' own rows are drawn alike whatever the balances (a theft of nothing is not made, so the
    # runs' fraud rows may differ), and a purchase's amount never follows the balance
    one, two = (run[~run.is_fraud].reset_index(drop=True) for run in (runs["1.0"], runs["2.0"]))
    cash_in = one.type == "CASH_IN"
    assert cash_in.sum() > 100 and (two.type == one.type).all()
    np.testing.assert_allclose(two.amount[cash_in], 2 * one.amount[cash_in], atol=0.011)  # amounts in cents
    payments = one.type == "PAYMENT"
    np.testing.assert_array_equal(two.amount[payments], one.amount[payments])


# ---- the back-ends' contract ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "backend,sampler", [("optuna", "tpe"), ("optuna", "cmaes"), ("abc", "tpe")], ids=["tpe", "cmaes", "abc"]
)
def test_backend_contract(backend, sampler):
    """Every back-end: spends at most its budget, stays inside the space, is repeatable from its seed, reports
    the best candidate it scored, and finds a one-parameter answer the targets pin down."""
    space = {"theta": (0.0, 1.0)}
    fixed = [*S_PRIMES, "alpha_s=0.4", "beta=0.2"]

    def fit(seed):
        return Calibrator(
            space, backend=backend, sampler=sampler, budget=80, random_state=seed, overrides=fixed
        ).fit(BEER, BEER_TARGETS)

    cal = fit(3)
    history = cal.history_
    assert 1 <= len(history) <= 80
    assert history.theta.between(0, 1).all()
    assert cal.best_loss_ == history.loss.min()
    assert cal.best_params_["theta"] == history.theta[history.loss.idxmin()]
    assert abs(cal.best_params_["theta"] - TRUTH["theta"]) <= 0.1 * TRUTH["theta"]
    assert cal.best_loss_ < cal.start_loss_  # the scenario's own theta (0.36) fits worse
    again = fit(3)
    pd.testing.assert_frame_equal(history.drop(columns="seconds"), again.history_.drop(columns="seconds"))
    if cal.posterior_ is not None:
        assert cal.posterior_["weight"].sum() == pytest.approx(1.0)
        assert cal.posterior_.theta.between(0, 1).all()
        interval = cal.intervals_["theta"]
        assert 0 <= interval["low"] <= interval["mean"] <= interval["high"] <= 1
    assert (cal.posterior_ is not None) == (backend == "abc")


def test_every_candidate_runs_on_the_same_replicate_seeds_and_their_statistics_are_averaged():
    """Common random numbers: two candidates differ only by their parameters, not by their luck."""
    targets = load_targets(PAYSIM_TARGETS)
    cal = Calibrator(
        {"debit_amount": (0.5, 2.0)}, budget=2, scale=0.002, replicates=2, random_state=1, polish_share=0.0
    )
    cal.fit(ROOT / "scenarios" / "paysim_month.yaml", targets)
    sim = cal.simulator_
    a = sim({"debit_amount": 1.0}).simulated
    b = sim({"debit_amount": 1.5}).simulated
    assert len(sim.seeds) == 2
    np.testing.assert_array_equal(a["hourly_count.DEBIT"], b["hourly_count.DEBIT"])  # same draws
    assert b["mean_amount.DEBIT"] == pytest.approx(1.5 * a["mean_amount.DEBIT"], rel=1e-6)  # cents
    each = [sim.statistics({"debit_amount": 1.0}, seed)["volume"] for seed in sim.seeds]
    assert each[0] != each[1] and a["volume"] == pytest.approx(np.mean(each))


def test_the_fit_reports_one_runs_spread_and_flags_a_tolerance_a_single_run_would_often_miss(tmp_path):
    """The replicates' mean can meet a target that one run, which is what a user gets, often misses."""
    volumes = []
    for tolerance in ("1", "1e12"):  # far inside, then far outside, one run's spread
        targets = write(
            tmp_path,
            f"""targets_version: 1
name: spread
provenance: a test
statistics:
  - {{name: volume, value: 2000000, tolerance: {tolerance}}}
""",
        )
        cal = Calibrator({"debit_amount": (0.5, 2.0)}, budget=1, scale=0.002, replicates=3, random_state=1,
                         polish_share=0.0).fit(ROOT / "scenarios" / "paysim_month.yaml", targets)  # fmt: skip
        each = [cal.simulator_.statistics(cal.best_params_, seed)["volume"] for seed in cal.simulator_.seeds]
        assert cal.fit_[0]["run_sd"] == pytest.approx(np.std(each, ddof=1), rel=1e-9)
        volumes.append(cal.noisy_)
    tight, loose = volumes
    assert (
        tight["volume"]["outside_share"] > 0.99
        and "calibrate at a larger --scale" in tight["volume"]["advice"]
    )
    assert loose == {}
    page = (write_calibration(cal, tmp_path / "cal") / "report.html").read_text()  # the loose fit's
    assert "one run&#39;s sd" in page or "one run's sd" in page
    data = json.loads((tmp_path / "cal" / "calibration.json").read_text())
    assert data["fit"][0]["run_sd"] == pytest.approx(np.std(each, ddof=1), rel=1e-9) and data["noisy"] == {}


def test_the_share_of_single_runs_outside_a_tolerance_is_the_normal_tail():
    from sim.calibration.calibrator import noisy

    targets = load_targets(ROOT / "calibration" / "targets" / "fraud_ring_difficulty.yaml")  # tolerance 0.05
    row = {"name": "detector.pr_auc.is_fraud", "real": 0.6, "simulated": 0.6, "run_sd": 0.05}
    assert noisy([row], targets)["detector.pr_auc.is_fraud"]["outside_share"] == pytest.approx(
        0.3173, abs=1e-4
    )
    off = noisy([{**row, "simulated": 0.65}], targets)["detector.pr_auc.is_fraud"]["outside_share"]
    assert off == pytest.approx(1 - 0.5 * 0.9545, abs=1e-4)  # a mean on the edge: half beyond it
    assert noisy([{**row, "run_sd": 0.02}], targets) == {}  # 2.5 sd inside: 1.2 % outside


# ---- resume --------------------------------------------------------------------------------------------


def test_an_interrupted_calibration_resumes_from_its_journal_to_the_same_result(tmp_path):
    space = {"theta": (0.0, 1.0), "alpha_s": (0.0, 1.0)}
    kwargs = {"budget": 40, "random_state": 5, "overrides": [*S_PRIMES, "beta=0.2"], "polish_share": 0.25}
    whole = Calibrator(space, **kwargs).fit(BEER, BEER_TARGETS)

    journal = tmp_path / "cal.jsonl"

    def stop_at_15(done, total, best):
        if done == 15:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Calibrator(space, journal=journal, progress=stop_at_15, **kwargs).fit(BEER, BEER_TARGETS)
    assert len(journal.read_text().splitlines()) == 1 + 15  # identity line, then one per scored candidate
    resumed = Calibrator(space, journal=journal, **kwargs).fit(BEER, BEER_TARGETS)
    assert resumed.resumed_ == 15
    pd.testing.assert_frame_equal(
        whole.history_.drop(columns="seconds"), resumed.history_.drop(columns="seconds")
    )
    assert resumed.best_params_ == whole.best_params_


# ---- identifiability -----------------------------------------------------------------------------------


def test_check_recovery_recovers_what_the_targets_pin_and_flags_what_they_cannot(tmp_path):
    text = BEER.read_text().replace("parameters:\n", "parameters:\n  unused: 1.0   # feeds nothing\n")
    scenario = write(tmp_path, text, "beer.yaml")
    cal = Calibrator(
        {"alpha_s": (0.0, 1.0), "unused": (0.0, 2.0)},
        budget=120,
        random_state=2,
        sampler="cmaes",
        overrides=[*S_PRIMES, "theta=0.55", "beta=0.2"],
        polish_share=0.0,
    )
    report = check_recovery(cal, scenario, BEER_TARGETS, {"alpha_s": 0.3, "unused": 1.0})
    alpha = report["parameters"]["alpha_s"]
    assert alpha["recovered"] and alpha["identified"] and alpha["relative_error"] <= 0.1
    unused = report["parameters"]["unused"]
    assert not unused["identified"] and unused["reason"].startswith("flat")


def test_check_recovery_draws_its_truth_away_from_the_start_and_flags_a_search_that_stopped_short():
    """The default truth was the scenario's own values, which the search tries first: the check could not
    fail. Now it is drawn away from them; two evaluations cannot find it, and a move of 10 % that lowers
    the loss is reported as 'not converged', not as the targets' fault."""
    cal = Calibrator(
        {"alpha_s": (0.0, 1.0), "theta": (0.0, 1.0)},
        budget=2,
        random_state=2,
        sampler="cmaes",
        overrides=[*S_PRIMES, "beta=0.2"],
        polish_share=0.0,
    )
    report = check_recovery(cal, BEER, BEER_TARGETS)
    for name, start in (("alpha_s", 0.26), ("theta", 0.36)):
        r = report["parameters"][name]
        assert r["start"] == start and not r["truth_given"]
        assert abs(r["truth"] - start) >= AWAY and AWAY <= r["truth"] <= 1 - AWAY
        assert not r["converged"] and not r["identified"] and r["reason"].startswith("not converged")
    assert not report["all_recovered"]


@settings(max_examples=200, deadline=None)
@given(
    low=st.floats(-1e3, 1e3),
    width=st.floats(1e-3, 1e3),
    start=st.floats(0, 1),
    seed=st.integers(0, 2**63 - 1),
)
def test_a_drawn_truth_keeps_away_from_the_bounds_and_the_start(low, width, start, seed):
    space = [Parameter("a", low, low + width), Parameter("b", low, low + width)]
    begin = {"a": low + start * width, "b": low}
    truth = draw_truth(space, begin, seed, {"b": low + width / 2})
    assert truth["b"] == low + width / 2  # a given value is kept
    margin = AWAY * width * (1 - 1e-9)
    assert low + margin <= truth["a"] <= low + width - margin
    assert abs(truth["a"] - begin["a"]) >= margin
    assert truth == draw_truth(space, begin, seed, {"b": low + width / 2})  # seeded


# ---- the calibrated scenario and the command line --------------------------------------------------------


def test_calibrated_text_sets_the_values_and_keeps_the_comments():
    text = calibrated_text(BEER, {"theta": 0.5, "s_prime_factory": 21})
    assert "  theta: 0.5\n" in text and "  s_prime_factory: 21\n" in text
    assert text.count("#") == BEER.read_text().count("#")


@pytest.mark.parametrize(
    "written, expected",
    [
        ("parameters: {theta: 0.36, beta: 0.34}  # flow\n", "parameters: {theta: 0.5, beta: 0.34}  # flow\n"),
        ("parameters: {theta: 0.36,\n  beta: '0.34'}\n", "parameters: {theta: 0.5,\n  beta: '0.34'}\n"),
        ("parameters:\n  theta: &t !!float 0.36\nx: *t\n", "parameters:\n  theta: &t 0.5\nx: *t\n"),
        ("base: &t 0.36\nparameters:\n  theta: *t\n", "base: &t 0.36\nparameters:\n  theta: 0.5\n"),
    ],
)
def test_calibrated_text_replaces_the_value_in_any_yaml_style(tmp_path, written, expected):
    assert calibrated_text(write(tmp_path, written, "s.yaml"), {"theta": 0.5}) == expected


def test_a_scenario_with_flow_style_parameters_calibrates_to_a_file_that_loads(tmp_path):
    text = BEER.read_text()
    block = text[text.index("parameters:\n") : text.index("\n\n", text.index("parameters:\n"))]
    flow = "parameters: {theta: 0.36, alpha_s: 0.26, beta: 0.34, s_prime_retailer: 17,\n"
    flow += "  s_prime_wholesaler: 17, s_prime_distributor: 17, s_prime_factory: 17}  # flow style"
    scenario = write(tmp_path, text.replace(block, flow), "beer_flow.yaml")
    out = tmp_path / "cal"
    assert main(["calibrate", str(scenario), "--targets", str(BEER_TARGETS), "--params", "theta=0:1",
                 "--budget", "4", "--out", str(out), "--quiet"]) == 0  # fmt: skip
    best = json.loads((out / "calibration.json").read_text())["best_params"]["theta"]
    calibrated = (out / "beer_flow.calibrated.yaml").read_text()
    assert load_scenario(out / "beer_flow.calibrated.yaml").parameters["theta"] == pytest.approx(best)
    assert f"parameters: {{theta: {best!r}, alpha_s: 0.26" in calibrated and "# flow style" in calibrated


def test_a_best_value_on_its_bound_is_reported_with_the_advice_to_widen_the_range(tmp_path, capsys):
    """The targets were simulated at alpha_s = 0.4: searched in [0.8, 1] the best sits on 0.8."""
    sets = [a for s in [*S_PRIMES, "theta=0.55", "beta=0.2"] for a in ("--set", s)]
    out = tmp_path / "cal"
    assert calibrate("alpha_s=0.8:1", out, "--budget", "16", "--seed", "1", "--quiet", *sets) == 0
    captured = capsys.readouterr()
    data = json.loads((out / "calibration.json").read_text())
    assert data["best_params"]["alpha_s"] <= 0.802
    assert data["at_bounds"]["alpha_s"]["bound"] == "lower"
    assert "alpha_s = 0.8 is on its lower bound 0.8: widen the range below it" in captured.err
    assert "ON ITS LOWER BOUND" in captured.out
    assert "widen the range below it" in (out / "report.html").read_text()


def test_at_bounds_flags_values_within_one_percent_of_the_range():
    from sim.calibration.calibrator import at_bounds

    space = [Parameter("a", 0, 10), Parameter("b", -1, 1), Parameter("c", 5, 6)]
    found = at_bounds({"a": 9.95, "b": -0.99, "c": 5.5}, space)
    assert {k: v["bound"] for k, v in found.items()} == {"a": "upper", "b": "lower"}
    assert at_bounds({"a": 9.8, "b": -0.97, "c": 5.02}, space) == {}


def calibrate(params: str, out, *options: str, targets=BEER_TARGETS) -> int:
    return main(
        ["calibrate", str(BEER), "--targets", str(targets), "--params", params, "--out", str(out), *options]
    )


def test_cli_calibrate_writes_the_scenario_the_json_and_the_figures(tmp_path, capsys):
    out = tmp_path / "cal"
    sets = [a for s in [*S_PRIMES, "alpha_s=0.4"] for a in ("--set", s)]
    code = calibrate("theta=0:1,beta=0:1", out, "--budget", "60", "--seed", "4", "--quiet", *sets)
    assert code == 0
    data = json.loads((out / "calibration.json").read_text())
    assert data["evaluations"] == 60 and data["best_loss"] <= data["start_loss"]
    assert set(data["best_params"]) == {"theta", "beta"} and len(data["loss_history"]) == 60
    assert {r["name"] for r in data["fit"]} == {s.name for s in load_targets(BEER_TARGETS)}
    calibrated = load_scenario(out / "beer_game.calibrated.yaml")
    assert calibrated.parameters["theta"] == pytest.approx(data["best_params"]["theta"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert {"calibrated_scenario", "calibration", "history", "figure_loss", "figure_fit", "report"} <= set(
        manifest["files"]
    )
    assert not list(tmp_path.glob(".*calibration.jsonl"))  # the journal goes once the result is published
    assert str(out) in capsys.readouterr().out


def test_two_identical_calibrations_write_the_same_bytes_but_their_timing(tmp_path):
    sets = [a for s in [*S_PRIMES, "alpha_s=0.4"] for a in ("--set", s)]
    for out in ("a", "b"):
        assert calibrate("theta=0:1", tmp_path / out, "--budget", "6", "--seed", "4", "--quiet", *sets) == 0
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert {"manifest.json", "calibration.json", "history.csv", "report.html", "timing.json"} <= {
        str(f) for f in files
    }
    differ = [str(f) for f in files if (tmp_path / "a" / f).read_bytes() != (tmp_path / "b" / f).read_bytes()]
    assert differ == ["timing.json"]
    timing = json.loads((tmp_path / "a" / "timing.json").read_text())
    assert len(timing["evaluation_seconds"]) == 6 and timing["wall_seconds"] > 0
    assert json.loads((tmp_path / "a" / "manifest.json").read_text())["timing"] == "timing.json"


def test_cli_calibrate_reports_bad_options_and_targets_without_a_traceback(tmp_path, capsys):
    code = calibrate("theta=1:0,nope=0:1,beta", tmp_path / "x")
    err = capsys.readouterr().err
    assert code == 2
    assert "<--params>:1: theta: need finite LO < HI" in err
    assert "<--params>:2: nope: not a parameter of the scenario" in err
    assert "<--params>:3: beta: expected NAME=LO:HI" in err
    bad = write(
        tmp_path,
        "targets_version: 1\nname: t\nprovenance: p\nstatistics:\n  - {name: orders.shop, value: [1, 2]}\n"
        "  - {name: kpi.no_such, value: 3}\n  - {name: orders.depot, value: [1, 2]}\n",
    )
    code = calibrate("theta=0:1", tmp_path / "y", "--budget", "2", targets=bad)
    err = capsys.readouterr().err
    assert code == 2 and f"{bad}:5: orders.shop: this scenario has no such statistic" in err
    assert f"{bad}:7: orders.depot: this scenario has no such statistic" in err  # every one, at once
    assert "orders.retailer" in err
    assert not (tmp_path / "y").exists()

"""A file that validates runs: every number that reaches a date, an integer array, a kernel or an
allocation is bounded in the schema, with the reason in the error; what overflows anyway at run time is
a located error, never a number (issue 20). Each case here validated and then crashed, hung or wrote
inf before."""

import json

import pytest

from sim.errors import ScenarioError, SimError
from sim.runner import non_finite, run_scenario
from sim.scenario import load_scenario
from tests.conftest import ROOT

BEER = (ROOT / "scenarios" / "beer_game.yaml").read_text()
AML = (ROOT / "scenarios" / "aml_typologies.yaml").read_text()
PORT = (ROOT / "scenarios" / "port_congestion.yaml").read_text()
RING = (ROOT / "scenarios" / "fraud_ring_attack.yaml").read_text()


def problems_of(path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return [str(p) for p in info.value.problems]


def mutate(text: str, *pairs: tuple[str, str]) -> str:
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("fixed_orders: 4", f"fixed_orders: {2**80}", "chain.fixed_orders: Input should be less than or "
         "equal to 10000000, the most steps a horizon has"),
        ("initial_flow: 4", "initial_flow: 1e308", "chain.initial_flow: Input should be less than or equal "
         "to 1000000000000000, the ceiling on amounts and quantities"),
        ("s_prime_factory: 17", "s_prime_factory: 1e308", "chain.nodes.3.policy.s_prime: Input should be "
         "less than or equal to 1000000000000000"),
        ("at: 4}", "at: 4, noise: {dist: lognormal, mean: 1, std: 1e300}}", "chain.demand.noise.std: Input "
         "should be less than or equal to 1000000000000000"),
        ("at: 4}", "at: 4, noise: {dist: lognormal, mean: 1, std: 5000}}", "chain.demand.noise: "
         "std may be at most 1,000 times the mean"),
        ("at: 4}", "at: 4, noise: {dist: gamma, mean: 1, shape: 1e-9}}", "chain.demand.noise.shape: Input "
         "should be greater than or equal to 0.001"),
        ("at: 4}", "at: 4, noise: {dist: uniform, low: -1e308, high: 1e308}}", "chain.demand.noise.low: "
         "Input should be greater than or equal to -1000000000000000"),
        ("at: 4}", "at: 4, trend: 1}", "chain.demand.trend: a trend of 1 a step over 2,000 steps takes "
         "demand past 1e+15 units a step, the quantity ceiling"),
    ],
)  # fmt: skip
def test_numbers_a_run_cannot_hold_are_located_errors_that_say_why(write, old, new, expected):
    text = mutate(BEER, ("steps: 36", "steps: 2000"), (old, new))
    path = write(text)
    found = problems_of(path)
    assert any(expected in p for p in found), found
    assert all(p.startswith(f"{path}:") and ":0:" not in p for p in found)


def test_a_trend_that_stays_under_the_ceiling_runs(write, tmp_path):
    path = write(mutate(BEER, ("steps: 36", "steps: 40"), ("at: 4}", "at: 4, trend: 0.5}")))
    run_scenario(load_scenario(path), tmp_path / "run")
    assert not non_finite(json.loads((tmp_path / "run" / "kpis.json").read_text()))


def test_aml_patterns_too_big_for_memory_are_refused_before_anything_is_built(write, tmp_path):
    """A bipartite pattern of 100,000 members moves 2.5 billion times: building it raised MemoryError."""
    text = mutate(AML, ("size: [4, 10]", "size: [100000, 100000]"))
    path = write(text)
    (problem,) = problems_of(path)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "size: [100000" in t)
    assert problem.startswith(f"{path}:{line}: populations.bipartite.size: up to 25,006,000,000 rows")
    assert "more than the 20,000,000 memory holds" in problem
    # --scale, which validation does not see, multiplies the patterns: checked before the world allocates
    scenario = load_scenario(write(mutate(AML, ("size: [4, 10]", "size: [1000, 1000]")), "ok.yaml"))
    with pytest.raises(SimError, match="laundering patterns could hold up to"):
        run_scenario(scenario, tmp_path / "run", scale=100)
    assert not (tmp_path / "run").exists()


def test_fraud_too_big_for_memory_is_refused_before_anything_is_built(write, tmp_path):
    """Two overlapping waves at the largest intensity (1e6 each) asked for 10^11 takeovers an hour, and
    rate mutants for tens of millions: the fuzz's run grew past the machine's memory (CI killed it)."""
    text = mutate(RING, ("wave_intensity: 20", "wave_intensity: 1000000"))
    path = write(text)
    found = problems_of(path)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "attacks_per_day: 0.2" in t)
    assert any(
        p.startswith(
            f"{path}:{line}: populations.ring.attacks_per_day: up to 7,000,000,000,000 rows "
            "held; fraud incidents and laundering patterns could hold"
        )
        for p in found
    ), found
    assert any("horizon.step: the busiest step would draw about" in p for p in found), found
    # at scale 1 it fits; --scale multiplies the fraudsters: checked before the world allocates
    scenario = load_scenario(write(mutate(RING, ("attacks_per_day: 0.2", "attacks_per_day: 200")), "ok.yaml"))
    with pytest.raises(SimError, match=r"at scale 100: .* fewer attacks"):
        run_scenario(scenario, tmp_path / "run", scale=100)
    assert not (tmp_path / "run").exists()


def test_a_drawn_lane_delay_is_capped_as_a_written_one(write, tmp_path):
    """Draws of a delay with a mean of 1e15 steps were pipeline lengths: an allocation of petabytes."""
    text = mutate(
        PORT,
        ("delay: {dist: gamma, mean: 2, shape: 2}", "delay: {dist: lognormal, mean: 1e15, std: 1e15}"),
        ("start: 270", "start: 30"),
        ("steps: 365", "steps: 60"),
    )
    run_scenario(load_scenario(write(text)), tmp_path / "run")
    kpis = json.loads((tmp_path / "run" / "kpis.json").read_text())
    assert not non_finite(kpis)


def test_figures_that_overflow_at_run_time_are_an_error_naming_them_not_a_number(write, tmp_path):
    """Quantities 1e300 times the board's: variances overflow. The run used to exit 0 with inf in
    kpis.json; now it names the figures and leaves no run directory."""
    out = tmp_path / "run"
    with pytest.raises(SimError, match=r"overflowed \(infinite or not a number\): nodes\.retailer\.bullwhip"):
        run_scenario(load_scenario(write(BEER)), out, scale=1e300)
    assert not out.exists()


def test_non_finite_names_every_bad_number_by_its_path():
    value = {"a": 1.0, "b": [2.0, float("inf")], "c": {"d": float("nan"), "e": "text", "f": None}}
    assert non_finite(value) == ["b[1]", "c.d"]


def test_scale_past_the_ceiling_is_refused_by_the_cli(capsys):
    from sim.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["run", str(ROOT / "scenarios" / "beer_game.yaml"), "--scale", "1e7"])
    assert exit_.value.code == 2
    assert "--scale: at most 1e+06" in capsys.readouterr().err

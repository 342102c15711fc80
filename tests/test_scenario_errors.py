"""Every kind of bad input ends in one ScenarioError listing each problem as FILE:LINE: field: message."""

import re

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.errors import ScenarioError
from sim.scenario import load_scenario
from tests.conftest import ROOT, paths_into, small_scenario


def problems_of(path, overrides=()):
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    return [str(p) for p in info.value.problems]


def replace_line(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


def line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_valid_small_scenario_loads(small):
    scenario = load_scenario(small)
    assert scenario.populations["customers"].count == 300
    assert scenario.seed == 11


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    assert problems_of(path) == [f"{path}: file not found"]  # no line, no field: none to give


def test_malformed_yaml_names_line(write):
    path = write("schema_version: 1\nname: [unclosed\nseed: 3\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:3: invalid YAML")


def test_wrong_type_names_file_line_and_field(write):
    text = replace_line(small_scenario(), "steps: 24", "steps: many")
    path = write(text)
    (problem,) = problems_of(path)
    assert problem == (
        f"{path}:{line_of(text, 'steps: many')}: horizon.steps: Input should be a valid integer (got 'many')"
    )


def test_unknown_key(write):
    text = replace_line(small_scenario(), "    count: 20", "    count: 20\n    colour: red")
    path = write(text)
    assert problems_of(path) == [
        f"{path}:{line_of(text, 'colour')}: populations.merchants.colour: unknown field"
    ]


def test_missing_required_field(write):
    text = small_scenario().replace("domain: payments\n", "")
    path = write(text)
    assert problems_of(path) == [
        f"{path}:1: domain: required field is missing: it must be 'payments' or 'supply' "
        "(populations, events not checked until it is)"
    ]


def test_bad_references(write):
    text = replace_line(small_scenario(), "    mules: mules", "    mules: ghosts")
    text = replace_line(text, "population: crooks", "population: customers")
    path = write(text)
    assert problems_of(path) == [
        f"{path}:{line_of(text, 'mules: ghosts')}: populations.crooks.mules: "
        "no population named 'ghosts' (populations: crooks, customers, merchants, mules)",
        f"{path}:{line_of(text, 'population: customers')}: events.0.population: "
        "population 'customers' has role 'customer', expected 'fraudster'",
    ]


def test_unknown_parameter_reference(write):
    text = replace_line(small_scenario(), "intensity: 20", "intensity: ${boost}")
    path = write(text)
    assert problems_of(path) == [
        f"{path}:{line_of(text, 'boost')}: events.0.intensity: "
        "unknown parameter ${boost} (known: attacks, customers)"
    ]


def test_set_errors_are_all_reported(small):
    problems = problems_of(small, ["nope=1", "customers", "customers=lots"])
    assert problems == [
        f"{small}:{line_of(small.read_text(), 'count: ${customers}')}: populations.customers.count: "
        "Input should be a valid integer (got 'lots') (value from parameter customers)",
        "<--set>:1: parameters.nope: unknown parameter (known: attacks, customers)",
        "<--set>:2: expected NAME=VALUE, got 'customers'",
    ]


def test_event_outside_horizon(write):
    text = replace_line(small_scenario(), "start: 10", "start: 2027-01-01T00:00:00")
    path = write(text)
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:{line_of(text, 'start: 2027')}: events.0.start: falls at step")


def test_many_problems_reported_at_once(write):
    text = replace_line(small_scenario(), "steps: 24", "steps: -1")
    text = replace_line(text, "step: 1h", "step: fortnight")
    text = replace_line(text, "    count: 20", "    count: 0")
    text = replace_line(text, "cash_out_share: 0.9", "cash_out_share: 2")
    problems = problems_of(write(text))
    fields = [p.split(": ")[1] for p in problems]
    assert fields == [
        "horizon.steps",
        "horizon.step",
        "populations.merchants.count",
        "populations.mules.cash_out_share",
    ]


def test_a_misspelt_tag_does_not_hide_the_objects_other_problems(write):
    """A wrong `role`, `dist`, `typology` or `kind` is reported with the tag it was likely meant to be,
    and the object is still checked (as that tag's model) for everything else wrong with it."""
    text = (ROOT / "scenarios" / "hurricane.yaml").read_text()
    text = replace_line(text, "  - kind: demand_shock", "  - kind: demand_shok\n    bogus_field: 1")
    text = replace_line(
        text, "policy: {kind: order_up_to, cover: 10,", "policy: {kind: order_upto, cover: -10,"
    )
    supply = problems_of(write(text))
    assert any("events.0: " in p and "did you mean 'demand_shock'?" in p for p in supply)
    assert any("events.0.bogus_field: unknown field" in p for p in supply)
    assert any(".policy.kind: must be one of" in p and "did you mean 'order_up_to'?" in p for p in supply)
    assert any(".policy.cover: Input should be greater than 0" in p for p in supply)
    text = small_scenario()
    text = replace_line(text, "    role: merchant", "    role: merchnt\n    colour: red")
    text = replace_line(text, "    count: 20", "    count: 0")
    text = replace_line(text, "    role: fraudster", "    role: fraudster\n    typology: acount_takeover")
    problems = problems_of(write(text))
    fields = [p.split(": ")[1] for p in problems]
    for field in ("populations.merchants", "populations.merchants.colour", "populations.merchants.count",
                  "populations.crooks.typology"):  # fmt: skip
        assert field in fields, (field, problems)
    assert any("did you mean 'merchant'?" in p for p in problems)
    assert any("did you mean 'account_takeover'?" in p for p in problems)


def test_safe_loading_refuses_object_tags(write):
    path = write("schema_version: !!python/object/apply:os.system ['echo hacked']\n")
    (problem,) = problems_of(path)
    assert "unsupported YAML tag" in problem and ":1: schema_version:" in problem


def test_alias_bomb_is_refused_quickly(write):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i, name in enumerate("bcdefghij"):
        prev = "abcdefghij"[i]
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    (problem,) = problems_of(write("\n".join(lines) + "\n"))
    assert "alias bomb" in problem


@pytest.mark.parametrize(
    "text, line",
    [
        ("a: " + "[" * 5000 + "]" * 5000 + "\n", 1),
        ("a: " + "{" * 5000 + "}" * 5000 + "\n", 1),
        ("a:\n  " + "- " * 5000 + "x\n", 2),
        ("".join(" " * i + f"k{i}:\n" for i in range(100)), 65),
    ],
    ids=["flow-lists", "flow-maps", "block-lists", "indentation"],
)
def test_deep_nesting_is_refused_where_it_starts(write, text, line):
    """A nest past 64 levels is refused as it is read, with the line it crosses the limit on: PyYAML
    left to itself takes seconds over thousands of levels and then overflows the stack."""
    (problem,) = problems_of(write(text))
    assert f".yaml:{line}: " in problem and "nests deeper than 64 levels" in problem


def test_an_alias_repeating_a_long_text_is_refused_by_its_expanded_size(write):
    """200,000 nodes is no bound when each is a 100,000-character text: the expanded size is."""
    text = "a: &a " + "x" * 100_000 + "\nb: [" + ", ".join(["*a"] * 5000) + "]\n"
    (problem,) = problems_of(write(text))
    assert problem.endswith("document expands to more than 10,000,000 characters (an alias repeated?)")


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_only_a_regular_file_is_read(tmp_path, kind):
    """A FIFO would block the read and /dev/zero never end: both are refused from their type, unread."""
    import os

    path = {"fifo": tmp_path / "pipe.yaml", "device": "/dev/zero", "directory": tmp_path}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}: ")
    assert ("is a directory" if kind == "directory" else "is not a regular file") in problem


def test_a_horizon_that_ends_past_the_last_date_or_steps_under_a_second_are_located(write):
    """Timestamps stop at 9999-12-31 and count whole microseconds: a horizon past that, or a step that
    rounds to nothing, is a located error in `sim validate`, not an overflow or a division by 0 later."""
    text = small_scenario()
    far = write(small_scenario(steps=2000).replace("step: 1h", "step: 3650d"))
    assert any(
        "horizon: 2000 steps of 3650d from 2026-01-05 end after 9999-12-31" in p for p in problems_of(far)
    )
    tiny = write(text.replace("step: 1h", "step: 0.0000001s"), "tiny.yaml")
    (problem,) = problems_of(tiny)
    assert "horizon.step: duration is shorter than one second" in problem


def test_a_step_too_big_for_memory_is_refused_before_anything_is_allocated(write, tmp_path):
    """300 customers paying 3 times a day (23 million rows) and their fraudsters' incidents (8 million)
    over 70-year steps: a located error in validation; and --scale, which validation does not see, is
    checked before the world allocates anything, leaving no run directory behind."""
    from sim.errors import InputError
    from sim.runner import run_scenario

    found = problems_of(write(small_scenario(steps=2).replace("step: 1h", "step: 25550d")))
    assert any("horizon.step: the busiest step would draw about 31,341,333 transactions" in p for p in found)
    out = tmp_path / "run"
    with pytest.raises(
        InputError, match=r"small at scale 1e\+06: the busiest step would draw about 153,333,333"
    ):
        run_scenario(load_scenario(write(small_scenario(), "ok.yaml")), out, scale=1e6)
    assert not out.exists()


def test_validate_checks_the_files_own_seed(write, capsys):
    """`sim validate` used to stand its own seed in for the file's, so `seed: notanint` said ok and
    `sim run` then refused it: now both refuse it, and `--seed` out of range is reported as such."""
    from sim.cli import main

    path = write(small_scenario().replace("seed: 11", "seed: notanint"))
    assert main(["validate", str(path)]) == 2
    assert "seed: Input should be a valid integer (got 'notanint')" in capsys.readouterr().err
    with pytest.raises(ScenarioError, match="seed: Input should be a valid integer"):
        load_scenario(path, seed=5)
    with pytest.raises(ScenarioError, match=r"<--seed>: seed: must be a whole number in \[0, 2\*\*63\)"):
        load_scenario(write(small_scenario(), "good.yaml"), seed=-1)


def test_without_a_domain_the_other_problems_are_still_reported(write):
    """A missing domain names what it leaves unchecked, and a field no domain has is still unknown."""
    text = "\n".join(line for line in small_scenario().splitlines() if not line.startswith("domain:"))
    found = problems_of(write(text + "\nbogus_key: 1\n"))
    assert len(found) == 2
    assert "domain: required field is missing: it must be 'payments' or 'supply' (populations" in found[0]
    assert "not checked until it is)" in found[0]
    assert "bogus_key: unknown field" in found[1]


def test_binary_garbage(write):
    (problem,) = problems_of(write(b"\x00\xff\xfe garbage \x89PNG"))
    assert "not UTF-8" in problem or "invalid YAML" in problem


def test_duplicate_keys(write):
    text = small_scenario().replace("name: small\n", "name: small\nname: again\n")
    (problem,) = problems_of(write(text))
    assert problem.endswith(": name: duplicate key")


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n"])
def test_root_must_be_a_mapping(write, text):
    (problem,) = problems_of(write(text))
    assert re.search(r":1: [^:]+$", problem)  # the file's first line, no field


def test_seed_is_drawn_and_recorded_when_absent(write):
    path = write(small_scenario().replace("seed: 11\n", ""))
    first, second = load_scenario(path), load_scenario(path)
    assert isinstance(first.seed, int) and first.seed != second.seed


_VALID = yaml.safe_load(small_scenario())
_leaves = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


# fuzz bases: the small payments world, a card world with typologies, a supply chain with disruptions,
# a network with lanes, a facility and two products, and one with periodic demand streams
_BASES = [
    _VALID,
    yaml.safe_load((ROOT / "scenarios" / "card_payments.yaml").read_text()),
    yaml.safe_load((ROOT / "scenarios" / "supply_disruptions.yaml").read_text()),
    yaml.safe_load((ROOT / "scenarios" / "port_congestion.yaml").read_text()),
    yaml.safe_load((ROOT / "scenarios" / "validation" / "anylogistix_model_6.yaml").read_text()),
]
_ALL_PATHS = [(i, p) for i, base in enumerate(_BASES) for p in paths_into(base)]


def _mutate(data, path, value):
    import copy

    data = copy.deepcopy(data)
    node = data
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(_ALL_PATHS), value=_leaves)
def test_fuzzed_scenarios_fail_cleanly(write, where, value):
    """Any field replaced by arbitrary data: a Scenario or a located ScenarioError, nothing else."""
    base, path = where
    text = yaml.safe_dump(_mutate(_BASES[base], path, value), allow_unicode=True)
    file = write(text, "fuzz.yaml")
    try:
        load_scenario(file)
    except ScenarioError as exc:
        for problem in exc.problems:
            assert problem.file == str(file) and problem.line >= 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(max_size=300) | st.text(max_size=300))
def test_garbage_files_fail_cleanly(write, blob):
    file = write(blob if isinstance(blob, bytes) else blob.encode(), "garbage.yaml")
    with pytest.raises(ScenarioError):
        load_scenario(file)


def test_payments_typology_errors_point_at_the_field(write):
    text = small_scenario().replace(
        "  crooks:\n", "  bad_ring: {role: fraudster, typology: skimming, count: 1}\n"
        "  dirty: {role: launderer, typology: cycle, patterns: 2, accounts: merchants, size: [5, 2]}\n"
        "  crooks:\n",
    )  # fmt: skip
    text = text.replace(
        "    overdraft_limit: 100\n", "    overdraft_limit: 100\n    rhythm: {month: paysim}\n", 1
    )
    text = text.replace("  step: 1h\n", "  step: 2h\n")
    path = write(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    report = str(info.value)
    assert "populations.bad_ring.typology: must be one of account_takeover" in report
    assert "populations.dirty.accounts: population 'merchants' has role 'merchant'" in report
    assert "populations.dirty.size: give [low, high] with low <= high" in report
    fixed = text.replace(", size: [5, 2]", "").replace("accounts: merchants", "accounts: customers")
    fixed = fixed.replace("  bad_ring: {role: fraudster, typology: skimming, count: 1}\n", "")
    with pytest.raises(ScenarioError, match=r"rhythm.month: the PaySim month is hourly"):
        load_scenario(write(fixed, "fixed.yaml"))


def _hostile_texts():
    """Hostile documents: anchor bombs of random fan-out, deep nesting, huge numbers, long strings,
    unknown keys, tags, and valid scenarios with a random field replaced."""

    def anchors(fan: int, depth: int) -> str:
        lines = [f"a0: &a0 [{', '.join(['x'] * fan)}]"]
        lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fan)}]" for i in range(1, depth)]
        return "\n".join(lines)

    bomb = st.builds(anchors, st.integers(2, 30), st.integers(2, 12))
    nesting = st.builds(lambda n, c: "a: " + c[0] * n + c[1] * n, st.integers(50, 5000),
                        st.sampled_from(["[]", "{}"]))  # fmt: skip
    numbers = st.sampled_from(["1e400", "-1e400", "9" * 5000, ".nan", ".inf", "0x" + "f" * 200, "1_000_000"])
    huge = st.builds(lambda n: small_scenario().replace("count: 20", f"count: {n}"), numbers)
    long_text = st.builds(lambda n: small_scenario().replace("name: small", "name: " + "x" * n),
                          st.integers(100, 50_000))  # fmt: skip
    unknown = st.builds(lambda k: small_scenario() + f"\n{k}: 1\n", st.text(min_size=1, max_size=20).filter(
        lambda k: k.isidentifier()))  # fmt: skip
    tags = st.sampled_from(["!!python/name:os.system", "!!binary abc", "!custom 3", "!!set {a, b}"]).map(
        lambda t: small_scenario().replace("seed: 11", f"seed: {t}"))  # fmt: skip
    mutated = st.builds(lambda where, value: yaml.safe_dump(_mutate(_BASES[where[0]], where[1], value)),
                        st.sampled_from(_ALL_PATHS), _leaves)  # fmt: skip
    garbage = st.binary(max_size=2000).map(lambda b: b.decode("latin-1"))
    return bomb | nesting | huge | long_text | unknown | tags | mutated | garbage


@pytest.mark.slow
@pytest.mark.timeout(1800)
@settings(max_examples=10_000, deadline=5000, suppress_health_check=list(HealthCheck), derandomize=True)
@given(text=_hostile_texts())
def test_ten_thousand_hostile_files_end_in_a_located_error(write, text):
    """Every file loads or raises a ScenarioError naming file, line and field: never another exception,
    never more than 5 s (hypothesis fails an example that exceeds its deadline)."""
    file = write(text.encode("utf-8", "surrogatepass"), "hostile.yaml")
    try:
        load_scenario(file)
    except ScenarioError as exc:
        for problem in exc.problems:
            assert problem.file == str(file) and problem.line >= 1


def test_customer_segments_are_checked(write):
    """Segments shape activity, spending and victimisation by an attribute: a negative effect and a
    segment attribute the census demographics already draw are both reported, each where it is."""
    bad = "    segments: {age: {'0': {share: 1, activity: -1}, '1': {share: 3}}}\n    demographics: census\n"
    text = small_scenario().replace("    role: customer\n", "    role: customer\n" + bad, 1)
    path = write(text)
    found = problems_of(path)
    assert any("segments.age.0.activity" in p and "greater than or equal to 0" in p for p in found)
    good = text.replace("activity: -1", "activity: 2")
    found = problems_of(write(good))
    assert len(found) == 1 and "segments by age: the census demographics draw those already" in found[0]


def test_an_objects_own_check_is_located_at_the_object_not_at_a_union_label(write):
    """A launderer whose exits all weigh 0 was reported at `populations.fan_in.launderer` (pydantic's
    label for the union member), and any problem in a single demand stream came with a second,
    spurious 'Input should be a valid list' from the list form of `demand`."""
    aml = (ROOT / "scenarios" / "aml_typologies.yaml").read_text()
    text = replace_line(aml, "exit: {cash_out: 0.5, purchases: 0.5}", "exit: {cash_out: 0, purchases: 0}")
    path = write(text)
    line = line_of(text, "  fan_in:")  # the object's own line
    assert problems_of(path) == [
        f"{path}:{line}: populations.fan_in: 'exit' needs at least one positive weight"
    ]
    beer = (ROOT / "scenarios" / "beer_game.yaml").read_text()
    text = replace_line(beer, "at: 4}", "at: 4, trend: 5}")
    path = write(text, "beer.yaml")
    line = line_of(text, "trend: 5")
    assert problems_of(path) == [
        f"{path}:{line}: chain.demand.trend: Input should be less than or equal to 1 (got 5)"
    ]
    text = replace_line(beer, "{kind: step, before: 4, after: 8, at: 4}", "[{trend: 5}, {kind: periodic}]")
    path = write(text, "two.yaml")
    line = line_of(text, "trend: 5")
    assert problems_of(path) == [
        f"{path}:{line}: chain.demand.0.trend: Input should be less than or equal to 1 (got 5)",
        f"{path}:{line}: chain.demand.1.quantity: required field is missing",
    ]


def test_a_misspelt_name_is_answered_with_the_nearest_one_it_could_be(write, tmp_path):
    text = small_scenario().replace("seed: 11", "seeed: 11").replace("    count: 20", "    cuont: 20")
    balance = "opening_balance: {dist: lognormal, mean: 5000, "
    text = text.replace(balance + "std: 8000}", balance + "sd: 8000}\n    wobble: 1")
    found = problems_of(write(text))
    assert any(p.endswith("seeed: unknown field; did you mean 'seed'?") for p in found)
    assert any(p.endswith("merchants.cuont: unknown field; did you mean 'count'?") for p in found)
    assert any(p.endswith("opening_balance.sd: unknown field; did you mean 'std'?") for p in found)
    assert any(p.endswith("customers.wobble: unknown field") for p in found)  # nothing near: no guess
    # without a domain the fields all domains share are still answered
    found = problems_of(write(text.replace("domain: payments\n", ""), "nodomain.yaml"))
    assert any(p.endswith("seeed: unknown field; did you mean 'seed'?") for p in found)
    found = problems_of(write(small_scenario()), ["custmers=3"])
    assert found[0].endswith("unknown parameter (known: attacks, customers); did you mean 'customers'?")
    found = problems_of(tmp_path / "scenari.yaml")  # `scenario.yaml` is beside it
    assert found == [f"{tmp_path / 'scenari.yaml'}: file not found; did you mean 'scenario.yaml'?"]

import numpy as np
import pytest

from sim.rng import Streams


def test_same_name_and_keys_give_same_numbers():
    a, b = Streams(5), Streams(5)
    assert np.array_equal(a.generator("x", 3).random(10), b.generator("x", 3).random(10))


def test_streams_do_not_depend_on_draw_order():
    s = Streams(5)
    first = s.generator("a").random(5)
    s.generator("b").random(1000)
    assert np.array_equal(first, Streams(5).generator("a").random(5))


@pytest.mark.parametrize(("one", "two"), [(("a",), ("b",)), (("a", 1), ("a", 2)), (("a",), ("a", 0))])
def test_different_names_or_keys_differ(one, two):
    s = Streams(5)
    assert not np.array_equal(s.generator(*one).random(5), s.generator(*two).random(5))


def test_different_seeds_differ():
    assert Streams(1).generator("a").random() != Streams(2).generator("a").random()


@pytest.mark.parametrize("seed", [-1, 1.5, "3"])
def test_bad_seeds_are_refused(seed):
    with pytest.raises(ValueError):
        Streams(seed)

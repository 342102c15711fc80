"""Sampled moments match the analytic ones within 5 standard errors of the sample size."""

import numpy as np
import pytest

from sim.dists import Constant, Gamma, LogNormal, Uniform

N = 400_000


@pytest.mark.parametrize(
    "dist",
    [
        Constant(value=3.5),
        Uniform(low=-2, high=6),
        LogNormal(mean=120, std=80),
        Gamma(mean=2.0, shape=0.7),
    ],
)
def test_sample_moments_match_analytic(dist):
    x = dist.sample(np.random.default_rng(1), N)
    assert len(x) == N
    se_mean = np.sqrt(dist.var / N)
    assert abs(x.mean() - dist.mean) <= 5 * se_mean + 1e-12
    if dist.var:
        # standard error of the sample variance needs the 4th moment; use the sample's own
        se_var = np.sqrt(np.mean((x - x.mean()) ** 4) / N)
        assert abs(x.var() - dist.var) <= 5 * se_var


def test_uniform_needs_ordered_bounds():
    with pytest.raises(ValueError, match="high must be greater than low"):
        Uniform(low=2, high=1)

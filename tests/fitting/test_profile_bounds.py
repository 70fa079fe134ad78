"""Profile-likelihood intervals from a coarse grid: exact for a quadratic profile, whose 95 %
interval is the analytic ``xhat +- 1.96 s`` (Raue et al. 2009, Bioinformatics 25:1923, eq. 7)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letrolab.fitting.estimate import CHI2_95_1DF, Profile, profile_bounds


def _quadratic(grid: np.ndarray, xhat: float, s: float) -> Profile:
    return Profile("k", grid, ((grid - xhat) / s) ** 2)


def test_five_point_grid_gives_the_analytic_interval():
    """The case that was wrong: a steep profile on 5 grid points plus the optimum. Interpolating
    delta itself gave a width of 1e-4 for K_surv; the analytic half-width here is 1.96 x 0.05."""
    grid = np.unique(np.concatenate([np.linspace(-1.0, 1.0, 5), [0.1]]))
    lo, hi = profile_bounds(_quadratic(grid, 0.1, 0.05), 0.1)
    half = np.sqrt(CHI2_95_1DF) * 0.05
    assert lo == pytest.approx(0.1 - half, abs=1e-12)
    assert hi == pytest.approx(0.1 + half, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(
    xhat=st.floats(-0.8, 0.8),
    s=st.floats(0.01, 0.3),
    points=st.integers(3, 15),
)
def test_quadratic_profiles_are_exact_on_any_grid(xhat, s, points):
    grid = np.unique(np.concatenate([np.linspace(-2.0, 2.0, points), [xhat]]))
    lo, hi = profile_bounds(_quadratic(grid, xhat, s), xhat)
    half = np.sqrt(CHI2_95_1DF) * s
    assert lo == pytest.approx(max(xhat - half, -2.0), abs=1e-9)
    assert hi == pytest.approx(min(xhat + half, 2.0), abs=1e-9)


def test_a_flat_side_reaches_the_prior_bound():
    grid = np.linspace(-1.0, 1.0, 9)
    delta = np.where(grid < 0, 0.1 * grid**2, (grid / 0.1) ** 2)
    lo, hi = profile_bounds(Profile("k", grid, delta), 0.0)
    assert lo == -1.0 and hi == pytest.approx(0.1 * np.sqrt(CHI2_95_1DF), abs=1e-12)

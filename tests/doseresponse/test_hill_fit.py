"""Batched four-parameter Hill fits (letrolab.doseresponse.hill)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import least_squares

from letrolab._results import Failed
from letrolab.doseresponse.hill import fit_hill, hill_dose, hill_effect
from letrolab.errors import FitError, InputError

X = np.array([0.0, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0])


def test_noise_free_curve_recovers_its_parameters():
    y = hill_effect(X, 4.0, 92.0, 17.0, 1.7)
    fit = fit_hill(X, y)[0]
    assert fit.e0 == pytest.approx(4.0, abs=1e-6)
    assert fit.emax == pytest.approx(92.0, abs=1e-6)
    assert fit.ec50 == pytest.approx(17.0, rel=1e-6)
    assert fit.h == pytest.approx(1.7, rel=1e-6)


def test_falling_curve_reports_emax_below_e0():
    y = hill_effect(X, 100.0, 10.0, 5.0, 1.2)
    fit = fit_hill(X, y)[0]
    assert fit.emax == pytest.approx(10.0, abs=1e-6)
    assert fit.e0 == pytest.approx(100.0, abs=1e-6)
    assert fit.h > 0


def test_noisy_fits_reach_scipy_least_squares_optimum():
    """Outside reference: scipy.optimize.least_squares (trust-region reflective) started from
    two points, on the same bounds; our RSS must be no worse than scipy's by more than 1e-6
    relative (both stop on ~1e-10 relative RSS change, so 1e-6 is far above solver noise)."""
    rng = np.random.default_rng(7)
    n = 60
    e0 = rng.uniform(-5, 10, n)
    emax = rng.uniform(40, 110, n)
    ec50 = np.exp(rng.uniform(0, 5, n))
    h = rng.uniform(0.5, 3, n)
    xx = np.tile(X, (n, 1))
    y = hill_effect(xx, e0[:, None], emax[:, None], ec50[:, None], h[:, None])
    y = y + rng.normal(0, 3, y.shape)
    fits = fit_hill(xx, y)
    assert fits.ok.all()
    lo = np.log(X[X > 0].min() / 1e3)
    hi = np.log(X.max() * 1e3)
    for i in range(n):

        def resid(p, i=i):
            return hill_effect(X, p[0], p[1], np.exp(p[2]), p[3]) - y[i]

        best = min(
            (
                least_squares(
                    resid,
                    p0,
                    bounds=([-np.inf, -np.inf, lo, 0.01], [np.inf, np.inf, hi, 50]),
                    xtol=1e-14,
                    ftol=1e-14,
                    gtol=1e-14,
                )
                for p0 in ([0, 100, np.log(10), 1], [y[i, 0], y[i, -1], np.log(30), 2])
            ),
            key=lambda s: s.cost,
        )
        assert fits.rss[i] <= 2 * best.cost * (1 + 1e-6) + 1e-9


def test_batched_equals_one_curve_at_a_time():
    rng = np.random.default_rng(3)
    xx = np.tile(X, (8, 1))
    y = hill_effect(xx, 0, 100, 20, 1.0) + rng.normal(0, 5, xx.shape)
    batch = fit_hill(xx, y)
    for i in range(8):
        one = fit_hill(X, y[i])
        np.testing.assert_array_equal(one.ec50, batch.ec50[i : i + 1])
        np.testing.assert_array_equal(one.e0, batch.e0[i : i + 1])


def test_ragged_curves_padded_with_nan():
    y = hill_effect(X, 0.0, 100.0, 10.0, 1.0)
    yy = np.vstack([y, np.r_[y[:4], np.nan, np.nan, np.nan]])
    fits = fit_hill(np.tile(X, (2, 1)), yy)
    assert fits.ok.all()
    assert list(fits.n) == [7, 4]


def test_fixed_asymptotes_and_either_direction():
    # SynergyFinder's ZIP re-fit: bottom and top fixed, slope sign free.
    y = hill_effect(X[1:], 30.0, 100.0, 10.0, 1.5)
    up = fit_hill(X[1:], y, e0=30.0, emax=100.0)[0]
    assert (up.e0, up.emax) == (30.0, 100.0)
    assert up.ec50 == pytest.approx(10.0, rel=1e-6)
    down = fit_hill(X[1:], y[::-1], e0=30.0, emax=100.0)[0]
    assert {down.e0, down.emax} == {30.0, 100.0}
    np.testing.assert_allclose(down.predict(X[1:]), y[::-1], atol=1e-6)


def test_failed_curve_is_a_value_that_says_why():
    fits = fit_hill(np.array([[0.0, 1.0, np.nan], [0.0, 1, 2]]), np.array([[1, 2, 3], [5, 5, 5.0]]))
    assert not fits.ok[0]
    f = fits[0]
    assert isinstance(f, Failed) and not f
    with pytest.raises(FitError, match="2 usable points for 4 free parameters"):
        _ = f.ec50
    assert np.isnan(fits.ec50[0])
    assert fits.summary()["n_failed"] == 2  # both: 2 and 3 usable points for 4 parameters
    assert "failed" in fits.report()
    assert list(fits.to_frame().columns)[:3] == ["label", "ok", "e0"]


def test_one_distinct_dose_fails():
    fits = fit_hill(np.array([5.0, 5, 5, 5]), np.array([1.0, 2, 3, 4]))
    assert "distinct doses" in fits.reason[0]


def test_bad_input_raises():
    with pytest.raises(InputError, match="same shape"):
        fit_hill(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(InputError, match="negative dose"):
        fit_hill([-1.0, 1, 2, 3], [0.0, 1, 2, 3])


def test_dose_inverts_effect():
    x = np.array([0.5, 2.0, 40.0])
    e = hill_effect(x, 3.0, 88.0, 7.0, 0.8)
    np.testing.assert_allclose(hill_dose(e, 3.0, 88.0, 7.0, 0.8), x, rtol=1e-12)
    assert np.isnan(hill_dose(95.0, 3.0, 88.0, 7.0, 0.8))


@settings(max_examples=25, deadline=None)
@given(
    scale=st.sampled_from([1e-9, 1e-6, 1e3]),
    ec50=st.floats(2.0, 80.0),
    h=st.floats(0.6, 3.0),
    seed=st.integers(0, 1000),
)
def test_unit_change_rescales_ec50_only(scale, ec50, h, seed):
    rng = np.random.default_rng(seed)
    y = hill_effect(X, 0.0, 100.0, ec50, h) + rng.normal(0, 2, X.size)
    a = fit_hill(X, y)[0]
    b = fit_hill(X * scale, y)[0]
    assert b.rss == pytest.approx(a.rss, rel=1e-6, abs=1e-9)
    np.testing.assert_allclose(b.predict(X * scale), a.predict(X), rtol=0, atol=1e-4)
    if a.h <= 10:
        assert b.ec50 == pytest.approx(a.ec50 * scale, rel=1e-6)
        assert b.h == pytest.approx(a.h, rel=1e-6)
    # else: a step between two doses (slope 38 at ec50 3, seed 55): any steeper slope and any
    # ec50 between those doses fit as well, so only the fitted curve is determined

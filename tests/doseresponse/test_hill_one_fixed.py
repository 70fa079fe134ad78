"""Hill fits with one asymptote fixed (the ZIP slice re-fits of SynergyFinder 3).

These curves go through letrolab.doseresponse.hill._newton_run: Gauss-Newton on the
variable-projection problem, Newton steps with the exact Hessian once a curve zig-zags, and a
probe of the bound a creeping curve runs to. The outside reference is scipy.optimize's
least_squares (trust-region reflective) on the same bounds, started from several points.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.optimize import least_squares

from letrolab.doseresponse.hill import fit_hill, hill_effect

X6 = np.array([0.0, 1.0, 3.0, 10.0, 30.0, 100.0])


def _scipy_best(x, y, k, fixed="e0", starts=None):
    """Lowest-RSS bounded least-squares fit of y ~ k + c expit(g (log x - u)) (e0 or emax = k)."""
    pos = x[x > 0]
    lo, hi = np.log(pos.min() / 1e3), np.log(pos.max() * 1e3)
    with np.errstate(divide="ignore"):
        lx = np.log(x)

    def model(p):
        u, g, c = p
        with np.errstate(invalid="ignore", over="ignore"):
            z = g * (lx - u)
        z = np.where(np.isnan(z), 0.0, z)
        s = 0.5 * (1.0 + np.tanh(0.5 * z))
        return k + c * (s if fixed == "e0" else 1.0 - s)

    best = None
    for u0 in starts or (0.5 * (lo + hi), np.log(pos.mean()), hi - 3):
        for g0 in (0.7, 2.0, -1.0, 8.0):
            for c0 in (y.max() - k, y.min() - k):
                r = least_squares(
                    lambda p: model(p) - y,
                    [u0, g0, c0],
                    bounds=([lo, -50, -np.inf], [hi, 50, np.inf]),
                    xtol=1e-15,
                    ftol=1e-15,
                    gtol=1e-15,
                )
                if best is None or r.cost < best.cost:
                    best = r
    return 2 * best.cost, model(best.x)


def test_noisy_slices_reach_the_scipy_optimum_and_its_fitted_values():
    """16 noisy ZIP-like slices (bottom fixed at the observed zero-dose well): the RSS is no
    worse than scipy's best of 24 starts by more than 1e-9 relative, and where both find the
    same optimum the fitted values agree within 1e-6 points (Newton's quadratic convergence;
    plain Gauss-Newton stopped ~1e-5 away on these)."""
    rng = np.random.default_rng(11)
    n = 16
    e50 = np.exp(rng.uniform(0, 4.5, n))
    h = rng.uniform(0.6, 2.5, n)
    base = rng.uniform(0, 80, n)
    y = hill_effect(X6, base[:, None], 100.0, e50[:, None], h[:, None])
    y = y + rng.normal(0, 3, y.shape)
    fits = fit_hill(np.tile(X6, (n, 1)), y, e0=y[:, 0])
    assert fits.ok.all()
    close = 0
    for i in range(n):
        rss, fitted = _scipy_best(X6, y[i], y[i, 0])
        assert fits.rss[i] <= rss * (1 + 1e-9) + 1e-12
        if fits.rss[i] <= rss * (1 + 1e-9) + 1e-12 and abs(fits.rss[i] - rss) < 1e-9 * rss:
            np.testing.assert_allclose(fits.predict(X6[None, :])[i], fitted, atol=1e-6)
            close += 1
    assert close >= 13  # a few slices have two optima of (nearly) equal RSS


def test_zigzag_slice_converges_to_the_optimum():
    """A large-residual slice on which Gauss-Newton crept ~330 iterations, zig-zagging across
    the optimum, and stopped 1e-5 points short (seed-0 ZIP benchmark block 269, column 3)."""
    y = np.array([66.3674363, 66.32, 63.40, 71.66, 75.59, 87.27])
    fit = fit_hill(X6, y, e0=y[0])
    rss, fitted = _scipy_best(X6, y, y[0])
    assert fit.ok[0]
    assert fit.rss[0] == pytest.approx(rss, rel=1e-12)
    np.testing.assert_allclose(fit.predict(X6[None, :])[0], fitted, atol=1e-7)


def test_slope_creeping_to_its_bound_is_fitted_there():
    """Four-point slice whose best fit is a step (|h| -> inf): the fit ends on the slope bound
    (50) with the RSS of the step, no worse than scipy's."""
    x = np.array([0.0, 1.0, 10.0, 100.0])
    y = np.array([24.35619474, 24.34880204, 54.81283435, 96.71191542])
    fit = fit_hill(x, y, e0=y[0])
    rss, _ = _scipy_best(x, y, y[0])
    assert fit.ok[0]
    assert fit.h[0] == pytest.approx(50.0)
    assert fit.rss[0] <= rss * (1 + 1e-9) + 1e-12


@settings(max_examples=30, deadline=None)
@given(
    k=st.floats(-20, 90),
    amp=st.floats(15, 120),
    ec50=st.floats(0.5, 80),
    h=st.floats(0.5, 4),
    falling=st.booleans(),
    fix_top=st.booleans(),
)
# Found on a fresh clone: EC50 near the top dose, steep, bottom fixed; the fast fit ended on
# the EC50 bound (RSS 1.7e-4) until fits ending on a bound were re-checked.
@example(k=0.0, amp=15.0, ec50=74.0, h=4.0, falling=False, fix_top=False)
def test_noise_free_curves_recovered_with_either_asymptote_fixed(k, amp, ec50, h, falling, fix_top):
    """Invariant: a noise-free log-logistic curve is recovered whichever asymptote is held at
    its true value, rising or falling (the Emax-fixed case is the same problem mirrored)."""
    e0, emax = (k, k + amp) if not falling else (k + amp, k)
    y = hill_effect(X6, e0, emax, ec50, h)
    fit = fit_hill(X6, y, **({"emax": emax} if fix_top else {"e0": e0}))[0]
    np.testing.assert_allclose(fit.predict(X6), y, atol=1e-6)
    assert fit.ec50 == pytest.approx(ec50, rel=1e-5)
    assert fit.h == pytest.approx(h, rel=1e-5)

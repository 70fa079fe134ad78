"""Median-effect fit (Chou 1976; Chou & Talalay 1984; Chou 2006)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import linregress

from letrolab._results import Failed
from letrolab.doseresponse import MedianEffectFit, fit_median_effect
from letrolab.errors import FitError, InputError


def _exact(dm, m, doses):
    d = np.asarray(doses, dtype=float)
    return 1.0 / (1.0 + (dm / d) ** m)


def test_hand_computed_two_point_line():
    # ln(fa/fu) = [0, ln 4] on ln D = [0, ln 4]: slope 1, x-intercept 0 -> m = 1, Dm = 1, r = 1.
    fits = fit_median_effect([1.0, 4.0], [0.5, 0.8])
    f = fits[0]
    assert f.m == pytest.approx(1.0, abs=1e-12)
    assert f.dm == pytest.approx(1.0, abs=1e-12)
    assert f.r == pytest.approx(1.0, abs=1e-12)
    assert f.n == 2
    # Dx = Dm (fa/fu)^(1/m): fa = 0.9 -> 9.
    assert f.dx(0.9) == pytest.approx(9.0, rel=1e-12)


def test_agrees_with_scipy_linregress_on_noisy_curves():
    rng = np.random.default_rng(7)
    d = np.geomspace(0.1, 100, 8)
    fa = np.clip(_exact(3.0, 1.3, d) + rng.normal(0, 0.03, (20, 8)), 0.02, 0.98)
    fits = fit_median_effect(np.broadcast_to(d, fa.shape), fa)
    for i in range(20):
        ref = linregress(np.log(d), np.log(fa[i] / (1 - fa[i])))
        assert fits.m[i] == pytest.approx(ref.slope, rel=1e-12)
        assert fits.r[i] == pytest.approx(ref.rvalue, rel=1e-12)
        assert np.log(fits.dm[i]) == pytest.approx(-ref.intercept / ref.slope, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    dm=st.floats(1e-3, 1e3),
    m=st.floats(0.3, 4.0),
    fa=st.floats(0.01, 0.99),
)
def test_exact_curve_recovers_parameters_and_dx_inverts_fa(dm, m, fa):
    d = dm * np.geomspace(0.1, 10, 6)
    fit = fit_median_effect(d, _exact(dm, m, d))[0]
    assert fit.m == pytest.approx(m, rel=1e-9)
    assert fit.dm == pytest.approx(dm, rel=1e-9)
    assert fit.fa(fit.dx(fa)) == pytest.approx(fa, rel=1e-9)


def test_batch_of_curves_with_padding_and_failures():
    d = [[1, 2, 4, np.nan], [1, 1, 1, 1], [1, 2, 4, 8], [5, 0, np.nan, np.nan]]
    fa = [
        [0.2, 0.4, 0.6, np.nan],
        [0.1, 0.2, 0.3, 0.4],
        [0.6, 0.5, 0.4, 0.3],
        [0.5, 0.0, np.nan, 1],
    ]
    fits = fit_median_effect(d, fa, labels=["ok", "one dose", "falling", "one point"])
    assert fits.ok.tolist() == [True, False, False, False]
    assert fits[0].n == 3
    assert "same dose" in fits.reason[1]
    assert "not positive" in fits.reason[2]
    assert "fewer than 2 usable points" in fits.reason[3]
    failed = fits[1]
    assert isinstance(failed, Failed) and not failed
    with pytest.raises(FitError, match="median-effect fit of one dose failed"):
        _ = failed.dm
    assert np.isnan(fits.dx(0.5)[1:]).all()
    frame = fits.to_frame()
    assert frame["ok"].tolist() == [True, False, False, False]
    assert fits.summary()["n_failed"] == 3


def test_fa_outside_unit_interval_is_dropped_not_clipped():
    d = [1, 2, 4, 8, 16]
    fa = [0.1, 0.3, 0.6, 1.0, 1.05]  # the last two are unusable
    fit = fit_median_effect(d, fa)[0]
    assert fit.n == 3 and fit.n_dropped == 2
    ref = fit_median_effect(d[:3], fa[:3])[0]
    assert fit.m == ref.m and fit.dm == ref.dm
    assert any("2 point(s) with fa outside (0, 1) dropped" in w for w in fit.warnings)


def test_r_below_095_is_warned():
    fit = fit_median_effect([1, 2, 4, 8], [0.2, 0.6, 0.3, 0.7], labels=["X"])[0]
    assert fit.r < 0.95
    assert any(w.startswith("X: median-effect fit r = ") for w in fit.warnings)


def test_bad_input_is_refused_with_a_message():
    with pytest.raises(InputError, match="shapes differ"):
        fit_median_effect([1, 2], [0.5])
    with pytest.raises(InputError, match="negative dose"):
        fit_median_effect([-1, 2], [0.2, 0.5])
    f = MedianEffectFit(m=1.0, dm=1.0, r=1.0, n=2, fa_min=0.2, fa_max=0.8)
    with pytest.raises(InputError, match="strictly between 0 and 1"):
        f.dx(1.0)


def test_report_and_summary_render():
    fit = fit_median_effect([1, 2, 4], [0.2, 0.5, 0.8], labels=["letrozole"], unit="nM")[0]
    assert fit.report().startswith("letrozole: m = ")
    assert "nM" in fit.report()
    s = fit.summary()
    assert {"m", "dm", "r", "n"} <= set(s) and s["unit"] == "nM"
    assert fit.extrapolates(0.9) and not fit.extrapolates(0.5)

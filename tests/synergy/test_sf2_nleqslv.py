"""The nleqslv emulation behind ``convention="synergyfinder2"`` Loewe (letrolab.synergy.reference.rcompat).

Reference values: R's nleqslv 3.3.4 (``method = "Newton"``, default double-dogleg global
strategy and control) on SynergyFinder 1-2's Loewe equation for 240 random curve pairs and
doses, and on four scalar test equations from several starts
(tests/data/synergy/r_nleqslv_loewe.csv and r_nleqslv_scalar.csv, made by r_nleqslv.R beside
them). The whole chain is checked against SynergyFinder's published scores in
test_reference_sf2.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letrolab.synergy.reference.conventions.sf2 import sf2_loewe_curves, sf2_loewe_expected
from letrolab.synergy.reference.rcompat import NLEQSLV_ERROR, drc_ll4, nleqslv_newton
from letrolab.synergy.reference.rcompat import rpow as _rpow

DATA = Path(__file__).parents[1] / "data" / "synergy"


def _eq(x1, x2, cp, rp):
    """SynergyFinder's eq.LL4.LL4, written in R's evaluation order."""

    def f(idx, y):
        t1 = x1[idx] / (cp[idx, 3] * _rpow((y - cp[idx, 2]) / (cp[idx, 1] - y), 1.0 / cp[idx, 0]))
        t2 = x2[idx] / (rp[idx, 3] * _rpow((y - rp[idx, 2]) / (rp[idx, 1] - y), 1.0 / rp[idx, 0]))
        return t1 + t2 - 1.0

    return f


def test_nleqslv_emulation_takes_r_s_path_on_the_loewe_equation():
    """Same iterate to the bit, same termination code and the same numbers of iterations,
    function and Jacobian evaluations as R, on 240 problems (143 solved, 97 ending with code 3,
    several through shrunk or doubled trust regions and non-finite trial points)."""
    d = pd.read_csv(DATA / "r_nleqslv_loewe.csv", float_precision="round_trip")
    cp = d[["b_col", "c_col", "d_col", "e_col"]].to_numpy(float)
    rp = d[["b_row", "c_row", "d_row", "e_row"]].to_numpy(float)
    x1 = d["x_col"].to_numpy(float)
    x2 = d["x_row"].to_numpy(float)
    r = nleqslv_newton(_eq(x1, x2, cp, rp), np.maximum(cp[:, 1], rp[:, 1]) + 1.0)
    np.testing.assert_array_equal(r.termcd, d["termcd"])
    assert set(d["termcd"]) == {1, 3}
    np.testing.assert_array_equal(r.x, d["x"].to_numpy(float))
    np.testing.assert_array_equal(r.iter, d["iter"])
    np.testing.assert_array_equal(r.nfcnt, d["nfcnt"])
    np.testing.assert_array_equal(r.njcnt, d["njcnt"])


SCALAR = {
    "cubic": lambda x: _rpow(x, 3.0) - 2.0 * x - 5.0,
    "ratio": lambda x: x / (1.0 + _rpow(x, 2.0)),
    "noroot": lambda x: _rpow(x, 2.0) + 1.0,
    "recip": lambda x: 1.0 / x - 3.0,
}


def test_nleqslv_emulation_matches_r_on_scalar_equations():
    """A root found from far away (cubic from 100), Newton's divergence on x / (1 + x^2)
    ending where |f| <= ftol, no root at all (code 3) and a pole (1/x): all as R."""
    d = pd.read_csv(DATA / "r_nleqslv_scalar.csv", float_precision="round_trip")
    for name, grp in d.groupby("fn"):
        fn = SCALAR[str(name)]
        r = nleqslv_newton(lambda idx, x, fn=fn: fn(x), grp["x0"].to_numpy(float))
        np.testing.assert_array_equal(r.x, grp["x"].to_numpy(float))
        np.testing.assert_array_equal(r.fvec, grp["fvec"].to_numpy(float))
        np.testing.assert_array_equal(r.termcd, grp["termcd"])
        np.testing.assert_array_equal(r.iter, grp["iter"])
        np.testing.assert_array_equal(r.nfcnt, grp["nfcnt"])


def test_nleqslv_error_codes():
    """A non-finite f at the start or in the finite-difference Jacobian is an R error
    (SynergyFinder maps it to code 999); a zero derivative is code 6; a root at the start
    is code 1 after no iteration."""
    r = nleqslv_newton(lambda idx, x: np.where(x < 1.5, np.nan, x - 2.0), np.array([1.0]))
    assert r.termcd[0] == NLEQSLV_ERROR
    r = nleqslv_newton(lambda idx, x: np.where(x > 1.0, np.inf, x - 2.0), np.array([1.0]))
    assert r.termcd[0] == NLEQSLV_ERROR
    r = nleqslv_newton(lambda idx, x: np.full(x.shape, 3.0), np.array([1.0]))
    assert r.termcd[0] == 6
    r = nleqslv_newton(lambda idx, x: x - 1.0, np.array([1.0, 2.0]))
    assert r.termcd.tolist() == [1, 1] and r.iter[0] == 0 and r.x[1] == 1.0


def test_loewe_fallback_and_cap():
    """Where no effect solves the equation (the column drug tops out at 40 and the row drug
    contributes little), nleqslv stops with code 3 and SynergyFinder takes the larger of the
    two curves at the total dose; expectations above 100 are capped."""
    p_col = np.array([[-2.0, 0.0, 40.0, 1.0]])
    p_row = np.array([[-1.0, 0.0, 100.0, 1e6]])
    y, fb, tc = sf2_loewe_expected(np.array([1.0]), np.array([1e4]), p_row, p_col)
    assert fb[0] and tc[0] >= 3
    tot = 1e4 + 1.0
    curve = [(d + c * (tot / e) ** b) / (1.0 + (tot / e) ** b) for b, c, d, e in (*p_col, *p_row)]
    assert y[0] == pytest.approx(max(curve), rel=1e-14)
    # a curve rising above 100 (top 150): the solution is capped
    p_hi = np.array([[-1.0, 0.0, 150.0, 1.0]])
    y2, fb2, tc2 = sf2_loewe_expected(np.array([50.0]), np.array([50.0]), p_hi, p_hi)
    assert tc2[0] == 1 and not fb2[0] and y2[0] == 100.0


@settings(max_examples=25, deadline=None)
@given(
    h=st.floats(0.3, 4.0),
    loge=st.floats(-1.0, 3.0),
    d1=st.floats(0.01, 1e3),
    d2=st.floats(0.01, 1e3),
)
def test_loewe_of_a_drug_with_itself_is_the_curve_at_the_summed_dose(h, loge, d1, d2):
    """Loewe additivity (Loewe 1953): a drug combined with itself has the effect of the
    summed dose. Solved by the nleqslv emulation to its ftol (1e-8 in the dose-ratio sum,
    so the effect within about 1e-6 points)."""
    e = 10.0**loge
    p = np.array([[-h, 0.0, 100.0, e]])
    y, fb, tc = sf2_loewe_expected(np.array([d1]), np.array([d2]), p, p)
    want = 100.0 / (1.0 + (e / (d1 + d2)) ** h)
    # solved (codes 1, 2), or near 100 % where nleqslv stalls (code 3): then the fallback,
    # the curve at the total dose, is the same value
    assert tc[0] in (1, 2, 3) and fb[0] == (tc[0] == 3)
    assert y[0] == pytest.approx(want, abs=1e-6)


def test_drc_ll4_with_fixed_asymptotes_reports_them():
    """LL.4(fixed = c(NA, 0, 100, NA)): only b and e are estimated; c, d come back exactly
    0 and 100, and a clean log-logistic curve is recovered."""
    x = np.array([[1.0, 3.0, 10.0, 30.0, 100.0, 300.0]])
    y = 100.0 / (1.0 + (20.0 / x) ** 1.3)
    b, c, d, e, ok = drc_ll4(x, y, bottom=0.0, top=100.0)
    assert ok[0] and c[0] == 0.0 and d[0] == 100.0
    assert b[0] == pytest.approx(-1.3, rel=1e-3) and e[0] == pytest.approx(20.0, rel=1e-3)
    with pytest.raises(ValueError, match="both bottom and top"):
        drc_ll4(x, y, bottom=0.0)


def test_loewe_single_agents_bottom_is_zero_or_the_lowest_response():
    """SynergyFinder 2's Loewe single agents: top 100, bottom 0, or the lowest response where
    the curve goes below 0 (padded curves: NaN padding ignored)."""
    x = np.array([[1.0, 10.0, 100.0, 1000.0], [1.0, 10.0, 100.0, np.nan]])
    y = np.array([[2.0, 10.0, 45.0, 80.0], [-3.5, 6.0, 50.0, np.nan]])
    par, ok = sf2_loewe_curves(x, y)
    assert ok.all()
    assert par[0, 1] == 0.0 and par[1, 1] == -3.5 and (par[:, 2] == 100.0).all()
    # the same as drc's fit with that bottom fixed
    b, _c, _d, e, ok1 = drc_ll4(x[1:], y[1:], bottom=-3.5, top=100.0)
    assert ok1[0]
    assert b[0] == par[1, 0] and e[0] == par[1, 3]

"""The drc/R emulation behind ``convention="synergyfinder2"`` ZIP (letrolab.synergy.reference.rcompat).

Outside reference for the optimiser: R 4.2.2's ``optim(method = "BFGS")`` with drc's settings
on four problems (tests/data/synergy/r_optim_bfgs.csv, made by r_optim_bfgs.R beside it).
The whole chain is checked against SynergyFinder's published scores in test_reference_sf2.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letrolab.synergy.reference import grid_scores, reference_scores
from letrolab.synergy.reference.rcompat import drc_l4_bottom, drc_ll4, vmmin
from letrolab.synergy.reference.rcompat.drc import _lm_line
from letrolab.synergy.reference.rcompat.rmath import c_exp as _exp
from letrolab.synergy.reference.rcompat.rmath import rsum as _rsum

DATA = Path(__file__).parents[1] / "data" / "synergy" / "r_optim_bfgs.csv"

X = np.array([0.5, 1, 2, 4, 8, 16, 32])
Y_LOGIS = np.array([3.1, 5.2, 11.8, 27.5, 52.3, 68.1, 74.9])
Y_EXP = np.array([9.7, 8.1, 6.2, 4.4, 2.1, 0.9, 0.45])
VALID = np.ones((1, 1, 7), bool)


def _rosen(p):
    a, b = p[..., 0], p[..., 1]
    u = b - a * a
    v = 1 - a
    return 100 * (u * u) + v * v


def _logis(p):
    b, d, e = (p[..., i][..., None] for i in range(3))
    r = Y_LOGIS - (2 + (d - 2) / (1 + _exp(b * (X - e))))
    return _rsum(r * r, VALID)


def _expo(p):
    a, k, c = (p[..., i][..., None] for i in range(3))
    r = Y_EXP - a * _exp(-k * X) - c
    return _rsum(r * r, VALID)


FNS = {
    "rosenbrock": _rosen,
    "rosenbrock_far": _rosen,
    "logistic_bottom2": _logis,
    "exp_decay": _expo,
}


@pytest.mark.parametrize("case", sorted(FNS))
def test_vmmin_takes_the_same_path_as_r_optim_bfgs(case):
    """Same stopping point, objective value and evaluation counts as R's optim: the
    Nash/vmmin iteration, parscale, central-difference gradients and the reltol rule are
    reproduced step for step (measured: identical to the last printed digit; we allow 1e-12
    relative for the platform's last-bit arithmetic)."""
    ref = pd.read_csv(DATA, comment="#", skipinitialspace=True)
    r = ref[ref["case"] == case].sort_values("i")
    fn = FNS[case]
    res = vmmin(lambda idx, p: fn(p), r["start"].to_numpy()[None])
    assert res.ok[0]
    np.testing.assert_allclose(res.par[0], r["par"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(res.value[0], r["value"].iloc[0], rtol=1e-12)
    assert res.fncount[0] == r["fncount"].iloc[0]
    assert res.grcount[0] == r["grcount"].iloc[0]


def test_vmmin_fails_like_optim_on_a_non_finite_start():
    """R's optim stops with "initial value in 'vmmin' is not finite": a failed fit (NaN),
    while the other problems of the batch are solved."""
    start = np.array([[-1.2, 1.0], [np.inf, 1.0]])
    res = vmmin(lambda idx, p: _rosen(p), start)
    assert res.ok.tolist() == [True, False]
    assert np.isnan(res.par[1]).all() and np.isfinite(res.par[0]).all()


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 9),
    slope=st.floats(-5, 5),
    icpt=st.floats(-10, 10),
    seed=st.integers(0, 2**16),
)
def test_lm_line_is_the_least_squares_line(n, slope, icpt, seed):
    """R's QR route to ``lm(z ~ u)`` gives the least-squares line (within rounding), also for
    padded rows."""
    rng = np.random.default_rng(seed)
    u = np.sort(rng.uniform(-3, 8, n)) + np.arange(n) * 0.1
    z = icpt + slope * u + rng.normal(0, 0.5, n)
    pad = np.full((1, 3), 0.0)
    uu = np.concatenate([u[None], pad], 1)
    zz = np.concatenate([z[None], pad], 1)
    valid = np.concatenate([np.ones((1, n), bool), np.zeros((1, 3), bool)], 1)
    b0, b1 = _lm_line(uu, zz, valid)
    want = np.polyfit(u, z, 1)
    np.testing.assert_allclose([b1[0], b0[0]], want, rtol=1e-9, atol=1e-9)


def test_drc_fits_recover_exact_curves():
    """Noise-free data: drc's LL.4 and the bottom-fixed L.4 re-fit reproduce the curves they
    were drawn from (BFGS stops at reltol 1e-7 of the objective, so within 0.05 points)."""
    x = np.array([[1.0, 3, 10, 30, 100, 300, 1000]])
    y = 5 + (90 - 5) / (1 + np.exp(-1.3 * np.log(x / 40.0)))
    b, c, d, e, ok = drc_ll4(x, y)
    assert ok[0]
    fitted = c[:, None] + (d - c)[:, None] / (1 + np.exp(b[:, None] * np.log(x / e[:, None])))
    np.testing.assert_allclose(fitted, y, atol=0.05)
    xl = np.array([[10.0, 30, 100, 300, 1000, 3000, 10000]])
    yl = 12 + (80 - 12) / (1 + np.exp(-0.004 * (xl - 900)))
    fl, okl = drc_l4_bottom(xl, yl, np.array([12.0]))
    assert okl[0]
    np.testing.assert_allclose(fl, yl, atol=0.05)


DOSES = np.array([0.0, 1.0, 3.0, 10.0, 30.0, 100.0])


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**16), e1=st.floats(2, 60), e2=st.floats(2, 60))
def test_sf2_zip_is_symmetric_in_the_two_drugs(seed, e1, e2):
    """Swapping the drugs (transposing the matrix) transposes the ZIP scores exactly: row and
    column re-fits trade places and both enter the mean symmetrically."""
    rng = np.random.default_rng(seed)
    x1, x2 = np.meshgrid(DOSES, DOSES, indexing="ij")
    f1 = 100 * x1**1.2 / (x1**1.2 + e1**1.2)
    f2 = 100 * x2**0.9 / (x2**0.9 + e2**0.9)
    y = f1 + f2 - f1 * f2 / 100 + rng.normal(0, 3, x1.shape)
    g = grid_scores(DOSES[None], DOSES[None], y[None], models="zip", convention="synergyfinder2")
    gt = grid_scores(DOSES[None], DOSES[None], y.T[None], models="zip", convention="synergyfinder2")
    np.testing.assert_array_equal(g.scores["zip"][0], gt.scores["zip"][0].T)


def test_single_agent_with_one_dose_cannot_be_fitted_and_is_reported():
    """A single agent tested at one dose: drc's LL.4 start values (a regression line) do not
    exist, SynergyFinder would stop; letrolab gives ZIP NaN for that block with a warning,
    and the other blocks are scored."""
    rows = []
    for blk, doses in (("a", [0.0, 1.0]), ("b", [0.0, 1.0, 3.0, 10.0, 30.0])):
        for i, c1 in enumerate(doses):
            for j, c2 in enumerate(doses):
                rows.append((blk, c1, c2, 4.0 * i + 7.0 * j + 0.5 * i * j))
    df = pd.DataFrame(rows, columns=["block_id", "conc_r", "conc_c", "response"])
    df = df.assign(drug_row="A", drug_col="B")
    r = reference_scores(df, models="zip", convention="synergyfinder2")
    za = r.scores.loc[r.scores["block_id"] == "a", "zip"]
    zb = r.scores.loc[r.scores["block_id"] == "b", "zip"]
    assert za.isna().all() and np.isfinite(zb).all()
    assert any("drc's LL.4 fit of a single agent failed" in w for w in r.warnings["a"])
    assert not any("drc's LL.4" in w for w in r.warnings.get("b", []))

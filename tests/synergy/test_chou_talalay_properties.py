"""Invariants of the Chou–Talalay CI (hypothesis property tests)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letrolab.synergy import chou_talalay
from letrolab.synergy.ct import FA_LEVELS


def _fa(dm, m, d):
    return 1.0 / (1.0 + (dm / np.asarray(d, dtype=float)) ** m)


def _frame(rows, unit=None):
    df = pd.DataFrame(rows, columns=["drug_row", "drug_col", "conc_r", "conc_c", "response"])
    if unit is not None:
        df["conc_r_unit"] = unit
        df["conc_c_unit"] = unit
    return df


@settings(max_examples=30, deadline=None)
@given(
    dm=st.floats(1e-2, 1e3),
    m=st.floats(0.4, 3.5),
    share=st.floats(0.05, 0.95),
    fa=st.floats(0.02, 0.98),
)
def test_sham_combination_has_ci_one_at_every_fa(dm, m, share, fa):
    """A drug mixed with itself at a fixed ratio is additive: CI = 1 at every fa (1e-9)."""
    doses = dm * np.geomspace(0.1, 10, 7)
    rows = [("A", "A'", d, 0.0, 100 * _fa(dm, m, d)) for d in doses]
    rows += [("A", "A'", 0.0, d, 100 * _fa(dm, m, d)) for d in doses]
    rows += [("A", "A'", share * t, (1 - share) * t, 100 * _fa(dm, m, t)) for t in doses]
    block = chou_talalay(_frame(rows))["1"]
    np.testing.assert_allclose(block.ci, 1.0, rtol=1e-9)
    (mix,) = block.mixtures
    np.testing.assert_allclose(mix.ci, 1.0, rtol=1e-9)
    assert mix.ci_at(fa) == pytest.approx(1.0, rel=1e-9)


def _noisy_block(seed):
    rng = np.random.default_rng(seed)
    dm1, dm2 = 10 ** rng.uniform(0, 3, 2)
    m1, m2 = rng.uniform(0.5, 2.5, 2)
    d1 = dm1 * np.geomspace(0.1, 10, 5)
    d2 = dm2 * np.geomspace(0.1, 10, 5)
    rows = [("A", "B", d, 0.0, 100 * _fa(dm1, m1, d) + rng.normal(0, 3)) for d in d1]
    rows += [("A", "B", 0.0, d, 100 * _fa(dm2, m2, d) + rng.normal(0, 3)) for d in d2]
    for a in d1[::2]:
        for b in d2[1::2]:
            fa = 1 - (1 - _fa(dm1, m1, a)) * (1 - _fa(dm2, m2, b))
            rows.append(("A", "B", a, b, 100 * fa + rng.normal(0, 3)))
    for x in (0.2, 0.5, 1.0, 2.0, 5.0):  # a constant-ratio series at ratio dm1 : dm2
        fa = 1 - (1 - _fa(dm1, m1, x * dm1)) * (1 - _fa(dm2, m2, x * dm2))
        rows.append(("A", "B", x * dm1, x * dm2, 100 * fa + rng.normal(0, 3)))
    return rows


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), unit=st.sampled_from([("nM", "uM"), ("uM", "mM")]))
def test_rescaling_doses_by_a_unit_change_leaves_ci_unchanged(seed, unit):
    rows = _noisy_block(seed)
    small, big = unit
    a = chou_talalay(_frame(rows, small))["1"]
    scaled = [(r[0], r[1], r[2] / 1000, r[3] / 1000, r[4]) for r in rows]
    b = chou_talalay(_frame(scaled, big))["1"]
    assert a and b
    np.testing.assert_allclose(b.ci, a.ci, rtol=1e-9)
    np.testing.assert_allclose(b.ci_nonexclusive, a.ci_nonexclusive, rtol=1e-9)
    assert len(a.mixtures) == len(b.mixtures) == 1
    np.testing.assert_allclose(b.mixtures[0].ci, a.mixtures[0].ci, rtol=1e-9)
    np.testing.assert_allclose(b.mixtures[0].dri, a.mixtures[0].dri, rtol=1e-9)
    assert b.single_agents["A"].dm == pytest.approx(a.single_agents["A"].dm / 1000, rel=1e-9)
    assert b.unit == big


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_exclusive_ci_is_at_most_the_nonexclusive_ci(seed):
    block = chou_talalay(_frame(_noisy_block(seed)))["1"]
    assert block and len(block.ci) > 0
    assert np.all(block.ci <= block.ci_nonexclusive)
    for mix in block.mixtures:
        assert np.all(mix.ci <= mix.ci_nonexclusive)
        grid = np.linspace(0.05, 0.95, 19)
        assert np.all(mix.ci_at(grid) <= mix.ci_at(grid, exclusive=False))
    assert set(FA_LEVELS) == {0.5, 0.75, 0.9, 0.95}

"""Pure parts of the protocols: selection/adaptation, matched exposures, plate map."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letrolab.errors import InputError, ModelError
from letrolab.experiments.metabolic import matched_concentration
from letrolab.experiments.proliferation import LETROZOLE_NM, NVP_NM, plate_map
from letrolab.experiments.resistance import select_and_adapt


def _toy_growth(p: pd.DataFrame) -> np.ndarray:
    """Fold growth over 28 days, faster with more PI3K input (a made-up fitness landscape)."""
    return np.exp(28 * (0.02 + 0.5 * (p["pi3k_basal"].to_numpy() - 0.02)))


def test_selection_enriches_the_fitter_clones():
    p = pd.DataFrame({"pi3k_basal": [0.01, 0.02, 0.04], "r1_level": [1.0, 1.0, 1.0]})
    out, freq, hist = select_and_adapt(p, _toy_growth, g_ref=0.05, months=3, alpha=0.0)
    pd.testing.assert_frame_equal(out, p)  # alpha = 0: no adaptation
    # replicator dynamics: frequency ∝ product of the passages' fold growth
    fold = _toy_growth(p) ** 3
    np.testing.assert_allclose(freq, fold / fold.sum(), rtol=1e-12)
    assert hist["mean_pi3k_basal"].is_monotonic_increasing
    assert list(hist["month"]) == [1, 2, 3]


def test_adaptation_is_driven_by_growth_arrest_only():
    p = pd.DataFrame({"pi3k_basal": [0.02, 0.02], "r1_level": [1.0, 2.0]})

    def flat(q):
        return np.array([np.exp(28 * 0.05), 1.0])  # clone 0 at g_ref, clone 1 arrested

    out, _, _ = select_and_adapt(p, flat, g_ref=0.05, months=2, alpha=0.1)
    assert out.loc[0, "r1_level"] == pytest.approx(1.0)  # no stress, no change
    assert out.loc[1, "r1_level"] == pytest.approx(2.0 * np.exp(0.2))  # full stress, 2 months


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.001, 0.2), min_size=1, max_size=20), st.integers(1, 6))
def test_frequencies_stay_a_distribution(pi3k, months):
    p = pd.DataFrame({"pi3k_basal": pi3k, "r1_level": 1.0})
    out, freq, _ = select_and_adapt(p, _toy_growth, g_ref=0.05, months=months)
    assert freq.sum() == pytest.approx(1.0) and np.all(freq >= 0)
    assert np.all(out["pi3k_basal"] >= p["pi3k_basal"] - 1e-15)  # adaptation only goes up


def test_extinction_and_bad_growth_are_errors():
    p = pd.DataFrame({"pi3k_basal": [0.02], "r1_level": [1.0]})
    with pytest.raises(ModelError, match="every clone died out"):
        select_and_adapt(p, lambda q: np.zeros(1), g_ref=0.05, months=1)
    with pytest.raises(ModelError, match="non-finite or negative growth"):
        select_and_adapt(p, lambda q: np.array([np.nan]), g_ref=0.05, months=1)


@pytest.mark.parametrize("drug", ["kw-2450", "nvp-aew541"])
@pytest.mark.parametrize("level", [0.5, 0.75, 0.9])
def test_matched_concentration_inverts_the_catalogue(drug, level):
    from letrolab.model import load_catalogue

    conc = matched_concentration(drug, level)
    target = next(t for t in load_catalogue()[drug].targets if t.target == "IGF1R")
    assert 1.0 - target.remaining_activity(conc) == pytest.approx(level, rel=1e-12)


def test_matched_concentration_errors():
    with pytest.raises(InputError, match="has no IGF1R entry"):
        matched_concentration("letrozole", 0.5)
    with pytest.raises(InputError, match="outside"):
        matched_concentration("kw-2450", 1.0)


def test_plate_map_holds_the_matrix_controls_and_an_empty_edge():
    pm = plate_map()
    assert len(pm) == 96
    treated = pm[pm["role"] == "treated"]
    assert len(treated) == len(LETROZOLE_NM) * len(NVP_NM) - 1
    assert set(treated["conc1"]) <= set(LETROZOLE_NM) and set(treated["conc2"]) <= set(NVP_NM)
    assert (pm["role"] == "vehicle").sum() == 7 and (pm["role"] == "blank").sum() == 6
    edge = pm["well"].str[0].isin(["A", "H"]) | pm["well"].str[1:].isin(["1", "12"])
    assert set(pm.loc[edge, "role"]) == {"empty"}
    diag = treated[treated["conc2"] == 10 * treated["conc1"]]
    assert len(diag) == 5  # the constant 1:10 ratio series


@pytest.mark.parametrize("effect", [0.3, 0.6, 1.0])
def test_trial_power_matches_the_noncentral_t(effect):
    """Power of a two-sided one-sample t-test, n = 15, against the non-central t (exact)."""
    from scipy import stats

    from letrolab.experiments.patients import trial_power

    rng = np.random.default_rng(0)
    population = rng.normal(effect, 1.0, size=200_000)
    n, alpha = 15, 0.05
    crit = stats.t.ppf(1 - alpha / 2, n - 1)
    nc = effect * np.sqrt(n)
    exact = stats.nct.sf(crit, n - 1, nc) + stats.nct.cdf(-crit, n - 1, nc)
    got = trial_power(population, np.random.default_rng(1), n=n, trials=20_000)
    assert got == pytest.approx(exact, abs=0.012)  # 20,000 trials: SE <= 0.0035


# ---------------------------------------------------------------- founder population (S6)
_BASE = {"r1_level": 1.0, "pi3k_basal": 0.02, "k_pi3k_inact": 5.0, "cd_er": 0.29, "cd_basal": 0.1}


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 300), sd=st.floats(0.0, 2.0))
def test_founder_er_dependence_is_a_share_at_a_fixed_total(seed, n, sd):
    from letrolab.experiments.resistance import founder_population

    p = founder_population(_BASE, n, np.random.default_rng(seed), er_share_sd=sd)
    assert len(p) == n
    total = _BASE["cd_er"] + _BASE["cd_basal"]
    np.testing.assert_allclose(p["cd_er"] + p["cd_basal"], total, rtol=1e-12)
    assert ((p["cd_er"] > 0) & (p["cd_basal"] > 0)).all()
    assert (p[["r1_level", "pi3k_basal", "k_pi3k_inact"]] > 0).all().all()


def test_founder_population_centres_on_the_parental_clone():
    from letrolab.experiments.resistance import SPREAD, founder_population

    p = founder_population(_BASE, 200_000, np.random.default_rng(1))
    # mean-preserving log-normal axes: mean within 1 % of the parental value; log-SD as stated
    for k, s in SPREAD.items():
        assert p[k].mean() == pytest.approx(_BASE[k], rel=0.01)
        assert np.log(p[k]).std() == pytest.approx(s, rel=0.01)
    # logit-normal ER share: median at the parental share
    share = p["cd_er"] / (p["cd_er"] + p["cd_basal"])
    assert share.median() == pytest.approx(0.29 / 0.39, abs=0.005)
    with_sd0 = founder_population(_BASE, 5, np.random.default_rng(1), er_share_sd=0.0)
    np.testing.assert_allclose(with_sd0["cd_er"], 0.29, rtol=1e-12)

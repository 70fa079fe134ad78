"""Virtual cohorts: genotype frequencies, covariates, reproducibility, parallel execution."""

import numpy as np
import pytest

from letrolab.errors import InputError
from letrolab.model.patient import run_trial, sample_cohort
from letrolab.model.patient.cohort import CYP2A6_VARIANT_FREQUENCY, IIV, WEIGHT


def test_genotypes_follow_hardy_weinberg():
    n = 40_000
    for pop, q in CYP2A6_VARIANT_FREQUENCY.items():
        c = sample_cohort(n, seed=1, population=pop)
        expect = np.array([(1 - q) ** 2, 2 * q * (1 - q), q**2])
        got = np.bincount(c.cyp2a6_variants, minlength=3) / n
        se = np.sqrt(expect * (1 - expect) / n)
        assert np.all(np.abs(got - expect) < 4 * se), (pop, got, expect)


def test_log_normal_variability_has_the_stated_spread():
    c = sample_cohort(40_000, seed=2)
    assert np.median(c.weight_kg) == pytest.approx(WEIGHT[0], rel=0.01)
    for name, (omega, _) in IIV.items():
        x = c.params[name]
        z = np.log(x / (1 - x)) if name == "Emax_E2L" else np.log(x)
        assert np.std(z) == pytest.approx(omega, rel=0.03), name
    assert np.all((c.params["Emax_E2L"] > 0) & (c.params["Emax_E2L"] < 1))


def test_typical_cohort_has_no_variability():
    c = sample_cohort(5, seed=3, variability=False)
    assert np.all(c.weight_kg == WEIGHT[0]) and np.all(c.cyp2a6_variants == 0)
    assert np.ptp(c.params["SI"]) == 0


def test_japanese_population_has_higher_exposure():
    eu = run_trial(["a:letrozole:2.5mg/day"], patients=2000, months=1, seed=5, n_trace=0)
    jp = run_trial(
        ["a:letrozole:2.5mg/day"], patients=2000, months=1, seed=5, population="japanese", n_trace=0
    )
    assert np.median(jp.arm("a")["letrozole_css_nM"]) > np.median(eu.arm("a")["letrozole_css_nM"])


def test_same_seed_same_trial_whatever_the_chunking():
    arms = ["a:letrozole:2.5mg/day,adherence=0.8", "b:letrozole:0.5mg/day+nvp-aew541:1uM"]
    one = run_trial(arms, patients=90, months=0.5, seed=11, n_trace=3)
    chunked = run_trial(arms, patients=90, months=0.5, seed=11, n_trace=3, chunk_size=25)
    for a in ("a", "b"):
        for k, v in one.arm(a).items():
            np.testing.assert_array_equal(v, chunked.arm(a)[k], err_msg=k)
    assert one.summary() == chunked.summary()


@pytest.mark.slow
def test_worker_processes_and_dask_give_the_same_trial():
    arms = ["a:letrozole:2.5mg/day"]
    serial = run_trial(arms, patients=60, months=0.25, seed=12, chunk_size=20)
    procs = run_trial(arms, patients=60, months=0.25, seed=12, chunk_size=20, workers=2)
    dask = run_trial(
        arms, patients=60, months=0.25, seed=12, chunk_size=20, workers=2, backend="dask"
    )
    for other in (procs, dask):
        for k, v in serial.arm("a").items():
            np.testing.assert_array_equal(v, other.arm("a")[k], err_msg=k)


def test_adherence_lowers_exposure_and_is_seeded():
    arms = ["full:letrozole:2.5mg/day", "half:letrozole:2.5mg/day,adherence=0.5"]
    r = run_trial(arms, patients=300, months=1, seed=8, n_trace=0)
    full, half = r.arm("full")["letrozole_css_nM"], r.arm("half")["letrozole_css_nM"]
    assert np.median(half / full) == pytest.approx(0.5, abs=0.1)
    assert np.all(half < full)


def test_bad_cohort_arguments():
    with pytest.raises(InputError, match="whole number >= 1"):
        sample_cohort(0, seed=1)
    with pytest.raises(InputError, match="menopause must be"):
        sample_cohort(3, seed=1, menopause="x")


def test_frames_and_report():
    r = run_trial(["a:letrozole:2.5mg/day", "b:placebo"], patients=20, months=0.5, seed=1)
    df = r.to_frame()
    assert len(df) == 40 and set(df["arm"]) == {"a", "b"}
    arms = r.arms_frame()
    assert list(arms["arm"]) == ["a", "b"] and "igf1_change_pct_median" in arms.columns
    assert "IGF-1" in r.report()
    with pytest.raises(InputError, match="no arm 'c'"):
        r.arm("c")


def test_vectorised_and_libroadrunner_engines_agree_on_a_cohort():
    # engine="roadrunner" runs every patient in libroadrunner on patient.ant (source of truth)
    arms = ["a:letrozole:2.5mg/day,adherence=0.9", "b:letrozole:0.5mg/day+kw-2450:5nM"]
    vec = run_trial(arms, patients=8, months=1, seed=3, n_trace=0)
    ref = run_trial(arms, patients=8, months=1, seed=3, n_trace=0, engine="roadrunner")
    for a in ("a", "b"):
        for k, v in ref.arm(a).items():
            np.testing.assert_allclose(vec.arm(a)[k], v, rtol=5e-3, atol=1e-6, err_msg=k)


def test_unknown_engine():
    with pytest.raises(InputError, match="engine must be"):
        run_trial(["a:placebo"], patients=2, months=1, seed=0, engine="euler")

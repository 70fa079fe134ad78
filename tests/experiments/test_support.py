"""Claims on the ensemble: readouts, support with its interval, the holds rule, Sobol indices."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from letrolab.errors import InputError
from letrolab.experiments._model import crosstalk_off
from letrolab.experiments.support import (
    CLAIM_READOUTS,
    SUPPORT_HOLDS,
    claim_support,
    evaluate_readouts,
    sobol_indices,
)
from letrolab.model import get_model, simulate


@pytest.fixture(scope="module")
def shipped_row():
    m = get_model()
    return pd.DataFrame([{"k_s": m.parameters["k_s"]}])


def test_s3_readout_is_the_crosstalk_experiments_numbers(shipped_row):
    """The S3 readout recomputed by hand from the crosstalk protocol (crosstalk.py)."""
    values, holds = evaluate_readouts(shipped_row, claims=["S3"], workers=1)
    kw = {"drugs": {"letrozole": 1e-6}, "days": 6.0, "points_per_day": 1}
    a = simulate(igf1=0.0, **kw)
    b = simulate(igf1=10e-9, **kw)
    rises = [
        np.mean(b[o]) / np.mean(a[o]) - 1
        for o in ("p_akt", "p_erk", "p_er_s167", "p_er_s118", "er_activity")
    ]
    rises.append(b.final("viable_cells") / a.final("viable_cells") - 1)
    assert values[0, 0] == pytest.approx(min(rises), rel=1e-9)
    assert holds[0, 0] == (min(rises) > 0.10)


def test_s7_readout_contrasts_lr_clones_with_parental_cells(shipped_row):
    """The S7 readout is the LR clone's everolimus growth drop minus the parental cells' (points)."""
    values, _ = evaluate_readouts(shipped_row, claims=["S7"], workers=1)

    def drop(cell_line: str) -> float:
        kw = {"days": 6.0, "points_per_day": 1, "cell_line": cell_line}
        a = simulate(drugs={"letrozole": 1e-6, "everolimus": 10e-9}, **kw)
        b = simulate(drugs={"letrozole": 1e-6}, **kw)
        return 1 - a.final("viable_cells") / b.final("viable_cells")

    assert values[0, 0] == pytest.approx(100 * (drop("mcf7-aro-lr") - drop("mcf7-aro")), rel=1e-6)


def test_removing_the_crosstalk_on_every_set_takes_s3_support_to_zero(shipped_row):
    rows = pd.concat([shipped_row] * 3, ignore_index=True)
    sup = {s.claim: s for s in claim_support(rows, overrides=crosstalk_off(), workers=1)}
    assert sup["S3"].support == 0.0 and sup["S3"].holds is False
    # exact Clopper-Pearson upper limit for 0 of 3: 1 - 0.025^(1/3)
    assert sup["S3"].high95 == pytest.approx(1 - 0.025 ** (1 / 3), rel=1e-9)


def test_a_set_reaches_the_cell_lines_own_values(shipped_row):
    """A --set replaces a cell line's own value in the ensemble, as in the experiments: S6's
    ablation (the LR clone's PI3K/AKT changes undone) leaves LR and parental p-AKT equal."""
    from letrolab.experiments.claims import CLAIMS

    ablation = dict(CLAIMS["S6"].ablation)
    assert "pi3k_basal" in ablation  # a value the LR line states itself (cell_lines.csv)
    intact, _ = evaluate_readouts(shipped_row, claims=["S6"], workers=1)
    values, holds = evaluate_readouts(shipped_row, claims=["S6"], overrides=ablation, workers=1)
    kw = {"drugs": {"letrozole": 1e-6}, "days": 2.0, "points_per_day": 1, "parameters": ablation}
    lr, parental = simulate(cell_line="mcf7-aro-lr", **kw), simulate(**kw)
    expected = min(lr.final(o) / parental.final(o) for o in ("p_akt", "p_s6"))
    assert values[0, 0] == pytest.approx(expected, rel=1e-9)
    assert intact[0, 0] > 1.0 and not holds[0, 0]


def test_a_set_that_removes_a_readouts_signal_fails_the_claim_instead_of_crashing(shipped_row):
    """k_pi3k_act=0 takes parental p-AKT to zero, the S6 ratio's denominator."""
    values, holds = evaluate_readouts(
        shipped_row, claims=["S6", "S9"], overrides={"k_pi3k_act": 0.0}, workers=1
    )
    assert not holds[0, 0]
    assert not math.isfinite(values[0, 0]) or values[0, 0] <= 1.0


def test_support_fields_and_rule(shipped_row):
    rows = pd.concat([shipped_row] * 2, ignore_index=True)
    sup = claim_support(rows, workers=1)
    assert [s.claim for s in sup] == [f"S{i}" for i in range(1, 10)]
    for s in sup:
        d = s.summary()
        assert d["basis"]["kind"] in {"predicted", "calibrated", "structural"}
        if s.support is None:
            assert s.holds is None and "patient-model" in s.note and d["support"] is None
        else:
            assert 0 <= s.low95 <= s.support <= s.high95 <= 1
            assert s.holds == (s.low95 > SUPPORT_HOLDS)
            assert "rule" in d["support"]


def test_unknown_claim_and_backend_are_errors(shipped_row):
    with pytest.raises(InputError, match="no ensemble readout"):
        evaluate_readouts(shipped_row, claims=["S42"], workers=1)
    with pytest.raises(InputError, match="backend must be"):
        evaluate_readouts(pd.concat([shipped_row] * 2), workers=2, backend="threads")


def test_a_failing_set_counts_as_not_holding(monkeypatch, shipped_row):
    """A set whose virtual experiment fails (a ModelError) is a set where the claim fails:
    a NaN readout and holds False, never a crash."""
    import dataclasses

    from letrolab.errors import ModelError
    from letrolab.experiments import support

    def broken(_ctxs):
        raise ModelError("integration failed")

    monkeypatch.setitem(
        support.CLAIM_READOUTS, "S4", dataclasses.replace(CLAIM_READOUTS["S4"], compute=broken)
    )
    values, holds = evaluate_readouts(shipped_row, claims=["S4", "S9"], workers=1)
    assert math.isnan(values[0, 0]) and not holds[0, 0]
    assert holds[0, 1]  # the other claims of the set are still evaluated


def test_sobol_indices_rank_the_parameter_that_drives_a_readout():
    """A two-parameter ensemble: the S9 growth benefit depends on the G1 -> S rate, not on the
    S6 phosphorylation rate (no growth effect), so k_g1s_max dominates the total index."""
    rng = np.random.default_rng(0)
    sets = pd.DataFrame(
        {
            "k_g1s_max": np.exp(rng.uniform(np.log(0.06), np.log(0.2), 20)),
            "k_s6_act": np.exp(rng.uniform(np.log(2), np.log(50), 20)),
        }
    )
    df = sobol_indices(sets, n_base=8, workers=1)
    s9 = df[df["claim"] == "S9"].set_index("parameter")
    assert s9.loc["k_g1s_max", "ST"] > 0.5
    assert abs(s9.loc["k_s6_act", "ST"]) < 0.05
    assert set(df["claim"]) == set(CLAIM_READOUTS)


def test_s5_threshold_is_the_ratio_the_experiments_welch_test_detects_half_the_time():
    """At the threshold ratio, SciPy's one-sided Welch test on the apoptosis experiment's
    design (3 replicates per arm, 10 % log-normal replicate CV) passes at p < 0.05 in about
    half the draws: the noise-free readout passes exactly when the typical draw would.
    Tolerance 0.05 around 0.5 (8,000 draws: binomial SE 0.006, plus the log-normal skew)."""
    from scipy import stats

    from letrolab.experiments.apoptosis import REPLICATE_CV, REPLICATES
    from letrolab.experiments.support import s5_min_ratio

    r = s5_min_ratio()
    assert 1.1 < r < 1.3
    rng = np.random.default_rng(7)
    n = 8000
    single = 10.0 * np.exp(rng.normal(0, REPLICATE_CV, (n, REPLICATES)))
    combo = 10.0 * r * np.exp(rng.normal(0, REPLICATE_CV, (n, REPLICATES)))
    p = stats.ttest_ind(combo, single, axis=1, equal_var=False, alternative="greater").pvalue
    assert np.mean(p < 0.05) == pytest.approx(0.5, abs=0.05)


def test_s9_biomarker_contrast_follows_igf1r_and_pi3k_and_vanishes_without_them():
    """On the shipped set a PI3K-high tumour gains more from an IGF-1R/PI3K/mTOR inhibitor than
    a PI3K-low one (the strategies experiment finds the same: everolimus benefit rises with PI3K
    activation, Spearman rho +0.77 in the quick run); with S9's ablation the contrast is gone."""
    from letrolab.experiments.claims import CLAIMS
    from letrolab.experiments.support import S9_MIN_CONTRAST, s9_biomarker_contrast
    from letrolab.model.calibration import MeasureContext

    m = get_model()
    assert s9_biomarker_contrast(MeasureContext(m, {})) > 5 * S9_MIN_CONTRAST
    ablated = MeasureContext(m, {}, CLAIMS["S9"].ablation)
    assert abs(s9_biomarker_contrast(ablated)) < 1e-4


def test_shipped_sobol_table_is_of_the_shipped_ensemble():
    """sobol.csv records the SHA-256 of the ensemble it was computed on; a new ensemble without
    recomputed indices would show the report stale numbers. Every sampled claim and parameter
    is in it."""
    from letrolab.experiments.support import ensemble_digest, load_sobol, sobol_digest
    from letrolab.model.ensemble import load_ensemble

    assert sobol_digest() == ensemble_digest()
    sob = load_sobol()
    assert set(sob["claim"]) == set(CLAIM_READOUTS)
    assert set(sob["parameter"]) == set(load_ensemble().parameters.columns)
    assert np.isfinite(sob[["S1", "ST", "S1_conf", "ST_conf"]].to_numpy()).all()


def test_s6_threshold_is_the_ratio_the_blot_design_detects_half_the_time():
    """At the threshold ratio the blot experiment's one-sided blocked t-test has about 50 %
    power: SciPy's non-central t at the design of resistance.py (16 blots, 3 clones, 15 % band
    CV). Tolerance 0.03 (the non-central t is slightly skewed)."""
    from scipy import stats

    from letrolab.experiments.resistance import BLOT_CV, BLOT_REPLICATES, N_PICK
    from letrolab.experiments.support import s6_min_ratio

    r = s6_min_ratio()
    assert 1.05 < r < 1.2  # the design is sized for 1.2x at 90 % power
    df = N_PICK * (BLOT_REPLICATES - 1)
    se = np.sqrt(2) * BLOT_CV * np.sqrt((1 / N_PICK + 1) / BLOT_REPLICATES)
    power = stats.nct.sf(stats.t.ppf(0.95, df), df, np.log(r) / se)
    assert power == pytest.approx(0.5, abs=0.03)

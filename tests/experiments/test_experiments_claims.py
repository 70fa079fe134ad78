"""Claim rules S1–S9: computed from tables, fail when the numbers say so, never assumed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from letrolab.experiments.claims import CLAIMS, ClaimError, ClaimResult, evaluate_claims


def s6_bands(
    fold: dict[str, tuple[float, float]],
    *,
    spread: tuple[float, float, float] = (0.95, 1.0, 1.05),
    truth: dict[str, tuple[float, float]] | None = None,
) -> pd.DataFrame:
    """``s6_blot_bands`` as the resistance experiment writes it: one row per lane, readout and
    replicate blot, ``relative`` = phospho/total over the parental lane of the same blot.

    ``fold[clone] = (p-AKT, p-S6)`` is each clone's fold change; replicate ``r`` of a clone is
    ``fold * spread[r]`` (geometric mean ``fold`` for the default spread's product ≈ 1).
    """
    truth = truth or fold
    rows = []
    for k, target in enumerate(("p-AKT", "p-S6")):
        for rep, f in enumerate(spread, start=1):
            rows.append(
                {
                    "clone": "parental",
                    "target": target,
                    "replicate": rep,
                    "relative": 1.0,
                    "model_fraction": 0.2,
                }
            )
            for clone, v in fold.items():
                rows.append(
                    {
                        "clone": clone,
                        "target": target,
                        "replicate": rep,
                        "relative": v[k] * f,
                        "model_fraction": 0.2 * truth[clone][k],
                    }
                )
    return pd.DataFrame(rows)


def passing_tables() -> dict[str, pd.DataFrame]:
    """Tables in the shapes the experiments write, with values that satisfy every rule."""
    rng = np.random.default_rng(0)
    arms = pd.DataFrame(
        {
            "arm": ["letrozole 0.5 mg", "letrozole 2.5 mg", "premenopausal letrozole 2.5 mg"],
            "dose_mg": [0.5, 2.5, 2.5],
            "premenopausal": [False, False, True],
            "igf1_change_pct_median": [23.0, 25.0, 30.0],
            "igfbp3_change_pct_median": [0.5, -1.0, 0.0],
            "fsh_change_pct_median": [40.0, 45.0, 120.0],
            "e2_change_pct_median": [-76.0, -78.0, -95.0],
            "lh_change_pct_median": [30.0, 31.0, 150.0],
            "ovarian_igf1_change_pct_median": [np.nan, np.nan, 35.0],
        }
    )
    s3 = pd.DataFrame(
        {
            "crosstalk": ["intact", "intact", "ablated", "ablated"],
            "igf1": [False, True, False, True],
            "p_er_s167": [0.2, 0.5, 0.0, 0.0],
            "p_er_s118": [0.1, 0.3, 0.0, 0.0],
            "p_akt": [0.1, 0.2, 0.1, 0.2],
            "p_erk": [0.1, 0.3, 0.1, 0.3],
            "er_activity": [0.3, 0.45, 0.05, 0.05],
            "growth_fold": [1.5, 2.5, 0.3, 0.5],
        }
    )
    s4 = pd.DataFrame(
        {
            "cell_line": ["mcf7-aro"] * 3 + ["t47d-aro"] * 3,
            "fa": [0.5, 0.75, 0.9] * 2,
            "ci": [0.4, 0.45, 0.7, 0.3, 0.35, 0.5],
        }
    )
    rows = []
    for line in ("mcf7-aro", "t47d-aro"):
        for trt, mu in (("vehicle", 3), ("letrozole", 6), ("nvp-aew541", 7), ("combination", 15)):
            rows += [
                {
                    "cell_line": line,
                    "treatment": trt,
                    "replicate": r,
                    "sub_g1_pct": mu + rng.normal(0, 0.5),
                }
                for r in range(3)
            ]
    s5 = pd.DataFrame(rows)
    s6 = s6_bands({"LR1": (2.1, 1.8), "LR2": (1.6, 1.5)})
    s7 = pd.DataFrame(
        {
            "clone": ["parental", "parental", "LR1", "LR1", "LR2", "LR2"],
            "treatment": ["letrozole", "letrozole+everolimus"] * 3,
            "growth_fold": [2.0, 1.6, 3.0, 1.5, 2.8, 1.6],
            "sub_g1_pct": [6.0, 7.0, 4.0, 9.0, 4.5, 8.0],
        }
    )
    s8 = pd.DataFrame(
        {
            "selectivity": ["dual"] * 3 + ["selective"] * 3,
            "igf1r_inhibition": [0.5, 0.8, 0.9] * 2,
            "hyperglycemia_pct": [5.0, 30.0, 60.0, 0.0, 1.0, 3.0],
            "fasting_glucose_mM_median": [6.0, 7.5, 9.5, 5.3, 5.4, 5.5],
            "fasting_glucose_mM_p95": [7.5, 9.0, 12.0, 5.9, 6.0, 6.2],
        }
    )
    s9r = pd.DataFrame(
        {
            "combination": [
                "letrozole+everolimus",
                "letrozole+alpelisib",
                "letrozole+palbociclib",
                "letrozole+nvp-aew541",
            ],
            "strategy": ["downstream", "downstream", "vertical", "igf1r"],
            "median_benefit": [0.4, 0.35, 0.5, 0.2],
        }
    )
    s9b = pd.DataFrame(
        {
            "added_drug": ["everolimus", "everolimus", "palbociclib"],
            "feature": ["igf1r_level", "pi3k_activity", "er_dependence"],
            "rho": [0.5, 0.6, -0.2],
            "p_value": [1e-5, 1e-6, 0.1],
        }
    )
    return {
        "s1_letrozole_arms": arms,
        "s3_crosstalk": s3,
        "s4_ci_at_fa": s4,
        "s5_subg1": s5,
        "s6_blot_bands": s6,
        "s7_everolimus": s7,
        "s8_metabolic": s8,
        "s9_ranking": s9r,
        "s9_biomarkers": s9b,
    }


def test_every_claim_holds_on_passing_tables():
    res = evaluate_claims(passing_tables())
    assert [r.id for r in res] == [f"S{i}" for i in range(1, 10)]
    assert all(r.evaluated for r in res)
    assert [r.id for r in res if not r.holds] == []


def test_missing_tables_are_not_evaluated_only_when_the_experiment_did_not_run():
    why = {c: f"experiment for {c} not run: no model" for c in CLAIMS}
    res = evaluate_claims({}, not_run=why)
    assert not any(r.holds or r.evaluated for r in res)
    assert res[3].model == "not evaluated: experiment for S4 not run: no model"
    assert res[3].status == "not evaluated"
    # a table missing although its experiment ran is a defect, not "not evaluated"
    del why["S4"]
    with pytest.raises(ClaimError, match=r"claim S4: results table\(s\) s4_ci_at_fa missing"):
        evaluate_claims({k: v for k, v in passing_tables().items() if k != "s4_ci_at_fa"})


def test_a_typo_in_a_column_is_a_loud_defect_not_not_evaluated():
    t = passing_tables()
    t["s4_ci_at_fa"] = t["s4_ci_at_fa"].rename(columns={"ci": "CI"})
    with pytest.raises(ClaimError, match="claim S4: its rule failed on the tables: KeyError"):
        evaluate_claims(t)


def test_an_experiment_the_model_could_not_simulate_makes_its_claims_fail_with_the_reason():
    t = {k: v for k, v in passing_tables().items() if k not in ("s6_blot_bands", "s7_everolimus")}
    why = "experiment 'resistance' failed: ModelError: passage 1: non-finite or negative growth"
    res = {r.id: r for r in evaluate_claims(t, broken={"S6": why, "S7": why})}
    for cid in ("S6", "S7"):
        assert res[cid].status == "fails" and res[cid].evaluated and not res[cid].holds
        assert res[cid].model == f"the experiment could not be simulated: {why}"
    assert res["S5"].holds


def test_claim_results_are_keyword_only_and_frozen():
    with pytest.raises(TypeError):
        ClaimResult("S1", "c", "s", "holds", "m", "r")  # type: ignore[misc]
    r = evaluate_claims(passing_tables())[0]
    with pytest.raises(AttributeError):
        r.status = "fails"  # type: ignore[misc]
    assert r.status == "holds" and r.readout == pytest.approx(25.0)


def _set(t, name, col, where, value):
    df = t[name].copy()
    df.loc[where(df), col] = value
    t[name] = df
    return t


@pytest.mark.parametrize(
    ("cid", "perturb"),
    [
        (
            "S1",
            lambda t: _set(
                t, "s1_letrozole_arms", "igf1_change_pct_median", lambda d: d.dose_mg == 0.5, 12.0
            ),
        ),
        (
            "S1",
            lambda t: _set(
                t, "s1_letrozole_arms", "igfbp3_change_pct_median", lambda d: d.dose_mg == 2.5, 8.0
            ),
        ),
        (
            "S2",
            lambda t: _set(
                t,
                "s1_letrozole_arms",
                "ovarian_igf1_change_pct_median",
                lambda d: d.premenopausal,
                -5.0,
            ),
        ),
        (
            "S2",
            lambda t: _set(
                t, "s1_letrozole_arms", "fsh_change_pct_median", lambda d: ~d.premenopausal, 2.0
            ),
        ),
        (
            "S3",
            lambda t: _set(
                t, "s3_crosstalk", "er_activity", lambda d: (d.crosstalk == "intact") & d.igf1, 0.31
            ),
        ),
        (
            "S2",
            lambda t: _set(
                t, "s1_letrozole_arms", "e2_change_pct_median", lambda d: ~d.premenopausal, -95.0
            ),
        ),
        (
            "S2",
            lambda t: _set(
                t, "s1_letrozole_arms", "lh_change_pct_median", lambda d: d.premenopausal, 40.0
            ),
        ),
        (
            "S7",
            lambda t: _set(
                t,
                "s7_everolimus",
                "growth_fold",
                lambda d: (d.clone == "parental") & (d.treatment != "letrozole"),
                0.9,
            ),
        ),
        (
            "S8",
            lambda t: _set(
                t,
                "s8_metabolic",
                "fasting_glucose_mM_p95",
                lambda d: (d.selectivity == "dual") & (d.igf1r_inhibition == 0.5),
                15.0,
            ),
        ),
        (
            "S8",
            lambda t: _set(
                t,
                "s8_metabolic",
                "fasting_glucose_mM_median",
                lambda d: (d.selectivity == "dual") & (d.igf1r_inhibition == 0.9),
                8.0,
            ),
        ),
        (
            "S3",
            lambda t: _set(t, "s3_crosstalk", "p_er_s118", lambda d: d.crosstalk == "intact", 0.1),
        ),
        ("S3", lambda t: _set(t, "s3_crosstalk", "p_erk", lambda d: d.igf1, 0.105)),
        (
            "S4",
            lambda t: _set(
                t, "s4_ci_at_fa", "ci", lambda d: (d.cell_line == "t47d-aro") & (d.fa == 0.75), 0.65
            ),
        ),
        ("S4", lambda t: _set(t, "s4_ci_at_fa", "ci", lambda d: d.fa == 0.5, np.nan)),
        (
            "S5",
            lambda t: _set(
                t, "s5_subg1", "sub_g1_pct", lambda d: d.treatment == "combination", 6.5
            ),
        ),
        (
            "S6",
            lambda t: _set(
                t,
                "s6_blot_bands",
                "relative",
                lambda d: (d.clone == "LR2") & (d.target == "p-S6"),
                0.9,
            ),
        ),
        (
            "S7",
            lambda t: _set(
                t, "s7_everolimus", "sub_g1_pct", lambda d: d.treatment != "letrozole", 3.0
            ),
        ),
        (
            "S7",
            lambda t: _set(
                t, "s7_everolimus", "growth_fold", lambda d: d.treatment != "letrozole", 2.7
            ),
        ),
        (
            "S8",
            lambda t: _set(
                t, "s8_metabolic", "hyperglycemia_pct", lambda d: d.selectivity == "selective", 25.0
            ),
        ),
        (
            "S8",
            lambda t: _set(
                t, "s8_metabolic", "hyperglycemia_pct", lambda d: d.selectivity == "dual", 5.0
            ),
        ),
        (
            "S9",
            lambda t: _set(
                t, "s9_ranking", "median_benefit", lambda d: d.strategy == "vertical", 0.02
            ),
        ),
        ("S9", lambda t: _set(t, "s9_biomarkers", "rho", lambda d: d.index >= 0, 0.1)),
    ],
)
def test_claim_fails_when_its_numbers_do(cid, perturb):
    res = {r.id: r for r in evaluate_claims(perturb(passing_tables()))}
    assert res[cid].evaluated
    assert not res[cid].holds, res[cid].model
    others = [
        r for k, r in res.items() if k != cid and not (cid in ("S1", "S2") and k in ("S1", "S2"))
    ]
    assert all(r.holds for r in others)


def test_welch_one_sided_matches_scipy():
    from scipy import stats

    from letrolab.experiments.claims import _welch_greater

    x, y = np.array([5.0, 6.5, 7.1, 6.0]), np.array([4.0, 4.4, 5.9])
    ref = stats.ttest_ind(x, y, equal_var=False, alternative="greater").pvalue
    assert _welch_greater(x, y) == pytest.approx(ref, rel=1e-12)
    assert _welch_greater(np.full(3, 2.0), np.full(3, 1.0)) == 0.0


def test_model_text_carries_the_computed_numbers():
    res = {r.id: r for r in evaluate_claims(passing_tables())}
    assert "CI50 0.40" in res["S4"].model and "CI75 0.35" in res["S4"].model
    assert "+23.0 %" in res["S1"].model
    assert res["S6"].values["readouts"]["p-AKT"]["fold_change"]["LR1"] == pytest.approx(
        2.1, rel=2e-3
    )
    assert "LR1 2.10×, LR2 1.60×" in res["S6"].model


def test_claims_json_entry_shape():
    entry = evaluate_claims(passing_tables())[0].summary()
    assert list(entry) == [
        "id",
        "claim",
        "seed",
        "model",
        "holds",
        "status",
        "readout_label",
        "readout",
    ]
    assert isinstance(entry["holds"], bool)
    assert set(CLAIMS) == {f"S{i}" for i in range(1, 10)}


def test_s9_biomarker_must_be_for_a_pathway_inhibitor():
    """A feature predicting palbociclib's benefit is not an IGF-1R/PI3K/mTOR biomarker."""
    t = passing_tables()
    t["s9_biomarkers"] = pd.DataFrame(
        {
            "added_drug": ["everolimus", "palbociclib"],
            "feature": ["pi3k_activity", "igf1r_level"],
            "rho": [0.05, 0.8],
            "p_value": [0.5, 1e-9],
        }
    )
    s9 = evaluate_claims(t)[8]
    assert s9.evaluated and not s9.holds
    assert "no tumour feature" in s9.model


def test_s3_solver_roundoff_is_not_a_rise():
    """With the kinase -> ER rates at 0, p-ER S167 is 0 without IGF-1 and ~1e-25 (integrator
    round-off, far below the engine's absolute tolerance 1e-11) with it: no rise, S3 fails."""
    t = passing_tables()
    t = _set(t, "s3_crosstalk", "p_er_s167", lambda d: (d.crosstalk == "intact") & ~d.igf1, 0.0)
    t = _set(t, "s3_crosstalk", "p_er_s167", lambda d: (d.crosstalk == "intact") & d.igf1, 1e-25)
    res = {r.id: r for r in evaluate_claims(t)}
    assert res["S3"].values["rise"]["p_er_s167"] == 0.0
    assert not res["S3"].holds
    # a real rise from zero is still infinite
    t = _set(t, "s3_crosstalk", "p_er_s167", lambda d: (d.crosstalk == "intact") & d.igf1, 1e-3)
    res = {r.id: r for r in evaluate_claims(t)}
    assert res["S3"].values["rise"]["p_er_s167"] == np.inf


# ------------------------------------------------------------------------------------ S6 rule
def _s6(bands: pd.DataFrame):
    t = passing_tables()
    t["s6_blot_bands"] = bands
    return {r.id: r for r in evaluate_claims(t)}["S6"]


def test_s6_reports_the_simulated_ratios_without_judging_them():
    res = _s6(
        s6_bands(
            {"LR1": (2.1, 1.8), "LR2": (1.6, 1.5)}, truth={"LR1": (1.1, 1.05), "LR2": (1.1, 1.05)}
        )
    )
    # the verdict is the measured densitometry's, the truth is only reported
    assert res.holds
    assert "(simulated: p-AKT LR1 1.10×, LR2 1.10×; p-S6 LR1 1.05×, LR2 1.05×)" in res.model
    assert res.values["readouts"]["p-S6"]["model_ratio"]["LR1"] == pytest.approx(1.05)


def test_s6_clear_increase_holds_and_reports_fold_changes_and_p_values():
    res = _s6(s6_bands({"LR1": (1.5, 1.3), "LR2": (1.6, 1.4), "LR3": (1.4, 1.25)}))
    assert res.holds, res.model
    ro = res.values["readouts"]
    assert ro["p-S6"]["dof"] == 6.0  # (4 lanes - 1) x (3 blots - 1)
    assert ro["p-AKT"]["p_one_sided"] < 0.05 and ro["p-S6"]["p_one_sided"] < 0.05
    assert "p-S6: LR1 1.30×, LR2 1.40×, LR3 1.25×" in res.model
    assert "one-sided p=" in res.model and "blocked t-test" in res.rule


def test_s6_no_increase_fails():
    res = _s6(s6_bands({"LR1": (1.0, 1.0), "LR2": (1.02, 0.98), "LR3": (0.99, 1.01)}))
    assert res.evaluated and not res.holds
    assert res.values["readouts"]["p-AKT"]["p_one_sided"] > 0.05


def test_s6_one_clone_in_the_opposite_direction_fails_although_the_pool_is_significant():
    res = _s6(s6_bands({"LR1": (1.8, 1.8), "LR2": (1.9, 1.9), "LR3": (1.5, 0.9)}))
    ro = res.values["readouts"]["p-S6"]
    assert ro["p_one_sided"] < 0.05  # (a) holds for the pool ...
    assert ro["fold_change"]["LR3"] < 1  # ... but (b) does not
    assert not res.holds


def test_s6_a_noisy_increase_is_not_significant():
    """Fold changes near 1.2x in every clone, but a blot-to-blot scatter of ~2-fold: the
    direction is consistent, the increase is not shown (p > 0.05), S6 fails."""
    bands = s6_bands({"LR1": (1.0, 1.0), "LR2": (1.0, 1.0)})
    reps = {"LR1": [0.6, 1.3, 2.2], "LR2": [2.2, 0.7, 1.2]}
    for (clone, rep), idx in bands.groupby(["clone", "replicate"]).groups.items():
        if clone != "parental":
            bands.loc[idx, "relative"] = reps[clone][rep - 1]
    res = _s6(bands)
    ro = res.values["readouts"]["p-AKT"]
    assert all(f > 1 for f in ro["fold_change"].values())
    assert ro["p_one_sided"] > 0.05
    assert not res.holds


def test_s6_unbalanced_or_nonpositive_bands_fail_as_untestable():
    bands = s6_bands({"LR1": (1.5, 1.5)})
    res = _s6(bands[~((bands.clone == "LR1") & (bands.replicate == 3))])
    assert res.status == "fails"
    assert "cannot be tested" in res.model and "≥ 2 replicate blots with a positive" in res.model
    bands.loc[0, "relative"] = 0.0
    assert _s6(bands).status == "fails"


def test_blocked_contrast_two_lanes_is_the_paired_t_test():
    from scipy import stats

    from letrolab.experiments.claims import _blocked_contrast_greater

    par, lr = np.array([0.1, -0.2, 0.05, 0.3]), np.array([0.5, 0.1, 0.2, 0.9])
    est, t, dof, p = _blocked_contrast_greater(np.vstack([par, lr]))
    ref = stats.ttest_rel(lr, par, alternative="greater")
    assert est == pytest.approx(np.mean(lr - par), rel=1e-12)
    assert t == pytest.approx(ref.statistic, rel=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-12)
    assert dof == 3


def test_blocked_contrast_matches_least_squares_two_way_anova():
    """Reference: ordinary least squares with lane and blot dummies, contrast t from
    (X'X)^-1 (the textbook linear-model computation, independent of the closed form)."""
    from scipy import stats

    from letrolab.experiments.claims import _blocked_contrast_greater

    rng = np.random.default_rng(3)
    n_lanes, n_blots = 4, 3
    lane_effect = np.array([[0.0], [0.3], [0.2], [0.4]])
    blot_effect = np.array([0.5, -1.0, 2.0])
    y = rng.normal(0.0, 0.2, (n_lanes, n_blots)) + lane_effect + blot_effect
    lane = np.repeat(np.arange(n_lanes), n_blots)
    blot = np.tile(np.arange(n_blots), n_lanes)
    x = np.column_stack(
        [np.ones(lane.size)]
        + [(lane == i).astype(float) for i in range(1, n_lanes)]
        + [(blot == j).astype(float) for j in range(1, n_blots)]
    )
    beta, *_ = np.linalg.lstsq(x, y.ravel(), rcond=None)
    dof = lane.size - x.shape[1]
    s2 = np.sum((y.ravel() - x @ beta) ** 2) / dof
    c = np.zeros(x.shape[1])
    c[1:n_lanes] = 1.0 / (n_lanes - 1)  # mean(LR) - parental in the treatment coding
    t_ref = (c @ beta) / np.sqrt(s2 * c @ np.linalg.inv(x.T @ x) @ c)
    est, t, d, p = _blocked_contrast_greater(y)
    assert est == pytest.approx(c @ beta, rel=1e-10)
    assert t == pytest.approx(t_ref, rel=1e-10)
    assert d == dof
    assert p == pytest.approx(stats.t.sf(t_ref, dof), rel=1e-10)


def test_blocked_contrast_is_calibrated_under_the_null():
    """No difference between lanes: the one-sided test rejects at rate alpha (Monte Carlo,
    4000 designs of 4 lanes x 3 blots with blot effects; 4 binomial SDs)."""
    from letrolab.experiments.claims import _blocked_contrast_greater

    rng = np.random.default_rng(11)
    ps = np.array(
        [
            _blocked_contrast_greater(rng.normal(0, 0.2, (4, 3)) + rng.normal(0, 1, 3))[3]
            for _ in range(4000)
        ]
    )
    rate = float(np.mean(ps < 0.05))
    assert abs(rate - 0.05) < 4 * np.sqrt(0.05 * 0.95 / 4000)


@given(
    y=hnp.arrays(np.float64, (4, 3), elements=st.floats(-3, 3)),
    shift=hnp.arrays(np.float64, 3, elements=st.floats(-5, 5)),
)
@settings(max_examples=60, deadline=None)
def test_blocked_contrast_ignores_what_a_blot_shares(y, shift):
    """Adding a constant to every lane of a blot (exposure, the parental lane it is
    normalised to) changes neither the contrast nor its p-value."""
    from letrolab.experiments.claims import _blocked_contrast_greater

    resid = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0, keepdims=True) + y.mean()
    assume(np.sqrt(np.mean(resid**2)) > 1e-3)  # away from the round-off of an exact fit
    a = _blocked_contrast_greater(y)
    b = _blocked_contrast_greater(y + shift)
    assert b[0] == pytest.approx(a[0], abs=1e-9)
    assert b[1] == pytest.approx(a[1], rel=1e-6, abs=1e-9)
    assert b[3] == pytest.approx(a[3], abs=1e-9)


def test_s6_model_text_states_the_rule_and_why_it_failed():
    res = _s6(s6_bands({"LR1": (1.8, 1.8), "LR2": (1.9, 1.9), "LR3": (1.5, 0.9)}))
    assert res.model.endswith("every clone > 1×: not met (p-S6 not > 1× in every clone)")
    ok = _s6(s6_bands({"LR1": (1.8, 1.8), "LR2": (1.9, 1.9)}))
    assert ok.model.endswith("every clone > 1×: met")


def test_s3_reports_how_much_of_the_igf1_growth_needs_er_phosphorylation():
    """Not part of the rule: IGF-1 adds 1.0 (x seeded) intact and 0.2 with the kinase -> ER
    phosphorylation removed, so 80 % of the added cells need it."""
    res = {r.id: r for r in evaluate_claims(passing_tables())}["S3"]
    assert res.values["growth_gain_share_through_er_phosphorylation"] == pytest.approx(0.8)
    assert "80% of the cells IGF-1 adds need the kinase → ER phosphorylation" in res.model

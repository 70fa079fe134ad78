"""S1, S2: virtual letrozole cohorts — serum IGF-I, IGFBP-3 and FSH.

Protocol (Bajetta et al. 1997, J Steroid Biochem Mol Biol 63:261, as summarised by the seed):
postmenopausal women with breast cancer took letrozole 0.5 or 2.5 mg daily; after three months
serum IGF-I had risen by ~24 % on both doses, IGFBP-3 was unchanged. S2 is physiology: falling
estrogen lifts pituitary FSH, and FSH raises intra-ovarian IGF-1 (premenopausal).

Virtual version: the patient model (:func:`letrolab.model.patient.run_trial`: oral letrozole
PK, peripheral aromatisation, E2 → LH/FSH feedback, hepatic GH/IGF-1/IGFBP-3) is given to a
seeded postmenopausal cohort on both doses for three months, and to a premenopausal cohort
(with the ovary) on 2.5 mg. The medians of each arm are the model's values.

Tables: ``s1_letrozole_arms`` (one row per arm), ``s1_patients`` (per-patient readouts).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from letrolab._io import pyplot
from letrolab.experiments._framework import Context, Experiment, Figure, Output

__all__ = ["EXPERIMENT", "trial_power"]

MONTHS = 3.0
TRIAL_N = 15  # patients per arm in Bajetta 1997
PATIENTS = {False: 2000, True: 300}
POST_ARMS = (("letrozole 0.5 mg", 0.5), ("letrozole 2.5 mg", 2.5))
PRE_ARM = ("premenopausal letrozole 2.5 mg", 2.5)
KEEP = (
    "letrozole_css_nM",
    "aromatase_inhibition_pct",
    "e2_change_pct",
    "fsh_change_pct",
    "lh_change_pct",
    "igf1_change_pct",
    "igfbp3_change_pct",
    "ovarian_igf1_change_pct",
)


def _arm_spec(label: str, dose: float) -> str:
    return f"{label.replace(' ', '_').replace('.', 'p')}:letrozole:{dose:g}mg/day"


def trial_power(
    change: np.ndarray,
    rng: np.random.Generator,
    *,
    n: int = TRIAL_N,
    trials: int = 2000,
    alpha: float = 0.05,
) -> float:
    """Probability that an ``n``-patient arm shows a significant change from baseline.

    Arms of ``n`` patients are drawn (with replacement) from the virtual cohort's per-patient
    changes and each is tested with the two-sided one-sample t-test of the mean change against
    0 (the paired baseline-vs-3-months comparison; Student 1908), all draws in one vectorised
    step. Returns the fraction with p < ``alpha``.
    """
    from scipy import stats

    x = np.asarray(change, dtype=float)
    x = x[np.isfinite(x)]
    draws = x[rng.integers(0, x.size, size=(trials, n))]
    t = draws.mean(axis=1) / (draws.std(axis=1, ddof=1) / np.sqrt(n))
    p = 2.0 * stats.t.sf(np.abs(t), n - 1)
    return float(np.mean(p < alpha))


def _rows(trial, labels: dict[str, tuple[str, float]], pre: bool, rng: np.random.Generator):
    arms, patients = [], []
    for key, (label, dose) in labels.items():
        col = trial.arm(key)
        row = {"arm": label, "dose_mg": dose, "premenopausal": pre, "n": trial.patients}
        igf = np.asarray(col["igf1_change_pct"], float)
        row["igf1_change_pct_mean"] = float(np.mean(igf))
        row[f"igf1_rise_power_n{TRIAL_N}"] = trial_power(igf, rng)
        for k in KEEP:
            v = np.asarray(col[k], float) if k in col else np.full(trial.patients, np.nan)
            row[f"{k}_median"] = float(np.median(v)) if np.isfinite(v).any() else float("nan")
            if k in ("igf1_change_pct", "igfbp3_change_pct", "fsh_change_pct"):
                row[f"{k}_p5"], row[f"{k}_p95"] = (float(x) for x in np.percentile(v, [5, 95]))
        arms.append(row)
        per = pd.DataFrame({k: np.asarray(col[k], float) for k in KEEP if k in col})
        per.insert(0, "patient", np.arange(trial.patients))
        per.insert(0, "arm", label)
        patients.append(per)
    return arms, patients


def _figure(per: pd.DataFrame) -> Figure:
    from letrolab.report import figure_png

    plt = pyplot()
    arms = list(dict.fromkeys(per["arm"]))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for ax, (col, title) in zip(
        axes,
        (
            ("igf1_change_pct", "serum IGF-I, change at 3 months (%)"),
            ("igfbp3_change_pct", "IGFBP-3, change at 3 months (%)"),
            ("fsh_change_pct", "FSH, change at 3 months (%)"),
        ),
        strict=True,
    ):
        data = [per.loc[per["arm"] == a, col].dropna().to_numpy() for a in arms]
        ax.boxplot(data, showfliers=False)
        ax.set_xticks(
            range(1, len(arms) + 1), [a.replace("letrozole ", "") for a in arms], rotation=15
        )
        ax.axhline(0, color="grey", lw=0.8)
        if col == "igf1_change_pct":
            ax.axhspan(18, 30, color="C2", alpha=0.15, label="seed: +24 % (± 6)")
            ax.legend(fontsize=7)
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return Figure(
        "s1_s2_patients",
        "S1/S2. Virtual patients after three months of letrozole: serum IGF-I and IGFBP-3 "
        "change (S1) and FSH change (S2), postmenopausal cohorts on 0.5 and 2.5 mg and a "
        "premenopausal cohort on 2.5 mg (boxes: quartiles, whiskers 1.5 IQR).",
        figure_png(fig),
    )


def run(ctx: Context) -> Output:
    """Run the S1/S2 cohorts (see the module docstring)."""
    from letrolab.model.patient import run_trial

    params = dict(ctx.patient_overrides) or None
    notes = (
        (
            "patient-model parameters set for this run: "
            + ", ".join(f"{k}={v:g}" for k, v in ctx.patient_overrides.items()),
        )
        if ctx.patient_overrides
        else ()
    )
    n = PATIENTS[bool(ctx.quick)]
    seed = int(ctx.rng("patients").integers(2**31))
    post = {_arm_spec(lab, d).split(":")[0]: (lab, d) for lab, d in POST_ARMS}
    ctx.progress(0.1, f"postmenopausal cohort, {n} patients per arm")
    t_post = run_trial(
        [_arm_spec(lab, d) for lab, d in POST_ARMS],
        patients=n,
        months=MONTHS,
        seed=seed,
        menopause="post",
        backend="serial",
        parameters=params,
    )
    ctx.progress(0.6, f"premenopausal cohort, {n} patients")
    pre_key = _arm_spec(*PRE_ARM)
    t_pre = run_trial(
        [pre_key],
        patients=n,
        months=MONTHS,
        seed=seed,
        menopause="pre",
        backend="serial",
        parameters=params,
    )
    rng = ctx.rng("patients-power")
    a1, p1 = _rows(t_post, post, False, rng)
    a2, p2 = _rows(t_pre, {pre_key.split(":")[0]: PRE_ARM}, True, rng)
    per = pd.concat(p1 + p2, ignore_index=True)
    return Output(
        tables={"s1_letrozole_arms": pd.DataFrame(a1 + a2), "s1_patients": per},
        figures=(_figure(per),),
        notes=notes,
    )


EXPERIMENT = Experiment(
    id="patients",
    title="Patients: letrozole cohorts, IGF-I, IGFBP-3, FSH",
    claims=("S1", "S2"),
    requires=("letrolab.model.patient:run_trial",),
    run=run,
    methods=(
        "Seeded virtual cohorts (2,000 patients per arm; 300 in a quick run) with "
        "inter-individual variability in PK and endocrine parameters and CYP2A6 genotypes take "
        "oral letrozole daily for three months: postmenopausal women on 0.5 or 2.5 mg (the arms "
        "of Bajetta 1997) and premenopausal women on 2.5 mg. Each arm reports the median and "
        "the 5th–95th percentiles of the change from baseline of serum IGF-I, IGFBP-3, FSH, "
        "plasma E2 and (premenopausal) intra-ovarian IGF-1, and the probability that an arm of 15 "
        "patients, as in Bajetta 1997, would show the IGF-I rise at p < 0.05 (one-sample t-test "
        "on arms resampled from the cohort)."
    ),
)

"""S8: dual IGF-1R/IR (KW-2450) versus selective IGF-1R (NVP-AEW541) inhibition: hyperglycemia.

The seed: dual IGF-1R/IR inhibition brings metabolic toxicity, chiefly hyperglycemia, through
the insulin receptor's homology with IGF-1R (refs [5], [8]). The fair comparison is at the same
IGF-1R inhibition, the antitumour target: the two drugs are given at steady plasma exposures
that inhibit IGF-1R by 50, 75 and 90 % (from each drug's IGF-1R potency in the drug catalogue,
``C = IC50 * (I / (1 - I))^(1/h)``, the inverse of the Hill equation), and the patient model's
glucose–insulin module (Bergman-type minimal model, insulin-receptor inhibition lowering
insulin-dependent glucose disposal) gives each virtual patient's fasting glucose after a month.
Hyperglycemia is fasting glucose above 7.0 mmol/L (the WHO/ADA diabetes threshold, as the
trial engine uses).

Table: ``s8_metabolic`` — one row per drug and IGF-1R inhibition level.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from letrolab._io import pyplot
from letrolab.experiments._framework import Context, Experiment, Figure, Output

__all__ = ["EXPERIMENT", "matched_concentration"]

LEVELS = (0.5, 0.75, 0.9)
DRUGS = (("kw-2450", "dual"), ("nvp-aew541", "selective"))
PATIENTS = {False: 1000, True: 300}
MONTHS = 1.0


def matched_concentration(drug: str, inhibition: float, *, target: str = "IGF1R") -> float:
    """Concentration (nM) at which ``drug`` inhibits ``target`` by ``inhibition`` (0–1).

    Inverts the catalogue's Hill form ``1 - emax C^h / (C^h + IC50^h)``.

    Examples
    --------
    >>> round(matched_concentration("nvp-aew541", 0.5), 6)
    86.0
    """
    from letrolab.errors import InputError
    from letrolab.model import load_catalogue

    t = next((t for t in load_catalogue()[drug].targets if t.target == target), None)
    if t is None:
        raise InputError(f"drug {drug!r} has no {target} entry in the drug catalogue")
    if not 0 < inhibition < t.emax:
        raise InputError(
            f"inhibition {inhibition} is outside (0, emax = {t.emax}) for {drug} on {target}"
        )
    x = inhibition / (t.emax - inhibition)
    return float(t.potency_nM * x ** (1.0 / t.hill))


def _figure(df: pd.DataFrame) -> Figure:
    from letrolab.report import figure_png

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for sel, g in df.groupby("selectivity"):
        x = 100 * g["igf1r_inhibition"]
        label = f"{g['drug'].iloc[0]} ({sel})"
        axes[0].plot(x, g["hyperglycemia_pct"], marker="o", label=label)
        axes[1].errorbar(
            x,
            g["fasting_glucose_mM_median"],
            yerr=[
                g["fasting_glucose_mM_median"] - g["fasting_glucose_mM_p5"],
                g["fasting_glucose_mM_p95"] - g["fasting_glucose_mM_median"],
            ],
            marker="o",
            capsize=3,
            label=label,
        )
    axes[0].set_ylabel("hyperglycemia (% of patients)")
    axes[1].axhline(7.0, color="C3", ls="--", lw=0.8, label="7 mmol/L")
    axes[1].set_ylabel("fasting glucose (mmol/L), median and 5–95 %")
    for ax in axes:
        ax.set_xlabel("IGF-1R inhibition (%)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return Figure(
        "s8_metabolic",
        "S8. Hyperglycemia in virtual patients at matched IGF-1R inhibition: the dual "
        "IGF-1R/IR inhibitor KW-2450 against the selective NVP-AEW541.",
        figure_png(fig),
    )


def run(ctx: Context) -> Output:
    """Run the S8 cohorts (see the module docstring)."""
    from letrolab.model.patient import run_trial

    n = PATIENTS[bool(ctx.quick)]
    seed = int(ctx.rng("metabolic").integers(2**31))
    arms, meta = [], {}
    for drug, sel in DRUGS:
        for level in LEVELS:
            conc = matched_concentration(drug, level)
            name = f"{drug.replace('-', '')}_{round(100 * level)}"
            arms.append(f"{name}:{drug}:{conc:.6g}nM")
            meta[name] = (drug, sel, level, conc)
    ctx.progress(0.1, f"{len(arms)} arms, {n} patients")
    trial = run_trial(
        arms,
        patients=n,
        months=MONTHS,
        seed=seed,
        backend="serial",
        parameters=dict(ctx.patient_overrides) or None,
    )
    rows = []
    for name, (drug, sel, level, conc) in meta.items():
        col = trial.arm(name)
        g = np.asarray(col["fasting_glucose_mM"], float)
        rows.append(
            {
                "drug": drug,
                "selectivity": sel,
                "igf1r_inhibition": level,
                "conc_nM": conc,
                "igf1r_inhibition_measured": float(np.median(col["igf1r_inhibition_pct"])) / 100,
                "ir_inhibition": float(np.median(col["ir_inhibition_pct"])) / 100,
                "fasting_glucose_mM_median": float(np.median(g)),
                "fasting_glucose_mM_p5": float(np.percentile(g, 5)),
                "fasting_glucose_mM_p95": float(np.percentile(g, 95)),
                "insulin_change_pct_median": float(np.median(col["insulin_change_pct"])),
                "hyperglycemia_pct": float(100 * np.mean(col["hyperglycemic"])),
                "n": n,
            }
        )
    df = pd.DataFrame(rows)
    notes = []
    off = np.abs(df["igf1r_inhibition_measured"] - df["igf1r_inhibition"]) > 0.01
    if off.any():
        notes.append(
            "the trial's IGF-1R inhibition differs from the matched target by more than 1 point "
            f"for {', '.join(df.loc[off, 'drug'] + ' ' + df.loc[off, 'igf1r_inhibition'].astype(str))}"
        )
    if ctx.patient_overrides:
        notes.append(
            "patient-model parameters set for this run: "
            + ", ".join(f"{k}={v:g}" for k, v in ctx.patient_overrides.items())
        )
    return Output(tables={"s8_metabolic": df}, figures=(_figure(df),), notes=tuple(notes))


EXPERIMENT = Experiment(
    id="metabolic",
    title="Metabolic toxicity: dual IGF-1R/IR vs selective IGF-1R inhibition",
    claims=("S8",),
    requires=("letrolab.model.patient:run_trial", "letrolab.model:load_catalogue"),
    run=run,
    methods=(
        "KW-2450 (dual IGF-1R/IR) and NVP-AEW541 (≈ 27-fold IGF-1R-selective) are given to the "
        "same seeded postmenopausal virtual cohort (1,000 patients; 300 in a quick run) at "
        "steady plasma exposures that inhibit IGF-1R by 50, 75 and 90 % according to the drug "
        "catalogue's potencies, for one month. The glucose–insulin module gives each patient's "
        "fasting glucose; hyperglycemia is fasting glucose above 7.0 mmol/L."
    ),
)

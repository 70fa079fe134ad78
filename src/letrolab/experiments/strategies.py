"""S9: which combinations with letrozole, and for which tumours (biomarkers).

The seed's take-aways: downstream (mTOR, PI3K) and vertical (CDK4/6) inhibition are viable
strategies, and biomarkers should find the tumours whose resistance runs through
IGF-1R/PI3K/mTOR.

Virtual version: a population of tumours, each an MCF-7/Aro-like parameter set varying
log-normally in the three axes the seed names — IGF-1R level (``r1_level``, 50 % CV), PI3K
pathway activation (receptor-independent ``pi3k_basal``, 70 %) and ER dependence (ER drive of
cyclin D1, ``cd_er``, 40 %) — is treated for 6 days (androstenedione 10 nM) with letrozole
1 µM alone and with each partner at a clinically relevant exposure: everolimus 10 nM and
alpelisib 1 µM (downstream), palbociclib 100 nM (vertical), NVP-AEW541 1 µM (IGF-1R).
A tumour's benefit from a partner is the relative reduction of its 6-day growth,
``1 - growth(letrozole + X) / growth(letrozole)``. Combinations are ranked by median benefit,
and each tumour feature is tested as a predictor of benefit by Spearman's rank correlation
(with its p-value), and by comparing the upper and lower terciles of the feature.

Tables: ``s9_ranking``, ``s9_biomarkers``, ``s9_subgroups``, ``s9_tumours``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from letrolab._io import pyplot
from letrolab.experiments._framework import Context, Experiment, Figure, Output

__all__ = ["EXPERIMENT", "PARTNERS"]

LETROZOLE_M = 1e-6
#: partner -> (concentration in M, strategy class)
PARTNERS: dict[str, tuple[float, str]] = {
    "everolimus": (10e-9, "downstream"),
    "alpelisib": (1e-6, "downstream"),
    "palbociclib": (100e-9, "vertical"),
    "nvp-aew541": (1e-6, "igf1r"),
}
FEATURES = {
    "igf1r_level": ("r1_level", 0.5),
    "pi3k_activity": ("pi3k_basal", 0.7),
    "er_dependence": ("cd_er", 0.4),
}
TUMOURS = {False: 500, True: 120}
DAYS = 6.0


def _growth(params: pd.DataFrame, drugs: dict, ctx: Context) -> np.ndarray:
    from letrolab.errors import ModelError
    from letrolab.model import run_ensemble

    res = run_ensemble(
        params,
        cell_line="mcf7-aro",
        drugs=drugs,
        days=DAYS,
        parameters=dict(ctx.overrides) or None,
        observables=("viable_cells",),
        backend="serial",
    )
    if res.failed:
        i, why = next(iter(res.failed.items()))
        raise ModelError(f"virtual tumour {i} could not be simulated: {why}")
    return res.final("viable_cells")


def _figure(tum: pd.DataFrame, rank: pd.DataFrame, bio: pd.DataFrame) -> Figure:
    from letrolab.report import figure_png

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
    ax = axes[0]
    order = list(rank["combination"])
    data = [tum[f"benefit_{c.split('+', 1)[1]}"].to_numpy() * 100 for c in order]
    ax.boxplot(data, showfliers=False)
    ax.set_xticks(
        range(1, len(order) + 1), [c.replace("letrozole+", "+ ") for c in order], rotation=15
    )
    ax.set_ylabel("benefit over letrozole alone (% less growth)")
    ax.set_title("ranking across virtual tumours")
    ax = axes[1]
    sc = ax.scatter(
        tum["pi3k_activity"],
        tum["benefit_everolimus"] * 100,
        c=np.log2(tum["igf1r_level"]),
        cmap="coolwarm",
        s=8,
    )
    ax.set_xscale("log")
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("PI3K pathway activation (× MCF-7/Aro)")
    ax.set_ylabel("benefit of + everolimus (%)")
    fig.colorbar(sc, ax=ax, label="IGF-1R level (log2, × MCF-7/Aro)")
    ax.set_title("a biomarker of mTOR benefit")
    ax = axes[2]
    piv = bio.pivot(index="added_drug", columns="feature", values="rho")
    im = ax.imshow(piv.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(piv.shape[1]), piv.columns, rotation=15)
    ax.set_yticks(range(piv.shape[0]), piv.index)
    for (i, j), v in np.ndenumerate(piv.to_numpy()):
        ax.text(j, i, f"{v:+.2f}", ha="center", va="center", fontsize=8)
    fig.colorbar(im, ax=ax, label="Spearman ρ (feature vs benefit)")
    ax.set_title("which profile predicts benefit")
    fig.tight_layout()
    return Figure(
        "s9_strategies",
        "S9. Benefit of adding a partner to letrozole across virtual tumours (left), benefit "
        "of everolimus against PI3K pathway activation and IGF-1R level (middle), and the "
        "rank correlation of each tumour feature with each partner's benefit (right).",
        figure_png(fig),
    )


def run(ctx: Context) -> Output:
    """Run the S9 virtual tumour population (see the module docstring)."""
    from scipy import stats

    from letrolab.model import get_cell_line, get_model

    rng = ctx.rng("strategies")
    n = TUMOURS[bool(ctx.quick)]
    base = {**get_model().parameters, **get_cell_line("mcf7-aro").overrides, **dict(ctx.overrides)}
    mult = {f: np.exp(rng.normal(-0.5 * s * s, s, size=n)) for f, (_, s) in FEATURES.items()}
    params = pd.DataFrame({p: base[p] * mult[f] for f, (p, _) in FEATURES.items()})
    tum = pd.DataFrame({"tumour": np.arange(n), **mult})
    ctx.progress(0.05, "letrozole alone")
    g0 = _growth(params, {"letrozole": LETROZOLE_M}, ctx)
    tum["growth_letrozole"] = g0
    for k, (drug, (conc, _)) in enumerate(PARTNERS.items()):
        ctx.progress(0.1 + 0.8 * k / len(PARTNERS), f"letrozole + {drug}")
        g = _growth(params, {"letrozole": LETROZOLE_M, drug: conc}, ctx)
        tum[f"growth_{drug}"] = g
        tum[f"benefit_{drug}"] = 1.0 - g / g0
    rank_rows, bio_rows, sub_rows = [], [], []
    for drug, (conc, strategy) in PARTNERS.items():
        b = tum[f"benefit_{drug}"].to_numpy()
        rank_rows.append(
            {
                "combination": f"letrozole+{drug}",
                "strategy": strategy,
                "partner_nM": conc * 1e9,
                "median_benefit": float(np.median(b)),
                "p25_benefit": float(np.percentile(b, 25)),
                "p75_benefit": float(np.percentile(b, 75)),
            }
        )
        for feat in FEATURES:
            x = tum[feat].to_numpy()
            if np.ptp(x) > 0 and np.ptp(b) > 0:
                res = stats.spearmanr(x, b)
                rho, p_value = float(res.statistic), float(res.pvalue)
            else:  # a constant feature or benefit predicts nothing (Spearman is undefined)
                rho, p_value = 0.0, 1.0
            bio_rows.append(
                {"added_drug": drug, "feature": feat, "rho": rho, "p_value": p_value, "n": n}
            )
            lo, hi = np.percentile(x, [100 / 3, 200 / 3])
            sub_rows.append(
                {
                    "added_drug": drug,
                    "feature": feat,
                    "median_benefit_low_tercile": float(np.median(b[x <= lo])),
                    "median_benefit_high_tercile": float(np.median(b[x >= hi])),
                }
            )
    rank = pd.DataFrame(rank_rows).sort_values("median_benefit", ascending=False)
    rank.insert(0, "rank", np.arange(1, len(rank) + 1))
    bio = pd.DataFrame(bio_rows)
    ctx.progress(0.95, "figures")
    return Output(
        tables={
            "s9_ranking": rank.reset_index(drop=True),
            "s9_biomarkers": bio,
            "s9_subgroups": pd.DataFrame(sub_rows),
            "s9_tumours": tum,
        },
        figures=(_figure(tum, rank, bio),),
    )


EXPERIMENT = Experiment(
    id="strategies",
    title="Strategies and biomarkers: which partner for letrozole, in which tumours",
    claims=("S9",),
    requires=("letrolab.model:run_ensemble", "letrolab.model:get_cell_line"),
    run=run,
    methods=(
        "A virtual tumour population (500 tumours; 120 in a quick run) varies log-normally "
        "around MCF-7/Aro in IGF-1R level (50 % CV), PI3K pathway activation (70 %) and ER "
        "dependence of cyclin D1 (40 %). Each tumour is simulated for 6 days with "
        "androstenedione 10 nM and letrozole 1 µM, alone and with everolimus 10 nM, alpelisib "
        "1 µM, palbociclib 100 nM or NVP-AEW541 1 µM. Benefit is the relative reduction of "
        "6-day growth against letrozole alone; combinations are ranked by median benefit and "
        "each feature's value as a predictor is measured by Spearman's ρ and by terciles."
    ),
)

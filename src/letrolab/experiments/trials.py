"""The seed's table of therapeutic combinations, extended with the model's predictions.

The first three columns are the seed's (its "Therapeutic Implications" table); the
``model_prediction`` column is computed from the run's results tables, and says "not evaluated"
where the experiment behind it did not run.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["SEED_TRIALS", "trials_table"]

#: The seed's table: combination, target, key findings and status.
SEED_TRIALS: tuple[tuple[str, str, str], ...] = (
    (
        "Letrozole + NVP-AEW541 (preclinical)",
        "IGF-1R",
        "Synergistic induction of apoptosis in aromatase-expressing breast cancer cell lines [7]",
    ),
    (
        "Letrozole + KW-2450 (phase I)",
        "IGF-1R/IR",
        "Recommended phase II dose established; development terminated for anticipated "
        "enrollment difficulties [8]; hyperglycemia from IR homology [5]",
    ),
    (
        "Letrozole + everolimus (approved)",
        "mTOR (downstream)",
        "Established treatment for HR+/HER2− advanced breast cancer after endocrine therapy "
        "(BOLERO-2) [4]",
    ),
)


def _nvp(t: Mapping[str, pd.DataFrame]) -> str:
    parts = []
    if "s4_ci_at_fa" in t:
        ci = t["s4_ci_at_fa"]
        ci = ci[ci["fa"] == 0.5]
        parts.append(
            "CI at fa 0.5: " + ", ".join(f"{r.cell_line} {r.ci:.2f}" for r in ci.itertuples())
        )
    if "s5_subg1" in t:
        m = t["s5_subg1"].groupby(["cell_line", "treatment"])["sub_g1_pct"].mean()
        parts.append(
            "sub-G1 combination vs best single agent: "
            + ", ".join(
                f"{line} {m[(line, 'combination')]:.1f} % vs "
                f"{max(m[(line, 'letrozole')], m[(line, 'nvp-aew541')]):.1f} %"
                for line in sorted({k[0] for k in m.index})
            )
        )
    return "; ".join(parts) or "not evaluated (proliferation and apoptosis experiments did not run)"


def _kw(t: Mapping[str, pd.DataFrame]) -> str:
    if "s8_metabolic" not in t:
        return "not evaluated (metabolic experiment did not run)"
    df = t["s8_metabolic"]
    top = float(df["igf1r_inhibition"].max())
    at = df[np.isclose(df["igf1r_inhibition"], top)].set_index("selectivity")
    return (
        f"at {100 * top:.0f} % IGF-1R inhibition, hyperglycemia in "
        f"{at.loc['dual', 'hyperglycemia_pct']:.0f} % of virtual patients on KW-2450 vs "
        f"{at.loc['selective', 'hyperglycemia_pct']:.0f} % on NVP-AEW541"
    )


def _eve(t: Mapping[str, pd.DataFrame]) -> str:
    parts = []
    if "s7_everolimus" in t:
        df = t["s7_everolimus"].set_index(["clone", "treatment"])
        clones = sorted({c for c, _ in df.index if c != "parental"})
        drops = [
            1
            - df.loc[(c, "letrozole+everolimus"), "growth_fold"]
            / df.loc[(c, "letrozole"), "growth_fold"]
            for c in clones
        ]
        if drops:
            parts.append(
                f"in letrozole-resistant clones growth −{100 * min(drops):.0f} to "
                f"−{100 * max(drops):.0f} % vs letrozole alone"
            )
    if "s9_ranking" in t:
        rank = t["s9_ranking"].sort_values("median_benefit", ascending=False).reset_index(drop=True)
        hit = rank.index[rank["combination"].str.contains("everolimus")]
        if len(hit):
            i = int(hit[0])
            parts.append(
                f"ranked {i + 1} of {len(rank)} combinations across virtual tumours "
                f"(median benefit {100 * rank.loc[i, 'median_benefit']:.0f} %)"
            )
    return "; ".join(parts) or "not evaluated (resistance and strategy experiments did not run)"


def trials_table(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The seed's trials table with a ``model_prediction`` column computed from ``tables``."""
    preds = [_nvp(tables), _kw(tables), _eve(tables)]
    return pd.DataFrame(
        {
            "combination": [r[0] for r in SEED_TRIALS],
            "target": [r[1] for r in SEED_TRIALS],
            "seed_findings": [r[2] for r in SEED_TRIALS],
            "model_prediction": preds,
        }
    )

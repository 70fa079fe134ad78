"""Regenerate synergy_pkg_reference.csv with the `synergy` package (not a letrolab dependency).

Run in the benchmark environment, which has it:
``benchmarks/.env/bin/python tests/data/chou_talalay/make_synergy_reference.py``.
Three seeded 6×6 blocks (2-fold × 3-fold dilutions, Bliss responses + noise); the per-point
CI of ``synergy.combination.CombinationIndex`` at every combination point is written in the
tidy layout of DESIGN.md (response = % inhibition) with a ``ci_synergy`` column.
"""

from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def main() -> None:
    from synergy.combination import CombinationIndex

    rng = np.random.default_rng(2024)
    rows = []
    s1 = np.concatenate([[0.0], 2.0 ** np.arange(-3, 2)])
    s2 = np.concatenate([[0.0], 3.0 ** np.arange(-2, 3)])
    g1, g2 = (a.ravel() for a in np.meshgrid(s1, s2, indexing="ij"))
    for block in (1, 2, 3):
        dm1, dm2 = 10 ** rng.uniform(0, 2, 2)
        m1, m2 = rng.uniform(0.7, 2.0, 2)
        d1, d2 = dm1 * g1, dm2 * g2
        with np.errstate(divide="ignore"):
            fa1 = 1 / (1 + (dm1 / d1) ** m1)
            fa2 = 1 / (1 + (dm2 / d2) ** m2)
        fa = 1 - (1 - fa1) * (1 - fa2) + rng.normal(0, 0.03, d1.shape)
        ci = CombinationIndex().fit(d1, d2, 1 - fa)
        for i in range(len(d1)):
            rows.append(
                {
                    "block_id": block,
                    "drug_row": "A",
                    "drug_col": "B",
                    "conc_r": d1[i],
                    "conc_c": d2[i],
                    "response": 100 * fa[i],
                    "conc_r_unit": "nM",
                    "conc_c_unit": "nM",
                    "ci_synergy": ci[i] if d1[i] > 0 and d2[i] > 0 else np.nan,
                }
            )
    out = HERE / "synergy_pkg_reference.csv"
    pd.DataFrame(rows).to_csv(out, index=False, float_format="%.17g")
    print(f"wrote {out} with synergy {version('synergy')}")


if __name__ == "__main__":
    main()

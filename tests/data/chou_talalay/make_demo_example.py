"""Generate src/letrolab/data/examples/letrozole_nvp_aew541.csv (the `make demo` input).

A synthetic two-drug experiment in the tidy layout of DESIGN.md, % inhibition, 3 replicates:
letrozole and the IGF-1R inhibitor NVP-AEW541 alone, a 1:10 constant-ratio series and a
2 × 2 non-constant-ratio set. Single agents follow the median-effect equation with letrozole
Dm = 75 nM, m = 0.9 (growth IC50 of MCF-7aro cells 50-100 nM, Kijima 2005; FACTS.md) and
NVP-AEW541 Dm = 1000 nM, m = 1.2 (an assumption). Every combination is built to have
CI = 0.5 (synergism, as Lisztwan 2008 report CI < 0.6 in MCF-7/Aro and T47D/Aro; seed S4):
its fa solves d1/Dx1(fa) + d2/Dx2(fa) = 0.5. Replicates add N(0, 2) % noise, seed 1984.

``python tests/data/chou_talalay/make_demo_example.py`` rewrites the file;
tests/synergy/test_chou_talalay_demo.py checks the file is what this script makes.
"""

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import brentq

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "src" / "letrolab" / "data" / "examples" / "letrozole_nvp_aew541.csv"
DM = (75.0, 1000.0)
M = (0.9, 1.2)
CI_TRUE = 0.5
SEED = 1984


def _dx(j: int, fa: float) -> float:
    return DM[j] * (fa / (1 - fa)) ** (1 / M[j])


def _fa_single(j: int, d: float) -> float:
    return 1 / (1 + (DM[j] / d) ** M[j])


def _fa_combo(d1: float, d2: float) -> float:
    return brentq(lambda f: d1 / _dx(0, f) + d2 / _dx(1, f) - CI_TRUE, 1e-9, 1 - 1e-9, xtol=1e-14)


def make() -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    doses = [(0.0, 0.0)]
    doses += [(d, 0.0) for d in (10.0, 25.0, 50.0, 100.0, 250.0, 500.0)]
    doses += [(0.0, d) for d in (100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0)]
    doses += [(d, 10 * d) for d in (5.0, 10.0, 25.0, 50.0, 100.0)]  # constant ratio 1:10
    doses += [(d1, d2) for d1 in (20.0, 80.0) for d2 in (300.0, 1500.0)]  # non-constant
    rows = []
    for d1, d2 in doses:
        if d1 == 0 and d2 == 0:
            fa = 0.0
        elif d2 == 0:
            fa = _fa_single(0, d1)
        elif d1 == 0:
            fa = _fa_single(1, d2)
        else:
            fa = _fa_combo(d1, d2)
        for rep in (1, 2, 3):
            rows.append(
                {
                    "block_id": "MCF-7aro",
                    "drug_row": "letrozole",
                    "drug_col": "NVP-AEW541",
                    "conc_r": d1,
                    "conc_c": d2,
                    "response": round(100 * fa + rng.normal(0, 2.0), 3),
                    "conc_r_unit": "nM",
                    "conc_c_unit": "nM",
                    "replicate": rep,
                }
            )
    return pd.DataFrame(rows)


if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    make().to_csv(OUT, index=False)
    print(f"wrote {OUT}")

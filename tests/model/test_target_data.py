"""The data-derived calibration targets are what the shared real data say.

``targets.csv`` rows from LINCS LDS-1511 (MCF10A microwestern, ``shared/data/phospho``) and
from the thunor HTS007 time courses (``shared/data/single_agent``) are recomputed here from
the files: the value and the SD that sets the tolerance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from letrolab.model.calibration import load_targets

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
PHOSPHO = DATA / "phospho" / "lincs_mcf10a_microwestern"
THUNOR = DATA / "single_agent"

pytestmark = pytest.mark.skipif(
    not (PHOSPHO.is_dir() and THUNOR.is_dir()), reason="shared real data folder absent"
)


def _lincs(readout: str) -> pd.DataFrame:
    f = PHOSPHO / f"DrugStudyI level 4 {readout} 2018 0405.txt"
    df = pd.read_csv(f, sep="\t")
    df = df[df["SM_Name"] == "Alpelisib"]
    df = df[df["time_point_(hr)"] != "serum starved"]
    df = df.assign(
        dose=df["concentration_(uM)"].astype(float), hours=df["time_point_(hr)"].astype(float)
    )
    return df.set_index(["dose", "hours"])


@pytest.mark.parametrize(
    "target,readout,hours",
    [
        ("alpelisib_pakt_1h", "pAkt", 1),
        ("alpelisib_pakt_6h", "pAkt", 6),
        ("alpelisib_pakt_24h", "pAkt", 24),
        ("alpelisib_perk_1h", "pErk", 1),
        ("alpelisib_perk_6h", "pErk", 6),
    ],
)
def test_lincs_targets_are_the_replicate_means_and_their_spread(target, readout, hours):
    df = _lincs(readout)
    m1, s1 = df.loc[(1.0, hours), ["Average", "std"]]
    m0, s0 = df.loc[(0.0, hours), ["Average", "std"]]
    row = load_targets().set_index("id").loc[target]
    assert row["value"] == pytest.approx(m1 / m0, rel=1e-3)
    # delta method: var(ln(a/b)) = (sa/a)^2 + (sb/b)^2
    assert row["sd"] == pytest.approx(np.hypot(s1 / m1, s0 / m0), rel=1e-2)


def test_everolimus_plateau_is_the_thunor_panel_mean_and_spread():
    t = pd.read_csv(THUNOR / "thunor_hts007_treated_long.csv")
    c = pd.read_csv(THUNOR / "thunor_hts007_controls_long.csv")
    ratios = []
    for line, g in t[t["drug"] == "everolimus"].groupby("cell_line"):
        cc = c[c["cell_line"] == line]
        tps = np.sort(g["timepoint_h"].unique())
        tp = tps[np.argmin(np.abs(tps - 72))]
        ctp = np.sort(cc["timepoint_h"].unique())
        ct = ctp[np.argmin(np.abs(ctp - tp))]
        c0 = cc.loc[cc["timepoint_h"] == ctp.min(), "value"].mean()
        c72 = cc.loc[cc["timepoint_h"] == ct, "value"].mean()
        hi = g[g["dose_M"] >= 6e-8]  # the top four doses: the plateau
        n0 = hi.loc[hi["timepoint_h"] == tps.min(), "value"].mean()
        n72 = hi.loc[hi["timepoint_h"] == tp, "value"].mean()
        ratios.append(np.log(n72 / n0) / np.log(c72 / c0))
    r = np.array(ratios)
    assert r.size == 8
    row = load_targets().set_index("id").loc["everolimus_growth_plateau"]
    assert row["value"] == pytest.approx(r.mean(), abs=2e-3)
    assert row["sd"] == pytest.approx(r.std(ddof=1), abs=2e-3)
    assert 0 < row["value"] < 1  # partial: everolimus slows growth without stopping it

"""Chou–Talalay figures: one PNG per plot; N-drug blocks get the bar form of the isobologram."""

import numpy as np
import pandas as pd
import pytest

from letrolab.synergy import chou_talalay
from letrolab.synergy.ct_plots import plot_block


def _fa(dm, m, d):
    return 1.0 / (1.0 + (dm / np.asarray(d, dtype=float)) ** m)


def test_three_drug_block_gets_a_bar_isobologram_whose_bars_sum_to_ci(tmp_path):
    rows = []
    for j, dm in enumerate((1.0, 2.0, 4.0)):
        for d in dm * np.array([0.25, 0.5, 1, 2, 4]):
            c = [0.0, 0.0, 0.0]
            c[j] = d
            rows.append((*c, 100 * float(_fa(dm, 1.5, d))))
    for t in (0.5, 1.0, 2.0, 4.0):  # a 1:2:4 constant-ratio series
        rows.append((t / 7, 2 * t / 7, 4 * t / 7, 100 * float(_fa(1.2, 1.5, t))))
    df = pd.DataFrame(rows, columns=["conc1", "conc2", "conc3", "response"])
    df["drug1"], df["drug2"], df["drug3"] = "X", "Y", "Z"
    block = chou_talalay(df)["1"]
    (mix,) = block.mixtures
    assert mix.ratio == pytest.approx((1.0, 2.0, 4.0))
    assert mix.ci_nonexclusive is None  # defined for two drugs only
    written = plot_block(block, tmp_path)
    assert sorted(p.name for p in written) == ["fa_ci.png", "isobologram.png", "median_effect.png"]
    assert all(p.stat().st_size > 1000 and p.read_bytes()[:4] == b"\x89PNG" for p in written)
    assert "<table" in block._repr_html_()
    import matplotlib.pyplot as plt

    from letrolab.synergy.ct_plots import isobologram_plot

    ax = isobologram_plot(block)
    ends = {}  # right end of the last bar of each point = the sum of d_j/(Dx)_j
    for patch in ax.patches:
        y = round(patch.get_y(), 6)
        ends[y] = max(ends.get(y, 0.0), patch.get_x() + patch.get_width())
    iso = block.isobologram()
    np.testing.assert_allclose(sorted(ends.values()), np.sort(iso["ci"]), rtol=1e-12)
    plt.close(ax.figure)

"""Plate QC figure: each plate as a heat map of its raw read, controls marked, QC in the title.

matplotlib is imported here only (Agg backend), never at ``import letrolab``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from letrolab._io import pyplot, save_figure
from letrolab._results import Failed
from letrolab.assays.plates._wells import row_letters

__all__ = ["plot_plates"]


def plot_plates(analysis, *, path: str | Path | None = None):
    """Draw every analysed plate: raw signal heat map, B = blank, V = vehicle, x = unusable.

    Parameters
    ----------
    analysis : PlateAnalysis
    path : path, optional
        Save there (by suffix, atomically) and close the figure.

    Returns
    -------
    matplotlib.figure.Figure (None when ``path`` is given).
    """
    plt = pyplot()

    w = analysis.wells
    w = w[(w["read"] == analysis.read) & w["time_s"].isna()]
    v = analysis.viability
    plates = list(dict.fromkeys(w["plate"]))
    qc = {q.plate: q for q in analysis.qc}
    fig, axes = plt.subplots(
        len(plates), 1, figsize=(7.5, 3.6 * len(plates)), squeeze=False, constrained_layout=True
    )
    for ax, plate in zip(axes[:, 0], plates, strict=True):
        g = w[w["plate"] == plate]
        nr = len(dict.fromkeys(g["row"]))
        nc = int(g["col"].max())
        letters = row_letters(nr)
        grid = np.full((nr, nc), np.nan)
        ri = np.array([letters.index(r) for r in g["row"]])
        grid[ri, g["col"].to_numpy() - 1] = g["value"].to_numpy()
        im = ax.imshow(grid, cmap="viridis", aspect="auto")
        fig.colorbar(im, ax=ax, fraction=0.03, label=analysis.read)
        lay = v[v["plate"] == plate]
        small = nc > 12
        for r, c, role, flag in zip(lay["row"], lay["col"], lay["role"], lay["flag"], strict=True):
            mark = {"blank": "B", "vehicle": "V"}.get(role, "")
            if flag != "ok":
                mark = "x"
            if mark:
                ax.text(c - 1, letters.index(r), mark, ha="center", va="center", color="white",
                        fontsize=6 if small else 8)  # fmt: skip
        ax.set_xticks(range(nc), [str(c + 1) for c in range(nc)], fontsize=6 if small else 8)
        ax.set_yticks(range(nr), letters, fontsize=6 if small else 8)
        q = qc.get(plate)
        z = "n/a" if q is None or isinstance(q.z_prime, Failed) else f"{q.z_prime:.2f}"
        warn = f" - {len(q.warnings)} warning(s)" if q is not None and q.warnings else ""
        ax.set_title(f"{plate}: Z' = {z}{warn}  (B blank, V vehicle, x unusable)", fontsize=9)
    if path is None:
        return fig
    save_figure(fig, path, dpi=110)
    return None

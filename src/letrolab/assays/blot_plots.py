"""Figures of a blot analysis: the image with lanes and bands marked, and the lane profiles.

matplotlib is imported here only (Agg backend), never at ``import letrolab``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from letrolab._io import pyplot, save_figure

__all__ = ["plot_blot"]


def plot_blot(
    result, *, path: str | Path | None = None, image: np.ndarray | None = None, title: str = ""
):
    """Draw the blot with lane rectangles and band windows, and each lane's profile.

    Parameters
    ----------
    result : BlotResult
    path : path, optional
        Save the figure there (PNG/SVG/PDF by suffix; written atomically) and close it.
    image : ndarray, optional
        Image to show; default the background-subtracted signal of the analysis.
    title : str

    Returns
    -------
    matplotlib.figure.Figure (None when ``path`` is given).
    """
    plt = pyplot()
    from matplotlib.patches import Rectangle

    img = result.signal if image is None else image
    fig, (ax0, ax1) = plt.subplots(
        1, 2, figsize=(11, 4.5), gridspec_kw={"width_ratios": [1.3, 1]}, constrained_layout=True
    )
    ax0.imshow(img, cmap="gray_r" if image is None else "gray", aspect="auto")
    bands = result.bands
    for li, (a, b) in enumerate(result.lanes, start=1):
        ax0.add_patch(
            Rectangle((a - 0.5, -0.5), b - a, img.shape[0], fill=False, ec="tab:blue", lw=1)
        )
        ax0.text((a + b) / 2, 1, str(li), ha="center", va="top", color="tab:blue", fontsize=8)
        for r in bands[bands["lane"] == li].itertuples():
            color = "tab:red" if r.saturated else "tab:orange"
            ax0.add_patch(
                Rectangle(
                    (a - 0.5, r.row_start - 0.5),
                    b - a,
                    r.row_end - r.row_start + 1,
                    fill=False,
                    ec=color,
                    lw=1,
                )
            )
    legend = "lanes (blue), bands (orange; red = saturated)"
    ax0.set_title(f"{title}: {legend}" if title else legend, fontsize=9)
    ax0.set_xticks([])
    rows = np.arange(result.profiles.shape[1])
    for li, prof in enumerate(result.profiles, start=1):
        ax1.plot(rows, prof, lw=1, label=f"lane {li}")
    for r in bands.drop_duplicates("band").itertuples():
        ax1.axvspan(r.row_start, r.row_end, color="0.9", zorder=0)
        ax1.text(r.row, 0, f"band {r.band}", ha="center", va="bottom", fontsize=7)
    ax1.set_xlabel("row (px)")
    ax1.set_ylabel("lane profile (summed intensity)")
    ax1.legend(fontsize=7, ncol=2)
    if path is None:
        return fig
    save_figure(fig, path, dpi=120)
    return None

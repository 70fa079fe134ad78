"""Figure of a blot analysis: the lanes on the image, and each lane's profile with its baseline
and shaded band areas, so that every number in the bands table can be checked at a glance.

matplotlib is imported here only (Agg backend), never at ``import letrolab``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from letrolab._io import pyplot, save_figure

__all__ = ["plot_blot"]


def _draw_image(ax, result, img) -> None:
    """The image with each lane's outline (following its centre line) and band windows."""
    h = img.shape[0]
    rows = np.arange(h)
    ax.imshow(img, cmap="gray" if img is not result.signal else "gray_r", aspect="auto")
    mid = h // 2
    for li, (a, b) in enumerate(result.lanes, start=1):
        c = result.lane_centres[li - 1]
        left, right = c + (a - c[mid]) - 0.5, c + (b - c[mid]) - 0.5
        ax.plot(left, rows, color="tab:blue", lw=0.8)
        ax.plot(right, rows, color="tab:blue", lw=0.8)
        ax.text(c[0], 1, str(li), ha="center", va="top", color="tab:blue", fontsize=8)
        sel = result.bands[result.bands["lane"] == li]
        for r in sel.itertuples():
            color = "tab:red" if r.saturated else "tab:orange"
            for y in (r.row_start - 0.5, r.row_end + 0.5):
                x = c[min(max(int(y), 0), h - 1)]
                ax.plot([x + a - c[mid] - 0.5, x + b - c[mid] - 0.5], [y, y], color=color, lw=0.8)
    ax.set_xticks([])
    ax.set_ylabel("row (px)")


def _draw_profile(ax, result, lane: int) -> None:
    """One lane's profile, each band's baseline (dashed) and its area (shaded)."""
    prof = result.profiles[lane - 1]
    ax.plot(np.arange(len(prof)), prof, color="0.2", lw=0.8)
    sel = result.bands[result.bands["lane"] == lane]
    for r in sel.itertuples():
        y = np.arange(r.row_start, r.row_end + 1)
        base = np.linspace(r.baseline_start, r.baseline_end, len(y))
        color = "tab:red" if r.saturated else ("tab:orange" if r.detected else "0.6")
        ax.fill_between(y, base, prof[r.row_start : r.row_end + 1], color=color, alpha=0.45, lw=0)
        ax.plot(y, base, color="tab:blue", lw=0.8, ls="--")
        ax.text(r.row, prof[r.row], str(r.band), ha="center", va="bottom", fontsize=6)
    ax.set_title(f"lane {lane}", fontsize=7, pad=2)
    ax.tick_params(labelsize=6)


def plot_blot(
    result, *, path: str | Path | None = None, image: np.ndarray | None = None, title: str = ""
):
    """Draw the blot with its lanes and band windows, and every lane's profile.

    Each lane's profile is drawn with the baseline of every band (dashed) and the band's area
    shaded (orange; red = saturated; grey = not found in this lane, measured where the other
    lanes put the band), with the band number over its peak.

    Parameters
    ----------
    result : BlotResult
    path : path, optional
        Save the figure there (PNG/SVG/PDF by suffix; written atomically) and close it.
    image : ndarray, optional
        Image to show; default the signal the profiles were summed from.
    title : str

    Returns
    -------
    matplotlib.figure.Figure (None when ``path`` is given).
    """
    plt = pyplot()
    img = result.signal if image is None else image
    n = result.n_lanes
    ncol = min(n, max(2, math.ceil(math.sqrt(n))))
    nrow = math.ceil(n / ncol)
    fig = plt.figure(figsize=(4.0 + 2.0 * ncol, max(4.0, 1.6 * nrow + 1.0)), layout="constrained")
    grid = fig.add_gridspec(nrow, ncol + 2)
    ax0 = fig.add_subplot(grid[:, :2])
    _draw_image(ax0, result, img)
    legend = f"background: {result.background}; bands orange, saturated red"
    ax0.set_title(f"{title}\n{legend}" if title else legend, fontsize=8)
    for k in range(n):
        ax = fig.add_subplot(grid[k // ncol, 2 + k % ncol])
        _draw_profile(ax, result, k + 1)
    if path is None:
        return fig
    save_figure(fig, path, dpi=110)
    return None

"""Figures of DNA-content analyses: the histogram with its fitted components.

matplotlib is imported here, lazily, with the non-interactive Agg backend; nothing in
``letrolab.assays`` needs it for the numbers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from letrolab._io import pyplot, save_figure

__all__ = ["plot_cell_cycle", "save_cell_cycle_figure"]

_COLOURS = {
    "G1": "#1b9e77",
    "S": "#7570b3",
    "G2": "#d95f02",
    "debris": "#999999",
    "apoptotic": "#e7298a",
    "G1b": "#66a61e",
    "Sb": "#a6761d",
    "G2b": "#e6ab02",
    "model": "#000000",
}


def plot_cell_cycle(result: Any, *, ax: Any = None) -> Any:
    """Draw ``result`` (a :class:`~letrolab.assays.cellcycle.CellCycleResult`) on ``ax``.

    The singlet DNA histogram is drawn as steps, the fitted G1, S, G2/M, debris and apoptotic
    (sub-G1 Gaussian) components, and those of a second cycle or reference standard, as filled
    curves over the fitted range, their sum as a line, the events excluded at the first and
    last channel as red bars at the ends, and the sub-G1 gate as a shaded band; the title names the S-phase shape of a DJF fit.
    Returns the axes.
    """
    plt = pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
    edges, counts = result.edges, result.counts
    centers = 0.5 * (edges[1:] + edges[:-1])
    ax.stairs(counts, edges, color="#444444", linewidth=0.8, label="singlets")
    comps = result.components
    # curves are drawn over the fitted range only: below it the model is an extrapolation
    shown = (
        centers >= centers[np.flatnonzero(result.fit_mask)[0]] if result.fit_mask.any() else None
    )
    apo_label = f"apoptotic {getattr(result, 'apoptotic_pct', float('nan')):.1f} %"
    for name, label in (
        ("debris", "debris"),
        ("apoptotic", apo_label),
        ("G1", "G1"),
        ("S", "S"),
        ("G2", "G2/M"),
        ("G1b", "second G1" if result.second is None or result.second.phases else "standard"),
        ("Sb", "second S"),
        ("G2b", "second G2/M"),
    ):
        y = comps.get(name)
        if y is not None and (name != "apoptotic" or y.any()):
            ax.fill_between(
                centers, 0, y, where=shown, alpha=0.35, color=_COLOURS[name], label=label
            )
    if "model" in comps:
        model = comps["model"] if shown is None else np.where(shown, comps["model"], np.nan)
        ax.plot(centers, model, color=_COLOURS["model"], linewidth=1.0, label="model")
    off = result.off_scale
    if off.low or off.high:
        # excluded events: a bar at each end of the range, as tall as the bin counts would be
        # if they were on scale, so a pile-up is seen rather than silently dropped
        width = edges[1] - edges[0]
        for n, at, side in ((off.low, edges[0], "first"), (off.high, edges[-1] - width, "last")):
            if n:
                ax.bar(
                    at,
                    n,
                    width=width,
                    align="edge",
                    color="#d62728",
                    alpha=0.6,
                    label=f"excluded at {side} channel: {n} ({100 * n / off.events:.1f} %)",
                )
    lo, hi = result.sub_g1_gate
    if hi > lo:
        ax.axvspan(
            lo, hi, color="#fdd0e6", alpha=0.4, label=f"sub-G1 gate {result.sub_g1_pct:.1f} %"
        )
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel(f"{result.channel} (DNA content)")
    ax.set_ylabel("events per bin")
    ax.set_title(
        f"{Path(result.file).name}: G1 {result.g1_pct:.1f} %, S {result.s_pct:.1f} %, "
        f"G2/M {result.g2m_pct:.1f} % ({result.model.upper()}{_s_shape(result)}, "
        f"RCS {result.rcs:.2f})",
        fontsize=9,
    )
    ax.legend(fontsize=7, frameon=False)
    return ax


def _s_shape(result: Any) -> str:
    from letrolab.assays.cellcycle import _S_NAMES  # one naming of the S shapes, not two

    deg = getattr(result, "s_degree", None)
    if deg is None:
        return ""
    return f", S {_S_NAMES.get(deg, f'degree {deg}')}"


def save_cell_cycle_figure(result: Any, path: str | os.PathLike, *, dpi: int = 120) -> Path:
    """Write the figure of ``result`` to ``path`` (PNG, or SVG/PDF by suffix), atomically."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
    try:
        plot_cell_cycle(result, ax=ax)
    except BaseException:
        plt.close(fig)
        raise
    return save_figure(fig, path, dpi=dpi)

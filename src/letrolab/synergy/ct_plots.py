"""Figures of a Chou–Talalay analysis, per block (Chou 2006, Pharmacol Rev 58:621, II.C.6).

* the median-effect plot: ``log10(fa/fu)`` against ``log10 D`` for each drug and mixture, with
  the fitted lines (slope m, x-intercept log10 Dm);
* the Fa-CI plot (Chou–Talalay plot): CI against fa, the simulated curve of each mixture and
  the measured combination points, with the additive line CI = 1;
* the normalised isobologram: for two drugs ``d1/(Dx)1`` against ``d2/(Dx)2`` with the
  additive line from (1, 0) to (0, 1), points below it synergistic; for three or more drugs,
  per point a stacked bar of the ``d_j/(Dx)_j`` (its length is the CI, additive at 1).

matplotlib runs with the Agg backend, imported only here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from letrolab._io import pyplot, save_figure
from letrolab.synergy.ct import FA_CURVE, BlockCI

__all__ = ["fa_ci_plot", "isobologram_plot", "median_effect_plot", "plot_block"]


def median_effect_plot(block: BlockCI, ax=None):
    """Median-effect plot of the block's single agents and mixtures on ``ax`` (new if None)."""
    plt = pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    fits = [(name, f, block.single_data.get(name)) for name, f in block.single_agents.items()]
    fits += [(f"mixture {m.name}", m.fit, m.data) for m in block.mixtures]
    for i, (name, fit, data) in enumerate(fits):
        color = f"C{i % 10}"
        if data is not None:
            d, f = data
            use = (d > 0) & (f > 0) & (f < 1)
            ax.scatter(np.log10(d[use]), np.log10(f[use] / (1 - f[use])), color=color, s=14)
        fa = np.array([fit.fa_min, fit.fa_max])
        x = np.log10(fit.dx(np.clip(fa, 1e-6, 1 - 1e-6)))
        xs = np.linspace(x.min() - 0.5, x.max() + 0.5, 2)
        ax.plot(xs, fit.m * (xs - np.log10(fit.dm)), color=color, lw=1.2)
        ax.scatter([np.log10(fit.dm)], [0.0], color=color, marker="x", s=30, zorder=3, label=None)
        ax.plot([], [], color=color, label=f"{name}: m={fit.m:.3g}, Dm={fit.dm:.3g}, r={fit.r:.3f}")
    ax.axhline(0.0, color="0.6", lw=0.6)
    u = f" ({block.unit})" if block.unit else ""
    ax.set_xlabel(f"log10 dose{u}")
    ax.set_ylabel("log10 (fa / fu)")
    ax.set_title(f"Median-effect plot, block {block.block_id}")
    ax.legend(fontsize=6, loc="upper left")
    return ax


def fa_ci_plot(block: BlockCI, ax=None):
    """Fa-CI plot: mixtures' simulated CI curves and the combination points' CI."""
    plt = pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    for i, m in enumerate(block.mixtures):
        cur = m.curve(FA_CURVE)
        ax.plot(cur["fa"], cur["ci"], color=f"C{i % 10}", lw=1.2, label=f"mixture {m.name}")
        ax.scatter(m.fa_levels, m.ci, color=f"C{i % 10}", s=16, zorder=3)
    if len(block.ci):
        ax.scatter(block.fa, block.ci, color="k", s=12, marker="o", label="combination points")
    ax.axhline(1.0, color="0.4", lw=0.8, ls="--")
    vals = [np.asarray(block.ci)] + [np.asarray(m.curve(FA_CURVE)["ci"]) for m in block.mixtures]
    allv = np.concatenate(vals) if vals else np.array([1.0])
    allv = allv[np.isfinite(allv) & (allv > 0)]
    if allv.size and allv.max() / allv.min() > 10:  # wide range: log scale, clipped
        ax.set_yscale("log")
        ax.set_ylim(max(allv.min() / 1.5, 1e-3), min(max(allv.max(), 1.0) * 1.5, 1e3))
    else:
        ax.set_ylim(0, max(1.2, float(allv.max(initial=1.0)) * 1.1))
    ax.set_xlim(0, 1)
    ax.set_xlabel("fa (fraction affected)")
    ax.set_ylabel("combination index")
    ax.set_title(f"Fa-CI plot, block {block.block_id}")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=6)
    return ax


def _isobologram_bars(block: BlockCI, ax, iso):
    """N-drug form of the normalised isobologram: per point, stacked ``d_j/(Dx)_j``.

    The bar of a point has total length CI (Chou 2006, II.C.3); it ends left of the additive
    line at 1 for synergy. Used where a two-axis isobologram cannot show every drug.
    """
    iso = iso.sort_values("ci", kind="stable").reset_index(drop=True)
    y = np.arange(len(iso))
    left = np.zeros(len(iso))
    for j, d in enumerate(block.drugs):
        width = iso[f"norm_{d}"].to_numpy(dtype=float)
        ax.barh(y, width, left=left, height=0.8, color=f"C{j % 10}", label=d)
        left = left + width
    ax.axvline(1.0, color="0.4", lw=0.8, ls="--", label="additive (CI = 1)")
    labels = [s if s != "point" else "" for s in iso["source"]]
    ax.set_yticks(
        y, [f"{lab} fa {f:.2f}".strip() for lab, f in zip(labels, iso["fa"], strict=True)]
    )
    ax.tick_params(axis="y", labelsize=5)
    ax.set_xlabel("sum of d / Dx (= CI)")
    ax.set_title(f"Normalised isobologram, block {block.block_id}")
    ax.legend(fontsize=6)
    return ax


def isobologram_plot(block: BlockCI, ax=None):
    """Normalised isobologram of a block (Chou 2006, II.C.6).

    Two drugs: ``d1/(Dx)1`` against ``d2/(Dx)2`` with the additive line. More drugs: for each
    point a stacked bar of the ``d_j/(Dx)_j``, whose length is the CI.
    """
    plt = pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    iso = block.isobologram()
    if len(block.drugs) != 2:
        return _isobologram_bars(block, ax, iso)
    a, b = (f"norm_{d}" for d in block.drugs)
    pts = iso[iso["source"] == "point"]
    ax.scatter(pts[a], pts[b], s=12, color="k", label="combination points")
    for i, (src, g) in enumerate(iso[iso["source"] != "point"].groupby("source", sort=False)):
        ax.scatter(g[a], g[b], s=22, marker="s", color=f"C{i % 10}", label=src)
    ax.plot([0, 1], [1, 0], color="0.4", lw=0.8, ls="--", label="additive")
    top = max(1.2, float(np.nanmax(iso[[a, b]].to_numpy(), initial=0.0)) * 1.05)
    ax.set_xlim(0, min(top, 5))
    ax.set_ylim(0, min(top, 5))
    ax.set_xlabel(f"d / Dx, {block.drugs[0]}")
    ax.set_ylabel(f"d / Dx, {block.drugs[1]}")
    ax.set_title(f"Normalised isobologram, block {block.block_id}")
    ax.legend(fontsize=6)
    return ax


def plot_block(block: BlockCI, out_dir: str | Path) -> list[Path]:
    """Write the block's median-effect plot, Fa-CI plot and isobologram as PNG files."""
    plt = pyplot()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fn in (
        ("median_effect.png", median_effect_plot),
        ("fa_ci.png", fa_ci_plot),
        ("isobologram.png", isobologram_plot),
    ):
        fig, ax = plt.subplots(figsize=(5, 4.2))
        try:
            if fn(block, ax) is None:
                continue
            fig.tight_layout()
            written.append(save_figure(fig, out / name, dpi=110))
        finally:
            plt.close(fig)
    return written

"""Figures of the reference synergy models.

* :func:`plot_dose_response` — each drug's single-agent points and fitted log-logistic curve;
* :func:`plot_synergy_heatmap` — a two-drug block's per-cell scores on the dose grid, with
  contour lines and the most synergistic 3 x 3 area outlined (the SynergyFinder views,
  Ianevski 2017 Bioinformatics 33:2413);
* :func:`plot_block_ranking` — blocks ranked by a model's mean score.

matplotlib is imported here only (Agg backend), never when letrolab is imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from letrolab._io import pyplot, save_figure
from letrolab.doseresponse.hill import hill_effect
from letrolab.errors import InputError

__all__ = ["plot_block_ranking", "plot_dose_response", "plot_synergy_heatmap"]


def _save(fig: Any, path: str | Path) -> Path:
    return save_figure(fig, path, dpi=120, bbox_inches="tight")


def plot_dose_response(
    table: pd.DataFrame, single_agents: pd.DataFrame, block_id: str, path: str | Path
) -> Path:
    """Single-agent points and fitted curves of one block.

    Parameters
    ----------
    table : DataFrame
        A normalised combination table (``CombinationData.table``: molar ``conc1..K``).
    single_agents : DataFrame
        ``ReferenceResult.single_agents`` (EC50 in the block's unit).
    block_id : str
    path : path
        Output image (``.png`` or ``.svg``).
    """
    blk = table[table["block_id"].astype(str) == str(block_id)]
    sa = single_agents[single_agents["block_id"].astype(str) == str(block_id)]
    if blk.empty:
        raise InputError(f"block {block_id!r} is not in the table")
    k = sum(1 for c in blk.columns if c.startswith("conc"))
    conc = blk[[f"conc{i + 1}" for i in range(k)]].to_numpy(float)
    unit = str(blk["unit"].iloc[0]) if "unit" in blk else ""
    from letrolab.units import molar_factor

    fac = molar_factor(unit) if unit else 1.0
    nnz = (conc > 0).sum(1)
    plt = pyplot()
    fig, axes = plt.subplots(1, k, figsize=(4.2 * k, 3.4), squeeze=False)
    for i in range(k):
        ax = axes[0, i]
        drug = str(blk[f"drug{i + 1}"].iloc[0])
        mask = (conc[:, i] > 0) & (nnz == 1)
        x = conc[mask, i] / fac
        y = blk["response"].to_numpy(float)[mask]
        ax.scatter(x, y, color="k", s=18, zorder=3, label="observed")
        row = sa[sa["drug"] == drug]
        if len(row) and bool(row["ok"].iloc[0]) and x.size:
            r = row.iloc[0]
            xs = np.geomspace(x.min() / 3, x.max() * 3, 200)
            ax.plot(xs, hill_effect(xs, r.e0, r.emax, r.ec50, r.h), color="C0", label="LL.4 fit")
            ax.set_title(f"{drug}: EC50 {r.ec50:.3g} {unit}, h {r.h:.2g}", fontsize=9)
        else:
            ax.set_title(f"{drug}: no fit", fontsize=9)
        ax.set_xscale("log")
        ax.set_xlabel(f"{drug} ({unit or 'dose'})")
        ax.set_ylabel("% inhibition")
        ax.axhline(0, color="0.8", lw=0.8)
        ax.legend(fontsize=7, frameon=False)
    fig.suptitle(f"block {block_id}: single agents", fontsize=10)
    return _save(fig, path)


def plot_synergy_heatmap(scores: pd.DataFrame, block_id: str, model: str, path: str | Path) -> Path:
    """Heatmap with contours of one two-drug block's ``model`` scores.

    The dose axes are the tested doses (equally spaced, as SynergyFinder draws them); the most
    synergistic 3 x 3 area is outlined.
    """
    blk = scores[scores["block_id"].astype(str) == str(block_id)]
    if blk.empty:
        raise InputError(f"block {block_id!r} has no combination scores")
    if model not in blk:
        raise InputError(f"model {model!r} was not scored; score it first")
    if "conc3" in blk:
        raise InputError("synergy heatmaps are drawn for two-drug blocks")
    d1 = np.unique(blk["conc1"].to_numpy(float))
    d2 = np.unique(blk["conc2"].to_numpy(float))
    grid = np.full((d1.size, d2.size), np.nan)
    grid[np.searchsorted(d1, blk["conc1"]), np.searchsorted(d2, blk["conc2"])] = blk[model]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    lim = max(10.0, float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 10.0)
    im = ax.imshow(grid, origin="lower", cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    if d1.size >= 2 and d2.size >= 2 and np.isfinite(grid).all():
        cs = ax.contour(grid, levels=np.linspace(-lim, lim, 9), colors="k", linewidths=0.6)
        ax.clabel(cs, fontsize=6, fmt="%.0f")
    for (i, j), v in np.ndenumerate(grid):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=6)
    if d1.size >= 3 and d2.size >= 3:
        best, at = -np.inf, None
        for i in range(d1.size - 2):
            for j in range(d2.size - 2):
                w = grid[i : i + 3, j : j + 3]
                if np.isfinite(w).all() and w.mean() > best:
                    best, at = w.mean(), (i, j)
        if at is not None:
            from matplotlib.patches import Rectangle

            ax.add_patch(
                Rectangle((at[1] - 0.5, at[0] - 0.5), 3, 3, fill=False, ec="k", lw=1.6, ls="--")
            )
    unit = str(blk["unit"].iloc[0]) if "unit" in blk else ""
    ax.set_xticks(range(d2.size), [f"{v:.3g}" for v in d2], fontsize=7)
    ax.set_yticks(range(d1.size), [f"{v:.3g}" for v in d1], fontsize=7)
    ax.set_xlabel(f"{blk['drug2'].iloc[0]} ({unit})")
    ax.set_ylabel(f"{blk['drug1'].iloc[0]} ({unit})")
    mean = float(np.nanmean(grid))
    ax.set_title(f"block {block_id}: {model.upper()} score, mean {mean:.2f}", fontsize=10)
    fig.colorbar(im, ax=ax, label=f"{model} score (synergy > 0)")
    return _save(fig, path)


def plot_block_ranking(
    blocks: pd.DataFrame, model: str, path: str | Path, *, top: int = 40
) -> Path:
    """Horizontal bars of the ``top`` most synergistic and antagonistic blocks by mean score."""
    col = f"{model}_mean"
    if col not in blocks:
        raise InputError(f"model {model!r} was not scored; score it first")
    b = blocks[["block_id", col]].dropna().sort_values(col)
    if len(b) > top:
        b = pd.concat([b.head(top // 2), b.tail(top - top // 2)])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, max(2.0, 0.22 * len(b) + 1)))
    colors = np.where(b[col].to_numpy() > 0, "C3", "C0")
    ax.barh(range(len(b)), b[col].to_numpy(), color=colors)
    ax.set_yticks(range(len(b)), b["block_id"].astype(str).tolist(), fontsize=7)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel(f"mean {model} score (synergy > 0)")
    ax.set_title(f"blocks ranked by {model} ({len(blocks)} scored)", fontsize=10)
    return _save(fig, path)

"""Fit report: tables and plots written into a ``letrolab fit --out`` folder.

Files: ``parameters.csv`` (estimate, 95 % interval, method, identifiability, prior range and
nominal value with its source), ``starts.csv`` (every start: cost, status, evaluations),
``residuals.csv`` (each measurement with the model value and standardised residual),
``fit.json`` (:func:`letrolab.fitting.predict.save_fit`) and four PNG figures: ``fit.png``
(data against the model with a 95 % band from the parameter ensemble), ``residuals.png``,
``waterfall.png`` (sorted final costs of the starts; a plateau of several starts at the lowest
cost marks a reproducibly found optimum, Raue 2013 Fig. 2) and ``profiles.png`` when profiles
were computed (threshold chi-square(1) 95 % = 3.84).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from letrolab._io import atomic_write_text, csv_text, pyplot, save_figure
from letrolab.fitting.data import FIT_OBSERVABLES
from letrolab.fitting.estimate import CHI2_95_1DF, FitResult
from letrolab.fitting.predict import save_fit

__all__ = ["residual_table", "write_report"]


def residual_table(result: FitResult, *, n_sets: int = 40, seed: int = 0) -> pd.DataFrame:
    """Each measurement with the model value, a 95 % model band and the standardised residual."""
    pr = result.problem
    band = np.array([pr.predict_rows(x) for x in result.sample(n_sets, seed=seed)])
    t = pr.data.measurements.copy()
    t["model"] = pr.predict_rows(result.x)
    t["band_low"], t["band_high"] = np.quantile(band, [0.025, 0.975], axis=0)
    t["sd"] = pr.sd
    t["residual"] = pr.residuals(result.x)
    return t


def _plot_fit(res: pd.DataFrame, conditions: pd.DataFrame, path: Path) -> None:
    plt = pyplot()
    obs = sorted(res["observableId"].unique())
    drug_cols = [
        c
        for c in conditions.columns
        if c.endswith("_nM") and c[:-3] not in ("androstenedione", "igf1", "insulin")
    ]
    fig, axes = plt.subplots(len(obs), 1, figsize=(8, 2.8 * len(obs)), squeeze=False)
    merged = res.merge(conditions, left_on="simulationConditionId", right_on="conditionId")
    for ax, o in zip(axes[:, 0], obs, strict=True):
        sub = merged[merged["observableId"] == o]
        for d in drug_cols:
            others = [c for c in drug_cols if c != d]
            s = sub[(sub[d] > 0) & (sub[others] == 0).all(axis=1)].sort_values(d)
            if s.empty:
                continue
            line = ax.plot(s[d], s["model"], label=d[:-3])[0]
            ax.fill_between(s[d], s["band_low"], s["band_high"], alpha=0.2, color=line.get_color())
            ax.plot(s[d], s["measurement"], "o", ms=3, color=line.get_color())
        ax.set_xscale("log")
        ax.set_ylabel(o)
        ax.set_xlabel("concentration (nM)")
        if FIT_OBSERVABLES[o].noise == "lognormal":
            ax.set_yscale("log")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("data (points) and model (line, 95 % band)")
    fig.tight_layout()
    save_figure(fig, path)


def _plot_residuals(res: pd.DataFrame, path: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3))
    for o, g in res.groupby("observableId"):
        ax.plot(g["model"], g["residual"], "o", ms=3, label=o)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("model value")
    ax.set_ylabel("standardised residual")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)


def _plot_waterfall(result: FitResult, path: Path) -> None:
    plt = pyplot()
    costs = np.array([s.cost for s in result.starts])
    ok = np.array([s.converged for s in result.starts])
    fig, ax = plt.subplots(figsize=(6, 3))
    k = np.arange(1, costs.size + 1)
    ax.plot(k, costs - costs.min() + 1e-3, "-", color="0.6")
    ax.plot(k[ok], costs[ok] - costs.min() + 1e-3, "o", label="converged")
    ax.plot(k[~ok], costs[~ok] - costs.min() + 1e-3, "x", label="stopped at budget")
    ax.set_yscale("log")
    ax.set_xlabel("start (sorted)")
    ax.set_ylabel("cost - best + 0.001")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)


def _plot_profiles(result: FitResult, path: Path) -> None:
    plt = pyplot()
    n = len(result.profiles)
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n, 2.6), squeeze=False)
    for ax, p in zip(axes[0], result.profiles, strict=True):
        ax.plot(p.grid, p.delta, "o-")
        ax.axhline(CHI2_95_1DF, color="r", lw=0.8)
        ax.set_xlabel(f"log10 {p.parameter}")
    axes[0, 0].set_ylabel("2 delta nll")
    fig.tight_layout()
    save_figure(fig, path)


def write_report(result: FitResult, directory: Path) -> None:
    """Write the report files (module docstring) into ``directory`` (a staging folder)."""
    directory = Path(directory)
    res = residual_table(result)
    atomic_write_text(directory / "parameters.csv", csv_text(result.intervals(), index=False))
    starts = pd.DataFrame(
        [
            {
                "rank": i + 1,
                "cost": s.cost,
                "converged": s.converged,
                "status": s.status,
                "nfev": s.nfev,
                **{f"x0_{p}": v for p, v in zip(result.problem.ids, s.x0, strict=True)},
            }
            for i, s in enumerate(result.starts)
        ]
    )
    atomic_write_text(directory / "starts.csv", csv_text(starts, index=False))
    atomic_write_text(directory / "residuals.csv", csv_text(res, index=False))
    save_fit(result, directory)
    _plot_fit(res, result.problem.data.conditions, directory / "fit.png")
    _plot_residuals(res, directory / "residuals.png")
    _plot_waterfall(result, directory / "waterfall.png")
    if result.profiles:
        _plot_profiles(result, directory / "profiles.png")

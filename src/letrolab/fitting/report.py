"""Fit report: one HTML page plus the tables and figures behind it, in a ``letrolab fit --out``
folder.

Files: ``report.html`` (self-contained: the figures are embedded as ``data:`` URIs, nothing is
fetched; it opens without its folder), ``parameters.csv`` (estimate, 95 % interval, method,
identifiability, prior range and nominal value with its source), ``starts.csv`` (every start:
cost, status, evaluations), ``residuals.csv`` (each measurement with the model value, its 95 %
band and the standardised residual), ``fit.json`` (:func:`letrolab.fitting.predict.save_fit`)
and the report's PNG figures: ``fit.png`` (data against the model with a 95 % band from the
parameter ensemble), ``residuals.png``, ``waterfall.png`` (sorted final costs of the starts; a
plateau of several starts at the lowest cost marks a reproducibly found optimum, Raue 2013
Fig. 2) and ``profiles.png`` when profiles were computed (threshold chi-square(1) 95 % = 3.84).

With ``--sampler emcee`` the folder also holds ``ensemble.csv`` (the posterior sets, log10) and
the page gives the sampler's diagnostics and each parameter's posterior median and interval.

Only a converged fit is written (:func:`write_report` refuses another), so a folder with a
report in it always holds a fit that converged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from letrolab._io import atomic_write_bytes, atomic_write_text, csv_text, plain_log_ticks, pyplot
from letrolab.errors import FitError
from letrolab.fitting.data import FIT_OBSERVABLES
from letrolab.fitting.estimate import CHI2_95_1DF, FitResult
from letrolab.fitting.posterior import MIN_TAU_MULTIPLE
from letrolab.fitting.predict import save_fit
from letrolab.report import data_uri, figure_png, render_template, table_html

__all__ = [
    "REPORT_FILE",
    "FitFigure",
    "render_fit_report",
    "report_figures",
    "residual_table",
    "starts_table",
    "write_report",
]

#: The HTML page of a fit folder.
REPORT_FILE = "report.html"
#: Parameter sets drawn for the model band of the fit figure and residual table.
BAND_SETS = 40
#: Starts listed in the report's table (all of them are in starts.csv).
STARTS_SHOWN = 25
_NON_DRUG = ("androstenedione", "igf1", "insulin")
_SOURCE = {
    "emcee": "the emcee posterior ensemble",
    "laplace": "the Laplace (Gaussian) approximation at the optimum",
}


@dataclass(frozen=True)
class FitFigure:
    """One figure of the fit report.

    Attributes
    ----------
    name : str
        File name in the fit folder (``fit.png``).
    title : str
        Heading of its section in the report.
    caption : str
        What the figure shows and how to read it.
    png : bytes
        The rendered figure, written to ``name`` and embedded in the report.
    """

    name: str
    title: str
    caption: str
    png: bytes


def residual_table(result: FitResult, *, n_sets: int = BAND_SETS, seed: int = 0) -> pd.DataFrame:
    """Each measurement with the model value, a 95 % model band and the standardised residual.

    The band is the 2.5-97.5 % range of the model over ``n_sets`` parameter sets drawn by
    :meth:`~letrolab.fitting.estimate.FitResult.sample`.
    """
    pr = result.problem
    band = np.array([pr.predict_rows(x) for x in result.sample(n_sets, seed=seed)])
    t = pr.data.measurements.copy()
    t["model"] = pr.predict_rows(result.x)
    t["band_low"], t["band_high"] = np.quantile(band, [0.025, 0.975], axis=0)
    t["sd"] = pr.sd
    t["residual"] = pr.residuals(result.x)
    return t


def starts_table(result: FitResult) -> pd.DataFrame:
    """One row per start, best first: cost, convergence, status, evaluations and start point
    (``stage`` "polish" for the second-stage run with the estimated noise SDs)."""
    return pd.DataFrame(
        [
            {
                "rank": i + 1,
                "stage": "polish" if s.polish else "start",
                "cost": s.cost,
                "converged": s.converged,
                "status": s.status,
                "nfev": s.nfev,
                **{f"x0_{p}": v for p, v in zip(result.problem.ids, s.x0, strict=True)},
            }
            for i, s in enumerate(result.starts)
        ]
    )


def _drug_columns(conditions: pd.DataFrame) -> list[str]:
    return [c for c in conditions.columns if c.endswith("_nM") and c[:-3] not in _NON_DRUG]


def _fit_figure(res: pd.DataFrame, conditions: pd.DataFrame) -> Any:
    """Single-agent dose responses per observable: data points, model line and 95 % band."""
    plt = pyplot()
    obs = sorted(res["observableId"].unique())
    drug_cols = _drug_columns(conditions)
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
        plain_log_ticks(ax.xaxis)
        ax.set_ylabel(o)
        ax.set_xlabel("concentration (nM)")
        if FIT_OBSERVABLES[o].noise == "lognormal":
            ax.set_yscale("log")
            plain_log_ticks(ax.yaxis)
    if axes[0, 0].get_legend_handles_labels()[0]:
        axes[0, 0].legend(fontsize=7)
    fig.suptitle("data (points) and model (line, 95 % band)")
    fig.tight_layout()
    return fig


def _residual_figure(res: pd.DataFrame) -> Any:
    """Standardised residuals against the model value, one colour per observable."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3))
    for o, g in res.groupby("observableId"):
        ax.plot(g["model"], g["residual"], "o", ms=3, label=o)
    ax.axhline(0, color="k", lw=0.8)
    for level in (-2, 2):
        ax.axhline(level, color="0.6", lw=0.6, ls="--")
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    ax.set_xlabel("model value")
    ax.set_ylabel("standardised residual")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _waterfall_figure(result: FitResult) -> Any:
    """Final costs of the starts, sorted, relative to the best one (log scale)."""
    plt = pyplot()
    costs = np.array([s.cost for s in result.starts])
    ok = np.array([s.converged for s in result.starts])
    fig, ax = plt.subplots(figsize=(6, 3))
    k = np.arange(1, costs.size + 1)
    rel = costs - costs.min() + 1e-3
    ax.plot(k, rel, "-", color="0.6")
    ax.plot(k[ok], rel[ok], "o", label="converged")
    ax.plot(k[~ok], rel[~ok], "x", label="stopped at budget")
    ax.set_yscale("log")
    plain_log_ticks(ax.yaxis)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("start (sorted)")
    ax.set_ylabel("cost - best + 0.001")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _profile_figure(result: FitResult) -> Any:
    """One panel per profiled parameter with the chi-square(1) 95 % threshold."""
    plt = pyplot()
    n = len(result.profiles)
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n, 2.6), squeeze=False)
    for ax, p in zip(axes[0], result.profiles, strict=True):
        ax.plot(p.grid, p.delta, "o-")
        ax.axhline(CHI2_95_1DF, color="r", lw=0.8)
        ax.set_xlabel(f"log10 {p.parameter}")
    axes[0, 0].set_ylabel("2 delta nll")
    fig.tight_layout()
    return fig


def report_figures(result: FitResult, res: pd.DataFrame) -> tuple[FitFigure, ...]:
    """Render the report's figures (``res`` from :func:`residual_table`)."""
    figs = [
        FitFigure(
            "fit.png",
            "Data and model",
            "Single-agent dose responses: measurements (points), the best fit (line) and the "
            f"2.5-97.5 % range of the model over {BAND_SETS} parameter sets drawn from "
            f"{_SOURCE[result.uncertainty]} (band). Combination conditions are in residuals.csv.",
            figure_png(_fit_figure(res, result.problem.data.conditions)),
        ),
        FitFigure(
            "residuals.png",
            "Residuals",
            "Standardised residuals (on each observable's noise scale, divided by its SD) "
            "against the model value; with a correct noise model about 95 % lie within ±2 "
            "(dashed) and show no trend.",
            figure_png(_residual_figure(res)),
        ),
        FitFigure(
            "waterfall.png",
            "Multi-start waterfall",
            "Final cost of every start, sorted, minus the best cost. Several starts on the "
            "lowest step mean the optimum was found reproducibly (Raue et al. 2013, PLoS ONE "
            "8:e74335, Fig. 2).",
            figure_png(_waterfall_figure(result)),
        ),
    ]
    if result.profiles:
        figs.append(
            FitFigure(
                "profiles.png",
                "Profile likelihoods",
                "Each parameter fixed on a grid (log10) with the others re-optimised; the 95 % "
                f"interval is where the curve stays below the red line (chi-square(1) 95 % = "
                f"{CHI2_95_1DF:.2f}; Raue et al. 2009, Bioinformatics 25:1923). A curve that "
                "stays below it up to a prior bound marks a non-identifiable parameter.",
                figure_png(_profile_figure(result)),
            )
        )
    return tuple(figs)


def _parameter_rows(result: FitResult) -> list[dict[str, Any]]:
    """The parameter table of the page: every fitted parameter, formatted for reading."""
    return [
        {
            "parameter": r["parameter"],
            "estimate": f"{r['estimate']:.4g}",
            "interval": f"[{r['ci_low']:.4g}, {r['ci_high']:.4g}]",
            "method": "profile likelihood" if r["method"] == "profile" else "Wald (J^T J)",
            "identifiable": bool(r["identifiable"]),
            "prior": f"[{r['prior_low']:.4g}, {r['prior_high']:.4g}]",
            "nominal": f"{r['nominal']:.4g}",
            "source": str(r["source"]),
        }
        for r in result.intervals().to_dict("records")
    ]


def _noise_rows(result: FitResult, res: pd.DataFrame) -> list[dict[str, Any]]:
    """Noise model per observable: distribution, SD, whether the fit estimated it, and the
    root-mean-square standardised residual (about 1 when the noise model fits)."""
    obs = res["observableId"].to_numpy()
    resid = res["residual"].to_numpy()
    return [
        {
            "observable": o,
            "noise": FIT_OBSERVABLES[o].noise,
            "sd": f"{result.sd[o]:.4g}",
            "estimated": bool(np.any(result.problem.estimated_sd[obs == o])),
            "n": int(np.sum(obs == o)),
            "rms_residual": f"{np.sqrt(np.mean(resid[obs == o] ** 2)):.3g}",
        }
        for o in result.problem.data.observables
        if o in result.sd
    ]


def _posterior_rows(result: FitResult) -> list[dict[str, str]]:
    """Median and central 95 % interval of each parameter over the emcee ensemble (linear)."""
    if result.ensemble is None:
        return []
    q = 10 ** np.quantile(result.ensemble.x, [0.025, 0.5, 0.975], axis=0)
    return [
        {"parameter": p, "median": f"{q[1, i]:.4g}", "interval": f"[{q[0, i]:.4g}, {q[2, i]:.4g}]"}
        for i, p in enumerate(result.problem.ids)
    ]


def _starts_shown(result: FitResult) -> pd.DataFrame:
    """The starts table of the page: cost above the best one instead of start points."""
    t = starts_table(result).loc[:, ["rank", "cost", "converged", "status", "nfev"]]
    t.insert(2, "cost_above_best", t["cost"] - t["cost"].min())
    return t


def render_fit_report(result: FitResult, res: pd.DataFrame, figures: tuple[FitFigure, ...]) -> str:
    """The fit report as one self-contained HTML page (figures embedded as ``data:`` URIs).

    Parameters
    ----------
    result : FitResult
        A converged fit.
    res : DataFrame
        Its :func:`residual_table`.
    figures : tuple of FitFigure
        Its :func:`report_figures`.
    """
    import letrolab

    summary = result.summary()
    return render_template(
        "fit_report.html.j2",
        version=letrolab.__version__,
        created_utc=f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        summary=summary,
        n_measurements=len(res),
        n_conditions=res["simulationConditionId"].nunique(),
        parameters=_parameter_rows(result),
        noise=_noise_rows(result, res),
        figures=[
            {"name": f.name, "title": f.title, "caption": f.caption, "uri": data_uri(f.png)}
            for f in figures
        ],
        profiled=bool(result.profiles),
        uncertainty=summary["uncertainty"],
        uncertainty_source=_SOURCE[result.uncertainty],
        posterior=_posterior_rows(result),
        min_tau_multiple=MIN_TAU_MULTIPLE,
        starts=table_html(_starts_shown(result), max_rows=STARTS_SHOWN, full_table_in="starts.csv"),
    )


def write_report(result: FitResult, directory: Path) -> None:
    """Write the report files (module docstring) into ``directory`` (a staging folder).

    Raises
    ------
    FitError
        When ``result`` did not converge: nothing is written.
    """
    if not result.converged:
        raise FitError("the fit did not converge; no report is written for it")
    directory = Path(directory)
    res = residual_table(result)
    figures = report_figures(result, res)
    atomic_write_text(directory / "parameters.csv", csv_text(result.intervals(), index=False))
    atomic_write_text(directory / "starts.csv", csv_text(starts_table(result), index=False))
    atomic_write_text(directory / "residuals.csv", csv_text(res, index=False))
    save_fit(result, directory)
    for f in figures:
        atomic_write_bytes(directory / f.name, f.png)
    atomic_write_text(directory / REPORT_FILE, render_fit_report(result, res, figures))

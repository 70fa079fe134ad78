"""``letrolab fit`` and ``letrolab predict``: fit the model to a lab's data, predict a design.

``letrolab fit MEASUREMENTS CONDITIONS --out DIR`` fits (tables: :mod:`letrolab.fitting.data`);
``--petab DIR`` writes the problem as PEtab (with ``--out``, after the fit, with the fitted values
and SDs as its nominal values, so that an outside tool starts from the fit's initial states);
``--from-petab DIR`` reads one instead of the two tables. The ``--out`` folder holds ``report.html`` (:mod:`letrolab.fitting.report`) with its
tables and figures, written as a whole. A fit that does not converge is an ``error:`` line
with exit 2 and writes no result.
``--sampler emcee`` adds a posterior ensemble (:mod:`letrolab.fitting.posterior`), which the
report's bands and ``letrolab predict`` then use instead of the Laplace approximation.
``letrolab predict FITDIR DESIGN --out DIR`` writes predictions with 95 % intervals; for a
two-drug design also the combination table and each combination's CI with its interval over the
parameter sets (``ci.csv``, :func:`letrolab.fitting.predict.predicted_ci`).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from letrolab.errors import FitError, InputError

__all__ = ["register"]


def fit_command(
    measurements: Annotated[
        Path | None, typer.Argument(help="Measurements table (CSV/TSV).")
    ] = None,
    conditions: Annotated[Path | None, typer.Argument(help="Conditions table (CSV/TSV).")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Report folder (replaced as a whole).")
    ] = None,
    petab: Annotated[
        Path | None, typer.Option("--petab", help="Write the problem as PEtab here.")
    ] = None,
    from_petab: Annotated[
        Path | None, typer.Option("--from-petab", help="Read a PEtab problem.")
    ] = None,
    parameters: Annotated[
        str | None, typer.Option("--parameters", help="Comma-separated model parameters to fit.")
    ] = None,
    starts: Annotated[int, typer.Option("--starts", help="Multi-start count.")] = 20,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    dask: Annotated[bool, typer.Option("--dask", help="Run the starts on Dask.")] = False,
    profiles: Annotated[
        bool, typer.Option("--profiles", help="Profile likelihoods (slower).")
    ] = False,
    sampler: Annotated[
        str,
        typer.Option(
            "--sampler",
            help="Parameter uncertainty for the bands and `letrolab predict`: laplace "
            "(Gaussian at the optimum) or emcee (posterior ensemble; far slower).",
        ),
    ] = "laplace",
    walkers: Annotated[
        int | None,
        typer.Option("--walkers", help="emcee walkers (default max(2 d + 2, 16)).", min=1),
    ] = None,
    steps: Annotated[int, typer.Option("--steps", help="emcee steps per walker.")] = 500,
    burn: Annotated[
        int | None, typer.Option("--burn", help="emcee steps discarded (default half).")
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Fit the model to a lab's measurements (multi-start least squares, PEtab in and out)."""
    from letrolab._io import check_output_dir, staged_dir
    from letrolab.cli import print_json
    from letrolab.fitting import DEFAULT_FIT_PARAMETERS, FitProblem, fit, read_fit_data
    from letrolab.fitting.petab_io import export_petab, read_petab
    from letrolab.fitting.posterior import check_sampler_settings, sample_posterior
    from letrolab.fitting.report import REPORT_FILE, write_report

    if starts < 1 or starts > 1000:
        raise InputError(f"--starts must be 1-1000, got {starts}")
    if from_petab is not None:
        if measurements is not None or conditions is not None:
            raise InputError("give either MEASUREMENTS CONDITIONS or --from-petab, not both")
        imp = read_petab(from_petab)
        data, names = imp.data, imp.parameters
    else:
        if measurements is None or conditions is None:
            raise InputError("give MEASUREMENTS and CONDITIONS tables, or --from-petab DIR")
        data, names = read_fit_data(measurements, conditions), DEFAULT_FIT_PARAMETERS
    if parameters:
        names = tuple(p.strip() for p in parameters.split(",") if p.strip())
    problem = FitProblem(data, names)
    if sampler not in ("laplace", "emcee"):
        raise InputError(f"--sampler must be laplace or emcee, got {sampler!r}")
    n_walkers = walkers or max(2 * len(problem.ids) + 2, 16)
    n_burn = steps // 2 if burn is None else burn
    if sampler == "emcee":
        check_sampler_settings(len(problem.ids), n_walkers, steps, n_burn)
    for target in (out, petab):
        if target is not None:
            check_output_dir(target)
    if out is None:
        if petab is not None:
            export_petab(problem, petab)
        if json_:
            print_json({"petab": str(petab) if petab else None})
        return
    result = fit(problem, n_starts=starts, seed=seed, dask=dask, profiles=profiles)
    if not result.converged:
        best = result.starts[0]
        raise FitError(
            f"the fit did not converge (best start: {best.message.strip()}; "
            f"{sum(s.converged for s in result.starts if not s.polish)} of "
            f"{sum(not s.polish for s in result.starts)} starts converged); "
            "nothing was written — try more --starts or fewer --parameters"
        )
    if sampler == "emcee":
        result = sample_posterior(result, walkers=n_walkers, steps=steps, burn=n_burn, seed=seed)
    with staged_dir(out) as stage:
        write_report(result, stage)
    if petab is not None:  # nominal values = the fit, so the PEtab model starts where it ended
        export_petab(problem, petab, sd=result.sd, estimates=result.problem.values(result.x))
    doc = result.summary() | {"report": str(out / REPORT_FILE)}
    if json_:
        print_json(doc)
    else:
        typer.echo(
            f"fit converged: cost {result.cost:.4g}, {doc['n_converged']}/{doc['n_starts']} starts"
        )
        for r in doc["parameters"]:
            flag = "" if r["identifiable"] else "  (non-identifiable)"
            typer.echo(
                f"  {r['parameter']}: {r['estimate']:.4g} [{r['ci_low']:.4g}, {r['ci_high']:.4g}]{flag}"
            )
        typer.echo(f"uncertainty: {_uncertainty_text(doc['uncertainty'])}")
        typer.echo(f"report: {out / REPORT_FILE} (tables and figures in {out})")


def _uncertainty_text(info: dict) -> str:
    """One line naming the fit's parameter uncertainty and, for emcee, its diagnostics."""
    if info["sampler"] != "emcee":
        return "Laplace approximation at the optimum (--sampler emcee samples the posterior)"
    tau = info["autocorr_time"]
    return (
        f"emcee posterior ensemble, {info['sets']} sets ({info['walkers']} walkers x "
        f"{info['steps'] - info['burn']} steps after {info['burn']} burn-in), acceptance "
        f"{info['acceptance_fraction']:.2f}, autocorrelation time "
        f"{'not estimable' if tau is None else f'{tau:.1f} steps'}"
        f"{'' if info['long_enough'] else ' (chain too short)'}"
    )


def predict_command(
    fit_dir: Annotated[Path, typer.Argument(help="The --out folder of `letrolab fit`.")],
    design: Annotated[Path, typer.Argument(help="Conditions table of the design (CSV/TSV).")],
    out: Annotated[Path, typer.Option("--out", help="Output folder (replaced as a whole).")],
    observable: Annotated[
        list[str] | None, typer.Option("--observable", help="Readout, repeatable.")
    ] = None,
    days: Annotated[float, typer.Option("--days", help="Read-out day.")] = 6.0,
    sets: Annotated[int, typer.Option("--sets", help="Parameter sets in the ensemble.")] = 100,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Predict a design from a fit: tidy predictions with 95 % prediction intervals."""
    import pandas as pd

    from letrolab._io import atomic_write_text, check_output_dir, csv_text, staged_dir
    from letrolab.cli import print_json
    from letrolab.fitting.predict import (
        combination_table,
        load_fit,
        predict,
        predicted_ci,
        predicted_plate,
    )
    from letrolab.instruments.plates import write_layout, write_plate

    if not (0 < days <= 60) or not (2 <= sets <= 5000):
        raise InputError("--days must be in (0, 60] and --sets in 2-5000")
    check_output_dir(out)
    if not design.is_file():
        raise InputError(f"{design} not found")
    result = load_fit(fit_dir)
    cond = pd.read_csv(design, sep=None, engine="python")
    obs = tuple(observable or ("viability", "sub_g1"))
    pred = predict(result, cond, observables=obs, time_h=24.0 * days, n_sets=sets, seed=seed)
    with staged_dir(out) as stage:
        atomic_write_text(stage / "predictions.csv", csv_text(pred.table, index=False))
        drugs = [
            c[:-3]
            for c in pred.table.columns
            if c.endswith("_nM") and c[:-3] not in ("androstenedione", "igf1", "insulin")
        ]
        ci = None
        if "viability" in obs and len(drugs) == 2:
            combo = combination_table(pred, drugs[0], drugs[1])
            atomic_write_text(stage / "combination.csv", csv_text(combo, index=False))
            with contextlib.suppress(InputError):  # a design without combinations has no CI
                ci = predicted_ci(pred, drugs[0], drugs[1])
                atomic_write_text(stage / "ci.csv", csv_text(ci, index=False))
        if "viability" in obs and len(pred.table) // len(obs) + 4 <= 96:
            wells, layout = predicted_plate(pred)
            write_plate(stage / "plate.csv", wells)
            write_layout(stage / "layout.csv", layout, read="predicted viability")
    source = {"emcee": "the fit's emcee posterior ensemble", "laplace": "the Laplace approximation"}
    if json_:
        print_json(
            {
                "out": str(out),
                "n_sets": pred.n_sets,
                "rows": len(pred.table),
                "uncertainty": pred.uncertainty,
                "combination_index": None if ci is None else ci.to_dict("records"),
            }
        )
    else:
        typer.echo(
            f"{len(pred.table)} predictions from {pred.n_sets} parameter sets of "
            f"{source[pred.uncertainty]} in {out}"
        )
        if ci is not None:
            typer.echo(
                f"combination index of {len(ci)} combination(s) in {out / 'ci.csv'}: median "
                f"CI {ci['ci_median'].min():.2f}-{ci['ci_median'].max():.2f}"
            )


def register(app: typer.Typer) -> None:
    """Add ``letrolab fit`` and ``letrolab predict``."""
    app.command("fit")(fit_command)
    app.command("predict")(predict_command)

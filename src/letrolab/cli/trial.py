"""``letrolab trial``: virtual patient cohorts on letrozole and IGF-1R / IR inhibitors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from letrolab.validate import Bound, check_memory

__all__ = ["register"]

PATIENTS = Bound("--patients", 1, 1_000_000, integer=True)
WORKERS = Bound("--workers", 1, 256, integer=True)
#: Memory per patient and arm (readouts, exposures, the vectorised state; measured about
#: 0.5 kB, taken generously).
BYTES_PER_PATIENT_ARM = 4096

_ARM_HELP = (
    "NAME:DRUG:DOSE, optionally /SCHEDULE and +DRUG:DOSE..., e.g. std:letrozole:2.5mg/day or "
    "combo:letrozole:2.5mg/day+kw-2450:100nM; schedules: day, Nh, Nd, week with modifiers "
    ",21on7off ,miss=10-12 ,adherence=0.9 ,start=14d (repeat --arm for several arms)."
)


def trial(
    arm: Annotated[list[str], typer.Option("--arm", help=_ARM_HELP)],
    patients: Annotated[
        int,
        typer.Option("--patients", help=f"Virtual patients per arm ({PATIENTS.describe()})."),
    ] = 1000,
    months: Annotated[
        float,
        typer.Option("--months", help="Treatment length in months (> 0 and <= 120)."),
    ] = 3.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the virtual cohort.")] = 0,
    menopause: Annotated[str, typer.Option("--menopause", help="post or pre.")] = "post",
    population: Annotated[
        str, typer.Option("--population", help="CYP2A6 allele frequencies: european or japanese.")
    ] = "european",
    workers: Annotated[
        int, typer.Option("--workers", help=f"Worker processes ({WORKERS.describe()}).")
    ] = 1,
    backend: Annotated[
        str, typer.Option("--backend", help="processes, dask or serial.")
    ] = "processes",
    engine: Annotated[
        str,
        typer.Option(
            "--engine", help="vector (fast NumPy) or roadrunner (libroadrunner per patient)."
        ),
    ] = "vector",
    pk: Annotated[
        Path | None,
        typer.Option(
            "--pk", help="A PK catalogue CSV (columns as pk.csv) instead of the built-in one."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the tables and figures.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Give arms of drugs to a virtual cohort; report E2, FSH, IGF-I, IGFBP-3 and glucose."""
    from letrolab._io import check_output_dir
    from letrolab.cli import print_json
    from letrolab.model.patient import run_trial

    patients, workers = PATIENTS(patients), WORKERS(workers)  # run_trial checks --months
    check_memory(
        patients * max(len(arm), 1) * BYTES_PER_PATIENT_ARM,
        f"{patients} patients x {len(arm)} arm(s)",
        "give fewer --patients",
    )
    if out is not None:
        check_output_dir(out)  # fail before the simulation, not after it
    try:
        result = run_trial(
            arm,
            patients=patients,
            months=months,
            seed=seed,
            menopause=menopause,
            population=population,
            workers=workers,
            backend=backend,
            engine=engine,
            pk_catalogue=pk,
        )
    except MemoryError:
        from letrolab.errors import InputError

        raise InputError(
            f"not enough memory for {patients} patients x {len(arm)} arm(s); give fewer --patients"
        ) from None
    if out is not None:
        result.write(out)
    if as_json:
        print_json({"arms": result.summary()["arms"]})
    else:
        typer.echo(result.report())
        if out is not None:
            typer.echo(f"wrote {out}")


_HELP = (
    "Give arms of drugs to a virtual cohort; report E2, FSH, IGF-I, IGFBP-3 and glucose."
    "\n\n"
    '--json prints {"arms": [...]}: per arm name, n, hyperglycemia_pct (% of patients with '
    "fasting glucose > 7 mmol/L) and the statistics letrozole_css_nM, "
    "aromatase_inhibition_pct, e2_change_pct, fsh_change_pct, igf1_change_pct, "
    "igfbp3_change_pct and fasting_glucose_mM, each {median, p5, p95}. Extensions: the same "
    "statistics for lh_change_pct, gh_change_pct, insulin_change_pct, igf1r_inhibition_pct "
    "and ir_inhibition_pct (and ovarian_igf1_change_pct with --menopause pre), and spec, the "
    "arm as given."
    "\n\n"
    "--out DIR gets patients.parquet (one row per patient), arms.csv, summary.json and the "
    "figures profiles.png (concentration-time), igf1.png and glucose.png, all at once."
)


def register(app: typer.Typer) -> None:
    """Add ``letrolab trial`` to the command."""
    app.command("trial", help=_HELP)(trial)

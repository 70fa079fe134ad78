"""``letrolab reproduce``: the seed's experiments, run virtually end to end."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def reproduce(
    out: Annotated[
        Path,
        typer.Option("--out", help="Output folder for report.html, claims.json, results.duckdb."),
    ] = Path("letrolab-out"),
    quick: Annotated[
        bool,
        typer.Option("--quick", help="Smaller grids, cohorts and event counts (under 2 minutes)."),
    ] = False,
    seed: Annotated[
        int, typer.Option("--seed", min=0, help="Seed of every random draw.")
    ] = 20080101,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Run only this experiment (repeatable); the others' claims are not evaluated.",
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Override a model parameter for every simulation, NAME=VALUE (repeatable), "
            "e.g. --set k_er118_erk=0 to see which claims rest on a mechanism.",
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the claims as JSON on stdout.")
    ] = False,
    no_controls: Annotated[
        bool,
        typer.Option(
            "--no-controls",
            help="Skip the negative controls (each claim re-run with its mechanism removed).",
        ),
    ] = False,
) -> None:
    """Run the seed's experiments on the model and write DIR/report.html, claims.json, results.duckdb."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from letrolab._io import check_output_dir
    from letrolab.cli import print_json
    from letrolab.errors import InputError
    from letrolab.experiments.registry import all_experiments, get_experiment
    from letrolab.pipeline import check_overrides, incomplete_dir
    from letrolab.pipeline import reproduce as run

    exps = [get_experiment(i) for i in only] if only else all_experiments()
    raw: dict[str, str] = {}
    for item in set_ or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InputError(f"--set {item!r}: write NAME=VALUE, e.g. --set k_er118_erk=0")
        raw[name.strip()] = value.strip()
    overrides = check_overrides(raw)  # before any output, so errors stay one line
    out = check_output_dir(out)
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[message]}"),
        console=console,
        transient=False,
        disable=json_out and not console.is_terminal,
    ) as progress:
        tasks = {
            e.id: progress.add_task(e.title[:28], total=1.0, message="", start=False) for e in exps
        }
        started: set[str] = set()

        def on_progress(exp_id: str, fraction: float, message: str) -> None:
            if exp_id.startswith("control "):  # one bar for all negative controls
                message, exp_id = f"{exp_id}: {message}", "negative controls"
                if exp_id not in tasks:
                    tasks[exp_id] = progress.add_task(exp_id, total=1.0, message="")
                    started.add(exp_id)
                progress.update(tasks[exp_id], message=message[:40])
                return
            if exp_id not in started:  # the clock of a bar starts with its experiment
                started.add(exp_id)
                progress.start_task(tasks[exp_id])
            progress.update(
                tasks[exp_id], completed=min(max(fraction, 0.0), 1.0), message=message[:40]
            )

        result = run(
            out,
            quick=quick,
            seed=seed,
            experiments=exps,
            overrides=overrides,
            on_progress=on_progress,
            controls=not no_controls,
            ensemble=not only,  # the claims' support needs every experiment's claims
        )
        if "negative controls" in tasks:
            progress.update(tasks["negative controls"], completed=1.0)

    if json_out:
        print_json(result.claims_document())  # the claims.json entries, final verdicts
    else:
        shown = {"holds": "holds", "fails": "FAILS", "undecided": "UNDECIDED"}
        for d in result.claims_document():  # the verdict claims.json and the report give
            line = f"{d['id']}: {shown.get(d['status'], d['status'])}"
            if d["status"] != d["status_single_run"]:
                line += f" (single run: {d['status_single_run']})"
            typer.echo(line)
        on_ensemble = result.ensemble.controls_by_claim()
        for k in result.controls:
            verdict = (
                "not informative (the claim fails with its mechanism)"
                if not k.informative
                else ("claim fails" if k.fails else f"claim still {k.ablated_status}")
            )
            if k.claim in on_ensemble:
                verdict += f"; on the ensemble: {on_ensemble[k.claim].verdict}"
            typer.echo(f"negative control {k.claim} ({k.ablation}): {verdict}")
        where = Path(out) if result.complete else incomplete_dir(out)
        typer.echo(f"report: {where / 'report.html'}")
    for r in result.runs:
        if r.status != "ok":
            sys.stderr.write(f"warning: experiment {r.id} {r.status}: {r.reason}\n")
    if not result.complete:
        sys.stderr.write(
            f"warning: the run is incomplete, so {out} was left as it was; this run's output "
            f"is in {incomplete_dir(out)}\n"
        )
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``reproduce`` to the ``letrolab`` command."""
    app.command("reproduce")(reproduce)

"""``letrolab simulate`` and ``letrolab model sbml|diagram|drugs|targets``: the mechanistic model.

Concentrations carry units: ``10nM``, ``1uM``, ``50ng/mL`` (mass units need a molecular weight,
known for IGF-1, insulin and catalogued drugs). Drugs come from the catalogue
(``letrolab model drugs``); an unknown drug, unit or cell line is one ``error:`` line, exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from letrolab.errors import InputError
from letrolab.validate import Bound, check_memory

__all__ = ["register"]

DAYS = Bound("--days", 0, 3650, lo_open=True, unit="days")
POINTS_PER_DAY = Bound("--points-per-day", 1, 1440, integer=True)
DEPRIVATION_H = Bound("--deprivation-h", 0, 87600, unit="h")
#: Bytes per output time point of a trajectory (about 100 columns of float64, a few copies).
BYTES_PER_POINT = 4 * 100 * 8

#: Molecular weights (g/mol) of the medium ligands, for mass-unit input.
LIGAND_MW = {"igf1": 7649.0, "insulin": 5808.0, "androstenedione": 286.4}

CellLineOpt = Annotated[
    str, typer.Option("--cell-line", help="mcf7-aro, t47d-aro or mcf7-aro-lr (aliases accepted).")
]
A4Opt = Annotated[
    str, typer.Option("--androstenedione", help="Medium androstenedione, e.g. 10nM (0 = none).")
]
Igf1Opt = Annotated[str | None, typer.Option("--igf1", help="Medium IGF-1, e.g. 0.65nM or 5ng/mL.")]
InsOpt = Annotated[str | None, typer.Option("--insulin", help="Medium insulin, e.g. 0.1nM.")]
DrugOpt = Annotated[
    list[str] | None,
    typer.Option("--drug", help="NAME=CONC, repeatable, e.g. --drug letrozole=100nM."),
]
DeprOpt = Annotated[
    float,
    typer.Option(
        "--deprivation-h",
        help=f"Hours of steroid deprivation before stimulation ({DEPRIVATION_H.describe()}).",
    ),
]


def _conc(text: str, what: str, mw: float | None) -> float:
    from letrolab.units import parse_quantity, to_molar

    value, unit = parse_quantity(text, default_unit=None if text.strip() not in ("0",) else "M")
    if value < 0:
        raise InputError(f"{what} must be >= 0, got {text!r}")
    try:
        return float(to_molar(value, unit, mw=mw))
    except InputError as exc:
        raise InputError(f"{what}: {exc}") from None


def _conditions(
    androstenedione: str, igf1: str | None, insulin: str | None, drug: list[str] | None
):
    from letrolab.model import load_catalogue

    cat = load_catalogue()
    drugs: dict[str, float] = {}
    for item in drug or []:
        name, sep, conc = item.partition("=")
        if not sep or not name.strip() or not conc.strip():
            raise InputError(f"--drug {item!r}: write NAME=CONC, e.g. --drug letrozole=100nM")
        d = cat[name.strip()]
        if d.name in drugs:
            raise InputError(f"--drug {d.name} given twice")
        drugs[d.name] = _conc(conc, f"--drug {d.name}", d.mw)
    return {
        "androstenedione": _conc(
            androstenedione, "--androstenedione", LIGAND_MW["androstenedione"]
        ),
        "igf1": None if igf1 is None else _conc(igf1, "--igf1", LIGAND_MW["igf1"]),
        "insulin": None if insulin is None else _conc(insulin, "--insulin", LIGAND_MW["insulin"]),
        "drugs": drugs,
    }


def register(app: typer.Typer) -> None:
    """Add ``simulate`` and the ``model`` group to the ``letrolab`` command."""
    model_app = typer.Typer(
        help="The mechanistic model: SBML export, pathway diagram, catalogue, targets.",
        no_args_is_help=True,
    )

    @app.command("simulate")
    def simulate_cmd(
        cell_line: CellLineOpt = "mcf7-aro",
        androstenedione: A4Opt = "10nM",
        igf1: Igf1Opt = None,
        insulin: InsOpt = None,
        drug: DrugOpt = None,
        days: Annotated[
            float, typer.Option("--days", help=f"Days of stimulation ({DAYS.describe()}).")
        ] = 6.0,
        points_per_day: Annotated[
            int,
            typer.Option(
                "--points-per-day",
                help=f"Output resolution, 24 = hourly ({POINTS_PER_DAY.describe()}).",
            ),
        ] = 24,
        deprivation_h: DeprOpt = 240.0,
        out: Annotated[
            Path | None,
            typer.Option("--out", help="Write trajectories.csv and simulation.json into DIR."),
        ] = None,
        json_: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    ) -> None:
        """Simulate one condition: steroid deprivation, then androstenedione + drugs."""
        import json

        from letrolab._io import atomic_write_text, check_output_dir, csv_text, staged_dir
        from letrolab._results import jsonable
        from letrolab.cli import print_json
        from letrolab.model import simulate

        days, points_per_day = DAYS(days), POINTS_PER_DAY(points_per_day)
        deprivation_h = DEPRIVATION_H(deprivation_h)
        n_points = days * points_per_day + 1
        check_memory(
            n_points * BYTES_PER_POINT,
            f"--days {days:g} at --points-per-day {points_per_day} ({n_points:.3g} time points)",
            "give fewer --days or --points-per-day",
        )
        if out is not None:
            check_output_dir(out)  # before the simulation, not after it
        cond = _conditions(androstenedione, igf1, insulin, drug)
        res = simulate(
            cell_line,
            days=days,
            points_per_day=points_per_day,
            deprivation_h=deprivation_h,
            **cond,
        )
        doc = res.summary()
        if out is not None:
            with staged_dir(out) as stage:
                atomic_write_text(stage / "trajectories.csv", csv_text(res.to_frame(), index=False))
                (stage / "simulation.json").write_text(
                    json.dumps(jsonable(doc), indent=2, allow_nan=False) + "\n"
                )
        if json_:
            print_json(doc)
        else:
            typer.echo(res.report())

    @model_app.command("sbml")
    def sbml_cmd(
        output: Annotated[Path, typer.Argument(help="SBML file to write (OUT.xml).")],
        cell_line: CellLineOpt = "mcf7-aro",
        androstenedione: A4Opt = "10nM",
        igf1: Igf1Opt = None,
        insulin: InsOpt = None,
        drug: DrugOpt = None,
        deprivation_h: DeprOpt = 240.0,
        json_: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
    ) -> None:
        """Write SBML that reproduces the condition (same options as simulate)."""
        from letrolab.cli import print_json
        from letrolab.model import OBSERVABLES
        from letrolab.model.sbml import export_sbml

        deprivation_h = DEPRIVATION_H(deprivation_h)  # as simulate: nan or -5 is refused
        cond = _conditions(androstenedione, igf1, insulin, drug)
        export_sbml(output, cell_line=cell_line, deprivation_h=deprivation_h, **cond)
        if json_:
            print_json(
                {
                    "sbml": str(output),
                    "cell_line": cell_line,
                    "observables": list(OBSERVABLES),
                    "valid": True,
                }
            )
        else:
            typer.echo(f"wrote {output}")

    @model_app.command("diagram")
    def diagram_cmd(
        output: Annotated[Path, typer.Argument(help="SVG (or PNG/PDF) file to write.")],
    ) -> None:
        """Draw the pathway from the model's own reactions, drugs as blunt arrows."""
        from letrolab.model.diagram import draw_diagram

        draw_diagram(output)
        typer.echo(f"wrote {output}")

    @model_app.command("drugs")
    def drugs_cmd(
        json_: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    ) -> None:
        """List the drug catalogue (targets, potency, mode, status, reference)."""
        from letrolab.cli import print_json
        from letrolab.model import load_catalogue

        cat = load_catalogue()
        if json_:
            print_json({"drugs": [d.summary() for d in cat]})
        else:
            df = cat.to_frame()[["drug", "target", "mode", "potency_nM", "hill", "emax", "status"]]
            typer.echo(df.to_string(index=False))

    @model_app.command("targets")
    def targets_cmd(
        json_: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    ) -> None:
        """Check the shipped parameter set against every calibration target."""
        from letrolab.cli import print_json
        from letrolab.model.calibration import check_targets

        chk = check_targets()
        if json_:
            print_json(chk.summary())
        else:
            typer.echo(chk.report())

    @model_app.command("observables")
    def observables_cmd(
        json_: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    ) -> None:
        """List the documented observables (ids used in JSON output and in the SBML export)."""
        from letrolab.cli import print_json
        from letrolab.model import OBSERVABLES

        if json_:
            print_json({"observables": OBSERVABLES})
        else:
            for k, v in OBSERVABLES.items():
                typer.echo(f"{k:16s} {v}")

    @model_app.command("sensitivity")
    def sensitivity_cmd(
        cell_line: CellLineOpt = "mcf7-aro",
        drug: DrugOpt = None,
        days: Annotated[
            float, typer.Option("--days", help=f"Readout day ({DAYS.describe()}).")
        ] = 6.0,
        json_: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    ) -> None:
        """Normalised local sensitivities d ln(readout) / d ln(parameter) of key readouts."""
        from letrolab.cli import print_json
        from letrolab.model.calibration import sensitivities

        days = DAYS(days)
        cond = _conditions("10nM", None, None, drug)
        rep = sensitivities(cell_line, drugs=cond["drugs"], days=days)
        if json_:
            print_json(rep.summary())
        else:
            typer.echo(rep.report())

    app.add_typer(model_app, name="model")

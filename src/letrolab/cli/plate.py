"""``letrolab plate`` (plate-reader files); ``letrolab blot`` lives in :mod:`letrolab.cli.blot`.

``letrolab plate READ [--layout LAYOUT] [--read LABEL] [--asm OUT.json] [--out DIR] [--json]``
    Without a layout: the tidy wells, ``{"format", "parser", "wells": [{"plate", "well",
    "row", "col", "read", "wavelength", "value", "flag", "kind"}], "unplaced", "notes"}``
    (plus ``time_s`` for kinetic reads); ``kind`` is ``raw`` or ``calculated``. ``--asm``
    writes allotropy's Allotrope Simple Model document (for a LIMS or ELN; refused, exit 2,
    for the formats letrolab reads itself). ``letrolab plate --vendors`` lists the formats and
    the parser of each. With a
    layout also ``"read"`` (the label analysed), ``"qc"`` (per plate: Z', CVs, edge effect,
    warnings), ``"warnings"`` and ``"combination"`` (the tidy combination table, response =
    % viability; null when the layout has one drug). ``--out DIR`` writes wells.csv and, with
    a layout, viability.csv, combination.csv, qc.json and plates.png (a QC heat map per plate).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def _wells_records(wells) -> list[dict]:
    cols = ["plate", "well", "row", "col", "read", "wavelength", "value", "flag", "kind"]
    if wells["time_s"].notna().any():
        cols.append("time_s")
    return wells[cols].to_dict(orient="records")


def _vendors(as_json: bool) -> None:
    from letrolab.assays.plates import PARSERS
    from letrolab.assays.plates.asm import allotropy_version
    from letrolab.cli import print_json

    if as_json:
        print_json({"allotropy": allotropy_version(), "formats": PARSERS})
        return
    typer.echo(f"allotropy {allotropy_version()}")
    for fmt, parser in PARSERS.items():
        typer.echo(f"{fmt:<14} {parser}")


def plate(
    read: Annotated[
        Path | None,
        typer.Argument(help="Plate-reader export (format detected).", show_default=False),
    ] = None,
    layout: Annotated[
        Path | None,
        typer.Option("--layout", help="Plate map (CSV) for viability, QC and combinations."),
    ] = None,
    read_label: Annotated[
        str | None,
        typer.Option(
            "--read",
            help="Read label to analyse when the file holds several (without --layout: the "
            "only read listed).",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write tables into this folder.")
    ] = None,
    asm: Annotated[
        Path | None,
        typer.Option("--asm", help="Write the Allotrope Simple Model (ASM) JSON document."),
    ] = None,
    vendors: Annotated[
        bool, typer.Option("--vendors", help="List the formats and the parser of each.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Read a plate-reader file; with --layout also % viability, QC and the combination table."""
    from letrolab._io import atomic_write_text, check_output_dir, csv_text, staged_dir
    from letrolab.assays.plates import analyse_plate, read_plate_file
    from letrolab.cli import jsonable, print_json
    from letrolab.errors import InputError

    if vendors:
        _vendors(as_json)
        return
    if read is None:
        raise InputError("give a plate-reader export (letrolab plate READ), or --vendors")
    if read.is_dir():
        raise InputError(f"plate file {str(read)!r} is a folder; give a plate-reader export")
    if not read.is_file():
        raise InputError(f"plate file {str(read)!r} does not exist")
    if out is not None:
        check_output_dir(out)
    pf = read_plate_file(read)
    fmt, wells = pf.format, pf.wells
    asm_doc = pf.asm_document() if asm is not None else None  # refused before any output
    if read_label is not None and layout is None:  # without a layout, --read selects the wells
        reads = list(dict.fromkeys(wells["read"]))
        if read_label not in reads:
            raise InputError(f"{read.name} has no read {read_label!r}; its reads are {reads}")
        wells = wells[wells["read"] == read_label].reset_index(drop=True)
    doc: dict = {
        "format": fmt,
        "parser": pf.parser,
        "wells": _wells_records(wells),
        "unplaced": pf.unplaced,
        "notes": list(pf.notes),
    }
    res = None
    if layout is not None:
        res = analyse_plate(wells, layout, read_label=read_label)
        doc.update(res.summary())
    if out is not None:
        with staged_dir(out) as stage:
            atomic_write_text(stage / "wells.csv", csv_text(wells, index=False))
            if res is not None:
                atomic_write_text(stage / "viability.csv", csv_text(res.viability, index=False))
                if res.combination is not None:
                    atomic_write_text(
                        stage / "combination.csv", csv_text(res.combination, index=False)
                    )
                qc = jsonable([q.summary() for q in res.qc])
                atomic_write_text(stage / "qc.json", json.dumps(qc, indent=2))
                res.plot(stage / "plates.png")
    if asm_doc is not None:
        atomic_write_text(asm, json.dumps(jsonable(asm_doc), indent=2))
    if as_json:
        print_json(doc)
        return
    counts = (
        wells.groupby(["plate", "read"], sort=False)["flag"].value_counts().unstack(fill_value=0)
    )
    typer.echo(
        f"{read.name}: format {fmt}, parser {pf.parser}, {wells['plate'].nunique()} plate(s), "
        f"{len(wells)} wells"
    )
    typer.echo(counts.to_string())
    for note in pf.notes:
        typer.echo(f"note: {note}")
    if pf.unplaced:
        n = sum(pf.unplaced.values())
        typer.echo(
            f"note: {n} calculated value(s) span several wells (group statistics) and are "
            f"not in the wells table: {', '.join(sorted(pf.unplaced))}"
        )
    if asm is not None:
        typer.echo(f"wrote {asm}")
    if res is not None:
        typer.echo(res.report())
        if res.combination is not None:
            typer.echo(f"combination table: {len(res.combination)} rows")


def register(app: typer.Typer) -> None:
    """Add the ``plate`` sub-command."""
    app.command("plate")(plate)

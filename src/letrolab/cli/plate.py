"""``letrolab plate`` (plate-reader files); ``letrolab blot`` lives in :mod:`letrolab.cli.blot`.

``letrolab plate READ [--layout LAYOUT] [--read LABEL] [--out DIR] [--json]``
    Without a layout: the tidy wells, ``{"format", "wells": [{"plate", "well", "row", "col",
    "read", "wavelength", "value", "flag"}]}`` (plus ``time_s`` for kinetic reads). With a
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

#: The rolling ball's kernel is (2r + 1)^2 pixels; 1000 px is larger than any band spacing.


def _wells_records(wells) -> list[dict]:
    cols = ["plate", "well", "row", "col", "read", "wavelength", "value", "flag"]
    if wells["time_s"].notna().any():
        cols.append("time_s")
    return wells[cols].to_dict(orient="records")


def plate(
    read: Annotated[
        Path, typer.Argument(help="Plate-reader export (format detected).", show_default=False)
    ],
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
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Read a plate-reader file; with --layout also % viability, QC and the combination table."""
    from letrolab._io import atomic_write_text, check_output_dir, csv_text, staged_dir
    from letrolab.assays.plates import analyse_plate, detect_format, read_plate
    from letrolab.cli import _jsonable, print_json
    from letrolab.errors import InputError

    if read.is_dir():
        raise InputError(f"plate file {str(read)!r} is a folder; give a plate-reader export")
    if not read.is_file():
        raise InputError(f"plate file {str(read)!r} does not exist")
    if out is not None:
        check_output_dir(out)
    fmt = detect_format(read)
    wells = read_plate(read, format=fmt)
    if read_label is not None and layout is None:  # without a layout, --read selects the wells
        reads = list(dict.fromkeys(wells["read"]))
        if read_label not in reads:
            raise InputError(f"{read.name} has no read {read_label!r}; its reads are {reads}")
        wells = wells[wells["read"] == read_label].reset_index(drop=True)
    doc: dict = {"format": fmt, "wells": _wells_records(wells)}
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
                qc = _jsonable([q.summary() for q in res.qc])
                atomic_write_text(stage / "qc.json", json.dumps(qc, indent=2))
                res.plot(stage / "plates.png")
    if as_json:
        print_json(doc)
        return
    counts = (
        wells.groupby(["plate", "read"], sort=False)["flag"].value_counts().unstack(fill_value=0)
    )
    typer.echo(
        f"{read.name}: format {fmt}, {wells['plate'].nunique()} plate(s), {len(wells)} wells"
    )
    typer.echo(counts.to_string())
    if res is not None:
        typer.echo(res.report())
        if res.combination is not None:
            typer.echo(f"combination table: {len(res.combination)} rows")


def register(app: typer.Typer) -> None:
    """Add the ``plate`` sub-command."""
    app.command("plate")(plate)

"""``letrolab plate`` (plate-reader files) and ``letrolab blot`` (Western blot densitometry).

``letrolab plate READ [--layout LAYOUT] [--read LABEL] [--out DIR] [--json]``
    Without a layout: the tidy wells, ``{"format", "wells": [{"plate", "well", "row", "col",
    "read", "wavelength", "value", "flag"}]}`` (plus ``time_s`` for kinetic reads). With a
    layout also ``"read"`` (the label analysed), ``"qc"`` (per plate: Z', CVs, edge effect,
    warnings), ``"warnings"`` and ``"combination"`` (the tidy combination table, response =
    % viability; null when the layout has one drug). ``--out DIR`` writes wells.csv and, with
    a layout, viability.csv, combination.csv, qc.json and plates.png (a QC heat map per plate).

``letrolab blot IMAGE [--lanes N] [--background ...] [--control-lane K] [--out DIR] [--json]``
    ``{"bands": [{"lane", "band", "area", "relative", "saturated"}], "lanes": [...],
    "warnings": [...]}``; ``--out DIR`` writes bands.csv, blot.png (lanes and bands marked)
    and blot.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from letrolab.validate import Bound

__all__ = ["register"]

#: The rolling ball's kernel is (2r + 1)^2 pixels; 1000 px is larger than any band spacing.
BLOT_RADIUS = Bound("--radius", 0, 1000, lo_open=True, unit="px")


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


def blot(
    image: Annotated[
        Path, typer.Argument(help="Blot image, TIFF or PNG, 8 or 16 bit.", show_default=False)
    ],
    lanes: Annotated[
        int | None, typer.Option("--lanes", help="Number of lanes (default: detect).")
    ] = None,
    background: Annotated[
        str, typer.Option("--background", help="auto, rolling_ball, rectangles or none.")
    ] = "auto",
    radius: Annotated[
        float | None,
        typer.Option("--radius", help=f"Rolling-ball radius ({BLOT_RADIUS.describe()})."),
    ] = None,
    control_lane: Annotated[
        int, typer.Option("--control-lane", help="Lane whose bands are 1.")
    ] = 1,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write bands.csv, blot.png, blot.json.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Measure the bands of a Western blot image (ImageJ Gel Analyzer style)."""
    from letrolab._io import atomic_write_text, check_output_dir, csv_text, staged_dir
    from letrolab.assays.blot import analyse_blot, read_blot_image
    from letrolab.cli import _jsonable, print_json

    radius = None if radius is None else BLOT_RADIUS(radius)
    if out is not None:
        check_output_dir(out)
    raw = read_blot_image(image)
    res = analyse_blot(
        raw, lanes=lanes, background=background, radius=radius, control_lane=control_lane
    )
    doc = res.summary()
    if out is not None:
        from letrolab.assays.blot_plots import plot_blot

        with staged_dir(out) as stage:
            atomic_write_text(stage / "bands.csv", csv_text(res.bands, index=False))
            plot_blot(res, path=stage / "blot.png", image=raw, title=image.name)
            atomic_write_text(stage / "blot.json", json.dumps(_jsonable(doc), indent=2))
    if as_json:
        print_json(doc)
        return
    typer.echo(f"{image.name}: {res.report()}")


def register(app: typer.Typer) -> None:
    """Add the ``plate`` and ``blot`` sub-commands."""
    app.command("plate")(plate)
    app.command("blot")(blot)

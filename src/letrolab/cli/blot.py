"""``letrolab blot`` (Western blot and gel densitometry).

``letrolab blot IMAGE [--lanes N|BOXES.csv] [--lane-width W] [--background METHOD]
[--radius R] [--region Y0:Y1 ...] [--window Y0:Y1 ...] [--bands N] [--control-lane K]
[--out DIR] [--json]``
    ``{"lanes", "inverted", "background", "radius", "control_lane", "bands": [{"lane", "band",
    "area", "relative", "saturated", "detected", "row", "row_start", "row_end"}],
    "warnings"}``; ``--out DIR`` writes bands.csv, blot.png (the lanes on the image, and each
    lane's profile with its baseline and shaded band areas) and blot.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from letrolab.validate import Bound

#: The rolling-ball radius a user may give: finite, positive, at most 1000 px.
BLOT_RADIUS = Bound("--radius", 0, 1000, lo_open=True, unit="px")

__all__ = ["register"]


def _rows(spec: str, what: str) -> tuple[int, int]:
    """``"Y0:Y1"`` as a pair of rows (Y1 exclusive)."""
    from letrolab.errors import InputError

    parts = spec.split(":")
    try:
        y0, y1 = (int(p) for p in parts)
    except ValueError:
        raise InputError(f"{what} must be rows Y0:Y1 (whole numbers), not {spec!r}") from None
    if not 0 <= y0 < y1:
        raise InputError(f"{what} {spec!r} must have 0 <= Y0 < Y1")
    return y0, y1


def _lanes(spec: str | None):
    if spec is None:
        return None
    return int(spec) if spec.strip().isdigit() else Path(spec)


def blot(
    image: Annotated[
        Path, typer.Argument(help="Blot image, TIFF or PNG, 8 or 16 bit.", show_default=False)
    ],
    lanes: Annotated[
        str | None,
        typer.Option(
            "--lanes", help="Number of lanes, or a CSV of lane boxes (x0,x1); default: detect."
        ),
    ] = None,
    lane_width: Annotated[
        int | None, typer.Option("--lane-width", help="Width of every lane box (px).")
    ] = None,
    background: Annotated[
        str,
        typer.Option("--background", help="baseline, rolling_ball, region or none."),
    ] = "baseline",
    radius: Annotated[
        float | None,
        typer.Option("--radius", help=f"Rolling-ball radius ({BLOT_RADIUS.describe()})."),
    ] = None,
    region: Annotated[
        list[str] | None,
        typer.Option("--region", help="Background rows Y0:Y1 for --background region."),
    ] = None,
    window: Annotated[
        list[str] | None,
        typer.Option("--window", help="Fixed band window Y0:Y1 measured in every lane."),
    ] = None,
    bands: Annotated[
        int | None, typer.Option("--bands", help="Keep the N most prominent bands.")
    ] = None,
    control_lane: Annotated[
        int, typer.Option("--control-lane", help="Lane whose bands are 1.")
    ] = 1,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write bands.csv, blot.png, blot.json.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Measure the bands of a Western blot or gel image (ImageJ Gel Analyzer style)."""
    from letrolab._io import atomic_write_text, check_output_dir, csv_text, staged_dir
    from letrolab.assays.blot import analyse_blot, read_blot_image
    from letrolab.cli import jsonable, print_json

    radius = None if radius is None else BLOT_RADIUS(radius)
    if out is not None:
        check_output_dir(out)
    raw = read_blot_image(image)
    res = analyse_blot(
        raw,
        lanes=_lanes(lanes),
        lane_width=lane_width,
        background=background,
        radius=radius,
        region=[_rows(r, "--region") for r in region] if region else None,
        window=[_rows(w, "--window") for w in window] if window else None,
        bands=bands,
        control_lane=control_lane,
    )
    doc = res.summary()
    if out is not None:
        from letrolab.assays.blot_plots import plot_blot

        with staged_dir(out) as stage:
            atomic_write_text(stage / "bands.csv", csv_text(res.bands, index=False))
            plot_blot(res, path=stage / "blot.png", image=raw, title=image.name)
            atomic_write_text(stage / "blot.json", json.dumps(jsonable(doc), indent=2))
    if as_json:
        print_json(doc)
        return
    typer.echo(f"{image.name}: {res.report()}")


def register(app: typer.Typer) -> None:
    """Add the ``blot`` sub-command."""
    app.command("blot")(blot)

"""``letrolab fcs`` and ``letrolab cellcycle``: FCS files and their DNA-content analysis.

``letrolab fcs FILE [--json]`` describes one FCS file: ``{"version", "events", "channels":
[{"name", "label", "range"}], "datasets"}``, plus ``"repairs": [{"kind", "detail"}]`` when the
reader had to repair the file in a way that changes which numbers are read (see
:class:`letrolab.assays.fcs.FCSRepair`). Each repair is also one ``warning: FILE: ...`` line on
stderr. A file whose repair the file's own numbers cannot confirm is refused (exit 2).

``letrolab cellcycle FILE... [--channel NAME] [--control FILE] [--model djf|watson]
[--out DIR] [--json]`` analyses each file (a folder stands for every FCS file in it) and prints
``{"files": [{"file", "events", "singlets", "sub_g1_pct", "g1_pct", "s_pct", "g2m_pct",
"g1_mean", "g2_mean", "g2_g1_ratio", "g1_cv", "rcs", "model"}, ...]}`` in input order. A file
that cannot be read or fitted keeps its place with null numbers and an ``"error"`` key (one
line), and gets one ``error: FILE: why`` line on stderr; the others are still analysed, and
the exit status is 2. A file that the FCS reader repaired gets one more key, ``"repairs"``
(``[{"kind", "detail"}]``), a ``repairs:`` block in the text output, and one ``warning: FILE:
...`` line per repair on stderr; so does the control file, on stderr. ``--out DIR`` receives
``cellcycle.json`` (full results, the errors and the repairs), ``cellcycle.csv`` (one row per
file) and one histogram figure per file, all at once when the run ends.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register"]


def fcs(
    file: Annotated[Path, typer.Argument(help="FCS file (2.0, 3.0 or 3.1).", show_default=False)],
    dataset: Annotated[
        int, typer.Option("--dataset", help="Which dataset of a multi-dataset file (0-based).")
    ] = 0,
    keywords: Annotated[
        bool, typer.Option("--keywords", help="Also list every TEXT keyword (JSON: 'keywords').")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Describe an FCS file: version, event count, channels, datasets (and keywords)."""
    from letrolab.assays.fcs import read_fcs
    from letrolab.cli import print_json

    data = read_fcs(file, dataset=dataset)
    _warn_repairs(str(file), data.repairs)
    if as_json:
        doc = data.summary()
        if data.repairs:
            doc["repairs"] = [r.summary() for r in data.repairs]
        if keywords:
            doc["keywords"] = dict(data.keywords)
            doc["quirks"] = list(data.quirks)
        print_json(doc)
    else:
        typer.echo(data.report())
        if keywords:
            for key, value in data.keywords.items():
                typer.echo(f"  {key} = {value}")


def _warn_repairs(file: str, repairs: Sequence[Any]) -> None:
    """One ``warning: FILE: kind: detail`` line on stderr per reader repair."""
    for r in repairs:
        sys.stderr.write(f"warning: {file}: FCS repair {' '.join(str(r).split())}\n")


def _reader_repairs(batch: Any) -> dict[str, tuple]:
    """The FCS reader's repairs of every file, by file name.

    An analysed file carries its reader's repairs (``CellCycleResult.repairs``); a file whose
    analysis failed is read once more, so that its one error line says which repairs came
    before the failure.
    """
    return {
        f: r.repairs if r else _file_repairs(f)
        for f, r in zip(batch.files, batch.results, strict=True)
    }


def _file_repairs(path: str) -> tuple:
    """The FCS reader's repairs of one file (() when it cannot be read: the analysis says why)."""
    from letrolab.assays.fcs import read_fcs
    from letrolab.errors import LetrolabError

    try:
        return read_fcs(path).repairs
    except (LetrolabError, OSError):
        return ()


def cellcycle(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="FCS files, or folders of FCS files (a plate export).", show_default=False
        ),
    ],
    channel: Annotated[
        str | None,
        typer.Option("--channel", help="DNA channel by $PnN or $PnS (detected when omitted)."),
    ] = None,
    control: Annotated[
        Path | None,
        typer.Option("--control", help="Control file whose G1 position guides every fit."),
    ] = None,
    model: Annotated[
        str, typer.Option("--model", help="djf (Dean-Jett-Fox) or watson (Watson pragmatic).")
    ] = "djf",
    cv: Annotated[str, typer.Option("--cv", help="G2/M CV 'shared' with G1 or 'free'.")] = "shared",
    linearity: Annotated[
        str,
        typer.Option(
            "--linearity",
            help="G2/G1 ratio: range=A:B (default range=1.9:2.05), fixed=X or free (1.75-2.2).",
        ),
    ] = "range=1.9:2.05",
    standard: Annotated[
        str | None,
        typer.Option(
            "--standard",
            help="Name of an internal DNA reference standard (e.g. 'chicken erythrocytes'): a "
            "second G0/G1 peak is reported as it, not as a second cycle.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for cellcycle.json, cellcycle.csv and figures."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """DNA-content analysis: singlets, sub-G1 and G1/S/G2-M fractions of FCS files."""
    from letrolab.assays.cellcycle import SUMMARY_KEYS, analyze_batch
    from letrolab.cli import print_json
    from letrolab.errors import InputError, LetrolabError

    model = model.strip().lower()
    if model not in ("djf", "watson"):
        raise InputError(f"--model must be djf or watson, not {model!r}")
    if out is not None:
        from letrolab._io import check_output_dir

        check_output_dir(out)  # fail before the analysis, not after it
    batch = analyze_batch(
        files,
        control=control,
        channel=channel,
        model=model,
        cv=cv,
        linearity=linearity,
        standard=standard,
    )
    repairs = _reader_repairs(batch)
    if control is not None:
        _warn_repairs(f"control {control}", _file_repairs(str(control)))
    failed = dict(batch.failed)
    for f in batch.files:
        if f not in failed:  # a failed file's repairs go into its one error line
            _warn_repairs(f, repairs[f])
    for r in batch.results:
        for w in r.warnings if r else ():
            sys.stderr.write(f"warning: {Path(r.file).name}: {w}\n")
    if out is not None:
        _write_outputs(batch, out, repairs)
    if as_json:
        print_json({"files": _json_entries(batch, SUMMARY_KEYS, model, repairs)})
    elif any(batch.results):  # nothing analysed: the reasons go to stderr only
        typer.echo(batch.report())
        for f in batch.files:
            if repairs[f]:
                typer.echo(f"repairs: {f}")
                typer.echo("\n".join(f"  {r}" for r in repairs[f]))
    lines = [  # name each file once; say which repairs the reader made before the failure
        (r if f in r else f"{f}: {r}")
        + (f" (after FCS repairs: {'; '.join(map(str, repairs[f]))})" if repairs[f] else "")
        for f, r in batch.failed
    ]
    if lines:
        # one "error:" line per failed file; the last one is raised so the exit status is 2
        for line in lines[:-1]:
            sys.stderr.write(f"error: {' '.join(line.split())}\n")
        if len(batch.files) > 1:
            sys.stderr.write(f"error: {' '.join(lines[-1].split())}\n")
            raise LetrolabError(
                f"{len(lines)} of {len(batch.files)} files could not be analysed (see above)"
            )
        raise LetrolabError(lines[-1])


def _json_entries(batch, keys: tuple[str, ...], model: str, repairs: dict) -> list[dict]:
    """One ``--json`` entry per input file, in input order: the contract keys of an analysed
    file; for a failed file the same keys with null numbers, plus its one-line ``error``; for
    a file the reader repaired, its ``repairs``."""
    entries = []
    for f, r in zip(batch.files, batch.results, strict=True):
        if r:
            summ = r.summary()
            entry = {k: summ[k] for k in keys}
        else:
            entry = {k: None for k in keys}
            entry.update(file=f, model=model, error=" ".join(r.reason.split()))
        if repairs.get(f):
            entry["repairs"] = [x.summary() for x in repairs[f]]
        entries.append(entry)
    return entries


def _write_outputs(batch, out: Path, repairs: dict) -> None:
    from letrolab._io import atomic_write_text, csv_text, staged_dir
    from letrolab.assays.flow_plots import save_cell_cycle_figure
    from letrolab.cli import jsonable

    with staged_dir(out) as stage:
        doc = {"files": [r.summary() for r in batch.results if r]}
        doc["errors"] = [{"file": f, "error": e} for f, e in batch.failed]
        doc["repairs"] = [
            {"file": f, **x.summary()} for f in batch.files for x in repairs.get(f, ())
        ]
        (stage / "cellcycle.json").write_text(
            json.dumps(jsonable(doc), indent=2, allow_nan=False) + "\n"
        )
        atomic_write_text(stage / "cellcycle.csv", csv_text(batch.to_frame(), index=False))
        used: set[str] = set()
        for r in batch.results:
            if not r:
                continue
            stem = Path(r.file).name
            name, i = stem, 1
            while name in used:
                i += 1
                name = f"{stem}_{i}"
            used.add(name)
            save_cell_cycle_figure(r, stage / f"{name}.png")


_CELLCYCLE_HELP = (
    "DNA-content analysis: singlets, sub-G1 and G1/S/G2-M fractions of FCS files."
    "\n\n"
    '--json prints {"files": [...]}, one entry per input file, in the order the files were '
    "given; an analysed file has exactly the keys file, events, singlets, sub_g1_pct (of "
    "singlets), g1_pct, s_pct, g2m_pct (of the modelled cycling events), g1_mean, g2_mean, "
    "g2_g1_ratio, g1_cv, rcs and model. A file that cannot be read or fitted keeps its place in that list "
    "with the same keys, every number null, and one more key, error (its reason on one "
    "line); the reason also goes to stderr as one 'error: FILE: ...' line (in a batch, a "
    "last line counts the failures), the other files are still analysed, and the exit "
    "status is 2. A file the FCS reader had to repair (a repair that changes which numbers are "
    "read: $TOT, $PnB, DATA offsets, byte order, range masking, $TIMESTEP) has one more key, "
    "repairs ([{kind, detail}]), and one 'warning: FILE: ...' line per repair on stderr; a file "
    "whose repair cannot be confirmed from its own numbers is refused like any bad file."
    "\n\n"
    "--out DIR gets cellcycle.json (full results, and an 'errors' list), cellcycle.csv and "
    "one histogram figure per file."
)


def register(app: typer.Typer) -> None:
    """Add ``letrolab fcs`` and ``letrolab cellcycle`` to the command."""
    app.command("fcs")(fcs)
    app.command("cellcycle", help=_CELLCYCLE_HELP)(cellcycle)

"""``letrolab synergy``: combination analysis of a tidy table or a plate read.

Chou–Talalay (median-effect, combination index, dose-reduction index) runs here; the reference
models (Bliss, HSA, Loewe, ZIP) are computed by :func:`_run_reference_models` and merged into
the same JSON document, one entry per block.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from letrolab.errors import InputError
from letrolab.validate import Bound

__all__ = ["register"]

MODELS = ("chou-talalay", "bliss", "hsa", "loewe", "zip")
BOOTSTRAP = Bound("--bootstrap", 20, 100_000, integer=True)
REFERENCE_MODELS = ("bliss", "hsa", "loewe", "zip")
FIGURES = Bound("--figures", 0, 100_000, integer=True)
#: Reference-model inputs larger than this on disk are scored as a screen: streamed in chunks
#: of whole blocks to tidy tables in --out, with a progress bar (as --screen).
SCREEN_AUTO_BYTES = 256 * 2**20
#: Reference-model JSON of more blocks than this is printed on one line (compact).
COMPACT_JSON_BLOCKS = 1000


def _parse_models(values: list[str] | None) -> list[str]:
    """Expand ``--model`` values (repeatable, comma lists, ``all``) into an ordered list."""
    raw = [p.strip().lower() for v in (values or ["chou-talalay"]) for p in v.split(",")]
    out: list[str] = []
    for name in raw:
        if not name:
            continue
        if name == "all":
            names = list(MODELS)
        elif name in MODELS:
            names = [name]
        elif name in {"chou", "ct", "chou_talalay", "choutalalay", "ci"}:
            names = ["chou-talalay"]
        else:
            raise InputError(
                f"unknown model {name!r}; use one of chou-talalay, bliss, hsa, loewe, zip, all"
            )
        out.extend(n for n in names if n not in out)
    if not out:
        raise InputError(
            "no model given; use --model chou-talalay (or bliss, hsa, loewe, zip, all)"
        )
    return out


def _read_input(
    input_path: Path | None,
    plate: Path | None,
    layout: Path | None,
    response: str | None,
    read_label: str | None = None,
    scale: str | None = None,
    metadata: Path | None = None,
):
    """Read the tidy table (or a plate read + layout): ``(CombinationData, wells)``, the wells
    being the rows as read (one per well, for the bootstrap).

    ``response`` is None when ``--response`` was not given: 'inhibition' for a tidy table; a
    plate read is always % viability, so any other explicit value is refused there.
    """
    from letrolab.synergy.tidy import normalise_combination, read_table

    if plate is not None or layout is not None:
        if input_path is not None:
            raise InputError("give either INPUT or --plate/--layout, not both")
        if plate is None or layout is None:
            raise InputError("--plate and --layout go together; give both")
        if response not in (None, "viability"):
            raise InputError(
                f"--response {response} does not apply to --plate: plate reads are % viability "
                "(vehicle = 100 %); drop --response or give --response viability"
            )
        try:
            from letrolab.assays.plates import read_plate_combination
        except ImportError:
            raise InputError(
                "--plate/--layout needs the plate reader (letrolab.assays.plates), which is not "
                "available in this installation; export a tidy table and pass it as INPUT"
            ) from None
        table = read_plate_combination(plate, layout, read_label=read_label)
        for w in table.attrs.get("warnings", ()):
            sys.stderr.write(f"warning: {w}\n")
        # The plate reader gives % viability (vehicle = 100 %).
        return normalise_combination(table, response="viability"), table
    if read_label is not None:
        raise InputError("--read picks a read of a --plate file; a tidy table has one response")
    if metadata is not None and plate is not None:
        raise InputError("--metadata goes with an NCATS matrix INPUT, not with --plate")
    if input_path is None:
        raise InputError("no input; give a tidy table as INPUT, or --plate READ --layout LAYOUT")
    wells = read_table(input_path, metadata=metadata)
    for note in wells.attrs.get("notes", ()):
        sys.stderr.write(f"note: {note}\n")
    data = normalise_combination(wells, response=response or "inhibition", scale=scale)
    return data, wells


# --------------------------------------------------------------------------------------------
# Reference models (Bliss, HSA, Loewe, ZIP)
# --------------------------------------------------------------------------------------------
def _reference_result(
    data: Any, models: list[str], *, engine: str, scheduler: str, convention: str
):
    """Score ``data`` (a CombinationData): in-process by :func:`reference_scores`, or on dask
    by :func:`score_screen`; both go through :func:`letrolab.synergy.reference.score_table`."""
    from letrolab.synergy.reference import ReferenceResult, reference_scores

    if engine != "dask":
        return reference_scores(data, models=models, convention=convention)
    from letrolab.synergy.screen import score_screen

    # Input warnings are added by the caller for both engines.
    run = score_screen(
        dataclasses.replace(data, block_warnings={}),
        models=models,
        engine=engine,
        scheduler=scheduler,
        progress=None,
        convention=convention,
    )
    return ReferenceResult(
        models=run.models,
        scores=run.scores,
        blocks=run.blocks,
        single_agents=run.single_agents,
        warnings=run.warnings,
    )


def _say_figures(n_figures: int, n_blocks: int, model: str) -> None:
    if n_blocks > n_figures:
        sys.stderr.write(
            f"note: per-block figures for the {n_figures} blocks with the highest {model}_mean "
            f"of {n_blocks} (--figures N to change)\n"
        )


def _run_reference_models(
    data: Any,
    models: list[str],
    *,
    engine: str,
    scheduler: str,
    out_dir: Path | None,
    json_wanted: bool,
    convention: str = "synergyfinder3",
    input_warnings: bool = True,
    figures: int = 50,
    tables: str = "csv",
) -> tuple[int, dict[str, dict] | None]:
    """Score ``data`` with the reference models named in ``models``.

    Returns the number of blocks and, when JSON is wanted, ``{block_id: {"scores": [...],
    "summary": {...}, "reference_warnings": [...]}}`` (merged into that block's JSON object);
    text mode prints the report and builds no JSON. Writes the tables and the figures of the
    ``figures`` top blocks into ``out_dir`` (a staging folder) when it is given.
    """
    res = _reference_result(data, models, engine=engine, scheduler=scheduler, convention=convention)
    if out_dir is not None:
        res.write(out_dir, table=data.table, max_figure_blocks=figures, fmt=tables)
        _say_figures(figures, len(res.blocks), res.models[0])
    notes = data.block_warnings if input_warnings else {}
    if not json_wanted:
        typer.echo(res.report())
        for ws in notes.values():
            for w in ws:
                sys.stderr.write(f"warning: {w}\n")
        return len(res.blocks), None
    entries = res.block_json()
    for bid, entry in entries.items():  # keep the Chou-Talalay "warnings" list intact
        entry["reference_warnings"] = list(notes.get(bid, ())) + entry.pop("warnings", [])
    return len(res.blocks), entries


def _screen_figures(run: Any, out_dir: Path, figures: int) -> None:
    """Ranking figures, and heatmaps of the top blocks read back from the Parquet scores."""
    import pyarrow.parquet as pq

    from letrolab._io import atomic_write_text, safe_names
    from letrolab.synergy import ref_plots

    for m in run.models:
        ref_plots.plot_block_ranking(run.blocks, m, out_dir / f"ranking_{m}.png")
    if figures <= 0 or run.scores_path is None or "drug3" in run.blocks:
        return
    m0 = run.models[0]
    v = run.blocks[f"{m0}_mean"].to_numpy(dtype=float)
    ids = run.blocks["block_id"].astype(str).to_numpy()
    top = ids[np.argsort(-np.where(np.isfinite(v), v, -np.inf), kind="stable")[:figures]]
    if out_dir.joinpath(run.scores_path.name).suffix != ".parquet":
        sys.stderr.write("note: --screen draws per-block heatmaps from Parquet tables only\n")
        return
    sc = pq.read_table(out_dir / run.scores_path.name, filters=[("block_id", "in", list(top))])
    sc = sc.to_pandas()
    names = safe_names(ids.tolist(), prefix="block_")
    for bid in top:
        d = out_dir / names[bid]
        atomic_write_text(d / "block_id.txt", bid + "\n")
        for m in run.models:
            ref_plots.plot_synergy_heatmap(sc, bid, m, d / f"ref_heatmap_{m}.png")
    _say_figures(figures, len(ids), m0)


def _run_screen(
    input_path: Path,
    models: list[str],
    *,
    out: Path | None,
    response: str,
    scale: str | None,
    engine: str,
    scheduler: str,
    convention: str,
    figures: int,
    tables: str,
    json_wanted: bool,
    metadata: Path | None = None,
) -> None:
    """Stream a large screen in chunks of whole blocks to tidy tables in ``out``
    (:func:`letrolab.synergy.score_screen`, progress bar on a terminal)."""
    from letrolab._io import staged_dir
    from letrolab.cli import print_json
    from letrolab.synergy.formats import is_plain_table
    from letrolab.synergy.screen import score_screen
    from letrolab.synergy.tidy import read_table

    if out is None:
        raise InputError("--screen streams its tables into a folder; give --out DIR")
    source: Any = input_path
    if metadata is not None or not is_plain_table(input_path):
        source = read_table(input_path, metadata=metadata)  # Excel, European CSV, NCATS
        for note in source.attrs.get("notes", ()):
            sys.stderr.write(f"note: {note} (read whole, then scored in chunks)\n")
    with staged_dir(out) as stage:
        run = score_screen(
            source,
            models=models,
            response=response,
            scale=scale,
            scores_out=stage / f"reference_scores.{tables}",
            blocks_out=stage / f"reference_blocks.{tables}",
            single_agents_out=stage / f"reference_single_agents.{tables}",
            engine=engine,
            scheduler=scheduler,
            progress=None,
            convention=convention,
        )
        if figures > 0:
            _screen_figures(run, stage, figures)
    if json_wanted:
        doc = run.summary()
        for key in ("scores_path", "blocks_path"):  # the final folder, not the staging one
            doc[key] = str(out / Path(doc[key]).name)
        doc["single_agents_path"] = str(out / run.single_agents_path.name)
        print_json({"screen": doc})
        return
    typer.echo(run.report())
    typer.echo(f"wrote {out}")


def _screen_wanted(screen: bool, input_path: Path | None, models: list[str], bootstrap: int):
    """``--screen``, or automatically for a reference-model run on an input file larger than
    :data:`SCREEN_AUTO_BYTES` (said on stderr)."""
    if screen:
        if input_path is None:
            raise InputError("--screen reads a tidy table file (INPUT); it does not take --plate")
        if bootstrap or not any(m in REFERENCE_MODELS for m in models):
            raise InputError(
                "--screen scores the reference models (bliss, hsa, loewe, zip) without "
                "--bootstrap; give --model bliss, hsa, loewe, zip or all, or drop --screen"
            )
        if "chou-talalay" in models:
            sys.stderr.write(
                "note: --screen scores the reference models; chou-talalay is not run\n"
            )
        return True
    if input_path is None or "chou-talalay" in models or bootstrap or not input_path.is_file():
        return False
    size = input_path.stat().st_size
    if size > SCREEN_AUTO_BYTES:
        sys.stderr.write(
            f"note: {input_path.name} is {size / 2**20:.0f} MiB (> {SCREEN_AUTO_BYTES // 2**20} "
            "MiB): scored as a screen, in streamed chunks (as --screen)\n"
        )
        return True
    return False


def _bootstrap(
    source: Any,
    models: list[str],
    *,
    n_boot: int,
    seed: int,
    response: str,
    convention: str,
    out_dir: Path | None,
    scale: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Bootstrap intervals of the block summaries: ``{block_id: {"<summary>_lo": ..., ...}}``.

    Uses :func:`letrolab.synergy.replicates.bootstrap_summaries` on the wells themselves (the
    replicate means are what the point estimates use). Writes ``reference_bootstrap.csv``.
    """
    from letrolab._io import atomic_write_text, csv_text
    from letrolab._results import jsonable
    from letrolab.synergy.replicates import bootstrap_summaries

    res = bootstrap_summaries(
        source,
        models=models,
        n_boot=n_boot,
        seed=seed,
        response=response,
        convention=convention,
        scale=scale,
    )
    for bid, ws in res.warnings.items():
        for w in ws:
            if w.startswith("no replicates"):
                sys.stderr.write(f"warning: block {bid}: {w}\n")
    if out_dir is not None:
        atomic_write_text(out_dir / "reference_bootstrap.csv", csv_text(res.blocks, index=False))
    keys = [f"{m}_{s}_{e}" for m in models for s in ("mean", "msa") for e in ("lo", "hi", "p")]
    out: dict[str, dict[str, Any]] = {}
    for row in res.blocks.to_dict(orient="records"):
        extra = jsonable({k: row[k] for k in keys})
        extra["bootstrap"] = {"n_boot": res.n_boot, "seed": res.seed, "level": res.level}
        out[str(row["block_id"])] = extra
    return out


# --------------------------------------------------------------------------------------------


def _write_chou_talalay(result: Any, out_dir: Path, figures: int) -> None:
    """Tables of every block; figures of the ``figures`` most synergistic (lowest median CI)."""
    from letrolab.synergy.ct_plots import plot_block

    result.write_tables(out_dir)
    names = result.dirnames()
    done = [(bid, b) for bid, b in result.blocks.items() if b]
    median_ci = [float(np.nanmedian(b.ci)) if np.isfinite(b.ci).any() else np.inf for _, b in done]
    order = np.argsort(median_ci, kind="stable")[: max(figures, 0)]
    for i in order:
        bid, block = done[i]
        plot_block(block, out_dir / names[bid])
    if len(done) > figures:
        sys.stderr.write(
            f"note: Chou-Talalay figures for the {figures} blocks with the lowest median CI "
            f"of {len(done)} (--figures N to change)\n"
        )


def synergy(
    input_path: Annotated[
        Path | None,
        typer.Argument(
            metavar="[INPUT]",
            help="Combination table: tidy CSV/TSV (European ';' + decimal commas detected), "
            "Parquet, Excel (.xlsx), or NCATS matrix responses (see --metadata); omit when "
            "--plate is used.",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="chou-talalay, bliss, hsa, loewe, zip or all; repeat or give a comma list. "
            "Default: chou-talalay.",
            show_default=False,
        ),
    ] = None,
    response: Annotated[
        str | None,
        typer.Option(
            "--response",
            help="What the response column holds: 'inhibition' (% inhibition) or 'viability' "
            "(% viability, converted as 100 - viability). Default: inhibition; with --plate "
            "always viability.",
            show_default=False,
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="numpy (in-process) or dask (partitions on a dask.distributed cluster; used by "
            "the reference models - Chou-Talalay always runs in-process).",
        ),
    ] = "numpy",
    scheduler: Annotated[
        str,
        typer.Option(
            "--scheduler",
            help="With --engine dask: 'local' for a LocalCluster, or a scheduler ADDRESS.",
        ),
    ] = "local",
    convention: Annotated[
        str,
        typer.Option(
            "--convention",
            help="Reference-model convention. 'synergyfinder3': the default, as SynergyFinder "
            "3 / Plus: single agents with all four log-logistic parameters fitted, Loewe "
            "uncapped, two-drug ZIP by its row/column re-fits (zero-dose well included, one "
            "asymptote fixed at its observed response). 'free': the same, but two-drug ZIP by "
            "Yadav et al. 2015's original re-fit rule (bottom at the partner's fitted effect, "
            "top 100, as SynergyFinder 1-2). 'synergyfinder2': as SynergyFinder 2's published "
            "scores: Loewe from single agents with bottom 0 and top 100 fixed, capped at 100; "
            "ZIP by SynergyFinder 1-2's ZIP() with drc's fitting path reproduced.",
        ),
    ] = "synergyfinder3",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write CSV tables and figures per block into this folder."),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
    plate: Annotated[
        Path | None,
        typer.Option(
            "--plate", help="A plate-reader export (% viability after vehicle normalisation)."
        ),
    ] = None,
    layout: Annotated[
        Path | None,
        typer.Option("--layout", help="The plate map (layout) that goes with --plate."),
    ] = None,
    read_label: Annotated[
        str | None,
        typer.Option("--read", help="With --plate: the read to use when the file holds several."),
    ] = None,
    bootstrap: Annotated[
        int,
        typer.Option(
            "--bootstrap",
            help="Resample the replicate wells of every cell this many times "
            f"({BOOTSTRAP.describe()}) and add "
            "95 % percentile intervals and a p-value for 'summary != 0' to each block summary "
            "of the reference models. 0 (default): no bootstrap.",
        ),
    ] = 0,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the bootstrap's random generator.")
    ] = 0,
    response_scale: Annotated[
        str | None,
        typer.Option(
            "--response-scale",
            help="Scale of the response column: 'percent' or 'fraction' (0-1, multiplied by "
            "100). Default: percent, and a column that looks like fractions is refused.",
            show_default=False,
        ),
    ] = None,
    screen: Annotated[
        bool,
        typer.Option(
            "--screen",
            help="Score the reference models as a screen: stream the input in chunks of whole "
            "blocks to tidy tables in --out (progress bar on a terminal), in bounded memory. "
            "Automatic for input files over 256 MiB. Rows of a block must be contiguous.",
        ),
    ] = False,
    figures: Annotated[
        int,
        typer.Option(
            "--figures",
            help="With --out: draw per-block figures for this many blocks, the most synergistic "
            "by the first reference model's mean, or for Chou-Talalay by the lowest median CI "
            f"({FIGURES.describe()}; 0: none). Tables are written for every block.",
        ),
    ] = 50,
    tables: Annotated[
        str,
        typer.Option(
            "--tables", help="Format of the reference-model tables in --out: csv or parquet."
        ),
    ] = "csv",
    metadata: Annotated[
        Path | None,
        typer.Option(
            "--metadata",
            help="Block metadata of an NCATS matrix INPUT (BlockId, Row, Col, Value): BlockId, "
            "RowName, ColName, RowConcs, ColConcs[, RowConcUnit, ColConcUnit]. Default: "
            "metadata.csv beside INPUT.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Combination analysis: Chou-Talalay CI/DRI and the reference models, block by block.

    See :data:`_HELP` for the JSON contract and how failed blocks are reported.
    """
    from letrolab._io import staged_dir
    from letrolab.cli import print_json

    models = _parse_models(model)
    if response not in (None, "inhibition", "viability"):
        raise InputError(f"--response must be 'inhibition' or 'viability', not {response!r}")
    if engine not in ("numpy", "dask"):
        raise InputError(f"--engine must be 'numpy' or 'dask', not {engine!r}")
    from letrolab.synergy.reference import CONVENTIONS

    if convention not in CONVENTIONS:
        raise InputError(
            f"--convention must be one of {', '.join(CONVENTIONS)}, not {convention!r}"
        )
    if bootstrap < 0 or 0 < bootstrap < 20:
        raise InputError(f"--bootstrap must be 0 (off) or at least 20 resamples, not {bootstrap}")
    if bootstrap != 0:
        bootstrap = BOOTSTRAP(bootstrap)
    if seed < 0:
        raise InputError(f"--seed must be a whole number >= 0, not {seed}")
    figures = FIGURES(figures)
    if tables not in ("csv", "parquet"):
        raise InputError(f"--tables must be 'csv' or 'parquet', not {tables!r}")
    if _screen_wanted(screen, input_path, models, bootstrap):
        if plate is not None or layout is not None:
            raise InputError("give either INPUT or --plate/--layout, not both")
        _run_screen(
            input_path,
            [m for m in models if m in REFERENCE_MODELS],
            out=out,
            response=response or "inhibition",
            scale=response_scale,
            engine=engine,
            scheduler=scheduler,
            convention=convention,
            figures=figures,
            tables=tables,
            json_wanted=json_out,
            metadata=metadata,
        )
        return
    data, wells = _read_input(
        input_path, plate, layout, response, read_label, response_scale, metadata
    )

    blocks: dict[str, dict[str, Any]] = {}
    n_scored = 0
    ct = None
    reference = [m for m in models if m in REFERENCE_MODELS]
    with staged_dir(out) if out is not None else contextlib.nullcontext() as stage:
        if "chou-talalay" in models:
            from letrolab.synergy.ct import chou_talalay

            ct = chou_talalay(data)
            for entry in ct.summary()["blocks"]:
                blocks[entry["block_id"]] = entry
            if stage is not None:
                _write_chou_talalay(ct, stage, figures)
        if reference:
            n_scored, ref = _run_reference_models(
                data,
                reference,
                engine=engine,
                scheduler=scheduler,
                out_dir=stage,
                json_wanted=json_out,
                convention=convention,
                input_warnings=ct is None,
                figures=figures,
                tables=tables,
            )
            for bid, extra in (ref or {}).items():
                blocks.setdefault(bid, {"block_id": bid}).update(extra)
            if bootstrap:
                boot = _bootstrap(
                    wells,
                    reference,
                    n_boot=bootstrap,
                    seed=seed,
                    response="viability" if plate is not None else (response or "inhibition"),
                    scale=response_scale,
                    convention=convention,
                    out_dir=stage,
                )
                for bid, extra in boot.items() if json_out else ():
                    blocks.setdefault(bid, {"block_id": bid}).setdefault("summary", {}).update(
                        extra
                    )
        if ct is not None and not reference and not any(ct.blocks.values()):
            # Chou-Talalay alone and no block analysable: bad input, nothing written.
            raise InputError(ct.failure_message())

    if ct is not None:
        for res in ct.blocks.values():
            if not res:
                sys.stderr.write(f"error: {res.reason}\n")
    if json_out:
        doc = {"blocks": list(blocks.values())}
        if ct is None and len(blocks) > COMPACT_JSON_BLOCKS:
            # Reference entries are plain JSON types already; json's C encoder runs only
            # without indentation (the indented encoder is ~7x slower on a large screen).
            sys.stdout.write(json.dumps(doc, allow_nan=False) + "\n")
            sys.stdout.flush()
        else:
            print_json(doc)
    else:
        if ct is not None:
            typer.echo(ct.report())
        if reference and ct is None:
            typer.echo(f"scored {n_scored} block(s) with {', '.join(reference)}")
        if out is not None:
            typer.echo(f"wrote {out}")


_HELP = (
    "Combination analysis: Chou-Talalay CI/DRI and the reference models, block by block."
    "\n\n"
    '--json prints {"blocks": [...]}. An analysed block has exactly the keys block_id, '
    "drugs, single_agents, mixtures, points and warnings; doses are in the input's unit, fa "
    "keys are strings. A block that cannot be analysed (one drug only, fewer than 2 usable "
    "single-agent points for a drug, ...) keeps that shape with empty tables and one extra "
    "key, error, the reason naming the block; the same reason goes to stderr as an "
    "'error: ...' line, the other blocks go on and the exit status stays 0. If no block can "
    "be analysed, or the input is unusable, the exit status is 2."
    "\n\n"
    "--out DIR gets chou_talalay.json and, per block, single_agents.csv, points.csv, "
    "isobologram.csv, fa_ci_table.csv and fa_ci_curve.csv (constant-ratio mixtures), "
    "warnings.txt, and the median-effect, Fa-CI and isobologram figures."
    "\n\n"
    "With --model bliss, hsa, loewe, zip (or all), each block also gets "
    '"scores" (per combination cell: conc {drug: dose}, response, one value per model) and '
    '"summary" (<model>_mean over the combination cells, <model>_msa for the most '
    "synergistic 3 x 3 area of two-drug blocks, null for N drugs, and n_combinations), plus "
    '"reference_warnings" (more than 1,000 blocks: the document is printed compact, on one '
    "line). --bootstrap N adds <summary>_lo, _hi (95 % percentile interval) "
    'and _p to "summary", and "bootstrap" {n_boot, seed, level}. --out DIR then gets '
    "reference_scores.csv (per cell, with the replicate wells' sd and n), reference_blocks.csv, reference_single_agents.csv, "
    "reference_bootstrap.csv (with --bootstrap), ranking_<model>.png and, per block, "
    "ref_dose_response.png and ref_heatmap_<model>.png."
)


def register(app: typer.Typer) -> None:
    """Add ``letrolab synergy`` to the command."""
    app.command("synergy", help=_HELP)(synergy)

"""The pipeline: run the experiments, evaluate the claims, write store, report and claims.json.

This is the orchestration stage of the data flow (ARCHITECTURE.md): it sits above the
experiments (protocols and claim rules, :mod:`letrolab.experiments`), the results store
(:mod:`letrolab.store`) and the report (:mod:`letrolab.report`), which share the result types of
:mod:`letrolab.runs`.

:func:`run_experiments` runs each experiment whose parts are importable, records those that are
not (with the missing part named) and those that fail (with the error), and evaluates S1–S9 from
the tables produced. :func:`reproduce` does that inside a staged output folder and writes
``report.html``, ``claims.json`` and ``results.duckdb``, so that the folder only ever holds the
files of one complete run.
"""

from __future__ import annotations

import json
import math
import os
import platform
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from letrolab import __version__
from letrolab._io import atomic_write_text, commit_stage, discard_stage, new_stage
from letrolab._results import jsonable
from letrolab.errors import InputError, LetrolabError
from letrolab.experiments import (
    CLAIMS,
    ClaimResult,
    Context,
    Experiment,
    all_experiments,
    model_provenance,
    pathway_diagram,
    trials_table,
)
from letrolab.experiments.support import ablated_support, claim_support, load_sobol
from letrolab.model import get_model
from letrolab.model.ensemble import load_ensemble
from letrolab.report import render_report
from letrolab.runs import EnsembleOutcome, ExperimentRun, Figure, NegativeControl, RunResult
from letrolab.store import TableInfo, write_store

__all__ = [
    "QUICK_ENSEMBLE_SETS",
    "ExperimentRun",
    "RunResult",
    "check_overrides",
    "evaluate_ensemble",
    "incomplete_dir",
    "provenance",
    "reproduce",
    "run_experiments",
    "run_negative_controls",
    "split_overrides",
]


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for pkg in (
        "numpy",
        "scipy",
        "pandas",
        "libroadrunner",
        "antimony",
        "flowio",
        "scikit-image",
        "matplotlib",
        "duckdb",
        "jinja2",
    ):
        try:
            out[f"version_{pkg}"] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[f"version_{pkg}"] = "not installed"
    return out


def _model_provenance() -> dict[str, str]:
    """Model version and source digest, from the model package when it is importable."""
    try:
        return model_provenance()
    except Exception as exc:  # the model part absent or broken: say so in the provenance
        return {"model": f"unavailable ({type(exc).__name__}: {exc})"}


def _pathway_diagram() -> tuple[Figure | None, str]:
    """The model's own pathway diagram (SVG), or why it is not available."""
    try:
        return pathway_diagram(), ""
    except Exception as exc:  # the model part absent or broken: the report says so
        return None, f"{type(exc).__name__}: {exc}"


def provenance(*, quick: bool, seed: int, overrides: Mapping[str, float]) -> dict[str, str]:
    """Provenance of a run: versions, model digest, options, platform, time."""
    prov = {
        "letrolab_version": __version__,
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "quick": str(bool(quick)),
        "seed": str(int(seed)),
        "overrides": json.dumps(dict(overrides), sort_keys=True),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    prov |= _model_provenance()
    prov |= _versions()
    return prov


def check_overrides(overrides: Mapping[str, float]) -> dict[str, float]:
    """Validate parameter overrides: known network or patient-model parameters, finite >= 0."""
    out: dict[str, float] = {}
    if not overrides:
        return out
    from letrolab.model.patient import parameter_table

    known = set(get_model().parameters) | set(parameter_table())
    for name, value in overrides.items():
        if name not in known:
            raise InputError(
                f"unknown model parameter {name!r} in overrides; see "
                "letrolab.model.get_model().parameter_table() (cell network) and "
                "letrolab.model.patient.parameter_table() (patient model)"
            )
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise InputError(f"override {name}={value!r} is not a number") from None
        if not (math.isfinite(v) and v >= 0):
            raise InputError(f"override {name}={value!r} must be a finite number >= 0")
        out[str(name)] = v
    return out


def split_overrides(overrides: Mapping[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """``(network, patient)``: the overrides of each model (the two share no parameter name)."""
    network = set(get_model().parameters)
    net = {k: v for k, v in overrides.items() if k in network}
    return net, {k: v for k, v in overrides.items() if k not in network}


def _run_one(exp: Experiment, ctx: Context) -> ExperimentRun:
    """Run one experiment; its fate (``ok``, ``not run``, ``failed`` or ``error``) recorded.

    ``failed``: the model could not simulate the protocol (a :class:`LetrolabError`, e.g. a
    legal ``--set`` that stops growth); the experiment's claims then *fail* with that reason.
    ``error``: a defect in letrolab (any other exception); its claims are *not evaluated*.
    """
    missing = exp.missing()
    if missing:
        reason = "missing part(s): " + "; ".join(missing)
        return ExperimentRun(exp.id, exp.title, exp.claims, "not run", reason, 0.0, exp.methods)
    t0 = time.perf_counter()
    try:
        output = exp.run(ctx)
    except LetrolabError as exc:
        status, reason = "failed", f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # an upstream bug must not lose the other experiments
        where = traceback.extract_tb(exc.__traceback__)[-1]
        status = "error"
        reason = f"{type(exc).__name__}: {exc} (at {Path(where.filename).name}:{where.lineno})"
    else:
        dt = time.perf_counter() - t0
        return ExperimentRun(exp.id, exp.title, exp.claims, "ok", "", dt, exp.methods, output)
    dt = time.perf_counter() - t0
    return ExperimentRun(exp.id, exp.title, exp.claims, status, reason, dt, exp.methods)


def _run_all(
    experiments: Sequence[Experiment],
    *,
    outdir: Path,
    quick: bool,
    seed: int,
    overrides: Mapping[str, float],
    on_progress: Callable[[str, float, str], None] | None,
) -> list[ExperimentRun]:
    net_overrides, patient_overrides = split_overrides(overrides)
    seen: set[str] = set()
    runs: list[ExperimentRun] = []
    for exp in experiments:
        if exp.id in seen:
            raise InputError(f"experiment {exp.id!r} is listed twice; list each experiment once")
        seen.add(exp.id)

        def progress(fraction: float, message: str = "", _id: str = exp.id) -> None:
            if on_progress is not None:
                on_progress(_id, float(fraction), message)

        ctx = Context(
            outdir=outdir,
            quick=quick,
            seed=seed,
            overrides=net_overrides,
            patient_overrides=patient_overrides,
            progress=progress,
        )
        runs.append(_run_one(exp, ctx))
        progress(1.0, runs[-1].status)
    return runs


@dataclass(frozen=True)
class _Evidence:
    """The tables of a set of experiment runs and why some claims cannot be judged on them."""

    tables: dict[str, pd.DataFrame]
    not_run: dict[str, str]
    broken: dict[str, str]

    def claim(self, cid: str) -> ClaimResult:
        """Claim ``cid`` evaluated on these tables."""
        return CLAIMS[cid](
            self.tables, not_run=self.not_run.get(cid, ""), broken=self.broken.get(cid, "")
        )


def _evidence(runs: Sequence[ExperimentRun]) -> _Evidence:
    """All tables of ``runs``; claims no run bears on are *not run*, those of failed runs fail."""
    tables: dict[str, pd.DataFrame] = {}
    covered = {cid for run in runs for cid in run.claims}
    not_run = {c: "no experiment of this run bears on it" for c in CLAIMS if c not in covered}
    broken: dict[str, str] = {}
    for run in runs:
        clash = set(tables) & set(run.output.tables)
        if clash:
            raise InputError(f"experiment {run.id!r} re-uses table name(s) {sorted(clash)}")
        tables.update(run.output.tables)
        why = f"experiment {run.id!r} {run.status}: {run.reason}"
        for cid in run.claims if run.status != "ok" else ():
            (broken if run.status == "failed" else not_run)[cid] = why
    return _Evidence(tables, not_run, broken)


def run_experiments(
    experiments: Sequence[Experiment],
    *,
    outdir: str | os.PathLike,
    quick: bool = False,
    seed: int = 20080101,
    overrides: Mapping[str, float] | None = None,
    on_progress: Callable[[str, float, str], None] | None = None,
    controls: bool = False,
    ensemble: bool = False,
) -> RunResult:
    """Run ``experiments`` into ``outdir`` and evaluate the claims.

    Parameters
    ----------
    experiments : sequence of Experiment
    outdir : path-like
        Folder for the instrument files (``outdir/raw/<experiment>/...``).
    quick : bool
        Smaller designs (``--quick``).
    seed : int
        Seed of the run.
    overrides : mapping of str to float, optional
        Model parameter overrides (network or patient model) for every simulation.
    on_progress : callable, optional
        ``on_progress(experiment_id, fraction_done, message)``.
    controls : bool
        Also run each claim's negative control (:func:`run_negative_controls`).
    ensemble : bool
        Also evaluate every claim on the calibrated ensemble (:func:`evaluate_ensemble`).

    Returns
    -------
    RunResult
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    overrides = check_overrides(overrides or {})
    opts = {"quick": quick, "seed": seed, "on_progress": on_progress}
    runs = _run_all(experiments, outdir=Path(outdir), overrides=overrides, **opts)
    evidence = _evidence(runs)
    claims = [evidence.claim(cid) for cid in CLAIMS]
    found = (
        run_negative_controls(experiments, claims, overrides=overrides, **opts) if controls else ()
    )
    ens = (
        evaluate_ensemble(quick=quick, overrides=overrides, controls=controls)
        if ensemble
        else EnsembleOutcome(note="ensemble not evaluated in this run")
    )
    diagram, note = _pathway_diagram()
    return RunResult(
        runs=tuple(runs),
        claims=tuple(claims),
        provenance=provenance(quick=quick, seed=seed, overrides=overrides),
        derived={"trials": trials_table(evidence.tables)},
        diagram=diagram,
        diagram_note=note,
        controls=tuple(found),
        ensemble=ens,
    )


#: Parameter sets of the ensemble evaluated by a ``--quick`` run (a full run uses all of them).
QUICK_ENSEMBLE_SETS = 40


def evaluate_ensemble(
    *,
    quick: bool = False,
    overrides: Mapping[str, float] | None = None,
    workers: int | None = None,
    controls: bool = False,
) -> EnsembleOutcome:
    """Every claim's readout on the shipped calibrated ensemble (:mod:`letrolab.model.ensemble`).

    A full run uses every set (>= 200), ``--quick`` every k-th set, :data:`QUICK_ENSEMBLE_SETS`
    in all. ``overrides`` (``--set``) are applied on top of every set. With ``controls``, each
    claim's support is evaluated again with its mechanism removed (the negative controls on the
    ensemble, :func:`letrolab.experiments.support.ablated_support`). A missing or unreadable
    ensemble gives an empty outcome with the reason, never a crash.
    """
    t0 = time.perf_counter()
    try:
        ens = load_ensemble()
    except LetrolabError as exc:
        return EnsembleOutcome(note=f"ensemble not evaluated: {exc}")
    sets = ens.parameters
    if quick and len(sets) > QUICK_ENSEMBLE_SETS:
        step = len(sets) // QUICK_ENSEMBLE_SETS
        sets = sets.iloc[::step].iloc[:QUICK_ENSEMBLE_SETS].reset_index(drop=True)
    workers = workers or min(2, os.cpu_count() or 1)
    cell, _patient = split_overrides(overrides or {})  # the ensemble is of the cell network
    try:
        support = claim_support(sets, overrides=cell, workers=workers)
        ablated = ablated_support(sets, overrides=cell, workers=workers) if controls else []
    except (LetrolabError, ArithmeticError) as exc:  # a legal --set never crashes the run
        return EnsembleOutcome(note=f"ensemble not evaluated: {exc}")
    info = dict(ens.info) | {"sets_evaluated": str(len(sets)), "sets_shipped": str(len(ens))}
    return EnsembleOutcome(
        support=tuple(support),
        info=info,
        sobol=load_sobol(),
        seconds=time.perf_counter() - t0,
        controls=tuple(ablated),
    )


def run_negative_controls(
    experiments: Sequence[Experiment],
    claims: Sequence[ClaimResult],
    *,
    quick: bool = False,
    seed: int = 20080101,
    overrides: Mapping[str, float] | None = None,
    on_progress: Callable[[str, float, str], None] | None = None,
) -> list[NegativeControl]:
    """Each claim's negative control: its experiments re-run with its mechanism removed.

    The claim's :attr:`~letrolab.experiments.Claim.ablation` is added to the run's overrides
    (exactly as ``reproduce --set`` would), the experiments bearing on the claim run again in a
    scratch folder, and the claim is evaluated on their tables. A claim whose rule tests its
    mechanism fails there. Claims sharing an ablation and experiments share one run.
    """
    base = check_overrides(overrides or {})
    intact = {c.id: c for c in claims}
    cache: dict[tuple, list[ExperimentRun]] = {}
    out = []
    with tempfile.TemporaryDirectory(prefix="letrolab-controls-") as scratch:
        for cid, claim in CLAIMS.items():
            exps = [e for e in experiments if cid in e.claims]
            if not exps or cid not in intact or not intact[cid].evaluated:
                continue  # nothing to control: the claim's experiment did not run
            ablation = check_overrides(claim.ablation)
            key = (tuple(e.id for e in exps), tuple(sorted(ablation.items())))
            if key not in cache:
                cache[key] = _run_all(
                    exps,
                    outdir=Path(scratch) / f"control-{len(cache)}",
                    quick=quick,
                    seed=seed,
                    overrides={**base, **ablation},
                    on_progress=None
                    if on_progress is None
                    else (lambda i, f, m, _c=cid: on_progress(f"control {_c}", f, m)),
                )
            res = _evidence(cache[key]).claim(cid)
            out.append(
                NegativeControl(
                    claim=cid,
                    mechanism=claim.mechanism,
                    ablation=", ".join(f"{k}={v:g}" for k, v in ablation.items()),
                    readout=claim.readout,
                    intact=intact[cid].readout,
                    ablated=res.readout,
                    intact_status=intact[cid].status,
                    ablated_status=res.status,
                    ablated_model=res.model,
                )
            )
    return out


def reproduce(
    out: str | os.PathLike,
    *,
    quick: bool = False,
    seed: int = 20080101,
    overrides: Mapping[str, float] | None = None,
    experiments: Sequence[Experiment] | None = None,
    on_progress: Callable[[str, float, str], None] | None = None,
    controls: bool = True,
    ensemble: bool | None = None,
) -> RunResult:
    """Run the seed's experiments and write ``out/{report.html,claims.json,results.duckdb}``.

    Everything is written into a staging folder first, and swapped in for ``out`` as a whole
    only when the whole run succeeded (every experiment ran; :func:`letrolab._io.commit_stage`):
    a run with an experiment that could not run leaves ``out`` untouched and puts its output in
    :func:`incomplete_dir` instead. The instrument files go to ``out/raw/<experiment>/``.

    Parameters
    ----------
    out : path-like
        Output folder (created).
    quick, seed, overrides, on_progress, controls
        As in :func:`run_experiments` (negative controls on by default).
    experiments : sequence of Experiment, optional
        Defaults to all registered experiments (:func:`letrolab.experiments.all_experiments`).
    ensemble : bool, optional
        Evaluate the claims on the calibrated ensemble (claims.json ``support``, the report's
        ensemble section). Default: when the seed's full set of experiments runs.

    Returns
    -------
    RunResult
    """
    exps = list(all_experiments() if experiments is None else experiments)
    stage = new_stage(out)
    try:
        ens = experiments is None if ensemble is None else ensemble
        result = _write_run(stage, exps, quick, seed, overrides, on_progress, controls, ens)
        commit_stage(stage, out if result.complete else incomplete_dir(out))
    finally:
        discard_stage(stage)
    return result


def incomplete_dir(out: str | os.PathLike) -> Path:
    """Where :func:`reproduce` puts the output of a run in which an experiment could not run:
    ``<out>.incomplete`` beside ``out``, which keeps the last complete run."""
    out = Path(out)
    return out.with_name(out.name + ".incomplete")


def _write_run(
    stage: Path, exps, quick, seed, overrides, on_progress, controls, ensemble
) -> RunResult:
    """Run the experiments into ``stage`` and write store, claims and report there."""
    result = run_experiments(
        exps,
        outdir=stage,
        quick=quick,
        seed=seed,
        overrides=overrides,
        on_progress=on_progress,
        controls=controls,
        ensemble=ensemble,
    )
    info = {}
    for run in result.runs:
        for name in run.output.tables:
            info[name] = TableInfo(run.id, run.title)
    info["claims"] = TableInfo("claims", "S1–S9 evaluated from the tables of this store")
    info["experiments"] = TableInfo("pipeline", "what ran, what did not and why")
    info["trials"] = TableInfo("trials", "the seed's trials table with the model's predictions")
    info["claim_support"] = TableInfo(
        "ensemble", "each claim's support on the calibrated parameter ensemble"
    )
    info["negative_controls"] = TableInfo(
        "negative controls", "each claim re-evaluated with its mechanism removed (--set)"
    )
    write_store(stage / "results.duckdb", result.tables, provenance=result.provenance, info=info)
    control = {c.claim: c.summary() for c in result.controls}
    for cid, sup in result.ensemble.controls_by_claim().items():
        if cid in control:
            control[cid]["ensemble"] = {
                "support": sup.support,
                "ci95": [sup.low95, sup.high95],
                "verdict": sup.verdict,
                "fails_without_mechanism": sup.verdict == "fails",
            }
    claims_doc = [
        d | ({"negative_control": control[d["id"]]} if d["id"] in control else {})
        for d in result.claims_document()
    ]
    atomic_write_text(
        stage / "claims.json",
        json.dumps(jsonable(claims_doc), indent=2, allow_nan=False) + "\n",
    )
    atomic_write_text(stage / "report.html", render_report(result))
    return result

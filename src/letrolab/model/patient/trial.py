"""Virtual trials: arms of drugs given to a virtual cohort, per-patient and per-arm tables.

:func:`run_trial` samples one cohort (:func:`~letrolab.model.patient.cohort.sample_cohort`) and
gives every arm to the same virtual patients, so arms differ only by treatment. Each arm runs
in the vectorised engine (:mod:`letrolab.model.patient._vector`, checked against libroadrunner
on ``patient.ant``), split into chunks over worker processes, or over Dask for very large
cohorts.

Readouts per patient, at the end of the simulated period (``months`` of 30.44 days):

* ``letrozole_css_nM`` and ``aromatase_inhibition_pct``: averages over the final 7 days;
* ``e2_change_pct``: plasma oestradiol as an immunoassay reads it (true E2 plus the assay floor
  of ``patient.ant``), change from the untreated baseline; ``e2_true_pM`` is the model's E2;
* ``fsh_change_pct``, ``lh_change_pct``, ``gh_change_pct``, ``igf1_change_pct``,
  ``igfbp3_change_pct``, ``insulin_change_pct``: change from baseline;
* ``fasting_glucose_mM`` and ``hyperglycemic`` (fasting glucose > 7.0 mmol/L, the WHO/ADA
  diagnostic threshold for diabetes).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from letrolab.errors import InputError
from letrolab.model.patient import _vector
from letrolab.model.patient.cohort import Cohort, sample_cohort
from letrolab.model.patient.pk import DrugPK, load_pk_catalogue, lookup
from letrolab.model.patient.schedule import Arm, parse_arm

__all__ = ["HYPERGLYCEMIA_MM", "TrialResult", "arm_drugs", "reference_inputs", "run_trial"]

#: Fasting plasma glucose above which a patient counts as hyperglycaemic (mmol/L): the
#: WHO / ADA diagnostic threshold for diabetes (7.0 mmol/L, 126 mg/dL).
HYPERGLYCEMIA_MM = 7.0
HOURS_PER_MONTH = 30.4375 * 24

#: Statistics of the JSON summary, in order.
STATS = (
    "letrozole_css_nM",
    "aromatase_inhibition_pct",
    "e2_change_pct",
    "fsh_change_pct",
    "igf1_change_pct",
    "igfbp3_change_pct",
    "fasting_glucose_mM",
)
EXTRA_STATS = (
    "lh_change_pct",
    "gh_change_pct",
    "insulin_change_pct",
    "igf1r_inhibition_pct",
    "ir_inhibition_pct",
)


def _potency(drug: str) -> tuple[float, float]:
    """IGF-1R and IR IC50 (nM) of ``drug`` from the drug catalogue (inf where it has none)."""
    try:
        from letrolab.model.drugs import load_catalogue
    except ImportError:  # pragma: no cover
        return math.inf, math.inf
    cat = load_catalogue()
    if drug not in cat:
        return math.inf, math.inf
    out = {"IGF1R": math.inf, "IR": math.inf}
    for t in cat[drug].targets:
        if t.target in out:
            out[t.target] = float(t.potency_nM)
    return out["IGF1R"], out["IR"]


def arm_drugs(
    arm: Arm,
    cohort: Cohort,
    *,
    t_end_h: float,
    seed: int,
    arm_index: int,
    pk_catalogue: dict[str, DrugPK],
) -> tuple[list[_vector.OralDrug], list[_vector.ConstDrug]]:
    """The engine's drug inputs for ``arm`` given to ``cohort``."""
    oral, const = [], []
    for j, d in enumerate(arm.doses):
        ic_igf, ic_ir = _potency(d.drug)
        if not d.oral:
            const.append(_vector.ConstDrug(d.drug, float(d.conc_nM), ic_igf, ic_ir))
            continue
        pk = lookup(pk_catalogue, d.drug)
        times = d.dose_times_h(t_end_h)
        if times.size == 0:  # e.g. start=1000d in a 3-month trial, or every dose missed
            raise InputError(
                f"arm {arm.name!r}: no dose of {d.drug} falls within the "
                f"{t_end_h / 24:.4g}-day trial; check start=, miss= and --months"
            )
        taken = None
        if d.schedule.adherence < 1:
            rng = np.random.default_rng([int(seed), arm_index, j])
            taken = rng.random((cohort.n, times.size)) < d.schedule.adherence
        ka, cl, v = cohort.pk_arrays(pk)
        oral.append(
            _vector.OralDrug(
                d.drug,
                ka=ka,
                cl=cl,
                v=v,
                mw=pk.mw,
                f=pk.f,
                dose_times_h=times,
                dose_mg=np.full(times.size, d.dose_mg),
                taken=taken,
                ic50_igf1r_nM=ic_igf,
                ic50_ir_nM=ic_ir,
            )
        )
    return oral, const


def _slice_drugs(oral, idx):
    out = []
    for d in oral:
        out.append(
            _vector.OralDrug(
                d.name,
                ka=d.ka[idx],
                cl=d.cl[idx],
                v=d.v[idx],
                mw=d.mw,
                f=d.f,
                dose_times_h=d.dose_times_h,
                dose_mg=d.dose_mg,
                taken=None if d.taken is None else d.taken[idx],
                ic50_igf1r_nM=d.ic50_igf1r_nM,
                ic50_ir_nM=d.ic50_ir_nM,
            )
        )
    return out


def reference_inputs(
    P: dict[str, np.ndarray], oral: list, const: list, k: int
) -> tuple[dict[str, float], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Parameters and dose events of patient ``k`` for :func:`simulate_reference`.

    Letrozole uses the model's own PK block; other drugs go to the slots ``x1``, ``x2`` of
    ``patient.ant`` (oral PK or steady exposure, with their IGF-1R / IR IC50s).
    """
    params = {name: float(v[k]) if np.ndim(v) else float(v) for name, v in P.items()}
    doses: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    slots = iter(("x1", "x2"))
    for d in oral:
        if d.name == "letrozole":
            amounts = d.dose_mg if d.taken is None else d.dose_mg * d.taken[k]
            doses["let"] = (d.dose_times_h, amounts)
            continue
        s = next(slots, None)
        if s is None:
            raise InputError("the libroadrunner engine takes at most two drugs besides letrozole")
        params.update({f"ka_{s}": d.ka[k], f"CL_{s}": d.cl[k], f"V_{s}": d.v[k], f"MW_{s}": d.mw})
        params[f"IC50_IGF1R_{s}_nM"] = min(d.ic50_igf1r_nM, 1e30)
        params[f"IC50_IR_{s}_nM"] = min(d.ic50_ir_nM, 1e30)
        amounts = d.dose_mg if d.taken is None else d.dose_mg * d.taken[k]
        doses[s] = (d.dose_times_h, d.f * amounts)
    for c in const:
        if c.name == "letrozole":
            raise InputError("the libroadrunner engine takes letrozole as an oral dose only")
        s = next(slots, None)
        if s is None:
            raise InputError("the libroadrunner engine takes at most two drugs besides letrozole")
        params[f"C_{s}_const_nM"] = c.conc_nM
        params[f"IC50_IGF1R_{s}_nM"] = min(c.ic50_igf1r_nM, 1e30)
        params[f"IC50_IR_{s}_nM"] = min(c.ic50_ir_nM, 1e30)
    return params, doses


def _run_chunk(payload: dict) -> _vector.BatchResult:
    """Worker entry point: one chunk of patients through the vectorised engine."""
    if payload.get("engine", "vector") == "roadrunner":
        return _run_chunk_reference(payload)
    return _vector.simulate_batch(**{k: v for k, v in payload.items() if k != "engine"})


def _run_chunk_reference(payload: dict) -> _vector.BatchResult:
    """Worker entry point of ``engine="roadrunner"``: patient by patient in libroadrunner.

    The model is compiled once per worker process (cached by ``load_roadrunner``); each
    patient is a reset, new parameter values and a run with dose events.
    """
    from letrolab.model.patient._model import simulate_reference

    P, oral, const = payload["p"], payload["oral"], payload["const"]
    t_end, dt = payload["t_end_h"], 0.5
    n = int(np.asarray(P["WT"]).size)
    sel = ("time", "C_let_nM", "I_arom", "E2", "E2_measured", "FSH", "LH", "IGF1_ov", "Fol")
    sel += ("GH", "IGF1", "BP3", "G", "Ins", "f_IGF1R", "f_IR", "C_x1_nM", "C_x2_nM")
    keys = ("E2", "E2_measured", "FSH", "LH", "IGF1_ov", "Fol", "GH", "IGF1", "BP3", "G", "Ins")
    out = {k: np.empty(n) for k in (*keys, "f_IGF1R", "f_IR", "arom")}
    others = [d.name for d in oral if d.name != "letrozole"]
    conc = {d.name: (np.empty(n), np.empty(n)) for d in oral}
    window = max(0.0, t_end - 168.0)
    n_trace = min(payload.get("n_trace", 0), n)
    every = max(1, int(payload.get("trace_every", 1)))
    traces: dict[str, np.ndarray] = {}
    trace_t = np.arange(0, round(t_end) + 1, every * payload.get("dt_h", 1.0))
    for k in range(n):
        params, doses = reference_inputs(P, oral, const, k)
        r = simulate_reference(params, doses=doses, t_end_h=t_end, dt_h=dt, selections=sel)
        last = r["time"] >= window - 1e-9
        span = r["time"][last][-1] - r["time"][last][0]
        for key in keys:
            out[key][k] = r[key][-1]
        out["f_IGF1R"][k], out["f_IR"][k] = r["f_IGF1R"][-1], r["f_IR"][-1]
        out["arom"][k] = np.trapezoid(r["I_arom"][last], r["time"][last]) / span
        for d in oral:
            col = "C_let_nM" if d.name == "letrozole" else f"C_x{others.index(d.name) + 1}_nM"
            conc[d.name][0][k] = np.trapezoid(r[col][last], r["time"][last]) / span
            conc[d.name][1][k] = r[col][-1]
        if k < n_trace:
            idx = np.searchsorted(r["time"], trace_t)
            for key in (*keys, "f_IGF1R", "f_IR", "C_let_nM"):
                name = {"IGF1_ov": None, "Fol": None}.get(key, key)
                if name is None:
                    continue
                traces.setdefault(name, np.empty((n_trace, trace_t.size)))[k] = r[key][idx]
            for d in oral:
                if d.name != "letrozole":
                    col = f"C_x{others.index(d.name) + 1}_nM"
                    traces.setdefault(f"C_{d.name}_nM", np.empty((n_trace, trace_t.size)))[k] = r[
                        col
                    ][idx]
    e2_0 = np.asarray(P["E2_peri0"]) + np.asarray(P["ovary"]) * np.asarray(P["E2_ov0"])
    values = {
        "E2_baseline": e2_0,
        "E2_measured_baseline": e2_0 + np.asarray(P["E2_assay_floor"]),
        "E2_end": out["E2"],
        "E2_measured_end": out["E2_measured"],
        "FSH_end": out["FSH"],
        "LH_end": out["LH"],
        "IGF1_ov_end": out["IGF1_ov"],
        "Fol_end": out["Fol"],
        "GH_end": out["GH"],
        "IGF1_end": out["IGF1"],
        "BP3_end": out["BP3"],
        "G_end": out["G"],
        "Ins_end": out["Ins"],
        "f_IGF1R_end": out["f_IGF1R"],
        "f_IR_end": out["f_IR"],
        "aromatase_inhibition": out["arom"],
    }
    for d in oral:
        values[f"css_{d.name}_nM"], values[f"C_{d.name}_end_nM"] = conc[d.name]
    return _vector.BatchResult(values=values, trace_t_h=trace_t, traces=traces)


def _execute(payloads: list[dict], *, workers: int, backend: str) -> list[_vector.BatchResult]:
    if backend == "serial" or workers <= 1 or len(payloads) == 1:
        return [_run_chunk(p) for p in payloads]
    if backend == "dask":
        import dask

        scheduler = "processes"
        try:  # use a running dask.distributed client if there is one
            from distributed import get_client

            get_client()
            scheduler = None
        except (ImportError, ValueError):
            pass
        tasks = [dask.delayed(_run_chunk)(p) for p in payloads]
        return list(dask.compute(*tasks, scheduler=scheduler, num_workers=workers))
    if backend != "processes":
        raise InputError(f"backend must be 'serial', 'processes' or 'dask', got {backend!r}")
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
    # never more processes than chunks, nor than a few per CPU (--workers 1000 must not fork 1000)
    n_proc = min(workers, len(payloads), 4 * (os.cpu_count() or 1))
    with ProcessPoolExecutor(max_workers=n_proc, mp_context=ctx) as pool:
        return list(pool.map(_run_chunk, payloads))


def _pct(new, old):
    return 100.0 * (np.asarray(new) / np.asarray(old) - 1.0)


def _stat(x) -> dict[str, float]:
    x = np.asarray(x, float)
    return {
        "median": float(np.median(x)),
        "p5": float(np.percentile(x, 5)),
        "p95": float(np.percentile(x, 95)),
    }


@dataclass(frozen=True)
class TrialResult:
    """A virtual trial: per-patient readouts of every arm, traces of the first patients."""

    arms: tuple[Arm, ...]
    patients: int
    months: float
    seed: int
    menopause: str
    population: str
    columns: dict[str, dict[str, np.ndarray]]  # arm name -> column -> (n,) array
    covariates: dict[str, np.ndarray]
    trace_t_h: np.ndarray
    traces: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    def arm(self, name: str) -> dict[str, np.ndarray]:
        """Per-patient columns of one arm."""
        if name not in self.columns:
            raise InputError(f"no arm {name!r}; arms: {', '.join(self.columns)}")
        return self.columns[name]

    def arm_summary(self, name: str) -> dict[str, Any]:
        """The JSON-able summary of one arm (statistics are median, p5, p95)."""
        col = self.arm(name)
        out: dict[str, Any] = {"name": name, "n": self.patients}
        for s in STATS:
            out[s] = _stat(col[s])
        out["hyperglycemia_pct"] = float(100.0 * np.mean(col["hyperglycemic"]))
        for s in EXTRA_STATS:
            out[s] = _stat(col[s])
        if self.menopause == "pre":
            out["ovarian_igf1_change_pct"] = _stat(col["ovarian_igf1_change_pct"])
        arm = next(a for a in self.arms if a.name == name)
        out["spec"] = arm.spec
        return out

    def summary(self) -> dict[str, Any]:
        """``{"arms": [...], ...}`` (``letrolab trial --json`` prints the ``arms``) with provenance."""
        import hashlib

        from letrolab import __version__
        from letrolab.model.patient._model import patient_model_source

        digest = hashlib.sha256(patient_model_source().encode()).hexdigest()
        return {
            "arms": [self.arm_summary(a.name) for a in self.arms],
            "patients": self.patients,
            "months": self.months,
            "seed": self.seed,
            "menopause": self.menopause,
            "population": self.population,
            "provenance": {"model": "patient.ant", "sha256": digest, "letrolab": __version__},
        }

    def to_frame(self):
        """Per-patient table of all arms (one row per patient and arm)."""
        import pandas as pd

        frames = []
        for a in self.arms:
            cols = {"arm": np.repeat(a.name, self.patients), "patient": np.arange(self.patients)}
            cols.update(self.covariates)
            cols.update(self.columns[a.name])
            frames.append(pd.DataFrame(cols))
        return pd.concat(frames, ignore_index=True)

    def arms_frame(self):
        """Per-arm table: one row per arm, median / p5 / p95 columns of every statistic."""
        import pandas as pd

        rows = []
        for a in self.arms:
            s = self.arm_summary(a.name)
            row = {"arm": a.name, "spec": s["spec"], "n": s["n"]}
            row["hyperglycemia_pct"] = s["hyperglycemia_pct"]
            for k in (*STATS, *EXTRA_STATS):
                for q in ("median", "p5", "p95"):
                    row[f"{k}_{q}"] = s[k][q]
            rows.append(row)
        return pd.DataFrame(rows)

    def report(self) -> str:
        """Plain-text table of the arm medians."""
        head = (
            f"virtual trial: {self.patients} {self.menopause}menopausal patients, "
            f"{self.months:g} months, seed {self.seed}"
        )
        lines = [head]
        for a in self.arms:
            s = self.arm_summary(a.name)
            lines.append(
                f"  {a.name:<12} Css {s['letrozole_css_nM']['median']:7.1f} nM  "
                f"arom {s['aromatase_inhibition_pct']['median']:6.2f}%  "
                f"E2 {s['e2_change_pct']['median']:+6.1f}%  FSH {s['fsh_change_pct']['median']:+6.1f}%  "
                f"IGF-1 {s['igf1_change_pct']['median']:+6.1f}%  "
                f"IGFBP-3 {s['igfbp3_change_pct']['median']:+5.1f}%  "
                f"glucose {s['fasting_glucose_mM']['median']:5.2f} mM  "
                f"hyperglycaemia {s['hyperglycemia_pct']:5.1f}%"
            )
        return "\n".join(lines)

    def write(self, out_dir: str | os.PathLike, *, figures: bool = True) -> Path:
        """Write the per-patient table, the per-arm table, summary.json and figures, atomically."""
        from letrolab._io import staged_dir
        from letrolab._results import jsonable

        out = Path(out_dir)
        with staged_dir(out) as stage:
            self.to_frame().to_parquet(stage / "patients.parquet", index=False)
            self.arms_frame().to_csv(stage / "arms.csv", index=False)
            (stage / "summary.json").write_text(
                json.dumps(jsonable(self.summary()), indent=2, allow_nan=False) + "\n"
            )
            if figures:
                from letrolab.model.patient._figures import write_figures

                write_figures(self, stage)
        return out


def _columns(res: _vector.BatchResult, P: dict[str, np.ndarray], arm: Arm, menopause: str):
    v = res.values
    n = v["E2_end"].shape[0]
    const_let = next((d.conc_nM for d in arm.doses if d.drug == "letrozole" and not d.oral), None)
    css = v.get("css_letrozole_nM")
    if css is None:
        css = np.full(n, float(const_let or 0.0))
    col = {
        "letrozole_css_nM": css,
        "aromatase_inhibition_pct": 100.0 * v["aromatase_inhibition"],
        "e2_baseline_pM": v["E2_measured_baseline"],
        "e2_pM": v["E2_measured_end"],
        "e2_true_pM": v["E2_end"],
        "e2_change_pct": _pct(v["E2_measured_end"], v["E2_measured_baseline"]),
        "fsh_change_pct": _pct(v["FSH_end"], P["FSH_0"]),
        "lh_change_pct": _pct(v["LH_end"], P["LH_0"]),
        "gh_change_pct": _pct(v["GH_end"], P["GH_0"]),
        "igf1_baseline_ng_mL": np.broadcast_to(np.asarray(P["IGF1_0"], float), (n,)).copy(),
        "igf1_ng_mL": v["IGF1_end"],
        "igf1_change_pct": _pct(v["IGF1_end"], P["IGF1_0"]),
        "igfbp3_change_pct": _pct(v["BP3_end"], P["BP3_0"]),
        "glucose_baseline_mM": np.broadcast_to(np.asarray(P["G_0"], float), (n,)).copy(),
        "fasting_glucose_mM": v["G_end"],
        "insulin_pM": v["Ins_end"],
        "insulin_change_pct": _pct(v["Ins_end"], P["I_0"]),
        "hyperglycemic": v["G_end"] > HYPERGLYCEMIA_MM,
        "igf1r_inhibition_pct": 100.0 * v["f_IGF1R_end"],
        "ir_inhibition_pct": 100.0 * v["f_IR_end"],
    }
    if menopause == "pre":
        col["ovarian_igf1_change_pct"] = 100.0 * (v["IGF1_ov_end"] - 1.0)
    for d in arm.doses:
        if d.oral and d.drug != "letrozole":
            col[f"{d.drug}_css_nM"] = v[f"css_{d.drug}_nM"]
    return col


def run_trial(
    arms: Sequence[str | Arm],
    *,
    patients: int,
    months: float,
    seed: int,
    menopause: str = "post",
    population: str = "european",
    workers: int = 1,
    backend: str = "processes",
    engine: str = "vector",
    chunk_size: int | None = None,
    dt_h: float = 1.0,
    n_trace: int = 20,
    trace_every_h: int = 6,
    pk_catalogue: str | os.PathLike | None = None,
    parameters: Mapping[str, float] | None = None,
) -> TrialResult:
    """Run a virtual trial.

    Parameters
    ----------
    arms : sequence of str or Arm
        Arm specs ``NAME:DRUG:DOSE[/SCHEDULE][+DRUG:DOSE...]`` (see
        :mod:`letrolab.model.patient.schedule`) or parsed arms.
    patients : int
        Patients per arm; every arm treats the same virtual patients.
    months : float
        Treatment length (months of 30.44 days, rounded to whole steps).
    seed : int
        Seed of the cohort (and of random missed doses).
    menopause, population : str
        Cohort options (:func:`~letrolab.model.patient.cohort.sample_cohort`).
    workers : int
        Worker processes (``backend="processes"``; at most one per chunk and four per CPU)
        or Dask workers (``backend="dask"``).
    backend : {"processes", "dask", "serial"}
        How chunks of patients are run.
    engine : {"vector", "roadrunner"}
        ``"vector"``: the vectorised NumPy engine (fast; tested against libroadrunner).
        ``"roadrunner"``: every patient simulated in libroadrunner on ``patient.ant`` (the
        source of truth; each worker compiles the model once), for checks and small cohorts.
    chunk_size : int, optional
        Patients per chunk (default: an even split over the workers, at most 50,000).
    dt_h : float
        Step of the vectorised engine (h); dose times must be multiples of it.
    n_trace, trace_every_h : int
        Keep time courses of the first ``n_trace`` patients every ``trace_every_h`` hours.
    pk_catalogue : path, optional
        A PK catalogue CSV instead of the built-in ``pk.csv``.
    parameters : mapping of str to float, optional
        Typical values of ``patient.ant`` parameters replacing the file's for every patient
        (``letrolab reproduce --set``; see :func:`~letrolab.model.patient.sample_cohort`).

    Returns
    -------
    TrialResult

    Examples
    --------
    >>> r = run_trial(["std:letrozole:2.5mg/day"], patients=50, months=1, seed=1)
    >>> 165 < r.arm_summary("std")["letrozole_css_nM"]["median"] < 355
    True
    """
    if not arms:
        raise InputError("give at least one arm, e.g. std:letrozole:2.5mg/day")
    pk_cat = load_pk_catalogue(pk_catalogue)
    parsed = [a if isinstance(a, Arm) else parse_arm(a, pk_catalogue=pk_cat) for a in arms]
    names = [a.name for a in parsed]
    if len(set(names)) != len(names):
        raise InputError(f"arm names must be unique, got {', '.join(names)}")
    if not isinstance(patients, (int, np.integer)) or patients < 1:
        raise InputError(f"--patients must be a whole number >= 1, got {patients!r}")
    try:
        months = float(months)
    except (TypeError, ValueError):
        raise InputError(f"--months must be a number, got {months!r}") from None
    if not (math.isfinite(months) and 0 < months <= 120):
        raise InputError(f"--months must be in (0, 120], got {months!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"--seed must be a whole number >= 0, got {seed!r}")
    if engine not in ("vector", "roadrunner"):
        raise InputError(f"engine must be 'vector' or 'roadrunner', got {engine!r}")
    if backend not in ("serial", "processes", "dask"):
        raise InputError(f"backend must be 'serial', 'processes' or 'dask', got {backend!r}")
    if not (isinstance(workers, (int, np.integer)) and workers >= 1):
        raise InputError(f"workers must be a whole number >= 1, got {workers!r}")
    if not (dt_h > 0 and math.isfinite(dt_h)):
        raise InputError(f"dt_h must be a positive number of hours, got {dt_h!r}")
    t_end_h = max(1, round(months * HOURS_PER_MONTH / dt_h)) * dt_h
    cohort = sample_cohort(
        int(patients),
        seed=int(seed),
        menopause=menopause,
        population=population,
        pk_catalogue=pk_cat,
        parameters=parameters,
    )
    let_pk = lookup(pk_cat, "letrozole")
    P_all = dict(cohort.params)
    if let_pk is not None:  # the catalogue row is what the trial uses for letrozole
        P_all.update(
            ka_let=let_pk.ka_per_h * cohort.eta_pk[let_pk.drug]["ka"],
            CL_let_typ=np.float64(let_pk.cl_f_L_per_h),
            eta_CL_let=cohort.eta_pk[let_pk.drug]["cl"],
            eta_V_let=cohort.eta_pk[let_pk.drug]["v"],
        )
    n = cohort.n
    if chunk_size is None:
        parts = min(workers, 4 * (os.cpu_count() or 1)) if backend == "processes" else workers
        chunk_size = min(50_000, max(1, math.ceil(n / max(1, parts))))
    bounds = [(i, min(n, i + chunk_size)) for i in range(0, n, chunk_size)]
    trace_every = max(1, round(trace_every_h / dt_h))
    columns: dict[str, dict[str, np.ndarray]] = {}
    traces: dict[str, dict[str, np.ndarray]] = {}
    trace_t = np.zeros(0)
    for ai, arm in enumerate(parsed):
        oral, const = arm_drugs(
            arm, cohort, t_end_h=t_end_h, seed=int(seed), arm_index=ai, pk_catalogue=pk_cat
        )
        payloads = []
        for k, (a, b) in enumerate(bounds):
            sl = slice(a, b)
            payloads.append(
                {
                    "p": {k: v[sl] if np.ndim(v) else v for k, v in P_all.items()},
                    "oral": _slice_drugs(oral, sl),
                    "const": const,
                    "t_end_h": t_end_h,
                    "dt_h": dt_h,
                    "n_trace": n_trace if k == 0 else 0,
                    "trace_every": trace_every,
                    "engine": engine,
                }
            )
        results = _execute(payloads, workers=int(workers), backend=backend)
        merged = {
            key: np.concatenate([r.values[key] for r in results]) for key in results[0].values
        }
        columns[arm.name] = _columns(
            _vector.BatchResult(merged, results[0].trace_t_h), P_all, arm, menopause
        )
        traces[arm.name] = results[0].traces
        trace_t = results[0].trace_t_h
    covariates = {
        "weight_kg": cohort.weight_kg,
        "cyp2a6_variants": cohort.cyp2a6_variants,
    }
    return TrialResult(
        arms=tuple(parsed),
        patients=n,
        months=months,
        seed=int(seed),
        menopause=menopause,
        population=population,
        columns=columns,
        covariates=covariates,
        trace_t_h=trace_t,
        traces=traces,
    )
